//! Reading back, torn tails and corruption.

use filiera_wal::{Wal, WalError};
use std::io::Write;

#[test]
fn records_come_back_in_order_and_reset_starts_a_new_height() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, h, records) = Wal::open(dir.path(), 5).unwrap();
    assert_eq!((h, records.len()), (5, 0));
    for i in 0..10u8 {
        wal.append(&vec![i; usize::from(i) * 7]).unwrap();
    }
    drop(wal);
    let (mut wal, h, records) = Wal::open(dir.path(), 99).unwrap();
    assert_eq!(h, 5, "an existing log keeps its height");
    assert_eq!(
        records,
        (0..10u8)
            .map(|i| vec![i; usize::from(i) * 7])
            .collect::<Vec<_>>()
    );
    wal.reset(6).unwrap();
    wal.append(b"next").unwrap();
    drop(wal);
    let (_, h, records) = Wal::open(dir.path(), 0).unwrap();
    assert_eq!((h, records), (6, vec![b"next".to_vec()]));
}

#[test]
fn a_torn_tail_is_dropped_and_a_hole_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _, _) = Wal::open(dir.path(), 1).unwrap();
    wal.append(b"first").unwrap();
    wal.append(b"second").unwrap();
    drop(wal);
    let path = dir.path().join("consensus.wal");
    let whole = std::fs::read(&path).unwrap();
    // Every cut inside the last frame leaves exactly the first record.
    let second_start = whole.len() - (12 + 6);
    for cut in second_start..whole.len() {
        std::fs::write(&path, &whole[..cut]).unwrap();
        let (_, _, records) = Wal::open(dir.path(), 1).unwrap();
        assert_eq!(records, vec![b"first".to_vec()], "cut at {cut}");
        assert_eq!(
            std::fs::read(&path).unwrap().len(),
            second_start,
            "the torn tail is truncated"
        );
    }
    // A flipped byte in the first record, with the second after it: corruption.
    let mut damaged = whole.clone();
    damaged[second_start - 2] ^= 0xFF;
    std::fs::write(&path, &damaged).unwrap();
    assert!(matches!(
        Wal::open(dir.path(), 1),
        Err(WalError::Corrupt { .. })
    ));
    // Not a WAL at all.
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(b"hello, world, this is not a log").unwrap();
    assert!(matches!(
        Wal::open(dir.path(), 1),
        Err(WalError::Corrupt { .. })
    ));
}
