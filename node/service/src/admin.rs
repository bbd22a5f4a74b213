//! The admin socket: a Unix socket in the data directory, readable and
//! writable by the node's user only (0600), for operations that need the
//! running node's database handle. One JSON request per line, one JSON answer
//! per line. Only `backup` exists; anything else is refused by name.
//!
//! Why a socket and not the HTTP API: the API faces the public; the right to
//! write files on the node's disk belongs to whoever may enter its home.

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

/// Binds the socket (replacing a stale one) and serves it until the runtime stops.
pub fn spawn(
    runtime: &tokio::runtime::Runtime,
    data_dir: &Path,
    store: Arc<Store>,
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let path = data_dir.join(ADMIN_SOCKET_FILE);
    if path.exists() {
        std::fs::remove_file(&path)?;
    }
    let listener = {
        let _guard = runtime.enter();
        tokio::net::UnixListener::bind(&path)?
    };
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    let wal_dir = data_dir.join("wal");
    runtime.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (store, wal_dir) = (store.clone(), wal_dir.clone());
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut line = String::new();
                let mut reader = BufReader::new(read.take(ADMIN_REQUEST_BYTES_MAX as u64));
                let answer = match reader.read_line(&mut line).await {
                    Ok(_) => answer(&line, store, wal_dir).await,
                    Err(e) => json!({"ok": false, "error": format!("reading the request: {e}")}),
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
