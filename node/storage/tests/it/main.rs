#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Integration tests of `filiera-storage` on the real RocksDB.

mod cache;
mod commit;
mod crash;
mod full_disk;
mod golden;
mod layering;
mod parallel;
mod proofs;
mod snapshot;

use filiera_storage::{StorageConfig, Store};
use std::path::Path;

pub fn open(dir: &Path) -> Store {
    Store::open(
        dir,
        StorageConfig {
            block_cache_bytes: 8 << 20,
            state_versions_kept: 1_000,
            ..StorageConfig::default()
        },
    )
    .unwrap()
}

pub fn open_keeping(dir: &Path, kept: u64) -> Store {
    Store::open(
        dir,
        StorageConfig {
            block_cache_bytes: 8 << 20,
            state_versions_kept: kept,
            ..StorageConfig::default()
        },
    )
    .unwrap()
}
