//! Backups: a node's database (a RocksDB checkpoint) and its consensus WAL,
//! with a manifest saying what they hold. Taken online through the admin
//! socket (the running node owns the database) or offline by the CLI; both
//! use [`write_backup`]. Restoring is [`restore`], into a stopped node whose
//! data directory holds no database.
//!
//! The WAL travels with the database because it records what this validator
//! signed at its current height: a validator restored without it could sign
//! again, differently, at a height where it already voted.

use filiera_storage::{STORAGE_FORMAT_VERSION, StorageConfig, StorageError, Store};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What a backup holds (`manifest.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Last committed height in the backup.
    pub height: u64,
    /// Its state root, hex.
    pub state_root: String,
    /// The chain's genesis hash, hex.
    pub genesis_hash: String,
    /// Storage format of the database.
    pub format_version: u32,
}

/// Why a backup or restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The store failed.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// A file could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The backup or the target is not what a restore needs.
    #[error("{0}")]
    Refused(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Io { what, source }
}

/// Block cache for opening a backup to check it, bytes (a short read).
const CHECK_CACHE_BYTES: usize = 8 << 20;

fn copy_dir(from: &Path, to: &Path) -> Result<u64, BackupError> {
    std::fs::create_dir_all(to).map_err(io(format!("creating {}", to.display())))?;
    let mut bytes = 0;
    for entry in std::fs::read_dir(from).map_err(io(format!("reading {}", from.display())))? {
        let entry = entry.map_err(io(format!("reading {}", from.display())))?;
        let kind = entry
            .file_type()
            .map_err(io(format!("reading {}", from.display())))?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            bytes += copy_dir(&entry.path(), &target)?;
        } else if kind.is_file() {
            bytes += std::fs::copy(entry.path(), &target)
                .map_err(io(format!("copying {}", entry.path().display())))?;
        }
    }
    Ok(bytes)
}

/// Opens the database at `db_dir` and describes it, checking that its stored
/// state recomputes to the stored root (a backup that fails this is useless).
fn describe(db_dir: &Path) -> Result<Manifest, BackupError> {
    let store = Store::open(
        db_dir,
        StorageConfig {
            block_cache_bytes: CHECK_CACHE_BYTES,
            ..StorageConfig::default()
        },
    )?;
    let height = store
        .last_height()?
        .ok_or_else(|| BackupError::Refused("the database holds no chain".into()))?;
    let genesis = store
        .genesis_hash()?
        .ok_or_else(|| BackupError::Refused("the database holds no genesis".into()))?;
    let root = store.verify_state_root()?;
    Ok(Manifest {
        height,
        state_root: root.to_string(),
        genesis_hash: genesis.to_string(),
        format_version: STORAGE_FORMAT_VERSION,
    })
}

/// Writes a backup of `store` and the WAL in `wal_dir` into `out`, a directory
/// that must not exist yet. The database is checked before the manifest is
/// written: a backup with a manifest is a good one.
pub fn write_backup(store: &Store, wal_dir: &Path, out: &Path) -> Result<Manifest, BackupError> {
    if out.exists() {
        return Err(BackupError::Refused(format!(
            "{} exists: a backup goes into a new directory",
            out.display()
        )));
    }
    std::fs::create_dir_all(out).map_err(io(format!("creating {}", out.display())))?;
    store.checkpoint(&out.join("db"))?;
    copy_dir(wal_dir, &out.join("wal"))?;
    let manifest = describe(&out.join("db"))?;
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| BackupError::Refused(format!("manifest: {e}")))?;
    std::fs::write(out.join("manifest.json"), text).map_err(io("writing manifest.json"))?;
    Ok(manifest)
}

/// Restores the backup in `from` into the data directory `data_dir` of a
/// stopped node. Refuses if `data_dir` already holds a database (move it aside
/// first: nothing is deleted here), if the backup is of another chain, or if
/// the copied database does not have the manifest's height and root.
pub fn restore(from: &Path, data_dir: &Path, genesis_hash: &str) -> Result<Manifest, BackupError> {
    let text = std::fs::read_to_string(from.join("manifest.json"))
        .map_err(io(format!("reading {}/manifest.json", from.display())))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| BackupError::Refused(format!("manifest.json: {e}")))?;
    if manifest.genesis_hash != genesis_hash {
        return Err(BackupError::Refused(format!(
            "the backup is of genesis {}, this node's is {genesis_hash}",
            manifest.genesis_hash
        )));
    }
    let db = data_dir.join("db");
    if db.exists()
        && std::fs::read_dir(&db)
            .map_err(io(format!("reading {}", db.display())))?
            .next()
            .is_some()
    {
        return Err(BackupError::Refused(format!(
            "{} holds a database: stop the node and move it aside first",
            db.display()
        )));
    }
    copy_dir(&from.join("db"), &db)?;
    let wal = data_dir.join("wal");
    if wal.exists() {
        let aside = data_dir.join("wal.before-restore");
        std::fs::rename(&wal, &aside).map_err(io(format!("moving {} aside", wal.display())))?;
    }
    copy_dir(&from.join("wal"), &wal)?;
    let restored = describe(&db)?;
    if restored != manifest {
        return Err(BackupError::Refused(format!(
            "the restored database holds height {} root {}, the manifest says height {} root {}",
            restored.height, restored.state_root, manifest.height, manifest.state_root
        )));
    }
    Ok(restored)
}
