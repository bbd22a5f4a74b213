//! The HTTP API of a real node with the demo data: records, the proof-carrying
//! lot bundle (verified here, and refused when tampered), the consumer page
//! in both languages, Digital Link errors, the linkset, QR labels.

use filiera_types::CommitCertificate;
use filiera_verify::{VerifyError, verify_bundle};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// A GET of `url`, with an organisation's API token if given; any status.
fn fetch(url: &str, accept: &str, token: Option<&str>) -> ureq::http::Response<ureq::Body> {
    let mut request = ureq::get(url).header("accept", accept);
    if let Some(token) = token {
        request = request.header("authorization", &format!("Bearer {token}"));
    }
    request
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap()
}

fn header_of(response: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn get(url: &str, accept: &str) -> (u16, String, String) {
    let mut response = fetch(url, accept, None);
    let status = response.status().as_u16();
    let content_type = header_of(&response, "content-type").unwrap_or_default();
    let body = response.body_mut().read_to_string().unwrap();
    (status, content_type, body)
}

fn json(url: &str) -> (u16, Value) {
    let (status, _, body) = get(url, "application/json");
    (status, serde_json::from_str(&body).unwrap())
}

/// A JSON answer read with an organisation's API token; the Link header too.
fn json_as(url: &str, token: &str) -> (u16, Value, Option<String>) {
    let mut response = fetch(url, "application/json", Some(token));
    let status = response.status().as_u16();
    let link = header_of(&response, "link");
    let body = response.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&body).unwrap(), link)
}

/// The event IDs of a query answer.
fn event_ids(answer: &Value) -> Vec<String> {
    answer["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|e| e["eventID"].as_str().unwrap().to_owned())
        .collect()
}

type Tamper = fn(&mut Value);

/// One changed byte or field in each part of a bundle.
fn bundle_tamperings() -> Vec<(&'static str, Tamper)> {
    fn flip(v: &mut Value) {
        let mut bytes = hex::decode(v.as_str().unwrap()).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        *v = Value::String(hex::encode(bytes));
    }
    vec![
        ("proof byte", |b| flip(&mut b["verification"]["proofs"][0])),
        ("header byte", |b| flip(&mut b["verification"]["header"])),
        ("signature byte", |b| {
            flip(&mut b["verification"]["certificate"])
        }),
        ("validator set byte", |b| {
            flip(&mut b["verification"]["validator_set"])
        }),
        ("missing signatures", |b| {
            let bytes = hex::decode(b["verification"]["certificate"].as_str().unwrap()).unwrap();
            let c = CommitCertificate::decode(&bytes).unwrap();
            let few = CommitCertificate::new(
                c.height,
                c.round,
                c.block_hash,
                c.signatures()[..1].to_vec(),
            );
            b["verification"]["certificate"] =
                Value::String(hex::encode(filiera_types::encoding::encode(&few)));
        }),
        ("product name", |b| {
            b["product"]["name"] = "Casciotta (fake)".into()
        }),
        ("lot holder", |b| b["lot"]["holder"] = "someone-else".into()),
        ("event note", |b| b["events"][0]["note"] = "organic!".into()),
        ("attestation validity", |b| {
            b["attestations"][0]["validity"] = "revoked".into()
        }),
        ("dropped proof", |b| {
            b["verification"]["proofs"]
                .as_array_mut()
                .unwrap()
                .remove(0);
        }),
    ]
}

pub fn check(api: &str, dir: &Path) {
    let lot_url = format!("{api}/01/09521234100010/10/CU-2026-0142");

    // REST records.
    let (status, lot) = json(&format!("{api}/v1/lots/09521234100010/CU-2026-0142"));
    assert_eq!(status, 200, "{lot}");
    assert_eq!(lot["holder"], "deposito-ancona-demo", "{lot}");
    let kinds: Vec<&str> = lot["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    // Made from milk, aged (start, end), shipped, received: genesis's
    // Casciotta rules ask for the milk and the ageing steps.
    assert_eq!(
        kinds,
        [
            "transforming",
            "storing",
            "storing",
            "shipping",
            "receiving"
        ]
    );
    assert_eq!(lot["rules"]["name"], "Casciotta d'Urbino", "{lot}");
    assert_eq!(lot["rules"]["steps"].as_array().unwrap().len(), 3, "{lot}");
    assert_eq!(lot["attestations"][0]["validity"], "valid", "{lot}");
    let (status, org) = json(&format!("{api}/v1/orgs/caseificio-montefeltro-demo"));
    assert_eq!(
        (status, org["name"].as_str()),
        (200, Some("Caseificio del Montefeltro (demo)"))
    );
    let (status, product) = json(&format!("{api}/v1/products/09521234100010"));
    assert_eq!((status, product["scheme"].as_str()), (200, Some("DOP")));
    let (status, att) = json(&format!("{api}/v1/attestations/0"));
    assert_eq!(status, 200, "{att}");
    let (status, err) = json(&format!("{api}/v1/lots/09521234100010/NOPE"));
    assert_eq!((status, err["code"].as_str()), (404, Some("not_found")));
    let (status, err) = json(&format!("{api}/v1/txs/zz"));
    assert_eq!((status, err["code"].as_str()), (400, Some("invalid_hash")));
    // The remaining endpoints on loopback, each with a success and a failure.
    let (status, block) = json(&format!("{api}/v1/blocks/1"));
    assert!(status == 200 && block["height"] == 1, "{block}");
    assert_eq!(json(&format!("{api}/v1/blocks/999999999")).0, 404);
    let product_key = hex::encode(filiera_contract_api::keys::state_key(
        "lots",
        &filiera_contract_api::keys::product("09521234100010"),
    ));
    let (status, proof) = json(&format!("{api}/v1/proofs/{product_key}"));
    assert!(status == 200 && proof["present"] == true, "{proof}");
    let (status, err) = json(&format!("{api}/v1/proofs/zz"));
    assert_eq!((status, err["code"].as_str()), (400, Some("invalid_key")));
    let (status, bundle_rest) = json(&format!("{api}/v1/lots/09521234100010/CU-2026-0142/bundle"));
    assert!(status == 200 && bundle_rest["verification"]["proofs"].is_array());
    assert_eq!(
        json(&format!("{api}/v1/lots/09521234100010/NOPE/bundle")).0,
        404
    );
    let (status, doc) = json(&format!("{api}/openapi.json"));
    assert!(status == 200 && doc["paths"]["/epcis/capture"].is_object());
    let mut wasm = ureq::get(&format!("{api}/assets/verify.wasm"))
        .call()
        .unwrap();
    assert_eq!(
        wasm.headers().get("content-type").unwrap(),
        "application/wasm"
    );
    assert!(wasm.body_mut().read_to_vec().unwrap().starts_with(b"\0asm"));
    // Capture jobs are read with an organisation's token (check_epcis).
    assert_eq!(json(&format!("{api}/epcis/capture/unknown")).0, 401);
    let (status, health) = json(&format!("{api}/health"));
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));

    // The resolver's JSON bundle verifies; a tampered one does not.
    let (status, bundle) = json(&lot_url);
    assert_eq!(status, 200, "{bundle}");
    let genesis: Value =
        serde_json::from_slice(&std::fs::read(dir.join("genesis.json")).unwrap()).unwrap();
    let chain_id = genesis["chain_id"].as_str().unwrap();
    let verified = verify_bundle(&bundle).expect("the bundle verifies");
    // The SDK's doc example verifies a bundle a real node served: this
    // writes one, when asked (`sdk/verify/tests/fixtures/lot-bundle.json`).
    if let Some(path) = std::env::var_os("FILIERA_WRITE_BUNDLE_FIXTURE") {
        std::fs::write(path, serde_json::to_vec_pretty(&bundle).unwrap()).unwrap();
    }
    assert_eq!(verified.chain_id, chain_id);
    assert!(
        verified.signed_power * 3 > verified.total_power * 2,
        "{verified:?}"
    );
    assert!(
        bundle["verification"]["proofs"].as_array().unwrap().len() >= 7,
        "lot, product, producer, 4 events, attestation"
    );
    // Each tampering is refused for its own reason, not just refused.
    for (what, tamper) in bundle_tamperings() {
        let mut t = bundle.clone();
        tamper(&mut t);
        let err = verify_bundle(&t).expect_err(what);
        eprintln!("tampered {what}: {err}");
        let reason = match what {
            "proof byte" => "state proof: proof 0",
            "dropped proof" => "state proof: no proof for the ",
            "header byte" => "commit certificate: certificate is for height",
            "signature byte" => "commit certificate: signature of validator",
            "validator set byte" => {
                "commit certificate: the validator set is not the one the header names"
            }
            "missing signatures" => "commit certificate: signers hold 1 of 4 voting power",
            "product name" => "product shown is not the proven record",
            "lot holder" => "lot shown is not the proven record",
            "event note" => "event 0 shown is not the proven record",
            "attestation validity" => "attestation ",
            other => panic!("no expected reason for {other}"),
        };
        assert!(
            err.to_string().starts_with(reason),
            "tampered {what}: refused as {err}, expected {reason}"
        );
        // A changed displayed value is a mismatch with the proof, named.
        if what == "attestation validity" {
            assert!(
                matches!(&err, VerifyError::Mismatch(m) if m.starts_with("attestation ")),
                "{err}"
            );
        }
    }
    // A displayed value that differs from the proven record is named.
    let mut t = bundle.clone();
    t["lot"]["quantity"] = Value::from(1);
    assert_eq!(verify_bundle(&t), Err(VerifyError::Mismatch("lot".into())));

    // The consumer page: Italian by default, English on request, escaped.
    let (status, content_type, page) = get(&lot_url, "text/html");
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(page.contains("Casciotta d&#39;Urbino"), "names are escaped");
    assert!(page.contains("Denominazione di Origine Protetta"));
    assert!(page.contains("La storia del lotto"));
    assert!(page.contains("valida"));
    assert!(!page.contains("id=\"recall\""), "no recall on this lot");
    let (_, _, english) = get(&format!("{lot_url}?lang=en"), "text/html");
    assert!(
        english.contains("Protected Designation of Origin") && english.contains("Certifications")
    );
    let english_by_header = ureq::get(&lot_url)
        .header("accept", "text/html")
        .header("accept-language", "en-GB,en;q=0.9")
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(english_by_header.contains("The lot's story"));

    // A recalled lot: the banner comes first, in both languages.
    let recalled = format!("{api}/01/09521234100065/10/CI-2026-019");
    let (status, _, page) = get(&recalled, "text/html");
    assert_eq!(status, 200);
    let banner = page.find("id=\"recall\"").expect("recall banner");
    assert!(
        banner < page.find("<h1").unwrap(),
        "the banner comes before the product"
    );
    assert!(page.contains("RICHIAMO") && page.contains("etichetta allergeni errata"));
    let (_, _, english) = get(&format!("{recalled}?lang=en"), "text/html");
    assert!(english.contains("RECALL"));

    // The demo's full chains: two farms' milk made into cheese, aged,
    // attested, shipped, received and partly sold; a recall that reaches the
    // packs split from the recalled lot.
    let (status, cheese) = json(&format!("{api}/v1/lots/09521234100010/CU-2026-0150"));
    assert_eq!(status, 200, "{cheese}");
    let inputs: Vec<&str> = cheese["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["lot"].as_str().unwrap())
        .collect();
    assert_eq!(inputs, ["LO-2026-0301", "LV-2026-0301"], "{cheese}");
    let kinds: Vec<&str> = cheese["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "transforming",
            "storing",
            "storing",
            "shipping",
            "receiving",
            "retail_selling"
        ],
        "{cheese}"
    );
    assert_eq!(
        (cheese["quantity"].as_u64(), cheese["holder"].as_str()),
        (Some(60), Some("deposito-ancona-demo"))
    );
    let (_, _, cheese_page) = get(
        &format!("{api}/01/09521234100010/10/CU-2026-0150"),
        "text/html",
    );
    assert!(
        cheese_page.contains("Ottenuto da")
            && cheese_page.contains("href=\"/01/09521234100027/10/LO-2026-0301\""),
        "the page links the milk lots"
    );
    let (_, milk) = json(&format!("{api}/v1/lots/09521234100027/LO-2026-0301"));
    assert_eq!(milk["status"], "consumed", "{milk}");
    let (_, wine) = json(&format!("{api}/v1/lots/09521234100041/VJ-2026-032"));
    assert_eq!(wine["inputs"][0]["lot"], "UV-2025-10", "{wine}");
    for pack in ["CI-2026-020-A", "CI-2026-020-B"] {
        let (status, _, page) = get(&format!("{api}/01/09521234100065/10/{pack}"), "text/html");
        assert!(
            status == 200 && page.contains("id=\"recall\""),
            "{pack}: the recall reaches the derived pack"
        );
    }

    // An item of a lot resolves to its lot; a serial without its lot is explained.
    let (status, _, item) = get(&format!("{lot_url}/21/SN-0001"), "text/html");
    assert_eq!(status, 200);
    assert!(item.contains("CU-2026-0142"));
    let (status, _, _) = get(&format!("{lot_url}/21/bad%20serial%0A"), "text/html");
    assert_eq!(status, 400);
    let (status, _, variant) = get(
        &format!("{api}/01/09521234100010/22/400G/10/CU-2026-0142"),
        "text/html",
    );
    assert!(status == 200 && variant.contains("CU-2026-0142"));
    let (status, _, page) = get(&format!("{api}/01/09521234100010/21/SN-0001"), "text/html");
    assert!(status == 404 && page.contains("/10/"), "{page}");

    // Content negotiation honours q-values; caches are told it varies.
    let (_, content_type, _) = get(&lot_url, "text/html;q=0, application/json");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let (_, _, italian) = get(&lot_url, "text/html");
    assert!(italian.contains("lang=\"it\""));
    let preferred = ureq::get(&lot_url)
        .header("accept", "text/html")
        .header("accept-language", "fr, en;q=0.1, it;q=0.9")
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(
        preferred.contains("lang=\"it\""),
        "Italian has the higher q"
    );
    let vary = ureq::get(&lot_url).call().unwrap();
    assert_eq!(
        vary.headers().get("vary").unwrap(),
        "accept, accept-language"
    );
    // REST parses identifiers like the resolver does.
    let (status, err) = json(&format!("{api}/v1/lots/09521234100011/CU-2026-0142"));
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("invalid_identifier"))
    );

    // Digital Link errors: a wrong check digit is a 400 saying so; an unknown lot a 404 page.
    let (status, _, bad) = get(
        &format!("{api}/01/09521234100011/10/CU-2026-0142"),
        "text/html",
    );
    assert_eq!(status, 400);
    assert!(bad.contains("GTIN"), "{bad}");
    let (status, err) = json(&format!("{api}/01/09521234100011/10/CU-2026-0142"));
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("invalid_identifier"))
    );
    let (status, _, missing) = get(&format!("{api}/01/09521234100010/10/UNKNOWN"), "text/html");
    assert_eq!(status, 404);
    assert!(missing.contains("Lotto non trovato"));

    // The directory the app fills its forms from: the demo's organisations,
    // its products with their yields, the genesis catalogue's categories.
    let (status, orgs) = json(&format!("{api}/v1/orgs"));
    assert_eq!(status, 200);
    let ids: Vec<&str> = orgs["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"caseificio-montefeltro-demo") && ids.contains(&"cantina-cupramontana-demo"),
        "{ids:?}"
    );
    assert_eq!(orgs["truncated"], false);
    let (_, products) = json(&format!("{api}/v1/products"));
    let casciotta = products["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["gtin"] == "09521234100010")
        .expect("Casciotta among the products");
    assert_eq!(casciotta["owner"], "caseificio-montefeltro-demo");
    assert!(casciotta["max_yield_permille"].as_u64().unwrap() > 0);
    let (_, catalogue) = json(&format!("{api}/v1/catalogue"));
    let listed = catalogue["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["gtin"] == "09521234100010")
        .expect("Casciotta in the catalogue");
    assert_eq!(listed["category"], "cheese");

    // GS1 linkset.
    let (status, content_type, linkset) = get(&lot_url, "application/linkset+json");
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/linkset+json");
    let linkset: Value = serde_json::from_str(&linkset).unwrap();
    assert!(linkset["linkset"][0]["https://gs1.org/voc/pip"].is_array());

    // QR labels: SVG with the text, PNG read back by a real decoder when one is installed.
    let (status, content_type, svg) = get(
        &format!("{api}/qr/01/09521234100010/10/CU-2026-0142.svg"),
        "*/*",
    );
    assert_eq!((status, content_type.as_str()), (200, "image/svg+xml"));
    assert!(svg.contains("(01) 09521234100010 (10) CU-2026-0142"));
    let (status, content_type, sheet) = get(
        &format!("{api}/qr/sheet/01/09521234100010?lots=CU-2026-0142,CU-2026-0143,CU-2026-0144"),
        "*/*",
    );
    assert_eq!((status, content_type.as_str()), (200, "image/svg+xml"));
    assert_eq!(
        sheet.matches("(01) 09521234100010 (10)").count(),
        3,
        "three labels on the sheet"
    );
    assert_eq!(
        sheet.matches(">Casciotta d&#39;Urbino</text>").count(),
        3,
        "the product's name in clear on each label"
    );
    assert!(sheet.contains("(10) CU-2026-0144") && sheet.contains("width=\"210mm\""));
    let many: Vec<String> = (0..21).map(|i| format!("L{i}")).collect();
    let (status, _, _) = get(
        &format!("{api}/qr/sheet/01/09521234100010?lots={}", many.join(",")),
        "*/*",
    );
    assert_eq!(status, 400, "an A4 sheet holds at most 20 labels");
    let png = ureq::get(&format!("{api}/qr/01/09521234100010/10/CU-2026-0142.png"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_vec()
        .unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    if Command::new("zbarimg").arg("--version").output().is_ok() {
        let file = dir.join("label.png");
        std::fs::write(&file, &png).unwrap();
        let out = Command::new("zbarimg")
            .args(["--quiet", "--raw"])
            .arg(&file)
            .output()
            .unwrap();
        let decoded = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert_eq!(
            decoded, lot_url,
            "zbarimg reads back the exact Digital Link URI"
        );
    } else {
        eprintln!("zbarimg not installed: QR read-back skipped (scripts/setup.sh installs it)");
    }
    eprintln!("api: every check passed against {api}");
}

/// The consumer page in a real browser: headless Chromium runs the page's
/// WASM verifier (scripts/page-check.py; screenshots under the temp dir).
pub fn check_in_browser(api: &str) {
    let have_chromium = ["chromium", "chromium-browser"]
        .iter()
        .any(|b| Command::new(b).arg("--version").output().is_ok());
    if !have_chromium {
        assert!(
            std::env::var_os("FILIERA_REQUIRE_TOOLS").is_none(),
            "chromium is required (FILIERA_REQUIRE_TOOLS is set)"
        );
        eprintln!("chromium not installed: browser checks skipped (scripts/setup.sh installs it)");
        return;
    }
    let shots = std::env::temp_dir().join("filiera-page-check");
    std::fs::create_dir_all(&shots).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/page-check.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(api)
        .arg(&shots)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "page-check failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for shot in [
        "casciotta-it.png",
        "ciauscolo-recall-it.png",
        "ciauscolo-recall-en.png",
        "casciotta-tampered.png",
    ] {
        let bytes = std::fs::read(shots.join(shot)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{shot} is a PNG screenshot");
    }
}

fn post_epcis(api: &str, token: Option<&str>, doc: &Value) -> (u16, Option<String>, Value) {
    let mut request = ureq::post(&format!("{api}/epcis/capture"))
        .header("content-type", "application/ld+json")
        .config()
        .http_status_as_error(false)
        .build();
    if let Some(t) = token {
        request = request.header("authorization", &format!("Bearer {t}"));
    }
    let mut response = request.send(doc.to_string().as_bytes()).unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.body_mut().read_to_string().unwrap();
    (status, location, serde_json::from_str(&body).unwrap())
}

/// A capture job, read with `token` (or none).
fn capture_job(url: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = ureq::get(url).config().http_status_as_error(false).build();
    if let Some(t) = token {
        request = request.header("authorization", &format!("Bearer {t}"));
    }
    let mut response = request.call().unwrap();
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&body).unwrap())
}

/// Sends the headers of a capture announcing `length` bytes of body and no
/// body at all; the status the node answers, if it answers within 5 s.
fn capture_headers_only(api: &str, token: Option<&str>, length: usize) -> Option<u16> {
    use std::io::{Read, Write};
    let address = api.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let authorization = token.map_or(String::new(), |t| format!("authorization: Bearer {t}\r\n"));
    let head = format!(
        "POST /epcis/capture HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/ld+json\r\n{authorization}content-length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = [0u8; 64];
    let read = stream.read(&mut answer).ok()?;
    let line = std::str::from_utf8(&answer[..read]).ok()?;
    line.split(' ').nth(1)?.parse().ok()
}

fn epcis_document(events: Vec<Value>) -> Value {
    serde_json::json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument", "schemaVersion": "2.0",
        "creationDate": "2026-11-25T10:00:00.000+01:00",
        "epcisBody": {"eventList": events}
    })
}

const EPCIS_LOT: &str = "urn:epc:class:lgtin:9521234.010001.CU-EPCIS-1";

fn epcis_event(step: &str, action: &str, time: &str, site: &str, extra: Value) -> Value {
    let mut e = serde_json::json!({
        "type": "ObjectEvent", "action": action, "bizStep": step,
        "eventTime": time, "eventTimeZoneOffset": "+01:00",
        "quantityList": [{"epcClass": EPCIS_LOT, "quantity": 100}],
        "bizLocation": {"id": site}
    });
    for (k, v) in extra.as_object().unwrap() {
        e[k] = v.clone();
    }
    e
}

/// Runs a program on a document; `None` when the tool is missing.
fn outside_check(program: &str, script: &str, doc: &Value) -> Option<String> {
    let path = std::env::temp_dir().join(format!("filiera-epcis-{}.jsonld", std::process::id()));
    // Written as the node writes EPCIS (`type` first in every object).
    std::fs::write(&path, filiera_epcis::to_epcis_json(doc)).unwrap();
    let script = format!("{}/../scripts/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(program)
        .arg(&script)
        .arg(&path)
        .output()
        .ok()?;
    let _ = std::fs::remove_file(&path);
    if out.status.code() == Some(3) || (!out.status.success() && out.stdout.is_empty()) {
        assert!(
            std::env::var_os("FILIERA_REQUIRE_TOOLS").is_none(),
            "{program} {script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("{script} unavailable: check skipped");
        return None;
    }
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// EPCIS 2.0 capture by two organisations' software, refusals, the job, the
/// query with paging, the lot it made, and outside checks of what the node
/// answers (GS1's reference hashes, GS1's JSON Schema). Returns the path of
/// the dairy's capture job, to read again after a restart.
pub fn check_epcis(api: &str, dir: &Path) -> String {
    let token = |org: &str| {
        std::fs::read_to_string(dir.join("orgs").join(format!("{org}.epcis-token"))).unwrap()
    };
    let dairy = token("caseificio-montefeltro-demo");
    let warehouse = token("deposito-ancona-demo");
    let dairy_site = "urn:epc:id:sgln:9521234.00001.0";
    let warehouse_site = "https://id.gs1.org/414/9521234000082";
    let commission = epcis_event(
        "commissioning",
        "ADD",
        "2026-11-25T08:00:00.000+01:00",
        dairy_site,
        serde_json::json!({}),
    );
    let ship = epcis_event(
        "urn:epcglobal:cbv:bizstep:shipping",
        "OBSERVE",
        "2026-11-25T09:00:00.000+01:00",
        dairy_site,
        serde_json::json!({"disposition": "in_transit", "destinationList": [
            {"type": "location", "destination": "urn:epc:id:sgln:9521234.00008.0"}]}),
    );
    let document = epcis_document(vec![commission.clone(), ship.clone()]);

    // No token, a wrong token: 401.
    assert_eq!(post_epcis(api, None, &document).0, 401);
    assert_eq!(post_epcis(api, Some("not-a-token"), &document).0, 401);
    // The token is checked before the body is read: headers announcing 4 MiB
    // and no body get their 401 at once, not after the node waited for it.
    let four_mib = filiera_epcis::DOCUMENT_BYTES_MAX;
    assert_eq!(capture_headers_only(api, None, four_mib), Some(401));
    assert_eq!(
        capture_headers_only(api, Some("not-a-token"), four_mib),
        Some(401)
    );
    // A member's body over the limit is refused as too large, from its length.
    assert_eq!(
        capture_headers_only(api, Some(&dairy), four_mib + 1),
        Some(413)
    );
    // One invalid event refuses the whole document, by position; nothing is submitted.
    let mut bad = ship.clone();
    bad["bizStep"] = "milking".into();
    let (status, _, answer) = post_epcis(
        api,
        Some(&dairy),
        &epcis_document(vec![commission.clone(), bad]),
    );
    assert_eq!(
        (status, answer["code"].as_str()),
        (400, Some("invalid_epcis")),
        "{answer}"
    );
    assert_eq!(answer["errors"][0]["index"], 1, "{answer}");
    assert!(
        answer["errors"][0]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("milking")
    );
    // A valid event with no lot action here also refuses the document.
    let aggregation = serde_json::json!({
        "type": "AggregationEvent", "action": "ADD", "bizStep": "packing",
        "eventTime": "2026-11-25T08:30:00.000+01:00", "eventTimeZoneOffset": "+01:00",
        "parentID": "urn:epc:id:sscc:9521234.0000000017",
        "childEPCs": ["urn:epc:id:sgtin:9521234.010001.7"]
    });
    let (status, _, answer) = post_epcis(
        api,
        Some(&dairy),
        &epcis_document(vec![commission.clone(), aggregation]),
    );
    assert_eq!(
        (status, answer["code"].as_str()),
        (400, Some("no_lot_action")),
        "{answer}"
    );
    let class = EPCIS_LOT.replace(':', "%3A");
    let (_, none, _) = json_as(
        &format!("{api}/epcis/events?MATCH_anyEPCClass={class}"),
        &dairy,
    );
    assert_eq!(
        none["epcisBody"]["queryResults"]["resultsBody"]["eventList"],
        serde_json::json!([]),
        "nothing was captured"
    );

    // The dairy's software captures commissioning and shipping.
    let (status, location, answer) = post_epcis(api, Some(&dairy), &document);
    assert_eq!(status, 202, "{answer}");
    let statuses: Vec<&str> = answer["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.len() == 2
            && statuses
                .iter()
                .all(|s| *s == "pending" || *s == "committed"),
        "{answer}"
    );
    // The transaction's status: pending in the mempool, then committed.
    let tx = answer["events"][0]["tx"].as_str().unwrap().to_owned();
    let (status, early) = json(&format!("{api}/v1/txs/{tx}"));
    assert!(
        status == 200 && (early["status"] == "pending" || early["status"] == "committed"),
        "{early}"
    );
    let job_url = format!("{api}{}", location.expect("Location of the capture job"));
    let dairy_job_path = job_url[api.len()..].to_owned();
    // A job is the organisation's: no token, 401; another's token, unknown.
    assert_eq!(capture_job(&job_url, None).0, 401);
    assert_eq!(capture_job(&job_url, Some(&warehouse)).0, 404);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let job = loop {
        let (_, job) = capture_job(&job_url, Some(&dairy));
        if job["running"] == false {
            break job;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "capture still running: {job}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(job["success"], true, "{job}");
    let (_, committed) = json(&format!("{api}/v1/txs/{tx}"));
    assert_eq!(committed["status"], "committed", "{committed}");
    let (_, in_transit) = json(&format!("{api}/01/09521234100010/10/CU-EPCIS-1"));
    assert_eq!(in_transit["lot"]["status"], "in_transit", "{in_transit}");
    // The warehouse's software captures the receiving, with its own token.
    let receive = epcis_event(
        "receiving",
        "OBSERVE",
        "2026-11-25T15:00:00.000+01:00",
        warehouse_site,
        serde_json::json!({}),
    );
    let (status, location, answer) =
        post_epcis(api, Some(&warehouse), &epcis_document(vec![receive]));
    assert_eq!(status, 202, "{answer}");
    let job_url = format!("{api}{}", location.unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while capture_job(&job_url, Some(&warehouse)).1["running"] == true {
        assert!(
            std::time::Instant::now() < deadline,
            "receiving still pending"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(capture_job(&job_url, Some(&warehouse)).1["success"], true);

    // The lot the events made, with each event's hash anchored.
    let (status, lot) = json(&format!("{api}/v1/lots/09521234100010/CU-EPCIS-1"));
    assert_eq!(status, 200, "{lot}");
    assert_eq!(lot["holder"], "deposito-ancona-demo", "{lot}");
    let kinds: Vec<&str> = lot["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["commissioning", "shipping", "receiving"]);
    // The lot's bundle follows the chain (bundles are cached per height, the
    // in-transit one above must not be served now) and verifies.
    let (_, before) = json(&format!("{api}/01/09521234100010/10/CU-EPCIS-1"));
    assert_eq!(before["lot"]["holder"], "deposito-ancona-demo", "{before}");
    verify_bundle(&before).expect("the captured lot's bundle verifies");
    // Capturing again is harmless.
    let (status, _, again) = post_epcis(api, Some(&dairy), &document);
    assert_eq!(status, 202);
    assert!(
        again["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == "already_recorded"),
        "{again}"
    );

    // Members' documents are read by their parties only (ADR 0010): no
    // token, nothing; a wrong token, refused, not read as anonymous.
    let by_lot = format!("{api}/epcis/events?MATCH_anyEPCClass={class}");
    let (status, refused) = json(&by_lot);
    assert_eq!(
        (status, refused["code"].as_str()),
        (401, Some("unauthorized"))
    );
    assert_eq!(json_as(&by_lot, "not-a-token").0, 401);
    // The warehouse is a party to the shipment to its site and to its own
    // receiving, not to the dairy's commissioning.
    let (status, theirs, _) = json_as(&by_lot, &warehouse);
    assert_eq!(status, 200, "{theirs}");
    let warehouse_ids = event_ids(&theirs);
    assert_eq!(warehouse_ids.len(), 2, "{theirs}");
    let (_, theirs_all, _) = json_as(&format!("{api}/epcis/events"), &warehouse);
    assert_eq!(
        event_ids(&theirs_all),
        warehouse_ids,
        "walked by its party field"
    );

    // Query: by lot, by step, with paging; ids are the anchored hashes. The
    // dairy owns the lot: a party to all three.
    let (status, found, _) = json_as(&by_lot, &dairy);
    assert_eq!(status, 200);
    assert_eq!(found["type"], "EPCISQueryDocument");
    let events = found["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(events.len(), 3, "{found}");
    let ids: Vec<String> = events
        .iter()
        .map(|e| e["eventID"].as_str().unwrap().to_owned())
        .collect();
    for (event, anchored) in events.iter().zip(lot["history"].as_array().unwrap()) {
        let hash = filiera_epcis::event_hash(event, &Default::default()).unwrap();
        assert_eq!(event["eventID"].as_str(), Some(hash.to_ni().as_str()));
        assert_eq!(
            anchored["epcis_hash"].as_str(),
            Some(hex::encode(hash.0).as_str())
        );
    }
    assert_eq!(
        events[1]["bizStep"], "shipping",
        "CBV values normalised to EPCIS 2.0 words"
    );
    assert_eq!(warehouse_ids, ids[1..], "shipping and receiving");
    let (_, shipping, _) = json_as(
        &format!(
            "{api}/epcis/events?MATCH_anyEPCClass={class}&EQ_bizStep=https://ref.gs1.org/cbv/BizStep-shipping"
        ),
        &dairy,
    );
    assert_eq!(
        shipping["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (_, located, _) = json_as(
        &format!(
            "{api}/epcis/events?EQ_bizLocation=urn:epc:id:sgln:9521234.00008.0&GE_eventTime=2026-11-25T00:00:00Z"
        ),
        &dairy,
    );
    assert_eq!(
        located["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0]["eventID"].as_str(),
        Some(ids[2].as_str())
    );
    let (_, _, link) = json_as(
        &format!("{api}/epcis/events?MATCH_anyEPCClass={class}&perPage=2"),
        &dairy,
    );
    let link = link.expect("a Link to the next page");
    // The next page is the Link as given: the same filter, after the last
    // event of this page.
    let target = link
        .strip_prefix('<')
        .and_then(|l| l.split_once(">; rel=\"next\""))
        .map(|(t, _)| t)
        .unwrap_or_else(|| panic!("{link}"));
    assert!(target.contains("MATCH_anyEPCClass="), "{link}");
    let (_, page2, _) = json_as(&format!("{api}{target}"), &dairy);
    assert_eq!(
        event_ids(&page2),
        ids[2..],
        "the rest of the lot's events, once each"
    );
    let (status, err, _) = json_as(&format!("{api}/epcis/events?perPage=1000"), &dairy);
    assert_eq!((status, err["code"].as_str()), (400, Some("invalid_query")));
    let encoded = ids[0]
        .replace(':', "%3A")
        .replace('/', "%2F")
        .replace(';', "%3B")
        .replace('?', "%3F")
        .replace('=', "%3D");
    let (status, one, _) = json_as(&format!("{api}/epcis/events/{encoded}"), &dairy);
    assert_eq!(
        (status, one["eventID"].as_str()),
        (200, Some(ids[0].as_str()))
    );
    assert_eq!(json(&format!("{api}/epcis/events/{encoded}")).0, 401);
    // Not a party: the answer of an event that does not exist.
    let (status, not_theirs, _) = json_as(&format!("{api}/epcis/events/{encoded}"), &warehouse);
    assert_eq!(status, 404, "{not_theirs}");
    let (status, _, _) = json_as(&format!("{api}/epcis/events/{}", "00".repeat(32)), &dairy);
    assert_eq!(status, 404);
    // The stored document's state proof: the same rule.
    let commission_id = filiera_epcis::EventHash::from_ni(&ids[0]).unwrap();
    let document_key = hex::encode(filiera_contract_api::keys::state_key(
        filiera_contract_api::contract_ids::LOTS,
        &filiera_contract_api::keys::epcis_event(&commission_id.0),
    ));
    let proof_url = format!("{api}/v1/proofs/{document_key}");
    assert_eq!(json(&proof_url).0, 401, "no document proof to anyone");
    let (status, refused, _) = json_as(&proof_url, &warehouse);
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("not_a_party"))
    );
    let (status, proven, _) = json_as(&proof_url, &dairy);
    assert_eq!(
        (status, proven["present"].as_bool()),
        (200, Some(true)),
        "{proven}"
    );

    // Outside checks: GS1's reference implementation gives the same event IDs,
    // and the query document validates against GS1's EPCIS 2.0 JSON Schema.
    let as_document = epcis_document(events.clone());
    if let Some(out) = outside_check("python3", "epcis-reference-hashes.py", &as_document) {
        let reference: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            reference["hashes"],
            serde_json::json!(ids),
            "GS1 reference hashes"
        );
    }
    if let Some(out) = outside_check("python3", "epcis-schema-check.py", &found) {
        assert!(out.contains("valid"), "{out}");
    }
    dairy_job_path
}

/// `filiera epcis import`: the organisation signs its own events; a bad
/// event refuses the file; importing twice is harmless.
pub fn check_epcis_cli(api: &str, dir: &Path) {
    let key = dir.join("orgs").join("caseificio-montefeltro-demo.json");
    let lot = "urn:epc:class:lgtin:9521234.010001.CU-EPCIS-2";
    let mut commission = epcis_event(
        "commissioning",
        "ADD",
        "2026-11-25T10:00:00.000+01:00",
        "urn:epc:id:sgln:9521234.00001.0",
        serde_json::json!({}),
    );
    commission["quantityList"][0]["epcClass"] = lot.into();
    let file = dir.join("import.jsonld");
    let import = |doc: &Value| {
        std::fs::write(&file, doc.to_string()).unwrap();
        crate::network::filiera()
            .args(["epcis", "import"])
            .arg(&file)
            .arg("--key")
            .arg(&key)
            .args(["--api", api])
            .output()
            .unwrap()
    };
    let mut bad = commission.clone();
    bad["eventTimeZoneOffset"] = "CET".into();
    let out = import(&epcis_document(vec![commission.clone(), bad]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("event 1:") && stderr.contains("eventTimeZoneOffset"),
        "{stderr}"
    );
    let out = import(&epcis_document(vec![commission.clone()]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("committed"), "{stdout}");
    let (status, record) = json(&format!("{api}/v1/lots/09521234100010/CU-EPCIS-2"));
    assert_eq!(
        (status, record["quantity"].as_u64()),
        (200, Some(100)),
        "{record}"
    );
    let out = import(&epcis_document(vec![commission.clone()]));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("already_recorded"));
    // Asked to, the valid events of a partly bad file go in; the bad one is
    // listed and the exit status says something was left out.
    let mut third = commission.clone();
    third["quantityList"][0]["epcClass"] = "urn:epc:class:lgtin:9521234.010001.CU-EPCIS-3".into();
    let mut bad = commission;
    bad["eventTimeZoneOffset"] = "CET".into();
    std::fs::write(&file, epcis_document(vec![third, bad]).to_string()).unwrap();
    let out = crate::network::filiera()
        .args(["epcis", "import", "--submit-valid"])
        .arg(&file)
        .arg("--key")
        .arg(&key)
        .args(["--api", api])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("event 1:") && stderr.contains("not submitted"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("committed"));
    assert_eq!(
        json(&format!("{api}/v1/lots/09521234100010/CU-EPCIS-3")).0,
        200
    );

    // Offline: signed without a connection, submitted later, twice harmlessly.
    let dairy = filiera_client::keys::read(&key)
        .unwrap()
        .public_key()
        .to_hex();
    let nonce = json(&format!("{api}/v1/accounts/{dairy}/nonce")).1["next_nonce"]
        .as_u64()
        .unwrap();
    let height = json(&format!("{api}/v1/status")).1["height"]
        .as_u64()
        .unwrap();
    let mut offline = epcis_event(
        "commissioning",
        "ADD",
        "2026-11-25T11:00:00.000+01:00",
        "urn:epc:id:sgln:9521234.00001.0",
        serde_json::json!({}),
    );
    offline["quantityList"][0]["epcClass"] =
        "urn:epc:class:lgtin:9521234.010001.CU-OFFLINE-1".into();
    std::fs::write(&file, epcis_document(vec![offline]).to_string()).unwrap();
    let signed = dir.join("offline.signed");
    let out = crate::network::filiera()
        .args(["epcis", "sign"])
        .arg(&file)
        .arg("--key")
        .arg(&key)
        .args([
            "--chain-id",
            "filiera-marche-localnet",
            "--nonce",
            &nonce.to_string(),
        ])
        .args(["--expiry-height", &(height + 1000).to_string(), "--out"])
        .arg(&signed)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let submit = || {
        let out = crate::network::filiera()
            .args(["epcis", "submit"])
            .arg(&signed)
            .args(["--api", api])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(submit().starts_with("committed"));
    assert!(
        submit().starts_with("already_recorded"),
        "submitting again is harmless"
    );
    assert_eq!(
        json(&format!("{api}/v1/lots/09521234100010/CU-OFFLINE-1")).0,
        200
    );
}

/// `filiera verify` against the trusted genesis: online with `--save`, then
/// offline; each kind of tampering and a foreign genesis are refused.
pub fn check_verify_cli(api: &str, dir: &Path) {
    let lot_url = format!("{api}/01/09521234100010/10/CU-2026-0142");
    let genesis = dir.join("genesis.json");
    let saved = dir.join("cu-bundle.json");
    let run = |source: &str, genesis: &Path, save: Option<&Path>| {
        let mut cmd = crate::network::filiera();
        cmd.args(["verify", source]).arg("--genesis").arg(genesis);
        if let Some(path) = save {
            cmd.arg("--save").arg(path);
        }
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, stdout, stderr) = run(&lot_url, &genesis, Some(&saved));
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.starts_with("VERIFIED lot 09521234100010 CU-2026-0142"),
        "{stdout}"
    );
    assert!(stdout.contains("through 0 change(s)"), "{stdout}");
    let (ok, stdout, _) = run(saved.to_str().unwrap(), &genesis, None);
    assert!(ok && stdout.contains("VERIFIED"), "offline: {stdout}");

    let bundle: Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    let tampered = dir.join("tampered.json");
    for (what, tamper, reason) in [
        (
            "changed value",
            bundle_tamperings()[5].1,
            "product shown is not the proven record",
        ),
        (
            "changed header",
            bundle_tamperings()[1].1,
            "commit certificate",
        ),
        ("forged signature", bundle_tamperings()[2].1, "signature"),
        (
            "missing signatures",
            bundle_tamperings()[4].1,
            "voting power",
        ),
    ] {
        let mut b = bundle.clone();
        tamper(&mut b);
        std::fs::write(&tampered, b.to_string()).unwrap();
        let (ok, _, stderr) = run(tampered.to_str().unwrap(), &genesis, None);
        assert!(
            !ok && stderr.contains("NOT VERIFIED") && stderr.contains(reason),
            "{what}: {stderr}"
        );
    }
    // A genesis with another validator set: the bundle's set does not descend from it.
    let mut foreign: Value = serde_json::from_slice(&std::fs::read(&genesis).unwrap()).unwrap();
    foreign["validators"].as_array_mut().unwrap().pop();
    let foreign_path = dir.join("foreign-genesis.json");
    std::fs::write(&foreign_path, foreign.to_string()).unwrap();
    let (ok, _, stderr) = run(saved.to_str().unwrap(), &foreign_path, None);
    assert!(
        !ok && stderr.contains("does not descend from genesis"),
        "{stderr}"
    );
}

/// The Rust SDK against the live localnet: typed calls, a refusal from the
/// contract (a farm commissioning the dairy's product), light-client
/// verification against the trusted genesis.
pub fn check_sdk(api: &str, dir: &Path) {
    use filiera_client::{Client, actions, keys};
    use filiera_contract_api::lots::{Commission, LotRef};
    let mut node = Client::connect(api).unwrap();
    let commission = |lot: &str| {
        actions::commission(&Commission {
            id: LotRef {
                gtin: "09521234100010".into(),
                lot: lot.into(),
            },
            quantity: 80,
            site: None,
            metadata: vec![("forma".into(), "1 kg".into())],
            private_hash: None,
            epcis_hash: None,
        })
    };
    let dairy = keys::read(&dir.join("orgs/caseificio-montefeltro-demo.json")).unwrap();
    let receipt = node.execute(&dairy, commission("CU-SDK-1")).unwrap();
    assert!(receipt.success && receipt.height > 0, "{receipt:?}");
    let farm = keys::read(&dir.join("orgs/az-agricola-foglia-demo.json")).unwrap();
    let refused = node.execute(&farm, commission("CU-SDK-2")).unwrap();
    assert!(!refused.success, "a farm may not make the dairy's cheese");
    assert!(refused.message.is_some(), "{refused:?}");
    let lot = node.lot("09521234100010", "CU-SDK-1").unwrap();
    assert_eq!(lot["quantity"], 80);
    let genesis =
        filiera_types::Genesis::from_json(&std::fs::read(dir.join("genesis.json")).unwrap())
            .unwrap();
    let (_, verified) = node
        .verify_lot("09521234100010", "CU-SDK-1", &genesis)
        .unwrap();
    assert!(verified.height >= receipt.height);
    assert!(
        node.lot("09521234100010", "CU-SDK-2").is_err(),
        "the refused lot does not exist"
    );
}

/// Each role's workflow through the CLI against the live localnet, with the
/// refusals that must happen: a producer acting on another's lot, a
/// certification body outside its accreditation, an authority decision with
/// too few approvals.
pub fn check_roles_cli(api: &str, dir: &Path) {
    let key = |org: &str| dir.join("orgs").join(format!("{org}.json"));
    let cli = |args: &[&str], signer: &Path| {
        let out = crate::network::filiera()
            .arg("--json")
            .args(args)
            .arg("--key")
            .arg(signer)
            .args(["--api", api])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let answer: Value = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
        (out.status.success(), answer, stderr)
    };
    let dairy = key("caseificio-montefeltro-demo");
    let farm = key("az-agricola-foglia-demo");
    let warehouse = key("deposito-ancona-demo");
    let assam = key("assam-apc");
    let valoritalia = key("valoritalia");
    let lot = "09521234100010/CU-CLI-1";

    let (ok, _, err) = cli(&["lot", "commission", lot, "--quantity", "50"], &dairy);
    assert!(ok, "{err}");
    let (ok, answer, err) = cli(
        &["lot", "record", "ship", lot, "--to", "deposito-ancona-demo"],
        &farm,
    );
    assert!(
        !ok && answer["success"] == false && err.contains("refused"),
        "another producer's lot: {err}"
    );
    let (ok, _, err) = cli(
        &["lot", "record", "ship", lot, "--to", "deposito-ancona-demo"],
        &dairy,
    );
    assert!(ok, "{err}");
    let (ok, _, err) = cli(&["lot", "record", "receive", lot], &warehouse);
    assert!(ok, "{err}");

    let evidence = dir.join("verbale.txt");
    std::fs::write(&evidence, "verbale di ispezione n. 12/2026").unwrap();
    let issue = |body: &Path, lot: &str| {
        cli(
            &[
                "attest",
                "issue",
                lot,
                "--scheme",
                "DOP",
                "--name",
                "Casciotta d'Urbino",
                "--evidence",
                evidence.to_str().unwrap(),
            ],
            body,
        )
    };
    let (ok, _, err) = issue(&valoritalia, lot);
    assert!(
        !ok && err.contains("refused"),
        "outside its accreditation: {err}"
    );
    // A Casciotta commissioned, not made from milk, breaks genesis's rules:
    // the CLI names the rule and says what it means.
    let (ok, answer, err) = issue(&assam, lot);
    assert!(
        !ok && answer["rule"] == "input_share"
            && err.contains("production rule \"input_share\" failed"),
        "{answer} {err}"
    );
    // The demo's lot made from both milks and aged is attested.
    let (ok, answer, err) = issue(&assam, "09521234100010/CU-2026-0142");
    assert!(ok, "{err}");
    let id = answer["returned"]
        .as_u64()
        .expect("attestation number")
        .to_string();
    // The body signs it as a W3C Verifiable Credential (VC-JOSE); anyone
    // verifies it offline, and against the chain with a node.
    let credential = dir.join(format!("attestation-{id}.jwt"));
    let (ok, _, err) = cli(
        &[
            "attest",
            "credential",
            &id,
            "--out",
            credential.to_str().unwrap(),
        ],
        &assam,
    );
    assert!(ok, "{err}");
    let verify = |file: &Path, with_api: bool| {
        let mut cmd = crate::network::filiera();
        cmd.args(["--json", "credential", "verify"]).arg(file);
        if with_api {
            cmd.args(["--api", api]);
        }
        let out = cmd.output().unwrap();
        let answer: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (
            out.status.success(),
            answer,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, answer, err) = verify(&credential, false);
    assert!(
        ok && answer["signature"] == "valid",
        "offline: {answer} {err}"
    );
    let (ok, answer, err) = verify(&credential, true);
    assert!(ok, "{err}");
    assert_eq!(answer["chain"]["attestation"].to_string(), id, "{answer}");
    assert_eq!(answer["chain"]["validity_now"], "valid", "{answer}");
    assert_eq!(
        answer["subject"]["id"], "https://id.gs1.org/01/09521234100010/10/CU-2026-0142",
        "{answer}"
    );
    // Another body does not sign for this attestation...
    let impostor = dir.join(format!("attestation-{id}-valoritalia.jwt"));
    let (ok, _, err) = cli(
        &[
            "attest",
            "credential",
            &id,
            "--out",
            impostor.to_str().unwrap(),
        ],
        &valoritalia,
    );
    assert!(
        !ok && err.contains("not of the body assam-apc"),
        "another body's credential: {err}"
    );
    // ...and one it made by hand, sound as a signature, names a body whose
    // key it is not.
    let valoritalia_key = crate::network::read_key(&valoritalia);
    let claims = filiera_credential::verify(std::fs::read_to_string(&credential).unwrap().trim())
        .unwrap()
        .credential;
    let stated = |field: &str| {
        claims["credentialSubject"][field]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let time = |field: &str| {
        filiera_types::genesis::parse_time_ms(claims[field].as_str().unwrap()).unwrap()
    };
    let forged_body = filiera_credential::Attestation {
        id: claims["id"].as_str().unwrap().into(),
        lot_link: stated("id"),
        scheme: stated("scheme"),
        name: stated("protectedName"),
        body: stated("certificationBody"),
        issuer: valoritalia_key.public_key(),
        valid_from_ms: time("validFrom"),
        valid_until_ms: Some(time("validUntil")),
    };
    let jwt = filiera_credential::issue(&forged_body, &valoritalia_key).unwrap();
    std::fs::write(&impostor, jwt).unwrap();
    let (ok, _, err) = verify(&impostor, false);
    assert!(ok, "offline, only the signature is checked: {err}");
    let (ok, _, err) = verify(&impostor, true);
    assert!(
        !ok && err.contains("not of the body assam-apc"),
        "another body's key: {err}"
    );
    // Altered after signing: refused offline, for its signature.
    let text = std::fs::read_to_string(&credential).unwrap();
    let parts: Vec<&str> = text.split('.').collect();
    let payload = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, parts[1])
            .unwrap(),
    )
    .unwrap()
    .replace("Casciotta d'Urbino", "Ciauscolo");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload),
        parts[2]
    );
    let forged_file = dir.join("forged.jwt");
    std::fs::write(&forged_file, forged).unwrap();
    let (ok, _, err) = verify(&forged_file, false);
    assert!(!ok && err.contains("signature does not verify"), "{err}");

    let (ok, _, err) = cli(
        &["attest", "suspend", &id, "--reason", "analisi in corso"],
        &assam,
    );
    assert!(ok, "{err}");
    assert_eq!(
        json(&format!("{api}/v1/attestations/{id}")).1["validity"],
        "suspended"
    );
    // The credential's signature stays sound; the chain says it is
    // suspended, and the check fails for that reason.
    let (ok, _, err) = verify(&credential, false);
    assert!(ok, "offline: {err}");
    let (ok, _, err) = verify(&credential, true);
    assert!(
        !ok && err.contains("is suspended on chain"),
        "a suspended attestation's credential: {err}"
    );
    let (ok, _, err) = cli(
        &["attest", "revoke", &id, "--reason", "non conforme"],
        &assam,
    );
    assert!(ok, "{err}");
    assert_eq!(
        json(&format!("{api}/v1/attestations/{id}")).1["validity"],
        "revoked"
    );

    // Only members write: a key of no organisation is refused at the door.
    let newcomer = filiera_client::keys::generate().unwrap();
    let newcomer_file = dir.join("newcomer.json");
    filiera_client::keys::write(&newcomer_file, &newcomer).unwrap();
    let foreign_lot = [
        "lot",
        "commission",
        "09521234100010/CU-NEW-1",
        "--quantity",
        "1",
    ];
    let (ok, _, err) = cli(&foreign_lot, &newcomer_file);
    assert!(!ok && err.contains("not_member"), "a stranger: {err}");
    let nonce_url = format!("{api}/v1/accounts/{}/nonce", newcomer.public_key());
    assert_eq!(json(&nonce_url).1["next_nonce"], 0, "no trace in state");

    // The authority: 2 of 3 keys must approve.
    let new_key = newcomer.public_key().to_hex();
    let (ok, answer, err) = cli(
        &[
            "authority",
            "onboard",
            "--id",
            "caseificio-nuovo-demo",
            "--name",
            "Caseificio Nuovo (demo)",
            "--kind",
            "producer",
            "--role",
            "producer",
            "--org-key",
            &new_key,
        ],
        &dir.join("authority/key-0.json"),
    );
    assert!(ok, "{err}");
    let proposal = answer["returned"]
        .as_u64()
        .expect("proposal number")
        .to_string();
    assert_eq!(
        json(&format!("{api}/v1/orgs/caseificio-nuovo-demo")).0,
        404,
        "one approval of two is not enough"
    );
    let (ok, _, err) = cli(
        &["authority", "approve", &proposal],
        &dir.join("authority/key-1.json"),
    );
    assert!(ok, "{err}");
    assert_eq!(
        json(&format!("{api}/v1/orgs/caseificio-nuovo-demo")).0,
        200,
        "approved by 2 of 3"
    );
    // A member now: its call runs, and the lots contract refuses another's GTIN.
    let (ok, _, err) = cli(&foreign_lot, &newcomer_file);
    assert!(
        !ok && err.contains("refused") && !err.contains("not_member"),
        "{err}"
    );
    assert_eq!(
        json(&nonce_url).1["next_nonce"],
        1,
        "a member's failed call uses its nonce"
    );
    // Suspended by the authority, it writes nothing; reinstated, it may again.
    let set_status = |status: &str| {
        let (ok, answer, err) = cli(
            &[
                "authority",
                "status",
                "--org",
                "caseificio-nuovo-demo",
                "--set",
                status,
            ],
            &dir.join("authority/key-0.json"),
        );
        assert!(ok, "{err}");
        let proposal = answer["returned"].as_u64().expect("proposal").to_string();
        let (ok, _, err) = cli(
            &["authority", "approve", &proposal],
            &dir.join("authority/key-1.json"),
        );
        assert!(ok, "{err}");
    };
    set_status("suspended");
    let (ok, _, err) = cli(&foreign_lot, &newcomer_file);
    assert!(!ok && err.contains("not_active"), "suspended: {err}");
    assert_eq!(json(&nonce_url).1["next_nonce"], 1, "no trace in state");
    set_status("active");
    let (ok, _, err) = cli(&foreign_lot, &newcomer_file);
    assert!(
        !ok && err.contains("refused") && !err.contains("not_active"),
        "{err}"
    );
    assert_eq!(json(&nonce_url).1["next_nonce"], 2);

    // The maker recalls the lot.
    let (ok, _, err) = cli(
        &["lot", "recall", lot, "--reason", "richiamo volontario"],
        &dairy,
    );
    assert!(ok, "{err}");
    let (_, record) = json(&format!("{api}/v1/lots/09521234100010/CU-CLI-1"));
    assert_eq!(
        record["recall"]["reason"], "richiamo volontario",
        "{record}"
    );
    // Another producer may not close it; the maker may.
    let (ok, _, err) = cli(&["lot", "close-recall", lot, "--reason", "x"], &farm);
    assert!(!ok && err.contains("refused"), "{err}");
    let (ok, _, err) = cli(
        &["lot", "close-recall", lot, "--reason", "analisi conformi"],
        &dairy,
    );
    assert!(ok, "{err}");
    let (_, record) = json(&format!("{api}/v1/lots/09521234100010/CU-CLI-1"));
    assert!(record["recall"].is_null(), "{record}");
    assert_eq!(
        record["history"].as_array().unwrap().last().unwrap()["kind"],
        "recall_closed"
    );
    // Closing the demo's Ciauscolo recall lifts it from the packs split from it too.
    let ciauscolo = "09521234100065/CI-2026-020";
    let (ok, _, err) = cli(
        &[
            "lot",
            "close-recall",
            ciauscolo,
            "--reason",
            "etichette corrette",
        ],
        &key("salumificio-visso-demo"),
    );
    assert!(ok, "{err}");
    let (_, pack) = json(&format!("{api}/v1/lots/09521234100065/CI-2026-020-A"));
    assert!(pack["recall"].is_null(), "{pack}");
    // Split from the CLI: the parts must sum to the lot.
    let (ok, _, err) = cli(
        &[
            "lot",
            "commission",
            "09521234100010/CU-CLI-2",
            "--quantity",
            "10",
        ],
        &dairy,
    );
    assert!(ok, "{err}");
    let (ok, _, err) = cli(
        &[
            "lot",
            "split",
            "09521234100010/CU-CLI-2",
            "--part",
            "09521234100010/CU-CLI-2A=6",
            "--part",
            "09521234100010/CU-CLI-2B=3",
        ],
        &dairy,
    );
    assert!(!ok && err.contains("sum"), "{err}");
    let (ok, _, err) = cli(
        &[
            "lot",
            "split",
            "09521234100010/CU-CLI-2",
            "--part",
            "09521234100010/CU-CLI-2A=6",
            "--part",
            "09521234100010/CU-CLI-2B=4",
        ],
        &dairy,
    );
    assert!(ok, "{err}");
    // Merge them back; register a product and a site, and make a lot of it there.
    let (ok, _, err) = cli(
        &[
            "lot",
            "merge",
            "--from",
            "09521234100010/CU-CLI-2A",
            "--from",
            "09521234100010/CU-CLI-2B",
            "--into",
            "09521234100010/CU-CLI-2M",
        ],
        &dairy,
    );
    assert!(ok, "{err}");
    assert_eq!(
        json(&format!("{api}/v1/lots/09521234100010/CU-CLI-2M")).1["quantity"],
        10
    );
    let (ok, _, err) = cli(
        &[
            "site",
            "register",
            "9521234000099",
            "--org",
            "caseificio-montefeltro-demo",
            "--kind",
            "dairy",
            "--name",
            "Caseificio demo 2, Urbino (PU)",
        ],
        &farm,
    );
    assert!(
        !ok && err.contains("refused"),
        "a farm registering the dairy's site: {err}"
    );
    let (ok, _, err) = cli(
        &[
            "site",
            "register",
            "9521234000099",
            "--org",
            "caseificio-montefeltro-demo",
            "--kind",
            "dairy",
            "--name",
            "Caseificio demo 2, Urbino (PU)",
        ],
        &dairy,
    );
    assert!(ok, "{err}");
    let (ok, _, err) = cli(
        &[
            "product",
            "register",
            "09521234100133",
            "--name",
            "Casciotta stagionata (demo)",
            "--scheme",
            "DOP",
            "--uom",
            "kg",
        ],
        &dairy,
    );
    assert!(ok, "{err}");
    let (ok, _, err) = cli(
        &[
            "lot",
            "commission",
            "09521234100133/CS-1",
            "--quantity",
            "12",
            "--site",
            "9521234000099",
        ],
        &dairy,
    );
    assert!(ok, "{err}");
    let (_, made) = json(&format!("{api}/v1/lots/09521234100133/CS-1"));
    assert_eq!(made["site"], "9521234000099", "{made}");
}

/// An auditor's exports and a label from the CLI: the CSV trail, the EPCIS
/// trail (GS1's schema and reference hashes agree), a PNG label read back.
pub fn check_export_cli(api: &str, dir: &Path) {
    let run = |args: &[&str]| crate::network::run_ok(crate::network::filiera().args(args));
    // The dairy's own token: it is a party to every event of its lots.
    let token_file = dir
        .join("orgs/caseificio-montefeltro-demo.epcis-token")
        .to_string_lossy()
        .into_owned();
    let refused = crate::network::filiera()
        .args([
            "export",
            "09521234100010/CU-EPCIS-1",
            "--format",
            "epcis",
            "--api",
            api,
        ])
        .output()
        .unwrap();
    assert!(
        !refused.status.success()
            && String::from_utf8_lossy(&refused.stderr).contains("--token-file"),
        "an EPCIS export without a token is refused with the way out"
    );
    let csv = run(&[
        "export",
        "09521234100010/CU-EPCIS-1",
        "--format",
        "csv",
        "--api",
        api,
    ]);
    let rows: Vec<&str> = csv.lines().collect();
    assert!(
        rows[0].starts_with("gtin,lot,record,seq_or_id,kind_or_scheme"),
        "{csv}"
    );
    assert_eq!(
        rows.iter().filter(|r| r.contains(",event,")).count(),
        3,
        "{csv}"
    );
    assert!(
        rows[1].contains("commissioning") && rows[1].contains("caseificio-montefeltro-demo"),
        "{csv}"
    );
    let epcis = run(&[
        "export",
        "09521234100010/CU-EPCIS-1",
        "--format",
        "epcis",
        "--api",
        api,
        "--token-file",
        &token_file,
    ]);
    let doc: Value = serde_json::from_str(&epcis).unwrap();
    let events = doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(events.len(), 3, "{epcis}");
    if let Some(out) = outside_check("python3", "epcis-schema-check.py", &doc) {
        assert!(out.contains("valid"), "{out}");
    }
    // An organisation's whole trail: every lot it made or holds.
    let (status, listing) = json(&format!("{api}/v1/orgs/caseificio-montefeltro-demo/lots"));
    assert_eq!(status, 200);
    let lots: Vec<&str> = listing["lots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["lot"].as_str().unwrap())
        .collect();
    assert!(
        lots.contains(&"CU-2026-0150") && lots.contains(&"CU-EPCIS-1"),
        "{listing}"
    );
    assert!(
        !lots.contains(&"VJ-2026-032"),
        "not another organisation's lots"
    );
    assert_eq!(json(&format!("{api}/v1/orgs/nobody-demo/lots")).0, 404);
    let org_csv = run(&[
        "export",
        "--org",
        "caseificio-montefeltro-demo",
        "--api",
        api,
    ]);
    assert!(
        org_csv
            .lines()
            .any(|r| r.starts_with("09521234100010,CU-2026-0150,event,")),
        "{org_csv}"
    );
    let org_epcis = run(&[
        "export",
        "--org",
        "caseificio-montefeltro-demo",
        "--format",
        "epcis",
        "--api",
        api,
        "--token-file",
        &token_file,
    ]);
    let doc: Value = serde_json::from_str(&org_epcis).unwrap();
    assert!(
        doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            .as_array()
            .unwrap()
            .len()
            >= 3
    );
    if let Some(out) = outside_check("python3", "epcis-schema-check.py", &doc) {
        assert!(out.contains("valid"), "{out}");
    }
    let label = dir.join("label.png");
    let uri = run(&[
        "qr",
        "09521234100010/CU-EPCIS-1",
        "--base-url",
        "https://id.example.it",
        "--out",
        label.to_str().unwrap(),
    ]);
    assert_eq!(
        uri.trim(),
        "https://id.example.it/01/09521234100010/10/CU-EPCIS-1"
    );
    if Command::new("zbarimg").arg("--version").output().is_ok() {
        let read = Command::new("zbarimg")
            .args(["--raw", "-q"])
            .arg(&label)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&read.stdout).trim(),
            uri.trim(),
            "zbarimg reads the CLI's label"
        );
    }
}

/// `filiera status`: the operator's glance at a running node.
pub fn check_status_cli(api: &str, dir: &Path) {
    let text = crate::network::run_ok(
        crate::network::filiera()
            .args(["status", "--api", api, "--home"])
            .arg(dir.join("node0")),
    );
    assert!(
        text.contains("validator-0 on filiera-marche-localnet") && text.contains("following"),
        "{text}"
    );
    assert!(text.contains("peers 3") && text.contains("MiB"), "{text}");
    assert!(text.contains("no equivocation recorded on chain"), "{text}");
    let out = crate::network::filiera()
        .args(["--json", "status", "--api", api, "--home"])
        .arg(dir.join("node0"))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["disk_bytes"].as_u64().unwrap() > 0 && v["sync_state"] == "following",
        "{v}"
    );
}

/// `POST /v1/txs/batch` on the live localnet: each transaction is judged on
/// its own and answered in order; a forged signature is refused without
/// touching the others; the admitted ones commit; bad batches are refused whole.
pub fn check_batch_submission(api: &str, dir: &Path) {
    use filiera_client::keys;
    use filiera_contract_api::lots::{Commission, LotRef};
    use filiera_contract_api::{contract_ids, encode};
    use filiera_types::{ContractCall, ContractId, MethodName, Transaction};
    let dairy = keys::read(&dir.join("orgs/caseificio-montefeltro-demo.json")).unwrap();
    let (_, status) = json(&format!("{api}/v1/status"));
    let chain = filiera_types::ChainId::new(status["chain_id"].as_str().unwrap()).unwrap();
    let height = status["height"].as_u64().unwrap();
    let (_, nonce) = json(&format!(
        "{api}/v1/accounts/{}/nonce",
        dairy.public_key().to_hex()
    ));
    let nonce = nonce["next_nonce"].as_u64().unwrap();
    let lot = |n: u64| {
        Transaction {
            chain_id: chain.clone(),
            sender: dairy.public_key(),
            nonce: nonce + n,
            expiry_height: height + 1_000,
            call: ContractCall {
                contract: ContractId::new(contract_ids::LOTS).unwrap(),
                method: MethodName::new("commission").unwrap(),
                args: encode(&Commission {
                    id: LotRef {
                        gtin: "09521234100010".into(),
                        lot: format!("CU-BATCH-{n}"),
                    },
                    quantity: 10,
                    site: None,
                    metadata: vec![],
                    private_hash: None,
                    epcis_hash: None,
                }),
            },
        }
        .sign(&dairy)
        .unwrap()
    };
    let (first, second) = (lot(0), lot(1));
    let mut forged = lot(2);
    forged.signature.0[10] ^= 1;
    let batch = vec![first.clone(), forged, second.clone(), first.clone()];
    let post = |body: Vec<u8>| {
        let mut r = ureq::post(&format!("{api}/v1/txs/batch"))
            .config()
            .http_status_as_error(false)
            .build()
            .header("content-type", "application/octet-stream")
            .send(&body[..])
            .unwrap();
        let status = r.status().as_u16();
        (status, r.body_mut().read_json::<Value>().unwrap())
    };
    let (code, answer) = post(filiera_types::encoding::encode(&batch));
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["accepted"], 2, "{answer}");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results[0]["tx_hash"], first.hash().to_hex(), "{answer}");
    assert_eq!(results[1]["code"], "bad_signature", "{answer}");
    assert_eq!(results[2]["tx_hash"], second.hash().to_hex(), "{answer}");
    assert_eq!(results[3]["code"], "duplicate", "{answer}");
    // Both admitted ones commit; the forged one never exists.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    for tx in [&first, &second] {
        loop {
            let (_, t) = json(&format!("{api}/v1/txs/{}", tx.hash().to_hex()));
            if t["status"] == "committed" {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{t}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    let (code, _) = json(&format!("{api}/v1/lots/09521234100010/CU-BATCH-2"));
    assert_eq!(code, 404, "the forged transaction changed nothing");
    // Refused whole: no count, a count over the limit, bytes that do not decode.
    let (code, answer) = post(vec![1, 0]);
    assert_eq!(
        (code, answer["code"].as_str()),
        (400, Some("malformed_batch"))
    );
    let (code, answer) = post(1_001u32.to_le_bytes().to_vec());
    assert_eq!((code, answer["code"].as_str()), (413, Some("too_large")));
    let (code, answer) = post(vec![2, 0, 0, 0, 0xff, 0xff]);
    assert_eq!(
        (code, answer["code"].as_str()),
        (400, Some("malformed_batch"))
    );
}
