//! Attestations as W3C Verifiable Credentials (VC-JOSE, see
//! `filiera-credential`): a body signs one on its own machine from what the
//! chain records of its attestation, and anyone verifies one offline, and
//! with a node, against what the chain says of it now.

use anyhow::{Context, Result, bail};
use filiera_client::Client;
use filiera_credential::{Attestation, did_key, issue, verify};
use filiera_types::gs1::{DigitalLink, Gtin, Lot};
use serde_json::Value;

/// The base of a credential's lot link.
const GS1_RESOLVER: &str = "https://id.gs1.org";
use std::path::Path;

/// The URN a credential of attestation `id` of `chain` has as its id.
fn urn(chain: &str, id: u64) -> String {
    format!("urn:filiera:{chain}:attestation:{id}")
}

/// Attestation `id` as the credential states it, from the chain's record.
fn attestation_of(
    chain: &str,
    id: u64,
    record: &Value,
    issuer: filiera_types::PublicKey,
) -> Result<Attestation> {
    let lot = &record["subject"]["lot"];
    let (Some(gtin), Some(lot)) = (lot["gtin"].as_str(), lot["lot"].as_str()) else {
        bail!("attestation {id} is not of a lot: only lots' attestations become credentials");
    };
    let text = |field: &str| {
        record[field]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("attestation {id} has no {field}"))
    };
    Ok(Attestation {
        id: urn(chain, id),
        // GS1's canonical resolver: the lot's identity, not a node's address.
        lot_link: DigitalLink::for_lot(GS1_RESOLVER, Gtin::parse(gtin)?, Lot::parse(lot)?).to_uri(),
        scheme: text("scheme")?,
        name: text("protected_name")?,
        body: text("body")?,
        issuer,
        valid_from_ms: record["valid_from_ms"]
            .as_u64()
            .context("no valid_from_ms")?,
        valid_until_ms: record["valid_until_ms"].as_u64(),
    })
}

/// Signs the credential of attestation `id` with `key` (the body's) and
/// writes it to `out`.
pub fn write(api: &str, key: &filiera_types::SecretKey, id: u64, out: &Path) -> Result<String> {
    let node = Client::connect(api)?;
    let record = node.attestation(id)?;
    let chain = node.chain_id().as_str().to_owned();
    let a = attestation_of(&chain, id, &record, key.public_key())?;
    let jwt = issue(&a, key)?;
    std::fs::write(out, &jwt).with_context(|| format!("writing {}", out.display()))?;
    Ok(did_key(&key.public_key()))
}

/// Verifies the credential in `file`: its signature offline; with `api`,
/// also that the chain records the same attestation, by a key of the body
/// it names, and its validity now.
pub fn check(file: &Path, api: Option<&str>, json: bool) -> Result<()> {
    let jwt =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let verified = verify(jwt.trim())?;
    let c = &verified.credential;
    let mut report = serde_json::json!({
        "signature": "valid",
        "issuer": c["issuer"],
        "subject": c["credentialSubject"],
        "valid_from": c["validFrom"],
        "valid_until": c["validUntil"],
    });
    if let Some(api) = api {
        let node = Client::connect(api)?;
        let chain = node.chain_id().as_str().to_owned();
        let id_text = c["id"].as_str().unwrap_or_default();
        let prefix = format!("urn:filiera:{chain}:attestation:");
        let id: u64 = id_text
            .strip_prefix(&prefix)
            .and_then(|n| n.parse().ok())
            .with_context(|| {
                format!("the credential's id {id_text:?} is no attestation of {chain}")
            })?;
        let record = node.attestation(id)?;
        let stated = attestation_of(&chain, id, &record, verified.issuer)?;
        let expected = filiera_credential::credential(&stated)?;
        if &expected != c {
            bail!("the credential does not state what the chain records of attestation {id}");
        }
        let body = record["body"].as_str().unwrap_or_default();
        let key = node.get(&format!("/v1/keys/{}", verified.issuer.to_hex()))?;
        if key["org"].as_str() != Some(body) {
            bail!(
                "the credential is signed by a key of {}, not of the body {body}",
                key["org"]
            );
        }
        report["chain"] = serde_json::json!({
            "attestation": id,
            "validity_now": record["validity"],
        });
    }
    if json {
        println!("{report}");
    } else {
        println!(
            "credential signature valid; issuer {}",
            report["issuer"].as_str().unwrap_or("?")
        );
        println!(
            "  lot {}",
            c["credentialSubject"]["id"].as_str().unwrap_or("?")
        );
        println!(
            "  {} {} by {}, valid {} to {}",
            c["credentialSubject"]["scheme"].as_str().unwrap_or("?"),
            c["credentialSubject"]["protectedName"]
                .as_str()
                .unwrap_or("?"),
            c["credentialSubject"]["certificationBody"]
                .as_str()
                .unwrap_or("?"),
            c["validFrom"].as_str().unwrap_or("?"),
            c["validUntil"].as_str().unwrap_or("no end"),
        );
        if let Some(chain) = report.get("chain") {
            println!(
                "  on chain: attestation {}, the same claims, signed by a key of the body; validity now: {}",
                chain["attestation"], chain["validity_now"]
            );
        }
    }
    Ok(())
}
