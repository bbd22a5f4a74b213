//! Block-sync request-response between two listed peers, over real sockets.

use filiera_p2p::{Network, NetworkConfig, NetworkError, NetworkEvent, SYNC_REQUEST_BYTES_MAX};
use filiera_types::SecretKey;
use std::time::Duration;
use tokio::time::timeout;

fn config(seed: u8, bootstrap: Vec<libp2p::Multiaddr>) -> NetworkConfig {
    NetworkConfig {
        node_key_seed: zeroize::Zeroizing::new([seed; 32]),
        listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        bootstrap,
        allowed: [11u8, 12]
            .iter()
            .map(|s| SecretKey::from_seed(&[*s; 32]).public_key())
            .collect(),
        validate_gossip: false,
        connection_limits: Default::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_reaches_the_peer_and_its_answer_comes_back() {
    let (a, mut a_events) = Network::start(config(11, vec![])).unwrap();
    let a_addr = loop {
        if let NetworkEvent::Listening(addr) = a_events.recv().await.unwrap() {
            break addr;
        }
    };
    let (b, mut b_events) = Network::start(config(12, vec![a_addr])).unwrap();
    // b asks a once connected.
    timeout(Duration::from_secs(10), async {
        loop {
            if let NetworkEvent::Connected(p) = b_events.recv().await.unwrap() {
                assert_eq!(p, a.peer_id);
                return;
            }
        }
    })
    .await
    .expect("b connects to a");
    b.request(a.peer_id, b"blocks from 7".to_vec())
        .await
        .unwrap();
    let (from, id) = timeout(Duration::from_secs(10), async {
        loop {
            if let NetworkEvent::SyncRequest { from, id, data } = a_events.recv().await.unwrap() {
                assert_eq!(data, b"blocks from 7");
                return (from, id);
            }
        }
    })
    .await
    .expect("a receives the request");
    assert_eq!(from, b.peer_id);
    a.respond(id, vec![42; 100_000]).await.unwrap();
    let answer = timeout(Duration::from_secs(10), async {
        loop {
            if let NetworkEvent::SyncResponse { from, data } = b_events.recv().await.unwrap() {
                assert_eq!(from, a.peer_id);
                return data;
            }
        }
    })
    .await
    .expect("b receives the answer");
    assert_eq!(answer, vec![42; 100_000]);
    // Oversized requests never leave the node.
    let too_big = b
        .request(a.peer_id, vec![0; SYNC_REQUEST_BYTES_MAX + 1])
        .await;
    assert!(matches!(too_big, Err(NetworkError::TooLarge(_))));
}
