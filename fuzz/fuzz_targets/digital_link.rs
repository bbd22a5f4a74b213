//! GS1 Digital Link parsing of arbitrary text: never panics, and the
//! canonical URI of what parses parses to the same link.
#![no_main]
use filiera_types::gs1::DigitalLink;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(link) = DigitalLink::parse(text) {
        let again = DigitalLink::parse(&link.to_uri()).expect("a canonical URI parses");
        assert_eq!(again, link, "round trip changed the link");
    }
});
