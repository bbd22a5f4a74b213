//! The running node as the API sees it ([`filiera_api::NodeHandle`]).

use crate::driver::Event;
use crate::mempool::AdmitError;
use crate::metrics::Metrics;
use crate::runner::Inbox;
use filiera_api::{Admission, NodeHandle, Progress, Rejection};
use filiera_types::SignedTransaction;
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::Duration;

/// Longest a submission waits for the driver's admission answer, ms.
pub const SUBMIT_TIMEOUT_MS: u64 = 5_000;

/// The handle.
pub struct ServiceHandle {
    /// The driver's inbox.
    pub inbox: SyncSender<Inbox>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
}

fn rejection(e: &AdmitError) -> Rejection {
    let code = match e {
        AdmitError::Busy(_) => "busy",
        AdmitError::Duplicate => "duplicate",
        AdmitError::BadSignature(_) => "bad_signature",
        AdmitError::WrongChain(_) => "wrong_chain",
        AdmitError::Expiry { .. } => "expired",
        AdmitError::NonceUsed { .. } => "nonce_used",
        AdmitError::NonceGap { .. } => "nonce_gap",
        AdmitError::TooLarge { .. } => "too_large",
    };
    Rejection {
        code,
        message: e.to_string(),
    }
}

impl NodeHandle for ServiceHandle {
    fn submit(&self, tx: SignedTransaction) -> Admission {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let sent = self.inbox.try_send(Inbox::Event(Event::Submit(tx, reply)));
        Box::pin(async move {
            match sent {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    return Err(Rejection {
                        code: "busy",
                        message: "the node's queue is full; retry later".into(),
                    });
                }
                Err(TrySendError::Disconnected(_)) => {
                    return Err(Rejection {
                        code: "busy",
                        message: "the node is stopping".into(),
                    });
                }
            }
            match tokio::time::timeout(Duration::from_millis(SUBMIT_TIMEOUT_MS), answer).await {
                Ok(Ok(result)) => result.map_err(|e| rejection(&e)),
                // The driver may still admit it: the client can look the hash up.
                Ok(Err(_)) | Err(_) => Err(Rejection {
                    code: "timeout",
                    message: "no answer in time: the transaction may or may not be admitted; look up its hash".into(),
                }),
            }
        })
    }

    fn is_pending(
        &self,
        tx: filiera_types::Hash,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let sent = self
            .inbox
            .try_send(Inbox::Event(Event::IsPending(tx, reply)));
        Box::pin(async move {
            sent.is_ok()
                && matches!(
                    tokio::time::timeout(Duration::from_millis(SUBMIT_TIMEOUT_MS), answer).await,
                    Ok(Ok(true))
                )
        })
    }

    fn progress(&self) -> Progress {
        // The driver keeps these gauges current after every event.
        let read = |g: &prometheus::IntGauge| u64::try_from(g.get()).unwrap_or(0);
        let m = &self.metrics;
        Progress {
            height: read(&m.height),
            round: read(&m.round),
            peers: read(&m.peers),
            mempool_txs: read(&m.mempool_txs),
        }
    }

    fn metrics(&self) -> String {
        self.metrics.render()
    }
}
