//! Key files: the SDK's (`filiera_client::keys`), one format for the node,
//! the CLI and producers' software. A sealed (passphrase-encrypted) file is
//! opened with the passphrase from `FILIERA_KEY_PASSPHRASE`, or from the
//! first line of the file `FILIERA_KEY_PASSPHRASE_FILE` names (for systemd
//! credentials: the passphrase never appears in the unit or the process list).

use anyhow::{Context, Result};
use filiera_types::SecretKey;
use std::path::Path;
use zeroize::Zeroizing;

pub use filiera_client::keys::{generate, write, write_encrypted};

/// Environment variable holding the passphrase of sealed key files.
pub const PASSPHRASE_ENV: &str = "FILIERA_KEY_PASSPHRASE";
/// Environment variable naming a file whose first line is that passphrase.
pub const PASSPHRASE_FILE_ENV: &str = "FILIERA_KEY_PASSPHRASE_FILE";

/// The passphrase from the environment, if one is given.
pub fn passphrase() -> Result<Option<Zeroizing<String>>> {
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        return Ok(Some(Zeroizing::new(p)));
    }
    match std::env::var_os(PASSPHRASE_FILE_ENV) {
        Some(file) => {
            let text = Zeroizing::new(
                std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {PASSPHRASE_FILE_ENV} {file:?}"))?,
            );
            Ok(Some(Zeroizing::new(
                text.lines().next().unwrap_or_default().to_owned(),
            )))
        }
        None => Ok(None),
    }
}

/// Reads a key file, in clear or sealed (with the environment's passphrase).
pub fn read(path: &Path) -> Result<SecretKey> {
    let passphrase = passphrase()?;
    filiera_client::keys::read_with_passphrase(path, passphrase.as_deref().map(String::as_str))
        .map_err(|e| {
            let hint = if passphrase.is_none() && e.to_string().contains("encrypted") {
                format!(" (set {PASSPHRASE_ENV} or {PASSPHRASE_FILE_ENV})")
            } else {
                String::new()
            };
            anyhow::anyhow!("{e}{hint}")
        })
}

/// Seals the key file at `path` in place with `passphrase`: the sealed copy is
/// written beside it (0600), synced, then renamed over the file in clear.
pub fn seal_in_place(path: &Path, passphrase: &str) -> Result<SecretKey> {
    let key = read(path)?;
    let sealed = path.with_extension("sealing");
    let _ = std::fs::remove_file(&sealed);
    write_encrypted(&sealed, &key, passphrase)?;
    std::fs::rename(&sealed, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(key)
}
