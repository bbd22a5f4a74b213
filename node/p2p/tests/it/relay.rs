//! A relay forwards only what it accepted: with validation on, a message its
//! node rejects goes no further, and what it accepts does. Three real peers
//! on loopback in a line, a - b - c (a and c do not list each other).

use crate::permissioned::{config_with as config, listening};
use filiera_p2p::{Network, NetworkEvent, Topic, Verdict};
use std::time::Duration;
use tokio::sync::mpsc::Receiver;
use tokio::time::timeout;

/// Messages c receives within `wait`.
async fn heard(events: &mut Receiver<NetworkEvent>, wait: Duration) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    let _ = timeout(wait, async {
        while let Some(event) = events.recv().await {
            if let NetworkEvent::Message { data, .. } = event {
                got.push(data);
            }
        }
    })
    .await;
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_forwards_what_its_node_accepts_and_nothing_it_rejects() {
    let (b, mut b_events) = Network::start(config(2, &[1, 2, 3], vec![], true)).unwrap();
    let b_addr = listening(&mut b_events).await;
    // b's node: junk is rejected, anything else accepted.
    let judged = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = judged.clone();
    let judge = b.clone();
    tokio::spawn(async move {
        while let Some(event) = b_events.recv().await {
            if let NetworkEvent::Message { from, id, data, .. } = event {
                let verdict = if data.starts_with(b"junk") {
                    Verdict::Reject
                } else {
                    Verdict::Accept
                };
                log.lock().unwrap().push(data);
                judge.validate(id, from, verdict);
            }
        }
    });
    let (a, _a_events) = Network::start(config(1, &[1, 2], vec![b_addr.clone()], false)).unwrap();
    let (_c, mut c_events) = Network::start(config(3, &[2, 3], vec![b_addr], false)).unwrap();

    // The mesh forms: a's messages reach c through b, bounded in time.
    timeout(Duration::from_secs(30), async {
        let mut n = 0u32;
        loop {
            n += 1;
            a.publish(Topic::Transactions, format!("good {n}").into_bytes())
                .await
                .unwrap();
            if !heard(&mut c_events, Duration::from_millis(500))
                .await
                .is_empty()
            {
                return;
            }
        }
    })
    .await
    .expect("an accepted message reaches c through b");

    a.publish(Topic::Transactions, b"junk 1".to_vec())
        .await
        .unwrap();
    let got = heard(&mut c_events, Duration::from_secs(3)).await;
    assert!(
        judged.lock().unwrap().iter().any(|d| d == b"junk 1"),
        "b was handed the junk and judged it"
    );
    assert!(
        got.iter().all(|d| !d.starts_with(b"junk")),
        "c received what b rejected: {got:?}"
    );
}
