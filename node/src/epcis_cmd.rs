//! `filiera epcis import`: an EPCIS 2.0 document recorded on chain by the
//! organisation itself (signed with its own key, no API token needed), the
//! offline counterpart of the API's `/epcis/capture`.

use crate::keyfile;
use anyhow::{Context, Result, bail};
use borsh::BorshDeserialize;
use filiera_client::{Client, actions};
use filiera_contract_api::registry::SiteRecord;
use filiera_contract_api::{contract_ids, keys};
use std::path::Path;

/// Blocks a submitted event stays valid for.
const EXPIRY_BLOCKS: u64 = 1_000;

/// The state value at a contract's key, read through `/v1/proofs`.
fn state_value(client: &Client, contract: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
    let full = keys::state_key(contract, key);
    let answer = client.get(&format!("/v1/proofs/{}", hex::encode(full)))?;
    match answer["value"].as_str() {
        None => Ok(None),
        Some(v) => Ok(Some(hex::decode(v).context("proof value is not hex")?)),
    }
}

pub fn import(
    file: &Path,
    key_file: &Path,
    api: &str,
    submit_valid: bool,
    json: bool,
) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let (doc, invalid) = filiera_epcis::parse_document_partly(&bytes)?;
    for e in &invalid {
        eprintln!("event {}: {}", e.index, e.reasons.join("; "));
    }
    if !invalid.is_empty() && !submit_valid {
        bail!(
            "{} of the document's events are invalid; nothing was submitted (--submit-valid submits the valid ones)",
            invalid.len()
        );
    }
    let key = keyfile::read(key_file)?;
    let mut client = Client::connect(api)?;
    client.expiry_blocks = EXPIRY_BLOCKS;

    // Plan every event before submitting any.
    let org_of_site = |gln: &str| -> Option<String> {
        let bytes = state_value(&client, contract_ids::REGISTRY, &keys::site(gln)).ok()??;
        SiteRecord::try_from_slice(&bytes).ok().map(|s| s.org)
    };
    let mut calls = Vec::new();
    let mut bad = Vec::new();
    for (index, (hash, event)) in doc.events.iter().enumerate() {
        if state_value(&client, contract_ids::LOTS, &keys::epcis_anchor(&hash.0))?.is_some() {
            calls.push((hash, None));
            continue;
        }
        match filiera_epcis::plan(event)
            .and_then(|p| filiera_epcis::capture_call(hash, event, p, &org_of_site))
        {
            Ok(call) => calls.push((hash, Some(call))),
            Err(e) => bad.push(format!("valid event {index}: {e}")),
        }
    }
    for b in &bad {
        eprintln!("{b}");
    }
    if !bad.is_empty() && !submit_valid {
        bail!(
            "{} events have no lot action here; nothing was submitted (--submit-valid submits the others)",
            bad.len()
        );
    }
    let mut submitted = Vec::new();
    for (hash, call) in calls {
        let Some(call) = call else {
            report(json, &hash.to_ni(), "already_recorded", None);
            continue;
        };
        let tx = client.sign(&key, actions::capture(&call))?;
        submitted.push((hash.to_ni(), client.submit(&tx)?));
    }
    let mut failed = 0;
    // Drawn on a terminal only (hidden when stderr is a pipe or a file).
    let bar = indicatif::ProgressBar::new(submitted.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} events final ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    for (event_id, tx) in submitted {
        let receipt = client.wait(&tx)?;
        bar.inc(1);
        let tx = tx.to_hex();
        if receipt.success {
            report(json, &event_id, "committed", Some(&tx));
        } else {
            failed += 1;
            let why = receipt.message.unwrap_or_else(|| "failed".into());
            report(json, &event_id, &format!("failed: {why}"), Some(&tx));
        }
    }
    bar.finish_and_clear();
    if failed > 0 {
        bail!("{failed} events failed on chain");
    }
    let skipped = invalid.len() + bad.len();
    if skipped > 0 {
        bail!("{skipped} events were not submitted (listed above); the valid ones were");
    }
    Ok(())
}

fn report(json: bool, event_id: &str, status: &str, tx: Option<&str>) {
    if json {
        println!(
            "{}",
            serde_json::json!({"eventID": event_id, "status": status, "tx": tx})
        );
    } else {
        println!(
            "{status:<17} {event_id}{}",
            tx.map(|t| format!("  tx {t}")).unwrap_or_default()
        );
    }
}
