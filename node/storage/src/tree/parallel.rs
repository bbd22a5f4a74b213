//! One block's tree update computed on several threads.
//!
//! `jmt` updates a tree on one thread, yet the sixteen subtrees under the root
//! are independent: a write whose key hash starts with nibble `n` touches only
//! the root and subtree `n`. So the writes are split into parts by ranges of that
//! first nibble, and each part updates the root's children in its range, on its
//! own thread, against the same committed tree, with [`super::walk`] (which
//! writes what `jmt`'s batch update writes, without its bookkeeping). The
//! block's root takes every child from the part that owns its nibble. All nodes
//! below the root, the values and the stale-node index are disjoint between
//! parts; the old root is marked stale once, here.
//!
//! `jmt` does not export its internal-node type, so `jmt` nodes are read and
//! built through [`RootMirror`] (in [`super::layout`]), a struct with the same borsh layout. A test
//! pins the layout on real `jmt` nodes, and the storage tests check that every
//! update computed this way equals `jmt`'s one-thread update node for node.

use super::codec::encode_node;
use super::db::DbTree;
use super::layout::{NIBBLES, RootMirror, Slots, root_key, slots_of, value_key};
use super::pairs::{Pairs, SortedPairs};
use super::walk::Walk;
use borsh::BorshSerialize;
use jmt::storage::{NodeKey, TreeReader, TreeUpdateBatch};
use jmt::{KeyHash, OwnedValue, RootHash, Version};
use std::collections::BTreeMap;
use std::io::Write;

/// Below this many writes a block's update runs on one thread: spawning and
/// merging would cost more than the hashing they share out.
pub const PARALLEL_WRITES_MIN: usize = 1_024;

/// First nibble of a key hash: which root child it lives under.
fn first_nibble(key: &KeyHash) -> usize {
    usize::from(key.0[0] >> 4)
}

/// What [`put_inserts`] did.
pub(crate) enum Split {
    /// The update, computed on several threads, and its root.
    Done(RootHash, TreeUpdate),
    /// Nothing: the update is better done on one thread (too few writes, all
    /// under one part, or an old root that is not an internal node). The
    /// writes come back untouched.
    NotWorthIt(Vec<(KeyHash, OwnedValue)>),
}

/// Applies `inserts` (no key twice) as `version`, on up to `parts` threads.
pub(crate) fn put_inserts(
    reader: &DbTree,
    inserts: Vec<(KeyHash, OwnedValue)>,
    version: Version,
    parts: usize,
) -> anyhow::Result<Split> {
    if parts < 2 || inserts.len() < PARALLEL_WRITES_MIN || version == 0 {
        return Ok(Split::NotWorthIt(inserts));
    }
    let old_root_key = &root_key(version - 1)?;
    let Some(old_root) = reader.get_node_option(old_root_key)? else {
        return Ok(Split::NotWorthIt(inserts));
    };
    let Some(old_mirror) = RootMirror::of(&old_root)? else {
        return Ok(Split::NotWorthIt(inserts));
    };
    // Nibble ranges holding about equal numbers of writes.
    let mut per_nibble = [0usize; NIBBLES];
    for (k, _) in &inserts {
        per_nibble[first_nibble(k)] += 1;
    }
    let mut owner = [0usize; NIBBLES];
    let (mut part, mut seen) = (0usize, 0usize);
    for (n, count) in per_nibble.iter().enumerate() {
        owner[n] = part;
        seen += count;
        if seen * parts >= inserts.len() * (part + 1) && part + 1 < parts {
            part += 1;
        }
    }
    if owner.iter().zip(per_nibble).all(|(o, n)| *o == 0 || n == 0) {
        return Ok(Split::NotWorthIt(inserts));
    }
    let mut inserts = inserts;
    // The walk takes runs of sorted key hashes; keys are unique, so the order
    // is total.
    inserts.sort_unstable_by_key(|a| a.0);
    let mut sets: Vec<&[(KeyHash, OwnedValue)]> = Vec::with_capacity(parts);
    let mut rest = inserts.as_slice();
    for part in 0..parts {
        let len = rest
            .iter()
            .take_while(|(k, _)| owner[first_nibble(k)] == part)
            .count();
        let (set, tail) = rest.split_at(len);
        sets.push(set);
        rest = tail;
    }
    anyhow::ensure!(rest.is_empty(), "writes left over after the split");
    let old_slots = slots_of(&old_mirror);
    type Part = (usize, Slots, Pairs, Pairs, Vec<(Version, NodeKey)>);
    let results: Vec<anyhow::Result<Part>> = std::thread::scope(|scope| {
        let handles: Vec<_> = sets
            .into_iter()
            .enumerate()
            .filter(|(_, set)| !set.is_empty())
            .map(|(part, set)| {
                scope.spawn(move || {
                    let mut walk = Walk::new(reader, version);
                    let kvs = walk.values(set)?;
                    let mut slots = old_slots;
                    walk.update_children(&mut slots, &kvs, 0)?;
                    Ok((part, slots, walk.nodes, walk.values, walk.stale))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a tree thread panicked")))
            })
            .collect()
    });
    let mut merged = old_slots;
    let (mut nodes, mut values, mut stale) = (Vec::new(), Vec::new(), Vec::new());
    for part in results {
        let (part, slots, part_nodes, part_values, part_stale) = part?;
        for (n, slot) in slots.into_iter().enumerate() {
            if owner[n] == part {
                merged[n] = slot;
            }
        }
        nodes.push(part_nodes);
        values.push(part_values);
        stale.push(part_stale);
    }
    // The root: no key below it is read, any key names its (empty) path.
    let mut root_walk = Walk::new(reader, version);
    let root = root_walk.put_internal(&[0; 32], 0, &merged)?;
    nodes.push(root_walk.nodes);
    // The parts only read below the root: the old root is made stale here, once.
    stale.push(vec![(version, old_root_key.clone())]);
    let update = TreeUpdate::new(&nodes, values, stale);
    Ok(Split::Done(RootHash(root.hash), update))
}

/// Framing of one write-batch entry at most, in bytes: a tag, a family id
/// and two lengths (varints).
pub(crate) const BATCH_ENTRY_FRAMING_BYTES: usize = 16;
/// Bytes of a typical stale node key in the stale index (version, nibble
/// count, path length, a few path bytes).
const STALE_KEY_BYTES: usize = 24;

/// One block's tree update, encoded for the write batch: the new nodes, the new
/// values (or deletion marks) and the stale-node index, of every part. Encoding
/// happens where the part was computed, so on the part's thread.
pub struct TreeUpdate {
    /// In key order: the write batch takes them so, and a committed block's
    /// nodes are kept so for [`super::recent`].
    nodes: SortedPairs,
    values: Vec<Pairs>,
    /// Per part: stale-since version and node key.
    stale: Vec<Vec<(Version, NodeKey)>>,
}

impl TreeUpdate {
    fn new(nodes: &[Pairs], values: Vec<Pairs>, stale: Vec<Vec<(Version, NodeKey)>>) -> TreeUpdate {
        TreeUpdate {
            nodes: Pairs::sorted(nodes),
            values,
            stale,
        }
    }

    /// An update computed on one thread.
    pub(crate) fn single(batch: TreeUpdateBatch) -> anyhow::Result<TreeUpdate> {
        let (mut nodes, mut values) = (Pairs::default(), Pairs::default());
        for (key, node) in batch.node_batch.nodes() {
            nodes.push(|b| key.serialize(b), |b| encode_node(node, b))?;
        }
        for ((version, key_hash), value) in batch.node_batch.values() {
            values.push(
                |b| b.write_all(&value_key(key_hash, *version)),
                |b| value.serialize(b),
            )?;
        }
        let stale = batch
            .stale_node_index_batch
            .into_iter()
            .map(|index| (index.stale_since_version, index.node_key))
            .collect();
        Ok(TreeUpdate::new(&[nodes], vec![values], vec![stale]))
    }

    /// Every new node, encoded, in key order: key, then node.
    pub(crate) fn nodes(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.nodes.iter()
    }

    /// About the bytes this update takes in a write batch: keys, values and
    /// each entry's framing (tag, family, two lengths).
    pub(crate) fn batch_bytes(&self) -> usize {
        let entries =
            self.nodes.len() + self.values.iter().map(Pairs::len).sum::<usize>() + self.stale.len();
        let payload = self.nodes.payload_bytes()
            + self.values.iter().map(Pairs::payload_bytes).sum::<usize>()
            + self.stale.iter().map(Vec::len).sum::<usize>() * STALE_KEY_BYTES;
        payload + entries * BATCH_ENTRY_FRAMING_BYTES
    }

    /// The new nodes, to keep once they are committed.
    pub(crate) fn into_nodes(self) -> SortedPairs {
        self.nodes
    }

    /// Every new value (or deletion mark), encoded: key, then value.
    pub(crate) fn values(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.values.iter().flat_map(Pairs::iter)
    }

    /// Nodes this version makes stale, by the version they are stale since, in
    /// key order: the same bytes however many parts the update had.
    pub(crate) fn stale(&self) -> BTreeMap<Version, Vec<&NodeKey>> {
        let mut out: BTreeMap<Version, Vec<&NodeKey>> = BTreeMap::new();
        for (since, node_key) in self.stale.iter().flatten() {
            out.entry(*since).or_default().push(node_key);
        }
        for node_keys in out.values_mut() {
            node_keys.sort_unstable();
        }
        out
    }
}
