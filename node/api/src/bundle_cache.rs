//! Recently served lot bundles, kept for the height they were read at. A
//! bundle is immutable once its height is certified, so an entry is served
//! until a newer block is committed; a QR-scan storm on one lot (a recall
//! in the news) then costs one set of proofs per block, not one per scan.

use crate::bundle::Bundle;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

/// Lots whose bundles are kept, at most (least recently used forgotten).
pub const BUNDLE_CACHE_LOTS_MAX: usize = 1_024;

/// A bundle and its JSON answer, ready to send.
pub struct Cached {
    /// The bundle (for the HTML page).
    pub bundle: Bundle,
    /// Its JSON answer, serialised once.
    pub json: String,
}

/// The cache (see the module doc).
pub struct BundleCache {
    lots: Mutex<lru::LruCache<(String, String), Arc<Cached>>>,
}

impl Default for BundleCache {
    fn default() -> Self {
        let size = NonZeroUsize::new(BUNDLE_CACHE_LOTS_MAX).unwrap_or(NonZeroUsize::MIN);
        BundleCache {
            lots: Mutex::new(lru::LruCache::new(size)),
        }
    }
}

impl BundleCache {
    /// The lot's bundle if it was read at `height`.
    pub fn get(&self, gtin: &str, lot: &str, height: u64) -> Option<Arc<Cached>> {
        let mut lots = self.lots.lock().ok()?;
        let key = (gtin.to_owned(), lot.to_owned());
        match lots.get(&key) {
            Some(c) if c.bundle.header.height == height => Some(c.clone()),
            _ => None,
        }
    }

    /// Keeps a freshly read bundle.
    pub fn put(&self, gtin: &str, lot: &str, cached: Arc<Cached>) {
        if let Ok(mut lots) = self.lots.lock() {
            lots.put((gtin.to_owned(), lot.to_owned()), cached);
        }
    }
}

/// The lot's bundle at the last committed height, from the cache or read
/// (with its proofs) from the store.
pub fn bundle_at_head(
    store: &filiera_storage::Store,
    cache: &BundleCache,
    gtin: &str,
    lot: &str,
) -> Result<Option<Arc<Cached>>, crate::error::ApiError> {
    let height = store.last_height()?.unwrap_or(0);
    if let Some(hit) = cache.get(gtin, lot, height) {
        return Ok(Some(hit));
    }
    let Some(bundle) = crate::bundle::lot_bundle(store, gtin, lot)? else {
        return Ok(None);
    };
    let json = bundle.to_json().to_string();
    let cached = Arc::new(Cached { bundle, json });
    cache.put(gtin, lot, cached.clone());
    Ok(Some(cached))
}
