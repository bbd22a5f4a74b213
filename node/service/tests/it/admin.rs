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

/// Another local user is refused by the peer's credentials (`SO_PEERCRED`),
/// even where the socket's mode would let them connect (loosened by hand, or
/// a filesystem that ignores modes). Needs root, to run a client as `nobody`.
#[test]
fn another_user_is_refused_by_its_credentials() {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe");
    std::fs::write(&probe, b"").unwrap();
    if std::fs::metadata(&probe).unwrap().uid() != 0 {
        assert!(
            std::env::var_os("FILIERA_REQUIRE_TOOLS").is_none(),
            "this check needs root (FILIERA_REQUIRE_TOOLS is set)"
        );
        eprintln!("skipped: not root, no other user to connect as");
        return;
    }
    let store = Arc::new(Store::open(&dir.path().join("db"), StorageConfig::default()).unwrap());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    spawn_with(&runtime, dir.path(), store, AdminLimits::default()).unwrap();
    let path = dir.path().join(ADMIN_SOCKET_FILE);
    // The mode no longer keeps anyone out: only the credentials check does.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out_dir = dir.path().join("stolen-backup");
    let client = r#"
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
try:
    s.sendall((json.dumps({"op": "backup", "out": sys.argv[2]}) + "\n").encode())
except (BrokenPipeError, ConnectionResetError):
    pass  # refused before its request was read; the answer is still there
print(s.makefile().readline().strip())
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", client])
        .arg(&path)
        .arg(&out_dir)
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["ok"], false, "{answer}");
    assert_eq!(
        answer["error"], "the admin socket serves its owner only",
        "{answer}"
    );
    assert!(!out_dir.exists(), "no backup was written for another user");
    // Its owner is still served.
    let mut owner = UnixStream::connect(&path).unwrap();
    owner.write_all(b"{\"op\":\"nothing\"}\n").unwrap();
    assert!(
        answer_of(owner)["error"]
            .as_str()
            .unwrap()
            .contains("unknown op")
    );
}
