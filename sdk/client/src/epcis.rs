//! EPCIS 2.0 documents as signed transactions, also offline: a producer's
//! device signs its events without a connection and submits them later.
//! Resubmitting an event is harmless: the chain anchors each CBV 2.0 event
//! hash once and refuses a second capture of it.
//!
//! The node's own capture endpoint takes the same path: [`CaptureRun`] signs
//! a document's events at consecutive nonces and records each one's fate,
//! and [`CaptureJobs`] keeps the last jobs, whatever carries the
//! transactions (HTTP from a device, or the node's own submission queue).

use crate::ClientError;
use crate::submission::sign_call;
use filiera_contract_api::lots::Capture;
use filiera_epcis::{EventHash, capture_call, parse_document};
use filiera_types::{ChainId, Hash, SecretKey, SignedTransaction};
use std::collections::VecDeque;

/// Signs every event of a document as a `capture` transaction from
/// `first_nonce` on. A document with a bad event is refused whole (every bad
/// event listed). `org_of_site` names the organisation running a site (the
/// receiver of a shipment); offline, the caller supplies what it knows.
pub fn sign_document(
    document: &[u8],
    key: &SecretKey,
    chain: &ChainId,
    first_nonce: u64,
    expiry_height: u64,
    org_of_site: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(EventHash, SignedTransaction)>, ClientError> {
    let doc = parse_document(document).map_err(|e| match e {
        filiera_epcis::DocumentError::Events(bad) => ClientError::Epcis(
            bad.iter()
                .map(|b| format!("event {}: {}", b.index, b.reasons.join("; ")))
                .collect::<Vec<_>>()
                .join(" | "),
        ),
        other => ClientError::Epcis(other.to_string()),
    })?;
    let mut out = Vec::with_capacity(doc.events.len());
    let mut bad = Vec::new();
    for (index, (hash, event)) in doc.events.iter().enumerate() {
        match capture_call(hash, event, org_of_site) {
            Ok(call) => out.push((*hash, call)),
            Err(e) => bad.push(format!("event {index}: {e}")),
        }
    }
    if !bad.is_empty() {
        return Err(ClientError::Epcis(bad.join(" | ")));
    }
    out.into_iter()
        .enumerate()
        .map(|(i, (hash, call))| {
            let nonce = first_nonce + i as u64;
            let tx = sign_call(
                key,
                chain,
                nonce,
                expiry_height,
                crate::actions::capture(&call),
            )
            .map_err(|e| ClientError::Key {
                path: String::new(),
                reason: e.to_string(),
            })?;
            Ok((hash, tx))
        })
        .collect()
}

/// Capture jobs kept for `GET /epcis/capture/{id}`, at most (oldest out first).
pub const CAPTURE_JOBS_MAX: usize = 1_000;

/// What became of one event of a captured document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventFate {
    /// Its hash is anchored on chain already: skipped, harmlessly.
    AlreadyRecorded,
    /// Its transaction was admitted by the node.
    Submitted(Hash),
    /// The node refused its transaction (the code and message).
    Rejected(String),
    /// Not sent: an earlier event was rejected, and sending this one would
    /// leave a nonce gap. The document can be captured again.
    NotSubmitted(String),
}

/// A captured document: each event, in document order, and its fate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureJob {
    /// The job's id (from the document's bytes).
    pub id: String,
    /// Each event's hash and fate.
    pub events: Vec<(EventHash, EventFate)>,
}

/// One document's events signed by one key and submitted in order, each at
/// the next nonce; the caller carries each transaction ([`CaptureRun::next_tx`])
/// and hands back the node's answer ([`CaptureRun::answer`]). After a refusal
/// the rest is not signed: it would wait forever behind the missing nonce.
pub struct CaptureRun<'a> {
    key: &'a SecretKey,
    chain: &'a ChainId,
    expiry_height: u64,
    nonce: u64,
    planned: std::vec::IntoIter<(EventHash, Option<Capture>)>,
    events: Vec<(EventHash, EventFate)>,
    stop: Option<String>,
    waiting: Option<EventHash>,
}

impl<'a> CaptureRun<'a> {
    /// A run over `planned` events (`None`: anchored already), from
    /// `first_nonce`, each transaction valid up to `expiry_height`.
    pub fn new(
        key: &'a SecretKey,
        chain: &'a ChainId,
        first_nonce: u64,
        expiry_height: u64,
        planned: Vec<(EventHash, Option<Capture>)>,
    ) -> CaptureRun<'a> {
        CaptureRun {
            key,
            chain,
            expiry_height,
            nonce: first_nonce,
            events: Vec::with_capacity(planned.len()),
            planned: planned.into_iter(),
            stop: None,
            waiting: None,
        }
    }

    /// The next transaction to submit; `None` when every event has its fate.
    pub fn next_tx(&mut self) -> Result<Option<SignedTransaction>, ClientError> {
        assert!(self.waiting.is_none(), "the last transaction has no answer");
        for (hash, call) in self.planned.by_ref() {
            let Some(call) = call else {
                self.events.push((hash, EventFate::AlreadyRecorded));
                continue;
            };
            if let Some(reason) = &self.stop {
                self.events
                    .push((hash, EventFate::NotSubmitted(reason.clone())));
                continue;
            }
            let call = crate::actions::capture(&call);
            let tx = sign_call(self.key, self.chain, self.nonce, self.expiry_height, call)
                .map_err(|e| ClientError::Key {
                    path: String::new(),
                    reason: e.to_string(),
                })?;
            self.waiting = Some(hash);
            return Ok(Some(tx));
        }
        Ok(None)
    }

    /// The node's answer to the transaction [`CaptureRun::next_tx`] gave last.
    pub fn answer(&mut self, answer: Result<Hash, String>) {
        let Some(hash) = self.waiting.take() else {
            return;
        };
        match answer {
            Ok(tx) => {
                self.nonce += 1;
                self.events.push((hash, EventFate::Submitted(tx)));
            }
            Err(reason) => {
                self.stop = Some(format!("an earlier event was rejected ({reason})"));
                self.events.push((hash, EventFate::Rejected(reason)));
            }
        }
    }

    /// The job, and the sender's next nonce after it.
    pub fn finish(self, id: String) -> (CaptureJob, u64) {
        (
            CaptureJob {
                id,
                events: self.events,
            },
            self.nonce,
        )
    }
}

/// The last [`CAPTURE_JOBS_MAX`] capture jobs; capturing the same document
/// again replaces its job.
#[derive(Debug, Default)]
pub struct CaptureJobs(VecDeque<CaptureJob>);

impl CaptureJobs {
    /// Keeps `job`, forgetting the oldest beyond the limit; the forgotten
    /// job, if any (its owner may keep it elsewhere, e.g. on disk).
    pub fn keep(&mut self, job: CaptureJob) -> Option<CaptureJob> {
        self.0.retain(|j| j.id != job.id);
        let forgotten = if self.0.len() >= CAPTURE_JOBS_MAX {
            self.0.pop_front()
        } else {
            None
        };
        self.0.push_back(job);
        forgotten
    }

    /// The job with this id, if it is still kept.
    pub fn get(&self, id: &str) -> Option<&CaptureJob> {
        self.0.iter().find(|j| j.id == id)
    }
}
