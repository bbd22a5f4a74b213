//! EPCIS captures on the real runtime and the committed lots contract: a
//! document is stored only under the CBV 2.0 hash it has and with the lot
//! action it describes (the host's `epcis_facts`), so a member can neither
//! squat the id of an event another organisation has yet to send nor index a
//! document under lots it does not name.

use crate::chain::{Chain, key};
use crate::lifecycle::{commission_args, gtin, lot, product};
use filiera_contract_api::contract_ids::{LOTS, REGISTRY};
use filiera_contract_api::lots::{Capture, CapturedAction, LotRecord, LotRef, LotStatus};
use filiera_contract_api::registry::{Role, SiteRecord};
use filiera_contract_api::{encode, keys};
use filiera_types::SecretKey;

/// The capture of the single event of an EPCIS 2.0 document, built the way
/// the node's API and the SDK build it (`filiera_epcis::capture_call`).
pub(crate) fn capture_of(event: &str, sites: &[(&str, &str)]) -> (Capture, [u8; 32]) {
    capture_with(
        r#""https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld""#,
        event,
        sites,
    )
}

/// [`capture_of`] a document whose `@context` array holds `context`.
pub(crate) fn capture_with(
    context: &str,
    event: &str,
    sites: &[(&str, &str)],
) -> (Capture, [u8; 32]) {
    let document = format!(
        r#"{{"@context":[{context}],
        "type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-11-25T10:00:00.000+01:00",
        "epcisBody":{{"eventList":[{event}]}}}}"#
    );
    let parsed = filiera_epcis::parse_document(document.as_bytes()).expect("a valid document");
    let (hash, value) = &parsed.events[0];
    let org_of_site = |gln: &str| {
        sites
            .iter()
            .find(|(g, _)| *g == gln)
            .map(|(_, org)| org.to_string())
    };
    let capture = filiera_epcis::capture_call(hash, value, &org_of_site).expect("a lot action");
    (capture, hash.0)
}

pub(crate) fn commissioning(id: &LotRef, quantity: u64) -> String {
    format!(
        r#"{{"type":"ObjectEvent","action":"ADD","bizStep":"commissioning",
        "eventTime":"2026-11-24T06:00:00.000+01:00","eventTimeZoneOffset":"+01:00",
        "quantityList":[{{"epcClass":"https://id.gs1.org/01/{}/10/{}","quantity":{quantity}}}]}}"#,
        id.gtin, id.lot
    )
}

fn shipping(id: &LotRef, quantity: u64, to_gln: &str) -> String {
    format!(
        r#"{{"type":"ObjectEvent","action":"OBSERVE","bizStep":"shipping","disposition":"in_transit",
        "eventTime":"2026-11-24T09:00:00.000+01:00","eventTimeZoneOffset":"+01:00",
        "quantityList":[{{"epcClass":"https://id.gs1.org/01/{}/10/{}","quantity":{quantity}}}],
        "destinationList":[{{"type":"location","destination":"https://id.gs1.org/414/{to_gln}"}}]}}"#,
        id.gtin, id.lot
    )
}

/// The lot action of a capture, with its claimed hash replaced.
fn claiming(mut capture: Capture, hash: [u8; 32]) -> Capture {
    match &mut capture.action {
        CapturedAction::Commission(a) => a.epcis_hash = Some(hash),
        CapturedAction::Transform(a) => a.epcis_hash = Some(hash),
        CapturedAction::Record(a) => a.epcis_hash = Some(hash),
    }
    capture
}

pub(crate) struct Farms {
    pub(crate) chain: Chain,
    pub(crate) ovina: SecretKey,
    bovina: SecretKey,
    pub(crate) ovino: LotRef,
    vaccino: LotRef,
    /// A site of stalla-bovina.
    stalla_gln: String,
}

/// Two producers, each with a product; stalla-bovina runs a site.
pub(crate) fn farms() -> Farms {
    let mut chain = Chain::new();
    let (ovina, bovina) = (key(20), key(21));
    chain.onboard("azienda-ovina", 3, &[Role::Producer], &ovina);
    chain.onboard("stalla-bovina", 3, &[Role::Producer], &bovina);
    let (sheep_milk, cow_milk) = (gtin("0952123410002"), gtin("0952123410003"));
    product(&mut chain, &ovina, &sheep_milk, "Latte ovino", "none", 1000);
    product(
        &mut chain,
        &bovina,
        &cow_milk,
        "Latte vaccino",
        "none",
        1000,
    );
    let stalla_gln = gtin("952123400004");
    let site = SiteRecord {
        gln: stalla_gln.clone(),
        org: "stalla-bovina".into(),
        kind: "farm".into(),
        name: "Fossombrone (PU)".into(),
    };
    chain.ok(&bovina, REGISTRY, "register_site", encode(&site));
    Farms {
        chain,
        ovina,
        bovina,
        ovino: lot(&sheep_milk, "OV-251124"),
        vaccino: lot(&cow_milk, "BO-251124"),
        stalla_gln,
    }
}

#[test]
fn a_captured_event_is_stored_under_its_own_hash_once() {
    let mut f = farms();
    let (capture, hash) = capture_of(&commissioning(&f.ovino, 800), &[]);
    f.chain.ok(&f.ovina, LOTS, "capture", encode(&capture));
    let stored: String = f
        .chain
        .get(LOTS, &keys::epcis_event(&hash))
        .expect("the document is kept under its hash");
    assert_eq!(stored, capture.event);
    let facts = filiera_epcis::stored_event_facts(stored.as_bytes()).expect("re-hashable");
    assert_eq!(
        facts.hash, hash,
        "anyone re-hashing it gets the id it is under"
    );
    // The same event again (an offline capture retried) changes nothing.
    f.chain
        .refused(&f.ovina, LOTS, "capture", encode(&capture), "already");
}

#[test]
fn a_member_cannot_squat_the_id_of_another_members_future_event() {
    let mut f = farms();
    // The event azienda-ovina will send tomorrow: its id is computable by
    // anyone who knows (or guesses) its contents.
    let (future, future_hash) = capture_of(&commissioning(&f.ovino, 800), &[]);
    // stalla-bovina stores its own document under that id...
    let (own, _) = capture_of(&commissioning(&f.vaccino, 250), &[]);
    f.chain.refused(
        &f.bovina,
        LOTS,
        "capture",
        encode(&claiming(own, future_hash)),
        "hashes (CBV 2.0) to",
    );
    // ...or anchors the bare id with a direct call.
    f.chain.refused(
        &f.bovina,
        LOTS,
        "commission",
        encode(&filiera_contract_api::lots::Commission {
            epcis_hash: Some(future_hash),
            ..commission_args(&f.vaccino, 250)
        }),
        "anchored only by capture",
    );
    // The owner's event still lands under its id.
    f.chain.ok(&f.ovina, LOTS, "capture", encode(&future));
    let stored: Option<String> = f.chain.get(LOTS, &keys::epcis_event(&future_hash));
    assert_eq!(stored.as_deref(), Some(future.event.as_str()));
}

#[test]
fn a_document_is_indexed_only_under_the_lots_it_names() {
    let mut f = farms();
    let (mine, _) = capture_of(&commissioning(&f.vaccino, 250), &[]);
    f.chain.ok(&f.bovina, LOTS, "capture", encode(&mine));
    let (theirs, _) = capture_of(&commissioning(&f.ovino, 800), &[]);
    f.chain.ok(&f.ovina, LOTS, "capture", encode(&theirs));

    // A document about azienda-ovina's lot, planted with stalla-bovina's own
    // lot as its action so it would be indexed (and answered) with either.
    let (planted, _) = capture_of(
        &shipping(&f.ovino, 800, &f.stalla_gln),
        &[(f.stalla_gln.as_str(), "stalla-bovina")],
    );
    let mut on_own_lot = planted.clone();
    if let CapturedAction::Record(r) = &mut on_own_lot.action {
        r.id = f.vaccino.clone();
        r.quantity = 250;
    }
    f.chain.refused(
        &f.bovina,
        LOTS,
        "capture",
        encode(&on_own_lot),
        "not the one the EPCIS event describes",
    );
    // With the action the document describes, the lot's holder decides.
    f.chain.refused(
        &f.bovina,
        LOTS,
        "capture",
        encode(&planted),
        "only the holder ships",
    );

    // The holder's shipment names its receiver by the site the document
    // gives: another organisation as receiver is refused.
    let mut elsewhere = planted.clone();
    if let CapturedAction::Record(r) = &mut elsewhere.action {
        r.to = Some("azienda-ovina".into());
    }
    f.chain.refused(
        &f.ovina,
        LOTS,
        "capture",
        encode(&elsewhere),
        "not the one the EPCIS event describes",
    );
    f.chain.ok(&f.ovina, LOTS, "capture", encode(&planted));
    let lot: LotRecord = f
        .chain
        .get(LOTS, &keys::lot(&f.ovino.gtin, &f.ovino.lot))
        .unwrap();
    assert_eq!(lot.status, LotStatus::InTransit);
    assert_eq!(lot.destination.as_deref(), Some("stalla-bovina"));
}

#[test]
fn a_document_the_chain_cannot_rehash_is_refused_with_its_reason() {
    let mut f = farms();
    let (capture, _) = capture_of(&commissioning(&f.ovino, 800), &[]);
    let cases = [
        // The eventID no longer names the document's hash.
        (
            capture.event.replace("ni:///sha-256;", "ni:///sha-256;00"),
            "eventID",
        ),
        (
            capture
                .event
                .replace("\"quantity\":800", "\"quantity\":800.5"),
            "not a whole number",
        ),
        (capture.event.replace('{', "["), "not JSON"),
        // Inputs that once panicked the hash code (a panic in a host
        // function would stop every validator on the same block).
        (
            capture.event.replace(
                "2026-11-24T06:00:00.000+01:00",
                "9999-12-31T23:30:00.000-01:00",
            ),
            "not a valid EPCIS 2.0 event",
        ),
        (
            capture
                .event
                .replace("2026-11-24T06:00:00.000+01:00", "9999-12-31T23:59:59.9996Z"),
            "not a valid EPCIS 2.0 event",
        ),
        (
            capture.event.replace(
                r#""action":"ADD""#,
                r#""action":"ADD","ex:note":"urn:epc:idpat:sgtin:12345678901.\u00e9.*""#,
            ),
            "not a valid EPCIS 2.0 event",
        ),
    ];
    for (event, reason) in cases {
        let bad = Capture {
            event,
            action: capture.action.clone(),
        };
        f.chain
            .refused(&f.ovina, LOTS, "capture", encode(&bad), reason);
    }
}
