//! The HTTP server loop: hyper with a header-read timeout (which needs a
//! timer to be active at all) and a bound on open connections, each request
//! tagged with its peer address (for the per-client limits) and with whether
//! its transport is secure (bearer tokens travel only on one that is).

use crate::ApiLimits;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Pause after a failed accept (e.g. out of file descriptors), ms.
const ACCEPT_RETRY_MS: u64 = 50;

/// How a listener's connections are secured.
#[derive(Clone)]
pub enum Security {
    /// Plain HTTP. `upstream_tls`: the operator says a reverse proxy in
    /// front terminates TLS for every client.
    Plain {
        /// Whether a proxy in front terminates TLS.
        upstream_tls: bool,
    },
    /// HTTPS, served by the node.
    Tls(Arc<rustls::ServerConfig>),
}

/// Whether a request came on a transport a secret may travel on: TLS (the
/// node's or, as the operator says, a proxy's), or loopback (the devnet's
/// examples, a proxy on the same host). Absent from a request that did not
/// come through [`serve`] (a router driven directly, as in tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecureTransport(pub bool);

/// Whether a connection from `peer` on a listener of `security` is secure.
pub fn secure(security: &Security, peer: SocketAddr) -> bool {
    match security {
        Security::Tls(_) => true,
        Security::Plain { upstream_tls } => *upstream_tls || peer.ip().is_loopback(),
    }
}

/// Serves `app` on `listener` until the runtime stops.
pub async fn serve(listener: TcpListener, app: Router, limits: ApiLimits, security: Security) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms));
    let acceptor = match &security {
        Security::Tls(config) => Some(tokio_rustls::TlsAcceptor::from(Arc::clone(config))),
        Security::Plain { .. } => None,
    };
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
        let transport = SecureTransport(secure(&security, peer));
        let service = app
            .clone()
            .map_request(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req.extensions_mut().insert(transport);
                req.map(axum::body::Body::new)
            });
        let builder = builder.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let Some(acceptor) = acceptor else {
                return connection(&builder, stream, service, peer).await;
            };
            // The handshake happens in the connection's task, bounded: a
            // client that stalls in it holds one slot for a while, no more.
            let handshake = Duration::from_millis(crate::tls::TLS_HANDSHAKE_TIMEOUT_MS);
            match tokio::time::timeout(handshake, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => connection(&builder, tls, service, peer).await,
                Ok(Err(e)) => tracing::debug!(error = %e, %peer, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

async fn connection<S, T>(builder: &Builder<TokioExecutor>, stream: S, service: T, peer: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: tower::Service<
            hyper::Request<Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    T::Future: Send + 'static,
{
    let connection = builder
        .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service));
    if let Err(e) = connection.await {
        tracing::debug!(error = %e, %peer, "API connection ended with an error");
    }
}
