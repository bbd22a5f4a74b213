//! The API's handle on the node: what it refuses before the driver sees it.

use crate::mempool::tx;
use crossbeam_channel::{Receiver, bounded};
use filiera_api::NodeHandle;
use filiera_execution::genesis::genesis_state;
use filiera_service::Event;
use filiera_service::handle::{SUBMIT_BATCHES_MAX, ServiceHandle};
use filiera_service::mempool::MempoolLimits;
use filiera_service::metrics::Metrics;
use filiera_service::runner::Inbox;
use filiera_storage::{StorageConfig, Store};
use filiera_types::{Hash, SecretKey, SignedTransaction};
use std::sync::Arc;

const LIMITS: MempoolLimits = MempoolLimits {
    txs_max: 10,
    bytes_max: 1 << 20,
    per_sender_max: 10,
    nonce_gap_max: 10,
};

/// A handle over a real store at the test genesis (a producer with key 42).
fn handle() -> (ServiceHandle, Receiver<Inbox>) {
    let (inbox, events) = bounded(16);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db"), StorageConfig::default()).unwrap();
    let state = genesis_state(&crate::driver::genesis(&[1]))
        .into_iter()
        .map(|(k, v)| (k, Some(v)))
        .collect();
    store.init_genesis(Hash::ZERO, state).unwrap();
    // The store stays open; the directory goes when the test process ends.
    std::mem::forget(dir);
    let handle = ServiceHandle {
        inbox,
        metrics: Arc::new(Metrics::new().unwrap()),
        verifying: Arc::new(tokio::sync::Semaphore::new(SUBMIT_BATCHES_MAX)),
        mempool: LIMITS,
        store: Arc::new(store),
    };
    (handle, events)
}

/// Two good transactions of a member and, between them, one whose signature fails.
fn batch() -> Vec<SignedTransaction> {
    signed_by(&crate::driver::key(42))
}

fn signed_by(key: &SecretKey) -> Vec<SignedTransaction> {
    let mut forged = tx(key, 1, 50);
    forged.tx.call.args[0] ^= 1;
    vec![tx(key, 0, 50), forged, tx(key, 2, 50)]
}

fn refused(metrics: &Metrics, reason: &str) -> u64 {
    metrics.txs_refused.with_label_values(&[reason]).get()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_full_pool_answers_busy_before_any_signature_is_checked() {
    let rt = runtime();
    for (txs, bytes) in [(LIMITS.txs_max, 0), (0, LIMITS.bytes_max)] {
        let (handle, events) = handle();
        handle.metrics.mempool_txs.set(i64::try_from(txs).unwrap());
        handle
            .metrics
            .mempool_bytes
            .set(i64::try_from(bytes).unwrap());
        let answers = rt.block_on(handle.submit_batch(batch()));
        let codes: Vec<_> = answers
            .iter()
            .map(|a| a.as_ref().unwrap_err().code())
            .collect();
        // The forged one too: its signature was never looked at.
        assert_eq!(codes, ["busy", "busy", "busy"]);
        let single = rt.block_on(handle.submit(batch().remove(1)));
        assert_eq!(single.unwrap_err().code(), "busy");
        assert_eq!(refused(&handle.metrics, "busy"), 4);
        assert_eq!(refused(&handle.metrics, "signature"), 0);
        assert!(events.try_recv().is_err(), "nothing reached the driver");
    }
}

#[test]
fn a_pool_with_room_checks_signatures_and_hands_the_good_ones_over() {
    let rt = runtime();
    let (handle, events) = handle();
    handle
        .metrics
        .mempool_txs
        .set(i64::try_from(LIMITS.txs_max - 1).unwrap());
    // Stands in for the driver's thread: admits whatever reaches it.
    let driver = std::thread::spawn(move || {
        let Ok(Inbox::Event(Event::SubmitBatch(verified, reply))) = events.recv() else {
            panic!("expected a batch");
        };
        let nonces: Vec<u64> = verified.iter().map(|v| v.tx().tx.nonce).collect();
        reply(verified.iter().map(|_| Ok(Hash::ZERO)).collect());
        nonces
    });
    let answers = rt.block_on(handle.submit_batch(batch()));
    assert_eq!(driver.join().unwrap(), [0, 2], "only the good ones go on");
    assert!(answers[0].is_ok() && answers[2].is_ok(), "{answers:?}");
    assert_eq!(answers[1].as_ref().unwrap_err().code(), "bad_signature");
    assert_eq!(refused(&handle.metrics, "signature"), 1);
    assert_eq!(refused(&handle.metrics, "busy"), 0);
}

/// Only members write: a stranger's transactions are refused by a state
/// read, their signatures never checked (a forged one is refused the same),
/// and nothing reaches the driver.
#[test]
fn a_strangers_transactions_are_refused_before_their_signatures_are_checked() {
    let rt = runtime();
    let (handle, events) = handle();
    let stranger = SecretKey::from_seed(&[9; 32]);
    let answers = rt.block_on(handle.submit_batch(signed_by(&stranger)));
    let codes: Vec<_> = answers
        .iter()
        .map(|a| a.as_ref().unwrap_err().code())
        .collect();
    assert_eq!(codes, ["not_member", "not_member", "not_member"]);
    let single = rt.block_on(handle.submit(signed_by(&stranger).remove(0)));
    assert_eq!(single.unwrap_err().code(), "not_member");
    assert_eq!(refused(&handle.metrics, "not_member"), 4);
    assert_eq!(refused(&handle.metrics, "signature"), 0);
    assert!(events.try_recv().is_err(), "nothing reached the driver");
}
