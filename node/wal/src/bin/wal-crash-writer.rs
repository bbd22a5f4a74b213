//! Test helper: appends numbered records to a WAL forever, printing
//! `acked N` after each append returns (the crash test kills it at random).

use filiera_wal::Wal;
use std::io::Write;

fn record(n: u64) -> Vec<u8> {
    // Records of varying sizes, content derived from n.
    let len = 16 + (n.wrapping_mul(2_654_435_761) % 3_000) as usize;
    (0..len).map(|i| (n as usize + i) as u8).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: wal-crash-writer DIR")?;
    let (mut wal, _height, records) = Wal::open(std::path::Path::new(&dir), 1)?;
    let mut n = records.len() as u64;
    let stdout = std::io::stdout();
    loop {
        wal.append(&record(n))?;
        writeln!(stdout.lock(), "acked {n}")?;
        n += 1;
    }
}
