//! The running node as the API sees it ([`filiera_api::NodeHandle`]).

use crate::Event;
use crate::mempool::{AdmitError, MempoolLimits, POOL_FULL, Verified};
use crate::metrics::Metrics;
use crate::runner::Inbox;
use crossbeam_channel::{Sender, TrySendError};
use filiera_api::{Admission, BatchAdmission, NodeHandle, Progress, Rejection, RejectionKind};
use filiera_storage::Store;
use filiera_types::SignedTransaction;
use filiera_types::admission;
use std::sync::Arc;
use std::time::Duration;

/// Longest a submission waits for the driver's admission answer, ms.
pub const SUBMIT_TIMEOUT_MS: u64 = 5_000;

/// The handle.
pub struct ServiceHandle {
    /// The driver's bulk lane (transactions; consensus has its own).
    pub inbox: Sender<Inbox>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Permits of batch verification in progress (`SUBMIT_BATCHES_MAX`).
    pub verifying: Arc<tokio::sync::Semaphore>,
    /// The mempool's bounds: a full pool refuses before verification.
    pub mempool: MempoolLimits,
    /// The committed state: a stranger is refused before verification.
    pub store: Arc<Store>,
}

/// Client batches being verified at once, at most: beyond, a batch is
/// answered "busy" at once rather than queued (bounded memory under overload).
pub const SUBMIT_BATCHES_MAX: usize = 4;

fn busy(message: &str) -> Rejection {
    Rejection {
        kind: RejectionKind::Busy,
        message: message.into(),
    }
}

/// Hands the driver the event `make` builds around a reply channel (at once,
/// so submissions keep their order) and waits for the answer: "busy" when
/// its queue is full or it is stopping, "timeout" after `SUBMIT_TIMEOUT_MS`
/// (the driver may still act on it: the client can look the hash up).
fn ask_driver<T: Send + 'static>(
    inbox: &Sender<Inbox>,
    make: impl FnOnce(filiera_driver::Reply<T>) -> Event,
) -> impl std::future::Future<Output = Result<T, Rejection>> + Send + 'static {
    let (reply, answer) = tokio::sync::oneshot::channel();
    // The client may have given up; nothing to do then.
    let reply: filiera_driver::Reply<T> = Box::new(move |t| {
        let _ = reply.send(t);
    });
    let sent = inbox.try_send(Inbox::Event(make(reply)));
    async move {
        match sent {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(busy("the node's queue is full; retry later"));
            }
            Err(TrySendError::Disconnected(_)) => return Err(busy("the node is stopping")),
        }
        match tokio::time::timeout(Duration::from_millis(SUBMIT_TIMEOUT_MS), answer).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) | Err(_) => Err(Rejection {
                kind: RejectionKind::Timeout,
                message: "no answer in time: the transaction may or may not be admitted; look up its hash".into(),
            }),
        }
    }
}

fn rejection(e: &AdmitError) -> Rejection {
    let kind = match e {
        AdmitError::Refused(refusal) => RejectionKind::Refused(refusal.clone()),
        AdmitError::Duplicate => RejectionKind::Duplicate,
        AdmitError::Busy(_) => RejectionKind::Busy,
    };
    Rejection {
        kind,
        message: e.to_string(),
    }
}

/// A non-member's transaction, refused by a state read before its signature
/// is verified (the driver judges again: the standing may change meanwhile).
/// An unreadable state refuses nothing here.
pub fn stranger(store: &Store, tx: &SignedTransaction) -> Option<AdmitError> {
    let next_height = store.last_height().ok()?.unwrap_or(0) + 1;
    let standing = crate::chain::committed_standing(store, &tx.tx, next_height).ok()?;
    admission::standing_allows(&tx.tx, standing)
        .err()
        .map(AdmitError::Refused)
}

impl NodeHandle for ServiceHandle {
    fn submit(&self, tx: SignedTransaction) -> Admission {
        if self.metrics.mempool_reported_full(&self.mempool) {
            self.metrics.count_refused(&POOL_FULL);
            let full = rejection(&POOL_FULL);
            return Box::pin(async move { Err(full) });
        }
        if let Some(e) = stranger(&self.store, &tx) {
            self.metrics.count_refused(&e);
            let rejection = rejection(&e);
            return Box::pin(async move { Err(rejection) });
        }
        // Verified here, on the API's threads, so that the driver's thread
        // (consensus, execution, commit) spends no time on signatures.
        let verified = match Verified::check(tx) {
            Ok(v) => v,
            Err(e) => {
                self.metrics.count_refused(&e);
                let rejection = rejection(&e);
                return Box::pin(async move { Err(rejection) });
            }
        };
        let answer = ask_driver(&self.inbox, |reply| Event::Submit(verified, reply));
        Box::pin(async move { answer.await?.map_err(|e| rejection(&e)) })
    }

    fn submit_batch(&self, txs: Vec<SignedTransaction>) -> BatchAdmission {
        let count = txs.len();
        if self.metrics.mempool_reported_full(&self.mempool) {
            self.metrics.count_refused_n(&POOL_FULL, count);
            let full = rejection(&POOL_FULL);
            return Box::pin(async move { vec![Err(full); count] });
        }
        let inbox = self.inbox.clone();
        let metrics = self.metrics.clone();
        let store = self.store.clone();
        let permit = self.verifying.clone().try_acquire_owned();
        Box::pin(async move {
            let Ok(permit) = permit else {
                return vec![Err(busy("the node is verifying other batches; retry later")); count];
            };
            // Standing, then signatures, on the blocking pool: a stranger's
            // transactions cost a state read each, no verification.
            let checked = tokio::task::spawn_blocking(move || {
                let standing: Vec<Option<AdmitError>> =
                    txs.iter().map(|tx| stranger(&store, tx)).collect();
                let members: Vec<SignedTransaction> = txs
                    .into_iter()
                    .zip(&standing)
                    .filter(|(_, refused)| refused.is_none())
                    .map(|(tx, _)| tx)
                    .collect();
                let mut verified = Verified::check_all(members).into_iter();
                standing
                    .into_iter()
                    .map(|refused| match refused {
                        Some(e) => Err(e),
                        None => verified.next().unwrap_or(Err(POOL_FULL)),
                    })
                    .collect::<Vec<_>>()
            })
            .await;
            drop(permit);
            let Ok(checked) = checked else {
                return vec![Err(busy("the node is stopping")); count];
            };
            let mut refusals = Vec::with_capacity(count);
            let mut verified = Vec::with_capacity(count);
            for c in checked {
                match c {
                    Ok(v) => {
                        verified.push(v);
                        refusals.push(None);
                    }
                    Err(e) => {
                        metrics.count_refused(&e);
                        refusals.push(Some(rejection(&e)));
                    }
                }
            }
            if verified.is_empty() {
                // Nothing for the driver: all refused here.
                return refusals
                    .into_iter()
                    .map(|r| Err(r.unwrap_or_else(|| busy("no answer for this transaction"))))
                    .collect();
            }
            let answers =
                match ask_driver(&inbox, |reply| Event::SubmitBatch(verified, reply)).await {
                    Ok(a) => a,
                    Err(r) => return vec![Err(r); count],
                };
            // The driver answered for the verified ones, in order.
            let mut answers = answers.into_iter();
            refusals
                .into_iter()
                .map(|refused| match refused {
                    Some(r) => Err(r),
                    None => match answers.next() {
                        Some(answer) => answer.map_err(|e| rejection(&e)),
                        None => Err(busy("no answer for this transaction")),
                    },
                })
                .collect()
        })
    }

    fn is_pending(
        &self,
        tx: filiera_types::Hash,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>> {
        let answer = ask_driver(&self.inbox, |reply| Event::IsPending(tx, reply));
        Box::pin(async move { answer.await.unwrap_or(false) })
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
