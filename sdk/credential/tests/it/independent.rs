//! The credentials checked by panva's `jose` (npm), run by Node: a verifier
//! no one here wrote. Skipped, saying so, when Node or the package is
//! missing, unless `FILIERA_REQUIRE_TOOLS=1` (CI), where that fails.

use crate::{attestation, body_key, with_payload};
use filiera_credential::issue;
use serde_json::Value;
use std::path::PathBuf;

/// The package `scripts/setup.sh` installs.
fn jose_index() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    let index = PathBuf::from(home).join(".cache/filiera-tools/jose/package/dist/webapi/index.js");
    let node = std::process::Command::new("node").arg("--version").output();
    let found = index.is_file() && node.is_ok_and(|o| o.status.success());
    if !found && std::env::var("FILIERA_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!(
            "node and {} are required (scripts/setup.sh installs them)",
            index.display()
        );
    }
    found.then_some(index)
}

fn jose_verify(index: &std::path::Path, jwt: &str) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/jose-verify.mjs");
    let out = std::process::Command::new("node")
        .arg(script)
        .arg(format!("file://{}", index.display()))
        .arg(jwt)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn credentials_verify_with_a_jose_library_no_one_here_wrote() {
    let Some(index) = jose_index() else {
        eprintln!("SKIPPED: node or the jose package missing (scripts/setup.sh installs them)");
        return;
    };
    let key = body_key();
    let a = attestation(&key);
    let jwt = issue(&a, &key).unwrap();
    let answer = jose_verify(&index, &jwt);
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["issuer_matches"], true, "{answer}");
    assert_eq!(answer["header"]["typ"], "vc+jwt", "{answer}");
    assert_eq!(answer["payload"]["credentialSubject"]["id"], a.lot_link);

    // Altered after signing: refused there too, for its signature.
    let altered = with_payload(&jwt, |p| p["validUntil"] = "2099-01-01T00:00:00Z".into());
    let answer = jose_verify(&index, &altered);
    assert_eq!(answer["ok"], false, "{answer}");
    assert_eq!(
        answer["code"], "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
        "{answer}"
    );
}
