//! Signature checks of a block's transactions, done once, before execution
//! and spread over the cores.
//!
//! A transaction the node already verified (its mempool holds that very
//! signed transaction, signature bytes included) is not verified again. The
//! others are checked with `verify_strict` on up to [`VERIFY_THREADS_MAX`]
//! threads. The outcome is the same whichever transactions were known and
//! however many threads ran: each flag is exactly what `verify_strict` says.

use filiera_types::SignedTransaction;
use std::sync::OnceLock;

/// Threads that verify a block's unknown signatures, at most.
pub const VERIFY_THREADS_MAX: usize = 8;
/// Below this many unknown signatures, one thread verifies them all: starting
/// threads would cost more than it saves.
pub const VERIFY_PARALLEL_MIN: usize = 64;

/// Cores this process may use, read once. `available_parallelism` reads the
/// cgroup files at every call (12 to 17 µs on the Intel machine of
/// `benches/README.md`); called for every gossiped and every client batch,
/// it took 2.1 to 2.9% of a validator's CPU samples at 1,125 tx/s.
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// For each transaction, whether its signature is valid; `known_valid[i]`
/// says that transaction `i` was verified already (by this node, with
/// `verify_strict`). A `known_valid` shorter than `txs` leaves the rest unknown.
pub fn check_all(txs: &[SignedTransaction], known_valid: &[bool]) -> Vec<bool> {
    let known = |i: usize| known_valid.get(i).copied().unwrap_or(false);
    let unknown: Vec<usize> = (0..txs.len()).filter(|&i| !known(i)).collect();
    let mut valid: Vec<bool> = (0..txs.len()).map(known).collect();
    let threads = cores().min(VERIFY_THREADS_MAX);
    if unknown.len() < VERIFY_PARALLEL_MIN || threads < 2 {
        for i in unknown {
            valid[i] = txs[i].verify().is_ok();
        }
        return valid;
    }
    let chunk = unknown.len().div_ceil(threads);
    let results: Vec<Vec<(usize, bool)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = unknown
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|&i| (i, txs[i].verify().is_ok()))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| match w.join() {
                Ok(r) => r,
                // verify() does not panic; if it ever did, that is a node bug.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    for (i, ok) in results.into_iter().flatten() {
        valid[i] = ok;
    }
    valid
}
