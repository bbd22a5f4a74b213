//! Key files sealed with a passphrase: they open with it and with nothing
//! else, any change to them is refused, a hostile cost is refused before any
//! work, and the seed never appears in the file.

use filiera_client::keys::{
    self, KDF_MEMORY_KIB_MAX, PASSPHRASE_CHARS_MIN, SECRET_FILE_MODE, read, read_with_passphrase,
    write_encrypted,
};
use std::os::unix::fs::PermissionsExt;

const PASSPHRASE: &str = "caciotta di montefeltro 2026";

fn sealed() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    filiera_types::SecretKey,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("consensus.json");
    let key = keys::generate().unwrap();
    write_encrypted(&path, &key, PASSPHRASE).unwrap();
    (dir, path, key)
}

#[test]
fn a_sealed_key_opens_with_its_passphrase_only() {
    let (_dir, path, key) = sealed();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, SECRET_FILE_MODE);
    assert!(keys::is_encrypted(&path).unwrap());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains(&hex::encode(key.to_seed().as_ref())),
        "the seed is not in the file"
    );
    assert!(!text.contains("secret_key"), "{text}");
    let opened = read_with_passphrase(&path, Some(PASSPHRASE)).unwrap();
    assert_eq!(opened.public_key(), key.public_key());
    let wrong = read_with_passphrase(&path, Some("caciotta di montefeltro 2027")).unwrap_err();
    assert!(wrong.to_string().contains("wrong passphrase"), "{wrong}");
    let none = read(&path).unwrap_err();
    assert!(none.to_string().contains("encrypted"), "{none}");
    // A key in clear still reads without a passphrase, and with one.
    let clear = path.with_file_name("clear.json");
    keys::write(&clear, &key).unwrap();
    assert_eq!(read(&clear).unwrap().public_key(), key.public_key());
    assert_eq!(
        read_with_passphrase(&clear, Some(PASSPHRASE))
            .unwrap()
            .public_key(),
        key.public_key()
    );
    // Too short a passphrase is refused, and nothing is written.
    let short = path.with_file_name("short.json");
    let too_short = "x".repeat(PASSPHRASE_CHARS_MIN - 1);
    assert!(write_encrypted(&short, &key, &too_short).is_err());
    assert!(!short.exists());
}

/// Every field of a sealed file is bound: the public key and the KDF
/// parameters are associated data, the rest is the seal itself.
#[test]
fn any_change_to_a_sealed_file_is_refused() {
    let (_dir, path, _key) = sealed();
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let other = keys::generate().unwrap().public_key().to_hex();
    let flip = |hex: &str| {
        let mut b = hex::decode(hex).unwrap();
        b[0] ^= 1;
        hex::encode(b)
    };
    let e = &original["encrypted"];
    let changes: Vec<(&str, serde_json::Value)> = vec![
        ("public_key", serde_json::json!(other)),
        (
            "passes",
            serde_json::json!(e["passes"].as_u64().unwrap() + 1),
        ),
        (
            "memory_kib",
            serde_json::json!(e["memory_kib"].as_u64().unwrap() / 2),
        ),
        ("salt", serde_json::json!(flip(e["salt"].as_str().unwrap()))),
        (
            "nonce",
            serde_json::json!(flip(e["nonce"].as_str().unwrap())),
        ),
        (
            "ciphertext",
            serde_json::json!(flip(e["ciphertext"].as_str().unwrap())),
        ),
    ];
    for (field, value) in changes {
        let mut changed = original.clone();
        if field == "public_key" {
            changed[field] = value;
        } else {
            changed["encrypted"][field] = value;
        }
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, changed.to_string()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let refused = read_with_passphrase(&path, Some(PASSPHRASE));
        assert!(refused.is_err(), "a changed {field} was accepted");
    }
}

/// A file asking for more memory than the bound is refused by the bound, before
/// any key derivation (which would take gigabytes).
#[test]
fn a_hostile_key_derivation_cost_is_refused_before_any_work() {
    let (_dir, path, _key) = sealed();
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    json["encrypted"]["memory_kib"] = serde_json::json!(u64::from(KDF_MEMORY_KIB_MAX) * 4);
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, json.to_string()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let refused = read_with_passphrase(&path, Some(PASSPHRASE)).unwrap_err();
    assert!(refused.to_string().contains("at most"), "{refused}");
}
