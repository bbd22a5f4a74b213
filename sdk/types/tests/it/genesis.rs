//! Genesis: strict loading, errors that name the field, a hash independent of JSON spelling.

use crate::fixtures::key;
use filiera_types::Genesis;
use serde_json::{Value, json};

/// A small valid genesis with keys from fixed seeds.
pub fn sample_genesis_json() -> Value {
    let pk = |n: u8| key(n).public_key().to_hex();
    json!({
        "format_version": 1,
        "rules_version": 1,
        "chain_id": "filiera-test-1",
        "genesis_time_ms": "2026-11-24T00:00:00Z",
        "consensus": {
            "timeout_propose_ms": 3000, "timeout_prevote_ms": 1000, "timeout_precommit_ms": 1000,
            "timeout_delta_ms": 500, "block_interval_ms": 250, "block_bytes_max": 4194304,
            "tx_bytes_max": 32768, "block_txs_max": 10000, "tx_expiry_blocks_max": 10000
        },
        "validators": [
            {"name": "v0", "organisation": "regione-marche", "consensus_key": pk(10), "p2p_key": pk(20), "p2p_address": "/ip4/127.0.0.1/tcp/26656", "power": 1},
            {"name": "v1", "organisation": "regione-marche", "consensus_key": pk(11), "p2p_key": pk(21), "p2p_address": "/ip4/127.0.0.1/tcp/26657", "power": 1},
            {"name": "v2", "organisation": "assam-apc", "consensus_key": pk(12), "p2p_key": pk(22), "p2p_address": "/ip4/127.0.0.1/tcp/26658", "power": 1},
            {"name": "v3", "organisation": "assam-apc", "consensus_key": pk(13), "p2p_key": pk(23), "p2p_address": "/dns/validator3.example/tcp/26656", "power": 2}
        ],
        "authority": {"organisation": "regione-marche", "keys": [pk(30), pk(31), pk(32)], "threshold": 2},
        "organisations": [
            {"id": "regione-marche", "name": "Regione Marche", "kind": "public_authority", "roles": ["authority", "validator_operator"], "keys": [pk(40)]},
            {"id": "assam-apc", "name": "APC - ASSAM Marche", "kind": "control_body", "roles": ["certification_body", "validator_operator"], "keys": [pk(41)],
             "accreditations": [{"scheme": "DOP", "scope": ["Casciotta d'Urbino"], "valid_from_ms": "2025-01-01T00:00:00Z", "valid_until_ms": "2030-01-01T00:00:00Z"}]},
            {"id": "caseificio-demo", "name": "Caseificio demo", "kind": "producer", "vat_number": "01234567890", "roles": ["producer"], "keys": [pk(42)]}
        ],
        "catalogue": {
            "schemes": [{"code": "DOP", "name": "Denominazione di Origine Protetta (PDO)", "law": "Reg. (UE) 2024/1143"}],
            "products": [
                {"gtin": "09521234100010", "name": "Casciotta d'Urbino", "scheme": "DOP", "category": "cheese", "unit": "piece", "uom": "kg", "description": "Casciotta d'Urbino DOP", "owner": "caseificio-demo"},
                {"gtin": "9521234100027", "name": "Latte ovino crudo", "scheme": "none", "category": "raw material", "unit": "bulk", "uom": "kg", "description": "Sheep milk"}
            ],
            "locations": [{"gln": "9521234000013", "kind": "dairy", "name": "Caseificio demo, Urbino (PU)", "owner": "caseificio-demo"}]
        },
        "contracts": []
    })
}

fn load(value: &Value) -> Result<Genesis, filiera_types::genesis::GenesisError> {
    Genesis::from_json(serde_json::to_string(value).unwrap().as_bytes())
}

/// Applies `edit` to the sample and returns the error's field and message.
fn broken(edit: impl FnOnce(&mut Value)) -> (String, String) {
    let mut value = sample_genesis_json();
    edit(&mut value);
    let err = load(&value).expect_err("the edited genesis must be refused");
    (err.field, err.message)
}

#[test]
fn sample_is_valid_and_normalises_gtins() {
    let g = load(&sample_genesis_json()).unwrap();
    assert_eq!(g.catalogue.products[1].gtin.as_str(), "09521234100027");
    assert_eq!(g.validator_set().unwrap().total_power(), 5);
}

#[test]
fn hash_does_not_depend_on_json_spelling() {
    let value = sample_genesis_json();
    let pretty = serde_json::to_string_pretty(&value).unwrap();
    let compact = serde_json::to_string(&value).unwrap();
    let a = Genesis::from_json(pretty.as_bytes()).unwrap().hash();
    assert_eq!(Genesis::from_json(compact.as_bytes()).unwrap().hash(), a);
    let mut other_zone = value.clone();
    other_zone["genesis_time_ms"] = json!("2026-11-24T01:00:00+01:00");
    assert_eq!(load(&other_zone).unwrap().hash(), a);
    let mut gtin13 = value.clone();
    gtin13["catalogue"]["products"][0]["gtin"] = json!("9521234100010");
    assert_eq!(load(&gtin13).unwrap().hash(), a);
    let mut changed = value;
    changed["validators"][0]["power"] = json!(3);
    assert_ne!(load(&changed).unwrap().hash(), a);
}

#[test]
fn round_trips_through_its_own_json() {
    let g = load(&sample_genesis_json()).unwrap();
    assert_eq!(
        Genesis::from_json(g.to_json_pretty().as_bytes()).unwrap(),
        g
    );
}

#[test]
fn bad_key_is_named() {
    let (field, msg) = broken(|v| v["validators"][1]["consensus_key"] = json!("zz"));
    assert_eq!(field, "validators[1].consensus_key");
    assert!(msg.contains("hex"), "{msg}");
    // The identity point: well-formed hex, but not a usable key.
    let identity = format!("01{}", "00".repeat(31));
    let (field, msg) = broken(|v| v["validators"][2]["p2p_key"] = json!(identity));
    assert_eq!(field, "validators[2].p2p_key");
    assert!(msg.contains("not a valid ed25519 public key"), "{msg}");
}

#[test]
fn duplicate_validator_is_named() {
    let (field, msg) = broken(|v| {
        v["validators"][3]["consensus_key"] = v["validators"][0]["consensus_key"].clone()
    });
    assert_eq!(field, "validators[3].consensus_key");
    assert!(
        msg.contains("duplicate") && msg.contains("validators[0].consensus_key"),
        "{msg}"
    );
    let (field, _) = broken(|v| v["validators"][2]["name"] = json!("v0"));
    assert_eq!(field, "validators[2].name");
}

#[test]
fn threshold_above_key_count_is_named() {
    let (field, msg) = broken(|v| v["authority"]["threshold"] = json!(4));
    assert_eq!(field, "authority.threshold");
    assert!(
        msg.contains("number of keys (3)") && msg.contains("found 4"),
        "{msg}"
    );
    let (field, _) = broken(|v| v["authority"]["threshold"] = json!(0));
    assert_eq!(field, "authority.threshold");
}

#[test]
fn invalid_gtin_in_catalogue_is_named_with_the_expected_check_digit() {
    let (field, msg) = broken(|v| v["catalogue"]["products"][0]["gtin"] = json!("09521234100011"));
    assert_eq!(field, "catalogue.products[0].gtin");
    assert!(msg.contains("check digit should be 0"), "{msg}");
    let (field, _) = broken(|v| v["catalogue"]["locations"][0]["gln"] = json!("9521234000014"));
    assert_eq!(field, "catalogue.locations[0].gln");
}

#[test]
fn other_broken_fields_are_named() {
    type Edit = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|v| v["chain_id"] = json!("Filiera Test")),
            "chain_id",
        ),
        (
            Box::new(|v| v["genesis_time_ms"] = json!("yesterday")),
            "genesis_time_ms",
        ),
        (
            Box::new(|v| v["format_version"] = json!(2)),
            "format_version",
        ),
        (Box::new(|v| v["rules_version"] = json!(2)), "rules_version"),
        (
            Box::new(|v| v["consensus"]["tx_bytes_max"] = json!(100)),
            "consensus.tx_bytes_max",
        ),
        (
            Box::new(|v| v["consensus"]["block_bytes_max"] = json!(1000)),
            "consensus.block_bytes_max",
        ),
        (
            Box::new(|v| v["validators"][0]["power"] = json!(0)),
            "validators[0].power",
        ),
        (
            Box::new(|v| v["validators"][0]["organisation"] = json!("nobody")),
            "validators[0].organisation",
        ),
        (
            Box::new(|v| v["validators"][0]["organisation"] = json!("caseificio-demo")),
            "validators[0].organisation",
        ),
        (
            Box::new(|v| v["validators"][0]["p2p_address"] = json!("127.0.0.1:26656")),
            "validators[0].p2p_address",
        ),
        (Box::new(|v| v["validators"] = json!([])), "validators"),
        (
            Box::new(|v| v["authority"]["keys"][2] = v["authority"]["keys"][0].clone()),
            "authority.keys[2]",
        ),
        (
            Box::new(|v| v["authority"]["organisation"] = json!("assam-apc")),
            "authority.organisation",
        ),
        (
            Box::new(|v| v["organisations"][2]["id"] = json!("assam-apc")),
            "organisations[2].id",
        ),
        (
            Box::new(|v| v["organisations"][2]["vat_number"] = json!("123")),
            "organisations[2].vat_number",
        ),
        (
            Box::new(|v| {
                v["organisations"][2]["keys"][0] = v["organisations"][1]["keys"][0].clone()
            }),
            "organisations[2].keys[0]",
        ),
        (
            Box::new(|v| v["organisations"][1]["accreditations"][0]["scheme"] = json!("IGP")),
            "organisations[1].accreditations[0].scheme",
        ),
        (
            Box::new(|v| {
                v["organisations"][2]["accreditations"] =
                    v["organisations"][1]["accreditations"].clone()
            }),
            "organisations[2].accreditations[0]",
        ),
        (
            Box::new(|v| {
                v["catalogue"]["products"][1]["gtin"] =
                    v["catalogue"]["products"][0]["gtin"].clone()
            }),
            "catalogue.products[1].gtin",
        ),
        (
            Box::new(|v| v["catalogue"]["products"][0]["scheme"] = json!("XYZ")),
            "catalogue.products[0].scheme",
        ),
        (
            Box::new(|v| v["catalogue"]["products"][0]["owner"] = json!("assam-apc")),
            "catalogue.products[0].owner",
        ),
        (
            Box::new(|v| v["catalogue"]["products"][0]["name"] = json!("")),
            "catalogue.products[0].name",
        ),
        (
            Box::new(|v| v["validators"][0]["extra"] = json!(1)),
            "validators[0]",
        ),
    ];
    for (edit, expected) in cases {
        let (field, msg) = broken(edit);
        assert!(
            field == expected || field.starts_with(&format!("{expected}.")),
            "expected {expected}, got {field}: {msg}"
        );
    }
    // A genesis must name its chain rules version: no default.
    let (_, msg) = broken(|v: &mut Value| {
        v.as_object_mut().map(|o| o.remove("rules_version"));
    });
    assert!(msg.contains("missing field `rules_version`"), "{msg}");
}

#[test]
fn trailing_garbage_and_oversize_are_refused() {
    let mut text = serde_json::to_string(&sample_genesis_json()).unwrap();
    text.push_str(" {}");
    assert!(Genesis::from_json(text.as_bytes()).is_err());
    let huge = vec![b' '; filiera_types::limits::GENESIS_BYTES_MAX + 1];
    assert!(
        Genesis::from_json(&huge)
            .unwrap_err()
            .message
            .contains("exceed the limit")
    );
}

fn rules_json(scheme: &str, name: &str) -> Value {
    json!({
        "scheme": scheme, "name": name, "applies_from_ms": 0, "area": ["041"],
        "inputs": [], "steps": ["commission", "ageing_start", "ageing_end"],
        "durations": [{"from": "ageing_start", "to": "ageing_end", "min_days": 15, "max_days": null}],
        "max_yield_permille": null, "units": ["kg"], "notes": ["area: example"],
    })
}

#[test]
fn production_rules_in_genesis_are_checked_and_named() {
    let mut value = sample_genesis_json();
    value["catalogue"]["rules"] = json!([rules_json("DOP", "Casciotta d'Urbino")]);
    let g = load(&value).unwrap();
    assert_eq!(g.catalogue.rules[0].durations[0].min_days, 15);
    type Edit = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(Edit, &str, &str)> = vec![
        (
            Box::new(|v| v["catalogue"]["rules"] = json!([rules_json("IGP", "Ciauscolo")])),
            "catalogue.rules[0].scheme",
            "unknown scheme",
        ),
        (
            Box::new(|v| {
                let mut r = rules_json("DOP", "Casciotta d'Urbino");
                r["applies_from_ms"] = json!(1);
                v["catalogue"]["rules"] = json!([r]);
            }),
            "catalogue.rules[0].applies_from_ms",
            "apply from genesis",
        ),
        (
            Box::new(|v| {
                v["catalogue"]["rules"] = json!([
                    rules_json("DOP", "Casciotta d'Urbino"),
                    rules_json("DOP", "CASCIOTTA D'URBINO")
                ])
            }),
            "catalogue.rules[1].name",
            "has rules twice",
        ),
        (
            Box::new(|v| {
                let mut r = rules_json("DOP", "Casciotta d'Urbino");
                r["area"] = json!(["41"]);
                v["catalogue"]["rules"] = json!([r]);
            }),
            "catalogue.rules[0]",
            "ISTAT codes",
        ),
    ];
    for (edit, field, needle) in cases {
        let (f, message) = broken(edit);
        assert_eq!(f, field, "{message}");
        assert!(message.contains(needle), "{message}");
    }
}
