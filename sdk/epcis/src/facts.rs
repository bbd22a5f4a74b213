//! What the chain itself reads from a stored event document: the part of
//! this crate that runs inside consensus (the execution host's
//! `epcis_facts`). Every validator must get the same answer from the same
//! bytes, so the input is bounded, numbers must be whole (the hash then never
//! goes through a float: see `canonical_number`), and nothing here reads a
//! clock, a map's iteration order or anything but the bytes.

use crate::document::namespaces;
use crate::plan::plan;
use crate::validate::validate_event;
use crate::{EVENT_BYTES_MAX, EventHash, Namespaces};
use filiera_contract_api::lots::EpcisFacts;
use serde_json::Value;

/// Largest whole number a stored event may carry: 2^53, the largest every
/// EPCIS implementation (and GS1's hash tool, which reads numbers as
/// doubles) represents exactly.
pub const EVENT_NUMBER_MAX: u64 = 1 << 53;
/// Namespace prefixes a stored event's `@context` may declare, at most.
pub const EVENT_NAMESPACES_MAX: usize = 16;
/// Bytes of one namespace URI of a stored event, at most: every prefixed
/// name expands to it before hashing, so it bounds the hash's work per byte
/// of the document (the fuel is charged per byte of the document).
pub const EVENT_NAMESPACE_URI_BYTES_MAX: usize = 256;

/// Why the chain refuses a stored event: one fixed phrase per kind, never a
/// parser's own words (those may change between builds, and the phrase ends
/// up in a receipt every validator hashes). The API tells a capturing client
/// the detailed reasons before anything is submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StoredEventRefusal {
    /// Over [`EVENT_BYTES_MAX`].
    #[error("the event is over {EVENT_BYTES_MAX} bytes")]
    TooLarge,
    /// Not JSON.
    #[error("the event is not JSON")]
    NotJson,
    /// A number other than a whole number up to [`EVENT_NUMBER_MAX`].
    #[error("the event has a number that is not a whole number from 0 to 2^53")]
    NotWhole,
    /// Too many namespace prefixes, or too long a URI.
    #[error(
        "the event's @context declares over {EVENT_NAMESPACES_MAX} prefixes or a URI over {EVENT_NAMESPACE_URI_BYTES_MAX} bytes"
    )]
    Namespaces,
    /// Not a valid EPCIS 2.0 event.
    #[error("the event is not a valid EPCIS 2.0 event")]
    Invalid,
    /// `eventID` missing or other than the event's hash.
    #[error("the event's eventID is not its CBV 2.0 hash")]
    EventId,
    /// Valid, but no lot action here.
    #[error("the event is no lot action on this chain")]
    NoLotAction,
}

/// The CBV 2.0 hash and the lot action of a stored event document (compact
/// JSON as [`crate::capture_call`] writes it, with its `eventID`, and an
/// `@context` naming its document's namespace prefixes if it declared any).
pub fn stored_event_facts(bytes: &[u8]) -> Result<EpcisFacts, StoredEventRefusal> {
    let (hash, event) = read_stored(bytes)?;
    let plan = plan(&event).map_err(|_| StoredEventRefusal::NoLotAction)?;
    Ok(EpcisFacts { hash: hash.0, plan })
}

/// The CBV 2.0 hash of a stored event document, as the chain computes it
/// (the refusals of [`stored_event_facts`] but the lot action's).
pub fn stored_event_hash(bytes: &[u8]) -> Result<EventHash, StoredEventRefusal> {
    read_stored(bytes).map(|(hash, _)| hash)
}

fn read_stored(bytes: &[u8]) -> Result<(EventHash, Value), StoredEventRefusal> {
    if bytes.len() > EVENT_BYTES_MAX {
        return Err(StoredEventRefusal::TooLarge);
    }
    let mut event: Value =
        serde_json::from_slice(bytes).map_err(|_| StoredEventRefusal::NotJson)?;
    if !whole_numbers(&event) {
        return Err(StoredEventRefusal::NotWhole);
    }
    let context = event.as_object_mut().and_then(|m| m.remove("@context"));
    let prefixes: Namespaces = context.as_ref().map(namespaces).unwrap_or_default();
    if prefixes.len() > EVENT_NAMESPACES_MAX
        || prefixes
            .values()
            .any(|uri| uri.len() > EVENT_NAMESPACE_URI_BYTES_MAX)
    {
        return Err(StoredEventRefusal::Namespaces);
    }
    // Checked apart from the rest, so its refusal says what is wrong.
    let id = event.as_object_mut().and_then(|m| m.remove("eventID"));
    let hash = validate_event(&event, &prefixes).map_err(|_| StoredEventRefusal::Invalid)?;
    match id
        .as_ref()
        .and_then(Value::as_str)
        .and_then(EventHash::from_ni)
    {
        Some(named) if named == hash => Ok((hash, event)),
        _ => Err(StoredEventRefusal::EventId),
    }
}

fn whole_numbers(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.as_u64().is_some_and(|x| x <= EVENT_NUMBER_MAX),
        Value::Array(items) => items.iter().all(whole_numbers),
        Value::Object(m) => m.values().all(whole_numbers),
        _ => true,
    }
}
