//! State snapshots: the state at one height as chunks that each carry a range
//! proof against the state root, so an importer checks every chunk as it
//! arrives and a tampered chunk is refused before anything from it is kept.
//!
//! A snapshot is the basis of fast join: a new node verifies a header's commit
//! certificate (outside this crate), then imports the state its root names.
//! Import goes into an empty store; if it is interrupted or a chunk is refused,
//! the directory must be discarded and the import started again.

use crate::columns::{STATE, TREE_NODES, TREE_VALUES};
use crate::error::{Result, StorageError};
use crate::store::{Store, snapshot_meta};
use crate::tree::codec::encode_node;
use crate::tree::db::DbTree;
use crate::tree::layout::{node_key_bytes, value_key};
use borsh::{BorshDeserialize, BorshSerialize};
use filiera_types::state::{StateEntry, StateHasher, key_hash};
use filiera_types::{CommitCertificate, Hash, Header, ValidatorSet, encoding};
use jmt::proof::SparseMerkleRangeProof;
use jmt::restore::{JellyfishMerkleRestore, StateSnapshotReceiver};
use jmt::storage::{NodeBatch, TreeWriter};
use jmt::{JellyfishMerkleIterator, JellyfishMerkleTree, KeyHash, RootHash};
use rocksdb::{WriteBatch, WriteOptions};
use std::sync::Arc;

/// Most entries in one chunk.
pub const SNAPSHOT_CHUNK_ENTRIES_MAX: usize = 100_000;
/// Largest encoded chunk, in bytes.
pub const SNAPSHOT_CHUNK_BYTES_MAX: usize = 64 << 20;

/// One verifiable piece of the state at a height.
#[derive(Clone, Debug, BorshSerialize, BorshDeserialize)]
pub struct SnapshotChunk {
    /// The height of the state.
    pub height: u64,
    /// Position of the chunk, from 0.
    pub index: u32,
    /// Tree leaves (encoded [`StateEntry`]) in key-hash order.
    pub entries: Vec<Vec<u8>>,
    /// Proves these entries, and all before them, against the state root.
    pub proof: SparseMerkleRangeProof<StateHasher>,
}

impl SnapshotChunk {
    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        encoding::encode(self)
    }

    /// Decodes a chunk received from a peer, within [`SNAPSHOT_CHUNK_BYTES_MAX`].
    pub fn decode(bytes: &[u8]) -> Result<SnapshotChunk> {
        encoding::decode("snapshot chunk", bytes, SNAPSHOT_CHUNK_BYTES_MAX)
            .map_err(|e| StorageError::Snapshot(e.to_string()))
    }
}

/// Largest encoded [`SnapshotOffer`], in bytes (its set history dominates).
pub const SNAPSHOT_OFFER_BYTES_MAX: usize = 16 << 20;
/// Entries per chunk a node serves: a few MiB per answer.
pub const SNAPSHOT_SERVE_CHUNK_ENTRIES: u32 = 10_000;

/// What a node offers a joining node: the newest certified header, its
/// certificate, the validator-set changes since genesis (each with the header
/// and certificate that named the next set) and the size of the state. The
/// joiner trusts none of it: it checks the history from its own genesis, the
/// certificate against the set that history leads to, and every chunk against
/// the header's state root.
#[derive(Clone, Debug, BorshSerialize, BorshDeserialize)]
pub struct SnapshotOffer {
    /// The header whose state is offered.
    pub header: Header,
    /// Its commit certificate.
    pub certificate: CommitCertificate,
    /// Validator-set changes up to the header: (header before the change, its certificate, the new set).
    pub set_history: Vec<(Header, CommitCertificate, ValidatorSet)>,
    /// Leaves in the state tree at the header's height.
    pub entries: u64,
    /// Entries per chunk: chunk `i` holds entries `i * chunk_entries ..`.
    pub chunk_entries: u32,
}

impl SnapshotOffer {
    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        encoding::encode(self)
    }

    /// Decodes an offer received from a peer, within [`SNAPSHOT_OFFER_BYTES_MAX`].
    pub fn decode(bytes: &[u8]) -> Result<SnapshotOffer> {
        encoding::decode("snapshot offer", bytes, SNAPSHOT_OFFER_BYTES_MAX)
            .map_err(|e| StorageError::Snapshot(e.to_string()))
    }

    /// How many chunks the state takes.
    pub fn chunks(&self) -> u64 {
        self.entries.div_ceil(u64::from(self.chunk_entries.max(1)))
    }
}

/// Produces the chunks of a snapshot, one at a time.
pub struct SnapshotExporter {
    reader: Arc<DbTree>,
    iter: JellyfishMerkleIterator<DbTree>,
    height: u64,
    chunk_entries_max: usize,
    next_index: u32,
}

impl SnapshotExporter {
    /// The next chunk, or `None` when the state is exhausted.
    pub fn next_chunk(&mut self) -> Result<Option<SnapshotChunk>> {
        let mut entries = Vec::new();
        let mut last: Option<KeyHash> = None;
        while entries.len() < self.chunk_entries_max {
            match self.iter.next() {
                None => break,
                Some(item) => {
                    let (kh, value) = item.map_err(StorageError::tree)?;
                    entries.push(value);
                    last = Some(kh);
                }
            }
        }
        let Some(last) = last else { return Ok(None) };
        let proof = JellyfishMerkleTree::<_, StateHasher>::new(self.reader.as_ref())
            .get_range_proof(last, self.height)
            .map_err(StorageError::tree)?;
        let index = self.next_index;
        self.next_index += 1;
        Ok(Some(SnapshotChunk {
            height: self.height,
            index,
            entries,
            proof,
        }))
    }
}

/// Writes what the restorer produces straight into RocksDB.
struct RestoreWriter {
    tree: DbTree,
}

impl jmt::storage::TreeReader for RestoreWriter {
    fn get_node_option(
        &self,
        key: &jmt::storage::NodeKey,
    ) -> anyhow::Result<Option<jmt::storage::Node>> {
        self.tree.get_node_option(key)
    }
    fn get_value_option(
        &self,
        v: jmt::Version,
        k: KeyHash,
    ) -> anyhow::Result<Option<jmt::OwnedValue>> {
        self.tree.get_value_option(v, k)
    }
    fn get_rightmost_leaf(
        &self,
    ) -> anyhow::Result<Option<(jmt::storage::NodeKey, jmt::storage::LeafNode)>> {
        self.tree.get_rightmost_leaf()
    }
}

impl TreeWriter for RestoreWriter {
    fn write_node_batch(&self, batch: &NodeBatch) -> anyhow::Result<()> {
        let db = &self.tree.db;
        let nodes = db
            .cf_handle(TREE_NODES)
            .ok_or_else(|| anyhow::anyhow!("missing {TREE_NODES}"))?;
        let values = db
            .cf_handle(TREE_VALUES)
            .ok_or_else(|| anyhow::anyhow!("missing {TREE_VALUES}"))?;
        let mut wb = WriteBatch::default();
        for (key, node) in batch.nodes() {
            let mut bytes = Vec::new();
            encode_node(node, &mut bytes)?;
            wb.put_cf(nodes, node_key_bytes(key), bytes);
        }
        for ((version, kh), value) in batch.values() {
            wb.put_cf(values, value_key(kh, *version), encoding::encode(value));
        }
        db.write(wb)?;
        Ok(())
    }
}

/// Imports a snapshot into an empty store, checking each chunk on arrival.
pub struct SnapshotImporter<'a> {
    store: &'a Store,
    restore: JellyfishMerkleRestore<StateHasher>,
    genesis: Hash,
    header: Header,
    certificate: CommitCertificate,
    next_index: u32,
}

impl<'a> SnapshotImporter<'a> {
    /// Verifies a chunk against the root and keeps it; a chunk that fails is refused whole.
    pub fn add_chunk(&mut self, chunk: SnapshotChunk) -> Result<()> {
        if chunk.height != self.header.height || chunk.index != self.next_index {
            return Err(StorageError::Snapshot(format!(
                "expected chunk {} of height {}, got chunk {} of height {}",
                self.next_index, self.header.height, chunk.index, chunk.height
            )));
        }
        if chunk.entries.is_empty() || chunk.entries.len() > SNAPSHOT_CHUNK_ENTRIES_MAX {
            return Err(StorageError::Snapshot(format!(
                "chunk {} has {} entries",
                chunk.index,
                chunk.entries.len()
            )));
        }
        let mut items = Vec::with_capacity(chunk.entries.len());
        let mut state = WriteBatch::default();
        let state_cf = self.store.cf(STATE)?;
        for leaf in chunk.entries {
            let entry = StateEntry::decode(&leaf)
                .map_err(|e| StorageError::Snapshot(format!("chunk {}: {e}", chunk.index)))?;
            // Imported values are the tree's at the snapshot's height.
            state.put_cf(state_cf, &entry.key, chunk.height.to_be_bytes());
            items.push((key_hash(&entry.key), leaf));
        }
        // The restorer checks order and the range proof against the expected root
        // before it writes any node of this chunk.
        self.restore
            .add_chunk(items, chunk.proof)
            .map_err(|e| StorageError::Snapshot(format!("chunk {} rejected: {e}", chunk.index)))?;
        self.store.db().write(state)?;
        self.next_index += 1;
        Ok(())
    }

    /// Completes the import: writes the last nodes and the chain metadata, then
    /// checks the imported tree has the header's state root.
    pub fn finish(self) -> Result<Hash> {
        let expected = self.header.state_root;
        self.restore
            .finish()
            .map_err(|e| StorageError::Snapshot(format!("incomplete snapshot: {e}")))?;
        let mut batch = WriteBatch::default();
        snapshot_meta(
            self.store,
            &mut batch,
            &self.genesis,
            &self.header,
            &self.certificate,
        )?;
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.store.db().write_opt(batch, &opts)?;
        self.store.forget_cached_state();
        let root = self.store.state_root(self.header.height)?;
        if root != expected {
            return Err(StorageError::Snapshot(format!(
                "imported state has root {root}, header says {expected}"
            )));
        }
        Ok(root)
    }
}

impl Store {
    /// Starts exporting the state at `height` in chunks of at most `chunk_entries_max` entries.
    pub fn export_snapshot(
        &self,
        height: u64,
        chunk_entries_max: usize,
    ) -> Result<SnapshotExporter> {
        self.state_root(height)?;
        let reader = Arc::new(DbTree::new(self.db()));
        let iter = JellyfishMerkleIterator::new(Arc::clone(&reader), height, KeyHash([0; 32]))
            .map_err(StorageError::tree)?;
        Ok(SnapshotExporter {
            reader,
            iter,
            height,
            chunk_entries_max: chunk_entries_max.clamp(1, SNAPSHOT_CHUNK_ENTRIES_MAX),
            next_index: 0,
        })
    }

    /// Leaves in the state tree at `height`.
    pub fn state_entries(&self, height: u64) -> Result<u64> {
        self.state_root(height)?;
        let reader = DbTree::new(self.db());
        let count = JellyfishMerkleTree::<_, StateHasher>::new(&reader)
            .get_leaf_count(height)
            .map_err(StorageError::tree)?;
        Ok(count as u64)
    }

    /// Chunk `index` of the state at `height`, cut every `chunk_entries`
    /// entries, or `None` past the end. Served to joining nodes: any chunk may be
    /// asked for alone, in any order, by any number of peers.
    pub fn snapshot_chunk(
        &self,
        height: u64,
        index: u32,
        chunk_entries: u32,
    ) -> Result<Option<SnapshotChunk>> {
        let chunk_entries = (chunk_entries as usize).clamp(1, SNAPSHOT_CHUNK_ENTRIES_MAX);
        let entries = self.state_entries(height)?;
        let start = (index as u64).saturating_mul(chunk_entries as u64);
        if start >= entries {
            return Ok(None);
        }
        let reader = Arc::new(DbTree::new(self.db()));
        // Below `entries`, which the tree itself counted, so it fits a usize.
        let iter =
            JellyfishMerkleIterator::new_by_index(Arc::clone(&reader), height, start as usize)
                .map_err(StorageError::tree)?;
        SnapshotExporter {
            reader,
            iter,
            height,
            chunk_entries_max: chunk_entries,
            next_index: index,
        }
        .next_chunk()
    }

    /// Keeps the headers and certificates of earlier heights that a snapshot
    /// offer carried (the validator-set history), so that a node that joined by
    /// snapshot serves the same history in its lot bundles. Each must be below
    /// the snapshot's height and carry its own certificate.
    pub fn keep_history(&self, items: &[(Header, CommitCertificate)]) -> Result<()> {
        let base = self.earliest_block_height()?;
        let mut batch = WriteBatch::default();
        for (header, cert) in items {
            if header.height + 1 >= base
                || cert.height != header.height
                || cert.block_hash != header.hash()
            {
                return Err(StorageError::Snapshot(format!(
                    "history header {} is not an earlier certified header",
                    header.height
                )));
            }
            crate::store::history_entry(self, &mut batch, header, cert)?;
        }
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.db().write_opt(batch, &opts)?;
        Ok(())
    }

    /// Starts importing the state of `header` (whose certificate the caller has
    /// verified) into this store, which must be empty.
    pub fn import_snapshot(
        &self,
        genesis: Hash,
        header: Header,
        certificate: CommitCertificate,
    ) -> Result<SnapshotImporter<'_>> {
        if self.last_height()?.is_some() {
            return Err(StorageError::Snapshot("the store is not empty".into()));
        }
        let mut any = self.db().raw_iterator_cf(self.cf(TREE_NODES)?);
        any.seek_to_first();
        if any.valid() {
            return Err(StorageError::Snapshot(
                "the store holds a partial import; start from an empty directory".into(),
            ));
        }
        if certificate.height != header.height || certificate.block_hash != header.hash() {
            return Err(StorageError::Snapshot(
                "the certificate is not for this header".into(),
            ));
        }
        let writer = Arc::new(RestoreWriter {
            tree: DbTree::new(self.db()),
        });
        let restore =
            JellyfishMerkleRestore::new(writer, header.height, RootHash(header.state_root.0))
                .map_err(StorageError::tree)?;
        Ok(SnapshotImporter {
            store: self,
            restore,
            genesis,
            header,
            certificate,
            next_index: 0,
        })
    }
}
