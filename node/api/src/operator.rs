//! The operator's listener: what only the node's operator should reach.
//!
//! `/metrics` tells anyone who reads it the node's load, peers, mempool and
//! refusals: useful to an attacker timing a flood, so it is not on the
//! public listener. The node serves it on `api.metrics_listen_address`
//! (loopback by default) for the operator's Prometheus.
//!
//! The operator reads everything its node holds: on this listener the EPCIS
//! query, proofs of any key and the state snapshot answer without a token
//! ([`crate::readers::OperatorListener`]); on the public one they are scoped
//! to their readers (ADR 0010). Those unscoped reads answer loopback clients
//! only: the listener is often opened to a private network for a Prometheus
//! on another host (or to every address in a container), and that must not
//! hand every member's documents to whoever reaches it.

use crate::error::ApiError;
use crate::readers::OperatorListener;
use crate::{ApiLimits, ApiState, epcis, rest, snapshot};
use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::net::SocketAddr;

/// Lets only loopback clients through (a request with no peer address, not
/// served by [`crate::serve`], is refused too).
async fn loopback_only(request: Request, next: Next) -> Response {
    let loopback = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|c| c.0.ip().is_loopback());
    if !loopback {
        return ApiError {
            status: StatusCode::FORBIDDEN,
            code: "loopback_only",
            message: "the operator's unscoped reads answer clients on this host only".into(),
        }
        .into_response();
    }
    next.run(request).await
}

/// The operator's router: `/metrics` (Prometheus) and `/health` for any
/// client of the listener, and, for loopback clients only, the reads scoped
/// on the public listener (EPCIS query, proofs, snapshot), unscoped; for a
/// listener apart from the public one (`api.metrics_listen_address`,
/// loopback by default). No rate limit: only the operator reaches it; the
/// connection cap and timeouts of [`crate::serve`] still apply.
pub fn router(state: ApiState, limits: &ApiLimits) -> Router {
    let unscoped = Router::new()
        .route("/epcis/events", get(epcis::events))
        .route("/epcis/events/{event_id}", get(epcis::event))
        .route("/v1/proofs/{key_hex}", get(rest::proof))
        .route("/v1/snapshot", get(snapshot::offer))
        .route("/v1/snapshot/{height}/{index}", get(snapshot::chunk))
        .layer(axum::middleware::from_fn(loopback_only))
        .layer(axum::Extension(OperatorListener));
    Router::new()
        .route("/metrics", get(rest::metrics))
        .route("/health", get(rest::health))
        .merge(unscoped)
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            std::time::Duration::from_millis(limits.request_timeout_ms),
        ))
        .with_state(state)
}
