//! One block's tree update computed on several threads.
//!
//! `jmt` updates a tree on one thread, yet the sixteen subtrees under the root
//! are independent: a write whose key hash starts with nibble `n` touches only
//! the root and subtree `n`. So the writes are split into parts by ranges of that
//! first nibble, and each part runs `jmt`'s own batch update, on its own thread,
//! against the same committed tree. Each part returns a new root whose children
//! outside its range are still the old ones; the block's root takes every child
//! from the part that owns its nibble. All nodes below the root, the values and
//! the stale-node index are disjoint between parts (the old root, stale in every
//! part, appears once in the set).
//!
//! `jmt` does not export its internal-node type, so the merged root is built in
//! [`RootMirror`], a struct with the same borsh layout, and decoded into a `Node`.
//! A test pins the layout on real `jmt` nodes, and the storage tests check that
//! every update computed this way equals the one-thread update node for node.

use crate::node_codec::encode_node;
use crate::tree::{DbTree, value_key};
use borsh::{BorshDeserialize, BorshSerialize};
use filiera_types::encoding;
use filiera_types::state::StateHasher;
use jmt::storage::{Node, NodeKey, TreeReader, TreeUpdateBatch};
use jmt::{JellyfishMerkleTree, KeyHash, OwnedValue, RootHash, Version};
use std::collections::BTreeMap;
use std::io::Write;

/// Below this many writes a block's update runs on one thread: spawning and
/// merging would cost more than the hashing they share out.
pub const PARALLEL_WRITES_MIN: usize = 1_024;

/// Children of an internal node (one per nibble).
pub(crate) const NIBBLES: usize = 16;

/// `jmt::node_type::Child`, field for field.
#[derive(BorshSerialize, BorshDeserialize, Clone, Debug, PartialEq, Eq)]
pub(crate) struct ChildMirror {
    pub(crate) hash: [u8; 32],
    pub(crate) version: u64,
    pub(crate) node_type: NodeTypeMirror,
}

/// `jmt::node_type::NodeType` (`usize` is a `u64` in borsh).
#[derive(BorshSerialize, BorshDeserialize, Clone, Debug, PartialEq, Eq)]
pub(crate) enum NodeTypeMirror {
    Leaf,
    Internal { leaf_count: u64 },
}

impl NodeTypeMirror {
    fn leaf_count(&self) -> u64 {
        match self {
            NodeTypeMirror::Leaf => 1,
            NodeTypeMirror::Internal { leaf_count } => *leaf_count,
        }
    }
}

/// `jmt::storage::Node::Internal` in borsh form: the variant tag, the children
/// (`Children` boxes a 16-slot array, encoded as the array), their count and
/// the leaves under the node.
#[derive(BorshSerialize, BorshDeserialize, Clone, Debug, PartialEq, Eq)]
pub(crate) struct RootMirror {
    tag: u8,
    pub(crate) children: [Option<ChildMirror>; NIBBLES],
    num_children: u64,
    leaf_count: u64,
}

/// Borsh tag of `Node::Internal` (`Null` is 0, `Leaf` 2).
const INTERNAL_TAG: u8 = 1;

impl RootMirror {
    /// The mirror of an internal node; `None` for a leaf or the null node.
    pub(crate) fn of(node: &Node) -> anyhow::Result<Option<RootMirror>> {
        if !matches!(node, Node::Internal(_)) {
            return Ok(None);
        }
        let mirror = RootMirror::try_from_slice(&encoding::encode(node))?;
        anyhow::ensure!(
            mirror.tag == INTERNAL_TAG,
            "internal node with tag {}",
            mirror.tag
        );
        Ok(Some(mirror))
    }

    /// An internal node of these children (the counts are filled in by
    /// [`RootMirror::into_node`]).
    pub(crate) fn from_children(children: [Option<ChildMirror>; NIBBLES]) -> RootMirror {
        RootMirror {
            tag: INTERNAL_TAG,
            children,
            num_children: 0,
            leaf_count: 0,
        }
    }

    /// Back to `jmt`'s node, counts recomputed from the children.
    pub(crate) fn into_node(mut self) -> anyhow::Result<Node> {
        let children = self.children.iter().flatten();
        self.num_children = children.clone().count() as u64;
        self.leaf_count = children.map(|c| c.node_type.leaf_count()).sum();
        Ok(Node::try_from_slice(&encoding::encode(&self))?)
    }
}

/// The key of the root node of `version`.
fn root_key(version: Version) -> anyhow::Result<NodeKey> {
    // A `NodeKey` is its version, then an empty nibble path: zero nibbles (u64)
    // and zero path bytes (u32 length).
    let mut bytes = version.to_le_bytes().to_vec();
    bytes.extend_from_slice(&[0u8; 12]);
    Ok(NodeKey::try_from_slice(&bytes)?)
}

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
    let mut sets: Vec<Vec<(KeyHash, OwnedValue)>> = vec![Vec::new(); parts];
    for (k, v) in inserts {
        sets[owner[first_nibble(&k)]].push((k, v));
    }
    let new_root_key = &root_key(version)?;
    type PartResult = anyhow::Result<(usize, RootMirror, TreeUpdate)>;
    let results: Vec<PartResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = sets
            .into_iter()
            .enumerate()
            .filter(|(_, set)| !set.is_empty())
            .map(|(part, set)| {
                scope.spawn(move || {
                    let (_, batch) = JellyfishMerkleTree::<_, StateHasher>::new(reader)
                        .batch_put_value_sets(vec![set], None, version)?;
                    let part_root = batch
                        .node_batch
                        .get_node(new_root_key)
                        .ok_or_else(|| anyhow::anyhow!("a part wrote no root"))?;
                    let part_mirror = RootMirror::of(part_root)?
                        .ok_or_else(|| anyhow::anyhow!("a part's root is not internal"))?;
                    let mut update = TreeUpdate::empty();
                    update.add_part(batch, Some(new_root_key), Some(old_root_key))?;
                    Ok((part, part_mirror, update))
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
    let mut merged = old_mirror;
    let mut update = TreeUpdate::empty();
    for part in results {
        let (part, part_mirror, part_update) = part?;
        for (n, child) in part_mirror.children.into_iter().enumerate() {
            if owner[n] == part {
                merged.children[n] = child;
            }
        }
        update.nodes.extend(part_update.nodes);
        update.values.extend(part_update.values);
        update.stale.extend(part_update.stale);
    }
    let root = merged.into_node()?;
    let root_hash = match &root {
        Node::Internal(internal) => RootHash(internal.hash::<StateHasher>()),
        _ => anyhow::bail!("the merged root is not internal"),
    };
    let mut merged_root = Pairs::default();
    merged_root.push(|b| new_root_key.serialize(b), |b| encode_node(&root, b))?;
    update.nodes.push(merged_root);
    // Every part found the old root stale; the parts left it out, it goes once.
    update.stale.push(vec![(version, old_root_key.clone())]);
    Ok(Split::Done(root_hash, update))
}

/// Key-value pairs encoded back to back in one buffer: tens of thousands of
/// nodes per block, without a vector each.
#[derive(Default)]
struct Pairs {
    bytes: Vec<u8>,
    /// Per pair: where its key ends and where its value ends.
    ends: Vec<(usize, usize)>,
}

impl Pairs {
    fn push(
        &mut self,
        key: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>,
        value: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        key(&mut self.bytes)?;
        let key_end = self.bytes.len();
        value(&mut self.bytes)?;
        self.ends.push((key_end, self.bytes.len()));
        Ok(())
    }

    fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let starts = std::iter::once(0).chain(self.ends.iter().map(|(_, end)| *end));
        starts.zip(&self.ends).map(|(start, (key_end, end))| {
            (&self.bytes[start..*key_end], &self.bytes[*key_end..*end])
        })
    }
}

/// One block's tree update, encoded for the write batch: the new nodes, the new
/// values (or deletion marks) and the stale-node index, of every part. Encoding
/// happens where the part was computed, so on the part's thread.
pub struct TreeUpdate {
    nodes: Vec<Pairs>,
    values: Vec<Pairs>,
    /// Per part: stale-since version and node key.
    stale: Vec<Vec<(Version, NodeKey)>>,
}

impl TreeUpdate {
    fn empty() -> TreeUpdate {
        TreeUpdate {
            nodes: Vec::new(),
            values: Vec::new(),
            stale: Vec::new(),
        }
    }

    /// An update computed on one thread.
    pub(crate) fn single(batch: TreeUpdateBatch) -> anyhow::Result<TreeUpdate> {
        let mut update = TreeUpdate::empty();
        update.add_part(batch, None, None)?;
        Ok(update)
    }

    /// Encodes a part's batch, leaving out `skip` (its own root, replaced by the
    /// merged one) and `skip_stale` from its stale nodes (the old root, which
    /// every part finds stale).
    fn add_part(
        &mut self,
        batch: TreeUpdateBatch,
        skip: Option<&NodeKey>,
        skip_stale: Option<&NodeKey>,
    ) -> anyhow::Result<()> {
        let (mut nodes, mut values) = (Pairs::default(), Pairs::default());
        for (key, node) in batch.node_batch.nodes() {
            if Some(key) != skip {
                nodes.push(|b| key.serialize(b), |b| encode_node(node, b))?;
            }
        }
        for ((version, key_hash), value) in batch.node_batch.values() {
            values.push(
                |b| b.write_all(&value_key(key_hash, *version)),
                |b| value.serialize(b),
            )?;
        }
        self.nodes.push(nodes);
        self.values.push(values);
        self.stale.push(
            batch
                .stale_node_index_batch
                .into_iter()
                .filter(|index| Some(&index.node_key) != skip_stale)
                .map(|index| (index.stale_since_version, index.node_key))
                .collect(),
        );
        Ok(())
    }

    /// Every new node, encoded: key, then node.
    pub(crate) fn nodes(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.nodes.iter().flat_map(Pairs::iter)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::tree::{MemTree, nodes_of_a_new_tree};

    /// The mirror reads and rebuilds real `jmt` internal nodes exactly: if `jmt`
    /// ever changed its layout, this fails before any root could be wrong.
    #[test]
    fn the_mirror_round_trips_jmt_internal_nodes() {
        let mut internal = 0;
        for node in nodes_of_a_new_tree(300, &[1; 3], 0) {
            match RootMirror::of(&node).unwrap() {
                Some(mirror) => {
                    internal += 1;
                    assert_eq!(mirror.into_node().unwrap(), node);
                }
                None => assert!(matches!(node, Node::Leaf(_))),
            }
        }
        // 300 leaves under a 16-way root: the root and its 16 children at least.
        assert!(internal >= 17, "{internal} internal nodes");
    }

    /// The root key built by hand is the one `jmt` writes.
    #[test]
    fn root_key_is_jmts() {
        let tree = MemTree::default();
        let writes = vec![
            (KeyHash([7; 32]), Some(vec![1])),
            (KeyHash([9; 32]), Some(vec![2])),
        ];
        let (_, batch) = JellyfishMerkleTree::<_, StateHasher>::new(&tree)
            .put_value_set(writes, 4)
            .unwrap();
        assert!(batch.node_batch.get_node(&root_key(4).unwrap()).is_some());
        assert!(batch.node_batch.get_node(&root_key(3).unwrap()).is_none());
    }
}
