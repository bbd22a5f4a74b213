//! The Rust client SDK of a Filiera node, for producers' software,
//! certification bodies' tools and auditors' scripts.
//!
//! **Purpose.** Keys ([`keys`]); a typed call for every contract action
//! ([`actions`]); signing, submission and waiting for finality ([`Client`]);
//! typed reads; EPCIS 2.0 documents turned into signed transactions, also
//! offline ([`epcis`]); and light-client verification of any lot against a
//! trusted genesis ([`Client::verify_lot`], re-exporting `filiera-verify`).
//!
//! ```no_run
//! use filiera_client::{Client, actions, keys};
//! use filiera_contract_api::lots::{Commission, LotRef};
//! # fn main() -> Result<(), filiera_client::ClientError> {
//! let mut node = Client::connect("http://127.0.0.1:8080")?;
//! let dairy = keys::read(std::path::Path::new("localnet/orgs/caseificio-montefeltro-demo.json"))?;
//! let receipt = node.execute(&dairy, actions::commission(&Commission {
//!     id: LotRef { gtin: "09521234100010".into(), lot: "CU-2026-0200".into() },
//!     quantity: 80,
//!     site: None,
//!     metadata: vec![("forma".into(), "1 kg".into())],
//!     private_hash: None,
//!     epcis_hash: None,
//! }))?;
//! assert!(receipt.success, "{:?}", receipt.message);
//! # Ok(()) }
//! ```
//!
//! **Invariants.** A transaction is signed for the chain the node serves,
//! at the sender's next nonce (the node's count or this client's, the larger);
//! [`Client::wait`] returns only final receipts, never a pending one.
//!
//! **Threats.** Answers are bounded in size before they are parsed; a
//! verified lot is checked against the genesis the caller trusts, not the
//! node's word.

pub use filiera_tx::actions;
pub mod epcis;
pub mod keys;
pub mod submission;

mod client;

pub use client::{
    Client, EXPIRY_BLOCKS_DEFAULT, RETRY_AFTER_MS_MAX, Receipt, SUBMIT_RETRY_MS_DEFAULT,
    WAIT_MS_DEFAULT, is_retry_later, rule_explained,
};
pub use filiera_verify::{Verified, VerifyError};

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node could not be reached or its answer not read.
    #[error("{url}: {reason}")]
    Http {
        /// What was asked.
        url: String,
        /// Why it failed.
        reason: String,
    },
    /// The node refused, with its stable code.
    #[error("refused ({code}): {message}")]
    Rejected {
        /// Stable code, e.g. `nonce_used`, `not_found`.
        code: String,
        /// Its explanation.
        message: String,
    },
    /// The node answered something unexpected.
    #[error("unexpected answer: {0}")]
    Answer(String),
    /// Not final in time.
    #[error("{0}")]
    Timeout(String),
    /// A key file problem.
    #[error("key file {path}: {reason}")]
    Key {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// No randomness for a new key.
    #[error("no system randomness: {0}")]
    Randomness(String),
    /// An EPCIS document was refused.
    #[error("EPCIS: {0}")]
    Epcis(String),
    /// Verification failed.
    #[error("NOT VERIFIED: {0}")]
    Verify(#[from] VerifyError),
}
