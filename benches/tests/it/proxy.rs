//! The link proxy forwards, delays, partitions and heals real TCP
//! connections the way the fault harness relies on.

use filiera_benches::faults::proxy::{self, Shape, Target};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An echo server on loopback; returns its address.
fn echo() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                while let Ok(n @ 1..) = conn.read(&mut buf) {
                    if conn.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// A proxy in front of an echo server; returns its address and shape.
fn proxied() -> (std::net::SocketAddr, Arc<Shape>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let shape = Arc::new(Shape::default());
    let target = Target {
        namespace: None,
        addr: echo(),
    };
    proxy::spawn(listener, target, Arc::clone(&shape), 7);
    (addr, shape)
}

fn connect(addr: std::net::SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(1_500)))
        .unwrap();
    s
}

/// Sends `msg` and reads the echo: `Ok(bytes)`, or the read error kind.
fn round_trip(s: &mut TcpStream, msg: &[u8]) -> Result<Vec<u8>, ErrorKind> {
    s.write_all(msg).map_err(|e| e.kind())?;
    let mut got = vec![0u8; msg.len()];
    let mut n = 0;
    while n < msg.len() {
        match s.read(&mut got[n..]) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof),
            Ok(k) => n += k,
            Err(e) => return Err(e.kind()),
        }
    }
    Ok(got)
}

#[test]
fn a_clean_link_forwards_and_a_degraded_one_delays_both_ways() {
    let (addr, shape) = proxied();
    let mut s = connect(addr);
    assert_eq!(round_trip(&mut s, b"casciotta").unwrap(), b"casciotta");
    shape.degrade(250, 0, 0);
    let start = Instant::now();
    assert_eq!(round_trip(&mut s, b"ciauscolo").unwrap(), b"ciauscolo");
    let took = start.elapsed();
    // Out and back: each direction waits its 250 ms.
    assert!(took >= Duration::from_millis(500), "{took:?}");
    shape.restore();
    assert_eq!(round_trip(&mut s, b"verdicchio").unwrap(), b"verdicchio");
}

#[test]
fn a_cut_link_carries_nothing_and_its_connections_close_when_it_heals() {
    let (addr, shape) = proxied();
    let mut before = connect(addr);
    assert_eq!(round_trip(&mut before, b"olio").unwrap(), b"olio");
    shape.cut();
    // Bytes vanish: no echo, and the connection stays open, as in a real partition.
    let silent = round_trip(&mut before, b"cartoceto");
    assert!(
        matches!(silent, Err(ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "{silent:?}"
    );
    // A connection made during the cut is accepted and held, silent too.
    let mut during = connect(addr);
    let silent = round_trip(&mut during, b"ancona");
    assert!(
        matches!(silent, Err(ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "{silent:?}"
    );
    shape.heal();
    // Both lost bytes: they are closed, and the peers must redial.
    for s in [&mut before, &mut during] {
        let mut buf = [0u8; 16];
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let closed = match s.read(&mut buf) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        };
        assert!(closed, "a connection that lost bytes stayed open");
    }
    let mut after = connect(addr);
    assert_eq!(round_trip(&mut after, b"urbino").unwrap(), b"urbino");
}
