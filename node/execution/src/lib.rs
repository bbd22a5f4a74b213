//! Filiera's contract execution layer (being built; today: deploy-time validation).
//!
//! **Purpose.** Contracts are the chain's business rules. This crate decides
//! which WASM modules may be deployed and (next) runs them deterministically
//! in wasmtime with fuel metering and named limits.
//!
//! **Invariants.** A module is validated before it is ever compiled: size cap,
//! only the deterministic linear-memory feature set ("lime1": no SIMD, threads,
//! GC, memory64, multi-memory, tail calls, exceptions), imports only from the
//! host ABI allow-list with exact signatures, no imported memory, table or
//! global, exactly one memory within the page limit, caps on functions, locals
//! and body sizes, no start function, and the exports the host calls.
//!
//! **Threats.** Deployed code is hostile until proven otherwise: every rule
//! above has a precise refusal reason, and validation never panics on
//! arbitrary bytes.

pub mod abi;
pub mod limits;
pub mod validate;

pub use validate::{DeployError, ModuleInfo, validate_module};
