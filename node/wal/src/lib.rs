//! The consensus write-ahead log on disk.
//!
//! **Purpose.** Before a validator's vote leaves the node, what consensus needs
//! to resume (its own votes, proposals, the inputs that led to its lock) is
//! appended here and fsynced. After `kill -9` the node reads the log back and
//! replays it, so it resumes the height it was in and never signs a second,
//! different vote for a height, round and step.
//!
//! **Format.** One file per node: a header (magic, format version, the height
//! the log belongs to), then frames `len: u32 LE | checksum: 8 bytes of
//! blake3(record) | record`. Starting a new height replaces the file
//! atomically (write, fsync, rename, fsync the directory).
//!
//! **Invariants.** `append` returns only after the frame is durable. On open, a
//! torn last frame (a crash during `append`, never acknowledged) is cut off;
//! a bad frame followed by more data is corruption and refused: the log is
//! never silently repaired past a hole.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Largest record, in bytes.
pub const WAL_RECORD_BYTES_MAX: usize = 1024 * 1024;
const MAGIC: &[u8; 8] = b"FILIWAL\0";
const FORMAT_VERSION: u32 = 1;
const HEADER_BYTES: usize = 8 + 4 + 8;
const FRAME_HEAD_BYTES: usize = 4 + 8;
const FILE_NAME: &str = "consensus.wal";

/// Why the log could not be used.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// Reading, writing or syncing failed.
    #[error("WAL {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not a WAL of this format, or is damaged before its tail.
    #[error("WAL {path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A record is larger than [`WAL_RECORD_BYTES_MAX`].
    #[error("WAL record of {0} bytes exceeds {WAL_RECORD_BYTES_MAX}")]
    TooLarge(usize),
}

/// An open log.
pub struct Wal {
    path: PathBuf,
    file: File,
    height: u64,
}

fn checksum(record: &[u8]) -> [u8; 8] {
    let hash = blake3::hash(record);
    let mut out = [0u8; 8];
    out.copy_from_slice(&hash.as_bytes()[..8]);
    out
}

fn header(height: u64) -> Vec<u8> {
    let mut h = MAGIC.to_vec();
    h.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    h.extend_from_slice(&height.to_le_bytes());
    h
}

impl Wal {
    /// Opens (or creates, for `height`) the log in `dir`; returns it with the
    /// height it belongs to and its records, in order.
    pub fn open(dir: &Path, height: u64) -> Result<(Wal, u64, Vec<Vec<u8>>), WalError> {
        let path = dir.join(FILE_NAME);
        let io = |source| WalError::Io {
            path: path.clone(),
            source,
        };
        if !path.exists() {
            let wal = Wal::create(dir, height)?;
            return Ok((wal, height, Vec::new()));
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let corrupt = |reason: String| WalError::Corrupt {
            path: path.clone(),
            reason,
        };
        if bytes.len() < HEADER_BYTES || &bytes[..8] != MAGIC {
            return Err(corrupt("not a Filiera WAL (bad header)".into()));
        }
        let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if version != FORMAT_VERSION {
            return Err(corrupt(format!(
                "format version {version}, this node reads {FORMAT_VERSION}"
            )));
        }
        let mut h = [0u8; 8];
        h.copy_from_slice(&bytes[12..20]);
        let log_height = u64::from_le_bytes(h);
        let mut records = Vec::new();
        let mut at = HEADER_BYTES;
        while at < bytes.len() {
            let rest = &bytes[at..];
            let whole = rest.len() >= FRAME_HEAD_BYTES && {
                let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                len <= WAL_RECORD_BYTES_MAX && rest.len() >= FRAME_HEAD_BYTES + len
            };
            if !whole {
                break; // a torn tail: never acknowledged
            }
            let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let record = &rest[FRAME_HEAD_BYTES..FRAME_HEAD_BYTES + len];
            if rest[4..12] != checksum(record) {
                if rest.len() > FRAME_HEAD_BYTES + len {
                    return Err(corrupt(format!(
                        "bad checksum at byte {at}, with data after it"
                    )));
                }
                break; // the last frame was torn inside its payload
            }
            records.push(record.to_vec());
            at += FRAME_HEAD_BYTES + len;
        }
        if at < bytes.len() {
            file.set_len(at as u64).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        Ok((
            Wal {
                path,
                file,
                height: log_height,
            },
            log_height,
            records,
        ))
    }

    fn create(dir: &Path, height: u64) -> Result<Wal, WalError> {
        let path = dir.join(FILE_NAME);
        let tmp = dir.join(format!("{FILE_NAME}.tmp"));
        let io = |source| WalError::Io {
            path: path.clone(),
            source,
        };
        let mut file = File::create(&tmp).map_err(io)?;
        file.write_all(&header(height)).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io)?;
        file.seek(SeekFrom::End(0)).map_err(io)?;
        Ok(Wal { path, file, height })
    }

    /// The height this log belongs to.
    pub fn height(&self) -> u64 {
        self.height
    }

    /// Appends a record; returns once it is durable.
    pub fn append(&mut self, record: &[u8]) -> Result<(), WalError> {
        if record.len() > WAL_RECORD_BYTES_MAX {
            return Err(WalError::TooLarge(record.len()));
        }
        let mut frame = Vec::with_capacity(FRAME_HEAD_BYTES + record.len());
        frame.extend_from_slice(&(record.len() as u32).to_le_bytes());
        frame.extend_from_slice(&checksum(record));
        frame.extend_from_slice(record);
        let io = |source| WalError::Io {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(&frame).map_err(io)?;
        self.file.sync_data().map_err(io)
    }

    /// Starts the log of a new height (after the previous one was committed).
    pub fn reset(&mut self, height: u64) -> Result<(), WalError> {
        let dir = self
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        *self = Wal::create(&dir, height)?;
        Ok(())
    }
}
