//! The store: opening, genesis, the atomic block commit, reads, proofs, pruning.

use crate::cache::{Lookup, StateCache};
use crate::columns::{
    self, BLOCK_INDEX, BLOCK_TXS, CERTIFICATES, HEADERS, KEY_HASH_BYTES, META, QUERY_INDEX,
    RECEIPTS, STATE, TREE_NODES, TREE_STALE, TREE_VALUES, TX_INDEX,
};
use crate::error::{Result, StorageError};
use crate::tree::db::DbTree;
use crate::tree::layout::{node_key_bytes, stale_node_keys, value_key};
use crate::tree::mem::MemTree;
use crate::tree::parallel::{self, BATCH_ENTRY_FRAMING_BYTES, Split, TreeUpdate};
use crate::tree::recent::RecentNodes;
use borsh::BorshDeserialize;
use filiera_types::receipt::Receipt;
use filiera_types::state::{
    STATE_KEY_BYTES_MAX, STATE_VALUE_BYTES_MAX, StateEntry, StateHasher, StateProof, key_hash,
};
use filiera_types::{Block, CommitCertificate, Hash, Header, SignedTransaction, encoding};
use jmt::{JellyfishMerkleTree, KeyHash, OwnedValue};
use rocksdb::{DB, WriteBatch, WriteOptions};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The on-disk format this code reads and writes. Bump it on any change to keys or values.
pub const STORAGE_FORMAT_VERSION: u32 = 4;

/// The reserved state key holding the height: written by every commit, so every
/// height has its own tree version and root even when no transaction wrote state.
pub const HEIGHT_KEY: &[u8] = b"\x00sys/height";

pub(crate) const META_FORMAT: &[u8] = b"format_version";
const META_GENESIS: &[u8] = b"genesis_hash";
const META_LAST_HEIGHT: &[u8] = b"last_height";
const META_OLDEST_STATE: &[u8] = b"oldest_state_height";
const META_EARLIEST_BLOCK: &[u8] = b"earliest_block_height";
/// Where the next sweep of superseded values starts (a `tree_values` key).
const META_VALUE_SWEEP: &[u8] = b"value_sweep_cursor";

/// Value entries one pruning pass reads, at most (plus the rest of the last
/// key's versions): a bounded cost per block, about 3 ms; a state of a million
/// values is swept in some 60 blocks.
pub const VALUE_SWEEP_ENTRIES: usize = 16_384;

/// Operator settings of the store.
#[derive(Clone, Debug)]
pub struct StorageConfig {
    /// Size of the shared block cache, in bytes.
    pub block_cache_bytes: usize,
    /// How many recent state versions to keep for proofs (at least 1); older ones are pruned.
    pub state_versions_kept: u64,
    /// Threads that share a large block's state-tree update (1: the caller's alone).
    pub tree_threads: usize,
    /// Memory for the tree nodes of the last committed blocks, which the next
    /// block's tree update reads first, in bytes (0: none kept).
    pub recent_nodes_bytes: usize,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            block_cache_bytes: 256 << 20,
            state_versions_kept: 1_000,
            // The update is the same on any number of threads (the storage tests
            // compare them node for node), so this is free to follow the machine.
            tree_threads: std::thread::available_parallelism()
                .map_or(1, |n| n.get().min(TREE_THREADS_MAX)),
            recent_nodes_bytes: RECENT_NODES_BYTES_DEFAULT,
        }
    }
}

/// Write-batch room reserved beyond the state and the tree, in bytes: the
/// header, transactions, receipts, certificate and pruning of a typical block.
const BLOCK_BATCH_EXTRA_BYTES: usize = 2 << 20;

/// Default of [`StorageConfig::recent_nodes_bytes`]: as much as the default
/// block cache, and like it a budget a long-running node fills. A block of
/// 10,000 writes leaves about 4 MiB of nodes, so this holds some 60 such
/// blocks. On a tree of 100,000 keys a leaf the next block rewrites was last
/// written about 10 blocks before (geometrically spread): with 64 MiB (some
/// 15 blocks) about a fifth of them (0.9^15) came from RocksDB, and the tree
/// update took 47.9 and 50.2 ms per block over 140-block timing runs, against
/// 44.2 and 44.0 with 128 MiB, 39.9 and 40.3 with 192, 38.8 and 39.4 with 256
/// (`benches/README.md`, fourteenth set).
pub const RECENT_NODES_BYTES_DEFAULT: usize = 256 << 20;

/// Most threads [`StorageConfig::default`] gives the state tree: past the
/// 16 subtrees of the root split in this many parts, a part is too small to pay
/// for its thread.
pub const TREE_THREADS_MAX: usize = 8;

/// State writes of one block, last write per key wins: a value or a deletion.
pub type StateChanges = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// A state update computed but not yet written: the root a header will carry.
pub struct PreparedState {
    version: u64,
    root: Hash,
    changes: StateChanges,
    tree: TreeUpdate,
    /// The query index's writes, committed with the state.
    index: StateChanges,
}

impl PreparedState {
    /// The state root after the update.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// The height (tree version) it was prepared for.
    pub fn height(&self) -> u64 {
        self.version
    }

    /// The state writes: what a query index is derived from.
    pub fn changes(&self) -> &StateChanges {
        &self.changes
    }

    /// Sets the query index's writes (`QUERY_INDEX` keys) to commit with this
    /// state, in the same batch: the index never runs ahead of or behind it.
    pub fn set_index_changes(&mut self, index: StateChanges) {
        self.index = index;
    }

    /// About the bytes its state and tree take in a write batch.
    fn batch_bytes(&self) -> usize {
        let state: usize = self
            .changes
            .keys()
            .map(|k| k.len() + 8 + BATCH_ENTRY_FRAMING_BYTES)
            .sum();
        let index: usize = self
            .index
            .iter()
            .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len) + BATCH_ENTRY_FRAMING_BYTES)
            .sum();
        let state = state + index;
        state + self.tree.batch_bytes()
    }
}

/// Where a transaction is: height and position in the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxLocation {
    /// The transaction's hash.
    pub tx_hash: Hash,
    /// Block height.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
}

/// The node's database.
pub struct Store {
    db: Arc<DB>,
    /// Set by the first failed write; later writes are refused (fail-stop).
    failure: Mutex<Option<String>>,
    config: StorageConfig,
    /// State-tree updates computed on several threads since opening.
    split_updates: AtomicU64,
    /// Latest values of the state keys read most.
    cache: StateCache,
    /// Tree nodes of the last committed blocks.
    recent: RecentNodes,
}

fn be(height: u64) -> [u8; 8] {
    height.to_be_bytes()
}

fn receipt_key(height: u64, index: u32) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..8].copy_from_slice(&height.to_be_bytes());
    k[8..].copy_from_slice(&index.to_be_bytes());
    k
}

fn read_u64(cf: &'static str, bytes: &[u8]) -> Result<u64> {
    let arr: [u8; 8] = bytes
        .try_into()
        .map_err(|_| StorageError::corrupt(cf, "expected 8 bytes"))?;
    Ok(u64::from_be_bytes(arr))
}

fn decode<T: BorshDeserialize>(cf: &'static str, bytes: &[u8]) -> Result<T> {
    T::try_from_slice(bytes).map_err(|e| StorageError::corrupt(cf, e))
}

/// The value in a `tree_values` entry of `key`: the `state` family only says
/// which version is the latest, so that each value is stored once (a lot
/// event's value stored twice was 40 of its 470 bytes).
fn decode_value(key: &[u8], stored: &[u8]) -> Result<Vec<u8>> {
    let leaf = decode::<Option<Vec<u8>>>(TREE_VALUES, stored)?
        .ok_or_else(|| StorageError::corrupt(TREE_VALUES, "the state points at a deletion"))?;
    let entry = StateEntry::decode(&leaf).map_err(|e| StorageError::corrupt(TREE_VALUES, e))?;
    if entry.key != key {
        return Err(StorageError::corrupt(TREE_VALUES, "leaf holds another key"));
    }
    Ok(entry.value)
}

/// The value of `key` at `version` in one view of the store, where the version
/// the state names always has its value: missing is corruption.
fn value_in_view(
    view: &rocksdb::Snapshot<'_>,
    values: &rocksdb::ColumnFamily,
    key: &[u8],
    hash: &KeyHash,
    version: u64,
) -> Result<Vec<u8>> {
    let stored = view
        .get_pinned_cf(values, value_key(hash, version))?
        .ok_or_else(|| StorageError::corrupt(TREE_VALUES, "no value where the state points"))?;
    decode_value(key, &stored)
}

/// Length of a transaction hash, the first field of a receipt.
const HASH_BYTES: usize = 32;

/// A receipt as stored: its encoding without the transaction's hash, which
/// the transaction index (the only way to a receipt) already holds. 32 of
/// the 47 bytes a lot event's receipt took after compression, and hashes do
/// not compress. Borsh writes fields in order, so the encoding of a receipt
/// is the hash's 32 bytes followed by these.
fn stored_receipt(receipt: &Receipt) -> Vec<u8> {
    let mut bytes = encoding::encode(receipt);
    debug_assert_eq!(bytes.get(..HASH_BYTES), Some(&receipt.tx_hash.0[..]));
    bytes.drain(..HASH_BYTES);
    bytes
}

fn check_entry(key: &[u8], value: Option<&Vec<u8>>) -> Result<()> {
    if key.is_empty() || key.len() > STATE_KEY_BYTES_MAX {
        return Err(StorageError::Limit {
            what: "state key",
            len: key.len(),
            max: STATE_KEY_BYTES_MAX,
        });
    }
    if let Some(v) = value
        && v.len() > STATE_VALUE_BYTES_MAX
    {
        return Err(StorageError::Limit {
            what: "state value",
            len: v.len(),
            max: STATE_VALUE_BYTES_MAX,
        });
    }
    Ok(())
}

impl Store {
    /// Opens (or creates) the store in `path`; refuses a directory of another format.
    pub fn open(path: &Path, config: StorageConfig) -> Result<Store> {
        if config.state_versions_kept == 0 {
            return Err(StorageError::Inconsistent(
                "state_versions_kept must be at least 1".into(),
            ));
        }
        let db = DB::open_cf_descriptors(
            &columns::db_options(),
            path,
            columns::descriptors(config.block_cache_bytes)?,
        )?;
        let store = Store {
            db: Arc::new(db),
            failure: Mutex::new(None),
            recent: RecentNodes::new(config.recent_nodes_bytes),
            config,
            split_updates: AtomicU64::new(0),
            cache: StateCache::new(),
        };
        match store.meta(META_FORMAT)? {
            None => {}
            Some(bytes) => {
                let arr: [u8; 4] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| StorageError::corrupt(META, "format version is not 4 bytes"))?;
                let found = u32::from_be_bytes(arr);
                if found != STORAGE_FORMAT_VERSION {
                    return Err(StorageError::IncompatibleFormat {
                        found,
                        supported: STORAGE_FORMAT_VERSION,
                    });
                }
            }
        }
        Ok(store)
    }

    pub(crate) fn db(&self) -> &Arc<DB> {
        &self.db
    }

    pub(crate) fn cf(&self, name: &'static str) -> Result<&rocksdb::ColumnFamily> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| StorageError::corrupt(name, "column family missing"))
    }

    pub(crate) fn meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get_cf(self.cf(META)?, key)?)
    }

    /// The genesis hash the store was initialised with.
    pub fn genesis_hash(&self) -> Result<Option<Hash>> {
        match self.meta(META_GENESIS)? {
            None => Ok(None),
            Some(b) => Ok(Some(decode(META, &b)?)),
        }
    }

    /// The last committed height (0 = genesis state only); `None` before genesis.
    pub fn last_height(&self) -> Result<Option<u64>> {
        self.meta(META_LAST_HEIGHT)?
            .map(|b| read_u64(META, &b))
            .transpose()
    }

    /// The oldest height whose state is still kept.
    pub fn oldest_state_height(&self) -> Result<u64> {
        Ok(self
            .meta(META_OLDEST_STATE)?
            .map(|b| read_u64(META, &b))
            .transpose()?
            .unwrap_or(0))
    }

    /// The oldest height whose block is stored (above a snapshot base, blocks start there).
    pub fn earliest_block_height(&self) -> Result<u64> {
        Ok(self
            .meta(META_EARLIEST_BLOCK)?
            .map(|b| read_u64(META, &b))
            .transpose()?
            .unwrap_or(1))
    }

    fn require_height(&self) -> Result<u64> {
        self.last_height()?.ok_or(StorageError::NotInitialised)
    }

    /// Writes the genesis state at height 0, or checks that the store holds this
    /// genesis. Returns the state root of the last committed height.
    pub fn init_genesis(&self, genesis_hash: Hash, state: StateChanges) -> Result<Hash> {
        if let Some(stored) = self.genesis_hash()? {
            if stored != genesis_hash {
                return Err(StorageError::WrongGenesis {
                    stored,
                    expected: genesis_hash,
                });
            }
            // The genesis version itself may long be pruned: answer with the current root.
            return self.state_root(self.require_height()?);
        }
        let prepared = self.prepare_state(0, state)?;
        let root = prepared.root;
        let mut batch = WriteBatch::default();
        batch.put_cf(
            self.cf(META)?,
            META_FORMAT,
            STORAGE_FORMAT_VERSION.to_be_bytes(),
        );
        batch.put_cf(
            self.cf(META)?,
            META_GENESIS,
            encoding::encode(&genesis_hash),
        );
        self.stage_state(&mut batch, &prepared, None)?;
        batch.put_cf(self.cf(META)?, META_LAST_HEIGHT, be(0));
        self.write_state(batch, &prepared.changes)?;
        Ok(root)
    }

    /// Computes the state root after applying `changes` at `height` without writing
    /// anything. The proposer puts the root in its header; a validator compares.
    pub fn prepare_state(&self, height: u64, mut changes: StateChanges) -> Result<PreparedState> {
        for (k, v) in &changes {
            if k.as_slice() == HEIGHT_KEY {
                return Err(StorageError::Inconsistent(
                    "the height key is reserved".into(),
                ));
            }
            check_entry(k, v.as_ref())?;
        }
        let expected = match self.last_height()? {
            None => 0,
            Some(h) => h + 1,
        };
        if height != expected {
            return Err(StorageError::OutOfOrder {
                expected,
                found: height,
            });
        }
        changes.insert(HEIGHT_KEY.to_vec(), Some(height.to_be_bytes().to_vec()));
        let writes: Vec<(KeyHash, Option<OwnedValue>)> = changes
            .iter()
            .map(|(k, v)| {
                let leaf = v.as_ref().map(|value| StateEntry::encode_parts(k, value));
                (key_hash(k), leaf)
            })
            .collect();
        let reader = DbTree {
            recent: self.recent.view(),
            ..DbTree::new(&self.db)
        };
        let tree = JellyfishMerkleTree::<_, StateHasher>::new(&reader);
        // The batch algorithm hashes each touched node once; the one-key-at-a-
        // time algorithm rehashes every node on a key's path for every key
        // (10,000 writes: ~3x the hashing). Both give the same tree; only the
        // one-at-a-time one handles deletions.
        let (root, tree) = if writes.iter().all(|(_, v)| v.is_some()) {
            let inserts: Vec<(KeyHash, OwnedValue)> = writes
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect();
            match parallel::put_inserts(&reader, inserts, height, self.config.tree_threads)
                .map_err(StorageError::tree)?
            {
                Split::Done(root, update) => {
                    self.split_updates.fetch_add(1, Ordering::Relaxed);
                    (root, update)
                }
                Split::NotWorthIt(inserts) => tree
                    .batch_put_value_sets(vec![inserts], None, height)
                    .and_then(|(roots, batch)| match roots.as_slice() {
                        [root] => Ok((*root, TreeUpdate::single(batch)?)),
                        _ => Err(anyhow::anyhow!("one version in, {} roots out", roots.len())),
                    })
                    .map_err(StorageError::tree)?,
            }
        } else {
            tree.put_value_set(writes, height)
                .and_then(|(root, batch)| Ok((root, TreeUpdate::single(batch)?)))
                .map_err(StorageError::tree)?
        };
        Ok(PreparedState {
            version: height,
            root: Hash(root.0),
            changes,
            tree,
            index: StateChanges::new(),
        })
    }

    fn stage_state(
        &self,
        batch: &mut WriteBatch,
        prepared: &PreparedState,
        oldest_kept: Option<u64>,
    ) -> Result<()> {
        let (state, nodes, values, stale) = (
            self.cf(STATE)?,
            self.cf(TREE_NODES)?,
            self.cf(TREE_VALUES)?,
            self.cf(TREE_STALE)?,
        );
        for (k, v) in &prepared.changes {
            match v {
                // The value itself is in the tree's values, written below.
                Some(_) => batch.put_cf(state, k, be(prepared.version)),
                None => batch.delete_cf(state, k),
            }
        }
        for (key, node) in prepared.tree.nodes() {
            batch.put_cf(nodes, key, node);
        }
        if !prepared.index.is_empty() {
            let index = self.cf(QUERY_INDEX)?;
            for (k, v) in &prepared.index {
                match v {
                    Some(v) => batch.put_cf(index, k, v),
                    None => batch.delete_cf(index, k),
                }
            }
        }
        for (key, value) in prepared.tree.values() {
            batch.put_cf(values, key, value);
        }
        // One entry per version, not one per node: a block of 10,000 writes leaves
        // some 13,000 stale nodes, and as many memtable inserts cost more than
        // the nodes' keys themselves.
        for (since, node_keys) in prepared.tree.stale() {
            if oldest_kept.is_some_and(|oldest| since <= oldest) {
                // Already unreachable (one version kept): no entry to prune later.
                for node_key in node_keys {
                    batch.delete_cf(nodes, node_key_bytes(node_key));
                }
            } else {
                batch.put_cf(stale, be(since), encoding::encode(&node_keys));
            }
        }
        Ok(())
    }

    /// The oldest state version kept once height `last` is committed, if
    /// pruning has begun by then.
    fn oldest_kept(&self, last: u64) -> Option<u64> {
        let keep = self.config.state_versions_kept;
        (last >= keep).then(|| last + 1 - keep)
    }

    /// Commits a decided block, its certificate, receipts and state in one synced
    /// write: after a crash the store holds all of it or none of it.
    pub fn commit_block(
        &self,
        block: &Block,
        certificate: &CommitCertificate,
        receipts: &[Receipt],
        prepared: PreparedState,
    ) -> Result<()> {
        let height = block.header.height;
        let expected = self.require_height()? + 1;
        if height != expected {
            return Err(StorageError::OutOfOrder {
                expected,
                found: height,
            });
        }
        let hash = block.hash();
        let fail = |m: String| Err(StorageError::Inconsistent(m));
        if prepared.version != height {
            return fail(format!(
                "state prepared for height {}, block is {height}",
                prepared.version
            ));
        }
        if prepared.root != block.header.state_root {
            return fail(format!(
                "header state root {} but the state gives {}",
                block.header.state_root, prepared.root
            ));
        }
        if certificate.height != height || certificate.block_hash != hash {
            return fail(format!(
                "certificate is for height {} block {}",
                certificate.height, certificate.block_hash
            ));
        }
        if receipts.len() != block.txs.len() {
            return fail(format!(
                "{} receipts for {} transactions",
                receipts.len(),
                block.txs.len()
            ));
        }
        if !block.txs_root_matches() || Receipt::root(receipts) != block.header.receipts_root {
            return fail("transactions or receipts do not match the header's roots".into());
        }
        // Sized up front: a block of 10,000 writes fills some 7 MB, and growing
        // the batch by doubling copied it over and over (and faulted in fresh
        // pages each time). Pruning's entries come on top; a short estimate
        // only costs one more growth.
        let mut batch =
            WriteBatch::with_capacity_bytes(prepared.batch_bytes() + BLOCK_BATCH_EXTRA_BYTES);
        batch.put_cf(
            self.cf(HEADERS)?,
            be(height),
            encoding::encode(&block.header),
        );
        batch.put_cf(
            self.cf(BLOCK_TXS)?,
            be(height),
            encoding::encode(&block.txs),
        );
        batch.put_cf(self.cf(BLOCK_INDEX)?, hash.0, be(height));
        batch.put_cf(
            self.cf(CERTIFICATES)?,
            be(height),
            encoding::encode(certificate),
        );
        let (tx_index, receipts_cf) = (self.cf(TX_INDEX)?, self.cf(RECEIPTS)?);
        for (i, (tx, receipt)) in block.txs.iter().zip(receipts).enumerate() {
            let index = u32::try_from(i)
                .map_err(|_| StorageError::Inconsistent("too many transactions".into()))?;
            batch.put_cf(tx_index, tx.hash().0, receipt_key(height, index));
            batch.put_cf(
                receipts_cf,
                receipt_key(height, index),
                stored_receipt(receipt),
            );
        }
        self.stage_state(&mut batch, &prepared, self.oldest_kept(height))?;
        self.stage_prune(&mut batch, height)?;
        batch.put_cf(self.cf(META)?, META_LAST_HEIGHT, be(height));
        self.write_state(batch, &prepared.changes)?;
        self.recent.push(height, prepared.tree.into_nodes());
        Ok(())
    }

    /// Writes a batch that changes the state: the cache drops the changed
    /// keys before, and refuses fills from reads that overlapped the write.
    fn write_state(&self, batch: WriteBatch, changes: &StateChanges) -> Result<()> {
        self.cache.before_write(changes.keys());
        let written = self.write(batch);
        self.cache.after_write();
        written
    }

    /// Writes a batch with fsync. The first failure poisons the store.
    pub(crate) fn write(&self, batch: WriteBatch) -> Result<()> {
        let mut failure = self
            .failure
            .lock()
            .map_err(|_| StorageError::Failed("lock poisoned".into()))?;
        if let Some(reason) = failure.as_ref() {
            return Err(StorageError::Failed(reason.clone()));
        }
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        if let Err(e) = self.db.write_opt(batch, &opts) {
            *failure = Some(e.to_string());
            return Err(StorageError::Db(e));
        }
        Ok(())
    }

    /// Stages, into the batch that commits height `last`, the deletion of the
    /// tree nodes and values no kept version will use.
    ///
    /// In the commit's own batch, not a write of its own: one synced write per
    /// block instead of two, and the oldest kept height moves with the block
    /// that moves it. It reads what earlier blocks wrote, never this block's
    /// entries: nodes this block makes stale are deleted by `stage_state` when
    /// one version is kept, and listed in `tree_stale` for a later block
    /// otherwise; values this block supersedes go in the sweep's next cycle.
    fn stage_prune(&self, batch: &mut WriteBatch, last: u64) -> Result<()> {
        let Some(oldest) = self.oldest_kept(last) else {
            return Ok(());
        };
        let previous = self.oldest_state_height()?;
        if oldest <= previous {
            return Ok(());
        }
        // A node stale since version s belongs to versions below s only; with every
        // kept version >= oldest, nodes with s <= oldest are unreachable.
        let (stale_cf, nodes_cf, values_cf) = (
            self.cf(TREE_STALE)?,
            self.cf(TREE_NODES)?,
            self.cf(TREE_VALUES)?,
        );
        let mut it = self.db.raw_iterator_cf(stale_cf);
        // Entries up to `previous` went in earlier passes: start after them, not
        // at the first key, or every pass would wade through their tombstones.
        it.seek(be(previous));
        let mut entries = Vec::new();
        while let (Some(k), Some(v), true) = (it.key(), it.value(), it.valid()) {
            let since = read_u64(TREE_STALE, k)?;
            if since > oldest {
                break;
            }
            entries.push(v.to_vec());
            batch.delete_cf(stale_cf, k);
            it.next();
        }
        it.status()?;
        let mut doomed = Vec::new();
        for entry in &entries {
            doomed
                .extend(stale_node_keys(entry).map_err(|e| StorageError::corrupt(TREE_STALE, e))?);
        }
        // In key order, like the block's new nodes: the memtable's insert
        // hint then serves the tombstones too.
        doomed.sort_unstable();
        for key in doomed {
            batch.delete_cf(nodes_cf, key);
        }
        self.sweep_values(batch, values_cf, oldest)?;
        batch.put_cf(self.cf(META)?, META_OLDEST_STATE, be(oldest));
        Ok(())
    }

    /// Deletes the values no kept version reads, in the next stretch of
    /// [`VALUE_SWEEP_ENTRIES`] value entries after the sweep's cursor.
    ///
    /// Version `V` of a key reads its newest value at or below `V`; so a value
    /// followed by a newer one of the same key at or below `oldest` is read by
    /// no kept version. That holds whatever happened to the key's leaf (a leaf
    /// pushed down by a new neighbour is rewritten at a new version, its value
    /// is not), so the sweep reads values only, in key order, never a node: a
    /// block of 10,000 rewrites once cost 10,000 node reads and 10,000 seeks to
    /// prune, more than the commit. A value outlives its last reader by at most
    /// one sweep cycle (every value entry, divided by the stretch, in blocks).
    fn sweep_values(
        &self,
        batch: &mut WriteBatch,
        values_cf: &rocksdb::ColumnFamily,
        oldest: u64,
    ) -> Result<()> {
        let cursor = self.meta(META_VALUE_SWEEP)?.unwrap_or_default();
        let mut opts = rocksdb::ReadOptions::default();
        // Across key hashes: the family's prefix bloom must not end the scan.
        opts.set_total_order_seek(true);
        let mut it = self.db.raw_iterator_cf_opt(values_cf, opts);
        it.seek(&cursor);
        // The entry before this one (empty before the first): one buffer, reused.
        let mut previous: Vec<u8> = Vec::with_capacity(KEY_HASH_BYTES + 8);
        let mut read = 0usize;
        let next_cursor = loop {
            let Some(key) = it.key().filter(|_| it.valid()) else {
                it.status()?;
                // The end: the next sweep starts over.
                break Vec::new();
            };
            if key.len() != KEY_HASH_BYTES + 8 {
                return Err(StorageError::corrupt(
                    TREE_VALUES,
                    "key of the wrong length",
                ));
            }
            let same_key = previous.get(..KEY_HASH_BYTES) == Some(&key[..KEY_HASH_BYTES]);
            // Stop between two keys, so one key's versions are seen together.
            if !same_key && read >= VALUE_SWEEP_ENTRIES {
                break key.to_vec();
            }
            if same_key && read_u64(TREE_VALUES, &key[KEY_HASH_BYTES..])? <= oldest {
                batch.delete_cf(values_cf, &previous);
            }
            previous.clear();
            previous.extend_from_slice(key);
            read += 1;
            it.next();
        };
        batch.put_cf(self.cf(META)?, META_VALUE_SWEEP, next_cursor);
        Ok(())
    }

    /// The header at `height`.
    pub fn header(&self, height: u64) -> Result<Option<Header>> {
        self.get_decoded(HEADERS, &be(height))
    }

    /// The whole block at `height`.
    pub fn block(&self, height: u64) -> Result<Option<Block>> {
        let Some(header) = self.header(height)? else {
            return Ok(None);
        };
        let Some(txs) = self.get_decoded::<Vec<SignedTransaction>>(BLOCK_TXS, &be(height))? else {
            return Ok(None);
        };
        Ok(Some(Block { header, txs }))
    }

    /// The height of the block with this hash.
    pub fn height_of_block(&self, hash: &Hash) -> Result<Option<u64>> {
        self.db
            .get_cf(self.cf(BLOCK_INDEX)?, hash.0)?
            .map(|b| read_u64(BLOCK_INDEX, &b))
            .transpose()
    }

    /// The commit certificate of `height`.
    pub fn certificate(&self, height: u64) -> Result<Option<CommitCertificate>> {
        self.get_decoded(CERTIFICATES, &be(height))
    }

    /// Where a transaction was committed.
    pub fn tx_location(&self, tx_hash: &Hash) -> Result<Option<TxLocation>> {
        let Some(b) = self.db.get_cf(self.cf(TX_INDEX)?, tx_hash.0)? else {
            return Ok(None);
        };
        if b.len() != 12 {
            return Err(StorageError::corrupt(TX_INDEX, "expected 12 bytes"));
        }
        let height = read_u64(TX_INDEX, &b[..8])?;
        let index = u32::from_be_bytes([b[8], b[9], b[10], b[11]]);
        Ok(Some(TxLocation {
            tx_hash: *tx_hash,
            height,
            index,
        }))
    }

    /// The receipt of the transaction at a location.
    pub fn receipt(&self, at: TxLocation) -> Result<Option<Receipt>> {
        let Some(stored) = self
            .db
            .get_pinned_cf(self.cf(RECEIPTS)?, receipt_key(at.height, at.index))?
        else {
            return Ok(None);
        };
        let mut bytes = Vec::with_capacity(HASH_BYTES + stored.len());
        bytes.extend_from_slice(&at.tx_hash.0);
        bytes.extend_from_slice(&stored);
        decode(RECEIPTS, &bytes).map(Some)
    }

    /// The latest value of a state key.
    pub fn state_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let ticket = match self.cache.lookup(key) {
            Lookup::Hit(value) => return Ok(Some(value)),
            Lookup::Miss(ticket) => ticket,
        };
        let Some(version) = self.db.get_pinned_cf(self.cf(STATE)?, key)? else {
            return Ok(None);
        };
        let value = self.value_named(key, read_u64(STATE, &version)?)?;
        if let Some(value) = &value {
            self.cache.fill(key, value, ticket);
        }
        Ok(value)
    }

    /// The latest value of `key`, whose version the state named as `version`
    /// when it was read (None if the key is gone since).
    fn value_named(&self, key: &[u8], version: u64) -> Result<Option<Vec<u8>>> {
        let (state, values) = (self.cf(STATE)?, self.cf(TREE_VALUES)?);
        let hash = key_hash(key);
        if let Some(stored) = self.db.get_pinned_cf(values, value_key(&hash, version))? {
            return decode_value(key, &stored).map(Some);
        }
        // Commits since the version was read rewrote the key and swept that
        // value, or deleted the key. Both again from one view, where the
        // version the state names always has its value.
        let view = self.db.snapshot();
        let Some(version) = view.get_pinned_cf(state, key)? else {
            return Ok(None);
        };
        value_in_view(&view, values, key, &hash, read_u64(STATE, &version)?).map(Some)
    }

    /// Forgets cached state values (after a snapshot import wrote the state).
    pub(crate) fn forget_cached_state(&self) {
        self.cache.clear();
        self.recent.clear();
    }

    /// Latest entries whose key starts with `prefix`, in key order, after `start_after`, at most `limit`.
    pub fn state_prefix(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        // Taken before the snapshot: a value read from it may be cached only
        // if no commit began since.
        let ticket = self.cache.ticket();
        // Keys, versions and values from one view, whatever commits meanwhile.
        let view = self.db.snapshot();
        let values = self.cf(TREE_VALUES)?;
        let mut it = view.raw_iterator_cf(self.cf(STATE)?);
        match start_after {
            Some(after) => {
                it.seek(after);
                if it.key() == Some(after) {
                    it.next();
                }
            }
            None => it.seek(prefix),
        }
        let mut out = Vec::new();
        while out.len() < limit && it.valid() {
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            if !k.starts_with(prefix) {
                break;
            }
            let value = match self.cache.lookup(k) {
                Lookup::Hit(value) => value,
                Lookup::Miss(_) => {
                    let value = value_in_view(&view, values, k, &key_hash(k), read_u64(STATE, v)?)?;
                    self.cache.fill(k, &value, ticket);
                    value
                }
            };
            out.push((k.to_vec(), value));
            it.next();
        }
        it.status()?;
        Ok(out)
    }

    fn check_kept(&self, height: u64) -> Result<()> {
        let oldest = self.oldest_state_height()?;
        let last = self.require_height()?;
        if height < oldest || height > last {
            return Err(StorageError::Pruned { height, oldest });
        }
        Ok(())
    }

    /// The state root at `height`.
    pub fn state_root(&self, height: u64) -> Result<Hash> {
        self.check_kept(height)?;
        let reader = DbTree::new(&self.db);
        let root = JellyfishMerkleTree::<_, StateHasher>::new(&reader)
            .get_root_hash(height)
            .map_err(StorageError::tree)?;
        Ok(Hash(root.0))
    }

    /// A proof of the value (or absence) of `key` at `height`.
    pub fn prove(&self, key: &[u8], height: u64) -> Result<StateProof> {
        self.check_kept(height)?;
        let reader = DbTree::new(&self.db);
        let (leaf, proof) = JellyfishMerkleTree::<_, StateHasher>::new(&reader)
            .get_with_proof(key_hash(key), height)
            .map_err(StorageError::tree)?;
        let value = match leaf {
            None => None,
            Some(bytes) => {
                let entry = StateEntry::decode(&bytes)
                    .map_err(|e| StorageError::corrupt(TREE_VALUES, e))?;
                if entry.key != key {
                    return Err(StorageError::corrupt(TREE_VALUES, "leaf holds another key"));
                }
                Some(entry.value)
            }
        };
        Ok(StateProof {
            key: key.to_vec(),
            value,
            proof,
        })
    }

    /// Recomputes the state root from the latest state entries alone, in a fresh
    /// tree, and compares it with the stored root of the last height. An audit:
    /// the stored tree and the stored state must describe the same thing. The
    /// state is read from one view; the tree's root of that height must still
    /// be kept when it is compared (so with few versions kept, audit a store
    /// no block is being committed to).
    pub fn verify_state_root(&self) -> Result<Hash> {
        let view = self.db.snapshot();
        let last = match view.get_pinned_cf(self.cf(META)?, META_LAST_HEIGHT)? {
            Some(b) => read_u64(META, &b)?,
            None => return Err(StorageError::NotInitialised),
        };
        let values = self.cf(TREE_VALUES)?;
        let mut writes = Vec::new();
        let mut it = view.raw_iterator_cf(self.cf(STATE)?);
        it.seek_to_first();
        while it.valid() {
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            let hash = key_hash(k);
            let value = value_in_view(&view, values, k, &hash, read_u64(STATE, v)?)?;
            writes.push((
                hash,
                Some(
                    StateEntry {
                        key: k.to_vec(),
                        value,
                    }
                    .encode(),
                ),
            ));
            it.next();
        }
        it.status()?;
        let recomputed = Hash(
            MemTree::default()
                .put(0, writes)
                .map_err(StorageError::tree)?
                .0,
        );
        let stored = self.state_root(last)?;
        if recomputed != stored {
            return Err(StorageError::Inconsistent(format!(
                "state gives root {recomputed}, tree at height {last} has {stored}"
            )));
        }
        Ok(stored)
    }

    fn get_decoded<T: BorshDeserialize>(&self, cf: &'static str, key: &[u8]) -> Result<Option<T>> {
        match self.db.get_pinned_cf(self.cf(cf)?, key)? {
            None => Ok(None),
            Some(b) => Ok(Some(decode(cf, &b)?)),
        }
    }

    /// A column family named at run time (the diagnostics take any name).
    fn cf_named(&self, column_family: &str) -> Result<&rocksdb::ColumnFamily> {
        self.db
            .cf_handle(column_family)
            .ok_or_else(|| StorageError::corrupt(META, format!("no column family {column_family}")))
    }

    /// Number of entries in a column family (diagnostics and tests; scans it all).
    pub fn count_entries(&self, column_family: &str) -> Result<usize> {
        let cf = self.cf_named(column_family)?;
        let mut it = self.db.raw_iterator_cf(cf);
        it.seek_to_first();
        let mut n = 0;
        while it.valid() {
            n += 1;
            it.next();
        }
        it.status()?;
        Ok(n)
    }

    /// How many state-tree updates were shared out over several threads since
    /// the store was opened (see [`StorageConfig::tree_threads`]).
    pub fn split_tree_updates(&self) -> u64 {
        self.split_updates.load(Ordering::Relaxed)
    }

    /// A digest of every entry of a column family, in key order: two stores
    /// whose digests agree hold the same bytes there (an audit of two nodes'
    /// trees, and how the tests compare updates computed on different threads).
    pub fn column_digest(&self, column_family: &str) -> Result<Hash> {
        let cf = self.cf_named(column_family)?;
        let mut hasher = blake3::Hasher::new();
        let mut it = self.db.raw_iterator_cf(cf);
        it.seek_to_first();
        while let (Some(k), Some(v), true) = (it.key(), it.value(), it.valid()) {
            // Lengths first, so entries cannot run into one another.
            for part in [k, v] {
                hasher.update(&(part.len() as u64).to_le_bytes());
                hasher.update(part);
            }
            it.next();
        }
        it.status()?;
        Ok(Hash(*hasher.finalize().as_bytes()))
    }

    /// Approximate bytes on disk of all SST files (after compaction, the real footprint).
    pub fn disk_bytes(&self) -> Result<u64> {
        Ok(self.db.live_files()?.iter().map(|f| f.size as u64).sum())
    }

    /// Bytes of live SST files per column family (used by measurements).
    pub fn disk_bytes_by_column(&self) -> Result<BTreeMap<String, u64>> {
        let mut out = BTreeMap::new();
        for f in self.db.live_files()? {
            *out.entry(f.column_family_name.clone()).or_insert(0) += f.size as u64;
        }
        Ok(out)
    }

    /// Writes a consistent copy of the database into `dir`, which must not
    /// exist: a RocksDB checkpoint (hard links on the same filesystem, copies
    /// elsewhere), taken while the node runs. It holds whole blocks only:
    /// every block is one atomic batch.
    pub fn checkpoint(&self, dir: &Path) -> Result<()> {
        rocksdb::checkpoint::Checkpoint::new(&self.db)?.create_checkpoint(dir)?;
        Ok(())
    }

    /// Flushes memtables and compacts every column family (used by measurements).
    pub fn compact(&self) -> Result<()> {
        for name in columns::ALL {
            let cf = self.cf(name)?;
            self.db.flush_cf(cf)?;
            self.db.compact_range_cf::<&[u8], &[u8]>(cf, None, None);
        }
        Ok(())
    }
}

/// Stores one certified header without its block (history kept by a snapshot import).
pub(crate) fn history_entry(
    store: &Store,
    batch: &mut WriteBatch,
    header: &Header,
    cert: &CommitCertificate,
) -> Result<()> {
    let h = header.height;
    batch.put_cf(store.cf(HEADERS)?, be(h), encoding::encode(header));
    batch.put_cf(store.cf(CERTIFICATES)?, be(h), encoding::encode(cert));
    batch.put_cf(store.cf(BLOCK_INDEX)?, header.hash().0, be(h));
    Ok(())
}

/// Writes meta entries of a restored snapshot (used by the snapshot importer).
pub(crate) fn snapshot_meta(
    store: &Store,
    batch: &mut WriteBatch,
    genesis: &Hash,
    header: &Header,
    cert: &CommitCertificate,
) -> Result<()> {
    let h = header.height;
    let meta = store.cf(META)?;
    batch.put_cf(meta, META_FORMAT, STORAGE_FORMAT_VERSION.to_be_bytes());
    batch.put_cf(meta, META_GENESIS, encoding::encode(genesis));
    batch.put_cf(meta, META_LAST_HEIGHT, be(h));
    batch.put_cf(meta, META_OLDEST_STATE, be(h));
    batch.put_cf(meta, META_EARLIEST_BLOCK, be(h + 1));
    batch.put_cf(store.cf(HEADERS)?, be(h), encoding::encode(header));
    batch.put_cf(store.cf(CERTIFICATES)?, be(h), encoding::encode(cert));
    batch.put_cf(store.cf(BLOCK_INDEX)?, header.hash().0, be(h));
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::testkit::{ChainBuilder, changes_for};
    use jmt::storage::NodeKey;

    fn one_write(key: &[u8], value: Option<&[u8]>) -> StateChanges {
        let mut changes = StateChanges::new();
        changes.insert(key.to_vec(), value.map(<[u8]>::to_vec));
        changes
    }

    /// A read finds the key's version, then commits rewrite the key and sweep
    /// the value of that version before the value is read: the read must give
    /// the latest value (or none, once deleted), never report corruption.
    #[test]
    fn a_value_swept_after_its_version_was_read_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            dir.path(),
            StorageConfig {
                state_versions_kept: 1,
                ..StorageConfig::default()
            },
        )
        .unwrap();
        let chain = ChainBuilder::new();
        chain.init(&store).unwrap();
        let key = b"lots/hot";
        chain
            .commit(&store, one_write(key, Some(b"v1")), vec![])
            .unwrap();
        let stale = 1;
        for value in [b"v2", b"v3"] {
            chain
                .commit(&store, one_write(key, Some(value)), vec![])
                .unwrap();
        }
        let values = store.cf(TREE_VALUES).unwrap();
        let swept = store
            .db
            .get_pinned_cf(values, value_key(&key_hash(key), stale))
            .unwrap();
        assert!(swept.is_none(), "the sweep left the old value");
        assert_eq!(store.value_named(key, stale).unwrap(), Some(b"v3".to_vec()));
        chain.commit(&store, one_write(key, None), vec![]).unwrap();
        assert_eq!(store.value_named(key, stale).unwrap(), None);
    }

    /// A store with the default configuration in a temporary directory, and
    /// the chain that initialised it.
    fn initialised_store() -> (tempfile::TempDir, Store, ChainBuilder) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StorageConfig::default()).unwrap();
        let chain = ChainBuilder::new();
        chain.init(&store).unwrap();
        (dir, store, chain)
    }

    /// The nodes held in memory for the next block's walk are the committed
    /// ones byte for byte: every node of the last blocks (whether `jmt` or
    /// the walk built them), none of a block prepared and never committed.
    #[test]
    fn recent_nodes_are_the_committed_nodes_of_the_last_blocks() {
        let (_dir, store, chain) = initialised_store();
        for height in 1..=4u64 {
            let mut changes = changes_for(height, 3, 3_000, 20_000);
            // Deletions take jmt's path; blocks 3 and 4 the walk's.
            if height > 2 {
                changes.retain(|_, v| v.is_some());
            }
            chain.commit(&store, changes, vec![]).unwrap();
        }
        let abandoned = store
            .prepare_state(5, changes_for(5, 3, 3_000, 20_000))
            .unwrap();
        drop(abandoned);
        let view = store.recent.view();
        let cf = store.cf(TREE_NODES).unwrap();
        let (mut held, mut of_last_blocks) = (0, 0);
        for entry in store.db.iterator_cf(cf, rocksdb::IteratorMode::Start) {
            let (key, node) = entry.unwrap();
            let version = NodeKey::try_from_slice(&key).unwrap().version();
            if (1..=4).contains(&version) {
                of_last_blocks += 1;
            }
            if let Some(bytes) = view.get(&key) {
                assert_eq!(bytes, &*node, "node of version {version} differs");
                assert!((1..=4).contains(&version), "version {version} held");
                held += 1;
            }
        }
        assert!(of_last_blocks > 4 * 3_000, "{of_last_blocks} nodes");
        assert_eq!(held, of_last_blocks);
        let mut absent = node_key_bytes(&crate::tree::layout::root_key(5).unwrap());
        assert!(view.get(&absent).is_none(), "an uncommitted root is held");
        absent = node_key_bytes(&crate::tree::layout::root_key(4).unwrap());
        assert!(view.get(&absent).is_some(), "the last root is not held");
    }

    /// The write batch reserved for a block's state and tree holds them
    /// without growing, and not twice over.
    #[test]
    fn the_batch_estimate_covers_the_state_and_tree_entries() {
        let (_dir, store, chain) = initialised_store();
        for height in 1..=3u64 {
            let mut changes = changes_for(height, 5, 4_000, 20_000);
            if height == 3 {
                changes.retain(|_, v| v.is_some());
            }
            let prepared = store.prepare_state(height, changes.clone()).unwrap();
            let mut batch = WriteBatch::default();
            store.stage_state(&mut batch, &prepared, None).unwrap();
            let (estimate, written) = (prepared.batch_bytes(), batch.size_in_bytes());
            assert!(
                written <= estimate && estimate <= 2 * written,
                "height {height}: {written} bytes written, {estimate} estimated"
            );
            chain.commit(&store, changes, vec![]).unwrap();
        }
    }
}
