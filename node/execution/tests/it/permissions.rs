//! The role-permission table: every (role, action) pair is tried; the allowed
//! ones succeed, every other one fails with a message and changes nothing.

use crate::chain::{Chain, DAY_MS, START_MS, key};
use crate::lifecycle::{commission_args, gtin, lot, product, record_args, ship};
use filiera_contract_api::certification::{Attest, Subject};
use filiera_contract_api::contract_ids::{CERTIFICATION, LOTS, REGISTRY};
use filiera_contract_api::encode;
use filiera_contract_api::lots::{EventKind, LotAmount, Recall, RegisterProduct, Transform};
use filiera_contract_api::registry::{AuthorityAction, Role, SiteRecord};
use filiera_types::SecretKey;
use filiera_types::receipt::TxStatus;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Action {
    Propose,
    RegisterSite,
    RegisterProduct,
    Commission,
    Transform,
    Inspect,
    Attest,
    RecallOthersLot,
}

const ACTIONS: [Action; 8] = [
    Action::Propose,
    Action::RegisterSite,
    Action::RegisterProduct,
    Action::Commission,
    Action::Transform,
    Action::Inspect,
    Action::Attest,
    Action::RecallOthersLot,
];

fn allowed(role: Role, action: Action) -> bool {
    use Action::*;
    match action {
        Propose | RecallOthersLot => role == Role::Authority,
        RegisterSite | RegisterProduct | Transform => {
            matches!(role, Role::Producer | Role::Processor)
        }
        Commission => role == Role::Producer,
        Inspect | Attest => role == Role::CertificationBody,
    }
}

#[test]
fn every_role_may_do_exactly_what_the_table_allows() {
    let mut chain = Chain::new();
    let base = key(50);
    chain.onboard("base-farm", 3, &[Role::Producer], &base);
    let base_gtin = gtin("0952123450000");
    product(
        &mut chain,
        &base,
        &base_gtin,
        "Casciotta d'Urbino",
        "DOP",
        1000,
    );
    let inspected = lot(&base_gtin, "INSPECT");
    chain.ok(
        &base,
        LOTS,
        "commission",
        encode(&commission_args(&inspected, 100)),
    );

    // One organisation per role (the authority's is the genesis one).
    let mut actors: Vec<(Role, String, SecretKey)> = vec![(
        Role::Authority,
        "regione-marche".into(),
        chain.authority[0].clone(),
    )];
    for (i, role) in Role::ALL.into_iter().skip(1).enumerate() {
        let (id, k) = (format!("org-{i}"), key(60 + i as u8));
        chain.onboard(&id, 3, &[role], &k);
        if role == Role::CertificationBody {
            chain.authority_does(AuthorityAction::Accredit {
                org: id.clone(),
                scheme: "DOP".into(),
                scope: vec![],
                valid_from_ms: START_MS,
                valid_until_ms: START_MS + 365 * DAY_MS,
            });
        }
        actors.push((role, id, k));
    }

    let mut checked = 0;
    for (n, (role, org, signer)) in actors.iter().enumerate() {
        let own_gtin = gtin(&format!("095212346{n:03}0"));
        // Lots held by this actor where the rules let it hold one.
        let input = lot(&base_gtin, &format!("IN-{n}"));
        chain.ok(
            &base,
            LOTS,
            "commission",
            encode(&commission_args(&input, 100)),
        );
        if matches!(role, Role::Producer | Role::Processor) {
            ship(&mut chain, &base, signer, org, &input);
        }
        let recallable = lot(&base_gtin, &format!("RC-{n}"));
        chain.ok(
            &base,
            LOTS,
            "commission",
            encode(&commission_args(&recallable, 10)),
        );

        for action in ACTIONS {
            let (contract, method, args) = match action {
                Action::Propose => (
                    REGISTRY,
                    "propose",
                    encode(&AuthorityAction::GrantRole {
                        org: "base-farm".into(),
                        role: Role::Auditor,
                    }),
                ),
                Action::RegisterSite => {
                    let site = SiteRecord {
                        gln: gtin(&format!("9521234700{n:02}")),
                        org: org.clone(),
                        kind: "farm".into(),
                        name: "Sito".into(),
                    };
                    (REGISTRY, "register_site", encode(&site))
                }
                Action::RegisterProduct => {
                    let args = RegisterProduct {
                        gtin: own_gtin.clone(),
                        name: "Prodotto".into(),
                        scheme: "none".into(),
                        uom: "kg".into(),
                        max_yield_permille: 1000,
                    };
                    (LOTS, "register_product", encode(&args))
                }
                Action::Commission => (
                    LOTS,
                    "commission",
                    encode(&commission_args(&lot(&own_gtin, &format!("OWN-{n}")), 5)),
                ),
                Action::Transform => {
                    let t = Transform {
                        inputs: vec![LotAmount {
                            id: input.clone(),
                            quantity: 50,
                        }],
                        outputs: vec![LotAmount {
                            id: lot(&own_gtin, &format!("OUT-{n}")),
                            quantity: 50,
                        }],
                        site: None,
                        epcis_hash: None,
                    };
                    (LOTS, "transform", encode(&t))
                }
                Action::Inspect => (
                    LOTS,
                    "record",
                    encode(&record_args(&inspected, EventKind::Inspect)),
                ),
                Action::Attest => {
                    let a = Attest {
                        subject: Subject::Lot(inspected.clone()),
                        scheme: "DOP".into(),
                        protected_name: "Casciotta d'Urbino".into(),
                        evidence_hash: [1; 32],
                        valid_from_ms: START_MS,
                        valid_until_ms: START_MS + DAY_MS,
                    };
                    (CERTIFICATION, "attest", encode(&a))
                }
                Action::RecallOthersLot => (
                    LOTS,
                    "recall",
                    encode(&Recall {
                        id: recallable.clone(),
                        reason: "test".into(),
                    }),
                ),
            };
            let before = chain.contract_state();
            let receipt = chain.submit(signer, contract, method, args);
            let after = chain.contract_state();
            if allowed(*role, action) {
                assert_eq!(receipt.status, TxStatus::Success, "{role:?} may {action:?}");
                assert_ne!(before, after, "{role:?} {action:?} changed the state");
            } else {
                match &receipt.status {
                    TxStatus::Failed { message, .. } => {
                        assert!(!message.is_empty(), "{role:?} {action:?}: a clear error")
                    }
                    TxStatus::Success => panic!("{role:?} must not {action:?}"),
                }
                assert_eq!(
                    before, after,
                    "{role:?} {action:?} was refused but changed state"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, Role::ALL.len() * ACTIONS.len());
}
