//! One measured step: offer a planned load open-loop, watch blocks commit,
//! and report what happened.

use super::mix::{Kind, Planned};
use super::net::{Localnet, ProcSample};
use anyhow::{Context, Result};
use filiera_types::Hash;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Client threads sending transactions (each owns a share of the senders, so
/// one sender's nonces go out in order).
pub const CLIENT_THREADS: usize = 16;
/// A client thread sends at most one request per tick, ms (with batches:
/// what falls due within a tick goes in one request).
pub const SEND_TICK_MS: u64 = 10;
/// Pause before retrying a transaction the node answered "busy" to, ms.
pub const BUSY_RETRY_MS: u64 = 20;
/// How long after the last due time committed transactions are still awaited, s.
pub const DRAIN_S: u64 = 10;
/// Period of polling the chain for new blocks, ms.
pub const POLL_MS: u64 = 20;

/// Figures of one node over a step.
#[derive(Clone, Debug, Serialize)]
pub struct NodeFigures {
    /// Validator index.
    pub node: usize,
    /// CPU used over the step, in percent of one core.
    pub cpu_percent: u64,
    /// Resident memory at the end, KiB.
    pub rss_kib: u64,
    /// Peak resident memory since the node started, KiB.
    pub rss_peak_kib: u64,
    /// Transactions of blocks this node checked that it had not verified at
    /// admission (so verified during the check: the only second look).
    pub block_txs_unverified: u64,
    /// Transactions refused at admission (any reason, gossip included).
    pub txs_refused: u64,
    /// Mean time to build a proposal, ms (blocks this node proposed in the step).
    pub block_build_ms_mean: u64,
    /// Mean time to check a proposal, ms.
    pub block_check_ms_mean: u64,
    /// Mean time to write a decided block, ms.
    pub block_commit_ms_mean: u64,
}

/// Figures of one second of a step.
#[derive(Clone, Debug, Serialize)]
pub struct Second {
    /// Seconds since the step started.
    pub t_s: u64,
    /// Transactions seen committed in this second.
    pub committed: u64,
    /// Median submit-to-final latency of those, ms.
    pub p50_ms: u64,
    /// 99th percentile of those, ms.
    pub p99_ms: u64,
}

/// What one step measured.
#[derive(Clone, Debug, Serialize)]
pub struct StepResult {
    /// Offered rate, transactions per second.
    pub rate_per_s: u64,
    /// Length of the offered load, s.
    pub seconds: u64,
    /// Transactions offered.
    pub offered: u64,
    /// Accepted by a node (HTTP 202).
    pub accepted: u64,
    /// "Busy" answers (each retried after `BUSY_RETRY_MS`).
    pub busy_answers: u64,
    /// Refused for another reason (never retried).
    pub refused: u64,
    /// Offered transactions seen in a committed block.
    pub committed: u64,
    /// Of those committed in the step's window, per second.
    pub committed_per_s: u64,
    /// Committed whose receipt says failed (from the nodes' metrics).
    pub failed_receipts: u64,
    /// Submit-to-final latency from each transaction's due time, ms.
    pub latency_ms: Percentiles,
    /// By kind: (kind, committed).
    pub committed_by_kind: Vec<(String, u64)>,
    /// Per validator.
    pub nodes: Vec<NodeFigures>,
    /// Per second.
    pub timeline: Vec<Second>,
    /// Blocks committed during the step.
    pub blocks: u64,
    /// CPU this generator used over the step (signing excluded: done before),
    /// in percent of one core; it shares the machine with the nodes.
    pub generator_cpu_percent: u64,
}

/// Latency percentiles, ms.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: u64,
    /// 95th.
    pub p95: u64,
    /// 99th.
    pub p99: u64,
    /// Largest.
    pub max: u64,
}

impl Percentiles {
    fn of(mut v: Vec<u64>) -> Percentiles {
        v.sort_unstable();
        Percentiles {
            p50: crate::percentile(&v, 50),
            p95: crate::percentile(&v, 95),
            p99: crate::percentile(&v, 99),
            max: v.last().copied().unwrap_or(0),
        }
    }
}

fn get_json(agent: &ureq::Agent, url: &str) -> Result<Value> {
    Ok(agent.get(url).call()?.body_mut().read_json()?)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// A node's metrics page at `url` (empty if it does not answer).
pub fn metrics_page(agent: &ureq::Agent, url: &str) -> String {
    agent
        .get(url)
        .call()
        .ok()
        .and_then(|mut r| r.body_mut().read_to_string().ok())
        .unwrap_or_default()
}

/// The sum of the series of `name` in a metrics page, whatever their labels
/// (0 if absent): a plain counter's value, or a labelled counter's total.
pub fn sample(page: &str, name: &str) -> f64 {
    page.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A node's counter from its metrics page at `url` (0 if absent).
pub fn metric(agent: &ureq::Agent, url: &str, name: &str) -> u64 {
    sample(&metrics_page(agent, url), name) as u64
}

struct Counts {
    unverified: u64,
    refused: u64,
    /// (sum in seconds, count) of the build, check and commit histograms.
    phases: [(f64, u64); 3],
}

impl Counts {
    /// From one read of the node's metrics page.
    fn of(page: &str) -> Counts {
        Counts {
            unverified: sample(page, "filiera_block_txs_unverified_total") as u64,
            refused: sample(page, "filiera_txs_refused_total") as u64,
            phases: ["build", "check", "commit"].map(|p| {
                let name = format!("filiera_block_{p}_seconds");
                (
                    sample(page, &format!("{name}_sum")),
                    sample(page, &format!("{name}_count")) as u64,
                )
            }),
        }
    }
}

struct Counters {
    accepted: AtomicU64,
    busy: AtomicU64,
    refused: AtomicU64,
    first_refusal: Mutex<Option<String>>,
    first_busy: Mutex<Option<String>>,
}

/// Offers `plan` (due times relative to now) to `net`, round-robin over its
/// validators by sender, `batch_max` transactions per request at most, and
/// waits for it to commit; `label` names the step on the progress bar.
pub fn run_step(
    net: &mut Localnet,
    plan: &[Planned],
    rate_per_s: u64,
    seconds: u64,
    batch_max: usize,
    label: &str,
) -> Result<StepResult> {
    let watch = agent();
    let api0 = net.apis[0].clone();
    let start_height = get_json(&watch, &format!("{api0}/v1/status"))?["height"]
        .as_u64()
        .context("height")?;
    let metrics0 = net.metrics[0].clone();
    let failed_before = metric(&watch, &metrics0, "filiera_txs_failed_total");
    let index: BTreeMap<Hash, usize> = plan.iter().enumerate().map(|(i, p)| (p.hash, i)).collect();
    let counters = Arc::new(Counters {
        accepted: AtomicU64::new(0),
        busy: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        first_refusal: Mutex::new(None),
        first_busy: Mutex::new(None),
    });
    let counts = |net: &Localnet| -> Vec<Counts> {
        net.metrics
            .iter()
            .map(|url| Counts::of(&metrics_page(&watch, url)))
            .collect()
    };
    let counts_before = counts(net);
    let cpu_before = net.sample();
    let self_before = super::net::proc_sample(std::process::id());
    let begin = Instant::now();
    let give_up = begin + Duration::from_secs(seconds + DRAIN_S);
    let stop = AtomicBool::new(false);
    let bar = ProgressBar::new(seconds);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} s {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(label.to_owned());
    let mut committed_at: Vec<Option<Instant>> = vec![None; plan.len()];
    let mut blocks = 0u64;
    std::thread::scope(|scope| -> Result<()> {
        for w in 0..CLIENT_THREADS {
            let mine: Vec<&Planned> = plan
                .iter()
                .filter(|p| p.sender % CLIENT_THREADS == w)
                .collect();
            let api = net.apis[w % net.apis.len()].clone();
            let counters = counters.clone();
            let stop = &stop;
            scope.spawn(move || send_all(&api, &mine, batch_max, begin, give_up, &counters, stop));
        }
        let mut height = start_height;
        let mut seen = 0usize;
        while Instant::now() < give_up && seen < plan.len() {
            let tip = get_json(&watch, &format!("{api0}/v1/status"))
                .ok()
                .and_then(|s| s["height"].as_u64())
                .unwrap_or(height);
            for h in height + 1..=tip {
                let block = get_json(&watch, &format!("{api0}/v1/blocks/{h}"))?;
                let now = Instant::now();
                blocks += 1;
                for tx in block["txs"].as_array().into_iter().flatten() {
                    let found = tx
                        .as_str()
                        .and_then(|h| Hash::from_hex(h).ok())
                        .and_then(|h| index.get(&h));
                    if let Some(&i) = found
                        && committed_at[i].is_none()
                    {
                        committed_at[i] = Some(now);
                        seen += 1;
                    }
                }
            }
            height = tip;
            let elapsed = begin.elapsed().as_secs();
            bar.set_position(elapsed.min(seconds));
            bar.set_message(format!(
                "height {height} · accepted {} · committed {seen} · busy {}",
                counters.accepted.load(Ordering::Relaxed),
                counters.busy.load(Ordering::Relaxed)
            ));
            if !net.all_running() {
                stop.store(true, Ordering::Relaxed);
                anyhow::bail!("a validator exited during the step");
            }
            std::thread::sleep(Duration::from_millis(POLL_MS));
        }
        stop.store(true, Ordering::Relaxed);
        Ok(())
    })?;
    bar.finish_and_clear();
    let wall = begin.elapsed();
    let cpu_after = net.sample();
    let self_after = super::net::proc_sample(std::process::id());
    let mut nodes = node_figures(&cpu_before, &cpu_after, wall);
    for (n, (b, a)) in nodes.iter_mut().zip(counts_before.iter().zip(counts(net))) {
        n.block_txs_unverified = a.unverified.saturating_sub(b.unverified);
        n.txs_refused = a.refused.saturating_sub(b.refused);
        let mean_ms = |i: usize| {
            let count = a.phases[i].1.saturating_sub(b.phases[i].1);
            let sum_s = a.phases[i].0 - b.phases[i].0;
            if count == 0 {
                0
            } else {
                (sum_s * 1000.0 / count as f64) as u64
            }
        };
        n.block_build_ms_mean = mean_ms(0);
        n.block_check_ms_mean = mean_ms(1);
        n.block_commit_ms_mean = mean_ms(2);
    }
    let failed_receipts = metric(&watch, &metrics0, "filiera_txs_failed_total") - failed_before;

    let window = Duration::from_secs(seconds);
    let mut latencies = Vec::new();
    let mut per_second: Vec<Vec<u64>> = vec![Vec::new(); (seconds + DRAIN_S + 1) as usize];
    let mut in_window = 0u64;
    let mut by_kind = [0u64; 3];
    for (p, at) in plan.iter().zip(&committed_at) {
        let Some(at) = at else { continue };
        let since = at.saturating_duration_since(begin);
        let ms = since
            .saturating_sub(Duration::from_micros(p.due_us))
            .as_millis() as u64;
        latencies.push(ms);
        if since <= window {
            in_window += 1;
        }
        if let Some(bucket) = per_second.get_mut(since.as_secs() as usize) {
            bucket.push(ms);
        }
        by_kind[p.kind as usize] += 1;
    }
    let timeline = per_second
        .into_iter()
        .enumerate()
        .map(|(t, v)| {
            let committed = v.len() as u64;
            let p = Percentiles::of(v);
            Second {
                t_s: t as u64,
                committed,
                p50_ms: p.p50,
                p99_ms: p.p99,
            }
        })
        .collect();
    if let Ok(Some(why)) = counters.first_refusal.lock().map(|g| g.clone()) {
        eprintln!("{label}: first refusal: {why}");
    }
    if let Ok(Some(why)) = counters.first_busy.lock().map(|g| g.clone()) {
        eprintln!("{label}: first busy answer: {why}");
    }
    Ok(StepResult {
        rate_per_s,
        seconds,
        offered: plan.len() as u64,
        accepted: counters.accepted.load(Ordering::Relaxed),
        busy_answers: counters.busy.load(Ordering::Relaxed),
        refused: counters.refused.load(Ordering::Relaxed),
        committed: latencies.len() as u64,
        committed_per_s: in_window / seconds.max(1),
        failed_receipts,
        latency_ms: Percentiles::of(latencies),
        committed_by_kind: vec![
            ("commission".into(), by_kind[Kind::Commission as usize]),
            ("record".into(), by_kind[Kind::Record as usize]),
            ("attest".into(), by_kind[Kind::Attest as usize]),
        ],
        nodes,
        timeline,
        blocks,
        generator_cpu_percent: self_after.cpu_ms.saturating_sub(self_before.cpu_ms) * 100
            / wall.as_millis().max(1) as u64,
    })
}

fn node_figures(before: &[ProcSample], after: &[ProcSample], wall: Duration) -> Vec<NodeFigures> {
    let wall_ms = wall.as_millis().max(1) as u64;
    before
        .iter()
        .zip(after)
        .enumerate()
        .map(|(node, (b, a))| NodeFigures {
            node,
            cpu_percent: a.cpu_ms.saturating_sub(b.cpu_ms) * 100 / wall_ms,
            rss_kib: a.rss_kib,
            rss_peak_kib: a.rss_peak_kib,
            block_txs_unverified: 0,
            txs_refused: 0,
            block_build_ms_mean: 0,
            block_check_ms_mean: 0,
            block_commit_ms_mean: 0,
        })
        .collect()
}

/// One client thread: at each due time sends every transaction due by then
/// (up to `batch_max` in one `POST /v1/txs/batch`; one `POST /v1/txs` each
/// when `batch_max` is 1), retrying "busy" answers until `give_up`.
fn send_all(
    api: &str,
    mine: &[&Planned],
    batch_max: usize,
    begin: Instant,
    give_up: Instant,
    counters: &Counters,
    stop: &AtomicBool,
) {
    let agent = agent();
    let mut next = 0usize;
    let mut retry: Vec<&Planned> = Vec::new();
    let mut last_send = begin;
    while next < mine.len() || !retry.is_empty() {
        if stop.load(Ordering::Relaxed) || Instant::now() > give_up {
            return;
        }
        let mut due: Vec<&Planned> = std::mem::take(&mut retry);
        if due.is_empty() && next < mine.len() {
            let at = begin + Duration::from_micros(mine[next].due_us);
            // At most one request per tick: what falls due meanwhile goes together.
            let at = at.max(last_send + Duration::from_millis(SEND_TICK_MS));
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
        }
        last_send = Instant::now();
        let now_us = begin.elapsed().as_micros() as u64;
        while next < mine.len() && due.len() < batch_max && mine[next].due_us <= now_us {
            due.push(mine[next]);
            next += 1;
        }
        if due.is_empty() {
            continue;
        }
        let outcomes = if batch_max == 1 {
            due.iter().map(|p| send_one(&agent, api, p)).collect()
        } else {
            send_batch(&agent, api, &due)
        };
        for (p, outcome) in due.into_iter().zip(outcomes) {
            match outcome {
                Outcome::Accepted => {
                    counters.accepted.fetch_add(1, Ordering::Relaxed);
                }
                Outcome::Busy(why) => {
                    counters.busy.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut first) = counters.first_busy.lock() {
                        first.get_or_insert(why);
                    }
                    retry.push(p);
                }
                Outcome::Refused(why) => {
                    counters.refused.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut first) = counters.first_refusal.lock() {
                        first.get_or_insert(why);
                    }
                }
            }
        }
        if !retry.is_empty() {
            std::thread::sleep(Duration::from_millis(BUSY_RETRY_MS));
        }
    }
}

enum Outcome {
    Accepted,
    Busy(String),
    Refused(String),
}

fn classify(code: &str, message: String) -> Outcome {
    match code {
        // "duplicate": an earlier try was admitted after all (a timeout).
        "duplicate" => Outcome::Accepted,
        "busy" | "timeout" | "rate_limited" => Outcome::Busy(format!("{code}: {message}")),
        _ => Outcome::Refused(format!("{code}: {message}")),
    }
}

fn send_one(agent: &ureq::Agent, api: &str, p: &Planned) -> Outcome {
    let answer = agent
        .post(format!("{api}/v1/txs"))
        .header("content-type", "application/octet-stream")
        .send(&p.bytes[..]);
    match answer {
        Ok(r) if r.status().as_u16() == 202 => Outcome::Accepted,
        Ok(mut r) => {
            let v: Value = r.body_mut().read_json().unwrap_or_default();
            classify(
                v["code"].as_str().unwrap_or("unknown"),
                v["message"].as_str().unwrap_or_default().to_owned(),
            )
        }
        Err(e) => Outcome::Busy(format!("transport: {e}")),
    }
}

fn send_batch(agent: &ureq::Agent, api: &str, due: &[&Planned]) -> Vec<Outcome> {
    // borsh of a Vec: the count (u32, little-endian), then each element.
    let mut body = Vec::with_capacity(4 + due.iter().map(|p| p.bytes.len()).sum::<usize>());
    body.extend_from_slice(&(due.len() as u32).to_le_bytes());
    for p in due {
        body.extend_from_slice(&p.bytes);
    }
    let answer = agent
        .post(format!("{api}/v1/txs/batch"))
        .header("content-type", "application/octet-stream")
        .send(&body[..]);
    let all = |o: &dyn Fn() -> Outcome| due.iter().map(|_| o()).collect::<Vec<_>>();
    let mut r = match answer {
        Ok(r) => r,
        Err(e) => return all(&|| Outcome::Busy(format!("transport: {e}"))),
    };
    let status = r.status().as_u16();
    let v: Value = r.body_mut().read_json().unwrap_or_default();
    if status != 200 {
        let code = v["code"].as_str().unwrap_or("unknown").to_owned();
        let message = v["message"].as_str().unwrap_or_default().to_owned();
        return all(&|| classify(&code, message.clone()));
    }
    let results = v["results"].as_array().cloned().unwrap_or_default();
    (0..due.len())
        .map(|i| match results.get(i) {
            Some(r) if r.get("tx_hash").is_some() => Outcome::Accepted,
            Some(r) => classify(
                r["code"].as_str().unwrap_or("unknown"),
                r["message"].as_str().unwrap_or_default().to_owned(),
            ),
            None => Outcome::Busy("no result for this transaction".into()),
        })
        .collect()
}
