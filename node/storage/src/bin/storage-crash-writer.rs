//! A child process for the crash and full-disk tests: commits blocks in a loop
//! and prints `ACK <height>` after each commit returns (the block is then
//! acknowledged: it must survive anything). The tests kill it with SIGKILL at
//! random moments or starve it of disk space.
//!
//! Usage: storage-crash-writer DIR KEYS_PER_BLOCK [MAX_BLOCKS]

use anyhow::{Context, Result, bail};
use filiera_storage::testkit::{ChainBuilder, changes_for};
use filiera_storage::{StorageConfig, Store};
use std::io::Write;
use std::path::PathBuf;

/// Key space of the writes: bounded so the state (and its audit) stays small.
const KEY_SPACE: u64 = 5_000;
/// Seed of the writes.
const SEED: u64 = 7;

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        bail!("usage: storage-crash-writer DIR KEYS_PER_BLOCK [MAX_BLOCKS]");
    }
    let dir = PathBuf::from(&args[1]);
    let keys: usize = args[2].parse().context("KEYS_PER_BLOCK")?;
    let max_blocks: u64 = args
        .get(3)
        .map(|s| s.parse())
        .transpose()
        .context("MAX_BLOCKS")?
        .unwrap_or(u64::MAX);
    let config = StorageConfig {
        block_cache_bytes: 8 << 20,
        state_versions_kept: 20,
        ..StorageConfig::default()
    };
    let store = Store::open(&dir, config).context("opening the store")?;
    let chain = ChainBuilder::new();
    chain.init(&store).context("initialising genesis")?;
    let mut out = std::io::stdout().lock();
    for _ in 0..max_blocks {
        let height = store.last_height()?.unwrap_or(0) + 1;
        chain
            .commit(&store, changes_for(height, SEED, keys, KEY_SPACE), vec![])
            .with_context(|| format!("committing height {height}"))?;
        writeln!(out, "ACK {height}")?;
        out.flush()?;
    }
    Ok(())
}
