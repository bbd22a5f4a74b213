//! The operator's listener: what only the node's operator should reach.
//!
//! `/metrics` tells anyone who reads it the node's load, peers, mempool and
//! refusals: useful to an attacker timing a flood, so it is not on the
//! public listener. The node serves it on `api.metrics_listen_address`
//! (loopback by default) for the operator's Prometheus.

use crate::{ApiLimits, ApiState, rest};
use axum::Router;
use axum::routing::get;

/// The operator's router: `/metrics` (Prometheus) and `/health`, for a
/// listener apart from the public one (`api.metrics_listen_address`,
/// loopback by default). No rate limit: only the operator's scraper reaches
/// it; the connection cap and timeouts of [`crate::serve`] still apply.
pub fn router(state: ApiState, limits: &ApiLimits) -> Router {
    Router::new()
        .route("/metrics", get(rest::metrics))
        .route("/health", get(rest::health))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            std::time::Duration::from_millis(limits.request_timeout_ms),
        ))
        .with_state(state)
}
