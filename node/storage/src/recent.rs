//! The tree nodes of the last committed blocks, kept in memory for the next
//! block's walk.
//!
//! Why: a block of 10,000 rewrites over 100,000 keys reads about 22,000 nodes,
//! and most were written by the last few blocks: every upper internal node is
//! rewritten by nearly every block, and a leaf by the block that last wrote
//! its key. RocksDB finds them in its memtable, a skip list of everything
//! written since the last flush, whose searches were a tenth of a commit's
//! time (`perf`, benches/README.md). Here a read picks the block by the
//! node's version and binary-searches that block's sorted nodes.
//!
//! Invariant: a node is here only after the synced write of its block
//! succeeded, and the bytes are the ones written. A node's key names its
//! version, so a committed node never changes; nodes reachable from the latest
//! root are never pruned, and the walk reads no others. So every hit is the
//! node RocksDB would return, and a miss falls through to RocksDB.

use crate::pairs::SortedPairs;
use jmt::Version;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// One committed block's nodes.
pub(crate) struct BlockNodes {
    version: Version,
    nodes: SortedPairs,
}

/// The nodes of the newest committed blocks that fit in a byte budget.
pub(crate) struct RecentNodes {
    /// Oldest first.
    blocks: Mutex<VecDeque<Arc<BlockNodes>>>,
    bytes_max: usize,
}

/// What a walk reads from: the blocks held when it began.
#[derive(Clone, Default)]
pub(crate) struct RecentView(Vec<Arc<BlockNodes>>);

impl RecentView {
    /// The node under these key bytes (a borsh `NodeKey`: the version first,
    /// little-endian), if its block is held.
    pub(crate) fn get(&self, node_key: &[u8]) -> Option<&[u8]> {
        let version = Version::from_le_bytes(node_key.get(..8)?.try_into().ok()?);
        self.0
            .iter()
            .rev()
            .find(|block| block.version == version)?
            .nodes
            .get(node_key)
    }
}

impl RecentNodes {
    pub(crate) fn new(bytes_max: usize) -> RecentNodes {
        RecentNodes {
            blocks: Mutex::new(VecDeque::new()),
            bytes_max,
        }
    }

    /// The blocks held now. A poisoned lock (a panic while it was held) gives
    /// none: every read then goes to RocksDB.
    pub(crate) fn view(&self) -> RecentView {
        match self.blocks.lock() {
            Ok(blocks) => RecentView(blocks.iter().cloned().collect()),
            Err(_) => RecentView::default(),
        }
    }

    /// Adds a block whose write has succeeded, dropping the oldest blocks
    /// past the budget. A block newer than the last held one only: after a
    /// gap (a snapshot import) the older blocks are dropped.
    pub(crate) fn push(&self, version: Version, nodes: SortedPairs) {
        let Ok(mut blocks) = self.blocks.lock() else {
            return;
        };
        if blocks.back().is_some_and(|b| b.version + 1 != version) {
            blocks.clear();
        }
        blocks.push_back(Arc::new(BlockNodes { version, nodes }));
        let mut bytes: usize = blocks.iter().map(|b| b.nodes.heap_bytes()).sum();
        while bytes > self.bytes_max
            && let Some(oldest) = blocks.pop_front()
        {
            bytes -= oldest.nodes.heap_bytes();
        }
    }

    /// Forgets every block (after the tree was written other than by a commit).
    pub(crate) fn clear(&self) {
        if let Ok(mut blocks) = self.blocks.lock() {
            blocks.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::pairs::Pairs;
    use std::io::Write;

    /// One node of `version` (its key starts with the version, as a
    /// `NodeKey`'s borsh bytes do), `bytes` long.
    fn block(version: Version, bytes: usize) -> SortedPairs {
        let mut pairs = Pairs::default();
        pairs
            .push(
                |b| b.write_all(&key(version)),
                |b| b.write_all(&vec![version as u8; bytes]),
            )
            .unwrap();
        Pairs::sorted(&[pairs])
    }

    fn key(version: Version) -> Vec<u8> {
        let mut key = version.to_le_bytes().to_vec();
        key.extend_from_slice(b"path");
        key
    }

    fn held(recent: &RecentNodes) -> Vec<Version> {
        let view = recent.view();
        (0..10).filter(|v| view.get(&key(*v)).is_some()).collect()
    }

    #[test]
    fn the_newest_blocks_within_the_budget_are_held() {
        let one = block(1, 1_000).heap_bytes();
        let recent = RecentNodes::new(3 * one);
        for version in 1..=5 {
            recent.push(version, block(version, 1_000));
        }
        assert_eq!(held(&recent), [3, 4, 5]);
        let view = recent.view();
        assert_eq!(view.get(&key(5)), Some(&[5u8; 1_000][..]));
        // Same version, another path; a key too short to hold a version.
        let mut other = key(5);
        other.push(0);
        assert_eq!(view.get(&other), None);
        assert_eq!(view.get(&[5]), None);
        // A view keeps what it saw while newer blocks come.
        recent.push(6, block(6, 1_000));
        assert!(view.get(&key(3)).is_some());
        assert_eq!(held(&recent), [4, 5, 6]);
    }

    #[test]
    fn a_gap_a_clear_or_no_budget_drops_the_older_blocks() {
        let recent = RecentNodes::new(1 << 20);
        recent.push(1, block(1, 10));
        recent.push(2, block(2, 10));
        recent.push(4, block(4, 10));
        assert_eq!(held(&recent), [4]);
        recent.clear();
        assert!(held(&recent).is_empty());
        let none = RecentNodes::new(0);
        none.push(1, block(1, 10));
        assert!(held(&none).is_empty());
    }
}
