//! HTTPS served by the node itself (rustls), so a small operator needs no
//! reverse proxy.
//!
//! The certificate chain and key are PEM files the operator names; they are
//! read again on SIGHUP and when their modification time changes (a
//! certificate renewed by an ACME client takes effect without a restart).
//! A reload that fails (a half-written file, a key that does not match)
//! keeps the certificate in use and says why in the log: a renewal gone
//! wrong never takes the API down.

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

/// How often the files' modification times are looked at, ms.
pub const TLS_FILES_CHECK_MS: u64 = 10_000;
/// Longest a client may take to finish the TLS handshake, ms.
pub const TLS_HANDSHAKE_TIMEOUT_MS: u64 = 10_000;
/// Largest certificate or key file read, bytes.
pub const TLS_FILE_BYTES_MAX: u64 = 1 << 20;

/// Why the certificate could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not what it should be.
    #[error("{path}: {what}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The certificate chain and key files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain, the server's certificate first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, TlsError> {
    let read = |source| TlsError::Read {
        path: path.to_owned(),
        source,
    };
    let len = std::fs::metadata(path).map_err(read)?.len();
    if len > TLS_FILE_BYTES_MAX {
        return Err(TlsError::Invalid {
            path: path.to_owned(),
            what: format!("{len} bytes; at most {TLS_FILE_BYTES_MAX}"),
        });
    }
    std::fs::read(path).map_err(read)
}

/// Reads and checks the files: a chain of at least one certificate and a
/// key that signs for it.
pub fn load(files: &TlsFiles) -> Result<CertifiedKey, TlsError> {
    let invalid = |path: &Path, what: String| TlsError::Invalid {
        path: path.to_owned(),
        what,
    };
    let cert_pem = read_bounded(&files.cert)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(&files.cert, format!("not a PEM certificate chain: {e}")))?;
    if chain.is_empty() {
        return Err(invalid(&files.cert, "holds no certificate".into()));
    }
    // The private key's PEM is wiped when dropped (on every reload too).
    let key_pem = zeroize::Zeroizing::new(read_bounded(&files.key)?);
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| invalid(&files.key, format!("not a PEM private key: {e}")))?;
    let provider = rustls::crypto::ring::default_provider();
    let certified = CertifiedKey::from_der(chain, key, &provider)
        .map_err(|e| invalid(&files.key, format!("does not match the certificate: {e}")))?;
    Ok(certified)
}

/// The certificate in use, replaced by [`Certificates::reload`].
#[derive(Debug)]
pub struct Certificates {
    files: TlsFiles,
    current: RwLock<Arc<CertifiedKey>>,
    modified: RwLock<(Option<SystemTime>, Option<SystemTime>)>,
}

fn modified(files: &TlsFiles) -> (Option<SystemTime>, Option<SystemTime>) {
    let time = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    (time(&files.cert), time(&files.key))
}

impl Certificates {
    /// Loads the files; an error here stops the node from starting.
    pub fn open(files: TlsFiles) -> Result<Arc<Certificates>, TlsError> {
        let current = load(&files)?;
        Ok(Arc::new(Certificates {
            modified: RwLock::new(modified(&files)),
            files,
            current: RwLock::new(Arc::new(current)),
        }))
    }

    /// Reads the files again; on success they serve the next handshakes.
    pub fn reload(&self) -> Result<(), TlsError> {
        // Stamped first: files that fail to load are tried again when they
        // change once more (or on SIGHUP), not every check.
        if let Ok(mut m) = self.modified.write() {
            *m = modified(&self.files);
        }
        let fresh = Arc::new(load(&self.files)?);
        if let Ok(mut current) = self.current.write() {
            *current = fresh;
        }
        Ok(())
    }

    /// Whether a file changed since the last load.
    pub fn changed(&self) -> bool {
        self.modified
            .read()
            .map(|m| *m != modified(&self.files))
            .unwrap_or(true)
    }

    /// The rustls configuration serving these certificates (HTTP/1.1).
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|c| Arc::clone(&c))
    }
}

/// Reloads `certificates` on SIGHUP and when a file changes, until the
/// runtime stops.
pub async fn watch(certificates: Arc<Certificates>) {
    let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "no SIGHUP handler; TLS files are reloaded when they change");
            None
        }
    };
    let mut tick = tokio::time::interval(Duration::from_millis(TLS_FILES_CHECK_MS));
    loop {
        let asked = tokio::select! {
            Some(()) = async {
                match hangup.as_mut() {
                    Some(h) => h.recv().await,
                    None => std::future::pending().await,
                }
            } => true,
            _ = tick.tick() => false,
        };
        if !asked && !certificates.changed() {
            continue;
        }
        let why = if asked { "SIGHUP" } else { "the files changed" };
        match certificates.reload() {
            Ok(()) => tracing::info!(why, "TLS certificate reloaded"),
            Err(e) => {
                tracing::error!(why, error = %e, "TLS certificate not reloaded; the previous one stays in use")
            }
        }
    }
}
