//! What the API needs from the running node besides the store: submitting a
//! transaction, its progress, its metrics. The service implements it; tests
//! can too.

use filiera_types::admission::Refusal;
use filiera_types::{Hash, SignedTransaction};
use std::future::Future;
use std::pin::Pin;

/// Why the node did not take a transaction: a broken admission rule (the
/// client must change it), or the node's state (the client retries).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RejectionKind {
    /// It breaks an admission rule ([`filiera_types::admission`]).
    Refused(Refusal),
    /// The same transaction, or another with its sender and nonce, is pending.
    Duplicate,
    /// The node is full or stopping: retry later.
    Busy,
    /// No answer in time: it may or may not be admitted; look its hash up.
    Timeout,
}

/// A refused submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Why.
    pub kind: RejectionKind,
    /// What is wrong, for a person.
    pub message: String,
}

impl Rejection {
    /// The stable code clients see: a refusal's own code, or `duplicate`,
    /// `busy`, `timeout`.
    pub fn code(&self) -> &'static str {
        match &self.kind {
            RejectionKind::Refused(refusal) => refusal.code(),
            RejectionKind::Duplicate => "duplicate",
            RejectionKind::Busy => "busy",
            RejectionKind::Timeout => "timeout",
        }
    }

    /// Whether the client should come back later ("busy", "timeout") rather
    /// than change the transaction: answered 503, with `Retry-After`.
    pub fn is_retry_later(&self) -> bool {
        matches!(self.kind, RejectionKind::Busy | RejectionKind::Timeout)
    }
}

/// The node's progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Last committed height.
    pub height: u64,
    /// Round of the height in progress.
    pub round: u64,
    /// Connected peers.
    pub peers: u64,
    /// Transactions waiting.
    pub mempool_txs: u64,
}

/// A submission's eventual answer.
pub type Admission = Pin<Box<dyn Future<Output = Result<Hash, Rejection>> + Send>>;

/// A batch submission's eventual answers, one per transaction, in order.
pub type BatchAdmission = Pin<Box<dyn Future<Output = Vec<Result<Hash, Rejection>>> + Send>>;

/// The running node, as the API sees it.
pub trait NodeHandle: Send + Sync + 'static {
    /// Hands a transaction to the mempool.
    fn submit(&self, tx: SignedTransaction) -> Admission;
    /// Hands several transactions to the mempool, in order. By default one
    /// submission each; the service hands the whole batch over at once.
    fn submit_batch(&self, txs: Vec<SignedTransaction>) -> BatchAdmission {
        let pending: Vec<Admission> = txs.into_iter().map(|tx| self.submit(tx)).collect();
        Box::pin(async move {
            let mut out = Vec::with_capacity(pending.len());
            for admission in pending {
                out.push(admission.await);
            }
            out
        })
    }
    /// Progress.
    fn progress(&self) -> Progress;
    /// Prometheus text exposition.
    fn metrics(&self) -> String;
    /// Whether a transaction waits in the mempool (`false` when unknown or
    /// when the node cannot tell in time).
    fn is_pending(&self, tx: Hash) -> Pin<Box<dyn Future<Output = bool> + Send>>;
}
