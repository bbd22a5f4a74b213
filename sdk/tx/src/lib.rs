//! Filiera transactions without transport.
//!
//! **Purpose.** Everything a writer needs between "what I want to do" and
//! the bytes it posts to a node, and nothing that touches a network: a
//! typed call for every contract action ([`actions`]), the exact message a
//! key signs for a transaction ([`prepare`]), and the signed transaction
//! assembled and checked ([`assemble`]). `filiera-client` builds on it with
//! its HTTP transport; compiled to wasm32 ([`wasm`]) it is what the
//! producers' app runs in the browser, where the key is a WebCrypto key
//! that never leaves the device: the browser signs the message this crate
//! names, and this crate puts the signature in place.
//!
//! **Invariants.** The body and message are the node's own canonical
//! encoding (borsh, `filiera_types::crypto::signing_message`), so what the
//! app signs is exactly what the node verifies. A signature is checked
//! before a transaction is handed back, so a queued transaction altered
//! after signing is caught on the device, before it is sent.
//!
//! **Threats.** Requests come from the app's own script, but the queue they
//! are kept in (IndexedDB) can be altered by anything running in the page's
//! origin: [`inspect`] re-verifies a stored transaction before it is sent.
//! Inputs are bounded by the node's limits (`TX_BYTES_MAX`); hex and JSON
//! that do not parse are refused with a reason, never a panic.

pub mod actions;
pub mod app;
pub mod wasm;

pub use app::{Answer, Request, TxError, assemble, handle, inspect, prepare};
