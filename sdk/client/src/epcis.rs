//! EPCIS 2.0 documents as signed transactions, also offline: a producer's
//! device signs its events without a connection and submits them later.
//! Resubmitting an event is harmless: the chain anchors each CBV 2.0 event
//! hash once and refuses a second capture of it.

use crate::ClientError;
use filiera_epcis::{EventHash, capture_call, parse_document};
use filiera_types::{ChainId, SecretKey, SignedTransaction, Transaction};

/// Signs every event of a document as a `capture` transaction from
/// `first_nonce` on. A document with a bad event is refused whole (every bad
/// event listed). `org_of_site` names the organisation running a site (the
/// receiver of a shipment); offline, the caller supplies what it knows.
pub fn sign_document(
    document: &[u8],
    key: &SecretKey,
    chain: &ChainId,
    first_nonce: u64,
    expiry_height: u64,
    org_of_site: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(EventHash, SignedTransaction)>, ClientError> {
    let doc = parse_document(document).map_err(|e| match e {
        filiera_epcis::DocumentError::Events(bad) => ClientError::Epcis(
            bad.iter()
                .map(|b| format!("event {}: {}", b.index, b.reasons.join("; ")))
                .collect::<Vec<_>>()
                .join(" | "),
        ),
        other => ClientError::Epcis(other.to_string()),
    })?;
    let mut out = Vec::with_capacity(doc.events.len());
    let mut bad = Vec::new();
    for (index, (hash, event)) in doc.events.iter().enumerate() {
        match capture_call(hash, event, org_of_site) {
            Ok(call) => out.push((*hash, call)),
            Err(e) => bad.push(format!("event {index}: {e}")),
        }
    }
    if !bad.is_empty() {
        return Err(ClientError::Epcis(bad.join(" | ")));
    }
    out.into_iter()
        .enumerate()
        .map(|(i, (hash, call))| {
            let tx = Transaction {
                chain_id: chain.clone(),
                sender: key.public_key(),
                nonce: first_nonce + i as u64,
                expiry_height,
                call: crate::actions::capture(&call),
            }
            .sign(key)
            .map_err(|e| ClientError::Key {
                path: String::new(),
                reason: e.to_string(),
            })?;
            Ok((hash, tx))
        })
        .collect()
}
