//! The organisation's lots and events as an EPCIS 2.0 document (JSON-LD),
//! for software that reads GS1's standard rather than spreadsheets.
//!
//! One `ObjectEvent` per event of a lot, on the lot's class (`epcClass`, a
//! GS1 Digital Link of GTIN and lot) with the quantity it changed by; the
//! action is `ADD` for commissioning, `DELETE` for destruction, `OBSERVE`
//! otherwise; the business step is the CBV word where CBV 2.0 has one and a
//! `urn:filiera:bizstep:` name where it does not (releasing, splitting,
//! recalls). Each `eventID` is the event's CBV 2.0 hash, computed by the
//! same code the node uses for captured documents. Splits and
//! transformations are exported as the lots' own events, not yet as
//! `TransformationEvent`s linking inputs to outputs.

use crate::SheetError;
use crate::export::{ExportLot, iso_time};
use filiera_epcis::{BIZ_STEPS, event_hash, namespaces};
use filiera_types::gs1::{DigitalLink, Gtin, Lot};
use serde_json::{Value, json};

const CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// The EPCIS 2.0 document of `lots`' events, created at `now_ms`.
pub fn document(lots: &[ExportLot], now_ms: u64) -> Result<Value, SheetError> {
    let context = json!([CONTEXT]);
    let ns = namespaces(&context);
    let mut events = Vec::new();
    for lot in lots {
        // The GS1 Digital Link of the class, its lot percent-encoded (a lot
        // number may hold `/`, `%`, `?`...), as the node writes it.
        let class = match (Gtin::parse(&lot.gtin), Lot::parse(&lot.lot)) {
            (Ok(gtin), Ok(number)) => {
                DigitalLink::for_lot("https://id.gs1.org", gtin, number).to_uri()
            }
            _ => {
                return Err(SheetError::Write(format!(
                    "lot {}/{} is not a GS1 lot",
                    lot.gtin, lot.lot
                )));
            }
        };
        for e in &lot.history {
            let action = match e.kind.as_str() {
                "commissioning" => "ADD",
                "destroying" => "DELETE",
                _ => "OBSERVE",
            };
            let biz_step = if BIZ_STEPS.contains(&e.kind.as_str()) {
                e.kind.clone()
            } else {
                format!("urn:filiera:bizstep:{}", e.kind)
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
                "bizStep": biz_step,
                "epcList": [],
                "quantityList": [quantity],
            });
            if let Some(site) = &e.site {
                event["bizLocation"] = json!({"id": format!("https://id.gs1.org/414/{site}")});
            }
            let hash = event_hash(&event, &ns).map_err(SheetError::Write)?;
            event["eventID"] = json!(hash.to_ni());
            events.push(event);
        }
    }
    Ok(json!({
        "@context": context,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": iso_time(now_ms),
        "epcisBody": {"eventList": events},
    }))
}
