//! EPCIS 2.0 for Filiera: what a producer's existing traceability software
//! sends, checked against the standard, named by its CBV 2.0 event hash, and
//! turned into the lots contract's actions.
//!
//! **Purpose.** [`parse_document`] reads an EPCIS 2.0 JSON-LD document and
//! validates every event (event types, required fields, CBV vocabularies,
//! EPC and Digital Link identifiers, times); a document with an invalid event
//! is refused whole, with the position and reasons of each bad event.
//! [`event_hash`] computes the event ID defined by CBV 2.0 §8.9 (canonical
//! pre-hash string, SHA-256, `ni:///sha-256;…?ver=CBV2.0`), the identity the
//! chain anchors once, so resubmitting an event is harmless. [`plan`] says
//! which lot action an event is (commissioning, transformation, shipping…).
//!
//! **Invariants.** The same event always gets the same hash, whatever the
//! order of its keys or of the members of its lists, whatever the spelling of
//! its identifiers (EPC URN or Digital Link) and of its CBV values (bare word,
//! URN or web URI), whatever the time zone its time is written in; the tests
//! cross-check hashes with GS1's reference implementation. Validation accepts
//! only what [`event_hash`] can hash exactly: an event this crate cannot
//! canonicalise (sensor data, extensions nested inside standard fields,
//! identifier schemes Filiera does not use) is refused with a reason, never
//! hashed approximately.
//!
//! **Threats.** Documents come from outside: sizes and counts are bounded
//! ([`DOCUMENT_EVENTS_MAX`], [`EVENT_BYTES_MAX`], [`LIST_ITEMS_MAX`]) before any
//! work is proportional to them, and no input panics.
//!
//! # Example
//!
//! A shipping event as a producer's software sends it: validated, and named
//! by the hash GS1's reference implementation gives it; the same event with a
//! business step CBV does not define is refused with its reason.
//!
//! ```
//! use filiera_epcis::{DocumentError, parse_document};
//!
//! let document = br#"{
//!   "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
//!   "type": "EPCISDocument", "schemaVersion": "2.0",
//!   "creationDate": "2026-11-25T10:00:00.000+01:00",
//!   "epcisBody": {"eventList": [{
//!     "type": "ObjectEvent", "action": "OBSERVE", "bizStep": "shipping",
//!     "eventTime": "2026-11-25T09:00:00.000+01:00", "eventTimeZoneOffset": "+01:00",
//!     "quantityList": [{"epcClass": "urn:epc:class:lgtin:9521234.010001.CU-EPCIS-1", "quantity": 100}],
//!     "bizLocation": {"id": "urn:epc:id:sgln:9521234.00001.0"},
//!     "disposition": "in_transit",
//!     "destinationList": [{"type": "location", "destination": "urn:epc:id:sgln:9521234.00008.0"}]
//!   }]}
//! }"#;
//! let parsed = parse_document(document)?;
//! let (hash, _event) = &parsed.events[0];
//! assert_eq!(
//!     hash.to_ni(),
//!     "ni:///sha-256;5b8fd72b8ad2c56ba57f5ca825677ead71cc07699a47663886613f588f07506c?ver=CBV2.0"
//! );
//!
//! let text = std::str::from_utf8(document).unwrap().replace("\"shipping\"", "\"teleporting\"");
//! match parse_document(text.as_bytes()) {
//!     Err(DocumentError::Events(bad)) => assert_eq!(bad[0].index, 0),
//!     other => panic!("accepted an unknown business step: {other:?}"),
//! }
//! # Ok::<(), DocumentError>(())
//! ```

mod document;
mod facts;
mod hash;
mod ids;
pub mod index;
mod plan;
mod validate;
mod vocab;

pub use document::{
    Document, DocumentError, EPCIS_CONTEXT, EventError, namespaces, parse_document,
    parse_document_partly, query_document, to_epcis_json,
};
pub use facts::{
    EVENT_NAMESPACE_URI_BYTES_MAX, EVENT_NAMESPACES_MAX, EVENT_NUMBER_MAX, StoredEventRefusal,
    stored_event_facts, stored_event_hash,
};
pub use hash::{Namespaces, event_hash, pre_hash_string};
pub use ids::{canonical_id, location_of, lot_of};
pub use plan::{Plan, PlanError, capture_call, normalise_cbv, plan};
pub use validate::validate_event;
pub use vocab::{BIZ_STEP, BIZ_STEPS, DISPOSITION, DISPOSITIONS, Vocabulary};

/// Events in one captured document, at most.
pub const DOCUMENT_EVENTS_MAX: usize = 1_000;
/// Bytes of one event (as compact JSON), at most: it travels in a transaction.
pub const EVENT_BYTES_MAX: usize = 16 * 1024;
/// Bytes of one captured document, at most.
pub const DOCUMENT_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Members of any list inside an event (EPCs, quantities, sources…), at most.
pub const LIST_ITEMS_MAX: usize = 256;
/// Depth of JSON nesting inside an event, at most.
pub const EVENT_DEPTH_MAX: usize = 8;

/// The CBV 2.0 event hash: SHA-256 of the canonical pre-hash string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventHash(pub [u8; 32]);

impl EventHash {
    /// The event ID as CBV 2.0 writes it: `ni:///sha-256;{hex}?ver=CBV2.0`.
    pub fn to_ni(&self) -> String {
        format!("ni:///sha-256;{}?ver=CBV2.0", hex::encode(self.0))
    }

    /// Reads an `ni:///sha-256;{hex}?ver=CBV2.0` event ID.
    pub fn from_ni(text: &str) -> Option<EventHash> {
        let hex_part = text
            .strip_prefix("ni:///sha-256;")?
            .split('?')
            .next()
            .unwrap_or_default();
        let bytes = hex::decode(hex_part).ok()?;
        Some(EventHash(bytes.try_into().ok()?))
    }
}
