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
        match filiera_epcis::capture_call(hash, event, &org_of_site) {
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

/// `filiera epcis sign`: signs a document's events without a connection, for
/// `filiera epcis submit` later. The signer keeps its own nonce count (it is
/// the only user of its key offline); each line of the output is one event.
#[allow(clippy::too_many_arguments)]
pub fn sign_offline(
    file: &Path,
    key_file: &Path,
    chain_id: &str,
    first_nonce: u64,
    expiry_height: u64,
    receivers: &[String],
    out: &Path,
) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let key = keyfile::read(key_file)?;
    let chain = filiera_types::ChainId::new(chain_id)?;
    // Offline, the receiving organisation of each site is what the user says.
    let sites: Vec<(String, String)> = receivers
        .iter()
        .map(|r| {
            r.split_once('=')
                .map(|(g, o)| (g.to_owned(), o.to_owned()))
                .with_context(|| format!("--receiver {r:?}: expected GLN=ORGANISATION"))
        })
        .collect::<Result<_>>()?;
    let org_of_site = |gln: &str| sites.iter().find(|(g, _)| g == gln).map(|(_, o)| o.clone());
    let signed = filiera_client::epcis::sign_document(
        &bytes,
        &key,
        &chain,
        first_nonce,
        expiry_height,
        &org_of_site,
    )?;
    let mut lines = String::new();
    for (hash, tx) in &signed {
        lines.push_str(
            &serde_json::json!({"eventID": hash.to_ni(), "tx": hex::encode(tx.encode())})
                .to_string(),
        );
        lines.push('\n');
    }
    std::fs::write(out, lines).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "{} events signed (nonces {first_nonce} to {}) into {}",
        signed.len(),
        first_nonce + signed.len() as u64 - 1,
        out.display()
    );
    Ok(())
}

/// `filiera epcis submit`: hands signed events to a node. Submitting again
/// is harmless: an event already on chain is reported, not recorded twice.
pub fn submit_signed(file: &Path, api: &str) -> Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let client = Client::connect(api)?;
    let mut pending = Vec::new();
    for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let v: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("line {}: not JSON", i + 1))?;
        let event_id = v["eventID"].as_str().unwrap_or("?").to_owned();
        let bytes = hex::decode(v["tx"].as_str().unwrap_or_default())
            .with_context(|| format!("line {}: tx is not hex", i + 1))?;
        let tx = filiera_types::SignedTransaction::decode(&bytes)
            .with_context(|| format!("line {}: not a signed transaction", i + 1))?;
        let anchored = filiera_epcis::EventHash::from_ni(&event_id)
            .map(|h| state_value(&client, contract_ids::LOTS, &keys::epcis_anchor(&h.0)))
            .transpose()?
            .flatten()
            .is_some();
        if anchored {
            println!("already_recorded  {event_id}");
            continue;
        }
        match client.submit(&tx) {
            Ok(hash) => pending.push((event_id, hash)),
            Err(filiera_client::ClientError::Rejected { code, .. })
                if code == "duplicate" || code == "nonce_used" =>
            {
                println!("already_submitted {event_id}");
            }
            Err(e) => bail!("line {}: {e}", i + 1),
        }
    }
    let mut failed = 0;
    for (event_id, hash) in pending {
        let receipt = client.wait(&hash)?;
        if receipt.success {
            println!("committed         {event_id}");
        } else {
            failed += 1;
            println!(
                "failed            {event_id}: {}",
                receipt.message.unwrap_or_default()
            );
        }
    }
    if failed > 0 {
        bail!("{failed} events failed on chain");
    }
    Ok(())
}
