//! The authenticated state: what a header's state root commits to, and the
//! proofs a light client checks a single record with.
//!
//! The state is a Jellyfish Merkle tree (the `jmt` crate) over blake3 in its own
//! domain. A tree leaf holds the borsh encoding of a [`StateEntry`] (key and
//! value together), so a snapshot chunk carries keys with their values and a
//! proof binds a value to its key twice: by the key hash and inside the leaf.
//! Verification here needs no database and builds for wasm32.

use crate::encoding::{self, DecodeError};
use crate::hash::Hash;
use borsh::{BorshDeserialize, BorshSerialize};

/// Longest state key, in bytes.
pub const STATE_KEY_BYTES_MAX: usize = 512;
/// Largest state value, in bytes.
pub const STATE_VALUE_BYTES_MAX: usize = 256 * 1024;
/// Largest encoded state proof, in bytes (257 siblings of 32 bytes and a leaf, at most).
pub const STATE_PROOF_BYTES_MAX: usize = 16 * 1024 + STATE_KEY_BYTES_MAX + STATE_VALUE_BYTES_MAX;

/// The blake3 context of the state tree's hashes (leaves, inner nodes, key and value hashes).
const STATE_TREE_CONTEXT: &str = "filiera 2026-11 state tree v1";

/// blake3 in the state tree's domain, as `jmt` wants its hasher.
#[derive(Clone)]
pub struct StateHasher(blake3::Hasher);

/// The hasher keyed for the state tree's context. Keyed once: jmt makes a
/// hasher per node, and deriving the key costs a hash.
fn keyed() -> &'static blake3::Hasher {
    static KEYED: std::sync::OnceLock<blake3::Hasher> = std::sync::OnceLock::new();
    KEYED.get_or_init(|| blake3::Hasher::new_derive_key(STATE_TREE_CONTEXT))
}

/// Inputs up to this many bytes are gathered into one buffer before hashing:
/// a tree node's input (a domain and two hashes, 80 bytes) then takes one
/// `update` instead of three.
const GATHERED_BYTES_MAX: usize = 128;

thread_local! {
    /// One keyed hasher per thread, reset before each hash. A clone of the
    /// keyed hasher copies its whole chaining-value stack (about 1.9 KiB), a
    /// third of what hashing an 80-byte node input costs; a reset does not.
    static TREE_HASHER: std::cell::RefCell<blake3::Hasher> =
        std::cell::RefCell::new(keyed().clone());
}

/// The state tree's hash of `parts` taken as one input: what [`StateHasher`]
/// gives after `update` with each part in turn, computed without a fresh
/// hasher per call. For code that hashes many tree nodes (a block's update).
pub fn tree_hash(parts: &[&[u8]]) -> [u8; 32] {
    TREE_HASHER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut hasher) => {
            hasher.reset();
            hash_into(&mut hasher, parts)
        }
        // Only if a hash were taken inside another on one thread: never here,
        // but a fresh hasher gives the same answer.
        Err(_) => hash_into(&mut keyed().clone(), parts),
    })
}

/// Feeds `parts` to a fresh or reset keyed hasher and finalizes it.
fn hash_into(hasher: &mut blake3::Hasher, parts: &[&[u8]]) -> [u8; 32] {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    if total <= GATHERED_BYTES_MAX {
        let mut gathered = [0u8; GATHERED_BYTES_MAX];
        let mut at = 0;
        for part in parts {
            gathered[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        hasher.update(&gathered[..total]);
    } else {
        for part in parts {
            hasher.update(part);
        }
    }
    *hasher.finalize().as_bytes()
}

impl jmt::SimpleHasher for StateHasher {
    fn new() -> Self {
        StateHasher(keyed().clone())
    }

    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    fn finalize(self) -> [u8; 32] {
        *self.0.finalize().as_bytes()
    }
}

/// The tree's key for a state key.
pub fn key_hash(key: &[u8]) -> jmt::KeyHash {
    jmt::KeyHash(tree_hash(&[key]))
}

/// What a tree leaf holds: the key and its value.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct StateEntry {
    /// The state key.
    pub key: Vec<u8>,
    /// Its value.
    pub value: Vec<u8>,
}

impl StateEntry {
    /// The bytes stored in the tree leaf.
    pub fn encode(&self) -> Vec<u8> {
        StateEntry::encode_parts(&self.key, &self.value)
    }

    /// The bytes of the entry of `key` and `value`, without owned copies of
    /// them (a block stages thousands). Borsh writes a struct as its fields in
    /// order, so this is the derived encoding: a property test compares the
    /// two, and the storage golden digests pin the bytes.
    pub fn encode_parts(key: &[u8], value: &[u8]) -> Vec<u8> {
        encoding::encode(&(key, value))
    }

    /// Decodes a leaf's bytes.
    pub fn decode(bytes: &[u8]) -> Result<StateEntry, DecodeError> {
        encoding::decode(
            "state entry",
            bytes,
            STATE_KEY_BYTES_MAX + STATE_VALUE_BYTES_MAX + 16,
        )
    }
}

/// Why a state proof does not prove what it claims.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    /// The proof does not lead to the expected root for this key and value.
    #[error("state proof does not verify against root {root}: {reason}")]
    Invalid {
        /// The root checked against.
        root: Hash,
        /// The tree library's reason.
        reason: String,
    },
}

/// Proof that `key` has `value` (or, with `None`, no value) in the state with a given root.
#[derive(Clone, Debug, BorshSerialize, BorshDeserialize)]
pub struct StateProof {
    /// The key proven.
    pub key: Vec<u8>,
    /// Its value, or `None` for a proof of absence.
    pub value: Option<Vec<u8>>,
    /// The sparse Merkle path.
    pub proof: jmt::proof::SparseMerkleProof<StateHasher>,
}

impl StateProof {
    /// Checks the proof against a state root from a certified header.
    pub fn verify(&self, root: &Hash) -> Result<(), ProofError> {
        let leaf = self.value.as_ref().map(|value| {
            StateEntry {
                key: self.key.clone(),
                value: value.clone(),
            }
            .encode()
        });
        self.proof
            .verify(jmt::RootHash(root.0), key_hash(&self.key), leaf)
            .map_err(|e| ProofError::Invalid {
                root: *root,
                reason: e.to_string(),
            })
    }

    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        encoding::encode(self)
    }

    /// Decodes a proof received from outside, within [`STATE_PROOF_BYTES_MAX`].
    pub fn decode(bytes: &[u8]) -> Result<StateProof, DecodeError> {
        encoding::decode("state proof", bytes, STATE_PROOF_BYTES_MAX)
    }
}

/// A state read this node could not answer: its own store is broken (never a
/// peer's or a contract's fault). Execution stops at it and the node stops
/// rather than decide on a state it could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("state unreadable: {0}")]
pub struct StateUnreadable(pub String);

/// A state entry as read: full key, then value.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// Read access to a state by full key: what contracts and execution see.
/// The store implements it over the committed state; execution lays a
/// block's changes over it; tests and simulations use an ordered map.
pub trait StateReader: Send + Sync {
    /// The value of a key.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateUnreadable>;
    /// The first entry whose key starts with `prefix` and is strictly after `after`.
    fn next(&self, prefix: &[u8], after: &[u8]) -> Result<Option<KeyValue>, StateUnreadable>;
}
