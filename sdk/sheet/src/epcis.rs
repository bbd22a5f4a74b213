//! The organisation's lots and events as an EPCIS 2.0 document (JSON-LD),
//! for software that reads GS1's standard rather than spreadsheets.
//!
//! One `ObjectEvent` per event of a lot, on the lot's class (`epcClass`, a
//! GS1 Digital Link of GTIN and lot) with the quantity it changed by; the
//! action is `ADD` for commissioning, `DELETE` for destruction, `OBSERVE`
//! otherwise; the business step is the CBV word where CBV 2.0 has one and a
//! `urn:filiera:bizstep:` name where it does not (releasing, splitting,
//! recalls). Each `eventID` is the event's CBV 2.0 hash, computed by the
//! same code the node uses for captured documents.
//!
//! A lot made from others (a transformation, a split, a merge) is one
//! `TransformationEvent` instead: its inputs with what was drawn from each
//! (where the input is among the exported lots; another organisation's
//! input is named without a quantity), its outputs with what was made. The
//! events that recorded both sides on the lots are not repeated as
//! `ObjectEvent`s. Outputs of one block, one kind and the same inputs are
//! one transformation; a lot drawn by two transformations of one block is
//! named in both without a quantity (its events do not say which draw went
//! where). Events are in time order.

use crate::SheetError;
use crate::export::{ExportEvent, ExportInput, ExportLot, iso_time};
use filiera_epcis::{BIZ_STEPS, event_hash, namespaces};
use filiera_types::gs1::{DigitalLink, Gtin, Lot};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

const CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// The kinds of event that make lots out of others.
const MAKING: [&str; 3] = ["transforming", "splitting", "merging"];

/// The GS1 Digital Link of a lot's class, its lot percent-encoded (a lot
/// number may hold `/`, `%`, `?`...), as the node writes it.
fn class_of(gtin: &str, lot: &str) -> Result<String, SheetError> {
    match (Gtin::parse(gtin), Lot::parse(lot)) {
        (Ok(gtin), Ok(number)) => {
            Ok(DigitalLink::for_lot("https://id.gs1.org", gtin, number).to_uri())
        }
        _ => Err(SheetError::Write(format!(
            "lot {gtin}/{lot} is not a GS1 lot"
        ))),
    }
}

fn biz_step(kind: &str) -> String {
    if BIZ_STEPS.contains(&kind) {
        kind.to_owned()
    } else {
        format!("urn:filiera:bizstep:{kind}")
    }
}

/// One transformation: its block, its kind and its inputs.
type MakingKey = (u64, String, Vec<ExportInput>);

/// What a transformation made: the output's class and the event that
/// recorded it (with the quantity).
struct Made<'a> {
    class: String,
    event: &'a ExportEvent,
}

/// Each transformation and what it made.
type Makings<'a> = BTreeMap<MakingKey, Vec<Made<'a>>>;

/// The transformations among `lots`, and the events (lot index, seq) they
/// stand for.
fn makings(lots: &[ExportLot]) -> Result<(Makings<'_>, BTreeSet<(usize, u64)>), SheetError> {
    let mut made: Makings<'_> = BTreeMap::new();
    let mut covered = BTreeSet::new();
    for (at, lot) in lots.iter().enumerate() {
        if lot.inputs.is_empty() {
            continue;
        }
        let mut inputs = lot.inputs.clone();
        inputs.sort();
        for e in &lot.history {
            if MAKING.contains(&e.kind.as_str()) && e.quantity_delta > 0 {
                made.entry((e.height, e.kind.clone(), inputs.clone()))
                    .or_default()
                    .push(Made {
                        class: class_of(&lot.gtin, &lot.lot)?,
                        event: e,
                    });
                covered.insert((at, e.seq));
            }
        }
    }
    // The inputs' side: what each exported input gave at that block.
    for (height, kind, inputs) in made.keys() {
        for input in inputs {
            for (at, lot) in lots.iter().enumerate() {
                if lot.gtin != input.gtin || lot.lot != input.lot {
                    continue;
                }
                for e in &lot.history {
                    if e.height == *height && e.kind == *kind && e.quantity_delta < 0 {
                        covered.insert((at, e.seq));
                    }
                }
            }
        }
    }
    Ok((made, covered))
}

/// The `TransformationEvent` of one transformation.
fn transformation(
    lots: &[ExportLot],
    makings: &Makings<'_>,
    (height, kind, inputs): &MakingKey,
    outputs: &[Made<'_>],
) -> Result<Value, SheetError> {
    let mut input_list = Vec::new();
    for input in inputs {
        let mut entry = json!({"epcClass": class_of(&input.gtin, &input.lot)?});
        // A lot drawn by two transformations of one block: the lot's events
        // do not say which draw went where, so neither claims a quantity.
        let shared = makings
            .keys()
            .filter(|(h, k, ins)| h == height && k == kind && ins.contains(input))
            .count()
            > 1;
        let drawn: u64 = lots
            .iter()
            .filter(|l| l.gtin == input.gtin && l.lot == input.lot)
            .flat_map(|l| &l.history)
            .filter(|e| e.height == *height && e.kind == *kind && e.quantity_delta < 0)
            .map(|e| e.quantity_delta.unsigned_abs())
            .sum();
        if drawn > 0 && !shared {
            entry["quantity"] = json!(drawn);
        }
        input_list.push(entry);
    }
    let output_list: Vec<Value> = outputs
        .iter()
        .map(|m| json!({"epcClass": m.class, "quantity": m.event.quantity_delta.unsigned_abs()}))
        .collect();
    let first = outputs
        .first()
        .ok_or_else(|| SheetError::Write("a transformation without outputs".into()))?
        .event;
    let mut event = json!({
        "type": "TransformationEvent",
        "eventTime": iso_time(first.time_ms),
        "eventTimeZoneOffset": "+00:00",
        "inputQuantityList": input_list,
        "outputQuantityList": output_list,
        "bizStep": biz_step(kind),
    });
    if let Some(site) = &first.site {
        event["bizLocation"] = json!({"id": format!("https://id.gs1.org/414/{site}")});
    }
    Ok(event)
}

/// The EPCIS 2.0 document of `lots`' events, created at `now_ms`.
pub fn document(lots: &[ExportLot], now_ms: u64) -> Result<Value, SheetError> {
    let context = json!([CONTEXT]);
    let ns = namespaces(&context);
    let mut events = Vec::new();
    let (made, covered) = makings(lots)?;
    for (at, lot) in lots.iter().enumerate() {
        let class = class_of(&lot.gtin, &lot.lot)?;
        for e in &lot.history {
            if covered.contains(&(at, e.seq)) {
                continue;
            }
            let action = match e.kind.as_str() {
                "commissioning" => "ADD",
                "destroying" => "DELETE",
                _ => "OBSERVE",
            };
            let mut quantity = json!({"epcClass": class});
            if e.quantity_delta != 0 {
                quantity["quantity"] = json!(e.quantity_delta.unsigned_abs());
            }
            let mut event = json!({
                "type": "ObjectEvent",
                "eventTime": iso_time(e.time_ms),
                "eventTimeZoneOffset": "+00:00",
                "action": action,
                "bizStep": biz_step(&e.kind),
                "epcList": [],
                "quantityList": [quantity],
            });
            if let Some(site) = &e.site {
                event["bizLocation"] = json!({"id": format!("https://id.gs1.org/414/{site}")});
            }
            events.push((e.time_ms, event));
        }
    }
    for (key, outputs) in &made {
        let time_ms = outputs.first().map_or(0, |m| m.event.time_ms);
        events.push((time_ms, transformation(lots, &made, key, outputs)?));
    }
    // In the order they happened (a lot's later events after the
    // transformation that made it); the same time keeps the order above.
    events.sort_by_key(|(time_ms, _)| *time_ms);
    let mut events: Vec<Value> = events.into_iter().map(|(_, event)| event).collect();
    for event in &mut events {
        let hash = event_hash(event, &ns).map_err(SheetError::Write)?;
        event["eventID"] = json!(hash.to_ni());
    }
    Ok(json!({
        "@context": context,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": iso_time(now_ms),
        "epcisBody": {"eventList": events},
    }))
}
