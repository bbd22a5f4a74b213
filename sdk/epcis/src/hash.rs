//! The CBV 2.0 event hash (CBV 2.0 §8.9): every field of the event written
//! as `name=value` in a fixed order, the members of each list sorted, values
//! in canonical form (identifiers as constrained Digital Links, CBV values as
//! web URIs, times in UTC at millisecond precision, numbers without padding),
//! the fields outside the standard order appended sorted; then SHA-256.
//!
//! `eventID`, `recordTime`, `errorDeclaration` and `type` (written first as
//! `eventType=`) are not hashed, so capturing an event again, or declaring it
//! wrong later, keeps its identity.

use crate::EventHash;
use crate::ids::canonical_id;
use crate::vocab::{
    BIZ_STEP, BIZ_TRANSACTION_TYPE, DISPOSITION, SOURCE_DESTINATION_TYPE, Vocabulary,
};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Namespace prefixes a document's `@context` declares (`prefix` to URI).
pub type Namespaces = BTreeMap<String, String>;

/// How a field of the standard order is written.
#[derive(Clone, Copy)]
enum Shape {
    /// `name=value` (a list gives one per member, sorted).
    Value,
    /// `name=value` with the value in UTC, milliseconds.
    Time,
    /// `name=value` with the value a CBV word.
    Word(Vocabulary),
    /// `name` then `epc=…` per member, sorted.
    Epcs,
    /// `name` then `quantityElement` `epcClass=…quantity=…uom=…` per member, sorted.
    Quantities,
    /// `name` then `set=…` and `unset=…`, each sorted.
    Persistent,
    /// `name` then `id=…`.
    Place,
}

/// The standard order of CBV 2.0 §8.9 (sensor data excluded: see the crate doc).
const ORDER: &[(&str, Shape)] = &[
    ("eventTime", Shape::Time),
    ("eventTimeZoneOffset", Shape::Value),
    ("certificationInfo", Shape::Value),
    ("parentID", Shape::Value),
    ("epcList", Shape::Epcs),
    ("inputEPCList", Shape::Epcs),
    ("childEPCs", Shape::Epcs),
    ("quantityList", Shape::Quantities),
    ("childQuantityList", Shape::Quantities),
    ("inputQuantityList", Shape::Quantities),
    ("outputEPCList", Shape::Epcs),
    ("outputQuantityList", Shape::Quantities),
    ("action", Shape::Value),
    ("transformationID", Shape::Value),
    ("bizStep", Shape::Word(BIZ_STEP)),
    ("disposition", Shape::Word(DISPOSITION)),
    ("persistentDisposition", Shape::Persistent),
    ("readPoint", Shape::Place),
    ("bizLocation", Shape::Place),
];

/// Fields never hashed.
/// `@context` is not event data: a stored event carries its document's
/// namespace prefixes there (see `parse_document`).
const NOT_HASHED: &[&str] = &[
    "type",
    "eventID",
    "recordTime",
    "errorDeclaration",
    "@context",
];

/// Lists whose members are (type, value) pairs, written type first.
const PAIR_LISTS: &[(&str, &str, Vocabulary)] = &[
    ("bizTransactionList", "bizTransaction", BIZ_TRANSACTION_TYPE),
    ("sourceList", "source", SOURCE_DESTINATION_TYPE),
    ("destinationList", "destination", SOURCE_DESTINATION_TYPE),
];

/// The CBV 2.0 hash of a validated event.
pub fn event_hash(event: &Value, namespaces: &Namespaces) -> Result<EventHash, String> {
    let pre = pre_hash_string(event, namespaces)?;
    Ok(EventHash(Sha256::digest(pre.as_bytes()).into()))
}

/// The canonical pre-hash string of an event (what [`event_hash`] hashes).
pub fn pre_hash_string(event: &Value, namespaces: &Namespaces) -> Result<String, String> {
    let obj = event.as_object().ok_or("an event must be a JSON object")?;
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or("an event needs a \"type\"")?;
    let mut out = format!("eventType={kind}");
    for (name, shape) in ORDER {
        if let Some(v) = obj.get(*name) {
            out.push_str(&ordered(name, *shape, v)?);
        }
    }
    let mut rest = Vec::new();
    for (key, value) in obj {
        if NOT_HASHED.contains(&key.as_str()) || ORDER.iter().any(|(n, _)| n == key) {
            continue;
        }
        if let Some((list, member, vocab)) = PAIR_LISTS.iter().find(|(l, _, _)| l == key) {
            if let Some(s) = pair_list(list, member, *vocab, value)? {
                rest.push(s);
            }
            continue;
        }
        for node in group_lists(to_nodes(key, value, namespaces)) {
            rest.push(node.pre_hash());
        }
    }
    rest.sort();
    out.push_str(&rest.concat());
    Ok(out)
}

fn ordered(name: &str, shape: Shape, v: &Value) -> Result<String, String> {
    let members: Vec<&Value> = match v {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let strings = |f: &dyn Fn(&Value) -> Result<String, String>| -> Result<String, String> {
        let mut parts = members
            .iter()
            .map(|m| f(m))
            .collect::<Result<Vec<_>, _>>()?;
        parts.retain(|p| !p.is_empty());
        parts.sort();
        Ok(parts.concat())
    };
    Ok(match shape {
        Shape::Value => strings(&|m| Ok(assign(name, &canonical_value(&scalar(m)?))))?,
        Shape::Time => strings(&|m| {
            let text = scalar(m)?;
            Ok(assign(name, &utc_millis(text.trim())?))
        })?,
        Shape::Word(vocab) => strings(&|m| {
            let text = scalar(m)?;
            Ok(assign(
                name,
                &canonical_value(&vocab.canonical(text.trim())),
            ))
        })?,
        Shape::Epcs => wrap(
            name,
            strings(&|m| Ok(assign("epc", &canonical_value(&scalar(m)?))))?,
        ),
        Shape::Quantities => wrap(name, strings(&quantity_element)?),
        Shape::Persistent => {
            let obj = v
                .as_object()
                .ok_or("persistentDisposition must be an object")?;
            let mut inner = String::new();
            for part in ["set", "unset"] {
                if let Some(Value::Array(items)) = obj.get(part) {
                    let mut words = items
                        .iter()
                        .map(|w| Ok(assign(part, &DISPOSITION.canonical(scalar(w)?.trim()))))
                        .collect::<Result<Vec<_>, String>>()?;
                    words.sort();
                    inner.push_str(&words.concat());
                }
            }
            wrap(name, inner)
        }
        Shape::Place => {
            let id = v
                .get("id")
                .map(scalar)
                .transpose()?
                .ok_or_else(|| format!("{name} needs an \"id\""))?;
            wrap(name, assign("id", &canonical_value(&id)))
        }
    })
}

fn quantity_element(m: &Value) -> Result<String, String> {
    let obj = m
        .as_object()
        .ok_or("a quantity element must be an object")?;
    let mut s = String::new();
    for field in ["epcClass", "quantity", "uom"] {
        if let Some(v) = obj.get(field) {
            s.push_str(&assign(field, &canonical_value(&scalar(v)?)));
        }
    }
    Ok(wrap("quantityElement", s))
}

/// `name=value`, or nothing for an empty value.
fn assign(name: &str, value: &str) -> String {
    if value.is_empty() {
        String::new()
    } else {
        format!("{name}={value}")
    }
}

/// `name` followed by its children, or nothing if it has none.
fn wrap(name: &str, inner: String) -> String {
    if inner.is_empty() {
        inner
    } else {
        format!("{name}{inner}")
    }
}

fn pair_list(
    list: &str,
    member: &str,
    vocab: Vocabulary,
    value: &Value,
) -> Result<Option<String>, String> {
    let items = value
        .as_array()
        .ok_or_else(|| format!("{list} must be a list"))?;
    let mut parts = Vec::with_capacity(items.len());
    for item in items {
        let obj = item
            .as_object()
            .ok_or_else(|| format!("a member of {list} must be an object"))?;
        let mut s = String::new();
        if let Some(t) = obj.get("type") {
            s.push_str(&assign(
                "type",
                &canonical_value(&vocab.canonical(scalar(t)?.trim())),
            ));
        }
        if let Some(v) = obj.get(member) {
            s.push_str(&assign(member, &canonical_value(&scalar(v)?)));
        }
        parts.push(s);
    }
    if parts.is_empty() {
        return Ok(None);
    }
    parts.sort();
    Ok(Some(format!("{list}{}", parts.concat())))
}

/// A scalar as text, the way GS1's reference implementation reads JSON.
fn scalar(v: &Value) -> Result<String, String> {
    Ok(match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        _ => return Err(format!("expected a single value, found {v}")),
    })
}

/// A value in canonical form: CBV URNs as web URIs, numbers without
/// padding, identifiers as constrained Digital Links.
fn canonical_value(text: &str) -> String {
    let text = text
        .replace(
            "urn:epcglobal:cbv:bizstep:",
            "https://ref.gs1.org/cbv/BizStep-",
        )
        .replace("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-")
        .replace("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-")
        .replace("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-")
        .replace("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-");
    let text = canonical_number(&text).unwrap_or(text);
    if !text.contains('.') {
        return text;
    }
    canonical_id(&text).unwrap_or(text)
}

/// A decimal number without sign, padding or trailing zeros, if `text` is one.
fn canonical_number(text: &str) -> Option<String> {
    let t = text.trim();
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let digits_ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            (a.is_empty() || digits_ok(a))
                && (b.is_empty() || digits_ok(b))
                && a.len() + b.len() > 0
        }
        None => digits_ok(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits_ok(e.strip_prefix(['+', '-']).unwrap_or(e)));
    if !mantissa_ok || !exponent_ok {
        return None;
    }
    // Whole numbers as stored events carry them (the only numbers the chain
    // hashes: see `facts`) never go through a float.
    if t.len() <= 15 && digits_ok(t) {
        let trimmed = t.trim_start_matches('0');
        return Some(if trimmed.is_empty() { "0" } else { trimmed }.to_owned());
    }
    let value: f64 = t.parse().ok()?;
    if !value.is_finite() {
        return None;
    }
    if value.fract() == 0.0 {
        // Integral: written in full, as Python's int(float(text)) does.
        let s = format!("{value:.0}");
        return Some(if s == "-0" { "0".into() } else { s });
    }
    let abs = value.abs();
    if abs >= 1e-4 {
        return Some(format!("{value}"));
    }
    // Python writes small numbers with an exponent of at least two digits.
    let sci = format!("{value:e}");
    let (m, e) = sci.split_once('e')?;
    let (sign, digits) = match e.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("+", e),
    };
    Some(format!("{m}e{sign}{digits:0>2}"))
}

/// An RFC 3339 time in UTC at millisecond precision, e.g. `2026-03-01T08:00:00.000Z`.
fn utc_millis(text: &str) -> Result<String, String> {
    let t = OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| format!("time {text:?} is not an RFC 3339 date-time with offset: {e}"))?
        .checked_to_offset(time::UtcOffset::UTC)
        .ok_or_else(|| format!("time {text:?} is out of range in UTC"))?;
    let micros = t.microsecond();
    // Rounded half to even at the millisecond, as the reference does.
    let (q, r) = (micros / 1000, micros % 1000);
    let ms = if r > 500 || (r == 500 && q % 2 == 1) {
        q + 1
    } else {
        q
    };
    let t = if ms == 1000 {
        t.replace_millisecond(0)
            .map_err(|e| e.to_string())?
            .checked_add(time::Duration::SECOND)
            .ok_or_else(|| format!("time {text:?} is out of range"))?
    } else {
        t.replace_millisecond(ms as u16)
            .map_err(|e| e.to_string())?
    };
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    ))
}

/// A field outside the standard order, as a tree of named values.
struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn pre_hash(&self) -> String {
        let mut s = self.name.clone();
        let text = self.text.trim();
        if !text.is_empty() {
            s.push('=');
            s.push_str(&canonical_value(text));
        }
        s.push_str(&generic(&self.children));
        s
    }
}

fn generic(children: &[Node]) -> String {
    let mut parts: Vec<String> = children.iter().map(Node::pre_hash).collect();
    let keep_order = children
        .iter()
        .any(|c| matches!(c.name.as_str(), "bizTransaction" | "source" | "destination"));
    if parts.len() > 1 && !keep_order {
        parts.sort();
    }
    parts.concat()
}

fn expand(name: &str, namespaces: &Namespaces, is_value: bool) -> String {
    if let Some((prefix, local)) = name.split_once(':')
        && let Some(uri) = namespaces.get(prefix)
    {
        return if is_value {
            format!("{uri}{local}")
        } else {
            format!("{{{uri}}}{local}")
        };
    }
    name.to_owned()
}

/// A JSON member as the nodes it makes: one per member of a list.
fn to_nodes(key: &str, value: &Value, ns: &Namespaces) -> Vec<Node> {
    match value {
        Value::Array(items) => items.iter().map(|v| to_node(key, v, ns)).collect(),
        other => vec![to_node(key, other, ns)],
    }
}

fn to_node(key: &str, value: &Value, ns: &Namespaces) -> Node {
    let name = expand(key, ns, false);
    match value {
        Value::Object(members) => Node {
            name,
            text: String::new(),
            children: group_lists(object_nodes(members, ns)),
        },
        Value::String(s) => Node {
            name,
            text: expand(s, ns, true),
            children: Vec::new(),
        },
        other => Node {
            name,
            text: scalar(other).unwrap_or_default(),
            children: Vec::new(),
        },
    }
}

fn object_nodes(members: &Map<String, Value>, ns: &Namespaces) -> Vec<Node> {
    members
        .iter()
        .flat_map(|(k, v)| to_nodes(k, v, ns))
        .collect()
}

/// Members named `…List` gathered under one node of that name, each renamed
/// to the singular, as the XML form of EPCIS nests them.
fn group_lists(nodes: Vec<Node>) -> Vec<Node> {
    let mut plain = Vec::new();
    let mut lists: BTreeMap<String, Vec<Node>> = BTreeMap::new();
    for n in nodes {
        match n.name.strip_suffix("List") {
            Some(singular) => {
                let singular = singular.to_owned();
                lists.entry(n.name.clone()).or_default().push(Node {
                    name: singular,
                    text: n.text,
                    children: n.children,
                });
            }
            None => plain.push(n),
        }
    }
    plain.extend(lists.into_iter().map(|(name, children)| Node {
        name,
        text: String::new(),
        children,
    }));
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_the_reference_writes_them() {
        assert_eq!(canonical_number("10").as_deref(), Some("10"));
        assert_eq!(canonical_number("10.0").as_deref(), Some("10"));
        assert_eq!(canonical_number("+007").as_deref(), Some("7"));
        assert_eq!(canonical_number("2.50").as_deref(), Some("2.5"));
        assert_eq!(canonical_number("0.00001").as_deref(), Some("1e-05"));
        assert_eq!(canonical_number("1e3").as_deref(), Some("1000"));
        assert_eq!(canonical_number("ABC-12"), None);
        assert_eq!(canonical_number("12-34"), None);
        assert_eq!(canonical_number("."), None);
    }

    #[test]
    fn times_are_utc_milliseconds() {
        assert_eq!(
            utc_millis("2026-03-01T09:30:00.1234+01:00").as_deref(),
            Ok("2026-03-01T08:30:00.123Z")
        );
        assert_eq!(
            utc_millis("2026-03-01T08:30:00Z").as_deref(),
            Ok("2026-03-01T08:30:00.000Z")
        );
        assert!(utc_millis("2026-03-01 08:30").is_err());
    }
}
