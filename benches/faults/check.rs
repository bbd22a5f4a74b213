//! The checker, run once every fault is healed: the nodes agree on every
//! block (no fork, same state roots) and hold every acknowledged transaction
//! where it was acknowledged.

use crate::faults::load::Ack;
use anyhow::{Result, bail};
use serde::Serialize;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Timeout of one request of the checker, ms.
const REQUEST_TIMEOUT_MS: u64 = 5_000;

/// What the checker found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Verdict {
    /// Heights compared on every node.
    pub heights_checked: u64,
    /// Heights where two nodes hold different blocks (must be 0).
    pub forks: u64,
    /// Heights where two nodes' headers give different state roots (must be 0).
    pub state_root_mismatches: u64,
    /// Acknowledged transactions looked up on every node.
    pub acks_checked: u64,
    /// Acknowledged transactions missing on some node, or at another height (must be 0).
    pub acks_lost: u64,
    /// The first few disagreements, for the report.
    pub details: Vec<String>,
}

impl Verdict {
    /// Whether no safety property was broken.
    pub fn safe(&self) -> bool {
        self.forks == 0 && self.state_root_mismatches == 0 && self.acks_lost == 0
    }

    fn note(&mut self, detail: String) {
        if self.details.len() < 20 {
            self.details.push(detail);
        }
    }
}

/// A ureq agent for reads that answer any status.
pub fn agent(timeout_ms: u64) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_millis(timeout_ms)))
        .build()
        .into()
}

/// The JSON of a 200 answer to `GET url`; None for anything else.
pub fn get_json(agent: &ureq::Agent, url: &str) -> Option<Value> {
    let mut r = agent.get(url).call().ok()?;
    if r.status().as_u16() != 200 {
        return None;
    }
    r.body_mut().read_json().ok()
}

/// Committed height of each node (None if it does not answer).
pub fn heights(agent: &ureq::Agent, apis: &[String]) -> Vec<Option<u64>> {
    apis.iter()
        .map(|api| get_json(agent, &format!("{api}/v1/status")).and_then(|s| s["height"].as_u64()))
        .collect()
}

/// The highest height any node answers with (0 if none answers).
pub fn top_height(agent: &ureq::Agent, apis: &[String]) -> u64 {
    heights(agent, apis)
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0)
}

/// What `api` says of transaction `tx_hash` (hex): committed, failed or pending.
pub fn tx_status(agent: &ureq::Agent, api: &str, tx_hash: &str) -> Option<Value> {
    get_json(agent, &format!("{api}/v1/txs/{tx_hash}"))
}

/// Waits until every node has committed a height above `above`; returns how
/// long that took, or an error after `bound`.
pub fn wait_progress(apis: &[String], above: u64, bound: Duration) -> Result<Duration> {
    let agent = agent(1_000);
    let start = Instant::now();
    loop {
        let hs = heights(&agent, apis);
        if hs.iter().all(|h| h.is_some_and(|h| h > above)) {
            return Ok(start.elapsed());
        }
        if start.elapsed() > bound {
            bail!(
                "no progress past height {above} within {} s: heights {hs:?}",
                bound.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Compares heights `1..=through` on every node and looks every ack up everywhere.
pub fn check(apis: &[String], through: u64, acks: &[Ack]) -> Verdict {
    let agent = agent(REQUEST_TIMEOUT_MS);
    let mut v = Verdict::default();
    for h in 1..=through {
        let blocks: Vec<Option<Value>> = apis
            .iter()
            .map(|api| get_json(&agent, &format!("{api}/v1/blocks/{h}")))
            .collect();
        v.heights_checked += 1;
        let field = |b: &Option<Value>, f: &str| {
            b.as_ref()
                .and_then(|b| b[f].as_str().map(str::to_owned))
                .unwrap_or_else(|| "missing".into())
        };
        let hashes: Vec<String> = blocks.iter().map(|b| field(b, "hash")).collect();
        let roots: Vec<String> = blocks.iter().map(|b| field(b, "state_root")).collect();
        if hashes.iter().any(|x| *x != hashes[0]) {
            v.forks += 1;
            v.note(format!("height {h}: block hashes {hashes:?}"));
        }
        if roots.iter().any(|x| *x != roots[0]) {
            v.state_root_mismatches += 1;
            v.note(format!("height {h}: state roots {roots:?}"));
        }
    }
    for ack in acks {
        v.acks_checked += 1;
        for (i, api) in apis.iter().enumerate() {
            let at = tx_status(&agent, api, &ack.tx_hash).and_then(|t| t["height"].as_u64());
            if at != Some(ack.height) {
                v.acks_lost += 1;
                v.note(format!(
                    "tx {} acknowledged at height {} by node {}; node {i} has {at:?}",
                    ack.tx_hash, ack.height, ack.node
                ));
                break;
            }
        }
    }
    v
}
