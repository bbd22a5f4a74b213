//! Contract code on chain: uploads, upgrade proposals the authority approves
//! k of n, and the version history of every contract.
//!
//! The code that runs is part of the chain's state: each contract's versions
//! (`sys/contract/{id}`, a list of [`ContractVersion`] sorted by the height
//! each takes effect from) and the module bytes of each version
//! (`sys/code/{hash}`). Genesis writes version 1 of each built-in contract;
//! a later version is uploaded by an authority key in chunks (a module is
//! larger than a transaction), proposed with the height it takes effect from,
//! and scheduled once `threshold` distinct authority keys approved it. So a
//! light client or an auditor reads, with a state proof, exactly which code
//! ran at any height, and every node knows a version long before it runs:
//! [`UPGRADE_NOTICE_BLOCKS_MIN`] blocks at least.
//!
//! The calls are native (the executor handles [`GOVERNANCE_CONTRACT`]
//! itself): a module is judged by the node's deploy-time checks, which no
//! contract can run, and the version table is node state under `sys/`.

use crate::crypto::PublicKey;
use crate::hash::Hash;
use crate::name::ContractId;
use borsh::{BorshDeserialize, BorshSerialize};

/// The id of the native governance calls. No contract may be installed under
/// it.
pub const GOVERNANCE_CONTRACT: &str = "governance";

/// Method names of [`GOVERNANCE_CONTRACT`].
pub mod method {
    /// Appends a chunk of a module to the caller's upload ([`super::Upload`]).
    pub const UPLOAD: &str = "upload";
    /// Proposes a version of a contract ([`super::Upgrade`]).
    pub const PROPOSE: &str = "propose";
    /// Approves a proposal (its id, `u64`): a contract upgrade or a chain
    /// rules change.
    pub const APPROVE: &str = "approve";
    /// Proposes a version of the chain's rules
    /// ([`crate::chain_rules::RulesUpgrade`]).
    pub const PROPOSE_RULES: &str = "propose_rules";
    /// Proposes new values of the chain's limits (a borsh
    /// [`crate::chain_limits::LimitsUpgrade`]); returns the proposal id.
    pub const PROPOSE_LIMITS: &str = "propose_limits";
}

/// Largest module a contract version may have, in bytes: one state value
/// holds it (the built-in contracts are 53 to 103 KB).
pub const CODE_BYTES_MAX: usize = 240 * 1024;
const _: () = assert!(CODE_BYTES_MAX + 1024 <= crate::state::STATE_VALUE_BYTES_MAX);
/// Largest chunk of a module in one upload, in bytes: with the transaction's
/// own fields it stays under genesis's default `tx_bytes_max` (32 KiB).
pub const UPLOAD_CHUNK_BYTES_MAX: usize = 24 * 1024;
/// Encoded arguments of a governance call, at most, in bytes.
pub const GOVERNANCE_ARGS_BYTES_MAX: usize = UPLOAD_CHUNK_BYTES_MAX + 1024;
/// Fewest blocks between a proposal, and its last approval, and the height
/// its version takes effect from: every node has seen and compiled it well
/// before.
pub const UPGRADE_NOTICE_BLOCKS_MIN: u64 = 10;
/// Most blocks between a proposal and its height (about 58 days at 1 s
/// blocks): a proposal is not a standing order.
pub const UPGRADE_NOTICE_BLOCKS_MAX: u64 = 5_000_000;
/// The method the node calls on a new version at its activation, when its
/// proposal asks for a migration; no transaction may call it.
pub const MIGRATE_METHOD: &str = "migrate";
/// Fuel a migration may burn, at approval and at activation: five
/// transactions' worth. A state too large to convert within it is converted
/// by the new version lazily, record by record when first touched (state
/// layouts carry their version; see docs/GOVERNANCE.md).
pub const MIGRATION_FUEL_MAX: u64 = 100_000_000;

/// What a migration did, under [`crate::sys_keys::migration`]: auditors read
/// it with a proof.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct MigrationOutcome {
    /// The height it ran at (the version's activation height).
    pub height: u64,
    /// Fuel it burnt.
    pub fuel_used: u64,
    /// Why it failed, if it did: then its writes were dropped and the
    /// version was withdrawn (the one before it runs on).
    pub failure: Option<String>,
}

/// Most versions one contract may have.
pub const CONTRACT_VERSIONS_MAX: usize = 1_024;

/// One chunk of a module. An authority key uploads one module at a time: a
/// chunk at offset 0 starts its upload again (forgetting any other it had),
/// the next must start where the last ended, every chunk but the last has
/// [`UPLOAD_CHUNK_BYTES_MAX`] bytes, and the last completes it, when the
/// bytes must hash to `code_hash` and pass the deploy-time checks.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Upload {
    /// The hash of the whole module ([`crate::Domain::ContractCode`]).
    pub code_hash: Hash,
    /// The whole module's length, in bytes.
    pub code_bytes: u32,
    /// Where this chunk starts in the module.
    pub offset: u32,
    /// The chunk.
    pub bytes: Vec<u8>,
}

/// An upload in progress, kept per authority key under `sys/upload/{key}`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct UploadInProgress {
    /// The hash the module must have.
    pub code_hash: Hash,
    /// Its length, in bytes.
    pub code_bytes: u32,
    /// What arrived so far.
    pub bytes: Vec<u8>,
}

/// A proposed version of a contract.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Upgrade {
    /// The contract: an installed one, or a new id.
    pub contract: ContractId,
    /// The uploaded module of the new version.
    pub code_hash: Hash,
    /// The code hash of the version it replaces, `None` for a new contract:
    /// a proposal written against a version that was replaced meanwhile is
    /// refused rather than applied over a version its authors never saw.
    pub replaces: Option<Hash>,
    /// The first height that runs the new version.
    pub activation_height: u64,
    /// Whether the node calls the new version's [`MIGRATE_METHOD`] at its
    /// activation, before the block's transactions, with at most
    /// [`MIGRATION_FUEL_MAX`]. Tried on the state of the last approval
    /// first: an approval whose migration fails there is refused.
    pub migrate: bool,
}

/// A proposal of any kind (contract version, chain rules version, limits)
/// and its approvals.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Proposal<U> {
    /// What is proposed.
    pub upgrade: U,
    /// The authority keys that approved it, the proposer first.
    pub approvals: Vec<PublicKey>,
    /// The height of the block that carried the proposal.
    pub proposed_height: u64,
    /// Whether it gathered its approvals and was scheduled.
    pub scheduled: bool,
}

/// A contract upgrade proposal and its approvals, under `sys/upgrade/{id}`.
pub type UpgradeProposal = Proposal<Upgrade>;

/// One version of a contract.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ContractVersion {
    /// 1 for the version genesis installs, then one more each time.
    pub version: u32,
    /// The module that runs ([`crate::sys_keys::code`] holds its bytes).
    pub code_hash: Hash,
    /// The first height it runs at (0 for genesis).
    pub from_height: u64,
    /// The proposal that scheduled it (none for genesis).
    pub proposal: Option<u64>,
}

/// The version that runs at `height`: the last whose `from_height` is at or
/// below it (`versions` is sorted by `from_height`).
pub fn version_at(versions: &[ContractVersion], height: u64) -> Option<&ContractVersion> {
    versions.iter().rev().find(|v| v.from_height <= height)
}
