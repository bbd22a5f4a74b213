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

/// The CBV 2.0 hash and the lot action of a stored event document (compact
/// JSON as [`crate::capture_call`] writes it, with its `eventID`, and an
/// `@context` naming its extension prefixes when it has extensions).
///
/// Refused, with a reason: more than [`EVENT_BYTES_MAX`] bytes, not JSON, a
/// number that is not a whole number up to [`EVENT_NUMBER_MAX`], an invalid
/// event, an `eventID` missing or other than the event's hash, an event with
/// no lot action.
pub fn stored_event_facts(bytes: &[u8]) -> Result<EpcisFacts, String> {
    let (hash, event) = read_stored(bytes)?;
    let plan = plan(&event).map_err(|e| e.to_string())?;
    Ok(EpcisFacts { hash: hash.0, plan })
}

/// The CBV 2.0 hash of a stored event document, as the chain computes it
/// (the refusals of [`stored_event_facts`] but the lot action's).
pub fn stored_event_hash(bytes: &[u8]) -> Result<EventHash, String> {
    read_stored(bytes).map(|(hash, _)| hash)
}

fn read_stored(bytes: &[u8]) -> Result<(EventHash, Value), String> {
    if bytes.len() > EVENT_BYTES_MAX {
        return Err(format!(
            "event of {} bytes, at most {EVENT_BYTES_MAX}",
            bytes.len()
        ));
    }
    let mut event: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("the event is not JSON: {e}"))?;
    whole_numbers(&event)?;
    let context = event.as_object_mut().and_then(|m| m.remove("@context"));
    let prefixes: Namespaces = context.as_ref().map(namespaces).unwrap_or_default();
    let hash = validate_event(&event, &prefixes).map_err(|reasons| reasons.join("; "))?;
    match event.get("eventID").and_then(Value::as_str) {
        Some(id) if EventHash::from_ni(id) == Some(hash) => Ok((hash, event)),
        _ => Err(format!(
            "a stored event names its CBV 2.0 hash as its eventID ({})",
            hash.to_ni()
        )),
    }
}

fn whole_numbers(v: &Value) -> Result<(), String> {
    match v {
        Value::Number(n) => match n.as_u64() {
            Some(x) if x <= EVENT_NUMBER_MAX => Ok(()),
            _ => Err(format!(
                "the number {n} is not a whole number from 0 to {EVENT_NUMBER_MAX}: the chain hashes only those"
            )),
        },
        Value::Array(items) => items.iter().try_for_each(whole_numbers),
        Value::Object(m) => m.values().try_for_each(whole_numbers),
        _ => Ok(()),
    }
}
