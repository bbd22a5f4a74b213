//! The HTTP API of a real node with the demo data: records, the proof-carrying
//! lot bundle (verified here, and refused when tampered), the consumer page
//! in both languages, Digital Link errors, the linkset, QR labels.

use filiera_types::CommitCertificate;
use filiera_verify::{VerifyError, verify_bundle};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn get(url: &str, accept: &str) -> (u16, String, String) {
    let response = ureq::get(url)
        .header("accept", accept)
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut response = response;
    let body = response.body_mut().read_to_string().unwrap();
    (status, content_type, body)
}

fn json(url: &str) -> (u16, Value) {
    let (status, _, body) = get(url, "application/json");
    (status, serde_json::from_str(&body).unwrap())
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
    assert_eq!(kinds, ["commissioning", "storing", "shipping", "receiving"]);
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
    let (status, health) = json(&format!("{api}/health"));
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));

    // The resolver's JSON bundle verifies; a tampered one does not.
    let (status, bundle) = json(&lot_url);
    assert_eq!(status, 200, "{bundle}");
    let genesis: Value =
        serde_json::from_slice(&std::fs::read(dir.join("genesis.json")).unwrap()).unwrap();
    let chain_id = genesis["chain_id"].as_str().unwrap();
    let verified = verify_bundle(&bundle).expect("the bundle verifies");
    assert_eq!(verified.chain_id, chain_id);
    assert!(
        verified.signed_power * 3 > verified.total_power * 2,
        "{verified:?}"
    );
    assert!(
        bundle["verification"]["proofs"].as_array().unwrap().len() >= 7,
        "lot, product, producer, 4 events, attestation"
    );
    for (what, tamper) in bundle_tamperings() {
        let mut t = bundle.clone();
        tamper(&mut t);
        let err = verify_bundle(&t).expect_err(what);
        eprintln!("tampered {what}: {err}");
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
        sheet.matches("<text").count(),
        3,
        "three labels on the sheet"
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
