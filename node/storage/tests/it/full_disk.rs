//! A full disk stops the store cleanly (an error, never a panic or half-written
//! state), and once space is back it reopens and goes on. Uses a small tmpfs
//! when the test runs as root; otherwise a file-size limit (RLIMIT_FSIZE via
//! `prlimit`) makes writes fail the same way.

use crate::open;
use std::path::Path;
use std::process::Command;

fn writer(dir: &Path, blocks: u64) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_storage-crash-writer"));
    c.arg(dir).arg("400").arg(blocks.to_string());
    c
}

struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(size: &str) -> Option<(tempfile::TempDir, Tmpfs)> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .ok()?
            .success();
        ok.then(|| {
            let path = dir.path().to_path_buf();
            (dir, Tmpfs(path))
        })
    }

    fn resize(&self, size: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap()
            .success();
        assert!(ok, "remount failed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn full_disk_stops_cleanly_and_recovers_when_space_returns() {
    let mounted = Tmpfs::mount("6M");
    let fallback = tempfile::tempdir().unwrap();
    let dir = match &mounted {
        Some((_, fs)) => fs.0.join("db"),
        None => fallback.path().join("db"),
    };
    eprintln!(
        "full-disk test using {}",
        if mounted.is_some() {
            "a 6 MiB tmpfs"
        } else {
            "RLIMIT_FSIZE"
        }
    );

    let mut starved = writer(&dir, 100_000);
    if mounted.is_none() {
        // Without root: cap file sizes; the writer's writes then fail with EFBIG.
        starved = Command::new("prlimit");
        starved
            .arg("--fsize=3000000")
            .arg(env!("CARGO_BIN_EXE_storage-crash-writer"))
            .arg(&dir)
            .arg("400")
            .arg("100000");
    }
    let out = starved.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the writer should have run out of space"
    );
    assert!(
        out.status.code().is_some(),
        "the writer must exit with an error, not die by a signal: {:?}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.trim_end().lines().count() == 1,
        "one clear line: {stderr}"
    );
    let acked = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("ACK ").and_then(|h| h.parse::<u64>().ok()))
        .max()
        .unwrap_or(0);
    assert!(
        acked > 0,
        "some blocks fit before the disk filled: {stderr}"
    );

    // Space comes back: the store reopens at a whole block that includes every acknowledged one.
    if let Some((_, fs)) = &mounted {
        fs.resize("256M");
    }
    {
        let store = open(&dir);
        let last = store.last_height().unwrap().unwrap();
        assert!(last >= acked, "acknowledged {acked}, store at {last}");
        store.verify_state_root().unwrap();
    }
    let out = writer(&dir, 5).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = open(&dir);
    assert!(store.last_height().unwrap().unwrap() >= acked + 5);
    store.verify_state_root().unwrap();
}
