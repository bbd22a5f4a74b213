//! The app's requests and answers, as JSON: what the browser asks this
//! crate (compiled to wasm32) and what it gets back.
//!
//! A request names its `op`:
//! - `prepare`: a transaction body for an `action` (below), its id and the
//!   message the sender's key signs;
//! - `assemble`: the body and the browser's signature, checked, as the
//!   signed transaction's bytes (hex) to post to `/v1/txs`;
//! - `inspect`: a stored signed transaction, re-verified and described
//!   (the offline queue checks each before it sends it);
//! - `enrol_proof`: the ticket key of an enrolment link signs the device's
//!   key (the ticket's seed stays in the page's memory for that moment).
//!
//! The answer is `{"ok":true,...}` or `{"ok":false,"error":"..."}`.

use crate::actions;
use filiera_contract_api::lots::{Commission, EventKind};
use filiera_contract_api::lots::{
    LotAmount, LotRef, Merge, Recall, Record, RegisterProduct, Split, Transform,
};
use filiera_contract_api::registry::{AddDevice, Enrol, SiteRecord, enrolment_message};
use filiera_types::crypto::{SignKind, signing_message};
use filiera_types::{ChainId, ContractCall, PublicKey, Signature, SignedTransaction, Transaction};
use serde::Deserialize;
use serde_json::{Value, json};

/// Why a request was not answered.
#[derive(Debug, thiserror::Error)]
pub enum TxError {
    /// The request is not JSON of a known shape.
    #[error("request: {0}")]
    Request(String),
    /// A field has a bad value.
    #[error("{field}: {reason}")]
    Field {
        /// Which field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The signature does not verify for the sender.
    #[error(
        "the signature does not verify: the transaction was altered after signing, or signed by another key"
    )]
    BadSignature,
}

fn field(field: &'static str, reason: impl ToString) -> TxError {
    TxError::Field {
        field,
        reason: reason.to_string(),
    }
}

/// A request of the app.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// A body to sign.
    Prepare {
        /// The chain (from `/v1/status`).
        chain_id: String,
        /// The sender's public key, hex.
        sender: String,
        /// The sender's next nonce.
        nonce: u64,
        /// The last height it may be included at.
        expiry_height: u64,
        /// What it does.
        action: Action,
    },
    /// A body and its signature, as the signed transaction.
    Assemble {
        /// The body, hex (from `prepare`).
        body: String,
        /// The signature, hex (64 bytes).
        signature: String,
    },
    /// A signed transaction, re-verified and described.
    Inspect {
        /// The signed transaction, hex.
        tx: String,
    },
    /// The enrolment proof of a ticket for a device key.
    EnrolProof {
        /// The chain.
        chain_id: String,
        /// The ticket's secret seed, hex (32 bytes, from the enrolment link).
        ticket_seed: String,
        /// The device's public key, hex.
        device: String,
    },
}

/// What a transaction does, in the app's words.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Enrol this device with a ticket (see `enrol_proof`).
    Enrol {
        /// The ticket's public key, hex.
        ticket_key: String,
        /// The ticket's signature, hex.
        proof: String,
        /// The device's pseudonymous label.
        label: String,
    },
    /// Add a device key of the organisation (an admin device).
    AddDevice {
        /// Its public key, hex (the new device's pairing code).
        key: String,
        /// Its label.
        label: String,
        /// Its rights (`registry::rights` bits).
        rights: u8,
        /// Last block time it may act at (ms); 0 or absent: no expiry.
        #[serde(default)]
        expires_ms: u64,
    },
    /// Revoke a device key of the organisation.
    RevokeDevice {
        /// Its public key, hex.
        key: String,
    },
    /// Register a site of the organisation.
    RegisterSite {
        /// Its GLN.
        gln: String,
        /// The organisation.
        org: String,
        /// Kind, e.g. `dairy`.
        site_kind: String,
        /// Name and place.
        name: String,
    },
    /// Register a product (GTIN) of the organisation.
    RegisterProduct {
        /// Its GTIN.
        gtin: String,
        /// Its name.
        name: String,
        /// Scheme code (`DOP`, `IGP`, `DOC`...).
        scheme: String,
        /// Unit of measure (`kg`, `l`, `pcs`).
        uom: String,
        /// Most output per input, per mille.
        max_yield_permille: u64,
    },
    /// A new lot.
    Commission {
        /// Its GTIN.
        gtin: String,
        /// Its lot number.
        lot: String,
        /// Its quantity.
        quantity: u64,
        /// Its site (GLN), if any.
        #[serde(default)]
        site: Option<String>,
        /// Public metadata.
        #[serde(default)]
        metadata: Vec<(String, String)>,
    },
    /// Something that happened to a lot.
    Record {
        /// Its GTIN.
        gtin: String,
        /// Its lot number.
        lot: String,
        /// What happened (`ship`, `receive`, `store`, `inspect`, `hold`,
        /// `release`, `sell`, `destroy`).
        event: String,
        /// The receiving organisation of a shipment.
        #[serde(default)]
        to: Option<String>,
        /// A quantity, if the event has one.
        #[serde(default)]
        quantity: u64,
        /// Where (GLN).
        #[serde(default)]
        site: Option<String>,
        /// A note.
        #[serde(default)]
        note: String,
    },
    /// A lot split into parts.
    Split {
        /// Its GTIN.
        gtin: String,
        /// The lot split.
        lot: String,
        /// The parts: lot numbers and quantities.
        parts: Vec<(String, u64)>,
    },
    /// Lots the organisation holds made into new lots of its own products
    /// (milk into cheese, grapes into wine): `[gtin, lot, quantity]` each.
    Transform {
        /// What is drawn from each input lot.
        inputs: Vec<(String, String, u64)>,
        /// The new lots and their quantities.
        outputs: Vec<(String, String, u64)>,
        /// Where (GLN).
        #[serde(default)]
        site: Option<String>,
    },
    /// Whole lots of one product merged into a new lot (their quantities
    /// summed).
    Merge {
        /// Their GTIN.
        gtin: String,
        /// The lots merged.
        lots: Vec<String>,
        /// The new lot's number.
        into: String,
    },
    /// A recall of a lot and every lot made from it.
    Recall {
        /// Its GTIN.
        gtin: String,
        /// Its lot number.
        lot: String,
        /// Why.
        reason: String,
    },
}

/// The event kinds a `record` may name, by the app's word.
pub fn record_kind(word: &str) -> Option<EventKind> {
    Some(match word {
        "ship" => EventKind::Ship,
        "receive" => EventKind::Receive,
        "store" => EventKind::Store,
        "inspect" => EventKind::Inspect,
        "hold" => EventKind::Hold,
        "release" => EventKind::Release,
        "sell" => EventKind::Sell,
        "destroy" => EventKind::Destroy,
        _ => return None,
    })
}

fn key_hex(name: &'static str, text: &str) -> Result<[u8; 32], TxError> {
    PublicKey::from_hex(text)
        .map(|k| k.0)
        .map_err(|e| field(name, e))
}

fn lot_ref(gtin: String, lot: String) -> LotRef {
    LotRef { gtin, lot }
}

/// The contract call of `action`.
pub fn call_of(action: Action) -> Result<ContractCall, TxError> {
    Ok(match action {
        Action::Enrol {
            ticket_key,
            proof,
            label,
        } => actions::enrol(&Enrol {
            ticket_key: key_hex("ticket_key", &ticket_key)?,
            proof: hex::decode(&proof).map_err(|e| field("proof", e))?,
            label,
        }),
        Action::AddDevice {
            key,
            label,
            rights,
            expires_ms,
        } => actions::add_device(&AddDevice {
            key: key_hex("key", &key)?,
            label,
            rights,
            expires_ms,
        }),
        Action::RevokeDevice { key } => actions::revoke_device(&key_hex("key", &key)?),
        Action::RegisterSite {
            gln,
            org,
            site_kind,
            name,
        } => actions::register_site(&SiteRecord {
            gln,
            org,
            kind: site_kind,
            name,
        }),
        Action::RegisterProduct {
            gtin,
            name,
            scheme,
            uom,
            max_yield_permille,
        } => actions::register_product(&RegisterProduct {
            gtin,
            name,
            scheme,
            uom,
            max_yield_permille,
        }),
        Action::Commission {
            gtin,
            lot,
            quantity,
            site,
            metadata,
        } => actions::commission(&Commission {
            id: lot_ref(gtin, lot),
            quantity,
            site,
            metadata,
            private_hash: None,
            epcis_hash: None,
        }),
        Action::Record {
            gtin,
            lot,
            event,
            to,
            quantity,
            site,
            note,
        } => actions::record(&Record {
            id: lot_ref(gtin, lot),
            kind: record_kind(&event).ok_or_else(|| {
                field("event", format!("{event:?} is not an event a record names"))
            })?,
            to,
            quantity,
            site,
            corrects: None,
            note,
            epcis_hash: None,
        }),
        Action::Split { gtin, lot, parts } => actions::split(&Split {
            from: lot_ref(gtin.clone(), lot),
            parts: parts
                .into_iter()
                .map(|(lot, quantity)| LotAmount {
                    id: lot_ref(gtin.clone(), lot),
                    quantity,
                })
                .collect(),
            epcis_hash: None,
        }),
        Action::Transform {
            inputs,
            outputs,
            site,
        } => {
            let amounts = |list: Vec<(String, String, u64)>| -> Vec<LotAmount> {
                list.into_iter()
                    .map(|(gtin, lot, quantity)| LotAmount {
                        id: lot_ref(gtin, lot),
                        quantity,
                    })
                    .collect()
            };
            actions::transform(&Transform {
                inputs: amounts(inputs),
                outputs: amounts(outputs),
                site,
                epcis_hash: None,
            })
        }
        Action::Merge { gtin, lots, into } => actions::merge(&Merge {
            from: lots
                .into_iter()
                .map(|lot| lot_ref(gtin.clone(), lot))
                .collect(),
            into: lot_ref(gtin, into),
            epcis_hash: None,
        }),
        Action::Recall { gtin, lot, reason } => actions::recall(&Recall {
            id: lot_ref(gtin, lot),
            reason,
        }),
    })
}

/// The body of a transaction, its id and the message its sender signs.
pub fn prepare(
    chain_id: &str,
    sender: &str,
    nonce: u64,
    expiry_height: u64,
    action: Action,
) -> Result<Value, TxError> {
    let chain_id = ChainId::new(chain_id).map_err(|e| field("chain_id", e))?;
    let tx = Transaction {
        chain_id,
        sender: PublicKey::from_hex(sender).map_err(|e| field("sender", e))?,
        nonce,
        expiry_height,
        call: call_of(action)?,
    };
    let body = filiera_types::encoding::encode(&tx);
    if body.len() > filiera_types::limits::TX_BYTES_MAX {
        return Err(field("action", "the transaction would be too large"));
    }
    let message = signing_message(tx.chain_id.as_str(), SignKind::Transaction, &body)
        .map_err(|e| field("chain_id", e))?;
    Ok(json!({
        "tx_id": tx.hash().to_hex(),
        "body": hex::encode(&body),
        "message": hex::encode(&message),
    }))
}

fn decode_body(body: &str) -> Result<Transaction, TxError> {
    let bytes = hex::decode(body).map_err(|e| field("body", e))?;
    filiera_types::encoding::decode(
        "transaction body",
        &bytes,
        filiera_types::limits::TX_BYTES_MAX,
    )
    .map_err(|e| field("body", e))
}

/// The signed transaction of `body` and `signature`, if the signature is
/// the sender's.
pub fn assemble(body: &str, signature: &str) -> Result<Value, TxError> {
    let tx = decode_body(body)?;
    let signature = Signature::from_hex(signature).map_err(|e| field("signature", e))?;
    let signed = SignedTransaction { tx, signature };
    signed.verify().map_err(|_| TxError::BadSignature)?;
    Ok(json!({
        "tx_id": signed.hash().to_hex(),
        "tx": hex::encode(signed.encode()),
    }))
}

/// A stored signed transaction, re-verified and described.
pub fn inspect(tx: &str) -> Result<Value, TxError> {
    let bytes = hex::decode(tx).map_err(|e| field("tx", e))?;
    let signed = SignedTransaction::decode(&bytes).map_err(|e| field("tx", e))?;
    signed.verify().map_err(|_| TxError::BadSignature)?;
    let t = &signed.tx;
    Ok(json!({
        "tx_id": signed.hash().to_hex(),
        "chain_id": t.chain_id.as_str(),
        "sender": t.sender.to_hex(),
        "nonce": t.nonce,
        "expiry_height": t.expiry_height,
        "contract": t.call.contract.as_str(),
        "method": t.call.method.as_str(),
    }))
}

/// The enrolment proof: the ticket key of `ticket_seed` signs `device`'s key.
pub fn enrol_proof(chain_id: &str, ticket_seed: &str, device: &str) -> Result<Value, TxError> {
    use ed25519_dalek::Signer;
    let seed: [u8; 32] = hex::decode(ticket_seed)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| field("ticket_seed", "expected 64 hex characters"))?;
    let ticket = ed25519_dalek::SigningKey::from_bytes(&seed);
    let device = key_hex("device", device)?;
    let proof = ticket.sign(&enrolment_message(chain_id, &device));
    Ok(json!({
        "ticket_key": hex::encode(ticket.verifying_key().to_bytes()),
        "proof": hex::encode(proof.to_bytes()),
    }))
}

/// An answer to the app.
pub type Answer = Vec<u8>;

/// Answers one JSON request (see the module's text).
pub fn handle(request: &[u8]) -> Answer {
    let answer = serde_json::from_slice::<Request>(request)
        .map_err(|e| TxError::Request(e.to_string()))
        .and_then(|r| match r {
            Request::Prepare {
                chain_id,
                sender,
                nonce,
                expiry_height,
                action,
            } => prepare(&chain_id, &sender, nonce, expiry_height, action),
            Request::Assemble { body, signature } => assemble(&body, &signature),
            Request::Inspect { tx } => inspect(&tx),
            Request::EnrolProof {
                chain_id,
                ticket_seed,
                device,
            } => enrol_proof(&chain_id, &ticket_seed, &device),
        });
    let value = match answer {
        Ok(Value::Object(mut fields)) => {
            fields.insert("ok".into(), Value::Bool(true));
            Value::Object(fields)
        }
        Ok(other) => json!({ "ok": true, "value": other }),
        Err(e) => json!({ "ok": false, "error": e.to_string() }),
    };
    value.to_string().into_bytes()
}
