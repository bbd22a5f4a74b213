//! Listed peers gossip to each other; an unlisted key cannot connect.

use filiera_p2p::{Network, NetworkConfig, NetworkEvent, Topic};
use filiera_types::SecretKey;
use std::time::Duration;
use tokio::sync::mpsc::Receiver;
use tokio::time::timeout;

fn config(seed: u8, allowed: &[u8], bootstrap: Vec<libp2p::Multiaddr>) -> NetworkConfig {
    config_with(seed, allowed, bootstrap, false)
}

/// A peer with key seed `seed` on a free loopback port, allowing `allowed`;
/// with `validate`, gossip waits for its node's verdict.
pub(crate) fn config_with(
    seed: u8,
    allowed: &[u8],
    bootstrap: Vec<libp2p::Multiaddr>,
    validate: bool,
) -> NetworkConfig {
    NetworkConfig {
        node_key_seed: zeroize::Zeroizing::new([seed; 32]),
        // Port 0: the OS picks a free port; the test reads it back.
        listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        bootstrap,
        allowed: allowed
            .iter()
            .map(|s| SecretKey::from_seed(&[*s; 32]).public_key())
            .collect(),
        validate_gossip: validate,
        connection_limits: Default::default(),
    }
}

pub(crate) async fn listening(events: &mut Receiver<NetworkEvent>) -> libp2p::Multiaddr {
    loop {
        match timeout(Duration::from_secs(10), events.recv())
            .await
            .unwrap()
            .unwrap()
        {
            NetworkEvent::Listening(addr) => return addr,
            _ => continue,
        }
    }
}

/// Waits for a message on `topic`; other events are ignored.
async fn message(events: &mut Receiver<NetworkEvent>, topic: Topic) -> Vec<u8> {
    loop {
        if let NetworkEvent::Message { topic: t, data, .. } = events.recv().await.unwrap()
            && t == topic
        {
            return data;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listed_peers_gossip_and_an_unlisted_key_is_refused() {
    let validators = [1u8, 2, 3];
    let (_a, mut a_events) = Network::start(config(1, &validators, vec![])).unwrap();
    let a_addr = listening(&mut a_events).await;
    let (b, _b_events) = Network::start(config(2, &validators, vec![a_addr.clone()])).unwrap();
    let (_c, mut c_events) = Network::start(config(3, &validators, vec![a_addr.clone()])).unwrap();

    // Gossip needs the mesh to form: publish until it arrives, bounded in time.
    let delivered = timeout(Duration::from_secs(30), async {
        loop {
            b.publish(Topic::Consensus, b"vote from b".to_vec())
                .await
                .unwrap();
            if let Ok(data) = timeout(
                Duration::from_millis(500),
                message(&mut c_events, Topic::Consensus),
            )
            .await
            {
                return data;
            }
        }
    })
    .await
    .expect("a message from b reaches c through a");
    assert_eq!(delivered, b"vote from b");
    assert_eq!(
        timeout(
            Duration::from_secs(10),
            message(&mut a_events, Topic::Consensus)
        )
        .await
        .unwrap(),
        b"vote from b"
    );

    // An intruder (key 9) dials a, which does not list it, and d, which does:
    // its gossip reaches d and never a, and a never reports it connected.
    let (_d, mut d_events) = Network::start(config(4, &[4, 9], vec![])).unwrap();
    let d_addr = listening(&mut d_events).await;
    let (intruder, mut intruder_events) =
        Network::start(config(9, &[1, 4, 9], vec![a_addr, d_addr])).unwrap();
    let _ = listening(&mut intruder_events).await;
    let reached_d = timeout(Duration::from_secs(30), async {
        loop {
            intruder
                .publish(Topic::Transactions, b"spam".to_vec())
                .await
                .unwrap();
            if let Ok(data) = timeout(
                Duration::from_millis(500),
                message(&mut d_events, Topic::Transactions),
            )
            .await
            {
                return data;
            }
        }
    })
    .await
    .expect("the intruder can talk to a node that lists it");
    assert_eq!(reached_d, b"spam");
    let intruder_id =
        filiera_p2p::peer_id_of(&SecretKey::from_seed(&[9; 32]).public_key()).unwrap();
    while let Ok(event) = a_events.try_recv() {
        match event {
            NetworkEvent::Connected(p) => {
                assert_ne!(p, intruder_id, "a accepted the unlisted peer")
            }
            NetworkEvent::Message {
                topic: Topic::Transactions,
                ..
            } => panic!("a received gossip from an unlisted key"),
            _ => {}
        }
    }
}
