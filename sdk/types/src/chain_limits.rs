//! The chain's governed limits: the size of a transaction, of a block and of
//! an EPCIS event, the transactions per block, and how far ahead a
//! transaction may expire. Genesis sets their first values (its consensus
//! parameters); the authority moves them, k of n, from an activation height
//! on, as it moves the chain's rules version, so that no limit ever needs a
//! new genesis.
//!
//! Invariants: every value stays within the protocol's hard ceilings
//! ([`crate::limits`]), which decoders enforce before they allocate, so a
//! binary that follows the chain follows every value the authority may set
//! (a ceiling moves only with a chain rules version). The values of a height
//! are known to every node a notice period before it: block checks, block
//! building, admission at the door and the contracts' host read the values
//! of the height they judge, never of the height they are at.
//!
//! Threat: a limit that would lock the authority out of its own governance
//! (a transaction too small to carry a module chunk) is refused.

use crate::crypto::PublicKey;
use crate::genesis::ConsensusParams;
use crate::governance::GOVERNANCE_ARGS_BYTES_MAX;
use crate::limits::{BLOCK_BYTES_MAX, BLOCK_TXS_MAX, TX_BYTES_MAX, TX_EXPIRY_BLOCKS_MAX};
use borsh::{BorshDeserialize, BorshSerialize};
use filiera_contract_api::lots::EPCIS_EVENT_BYTES_MAX;
use serde::{Deserialize, Serialize};

/// The smallest transaction limit governance may set, in bytes: an upload of
/// one module chunk with its envelope must still fit.
pub const GOVERNED_TX_BYTES_MIN: u64 = GOVERNANCE_ARGS_BYTES_MAX as u64 + 2 * 1024;

/// The smallest EPCIS event limit governance may set, in bytes.
pub const GOVERNED_EPCIS_EVENT_BYTES_MIN: u64 = 1024;

/// Most limit versions one chain may have.
pub const LIMITS_VERSIONS_MAX: usize = 1_024;

/// The values of the chain's limits at one height.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct ChainLimits {
    /// Largest encoded signed transaction, in bytes.
    pub tx_bytes_max: u64,
    /// Largest encoded block, in bytes.
    pub block_bytes_max: u64,
    /// Most transactions per block.
    pub block_txs_max: u64,
    /// Furthest ahead of the current height a transaction's expiry may be
    /// when it is let in, in blocks.
    pub tx_expiry_blocks_max: u64,
    /// Largest EPCIS event a lot action may carry, in bytes (with its eventID).
    pub epcis_event_bytes_max: u64,
}

impl ChainLimits {
    /// The values a genesis sets (its EPCIS event limit is the ceiling).
    pub fn from_genesis(c: &ConsensusParams) -> ChainLimits {
        ChainLimits {
            tx_bytes_max: c.tx_bytes_max,
            block_bytes_max: c.block_bytes_max,
            block_txs_max: c.block_txs_max,
            tx_expiry_blocks_max: c.tx_expiry_blocks_max,
            epcis_event_bytes_max: EPCIS_EVENT_BYTES_MAX as u64,
        }
    }

    /// Whether governance may set these values: each within its ceiling and
    /// its floor, and a block holds at least one transaction.
    pub fn check(&self) -> Result<(), String> {
        let within = |name: &str, v: u64, lo: u64, hi: u64| {
            if v < lo || v > hi {
                Err(format!("{name} {v}: it must be from {lo} to {hi}"))
            } else {
                Ok(())
            }
        };
        within(
            "tx_bytes_max",
            self.tx_bytes_max,
            GOVERNED_TX_BYTES_MIN,
            TX_BYTES_MAX as u64,
        )?;
        within(
            "block_bytes_max",
            self.block_bytes_max,
            self.tx_bytes_max,
            BLOCK_BYTES_MAX as u64,
        )?;
        within("block_txs_max", self.block_txs_max, 1, BLOCK_TXS_MAX as u64)?;
        within(
            "tx_expiry_blocks_max",
            self.tx_expiry_blocks_max,
            1,
            TX_EXPIRY_BLOCKS_MAX,
        )?;
        within(
            "epcis_event_bytes_max",
            self.epcis_event_bytes_max,
            GOVERNED_EPCIS_EVENT_BYTES_MIN,
            EPCIS_EVENT_BYTES_MAX as u64,
        )
    }
}

/// Some limits changed, the others kept (what an operator asks for).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChainLimitsChange {
    /// New [`ChainLimits::tx_bytes_max`].
    pub tx_bytes_max: Option<u64>,
    /// New [`ChainLimits::block_bytes_max`].
    pub block_bytes_max: Option<u64>,
    /// New [`ChainLimits::block_txs_max`].
    pub block_txs_max: Option<u64>,
    /// New [`ChainLimits::tx_expiry_blocks_max`].
    pub tx_expiry_blocks_max: Option<u64>,
    /// New [`ChainLimits::epcis_event_bytes_max`].
    pub epcis_event_bytes_max: Option<u64>,
}

impl ChainLimitsChange {
    /// `limits` with this change.
    pub fn applied_to(&self, limits: ChainLimits) -> ChainLimits {
        ChainLimits {
            tx_bytes_max: self.tx_bytes_max.unwrap_or(limits.tx_bytes_max),
            block_bytes_max: self.block_bytes_max.unwrap_or(limits.block_bytes_max),
            block_txs_max: self.block_txs_max.unwrap_or(limits.block_txs_max),
            tx_expiry_blocks_max: self
                .tx_expiry_blocks_max
                .unwrap_or(limits.tx_expiry_blocks_max),
            epcis_event_bytes_max: self
                .epcis_event_bytes_max
                .unwrap_or(limits.epcis_event_bytes_max),
        }
    }
}

impl ChainLimits {
    /// What differs from these to `new`, e.g. `tx_bytes_max 32768 -> 49152`
    /// (`unchanged` if nothing does).
    pub fn changes_to(&self, new: &ChainLimits) -> String {
        let pairs = [
            ("tx_bytes_max", self.tx_bytes_max, new.tx_bytes_max),
            ("block_bytes_max", self.block_bytes_max, new.block_bytes_max),
            ("block_txs_max", self.block_txs_max, new.block_txs_max),
            (
                "tx_expiry_blocks_max",
                self.tx_expiry_blocks_max,
                new.tx_expiry_blocks_max,
            ),
            (
                "epcis_event_bytes_max",
                self.epcis_event_bytes_max,
                new.epcis_event_bytes_max,
            ),
        ];
        let changed: Vec<String> = pairs
            .iter()
            .filter(|(_, old, new)| old != new)
            .map(|(name, old, new)| format!("{name} {old} -> {new}"))
            .collect();
        if changed.is_empty() {
            "unchanged".to_owned()
        } else {
            changed.join(", ")
        }
    }
}

impl Default for ChainLimits {
    /// The values of a chain with no table (chains built in tests without a
    /// genesis state): the default consensus parameters'.
    fn default() -> ChainLimits {
        ChainLimits::from_genesis(&ConsensusParams::default())
    }
}

/// The limits from one height on, as the chain's state records them.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct LimitsVersion {
    /// The values.
    pub limits: ChainLimits,
    /// The first height they apply to (0 for genesis).
    pub from_height: u64,
    /// The proposal that scheduled them (none for genesis).
    pub proposal: Option<u64>,
}

/// The limits that apply at `height` (`versions` sorted by height).
pub fn limits_at(versions: &[LimitsVersion], height: u64) -> ChainLimits {
    versions
        .iter()
        .rev()
        .find(|v| v.from_height <= height)
        .map_or_else(ChainLimits::default, |v| v.limits)
}

/// Proposed limits.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct LimitsUpgrade {
    /// The new values.
    pub limits: ChainLimits,
    /// The latest values when proposed (running or scheduled): a proposal
    /// written against values changed meanwhile is refused.
    pub replaces: ChainLimits,
    /// The first height they apply to.
    pub activation_height: u64,
}

/// A limits proposal and its approvals, under
/// [`crate::sys_keys::limits_proposal`].
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct LimitsProposal {
    /// What is proposed.
    pub upgrade: LimitsUpgrade,
    /// The authority keys that approved it, the proposer first.
    pub approvals: Vec<PublicKey>,
    /// The height of the block that carried the proposal.
    pub proposed_height: u64,
    /// Whether it gathered its approvals and was scheduled.
    pub scheduled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(from_height: u64, tx_bytes_max: u64) -> LimitsVersion {
        LimitsVersion {
            limits: ChainLimits {
                tx_bytes_max,
                ..ChainLimits::default()
            },
            from_height,
            proposal: None,
        }
    }

    #[test]
    fn the_values_of_a_height_are_the_last_version_started_by_it() {
        let table = [at(0, 32_768), at(100, 40_000)];
        assert_eq!(limits_at(&table, 0).tx_bytes_max, 32_768);
        assert_eq!(limits_at(&table, 99).tx_bytes_max, 32_768);
        assert_eq!(limits_at(&table, 100).tx_bytes_max, 40_000);
        assert_eq!(limits_at(&[], 7), ChainLimits::default());
    }

    #[test]
    fn governance_keeps_within_ceilings_and_floors() {
        let ok = ChainLimits::default();
        assert_eq!(ok.check(), Ok(()));
        let small_tx = ChainLimits {
            tx_bytes_max: GOVERNED_TX_BYTES_MIN - 1,
            ..ok
        };
        assert!(small_tx.check().unwrap_err().contains("tx_bytes_max"));
        let big_block = ChainLimits {
            block_bytes_max: BLOCK_BYTES_MAX as u64 + 1,
            ..ok
        };
        assert!(big_block.check().unwrap_err().contains("block_bytes_max"));
        let block_under_tx = ChainLimits {
            block_bytes_max: ok.tx_bytes_max - 1,
            ..ok
        };
        assert!(block_under_tx.check().is_err());
        let no_txs = ChainLimits {
            block_txs_max: 0,
            ..ok
        };
        assert!(no_txs.check().unwrap_err().contains("block_txs_max"));
        let big_event = ChainLimits {
            epcis_event_bytes_max: EPCIS_EVENT_BYTES_MAX as u64 + 1,
            ..ok
        };
        assert!(big_event.check().unwrap_err().contains("epcis_event"));
    }
}
