//! Filiera's canonical types: what every component agrees on, byte for byte.
//!
//! **Purpose.** Encoding, hashing, keys and signatures, transactions, blocks,
//! votes and commit certificates, validator sets, Merkle proofs, GS1
//! identifiers and the genesis document. The node, the client SDK, the CLI and
//! the consumer page's in-browser verifier all use this crate, so it has no I/O,
//! no async runtime and no clock, and it builds for `wasm32-unknown-unknown`.
//!
//! **Invariants.** Everything hashed or signed is encoded with borsh and has
//! exactly one encoding: decoders refuse trailing bytes, unknown tags and values
//! that break a type's invariants (sorted signature lists, bounded names).
//! Every hash is domain-separated by kind ([`hash::Domain`]); every signature
//! covers the chain id and a kind tag ([`crypto::SignKind`]) and is checked with
//! `verify_strict`. Golden fixtures in `tests/fixtures` pin the bytes.
//!
//! **Threats.** Input comes from untrusted peers and clients: decoding is
//! bounded by named limits ([`limits`]) checked before allocation, nothing here
//! panics on external input, and a signature or certificate made for one chain,
//! kind or height never verifies for another.

pub mod admission;
pub mod block;
pub mod crypto;
pub mod encoding;
pub mod evidence;
pub mod genesis;
pub mod gs1;
pub mod hash;
pub mod limits;
pub mod merkle;
pub mod name;
pub mod receipt;
pub mod state;
pub mod sys_keys;
pub mod tx;
pub mod validator;
pub mod vote;

pub use block::{Block, Header};
pub use crypto::{Address, DecodedKey, PublicKey, SecretKey, SignKind, Signature, Signer};
pub use encoding::DecodeError;
pub use genesis::Genesis;
pub use hash::{Domain, Hash};
pub use name::{ChainId, ContractId, MethodName, OrgId};
pub use tx::{ContractCall, SignedTransaction, Transaction};
pub use validator::{Validator, ValidatorSet};
pub use vote::{CommitCertificate, CommitSignature, SignedVote, Vote, VoteKind};
