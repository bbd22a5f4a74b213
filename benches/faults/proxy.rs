//! Link proxies: every connection between two nodes goes through one, and the
//! harness shapes it. A TCP proxy sees a byte stream, not packets, so the
//! faults are the ones a stream can show:
//! - **cut** (a partition): bytes are read and thrown away in both directions,
//!   connections stay open and new ones are accepted and held, as when packets
//!   vanish; when the link heals, every connection that lost bytes is closed
//!   and the nodes redial;
//! - **delay** with jitter, order kept (TCP never reorders what it delivers);
//! - **stall**: a chunk waits `STALL_MS` more, with a given probability: what a
//!   lost segment costs a TCP reader (head-of-line wait for the retransmit).
//!
//! Duplication is not modelled here: TCP drops duplicate segments before a
//! reader sees them. Messages arrive twice anyway through gossip (from every
//! peer that relays them), and the seeded simulation duplicates votes.

use crate::faults::netns::Namespace;
use anyhow::{Context, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

/// Extra wait of a stalled chunk, ms: about one TCP retransmission timeout.
pub const STALL_MS: u64 = 200;
/// How often a pump looks at the link's shape while idle, ms.
const POLL_MS: u64 = 100;
/// Largest chunk read at once, bytes.
const CHUNK_BYTES: usize = 64 * 1024;
/// Longest wait to connect to the far node, ms.
const CONNECT_TIMEOUT_MS: u64 = 2_000;

/// How a link behaves now; the harness changes it during a run.
#[derive(Default)]
pub struct Shape {
    cut: AtomicBool,
    /// Bumped on every cut and heal: a connection older than the last bump
    /// that is not cut now has lost bytes and must close.
    epoch: AtomicU64,
    delay_ms: AtomicU64,
    jitter_ms: AtomicU64,
    stall_permille: AtomicU64,
}

impl Shape {
    /// Partitions the link.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Ends a partition.
    pub fn heal(&self) {
        self.cut.store(false, Ordering::SeqCst);
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Delays every chunk by `delay_ms` plus up to `jitter_ms`, and stalls
    /// `stall_permille` of them by `STALL_MS` more.
    pub fn degrade(&self, delay_ms: u64, jitter_ms: u64, stall_permille: u64) {
        self.delay_ms.store(delay_ms, Ordering::SeqCst);
        self.jitter_ms.store(jitter_ms, Ordering::SeqCst);
        self.stall_permille.store(stall_permille, Ordering::SeqCst);
    }

    /// Back to a clean link.
    pub fn restore(&self) {
        self.degrade(0, 0, 0);
    }

    fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }

    /// Whether a connection opened at `epoch` must close now.
    fn stale(&self, epoch: u64) -> bool {
        !self.is_cut() && self.epoch.load(Ordering::SeqCst) != epoch
    }

    fn wait_ms(&self, rng: &mut StdRng) -> u64 {
        let jitter = self.jitter_ms.load(Ordering::Relaxed);
        let stall = rng.random_range(0..1_000) < self.stall_permille.load(Ordering::Relaxed);
        self.delay_ms.load(Ordering::Relaxed)
            + if jitter > 0 {
                rng.random_range(0..=jitter)
            } else {
                0
            }
            + if stall { STALL_MS } else { 0 }
    }
}

/// Where a proxy's accepted connections go.
pub struct Target {
    /// The namespace the far end lives in (None: this one).
    pub namespace: Option<Arc<Namespace>>,
    /// Its address there.
    pub addr: SocketAddr,
}

/// Accepts on `listener` forever and forwards each connection to `target`
/// through `shape`. The thread ends with the process.
pub fn spawn(listener: TcpListener, target: Target, shape: Arc<Shape>, seed: u64) {
    let target = Arc::new(target);
    std::thread::spawn(move || {
        for (n, conn) in (0u64..).zip(listener.incoming()) {
            let Ok(conn) = conn else { continue };
            let (target, shape) = (Arc::clone(&target), Arc::clone(&shape));
            let seed = seed.wrapping_mul(1_000_003).wrapping_add(n);
            std::thread::spawn(move || serve(conn, &target, shape, seed));
        }
    });
}

fn connect(target: &Target) -> Result<TcpStream> {
    let dial = || {
        TcpStream::connect_timeout(&target.addr, Duration::from_millis(CONNECT_TIMEOUT_MS))
            .with_context(|| format!("connecting to {}", target.addr))
    };
    match &target.namespace {
        Some(ns) => ns.run(dial),
        None => dial(),
    }
}

fn serve(near: TcpStream, target: &Target, shape: Arc<Shape>, seed: u64) {
    let epoch = shape.epoch.load(Ordering::SeqCst);
    let _ = near.set_nodelay(true);
    if shape.is_cut() {
        // A partitioned link: the dialler's bytes go nowhere until it heals.
        hold(near, &shape, epoch);
        return;
    }
    let Ok(far) = connect(target) else {
        // The far node is down: the dialler sees its connection close.
        return;
    };
    let _ = far.set_nodelay(true);
    let (Ok(near2), Ok(far2)) = (near.try_clone(), far.try_clone()) else {
        return;
    };
    let up = {
        let shape = Arc::clone(&shape);
        std::thread::spawn(move || pump(near, far, &shape, epoch, seed))
    };
    pump(far2, near2, &shape, epoch, seed ^ 0x5eed);
    let _ = up.join();
}

fn hold(mut near: TcpStream, shape: &Shape, epoch: u64) {
    let _ = near.set_read_timeout(Some(Duration::from_millis(POLL_MS)));
    let mut sink = vec![0u8; CHUNK_BYTES];
    while !shape.stale(epoch) {
        match near.read(&mut sink) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let _ = near.shutdown(Shutdown::Both);
}

/// Copies `from` to `to` through the shape until `from` ends, `to` fails or
/// the connection goes stale; then closes that direction.
fn pump(mut from: TcpStream, to: TcpStream, shape: &Arc<Shape>, epoch: u64, seed: u64) {
    let _ = from.set_read_timeout(Some(Duration::from_millis(POLL_MS)));
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let writer = {
        let shape = Arc::clone(shape);
        let mut to = match to.try_clone() {
            Ok(t) => t,
            Err(_) => return,
        };
        std::thread::spawn(move || {
            loop {
                match rx.recv_timeout(Duration::from_millis(POLL_MS)) {
                    Ok((due, bytes)) => {
                        std::thread::sleep(due.saturating_duration_since(Instant::now()));
                        if shape.is_cut() {
                            continue;
                        }
                        if to.write_all(&bytes).is_err() {
                            break;
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) if !shape.stale(epoch) => {}
                    Err(_) => break,
                }
            }
        })
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let mut last_due = Instant::now();
    let mut buf = vec![0u8; CHUNK_BYTES];
    while !shape.stale(epoch) {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) if shape.is_cut() => {
                let _ = n;
            }
            Ok(n) => {
                let due =
                    (Instant::now() + Duration::from_millis(shape.wait_ms(&mut rng))).max(last_due);
                last_due = due;
                if tx.send((due, buf[..n].to_vec())).is_err() {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    drop(tx);
    let _ = writer.join();
    // Close this direction only: the other pump may still carry the far
    // side's last words (an answer sent just before it closed).
    let _ = from.shutdown(Shutdown::Read);
    let _ = to.shutdown(Shutdown::Write);
}
