//! Transaction decoding on arbitrary bytes: never panics, and whatever
//! decodes is canonical (encodes back to exactly the input), so one
//! transaction has one encoding and one id.
#![no_main]
use filiera_types::SignedTransaction;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = SignedTransaction::decode(data) {
        assert_eq!(tx.encode(), data, "decoded bytes are not canonical");
        // Verification of arbitrary signatures must answer, not panic.
        let _ = tx.verify();
    }
});
