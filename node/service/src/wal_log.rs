//! The consensus WAL on disk (`filiera-wal`) as the driver's [`ConsensusLog`].

use filiera_driver::{Broken, ConsensusLog, Recovered};
use filiera_wal::{Wal, WalError};
use std::path::Path;

/// The file WAL.
pub struct FileWal(Wal);

impl FileWal {
    /// Opens (or creates, for `next_height`) the WAL in `dir`, with what it held.
    pub fn open(dir: &Path, next_height: u64) -> Result<Recovered<FileWal>, WalError> {
        let (wal, height, records) = Wal::open(dir, next_height)?;
        Ok(Recovered {
            log: FileWal(wal),
            height,
            records,
        })
    }
}

impl ConsensusLog for FileWal {
    fn append(&mut self, record: &[u8]) -> Result<(), Broken> {
        self.0.append(record).map_err(|e| Box::new(e) as Broken)
    }

    fn reset(&mut self, height: u64) -> Result<(), Broken> {
        self.0.reset(height).map_err(|e| Box::new(e) as Broken)
    }
}
