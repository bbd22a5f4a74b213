//! The consensus wire and WAL record codec (votes, proposals, timeouts as
//! the core sees them) on arbitrary bytes: refuses or decodes, never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = filiera_consensus::wal::decode(data);
});
