//! Grows a one-validator localnet's chain with real signed transactions in
//! real blocks, through the executor and store, without consensus rounds
//! (`filiera_benches::bulk`). Resumable: run it again to go on.
//!
//! ```sh
//! filiera genesis new --insecure-plain-keys --validators 1 --load-keys 8 --out /tmp/big
//! bulk-load --dir /tmp/big --txs 1000000        # then: filiera start --home /tmp/big/node0
//! ```
//!
//! Prints a JSON line every `--report-blocks` blocks and one at the end.

use anyhow::Result;
use clap::Parser;
use filiera_benches::bulk::{Options, load};
use std::path::PathBuf;

#[derive(Parser)]
struct Args {
    /// The localnet (one validator; its node stopped, never started).
    #[arg(long)]
    dir: PathBuf,
    /// Transactions to have committed in all, counting earlier runs.
    #[arg(long)]
    txs: u64,
    /// Transactions per block.
    #[arg(long, default_value_t = 2_000)]
    block_txs: u64,
    /// The chain's time between blocks, ms (capped at the wall clock).
    #[arg(long, default_value_t = 1_000)]
    block_interval_ms: u64,
    /// Print progress every this many blocks.
    #[arg(long, default_value_t = 50)]
    report_blocks: u64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let options = Options {
        dir: args.dir,
        txs_total: args.txs,
        block_txs: args.block_txs,
        block_interval_ms: args.block_interval_ms,
    };
    let every = args.report_blocks.max(1);
    let report = load(&options, &mut |r| {
        if (r.to_height - r.from_height).is_multiple_of(every) {
            eprintln!("{}", serde_json::to_string(r).unwrap_or_default());
        }
    })?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
