//! The Jellyfish Merkle tree's view of RocksDB, and an in-memory tree used to
//! recompute a root from scratch (audits, tests).

use crate::columns::{
    KEY_HASH_BYTES, NODE_KEY_HEAD_BYTES, NODE_KEY_VERSION_BYTES, TREE_NODES, TREE_VALUES,
};
use crate::node_codec::{Stored, decode_node, decode_stored};
use crate::recent::RecentView;
use crate::walk::NodeSource;
use borsh::BorshDeserialize;
use filiera_types::encoding;
use filiera_types::state::StateHasher;
use jmt::storage::{LeafNode, Node, NodeBatch, NodeKey, TreeReader, TreeUpdateBatch};
use jmt::{JellyfishMerkleTree, KeyHash, OwnedValue, RootHash, Version};
use rocksdb::DB;
use std::collections::BTreeMap;
use std::sync::Arc;

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

/// Reads committed tree nodes and values from RocksDB.
pub struct DbTree {
    pub(crate) db: Arc<DB>,
    /// Nodes of the last committed blocks, read before RocksDB by the walk.
    pub(crate) recent: RecentView,
}

impl DbTree {
    /// Reads RocksDB only.
    pub(crate) fn new(db: &Arc<DB>) -> DbTree {
        DbTree {
            db: Arc::clone(db),
            recent: RecentView::default(),
        }
    }

    fn cf(&self, name: &str) -> anyhow::Result<&rocksdb::ColumnFamily> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| anyhow::anyhow!("missing column family {name}"))
    }

    /// The stored node under these key bytes, decoded by `decode`.
    fn node<T>(
        &self,
        node_key: &[u8],
        decode: impl FnOnce(&[u8]) -> anyhow::Result<T>,
    ) -> anyhow::Result<Option<T>> {
        let cf = self.cf(TREE_NODES)?;
        self.db
            .get_pinned_cf(cf, node_key)?
            .map(|bytes| decode(&bytes))
            .transpose()
    }
}

impl NodeSource for DbTree {
    fn stored(&self, node_key: &[u8]) -> anyhow::Result<Option<Stored>> {
        match self.recent.get(node_key) {
            Some(bytes) => decode_stored(bytes).map(Some),
            None => self.node(node_key, decode_stored),
        }
    }
}

impl TreeReader for DbTree {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        self.node(&node_key_bytes(node_key), decode_node)
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        let cf = self.cf(TREE_VALUES)?;
        let mut it = self.db.raw_iterator_cf(cf);
        it.seek_for_prev(value_key(&key_hash, max_version));
        if !it.valid() {
            it.status()?;
            return Ok(None);
        }
        match (it.key(), it.value()) {
            (Some(k), Some(v))
                if k.len() == KEY_HASH_BYTES + 8 && k[..KEY_HASH_BYTES] == key_hash.0 =>
            {
                Ok(Option::<Vec<u8>>::try_from_slice(v)?)
            }
            _ => Ok(None),
        }
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        // Only restoring calls this, to resume an interrupted restore. Imports go
        // into an empty directory and are restarted from scratch if interrupted,
        // so there is never a partial tree to resume.
        Ok(None)
    }
}

/// Every node `jmt` writes for a new tree of `keys` keys (key hashes of the
/// little-endian numbers below `keys`, each holding `value`) at `version`.
#[cfg(test)]
pub(crate) fn nodes_of_a_new_tree(keys: u32, value: &[u8], version: Version) -> Vec<Node> {
    let writes: Vec<(KeyHash, Option<OwnedValue>)> = (0..keys)
        .map(|i| {
            (
                KeyHash::with::<StateHasher>(i.to_le_bytes()),
                Some(value.to_vec()),
            )
        })
        .collect();
    let (_, batch) = JellyfishMerkleTree::<_, StateHasher>::new(&MemTree::default())
        .put_value_set(writes, version)
        .expect("a tree in memory");
    batch.node_batch.nodes().values().cloned().collect()
}

/// A whole tree in memory: to recompute a root from a list of entries.
#[derive(Default)]
pub struct MemTree {
    nodes: BTreeMap<NodeKey, Node>,
    values: BTreeMap<(KeyHash, Version), Option<OwnedValue>>,
}

impl MemTree {
    /// Applies one version's writes and returns its root.
    pub fn put(
        &mut self,
        version: Version,
        writes: Vec<(KeyHash, Option<OwnedValue>)>,
    ) -> anyhow::Result<RootHash> {
        let (root, batch) =
            JellyfishMerkleTree::<_, StateHasher>::new(&*self).put_value_set(writes, version)?;
        self.apply(&batch);
        Ok(root)
    }

    fn apply(&mut self, batch: &TreeUpdateBatch) {
        apply_nodes(&batch.node_batch, |k, n| {
            self.nodes.insert(k.clone(), n.clone());
        });
        for ((version, key_hash), value) in batch.node_batch.values() {
            self.values.insert((*key_hash, *version), value.clone());
        }
    }
}

fn apply_nodes(batch: &NodeBatch, mut f: impl FnMut(&NodeKey, &Node)) {
    for (k, n) in batch.nodes() {
        f(k, n);
    }
}

impl TreeReader for MemTree {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        Ok(self.nodes.get(node_key).cloned())
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        Ok(self
            .values
            .range((key_hash, 0)..=(key_hash, max_version))
            .next_back()
            .and_then(|(_, v)| v.clone()))
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    /// The key of the node at `depth` on `hash`'s path, as `jmt` has it.
    fn node_key(version: Version, hash: &[u8; 32], depth: usize) -> NodeKey {
        let mut bytes = Vec::new();
        crate::walk::node_key_bytes(version, hash, depth, &mut bytes);
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
}
