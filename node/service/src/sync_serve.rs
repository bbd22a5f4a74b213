//! Answering other nodes' block-sync requests, off the driver's thread.
//!
//! Why here: an answer reads up to `SYNC_BATCH_BYTES_MAX` of blocks from
//! RocksDB, and any allow-listed peer can ask. On the driver's thread that
//! read delayed votes and proposals by as much as the peer liked. Here it
//! runs on the blocking pool, reading committed blocks only (the store is
//! safe to read while the driver commits), at most [`SYNC_SERVING_MAX`]
//! answers at once and one per peer: a peer that asks again before its
//! answer left gets an empty one. The answer itself is the chain's
//! ([`filiera_chain::sync_answer`]).

use libp2p::PeerId;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// Sync answers being read at once, at most.
pub const SYNC_SERVING_MAX: usize = 2;

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
