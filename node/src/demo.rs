//! `filiera demo`: writes a small, realistic supply-chain story into a
//! running localnet through the HTTP API, signed with the localnet's demo
//! keys: a Casciotta d'Urbino DOP lot made, aged, certified, shipped and
//! received; a Verdicchio dei Castelli di Jesi DOC lot and a Cartoceto DOP
//! oil lot, each certified by its control body; a Ciauscolo lot recalled by
//! its maker.

use crate::client::Client;
use crate::keyfile;
use anyhow::{Context, Result, bail};
use filiera_contract_api::certification::{Attest, Subject};
use filiera_contract_api::lots::{Commission, EventKind, LotRef, Recall, Record};
use filiera_contract_api::{contract_ids, encode};
use filiera_types::SecretKey;
use std::path::Path;

/// A year, for the validity of the demo attestations.
const YEAR_MS: u64 = 365 * 24 * 3600 * 1000;

fn lot(gtin: &str, lot: &str) -> LotRef {
    LotRef {
        gtin: gtin.into(),
        lot: lot.into(),
    }
}

fn commission(id: LotRef, quantity: u64, what: &str) -> Vec<u8> {
    encode(&Commission {
        id,
        quantity,
        site: None,
        metadata: vec![("descrizione".into(), what.into())],
        private_hash: None,
        epcis_hash: None,
    })
}

fn record(id: LotRef, kind: EventKind, to: Option<&str>, note: &str) -> Vec<u8> {
    encode(&Record {
        id,
        kind,
        to: to.map(str::to_owned),
        quantity: 0,
        site: None,
        corrects: None,
        note: note.into(),
        epcis_hash: None,
    })
}

fn attest(id: LotRef, scheme: &str, name: &str, from_ms: u64) -> Vec<u8> {
    encode(&Attest {
        subject: Subject::Lot(id),
        scheme: scheme.into(),
        protected_name: name.into(),
        evidence_hash: *blake3::hash(format!("verbale di ispezione {scheme} {name}").as_bytes())
            .as_bytes(),
        valid_from_ms: from_ms,
        valid_until_ms: from_ms + YEAR_MS,
    })
}

/// Runs the story against `api`, with the keys of the localnet in `dir`.
pub fn run(dir: &Path, api: &str) -> Result<()> {
    let genesis = crate::genesis_cmd::load(&dir.join("genesis.json"))?;
    let org = |id: &str| keyfile::read(&dir.join("orgs").join(format!("{id}.json")));
    let mut client = Client::new(api, genesis.chain_id.clone());
    let height = client.get("/v1/status")?["height"]
        .as_u64()
        .context("status without height")?;
    client.expiry_height = height + 5_000;
    let from_ms = genesis.genesis_time_ms;
    let caseificio = org("caseificio-montefeltro-demo")?;
    let deposito = org("deposito-ancona-demo")?;
    let cantina = org("cantina-cupramontana-demo")?;
    let frantoio = org("frantoio-cartoceto-demo")?;
    let salumificio = org("salumificio-visso-demo")?;
    let assam = org("assam-apc")?;
    let valoritalia = org("valoritalia")?;
    let odc = org("odc-demo")?;
    let casciotta = lot("09521234100010", "CU-2026-0142");
    let verdicchio = lot("09521234100041", "VJ-2026-031");
    let cartoceto = lot("09521234100072", "CT-2026-007");
    let ciauscolo = lot("09521234100065", "CI-2026-019");
    let (lots, cert) = (contract_ids::LOTS, contract_ids::CERTIFICATION);
    let steps: Vec<(&str, &SecretKey, &str, &str, Vec<u8>)> = vec![
        (
            "Casciotta d'Urbino: lot made",
            &caseificio,
            lots,
            "commission",
            commission(casciotta.clone(), 240, "240 forme da 1 kg, latte ovino 70%"),
        ),
        (
            "Casciotta d'Urbino: aged 20 days",
            &caseificio,
            lots,
            "record",
            record(
                casciotta.clone(),
                EventKind::Store,
                None,
                "stagionatura 20 giorni",
            ),
        ),
        (
            "Casciotta d'Urbino: DOP attested by APC-ASSAM",
            &assam,
            cert,
            "attest",
            attest(casciotta.clone(), "DOP", "Casciotta d'Urbino", from_ms),
        ),
        (
            "Casciotta d'Urbino: shipped to Ancona",
            &caseificio,
            lots,
            "record",
            record(
                casciotta.clone(),
                EventKind::Ship,
                Some("deposito-ancona-demo"),
                "DDT 2026/311",
            ),
        ),
        (
            "Casciotta d'Urbino: received in Ancona",
            &deposito,
            lots,
            "record",
            record(casciotta, EventKind::Receive, None, "ricevuto integro"),
        ),
        (
            "Verdicchio: lot bottled",
            &cantina,
            lots,
            "commission",
            commission(
                verdicchio.clone(),
                6_000,
                "6000 bottiglie 0,75 l, vendemmia 2025",
            ),
        ),
        (
            "Verdicchio: DOC attested by Valoritalia",
            &valoritalia,
            cert,
            "attest",
            attest(
                verdicchio,
                "DOC",
                "Verdicchio dei Castelli di Jesi",
                from_ms,
            ),
        ),
        (
            "Cartoceto: oil lot pressed",
            &frantoio,
            lots,
            "commission",
            commission(
                cartoceto.clone(),
                1_200,
                "1200 l di olio extravergine, raccolta 2025",
            ),
        ),
        (
            "Cartoceto: DOP attested",
            &odc,
            cert,
            "attest",
            attest(cartoceto, "DOP", "Cartoceto", from_ms),
        ),
        (
            "Ciauscolo: lot made",
            &salumificio,
            lots,
            "commission",
            commission(ciauscolo.clone(), 300, "300 pezzi da 400 g"),
        ),
        (
            "Ciauscolo: recalled by its maker",
            &salumificio,
            lots,
            "recall",
            encode(&Recall {
                id: ciauscolo,
                reason: "controllo interno: etichetta allergeni errata".into(),
            }),
        ),
    ];
    let mut failures = 0;
    for (what, key, contract, method, args) in steps {
        // One at a time: later steps depend on earlier ones (a lot must exist
        // before it is attested), and a block orders only what it holds.
        let hash = client.submit(key, contract, method, args)?;
        let receipt = client.wait(&hash)?;
        let ok = receipt["success"].as_bool() == Some(true);
        if !ok {
            failures += 1;
        }
        println!(
            "{} {what}: height {}, tx {}{}",
            if ok { "ok  " } else { "FAIL" },
            receipt["height"],
            &hash[..16],
            receipt["message"]
                .as_str()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        );
    }
    if failures > 0 {
        bail!("{failures} demo transactions failed");
    }
    println!("demo data written; try {}/v1/status", client.api);
    Ok(())
}
