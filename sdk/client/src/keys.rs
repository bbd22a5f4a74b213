//! Key files: one ed25519 key per file, JSON, readable by the owner only
//! (mode 0600); the secret is zeroised in memory once read.

use crate::ClientError;
use filiera_types::{PublicKey, SecretKey};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use zeroize::Zeroizing;

/// File mode of every secret file.
pub const SECRET_FILE_MODE: u32 = 0o600;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileJson {
    #[serde(rename = "type")]
    kind: String,
    public_key: PublicKey,
    /// The 32-byte seed, hex.
    secret_key: String,
}

fn key_error(path: &Path, reason: impl Into<String>) -> ClientError {
    ClientError::Key {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// A fresh key from the operating system's random source.
///
/// ```
/// let key = filiera_client::keys::generate().expect("randomness");
/// assert_eq!(key.public_key().to_hex().len(), 64);
/// ```
pub fn generate() -> Result<SecretKey, ClientError> {
    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut()).map_err(|e| ClientError::Randomness(e.to_string()))?;
    Ok(SecretKey::from_seed(&seed))
}

/// Writes `key` to a new file with mode 0600; refuses to overwrite.
pub fn write(path: &Path, key: &SecretKey) -> Result<(), ClientError> {
    let json = KeyFileJson {
        kind: "ed25519".into(),
        public_key: key.public_key(),
        secret_key: hex::encode(key.to_seed().as_ref()),
    };
    let text = Zeroizing::new(
        serde_json::to_string_pretty(&json).map_err(|e| key_error(path, e.to_string()))?,
    );
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(SECRET_FILE_MODE)
        .open(path)
        .map_err(|e| key_error(path, format!("creating: {e}")))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(|e| key_error(path, format!("writing: {e}")))
}

/// Reads a key file, refusing files others can read and keys that do not match.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("producer.json");
/// let key = filiera_client::keys::generate().unwrap();
/// filiera_client::keys::write(&path, &key).unwrap();
/// assert_eq!(filiera_client::keys::read(&path).unwrap().public_key(), key.public_key());
/// ```
pub fn read(path: &Path) -> Result<SecretKey, ClientError> {
    let meta = std::fs::metadata(path).map_err(|e| key_error(path, e.to_string()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(key_error(
            path,
            format!("mode {mode:o}; it must be readable by its owner only (chmod 600)"),
        ));
    }
    let text =
        Zeroizing::new(std::fs::read_to_string(path).map_err(|e| key_error(path, e.to_string()))?);
    let json: KeyFileJson = serde_json::from_str(&text)
        .map_err(|e| key_error(path, format!("not a Filiera key file: {e}")))?;
    if json.kind != "ed25519" {
        return Err(key_error(
            path,
            format!("unsupported key type {:?}", json.kind),
        ));
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(&json.secret_key, seed.as_mut())
        .map_err(|_| key_error(path, "secret_key is not 64 hex characters"))?;
    let key = SecretKey::from_seed(&seed);
    if key.public_key() != json.public_key {
        return Err(key_error(path, "public_key does not match secret_key"));
    }
    Ok(key)
}
