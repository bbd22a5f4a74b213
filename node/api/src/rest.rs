//! REST JSON `/v1`: submission, status, blocks, receipts, nonces, and the
//! contract records (organisations, products, lots with their history,
//! attestations) with proofs on request.

use crate::error::ApiError;
use crate::{ApiState, Rejection, RejectionKind, reads, views};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use filiera_types::admission::Refusal;
use filiera_types::receipt::TxStatus;
use filiera_types::{Hash, PublicKey, SignedTransaction};
use serde_json::{Value, json};

type Answer = Result<Json<Value>, ApiError>;

/// `GET /health`: for load balancers.
#[utoipa::path(get, path = "/health", tag = "node", responses((status = 200, description = "The node is up; its height")))]
pub async fn health(State(s): State<ApiState>) -> Json<Value> {
    Json(json!({"status": "ok", "height": s.node.progress().height}))
}

/// `GET /v1/status`.
#[utoipa::path(get, path = "/v1/status", tag = "node", responses((status = 200, description = "Chain id, height, round, peers, mempool size, last block and state root")))]
pub async fn status(State(s): State<ApiState>) -> Answer {
    let p = s.node.progress();
    let head = s.store.header(p.height)?;
    let state_root = s.store.state_root(p.height).ok().map(|h| h.to_hex());
    Ok(Json(json!({
        "chain_id": s.chain_id,
        "moniker": s.moniker,
        "height": p.height,
        "round": p.round,
        "peers": p.peers,
        "mempool_txs": p.mempool_txs,
        "block_hash": head.as_ref().map(|h| h.hash().to_hex()),
        "block_time_ms": head.as_ref().map(|h| h.time_ms),
        "state_root": state_root,
    })))
}

/// The client of a write and the limiter that holds its allowance (put in
/// the request by the router's write layer).
#[derive(Clone)]
pub struct Writer {
    /// The client.
    pub client: crate::limiter::ClientKey,
    /// The limiter.
    pub limiter: std::sync::Arc<crate::limiter::EdgeLimiter>,
}

impl Writer {
    /// Takes `txs` transactions from the client's write allowance.
    pub fn charge(&self, txs: u32) -> Result<(), crate::limiter::Limited> {
        self.limiter.writes.take(self.client, txs)
    }
}

/// `POST /v1/txs`: a borsh-encoded signed transaction.
#[utoipa::path(post, path = "/v1/txs", tag = "transactions", request_body(content_type = "application/octet-stream", description = "A borsh-encoded signed transaction"), responses((status = 202, description = "Admitted; its hash"), (status = 400, description = "malformed_transaction"), (status = 403, description = "not_member (the sender is no key of a member organisation), not_active (its organisation is suspended or revoked)"), (status = 409, description = "duplicate"), (status = 422, description = "bad_signature, wrong_chain, expired, nonce_used, nonce_gap, too_large"), (status = 429, description = "rate_limited"), (status = 503, description = "busy or timeout, with Retry-After (seconds)")))]
pub async fn submit(
    State(s): State<ApiState>,
    writer: Option<Extension<Writer>>,
    body: Bytes,
) -> Response {
    if let Some(Err(limited)) = writer.map(|w| w.charge(1)) {
        return crate::too_many(limited, "transactions");
    }
    let tx = match SignedTransaction::decode(&body) {
        Ok(tx) => tx,
        Err(e) => {
            return ApiError::bad_request("malformed_transaction", e.to_string()).into_response();
        }
    };
    match s.node.submit(tx).await {
        Ok(hash) => (
            StatusCode::ACCEPTED,
            Json(json!({ "tx_hash": hash.to_hex() })),
        )
            .into_response(),
        Err(r) => {
            let status = match r.kind {
                _ if r.is_retry_later() => StatusCode::SERVICE_UNAVAILABLE,
                RejectionKind::Duplicate => StatusCode::CONFLICT,
                // Not a matter of the transaction's form: of who signed it.
                RejectionKind::Refused(Refusal::NotMember(_) | Refusal::NotActive(_)) => {
                    StatusCode::FORBIDDEN
                }
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            ApiError {
                status,
                code: r.code(),
                message: r.message,
            }
            .into_response()
        }
    }
}

/// Transactions in one `POST /v1/txs/batch`, at most.
pub const TX_SUBMIT_BATCH_MAX: usize = 1_000;
/// Body of one `POST /v1/txs/batch`, bytes at most.
pub const TX_SUBMIT_BATCH_BYTES_MAX: usize = 4 * 1024 * 1024;

/// `POST /v1/txs/batch`: borsh-encoded signed transactions (a `Vec`), each
/// admitted or refused on its own, in order; answers one result per transaction.
#[utoipa::path(post, path = "/v1/txs/batch", tag = "transactions", request_body(content_type = "application/octet-stream", description = "A borsh-encoded Vec of signed transactions, at most TX_SUBMIT_BATCH_MAX (1,000) and 4 MiB"), responses((status = 200, description = "results: per transaction, {tx_hash} or {code, message} (codes as for POST /v1/txs); accepted: how many were admitted; a Retry-After header (seconds) when any was refused busy or timeout"), (status = 400, description = "malformed_batch"), (status = 413, description = "too_large"), (status = 429, description = "rate_limited")))]
pub async fn submit_batch(
    State(s): State<ApiState>,
    writer: Option<Extension<Writer>>,
    body: Bytes,
) -> Response {
    // The count is the first four bytes (borsh): refuse before decoding anything.
    let count = body
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes);
    match count {
        None => {
            return ApiError::bad_request("malformed_batch", "no transaction count")
                .into_response();
        }
        Some(n) if n as usize > TX_SUBMIT_BATCH_MAX => {
            return ApiError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: "too_large",
                message: format!("{n} transactions; at most {TX_SUBMIT_BATCH_MAX} per batch"),
            }
            .into_response();
        }
        Some(n) => {
            // Counted in transactions, before any is decoded.
            if let Some(Err(limited)) = writer.map(|w| w.charge(n)) {
                return crate::too_many(limited, "transactions");
            }
        }
    }
    let txs: Vec<SignedTransaction> = match filiera_types::encoding::decode(
        "transaction batch",
        &body,
        TX_SUBMIT_BATCH_BYTES_MAX,
    ) {
        Ok(txs) => txs,
        Err(e) => {
            return ApiError::bad_request("malformed_batch", e.to_string()).into_response();
        }
    };
    if let Some(big) = txs
        .iter()
        .position(|tx| borsh::object_length(tx).unwrap_or(usize::MAX) > s.tx_bytes_max)
    {
        return ApiError::bad_request(
            "malformed_batch",
            format!("transaction {big} is over {} bytes", s.tx_bytes_max),
        )
        .into_response();
    }
    let results = s.node.submit_batch(txs).await;
    let accepted = results.iter().filter(|r| r.is_ok()).count();
    let busy = results
        .iter()
        .any(|r| r.as_ref().is_err_and(Rejection::is_retry_later));
    let results: Vec<Value> = results
        .into_iter()
        .map(|r| match r {
            Ok(hash) => json!({ "tx_hash": hash.to_hex() }),
            Err(r) => json!({ "code": r.code(), "message": r.message }),
        })
        .collect();
    let body = Json(json!({ "accepted": accepted, "results": results }));
    if busy {
        (StatusCode::OK, [crate::error::retry_after()], body).into_response()
    } else {
        (StatusCode::OK, body).into_response()
    }
}

/// `GET /v1/txs/{hash}`: committed transactions with their receipt.
#[utoipa::path(get, path = "/v1/txs/{hash}", tag = "transactions", params(("hash" = String, Path, description = "Transaction hash, 64 hex digits")), responses((status = 200, description = "status pending (in the mempool), committed (height, position, receipt) or failed (the contract's code and reason)"), (status = 400, description = "invalid_hash"), (status = 404, description = "not committed")))]
pub async fn tx(State(s): State<ApiState>, Path(hash): Path<String>) -> Answer {
    let hash = Hash::from_hex(&hash)
        .map_err(|_| ApiError::bad_request("invalid_hash", "not a 64-hex-digit hash"))?;
    let Some(location) = s.store.tx_location(&hash)? else {
        if s.node.is_pending(hash).await {
            return Ok(Json(json!({"tx_hash": hash.to_hex(), "status": "pending"})));
        }
        return Err(ApiError::not_found(
            "no committed or pending transaction with this hash",
        ));
    };
    let receipt = s
        .store
        .receipt(location)?
        .ok_or_else(|| ApiError::internal("receipt missing"))?;
    let (ok, code, message) = match &receipt.status {
        TxStatus::Success => (true, None, None),
        TxStatus::Failed { code, message } => (false, Some(*code), Some(message.clone())),
    };
    let events: Vec<Value> = receipt
        .events
        .iter()
        .map(|e| json!({"contract": e.contract.as_str(), "name": e.name, "data": hex::encode(&e.data)}))
        .collect();
    Ok(Json(json!({
        "tx_hash": hash.to_hex(),
        "status": if ok { "committed" } else { "failed" },
        "height": location.height,
        "index": location.index,
        "success": ok,
        "code": code,
        "message": message,
        "fuel_used": receipt.fuel_used,
        "events": events,
        "return_data": hex::encode(&receipt.return_data),
    })))
}

/// `GET /v1/blocks/{height}`.
#[utoipa::path(get, path = "/v1/blocks/{height}", tag = "chain", params(("height" = u64, Path, description = "Block height")), responses((status = 200, description = "Header fields, transaction hashes, commit round and signatures"), (status = 404, description = "no block at this height")))]
pub async fn block(State(s): State<ApiState>, Path(height): Path<u64>) -> Answer {
    let block = s
        .store
        .block(height)?
        .ok_or_else(|| ApiError::not_found("no block at this height"))?;
    let h = &block.header;
    let certificate = s.store.certificate(height)?;
    Ok(Json(json!({
        "hash": h.hash().to_hex(),
        "height": h.height,
        "time_ms": h.time_ms,
        "parent_hash": h.parent_hash.to_hex(),
        "txs_root": h.txs_root.to_hex(),
        "receipts_root": h.receipts_root.to_hex(),
        "state_root": h.state_root.to_hex(),
        "validator_set_hash": h.validator_set_hash.to_hex(),
        "next_validator_set_hash": h.next_validator_set_hash.to_hex(),
        "proposer": h.proposer.to_string(),
        "txs": block.txs.iter().map(|t| t.hash().to_hex()).collect::<Vec<_>>(),
        "commit_round": certificate.as_ref().map(|c| c.round),
        "commit_signatures": certificate.as_ref().map(|c| c.signatures().len()),
    })))
}

/// `GET /v1/accounts/{public_key}/nonce`.
#[utoipa::path(get, path = "/v1/accounts/{public_key}/nonce", tag = "transactions", params(("public_key" = String, Path, description = "ed25519 public key, 64 hex digits")), responses((status = 200, description = "The sender's next nonce"), (status = 400, description = "invalid_key")))]
pub async fn nonce(State(s): State<ApiState>, Path(public_key): Path<String>) -> Answer {
    let key = PublicKey::from_hex(&public_key).map_err(|_| {
        ApiError::bad_request("invalid_key", "not a 64-hex-digit ed25519 public key")
    })?;
    let nonce = reads::nonce(&s.store, &key)?;
    Ok(Json(
        json!({ "public_key": key.to_hex(), "next_nonce": nonce }),
    ))
}

fn gtin(text: &str) -> Result<String, ApiError> {
    Ok(crate::ids::gtin(text)?.as_str().to_owned())
}

fn lot_number(text: &str) -> Result<String, ApiError> {
    Ok(crate::ids::lot(text)?.as_str().to_owned())
}

/// `GET /v1/orgs/{id}`.
#[utoipa::path(get, path = "/v1/orgs/{id}", tag = "records", params(("id" = String, Path, description = "Organisation id")), responses((status = 200, description = "The organisation"), (status = 400, description = "invalid_identifier"), (status = 404, description = "not_found")))]
pub async fn org(State(s): State<ApiState>, Path(id): Path<String>) -> Answer {
    if !filiera_contract_api::code_is_valid(&id) {
        return Err(ApiError::bad_request(
            "invalid_identifier",
            "not an organisation id",
        ));
    }
    let org =
        reads::org(&s.store, &id)?.ok_or_else(|| ApiError::not_found("no such organisation"))?;
    let mut view = views::org(&org);
    let mut devices = Vec::with_capacity(org.keys.len());
    for key in &org.keys {
        devices.push(device_view(key, reads::device(&s.store, key)?.as_ref()));
    }
    view["devices"] = json!(devices);
    Ok(Json(view))
}

/// A key and what it may do: a device the organisation enrolled has its
/// grant; a key the authority gave has every right and no label.
fn device_view(
    key: &filiera_contract_api::KeyBytes,
    grant: Option<&filiera_contract_api::registry::DeviceGrant>,
) -> Value {
    use filiera_contract_api::registry::rights;
    match grant {
        Some(g) => json!({
            "key": hex::encode(key),
            "label": g.label,
            "rights": g.rights,
            "expires_ms": g.expires_ms,
            "added_by": hex::encode(g.added_by),
            "added_height": g.added_height,
        }),
        None => json!({
            "key": hex::encode(key),
            "label": null,
            "rights": rights::ALL,
            "expires_ms": 0,
        }),
    }
}

/// `GET /v1/keys/{public_key}`: the organisation a key signs for and, for a
/// device the organisation enrolled, its label, rights and expiry (a new
/// device polls it to learn that it was approved).
#[utoipa::path(get, path = "/v1/keys/{public_key}", tag = "records", params(("public_key" = String, Path, description = "ed25519 public key, hex")), responses((status = 200, description = "Its organisation (null if none) and device grant"), (status = 400, description = "invalid_key")))]
pub async fn key(State(s): State<ApiState>, Path(public_key): Path<String>) -> Answer {
    let key = filiera_types::PublicKey::from_hex(&public_key).map_err(|_| {
        ApiError::bad_request("invalid_key", "not a 64-hex-digit ed25519 public key")
    })?;
    let org = reads::key_owner(&s.store, &key.0)?;
    let device = match &org {
        Some(_) => Some(device_view(
            &key.0,
            reads::device(&s.store, &key.0)?.as_ref(),
        )),
        None => None,
    };
    Ok(Json(
        json!({ "public_key": key.to_hex(), "org": org, "device": device }),
    ))
}

/// Keys an organisation's lot listing reads, at most (records, events and links share the prefix).
pub const ORG_LOTS_SCAN_MAX: usize = 50_000;

/// `GET /v1/orgs/{id}/lots`: the lots an organisation made or holds.
#[utoipa::path(get, path = "/v1/orgs/{id}/lots", tag = "records", params(("id" = String, Path, description = "Organisation id")), responses((status = 200, description = "Its lots (GTIN, lot, status, quantity, owner, holder); truncated when over the scan bound"), (status = 400, description = "invalid_identifier"), (status = 404, description = "no such organisation")))]
pub async fn org_lots(State(s): State<ApiState>, Path(id): Path<String>) -> Answer {
    if !filiera_contract_api::code_is_valid(&id) {
        return Err(ApiError::bad_request(
            "invalid_identifier",
            "not an organisation id",
        ));
    }
    reads::org(&s.store, &id)?.ok_or_else(|| ApiError::not_found("no such organisation"))?;
    let store = s.store.clone();
    crate::blocking(&s, move || {
        let prefix = reads::full_key(filiera_contract_api::contract_ids::LOTS, b"pub/lot/");
        let entries = store.state_prefix(&prefix, None, ORG_LOTS_SCAN_MAX)?;
        let truncated = entries.len() == ORG_LOTS_SCAN_MAX;
        let mut lots = Vec::new();
        for (key, value) in entries {
            // A lot record's key ends right after its lot number; events and
            // links extend it.
            let rest = &key[prefix.len()..];
            let Some(len) = rest
                .get(14..16)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| usize::from_str_radix(h, 16).ok())
            else {
                continue;
            };
            if rest.len() != 16 + len {
                continue;
            }
            let Ok(record) =
                <filiera_contract_api::lots::LotRecord as borsh::BorshDeserialize>::try_from_slice(
                    &value,
                )
            else {
                continue;
            };
            if record.owner == id || record.holder == id {
                lots.push(json!({
                    "gtin": record.id.gtin,
                    "lot": record.id.lot,
                    "status": views::lot_status(record.status),
                    "quantity": record.quantity,
                    "owner": record.owner,
                    "holder": record.holder,
                }));
            }
        }
        Ok(Json(
            json!({"org": id, "lots": lots, "truncated": truncated}),
        ))
    })
    .await
}

/// Recorded offences listed by `GET /v1/evidence`, at most.
pub const EVIDENCE_LIST_MAX: usize = 1_000;

/// `GET /v1/evidence`: the equivocations the chain recorded, each with the
/// pair of signed messages that proves it (borsh, hex) for anyone to check
/// against the validator set of its height.
#[utoipa::path(get, path = "/v1/evidence", tag = "node", responses((status = 200, description = "Recorded offences (validator, height, round, step, reporter, the signed pair); truncated when over the bound")))]
pub async fn evidence(State(s): State<ApiState>) -> Answer {
    use filiera_types::evidence::{Equivocation, EvidenceRecord};
    let store = s.store.clone();
    crate::blocking(&s, move || {
        let entries =
            store.state_prefix(filiera_types::sys_keys::EVIDENCE, None, EVIDENCE_LIST_MAX)?;
        let truncated = entries.len() == EVIDENCE_LIST_MAX;
        let offences: Vec<Value> = entries
            .iter()
            .filter_map(|(_, v)| {
                filiera_types::encoding::decode::<EvidenceRecord>("evidence", v, usize::MAX).ok()
            })
            .map(|r| {
                let o = r.evidence.offence();
                let kind = match r.evidence {
                    Equivocation::Votes(..) => "votes",
                    Equivocation::Proposals(..) => "proposals",
                };
                json!({
                    "validator": o.validator.to_hex(),
                    "height": o.height,
                    "round": o.round,
                    "step": o.step.as_str(),
                    "kind": kind,
                    "reported_height": r.reported_height,
                    "reporter": r.reporter.to_hex(),
                    "evidence": hex::encode(filiera_types::encoding::encode(&r.evidence)),
                })
            })
            .collect();
        Ok(Json(json!({"offences": offences, "truncated": truncated})))
    })
    .await
}

/// `GET /v1/products/{gtin}`.
#[utoipa::path(get, path = "/v1/products/{gtin}", tag = "records", params(("gtin" = String, Path, description = "GTIN")), responses((status = 200, description = "The product and its attestations"), (status = 400, description = "invalid_identifier"), (status = 404, description = "not_found")))]
pub async fn product(State(s): State<ApiState>, Path(gtin_text): Path<String>) -> Answer {
    let gtin = self::gtin(&gtin_text)?;
    let p =
        reads::product(&s.store, &gtin)?.ok_or_else(|| ApiError::not_found("no such product"))?;
    let attestations = reads::attestations_of(&s.store, &format!("product:{gtin}"))?;
    let now = head_time(&s)?;
    let mut v = crate::directory::product_view(&p);
    v["attestations"] = attestations
        .iter()
        .map(|a| views::attestation(a, now))
        .collect();
    Ok(Json(v))
}

/// `GET /v1/lots/{gtin}/{lot}`: the lot, its (newest) history, its attestations.
#[utoipa::path(get, path = "/v1/lots/{gtin}/{lot}", tag = "records", params(("gtin" = String, Path, description = "GTIN"), ("lot" = String, Path, description = "Lot number (GS1 AI 10)")), responses((status = 200, description = "The lot, its newest history, its attestations"), (status = 400, description = "invalid_identifier"), (status = 404, description = "not_found")))]
pub async fn lot(
    State(s): State<ApiState>,
    Path((gtin_text, lot_text)): Path<(String, String)>,
) -> Answer {
    let (gtin, lot) = (self::gtin(&gtin_text)?, lot_number(&lot_text)?);
    let now = head_time(&s)?;
    let store = s.store.clone();
    let v = crate::blocking(&s, move || -> Result<Value, ApiError> {
        let record =
            reads::lot(&store, &gtin, &lot)?.ok_or_else(|| ApiError::not_found("no such lot"))?;
        let (first, events) = reads::lot_events(&store, &gtin, &lot, record.events)?;
        let attestations = reads::attestations_of(&store, &format!("lot:{gtin}:{lot}"))?;
        let mut v = views::lot(&record);
        v["history"] = events
            .iter()
            .enumerate()
            .map(|(i, e)| views::event(first as usize + i, e))
            .collect();
        v["attestations"] = attestations
            .iter()
            .map(|a| views::attestation(a, now))
            .collect();
        v["rules"] = match reads::lot_rules(&store, &gtin, &lot)? {
            Some(r) => crate::rules::lot_view(&r),
            None => Value::Null,
        };
        Ok(v)
    })
    .await?;
    Ok(Json(v))
}

/// `GET /v1/lots/{gtin}/{lot}/bundle`: the lot with proofs (as the resolver's JSON).
#[utoipa::path(get, path = "/v1/lots/{gtin}/{lot}/bundle", tag = "records", params(("gtin" = String, Path, description = "GTIN"), ("lot" = String, Path, description = "Lot number")), responses((status = 200, description = "The lot with header, certificate, validator set and a proof of every record"), (status = 404, description = "not_found")))]
pub async fn lot_bundle(
    State(s): State<ApiState>,
    Path((gtin_text, lot_text)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (gtin, lot) = (self::gtin(&gtin_text)?, lot_number(&lot_text)?);
    let (store, cache) = (s.store.clone(), s.bundles.clone());
    let b = crate::blocking(&s, move || {
        crate::bundle_cache::bundle_at_head(&store, &cache, gtin.as_str(), lot.as_str())
    })
    .await?
    .ok_or_else(|| ApiError::not_found("no such lot"))?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        b.json.clone(),
    )
        .into_response())
}

/// `GET /v1/attestations/{id}`.
#[utoipa::path(get, path = "/v1/attestations/{id}", tag = "records", params(("id" = u64, Path, description = "Attestation number")), responses((status = 200, description = "The attestation and its validity now"), (status = 404, description = "not_found")))]
pub async fn attestation(State(s): State<ApiState>, Path(id): Path<u64>) -> Answer {
    let a = reads::attestation(&s.store, id)?
        .ok_or_else(|| ApiError::not_found("no such attestation"))?;
    Ok(Json(views::attestation(&a, head_time(&s)?)))
}

/// `GET /v1/proofs/{key_hex}`: a proof of presence or absence of a state
/// key at the last height, with the header and certificate it is checked
/// against. Captured EPCIS documents are proven to their parties only (ADR
/// 0010); every other record is what consumer pages prove, to anyone.
#[utoipa::path(get, path = "/v1/proofs/{key_hex}", tag = "chain", params(("key_hex" = String, Path, description = "State key, hex")), responses((status = 200, description = "Proof of presence or absence at the last height, with its header and certificate"), (status = 400, description = "invalid_key"), (status = 401, description = "unauthorized: an EPCIS document's key without an organisation's token"), (status = 403, description = "not_a_party: an EPCIS document's key, and the token's organisation is no party to it (or it does not exist)")))]
pub async fn proof(
    State(s): State<ApiState>,
    reader: Result<crate::readers::Reader, ApiError>,
    Path(key_hex): Path<String>,
) -> Answer {
    let key = hex::decode(&key_hex)
        .map_err(|_| ApiError::bad_request("invalid_key", "the key is not hex"))?;
    if key.is_empty() || key.len() > PROOF_KEY_BYTES_MAX {
        return Err(ApiError::bad_request(
            "invalid_key",
            format!("a state key has 1 to {PROOF_KEY_BYTES_MAX} bytes"),
        ));
    }
    may_prove(&s, &reader, &key)?;
    let height = s.store.last_height()?.unwrap_or(0);
    let store = s.store.clone();
    let proof = crate::blocking(&s, move || {
        store.prove(&key, height).map_err(ApiError::from)
    })
    .await?;
    let header = s.store.header(height)?;
    let certificate = s.store.certificate(height)?;
    Ok(Json(json!({
        "height": height,
        "present": proof.value.is_some(),
        "value": proof.value.as_ref().map(hex::encode),
        "proof": hex::encode(proof.encode()),
        "header": header.map(|h| hex::encode(filiera_types::encoding::encode(&h))),
        "certificate": certificate.map(|c| hex::encode(filiera_types::encoding::encode(&c))),
    })))
}

/// Refuses a proof of a captured EPCIS document's key (or of any key under
/// their prefix) to a reader that is not one of its parties. A non-party gets
/// the same answer whether the document exists or not.
/// A public record's proof is served whatever the reader's credentials say.
fn may_prove(
    s: &ApiState,
    reader: &Result<crate::readers::Reader, ApiError>,
    key: &[u8],
) -> Result<(), ApiError> {
    use filiera_contract_api::{contract_ids, keys};
    let documents = reads::full_key(contract_ids::LOTS, keys::EPCIS_EVENTS);
    let Some(tail) = key.strip_prefix(documents.as_slice()) else {
        return Ok(());
    };
    let scope = crate::epcis::Scope::of(reader.as_ref().map_err(Clone::clone)?)?;
    let not_a_party = || ApiError {
        status: StatusCode::FORBIDDEN,
        code: "not_a_party",
        message: "EPCIS documents are proven to their parties only".into(),
    };
    if scope == crate::epcis::Scope::All {
        return Ok(());
    }
    let id: [u8; 32] = hex::decode(tail)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(not_a_party)?;
    let Some(stored) = s.store.state_get(key)? else {
        return Err(not_a_party());
    };
    let event = <String as borsh::BorshDeserialize>::try_from_slice(&stored)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .ok_or_else(not_a_party)?;
    if crate::epcis::may_read(&s.store, &scope, id, &event)? {
        Ok(())
    } else {
        Err(not_a_party())
    }
}

/// Longest state key a proof is asked for, bytes.
const PROOF_KEY_BYTES_MAX: usize = 1024;

/// `GET /metrics` on the operator's listener (not in the public OpenAPI).
pub async fn metrics(State(s): State<ApiState>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        s.node.metrics(),
    )
        .into_response()
}

pub(crate) fn head_time(s: &ApiState) -> Result<u64, ApiError> {
    let height = s.store.last_height()?.unwrap_or(0);
    Ok(s.store.header(height)?.map_or(0, |h| h.time_ms))
}
