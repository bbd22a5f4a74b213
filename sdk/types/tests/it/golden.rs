//! Golden fixtures: the exact bytes and hashes of the wire and storage formats.
//!
//! A failure here means a format changed. If that was on purpose, regenerate with
//! `FILIERA_BLESS=1 cargo test -p filiera-types --test it golden` and say why in
//! the commit; every node and stored chain is affected.

use crate::fixtures::{certificate, header, signed_tx, validator_keys, vote};
use crate::genesis::sample_genesis_json;
use filiera_types::{Genesis, Hash, encoding};
use std::path::PathBuf;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Compares `actual` with the fixture, or writes it when blessing.
fn check(name: &str, actual: &str) {
    let path = fixture_path(name);
    if std::env::var_os("FILIERA_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "missing fixture {} ({e}); run with FILIERA_BLESS=1",
            path.display()
        )
    });
    assert_eq!(actual, expected, "fixture {name} changed");
}

#[test]
fn signed_transaction_bytes_and_id() {
    let stx = signed_tx(7);
    check(
        "signed_tx.hex",
        &format!("{}\nid {}\n", hex::encode(stx.encode()), stx.hash()),
    );
}

#[test]
fn header_bytes_and_hash() {
    let h = header();
    check(
        "header.hex",
        &format!("{}\nhash {}\n", hex::encode(encoding::encode(&h)), h.hash()),
    );
}

#[test]
fn vote_and_certificate_bytes() {
    let keys = validator_keys(4);
    let v = vote(42, 1, Some(Hash([9; 32])), &keys[0]);
    let cert = certificate(42, 1, Hash([9; 32]), &keys[..3]);
    check(
        "vote.hex",
        &format!(
            "{}\ncertificate {}\n",
            hex::encode(encoding::encode(&v)),
            hex::encode(encoding::encode(&cert))
        ),
    );
}

#[test]
fn genesis_json_and_hash() {
    let json = serde_json::to_string_pretty(&sample_genesis_json()).unwrap();
    let genesis = Genesis::from_json(json.as_bytes()).unwrap();
    check("genesis.json", &format!("{json}\n"));
    check("genesis.hash", &format!("{}\n", genesis.hash()));
}
