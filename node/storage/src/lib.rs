//! Filiera's storage: blocks, commit certificates, receipts and the
//! authenticated state, in embedded RocksDB.
//!
//! **Purpose.** Keep everything a node has decided, and the state it implies,
//! so that a header's state root can prove any single record to a light client.
//!
//! **Invariants.** Everything one block changes is written in one `WriteBatch`
//! with fsync: after any crash the store reopens at the last fully committed
//! block, never between two. The state is a Jellyfish Merkle tree with one
//! version per height (a reserved height key is written every block, so every
//! height has its own root). Each value is stored once, in the tree's values;
//! an index of keys in key order names the version of each key's latest value
//! for reads and prefix scans, and [`Store::verify_state_root`] checks the
//! values it names give the tree's root.
//! A query index (`query_index`, keys only) is written in the same batch as
//! the state it is derived from, outside the state root, and marked complete
//! with its format version only after a full rebuild, so a reader never takes
//! a partial index for a whole one.
//! Pruning deletes only tree nodes no kept version can reach; blocks,
//! certificates and receipts are never pruned. The nodes the last blocks
//! wrote are also kept in memory for the next block's tree update, added
//! only once their block's write succeeded (a committed node never changes).
//!
//! **Threats.** Disks fill up, files get damaged, processes get killed. A
//! failed write poisons the store (every later write is refused) so the node
//! stops rather than run on half-written state; stored records that fail to
//! decode are reported as corruption, never repaired silently; a directory
//! written by a newer format is refused at open. Snapshot chunks from peers are
//! verified against the state root before anything from them is kept.

mod cache;
mod columns;
mod error;
mod query_index;
mod reader;
mod snapshot;
mod store;
pub mod testkit;
mod tree;

pub use cache::{STATE_CACHE_ENTRIES, STATE_CACHE_VALUE_BYTES_MAX};
pub use columns::QUERY_INDEX;
pub use error::{Result, StorageError};
pub use snapshot::{
    SNAPSHOT_CHUNK_BYTES_MAX, SNAPSHOT_CHUNK_ENTRIES_MAX, SNAPSHOT_OFFER_BYTES_MAX,
    SNAPSHOT_SERVE_CHUNK_ENTRIES, SnapshotChunk, SnapshotExporter, SnapshotImporter, SnapshotOffer,
};
pub use store::{
    HEIGHT_KEY, PreparedState, RECENT_NODES_BYTES_DEFAULT, STORAGE_FORMAT_VERSION, StateChanges,
    StorageConfig, Store, TREE_THREADS_MAX, TxLocation, VALUE_SWEEP_ENTRIES,
};
pub use tree::parallel::PARALLEL_WRITES_MIN;
