//! `filiera verify`: checks a lot's record end to end against a trusted
//! genesis, from a Digital Link (asking the node for the proof bundle) or
//! from a saved bundle file, offline.

use anyhow::{Context, Result, bail};
use filiera_types::Genesis;
use serde_json::Value;
use std::path::Path;

/// Bytes of a bundle read from a node or a file, at most.
const BUNDLE_READ_BYTES_MAX: usize = filiera_verify::BUNDLE_BYTES_MAX;

fn fetch(source: &str) -> Result<Vec<u8>> {
    if source.starts_with("http://") || source.starts_with("https://") {
        return crate::http::get_bytes(source, "application/json", BUNDLE_READ_BYTES_MAX);
    }
    std::fs::read(source).with_context(|| format!("reading {source}"))
}

pub fn verify(source: &str, genesis: &Path, save: Option<&Path>, json: bool) -> Result<()> {
    let genesis = Genesis::from_json(
        &std::fs::read(genesis).with_context(|| format!("reading {}", genesis.display()))?,
    )
    .context("the trusted genesis")?;
    let set = genesis
        .validator_set()
        .context("the genesis validator set")?;
    let bytes = fetch(source)?;
    if let Some(path) = save {
        std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    let bundle: Value = serde_json::from_slice(&bytes).context("the bundle is not JSON")?;
    let (v, changes) = match filiera_verify::verify_bundle_from_genesis(
        &bundle,
        genesis.chain_id.as_str(),
        &set,
    ) {
        Ok(ok) => ok,
        Err(e) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"verified": false, "reason": e.to_string()})
                );
            }
            bail!("NOT VERIFIED: {e}");
        }
    };
    let lot = &bundle["lot"];
    let product = &bundle["product"];
    if json {
        println!(
            "{}",
            serde_json::json!({
                "verified": true,
                "chain_id": v.chain_id,
                "height": v.height,
                "block_hash": v.block_hash,
                "signed_power": v.signed_power,
                "total_power": v.total_power,
                "signers": v.signers,
                "records": v.records,
                "validator_set_changes": changes,
                "gtin": lot["gtin"],
                "lot": lot["lot"],
            })
        );
        return Ok(());
    }
    println!(
        "VERIFIED lot {} {} — {} ({})",
        lot["gtin"].as_str().unwrap_or("?"),
        lot["lot"].as_str().unwrap_or("?"),
        product["name"].as_str().unwrap_or("?"),
        product["scheme"].as_str().unwrap_or("?"),
    );
    println!(
        "  chain {}, block {} {}",
        v.chain_id, v.height, v.block_hash
    );
    println!(
        "  signed by {} validators holding {} of {} voting power: {}",
        v.signers.len(),
        v.signed_power,
        v.total_power,
        v.signers.join(", ")
    );
    println!("  validator set descends from the trusted genesis through {changes} change(s)");
    println!(
        "  {} state records proven: status {}, holder {}, {} events, {} attestations{}",
        v.records,
        lot["status"].as_str().unwrap_or("?"),
        lot["holder"].as_str().unwrap_or("?"),
        bundle["events"].as_array().map_or(0, Vec::len),
        bundle["attestations"].as_array().map_or(0, Vec::len),
        if lot["recall"].is_null() {
            ""
        } else {
            ", RECALLED"
        },
    );
    Ok(())
}
