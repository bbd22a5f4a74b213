//! Connection limits on real sockets: a host that opens connections without
//! end holds at most `incoming_per_ip_max` of them, before any handshake,
//! and the room comes back when they close.

use crate::permissioned::{config_with, listening};
use filiera_p2p::{ConnectionLimits, Network, NetworkEvent};
use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tokio::time::timeout;

/// Whether the node closed `socket` (read returns 0 or an error) within 3 s.
fn closed_by_the_node(socket: &mut TcpStream) -> bool {
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut buf = [0u8; 64];
    while Instant::now() < deadline {
        match socket.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
            Err(_) => return true,
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_host_holds_at_most_its_share_of_connections_until_they_close() {
    let mut config = config_with(21, &[21, 22], vec![], false);
    config.connection_limits = ConnectionLimits {
        incoming_per_ip_max: 4,
        ..ConnectionLimits::default()
    };
    let (_node, mut events) = Network::start(config).unwrap();
    let addr = listening(&mut events).await;
    let port = addr
        .iter()
        .find_map(|p| match p {
            libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
            _ => None,
        })
        .unwrap();
    let held = tokio::task::spawn_blocking(move || {
        // Raw sockets that never start the handshake.
        let mut sockets: Vec<TcpStream> = (0..4)
            .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let mut extra = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let refused = closed_by_the_node(&mut extra);
        let kept = !closed_by_the_node(&mut sockets[0]);
        (sockets, refused, kept)
    })
    .await
    .unwrap();
    let (sockets, refused, kept) = held;
    assert!(
        refused,
        "a fifth connection from one address is closed at once"
    );
    assert!(
        kept,
        "the first four are held (until the handshake times out)"
    );

    // A listed peer on the same address gets in once the others are gone.
    drop(sockets);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_peer, _peer_events) =
        Network::start(config_with(22, &[21, 22], vec![addr], false)).unwrap();
    let connected = timeout(Duration::from_secs(10), async {
        loop {
            if let Some(NetworkEvent::Connected(_)) = events.recv().await {
                return;
            }
        }
    })
    .await;
    assert!(
        connected.is_ok(),
        "the listed peer connects once there is room"
    );
}
