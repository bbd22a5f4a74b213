//! Crash safety with a real process: a child commits blocks in a loop and is
//! killed with SIGKILL at random moments. After every kill the store reopens at
//! a whole block, no acknowledged block is missing, and the state root
//! recomputes from the stored state.

use crate::open;
use filiera_storage::testkit::SplitMix64;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Kills per run (the issue asks for at least 50).
const KILLS: usize = 50;

fn writer() -> Command {
    Command::new(env!("CARGO_BIN_EXE_storage-crash-writer"))
}

#[test]
fn sigkill_at_random_moments_loses_no_acknowledged_block() {
    let seed = std::env::var("FILIERA_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_124u64);
    eprintln!("crash test seed {seed} (set FILIERA_CRASH_SEED to reproduce)");
    let mut rng = SplitMix64(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut acked: u64 = 0;
    let mut checked_up_to: u64 = 0;
    for kill in 0..KILLS {
        let mut child = writer()
            .arg(dir.path())
            .arg("40")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(h) = line
                    .strip_prefix("ACK ")
                    .and_then(|h| h.parse::<u64>().ok())
                {
                    let _ = tx.send(h);
                }
            }
        });
        // Odd runs wait for a first commit, so every other kill lands while blocks
        // are being written whatever the machine's load; even runs kill at any
        // moment, opening and genesis included. Either way the delay is random.
        let mut new_acks = Vec::new();
        if kill % 2 == 1 {
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(first) => new_acks.push(first),
                Err(e) => {
                    let _ = child.kill();
                    let out = child.wait_with_output().unwrap();
                    panic!(
                        "kill {kill}: no block acknowledged ({e}): {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            }
        }
        std::thread::sleep(Duration::from_millis(rng.next_u64() % 150));
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "kill {kill}: the writer should have died"
        );
        reader.join().unwrap();
        new_acks.extend(rx.try_iter());
        acked = new_acks.into_iter().fold(acked, u64::max);

        let store = open(dir.path());
        let Some(last) = store.last_height().unwrap() else {
            assert_eq!(
                acked, 0,
                "kill {kill}: blocks were acknowledged but the store is empty"
            );
            continue;
        };
        assert!(
            last >= acked,
            "kill {kill}: acknowledged height {acked} lost, store is at {last}"
        );
        // The last block is whole and certified, and its state root is the tree's.
        if last > 0 {
            let block = store.block(last).unwrap().expect("last block present");
            let cert = store
                .certificate(last)
                .unwrap()
                .expect("last certificate present");
            assert_eq!(cert.block_hash, block.hash());
            assert_eq!(store.state_root(last).unwrap(), block.header.state_root);
        }
        assert_eq!(
            store.verify_state_root().unwrap(),
            store.state_root(last).unwrap(),
            "kill {kill}"
        );
        // Every height committed since the previous check is present and chained.
        for h in checked_up_to.max(1)..=last {
            let header = store
                .header(h)
                .unwrap()
                .unwrap_or_else(|| panic!("kill {kill}: height {h} missing"));
            if h > 1 {
                assert_eq!(
                    header.parent_hash,
                    store.header(h - 1).unwrap().unwrap().hash()
                );
            }
        }
        checked_up_to = last;
        assert!(store.header(last + 1).unwrap().is_none());
    }
    assert!(
        acked >= KILLS as u64 / 2,
        "only {acked} blocks acknowledged in {KILLS} runs: the writer barely ran"
    );
    eprintln!("{KILLS} kills, {acked} blocks acknowledged, none lost");
}
