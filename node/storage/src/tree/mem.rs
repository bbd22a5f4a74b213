//! A whole state tree in memory, built by `jmt` itself: the reference the
//! store's own walk and codec are checked against, and how an audit
//! recomputes a root from a list of entries. Reads nothing from RocksDB.

use filiera_types::state::StateHasher;
use jmt::storage::{LeafNode, Node, NodeBatch, NodeKey, TreeReader, TreeUpdateBatch};
use jmt::{JellyfishMerkleTree, KeyHash, OwnedValue, RootHash, Version};
use std::collections::BTreeMap;

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
