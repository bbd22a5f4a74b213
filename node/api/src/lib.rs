//! The node's HTTP API.
//!
//! **Purpose.** What producers' software, certification bodies, auditors and
//! consumers touch: REST JSON under `/v1` (submission, status, blocks,
//! receipts, records, proofs), the GS1 Digital Link resolver (`/01/...`) with
//! the consumer page and the proof-carrying lot bundle, QR labels, `/health`
//! and `/metrics`.
//!
//! **Invariants.** Reads come from the store's committed state only; a lot
//! bundle is read at one height, every record through a state proof of that
//! height, so what is shown is what is proven. Errors are JSON with a stable
//! code; internal causes are logged, never sent.
//!
//! **Threats.** Hostile clients: bodies are capped before they are read,
//! identifiers are parsed (GS1 check digits, lengths) before any lookup,
//! every stored string is HTML-escaped on the page, lists are bounded.

pub mod bundle;
pub mod error;
pub mod handle;
pub mod page;
pub mod qr;
pub mod reads;
pub mod resolver;
pub mod rest;
pub mod views;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use filiera_storage::Store;
use std::sync::Arc;

pub use handle::{Admission, NodeHandle, Progress, Rejection};

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The running node.
    pub node: Arc<dyn NodeHandle>,
    /// The store, for reads.
    pub store: Arc<Store>,
    /// Chain id.
    pub chain_id: String,
    /// Node name.
    pub moniker: String,
    /// Base URL of Digital Link URIs (no trailing slash).
    pub public_base_url: String,
    /// Largest transaction body, bytes.
    pub tx_bytes_max: usize,
}

/// The router.
pub fn router(state: ApiState) -> Router {
    let body_max = state.tx_bytes_max + 1024;
    Router::new()
        .route("/health", get(rest::health))
        .route("/metrics", get(rest::metrics))
        .route("/v1/status", get(rest::status))
        .route("/v1/txs", post(rest::submit))
        .route("/v1/txs/{hash}", get(rest::tx))
        .route("/v1/blocks/{height}", get(rest::block))
        .route("/v1/accounts/{public_key}/nonce", get(rest::nonce))
        .route("/v1/orgs/{id}", get(rest::org))
        .route("/v1/products/{gtin}", get(rest::product))
        .route("/v1/lots/{gtin}/{lot}", get(rest::lot))
        .route("/v1/lots/{gtin}/{lot}/bundle", get(rest::lot_bundle))
        .route("/v1/attestations/{id}", get(rest::attestation))
        .route("/v1/proofs/{key_hex}", get(rest::proof))
        .route("/01/{gtin}/10/{lot}", get(resolver::lot))
        .route("/qr/01/{gtin}/10/{lot}", get(qr::lot_label))
        .layer(DefaultBodyLimit::max(body_max))
        .with_state(state)
}
