//! EPCIS 2.0 documents: the capture input (an `EPCISDocument`) and the query
//! output (an `EPCISQueryDocument`).

use crate::hash::Namespaces;
use crate::validate::validate_event;
use crate::{DOCUMENT_BYTES_MAX, DOCUMENT_EVENTS_MAX, EVENT_BYTES_MAX, EventHash};
use serde_json::{Value, json};

/// The JSON-LD context of EPCIS 2.0.
pub const EPCIS_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// A validated document.
#[derive(Debug, Clone)]
pub struct Document {
    /// Its events in document order, each with `eventID` set to its hash
    /// and CBV values in the bare words of EPCIS 2.0 JSON.
    pub events: Vec<(EventHash, Value)>,
}

/// What is wrong with one event of a document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EventError {
    /// Position in `eventList`, from 0.
    pub index: usize,
    /// Every problem found.
    pub reasons: Vec<String>,
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// Over [`DOCUMENT_BYTES_MAX`].
    #[error("document of {0} bytes is over the limit of {DOCUMENT_BYTES_MAX}")]
    TooLarge(usize),
    /// Not JSON.
    #[error("document is not JSON: {0}")]
    Json(String),
    /// JSON but not an EPCIS 2.0 document.
    #[error("not an EPCIS 2.0 document: {0}")]
    Shape(String),
    /// Some events are invalid; nothing is taken.
    #[error("{} of the document's events are invalid", .0.len())]
    Events(Vec<EventError>),
}

/// Parses and validates a whole `EPCISDocument`. One bad event refuses it.
pub fn parse_document(bytes: &[u8]) -> Result<Document, DocumentError> {
    let (doc, bad) = parse_document_partly(bytes)?;
    if !bad.is_empty() {
        return Err(DocumentError::Events(bad));
    }
    Ok(doc)
}

/// Parses an `EPCISDocument` and validates each event on its own: the valid
/// events (with their positions lost: see [`Document`]) and every bad one.
/// For tools that may submit the valid events of a partly bad file when
/// their user asks; the document's own shape must still be right.
pub fn parse_document_partly(bytes: &[u8]) -> Result<(Document, Vec<EventError>), DocumentError> {
    if bytes.len() > DOCUMENT_BYTES_MAX {
        return Err(DocumentError::TooLarge(bytes.len()));
    }
    let doc: Value =
        serde_json::from_slice(bytes).map_err(|e| DocumentError::Json(e.to_string()))?;
    let shape = |m: &str| DocumentError::Shape(m.to_owned());
    if doc.get("type").and_then(Value::as_str) != Some("EPCISDocument") {
        return Err(shape("\"type\" must be \"EPCISDocument\""));
    }
    if doc.get("schemaVersion").and_then(Value::as_str) != Some("2.0") {
        return Err(shape("\"schemaVersion\" must be \"2.0\""));
    }
    if doc.get("creationDate").and_then(Value::as_str).is_none() {
        return Err(shape("\"creationDate\" is required"));
    }
    let namespaces = namespaces(
        doc.get("@context")
            .ok_or_else(|| shape("\"@context\" is required"))?,
    );
    let body = doc
        .get("epcisBody")
        .ok_or_else(|| shape("\"epcisBody\" is required"))?;
    let events: Vec<&Value> = match (body.get("eventList"), body.get("event")) {
        (Some(Value::Array(list)), None) => list.iter().collect(),
        (None, Some(one)) => vec![one],
        _ => return Err(shape("epcisBody needs an eventList (or a single event)")),
    };
    if events.is_empty() {
        return Err(shape("eventList is empty"));
    }
    if events.len() > DOCUMENT_EVENTS_MAX {
        return Err(shape(&format!(
            "{} events, at most {DOCUMENT_EVENTS_MAX} per document",
            events.len()
        )));
    }
    let mut ok = Vec::with_capacity(events.len());
    let mut bad = Vec::new();
    for (index, event) in events.into_iter().enumerate() {
        let size = serde_json::to_vec(event).map_or(usize::MAX, |b| b.len());
        if size > EVENT_BYTES_MAX {
            bad.push(EventError {
                index,
                reasons: vec![format!("event of {size} bytes, at most {EVENT_BYTES_MAX}")],
            });
            continue;
        }
        match validate_event(event, &namespaces) {
            Ok(hash) => {
                let mut e = event.clone();
                crate::plan::normalise_cbv(&mut e);
                if let Some(m) = e.as_object_mut() {
                    m.insert("eventID".into(), Value::String(hash.to_ni()));
                    // An event kept on its own (stored, re-hashed by the chain
                    // and by auditors) carries the prefixes its extensions use.
                    if !namespaces.is_empty() {
                        m.insert("@context".into(), json!([namespaces]));
                    }
                }
                ok.push((hash, e));
            }
            Err(mut reasons) => {
                dedup(&mut reasons);
                bad.push(EventError { index, reasons });
            }
        }
    }
    Ok((Document { events: ok }, bad))
}

fn dedup(reasons: &mut Vec<String>) {
    let mut seen = std::collections::BTreeSet::new();
    reasons.retain(|r| seen.insert(r.clone()));
}

/// Namespace prefixes declared by objects in `@context`.
pub fn namespaces(context: &Value) -> Namespaces {
    let mut ns = Namespaces::new();
    if let Value::Array(items) = context {
        for item in items {
            if let Value::Object(m) = item {
                for (k, v) in m {
                    if let Some(uri) = v.as_str() {
                        ns.insert(k.clone(), uri.to_owned());
                    }
                }
            }
        }
    }
    ns
}

/// An `EPCISQueryDocument` answering `query_name` with `events`.
pub fn query_document(query_name: &str, creation_date: &str, events: Vec<Value>) -> Value {
    json!({
        "@context": [EPCIS_CONTEXT],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": creation_date,
        "epcisBody": {
            "queryResults": {
                "queryName": query_name,
                "resultsBody": { "eventList": events }
            }
        }
    })
}

/// JSON text of an EPCIS value with `@context` then `type` first in every
/// object, the rest in key order. GS1's reference hash implementation reads
/// the members of a business transaction, source or destination in document
/// order and expects `type` first; documents this node writes (stored events,
/// query answers) therefore put it first, so anyone re-hashing them with it
/// gets the event IDs the node gives.
pub fn to_epcis_json(v: &Value) -> String {
    let mut out = String::new();
    write_value(v, &mut out);
    out
}

fn write_value(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            out.push('{');
            let first = ["@context", "type"];
            let keys = first
                .iter()
                .filter_map(|k| m.get_key_value(*k))
                .chain(m.iter().filter(|(k, _)| !first.contains(&k.as_str())));
            for (i, (k, item)) in keys.enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_value(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}
