use crate::fixture;
use filiera_contract_api::lots::{EventKind, LotAmount, LotRef};
use filiera_epcis::{Plan, parse_document, plan};

fn lot(gtin: &str, lot: &str) -> LotRef {
    LotRef {
        gtin: gtin.into(),
        lot: lot.into(),
    }
}

#[test]
fn the_casciotta_chain_becomes_commission_transform_and_ship() {
    let bytes = std::fs::read(fixture("marche-casciotta.jsonld")).unwrap();
    let doc = parse_document(&bytes).unwrap();
    let plans: Vec<Plan> = doc.events.iter().map(|(_, e)| plan(e).unwrap()).collect();
    assert_eq!(
        plans,
        vec![
            Plan::Commission {
                lot: lot("09520000000103", "LATTE-0410"),
                quantity: 400,
                site: Some("9520000000011".into()),
            },
            Plan::Transform {
                inputs: vec![LotAmount {
                    id: lot("09520000000103", "LATTE-0410"),
                    quantity: 400
                }],
                outputs: vec![LotAmount {
                    id: lot("09520000000202", "CASC-0410"),
                    quantity: 60
                }],
                site: Some("9520000000011".into()),
            },
            Plan::Record {
                lot: lot("09520000000202", "CASC-0410"),
                kind: EventKind::Ship,
                quantity: 20,
                site: Some("9520000000011".into()),
                destination: Some("9520000000028".into()),
            },
        ]
    );
}

#[test]
fn events_without_a_lot_action_say_why() {
    let bytes = std::fs::read(fixture("standard-shapes.jsonld")).unwrap();
    let doc = parse_document(&bytes).unwrap();
    let reasons: Vec<String> = doc
        .events
        .iter()
        .filter_map(|(_, e)| plan(e).err().map(|e| e.to_string()))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("AggregationEvent has no lot action"))
    );
    assert!(reasons.iter().any(|r| r.contains("exactly one lot")));
    let fractional = serde_json::json!({
        "type": "ObjectEvent", "action": "OBSERVE", "bizStep": "storing",
        "eventTime": "2026-03-02T09:30:00Z", "eventTimeZoneOffset": "+00:00",
        "quantityList": [{"epcClass": "urn:epc:class:lgtin:9520123.011111.L1", "quantity": 2.5}]
    });
    assert!(
        plan(&fractional)
            .unwrap_err()
            .to_string()
            .contains("whole number")
    );
}
