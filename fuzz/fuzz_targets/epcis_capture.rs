//! The EPCIS 2.0 capture validator on arbitrary documents: every answer is a
//! document error or per-event results, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = filiera_epcis::parse_document_partly(data);
});
