//! The bottom of the state tree: how a node and its key look as bytes.
//!
//! Everything above (the codec, the walk, the recent-node table, the RocksDB
//! reader, the parallel split) agrees on these shapes: the width of a hash, the
//! sixteen children of an internal node, the borsh form of a `NodeKey` and of a
//! `tree_values` key, and a mirror of `jmt`'s internal node (which `jmt` does
//! not export) whose layout a test pins against real `jmt` nodes. Nothing here
//! imports from the rest of the tree.

use crate::columns::{KEY_HASH_BYTES, NODE_KEY_HEAD_BYTES, NODE_KEY_VERSION_BYTES};
use borsh::{BorshDeserialize, BorshSerialize};
use filiera_types::encoding;
use jmt::storage::{Node, NodeKey};
use jmt::{KeyHash, Version};

/// Bytes of a child's hash.
pub(crate) const HASH_BYTES: usize = 32;

/// A child of an internal node as stored: its hash, its version and, for an
/// internal child, the leaves under it (`None` for a leaf child).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) hash: [u8; HASH_BYTES],
    pub(crate) version: u64,
    pub(crate) leaves: Option<u64>,
}

/// The children of an internal node, by nibble.
pub(crate) type Slots = [Option<Slot>; NIBBLES];

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

/// A child as the walk and the compact form see it: the leaf count is `None`
/// for a leaf child.
impl From<&ChildMirror> for Slot {
    fn from(c: &ChildMirror) -> Slot {
        Slot {
            hash: c.hash,
            version: c.version,
            leaves: match c.node_type {
                NodeTypeMirror::Leaf => None,
                NodeTypeMirror::Internal { leaf_count } => Some(leaf_count),
            },
        }
    }
}

impl From<Slot> for ChildMirror {
    fn from(s: Slot) -> ChildMirror {
        ChildMirror {
            hash: s.hash,
            version: s.version,
            node_type: match s.leaves {
                None => NodeTypeMirror::Leaf,
                Some(leaf_count) => NodeTypeMirror::Internal { leaf_count },
            },
        }
    }
}

/// The children of an internal node, as the walk reads them.
pub(crate) fn slots_of(mirror: &RootMirror) -> Slots {
    mirror
        .children
        .each_ref()
        .map(|child| child.as_ref().map(Slot::from))
}

/// The key of the root node of `version`.
pub(crate) fn root_key(version: Version) -> anyhow::Result<NodeKey> {
    // A `NodeKey` is its version, then an empty nibble path: zero nibbles (u64)
    // and zero path bytes (u32 length).
    let mut bytes = version.to_le_bytes().to_vec();
    bytes.extend_from_slice(&[0u8; 12]);
    Ok(NodeKey::try_from_slice(&bytes)?)
}

/// Key of a `tree_values` entry: key hash then version, big-endian, so the newest
/// version at or below `v` is one `seek_for_prev` away.
pub fn value_key(key_hash: &KeyHash, version: Version) -> [u8; KEY_HASH_BYTES + 8] {
    let mut out = [0u8; KEY_HASH_BYTES + 8];
    out[..KEY_HASH_BYTES].copy_from_slice(&key_hash.0);
    out[KEY_HASH_BYTES..].copy_from_slice(&version.to_be_bytes());
    out
}

/// Key of a `tree_nodes` entry.
pub fn node_key_bytes(key: &NodeKey) -> Vec<u8> {
    encoding::encode(key)
}

/// Most path bytes of a node key: a key hash.
const NODE_PATH_BYTES_MAX: usize = KEY_HASH_BYTES;

/// The fields before the path of a `tree_nodes` key (a borsh `NodeKey`),
/// read in place: pruning and the recent-node table look at them without
/// decoding the key.
pub(crate) struct NodeKeyHead {
    pub(crate) nibbles: u64,
    pub(crate) path_bytes: usize,
}

impl NodeKeyHead {
    /// The head at the start of `key`, and the bytes after it; `None` if
    /// `key` is shorter than a head.
    pub(crate) fn read(key: &[u8]) -> Option<(NodeKeyHead, &[u8])> {
        let (head, rest) = key.split_first_chunk::<NODE_KEY_HEAD_BYTES>()?;
        let (nibbles, path_bytes) = head[NODE_KEY_VERSION_BYTES..].split_first_chunk::<8>()?;
        let path_bytes: [u8; 4] = path_bytes.try_into().ok()?;
        let head = NodeKeyHead {
            nibbles: u64::from_le_bytes(*nibbles),
            path_bytes: u32::from_le_bytes(path_bytes) as usize,
        };
        Some((head, rest))
    }
}

/// The `tree_nodes` keys listed in a `tree_stale` entry (a borsh
/// `Vec<NodeKey>`), as slices of it. A borsh `NodeKey` is its `tree_nodes`
/// key, so pruning deletes them without decoding thirteen thousand keys
/// into allocated paths and encoding them back, per block. Strict: a count
/// or length that does not match the bytes, a nibble count that does not
/// match the path, or trailing bytes, is an error.
pub(crate) fn stale_node_keys(entry: &[u8]) -> anyhow::Result<Vec<&[u8]>> {
    let (count, mut rest) = entry
        .split_first_chunk::<4>()
        .ok_or_else(|| anyhow::anyhow!("stale entry shorter than its count"))?;
    let count = u32::from_le_bytes(*count) as usize;
    // Each key takes at least its head: a count the bytes cannot hold is
    // refused before anything is allocated for it.
    anyhow::ensure!(
        count <= rest.len() / NODE_KEY_HEAD_BYTES,
        "stale entry counts {count} keys in {} bytes",
        rest.len()
    );
    let mut keys = Vec::with_capacity(count);
    for _ in 0..count {
        let (head, tail) = NodeKeyHead::read(rest)
            .ok_or_else(|| anyhow::anyhow!("stale entry ends inside a key"))?;
        let (nibbles, path) = (head.nibbles, head.path_bytes);
        anyhow::ensure!(
            path <= NODE_PATH_BYTES_MAX && nibbles.div_ceil(2) == path as u64 && path <= tail.len(),
            "stale node key of {nibbles} nibbles with a {path}-byte path"
        );
        let len = NODE_KEY_HEAD_BYTES + path;
        keys.push(&rest[..len]);
        rest = &rest[len..];
    }
    anyhow::ensure!(
        rest.is_empty(),
        "{} bytes after a stale entry's keys",
        rest.len()
    );
    Ok(keys)
}

/// Nibble `depth` of a key hash (high nibble first).
pub(crate) fn nibble(key: &[u8; HASH_BYTES], depth: usize) -> usize {
    let byte = key[depth / 2];
    usize::from(if depth.is_multiple_of(2) {
        byte >> 4
    } else {
        byte & 0x0f
    })
}

/// The borsh bytes of the `NodeKey` of the node at `depth` on `key`'s path:
/// the version, the number of nibbles (u64), then the path's bytes (a u32
/// length, the high nibble of an odd last byte kept, the low one zero).
pub(crate) fn path_node_key_bytes(
    version: Version,
    key: &[u8; HASH_BYTES],
    depth: usize,
    out: &mut Vec<u8>,
) {
    let path_bytes = depth.div_ceil(2);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(depth as u64).to_le_bytes());
    out.extend_from_slice(&(path_bytes as u32).to_le_bytes());
    out.extend_from_slice(&key[..path_bytes]);
    if !depth.is_multiple_of(2)
        && let Some(last) = out.last_mut()
    {
        *last &= 0xf0;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::tree::mem::{MemTree, nodes_of_a_new_tree};
    use filiera_types::state::StateHasher;
    use jmt::JellyfishMerkleTree;
    use proptest::prelude::*;

    /// The key of the node at `depth` on `hash`'s path, as `jmt` has it.
    fn node_key(version: Version, hash: &[u8; 32], depth: usize) -> NodeKey {
        let mut bytes = Vec::new();
        path_node_key_bytes(version, hash, depth, &mut bytes);
        NodeKey::try_from_slice(&bytes).unwrap()
    }

    proptest! {
        /// A stale entry lists exactly the `tree_nodes` keys of its node keys.
        #[test]
        fn stale_entries_list_the_node_keys(
            nodes in prop::collection::vec((any::<u64>(), any::<[u8; 32]>(), 0usize..=64), 0..40),
        ) {
            let keys: Vec<NodeKey> =
                nodes.iter().map(|(v, h, d)| node_key(*v, h, *d)).collect();
            let entry = encoding::encode(&keys);
            let listed = stale_node_keys(&entry).unwrap();
            let expected: Vec<Vec<u8>> = keys.iter().map(node_key_bytes).collect();
            prop_assert_eq!(listed, expected.iter().map(Vec::as_slice).collect::<Vec<_>>());
        }
    }

    #[test]
    fn malformed_stale_entries_are_refused() {
        let keys = vec![node_key(7, &[0xab; 32], 3), node_key(9, &[0xcd; 32], 0)];
        let entry = encoding::encode(&keys);
        assert_eq!(stale_node_keys(&entry).unwrap().len(), 2);
        let mut broken: Vec<Vec<u8>> = vec![
            entry[..entry.len() - 1].to_vec(),
            [entry.as_slice(), &[0]].concat(),
            Vec::new(),
        ];
        let mut more = entry.clone();
        more[0] = 3;
        broken.push(more);
        // The first key's nibble count (3, so 2 path bytes) made 5.
        let mut nibbles = entry.clone();
        nibbles[4 + 8] = 5;
        broken.push(nibbles);
        let mut huge = entry.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        broken.push(huge);
        for bytes in broken {
            assert!(stale_node_keys(&bytes).is_err(), "{bytes:?} accepted");
        }
    }

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
