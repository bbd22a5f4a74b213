//! The chain's rules version: what a node's binary must implement to follow
//! the chain (the signature rule, the host ABI contracts are linked against,
//! the deploy-time checks of modules), as a number that a genesis names and
//! that the authority moves, k of n, from an activation height on.
//!
//! Invariants: a proposal's acceptance never depends on what the binary that
//! judges it implements (a node that implements less would otherwise refuse a
//! block the others accept: a fork at the proposal, not at the height). What
//! a binary does not implement, it learns at the proposal, reports from then
//! on, and stops before the height where it would apply: a node with an old
//! binary halts and never votes on, or executes, a block under rules it does
//! not know.
//!
//! The chain's limits (transaction, block and EPCIS event sizes) move on
//! their own, within ceilings a version sets ([`crate::chain_limits`]): no
//! new binary is needed to move them, so they are not a version.

use borsh::{BorshDeserialize, BorshSerialize};

/// One version of the chain's rules, as this binary implements it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainRules {
    /// Its number.
    pub version: u32,
    /// How signatures (transactions, votes, proposals, evidence) are checked.
    pub signatures: &'static str,
    /// The host ABI version contracts are linked against.
    pub host_abi: u32,
}

/// The versions this binary implements, oldest first.
pub const IMPLEMENTED: &[ChainRules] = &[ChainRules {
    version: 1,
    signatures: "ed25519 verify_strict (RFC 8032, canonical encodings, no small-order keys or R)",
    host_abi: 1,
}];

/// The newest version this binary implements.
pub const IMPLEMENTED_MAX: u32 = 1;
const _: () = assert!(IMPLEMENTED[IMPLEMENTED.len() - 1].version == IMPLEMENTED_MAX);

/// The version a chain with no version table follows (chains built in tests
/// without a genesis state).
pub const DEFAULT_VERSION: u32 = 1;

/// Most versions one chain may have.
pub const CHAIN_RULES_VERSIONS_MAX: usize = 1_024;

/// Version `version` as this binary implements it, if it does.
pub fn implemented(version: u32) -> Option<&'static ChainRules> {
    IMPLEMENTED.iter().find(|r| r.version == version)
}

/// One version of a chain's rules, as its state records it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ChainRulesVersion {
    /// The version.
    pub version: u32,
    /// The first height it applies to (0 for genesis).
    pub from_height: u64,
    /// The proposal that scheduled it (none for genesis).
    pub proposal: Option<u64>,
}

/// The version that applies at `height` (`versions` sorted by height).
pub fn version_at(versions: &[ChainRulesVersion], height: u64) -> u32 {
    versions
        .iter()
        .rev()
        .find(|v| v.from_height <= height)
        .map_or(DEFAULT_VERSION, |v| v.version)
}

/// The first version, from the one at `height` on, that this binary does not
/// implement: where it must stop (versions of the past do not matter).
pub fn first_unimplemented(
    versions: &[ChainRulesVersion],
    height: u64,
) -> Option<&ChainRulesVersion> {
    let running = versions
        .iter()
        .rposition(|v| v.from_height <= height)
        .unwrap_or(0);
    versions
        .get(running..)
        .unwrap_or_default()
        .iter()
        .find(|v| implemented(v.version).is_none())
}

/// A proposed version of the chain's rules.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct RulesUpgrade {
    /// The new version: above the one it replaces.
    pub version: u32,
    /// The latest version when proposed (running or scheduled): a proposal
    /// written against a version replaced meanwhile is refused.
    pub replaces: u32,
    /// The first height it applies to.
    pub activation_height: u64,
}

/// A chain rules proposal and its approvals, under
/// [`crate::sys_keys::chain_rules_proposal`].
pub type RulesProposal = crate::governance::Proposal<RulesUpgrade>;

#[cfg(test)]
mod tests {
    use super::*;

    fn v(version: u32, from_height: u64) -> ChainRulesVersion {
        ChainRulesVersion {
            version,
            from_height,
            proposal: None,
        }
    }

    #[test]
    fn the_version_at_a_height_is_the_last_started() {
        let versions = [v(1, 0), v(2, 100)];
        assert_eq!(version_at(&versions, 0), 1);
        assert_eq!(version_at(&versions, 99), 1);
        assert_eq!(version_at(&versions, 100), 2);
        assert_eq!(version_at(&[], 7), DEFAULT_VERSION);
    }

    #[test]
    fn the_first_unimplemented_version_is_where_a_binary_stops() {
        assert_eq!(first_unimplemented(&[v(1, 0)], 10), None);
        let ahead = [
            v(1, 0),
            v(IMPLEMENTED_MAX + 1, 50),
            v(IMPLEMENTED_MAX + 2, 90),
        ];
        assert_eq!(first_unimplemented(&ahead, 10), Some(&ahead[1]));
        assert_eq!(first_unimplemented(&ahead, 60), Some(&ahead[1]));
        // A version of the past this binary no longer implements is no stop.
        let past = [v(0, 0), v(1, 50)];
        assert_eq!(first_unimplemented(&past, 50), None);
        assert_eq!(first_unimplemented(&past, 49), Some(&past[0]));
        assert!(implemented(0).is_none());
        assert!(implemented(IMPLEMENTED_MAX).is_some());
    }
}
