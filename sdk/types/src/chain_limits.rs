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

use crate::genesis::ConsensusParams;
use crate::governance::GOVERNANCE_ARGS_BYTES_MAX;
use crate::limits::{BLOCK_BYTES_MAX, BLOCK_TXS_MAX, TX_BYTES_MAX, TX_EXPIRY_BLOCKS_MAX};
use borsh::{BorshDeserialize, BorshSerialize};
use filiera_contract_api::lots::EPCIS_EVENT_BYTES_MAX;
use serde::{Deserialize, Serialize};

/// The smallest transaction limit a chain may have (genesis or governance),
/// in bytes: an upload of one module chunk with its envelope must still fit,
/// or the authority could not upgrade anything again.
pub const TX_BYTES_FLOOR: u64 = GOVERNANCE_ARGS_BYTES_MAX as u64 + 2 * 1024;

/// Room a block keeps for its header and the proposal's framing, in bytes:
/// a block limit is at least this above the transaction limit, so that the
/// largest transaction let in fits a block.
pub const BLOCK_FRAMING_BYTES: u64 = 4 * 1024;

/// The shortest expiry window a chain may have, in blocks: the SDK and the
/// CLI ask for 1,000 blocks after the head they read (the authority's own
/// transactions too), which must stay admissible.
pub const TX_EXPIRY_BLOCKS_FLOOR: u64 = 1_000;

/// The smallest EPCIS event limit a chain may have, in bytes.
pub const EPCIS_EVENT_BYTES_FLOOR: u64 = 1024;

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

    /// Whether a chain may have these values (genesis or governance): each
    /// within its ceiling and its floor, a block room for its largest
    /// transaction.
    pub fn check(&self) -> Result<(), LimitOutOfRange> {
        let within = |name: &'static str, value: u64, min: u64, max: u64| {
            if value < min || value > max {
                Err(LimitOutOfRange {
                    name,
                    value,
                    min,
                    max,
                })
            } else {
                Ok(())
            }
        };
        within(
            "tx_bytes_max",
            self.tx_bytes_max,
            TX_BYTES_FLOOR,
            TX_BYTES_MAX as u64,
        )?;
        within(
            "block_bytes_max",
            self.block_bytes_max,
            self.tx_bytes_max.saturating_add(BLOCK_FRAMING_BYTES),
            BLOCK_BYTES_MAX as u64,
        )?;
        within("block_txs_max", self.block_txs_max, 1, BLOCK_TXS_MAX as u64)?;
        within(
            "tx_expiry_blocks_max",
            self.tx_expiry_blocks_max,
            TX_EXPIRY_BLOCKS_FLOOR,
            TX_EXPIRY_BLOCKS_MAX,
        )?;
        within(
            "epcis_event_bytes_max",
            self.epcis_event_bytes_max,
            EPCIS_EVENT_BYTES_FLOOR,
            EPCIS_EVENT_BYTES_MAX as u64,
        )
    }
}

/// A limit outside what a chain may have.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{name} {value}: it must be from {min} to {max}")]
pub struct LimitOutOfRange {
    /// The limit's name, e.g. `tx_bytes_max`.
    pub name: &'static str,
    /// The value given.
    pub value: u64,
    /// The least allowed.
    pub min: u64,
    /// The most allowed.
    pub max: u64,
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
pub type LimitsProposal = crate::governance::Proposal<LimitsUpgrade>;

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
            tx_bytes_max: TX_BYTES_FLOOR - 1,
            ..ok
        };
        assert_eq!(small_tx.check().unwrap_err().name, "tx_bytes_max");
        let big_block = ChainLimits {
            block_bytes_max: BLOCK_BYTES_MAX as u64 + 1,
            ..ok
        };
        assert_eq!(big_block.check().unwrap_err().name, "block_bytes_max");
        let no_framing = ChainLimits {
            block_bytes_max: ok.tx_bytes_max + BLOCK_FRAMING_BYTES - 1,
            ..ok
        };
        assert_eq!(no_framing.check().unwrap_err().name, "block_bytes_max");
        let short_expiry = ChainLimits {
            tx_expiry_blocks_max: TX_EXPIRY_BLOCKS_FLOOR - 1,
            ..ok
        };
        assert_eq!(
            short_expiry.check().unwrap_err().name,
            "tx_expiry_blocks_max"
        );
        let no_txs = ChainLimits {
            block_txs_max: 0,
            ..ok
        };
        assert_eq!(no_txs.check().unwrap_err().name, "block_txs_max");
        let big_event = ChainLimits {
            epcis_event_bytes_max: EPCIS_EVENT_BYTES_MAX as u64 + 1,
            ..ok
        };
        assert_eq!(big_event.check().unwrap_err().name, "epcis_event_bytes_max");
    }
}
