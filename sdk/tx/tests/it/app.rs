//! The JSON requests of the app against the node's types: a body signed by
//! a plain ed25519 signer of `message` (as WebCrypto signs in the browser)
//! assembles into the transaction `Transaction::sign` makes; an altered
//! body, a stranger's signature and bad fields are refused with reasons.

use ed25519_dalek::Signer;
use filiera_contract_api::registry::{Enrol, enrolment_message};
use filiera_tx::handle;
use filiera_types::{SecretKey, SignedTransaction};
use serde_json::{Value, json};

const CHAIN: &str = "filiera-devnet";

fn ask(request: Value) -> Value {
    serde_json::from_slice(&handle(request.to_string().as_bytes())).unwrap()
}

fn device(seed: u8) -> (ed25519_dalek::SigningKey, String) {
    let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
    let public = hex::encode(key.verifying_key().to_bytes());
    (key, public)
}

fn commission(sender: &str) -> Value {
    json!({
        "op": "prepare", "chain_id": CHAIN, "sender": sender, "nonce": 3, "expiry_height": 900,
        "action": {"kind": "commission", "gtin": "09521234100010", "lot": "CU-2026-0150", "quantity": 80},
    })
}

#[test]
fn a_browser_signature_of_the_message_is_the_nodes_own_transaction() {
    let (key, public) = device(9);
    let prepared = ask(commission(&public));
    assert_eq!(prepared["ok"], true, "{prepared}");
    let message = hex::decode(prepared["message"].as_str().unwrap()).unwrap();
    let signature = hex::encode(key.sign(&message).to_bytes());
    let signed = ask(json!({"op": "assemble", "body": prepared["body"], "signature": signature}));
    assert_eq!(signed["ok"], true, "{signed}");
    let tx =
        SignedTransaction::decode(&hex::decode(signed["tx"].as_str().unwrap()).unwrap()).unwrap();
    tx.verify().unwrap();
    assert_eq!(tx.hash().to_hex(), prepared["tx_id"].as_str().unwrap());
    // The same body signed by the node's own signer: the same bytes.
    let node_signed = tx.tx.clone().sign(&SecretKey::from_seed(&[9; 32])).unwrap();
    assert_eq!(node_signed, tx);
    assert_eq!(tx.tx.nonce, 3);
    assert_eq!(tx.tx.call.method.as_str(), "commission");

    let described = ask(json!({"op": "inspect", "tx": signed["tx"]}));
    assert_eq!(described["ok"], true);
    assert_eq!(described["method"], "commission");
    assert_eq!(described["nonce"], 3);
}

#[test]
fn an_altered_queued_transaction_or_a_strangers_signature_is_refused() {
    let (key, public) = device(9);
    let prepared = ask(commission(&public));
    let message = hex::decode(prepared["message"].as_str().unwrap()).unwrap();
    let signature = hex::encode(key.sign(&message).to_bytes());
    let signed = ask(json!({"op": "assemble", "body": prepared["body"], "signature": signature}));
    // One byte of the stored transaction changed (the quantity, say).
    let mut bytes = hex::decode(signed["tx"].as_str().unwrap()).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    let answer = ask(json!({"op": "inspect", "tx": hex::encode(&bytes)}));
    assert_eq!(answer["ok"], false);
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.contains("does not verify") || error.starts_with("tx:"),
        "{error}"
    );
    // Another key's signature of the same message.
    let (stranger, _) = device(10);
    let forged = hex::encode(stranger.sign(&message).to_bytes());
    let answer = ask(json!({"op": "assemble", "body": prepared["body"], "signature": forged}));
    assert_eq!(answer["ok"], false);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("does not verify")
    );
}

#[test]
fn bad_requests_get_reasons_not_panics() {
    let (_, public) = device(9);
    let cases = [
        (json!({"op": "nothing"}), "request:"),
        (
            json!({"op": "prepare", "chain_id": CHAIN, "sender": "zz", "nonce": 0, "expiry_height": 1,
            "action": {"kind": "recall", "gtin": "1", "lot": "2", "reason": "x"}}),
            "sender:",
        ),
        (
            json!({"op": "prepare", "chain_id": CHAIN, "sender": public, "nonce": 0, "expiry_height": 1,
            "action": {"kind": "record", "gtin": "1", "lot": "2", "event": "teleport"}}),
            "event:",
        ),
        (
            json!({"op": "assemble", "body": "00", "signature": "11"}),
            "body:",
        ),
        (
            json!({"op": "enrol_proof", "chain_id": CHAIN, "ticket_seed": "12", "device": public}),
            "ticket_seed:",
        ),
    ];
    for (request, start) in cases {
        let answer = ask(request.clone());
        assert_eq!(answer["ok"], false, "{request}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.starts_with(start), "{request}: {error}");
    }
    assert_eq!(handle(b"\xff\x00not json")[..11], *br#"{"error":"r"#);
}

#[test]
fn an_enrolment_proof_signs_the_device_key_for_the_chain() {
    let (device_key, public) = device(9);
    let seed = [42u8; 32];
    let proof = ask(
        json!({"op": "enrol_proof", "chain_id": CHAIN, "ticket_seed": hex::encode(seed), "device": public}),
    );
    assert_eq!(proof["ok"], true, "{proof}");
    let ticket = ed25519_dalek::SigningKey::from_bytes(&seed);
    assert_eq!(
        proof["ticket_key"],
        hex::encode(ticket.verifying_key().to_bytes())
    );
    let signature: [u8; 64] = hex::decode(proof["proof"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let message = enrolment_message(CHAIN, &device_key.verifying_key().to_bytes());
    ticket
        .verifying_key()
        .verify_strict(&message, &ed25519_dalek::Signature::from_bytes(&signature))
        .unwrap();
    // And the enrolment built from it carries both.
    let prepared = ask(json!({
        "op": "prepare", "chain_id": CHAIN, "sender": public, "nonce": 0, "expiry_height": 10,
        "action": {"kind": "enrol", "ticket_key": proof["ticket_key"], "proof": proof["proof"], "label": "device 1"},
    }));
    let body = hex::decode(prepared["body"].as_str().unwrap()).unwrap();
    let tx: filiera_types::Transaction = borsh::from_slice(&body).unwrap();
    let enrol: Enrol = borsh::from_slice(&tx.call.args).unwrap();
    assert_eq!(enrol.proof, signature.to_vec());
    assert_eq!(enrol.label, "device 1");
}

#[test]
fn a_transform_from_the_app_is_the_contracts_own_call() {
    use filiera_contract_api::lots::{LotAmount, LotRef, Transform};
    let (_, public) = device(9);
    let prepared = ask(json!({
        "op": "prepare", "chain_id": CHAIN, "sender": public, "nonce": 4, "expiry_height": 900,
        "action": {"kind": "transform",
            "inputs": [["09521234100027", "LO-1", 120], ["09521234100034", "LV-1", 30]],
            "outputs": [["09521234100010", "CU-9", 20]], "site": "9521234000013"},
    }));
    assert_eq!(prepared["ok"], true, "{prepared}");
    let body = hex::decode(prepared["body"].as_str().unwrap()).unwrap();
    let tx: filiera_types::Transaction = borsh::from_slice(&body).unwrap();
    assert_eq!(tx.call.method.as_str(), "transform");
    let lot = |gtin: &str, lot: &str, quantity| LotAmount {
        id: LotRef {
            gtin: gtin.into(),
            lot: lot.into(),
        },
        quantity,
    };
    let expected = Transform {
        inputs: vec![
            lot("09521234100027", "LO-1", 120),
            lot("09521234100034", "LV-1", 30),
        ],
        outputs: vec![lot("09521234100010", "CU-9", 20)],
        site: Some("9521234000013".into()),
        epcis_hash: None,
    };
    assert_eq!(tx.call, filiera_tx::actions::transform(&expected));
    // A quantity that is not a whole number is refused with a reason.
    let bad = ask(json!({
        "op": "prepare", "chain_id": CHAIN, "sender": public, "nonce": 4, "expiry_height": 900,
        "action": {"kind": "transform", "inputs": [["09521234100027", "LO-1", -1]], "outputs": []},
    }));
    assert_eq!(bad["ok"], false);
    assert!(bad["error"].as_str().unwrap().contains("request"), "{bad}");
}

#[test]
fn a_merge_from_the_app_is_the_contracts_own_call() {
    use filiera_contract_api::lots::{LotRef, Merge};
    let (_, public) = device(9);
    let prepared = ask(json!({
        "op": "prepare", "chain_id": CHAIN, "sender": public, "nonce": 5, "expiry_height": 900,
        "action": {"kind": "merge", "gtin": "09521234100010", "lots": ["CU-1", "CU-2"], "into": "CU-12"},
    }));
    assert_eq!(prepared["ok"], true, "{prepared}");
    let body = hex::decode(prepared["body"].as_str().unwrap()).unwrap();
    let tx: filiera_types::Transaction = borsh::from_slice(&body).unwrap();
    let lot = |lot: &str| LotRef {
        gtin: "09521234100010".into(),
        lot: lot.into(),
    };
    let expected = Merge {
        from: vec![lot("CU-1"), lot("CU-2")],
        into: lot("CU-12"),
        epcis_hash: None,
    };
    assert_eq!(tx.call, filiera_tx::actions::merge(&expected));
}
