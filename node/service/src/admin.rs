//! The admin socket: a Unix socket in the data directory, readable and
//! writable by the node's user only (0600), for operations that need the
//! running node's database handle. One JSON request per line, one JSON answer
//! per line. Only `backup` exists; anything else is refused by name.
//!
//! Why a socket and not the HTTP API: the API faces the public; the right to
//! write files on the node's disk belongs to whoever may enter its home.
//!
//! Threats: another local user. The socket is bound inside a fresh 0700
//! directory, made 0600, then moved into place, so there is no moment when
//! anyone else may connect (a umask is process-wide, and this process has
//! threads); a connection whose peer (`SO_PEERCRED`) is another user than the
//! socket's owner is answered with a refusal and closed. A client that
//! connects and says nothing is dropped after [`ADMIN_IDLE_TIMEOUT_MS`]; an
//! accept error (descriptors exhausted) is retried after a pause rather than
//! in a busy loop.

use crate::backup;
use filiera_storage::Store;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// The socket's file name inside the data directory.
pub const ADMIN_SOCKET_FILE: &str = "admin.sock";
/// Longest request line, bytes.
pub const ADMIN_REQUEST_BYTES_MAX: usize = 4_096;
/// How long a connection may take to send its request line, ms.
pub const ADMIN_IDLE_TIMEOUT_MS: u64 = 10_000;
/// Pause after a failed accept, ms.
pub const ADMIN_ACCEPT_BACKOFF_MS: u64 = 100;

/// The socket's limits (tests shorten the timeout).
#[derive(Clone, Copy, Debug)]
pub struct AdminLimits {
    /// See [`ADMIN_IDLE_TIMEOUT_MS`].
    pub idle_timeout_ms: u64,
}

impl Default for AdminLimits {
    fn default() -> Self {
        AdminLimits {
            idle_timeout_ms: ADMIN_IDLE_TIMEOUT_MS,
        }
    }
}

/// Binds the socket (replacing a stale one) and serves it until the runtime stops.
pub fn spawn(
    runtime: &tokio::runtime::Runtime,
    data_dir: &Path,
    store: Arc<Store>,
) -> std::io::Result<()> {
    spawn_with(runtime, data_dir, store, AdminLimits::default())
}

/// [`spawn`] with these limits.
pub fn spawn_with(
    runtime: &tokio::runtime::Runtime,
    data_dir: &Path,
    store: Arc<Store>,
    limits: AdminLimits,
) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let path = data_dir.join(ADMIN_SOCKET_FILE);
    // Bound where only this user can reach it, made 0600, then moved in.
    let private = data_dir.join(format!("{ADMIN_SOCKET_FILE}.new"));
    if private.exists() {
        std::fs::remove_dir_all(&private)?;
    }
    std::fs::DirBuilder::new().mode(0o700).create(&private)?;
    let bound = private.join(ADMIN_SOCKET_FILE);
    let listener = {
        let _guard = runtime.enter();
        tokio::net::UnixListener::bind(&bound)?
    };
    std::fs::set_permissions(&bound, std::fs::Permissions::from_mode(0o600))?;
    let owner_uid = std::fs::metadata(&bound)?.uid();
    if path.exists() {
        std::fs::remove_file(&path)?;
    }
    std::fs::rename(&bound, &path)?;
    std::fs::remove_dir(&private)?;
    let wal_dir = data_dir.join("wal");
    runtime.spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "admin socket: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(ADMIN_ACCEPT_BACKOFF_MS))
                        .await;
                    continue;
                }
            };
            let (store, wal_dir) = (store.clone(), wal_dir.clone());
            tokio::spawn(async move {
                let peer_uid = stream.peer_cred().map(|c| c.uid());
                let (read, mut write) = stream.into_split();
                if peer_uid.as_ref().ok() != Some(&owner_uid) {
                    let answer =
                        json!({"ok": false, "error": "the admin socket serves its owner only"});
                    let _ = write.write_all(format!("{answer}\n").as_bytes()).await;
                    return;
                }
                let mut line = String::new();
                let mut reader = BufReader::new(read.take(ADMIN_REQUEST_BYTES_MAX as u64));
                let idle = std::time::Duration::from_millis(limits.idle_timeout_ms);
                let answer = match tokio::time::timeout(idle, reader.read_line(&mut line)).await {
                    Ok(Ok(_)) => answer(&line, store, wal_dir).await,
                    Ok(Err(e)) => {
                        json!({"ok": false, "error": format!("reading the request: {e}")})
                    }
                    Err(_) => json!({"ok": false, "error": "no request in time"}),
                };
                let _ = write.write_all(format!("{answer}\n").as_bytes()).await;
            });
        }
    });
    Ok(())
}

async fn answer(line: &str, store: Arc<Store>, wal_dir: PathBuf) -> Value {
    let request: Value = match serde_json::from_str(line.trim()) {
        Ok(v) => v,
        Err(e) => return json!({"ok": false, "error": format!("not a JSON request: {e}")}),
    };
    match request["op"].as_str() {
        Some("backup") => {
            let Some(out) = request["out"].as_str().map(PathBuf::from) else {
                return json!({"ok": false, "error": "backup needs \"out\", a new directory"});
            };
            if !out.is_absolute() {
                return json!({"ok": false, "error": "\"out\" must be an absolute path"});
            }
            let done =
                tokio::task::spawn_blocking(move || backup::write_backup(&store, &wal_dir, &out))
                    .await;
            match done {
                Ok(Ok(m)) => json!({"ok": true, "manifest": m}),
                Ok(Err(e)) => json!({"ok": false, "error": e.to_string()}),
                Err(e) => json!({"ok": false, "error": format!("backup task: {e}")}),
            }
        }
        other => json!({"ok": false, "error": format!("unknown op {other:?}; known: backup")}),
    }
}
