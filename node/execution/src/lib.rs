//! Filiera's contract execution layer: deploy-time validation, the
//! deterministic wasmtime runtime, and the state transition of a block.
//!
//! **Purpose.** Contracts are the chain's business rules. This crate decides
//! which WASM modules may be deployed, runs them deterministically in wasmtime
//! with fuel metering and named limits ([`runtime`], [`host`]), executes a
//! block's transactions in order ([`executor`]), and turns genesis into the
//! contracts' initial state ([`genesis`]). The registry, lots and certification
//! contracts it ships are the committed artifacts of `contracts/` ([`contracts`]).
//!
//! **Invariants.** A module is validated before it is ever compiled (size cap,
//! the deterministic "lime1" feature set, allow-listed imports with exact
//! signatures, one memory within the page limit, caps on functions, locals and
//! bodies). The engine is configured for determinism: fuel, NaN
//! canonicalisation, no SIMD, threads, GC or memory64; epoch interruption is
//! not used. Host functions charge fuel before their work, by bytes touched;
//! memory growth costs fuel per page. One host function runs library code in
//! consensus: `epcis_facts` (an EPCIS event's CBV 2.0 hash and lot action,
//! from `filiera-epcis`, whole numbers only so no float is involved), whose
//! answers for given bytes are part of the protocol. A contract writes only below its own
//! prefix `c/{id}/` and reads other contracts only under their `pub/`. A
//! failing call (trap, out of fuel, abort, host limit) discards its writes,
//! keeps the nonce advance, and records a stable code and the contract's
//! message, never wasmtime's text. Compiled modules are cached on local disk
//! keyed by code hash, engine compatibility hash and gas schedule version,
//! each with a keyed MAC over its name and bytes that is verified before
//! wasmtime loads it: a file anyone else wrote there, or another contract's
//! artifact renamed, is compiled over, never run.
//!
//! **Threats.** Deployed code and transaction arguments are hostile until
//! proven otherwise: infinite loops run out of fuel, memory bombs hit the page
//! cap, unbounded recursion exhausts the wasm stack (on a thread whose native
//! stack is far larger), malformed modules are refused with a precise reason.
//! None of these can stop the node or affect another transaction.

pub mod abi;
pub mod contracts;
mod evidence;
pub mod executor;
pub mod genesis;
mod governance;
pub use governance::chain_rules as chain_rules_versions;
pub use governance::limits as limits_versions;
pub mod host;
pub mod limits;
pub mod memstate;
pub mod outcome;
pub mod runtime;
pub mod signatures;
pub mod standing;
pub mod validate;

pub use executor::{BlockContext, BlockOutcome, Changes, Executor};
pub use host::{CallContext, StateReader};
pub use memstate::MemState;
pub use outcome::{CallOutcome, CallStatus, FailureCode};
pub use runtime::{ContractEngine, LoadedContract, RuntimeError};
pub use validate::{DeployError, ModuleInfo, validate_module};
