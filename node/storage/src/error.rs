//! Storage errors. Every write error is fatal to the node (fail-stop): the
//! caller stops rather than continue with state it cannot trust.

use filiera_types::Hash;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// RocksDB reported an error (I/O, full disk, corruption detected by checksums).
    #[error("RocksDB: {0}")]
    Db(#[from] rocksdb::Error),
    /// A stored record does not decode: the data directory is damaged.
    #[error("corrupt data in column family {cf}: {reason}")]
    Corrupt {
        /// The column family.
        cf: &'static str,
        /// What failed to decode.
        reason: String,
    },
    /// The data directory was written by a format this binary does not read.
    #[error(
        "data directory has storage format {found}; this binary reads format {supported} ({})",
        if found > supported { "upgrade the binary, or restore a backup made by this version" } else { "an older format: move the directory away and fast-sync from peers, or restore a backup made by this version" }
    )]
    IncompatibleFormat {
        /// Format found on disk.
        found: u32,
        /// Format this binary reads and writes.
        supported: u32,
    },
    /// The data directory belongs to another chain.
    #[error("data directory holds chain with genesis {stored}, not {expected}")]
    WrongGenesis {
        /// Genesis hash on disk.
        stored: Hash,
        /// Genesis hash expected.
        expected: Hash,
    },
    /// The store has no genesis state yet.
    #[error("the store is not initialised (no genesis state)")]
    NotInitialised,
    /// A block committed out of order.
    #[error("expected to commit height {expected}, got {found}")]
    OutOfOrder {
        /// The next height.
        expected: u64,
        /// The height offered.
        found: u64,
    },
    /// What is being committed does not match itself (header, state, receipts, certificate).
    #[error("inconsistent commit: {0}")]
    Inconsistent(String),
    /// The authenticated tree reported an error.
    #[error("state tree: {0}")]
    Tree(String),
    /// A state version no longer kept.
    #[error("state at height {height} was pruned (oldest kept: {oldest})")]
    Pruned {
        /// Height asked for.
        height: u64,
        /// Oldest height still kept.
        oldest: u64,
    },
    /// A key or value over its limit.
    #[error("{what}: {len} bytes exceed the limit of {max}")]
    Limit {
        /// What was too large.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// A snapshot chunk failed verification or arrived out of place.
    #[error("snapshot: {0}")]
    Snapshot(String),
    /// An earlier write failed; the store refuses further writes until reopened.
    #[error("storage failed earlier and refuses writes until the node restarts: {0}")]
    Failed(String),
}

impl StorageError {
    pub(crate) fn tree(e: impl std::fmt::Display) -> StorageError {
        StorageError::Tree(e.to_string())
    }

    pub(crate) fn corrupt(cf: &'static str, e: impl std::fmt::Display) -> StorageError {
        StorageError::Corrupt {
            cf,
            reason: e.to_string(),
        }
    }
}

/// Storage results.
pub type Result<T> = std::result::Result<T, StorageError>;
