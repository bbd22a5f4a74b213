//! Answering other nodes' block-sync requests, off the driver's thread.
//!
//! Why here: an answer reads up to `SYNC_BATCH_BYTES_MAX` of blocks from
//! RocksDB, and any allow-listed peer can ask. On the driver's thread that
//! read delayed votes and proposals by as much as the peer liked. Here it
//! runs on the blocking pool, reading committed blocks only (the store is
//! safe to read while the driver commits), at most [`SYNC_SERVING_MAX`]
//! answers at once and one per peer: a peer that asks again before its
//! answer left gets an empty one.

use crate::wire::{SYNC_BATCH_BLOCKS_MAX, SYNC_BATCH_BYTES_MAX, SyncRequest, SyncResponse};
use filiera_storage::{StorageError, Store};
use filiera_types::encoding::DecodeError;
use libp2p::PeerId;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// Sync answers being read at once, at most.
pub const SYNC_SERVING_MAX: usize = 2;

/// Why a request got an empty answer.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The request does not decode: the peer's fault.
    #[error("malformed sync request: {0}")]
    Malformed(#[from] DecodeError),
    /// This node's store failed: its own fault.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
}

/// The answer to a request: the committed blocks it asks for, with their
/// certificates, within the batch's count and bytes.
pub fn answer(store: &Store, request: &[u8]) -> Result<SyncResponse, ServeError> {
    let request = SyncRequest::decode(request)?;
    let last = store.last_height()?.unwrap_or(0);
    let mut blocks = Vec::new();
    let mut bytes = 0usize;
    let count = u64::from(request.count.min(SYNC_BATCH_BLOCKS_MAX));
    let first = request.from_height.max(1);
    let end = first.saturating_add(count);
    let mut h = first;
    while h <= last && h < end && bytes < SYNC_BATCH_BYTES_MAX {
        let (Some(block), Some(cert)) = (store.block(h)?, store.certificate(h)?) else {
            break;
        };
        bytes = bytes.saturating_add(borsh::object_length(&block).unwrap_or(usize::MAX));
        blocks.push((block, cert));
        h += 1;
    }
    Ok(SyncResponse { blocks })
}

/// The peers whose answer is being read: one at a time each.
#[derive(Clone, Default)]
pub struct InFlight(Arc<Mutex<BTreeSet<PeerId>>>);

impl InFlight {
    /// Marks `peer` as being answered; `false` if it already is.
    pub fn start(&self, peer: PeerId) -> bool {
        self.0.lock().map(|mut s| s.insert(peer)).unwrap_or(false)
    }

    /// `peer`'s answer left.
    pub fn done(&self, peer: &PeerId) {
        if let Ok(mut s) = self.0.lock() {
            s.remove(peer);
        }
    }
}
