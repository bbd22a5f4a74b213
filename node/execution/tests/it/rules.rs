//! Production rules as data, on the real runtime and the committed contracts:
//! set and amended by the authority (k of n, never backdated), applied to the
//! lots made while they apply, each kind of rule refused by its code.

use crate::chain::{Chain, DAY_MS, key};
use crate::lifecycle::{commission_args, gtin, lot, record_args};
use filiera_contract_api::certification::{Attest, Subject};
use filiera_contract_api::contract_ids::{CERTIFICATION, LOTS, REGISTRY};
use filiera_contract_api::lots::{
    EventKind, LotAmount, LotRef, Merge, Record, RegisterProduct, Split, Transform,
};
use filiera_contract_api::registry::{AuthorityAction, Role, SiteRecord};
use filiera_contract_api::rules::{
    DurationRule, InputRule, LotRules, ProductionRules, RulesVersion, violated,
};
use filiera_contract_api::{decode, encode, keys};
use filiera_types::SecretKey;

fn rules(scheme: &str, name: &str, applies_from_ms: u64) -> ProductionRules {
    ProductionRules {
        scheme: scheme.into(),
        name: name.into(),
        applies_from_ms,
        area: vec![],
        inputs: vec![],
        steps: vec![],
        durations: vec![],
        max_yield_permille: None,
        units: vec![],
        notes: vec![],
    }
}

fn ageing(min_days: u32) -> DurationRule {
    DurationRule {
        from: "ageing_start".into(),
        to: "ageing_end".into(),
        min_days,
        max_days: None,
    }
}

fn register(chain: &mut Chain, owner: &SecretKey, gtin: &str, name: &str, scheme: &str, uom: &str) {
    let args = RegisterProduct {
        gtin: gtin.into(),
        name: name.into(),
        scheme: scheme.into(),
        uom: uom.into(),
        max_yield_permille: 1_000,
    };
    chain.ok(owner, LOTS, "register_product", encode(&args));
}

fn step(id: &LotRef, tag: &str) -> Vec<u8> {
    encode(&Record {
        note: format!("#{tag} cella 2"),
        ..record_args(id, EventKind::Store)
    })
}

/// A DOP attestation of `subject` under `name`, valid 90 days from `from_ms`.
fn attestation(subject: Subject, name: &str, from_ms: u64) -> Vec<u8> {
    encode(&Attest {
        subject,
        scheme: "DOP".into(),
        protected_name: name.into(),
        evidence_hash: [7; 32],
        valid_from_ms: from_ms,
        valid_until_ms: from_ms + 90 * DAY_MS,
    })
}

fn made_under(chain: &Chain, id: &LotRef) -> Option<LotRules> {
    chain.get(LOTS, &keys::lot_rules(&id.gtin, &id.lot))
}

fn versions(chain: &Chain, scheme: &str, name: &str) -> Vec<RulesVersion> {
    chain
        .get(REGISTRY, &keys::rules(scheme, name))
        .unwrap_or_default()
}

/// A producer with one key, a site at `istat` (vouched when given).
fn producer(chain: &mut Chain, id: &str, signer: &SecretKey, sites: &[(&str, Option<&str>)]) {
    chain.onboard(id, 3, &[Role::Producer], signer);
    for (gln, istat) in sites {
        let site = SiteRecord {
            gln: (*gln).into(),
            org: id.into(),
            kind: "dairy".into(),
            name: "sito".into(),
        };
        chain.ok(signer, REGISTRY, "register_site", encode(&site));
        if let Some(istat) = istat {
            chain.authority_does(AuthorityAction::VouchSite {
                gln: (*gln).into(),
                istat: (*istat).into(),
            });
        }
    }
}

#[test]
fn an_amendment_with_a_future_date_reaches_only_lots_made_after_it() {
    let mut chain = Chain::new();
    let salumificio = key(20);
    producer(&mut chain, "salumificio-visso", &salumificio, &[]);
    let ciauscolo = gtin("0952123410006");
    register(
        &mut chain,
        &salumificio,
        &ciauscolo,
        "Ciauscolo",
        "IGP",
        "kg",
    );
    let mut v1 = rules("IGP", "Ciauscolo", chain.time_ms + 120_000);
    v1.steps = vec![
        "commission".into(),
        "ageing_start".into(),
        "ageing_end".into(),
    ];
    v1.durations = vec![ageing(15)];
    chain.authority_does(AuthorityAction::SetRules(v1.clone()));

    let before = lot(&ciauscolo, "CI-V1");
    chain.ok(
        &salumificio,
        LOTS,
        "commission",
        encode(&commission_args(&before, 40)),
    );
    // The amendment: 30 days of ageing, from 10 days ahead.
    let mut v2 = v1.clone();
    v2.applies_from_ms = chain.time_ms + 10 * DAY_MS;
    v2.durations = vec![ageing(30)];
    chain.authority_does(AuthorityAction::SetRules(v2));
    let all = versions(&chain, "IGP", "ciauscolo");
    assert_eq!(all.iter().map(|v| v.version).collect::<Vec<_>>(), [1, 2]);

    let still_v1 = lot(&ciauscolo, "CI-V1-BIS");
    chain.ok(
        &salumificio,
        LOTS,
        "commission",
        encode(&commission_args(&still_v1, 40)),
    );
    chain.time_ms += 10 * DAY_MS;
    let after = lot(&ciauscolo, "CI-V2");
    chain.ok(
        &salumificio,
        LOTS,
        "commission",
        encode(&commission_args(&after, 40)),
    );
    let version = |c: &Chain, id: &LotRef| made_under(c, id).unwrap().version;
    assert_eq!(
        [
            version(&chain, &before),
            version(&chain, &still_v1),
            version(&chain, &after)
        ],
        [1, 1, 2]
    );

    for id in [&before, &after] {
        chain.ok(&salumificio, LOTS, "record", step(id, "ageing_start"));
    }
    chain.time_ms += 16 * DAY_MS;
    // 16 days: enough under version 1, which the older lot keeps...
    chain.ok(&salumificio, LOTS, "record", step(&before, "ageing_end"));
    // ...not under version 2.
    chain.refused(
        &salumificio,
        LOTS,
        "record",
        step(&after, "ageing_end"),
        "rule duration_min: ageing_start to ageing_end takes at least 30 days, this lot 16",
    );
    chain.time_ms += 14 * DAY_MS;
    chain.ok(&salumificio, LOTS, "record", step(&after, "ageing_end"));
    let steps: Vec<String> = made_under(&chain, &after)
        .unwrap()
        .steps
        .into_iter()
        .map(|s| s.step)
        .collect();
    assert_eq!(steps, ["commission", "ageing_start", "ageing_end"]);
}

#[test]
fn a_backdated_change_or_one_approval_of_two_sets_nothing() {
    let mut chain = Chain::new();
    let (a, b) = (chain.authority[0].clone(), chain.authority[1].clone());
    // One approval of two: pending, no rules.
    let r = chain.ok(
        &a,
        REGISTRY,
        "propose",
        encode(&AuthorityAction::SetRules(rules(
            "DOP",
            "Cartoceto",
            chain.time_ms + 2 * DAY_MS,
        ))),
    );
    let pending: u64 = decode(&r.return_data).unwrap();
    assert!(versions(&chain, "DOP", "Cartoceto").is_empty());
    // A date before the block that would approve it.
    let backdated = rules("DOP", "Cartoceto", chain.time_ms + 60_000);
    let r = chain.ok(
        &a,
        REGISTRY,
        "propose",
        encode(&AuthorityAction::SetRules(backdated)),
    );
    let id: u64 = decode(&r.return_data).unwrap();
    chain.time_ms += DAY_MS;
    chain.refused(&b, REGISTRY, "approve", encode(&id), "backdated");
    // A member's key may not propose; malformed rules are refused at once.
    let member = key(30);
    producer(&mut chain, "frantoio", &member, &[]);
    let action = AuthorityAction::SetRules(rules("DOP", "Cartoceto", chain.time_ms + DAY_MS));
    chain.refused(
        &member,
        REGISTRY,
        "propose",
        encode(&action),
        "only an authority key",
    );
    let mut bad = rules("DOP", "Cartoceto", chain.time_ms + DAY_MS);
    bad.area = vec!["41".into()];
    chain.refused(
        &a,
        REGISTRY,
        "propose",
        encode(&AuthorityAction::SetRules(bad)),
        "ISTAT codes",
    );
    let mut bad = rules("DOP", "Cartoceto", chain.time_ms + DAY_MS);
    bad.inputs = vec![InputRule {
        kind: "olive".into(),
        names: vec!["Olive".into()],
        min_share_permille: 900,
        max_share_permille: 800,
    }];
    chain.refused(
        &a,
        REGISTRY,
        "propose",
        encode(&AuthorityAction::SetRules(bad)),
        "min <= max",
    );
    // Rules no lot could meet: a step twice, a duration from a step the
    // rules do not have.
    let mut bad = rules("DOP", "Cartoceto", chain.time_ms + DAY_MS);
    bad.steps = vec![
        "commission".into(),
        "frangitura".into(),
        "frangitura".into(),
    ];
    chain.refused(
        &a,
        REGISTRY,
        "propose",
        encode(&AuthorityAction::SetRules(bad)),
        "listed twice",
    );
    let mut bad = rules("DOP", "Cartoceto", chain.time_ms + DAY_MS);
    bad.durations = vec![ageing(15)];
    chain.refused(
        &a,
        REGISTRY,
        "propose",
        encode(&AuthorityAction::SetRules(bad)),
        "between two of the rules' steps",
    );
    assert!(versions(&chain, "DOP", "Cartoceto").is_empty());
    // The pending one, approved while its date is ahead, applies.
    chain.ok(&b, REGISTRY, "approve", encode(&pending));
    assert_eq!(versions(&chain, "DOP", "Cartoceto").len(), 1);
    // An amendment dated before the version it amends is refused.
    let earlier = rules("DOP", "Cartoceto", chain.time_ms + 600_000);
    let r = chain.ok(
        &a,
        REGISTRY,
        "propose",
        encode(&AuthorityAction::SetRules(earlier)),
    );
    let id: u64 = decode(&r.return_data).unwrap();
    chain.refused(&b, REGISTRY, "approve", encode(&id), "before version 1");
}

struct Dairy {
    chain: Chain,
    dairy: SecretKey,
    sheep: String,
    cow: String,
    goat: String,
    cheese: String,
}

const VOUCHED: &str = "9521234000013";
const UNVOUCHED: &str = "9521234000020";
const ANCONA: &str = "9521234000037";

/// A dairy under Casciotta-like rules: area the province of Pesaro e
/// Urbino (041), 70-80% sheep milk and 20-30% cow milk, a yield of 150
/// per thousand, kg only, then ageing of at least 20 days.
fn dairy() -> Dairy {
    let mut chain = Chain::new();
    let dairy = key(21);
    producer(
        &mut chain,
        "caseificio",
        &dairy,
        &[
            (VOUCHED, Some("041067")),
            (UNVOUCHED, None),
            (ANCONA, Some("042002")),
        ],
    );
    let (sheep, cow, goat, cheese) = (
        gtin("0952123410002"),
        gtin("0952123410003"),
        gtin("0952123410099"),
        gtin("0952123410001"),
    );
    register(
        &mut chain,
        &dairy,
        &sheep,
        "Latte ovino crudo",
        "none",
        "kg",
    );
    register(
        &mut chain,
        &dairy,
        &cow,
        "Latte vaccino crudo",
        "none",
        "kg",
    );
    register(&mut chain, &dairy, &goat, "Latte caprino", "none", "kg");
    register(
        &mut chain,
        &dairy,
        &cheese,
        "Casciotta d'Urbino",
        "DOP",
        "kg",
    );
    for (g, l) in [(&sheep, "LO-1"), (&cow, "LV-1"), (&goat, "LC-1")] {
        let id = lot(g, l);
        chain.ok(
            &dairy,
            LOTS,
            "commission",
            encode(&commission_args(&id, 1_000)),
        );
    }
    let mut r = rules("DOP", "Casciotta d'Urbino", chain.time_ms + 120_000);
    r.area = vec!["041".into()];
    r.inputs = vec![
        InputRule {
            kind: "latte ovino".into(),
            names: vec!["Latte ovino".into()],
            min_share_permille: 700,
            max_share_permille: 800,
        },
        InputRule {
            kind: "latte vaccino".into(),
            names: vec!["Latte vaccino".into()],
            min_share_permille: 200,
            max_share_permille: 300,
        },
    ];
    r.steps = vec![
        "commission".into(),
        "ageing_start".into(),
        "ageing_end".into(),
    ];
    r.durations = vec![ageing(20)];
    r.max_yield_permille = Some(150);
    r.units = vec!["kg".into()];
    chain.authority_does(AuthorityAction::SetRules(r));
    Dairy {
        chain,
        dairy,
        sheep,
        cow,
        goat,
        cheese,
    }
}

fn make(d: &Dairy, inputs: &[(&str, u64)], out: u64, site: Option<&str>) -> Vec<u8> {
    encode(&Transform {
        inputs: inputs
            .iter()
            .map(|(g, q)| LotAmount {
                id: lot(
                    g,
                    if *g == d.sheep {
                        "LO-1"
                    } else if *g == d.cow {
                        "LV-1"
                    } else {
                        "LC-1"
                    },
                ),
                quantity: *q,
            })
            .collect(),
        outputs: vec![LotAmount {
            id: lot(&d.cheese, "CU-1"),
            quantity: out,
        }],
        site: site.map(Into::into),
        epcis_hash: None,
    })
}

#[test]
fn each_rule_refuses_by_its_code_and_changes_nothing() {
    let mut d = dairy();
    let (sheep, cow, goat) = (d.sheep.clone(), d.cow.clone(), d.goat.clone());
    let ok_mix = [(sheep.as_str(), 750), (cow.as_str(), 250)];
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (make(&d, &ok_mix, 150, None), "rule area: a lot of"),
        (
            make(&d, &ok_mix, 150, Some(UNVOUCHED)),
            "rule area: site 9521234000020 has no ISTAT code",
        ),
        (
            make(&d, &ok_mix, 150, Some(ANCONA)),
            "rule area: site 9521234000037 (ISTAT 042002) is outside",
        ),
        (
            make(&d, &[(sheep.as_str(), 1_000)], 150, Some(VOUCHED)),
            "rule input_share: latte ovino must be 700 to 800",
        ),
        (
            make(
                &d,
                &[(sheep.as_str(), 650), (cow.as_str(), 350)],
                150,
                Some(VOUCHED),
            ),
            "rule input_share: latte ovino",
        ),
        (
            make(
                &d,
                &[(sheep.as_str(), 750), (goat.as_str(), 250)],
                150,
                Some(VOUCHED),
            ),
            "rule input_kind: \"Latte caprino\"",
        ),
        (
            make(&d, &ok_mix, 151, Some(VOUCHED)),
            "rule yield: outputs exceed",
        ),
    ];
    for (args, needle) in cases {
        d.chain
            .refused(&d.dairy, LOTS, "transform", args.clone(), needle);
        assert!(violated(needle).is_some(), "{needle} names a known rule");
    }
    // Within every rule: made, under version 1, from the commission on.
    d.chain.ok(
        &d.dairy,
        LOTS,
        "transform",
        make(&d, &ok_mix, 150, Some(VOUCHED)),
    );
    let cheese = lot(&d.cheese, "CU-1");
    let made = made_under(&d.chain, &cheese).unwrap();
    assert_eq!(
        (made.name.as_str(), made.version),
        ("Casciotta d'Urbino", 1)
    );

    // A product of the protected name in litres.
    let litres = gtin("0952123410098");
    register(
        &mut d.chain,
        &d.dairy,
        &litres,
        "Casciotta d'Urbino fresca",
        "DOP",
        "l",
    );
    let mut c = commission_args(&lot(&litres, "CU-L"), 5);
    c.site = Some(VOUCHED.into());
    d.chain.refused(
        &d.dairy,
        LOTS,
        "commission",
        encode(&c),
        "rule unit: \"Casciotta d'Urbino\" DOP allows units [\"kg\"], not \"l\"",
    );

    // Steps in order; the end of ageing not before 20 days.
    d.chain.refused(
        &d.dairy,
        LOTS,
        "record",
        step(&cheese, "ageing_end"),
        "rule step_order: ageing_end comes after ageing_start",
    );
    d.chain
        .ok(&d.dairy, LOTS, "record", step(&cheese, "ageing_start"));
    d.chain.refused(
        &d.dairy,
        LOTS,
        "record",
        step(&cheese, "ageing_start"),
        "rule step_order: ageing_start is already recorded",
    );
    d.chain.time_ms += 19 * DAY_MS;
    d.chain.refused(
        &d.dairy,
        LOTS,
        "record",
        step(&cheese, "ageing_end"),
        "rule duration_min",
    );
    // A part split off keeps the rules and the steps.
    let parts = [
        LotAmount {
            id: lot(&d.cheese, "CU-1A"),
            quantity: 100,
        },
        LotAmount {
            id: lot(&d.cheese, "CU-1B"),
            quantity: 50,
        },
    ];
    d.chain.ok(
        &d.dairy,
        LOTS,
        "split",
        encode(&Split {
            from: cheese.clone(),
            parts: parts.to_vec(),
            epcis_hash: None,
        }),
    );
    let part = lot(&d.cheese, "CU-1A");
    assert_eq!(
        made_under(&d.chain, &part).unwrap().steps,
        made_under(&d.chain, &cheese).unwrap().steps
    );

    // Attestation: refused while ageing is not over, granted after.
    let body = key(22);
    d.chain
        .onboard("assam", 1, &[Role::CertificationBody], &body);
    d.chain.authority_does(AuthorityAction::Accredit {
        org: "assam".into(),
        scheme: "DOP".into(),
        scope: vec![],
        valid_from_ms: 0,
        valid_until_ms: d.chain.time_ms + 365 * DAY_MS,
    });
    let attest = attestation(
        Subject::Lot(part.clone()),
        "Casciotta d'Urbino",
        d.chain.time_ms,
    );
    d.chain.refused(
        &body,
        CERTIFICATION,
        "attest",
        attest.clone(),
        "rule step_order: step ageing_end is missing or out of order: lot",
    );
    d.chain.time_ms += DAY_MS;
    d.chain
        .ok(&d.dairy, LOTS, "record", step(&part, "ageing_end"));
    d.chain.ok(&body, CERTIFICATION, "attest", attest);

    // Steps are the holder's: a body's note does not start or end an ageing.
    let other_part = lot(&d.cheese, "CU-1B");
    let body_note = encode(&Record {
        note: "#ageing_end verbale 12".into(),
        ..record_args(&other_part, EventKind::Inspect)
    });
    d.chain.refused(
        &body,
        LOTS,
        "record",
        body_note,
        "rule step_order: only the lot's holder records its steps",
    );
    // Portioned into another product of the name: the portions keep the
    // version, the steps and the inputs checked, and are attested.
    let portions = gtin("0952123410095");
    register(
        &mut d.chain,
        &d.dairy,
        &portions,
        "Casciotta d'Urbino porzionata",
        "DOP",
        "kg",
    );
    d.chain
        .ok(&d.dairy, LOTS, "record", step(&other_part, "ageing_end"));
    let portion = lot(&portions, "CU-P1");
    d.chain.ok(
        &d.dairy,
        LOTS,
        "transform",
        encode(&Transform {
            inputs: vec![LotAmount {
                id: other_part.clone(),
                quantity: 50,
            }],
            outputs: vec![LotAmount {
                id: portion.clone(),
                quantity: 50,
            }],
            site: Some(VOUCHED.into()),
            epcis_hash: None,
        }),
    );
    let (p, source) = (
        made_under(&d.chain, &portion).unwrap(),
        made_under(&d.chain, &other_part).unwrap(),
    );
    assert_eq!(
        (p.version, &p.steps, p.inputs_checked),
        (source.version, &source.steps, true)
    );
    // The whole product is not attested: its lots are, one by one.
    d.chain.refused(
        &body,
        CERTIFICATION,
        "attest",
        attestation(
            Subject::Product(d.cheese.clone()),
            "Casciotta d'Urbino",
            d.chain.time_ms,
        ),
        "has production rules: attest its lots",
    );

    // A lot of the name commissioned, not made from milk: made and aged,
    // never attested.
    let direct = lot(&d.cheese, "CU-DIRECT");
    let mut c = commission_args(&direct, 10);
    c.site = Some(VOUCHED.into());
    d.chain.ok(&d.dairy, LOTS, "commission", encode(&c));
    d.chain
        .ok(&d.dairy, LOTS, "record", step(&direct, "ageing_start"));
    d.chain.time_ms += 21 * DAY_MS;
    d.chain
        .ok(&d.dairy, LOTS, "record", step(&direct, "ageing_end"));
    d.chain.refused(
        &body,
        CERTIFICATION,
        "attest",
        attestation(Subject::Lot(direct), "Casciotta d'Urbino", d.chain.time_ms),
        "rule input_share: made without the inputs the rules ask for",
    );
}

#[test]
fn olives_milled_later_than_the_rules_allow_are_refused() {
    let mut chain = Chain::new();
    let mill = key(23);
    producer(&mut chain, "frantoio", &mill, &[]);
    let (olives, oil) = (gtin("0952123410097"), gtin("0952123410007"));
    register(&mut chain, &mill, &olives, "Olive Raggiola", "none", "kg");
    register(&mut chain, &mill, &oil, "Cartoceto", "DOP", "kg");
    let mut r = rules("DOP", "Cartoceto", chain.time_ms + 120_000);
    r.durations = vec![DurationRule {
        from: "inputs_made".into(),
        to: "commission".into(),
        min_days: 0,
        max_days: Some(2),
    }];
    chain.authority_does(AuthorityAction::SetRules(r));
    for l in ["OL-1", "OL-2"] {
        chain.ok(
            &mill,
            LOTS,
            "commission",
            encode(&commission_args(&lot(&olives, l), 1_000)),
        );
    }
    let mill_into = |from: &str, to: &str| {
        encode(&Transform {
            inputs: vec![LotAmount {
                id: lot(&olives, from),
                quantity: 1_000,
            }],
            outputs: vec![LotAmount {
                id: lot(&oil, to),
                quantity: 150,
            }],
            site: None,
            epcis_hash: None,
        })
    };
    chain.time_ms += DAY_MS;
    chain.ok(&mill, LOTS, "transform", mill_into("OL-1", "OIL-1"));
    chain.time_ms += 2 * DAY_MS;
    chain.refused(
        &mill,
        LOTS,
        "transform",
        mill_into("OL-2", "OIL-2"),
        "rule duration_max: inputs_made to commission takes at most 2 days, this lot 3",
    );
    // Split into a new lot, the same olives are as old as before.
    chain.ok(
        &mill,
        LOTS,
        "split",
        encode(&Split {
            from: lot(&olives, "OL-2"),
            parts: vec![LotAmount {
                id: lot(&olives, "OL-2B"),
                quantity: 1_000,
            }],
            epcis_hash: None,
        }),
    );
    chain.refused(
        &mill,
        LOTS,
        "transform",
        mill_into("OL-2B", "OIL-2"),
        "rule duration_max",
    );
    // Oil commissioned without olives is made, and never attested.
    chain.ok(
        &mill,
        LOTS,
        "commission",
        encode(&commission_args(&lot(&oil, "OIL-D"), 10)),
    );
    let body = key(24);
    chain.onboard("odc", 1, &[Role::CertificationBody], &body);
    chain.authority_does(AuthorityAction::Accredit {
        org: "odc".into(),
        scheme: "DOP".into(),
        scope: vec![],
        valid_from_ms: 0,
        valid_until_ms: chain.time_ms + 365 * DAY_MS,
    });
    let attest =
        |id: &str, time_ms: u64| attestation(Subject::Lot(lot(&oil, id)), "Cartoceto", time_ms);
    let now = chain.time_ms;
    chain.refused(
        &body,
        CERTIFICATION,
        "attest",
        attest("OIL-D", now),
        "made without the inputs the rules ask for",
    );
    chain.ok(&body, CERTIFICATION, "attest", attest("OIL-1", now));
}

#[test]
fn a_merge_neither_shortens_a_minimum_nor_stretches_a_maximum() {
    let mut chain = Chain::new();
    let salumificio = key(25);
    producer(&mut chain, "salumificio", &salumificio, &[]);
    let ciauscolo = gtin("0952123410006");
    register(
        &mut chain,
        &salumificio,
        &ciauscolo,
        "Ciauscolo",
        "IGP",
        "kg",
    );
    let mut r = rules("IGP", "Ciauscolo", chain.time_ms + 120_000);
    r.steps = vec![
        "commission".into(),
        "ageing_start".into(),
        "ageing_end".into(),
    ];
    r.durations = vec![DurationRule {
        max_days: Some(30),
        ..ageing(20)
    }];
    chain.authority_does(AuthorityAction::SetRules(r));
    let (older, younger) = (lot(&ciauscolo, "CI-A"), lot(&ciauscolo, "CI-B"));
    for id in [&older, &younger] {
        chain.ok(
            &salumificio,
            LOTS,
            "commission",
            encode(&commission_args(id, 10)),
        );
    }
    // One part starts its ageing 5 days before the other; they are merged.
    chain.ok(&salumificio, LOTS, "record", step(&older, "ageing_start"));
    chain.time_ms += 5 * DAY_MS;
    chain.ok(&salumificio, LOTS, "record", step(&younger, "ageing_start"));
    let merged = lot(&ciauscolo, "CI-AB");
    chain.ok(
        &salumificio,
        LOTS,
        "merge",
        encode(&Merge {
            from: vec![older.clone(), younger.clone()],
            into: merged.clone(),
            epcis_hash: None,
        }),
    );
    // 20 days after the older start, 15 after the younger: too soon.
    chain.time_ms += 15 * DAY_MS;
    chain.refused(
        &salumificio,
        LOTS,
        "record",
        step(&merged, "ageing_end"),
        "rule duration_min: ageing_start to ageing_end takes at least 20 days, this lot 15",
    );
    // 31 days after the older start: too late for it, though the younger
    // part has aged 26.
    chain.time_ms += 11 * DAY_MS;
    chain.refused(
        &salumificio,
        LOTS,
        "record",
        step(&merged, "ageing_end"),
        "rule duration_max: ageing_start to ageing_end takes at most 30 days, this lot 31",
    );
    // A lot made alone meets both at 25 days.
    let alone = lot(&ciauscolo, "CI-C");
    chain.ok(
        &salumificio,
        LOTS,
        "commission",
        encode(&commission_args(&alone, 10)),
    );
    chain.ok(&salumificio, LOTS, "record", step(&alone, "ageing_start"));
    chain.time_ms += 25 * DAY_MS;
    chain.ok(&salumificio, LOTS, "record", step(&alone, "ageing_end"));
}

#[test]
fn a_consortium_the_authority_delegates_to_amends_its_name_and_no_other() {
    let mut chain = Chain::new();
    let consortium = key(40);
    producer(&mut chain, "consorzio-casciotta", &consortium, &[]);
    let stranger_org = key(41);
    producer(&mut chain, "caseificio-altro", &stranger_org, &[]);
    let name = "Casciotta d'Urbino";
    let amendment = |from_ms: u64| ProductionRules {
        durations: vec![ageing(20)],
        steps: vec![
            "commission".into(),
            "ageing_start".into(),
            "ageing_end".into(),
        ],
        ..rules("DOP", name, from_ms)
    };
    let set = |r: ProductionRules| encode(&r);
    // Not delegated yet: the authority's alone.
    let r = set(amendment(chain.time_ms + DAY_MS));
    chain.refused(&consortium, REGISTRY, "set_rules", r, "not delegated");

    chain.authority_does(AuthorityAction::DelegateRules {
        scheme: "DOP".into(),
        name: name.into(),
        org: Some("consorzio-casciotta".into()),
    });
    // Another organisation, another name, a backdated date: refused.
    let r = set(amendment(chain.time_ms + DAY_MS));
    chain.refused(&stranger_org, REGISTRY, "set_rules", r, "not delegated");
    let r = set(rules("IGP", "Ciauscolo", chain.time_ms + DAY_MS));
    chain.refused(&consortium, REGISTRY, "set_rules", r, "not delegated");
    let r = set(amendment(chain.time_ms));
    chain.refused(&consortium, REGISTRY, "set_rules", r, "backdated");
    // Dated so far ahead that no amendment could come before it.
    let r = set(amendment(u64::MAX));
    chain.refused(&consortium, REGISTRY, "set_rules", r, "too far ahead");
    assert!(versions(&chain, "DOP", name).is_empty());

    // The consortium sets its name's rules (written as it likes: folded).
    chain.ok(
        &consortium,
        REGISTRY,
        "set_rules",
        set(amendment(chain.time_ms + DAY_MS)),
    );
    let spelled = ProductionRules {
        name: "CASCIOTTA D'URBINO".into(),
        ..amendment(chain.time_ms + 3 * DAY_MS)
    };
    chain.ok(&consortium, REGISTRY, "set_rules", set(spelled));
    let v = versions(&chain, "DOP", name);
    assert_eq!(v.len(), 2, "{v:?}");
    assert_eq!(v[1].version, 2);
    // The authority keeps its own power over the name.
    chain.authority_does(AuthorityAction::SetRules(amendment(
        chain.time_ms + 4 * DAY_MS,
    )));
    assert_eq!(versions(&chain, "DOP", name).len(), 3);

    // Withdrawn: the consortium is refused again.
    chain.authority_does(AuthorityAction::DelegateRules {
        scheme: "DOP".into(),
        name: name.into(),
        org: None,
    });
    let r = set(amendment(chain.time_ms + 5 * DAY_MS));
    chain.refused(&consortium, REGISTRY, "set_rules", r, "not delegated");
    assert_eq!(versions(&chain, "DOP", name).len(), 3);
}
