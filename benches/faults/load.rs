//! Closed-loop load during faults: each producer key sends one transaction,
//! waits until some node says it is committed, then sends the next. A
//! transaction that no node commits within `COMMIT_WAIT_MS` is sent again,
//! same bytes, to the next node (nodes die and lose their mempools).
//!
//! What counts is the acknowledgement: a node answering "committed" at a
//! height. Every acknowledged transaction must be on every node at the end.

use crate::faults::check;
use crate::load::mix::{self, Chain, Role};
use anyhow::Result;
use filiera_contract_api::lots::LotRef;
use filiera_types::{Hash, Transaction};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a sent transaction is awaited before it is sent again, ms.
pub const COMMIT_WAIT_MS: u64 = 10_000;
/// Pause between two looks at a pending transaction, ms.
const POLL_MS: u64 = 100;
/// Timeout of one HTTP request, ms.
const REQUEST_TIMEOUT_MS: u64 = 3_000;

/// A transaction a node said was committed.
#[derive(Clone, Debug, Serialize)]
pub struct Ack {
    /// Its hash (hex).
    pub tx_hash: String,
    /// The height the node gave.
    pub height: u64,
    /// Which node said so.
    pub node: usize,
    /// The transaction itself (replayed by the hostile phase).
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// What the load saw.
#[derive(Default)]
pub struct Tally {
    /// Acknowledged transactions.
    pub acks: Mutex<Vec<Ack>>,
    /// Sends that no node took (down, busy, cut off), by reason.
    pub send_failures: Mutex<BTreeMap<String, u64>>,
    /// Transactions sent again after `COMMIT_WAIT_MS`.
    pub resends: AtomicU64,
}

/// The running load; `stop` ends it.
pub struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// What it saw so far.
    pub tally: Arc<Tally>,
}

/// `Some(height)` if `api` has `hash` committed.
fn committed_at(agent: &ureq::Agent, api: &str, hash: &Hash) -> Option<u64> {
    let v = check::tx_status(agent, api, &hash.to_hex())?;
    // A failed receipt is committed too: the nonce is spent, the chain holds it.
    matches!(v["status"].as_str(), Some("committed" | "failed")).then(|| v["height"].as_u64())?
}

/// Sends `bytes`; `Err` carries why no node took it (an error code or "transport").
fn send(agent: &ureq::Agent, api: &str, bytes: &[u8]) -> Result<(), String> {
    match agent
        .post(format!("{api}/v1/txs"))
        .header("content-type", "application/octet-stream")
        .send(bytes)
    {
        Ok(mut r) => {
            let status = r.status().as_u16();
            let v: Value = r.body_mut().read_json().unwrap_or_default();
            let code = v["code"].as_str().unwrap_or("unknown");
            // A duplicate was admitted by an earlier try.
            if status == 202 || code == "duplicate" {
                Ok(())
            } else {
                Err(format!("{status} {code}"))
            }
        }
        Err(_) => Err("transport".into()),
    }
}

impl Load {
    /// Starts one thread per producer key of the localnet in `dir`, whose
    /// chain is at `height` now.
    pub fn start(dir: &Path, apis: Vec<String>, height: u64) -> Result<Load> {
        let (genesis, senders) = mix::senders(dir)?;
        // Half the furthest expiry allowed: room for a transaction to wait out a fault.
        let expiry_blocks = (genesis.consensus.tx_expiry_blocks_max / 2).max(1);
        let stop = Arc::new(AtomicBool::new(false));
        let tally = Arc::new(Tally::default());
        let apis = Arc::new(apis);
        let mut threads = Vec::new();
        for (k, sender) in senders.into_iter().enumerate() {
            let Role::Producer { gtin } = sender.role else {
                continue;
            };
            let mut chain = Chain {
                id: genesis.chain_id.clone(),
                expiry_height: height + expiry_blocks,
                valid_from_ms: 0,
            };
            let (stop, tally, apis) = (Arc::clone(&stop), Arc::clone(&tally), Arc::clone(&apis));
            threads.push(std::thread::spawn(move || {
                let agent = check::agent(REQUEST_TIMEOUT_MS);
                let mut node = k % apis.len();
                let mut lot: Option<LotRef> = None;
                for nonce in 0u64.. {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let call = match &lot {
                        Some(l) if nonce % 4 != 0 => mix::record(l.clone(), nonce),
                        _ => {
                            let l = LotRef {
                                gtin: gtin.clone(),
                                lot: format!("F{k}-{nonce}"),
                            };
                            lot = Some(l.clone());
                            mix::commission(l)
                        }
                    };
                    let Ok(signed) = call.and_then(|call| {
                        Ok(Transaction {
                            chain_id: chain.id.clone(),
                            sender: sender.key.public_key(),
                            nonce,
                            expiry_height: chain.expiry_height,
                            call,
                        }
                        .sign(&sender.key)?)
                    }) else {
                        return;
                    };
                    let (hash, bytes) = (signed.hash(), signed.encode());
                    // Until some node says it is committed: send, wait, send again.
                    'tx: loop {
                        if stop.load(Ordering::SeqCst) {
                            return;
                        }
                        node = (node + 1) % apis.len();
                        // Refused: look once (an earlier send may be in already).
                        // Taken: look until COMMIT_WAIT_MS, then send again.
                        let wait_ms = match send(&agent, &apis[node], &bytes) {
                            Ok(()) => COMMIT_WAIT_MS,
                            Err(why) => {
                                if let Ok(mut f) = tally.send_failures.lock() {
                                    *f.entry(why).or_default() += 1;
                                }
                                POLL_MS
                            }
                        };
                        let deadline = Instant::now() + Duration::from_millis(wait_ms);
                        while Instant::now() < deadline && !stop.load(Ordering::SeqCst) {
                            std::thread::sleep(Duration::from_millis(POLL_MS));
                            if let Some(height) = committed_at(&agent, &apis[node], &hash) {
                                record(&tally, &hash, &bytes, height, node);
                                chain.expiry_height = height + expiry_blocks;
                                break 'tx;
                            }
                        }
                        if wait_ms == COMMIT_WAIT_MS {
                            tally.resends.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }));
        }
        Ok(Load {
            stop,
            threads,
            tally,
        })
    }

    /// Stops every sender and waits for them.
    pub fn stop(self) -> Arc<Tally> {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads {
            let _ = t.join();
        }
        self.tally
    }
}

fn record(tally: &Tally, hash: &Hash, bytes: &[u8], height: u64, node: usize) {
    if let Ok(mut acks) = tally.acks.lock() {
        acks.push(Ack {
            tx_hash: hash.to_hex(),
            height,
            node,
            bytes: bytes.to_vec(),
        });
    }
}
