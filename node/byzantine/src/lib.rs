//! A Byzantine peer, for tests on real processes and for `filiera-faults`.
//!
//! It is what an insider turned attacker can do with a key the network
//! allows: a real libp2p node (real sockets, noise, gossipsub) holding an
//! allow-listed node key (a validator's or a registered observer's) and, for
//! a validator, its consensus key. It learns the height the network is at
//! from the gossip it receives, then, each tick, does what its [`Attack`]s
//! say: floods well-formed blocks that no proposal names (for this height
//! and the next ones), sends bytes that decode as nothing and messages on
//! topics not theirs, forges and replays transactions, asks every peer for
//! the whole chain and for heights that do not exist, signs two conflicting
//! votes in every step and two conflicting proposals where it proposes (true
//! equivocation), and opens TCP connections to the peer ports without end.
//! It forwards gossip without checking it (it relays like a careless peer).
//!
//! Invariants: it never stops on an error of the network it attacks (a
//! refused publish, a closed connection, a ban) — it counts it and goes on
//! until told to stop; everything it sent is counted in its [`Report`], so a
//! test can check that the attack really happened before it trusts a calm
//! result. Its own resources are bounded: [`Config::connections_held_max`]
//! sockets, [`REPLAY_POOL_MAX`] transactions kept for replay.
//!
//! What it is not: a model of every attack. Eclipse attacks need the network
//! between nodes (the harness's proxies do that), and long-range attacks
//! need old keys; neither is here.

pub mod forge;

use filiera_types::{ChainId, PublicKey, SecretKey, SignedTransaction, ValidatorSet, VoteKind};
use filiera_wire::{Gossip, Topic};
use libp2p::{Multiaddr, PeerId};
use serde::Serialize;
use std::collections::{BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Transactions seen in gossip kept to be replayed, at most.
pub const REPLAY_POOL_MAX: usize = 64;
/// Well-signed transactions of a key of no member published per tick.
pub const STRANGER_TXS_PER_TICK: u64 = 8;
/// Transactions replayed per tick, at most.
pub const REPLAYS_PER_TICK_MAX: usize = 8;
/// New connections opened per tick, at most.
pub const CONNECTIONS_PER_TICK_MAX: usize = 16;
/// Ticks between two rounds of greedy sync requests.
pub const SYNC_EVERY_TICKS: u64 = 5;
/// Ticks between two rounds of junk and forged transactions. Each gets the
/// attacker disconnected by the peers that receive it (as it should); the
/// ticks between let it redial and flood with what is only ignored.
pub const JUNK_EVERY_TICKS: u64 = 10;
/// Ticks between two redials of the peers it lost.
pub const REDIAL_EVERY_TICKS: u64 = 5;
/// Longest wait for one TCP connection to open, ms.
const CONNECT_TIMEOUT_MS: u64 = 500;

/// One kind of misbehaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Attack {
    /// Well-formed blocks no proposal names, this height and the next ones.
    Blocks,
    /// Undecodable bytes and messages on the wrong topic.
    Junk,
    /// Transactions with forged signatures, well-signed ones of a key of no
    /// member, and transactions seen in gossip sent again.
    Txs,
    /// Requests for the whole chain and for heights that do not exist.
    Sync,
    /// Two conflicting votes per step, two conflicting proposals where it
    /// is the proposer (needs a validator's consensus key).
    Equivocate,
    /// TCP connections to the peer ports, opened and held without a handshake.
    Connections,
}

impl Attack {
    /// Every attack.
    pub const ALL: [Attack; 6] = [
        Attack::Blocks,
        Attack::Junk,
        Attack::Txs,
        Attack::Sync,
        Attack::Equivocate,
        Attack::Connections,
    ];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Attack::Blocks => "blocks",
            Attack::Junk => "junk",
            Attack::Txs => "txs",
            Attack::Sync => "sync",
            Attack::Equivocate => "equivocate",
            Attack::Connections => "connections",
        }
    }

    /// The attack named `name`.
    pub fn parse(name: &str) -> Result<Attack, ByzantineError> {
        Attack::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| ByzantineError::UnknownAttack(name.to_owned()))
    }
}

/// Who the attacker is and what it does.
#[derive(Clone, Debug)]
pub struct Config {
    /// The chain attacked.
    pub chain_id: ChainId,
    /// Its validator set (to know where the attacker proposes).
    pub validators: ValidatorSet,
    /// Node keys the attacker's network accepts (the validators').
    pub allowed: Vec<PublicKey>,
    /// The allow-listed node key it holds.
    pub p2p_key: SecretKey,
    /// The key it signs with: a validator's consensus key for
    /// [`Attack::Equivocate`], any key otherwise.
    pub signing_key: SecretKey,
    /// Peers to dial (their peer ports), `/ip4/<ip>/tcp/<port>`.
    pub peers: Vec<Multiaddr>,
    /// What it does.
    pub attacks: BTreeSet<Attack>,
    /// Time between two rounds of attacks, ms.
    pub tick_ms: u64,
    /// Sockets held at once by [`Attack::Connections`], at most.
    pub connections_held_max: usize,
}

/// What the attacker did, counted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// The attacks run.
    pub attacks: Vec<Attack>,
    /// Rounds of attacks.
    pub ticks: u64,
    /// First height the network was seen at (0: none seen).
    pub height_first_seen: u64,
    /// Last height seen.
    pub height_last_seen: u64,
    /// Unnamed blocks published.
    pub blocks_published: u64,
    /// Conflicting votes published (two per step).
    pub votes_published: u64,
    /// Conflicting proposals published (two per round it proposes).
    pub proposals_published: u64,
    /// Junk messages published.
    pub junk_published: u64,
    /// Transactions with a forged signature published.
    pub forged_txs_published: u64,
    /// Transactions seen in gossip and published again.
    pub replayed_txs_published: u64,
    /// Well-signed transactions of a key of no member published
    /// ([`forge::stranger_key`]).
    pub stranger_txs_published: u64,
    /// Publishes the network refused (duplicate, no peer to send to).
    pub publish_refused: u64,
    /// Greedy sync requests sent.
    pub sync_requests_sent: u64,
    /// Answers to them received (the node's answer is bounded, or none).
    pub sync_answers: u64,
    /// Requests that failed (refused, timed out, closed).
    pub sync_failures: u64,
    /// TCP connections opened to the peer ports.
    pub connections_opened: u64,
    /// Of them, those the nodes closed.
    pub connections_closed_by_peer: u64,
    /// Most held open at once.
    pub connections_held_max: u64,
    /// Most peers connected at once (libp2p).
    pub peers_connected_max: u64,
    /// Times a peer's last connection to it closed.
    pub peer_disconnections: u64,
    /// Rounds of redialling the peers it lost.
    pub redials: u64,
}

/// Why the attacker could not run.
#[derive(Debug, thiserror::Error)]
pub enum ByzantineError {
    /// No such attack.
    #[error("unknown attack {0:?}; attacks: blocks, junk, txs, sync, equivocate, connections")]
    UnknownAttack(String),
    /// The network could not start.
    #[error("network: {0}")]
    Network(#[from] filiera_p2p::NetworkError),
    /// A message could not be made.
    #[error(transparent)]
    Forge(#[from] forge::ForgeError),
    /// The runtime could not start.
    #[error("runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// What the attacker learns from the network while it attacks.
#[derive(Default)]
struct Seen {
    height: u64,
    peers: BTreeSet<PeerId>,
    txs: VecDeque<SignedTransaction>,
    report: Report,
}

/// Runs the attacks until `stop`, on a runtime of its own (one thread).
pub fn run_blocking(config: Config, stop: &AtomicBool) -> Result<Report, ByzantineError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(config, stop))
}

/// Runs the attacks until `stop`.
pub async fn run(config: Config, stop: &AtomicBool) -> Result<Report, ByzantineError> {
    use filiera_p2p::{Network, NetworkConfig};
    let (network, mut events) = Network::start(NetworkConfig {
        node_key_seed: config.p2p_key.to_seed(),
        listen: "/ip4/127.0.0.1/tcp/0"
            .parse()
            .map_err(|_| ByzantineError::Runtime(std::io::ErrorKind::InvalidInput.into()))?,
        bootstrap: config.peers.clone(),
        allowed: config.allowed.clone(),
        // A careless relay: what it receives goes on unchecked.
        validate_gossip: false,
        connection_limits: Default::default(),
    })?;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let listener = {
        let seen = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                learn(&seen, event);
            }
        })
    };
    let mut attacker = Attacker {
        config,
        network,
        seen: Arc::clone(&seen),
        held: Vec::new(),
        last_sync_tick: None,
        report: Report::default(),
    };
    attacker.report.attacks = attacker.config.attacks.iter().copied().collect();
    while !stop.load(Ordering::Relaxed) {
        attacker.tick().await?;
        tokio::time::sleep(Duration::from_millis(attacker.config.tick_ms)).await;
    }
    listener.abort();
    let mut report = attacker.report;
    let learned = lock(&seen);
    report.height_last_seen = learned.height;
    report.sync_answers = learned.report.sync_answers;
    report.sync_failures = learned.report.sync_failures;
    report.peers_connected_max = learned.report.peers_connected_max;
    report.peer_disconnections = learned.report.peer_disconnections;
    Ok(report)
}

fn lock(seen: &Mutex<Seen>) -> std::sync::MutexGuard<'_, Seen> {
    // A panic elsewhere cannot leave counters half-written in a way that
    // matters to an attacker: take them as they are.
    seen.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Updates what the attacker knows from one event.
fn learn(seen: &Mutex<Seen>, event: filiera_p2p::NetworkEvent) {
    use filiera_p2p::NetworkEvent;
    let mut s = lock(seen);
    match event {
        NetworkEvent::Message { data, .. } => match Gossip::decode(&data) {
            Ok(Gossip::Block(b)) => s.height = s.height.max(b.block.header.height),
            Ok(Gossip::Consensus(bytes)) => {
                if let Ok(input) = filiera_consensus::NetworkInput::decode(&bytes) {
                    s.height = s.height.max(input.height());
                }
            }
            Ok(Gossip::Tx(tx)) => keep_for_replay(&mut s.txs, tx),
            Ok(Gossip::Txs(txs)) => txs
                .into_iter()
                .for_each(|tx| keep_for_replay(&mut s.txs, tx)),
            Err(_) => {}
        },
        NetworkEvent::Connected(p) => {
            s.peers.insert(p);
            s.report.peers_connected_max = s.report.peers_connected_max.max(s.peers.len() as u64);
        }
        NetworkEvent::Disconnected(p) => {
            s.peers.remove(&p);
            s.report.peer_disconnections += 1;
        }
        NetworkEvent::SyncResponse { data, .. } => {
            s.report.sync_answers += 1;
            if let Ok(answer) = filiera_wire::SyncResponse::decode(&data)
                && let Some((block, _)) = answer.blocks.last()
            {
                // The block after the last decided one is being decided.
                s.height = s.height.max(block.header.height + 1);
            }
        }
        NetworkEvent::SyncFailed(_) => s.report.sync_failures += 1,
        NetworkEvent::SyncRequest { .. } | NetworkEvent::Listening(_) => {}
    }
}

fn keep_for_replay(pool: &mut VecDeque<SignedTransaction>, tx: SignedTransaction) {
    if pool.len() == REPLAY_POOL_MAX {
        pool.pop_front();
    }
    pool.push_back(tx);
}

struct Attacker {
    config: Config,
    network: filiera_p2p::Network,
    seen: Arc<Mutex<Seen>>,
    held: Vec<tokio::net::TcpStream>,
    last_sync_tick: Option<u64>,
    report: Report,
}

impl Attacker {
    async fn tick(&mut self) -> Result<(), ByzantineError> {
        self.report.ticks += 1;
        let (height, peers, replays) = {
            let s = lock(&self.seen);
            let replays: Vec<SignedTransaction> =
                s.txs.iter().take(REPLAYS_PER_TICK_MAX).cloned().collect();
            (s.height, s.peers.clone(), replays)
        };
        if self.report.height_first_seen == 0 {
            self.report.height_first_seen = height;
        }
        let attacks = self.config.attacks.clone();
        let ticks = self.report.ticks;
        if peers.len() < self.config.peers.len() && ticks.is_multiple_of(REDIAL_EVERY_TICKS) {
            self.report.redials += 1;
            for addr in self.config.peers.clone() {
                let _ = self.network.dial(addr).await;
            }
        }
        // Before the first height is seen, only what needs no height.
        if height > 0 {
            if attacks.contains(&Attack::Blocks) {
                self.blocks(height).await;
            }
            if attacks.contains(&Attack::Equivocate) {
                self.equivocate(height).await?;
            }
        }
        if ticks.is_multiple_of(JUNK_EVERY_TICKS) {
            if attacks.contains(&Attack::Junk) {
                self.junk(height).await?;
            }
            if attacks.contains(&Attack::Txs) {
                self.forged_tx().await?;
            }
        }
        if attacks.contains(&Attack::Txs) {
            self.replay(replays).await;
            self.stranger_txs().await?;
        }
        let sync_due = self
            .last_sync_tick
            .is_none_or(|t| ticks >= t + SYNC_EVERY_TICKS);
        if attacks.contains(&Attack::Sync) && sync_due && !peers.is_empty() {
            self.last_sync_tick = Some(ticks);
            for peer in peers {
                for request in forge::greedy_sync_requests(height) {
                    if self.network.request(peer, request).await.is_ok() {
                        self.report.sync_requests_sent += 1;
                    }
                }
            }
        }
        if attacks.contains(&Attack::Connections) {
            self.connections().await;
        }
        Ok(())
    }

    /// Publishes; true when the network took it.
    async fn publish(&mut self, topic: Topic, data: Vec<u8>) -> bool {
        let ok = self.network.publish(topic, data).await.is_ok();
        if !ok {
            self.report.publish_refused += 1;
        }
        ok
    }

    async fn blocks(&mut self, height: u64) {
        let me = self.config.signing_key.public_key().address();
        for ahead in 0..forge::BLOCK_HEIGHTS_AHEAD {
            for k in 0..forge::BLOCKS_PER_HEIGHT {
                let salt = self.report.ticks * 1_000 + ahead * 100 + k;
                let block = forge::unnamed_block(&self.config.chain_id, me, height + ahead, salt);
                if self.publish(Topic::Blocks, block.encode()).await {
                    self.report.blocks_published += 1;
                }
            }
        }
    }

    async fn equivocate(&mut self, height: u64) -> Result<(), ByzantineError> {
        for h in height..height + 2 {
            for round in 0..forge::EQUIVOCATION_ROUNDS {
                if let Some(pair) = forge::conflicting_proposals(
                    &self.config.chain_id,
                    &self.config.signing_key,
                    &self.config.validators,
                    h,
                    round,
                )? {
                    for p in pair {
                        if self.publish(Topic::Consensus, p).await {
                            self.report.proposals_published += 1;
                        }
                    }
                }
                for kind in [VoteKind::Prevote, VoteKind::Precommit] {
                    let pair = forge::conflicting_votes(
                        &self.config.chain_id,
                        &self.config.signing_key,
                        kind,
                        h,
                        round,
                    )?;
                    for v in pair {
                        if self.publish(Topic::Consensus, v).await {
                            self.report.votes_published += 1;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    async fn junk(&mut self, height: u64) -> Result<(), ByzantineError> {
        let [vote, _] = forge::conflicting_votes(
            &self.config.chain_id,
            &self.config.signing_key,
            VoteKind::Prevote,
            height.max(1),
            u32::MAX,
        )?;
        let me = self.config.signing_key.public_key().address();
        let block =
            forge::unnamed_block(&self.config.chain_id, me, height.max(1), u64::MAX).encode();
        for (topic, data) in forge::junk(self.report.ticks, &vote, &block) {
            if self.publish(topic, data).await {
                self.report.junk_published += 1;
            }
        }
        Ok(())
    }

    async fn forged_tx(&mut self) -> Result<(), ByzantineError> {
        let forged = forge::forged_transaction(
            &self.config.chain_id,
            &self.config.signing_key,
            self.report.ticks,
        )?;
        if self.publish(Topic::Transactions, forged.encode()).await {
            self.report.forged_txs_published += 1;
        }
        Ok(())
    }

    async fn stranger_txs(&mut self) -> Result<(), ByzantineError> {
        let first = self.report.ticks * STRANGER_TXS_PER_TICK;
        let txs =
            forge::stranger_transactions(&self.config.chain_id, first, STRANGER_TXS_PER_TICK)?;
        if self.publish(Topic::Transactions, txs.encode()).await {
            self.report.stranger_txs_published += STRANGER_TXS_PER_TICK;
        }
        Ok(())
    }

    async fn replay(&mut self, replays: Vec<SignedTransaction>) {
        if replays.is_empty() {
            return;
        }
        let n = replays.len() as u64;
        // Batched, rotated, so gossipsub's duplicate filter sees a new message.
        let mut batch = replays;
        batch.rotate_left((self.report.ticks % n) as usize);
        if self
            .publish(Topic::Transactions, Gossip::Txs(batch).encode())
            .await
        {
            self.report.replayed_txs_published += n;
        }
    }

    /// Drops the sockets the nodes closed, opens new ones up to the bound.
    async fn connections(&mut self) {
        let before = self.held.len();
        self.held.retain(|s| {
            let mut byte = [0u8; 1];
            // Open: nothing to read yet. Closed: end of stream or an error.
            matches!(s.try_read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        });
        self.report.connections_closed_by_peer += (before - self.held.len()) as u64;
        let targets: Vec<SocketAddr> = self.config.peers.iter().filter_map(socket_addr).collect();
        if targets.is_empty() {
            return;
        }
        for k in 0..CONNECTIONS_PER_TICK_MAX {
            if self.held.len() >= self.config.connections_held_max {
                break;
            }
            let target = targets[k % targets.len()];
            let connect = tokio::net::TcpStream::connect(target);
            if let Ok(Ok(stream)) =
                tokio::time::timeout(Duration::from_millis(CONNECT_TIMEOUT_MS), connect).await
            {
                self.held.push(stream);
                self.report.connections_opened += 1;
            }
        }
        self.report.connections_held_max =
            self.report.connections_held_max.max(self.held.len() as u64);
    }
}

/// The socket address of `/ip4/<ip>/tcp/<port>`.
pub fn socket_addr(addr: &Multiaddr) -> Option<SocketAddr> {
    use libp2p::multiaddr::Protocol;
    let mut ip = None;
    let mut port = None;
    for p in addr.iter() {
        match p {
            Protocol::Ip4(a) => ip = Some(std::net::IpAddr::V4(a)),
            Protocol::Ip6(a) => ip = Some(std::net::IpAddr::V6(a)),
            Protocol::Tcp(p) => port = Some(p),
            _ => {}
        }
    }
    Some(SocketAddr::new(ip?, port?))
}
