//! Latest state values kept in memory for the keys read most.
//!
//! A state read costs two lookups (the key's latest version, then the value at
//! that version), so the executor's and the admission's hot keys (nonces,
//! organisations, products, open lots) are served from here instead.
//!
//! The cache must never hold a value older than the committed one: execution
//! reads through it, and a stale value would make this node's results differ
//! from its peers'. A commit drops every key it changes before it writes, and
//! a read that missed fills the cache only if no commit was being written at
//! its miss or began since (a generation count, odd during writes, says so). A key a block rewrites
//! is read from the store once after that block, then cached again.

use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::{Mutex, MutexGuard};

/// Most values held. With [`STATE_CACHE_VALUE_BYTES_MAX`] and the 512-byte key
/// limit, at most about 24 MiB; in practice a few MiB.
pub const STATE_CACHE_ENTRIES: usize = 16_384;
/// Values longer than this are not cached: they are rare and would crowd out
/// the small hot ones.
pub const STATE_CACHE_VALUE_BYTES_MAX: usize = 1_024;

/// What a lookup found.
pub(crate) enum Lookup {
    /// The latest committed value.
    Hit(Vec<u8>),
    /// Not cached: read the store, then offer the value to [`StateCache::fill`]
    /// with this ticket.
    Miss(Ticket),
}

/// The generation a miss saw: a fill with an older ticket is ignored.
#[derive(Clone, Copy)]
pub(crate) struct Ticket(Option<u64>);

struct Inner {
    entries: LruCache<Vec<u8>, Vec<u8>>,
    /// Twice the commits so far, plus one while a commit is being written.
    generation: u64,
}

pub(crate) struct StateCache {
    inner: Mutex<Inner>,
}

impl StateCache {
    pub(crate) fn new() -> StateCache {
        let capacity = NonZeroUsize::new(STATE_CACHE_ENTRIES).unwrap_or(NonZeroUsize::MIN);
        StateCache {
            inner: Mutex::new(Inner {
                entries: LruCache::new(capacity),
                generation: 0,
            }),
        }
    }

    /// A poisoned lock (a panic while it was held) turns the cache off rather
    /// than trust what it holds.
    fn lock(&self) -> Option<MutexGuard<'_, Inner>> {
        self.inner.lock().ok()
    }

    pub(crate) fn lookup(&self, key: &[u8]) -> Lookup {
        let Some(mut inner) = self.lock() else {
            return Lookup::Miss(Ticket(None));
        };
        if let Some(value) = inner.entries.get(key) {
            return Lookup::Hit(value.clone());
        }
        Lookup::Miss(Ticket(Some(inner.generation)))
    }

    /// A ticket for a value about to be read without a lookup (a scan).
    pub(crate) fn ticket(&self) -> Ticket {
        Ticket(self.lock().map(|inner| inner.generation))
    }

    /// Offers a value read from the store after a miss.
    pub(crate) fn fill(&self, key: &[u8], value: &[u8], ticket: Ticket) {
        if value.len() > STATE_CACHE_VALUE_BYTES_MAX {
            return;
        }
        let Some(mut inner) = self.lock() else {
            return;
        };
        // A commit that began since the miss, or was being written at the
        // miss, may have changed the value the read saw.
        if ticket.0 == Some(inner.generation) && inner.generation.is_multiple_of(2) {
            inner.entries.put(key.to_vec(), value.to_vec());
        }
    }

    /// Called before a commit's write with every key it changes: they are
    /// dropped, so until the write is done a read goes to the store and sees
    /// the old value or the new one. No read that missed before the write
    /// ends can fill.
    pub(crate) fn before_write<'a>(&self, changed: impl IntoIterator<Item = &'a Vec<u8>>) {
        let Some(mut inner) = self.lock() else {
            return;
        };
        inner.generation += 1;
        for key in changed {
            inner.entries.pop(key.as_slice());
        }
    }

    /// Called once the commit's write is done (or failed: the store then
    /// refuses every later write, and the cache holds nothing it changed).
    pub(crate) fn after_write(&self) {
        if let Some(mut inner) = self.lock() {
            inner.generation += 1;
        }
    }

    /// Forgets everything (after state was written other than by a commit).
    pub(crate) fn clear(&self) {
        if let Some(mut inner) = self.lock() {
            // By two: the count stays even between commits.
            inner.generation += 2;
            inner.entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(cache: &StateCache, key: &[u8]) -> bool {
        matches!(cache.lookup(key), Lookup::Hit(_))
    }

    /// What each step of a commit allows: fills with a ticket from before or
    /// during a write are refused, fills between commits kept; also after the
    /// cache was cleared (an import), which must not flip the rule.
    #[test]
    fn fills_across_a_commit_are_refused_before_and_after_a_clear() {
        let cache = StateCache::new();
        for round in 0..2u8 {
            let key = vec![round];
            let Lookup::Miss(before) = cache.lookup(&key) else {
                panic!("empty cache hit");
            };
            cache.before_write([&key]);
            let during = cache.ticket();
            cache.fill(&key, b"old", during);
            assert!(!filled(&cache, &key), "fill during a write kept");
            cache.after_write();
            cache.fill(&key, b"old", before);
            cache.fill(&key, b"old", during);
            assert!(!filled(&cache, &key), "fill from before the commit kept");
            cache.fill(&key, b"new", cache.ticket());
            assert!(filled(&cache, &key), "fill between commits refused");
            cache.clear();
            assert!(!filled(&cache, &key));
        }
    }

    #[test]
    fn a_commit_drops_the_keys_it_changes_and_keeps_the_others() {
        let cache = StateCache::new();
        for key in [b"a", b"b"] {
            cache.fill(key, b"v", cache.ticket());
        }
        cache.before_write([&b"a".to_vec()]);
        cache.after_write();
        assert!(!filled(&cache, b"a"));
        assert!(filled(&cache, b"b"));
        let big = vec![0u8; STATE_CACHE_VALUE_BYTES_MAX + 1];
        cache.fill(b"c", &big, cache.ticket());
        assert!(!filled(&cache, b"c"), "an oversized value was cached");
    }
}
