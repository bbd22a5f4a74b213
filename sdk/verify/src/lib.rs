//! Verification of what the consumer page shows, by the reader's own device.
//!
//! **Purpose.** [`verify_bundle`] takes a lot bundle as the node serves it
//! (`application/json` from the Digital Link resolver) and checks, with no
//! other input: that the validator set hashes to the one the header names;
//! that the commit certificate signs this header's hash at its height with
//! more than 2/3 of that set's power (ed25519, `verify_strict`); that every
//! Merkle proof leads to the header's state root; and that every record the
//! bundle displays (lot, product, producer, events, attestations) is exactly
//! the proven record rendered by [`views`], the same functions the node uses
//! to render it. The crate builds for wasm32 and exposes a small C ABI
//! ([`wasm`]) the page calls; the node and the CLI call it natively.
//!
//! **Invariants.** A bundle verifies only if every displayed field follows
//! from signed and proven bytes; a changed byte anywhere (display, proof,
//! header, signature) fails verification with a reason.
//!
//! **Threats and limits.** The validator set is taken from the bundle and
//! checked against the certified header, so a forged bundle needs forged
//! signatures of that set; whether that set descends from the chain's
//! genesis is checked by [`verify_bundle_from_genesis`] (`filiera verify`
//! with a trusted genesis), not by the page, which trusts the set the node it
//! came from serves. The page proves
//! the records it shows; it does not prove that none was left out (a list
//! of attestations is read from an index the bundle does not prove whole).
//!
//! # Example
//!
//! A bundle a real node served (a Casciotta d'Urbino lot of the demo chain,
//! kept as a fixture): it verifies, and a changed holder does not.
//!
//! ```
//! use filiera_verify::{VerifyError, verify_bundle, verify_bundle_bytes};
//!
//! let bytes = include_bytes!("../tests/fixtures/lot-bundle.json");
//! let verified = verify_bundle_bytes(bytes)?;
//! assert!(3 * verified.signed_power > 2 * verified.total_power);
//! println!("{} records proven at height {}", verified.records, verified.height);
//!
//! let mut forged: serde_json::Value = serde_json::from_slice(bytes).unwrap();
//! forged["lot"]["holder"] = "someone-else".into();
//! assert_eq!(verify_bundle(&forged), Err(VerifyError::Mismatch("lot".into())));
//! # Ok::<(), VerifyError>(())
//! ```

pub mod views;
pub mod wasm;

mod bundle;

pub use bundle::{
    SET_HISTORY_MAX, Verified, VerifyError, verify_bundle, verify_bundle_bytes,
    verify_bundle_from_genesis, verify_set_history,
};

/// Bytes of a bundle the verifier reads, at most.
pub const BUNDLE_BYTES_MAX: usize = 4 * 1024 * 1024;
/// State proofs in one bundle, at most.
pub const BUNDLE_PROOFS_MAX: usize = 512;
