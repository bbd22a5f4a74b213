//! Signature checks of a block's transactions, done once, before execution
//! and spread over the cores.
//!
//! A transaction the node already verified (its mempool holds that very
//! signed transaction, signature bytes included) is not verified again. The
//! others are checked with `verify_strict` on up to [`VERIFY_THREADS_MAX`]
//! threads. The outcome is the same whichever transactions were known and
//! however many threads ran: each flag is exactly what `verify_strict` says.
//!
//! Senders' keys are kept decoded ([`SENDER_KEYS_CACHED_MAX`] of them, least
//! recently used out first): decoding a key is a square root in the field,
//! and with the key decoded `tx::verify` took 8 to 13 µs less (55 to 65 µs
//! against 63 to 78) on the machine of `benches/README.md`, while the same
//! producers sign transaction after transaction. Decoding is a
//! pure function of the key's bytes, so a cached key verifies exactly as a
//! fresh one; keys that do not decode are not kept.

use filiera_types::crypto::CryptoError;
use filiera_types::{DecodedKey, PublicKey, SignedTransaction};
use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::{Mutex, OnceLock};

/// Decoded sender keys kept, at most (about 200 bytes each: 800 KiB).
pub const SENDER_KEYS_CACHED_MAX: usize = 4_096;

fn sender_keys() -> &'static Mutex<LruCache<PublicKey, DecodedKey>> {
    static KEYS: OnceLock<Mutex<LruCache<PublicKey, DecodedKey>>> = OnceLock::new();
    KEYS.get_or_init(|| {
        Mutex::new(LruCache::new(
            NonZeroUsize::new(SENDER_KEYS_CACHED_MAX).unwrap_or(NonZeroUsize::MIN),
        ))
    })
}

/// The sender's key decoded, from the cache or decoded now (and kept); the
/// decoding's error if its bytes are not a key.
fn sender_key(sender: &PublicKey) -> Result<DecodedKey, CryptoError> {
    // A poisoned lock only means another thread panicked mid-update of an LRU
    // of pure values: its entries are still right.
    let cached = sender_keys()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(sender)
        .copied();
    if let Some(key) = cached {
        return Ok(key);
    }
    let decoded = sender.decode()?;
    sender_keys()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .put(*sender, decoded);
    Ok(decoded)
}

/// `tx.verify()`, with the sender's key decoded at most once while it is
/// cached: the same answer, always.
pub fn verify(tx: &SignedTransaction) -> Result<(), CryptoError> {
    tx.verify_with(&sender_key(&tx.tx.sender)?)
}

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
            valid[i] = verify(&txs[i]).is_ok();
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
                        .map(|&i| (i, verify(&txs[i]).is_ok()))
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
