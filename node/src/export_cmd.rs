//! `filiera export` and `filiera qr`: an auditor's trail of a lot (CSV, or
//! the EPCIS 2.0 events captured for it) and a lot's QR label.

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use filiera_client::Client;
use filiera_types::gs1::{DigitalLink, Gtin, Lot};
use std::io::Write;
use std::path::Path;

/// Export formats.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    /// One row per event and per attestation.
    Csv,
    /// An EPCIS 2.0 query document of the events captured as EPCIS.
    Epcis,
}

fn split(lot: &str) -> Result<(Gtin, Lot)> {
    let (g, l) = lot
        .split_once('/')
        .with_context(|| format!("{lot:?}: expected GTIN/LOT"))?;
    Ok((Gtin::parse(g)?, Lot::parse(l)?))
}

/// The trail of `lot` (GTIN/LOT) to standard output.
pub fn export(lot: &str, format: Format, api: &str) -> Result<()> {
    let (gtin, lot_number) = split(lot)?;
    let node = Client::connect(api)?;
    let mut out = std::io::stdout().lock();
    match format {
        Format::Csv => {
            let record = node.lot(gtin.as_str(), lot_number.as_str())?;
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record([
                "record",
                "seq_or_id",
                "kind_or_scheme",
                "by",
                "height",
                "time_ms",
                "quantity_delta",
                "site",
                "note_or_validity",
                "epcis_hash_or_evidence",
            ])?;
            let text = |v: &serde_json::Value| match v {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            for e in record["history"].as_array().into_iter().flatten() {
                w.write_record([
                    "event".to_owned(),
                    text(&e["seq"]),
                    text(&e["kind"]),
                    text(&e["by"]),
                    text(&e["height"]),
                    text(&e["time_ms"]),
                    text(&e["quantity_delta"]),
                    text(&e["site"]),
                    text(&e["note"]),
                    text(&e["epcis_hash"]),
                ])?;
            }
            for a in record["attestations"].as_array().into_iter().flatten() {
                w.write_record([
                    "attestation".to_owned(),
                    text(&a["id"]),
                    format!("{} {}", text(&a["scheme"]), text(&a["protected_name"])),
                    text(&a["body"]),
                    String::new(),
                    text(&a["issued_ms"]),
                    String::new(),
                    String::new(),
                    text(&a["validity"]),
                    text(&a["evidence_hash"]),
                ])?;
            }
            w.flush()?;
        }
        Format::Epcis => {
            let class = DigitalLink::for_lot("https://id.gs1.org", gtin, lot_number).to_uri();
            let page = node.get(&format!(
                "/epcis/events?MATCH_anyEPCClass={}&perPage=100",
                class.replace(':', "%3A").replace('/', "%2F")
            ))?;
            let total = page["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
                .as_array()
                .map_or(0, Vec::len);
            if total == 100 {
                bail!("more than 100 EPCIS events for this lot: page with GET /epcis/events");
            }
            writeln!(out, "{}", filiera_epcis::to_epcis_json(&page))?;
        }
    }
    Ok(())
}

/// A lot's label (SVG, or PNG when `out` ends in `.png`) for `base_url`.
pub fn qr(lot: &str, base_url: &str, out: &Path) -> Result<()> {
    let (gtin, lot_number) = split(lot)?;
    let caption = format!("(01) {} (10) {}", gtin.as_str(), lot_number.as_str());
    let uri = DigitalLink::for_lot(base_url, gtin, lot_number).to_uri();
    let bytes = if out.extension().is_some_and(|e| e == "png") {
        filiera_api::qr::label_png(&uri, &caption).map_err(|e| anyhow::anyhow!(e.message))?
    } else {
        filiera_api::qr::label_svg(&uri, &caption)
            .map_err(|e| anyhow::anyhow!(e.message))?
            .into_bytes()
    };
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
    println!("{uri}");
    Ok(())
}
