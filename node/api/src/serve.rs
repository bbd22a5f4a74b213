//! The HTTP server loop: hyper with a header-read timeout (which needs a
//! timer to be active at all) and a bound on open connections, each request
//! tagged with its peer address for the per-IP rate limit.

use crate::ApiLimits;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Pause after a failed accept (e.g. out of file descriptors), ms.
const ACCEPT_RETRY_MS: u64 = 50;

/// Serves `app` on `listener` until the runtime stops.
pub async fn serve(listener: TcpListener, app: Router, limits: ApiLimits) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms));
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.connections_max.max(1)));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "API accept failed");
                tokio::time::sleep(Duration::from_millis(ACCEPT_RETRY_MS)).await;
                continue;
            }
        };
        let service = app
            .clone()
            .map_request(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req.map(axum::body::Body::new)
            });
        let builder = builder.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let connection = builder.serve_connection_with_upgrades(
                TokioIo::new(stream),
                TowerToHyperService::new(service),
            );
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %peer, "API connection ended with an error");
            }
        });
    }
}
