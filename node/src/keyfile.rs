//! Key files: one ed25519 key per file, JSON, readable by the owner only (0600).

use anyhow::{Context, Result, bail};
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

/// A fresh key from the operating system's random source.
pub fn generate() -> Result<SecretKey> {
    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut()).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
    Ok(SecretKey::from_seed(&seed))
}

/// Writes `key` to a new file with mode 0600; refuses to overwrite.
pub fn write(path: &Path, key: &SecretKey) -> Result<()> {
    let json = KeyFileJson {
        kind: "ed25519".into(),
        public_key: key.public_key(),
        secret_key: hex::encode(key.to_seed().as_ref()),
    };
    let text = Zeroizing::new(serde_json::to_string_pretty(&json)?);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(SECRET_FILE_MODE)
        .open(path)
        .with_context(|| format!("creating key file {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    Ok(())
}

/// Reads a key file, refusing files others can read and keys that do not match.
pub fn read(path: &Path) -> Result<SecretKey> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("reading key file {}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "key file {} has mode {mode:o}; it must be readable by its owner only (chmod 600)",
            path.display()
        );
    }
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("reading key file {}", path.display()))?,
    );
    let json: KeyFileJson = serde_json::from_str(&text)
        .with_context(|| format!("key file {} is not a Filiera key file", path.display()))?;
    if json.kind != "ed25519" {
        bail!(
            "key file {}: unsupported key type {:?}",
            path.display(),
            json.kind
        );
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(&json.secret_key, seed.as_mut()).with_context(|| {
        format!(
            "key file {}: secret_key is not 64 hex characters",
            path.display()
        )
    })?;
    let key = SecretKey::from_seed(&seed);
    if key.public_key() != json.public_key {
        bail!(
            "key file {}: public_key does not match secret_key",
            path.display()
        );
    }
    Ok(key)
}
