//! blake3 hashing with one domain per kind of object.
//!
//! Every hash is computed in blake3's key-derivation mode with a context string
//! per kind, so a transaction can never collide with a header, a vote or a state
//! node even if their bytes were equal. Changing a context string is a protocol
//! change: golden fixtures pin them.

use borsh::{BorshDeserialize, BorshSerialize};
use std::fmt;

/// A 32-byte blake3 digest.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize,
)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The all-zero hash, used as the parent of the first block and the root of an empty list.
    pub const ZERO: Hash = Hash([0; 32]);

    /// Hashes `bytes` in the given domain.
    pub fn of(domain: Domain, bytes: &[u8]) -> Hash {
        let mut hasher = domain.hasher();
        hasher.update(bytes);
        Hash(*hasher.finalize().as_bytes())
    }

    /// Hashes the concatenation of several parts in the given domain.
    pub fn of_parts(domain: Domain, parts: &[&[u8]]) -> Hash {
        let mut hasher = domain.hasher();
        for part in parts {
            hasher.update(part);
        }
        Hash(*hasher.finalize().as_bytes())
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex characters.
    pub fn from_hex(text: &str) -> Result<Hash, hex::FromHexError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out)?;
        Ok(Hash(out))
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl serde::Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        Hash::from_hex(&text)
            .map_err(|e| serde::de::Error::custom(format!("not a 64-character hex hash: {e}")))
    }
}

/// The kinds of hashed objects; each has its own blake3 context string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Domain {
    /// A transaction body (its id).
    Transaction,
    /// A block header (the block id).
    Header,
    /// A leaf of the transactions Merkle tree.
    TxLeaf,
    /// A leaf of the receipts Merkle tree.
    ReceiptLeaf,
    /// An inner node of a binary Merkle tree of a block.
    MerkleNode,
    /// A validator set.
    ValidatorSet,
    /// An account address derived from a public key.
    Address,
    /// The canonical encoding of the genesis document.
    Genesis,
    /// A leaf of the authenticated state tree.
    StateLeaf,
    /// An inner node of the authenticated state tree.
    StateNode,
    /// A contract's code.
    ContractCode,
}

/// Number of domains (the length of the keyed-hasher cache).
const DOMAINS: usize = Domain::ContractCode as usize + 1;

impl Domain {
    /// A hasher already keyed for this domain. Deriving the key hashes the
    /// context string: doing it once per domain, not once per hash, halves
    /// the cost of hashing small inputs (tree nodes, leaves).
    pub fn hasher(self) -> blake3::Hasher {
        static KEYED: [std::sync::OnceLock<blake3::Hasher>; DOMAINS] =
            [const { std::sync::OnceLock::new() }; DOMAINS];
        KEYED[self as usize]
            .get_or_init(|| blake3::Hasher::new_derive_key(self.context()))
            .clone()
    }
    /// The blake3 context string: globally unique, hard-coded, application and purpose named.
    pub const fn context(self) -> &'static str {
        match self {
            Domain::Transaction => "filiera 2026-11 transaction v1",
            Domain::Header => "filiera 2026-11 block header v1",
            Domain::TxLeaf => "filiera 2026-11 tx merkle leaf v1",
            Domain::ReceiptLeaf => "filiera 2026-11 receipt merkle leaf v1",
            Domain::MerkleNode => "filiera 2026-11 block merkle node v1",
            Domain::ValidatorSet => "filiera 2026-11 validator set v1",
            Domain::Address => "filiera 2026-11 address v1",
            Domain::Genesis => "filiera 2026-11 genesis v1",
            Domain::StateLeaf => "filiera 2026-11 state leaf v1",
            Domain::StateNode => "filiera 2026-11 state node v1",
            Domain::ContractCode => "filiera 2026-11 contract code v1",
        }
    }
}
