//! A snapshot of the driver's progress that the API reads without asking
//! the driver (which may be busy executing a block).

use std::sync::atomic::{AtomicU64, Ordering};

/// Progress, updated by the driver after every event.
#[derive(Debug, Default)]
pub struct Status {
    height: AtomicU64,
    round: AtomicU64,
    peers: AtomicU64,
    mempool_txs: AtomicU64,
}

/// One reading of [`Status`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StatusView {
    /// Last committed height.
    pub height: u64,
    /// Round of the height in progress.
    pub round: u64,
    /// Connected peers.
    pub peers: u64,
    /// Transactions waiting.
    pub mempool_txs: u64,
}

impl Status {
    /// Records the driver's progress.
    pub fn set(&self, height: u64, round: u32, peers: usize, mempool_txs: usize) {
        self.height.store(height, Ordering::Relaxed);
        self.round.store(u64::from(round), Ordering::Relaxed);
        self.peers.store(peers as u64, Ordering::Relaxed);
        self.mempool_txs
            .store(mempool_txs as u64, Ordering::Relaxed);
    }

    /// Reads it.
    pub fn view(&self) -> StatusView {
        StatusView {
            height: self.height.load(Ordering::Relaxed),
            round: self.round.load(Ordering::Relaxed),
            peers: self.peers.load(Ordering::Relaxed),
            mempool_txs: self.mempool_txs.load(Ordering::Relaxed),
        }
    }
}
