//! The contracts' public interface: records they keep, arguments their methods
//! take, the layout of their storage keys and the rules they share.
//!
//! **Purpose.** The registry, lots and certification contracts (built for
//! wasm32, `no_std`) and the node (genesis state, API, CLI) must agree on
//! bytes. This crate is that agreement, in one place, with no I/O.
//!
//! **Invariants.** Everything is borsh, every enum has fixed discriminants, and
//! a key function is the only way to spell a key: the contracts and the node
//! cannot drift apart. Records under `pub/` are readable by other contracts
//! (the host exposes only that namespace across contracts).
//!
//! **Threats.** Arguments arrive from anyone who can sign a transaction: the
//! validation functions here (`gtin_is_valid`, `lot_is_valid`, text limits)
//! are applied by the contracts to every argument.

#![no_std]

extern crate alloc;

pub mod certification;
pub mod gs1;
pub mod keys;
pub mod lots;
pub mod registry;
pub mod rules;

use alloc::string::String;
use alloc::vec::Vec;
use borsh::{BorshDeserialize, BorshSerialize};

/// An ed25519 public key, as the host hands the caller to a contract.
pub type KeyBytes = [u8; 32];
/// A 32-byte hash (blake3, SHA-256 of an EPCIS event, of a private payload...).
pub type Hash32 = [u8; 32];

/// The ids of the contracts installed at genesis.
pub mod contract_ids {
    /// Organisations, keys, roles, accreditations, sites.
    pub const REGISTRY: &str = "registry";
    /// Products, lots and their events.
    pub const LOTS: &str = "lots";
    /// Attestations of certification bodies.
    pub const CERTIFICATION: &str = "certification";
}

/// Longest free text field (names, reasons, metadata values), in bytes.
pub const TEXT_BYTES_MAX: usize = 256;
/// Longest short code (scheme codes, units, kinds, org ids), in bytes.
pub const CODE_BYTES_MAX: usize = 64;
/// Most metadata pairs on a lot.
pub const METADATA_PAIRS_MAX: usize = 16;

/// The input of every contract call: the method and its borsh arguments.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct CallInput {
    /// The method's name.
    pub method: String,
    /// Its borsh-encoded arguments.
    pub args: Vec<u8>,
}

/// Encodes a value with borsh (infallible for in-memory values).
pub fn encode<T: BorshSerialize>(value: &T) -> Vec<u8> {
    borsh::to_vec(value).unwrap_or_default()
}

/// Decodes a whole value; trailing bytes are an error.
pub fn decode<T: BorshDeserialize>(bytes: &[u8]) -> Option<T> {
    borsh::from_slice(bytes).ok()
}

/// Whether `s` is non-empty printable text within `max` bytes.
pub fn text_is_valid(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && !s.chars().any(char::is_control)
}

/// Whether `s` is a code: 1..=CODE_BYTES_MAX of `[A-Za-z0-9._-]`.
pub fn code_is_valid(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= CODE_BYTES_MAX
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}
