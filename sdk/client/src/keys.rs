//! Key files: one ed25519 key per file, JSON, readable by the owner only
//! (mode 0600); the secret is zeroised in memory once read.
//!
//! A key file may hold its seed in clear (`secret_key`) or sealed with a
//! passphrase (`encrypted`): Argon2id derives a 256-bit key from the
//! passphrase and a random salt, XChaCha20-Poly1305 seals the seed under a
//! random nonce, and the public key and the KDF parameters are the associated
//! data, so changing any of them makes the file fail to open. A file's KDF
//! cost is bounded ([`KDF_MEMORY_KIB_MAX`], [`KDF_PASSES_MAX`]) before any
//! work: a hostile file cannot make opening it exhaust the machine.

use crate::ClientError;
use filiera_types::{PublicKey, SecretKey};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use zeroize::Zeroizing;

/// File mode of every secret file.
pub const SECRET_FILE_MODE: u32 = 0o600;
/// Argon2id memory of newly sealed files, KiB (64 MiB).
pub const KDF_MEMORY_KIB: u32 = 64 * 1024;
/// Argon2id passes of newly sealed files.
pub const KDF_PASSES: u32 = 3;
/// Largest Argon2id memory a file may ask for, KiB (1 GiB).
pub const KDF_MEMORY_KIB_MAX: u32 = 1024 * 1024;
/// Most Argon2id passes a file may ask for.
pub const KDF_PASSES_MAX: u32 = 16;
/// Shortest passphrase accepted to seal a key, characters.
pub const PASSPHRASE_CHARS_MIN: usize = 12;
const SALT_BYTES: usize = 16;
const NONCE_BYTES: usize = 24;
const SEALED_DOMAIN: &[u8] = b"filiera-key-file-v1";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileJson {
    #[serde(rename = "type")]
    kind: String,
    public_key: PublicKey,
    /// The 32-byte seed, hex (a file in clear); wiped when dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret_key: Option<Zeroizing<String>>,
    /// The seed sealed with a passphrase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    encrypted: Option<Sealed>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sealed {
    /// Always `argon2id`.
    kdf: String,
    memory_kib: u32,
    passes: u32,
    lanes: u32,
    /// 16 bytes, hex.
    salt: String,
    /// Always `xchacha20poly1305`.
    cipher: String,
    /// 24 bytes, hex.
    nonce: String,
    /// The sealed seed (32 bytes and a 16-byte tag), hex.
    ciphertext: String,
}

/// What the seal is bound to besides the passphrase.
fn associated_data(public: &PublicKey, memory_kib: u32, passes: u32, lanes: u32) -> Vec<u8> {
    let mut aad = SEALED_DOMAIN.to_vec();
    aad.extend_from_slice(&public.0);
    for n in [memory_kib, passes, lanes] {
        aad.extend_from_slice(&n.to_le_bytes());
    }
    aad
}

fn derive(
    path: &Path,
    passphrase: &str,
    salt: &[u8],
    memory_kib: u32,
    passes: u32,
    lanes: u32,
) -> Result<Zeroizing<[u8; 32]>, ClientError> {
    let params = argon2::Params::new(memory_kib, passes, lanes, Some(32))
        .map_err(|e| key_error(path, format!("key derivation parameters: {e}")))?;
    let kdf = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 32]);
    kdf.hash_password_into(passphrase.as_bytes(), salt, out.as_mut())
        .map_err(|e| key_error(path, format!("key derivation: {e}")))?;
    Ok(out)
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
        secret_key: Some(Zeroizing::new(hex::encode(key.to_seed().as_ref()))),
        encrypted: None,
    };
    write_json(path, &json)
}

/// Writes `key` sealed with `passphrase` (at least [`PASSPHRASE_CHARS_MIN`]
/// characters) to a new file with mode 0600; refuses to overwrite.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("validator.json");
/// let key = filiera_client::keys::generate().unwrap();
/// filiera_client::keys::write_encrypted(&path, &key, "una frase lunga e segreta").unwrap();
/// let back = filiera_client::keys::read_with_passphrase(&path, Some("una frase lunga e segreta"));
/// assert_eq!(back.unwrap().public_key(), key.public_key());
/// assert!(filiera_client::keys::read(&path).is_err(), "no passphrase, no key");
/// ```
pub fn write_encrypted(path: &Path, key: &SecretKey, passphrase: &str) -> Result<(), ClientError> {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    if passphrase.chars().count() < PASSPHRASE_CHARS_MIN {
        return Err(key_error(
            path,
            format!("the passphrase needs at least {PASSPHRASE_CHARS_MIN} characters"),
        ));
    }
    let mut salt = [0u8; SALT_BYTES];
    let mut nonce = [0u8; NONCE_BYTES];
    getrandom::fill(&mut salt).map_err(|e| ClientError::Randomness(e.to_string()))?;
    getrandom::fill(&mut nonce).map_err(|e| ClientError::Randomness(e.to_string()))?;
    let public = key.public_key();
    let (memory_kib, passes, lanes) = (KDF_MEMORY_KIB, KDF_PASSES, 1);
    let sealing = derive(path, passphrase, &salt, memory_kib, passes, lanes)?;
    let cipher = chacha20poly1305::XChaCha20Poly1305::new(sealing.as_ref().into());
    let seed = key.to_seed();
    let ciphertext = cipher
        .encrypt(
            (&nonce).into(),
            Payload {
                msg: seed.as_ref(),
                aad: &associated_data(&public, memory_kib, passes, lanes),
            },
        )
        .map_err(|_| key_error(path, "sealing failed"))?;
    let json = KeyFileJson {
        kind: "ed25519".into(),
        public_key: public,
        secret_key: None,
        encrypted: Some(Sealed {
            kdf: "argon2id".into(),
            memory_kib,
            passes,
            lanes,
            salt: hex::encode(salt),
            cipher: "xchacha20poly1305".into(),
            nonce: hex::encode(nonce),
            ciphertext: hex::encode(ciphertext),
        }),
    };
    write_json(path, &json)
}

/// Whether the key file at `path` is sealed with a passphrase.
pub fn is_encrypted(path: &Path) -> Result<bool, ClientError> {
    let text =
        Zeroizing::new(std::fs::read_to_string(path).map_err(|e| key_error(path, e.to_string()))?);
    let json: KeyFileJson = serde_json::from_str(&text)
        .map_err(|e| key_error(path, format!("not a Filiera key file: {e}")))?;
    Ok(json.encrypted.is_some())
}

fn write_json(path: &Path, json: &KeyFileJson) -> Result<(), ClientError> {
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
    read_with_passphrase(path, None)
}

/// Reads a key file in clear, or a sealed one with `passphrase`; refuses
/// files others can read, keys that do not match, a wrong passphrase and any
/// change to a sealed file.
pub fn read_with_passphrase(
    path: &Path,
    passphrase: Option<&str>,
) -> Result<SecretKey, ClientError> {
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
    let seed = match (&json.secret_key, &json.encrypted) {
        (Some(hex_seed), None) => {
            let mut seed = Zeroizing::new([0u8; 32]);
            hex::decode_to_slice(hex_seed.as_bytes(), seed.as_mut())
                .map_err(|_| key_error(path, "secret_key is not 64 hex characters"))?;
            seed
        }
        (None, Some(sealed)) => {
            let passphrase = passphrase.ok_or_else(|| {
                key_error(
                    path,
                    "the key is encrypted; a passphrase is needed to open it",
                )
            })?;
            open_sealed(path, &json.public_key, sealed, passphrase)?
        }
        _ => {
            return Err(key_error(
                path,
                "a key file holds exactly one of secret_key and encrypted",
            ));
        }
    };
    let key = SecretKey::from_seed(&seed);
    if key.public_key() != json.public_key {
        return Err(key_error(path, "public_key does not match secret_key"));
    }
    Ok(key)
}

fn open_sealed(
    path: &Path,
    public: &PublicKey,
    sealed: &Sealed,
    passphrase: &str,
) -> Result<Zeroizing<[u8; 32]>, ClientError> {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    if sealed.kdf != "argon2id" || sealed.cipher != "xchacha20poly1305" {
        return Err(key_error(
            path,
            format!("unsupported sealing {} / {}", sealed.kdf, sealed.cipher),
        ));
    }
    // Checked before any work: the cost is the file's to ask, ours to bound.
    if sealed.memory_kib > KDF_MEMORY_KIB_MAX || sealed.passes > KDF_PASSES_MAX || sealed.lanes != 1
    {
        return Err(key_error(
            path,
            format!(
                "key derivation asks for {} KiB, {} passes, {} lanes; at most {KDF_MEMORY_KIB_MAX} KiB, {KDF_PASSES_MAX} passes, 1 lane",
                sealed.memory_kib, sealed.passes, sealed.lanes
            ),
        ));
    }
    let bytes = |field: &str, text: &str, len: usize| -> Result<Vec<u8>, ClientError> {
        hex::decode(text)
            .ok()
            .filter(|b| b.len() == len)
            .ok_or_else(|| key_error(path, format!("{field} is not {len} bytes of hex")))
    };
    let salt = bytes("salt", &sealed.salt, SALT_BYTES)?;
    let nonce = bytes("nonce", &sealed.nonce, NONCE_BYTES)?;
    let ciphertext = bytes("ciphertext", &sealed.ciphertext, 32 + 16)?;
    let opening = derive(
        path,
        passphrase,
        &salt,
        sealed.memory_kib,
        sealed.passes,
        sealed.lanes,
    )?;
    let cipher = chacha20poly1305::XChaCha20Poly1305::new(opening.as_ref().into());
    let plain = Zeroizing::new(
        cipher
            .decrypt(
                nonce.as_slice().into(),
                Payload {
                    msg: &ciphertext,
                    aad: &associated_data(public, sealed.memory_kib, sealed.passes, sealed.lanes),
                },
            )
            .map_err(|_| key_error(path, "wrong passphrase, or the file was changed"))?,
    );
    let mut seed = Zeroizing::new([0u8; 32]);
    seed.copy_from_slice(&plain);
    Ok(seed)
}
