//! GS1 keys and EPC URNs in arbitrary text (EPCIS documents and CLI input
//! carry them): parsing never panics, and an EPC URN that parses comes back
//! to the same EPC from the URN it prints.
#![no_main]
use filiera_types::gs1::{Epc, Gln, Gtin, Lot, Serial, Sscc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(g) = Gtin::parse(text) {
        assert_eq!(Gtin::parse(g.as_str()).ok(), Some(g));
    }
    let _ = Gln::parse(text);
    let _ = Sscc::parse(text);
    let _ = Lot::parse(text);
    let _ = Serial::parse(text);
    if let Ok(epc) = Epc::parse_urn(text) {
        // The company prefix is the digits before the first '.' of the body,
        // which follows the fourth ':' (a serial or lot may hold ':' too).
        let body = text.splitn(5, ':').nth(4).unwrap_or("");
        let prefix_len = body.split('.').next().unwrap_or("").len();
        let urn = epc.to_urn(prefix_len).expect("a parsed EPC prints");
        assert_eq!(Epc::parse_urn(&urn).ok(), Some(epc), "{text} -> {urn}");
    }
});
