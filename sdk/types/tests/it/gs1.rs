//! GS1 identifiers against the brief's worked examples and GS1's published examples.

use filiera_types::encoding;
use filiera_types::gs1::{
    DigitalLink, DlPrimaryKey, Epc, Gln, Gs1Error, Gtin, Lot, Serial, Sscc, check_digit,
};
use proptest::prelude::*;

#[test]
fn brief_worked_examples() {
    assert_eq!(check_digit(b"629104150021").unwrap(), 3);
    assert_eq!(check_digit(b"400638133393").unwrap(), 1);
    assert_eq!(
        Gtin::parse("6291041500213").unwrap().as_str(),
        "06291041500213"
    );
    assert_eq!(
        Gtin::parse("4006381333931").unwrap().as_str(),
        "04006381333931"
    );
}

#[test]
fn gs1_published_examples_are_valid() {
    for g in ["09520123456788", "09506000134352", "9520123456788"] {
        Gtin::parse(g).unwrap();
    }
    assert_eq!(
        Sscc::parse("106141412345678908").unwrap().as_str(),
        "106141412345678908"
    );
    Gln::parse("9520123456788").unwrap();
}

#[test]
fn short_gtins_normalise_to_14_digits() {
    assert_eq!(Gtin::parse("95212340").unwrap().as_str(), "00000095212340");
    // A GTIN-12 with a wrong check digit is refused, not padded.
    let err = Gtin::parse("952012345670").unwrap_err();
    assert!(
        matches!(
            err,
            Gs1Error::CheckDigit {
                expected: 2,
                found: 0,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn wrong_check_digit_names_the_expected_digit() {
    let err = Gtin::parse("09521234100011").unwrap_err();
    assert_eq!(
        err.to_string(),
        "GTIN 09521234100011: check digit should be 0, found 1"
    );
    let err = Gln::parse("9521234000014").unwrap_err();
    assert!(
        err.to_string().contains("check digit should be 3, found 4"),
        "{err}"
    );
    assert!(
        Sscc::parse("106141412345678907")
            .unwrap_err()
            .to_string()
            .contains("should be 8")
    );
}

#[test]
fn malformed_keys_say_what_is_wrong() {
    assert_eq!(
        Gtin::parse("0952123410").unwrap_err().to_string(),
        "GTIN must have 8, 12, 13 or 14 digits, found 10"
    );
    assert!(
        Gtin::parse("0952123410001x")
            .unwrap_err()
            .to_string()
            .contains("non-digit character 'x'")
    );
    assert!(
        Gln::parse("952123400001")
            .unwrap_err()
            .to_string()
            .contains("13 digits")
    );
    assert!(
        Lot::parse(&"A".repeat(21))
            .unwrap_err()
            .to_string()
            .contains("1 to 20 characters")
    );
    assert!(Lot::parse("").is_err());
    let err = Lot::parse("LOT#1").unwrap_err().to_string();
    assert!(
        err.contains("'#'") && err.contains("character set 82"),
        "{err}"
    );
    assert!(Serial::parse("è").is_err());
}

#[test]
fn catalogue_identifiers_are_valid() {
    for g in [
        "09521234100010",
        "09521234100027",
        "09521234100034",
        "09521234100041",
        "09521234100058",
        "09521234100065",
        "09521234100072",
        "09521234100089",
        "09521234100096",
        "09521234100102",
        "09521234100119",
        "09521234100126",
    ] {
        assert_eq!(Gtin::parse(g).unwrap().as_str(), g);
    }
    for l in [
        "9521234000013",
        "9521234000020",
        "9521234000037",
        "9521234000044",
        "9521234000051",
        "9521234000068",
        "9521234000075",
        "9521234000082",
    ] {
        Gln::parse(l).unwrap();
    }
}

#[test]
fn digital_links_parse() {
    let dl =
        DigitalLink::parse("https://id.gs1.org/01/09520123456788/10/ABC123/21/12345?17=201225")
            .unwrap();
    assert_eq!(dl.base, "https://id.gs1.org");
    assert_eq!(
        dl.key,
        DlPrimaryKey::Gtin {
            gtin: Gtin::parse("09520123456788").unwrap(),
            variant: None,
            lot: Some(Lot::parse("ABC123").unwrap()),
            serial: Some(Serial::parse("12345").unwrap()),
        }
    );
    assert_eq!(dl.expiry(), Some("201225"));
    assert_eq!(
        dl.to_uri(),
        "https://id.gs1.org/01/09520123456788/10/ABC123/21/12345?17=201225"
    );

    let short = DigitalLink::parse("https://example.com/01/9520123456788").unwrap();
    assert_eq!(short.to_uri(), "https://example.com/01/09520123456788");

    let gln = DigitalLink::parse("https://id.gs1.org/414/9520123456788").unwrap();
    assert!(matches!(
        gln.key,
        DlPrimaryKey::Gln {
            extension: None,
            ..
        }
    ));
    let sscc = DigitalLink::parse("https://id.gs1.org/00/106141412345678908").unwrap();
    assert!(matches!(sscc.key, DlPrimaryKey::Sscc(_)));

    // A resolver may serve links under a path prefix.
    let prefixed = DigitalLink::parse(
        "https://trace.marche.example/dl/01/09521234100010/10/CU250412?linkType=gs1:pip",
    )
    .unwrap();
    assert_eq!(prefixed.base, "https://trace.marche.example/dl");
    assert_eq!(prefixed.query_value("linkType"), Some("gs1:pip"));
    assert_eq!(
        prefixed.to_uri(),
        "https://trace.marche.example/dl/01/09521234100010/10/CU250412?linkType=gs1%3Apip"
    );
    assert_eq!(DigitalLink::parse(&prefixed.to_uri()).unwrap(), prefixed);
}

#[test]
fn digital_link_rejections() {
    let bad = [
        (
            "https://id.gs1.org/01/09520123456788/21/S1/10/L1",
            "out of order",
        ),
        (
            "https://id.gs1.org/01/09520123456788/10/L1/10/L2",
            "repeated or out of order",
        ),
        ("https://id.gs1.org/01/0952012345678x", "non-digit"),
        (
            "https://id.gs1.org/01/09520123456789",
            "check digit should be 8",
        ),
        (
            "https://id.gs1.org/01/09520123456788/10/ABCDEFGHIJKLMNOPQRSTU",
            "1 to 20",
        ),
        (
            "https://id.gs1.org/01/09520123456788/10/A%23B",
            "character set 82",
        ),
        (
            "https://id.gs1.org/01/09520123456788/10/L1?17=201345",
            "month must be 01-12",
        ),
        ("https://id.gs1.org/01/09520123456788?17=2012", "YYMMDD"),
        ("ftp://id.gs1.org/01/09520123456788", "http or https"),
        ("https://id.gs1.org/02/09520123456788", "no primary key"),
        ("https://id.gs1.org/01/09520123456788/10", "has no value"),
        (
            "https://id.gs1.org/01/09520123456788/10/L1/21",
            "has no value",
        ),
        (
            "https://id.gs1.org/01/09520123456788/99/x",
            "not a qualifier",
        ),
        (
            "https://id.gs1.org/00/106141412345678908/10/L1",
            "no qualifiers",
        ),
    ];
    for (uri, reason) in bad {
        let err = DigitalLink::parse(uri).expect_err(uri).to_string();
        assert!(err.contains(reason), "{uri}: {err}");
    }
}

#[test]
fn reserved_characters_are_percent_encoded_and_round_trip() {
    let lot = Lot::parse("A/B%C&D").unwrap();
    let dl = DigitalLink::for_lot(
        "https://example.com/",
        Gtin::parse("09521234100010").unwrap(),
        lot.clone(),
    );
    let uri = dl.to_uri();
    assert_eq!(
        uri,
        "https://example.com/01/09521234100010/10/A%2FB%25C%26D"
    );
    let back = DigitalLink::parse(&uri).unwrap();
    assert_eq!(back, dl);
    assert!(matches!(back.key, DlPrimaryKey::Gtin { lot: Some(l), .. } if l == lot));
}

#[test]
fn epc_urns_round_trip() {
    let gtin = Gtin::parse("09521234100010").unwrap();
    let sgtin = Epc::Sgtin {
        gtin: gtin.clone(),
        serial: Serial::parse("F-0001").unwrap(),
    };
    assert_eq!(
        sgtin.to_urn(7).unwrap(),
        "urn:epc:id:sgtin:9521234.010001.F-0001"
    );
    let lgtin = Epc::Lgtin {
        gtin: gtin.clone(),
        lot: Lot::parse("CU/25?04&12").unwrap(),
    };
    let urn = lgtin.to_urn(7).unwrap();
    assert_eq!(urn, "urn:epc:class:lgtin:9521234.010001.CU%2F25%3F04%2612");
    assert_eq!(Epc::parse_urn(&urn).unwrap(), lgtin);
    let sgln = Epc::Sgln {
        gln: Gln::parse("9521234000013").unwrap(),
        extension: None,
    };
    assert_eq!(sgln.to_urn(7).unwrap(), "urn:epc:id:sgln:9521234.00001.0");
    let sscc = Epc::Sscc(Sscc::parse("106141412345678908").unwrap());
    assert_eq!(
        sscc.to_urn(7).unwrap(),
        "urn:epc:id:sscc:0614141.1234567890"
    );
    for epc in [sgtin, lgtin, sgln, sscc] {
        for len in [6, 7, 9, 12] {
            let urn = epc.to_urn(len).unwrap();
            assert_eq!(Epc::parse_urn(&urn).unwrap(), epc, "{urn}");
        }
        let dl = epc.to_digital_link("https://id.gs1.org");
        assert_eq!(
            Epc::from_digital_link(&DigitalLink::parse(&dl.to_uri()).unwrap()).unwrap(),
            epc
        );
    }
    assert!(Epc::parse_urn("urn:epc:id:sgtin:9521234.010001").is_err());
    assert!(Epc::parse_urn("urn:epc:id:sgtin:9521234.01000.1").is_err());
    assert!(Epc::parse_urn("urn:epc:id:sgtin:9521234.010001.%41").is_err());
    assert!(gtin_epc_needs_valid_prefix_len());
}

fn gtin_epc_needs_valid_prefix_len() -> bool {
    let epc = Epc::Sscc(Sscc::parse("106141412345678908").unwrap());
    epc.to_urn(5).is_err() && epc.to_urn(13).is_err()
}

#[test]
fn borsh_accepts_only_the_canonical_form() {
    let g = Gtin::parse("9521234100010").unwrap();
    let bytes = encoding::encode(&g);
    assert_eq!(encoding::decode::<Gtin>("gtin", &bytes, 64).unwrap(), g);
    // The 13-digit spelling is valid text but not the canonical encoding.
    let short = encoding::encode(&"9521234100010".to_string());
    assert!(encoding::decode::<Gtin>("gtin", &short, 64).is_err());
    let bad = encoding::encode(&"09521234100011".to_string());
    assert!(encoding::decode::<Gtin>("gtin", &bad, 64).is_err());
}

fn arb_gtin() -> impl Strategy<Value = Gtin> {
    proptest::collection::vec(0u8..10, 13).prop_map(|d| {
        let data: Vec<u8> = d.iter().map(|x| b'0' + x).collect();
        let c = check_digit(&data).unwrap();
        Gtin::parse(&format!("{}{c}", String::from_utf8(data).unwrap())).unwrap()
    })
}

proptest! {
    #[test]
    fn any_gtin_survives_a_digital_link(gtin in arb_gtin(), lot in "[A-Za-z0-9/%&?._-]{1,20}") {
        let dl = DigitalLink::for_lot("https://id.gs1.org", gtin.clone(), Lot::parse(&lot).unwrap());
        let back = DigitalLink::parse(&dl.to_uri()).unwrap();
        prop_assert_eq!(back, dl);
    }

    #[test]
    fn changing_one_digit_is_always_detected(gtin in arb_gtin(), pos in 0usize..14, delta in 1u8..10) {
        let mut digits = gtin.as_str().as_bytes().to_vec();
        digits[pos] = b'0' + (digits[pos] - b'0' + delta) % 10;
        prop_assert!(Gtin::parse(std::str::from_utf8(&digits).unwrap()).is_err());
    }
}
