//! The node's HTTP API, first part: status, transaction submission and
//! receipts, blocks, and Prometheus metrics. Bodies are capped before they
//! are read; every error is JSON `{"error": ...}` with a fitting status.

use crate::driver::Event;
use crate::mempool::AdmitError;
use crate::metrics::Metrics;
use crate::runner::Inbox;
use crate::status::Status;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use filiera_storage::Store;
use filiera_types::receipt::TxStatus;
use filiera_types::{Hash, SignedTransaction};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::Duration;

/// Longest a submission waits for the driver's admission answer, ms.
pub const SUBMIT_TIMEOUT_MS: u64 = 5_000;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The driver's inbox.
    pub inbox: SyncSender<Inbox>,
    /// The store, for reads.
    pub store: Arc<Store>,
    /// Progress.
    pub status: Arc<Status>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Chain id.
    pub chain_id: String,
    /// Node name.
    pub moniker: String,
    /// Largest transaction body, bytes.
    pub tx_bytes_max: usize,
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({ "error": message.to_string() }))).into_response()
}

/// The router.
pub fn router(state: ApiState) -> Router {
    let body_max = state.tx_bytes_max + 1024;
    Router::new()
        .route("/v1/status", get(status))
        .route("/v1/txs", post(submit))
        .route("/v1/txs/{hash}", get(tx))
        .route("/v1/blocks/{height}", get(block))
        .route("/v1/accounts/{public_key}/nonce", get(nonce))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(body_max))
        .with_state(state)
}

async fn status(State(s): State<ApiState>) -> Response {
    let view = s.status.view();
    let head = s.store.header(view.height).ok().flatten();
    let state_root = s.store.state_root(view.height).ok().map(|h| h.to_hex());
    Json(json!({
        "chain_id": s.chain_id,
        "moniker": s.moniker,
        "height": view.height,
        "round": view.round,
        "peers": view.peers,
        "mempool_txs": view.mempool_txs,
        "block_hash": head.as_ref().map(|h| h.hash().to_hex()),
        "block_time_ms": head.as_ref().map(|h| h.time_ms),
        "state_root": state_root,
    }))
    .into_response()
}

async fn submit(State(s): State<ApiState>, body: Bytes) -> Response {
    let tx = match SignedTransaction::decode(&body) {
        Ok(tx) => tx,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let (reply, answer) = tokio::sync::oneshot::channel();
    match s.inbox.try_send(Inbox::Event(Event::Submit(tx, reply))) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy: the node's queue is full",
            );
        }
        Err(TrySendError::Disconnected(_)) => {
            return error(StatusCode::SERVICE_UNAVAILABLE, "the node is stopping");
        }
    }
    match tokio::time::timeout(Duration::from_millis(SUBMIT_TIMEOUT_MS), answer).await {
        Ok(Ok(Ok(hash))) => (
            StatusCode::ACCEPTED,
            Json(json!({ "tx_hash": hash.to_hex() })),
        )
            .into_response(),
        Ok(Ok(Err(e))) if e.is_busy() => error(StatusCode::SERVICE_UNAVAILABLE, e),
        Ok(Ok(Err(e @ AdmitError::Duplicate))) => error(StatusCode::CONFLICT, e),
        Ok(Ok(Err(e))) => error(StatusCode::UNPROCESSABLE_ENTITY, e),
        // The driver may still admit it: the client can look the hash up.
        Ok(Err(_)) | Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "no answer in time: the transaction may or may not be admitted; look up its hash",
        ),
    }
}

async fn tx(State(s): State<ApiState>, Path(hash): Path<String>) -> Response {
    let Ok(hash) = Hash::from_hex(&hash) else {
        return error(StatusCode::BAD_REQUEST, "not a 64-hex-digit hash");
    };
    let location = match s.store.tx_location(&hash) {
        Ok(Some(l)) => l,
        Ok(None) => {
            return error(
                StatusCode::NOT_FOUND,
                "no committed transaction with this hash",
            );
        }
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let receipt = match s.store.receipt(location) {
        Ok(Some(r)) => r,
        Ok(None) => return error(StatusCode::INTERNAL_SERVER_ERROR, "receipt missing"),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let (ok, code, message) = match &receipt.status {
        TxStatus::Success => (true, None, None),
        TxStatus::Failed { code, message } => (false, Some(*code), Some(message.clone())),
    };
    let events: Vec<Value> = receipt
        .events
        .iter()
        .map(|e| json!({"contract": e.contract.as_str(), "name": e.name, "data": hex::encode(&e.data)}))
        .collect();
    Json(json!({
        "tx_hash": hash.to_hex(),
        "height": location.height,
        "index": location.index,
        "success": ok,
        "code": code,
        "message": message,
        "fuel_used": receipt.fuel_used,
        "events": events,
        "return_data": hex::encode(&receipt.return_data),
    }))
    .into_response()
}

async fn block(State(s): State<ApiState>, Path(height): Path<u64>) -> Response {
    let block = match s.store.block(height) {
        Ok(Some(b)) => b,
        Ok(None) => return error(StatusCode::NOT_FOUND, "no block at this height"),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let h = &block.header;
    let certificate = s.store.certificate(height).ok().flatten();
    Json(json!({
        "hash": h.hash().to_hex(),
        "height": h.height,
        "time_ms": h.time_ms,
        "parent_hash": h.parent_hash.to_hex(),
        "txs_root": h.txs_root.to_hex(),
        "receipts_root": h.receipts_root.to_hex(),
        "state_root": h.state_root.to_hex(),
        "validator_set_hash": h.validator_set_hash.to_hex(),
        "proposer": h.proposer.to_string(),
        "txs": block.txs.iter().map(|t| t.hash().to_hex()).collect::<Vec<_>>(),
        "commit_round": certificate.as_ref().map(|c| c.round),
        "commit_signatures": certificate.as_ref().map(|c| c.signatures().len()),
    }))
    .into_response()
}

async fn nonce(State(s): State<ApiState>, Path(public_key): Path<String>) -> Response {
    let Ok(key) = filiera_types::PublicKey::from_hex(&public_key) else {
        return error(
            StatusCode::BAD_REQUEST,
            "not a 64-hex-digit ed25519 public key",
        );
    };
    let stored = match s
        .store
        .state_get(&filiera_execution::executor::nonce_key(&key))
    {
        Ok(v) => v,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let nonce = match stored.as_deref().map(<[u8; 8]>::try_from) {
        None => 0,
        Some(Ok(bytes)) => u64::from_le_bytes(bytes),
        Some(Err(_)) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "stored nonce is not 8 bytes",
            );
        }
    };
    Json(json!({ "public_key": key.to_hex(), "next_nonce": nonce })).into_response()
}

async fn metrics(State(s): State<ApiState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response()
}
