//! A real process appends records and is killed with SIGKILL at random
//! moments: every acknowledged record is there after each restart.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const KILLS: usize = 50;

fn record(n: u64) -> Vec<u8> {
    let len = 16 + (n.wrapping_mul(2_654_435_761) % 3_000) as usize;
    (0..len).map(|i| (n as usize + i) as u8).collect()
}

#[test]
fn sigkill_never_loses_an_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut seed: u64 = std::env::var("FILIERA_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_125);
    eprintln!("WAL crash test seed {seed} (FILIERA_CRASH_SEED to reproduce)");
    let mut acked: Option<u64> = None;
    for kill in 0..KILLS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wal-crash-writer"))
            .arg(dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let wait_acks = 1 + (seed >> 33) % 40;
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = 0;
        while seen < wait_acks {
            let Some(Ok(line)) = lines.next() else { break };
            if let Some(n) = line.strip_prefix("acked ") {
                acked = Some(n.parse().unwrap());
                seen += 1;
            }
        }
        // Kill while it keeps appending (a few microseconds to a millisecond later).
        std::thread::sleep(Duration::from_micros((seed >> 20) % 1_000));
        child.kill().unwrap();
        child.wait().unwrap();
        let (_, _, records) = filiera_wal::Wal::open(dir.path(), 1).unwrap();
        let last = acked.expect("the writer acknowledged records");
        assert!(
            records.len() as u64 > last,
            "kill {kill}: record {last} was acknowledged but {} survive",
            records.len()
        );
        for (n, r) in records.iter().enumerate() {
            assert_eq!(r, &record(n as u64), "kill {kill}: record {n} damaged");
        }
    }
}
