//! State keys the node itself writes, under `sys/` (contracts write only under
//! `c/{contract}/`, so nothing else can forge them). One definition for the
//! executor, the chain, the API and light clients.

use crate::crypto::PublicKey;
use crate::evidence::Offence;
use crate::hash::Hash;
use crate::name::ContractId;

/// A sender's next nonce (u64, little endian).
pub fn nonce(sender: &PublicKey) -> Vec<u8> {
    let mut k = b"sys/nonce/".to_vec();
    k.extend_from_slice(&sender.0);
    k
}

/// A contract's versions (borsh `Vec<governance::ContractVersion>`, sorted by
/// the height each runs from).
pub fn contract_versions(id: &ContractId) -> Vec<u8> {
    let mut k = b"sys/contract/".to_vec();
    k.extend_from_slice(id.as_str().as_bytes());
    k
}

/// Prefix of the contracts' version tables.
pub const CONTRACTS: &[u8] = b"sys/contract/";

/// The module bytes whose code hash is `hash`.
pub fn code(hash: &Hash) -> Vec<u8> {
    let mut k = b"sys/code/".to_vec();
    k.extend_from_slice(&hash.0);
    k
}

/// The upload in progress of an authority key.
pub fn upload(uploader: &PublicKey) -> Vec<u8> {
    let mut k = b"sys/upload/".to_vec();
    k.extend_from_slice(&uploader.0);
    k
}

/// The id the next upgrade proposal gets (u64, little endian).
pub const NEXT_UPGRADE_PROPOSAL: &[u8] = b"sys/next_upgrade";

/// Prefix of the upgrade proposals, keyed by id (big endian, so they sort).
pub const UPGRADE_PROPOSALS: &[u8] = b"sys/upgrade/";

/// An upgrade proposal.
pub fn upgrade_proposal(id: u64) -> Vec<u8> {
    let mut k = UPGRADE_PROPOSALS.to_vec();
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// The chain's rules versions (borsh `Vec<chain_rules::ChainRulesVersion>`,
/// sorted by the height each applies from).
pub const CHAIN_RULES: &[u8] = b"sys/chain_rules";

/// Prefix of the chain rules proposals, keyed by id (big endian). They share
/// their ids with the upgrade proposals: one `approve` call serves both.
pub const CHAIN_RULES_PROPOSALS: &[u8] = b"sys/rules_upgrade/";

/// A chain rules proposal.
pub fn chain_rules_proposal(id: u64) -> Vec<u8> {
    let mut k = CHAIN_RULES_PROPOSALS.to_vec();
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// The chain's limits (borsh `Vec<chain_limits::LimitsVersion>`, sorted by
/// the height each applies from; genesis writes the first).
pub const LIMITS: &[u8] = b"sys/limits";

/// Prefix of the limits proposals, keyed by id (big endian); their ids are
/// shared with the other proposals.
pub const LIMITS_PROPOSALS: &[u8] = b"sys/limits_upgrade/";

/// A limits proposal.
pub fn limits_proposal(id: u64) -> Vec<u8> {
    let mut k = LIMITS_PROPOSALS.to_vec();
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// The migrations to run at `height` (borsh `Vec<(ContractId, u32)>`:
/// contract and version), written when their versions are scheduled.
pub fn migrations_at(height: u64) -> Vec<u8> {
    let mut k = b"sys/migrate_at/".to_vec();
    k.extend_from_slice(&height.to_be_bytes());
    k
}

/// The outcome of the migration of `version` of contract `id`.
pub fn migration(id: &ContractId, version: u32) -> Vec<u8> {
    let mut k = b"sys/migration/".to_vec();
    k.extend_from_slice(id.as_str().as_bytes());
    k.push(b'/');
    k.extend_from_slice(&version.to_be_bytes());
    k
}

/// Prefix of the validator sets, keyed by the first height each governs.
pub const VALIDATOR_SETS: &[u8] = b"sys/vset/";

/// The validator set from `height` on (big endian, so sets sort by height).
pub fn validator_set(height: u64) -> Vec<u8> {
    let mut k = VALIDATOR_SETS.to_vec();
    k.extend_from_slice(&height.to_be_bytes());
    k
}

/// The first height of a validator-set key, if it is one.
pub fn validator_set_height(key: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] = key.strip_prefix(VALIDATOR_SETS)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// Prefix of recorded equivocation evidence.
pub const EVIDENCE: &[u8] = b"sys/evidence/";

/// Where the evidence of `offence` is recorded: validator, then height, round
/// and step (big endian), so one validator's offences sort by height.
pub fn evidence(offence: &Offence) -> Vec<u8> {
    let mut k = EVIDENCE.to_vec();
    k.extend_from_slice(&offence.validator.0);
    k.extend_from_slice(&offence.height.to_be_bytes());
    k.extend_from_slice(&offence.round.to_be_bytes());
    k.push(offence.step as u8);
    k
}
