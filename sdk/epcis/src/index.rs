//! The query index of stored events: which keys an event is found under, and
//! the key ranges a query walks.
//!
//! Every key is `field · value length (u32 BE) · value · event time · event
//! hash`, so the entries of one field value are contiguous and ordered by
//! (event time, event hash): the order of a query's pages and of its cursor.
//! A query walks one field's range (the most selective it names, or the time
//! field, which holds every event) from its lower bound and checks its other
//! filters on the stored document; no walk depends on how many events the
//! chain holds, only on how many it examines.
//!
//! The index is derived from the authenticated state and is not part of it:
//! a node computes it at commit and can rebuild it from the state at any
//! time, so its format may change without touching consensus.

use crate::ids::canonical_id;
use serde_json::Value;

/// Version of the key layout below; a node whose index was written by
/// another rebuilds it from the state.
pub const QUERY_INDEX_VERSION: u32 = 3;

/// A field events are indexed by: one byte at the start of each key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum IndexField {
    /// Every event, under the empty value: the walk of a time range.
    Time,
    /// `type` (ObjectEvent, ...).
    EventType,
    /// `bizStep`, as stored (bare CBV word).
    BizStep,
    /// `disposition`, as stored (bare CBV word).
    Disposition,
    /// `bizLocation.id`, canonical.
    BizLocation,
    /// `readPoint.id`, canonical.
    ReadPoint,
    /// Each EPC of `epcList`, `childEPCs`, `inputEPCList`, `outputEPCList`,
    /// `parentID`, canonical.
    Epc,
    /// Each `epcClass` of the quantity lists, canonical.
    EpcClass,
    /// Each organisation that is a party to the event (its capturer, the
    /// owners of the lots it acts on, the receiver of a shipment): who may
    /// read it. Not read from the document alone: the node derives it from
    /// the state (see `filiera_chain::query_index`).
    Party,
    /// A party and the event's `bizLocation` ([`party_location`]): a
    /// member's query by location walks only its own events there.
    PartyLocation,
}

impl IndexField {
    fn tag(self) -> u8 {
        match self {
            IndexField::Time => b't',
            IndexField::EventType => b'y',
            IndexField::BizStep => b's',
            IndexField::Disposition => b'd',
            IndexField::BizLocation => b'l',
            IndexField::ReadPoint => b'r',
            IndexField::Epc => b'e',
            IndexField::EpcClass => b'c',
            IndexField::Party => b'p',
            IndexField::PartyLocation => b'q',
        }
    }
}

/// The [`IndexField::PartyLocation`] value of `party` at `location`
/// (canonical): organisation ids hold no newline, so the pair is unambiguous.
pub fn party_location(party: &str, location: &str) -> String {
    format!("{party}\n{location}")
}

/// Lists holding EPCs (or one EPC: `parentID`).
pub const EPC_LISTS: &[&str] = &[
    "epcList",
    "childEPCs",
    "inputEPCList",
    "outputEPCList",
    "parentID",
];
/// Lists holding quantities of an EPC class.
pub const QUANTITY_LISTS: &[&str] = &[
    "quantityList",
    "childQuantityList",
    "inputQuantityList",
    "outputQuantityList",
];

/// An event's position in every walk: its time (ns since the epoch, UTC)
/// and its CBV 2.0 hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventPosition {
    /// `eventTime`, ns since 1970-01-01T00:00:00Z (negative before).
    pub event_time_ns: i128,
    /// The event's hash (its id, and its storage key).
    pub event_id: [u8; 32],
}

/// Bytes of the position at the end of each key.
pub const POSITION_BYTES: usize = 16 + 32;

/// Two's complement with the sign bit flipped: big-endian bytes that sort
/// as the numbers do, negatives first.
fn time_bytes(ns: i128) -> [u8; 16] {
    ((ns as u128) ^ (1u128 << 127)).to_be_bytes()
}

fn time_of(bytes: [u8; 16]) -> i128 {
    (u128::from_be_bytes(bytes) ^ (1u128 << 127)) as i128
}

/// The part of a key before the position: field and value.
pub fn value_prefix(field: IndexField, value: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + 4 + value.len() + POSITION_BYTES);
    key.push(field.tag());
    // Values are bounded by the event size (far below 4 GiB); saturating
    // keeps the function total.
    let len = u32::try_from(value.len()).unwrap_or(u32::MAX);
    key.extend_from_slice(&len.to_be_bytes());
    key.extend_from_slice(value.as_bytes());
    key
}

/// The key of `position` under `field` = `value`.
pub fn index_key(field: IndexField, value: &str, position: &EventPosition) -> Vec<u8> {
    let mut key = value_prefix(field, value);
    key.extend_from_slice(&time_bytes(position.event_time_ns));
    key.extend_from_slice(&position.event_id);
    key
}

/// The position at the end of an index key, if it has one.
pub fn position_of(key: &[u8]) -> Option<EventPosition> {
    let at = key.len().checked_sub(POSITION_BYTES)?;
    let time: [u8; 16] = key.get(at..at + 16)?.try_into().ok()?;
    let event_id: [u8; 32] = key.get(at + 16..)?.try_into().ok()?;
    Some(EventPosition {
        event_time_ns: time_of(time),
        event_id,
    })
}

/// The range `[from, to)` of keys a walk of `field` = `value` reads: events
/// at or after `ge_ns`, before `lt_ns`, and strictly after `after`.
pub fn walk_range(
    field: IndexField,
    value: &str,
    ge_ns: Option<i128>,
    lt_ns: Option<i128>,
    after: Option<&EventPosition>,
) -> (Vec<u8>, Vec<u8>) {
    let prefix = value_prefix(field, value);
    let mut from = prefix.clone();
    if let Some(ge) = ge_ns {
        from.extend_from_slice(&time_bytes(ge));
    }
    if let Some(after) = after {
        let mut past = index_key(field, value, after);
        // The least key greater than the cursor's own.
        past.push(0);
        if past > from {
            from = past;
        }
    }
    let to = match lt_ns {
        Some(lt) => {
            let mut to = prefix;
            to.extend_from_slice(&time_bytes(lt));
            to
        }
        None => prefix_end(prefix),
    };
    (from, to)
}

/// The least key greater than every key starting with `prefix` (a prefix
/// always starts with a tag below 0xff, so one exists).
fn prefix_end(mut prefix: Vec<u8>) -> Vec<u8> {
    while let Some(last) = prefix.pop() {
        if last < u8::MAX {
            prefix.push(last + 1);
            return prefix;
        }
    }
    vec![u8::MAX]
}

/// The time of a stored event, ns since the epoch; `None` if it has none
/// that parses (stored events were validated, so only a damaged store).
pub fn event_time_ns(event: &Value) -> Option<i128> {
    let text = event.get("eventTime")?.as_str()?;
    let at =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Some(at.unix_timestamp_nanos())
}

/// Canonical identifiers an event names in `lists` (their `field`, for
/// quantities), each once, in order.
pub fn names_in(event: &Value, lists: &[&str], field: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for list in lists {
        let items: Vec<&Value> = match event.get(*list) {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(one) => vec![one],
            None => continue,
        };
        for item in items {
            let value = match field {
                Some(f) => item.get(f),
                None => Some(item),
            };
            if let Some(id) = value
                .and_then(Value::as_str)
                .and_then(|v| canonical_id(v).ok())
                && !out.contains(&id)
            {
                out.push(id);
            }
        }
    }
    out
}

/// The canonical `id` of a location field (`bizLocation`, `readPoint`).
pub fn location_of(event: &Value, field: &str) -> Option<String> {
    event
        .get(field)?
        .get("id")?
        .as_str()
        .and_then(|i| canonical_id(i).ok())
}

/// Every (field, value) an event is found under, the time field first.
pub fn index_terms(event: &Value) -> Vec<(IndexField, String)> {
    let mut terms = vec![(IndexField::Time, String::new())];
    let word = |k: &str| event.get(k).and_then(Value::as_str).map(str::to_owned);
    if let Some(t) = word("type") {
        terms.push((IndexField::EventType, t));
    }
    if let Some(s) = word("bizStep") {
        terms.push((IndexField::BizStep, s));
    }
    if let Some(d) = word("disposition") {
        terms.push((IndexField::Disposition, d));
    }
    if let Some(l) = location_of(event, "bizLocation") {
        terms.push((IndexField::BizLocation, l));
    }
    if let Some(r) = location_of(event, "readPoint") {
        terms.push((IndexField::ReadPoint, r));
    }
    for epc in names_in(event, EPC_LISTS, None) {
        terms.push((IndexField::Epc, epc));
    }
    for class in names_in(event, QUANTITY_LISTS, Some("epcClass")) {
        terms.push((IndexField::EpcClass, class));
    }
    terms
}

/// The index keys of a stored event (its JSON as stored) under `event_id`;
/// none if the document has no time (it could never match a query).
pub fn index_keys(event: &Value, event_id: [u8; 32]) -> Vec<Vec<u8>> {
    let Some(event_time_ns) = event_time_ns(event) else {
        return Vec::new();
    };
    let position = EventPosition {
        event_time_ns,
        event_id,
    };
    index_terms(event)
        .iter()
        .map(|(field, value)| index_key(*field, value, &position))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn at(ns: i128, id: u8) -> EventPosition {
        EventPosition {
            event_time_ns: ns,
            event_id: [id; 32],
        }
    }

    #[test]
    fn keys_sort_by_time_then_id_also_before_1970() {
        let positions = [at(-5, 9), at(-5, 10), at(0, 1), at(7, 0), at(i128::MAX, 0)];
        let keys: Vec<Vec<u8>> = positions
            .iter()
            .map(|p| index_key(IndexField::BizStep, "shipping", p))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        for (key, p) in keys.iter().zip(&positions) {
            assert_eq!(position_of(key), Some(*p));
        }
    }

    #[test]
    fn a_value_never_reads_into_a_longer_one() {
        // "ship" must not walk into "shipping": the length comes first.
        let (from, to) = walk_range(IndexField::BizStep, "ship", None, None, None);
        let longer = index_key(IndexField::BizStep, "shipping", &at(0, 0));
        assert!(!(from <= longer && longer < to));
        let own = index_key(IndexField::BizStep, "ship", &at(0, 0));
        assert!(from <= own && own < to);
    }

    #[test]
    fn a_walk_keeps_the_time_range_and_starts_after_the_cursor() {
        let key = |p: &EventPosition| index_key(IndexField::Time, "", p);
        let (from, to) = walk_range(IndexField::Time, "", Some(10), Some(20), Some(&at(15, 3)));
        let inside = |p: EventPosition| {
            let k = key(&p);
            from <= k && k < to
        };
        assert!(!inside(at(9, 255)), "before GE");
        assert!(!inside(at(15, 3)), "the cursor itself");
        assert!(!inside(at(15, 2)), "before the cursor");
        assert!(inside(at(15, 4)));
        assert!(inside(at(19, 255)));
        assert!(!inside(at(20, 0)), "LT is exclusive");
        // A cursor before GE does not widen the range.
        let (from, _) = walk_range(IndexField::Time, "", Some(10), None, Some(&at(2, 0)));
        assert!(key(&at(9, 255)) < from);
    }

    #[test]
    fn an_event_is_found_under_each_of_its_fields_once() {
        let event = json!({
            "type": "ObjectEvent", "bizStep": "shipping", "disposition": "in_transit",
            "eventTime": "2026-11-25T09:00:00.000+01:00",
            "bizLocation": {"id": "urn:epc:id:sgln:9521234.00001.0"},
            "readPoint": {"id": "urn:epc:id:sgln:9521234.00002.0"},
            "epcList": ["urn:epc:id:sgtin:9521234.010001.1", "urn:epc:id:sgtin:9521234.010001.1"],
            "quantityList": [{"epcClass": "urn:epc:class:lgtin:9521234.010001.CU-1", "quantity": 4}]
        });
        let terms = index_terms(&event);
        let fields: Vec<IndexField> = terms.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            [
                IndexField::Time,
                IndexField::EventType,
                IndexField::BizStep,
                IndexField::Disposition,
                IndexField::BizLocation,
                IndexField::ReadPoint,
                IndexField::Epc,
                IndexField::EpcClass
            ]
        );
        // Identifiers are canonical, so a URN and a Digital Link meet.
        let location = &terms[4].1;
        assert_eq!(
            Some(location.clone()),
            canonical_id("urn:epc:id:sgln:9521234.00001.0").ok()
        );
        assert_eq!(index_keys(&event, [1; 32]).len(), terms.len());
        assert!(index_keys(&json!({"type": "ObjectEvent"}), [1; 32]).is_empty());
    }
}
