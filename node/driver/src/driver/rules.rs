//! Chain rules this binary does not implement: reported in the metrics from
//! the block that scheduled them, and a stop before the first height they
//! apply to, so this node never votes on or executes a block under rules it
//! does not know (a fork), and the operator learns what to install.

use super::Fatal;
use crate::ledger::Ledger;
use crate::metrics::Metrics;

/// Before starting `next_height`: publishes the chain rules ahead and stops
/// the node if that height's rules are not implemented here.
pub(super) fn gate<L: Ledger>(chain: &L, metrics: &Metrics, next_height: u64) -> Result<(), Fatal> {
    let (running, unimplemented) = chain.chain_rules(next_height)?;
    metrics.chain_rules_version.set(i64::from(running));
    let from = unimplemented.map_or(0, |(height, _)| height);
    metrics
        .chain_rules_unimplemented_height
        .set(i64::try_from(from).unwrap_or(i64::MAX));
    match unimplemented {
        Some((height, version)) if next_height >= height => {
            Err(Fatal::RulesUnimplemented { height, version })
        }
        Some((height, version)) => {
            if next_height + RULES_WARNING_EVERY_BLOCKS >= height
                || next_height.is_multiple_of(RULES_WARNING_EVERY_BLOCKS)
            {
                tracing::warn!(
                    height,
                    version,
                    implemented_max = filiera_types::chain_rules::IMPLEMENTED_MAX,
                    "the chain's rules change to a version this binary does not implement: it will stop before that height; install a release that implements it"
                );
            }
            Ok(())
        }
        None => Ok(()),
    }
}

/// How often the warning is logged while the stop is ahead, in blocks (and
/// at every block of the last stretch).
const RULES_WARNING_EVERY_BLOCKS: u64 = 100;
