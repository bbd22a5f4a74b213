//! Finality figures of a running localnet, measured from outside through the
//! HTTP API of one node:
//!
//! - blocks per second over the window;
//! - block finality: when this tool first sees a block final (polling
//!   `/v1/status` every 10 ms) minus the block's time (set by its proposer
//!   when it built the block): proposal-to-finality, as a client sees it;
//! - with `--rate R`, transactions (lot commissions by the demo producers,
//!   round-robin) submitted at R per second, and submit-to-finality latency.
//!
//! Usage: `localnet-finality --dir ./localnet --api http://127.0.0.1:8080 --seconds 60 --rate 20`

use anyhow::{Context, Result, bail};
use filiera_benches::load::mix::PRODUCERS;
use filiera_benches::percentile;
use filiera_contract_api::lots::{Commission, LotRef};
use filiera_contract_api::{contract_ids, encode};
use filiera_types::{ChainId, ContractCall, ContractId, MethodName, Transaction};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct Args {
    dir: PathBuf,
    api: String,
    seconds: u64,
    rate: u64,
}

fn args() -> Result<Args> {
    let mut a = Args {
        dir: "localnet".into(),
        api: "http://127.0.0.1:8080".into(),
        seconds: 30,
        rate: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--dir" => a.dir = value.into(),
            "--api" => a.api = value.trim_end_matches('/').to_owned(),
            "--seconds" => a.seconds = value.parse()?,
            "--rate" => a.rate = value.parse()?,
            other => bail!("unknown option {other}"),
        }
    }
    Ok(a)
}

fn get(url: &str) -> Result<Value> {
    Ok(ureq::get(url).call()?.body_mut().read_json()?)
}

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn main() -> Result<()> {
    let args = args()?;
    let status = get(&format!("{}/v1/status", args.api))?;
    let chain = ChainId::new(status["chain_id"].as_str().context("chain_id")?)?;
    let start_height = status["height"].as_u64().context("height")?;
    let (sent_tx, sent_rx) = mpsc::channel::<(String, Instant)>();
    let submitter = if args.rate > 0 {
        let mut senders = Vec::new();
        for (org, gtin) in PRODUCERS {
            let key =
                filiera_client::keys::read(&args.dir.join("orgs").join(format!("{org}.json")))?;
            let nonce = get(&format!(
                "{}/v1/accounts/{}/nonce",
                args.api,
                key.public_key().to_hex()
            ))?["next_nonce"]
                .as_u64()
                .context("nonce")?;
            senders.push((key, gtin, nonce));
        }
        let api = args.api.clone();
        let (rate, seconds) = (args.rate, args.seconds);
        let run = wall_ms();
        Some(std::thread::spawn(move || -> Result<u64> {
            let begin = Instant::now();
            let total = rate * seconds;
            for n in 0..total {
                let due = begin + Duration::from_micros(n * 1_000_000 / rate);
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
                let i = (n as usize) % senders.len();
                let (key, gtin, nonce) = &mut senders[i];
                let tx = Transaction {
                    chain_id: chain.clone(),
                    sender: key.public_key(),
                    nonce: *nonce,
                    expiry_height: start_height + 10_000,
                    call: ContractCall {
                        contract: ContractId::new(contract_ids::LOTS)?,
                        method: MethodName::new("commission")?,
                        args: encode(&Commission {
                            id: LotRef {
                                gtin: (*gtin).into(),
                                // GS1 lot numbers have at most 20 characters.
                                lot: format!("LD{:05}-{n}", run % 100_000),
                            },
                            quantity: 100,
                            site: None,
                            metadata: vec![],
                            private_hash: None,
                            epcis_hash: None,
                        }),
                    },
                }
                .sign(key)?;
                *nonce += 1;
                let at = Instant::now();
                let mut answer = ureq::post(&format!("{api}/v1/txs"))
                    .header("content-type", "application/octet-stream")
                    .send(&tx.encode()[..])?;
                let v: Value = answer.body_mut().read_json()?;
                sent_tx.send((v["tx_hash"].as_str().context("tx_hash")?.to_owned(), at))?;
            }
            Ok(total)
        }))
    } else {
        drop(sent_tx);
        None
    };
    let begin = Instant::now();
    let window = Duration::from_secs(args.seconds);
    let mut seen_height = start_height;
    let mut block_latency_ms = Vec::new();
    let mut tx_latency_ms = Vec::new();
    let mut submitted: BTreeMap<String, Instant> = BTreeMap::new();
    let mut committed_at: BTreeMap<String, Instant> = BTreeMap::new();
    // Keep watching a little after the window so the last submissions can land.
    let tail = if args.rate > 0 {
        Duration::from_secs(5)
    } else {
        Duration::ZERO
    };
    while begin.elapsed() < window + tail {
        let height = get(&format!("{}/v1/status", args.api))?["height"]
            .as_u64()
            .unwrap_or(0);
        let now = Instant::now();
        let now_ms = wall_ms();
        for h in seen_height + 1..=height {
            let block = get(&format!("{}/v1/blocks/{h}", args.api))?;
            if begin.elapsed() <= window {
                let time_ms = block["time_ms"].as_u64().unwrap_or(now_ms);
                block_latency_ms.push(now_ms.saturating_sub(time_ms));
            }
            for tx in block["txs"].as_array().into_iter().flatten() {
                if let Some(hash) = tx.as_str() {
                    committed_at.insert(hash.to_owned(), now);
                }
            }
        }
        seen_height = height;
        while let Ok((hash, at)) = sent_rx.try_recv() {
            submitted.insert(hash, at);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let blocks = block_latency_ms.len();
    let sent = match submitter {
        Some(h) => h
            .join()
            .map_err(|_| anyhow::anyhow!("submitter panicked"))??,
        None => 0,
    };
    while let Ok((hash, at)) = sent_rx.try_recv() {
        submitted.insert(hash, at);
    }
    for (hash, at) in &submitted {
        if let Some(done) = committed_at.get(hash) {
            tx_latency_ms.push(done.saturating_duration_since(*at).as_millis() as u64);
        }
    }
    block_latency_ms.sort_unstable();
    tx_latency_ms.sort_unstable();
    let result = serde_json::json!({
        "seconds": args.seconds,
        "rate_tx_per_s": args.rate,
        "blocks": blocks,
        "blocks_per_s_milli": blocks as u64 * 1000 / args.seconds.max(1),
        "block_finality_ms": {"p50": percentile(&block_latency_ms, 50), "p99": percentile(&block_latency_ms, 99), "max": block_latency_ms.last()},
        "txs_sent": sent,
        "txs_committed": tx_latency_ms.len(),
        "tx_submit_to_final_ms": {"p50": percentile(&tx_latency_ms, 50), "p99": percentile(&tx_latency_ms, 99), "max": tx_latency_ms.last()},
    });
    println!("{result}");
    Ok(())
}
