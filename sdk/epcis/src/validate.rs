//! One event checked against EPCIS 2.0 and the CBV: its type, the fields
//! its type requires and forbids, vocabularies, identifiers, times, sizes.
//! Every problem is reported, not just the first, so a producer can fix a
//! document in one go.

use crate::hash::{Namespaces, event_hash};
use crate::ids::{canonical_id, location_of, lot_of};
use crate::vocab::{BIZ_STEP, BIZ_TRANSACTION_TYPE, DISPOSITION, SOURCE_DESTINATION_TYPE};
use crate::{EVENT_DEPTH_MAX, EventHash, LIST_ITEMS_MAX};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The five event types of EPCIS 2.0.
pub const EVENT_TYPES: &[&str] = &[
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
];

/// Fields of the standard; anything else must be a namespaced extension.
const STANDARD_FIELDS: &[&str] = &[
    "type",
    "eventID",
    "eventTime",
    "eventTimeZoneOffset",
    "recordTime",
    "certificationInfo",
    "errorDeclaration",
    "epcList",
    "quantityList",
    "action",
    "bizStep",
    "disposition",
    "persistentDisposition",
    "readPoint",
    "bizLocation",
    "bizTransactionList",
    "sourceList",
    "destinationList",
    "ilmd",
    "parentID",
    "childEPCs",
    "childQuantityList",
    "inputEPCList",
    "inputQuantityList",
    "outputEPCList",
    "outputQuantityList",
    "transformationID",
    "sensorElementList",
];

/// Which fields each type may carry beyond the common ones.
fn allowed_for(kind: &str) -> &'static [&'static str] {
    match kind {
        "ObjectEvent" => &["epcList", "quantityList", "action", "ilmd"],
        "AggregationEvent" => &["parentID", "childEPCs", "childQuantityList", "action"],
        "AssociationEvent" => &["parentID", "childEPCs", "childQuantityList", "action"],
        "TransactionEvent" => &["parentID", "epcList", "quantityList", "action"],
        "TransformationEvent" => &[
            "inputEPCList",
            "inputQuantityList",
            "outputEPCList",
            "outputQuantityList",
            "transformationID",
            "ilmd",
        ],
        _ => &[],
    }
}

const COMMON_FIELDS: &[&str] = &[
    "type",
    "eventID",
    "eventTime",
    "eventTimeZoneOffset",
    "recordTime",
    "certificationInfo",
    "errorDeclaration",
    "bizStep",
    "disposition",
    "persistentDisposition",
    "readPoint",
    "bizLocation",
    "bizTransactionList",
    "sourceList",
    "destinationList",
    "sensorElementList",
];

/// Checks one event; on success, its CBV 2.0 hash. A given `eventID` must
/// be that hash.
pub fn validate_event(event: &Value, namespaces: &Namespaces) -> Result<EventHash, Vec<String>> {
    let mut errors = Vec::new();
    let Some(obj) = event.as_object() else {
        return Err(vec!["an event must be a JSON object".into()]);
    };
    if depth(event) > EVENT_DEPTH_MAX {
        return Err(vec![format!("nested deeper than {EVENT_DEPTH_MAX} levels")]);
    }
    let kind = match obj.get("type").and_then(Value::as_str) {
        Some(k) if EVENT_TYPES.contains(&k) => k,
        Some(k) => {
            return Err(vec![format!(
                "type {k:?} is not an EPCIS 2.0 event type ({})",
                EVENT_TYPES.join(", ")
            )]);
        }
        None => return Err(vec!["an event needs a \"type\"".into()]),
    };
    for key in obj.keys() {
        let standard = STANDARD_FIELDS.contains(&key.as_str());
        if standard
            && !COMMON_FIELDS.contains(&key.as_str())
            && !allowed_for(kind).contains(&key.as_str())
        {
            errors.push(format!("{key} is not a field of {kind}"));
        } else if !standard && !key.contains(':') {
            errors.push(format!(
                "{key} is not an EPCIS 2.0 field (extensions need a namespace prefix, e.g. \"ex:{key}\")"
            ));
        }
    }
    if obj.contains_key("sensorElementList") {
        errors.push("sensorElementList: sensor data is not supported by this node".into());
    }
    check_times(obj, &mut errors);
    check_action(kind, obj, &mut errors);
    check_what(kind, obj, &mut errors);
    check_why(obj, &mut errors);
    check_where(obj, &mut errors);
    check_identifiers_anywhere(event, "", &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let hash = event_hash(event, namespaces).map_err(|e| vec![e])?;
    if let Some(id) = obj.get("eventID") {
        match id.as_str() {
            Some(text) if text.starts_with("ni:///") => {
                if EventHash::from_ni(text) != Some(hash) {
                    errors.push(format!(
                        "eventID {text:?} is not the CBV 2.0 hash of the event ({})",
                        hash.to_ni()
                    ));
                }
            }
            // Other event IDs (UUID URNs, …) are allowed; the chain uses the hash.
            Some(_) => {}
            None => errors.push("eventID must be a string".into()),
        }
    }
    if errors.is_empty() {
        Ok(hash)
    } else {
        Err(errors)
    }
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn check_times(obj: &Map<String, Value>, errors: &mut Vec<String>) {
    match obj.get("eventTime").and_then(Value::as_str) {
        Some(t) if OffsetDateTime::parse(t, &Rfc3339).is_ok() => {}
        Some(t) => errors.push(format!(
            "eventTime {t:?} is not an RFC 3339 date-time with offset"
        )),
        None => errors.push("eventTime is required".into()),
    }
    match obj.get("eventTimeZoneOffset").and_then(Value::as_str) {
        Some(z) if is_zone_offset(z) => {}
        Some(z) => errors.push(format!(
            "eventTimeZoneOffset {z:?} must be +hh:mm or -hh:mm"
        )),
        None => errors.push("eventTimeZoneOffset is required".into()),
    }
    if let Some(t) = obj.get("recordTime")
        && t.as_str()
            .is_none_or(|t| OffsetDateTime::parse(t, &Rfc3339).is_err())
    {
        errors.push("recordTime is not an RFC 3339 date-time with offset".into());
    }
    if let Some(decl) = obj.get("errorDeclaration") {
        let ok = decl
            .get("declarationTime")
            .and_then(Value::as_str)
            .is_some_and(|t| OffsetDateTime::parse(t, &Rfc3339).is_ok());
        if !ok {
            errors.push("errorDeclaration needs a declarationTime (RFC 3339)".into());
        }
    }
}

fn is_zone_offset(z: &str) -> bool {
    let b = z.as_bytes();
    b.len() == 6
        && (b[0] == b'+' || b[0] == b'-')
        && b[1..3].iter().all(u8::is_ascii_digit)
        && b[3] == b':'
        && b[4..6].iter().all(u8::is_ascii_digit)
        && z[1..3].parse::<u8>().is_ok_and(|h| h <= 14)
        && z[4..6].parse::<u8>().is_ok_and(|m| m < 60)
}

fn check_action(kind: &str, obj: &Map<String, Value>, errors: &mut Vec<String>) {
    let action = obj.get("action");
    if kind == "TransformationEvent" {
        if action.is_some() {
            errors.push("a TransformationEvent has no action".into());
        }
        return;
    }
    match action.and_then(Value::as_str) {
        Some("ADD" | "OBSERVE" | "DELETE") => {}
        Some(a) => errors.push(format!("action {a:?} must be ADD, OBSERVE or DELETE")),
        None => errors.push(format!("{kind} requires an action")),
    }
}

fn list_len(obj: &Map<String, Value>, key: &str) -> usize {
    obj.get(key).and_then(Value::as_array).map_or(0, Vec::len)
}

fn check_what(kind: &str, obj: &Map<String, Value>, errors: &mut Vec<String>) {
    for key in ["epcList", "childEPCs", "inputEPCList", "outputEPCList"] {
        if let Some(v) = obj.get(key) {
            check_epc_list(key, v, errors);
        }
    }
    for key in [
        "quantityList",
        "childQuantityList",
        "inputQuantityList",
        "outputQuantityList",
    ] {
        if let Some(v) = obj.get(key) {
            check_quantity_list(key, v, errors);
        }
    }
    if let Some(p) = obj.get("parentID") {
        match p.as_str() {
            Some(id) => {
                if let Err(e) = canonical_id(id) {
                    errors.push(format!("parentID: {e}"));
                }
            }
            None => errors.push("parentID must be a string".into()),
        }
    }
    let action = obj.get("action").and_then(Value::as_str).unwrap_or("");
    match kind {
        "ObjectEvent" if list_len(obj, "epcList") + list_len(obj, "quantityList") == 0 => {
            errors.push("an ObjectEvent needs a non-empty epcList or quantityList".into());
        }
        "AggregationEvent" | "AssociationEvent" => {
            if action != "OBSERVE" && !obj.contains_key("parentID") {
                errors.push(format!("an {kind} with action {action} needs a parentID"));
            }
            if action == "ADD"
                && list_len(obj, "childEPCs") + list_len(obj, "childQuantityList") == 0
            {
                errors.push(format!("an {kind} with action ADD needs children"));
            }
        }
        "TransactionEvent" if list_len(obj, "bizTransactionList") == 0 => {
            errors.push("a TransactionEvent needs a non-empty bizTransactionList".into());
        }
        "TransformationEvent" => {
            let inputs = list_len(obj, "inputEPCList") + list_len(obj, "inputQuantityList");
            let outputs = list_len(obj, "outputEPCList") + list_len(obj, "outputQuantityList");
            if (inputs == 0 || outputs == 0) && !obj.contains_key("transformationID") {
                errors.push(
                    "a TransformationEvent needs inputs and outputs, or a transformationID".into(),
                );
            }
        }
        _ => {}
    }
}

/// The members of a list field within [`LIST_ITEMS_MAX`], or why not.
fn bounded_list<'a>(key: &str, v: &'a Value, errors: &mut Vec<String>) -> Option<&'a [Value]> {
    let Some(items) = v.as_array() else {
        errors.push(format!("{key} must be a list"));
        return None;
    };
    if items.len() > LIST_ITEMS_MAX {
        errors.push(format!(
            "{key} has {} members, at most {LIST_ITEMS_MAX}",
            items.len()
        ));
        return None;
    }
    Some(items)
}

fn check_epc_list(key: &str, v: &Value, errors: &mut Vec<String>) {
    let Some(items) = bounded_list(key, v, errors) else {
        return;
    };
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(epc) if lot_of(epc).is_some() => errors.push(format!(
                "{key}[{i}]: {epc:?} names a lot (a class): put it in a quantity list"
            )),
            Some(epc) => {
                if let Err(e) = canonical_id(epc) {
                    errors.push(format!("{key}[{i}]: {e}"));
                }
            }
            None => errors.push(format!("{key}[{i}] must be a string")),
        }
    }
}

fn check_quantity_list(key: &str, v: &Value, errors: &mut Vec<String>) {
    let Some(items) = bounded_list(key, v, errors) else {
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let Some(q) = item.as_object() else {
            errors.push(format!("{key}[{i}] must be an object"));
            continue;
        };
        for k in q.keys() {
            if !matches!(k.as_str(), "epcClass" | "quantity" | "uom") {
                errors.push(format!("{key}[{i}]: unexpected field {k}"));
            }
        }
        match q.get("epcClass").and_then(Value::as_str) {
            Some(class) => {
                if let Err(e) = canonical_id(class) {
                    errors.push(format!("{key}[{i}].epcClass: {e}"));
                }
            }
            None => errors.push(format!("{key}[{i}] needs an epcClass")),
        }
        if let Some(n) = q.get("quantity")
            && n.as_f64().is_none_or(|x| x < 0.0)
        {
            errors.push(format!("{key}[{i}].quantity must be a number >= 0"));
        }
        if let Some(u) = q.get("uom") {
            let ok = u.as_str().is_some_and(|u| {
                (2..=3).contains(&u.len())
                    && u.bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            });
            if !ok {
                errors.push(format!(
                    "{key}[{i}].uom must be a UN/ECE Rec 20 code, e.g. KGM"
                ));
            }
            if !q.contains_key("quantity") {
                errors.push(format!("{key}[{i}]: a uom needs a quantity"));
            }
        }
    }
}

fn check_why(obj: &Map<String, Value>, errors: &mut Vec<String>) {
    for (key, vocab) in [("bizStep", BIZ_STEP), ("disposition", DISPOSITION)] {
        if let Some(v) = obj.get(key) {
            match v.as_str() {
                Some(text) => {
                    if let Err(e) = vocab.member(text) {
                        errors.push(e);
                    }
                }
                None => errors.push(format!("{key} must be a string")),
            }
        }
    }
    if let Some(p) = obj.get("persistentDisposition") {
        match p.as_object() {
            Some(m) => {
                for (k, v) in m {
                    let items = match (k.as_str(), v.as_array()) {
                        ("set" | "unset", Some(items)) => items,
                        _ => {
                            errors.push(format!(
                                "persistentDisposition.{k}: expected set or unset lists"
                            ));
                            continue;
                        }
                    };
                    for d in items {
                        match d.as_str().map(|d| DISPOSITION.member(d)) {
                            Some(Ok(_)) => {}
                            Some(Err(e)) => errors.push(format!("persistentDisposition.{k}: {e}")),
                            None => errors.push(format!("persistentDisposition.{k} holds strings")),
                        }
                    }
                }
            }
            None => errors.push("persistentDisposition must be an object".into()),
        }
    }
    for (list, member, vocab) in [
        ("bizTransactionList", "bizTransaction", BIZ_TRANSACTION_TYPE),
        ("sourceList", "source", SOURCE_DESTINATION_TYPE),
        ("destinationList", "destination", SOURCE_DESTINATION_TYPE),
    ] {
        let Some(v) = obj.get(list) else { continue };
        let Some(items) = bounded_list(list, v, errors) else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let Some(m) = item.as_object() else {
                errors.push(format!("{list}[{i}] must be an object"));
                continue;
            };
            for k in m.keys() {
                if k != "type" && k != member {
                    errors.push(format!("{list}[{i}]: unexpected field {k}"));
                }
            }
            match m.get(member).and_then(Value::as_str) {
                Some(s) if !s.trim().is_empty() => {}
                _ => errors.push(format!("{list}[{i}] needs a {member}")),
            }
            let type_ok = m.get("type").map(|t| t.as_str().map(|t| vocab.member(t)));
            match type_ok {
                None if member == "bizTransaction" => {}
                None => errors.push(format!("{list}[{i}] needs a type")),
                Some(Some(Ok(_))) => {}
                Some(Some(Err(e))) => errors.push(format!("{list}[{i}]: {e}")),
                Some(None) => errors.push(format!("{list}[{i}].type must be a string")),
            }
        }
    }
}

fn check_where(obj: &Map<String, Value>, errors: &mut Vec<String>) {
    for key in ["readPoint", "bizLocation"] {
        let Some(v) = obj.get(key) else { continue };
        let Some(m) = v.as_object() else {
            errors.push(format!("{key} must be an object with an id"));
            continue;
        };
        for k in m.keys() {
            if k != "id" {
                errors.push(format!(
                    "{key}.{k}: extensions inside {key} are not supported by this node"
                ));
            }
        }
        match m.get("id").and_then(Value::as_str) {
            Some(id) if location_of(id).is_some() => {}
            Some(id) => errors.push(format!(
                "{key}.id {id:?} is not a location (urn:epc:id:sgln:… or a Digital Link with AI 414)"
            )),
            None => errors.push(format!("{key} needs an id")),
        }
    }
}

/// AIs of GS1 keys a Digital Link may carry (CBV 2.0 §8.9 normalises them).
const GS1_KEY_SEGMENTS: &[&str] = &[
    "/01/", "/gtin/", "/8006/", "/8010/", "/414/", "/417/", "/8017/", "/8018/", "/255/", "/00/",
    "/253/", "/401/", "/402/", "/8003/", "/8004/",
];

/// Any value that is an EPC URN or a GS1 Digital Link must be one this node
/// can write canonically; otherwise its hash would differ from GS1's.
fn check_identifiers_anywhere(v: &Value, path: &str, errors: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            let urn = s.starts_with("urn:epc:");
            let link = (s.starts_with("https://") || s.starts_with("http://"))
                && GS1_KEY_SEGMENTS.iter().any(|seg| s.contains(seg));
            if (urn || link) && s.contains('.') && canonical_id(s).is_err() {
                errors.push(format!(
                    "{path}: identifier {s:?} uses a GS1 key or EPC scheme this node does not support"
                ));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_identifiers_anywhere(item, &format!("{path}[{i}]"), errors);
            }
        }
        Value::Object(m) => {
            for (k, item) in m {
                if k == "eventID" || k == "errorDeclaration" {
                    continue;
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                check_identifiers_anywhere(item, &p, errors);
            }
        }
        _ => {}
    }
}
