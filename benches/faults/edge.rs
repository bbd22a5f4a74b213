//! The public edge under abuse, on one node with its rate limits on and the
//! harness's API proxy listed as trusted (so `X-Forwarded-For` names the
//! client, as behind an operator's reverse proxy). Shoppers (a new address
//! per request) look up a consumer page, calm and then during a write flood
//! from one client; the flood must not cost them a single answer, and the
//! figures (lookups/s, p50, p99) are recorded side by side. Then one client
//! floods reads (it is limited, another is served at once), and a client
//! rotates its address inside one IPv6 /64 (the /64 is one client).

use crate::faults::check;
use anyhow::Result;
use filiera_types::{ChainId, ContractCall, SecretKey, SignedTransaction, Transaction};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Threads looking up the consumer page in each lookup run.
pub const LOOKUP_THREADS: usize = 4;
/// Length of each lookup run, ms.
pub const LOOKUP_RUN_MS: u64 = 5_000;
/// Threads of the write flood.
pub const FLOOD_THREADS: usize = 2;
/// Transactions per batch of the write flood.
pub const FLOOD_BATCH_TXS: usize = 100;
/// Reads one client sends at once (the default read burst is 200).
pub const READ_FLOOD_REQUESTS: usize = 600;
/// Reads from addresses rotated inside one /64.
pub const ROTATED_REQUESTS: usize = 400;
/// The flooding client's address (TEST-NET-3).
const FLOODER: &str = "203.0.113.66";

/// One run of lookups.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LookupRun {
    /// Lookups answered, in all.
    pub lookups: u64,
    /// Of which 200.
    pub ok: u64,
    /// Of which anything else (a 429 to a shopper is a defect).
    pub not_ok: u64,
    /// Length of the run, ms.
    pub elapsed_ms: u64,
    /// Lookups per second, whole.
    pub per_s: u64,
    /// Median latency, µs.
    pub p50_us: u64,
    /// 99th percentile latency, µs.
    pub p99_us: u64,
}

/// What the edge phase measured.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Edge {
    /// The page looked up.
    pub page: String,
    /// Lookups with nothing else going on.
    pub calm: LookupRun,
    /// Lookups during the write flood.
    pub flooded: LookupRun,
    /// The flood's requests and transactions, and its answers by status and code.
    pub flood_requests: u64,
    /// Transactions the flood offered.
    pub flood_txs: u64,
    /// The flood's answers, "status code" → count.
    pub flood_answers: std::collections::BTreeMap<String, u64>,
    /// One client's read flood: answers by status.
    pub read_flood: std::collections::BTreeMap<String, u64>,
    /// Status another client got right after the read flood.
    pub other_client_status: u16,
    /// Reads from rotated addresses of one /64: answers by status.
    pub rotated: std::collections::BTreeMap<String, u64>,
    /// Status a client of the next /64 got right after.
    pub next_prefix_status: u16,
}

impl Edge {
    /// What went wrong, if anything.
    pub fn failures(&self) -> Vec<String> {
        let mut f = Vec::new();
        if self.calm.ok == 0 || self.calm.not_ok > 0 {
            f.push(format!("calm lookups: {:?}", self.calm));
        }
        if self.flooded.ok == 0 || self.flooded.not_ok > 0 {
            f.push(format!(
                "lookups during the write flood were not all served: {:?}",
                self.flooded
            ));
        }
        if !self.flood_answers.keys().any(|a| a.starts_with("429 ")) {
            f.push(format!(
                "the write flood was never limited: {:?}",
                self.flood_answers
            ));
        }
        if !self.read_flood.contains_key("429") {
            f.push(format!(
                "{READ_FLOOD_REQUESTS} reads from one client: none limited ({:?})",
                self.read_flood
            ));
        }
        if self.other_client_status != 200 {
            f.push(format!(
                "another client after a read flood got {}",
                self.other_client_status
            ));
        }
        if !self.rotated.contains_key("429") {
            f.push(format!(
                "{ROTATED_REQUESTS} reads rotating inside one /64: none limited ({:?})",
                self.rotated
            ));
        }
        if self.next_prefix_status != 200 {
            f.push(format!(
                "a client of the next /64 got {}",
                self.next_prefix_status
            ));
        }
        f
    }

    /// The report's section.
    pub fn markdown(&self) -> String {
        let row = |name: &str, r: &LookupRun| {
            format!(
                "| {name} | {} | {} | {} | {} | {:.1} | {:.1} |\n",
                r.lookups,
                r.ok,
                r.not_ok,
                r.per_s,
                r.p50_us as f64 / 1000.0,
                r.p99_us as f64 / 1000.0
            )
        };
        let mut s = format!(
            "\n## The edge: QR lookups of `{}` ({LOOKUP_THREADS} threads × {} s, a new shopper address per lookup)\n\n\
             | run | lookups | 200 | other | lookups/s | p50 ms | p99 ms |\n|---|---:|---:|---:|---:|---:|---:|\n",
            self.page,
            LOOKUP_RUN_MS / 1000
        );
        s.push_str(&row("calm", &self.calm));
        s.push_str(&row(
            &format!(
                "during a write flood ({FLOOD_THREADS} threads of {FLOOD_BATCH_TXS}-transaction batches from one client)"
            ),
            &self.flooded,
        ));
        s.push_str(&format!(
            "\n- the write flood: {} requests, {} transactions; answers {:?}\n",
            self.flood_requests, self.flood_txs, self.flood_answers
        ));
        s.push_str(&format!(
            "- {READ_FLOOD_REQUESTS} reads at once from one client: {:?}; another client right after: {}\n",
            self.read_flood, self.other_client_status
        ));
        s.push_str(&format!(
            "- {ROTATED_REQUESTS} reads from addresses rotated inside one IPv6 /64: {:?}; a client of the next /64 right after: {}\n",
            self.rotated, self.next_prefix_status
        ));
        s
    }
}

/// Shoppers' lookups of `url` until `stop_ms` has passed, each from a new
/// address (`salt` keeps runs apart).
fn lookups(url: &str, salt: u32) -> LookupRun {
    let begin = Instant::now();
    let threads: Vec<_> = (0..LOOKUP_THREADS)
        .map(|t| {
            let url = url.to_owned();
            std::thread::spawn(move || {
                let agent = check::agent(10_000);
                let mut latencies_us = Vec::new();
                let mut not_ok = 0u64;
                let mut n = 0u32;
                while begin.elapsed() < Duration::from_millis(LOOKUP_RUN_MS) {
                    // 100.64.0.0/10 (carrier-grade NAT space): distinct shoppers.
                    let host = salt.wrapping_mul(1 << 20) + (t as u32) * (1 << 18) + n;
                    let ip = std::net::Ipv4Addr::from(0x6440_0000 | (host & 0x003f_ffff));
                    n += 1;
                    let sent = Instant::now();
                    let status = agent
                        .get(&url)
                        .header("accept", "text/html")
                        .header("x-forwarded-for", ip.to_string())
                        .call()
                        .ok()
                        .and_then(|mut r| {
                            let s = r.status().as_u16();
                            r.body_mut().read_to_vec().ok().map(|_| s)
                        })
                        .unwrap_or(0);
                    latencies_us.push(sent.elapsed().as_micros() as u64);
                    if status != 200 {
                        not_ok += 1;
                    }
                }
                (latencies_us, not_ok)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut not_ok = 0;
    for t in threads {
        if let Ok((l, bad)) = t.join() {
            all.extend(l);
            not_ok += bad;
        }
    }
    let elapsed_ms = begin.elapsed().as_millis() as u64;
    all.sort_unstable();
    let lookups = all.len() as u64;
    LookupRun {
        lookups,
        ok: lookups - not_ok,
        not_ok,
        elapsed_ms,
        per_s: lookups * 1000 / elapsed_ms.max(1),
        p50_us: crate::percentile(&all, 50),
        p99_us: crate::percentile(&all, 99),
    }
}

/// A batch of well-signed transactions from keys no member lists: the
/// cheapest flood to make (no key of the chain needed).
fn flood_batch(
    chain: &ChainId,
    expiry: u64,
    call: &ContractCall,
    seed: u64,
) -> Result<Vec<SignedTransaction>> {
    (0..FLOOD_BATCH_TXS as u64)
        .map(|i| {
            let mut bytes = [7u8; 32];
            bytes[..8].copy_from_slice(&seed.to_le_bytes());
            bytes[8..16].copy_from_slice(&i.to_le_bytes());
            let key = SecretKey::from_seed(&bytes);
            Ok(Transaction {
                chain_id: chain.clone(),
                sender: key.public_key(),
                nonce: 0,
                expiry_height: expiry,
                call: call.clone(),
            }
            .sign(&key)?)
        })
        .collect()
}

/// Reads `url` `count` times as the clients `address(i)`; answers by status.
fn reads(
    url: &str,
    count: usize,
    address: impl Fn(usize) -> String,
) -> std::collections::BTreeMap<String, u64> {
    let agent = check::agent(10_000);
    let mut answers = std::collections::BTreeMap::new();
    for i in 0..count {
        let status = agent
            .get(url)
            .header("x-forwarded-for", address(i))
            .call()
            .map_or(0, |r| r.status().as_u16());
        *answers.entry(status.to_string()).or_default() += 1;
    }
    answers
}

fn status_from(url: &str, address: &str) -> u16 {
    check::agent(10_000)
        .get(url)
        .header("x-forwarded-for", address)
        .call()
        .map_or(0, |r| r.status().as_u16())
}

/// Runs the edge phase against `api` (a node started with its limits on and
/// the harness's proxy trusted); `page` is a lot page path that exists.
pub fn run(
    api: &str,
    page: &str,
    chain: &ChainId,
    expiry: u64,
    call: &ContractCall,
) -> Result<Edge> {
    let url = format!("{api}{page}");
    let mut edge = Edge {
        page: page.to_owned(),
        calm: lookups(&url, 1),
        ..Edge::default()
    };
    // The flood, from one client, while shoppers look up the page.
    let stop = Arc::new(AtomicBool::new(false));
    let flooders: Vec<_> = (0..FLOOD_THREADS)
        .map(|t| {
            let stop = Arc::clone(&stop);
            let url = format!("{api}/v1/txs/batch");
            let chain = chain.clone();
            let call = call.clone();
            std::thread::spawn(move || {
                let agent = check::agent(10_000);
                let mut answers = std::collections::BTreeMap::<String, u64>::new();
                let mut sent = 0u64;
                let mut round = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let Ok(batch) = flood_batch(&chain, expiry, &call, (t as u64) << 32 | round)
                    else {
                        break;
                    };
                    round += 1;
                    let body = filiera_types::encoding::encode(&batch);
                    let answer = match agent
                        .post(&url)
                        .header("content-type", "application/octet-stream")
                        .header("x-forwarded-for", FLOODER)
                        .send(&body[..])
                    {
                        Ok(mut r) => {
                            let status = r.status().as_u16();
                            let v: serde_json::Value = r.body_mut().read_json().unwrap_or_default();
                            let code = v["code"]
                                .as_str()
                                .or_else(|| v["results"][0]["code"].as_str())
                                .unwrap_or("");
                            format!("{status} {code}")
                        }
                        Err(_) => "0 transport".into(),
                    };
                    *answers.entry(answer).or_default() += 1;
                    sent += 1;
                }
                (answers, sent)
            })
        })
        .collect();
    edge.flooded = lookups(&url, 2);
    stop.store(true, Ordering::Relaxed);
    for f in flooders {
        if let Ok((answers, sent)) = f.join() {
            edge.flood_requests += sent;
            for (a, n) in answers {
                *edge.flood_answers.entry(a).or_default() += n;
            }
        }
    }
    edge.flood_txs = edge.flood_requests * FLOOD_BATCH_TXS as u64;
    // One client floods reads; another is served right after.
    edge.read_flood = reads(&url, READ_FLOOD_REQUESTS, |_| "203.0.113.77".into());
    edge.other_client_status = status_from(&url, "198.51.100.250");
    // Addresses rotated inside one /64 are one client.
    edge.rotated = reads(&url, ROTATED_REQUESTS, |i| {
        format!("2001:db8:77:1::{:x}", i + 1)
    });
    edge.next_prefix_status = status_from(&url, "2001:db8:77:2::1");
    Ok(edge)
}
