//! The Jellyfish Merkle tree's view of RocksDB: committed nodes (the last
//! blocks' from memory first) and values, for `jmt` and for the walk.

use super::codec::{Stored, decode_node, decode_stored};
use super::layout::{node_key_bytes, value_key};
use super::recent::RecentView;
use super::walk::NodeSource;
use crate::columns::{KEY_HASH_BYTES, TREE_NODES, TREE_VALUES};
use borsh::BorshDeserialize;
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{KeyHash, OwnedValue, Version};
use rocksdb::DB;
use std::sync::Arc;

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
