//! Filiera's consensus: Malachite's Tendermint core with Filiera's types.
//!
//! **Purpose.** Validators agree on one block per height with immediate
//! finality, tolerating f faulty validators out of 3f+1. The decisions come
//! from Malachite's core (`arc-malachitebft-core-consensus`); this crate gives
//! it a context ([`context`]) and answers its effects ([`machine`]). The node
//! talks to it through [`edge`] in Filiera's own types (timers, network inputs,
//! named blocks): no other crate names Malachite's, so upgrading the core
//! touches this crate alone.
//!
//! **Invariants.** Pure: no tokio, sockets, disks or clocks. Time enters only
//! as `TimeoutElapsed` inputs and block times chosen by the node; the core is
//! never given a target time (it would read the wall clock). Every output is
//! returned in the order the core produced it, so the edge can make a WAL
//! append durable before the vote it protects leaves the node.
//!
//! **Threats.** Messages come from the network: every vote and proposal
//! signature is verified with `verify_strict` against the validator set of its
//! height before the core counts it; certificates are checked vote by vote
//! for duplicates, unknown validators and quorum.

pub mod context;
pub mod edge;
pub mod machine;
pub mod wal;

pub use context::{
    BlockId, ConsensusProposal, ConsensusValidatorSet, ConsensusVote, FilieraContext, Height,
    ValidatorAddress, proposer_index, proposer_of,
};
pub use edge::{NamedBlock, NetworkInput, NetworkInputError, ProposalSeen, TimeoutsMs, Timer};
pub use machine::{
    CommitCertificate, Consensus, ConsensusError, ConsensusInput, Message, Output, SignedProposal,
    SignedVote, to_certificate,
};
