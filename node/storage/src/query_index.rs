//! The query index: a node's own keys over its state for queries, kept in
//! [`QUERY_INDEX`] beside the authenticated state but outside its root.
//!
//! Commits write the index in the block's batch
//! ([`crate::PreparedState::set_index_changes`]); a rebuild writes it in
//! batches of its own and marks it built with its format version last, so an
//! interrupted rebuild is never taken for a complete one. A snapshot import
//! leaves no mark, and the node rebuilds before it serves.

use crate::columns::{META, QUERY_INDEX};
use crate::error::{Result, StorageError};
use crate::store::{StateChanges, Store};
use rocksdb::WriteBatch;

/// Meta key of the format version of a complete index.
const META_QUERY_INDEX: &[u8] = b"query_index_version";

impl Store {
    /// Keys of the query index in `[from, to)`, in order, at most `limit`.
    pub fn index_range(&self, from: &[u8], to: &[u8], limit: usize) -> Result<Vec<Vec<u8>>> {
        let mut it = self.db().raw_iterator_cf(self.cf(QUERY_INDEX)?);
        it.seek(from);
        let mut out = Vec::new();
        while out.len() < limit && it.valid() {
            let Some(k) = it.key() else { break };
            if k >= to {
                break;
            }
            out.push(k.to_vec());
            it.next();
        }
        it.status()?;
        Ok(out)
    }

    /// The format version of the query index if it is complete, `None` while
    /// it was never built (a new or imported store) or is being rebuilt.
    pub fn index_version(&self) -> Result<Option<u32>> {
        match self.meta(META_QUERY_INDEX)? {
            None => Ok(None),
            Some(bytes) => {
                let arr: [u8; 4] = bytes.as_slice().try_into().map_err(|_| {
                    StorageError::corrupt(META, "query index version is not 4 bytes")
                })?;
                Ok(Some(u32::from_be_bytes(arr)))
            }
        }
    }

    /// Empties the query index and its mark: the start of a rebuild.
    pub fn clear_index(&self) -> Result<()> {
        let cf = self.cf(QUERY_INDEX)?;
        let mut batch = WriteBatch::default();
        batch.delete_cf(self.cf(META)?, META_QUERY_INDEX);
        // Index keys start with an ASCII field tag, so this range holds them all.
        batch.delete_range_cf(cf, [0u8].as_slice(), [u8::MAX; 8].as_slice());
        self.write(batch)
    }

    /// Writes part of a rebuild; with `complete`, marks the index built with
    /// that format version in the same batch.
    pub fn write_index(&self, changes: &StateChanges, complete: Option<u32>) -> Result<()> {
        let cf = self.cf(QUERY_INDEX)?;
        let mut batch = WriteBatch::default();
        for (k, v) in changes {
            match v {
                Some(v) => batch.put_cf(cf, k, v),
                None => batch.delete_cf(cf, k),
            }
        }
        if let Some(version) = complete {
            batch.put_cf(self.cf(META)?, META_QUERY_INDEX, version.to_be_bytes());
        }
        self.write(batch)
    }
}
