//! The admin socket on a real store: created 0600 with no window in which
//! another user could connect, and a client that says nothing is dropped.

use filiera_service::admin::{ADMIN_SOCKET_FILE, AdminLimits, spawn_with};
use filiera_storage::{StorageConfig, Store};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::sync::Arc;

fn answer_of(stream: UnixStream) -> serde_json::Value {
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap()
}

#[test]
fn the_admin_socket_is_private_from_the_start_and_drops_silent_clients() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("db"), StorageConfig::default()).unwrap());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // A stale socket from an earlier run is replaced.
    std::fs::write(dir.path().join(ADMIN_SOCKET_FILE), b"stale").unwrap();
    spawn_with(
        &runtime,
        dir.path(),
        store,
        AdminLimits {
            idle_timeout_ms: 300,
        },
    )
    .unwrap();
    let path = dir.path().join(ADMIN_SOCKET_FILE);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        !dir.path().join(format!("{ADMIN_SOCKET_FILE}.new")).exists(),
        "the private directory it was bound in is gone"
    );

    // Its owner is served.
    let mut client = UnixStream::connect(&path).unwrap();
    client.write_all(b"{\"op\":\"shutdown\"}\n").unwrap();
    let answer = answer_of(client);
    assert_eq!(answer["ok"], false);
    assert!(
        answer["error"].as_str().unwrap().contains("unknown op"),
        "{answer}"
    );

    // A client that connects and says nothing is answered and dropped.
    let silent = UnixStream::connect(&path).unwrap();
    silent
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let answer = answer_of(silent);
    assert_eq!(answer["error"], "no request in time", "{answer}");
}
