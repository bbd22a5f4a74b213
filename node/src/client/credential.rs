//! Attestations as W3C Verifiable Credentials (VC-JOSE, see
//! `filiera-credential`): a body signs one on its own machine from what the
//! chain records of its attestation, and anyone verifies one offline, and
//! with a node, against what that node says the chain records now (the
//! node is trusted for that part: `filiera verify --genesis` proves a lot's
//! attestations without trusting it).

use super::now_ms;
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
    // Only the body that attested signs for it.
    signer_of_body(&node, &key.public_key(), &a.body)?;
    let jwt = issue(&a, key)?;
    std::fs::write(out, &jwt).with_context(|| format!("writing {}", out.display()))?;
    Ok(did_key(&key.public_key()))
}

/// Refuses unless `key` is a key of `body` that may attest now: the body
/// active, the key its own (authority-given) or a device of its with the
/// right to record and not expired.
fn signer_of_body(node: &Client, key: &filiera_types::PublicKey, body: &str) -> Result<()> {
    use filiera_contract_api::registry::rights;
    let answer = node.get(&format!("/v1/keys/{}", key.to_hex()))?;
    if answer["org"].as_str() != Some(body) {
        bail!(
            "the credential is signed by a key of {}, not of the body {body}",
            answer["org"]
        );
    }
    let device = &answer["device"];
    let may_record = device["rights"]
        .as_u64()
        .is_some_and(|r| r & u64::from(rights::RECORD) != 0);
    let expires_ms = device["expires_ms"].as_u64().unwrap_or(0);
    if !may_record || (expires_ms != 0 && expires_ms <= now_ms()?) {
        bail!(
            "the signing key is a device of {body} that may not attest (no right to record, or expired)"
        );
    }
    let org = node.org(body)?;
    if org["status"] != "active" {
        bail!("the body {body} is {} on chain", org["status"]);
    }
    Ok(())
}

/// Verifies the credential in `file`: its signature offline; with `api`,
/// also that the chain records the same attestation, by a key of the body
/// it names, and its validity now.
pub fn check(file: &Path, api: Option<&str>, json: bool) -> Result<()> {
    let jwt =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let verified = verify(jwt.trim())?;
    let c = &verified.credential;
    // In force now by its own dates (its signature never expires).
    let now = now_ms()?;
    let date = |field: &str| {
        c[field]
            .as_str()
            .map(|t| {
                filiera_types::genesis::parse_time_ms(t)
                    .map_err(|e| anyhow::anyhow!("{field} {t:?} is not a date and time: {e}"))
            })
            .transpose()
    };
    if date("validFrom")?.is_some_and(|from| now < from) {
        bail!(
            "the credential is not valid yet: validFrom {}",
            c["validFrom"]
        );
    }
    if date("validUntil")?.is_some_and(|until| now >= until) {
        bail!("the credential expired: validUntil {}", c["validUntil"]);
    }
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
        // Byte for byte: a payload with a duplicate key parses as one value
        // but may read otherwise elsewhere.
        if filiera_credential::payload(&stated)? != verified.payload {
            bail!(
                "the credential does not state exactly what the chain records of attestation {id}"
            );
        }
        signer_of_body(&node, &verified.issuer, &stated.body)?;
        let validity = record["validity"].as_str().unwrap_or("unknown");
        if validity != "valid" {
            bail!(
                "attestation {id} is {validity} on chain: the credential's signature is sound, but it does not hold now"
            );
        }
        report["chain"] = serde_json::json!({
            "attestation": id,
            "validity_now": validity,
            "node": api,
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
        match report.get("chain") {
            Some(chain) => println!(
                "  on chain, as {api} says: attestation {}, the same claims, signed by a key of the body that may attest; validity now: {}",
                chain["attestation"],
                chain["validity_now"],
                api = chain["node"].as_str().unwrap_or("?"),
            ),
            None => println!(
                "  offline: the issuer's key is not checked to be the body's; --api checks it, and the validity now, with a node"
            ),
        }
    }
    Ok(())
}
