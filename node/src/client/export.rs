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

/// The trail of one lot (`GTIN/LOT`) or of every lot an organisation made
/// or holds (`--org`), to standard output.
pub fn export(
    lot: Option<&str>,
    org: Option<&str>,
    format: Format,
    api: &str,
    token_file: Option<&std::path::Path>,
) -> Result<()> {
    let node = Client::connect(api)?;
    let token = match (format, token_file) {
        (Format::Epcis, Some(path)) => zeroize::Zeroizing::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the API token in {}", path.display()))?,
        ),
        (Format::Epcis, None) => bail!(
            "an EPCIS export reads members' documents: give your organisation's API token with \
             --token-file (or FILIERA_API_TOKEN_FILE)"
        ),
        _ => zeroize::Zeroizing::new(String::new()),
    };
    let lots: Vec<(Gtin, Lot)> = match (lot, org) {
        (Some(l), None) => vec![split(l)?],
        (None, Some(o)) => {
            let listing = node
                .org(o)
                .and_then(|_| node.get(&format!("/v1/orgs/{o}/lots")))?;
            if listing["truncated"] == true {
                bail!("{o} has more lots than one listing holds; export them one by one");
            }
            listing["lots"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|l| {
                    Ok((
                        Gtin::parse(l["gtin"].as_str().unwrap_or_default())?,
                        Lot::parse(l["lot"].as_str().unwrap_or_default())?,
                    ))
                })
                .collect::<Result<_>>()?
        }
        _ => bail!("give either GTIN/LOT or --org ORGANISATION"),
    };
    let mut out = std::io::stdout().lock();
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record([
                "gtin",
                "lot",
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
            for (gtin, lot_number) in &lots {
                let record = node.lot(gtin.as_str(), lot_number.as_str())?;
                let (g, l) = (gtin.as_str().to_owned(), lot_number.as_str().to_owned());
                for e in record["history"].as_array().into_iter().flatten() {
                    w.write_record([
                        g.clone(),
                        l.clone(),
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
                        g.clone(),
                        l.clone(),
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
            }
            w.flush()?;
        }
        Format::Epcis => {
            let mut events: Vec<serde_json::Value> = Vec::new();
            for (gtin, lot_number) in lots {
                let class = DigitalLink::for_lot("https://id.gs1.org", gtin, lot_number).to_uri();
                let page = node.get_as(
                    &format!(
                        "/epcis/events?MATCH_anyEPCClass={}&perPage=100",
                        class.replace(':', "%3A").replace('/', "%2F")
                    ),
                    &token,
                )?;
                let found = page["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if found.len() == 100 {
                    bail!("more than 100 EPCIS events for {class}: page with GET /epcis/events");
                }
                for e in found {
                    // An event naming several of the lots is written once.
                    if !events.iter().any(|x| x["eventID"] == e["eventID"]) {
                        events.push(e);
                    }
                }
            }
            let created = time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)?;
            let doc = filiera_epcis::query_document("SimpleEventQuery", &created, events);
            writeln!(out, "{}", filiera_epcis::to_epcis_json(&doc))?;
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
        filiera_api::qr::label_svg(&uri, &caption, None)
            .map_err(|e| anyhow::anyhow!(e.message))?
            .into_bytes()
    };
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
    println!("{uri}");
    Ok(())
}
