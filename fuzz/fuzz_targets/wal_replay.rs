//! Opening a consensus WAL file made of arbitrary bytes (torn, corrupted,
//! forged): an error or the records, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    if std::fs::write(dir.path().join("consensus.wal"), data).is_err() {
        return;
    }
    let _ = filiera_wal::Wal::open(dir.path(), 1);
});
