//! The driver's thread: one event at a time, timers kept here, effects sent
//! to the network task. Blocking work (execution, RocksDB, WAL fsync) stays
//! off the async runtime.
//!
//! Two lanes feed it: consensus traffic (votes, proposals, blocks, sync
//! answers, peers, stop) and bulk traffic (transactions from clients and
//! gossip). Due timers come first, then the consensus lane, then bulk: a
//! transaction flood fills its own lane (and is answered "busy" there)
//! without delaying a vote by the length of its queue.

use crate::{Effect, Event, NodeDriver};
use crossbeam_channel::Receiver;
use filiera_consensus::Timer as ConsensusTimer;
use filiera_driver::Fatal;
use filiera_p2p::Network;
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Period of the driver's housekeeping tick, ms.
pub const TICK_MS: u64 = 500;

/// What reaches the driver's thread.
#[derive(Debug)]
// `Stop` comes once; boxing every event to shrink it would cost more.
#[allow(clippy::large_enum_variant)]
pub enum Inbox {
    /// An event for the driver.
    Event(Event),
    /// Stop after the event in progress.
    Stop,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Timer {
    Consensus(ConsensusTimer),
    Build { height: u64, round: u32 },
    FlushTxs,
    Tick,
}

/// Milliseconds since the Unix epoch: the only clock reading of the node's core path.
pub fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The driver's two lanes (see the module docs).
pub struct Lanes {
    /// Consensus traffic and `Stop`: read first.
    pub urgent: Receiver<Inbox>,
    /// Transactions (clients, gossip).
    pub bulk: Receiver<Inbox>,
}

/// Runs the driver until `Stop`, the inbox closes, `halt_height` is
/// committed, or a fatal error.
pub fn run(
    mut driver: NodeDriver,
    initial: Vec<Effect>,
    Lanes { urgent, bulk }: Lanes,
    network: Network,
    runtime: tokio::runtime::Handle,
    (observers, allowed_peers): (
        Vec<filiera_types::PublicKey>,
        std::sync::Arc<std::sync::RwLock<Vec<filiera_types::PublicKey>>>,
    ),
    halt_height: Option<u64>,
) -> Result<(), Fatal> {
    let mut timers: BTreeMap<(Instant, u64), Timer> = BTreeMap::new();
    let mut seq = 0u64;
    let mut add = |timers: &mut BTreeMap<(Instant, u64), Timer>, after_ms: u64, t: Timer| {
        seq += 1;
        timers.insert((Instant::now() + Duration::from_millis(after_ms), seq), t);
    };
    add(&mut timers, TICK_MS, Timer::Tick);
    let mut effects = initial;
    loop {
        for effect in effects.drain(..) {
            match effect {
                Effect::Schedule(t, ms) => add(&mut timers, ms, Timer::Consensus(t)),
                Effect::Cancel(t) => timers.retain(|_, x| *x != Timer::Consensus(t)),
                Effect::CancelAll => timers.retain(|_, x| !matches!(x, Timer::Consensus(_))),
                Effect::BuildAfter {
                    height,
                    round,
                    delay_ms,
                } => add(&mut timers, delay_ms, Timer::Build { height, round }),
                Effect::FlushTxsAfter(delay_ms) => add(&mut timers, delay_ms, Timer::FlushTxs),
                Effect::Gossip(topic, data) => {
                    if let Err(e) = runtime.block_on(network.publish(topic, data)) {
                        tracing::warn!(error = %e, "gossip not sent");
                    }
                }
                Effect::Request(peer, data) => {
                    let _ = runtime.block_on(network.request(peer, data));
                }
                Effect::Respond(id, data) => {
                    let _ = runtime.block_on(network.respond(id, data));
                }
                Effect::AllowValidators(mut keys) => {
                    keys.extend(observers.iter().copied());
                    if let Ok(mut peers) = allowed_peers.write() {
                        peers.clone_from(&keys);
                    }
                    if let Err(e) = runtime.block_on(network.set_allowed(&keys)) {
                        tracing::error!(error = %e, "allow list not updated");
                    }
                }
                Effect::Validate(id, peer, verdict) => network.validate(id, peer, verdict),
                Effect::Disconnect(peer) => {
                    let _ = runtime.block_on(network.disconnect(peer));
                }
            }
        }
        let now = Instant::now();
        let due = timers
            .first_key_value()
            .filter(|((at, _), _)| *at <= now)
            .map(|(k, t)| (*k, *t));
        let event = if let Some((key, timer)) = due {
            timers.remove(&key);
            match timer {
                Timer::Consensus(t) => Event::Timeout(t),
                Timer::Build { height, round } => Event::Build { height, round },
                Timer::FlushTxs => Event::FlushTxs,
                Timer::Tick => {
                    add(&mut timers, TICK_MS, Timer::Tick);
                    Event::Tick
                }
            }
        } else {
            let wait = timers
                .first_key_value()
                .map_or(Duration::from_millis(TICK_MS), |((at, _), _)| {
                    at.saturating_duration_since(now)
                });
            let received = match urgent.try_recv() {
                Ok(m) => Some(Ok(m)),
                Err(_) => crossbeam_channel::select_biased! {
                    recv(urgent) -> m => Some(m),
                    recv(bulk) -> m => Some(m),
                    default(wait) => None,
                },
            };
            match received {
                Some(Ok(Inbox::Event(e))) => e,
                // Stopped, or every sender gone (the node is shutting down).
                Some(Ok(Inbox::Stop)) | Some(Err(_)) => return Ok(()),
                None => continue,
            }
        };
        effects = driver.handle(event, wall_ms())?;
        if let Some(halt) = halt_height
            && driver.height() > halt
        {
            // Committed and in the WAL's past: stopping here loses nothing.
            tracing::warn!(
                height = halt,
                "halt_height reached: stopping for the upgrade"
            );
            return Ok(());
        }
    }
}
