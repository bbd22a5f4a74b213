//! JSON views of contract records: names spelled out, hashes in hex, times in
//! ms since the Unix epoch.

use filiera_contract_api::certification::{Attestation, Change, Subject, Validity};
use filiera_contract_api::lots::{EventKind, LotEvent, LotRecord, LotStatus, ProductRecord};
use filiera_contract_api::registry::OrgRecord;
use serde_json::{Value, json};

/// The CBV-style name of an event kind.
pub fn event_kind(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Commission => "commissioning",
        EventKind::Transform => "transforming",
        EventKind::Split => "splitting",
        EventKind::Merge => "merging",
        EventKind::Ship => "shipping",
        EventKind::Receive => "receiving",
        EventKind::Store => "storing",
        EventKind::Inspect => "inspecting",
        EventKind::Hold => "holding",
        EventKind::Release => "releasing",
        EventKind::Sell => "retail_selling",
        EventKind::Destroy => "destroying",
        EventKind::Recall => "recalling",
        EventKind::RecallClosed => "recall_closed",
    }
}

/// A lot status's name.
pub fn lot_status(status: LotStatus) -> &'static str {
    match status {
        LotStatus::Active => "active",
        LotStatus::Held => "held",
        LotStatus::InTransit => "in_transit",
        LotStatus::Consumed => "consumed",
        LotStatus::Sold => "sold",
        LotStatus::Destroyed => "destroyed",
    }
}

/// A validity's name.
pub fn validity(v: Validity) -> &'static str {
    match v {
        Validity::Valid => "valid",
        Validity::NotYetValid => "not_yet_valid",
        Validity::Expired => "expired",
        Validity::Suspended => "suspended",
        Validity::Revoked => "revoked",
    }
}

/// An organisation (keys as hex).
pub fn org(o: &OrgRecord) -> Value {
    json!({
        "id": o.id,
        "name": o.name,
        "kind": o.kind,
        "vat_number": o.vat_number,
        "roles": o.roles.0,
        "status": format!("{:?}", o.status).to_lowercase(),
        "keys": o.keys.iter().map(hex::encode).collect::<Vec<_>>(),
    })
}

/// A product.
pub fn product(p: &ProductRecord) -> Value {
    json!({
        "gtin": p.gtin,
        "owner": p.owner,
        "name": p.name,
        "scheme": p.scheme,
        "uom": p.uom,
    })
}

/// A lot.
pub fn lot(l: &LotRecord) -> Value {
    json!({
        "gtin": l.id.gtin,
        "lot": l.id.lot,
        "owner": l.owner,
        "holder": l.holder,
        "destination": l.destination,
        "quantity": l.quantity,
        "initial_quantity": l.initial_quantity,
        "site": l.site,
        "status": lot_status(l.status),
        "recall": l.recall.as_ref().map(|r| json!({
            "origin": {"gtin": r.origin.gtin, "lot": r.origin.lot},
            "reason": r.reason,
            "time_ms": r.time_ms,
        })),
        "inputs": l.inputs.iter().map(|i| json!({"gtin": i.gtin, "lot": i.lot})).collect::<Vec<_>>(),
        "metadata": l.metadata.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
        "private_hash": l.private_hash.map(hex::encode),
        "events": l.events,
        "created_ms": l.created_ms,
    })
}

/// One event of a lot.
pub fn event(seq: usize, e: &LotEvent) -> Value {
    json!({
        "seq": seq,
        "kind": event_kind(e.kind),
        "epcis_hash": e.epcis_hash.map(hex::encode),
        "by": e.by,
        "height": e.height,
        "time_ms": e.time_ms,
        "quantity_delta": e.quantity_delta,
        "site": e.site,
        "corrects": e.corrects,
        "note": e.note,
    })
}

/// An attestation with its validity at `time_ms`.
pub fn attestation(a: &Attestation, time_ms: u64) -> Value {
    let subject = match &a.subject {
        Subject::Lot(l) => json!({"lot": {"gtin": l.gtin, "lot": l.lot}}),
        Subject::Product(g) => json!({"product": g}),
        Subject::Org(o) => json!({"org": o}),
    };
    json!({
        "id": a.id,
        "body": a.body,
        "subject": subject,
        "scheme": a.scheme,
        "protected_name": a.protected_name,
        "evidence_hash": hex::encode(a.evidence_hash),
        "valid_from_ms": a.valid_from_ms,
        "valid_until_ms": a.valid_until_ms,
        "issued_ms": a.issued_ms,
        "validity": validity(a.validity_at(time_ms)),
        "history": a.history.iter().map(|c| json!({
            "change": match c.change { Change::Suspend => "suspend", Change::Reinstate => "reinstate", Change::Revoke => "revoke" },
            "time_ms": c.time_ms,
            "reason": c.reason,
        })).collect::<Vec<_>>(),
    })
}
