//! The tree nodes of the last committed blocks, kept in memory for the next
//! block's walk.
//!
//! Why: a block of 10,000 rewrites over 100,000 keys reads about 22,000 nodes,
//! and most were written by the last few blocks: every upper internal node is
//! rewritten by nearly every block, and a leaf by the block that last wrote
//! its key. RocksDB finds them in its memtable, a skip list of everything
//! written since the last flush, whose searches were a tenth of a commit's
//! time (`perf`, benches/README.md). Here a read picks the block by the
//! node's version and looks the key up in that block's hash table of node
//! positions (a binary search over the keys themselves spent most of its time
//! comparing bytes scattered over megabytes). Key hashes are chosen by whoever
//! writes the state, so a crafted set could collide: a lookup probes at most
//! [`PROBES_MAX`] slots, and a node that found no free slot among them is not
//! indexed and is read from RocksDB, so collisions cost reads, never time
//! without bound.
//!
//! Invariant: a node is here only after the synced write of its block
//! succeeded, and the bytes are the ones written. A node's key names its
//! version, so a committed node never changes; nodes reachable from the latest
//! root are never pruned, and the walk reads no others. So every hit is the
//! node RocksDB would return, and a miss falls through to RocksDB.

use super::layout::NodeKeyHead;
use super::pairs::SortedPairs;
use crate::columns::NODE_KEY_VERSION_BYTES;
use jmt::Version;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Path bytes a node's number holds.
const NUMBER_PATH_BYTES: usize = 7;
/// Most table slots one lookup or insert probes.
const PROBES_MAX: usize = 16;
/// Table slots per node at least: a sparse table keeps probe runs short
/// (4 bytes a slot, against some 200 bytes a node).
const SLOTS_PER_NODE: usize = 4;
/// Marks an empty slot.
const EMPTY: u32 = u32::MAX;

/// A number for a node key of a known version: the nibble count (the depth)
/// in the top byte, then the first seven path bytes. Keys with equal numbers
/// (the same depth and first seven path bytes) are told apart by their bytes.
/// `None` for bytes of another shape (shorter than a head, or 256 nibbles or
/// more).
fn number_of(node_key: &[u8]) -> Option<u64> {
    let (head, path) = NodeKeyHead::read(node_key)?;
    let depth = u8::try_from(head.nibbles).ok()?;
    let mut number = [0u8; 8];
    number[0] = depth;
    let taken = path.len().min(NUMBER_PATH_BYTES);
    number[1..1 + taken].copy_from_slice(&path[..taken]);
    Some(u64::from_be_bytes(number))
}

/// One committed block's nodes.
pub(crate) struct BlockNodes {
    version: Version,
    nodes: SortedPairs,
    /// Open addressing over node positions (`EMPTY` where none), a power of
    /// two at least [`SLOTS_PER_NODE`] times the nodes; empty if a key is not
    /// a node key (then the keys are binary-searched).
    slots: Vec<u32>,
}

impl BlockNodes {
    fn new(version: Version, nodes: SortedPairs) -> BlockNodes {
        let mut slots = Vec::new();
        let numbers: Option<Vec<u64>> = (0..nodes.len())
            .map(|i| number_of(nodes.pair(i).0))
            .collect();
        if let Some(numbers) = numbers.filter(|n| n.len() < EMPTY as usize) {
            slots = vec![EMPTY; (SLOTS_PER_NODE * numbers.len()).next_power_of_two()];
            for (i, number) in numbers.into_iter().enumerate() {
                let free = probe(&slots, number).find(|slot| slots[*slot] == EMPTY);
                if let Some(slot) = free {
                    slots[slot] = i as u32;
                }
            }
        }
        BlockNodes {
            version,
            nodes,
            slots,
        }
    }

    fn heap_bytes(&self) -> usize {
        self.nodes.heap_bytes() + self.slots.capacity() * size_of::<u32>()
    }

    fn get(&self, node_key: &[u8]) -> Option<&[u8]> {
        let number = match number_of(node_key) {
            Some(number) if !self.slots.is_empty() => number,
            _ => return self.nodes.get(node_key),
        };
        for slot in probe(&self.slots, number) {
            let at = self.slots[slot];
            if at == EMPTY {
                return None;
            }
            let (key, node) = self.nodes.pair(at as usize);
            if key == node_key {
                return Some(node);
            }
        }
        None
    }
}

/// The slots a number may sit in, in probing order (`slots` is a power of two long).
fn probe(slots: &[u32], number: u64) -> impl Iterator<Item = usize> {
    let mask = slots.len().wrapping_sub(1);
    // Fibonacci hashing: the top bits of the product depend on every bit of
    // the number (a shallow node's number has only its top bytes set).
    let start = match slots.len().trailing_zeros() {
        0 => 0,
        bits => (number.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - bits)) as usize,
    };
    (0..PROBES_MAX.min(slots.len())).map(move |i| (start + i) & mask)
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
        let version =
            Version::from_le_bytes(node_key.get(..NODE_KEY_VERSION_BYTES)?.try_into().ok()?);
        self.0
            .iter()
            .rev()
            .find(|block| block.version == version)?
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
        // Indexed before the lock is taken: a view waits for nothing but the list.
        let block = Arc::new(BlockNodes::new(version, nodes));
        let Ok(mut blocks) = self.blocks.lock() else {
            return;
        };
        if blocks
            .back()
            .is_some_and(|b| b.version.checked_add(1) != Some(version))
        {
            blocks.clear();
        }
        blocks.push_back(block);
        let mut bytes: usize = blocks.iter().map(|b| b.heap_bytes()).sum();
        while bytes > self.bytes_max
            && let Some(oldest) = blocks.pop_front()
        {
            bytes -= oldest.heap_bytes();
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
    use crate::tree::pairs::Pairs;
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

    /// The `tree_nodes` key of the node at `depth` on `hash`'s path.
    fn node_key(version: Version, hash: &[u8; 32], depth: usize) -> Vec<u8> {
        let mut key = Vec::new();
        crate::tree::layout::path_node_key_bytes(version, hash, depth, &mut key);
        key
    }

    proptest::proptest! {
        /// Real node keys are found through the table: every node
        /// under its key, nothing under another key, also one that shares
        /// its depth and first seven path bytes.
        #[test]
        fn node_keys_are_found_through_the_table(
            nodes in proptest::collection::btree_map(
                (proptest::prelude::any::<[u8; 32]>(), 0usize..=64),
                proptest::collection::vec(proptest::prelude::any::<u8>(), 1..40),
                1..300,
            ),
            absent in (proptest::prelude::any::<[u8; 32]>(), 0usize..=64),
        ) {
            let mut pairs = Pairs::default();
            let mut keys = std::collections::BTreeMap::new();
            for ((hash, depth), node) in &nodes {
                let key = node_key(9, hash, *depth);
                // Paths shorter than a hash may coincide: the first one wins.
                if keys.contains_key(&key) {
                    continue;
                }
                pairs.push(|b| b.write_all(&key), |b| b.write_all(node)).unwrap();
                keys.insert(key, node.clone());
            }
            // A twin of the deepest key: same depth and first seven path
            // bytes, another eighth byte.
            let ((hash, _), _) = nodes.iter().next().unwrap();
            let mut twin_hash = *hash;
            twin_hash[7] ^= 0x01;
            let (deep, twin) = (node_key(9, hash, 64), node_key(9, &twin_hash, 64));
            if let std::collections::btree_map::Entry::Vacant(slot) = keys.entry(deep.clone()) {
                pairs.push(|b| b.write_all(&deep), |b| b.write_all(b"deep")).unwrap();
                slot.insert(b"deep".to_vec());
            }
            let block = BlockNodes::new(9, Pairs::sorted(&[pairs]));
            let indexed = block.slots.iter().filter(|s| **s != EMPTY).count();
            proptest::prop_assert_eq!(indexed, keys.len(), "the table is used");
            for (key, node) in &keys {
                proptest::prop_assert_eq!(block.get(key), Some(node.as_slice()));
            }
            for key in [twin, node_key(9, &absent.0, absent.1), node_key(8, hash, 64)] {
                proptest::prop_assert_eq!(block.get(&key), keys.get(&key).map(Vec::as_slice));
            }
        }
    }

    /// Keys crafted to share a number fill at most the probed slots: the
    /// rest are not indexed (read from RocksDB), and none is answered wrong.
    #[test]
    fn colliding_keys_cost_reads_not_unbounded_probes() {
        let mut pairs = Pairs::default();
        let keys: Vec<Vec<u8>> = (0..40u8)
            .map(|i| {
                let mut hash = [0x5a; 32];
                hash[20] = i;
                node_key(3, &hash, 64)
            })
            .collect();
        for (i, key) in keys.iter().enumerate() {
            pairs
                .push(|b| b.write_all(key), |b| b.write_all(&[i as u8]))
                .unwrap();
        }
        let block = BlockNodes::new(3, Pairs::sorted(&[pairs]));
        let found: Vec<usize> = keys
            .iter()
            .enumerate()
            .filter_map(|(i, key)| {
                let node = block.get(key)?;
                assert_eq!(node, [i as u8], "another node's bytes");
                Some(i)
            })
            .collect();
        assert_eq!(found.len(), PROBES_MAX);
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
