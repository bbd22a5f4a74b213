//! A block's inserts applied to the state tree by this crate's own walk, node
//! for node what `jmt`'s batch update writes.
//!
//! Why: under `jmt` a block's tree update spent about half its time in the
//! library's bookkeeping (a hash map of nodes keyed by heap-allocated paths,
//! SipHash, the move into a B-tree at freeze, nodes cloned on every level)
//! rather than in reading nodes and hashing. This walk keeps none of it: it
//! reads each touched node once, decodes it straight from the stored bytes,
//! and appends each new node to the block's write buffer as it is finished.
//!
//! Invariant: the nodes, values and stale-node index it produces are the ones
//! `JellyfishMerkleTree::batch_put_value_sets` produces for the same inserts
//! (same keys and bytes), so a node may update its tree either way. The walk
//! is the same recursion as `jmt`'s (`batch_insert_at`,
//! `batch_create_subtree_with_existing_leaf`, `batch_create_subtree`), and the
//! hashes are `jmt`'s (leaf, internal node, placeholder). Tests compare the two
//! byte for byte on trees with long shared key prefixes and on real stores.
//! Deletions are not handled here: they take `jmt`'s path.

use super::codec::{Stored, encode_internal, encode_leaf};
use super::layout::{HASH_BYTES, NIBBLES, Slot, Slots, nibble, path_node_key_bytes, value_key};
use super::pairs::Pairs;
use borsh::{BorshDeserialize, BorshSerialize};
use filiera_types::state::tree_hash;
use jmt::storage::NodeKey;
use jmt::{KeyHash, OwnedValue, Version};
use std::io::Write;

/// `jmt`'s domain separators and the hash of an empty subtree.
const LEAF_DOMAIN: &[u8] = b"JMT::LeafNode";
const INTERNAL_DOMAIN: &[u8] = b"JMT::IntrnalNode";
const PLACEHOLDER_HASH: [u8; HASH_BYTES] = *b"SPARSE_MERKLE_PLACEHOLDER_HASH__";

/// Where the walk reads committed nodes, by the bytes of their `NodeKey`.
pub(crate) trait NodeSource: Sync {
    fn stored(&self, node_key: &[u8]) -> anyhow::Result<Option<Stored>>;
}

/// One write as the tree sees it: a key hash and the hash of its new value.
pub(crate) type LeafWrite = ([u8; HASH_BYTES], [u8; HASH_BYTES]);

fn leaf_hash(key: &[u8; HASH_BYTES], value_hash: &[u8; HASH_BYTES]) -> [u8; HASH_BYTES] {
    tree_hash(&[LEAF_DOMAIN, key, value_hash])
}

/// `jmt`'s `InternalNode::merkle_hash`: the 16 children as the leaves of a
/// binary tree, where an empty range hashes to the placeholder and a range
/// holding a single leaf child (or one slot) takes that child's hash.
fn merkle_hash(
    slots: &Slots,
    start: usize,
    width: usize,
    exists: u16,
    leaves: u16,
) -> [u8; HASH_BYTES] {
    let mask = (((1u32 << width) - 1) << start) as u16;
    let (exists, leaves) = (exists & mask, leaves & mask);
    if exists == 0 {
        return PLACEHOLDER_HASH;
    }
    if width == 1 || (exists.count_ones() == 1 && leaves != 0) {
        let only = exists.trailing_zeros() as usize;
        return slots[only].map_or(PLACEHOLDER_HASH, |s| s.hash);
    }
    let half = width / 2;
    let left = merkle_hash(slots, start, half, exists, leaves);
    let right = merkle_hash(slots, start + half, half, exists, leaves);
    tree_hash(&[INTERNAL_DOMAIN, &left, &right])
}

/// The hash of an internal node with these children.
pub(crate) fn internal_hash(slots: &Slots) -> [u8; HASH_BYTES] {
    let (mut exists, mut leaves) = (0u16, 0u16);
    for (i, slot) in slots.iter().enumerate() {
        if let Some(s) = slot {
            exists |= 1 << i;
            if s.leaves.is_none() {
                leaves |= 1 << i;
            }
        }
    }
    merkle_hash(slots, 0, NIBBLES, exists, leaves)
}

/// The leaves under an internal node with these children; `None` if the
/// (stored, so possibly corrupt) counts overflow.
pub(crate) fn leaf_count(slots: &Slots) -> Option<u64> {
    slots
        .iter()
        .flatten()
        .try_fold(0u64, |sum, s| sum.checked_add(s.leaves.unwrap_or(1)))
}

/// Nibbles in a key hash: no node lies deeper. A valid tree never reaches it;
/// a corrupt one (an internal node where a leaf should be) would, and must
/// get an error rather than an index out of bounds.
const DEPTH_MAX: usize = 2 * HASH_BYTES;

fn check_depth(depth: usize) -> anyhow::Result<()> {
    anyhow::ensure!(
        depth < DEPTH_MAX,
        "tree nodes below depth {depth}: the stored tree is corrupt"
    );
    Ok(())
}

/// Whether two key hashes share their first `depth` nibbles.
fn same_path(a: &[u8; HASH_BYTES], b: &[u8; HASH_BYTES], depth: usize) -> bool {
    (0..depth.min(DEPTH_MAX)).all(|i| nibble(a, i) == nibble(b, i))
}

/// Runs of `kvs` (sorted by key hash) sharing nibble `depth`: (nibble, run).
fn runs(kvs: &[LeafWrite], depth: usize) -> impl Iterator<Item = (usize, &[LeafWrite])> {
    let mut rest = kvs;
    std::iter::from_fn(move || {
        let first = rest.first()?;
        let n = nibble(&first.0, depth);
        let len = rest
            .iter()
            .take_while(|kv| nibble(&kv.0, depth) == n)
            .count();
        let (run, tail) = rest.split_at(len);
        rest = tail;
        Some((n, run))
    })
}

/// One walk's output: new nodes, new values and the nodes made stale.
pub(crate) struct Walk<'a, S: NodeSource> {
    source: &'a S,
    version: Version,
    pub(crate) nodes: Pairs,
    pub(crate) values: Pairs,
    pub(crate) stale: Vec<(Version, NodeKey)>,
    key: Vec<u8>,
}

impl<'a, S: NodeSource> Walk<'a, S> {
    pub(crate) fn new(source: &'a S, version: Version) -> Self {
        Walk {
            source,
            version,
            nodes: Pairs::default(),
            values: Pairs::default(),
            stale: Vec::new(),
            key: Vec::with_capacity(64),
        }
    }

    /// Records the new values of `writes` (sorted by key hash, no key twice:
    /// refused otherwise, as two equal keys would never separate) and returns
    /// them as the tree's writes.
    pub(crate) fn values(
        &mut self,
        writes: &[(KeyHash, OwnedValue)],
    ) -> anyhow::Result<Vec<LeafWrite>> {
        anyhow::ensure!(
            writes.windows(2).all(|w| w[0].0 < w[1].0),
            "tree writes not in strictly increasing key order"
        );
        let mut inserts = Vec::with_capacity(writes.len());
        for (key_hash, value) in writes {
            self.values.push(
                |b| b.write_all(&value_key(key_hash, self.version)),
                |b| Some(value).serialize(b),
            )?;
            inserts.push((key_hash.0, tree_hash(&[value])));
        }
        Ok(inserts)
    }

    /// Reads the committed node at `depth` on `key`'s path, and marks it stale.
    fn take_old(
        &mut self,
        version: Version,
        key: &[u8; HASH_BYTES],
        depth: usize,
    ) -> anyhow::Result<Stored> {
        self.key.clear();
        path_node_key_bytes(version, key, depth, &mut self.key);
        let stored = self.source.stored(&self.key)?.ok_or_else(|| {
            anyhow::anyhow!("tree node of version {version} at depth {depth} is missing")
        })?;
        self.stale
            .push((self.version, NodeKey::try_from_slice(&self.key)?));
        Ok(stored)
    }

    /// Appends a new node of this version at `depth` on `key`'s path.
    fn push_node(
        &mut self,
        key: &[u8; HASH_BYTES],
        depth: usize,
        encode: impl FnOnce(&mut Vec<u8>),
    ) -> anyhow::Result<()> {
        let version = self.version;
        self.nodes.push(
            |b| {
                path_node_key_bytes(version, key, depth, b);
                Ok(())
            },
            |b| {
                encode(b);
                Ok(())
            },
        )?;
        Ok(())
    }

    fn put_leaf(
        &mut self,
        key: &[u8; HASH_BYTES],
        value_hash: &[u8; HASH_BYTES],
        depth: usize,
    ) -> anyhow::Result<Slot> {
        self.push_node(key, depth, |b| encode_leaf(key, value_hash, b))?;
        Ok(Slot {
            hash: leaf_hash(key, value_hash),
            version: self.version,
            leaves: None,
        })
    }

    /// Writes the internal node at `depth` on `key`'s path.
    pub(crate) fn put_internal(
        &mut self,
        key: &[u8; HASH_BYTES],
        depth: usize,
        slots: &Slots,
    ) -> anyhow::Result<Slot> {
        self.push_node(key, depth, |b| encode_internal(slots, b))?;
        let leaves = leaf_count(slots)
            .ok_or_else(|| anyhow::anyhow!("leaf counts overflow: the stored tree is corrupt"))?;
        Ok(Slot {
            hash: internal_hash(slots),
            version: self.version,
            leaves: Some(leaves),
        })
    }

    /// `jmt`'s `batch_insert_at`: the committed node of `version` at `depth` on
    /// the path of `kvs` (non-empty, sorted), with `kvs` applied under it.
    pub(crate) fn update(
        &mut self,
        version: Version,
        kvs: &[LeafWrite],
        depth: usize,
    ) -> anyhow::Result<Slot> {
        let first = kvs
            .first()
            .ok_or_else(|| anyhow::anyhow!("an update with no writes"))?
            .0;
        match self.take_old(version, &first, depth)? {
            Stored::Internal(mut slots) => {
                self.update_children(&mut slots, kvs, depth)?;
                self.put_internal(&first, depth, &slots)
            }
            Stored::Leaf {
                key_hash,
                value_hash,
            } => {
                // A leaf is reached by its own path; one found elsewhere would
                // make the walk name new nodes by the wrong path.
                anyhow::ensure!(
                    same_path(&key_hash, &first, depth),
                    "a leaf at depth {depth} off its key's path: the stored tree is corrupt"
                );
                self.with_existing_leaf((key_hash, value_hash), kvs, depth)
            }
        }
    }

    /// Applies `kvs` (all under the node at `depth` whose children are
    /// `slots`) to those children.
    pub(crate) fn update_children(
        &mut self,
        slots: &mut Slots,
        kvs: &[LeafWrite],
        depth: usize,
    ) -> anyhow::Result<()> {
        check_depth(depth)?;
        for (n, run) in runs(kvs, depth) {
            let child = match slots[n] {
                Some(old) => self.update(old.version, run, depth + 1)?,
                None => self.create(run, depth + 1)?,
            };
            slots[n] = Some(child);
        }
        Ok(())
    }

    /// `jmt`'s `batch_create_subtree_with_existing_leaf`.
    fn with_existing_leaf(
        &mut self,
        existing: LeafWrite,
        kvs: &[LeafWrite],
        depth: usize,
    ) -> anyhow::Result<Slot> {
        if let [only] = kvs
            && only.0 == existing.0
        {
            return self.put_leaf(&only.0, &only.1, depth);
        }
        check_depth(depth)?;
        let existing_nibble = nibble(&existing.0, depth);
        let mut slots: Slots = [None; NIBBLES];
        let mut isolated = true;
        for (n, run) in runs(kvs, depth) {
            slots[n] = Some(if n == existing_nibble {
                isolated = false;
                self.with_existing_leaf(existing, run, depth + 1)?
            } else {
                self.create(run, depth + 1)?
            });
        }
        if isolated {
            // The old leaf moves one level down, rewritten at this version.
            slots[existing_nibble] = Some(self.put_leaf(&existing.0, &existing.1, depth + 1)?);
        }
        self.put_internal(&existing.0, depth, &slots)
    }

    /// `jmt`'s `batch_create_subtree`: a new subtree of `kvs` at `depth`.
    fn create(&mut self, kvs: &[LeafWrite], depth: usize) -> anyhow::Result<Slot> {
        match kvs {
            [] => anyhow::bail!("a subtree with no writes"),
            [only] => self.put_leaf(&only.0, &only.1, depth),
            [first, ..] => {
                check_depth(depth)?;
                let mut slots: Slots = [None; NIBBLES];
                for (n, run) in runs(kvs, depth) {
                    slots[n] = Some(self.create(run, depth + 1)?);
                }
                self.put_internal(&first.0, depth, &slots)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::tree::codec::{decode_stored, encode_node};
    use crate::tree::layout::node_key_bytes as jmt_node_key_bytes;
    use crate::tree::mem::MemTree;
    use filiera_types::encoding;
    use filiera_types::state::StateHasher;
    use jmt::JellyfishMerkleTree;
    use jmt::storage::TreeReader;
    use proptest::prelude::*;

    impl NodeSource for MemTree {
        fn stored(&self, node_key: &[u8]) -> anyhow::Result<Option<Stored>> {
            let key = NodeKey::try_from_slice(node_key)?;
            match self.get_node_option(&key)? {
                None => Ok(None),
                Some(node) => {
                    let mut bytes = Vec::new();
                    encode_node(&node, &mut bytes)?;
                    Ok(Some(decode_stored(&bytes)?))
                }
            }
        }
    }

    /// Key hashes drawn from few prefixes, so that leaves share long paths
    /// and new keys split old leaves several levels down.
    fn key(prefix: u8, depth_shared: usize, tail: u64) -> KeyHash {
        let mut k = [prefix; 32];
        let t = tail.to_le_bytes();
        for (i, b) in t.iter().enumerate() {
            k[(depth_shared + i) % 32] ^= *b;
        }
        KeyHash(k)
    }

    /// Nodes, values and stale entries, each sorted, duplicates kept (a node
    /// written twice is a fault).
    type Sets = (
        Vec<(Vec<u8>, Vec<u8>)>,
        Vec<(Vec<u8>, Vec<u8>)>,
        Vec<(u64, Vec<u8>)>,
    );

    fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
        v.sort();
        v
    }

    fn jmt_update(
        tree: &MemTree,
        writes: &[(KeyHash, OwnedValue)],
        version: Version,
    ) -> ([u8; 32], Sets) {
        let (roots, batch) = JellyfishMerkleTree::<_, StateHasher>::new(tree)
            .batch_put_value_sets(vec![writes.to_vec()], None, version)
            .unwrap();
        let nodes: Vec<_> = batch
            .node_batch
            .nodes()
            .iter()
            .map(|(k, n)| {
                let mut b = Vec::new();
                encode_node(n, &mut b).unwrap();
                (jmt_node_key_bytes(k), b)
            })
            .collect();
        let values: Vec<_> = batch
            .node_batch
            .values()
            .iter()
            .map(|((v, k), value)| (value_key(k, *v).to_vec(), encoding::encode(value)))
            .collect();
        let stale: Vec<_> = batch
            .stale_node_index_batch
            .iter()
            .map(|s| (s.stale_since_version, encoding::encode(&s.node_key)))
            .collect();
        (roots[0].0, (sorted(nodes), sorted(values), sorted(stale)))
    }

    fn walk_update(
        tree: &MemTree,
        writes: &[(KeyHash, OwnedValue)],
        version: Version,
    ) -> ([u8; 32], Sets) {
        let mut writes = writes.to_vec();
        writes.sort_by_key(|a| a.0);
        let mut walk = Walk::new(tree, version);
        let kvs = walk.values(&writes).unwrap();
        let root = walk.update(version - 1, &kvs, 0).unwrap();
        let pairs = |p: &Pairs| sorted(p.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect());
        let stale = walk
            .stale
            .iter()
            .map(|(v, k)| (*v, encoding::encode(k)))
            .collect();
        (
            root.hash,
            (pairs(&walk.nodes), pairs(&walk.values), sorted(stale)),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Over a few versions of random inserts (new keys, rewrites, keys
        /// sharing up to 31 bytes of hash with an existing one), the walk
        /// writes what jmt writes.
        #[test]
        fn the_walk_writes_what_jmt_writes(
            seed_keys in proptest::collection::vec((0u8..3, 0usize..31, 0u64..40), 2..60),
            blocks in proptest::collection::vec(
                proptest::collection::vec((any::<bool>(), 0u8..3, 0usize..31, 0u64..40, any::<u8>()), 1..50),
                1..5,
            ),
        ) {
            let mut tree = MemTree::default();
            let first: std::collections::BTreeMap<_, _> = seed_keys
                .iter()
                .map(|(p, d, t)| (key(*p, *d, *t), Some(vec![1])))
                .collect();
            let mut known: Vec<KeyHash> = first.keys().copied().collect();
            tree.put(0, first.into_iter().collect()).unwrap();
            for (i, block) in blocks.iter().enumerate() {
                let version = i as u64 + 1;
                let mut writes: Vec<(KeyHash, OwnedValue)> = Vec::new();
                for (near, p, d, t, v) in block {
                    let k = if *near {
                        // A known key with one of its last bytes changed: it
                        // shares 56 to 63 nibbles with it, so it lands on
                        // that key's leaf and splits it levels down.
                        let mut k = known[*t as usize % known.len()];
                        k.0[31 - *d % 4] ^= (*p + 1) << (4 * (*d % 2));
                        k
                    } else {
                        key(*p, *d, *t)
                    };
                    if !writes.iter().any(|(x, _)| *x == k) {
                        writes.push((k, vec![*v, 2]));
                    }
                }
                known.extend(writes.iter().map(|(k, _)| *k));
                let expected = jmt_update(&tree, &writes, version);
                let got = walk_update(&tree, &writes, version);
                prop_assert_eq!(&got.0, &expected.0, "root at {}", version);
                prop_assert_eq!(&got.1.0, &expected.1.0, "nodes at {}", version);
                prop_assert_eq!(&got.1.1, &expected.1.1, "values at {}", version);
                prop_assert_eq!(&got.1.2, &expected.1.2, "stale at {}", version);
                tree.put(version, writes.into_iter().map(|(k, v)| (k, Some(v))).collect()).unwrap();
            }
        }
    }

    /// A key that shares 63 nibbles with a leaf's key pushes that leaf down
    /// 62 levels: a chain of internal nodes with one child each, then both.
    #[test]
    fn a_near_key_splits_a_leaf_all_the_way_down() {
        let mut tree = MemTree::default();
        let a = KeyHash([0; 32]);
        let b = KeyHash([0x10; 32]);
        tree.put(0, vec![(a, Some(vec![1])), (b, Some(vec![2]))])
            .unwrap();
        let mut c = a;
        c.0[31] = 0x01;
        for writes in [vec![(c, vec![3])], vec![(a, vec![4]), (b, vec![5])]] {
            let version = if writes.len() == 1 { 1 } else { 2 };
            let expected = jmt_update(&tree, &writes, version);
            let got = walk_update(&tree, &writes, version);
            assert_eq!(got, expected, "version {version}");
            if version == 1 {
                // The root, 63 internal nodes from depth 1 to 63, two leaves.
                assert_eq!(got.1.0.len(), 1 + 63 + 2);
            }
            tree.put(
                version,
                writes.into_iter().map(|(k, v)| (k, Some(v))).collect(),
            )
            .unwrap();
        }
    }

    /// Serves the same made-up node whatever is asked, except the root.
    struct Forged {
        root: Stored,
        below: fn() -> Stored,
    }

    impl NodeSource for Forged {
        fn stored(&self, node_key: &[u8]) -> anyhow::Result<Option<Stored>> {
            // Bytes 8..16 of a node key are its depth.
            if node_key[8..16] == [0; 8] {
                let Stored::Internal(slots) = &self.root else {
                    anyhow::bail!("roots here are internal")
                };
                return Ok(Some(Stored::Internal(*slots)));
            }
            Ok(Some((self.below)()))
        }
    }

    fn internal_everywhere(leaves: u64) -> Stored {
        let child = Slot {
            hash: [1; 32],
            version: 0,
            leaves: Some(leaves),
        };
        Stored::Internal([Some(child); NIBBLES])
    }

    /// Corrupt stored trees (internal nodes all the way down, a leaf off its
    /// key's path, leaf counts that overflow) and badly ordered writes give
    /// errors, never a panic or a tree named by the wrong paths.
    #[test]
    fn corrupt_trees_and_unordered_writes_are_errors() {
        let write = vec![(KeyHash([0; 32]), vec![1])];
        let cases = [
            Forged {
                root: internal_everywhere(2),
                below: || internal_everywhere(2),
            },
            Forged {
                root: internal_everywhere(2),
                below: || Stored::Leaf {
                    key_hash: [0xf0; 32],
                    value_hash: [2; 32],
                },
            },
        ];
        for source in &cases {
            let mut walk = Walk::new(source, 5);
            let kvs = walk.values(&write).unwrap();
            let err = walk.update(4, &kvs, 0).unwrap_err();
            assert!(err.to_string().contains("corrupt"), "{err}");
        }
        // A root whose children claim u64::MAX leaves each; the write lands
        // in a new slot, so only the root's count is recomputed.
        let mut slots = [None; NIBBLES];
        for i in [0, 15] {
            slots[i] = Some(Slot {
                hash: [1; 32],
                version: 0,
                leaves: Some(u64::MAX),
            });
        }
        let huge = Forged {
            root: Stored::Internal(slots),
            below: || internal_everywhere(2),
        };
        let mut walk = Walk::new(&huge, 5);
        let kvs = walk.values(&[(KeyHash([0x33; 32]), vec![1])]).unwrap();
        let err = walk.update(4, &kvs, 0).unwrap_err();
        assert!(err.to_string().contains("overflow"), "{err}");

        let mut walk = Walk::new(&huge, 5);
        let (a, b) = (KeyHash([1; 32]), KeyHash([2; 32]));
        assert!(walk.values(&[(b, vec![1]), (a, vec![1])]).is_err());
        assert!(walk.values(&[(a, vec![1]), (a, vec![2])]).is_err());
        assert!(walk.values(&[(a, vec![1]), (b, vec![2])]).is_ok());
    }

    #[test]
    fn node_keys_are_jmts() {
        let tree = MemTree::default();
        let writes: Vec<_> = (0u64..300).map(|t| (key(7, 0, t), vec![3])).collect();
        let (_, batch) = JellyfishMerkleTree::<_, StateHasher>::new(&tree)
            .put_value_set(
                writes
                    .into_iter()
                    .map(|(k, v)| (k, Some(v)))
                    .collect::<Vec<_>>(),
                9,
            )
            .unwrap();
        let mut seen_odd = false;
        for node_key in batch.node_batch.nodes().keys() {
            let depth = node_key.nibble_path().num_nibbles();
            seen_odd |= depth % 2 == 1;
            // A key under the node: its path, then nibbles of 0xf (which
            // the key's encoding must drop).
            let mut under = [0xffu8; 32];
            for i in 0..depth {
                let n = u8::from(node_key.nibble_path().get_nibble(i));
                let byte = &mut under[i / 2];
                *byte = if i % 2 == 0 {
                    (n << 4) | 0x0f
                } else {
                    (*byte & 0xf0) | n
                };
            }
            let mut mine = Vec::new();
            path_node_key_bytes(node_key.version(), &under, depth, &mut mine);
            assert_eq!(mine, jmt_node_key_bytes(node_key));
        }
        assert!(seen_odd);
    }
}
