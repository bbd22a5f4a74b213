//! The brief's lifecycles on the real runtime and the committed contracts.

use crate::chain::{Chain, DAY_MS, START_MS, key};
use filiera_contract_api::certification::{Attest, Attestation, ChangeStatus, Subject, Validity};
use filiera_contract_api::contract_ids::{CERTIFICATION, LOTS, REGISTRY};
use filiera_contract_api::lots::{
    Commission, EventKind, LotAmount, LotRecord, LotRef, LotStatus, Merge, Recall, Record,
    RegisterProduct, Split, Transform,
};
use filiera_contract_api::registry::{AuthorityAction, Role, SiteRecord};
use filiera_contract_api::{encode, keys};
use filiera_types::SecretKey;

/// A GTIN-14 from its 13 leading digits.
pub fn gtin(body: &str) -> String {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

pub fn lot(gtin: &str, lot: &str) -> LotRef {
    LotRef {
        gtin: gtin.into(),
        lot: lot.into(),
    }
}

pub fn product(
    chain: &mut Chain,
    owner: &SecretKey,
    gtin: &str,
    name: &str,
    scheme: &str,
    yield_permille: u64,
) {
    let args = RegisterProduct {
        gtin: gtin.into(),
        name: name.into(),
        scheme: scheme.into(),
        uom: "kg".into(),
        max_yield_permille: yield_permille,
    };
    chain.ok(owner, LOTS, "register_product", encode(&args));
}

pub fn commission_args(id: &LotRef, quantity: u64) -> Commission {
    Commission {
        id: id.clone(),
        quantity,
        site: None,
        metadata: vec![],
        private_hash: None,
        epcis_hash: None,
    }
}

pub fn record_args(id: &LotRef, kind: EventKind) -> Record {
    Record {
        id: id.clone(),
        kind,
        to: None,
        quantity: 0,
        site: None,
        corrects: None,
        note: String::new(),
        epcis_hash: None,
    }
}

pub fn ship(chain: &mut Chain, from: &SecretKey, to_key: &SecretKey, to: &str, id: &LotRef) {
    chain.ok(
        from,
        LOTS,
        "record",
        encode(&Record {
            to: Some(to.into()),
            ..record_args(id, EventKind::Ship)
        }),
    );
    chain.ok(
        to_key,
        LOTS,
        "record",
        encode(&record_args(id, EventKind::Receive)),
    );
}

fn accredit(chain: &mut Chain, org: &str, scheme: &str, scope: &[&str]) {
    chain.authority_does(AuthorityAction::Accredit {
        org: org.into(),
        scheme: scheme.into(),
        scope: scope.iter().map(|s| s.to_string()).collect(),
        valid_from_ms: START_MS - DAY_MS,
        valid_until_ms: START_MS + 365 * DAY_MS,
    });
}

fn lot_record(chain: &Chain, id: &LotRef) -> LotRecord {
    chain.get(LOTS, &keys::lot(&id.gtin, &id.lot)).unwrap()
}

#[test]
fn casciotta_durbino_from_milk_to_released_certified_forms() {
    let mut chain = Chain::new();
    let (sheep, cow, dairy, assam, valoritalia) = (key(10), key(11), key(12), key(13), key(14));
    chain.onboard("azienda-ovina", 3, &[Role::Producer], &sheep);
    chain.onboard("stalla-bovina", 3, &[Role::Producer], &cow);
    chain.onboard("caseificio-urbino", 3, &[Role::Producer], &dairy);
    chain.onboard("assam", 1, &[Role::CertificationBody], &assam);
    chain.onboard("valoritalia", 1, &[Role::CertificationBody], &valoritalia);
    accredit(
        &mut chain,
        "assam",
        "DOP",
        &["Casciotta d'Urbino", "Ciauscolo"],
    );
    accredit(&mut chain, "valoritalia", "DOC", &[]);

    for (gln, kind) in [("9521234000013", "dairy"), ("9521234000020", "ageing_room")] {
        let site = SiteRecord {
            gln: gln.into(),
            org: "caseificio-urbino".into(),
            kind: kind.into(),
            name: "Urbino (PU)".into(),
        };
        chain.ok(&dairy, REGISTRY, "register_site", encode(&site));
    }
    let (sheep_milk, cow_milk, casciotta) = (
        gtin("0952123410002"),
        gtin("0952123410003"),
        gtin("0952123410001"),
    );
    product(
        &mut chain,
        &sheep,
        &sheep_milk,
        "Latte ovino crudo",
        "none",
        1000,
    );
    product(
        &mut chain,
        &cow,
        &cow_milk,
        "Latte vaccino crudo",
        "none",
        1000,
    );
    // At most 200 g of cheese per kg of milk.
    product(
        &mut chain,
        &dairy,
        &casciotta,
        "Casciotta d'Urbino",
        "DOP",
        200,
    );

    let (ovino, vaccino) = (lot(&sheep_milk, "OV-251124"), lot(&cow_milk, "BO-251124"));
    chain.ok(
        &sheep,
        LOTS,
        "commission",
        encode(&commission_args(&ovino, 800)),
    );
    chain.ok(
        &cow,
        LOTS,
        "commission",
        encode(&commission_args(&vaccino, 250)),
    );
    ship(&mut chain, &sheep, &dairy, "caseificio-urbino", &ovino);
    ship(&mut chain, &cow, &dairy, "caseificio-urbino", &vaccino);

    let forms = lot(&casciotta, "CU-251124");
    let make = |out: u64| Transform {
        inputs: vec![
            LotAmount {
                id: ovino.clone(),
                quantity: 800,
            },
            LotAmount {
                id: vaccino.clone(),
                quantity: 200,
            },
        ],
        outputs: vec![LotAmount {
            id: forms.clone(),
            quantity: out,
        }],
        site: Some("9521234000013".into()),
        epcis_hash: None,
    };
    // 1000 kg of milk cannot make 201 kg of Casciotta.
    chain.refused(
        &dairy,
        LOTS,
        "transform",
        encode(&make(201)),
        "maximum yield",
    );
    // The farm neither owns the cheese product nor holds the milk any more.
    chain.refused(
        &sheep,
        LOTS,
        "transform",
        encode(&Transform {
            site: None,
            ..make(150)
        }),
        "belongs to caseificio-urbino",
    );
    // Nor may it use the dairy's site.
    chain.refused(
        &sheep,
        LOTS,
        "transform",
        encode(&make(150)),
        "not run by azienda-ovina",
    );
    chain.ok(&dairy, LOTS, "transform", encode(&make(180)));

    let milk = lot_record(&chain, &ovino);
    assert_eq!((milk.quantity, milk.status), (0, LotStatus::Consumed));
    let cow_left = lot_record(&chain, &vaccino);
    assert_eq!(
        (cow_left.quantity, cow_left.status),
        (50, LotStatus::Active),
        "draws down only what was used"
    );
    let cheese = lot_record(&chain, &forms);
    assert_eq!(
        (cheese.quantity, cheese.holder.as_str()),
        (180, "caseificio-urbino")
    );
    assert_eq!(cheese.inputs, vec![ovino.clone(), vaccino.clone()]);

    chain.ok(
        &dairy,
        LOTS,
        "record",
        encode(&Record {
            site: Some("9521234000020".into()),
            note: "ageing 20 days".into(),
            ..record_args(&forms, EventKind::Store)
        }),
    );
    chain.ok(
        &dairy,
        LOTS,
        "record",
        encode(&record_args(&forms, EventKind::Hold)),
    );
    chain.refused(
        &dairy,
        LOTS,
        "record",
        encode(&record_args(&forms, EventKind::Sell)),
        "cannot be sold",
    );
    chain.ok(
        &assam,
        LOTS,
        "record",
        encode(&Record {
            note: "conforme al disciplinare".into(),
            ..record_args(&forms, EventKind::Inspect)
        }),
    );

    let attest = Attest {
        subject: Subject::Lot(forms.clone()),
        scheme: "DOP".into(),
        protected_name: "Casciotta d'Urbino".into(),
        evidence_hash: [0xEE; 32],
        valid_from_ms: chain.time_ms,
        valid_until_ms: chain.time_ms + 90 * DAY_MS,
    };
    // Valoritalia is accredited for DOC only.
    chain.refused(
        &valoritalia,
        CERTIFICATION,
        "attest",
        encode(&attest),
        "not accredited for DOP",
    );
    // The dairy is no certification body.
    chain.refused(
        &dairy,
        CERTIFICATION,
        "attest",
        encode(&attest),
        "not an active certification body",
    );
    // The wrong protected name for the product.
    chain.refused(
        &assam,
        CERTIFICATION,
        "attest",
        encode(&Attest {
            protected_name: "Ciauscolo".into(),
            ..attest.clone()
        }),
        "is \"Casciotta d'Urbino\"",
    );
    let r = chain.ok(&assam, CERTIFICATION, "attest", encode(&attest));
    let id: u64 = filiera_contract_api::decode(&r.return_data).unwrap();
    chain.ok(
        &dairy,
        LOTS,
        "record",
        encode(&record_args(&forms, EventKind::Release)),
    );

    let cheese = lot_record(&chain, &forms);
    assert_eq!(cheese.status, LotStatus::Active);
    assert_eq!(cheese.events, 5, "transform, store, hold, inspect, release");
    let att: Attestation = chain.get(CERTIFICATION, &keys::attestation(id)).unwrap();
    assert_eq!(att.validity_at(chain.time_ms), Validity::Valid);
    assert_eq!(
        att.validity_at(attest.valid_until_ms),
        Validity::Expired,
        "expiry is derived from time"
    );

    // Only the issuer suspends; suspension and reinstatement are history.
    let why = |s: &str| {
        encode(&ChangeStatus {
            id,
            reason: s.into(),
        })
    };
    chain.refused(
        &valoritalia,
        CERTIFICATION,
        "suspend",
        why("no"),
        "only the issuing body",
    );
    chain.ok(
        &assam,
        CERTIFICATION,
        "suspend",
        why("sample under analysis"),
    );
    let suspended_at = chain.time_ms;
    chain.ok(
        &assam,
        CERTIFICATION,
        "reinstate",
        why("analysis conforming"),
    );
    let att: Attestation = chain.get(CERTIFICATION, &keys::attestation(id)).unwrap();
    assert_eq!(att.validity_at(suspended_at), Validity::Suspended);
    assert_eq!(att.validity_at(chain.time_ms), Validity::Valid);
    chain.ok(&assam, CERTIFICATION, "revoke", why("non-conformity"));
    let att: Attestation = chain.get(CERTIFICATION, &keys::attestation(id)).unwrap();
    assert_eq!(att.validity_at(chain.time_ms), Validity::Revoked);
    chain.refused(&assam, CERTIFICATION, "reinstate", why("again"), "revoked");
}

#[test]
fn a_ciauscolo_recall_reaches_every_derived_lot_and_nothing_else() {
    let mut chain = Chain::new();
    let (farm, salumificio, distributor, other) = (key(20), key(21), key(22), key(23));
    chain.onboard("allevamento", 3, &[Role::Producer], &farm);
    chain.onboard("salumificio", 3, &[Role::Producer], &salumificio);
    chain.onboard("distributore", 4, &[Role::Processor], &distributor);
    chain.onboard("altro-allevamento", 3, &[Role::Producer], &other);
    let (pigs, ciauscolo) = (gtin("0952123420001"), gtin("0952123420002"));
    product(&mut chain, &farm, &pigs, "Suini pesanti", "none", 1000);
    product(
        &mut chain,
        &salumificio,
        &ciauscolo,
        "Ciauscolo",
        "IGP",
        800,
    );
    let other_pigs = gtin("0952123420003");
    product(&mut chain, &other, &other_pigs, "Suini", "none", 1000);

    let p1 = lot(&pigs, "P1");
    chain.ok(
        &farm,
        LOTS,
        "commission",
        encode(&commission_args(&p1, 1000)),
    );
    ship(&mut chain, &farm, &salumificio, "salumificio", &p1);
    let u = lot(&other_pigs, "U1");
    chain.ok(
        &other,
        LOTS,
        "commission",
        encode(&commission_args(&u, 500)),
    );
    ship(&mut chain, &other, &salumificio, "salumificio", &u);

    let transform = |input: &LotRef, q: u64, out: &LotRef, oq: u64| Transform {
        inputs: vec![LotAmount {
            id: input.clone(),
            quantity: q,
        }],
        outputs: vec![LotAmount {
            id: out.clone(),
            quantity: oq,
        }],
        site: None,
        epcis_hash: None,
    };
    let (c1, c2, c_unrelated) = (
        lot(&ciauscolo, "C1"),
        lot(&ciauscolo, "C2"),
        lot(&ciauscolo, "C9"),
    );
    chain.ok(
        &salumificio,
        LOTS,
        "transform",
        encode(&transform(&p1, 600, &c1, 480)),
    );
    chain.ok(
        &salumificio,
        LOTS,
        "transform",
        encode(&transform(&p1, 300, &c2, 240)),
    );
    chain.ok(
        &salumificio,
        LOTS,
        "transform",
        encode(&transform(&u, 500, &c_unrelated, 400)),
    );
    let (c1a, c1b) = (lot(&ciauscolo, "C1A"), lot(&ciauscolo, "C1B"));
    // A split must balance exactly.
    let split = |a: u64| Split {
        from: c1.clone(),
        parts: vec![
            LotAmount {
                id: c1a.clone(),
                quantity: a,
            },
            LotAmount {
                id: c1b.clone(),
                quantity: 280,
            },
        ],
        epcis_hash: None,
    };
    chain.refused(
        &salumificio,
        LOTS,
        "split",
        encode(&split(201)),
        "parts sum to 481",
    );
    chain.ok(&salumificio, LOTS, "split", encode(&split(200)));
    let c3 = lot(&ciauscolo, "C3");
    chain.ok(
        &salumificio,
        LOTS,
        "merge",
        encode(&Merge {
            from: vec![c1a.clone(), c2.clone()],
            into: c3.clone(),
            epcis_hash: None,
        }),
    );
    assert_eq!(
        lot_record(&chain, &c3).quantity,
        440,
        "a merge balances exactly"
    );
    ship(&mut chain, &salumificio, &distributor, "distributore", &c1b);

    // Only the owner of the lot (or the authority) recalls it.
    let recall = encode(&Recall {
        id: p1.clone(),
        reason: "Salmonella in batch P1".into(),
    });
    chain.refused(
        &distributor,
        LOTS,
        "recall",
        recall.clone(),
        "only the lot's owner",
    );
    chain.refused(
        &salumificio,
        LOTS,
        "recall",
        recall.clone(),
        "only the lot's owner",
    );
    let r = chain.ok(&farm, LOTS, "recall", recall);
    let reached: u32 = filiera_contract_api::decode(&r.return_data).unwrap();
    assert_eq!(reached, 6, "P1, C1, C2, C1A, C1B, C3");
    for id in [&p1, &c1, &c2, &c1a, &c1b, &c3] {
        let mark = lot_record(&chain, id)
            .recall
            .unwrap_or_else(|| panic!("{id:?} is not marked"));
        assert_eq!(mark.origin, p1);
    }
    for id in [&u, &c_unrelated] {
        assert!(
            lot_record(&chain, id).recall.is_none(),
            "{id:?} is not downstream of P1"
        );
    }
    // A recalled lot can be neither sold nor shipped on.
    chain.refused(
        &distributor,
        LOTS,
        "record",
        encode(&record_args(&c1b, EventKind::Sell)),
        "cannot be sold",
    );
    chain.refused(
        &salumificio,
        LOTS,
        "record",
        encode(&Record {
            to: Some("distributore".into()),
            ..record_args(&c3, EventKind::Ship)
        }),
        "recalled",
    );
    // The authority may recall any lot.
    let authority = chain.authority[2].clone();
    chain.ok(
        &authority,
        LOTS,
        "recall",
        encode(&Recall {
            id: u.clone(),
            reason: "precaution".into(),
        }),
    );
    assert!(lot_record(&chain, &c_unrelated).recall.is_some());
}

#[test]
fn authority_actions_need_the_threshold_and_distinct_keys() {
    let mut chain = Chain::new();
    let (a, b) = (chain.authority[0].clone(), chain.authority[1].clone());
    let newcomer = key(40);
    let action = AuthorityAction::RegisterOrg {
        id: "nuova".into(),
        name: "Nuova".into(),
        kind: 3,
        vat_number: None,
        roles: vec![Role::Producer],
        keys: vec![newcomer.public_key().0],
    };
    let r = chain.ok(&a, REGISTRY, "propose", encode(&action));
    let id: u64 = filiera_contract_api::decode(&r.return_data).unwrap();
    assert!(
        !chain
            .state
            .0
            .contains_key(&filiera_contract_api::keys::state_key(
                REGISTRY,
                &keys::org("nuova")
            )),
        "one approval is not enough"
    );
    chain.refused(&a, REGISTRY, "approve", encode(&id), "already approved");
    // A key of no organisation yet is refused before any contract runs.
    chain.refused(
        &newcomer,
        REGISTRY,
        "approve",
        encode(&id),
        "not a key of a member organisation",
    );
    chain.ok(&b, REGISTRY, "approve", encode(&id));
    // Once a member, it runs the contract, which wants an authority key.
    chain.refused(
        &newcomer,
        REGISTRY,
        "propose",
        encode(&action),
        "only an authority key",
    );
    assert!(
        chain
            .state
            .0
            .contains_key(&filiera_contract_api::keys::state_key(
                REGISTRY,
                &keys::org("nuova")
            ))
    );
    chain.refused(
        &chain.authority[2].clone(),
        REGISTRY,
        "approve",
        encode(&id),
        "already executed",
    );
    // A suspended organisation may not act.
    chain.authority_does(AuthorityAction::SetOrgStatus {
        org: "nuova".into(),
        status: filiera_contract_api::registry::OrgStatus::Suspended,
    });
    chain.refused(
        &newcomer,
        LOTS,
        "register_product",
        encode(&RegisterProduct {
            gtin: gtin("0952123499999"),
            name: "x".into(),
            scheme: "none".into(),
            uom: "kg".into(),
            max_yield_permille: 1000,
        }),
        "belongs to an organisation that is not active",
    );
}
