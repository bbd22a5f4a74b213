//! Which lot action a validated EPCIS event is. Filiera records lots (GS1
//! lgtin classes) and their quantities, so an event acts on the chain when it
//! names lots in a quantity list: commissioning creates one, a transformation
//! consumes and produces them, and the business steps of the table below
//! record what happened to one. Other events are valid EPCIS but have no lot
//! action here; they are refused with that reason rather than stored
//! unanchored.

use crate::ids::{location_of, lot_of};
use crate::vocab::{BIZ_STEP, DISPOSITION};
use filiera_contract_api::lots::{
    Capture, CapturedAction, Commission, EPCIS_EVENT_BYTES_MAX, EventKind, LotAmount, LotRef,
    Record, Transform,
};
use serde_json::{Map, Value};

/// A lot action, before the node resolves sites to organisations. The same
/// type the lots contract compares a capture's action with (the host reads
/// it from the stored document), so the two can never describe an event
/// differently.
pub use filiera_contract_api::lots::EventPlan as Plan;

/// Why a valid event has no lot action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The event does not name lots the way Filiera records them.
    #[error("{0}")]
    Unsupported(String),
}

fn unsupported(reason: impl Into<String>) -> PlanError {
    PlanError::Unsupported(reason.into())
}

/// The lot action of a validated event.
pub fn plan(event: &Value) -> Result<Plan, PlanError> {
    let obj = event
        .as_object()
        .ok_or_else(|| unsupported("an event must be a JSON object"))?;
    let kind = obj.get("type").and_then(Value::as_str).unwrap_or_default();
    let site = place(obj, "bizLocation").or_else(|| place(obj, "readPoint"));
    if kind == "TransformationEvent" {
        let inputs = amounts(obj, "inputQuantityList")?;
        let outputs = amounts(obj, "outputQuantityList")?;
        if inputs.is_empty()
            || outputs.is_empty()
            || has(obj, "inputEPCList")
            || has(obj, "outputEPCList")
        {
            return Err(unsupported(
                "a transformation is recorded between lots: give inputQuantityList and outputQuantityList with lgtin classes",
            ));
        }
        return Ok(Plan::Transform {
            inputs,
            outputs,
            site,
        });
    }
    if kind != "ObjectEvent" {
        return Err(unsupported(format!(
            "{kind} has no lot action on this chain (ObjectEvent and TransformationEvent do)"
        )));
    }
    let step = obj
        .get("bizStep")
        .and_then(Value::as_str)
        .and_then(|s| BIZ_STEP.member(s).ok().flatten())
        .ok_or_else(|| unsupported("an ObjectEvent needs a CBV bizStep to become a lot action"))?;
    let mut lots = amounts(obj, "quantityList")?;
    if lots.len() != 1 || has(obj, "epcList") {
        return Err(unsupported(
            "an ObjectEvent acts on exactly one lot: one quantityList element with an lgtin class",
        ));
    }
    let LotAmount { id: lot, quantity } = lots.remove(0);
    let action = obj
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if matches!(step, "commissioning" | "creating_class_instance") {
        if action != "ADD" {
            return Err(unsupported(
                "commissioning a lot is an ObjectEvent with action ADD",
            ));
        }
        return Ok(Plan::Commission {
            lot,
            quantity,
            site,
        });
    }
    let disposition = obj
        .get("disposition")
        .and_then(Value::as_str)
        .and_then(|d| DISPOSITION.member(d).ok().flatten());
    let kind = match step {
        "shipping" | "departing" => EventKind::Ship,
        "receiving" | "arriving" | "accepting" => EventKind::Receive,
        "storing" | "stocking" => EventKind::Store,
        "inspecting" | "sampling" => EventKind::Inspect,
        "holding"
            if matches!(
                disposition,
                Some("active" | "available" | "sellable_accessible")
            ) =>
        {
            EventKind::Release
        }
        "holding" => EventKind::Hold,
        "retail_selling" => EventKind::Sell,
        "destroying" => EventKind::Destroy,
        other => {
            return Err(unsupported(format!(
                "bizStep {other} has no lot action on this chain"
            )));
        }
    };
    let destination = if kind == EventKind::Ship {
        Some(destination_location(obj)?)
    } else {
        None
    };
    Ok(Plan::Record {
        lot,
        kind,
        quantity,
        site,
        destination,
    })
}

fn has(obj: &Map<String, Value>, key: &str) -> bool {
    obj.get(key)
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
}

fn place(obj: &Map<String, Value>, key: &str) -> Option<String> {
    let id = obj.get(key)?.get("id")?.as_str()?;
    location_of(id).map(|g| g.as_str().to_owned())
}

/// The lots of a quantity list, with whole quantities.
fn amounts(obj: &Map<String, Value>, key: &str) -> Result<Vec<LotAmount>, PlanError> {
    let Some(items) = obj.get(key).and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let class = q.get("epcClass").and_then(Value::as_str).unwrap_or_default();
            let (gtin, lot) = lot_of(class).ok_or_else(|| {
                unsupported(format!(
                    "{key}[{i}].epcClass {class:?} is not a lot (urn:epc:class:lgtin:… or a Digital Link with AI 10)"
                ))
            })?;
            let quantity = match q.get("quantity") {
                None => 0,
                Some(n) => n.as_u64().ok_or_else(|| {
                    unsupported(format!(
                        "{key}[{i}].quantity must be a whole number in the product's unit"
                    ))
                })?,
            };
            Ok(LotAmount {
                id: LotRef {
                    gtin: gtin.as_str().to_owned(),
                    lot: lot.as_str().to_owned(),
                },
                quantity,
            })
        })
        .collect()
}

fn destination_location(obj: &Map<String, Value>) -> Result<String, PlanError> {
    obj.get("destinationList")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|d| {
            d.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with("location"))
        })
        .find_map(|d| d.get("destination").and_then(Value::as_str).and_then(location_of))
        .map(|g| g.as_str().to_owned())
        .ok_or_else(|| {
            unsupported(
                "shipping needs a destinationList entry of type location naming the receiver's site (sgln or AI 414)",
            )
        })
}

/// The lots contract call of a validated event ([`plan`]): the action with the event's
/// hash, and the event document (compact JSON) kept with it. `org_of_site`
/// names the organisation that runs a site (for shipping, the receiver).
pub fn capture_call(
    hash: &crate::EventHash,
    event: &Value,
    org_of_site: &dyn Fn(&str) -> Option<String>,
) -> Result<Capture, PlanError> {
    let epcis_hash = Some(hash.0);
    let action = match plan(event)? {
        Plan::Commission {
            lot,
            quantity,
            site,
        } => CapturedAction::Commission(Commission {
            id: lot,
            quantity,
            site,
            metadata: Vec::new(),
            private_hash: None,
            epcis_hash,
        }),
        Plan::Transform {
            inputs,
            outputs,
            site,
        } => CapturedAction::Transform(Transform {
            inputs,
            outputs,
            site,
            epcis_hash,
        }),
        Plan::Record {
            lot,
            kind,
            quantity,
            site,
            destination,
        } => {
            let to = match destination {
                Some(gln) => Some(org_of_site(&gln).ok_or_else(|| {
                    unsupported(format!(
                        "destination site {gln} is not a registered site of any organisation"
                    ))
                })?),
                None => None,
            };
            CapturedAction::Record(Record {
                id: lot,
                kind,
                to,
                quantity,
                site,
                corrects: None,
                note: String::new(),
                epcis_hash,
            })
        }
    };
    let event = crate::document::to_epcis_json(event);
    if event.len() > EPCIS_EVENT_BYTES_MAX {
        return Err(unsupported(format!(
            "event of {} bytes with its eventID, at most {EPCIS_EVENT_BYTES_MAX}",
            event.len()
        )));
    }
    Ok(Capture { event, action })
}

/// Rewrites CBV values spelled as EPCIS 1.x URNs or web URIs to the bare
/// words EPCIS 2.0 JSON uses. The hash does not change (it reads every
/// spelling alike); exported documents then validate against GS1's schema.
pub fn normalise_cbv(event: &mut Value) {
    use crate::vocab::{BIZ_TRANSACTION_TYPE, SOURCE_DESTINATION_TYPE, Vocabulary};
    fn word(v: &mut Value, vocab: Vocabulary) {
        if let Some(w) = v.as_str().and_then(|s| vocab.member(s).ok().flatten()) {
            *v = Value::String(w.to_owned());
        }
    }
    let Some(obj) = event.as_object_mut() else {
        return;
    };
    if let Some(v) = obj.get_mut("bizStep") {
        word(v, BIZ_STEP);
    }
    if let Some(v) = obj.get_mut("disposition") {
        word(v, DISPOSITION);
    }
    if let Some(Value::Object(p)) = obj.get_mut("persistentDisposition") {
        for list in p.values_mut() {
            if let Value::Array(items) = list {
                items.iter_mut().for_each(|d| word(d, DISPOSITION));
            }
        }
    }
    for (list, vocab) in [
        ("bizTransactionList", BIZ_TRANSACTION_TYPE),
        ("sourceList", SOURCE_DESTINATION_TYPE),
        ("destinationList", SOURCE_DESTINATION_TYPE),
    ] {
        if let Some(Value::Array(items)) = obj.get_mut(list) {
            for item in items {
                if let Some(t) = item.get_mut("type") {
                    word(t, vocab);
                }
            }
        }
    }
}
