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
//!
//! # Example
//!
//! A transaction built and signed offline, encoded as the node's
//! `POST /v1/txs` takes it, and judged by the admission rules the node
//! applies ([`admission`]).
//!
//! ```
//! use filiera_types::admission::{self, Refusal, Standing};
//! use filiera_types::{ChainId, ContractCall, ContractId, MethodName, SecretKey};
//! use filiera_types::{SignedTransaction, Transaction};
//!
//! let chain = ChainId::new("filiera-marche")?;
//! let key = SecretKey::from_seed(&[7; 32]); // a real key comes from `filiera keys new`
//! let signed = Transaction {
//!     chain_id: chain.clone(),
//!     sender: key.public_key(),
//!     nonce: 0,
//!     expiry_height: 120,
//!     call: ContractCall {
//!         contract: ContractId::new("lots")?,
//!         method: MethodName::new("record")?,
//!         args: vec![1, 2, 3], // a borsh-encoded argument of the method
//!     },
//! }
//! .sign(&key)?;
//! let body = signed.encode();
//! let received = SignedTransaction::decode(&body)?;
//! assert_eq!(received.hash(), signed.hash());
//! received.verify()?;
//!
//! // At a node whose next block is 100, for a member's key with no
//! // transaction yet.
//! let door = admission::door(&chain, 100, 0, 1_000, 600, Standing::Member);
//! assert_eq!(admission::check(&received.tx, Ok(()), &door), Ok(()));
//! // In a block after its expiry height, it is refused, with a stable code.
//! let late = admission::in_block(&chain, 121, 0, Standing::Member);
//! let refusal = admission::check(&received.tx, Ok(()), &late).unwrap_err();
//! assert!(matches!(refusal, Refusal::Expiry { .. }));
//! assert_eq!(refusal.code(), "expired");
//! // A key no member organisation lists is refused before anything else.
//! let stranger = admission::door(&chain, 100, 0, 1_000, 600, Standing::Stranger);
//! let refusal = admission::check(&received.tx, Ok(()), &stranger).unwrap_err();
//! assert_eq!(refusal.code(), "not_member");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod admission;
pub mod block;
pub mod chain_limits;
pub mod chain_rules;
pub mod crypto;
pub mod encoding;
pub mod evidence;
pub mod genesis;
pub mod governance;
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
