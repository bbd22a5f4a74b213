//! Canonical encoding: borsh, with the strictness a hashed or signed format needs.
//!
//! borsh already gives one encoding per value for the types we use (fixed-width
//! little-endian integers, length-prefixed sequences, tagged enums, validated
//! UTF-8, `bool` and `Option` tags limited to 0/1). What it does not do alone:
//! refuse an input longer than the caller's limit before allocating, and name the
//! reason in our own error type. Types with invariants beyond their shape (sorted
//! lists, bounded strings) check them in hand-written `BorshDeserialize` impls,
//! so a decoded value is always a valid value.

use borsh::{BorshDeserialize, BorshSerialize};

/// Why bytes could not be decoded into a value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The input is longer than the limit for its kind, checked before decoding.
    #[error("{kind}: {len} bytes exceed the limit of {max} bytes")]
    TooLarge {
        /// What was being decoded.
        kind: &'static str,
        /// Input length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// The bytes are not a canonical encoding of the value (bad tag, bad UTF-8,
    /// broken invariant, truncated input or trailing bytes).
    #[error("{kind}: not a canonical encoding: {reason}")]
    Malformed {
        /// What was being decoded.
        kind: &'static str,
        /// The decoder's reason.
        reason: String,
    },
}

/// Encodes a value canonically.
pub fn encode<T: BorshSerialize + ?Sized>(value: &T) -> Vec<u8> {
    // A Vec writer never fails, and every sequence we encode is bounded far below
    // borsh's u32 length limit, so the io::Result carries no information here.
    borsh::to_vec(value).expect("borsh encoding into a Vec cannot fail")
}

/// Decodes a value, refusing inputs over `max_bytes`, trailing bytes and any
/// non-canonical encoding.
pub fn decode<T: BorshDeserialize>(
    kind: &'static str,
    bytes: &[u8],
    max_bytes: usize,
) -> Result<T, DecodeError> {
    if bytes.len() > max_bytes {
        return Err(DecodeError::TooLarge {
            kind,
            len: bytes.len(),
            max: max_bytes,
        });
    }
    borsh::from_slice(bytes).map_err(|e| DecodeError::Malformed {
        kind,
        reason: e.to_string(),
    })
}

/// Builds the io::Error that hand-written `BorshDeserialize` impls return when a
/// decoded value breaks an invariant of its type.
pub(crate) fn invalid_data(reason: impl std::fmt::Display) -> borsh::io::Error {
    borsh::io::Error::new(borsh::io::ErrorKind::InvalidData, reason.to_string())
}
