//! The bulk loader: grows a one-validator chain fast with real signed
//! transactions in real blocks, for measurements that need a chain with a
//! long history (a decade of records) without waiting for consensus rounds.
//!
//! **What is real.** Every transaction is signed by a localnet's producer
//! and certification-body keys (the load generator's mix: registrations,
//! lot events, attestations); every block is built and executed by the real
//! executor over the real store (`filiera_chain::Chain::build`), certified
//! by the validator's own consensus key, and committed with its receipts,
//! state and query index (`Chain::commit`). What is skipped is only the
//! network and the rounds: a single validator would decide the same blocks.
//! A node started on the directory afterwards carries on from the last
//! height, and `filiera verify` and observers see an ordinary chain.
//!
//! **Resumable.** Each block is one atomic commit; a run reads the height and
//! every sender's committed nonce, so a run killed at any point (even with
//! `kill -9`) is continued by running it again.
//!
//! **Limits.** One validator only (the certificate carries one signature);
//! the node must be stopped; its consensus WAL must be empty (a node that
//! voted at a height must not find a different block there).

use crate::load::mix::{self, Role, Sender};
use anyhow::{Context, Result, bail};
use filiera_chain::{Chain, committed_nonce};
use filiera_contract_api::lots::LotRef;
use filiera_execution::contracts::builtin;
use filiera_execution::executor::Executor;
use filiera_execution::genesis::genesis_state;
use filiera_execution::runtime::ContractEngine;
use filiera_storage::testkit::certify_alone;
use filiera_storage::{StorageConfig, Store};
use filiera_types::receipt::TxStatus;
use filiera_types::{Genesis, SecretKey, SignedTransaction};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Blocks a transaction stays valid for. (Inside a block only "not expired"
/// is checked; the genesis' `tx_expiry_blocks_max` applies at admission.)
const EXPIRY_BLOCKS: u64 = 100;
/// How far the chain's clock may be ahead of the wall clock, ms, before the
/// loader stops: a node refuses blocks more than 5 s in its future.
const AHEAD_OF_WALL_MS_MAX: u64 = 2_000;
/// The tag of the lots every producer key registers first (attestation targets).
const BASE_TAG: &str = "BULK";

/// What to load.
pub struct Options {
    /// A localnet of one validator (`filiera genesis new --validators 1`).
    pub dir: PathBuf,
    /// Transactions to have committed in all, counting earlier runs.
    pub txs_total: u64,
    /// Transactions per block (at most the genesis' limit).
    pub block_txs: u64,
    /// Time between blocks, ms: the chain's clock, capped at the wall clock.
    pub block_interval_ms: u64,
}

/// What a run did.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    /// Height before and after.
    pub from_height: u64,
    /// Height after.
    pub to_height: u64,
    /// Transactions this run committed.
    pub txs: u64,
    /// Of them, calls that failed (committed with a failure receipt).
    pub failed: u64,
    /// Transactions committed in all (the chain's, from its senders' nonces).
    pub txs_total: u64,
    /// Wall time, ms.
    pub elapsed_ms: u64,
}

/// The chain of `dir`'s validator, opened on its store with the real executor.
fn open(dir: &Path, genesis: &Genesis) -> Result<(Arc<Store>, Chain, SecretKey)> {
    if genesis.validators.len() != 1 {
        bail!(
            "the bulk loader runs one-validator chains; {} has {}",
            dir.display(),
            genesis.validators.len()
        );
    }
    let home = dir.join("node0");
    let wal = home.join("data/wal");
    if std::fs::read_dir(&wal).is_ok_and(|mut d| d.next().is_some()) {
        bail!(
            "{} holds a consensus WAL: load before the node's first start",
            wal.display()
        );
    }
    let key = filiera_client::keys::read(&home.join("keys/consensus.json"))?;
    if key.public_key() != genesis.validators[0].consensus_key {
        bail!("node0's consensus key is not the genesis validator's");
    }
    std::fs::create_dir_all(home.join("data"))?;
    let store = Arc::new(Store::open(
        &home.join("data/db"),
        StorageConfig::default(),
    )?);
    let executor = Executor::new(ContractEngine::new(None)?, &builtin())?;
    let state = genesis_state(genesis)
        .into_iter()
        .map(|(k, v)| (k, Some(v)))
        .collect();
    let chain = Chain::open(store.clone(), executor, genesis, state)?;
    Ok((store, chain, key))
}

/// The lot each producer key registers first, named as on the first run.
fn base_lot(i: usize, sender: &Sender) -> Option<LotRef> {
    match &sender.role {
        Role::Producer { gtin } => Some(LotRef {
            gtin: gtin.clone(),
            lot: format!("B{BASE_TAG}-{i}"),
        }),
        Role::Body { .. } => None,
    }
}

/// Loads blocks until `options.txs_total` transactions are committed.
pub fn load(options: &Options, progress: &mut dyn FnMut(&Report)) -> Result<Report> {
    let (genesis, mut senders) = mix::senders(&options.dir)?;
    let (store, mut chain, key) = open(&options.dir, &genesis)?;
    let params = chain.params().clone();
    let first = chain.height()? + 1;
    let block_txs = options
        .block_txs
        .clamp(1, chain.limits(first).block_txs_max);
    for s in senders.iter_mut() {
        s.nonce = committed_nonce(&store, &s.key.public_key())?;
    }
    let committed = |senders: &[Sender]| senders.iter().map(|s| s.nonce).sum::<u64>();
    let from_height = chain.height()?;
    let started = Instant::now();
    let mut report = Report {
        from_height,
        to_height: from_height,
        txs: 0,
        failed: 0,
        txs_total: committed(&senders),
        elapsed_ms: 0,
    };
    let targets: Vec<LotRef> = senders
        .iter()
        .enumerate()
        .filter_map(|(i, s)| base_lot(i, s))
        .collect();
    let first_run = report.txs_total == 0;
    for (i, s) in senders.iter_mut().enumerate() {
        s.last_lot = base_lot(i, s);
    }
    let address = key.public_key().address();
    while report.txs_total < options.txs_total {
        let height = chain.height()? + 1;
        let info = mix::Chain {
            id: params.chain_id.clone(),
            expiry_height: height + EXPIRY_BLOCKS,
            valid_from_ms: params.genesis_time_ms,
        };
        let planned = if first_run && height == from_height + 1 {
            // Registered once, on the first block of a new chain.
            mix::base_lots(&mut senders, &info, BASE_TAG)?
        } else {
            let count = block_txs.min(options.txs_total - report.txs_total);
            mix::plan(
                &mut senders,
                &info,
                1,
                count,
                &format!("h{height}"),
                &targets,
            )?
        };
        let txs = planned
            .iter()
            .map(|p| borsh::from_slice::<SignedTransaction>(&p.bytes))
            .collect::<Result<Vec<_>, _>>()
            .context("a planned transaction does not decode")?;
        let parent_ms = store
            .header(height - 1)?
            .map_or(params.genesis_time_ms, |h| h.time_ms);
        // Strictly after the parent, never ahead of the wall clock: wait out
        // a parent in the same millisecond, stop on a clock stepped back.
        let wall_ms = loop {
            let wall = u64::try_from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)?
                    .as_millis(),
            )?;
            if wall > parent_ms {
                break wall;
            }
            if parent_ms - wall > AHEAD_OF_WALL_MS_MAX {
                bail!(
                    "the chain's last block is {} ms ahead of this clock",
                    parent_ms - wall
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        let now_ms = (parent_ms + options.block_interval_ms).min(wall_ms);
        let (block, executed) = chain.build(height, now_ms, address, txs)?;
        // What Chain::check would refuse in a peer's block is refused here
        // too: a block observers could not sync must never be committed.
        let block_bytes_max = chain.limits(height).block_bytes_max;
        if borsh::object_length(&block).unwrap_or(usize::MAX) as u64 > block_bytes_max {
            bail!("block {height} is over the chain's block_bytes_max: lower --block-txs");
        }
        let mut failed = 0u64;
        for r in &executed.receipts {
            if let TxStatus::Failed { code, message } = &r.status {
                if filiera_types::admission::is_refusal_receipt(*code) {
                    bail!("block {height} would hold a transaction admission refuses: {message}");
                }
                failed += 1;
            }
        }
        let certificate = certify_alone(&key, params.chain_id.as_str(), &block)
            .map_err(|e| anyhow::anyhow!("signing the precommit: {e}"))?;
        let n = block.txs.len() as u64;
        chain.commit(&block, &certificate, executed)?;
        report.to_height = height;
        report.txs += n;
        report.failed += failed;
        report.txs_total += n;
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        progress(&report);
    }
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}
