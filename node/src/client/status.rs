//! `filiera status`: a running node at a glance, for its operator.

use anyhow::{Context, Result};
use filiera_types::chain_limits::ChainLimits;
use std::path::Path;

/// A node whose last block is older than this is reported as stalled, ms.
const STALLED_AFTER_MS: u64 = 10_000;

fn dir_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

pub fn status(api: &str, home: Option<&Path>, json: bool) -> Result<()> {
    let node = filiera_client::Client::connect(api)?;
    let s = node.get("/v1/status")?;
    let now_ms = super::now_ms()?;
    let last_ms = s["block_time_ms"].as_u64();
    let age_ms = last_ms.map(|t| now_ms.saturating_sub(t));
    let state = match age_ms {
        None => "no block yet",
        Some(a) if a > STALLED_AFTER_MS => "stalled",
        Some(_) => "following",
    };
    let disk = home.map(|h| dir_bytes(&h.join("data")));
    // A node older than the evidence endpoint answers 404: none to show.
    let offences = node
        .get("/v1/evidence")
        .ok()
        .and_then(|e| e["offences"].as_array().cloned())
        .unwrap_or_default();
    // Upgrades ahead (scheduled) or waiting for approvals: an operator
    // learns of a new version well before it runs.
    let contracts = node.get("/v1/contracts").ok();
    // The chain's rules version and the first one this node's binary does
    // not implement: where it will stop.
    let chain_rules = contracts
        .as_ref()
        .map(|c| c["chain_rules"].clone())
        .unwrap_or_default();
    let upgrades: Vec<serde_json::Value> = contracts
        .as_ref()
        .and_then(|c| c["upgrades"].as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter(|u| {
            matches!(
                u["state"].as_str(),
                Some("scheduled" | "awaiting_approvals")
            )
        })
        .collect();
    // Production rules approved with a date still ahead.
    let rules_ahead: Vec<serde_json::Value> = node
        .get("/v1/rules")
        .ok()
        .and_then(|r| r["rules"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .flat_map(|name| name["versions"].as_array().cloned().unwrap_or_default())
        .filter(|v| v["state"] == "ahead")
        .collect();
    if json {
        let mut v = s.clone();
        v["upgrades_ahead"] = upgrades.clone().into();
        v["rules_ahead"] = rules_ahead.clone().into();
        v["chain_rules"] = chain_rules;
        v["sync_state"] = state.into();
        v["last_block_age_ms"] = age_ms.into();
        v["disk_bytes"] = disk.into();
        v["equivocations"] = offences.into();
        println!("{v}");
        return Ok(());
    }
    println!(
        "{} on {}: height {} (round {}), {}",
        s["moniker"].as_str().unwrap_or("?"),
        s["chain_id"].as_str().unwrap_or("?"),
        s["height"],
        s["round"],
        state
    );
    if let Some(a) = age_ms {
        println!(
            "  last block {:.1} s ago, hash {}",
            a as f64 / 1000.0,
            s["block_hash"].as_str().unwrap_or("?")
        );
    }
    println!(
        "  peers {}, mempool {} transactions, state root {}",
        s["peers"],
        s["mempool_txs"],
        s["state_root"].as_str().unwrap_or("?")
    );
    if offences.is_empty() {
        println!("  no equivocation recorded on chain");
    }
    for o in &offences {
        println!(
            "  EQUIVOCATION recorded at height {}: validator {} signed two {}s at height {} round {} (GET /v1/evidence has the pair)",
            o["reported_height"],
            o["validator"].as_str().unwrap_or("?"),
            o["step"].as_str().unwrap_or("?"),
            o["height"],
            o["round"],
        );
    }
    let height = s["height"].as_u64().unwrap_or(0);
    // A migration that failed at activation: the version was withdrawn and
    // the code before it runs on (the proposers must know).
    for c in contracts
        .as_ref()
        .and_then(|c| c["contracts"].as_array().cloned())
        .unwrap_or_default()
    {
        let last = c["versions"].as_array().and_then(|v| v.last().cloned());
        if let Some(v) = last
            && let Some(why) = v["migration"]["failure"].as_str()
        {
            println!(
                "  MIGRATION FAILED: {} version {} at height {}: {why}; withdrawn, the code before it runs on",
                c["id"].as_str().unwrap_or("?"),
                v["version"],
                v["migration"]["height"],
            );
        }
    }
    if let Some(stop) = chain_rules["unimplemented_from"].as_object() {
        let at = stop.get("height").and_then(|h| h.as_u64()).unwrap_or(0);
        let version = stop.get("version").cloned().unwrap_or_default();
        println!(
            "  STOP AHEAD: the chain's rules are version {version} from height {at} (in {} blocks), and this node's binary implements versions 1 to {}: it will stop before that height. Install a release that implements version {version} before then.",
            at.saturating_sub(height),
            chain_rules["implemented_max"],
        );
    }
    for u in &upgrades {
        let at = u["activation_height"].as_u64().unwrap_or(0);
        if u["kind"] == "chain_rules" {
            let what = if u["state"] == "scheduled" {
                "CHAIN RULES change scheduled"
            } else {
                "chain rules change proposed, awaiting approvals,"
            };
            println!(
                "  {what}: version {} from height {at} (in {} blocks; proposal {}){}",
                u["version"],
                at.saturating_sub(height),
                u["id"],
                if u["implemented_here"] == true {
                    ""
                } else {
                    "; this node's binary does not implement it"
                },
            );
            continue;
        }
        if u["kind"] == "limits" {
            let what = if u["state"] == "scheduled" {
                "LIMITS change scheduled"
            } else {
                "limits change proposed, awaiting approvals,"
            };
            let old: Option<ChainLimits> =
                serde_json::from_value(u["replaces_limits"].clone()).ok();
            let new: Option<ChainLimits> = serde_json::from_value(u["limits"].clone()).ok();
            let change = match (old, new) {
                (Some(old), Some(new)) => old.changes_to(&new),
                _ => "?".to_owned(),
            };
            println!(
                "  {what}: {change} from height {at} (in {} blocks; proposal {})",
                at.saturating_sub(height),
                u["id"],
            );
            continue;
        }
        let what = if u["state"] == "scheduled" {
            "UPGRADE scheduled"
        } else {
            "upgrade proposed, awaiting approvals,"
        };
        println!(
            "  {what}: {} to code {} from height {at} (in {} blocks; proposal {}){}",
            u["contract"].as_str().unwrap_or("?"),
            u["code_hash"]
                .as_str()
                .map_or("?", |h| &h[..16.min(h.len())]),
            at.saturating_sub(height),
            u["id"],
            if u["migrate"] == true {
                ", with a migration at that height"
            } else {
                ""
            },
        );
    }
    for r in &rules_ahead {
        let from = r["applies_from_ms"]
            .as_u64()
            .and_then(filiera_types::genesis::format_time_ms)
            .unwrap_or_else(|| "?".into());
        println!(
            "  RULES amended: {} {:?} version {} applies from {from} (GET /v1/rules)",
            r["scheme"].as_str().unwrap_or("?"),
            r["name"].as_str().unwrap_or("?"),
            r["version"],
        );
    }
    if let Some(bytes) = disk {
        println!(
            "  disk {:.1} MiB in {}",
            bytes as f64 / (1024.0 * 1024.0),
            home.map(|h| h.join("data").display().to_string())
                .context("home")?
        );
    }
    Ok(())
}
