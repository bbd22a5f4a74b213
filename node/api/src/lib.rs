//! The node's HTTP API.
//!
//! **Purpose.** What producers' software, certification bodies, auditors and
//! consumers touch: REST JSON under `/v1` (submission, status, blocks,
//! receipts, records, proofs), the GS1 Digital Link resolver (`/01/...`) with
//! the consumer page and the proof-carrying lot bundle, QR labels and
//! `/health` on the public listener; `/metrics` only on the operator's
//! listener ([`operator::router`], loopback by default), never on the public
//! one: its counters describe the node's load and peers to whoever asks.
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
pub mod bundle_cache;
pub mod contracts;
pub mod directory;
pub mod epcis;
pub mod error;
pub mod handle;
pub mod ids;
pub mod job_files;
pub mod limiter;
pub mod operator;
pub mod page;
pub mod peer_reads;
pub mod qr;
pub mod readers;
pub mod reads;
pub mod resolver;
pub mod rest;
pub mod rules;
pub mod snapshot;
mod static_files;
pub mod tls;
pub use filiera_verify::views;

mod app;
mod assets;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::Next;
use axum::routing::{get, post};
use filiera_storage::Store;
use std::sync::Arc;

mod serve;
pub use handle::{Admission, BatchAdmission, NodeHandle, Progress, Rejection, RejectionKind};
pub use serve::{SecureTransport, Security, secure, serve};

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
    /// Heavy reads (bundles, histories, proofs, PNG labels) running at once,
    /// at most: beyond, 503 rather than a queue that stalls the runtime.
    pub heavy_reads: Arc<tokio::sync::Semaphore>,
    /// EPCIS capture clients, nonces and jobs.
    pub epcis: Arc<epcis::EpcisState>,
    /// Lot bundles served at the current height.
    pub bundles: Arc<bundle_cache::BundleCache>,
    /// The p2p keys this node's network lets in (the chain's validators and
    /// allowed observers, and the operator's `p2p.observers`), kept current
    /// by the node's driver: the nodes that may take its state snapshot.
    pub allowed_peers: Arc<std::sync::RwLock<Vec<filiera_types::PublicKey>>>,
    /// The genesis catalogue (protected names, their categories and units),
    /// served to apps at `/v1/catalogue`.
    pub catalogue: Arc<filiera_types::genesis::Catalogue>,
}

/// Heavy reads at once, at most (see [`ApiState::heavy_reads`]).
pub const HEAVY_READS_MAX: usize = 64;

/// Runs store work off the async threads, within the global cap.
pub async fn blocking<T: Send + 'static>(
    s: &ApiState,
    work: impl FnOnce() -> Result<T, error::ApiError> + Send + 'static,
) -> Result<T, error::ApiError> {
    let Ok(permit) = s.heavy_reads.clone().try_acquire_owned() else {
        return Err(error::ApiError::busy(
            "too many lookups at once; retry shortly",
        ));
    };
    let result = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await;
    result.map_err(error::ApiError::internal)?
}

/// The OpenAPI document, generated from the handlers' annotations
/// (served at `/openapi.json`; a test checks every route is in it).
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Filiera node API",
        description = "REST, GS1 Digital Link resolver and QR labels of a Filiera node."
    ),
    paths(
        rest::health,
        rest::status,
        rest::submit,
        rest::submit_batch,
        rest::tx,
        rest::block,
        rest::nonce,
        rest::org,
        rest::org_lots,
        directory::orgs,
        directory::products,
        directory::catalogue,
        rules::list,
        rest::key,
        rest::evidence,
        contracts::list,
        contracts::code,
        rest::product,
        rest::lot,
        rest::lot_bundle,
        rest::attestation,
        rest::proof,
        snapshot::offer,
        snapshot::chunk,
        resolver::lot,
        resolver::lot_item,
        resolver::serial_only,
        resolver::lot_variant,
        qr::lot_label,
        qr::lot_sheet,
        assets::verifier,
        app::root,
        app::index,
        app::file,
        epcis::capture,
        epcis::capture_job,
        epcis::events,
        epcis::event,
        openapi_json
    )
)]
pub struct ApiDoc;

/// `GET /openapi.json`.
#[utoipa::path(get, path = "/openapi.json", tag = "node", responses((status = 200, description = "This document")))]
pub async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(<ApiDoc as utoipa::OpenApi>::openapi())
}

/// Operator limits of the HTTP API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiLimits {
    /// Requests per second each client may make to the public read
    /// endpoints (resolver, labels, `/v1` reads); 0 turns the limit off.
    pub rate_per_ip_per_s: u32,
    /// Read requests a client may make in a burst before the rate applies.
    pub burst_per_ip: u32,
    /// Transactions per second each client may submit (single, batch,
    /// EPCIS capture); 0 turns the limit off.
    pub write_txs_per_ip_per_s: u32,
    /// Transactions a client may submit in a burst (a batch counts each).
    pub write_txs_burst_per_ip: u32,
    /// Clients each allowance table holds, at most (see [`limiter`]).
    pub clients_max: usize,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` name the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Longest a request may take, ms; then 408.
    pub request_timeout_ms: u64,
    /// Longest a client may take to send a request's headers, ms, and to
    /// start the next request on a kept-alive connection; then the
    /// connection is closed (slow-header attacks hold no socket for long).
    pub header_read_timeout_ms: u64,
    /// Connections open at once, at most; beyond, new ones wait to be accepted.
    pub connections_max: usize,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            rate_per_ip_per_s: 100,
            burst_per_ip: 200,
            write_txs_per_ip_per_s: 200,
            write_txs_burst_per_ip: 2_000,
            clients_max: 65_536,
            trusted_proxies: Vec::new(),
            request_timeout_ms: 10_000,
            header_read_timeout_ms: 5_000,
            connections_max: 10_000,
        }
    }
}

/// The 429 of a spent allowance, with `Retry-After`.
pub fn too_many(limited: limiter::Limited, what: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    let error = error::ApiError {
        status: axum::http::StatusCode::TOO_MANY_REQUESTS,
        code: "rate_limited",
        message: if limited.too_large {
            format!("more {what} at once than this node allows any client; send fewer")
        } else {
            format!("too many {what} from this address; slow down")
        },
    };
    (
        [(
            axum::http::header::RETRY_AFTER,
            limited.retry_after_s.to_string(),
        )],
        error,
    )
        .into_response()
}

/// The client of `request`, as the limits key it (unknown peer: 0.0.0.0).
pub fn client_of(limiter: &limiter::EdgeLimiter, request: &Request) -> limiter::ClientKey {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    limiter.client(peer, request.headers())
}

/// Charges one read to the client; a spent allowance is answered 429.
async fn limit_reads(
    State(limiter): State<Arc<limiter::EdgeLimiter>>,
    request: Request,
    next: Next,
) -> axum::response::Response {
    let client = client_of(&limiter, &request);
    if let Err(limited) = limiter.reads.take(client, 1) {
        return too_many(limited, "requests");
    }
    next.run(request).await
}

/// Names the client of a write (its handler charges by transactions).
async fn identify_writer(
    State(limiter): State<Arc<limiter::EdgeLimiter>>,
    mut request: Request,
    next: Next,
) -> axum::response::Response {
    let client = client_of(&limiter, &request);
    request
        .extensions_mut()
        .insert(rest::Writer { client, limiter });
    next.run(request).await
}

/// The router. Serve it with `into_make_service_with_connect_info::<SocketAddr>()`:
/// the per-IP limit needs the peer address.
pub fn router(state: ApiState, limits: ApiLimits) -> Router {
    use axum::http::Method;
    use tower_http::cors::{Any, CorsLayer};
    let body_max = state.tx_bytes_max + 1024;
    let limiter = Arc::new(limiter::EdgeLimiter::new(&limits));
    let cors = || {
        CorsLayer::new()
            .allow_origin(Any)
            .allow_methods([Method::GET])
    };
    // A signed transaction carries its own authority, and no request here
    // rides on cookies: so the app may be hosted at any origin (a folder of
    // static files, `scripts/build-app.sh`) and post to any node. EPCIS
    // capture's bearer token is not among the allowed headers: a page of
    // another origin cannot send it.
    let cors_writes = || {
        CorsLayer::new()
            .allow_origin(Any)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([axum::http::header::CONTENT_TYPE])
    };
    // Public reads: anyone's browser may call them (CORS), each client at a
    // bounded rate of its own, apart from writes.
    let reads = Router::new()
        .route("/v1/status", get(rest::status))
        .route("/v1/txs/{hash}", get(rest::tx))
        .route("/v1/blocks/{height}", get(rest::block))
        .route("/v1/accounts/{public_key}/nonce", get(rest::nonce))
        .route("/v1/orgs", get(directory::orgs))
        .route("/v1/orgs/{id}", get(rest::org))
        .route("/v1/products", get(directory::products))
        .route("/v1/catalogue", get(directory::catalogue))
        .route("/v1/rules", get(rules::list))
        .route("/v1/keys/{public_key}", get(rest::key))
        .route("/v1/orgs/{id}/lots", get(rest::org_lots))
        .route("/v1/evidence", get(rest::evidence))
        .route("/v1/contracts", get(contracts::list))
        .route("/v1/code/{hash}", get(contracts::code))
        .route("/v1/products/{gtin}", get(rest::product))
        .route("/v1/lots/{gtin}/{lot}", get(rest::lot))
        .route("/v1/lots/{gtin}/{lot}/bundle", get(rest::lot_bundle))
        .route("/v1/attestations/{id}", get(rest::attestation))
        .route("/v1/proofs/{key_hex}", get(rest::proof))
        .route("/v1/snapshot", get(snapshot::offer))
        .route("/v1/snapshot/{height}/{index}", get(snapshot::chunk))
        .route("/01/{gtin}/10/{lot}", get(resolver::lot))
        .route("/01/{gtin}/10/{lot}/21/{serial}", get(resolver::lot_item))
        .route("/01/{gtin}/21/{serial}", get(resolver::serial_only))
        .route(
            "/01/{gtin}/22/{variant}/10/{lot}",
            get(resolver::lot_variant),
        )
        .route("/qr/01/{gtin}/10/{lot}", get(qr::lot_label))
        .route("/qr/sheet/01/{gtin}", get(qr::lot_sheet))
        .route("/epcis/capture/{capture_id}", get(epcis::capture_job))
        .route("/epcis/events", get(epcis::events))
        .route("/epcis/events/{event_id}", get(epcis::event))
        .layer(axum::middleware::from_fn_with_state(
            limiter.clone(),
            limit_reads,
        ))
        .layer(cors());
    // Writes: each client's transactions counted against its own allowance
    // (a batch counts each), so a write flood leaves the reads alone.
    let writes = Router::new()
        .route("/v1/txs", post(rest::submit))
        .route(
            "/v1/txs/batch",
            post(rest::submit_batch).layer(DefaultBodyLimit::max(rest::TX_SUBMIT_BATCH_BYTES_MAX)),
        )
        .route(
            "/epcis/capture",
            post(epcis::capture)
                .layer(DefaultBodyLimit::max(filiera_epcis::DOCUMENT_BYTES_MAX))
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    epcis::capture_edge,
                )),
        )
        .layer(axum::middleware::from_fn_with_state(
            limiter.clone(),
            identify_writer,
        ))
        .layer(cors_writes());
    let public = reads.merge(writes);
    // The static files' gzip copies, made off the request path.
    app::warm_up();
    let private = Router::new()
        .route("/health", get(rest::health))
        .route("/openapi.json", get(openapi_json))
        .route("/assets/verify.wasm", get(assets::verifier))
        .route("/app", get(app::root))
        .route("/app/", get(app::index))
        .route("/app/{file}", get(app::file));
    public
        .merge(private)
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            std::time::Duration::from_millis(limits.request_timeout_ms),
        ))
        .layer(DefaultBodyLimit::max(body_max))
        .with_state(state)
}
