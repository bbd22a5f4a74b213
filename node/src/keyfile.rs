//! Key files: the SDK's (`filiera_client::keys`), one format for the node,
//! the CLI and producers' software.
//!
//! A sealed (passphrase-encrypted) file is opened with a passphrase read, in
//! this order, from the file descriptor given with `--passphrase-fd` (its
//! first line, read once when the command starts, before the process opens
//! any file of its own: a pipe from a secret store, a file the caller's shell
//! opened, or the parent `localnet`'s pipe),
//! from the first line of the file `FILIERA_KEY_PASSPHRASE_FILE` names (a
//! systemd credential), or from a prompt when standard input is a terminal.
//! Never from the environment: a variable stays readable in
//! `/proc/<pid>/environ` for the life of the process and is inherited by
//! every child. A process reads its passphrase once, keeps it until its keys
//! are open, then wipes it ([`forget_passphrase`]).

use anyhow::{Context, Result, bail};
use filiera_types::SecretKey;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use zeroize::Zeroizing;

pub use filiera_client::keys::{PASSPHRASE_CHARS_MIN, generate, write, write_encrypted};

/// Environment variable naming a file whose first line is the passphrase.
pub const PASSPHRASE_FILE_ENV: &str = "FILIERA_KEY_PASSPHRASE_FILE";
/// A variable that once held the passphrase itself: refused, so that a
/// deployment still setting it learns why its keys do not open.
pub const PASSPHRASE_ENV_REFUSED: &str = "FILIERA_KEY_PASSPHRASE";
/// Bytes read from a passphrase descriptor or file, at most.
pub const PASSPHRASE_SOURCE_BYTES_MAX: u64 = 4_096;

/// The passphrase once read: a descriptor can be read only once.
static PASSPHRASE: Mutex<Option<Zeroizing<String>>> = Mutex::new(None);
/// Whether `--passphrase-fd` was given (and so already read).
static FROM_FD: OnceLock<u32> = OnceLock::new();

/// Where to say a passphrase can come from, in errors.
pub fn sources_hint() -> String {
    format!(
        "give it with --passphrase-fd N, in a file named by {PASSPHRASE_FILE_ENV}, or at the prompt of a terminal"
    )
}

/// Reads the passphrase from descriptor `fd` now: called once, first thing,
/// so the descriptor is still the caller's (not a file this process opened
/// since). The descriptor itself is read, not reopened through `/dev/fd`: a
/// pipe or file the caller opened may not be openable by this process's user
/// (`sudo -u filiera`).
pub fn read_passphrase_fd(fd: u32) -> Result<()> {
    if FROM_FD.set(fd).is_err() {
        bail!("--passphrase-fd was read already");
    }
    let source = format!("--passphrase-fd {fd}");
    let line = if fd == 0 {
        first_line(&source, std::io::stdin().lock())?
    } else {
        let raw = i32::try_from(fd).with_context(|| format!("{source}: not a descriptor"))?;
        // SAFETY: the caller handed this process descriptor `raw` for the
        // passphrase; it is taken over exactly once (FROM_FD), at start-up
        // before this process opened anything that could have reused the
        // number, read, and closed when `file` drops. A number that is not
        // open makes the read fail with EBADF, never undefined behaviour.
        #[allow(unsafe_code)]
        let file = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(raw) };
        first_line(&source, std::io::BufReader::new(file))?
    };
    let mut cached = PASSPHRASE
        .lock()
        .map_err(|_| anyhow::anyhow!("passphrase lock poisoned"))?;
    *cached = Some(line);
    Ok(())
}

/// The first line of `reader` (at most [`PASSPHRASE_SOURCE_BYTES_MAX`]
/// bytes), read up to its newline only: a writer that keeps the pipe open
/// does not hold the start-up.
fn first_line(source: &str, reader: impl std::io::BufRead) -> Result<Zeroizing<String>> {
    use std::io::BufRead;
    // Room for all of it up front: a growing buffer would leave copies behind.
    let mut bytes = Zeroizing::new(Vec::with_capacity(PASSPHRASE_SOURCE_BYTES_MAX as usize + 1));
    reader
        .take(PASSPHRASE_SOURCE_BYTES_MAX)
        .read_until(b'\n', &mut bytes)
        .with_context(|| format!("reading the passphrase from {source}"))?;
    let text = std::str::from_utf8(&bytes).with_context(|| format!("{source}: not UTF-8"))?;
    let line = Zeroizing::new(text.trim_end_matches(['\n', '\r']).to_owned());
    if line.is_empty() {
        bail!("{source} holds no passphrase");
    }
    Ok(line)
}

/// The passphrase from the descriptor or the file, or `None` when neither
/// is given (and not asked for at a terminal).
fn from_sources() -> Result<Option<Zeroizing<String>>> {
    if std::env::var_os(PASSPHRASE_ENV_REFUSED).is_some() {
        bail!(
            "{PASSPHRASE_ENV_REFUSED} is no longer read (the environment leaks to children and /proc); {}",
            sources_hint()
        );
    }
    if let Some(fd) = FROM_FD.get() {
        bail!("the passphrase from --passphrase-fd {fd} was used and wiped already");
    }
    if let Some(file) = std::env::var_os(PASSPHRASE_FILE_ENV) {
        let opened = std::fs::File::open(&file)
            .with_context(|| format!("reading {PASSPHRASE_FILE_ENV} {file:?}"))?;
        return first_line(PASSPHRASE_FILE_ENV, std::io::BufReader::new(opened)).map(Some);
    }
    Ok(None)
}

/// The passphrase, read once per process from the sources above or, when
/// none is given and standard input is a terminal, asked for.
pub fn passphrase() -> Result<Option<Zeroizing<String>>> {
    let mut cached = PASSPHRASE
        .lock()
        .map_err(|_| anyhow::anyhow!("passphrase lock poisoned"))?;
    if let Some(p) = cached.as_ref() {
        return Ok(Some(p.clone()));
    }
    let read = match from_sources()? {
        Some(p) => Some(p),
        None if std::io::stdin().is_terminal() => Some(Zeroizing::new(
            rpassword::prompt_password("key passphrase: ").context("reading the passphrase")?,
        )),
        None => None,
    };
    cached.clone_from(&read);
    Ok(read)
}

/// Wipes the passphrase kept in memory: once a node has opened its keys it
/// has no use for it (a later read takes it from the file or the terminal
/// again; one from a descriptor is gone).
pub fn forget_passphrase() {
    if let Ok(mut cached) = PASSPHRASE.lock() {
        // Dropping the `Zeroizing` wipes it.
        cached.take();
    }
}

/// A passphrase to seal new keys with: from the sources, or typed twice at
/// a terminal; at least [`PASSPHRASE_CHARS_MIN`] characters.
pub fn new_passphrase(what: &str) -> Result<Zeroizing<String>> {
    let mut cached = PASSPHRASE
        .lock()
        .map_err(|_| anyhow::anyhow!("passphrase lock poisoned"))?;
    let chosen = match cached.clone() {
        Some(p) => p,
        None => match from_sources()? {
            Some(p) => p,
            None if std::io::stdin().is_terminal() => {
                let first = Zeroizing::new(
                    rpassword::prompt_password(format!("passphrase to seal {what}: "))
                        .context("reading the passphrase")?,
                );
                let again = Zeroizing::new(
                    rpassword::prompt_password("the same passphrase again: ")
                        .context("reading the passphrase")?,
                );
                if first != again {
                    bail!("the two passphrases differ");
                }
                first
            }
            None => bail!(
                "sealing {what} needs a passphrase: {}; or, for a throwaway network only, --insecure-plain-keys",
                sources_hint()
            ),
        },
    };
    if chosen.chars().count() < PASSPHRASE_CHARS_MIN {
        bail!("the passphrase needs at least {PASSPHRASE_CHARS_MIN} characters");
    }
    *cached = Some(chosen.clone());
    Ok(chosen)
}

/// Reads a key file, in clear or sealed (with the process's passphrase,
/// asked for only if the file is sealed).
pub fn read(path: &Path) -> Result<SecretKey> {
    let sealed = filiera_client::keys::is_encrypted(path).unwrap_or(false);
    let passphrase = if sealed { passphrase()? } else { None };
    filiera_client::keys::read_with_passphrase(path, passphrase.as_deref().map(String::as_str))
        .map_err(|e| {
            let hint = if sealed && passphrase.is_none() {
                format!(" ({})", sources_hint())
            } else {
                String::new()
            };
            anyhow::anyhow!("{e}{hint}")
        })
}

/// How a new key file is written: sealed with a passphrase, or in clear.
pub enum Sealing {
    /// Sealed (Argon2id, XChaCha20-Poly1305).
    With(Zeroizing<String>),
    /// In clear, owner-only: `--insecure-plain-keys`.
    Plain,
}

impl Sealing {
    /// Sealed with [`new_passphrase`] unless `plain`.
    pub fn choose(plain: bool, what: &str) -> Result<Sealing> {
        Ok(if plain {
            Sealing::Plain
        } else {
            Sealing::With(new_passphrase(what)?)
        })
    }

    /// Writes `key` to a new file at `path` this way.
    pub fn write(&self, path: &Path, key: &SecretKey) -> Result<()> {
        match self {
            Sealing::With(p) => write_encrypted(path, key, p)?,
            Sealing::Plain => write(path, key)?,
        }
        Ok(())
    }
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
