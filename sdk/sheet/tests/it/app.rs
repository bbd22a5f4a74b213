//! The JSON requests of the app, as the browser makes them.

use base64::Engine;
use serde_json::{Value, json};

fn ask(request: Value, data: &[u8]) -> Value {
    let out = filiera_sheet::app::handle(&serde_json::to_vec(&request).expect("json"), data);
    serde_json::from_slice(&out).expect("a JSON answer")
}

fn file_bytes(answer: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(answer["base64"].as_str().expect("a file"))
        .expect("base64")
}

#[test]
fn a_template_filled_in_comes_back_as_actions() {
    let template = ask(
        json!({"op": "template", "kind": "lots", "format": "csv", "lang": "it"}),
        &[],
    );
    assert_eq!(template["file_name"], "filiera-lots.csv");
    let mut csv = file_bytes(&template);
    assert_eq!(
        &csv[..],
        b"\xEF\xBB\xBF\"gtin\";\"lot\";\"quantity\";\"site\"\n"
    );
    csv.extend_from_slice(b"08012345000012;CU-2026-030;25;\n");
    let context = json!({"org": "caseificio-montefeltro", "lots": [],
        "products": [{"gtin": "08012345000012", "owner": "caseificio-montefeltro"}]});
    let report = ask(
        json!({"op": "check", "kind": "lots", "context": context}),
        &csv,
    );
    assert_eq!(report["ok"], true);
    assert_eq!(report["good"], 1);
    assert_eq!(report["rows"][0]["row"], 2);
    assert_eq!(report["rows"][0]["action"]["lot"], "CU-2026-030");

    // The XLSX template reads back as the same header.
    let xlsx = ask(
        json!({"op": "template", "kind": "events", "format": "xlsx", "lang": "en", "now_ms": 1_796_601_600_000u64}),
        &[],
    );
    let table = filiera_sheet::table::read(&file_bytes(&xlsx));
    assert!(
        matches!(table, Err(filiera_sheet::SheetError::Empty)),
        "a header and no rows"
    );
}

#[test]
fn refusals_carry_a_code_the_app_puts_into_words() {
    let context = json!({"org": "caseificio-montefeltro"});
    let missing = ask(
        json!({"op": "check", "kind": "events", "context": context}),
        b"gtin,lot\n08012345000012,L1\n",
    );
    assert_eq!(
        (
            missing["ok"].clone(),
            missing["code"].clone(),
            missing["column"].clone()
        ),
        (json!(false), json!("sheet_missing_column"), json!("event"))
    );
    let garbage = ask(
        json!({"op": "check", "kind": "lots", "context": context}),
        b"PK\x03\x04\x00\x01",
    );
    assert_eq!(garbage["code"], "sheet_unreadable");
    let unknown = ask(json!({"op": "format_disk"}), &[]);
    assert_eq!(unknown["ok"], false);
}
