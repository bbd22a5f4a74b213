//! The Jellyfish Merkle tree's view of RocksDB, and an in-memory tree used to
//! recompute a root from scratch (audits, tests).

use crate::columns::{KEY_HASH_BYTES, TREE_NODES, TREE_VALUES};
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
