//! `filiera demo`: writes a small, realistic supply-chain story into a
//! running localnet through the HTTP API, signed with the localnet's demo
//! keys: a Casciotta d'Urbino DOP lot made, aged, certified, shipped and
//! received; a Verdicchio dei Castelli di Jesi DOC lot and a Cartoceto DOP
//! oil lot, each certified by its control body; a Ciauscolo lot recalled by
//! its maker.

use crate::keyfile;
use anyhow::{Result, bail};
use filiera_contract_api::certification::{Attest, Subject};
use filiera_contract_api::lots::{
    Commission, EventKind, LotAmount, LotRef, Recall, Record, RegisterProduct, Split, Transform,
};
use filiera_contract_api::{contract_ids, encode};
use filiera_types::{ContractCall, ContractId, MethodName, SecretKey};
use std::path::Path;

/// A year, for the validity of the demo attestations.
const YEAR_MS: u64 = 365 * 24 * 3600 * 1000;

/// The mill's olives (not in the catalogue: each mill registers its own).
const OLIVES: &str = "09521234100140";

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
    let mut client = filiera_client::Client::connect(api)?;
    if client.chain_id() != &genesis.chain_id {
        bail!(
            "{api} serves chain {:?}, not the localnet's {:?}",
            client.chain_id().as_str(),
            genesis.chain_id.as_str()
        );
    }
    client.expiry_blocks = 5_000;
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
    let olives = lot(OLIVES, "OL-2025-11");
    let ciauscolo = lot("09521234100065", "CI-2026-019");
    let farm_sheep = org("az-agricola-foglia-demo")?;
    let farm_cow = org("az-agricola-cesane-demo")?;
    let sheep_milk = lot("09521234100027", "LO-2026-0301");
    let cow_milk = lot("09521234100034", "LV-2026-0301");
    let casciotta_full = lot("09521234100010", "CU-2026-0150");
    let grapes = lot("09521234100058", "UV-2025-10");
    let verdicchio_full = lot("09521234100041", "VJ-2026-032");
    let ciauscolo_full = lot("09521234100065", "CI-2026-020");
    let ciauscolo_pack_a = lot("09521234100065", "CI-2026-020-A");
    let ciauscolo_pack_b = lot("09521234100065", "CI-2026-020-B");
    let (lots, cert) = (contract_ids::LOTS, contract_ids::CERTIFICATION);
    // The genesis rules of Casciotta d'Urbino (genesis/catalogue.json): made
    // from 70-80% sheep milk and the rest cow milk, then aged (the ageing's
    // start and end are steps); a lot that skips them is not attested.
    let first_sheep = lot("09521234100027", "LO-2026-0300");
    let first_cow = lot("09521234100034", "LV-2026-0300");
    let mut steps: Vec<(&str, &SecretKey, &str, &str, Vec<u8>)> = Vec::new();
    for (milk, farm, kg, what) in [
        (&first_sheep, &farm_sheep, 1_200, "Latte ovino"),
        (&first_cow, &farm_cow, 400, "Latte vaccino"),
    ] {
        let by = if what == "Latte ovino" {
            "ovino"
        } else {
            "vaccino"
        };
        steps.push((
            "Milk: milked at the farm",
            farm,
            lots,
            "commission",
            commission(milk.clone(), kg, &format!("{kg} kg latte {by} crudo")),
        ));
        steps.push((
            "Milk: shipped to the dairy",
            farm,
            lots,
            "record",
            record(
                milk.clone(),
                EventKind::Ship,
                Some("caseificio-montefeltro-demo"),
                "cisterna",
            ),
        ));
        steps.push((
            "Milk: received at the dairy",
            &caseificio,
            lots,
            "record",
            record(milk.clone(), EventKind::Receive, None, "temperatura 4 °C"),
        ));
    }
    steps.extend([
        (
            "Casciotta d'Urbino: lot made from both milks (75% sheep)",
            &caseificio,
            lots,
            "transform",
            encode(&Transform {
                inputs: vec![
                    LotAmount {
                        id: first_sheep,
                        quantity: 1_200,
                    },
                    LotAmount {
                        id: first_cow,
                        quantity: 400,
                    },
                ],
                outputs: vec![LotAmount {
                    id: casciotta.clone(),
                    quantity: 240,
                }],
                site: None,
                epcis_hash: None,
            }),
        ),
        (
            "Casciotta d'Urbino: ageing started",
            &caseificio,
            lots,
            "record",
            record(
                casciotta.clone(),
                EventKind::Store,
                None,
                "#ageing_start cella 1",
            ),
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
                "#ageing_end stagionatura 20 giorni",
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
        // Genesis's Cartoceto rules: olives milled within 2 days of their
        // harvest, so the oil is made from an olive lot, not commissioned.
        (
            "Olives: the mill's product",
            &frantoio,
            lots,
            "register_product",
            encode(&RegisterProduct {
                gtin: OLIVES.into(),
                name: "Olive da olio, Cartoceto".into(),
                scheme: "none".into(),
                uom: "kg".into(),
                max_yield_permille: 1_000,
            }),
        ),
        (
            "Olives: harvested",
            &frantoio,
            lots,
            "commission",
            commission(olives.clone(), 8_000, "8000 kg di olive, raccolta 2025"),
        ),
        (
            "Cartoceto: oil pressed from the olives within 2 days",
            &frantoio,
            lots,
            "transform",
            encode(&Transform {
                inputs: vec![LotAmount {
                    id: olives,
                    quantity: 8_000,
                }],
                outputs: vec![LotAmount {
                    id: cartoceto.clone(),
                    quantity: 1_200,
                }],
                site: None,
                epcis_hash: None,
            }),
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
        // The full Casciotta chain: two farms' milk, the dairy, ageing, the
        // control body, the warehouse, retail.
        (
            "Latte ovino: milked at Valle del Foglia",
            &farm_sheep,
            lots,
            "commission",
            commission(
                sheep_milk.clone(),
                400,
                "400 kg latte ovino crudo, mungitura 1 marzo",
            ),
        ),
        (
            "Latte vaccino: milked at Cesane",
            &farm_cow,
            lots,
            "commission",
            commission(
                cow_milk.clone(),
                150,
                "150 kg latte vaccino crudo, mungitura 1 marzo",
            ),
        ),
        (
            "Latte ovino: shipped to the dairy",
            &farm_sheep,
            lots,
            "record",
            record(
                sheep_milk.clone(),
                EventKind::Ship,
                Some("caseificio-montefeltro-demo"),
                "cisterna 1",
            ),
        ),
        (
            "Latte vaccino: shipped to the dairy",
            &farm_cow,
            lots,
            "record",
            record(
                cow_milk.clone(),
                EventKind::Ship,
                Some("caseificio-montefeltro-demo"),
                "cisterna 2",
            ),
        ),
        (
            "Latte ovino: received at the dairy",
            &caseificio,
            lots,
            "record",
            record(
                sheep_milk.clone(),
                EventKind::Receive,
                None,
                "temperatura 4 °C",
            ),
        ),
        (
            "Latte vaccino: received at the dairy",
            &caseificio,
            lots,
            "record",
            record(
                cow_milk.clone(),
                EventKind::Receive,
                None,
                "temperatura 4 °C",
            ),
        ),
        (
            "Casciotta d'Urbino: made from both milks (70% sheep)",
            &caseificio,
            lots,
            "transform",
            encode(&Transform {
                inputs: vec![
                    LotAmount {
                        id: sheep_milk,
                        quantity: 400,
                    },
                    LotAmount {
                        id: cow_milk,
                        quantity: 150,
                    },
                ],
                outputs: vec![LotAmount {
                    id: casciotta_full.clone(),
                    quantity: 80,
                }],
                site: None,
                epcis_hash: None,
            }),
        ),
        (
            "Casciotta d'Urbino: ageing started",
            &caseificio,
            lots,
            "record",
            record(
                casciotta_full.clone(),
                EventKind::Store,
                None,
                "#ageing_start cella 2",
            ),
        ),
        (
            "Casciotta d'Urbino: aged 25 days",
            &caseificio,
            lots,
            "record",
            record(
                casciotta_full.clone(),
                EventKind::Store,
                None,
                "#ageing_end stagionatura 25 giorni",
            ),
        ),
        (
            "Casciotta d'Urbino: DOP attested by APC-ASSAM",
            &assam,
            cert,
            "attest",
            attest(casciotta_full.clone(), "DOP", "Casciotta d'Urbino", from_ms),
        ),
        (
            "Casciotta d'Urbino: shipped to Ancona",
            &caseificio,
            lots,
            "record",
            record(
                casciotta_full.clone(),
                EventKind::Ship,
                Some("deposito-ancona-demo"),
                "DDT 2026/340",
            ),
        ),
        (
            "Casciotta d'Urbino: received in Ancona",
            &deposito,
            lots,
            "record",
            record(
                casciotta_full.clone(),
                EventKind::Receive,
                None,
                "ricevuto integro",
            ),
        ),
        (
            "Casciotta d'Urbino: 20 kg sold at retail",
            &deposito,
            lots,
            "record",
            encode(&Record {
                id: casciotta_full,
                kind: EventKind::Sell,
                to: None,
                quantity: 20,
                site: None,
                corrects: None,
                note: "vendita al dettaglio".into(),
                epcis_hash: None,
            }),
        ),
        // Verdicchio: grapes, vinification and bottling, the control body.
        (
            "Uve Verdicchio: harvested",
            &cantina,
            lots,
            "commission",
            commission(
                grapes.clone(),
                5_000,
                "5000 kg uve Verdicchio, vendemmia 2025",
            ),
        ),
        (
            "Verdicchio: vinified and bottled",
            &cantina,
            lots,
            "transform",
            encode(&Transform {
                inputs: vec![LotAmount {
                    id: grapes,
                    quantity: 5_000,
                }],
                outputs: vec![LotAmount {
                    id: verdicchio_full.clone(),
                    quantity: 4_500,
                }],
                site: None,
                epcis_hash: None,
            }),
        ),
        (
            "Verdicchio: DOC attested by Valoritalia",
            &valoritalia,
            cert,
            "attest",
            attest(
                verdicchio_full,
                "DOC",
                "Verdicchio dei Castelli di Jesi",
                from_ms,
            ),
        ),
        // Ciauscolo: a lot split into packs, one shipped, then recalled: the
        // recall reaches the derived packs.
        (
            "Ciauscolo: lot made",
            &salumificio,
            lots,
            "commission",
            commission(ciauscolo_full.clone(), 300, "300 pezzi da 400 g"),
        ),
        (
            "Ciauscolo: split into two packs",
            &salumificio,
            lots,
            "split",
            encode(&Split {
                from: ciauscolo_full.clone(),
                parts: vec![
                    LotAmount {
                        id: ciauscolo_pack_a,
                        quantity: 200,
                    },
                    LotAmount {
                        id: ciauscolo_pack_b.clone(),
                        quantity: 100,
                    },
                ],
                epcis_hash: None,
            }),
        ),
        (
            "Ciauscolo: pack B shipped to Ancona",
            &salumificio,
            lots,
            "record",
            record(
                ciauscolo_pack_b,
                EventKind::Ship,
                Some("deposito-ancona-demo"),
                "DDT 2026/355",
            ),
        ),
        (
            "Ciauscolo: recalled, with every pack made from it",
            &salumificio,
            lots,
            "recall",
            encode(&Recall {
                id: ciauscolo_full,
                reason: "controllo interno: etichetta allergeni errata".into(),
            }),
        ),
    ]);
    let mut failures = 0;
    for (what, key, contract, method, args) in steps {
        // One at a time: later steps depend on earlier ones (a lot must exist
        // before it is attested), and a block orders only what it holds.
        let call = ContractCall {
            contract: ContractId::new(contract)?,
            method: MethodName::new(method)?,
            args,
        };
        let tx = client.sign(key, call)?;
        let hash = client.submit(&tx)?;
        let receipt = client.wait(&hash)?;
        if !receipt.success {
            failures += 1;
        }
        println!(
            "{} {what}: height {}, tx {}{}",
            if receipt.success { "ok  " } else { "FAIL" },
            receipt.height,
            &hash.to_hex()[..16],
            receipt
                .message
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        );
    }
    if failures > 0 {
        bail!("{failures} demo transactions failed");
    }
    println!(
        "demo data written; try {}/v1/status",
        api.trim_end_matches('/')
    );
    Ok(())
}
