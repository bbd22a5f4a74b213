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

impl jmt::SimpleHasher for StateHasher {
    fn new() -> Self {
        // Keyed once: jmt makes a hasher per node, and deriving the key costs a hash.
        static KEYED: std::sync::OnceLock<blake3::Hasher> = std::sync::OnceLock::new();
        StateHasher(
            KEYED
                .get_or_init(|| blake3::Hasher::new_derive_key(STATE_TREE_CONTEXT))
                .clone(),
        )
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
    jmt::KeyHash::with::<StateHasher>(key)
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
        encoding::encode(self)
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
