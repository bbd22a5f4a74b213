//! The seeded simulation: the node's real `Driver`, with the real chain
//! (RocksDB in a temporary directory, wasmtime, signatures), on a simulated
//! network (delays, drops, partitions), clock and WAL disk (kept across
//! crashes). One seed, one run: every random choice comes from it.
//!
//! Byzantine actors: a validator that runs an honest driver and also signs a
//! conflicting vote for every vote it casts (sent to some of the others),
//! floods unnamed blocks for this height and the next two, sends junk,
//! wrong-topic and forged gossip and asks for the whole chain; an allow-listed
//! observer that does the same without a validator key.

use crate::parts::{self, BLOCK_INTERVAL_MS, GENESIS_MS, key};
use filiera_chain::Chain;
use filiera_consensus::{NetworkInput, TimeoutsMs, Timer, wal};
use filiera_driver::{
    Broken, ConsensusLog, Driver, DriverParts, Effect, Event, Mempool, MempoolLimits, Metrics,
    Pacing, Recovered, Verified,
};
use filiera_types::block::{Block, Header};
use filiera_types::{Hash, Vote, sys_keys};
use filiera_wire::{Gossip, MessageId, PeerEvent, ProposedBlock, SyncRequest, Topic, Verdict};
use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

/// A simulated peer: validators are `0..n`, the observer is [`OBSERVER`].
pub type PeerNo = u16;
/// The Byzantine observer's peer number.
pub const OBSERVER: PeerNo = 100;
/// Period of a node's housekeeping tick, ms (the runner's).
const TICK_MS: u64 = 500;
/// The producer submits a transaction this often, ms.
const SUBMIT_EVERY_MS: u64 = 150;
/// A Byzantine actor attacks this often, ms.
const ATTACK_EVERY_MS: u64 = 100;

/// splitmix64: small, seeded, and the same everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

/// What goes wrong in a run. Faults end at `faults_end_ms`; liveness is
/// checked after.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Each message takes 1 to this many ms.
    pub delay_ms_max: u64,
    /// Messages lost, per thousand.
    pub drop_per_mille: u64,
    /// Nodes on one side of a partition, from and until (ms).
    pub partition: Option<(Vec<usize>, u64, u64)>,
    /// Nodes down from and until (ms): crash, then restart from store and WAL.
    pub crashes: Vec<(usize, u64, u64)>,
    /// Byzantine validators (each equivocates and floods).
    pub byzantine: Vec<usize>,
    /// A Byzantine observer floods.
    pub observer: bool,
    /// Validators that run twice (two drivers with one key, each an honest
    /// driver), one copy on each side of a split of the honest nodes until
    /// `twins_until_ms`, when the second copies stop: more than a third
    /// equivocating so as to decide two blocks, as the Twins method
    /// (Bano et al., 2020) tests BFT protocols. The copies are nodes
    /// `validators..`, in this order.
    pub twins: Vec<usize>,
    /// The split's end, ms.
    pub twins_until_ms: u64,
}

/// The WAL's disk: survives a node's crash.
#[derive(Default)]
struct WalDisk {
    height: u64,
    records: Vec<Vec<u8>>,
}

/// The driver's WAL on the simulated disk: durable at once.
pub struct MemWal(Rc<RefCell<WalDisk>>);

impl ConsensusLog for MemWal {
    fn append(&mut self, record: &[u8]) -> Result<(), Broken> {
        self.0.borrow_mut().records.push(record.to_vec());
        Ok(())
    }
    fn reset(&mut self, height: u64) -> Result<(), Broken> {
        let mut disk = self.0.borrow_mut();
        disk.height = height;
        disk.records.clear();
        Ok(())
    }
}

type SimDriver = Driver<Chain, MemWal, PeerNo>;

pub struct SimNode {
    pub driver: Option<SimDriver>,
    /// Which validator's key (`key(key_no)`): a twin's copy shares its twin's.
    key_no: u8,
    dir: PathBuf,
    disk: Rc<RefCell<WalDisk>>,
    generation: u64,
    timers: Vec<(Timer, u64)>,
    pub metrics: Option<Arc<Metrics>>,
}

enum What {
    Deliver(PeerEvent<PeerNo>),
    Timer(Timer, u64),
    Build { height: u64, round: u32 },
    Flush,
    Tick,
    Submit,
    Attack(PeerNo),
    Crash(usize),
    Restart(usize),
}

struct Scheduled {
    at: u64,
    seq: u64,
    node: usize,
    generation: Option<u64>,
    what: What,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

pub struct Sim {
    pub seed: u64,
    /// Validators at genesis (nodes beyond are twins' copies).
    validators: usize,
    rng: Rng,
    pub nodes: Vec<SimNode>,
    pub faults: Faults,
    pub now_ms: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<Scheduled>>,
    genesis: filiera_types::Genesis,
    cache: PathBuf,
    _tmp: tempfile::TempDir,
    /// Sync requests in flight: ticket to asker.
    asked: BTreeMap<u64, usize>,
    next_nonce: u64,
    /// Honest nodes disconnecting or rejecting honest peers: must stay empty.
    pub blamed_honest: Vec<String>,
    /// Messages the Byzantine actors sent.
    pub attacks: u64,
    /// Conflicting votes the Byzantine validator signed.
    pub double_votes: u64,
    /// At each crash and restart: (ms, the highest height an up node committed).
    pub heights_at_faults: Vec<(u64, u64)>,
}

fn to_driver_ms(sim_ms: u64) -> u64 {
    GENESIS_MS + 1_000 + sim_ms
}

impl Sim {
    /// `validators` nodes at genesis, their compiled contracts cached in `cache`.
    pub fn new(seed: u64, validators: u8, faults: Faults, cache: &std::path::Path) -> Sim {
        let tmp = tempfile::tempdir().unwrap();
        let genesis = parts::genesis(validators);
        let mut sim = Sim {
            seed,
            validators: usize::from(validators),
            rng: Rng::new(seed),
            nodes: Vec::new(),
            faults,
            now_ms: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            genesis,
            cache: cache.to_owned(),
            asked: BTreeMap::new(),
            next_nonce: 0,
            blamed_honest: Vec::new(),
            attacks: 0,
            double_votes: 0,
            heights_at_faults: Vec::new(),
            _tmp: tmp,
        };
        let copies: Vec<u8> = sim.faults.twins.iter().map(|t| *t as u8 + 1).collect();
        let key_nos: Vec<u8> = (1..=validators).chain(copies).collect();
        for (i, key_no) in key_nos.into_iter().enumerate() {
            let dir = sim._tmp.path().join(format!("node{i}"));
            std::fs::create_dir_all(&dir).unwrap();
            sim.nodes.push(SimNode {
                driver: None,
                key_no,
                dir,
                disk: Rc::default(),
                generation: 0,
                timers: Vec::new(),
                metrics: None,
            });
            sim.start_node(i);
        }
        for (node, down, up) in sim.faults.crashes.clone() {
            sim.at(down, node, None, What::Crash(node));
            sim.at(up, node, None, What::Restart(node));
        }
        for copy in sim.validators..sim.nodes.len() {
            sim.at(sim.faults.twins_until_ms, copy, None, What::Crash(copy));
        }
        sim.at(SUBMIT_EVERY_MS, 0, None, What::Submit);
        for b in sim.faults.byzantine.clone() {
            sim.at(ATTACK_EVERY_MS, b, None, What::Attack(b as PeerNo));
        }
        if sim.faults.observer {
            sim.at(ATTACK_EVERY_MS, 0, None, What::Attack(OBSERVER));
        }
        sim
    }

    fn at(&mut self, at: u64, node: usize, generation: Option<u64>, what: What) {
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at,
            seq: self.seq,
            node,
            generation,
            what,
        }));
    }

    fn start_node(&mut self, i: usize) {
        let chain = parts::open_chain(&self.nodes[i].dir, &self.cache, &self.genesis);
        let metrics = Arc::new(Metrics::new().unwrap());
        let disk = self.nodes[i].disk.clone();
        let recovered = {
            let d = disk.borrow();
            Recovered {
                log: MemWal(disk.clone()),
                height: d.height,
                records: d.records.clone(),
            }
        };
        let parts = DriverParts {
            chain,
            key: key(self.nodes[i].key_no),
            timeouts: TimeoutsMs {
                propose_ms: 1_000,
                prevote_ms: 500,
                precommit_ms: 500,
                delta_ms: 250,
            },
            wal: recovered,
            mempool: Mempool::new(MempoolLimits::default()),
            pacing: Pacing {
                block_interval_ms: BLOCK_INTERVAL_MS,
            },
            metrics: metrics.clone(),
            halt_height: None,
        };
        let (driver, effects) = SimDriver::start(parts, to_driver_ms(self.now_ms)).unwrap();
        let node = &mut self.nodes[i];
        node.driver = Some(driver);
        node.metrics = Some(metrics);
        node.timers.clear();
        let generation = node.generation;
        self.at(self.now_ms + TICK_MS, i, Some(generation), What::Tick);
        self.carry_out(i, effects);
        // Peers learn of each other as on the network.
        for j in 0..self.nodes.len() {
            if j != i && self.nodes[j].driver.is_some() {
                self.feed(j, Event::Network(PeerEvent::Connected(i as PeerNo)));
                self.feed(i, Event::Network(PeerEvent::Connected(j as PeerNo)));
            }
        }
    }

    fn is_honest(&self, peer: PeerNo) -> bool {
        let i = usize::from(peer);
        i < self.validators
            && !self.faults.byzantine.contains(&i)
            && !self.faults.twins.contains(&i)
    }

    fn linked(&self, from: PeerNo, to: usize) -> bool {
        if self.nodes[to].driver.is_none() {
            return false;
        }
        let Some((side, start, end)) = &self.faults.partition else {
            return true;
        };
        if self.now_ms < *start || self.now_ms >= *end || usize::from(from) >= self.nodes.len() {
            return true;
        }
        side.contains(&usize::from(from)) == side.contains(&to)
    }

    /// Sends `event` from `from` to `to` after a random delay, unless lost.
    fn send(&mut self, from: PeerNo, to: usize, event: PeerEvent<PeerNo>) {
        let faults_on = self.now_ms < self.faults_end_ms();
        if faults_on && self.rng.below(1_000) < self.faults.drop_per_mille {
            return;
        }
        if !self.linked(from, to) {
            return;
        }
        let delay = 1 + self.rng.below(self.faults.delay_ms_max.max(1));
        self.at(self.now_ms + delay, to, None, What::Deliver(event));
    }

    fn gossip(&mut self, from: PeerNo, topic: Topic, data: Vec<u8>, to: &[usize]) {
        for &j in to {
            if j as PeerNo == from {
                continue;
            }
            self.seq += 1;
            let id = MessageId(self.seq.to_le_bytes().to_vec());
            let event = PeerEvent::Message {
                topic,
                from,
                id,
                data: data.clone(),
            };
            self.send(from, j, event);
        }
    }

    pub fn faults_end_ms(&self) -> u64 {
        let mut end = 0;
        if let Some((_, _, until)) = &self.faults.partition {
            end = end.max(*until);
        }
        for (_, _, up) in &self.faults.crashes {
            end = end.max(*up);
        }
        end = end.max(self.faults.twins_until_ms);
        end.max(self.attack_end_ms())
    }

    /// Byzantine actors and message faults stop then.
    pub fn attack_end_ms(&self) -> u64 {
        if !self.faults.byzantine.is_empty()
            || self.faults.observer
            || self.faults.drop_per_mille > 0
        {
            10_000
        } else {
            0
        }
    }

    fn feed(&mut self, i: usize, event: Event<PeerNo>) {
        let Some(driver) = self.nodes[i].driver.as_mut() else {
            return;
        };
        let effects = driver
            .handle(event, to_driver_ms(self.now_ms))
            .unwrap_or_else(|e| {
                panic!("seed {}: node {i} stopped: {e}", self.seed);
            });
        self.carry_out(i, effects);
    }

    fn carry_out(&mut self, i: usize, effects: Vec<Effect<PeerNo>>) {
        let generation = self.nodes[i].generation;
        let everyone: Vec<usize> = (0..self.nodes.len()).collect();
        for effect in effects {
            match effect {
                Effect::Gossip(topic, data) => {
                    if self.faults.byzantine.contains(&i) && topic == Topic::Consensus {
                        self.equivocate(i, &data);
                    }
                    self.gossip(i as PeerNo, topic, data, &everyone);
                }
                Effect::Request(peer, data) => {
                    self.seq += 1;
                    let ticket = self.seq;
                    let to = usize::from(peer);
                    if to < self.nodes.len() {
                        self.asked.insert(ticket, i);
                        let event = PeerEvent::SyncRequest {
                            from: i as PeerNo,
                            id: ticket,
                            data,
                        };
                        self.send(i as PeerNo, to, event);
                    }
                }
                Effect::Respond(ticket, data) => {
                    if let Some(asker) = self.asked.remove(&ticket) {
                        let event = PeerEvent::SyncResponse {
                            from: i as PeerNo,
                            data,
                        };
                        self.send(i as PeerNo, asker, event);
                    }
                }
                Effect::Disconnect(peer) => {
                    if self.is_honest(peer) && self.is_honest(i as PeerNo) {
                        self.blamed_honest.push(format!(
                            "node {i} disconnected node {peer} at {} ms",
                            self.now_ms
                        ));
                    }
                }
                Effect::Validate(_, peer, Verdict::Reject) => {
                    if self.is_honest(peer) && self.is_honest(i as PeerNo) {
                        self.blamed_honest.push(format!(
                            "node {i} rejected a message of node {peer} at {} ms",
                            self.now_ms
                        ));
                    }
                }
                Effect::Validate(..) | Effect::AllowValidators(_) => {}
                Effect::Schedule(timer, ms) => {
                    self.seq += 1;
                    let id = self.seq;
                    self.nodes[i].timers.push((timer, id));
                    self.at(
                        self.now_ms + ms,
                        i,
                        Some(generation),
                        What::Timer(timer, id),
                    );
                }
                Effect::Cancel(timer) => self.nodes[i].timers.retain(|(t, _)| *t != timer),
                Effect::CancelAll => self.nodes[i].timers.clear(),
                Effect::BuildAfter {
                    height,
                    round,
                    delay_ms,
                } => self.at(
                    self.now_ms + delay_ms,
                    i,
                    Some(generation),
                    What::Build { height, round },
                ),
                Effect::FlushTxsAfter(ms) => {
                    self.at(self.now_ms + ms, i, Some(generation), What::Flush)
                }
            }
        }
    }

    /// The Byzantine validator signs a second vote for each vote it casts
    /// (nil for a block, a block that does not exist for nil) and sends it
    /// to a random half of the others.
    fn equivocate(&mut self, i: usize, data: &[u8]) {
        if self.now_ms >= self.attack_end_ms() {
            return;
        }
        let Ok(Gossip::Consensus(bytes)) = Gossip::decode(data) else {
            return;
        };
        let Some(vote) = NetworkInput::decode(&bytes).ok().and_then(|i| i.vote()) else {
            return;
        };
        let other = Vote {
            block_hash: match vote.vote.block_hash {
                Some(_) => None,
                None => Some(Hash([0xee; 32])),
            },
            ..vote.vote
        }
        .sign(parts::CHAIN, &key(i as u8 + 1))
        .unwrap();
        let bytes = wal::encode_signed_vote(&other).unwrap();
        let to: Vec<usize> = (0..self.nodes.len())
            .filter(|&j| j != i && self.rng.below(2) == 0)
            .collect();
        self.double_votes += 1;
        self.gossip(
            i as PeerNo,
            Topic::Consensus,
            Gossip::Consensus(bytes).encode(),
            &to,
        );
    }

    /// One round of a Byzantine actor's flood.
    fn attack(&mut self, from: PeerNo) {
        let honest: Vec<usize> = (0..self.nodes.len())
            .filter(|&j| self.is_honest(j as PeerNo))
            .collect();
        let height = honest
            .iter()
            .filter_map(|&j| self.nodes[j].driver.as_ref().map(Driver::height))
            .max()
            .unwrap_or(1);
        let proposer = key(from.min(250) as u8 + 1).public_key().address();
        for ahead in 0..3 {
            let n = self.rng.next();
            let header = Header {
                version: 1,
                chain_id: self.genesis.chain_id.clone(),
                height: height + ahead,
                time_ms: to_driver_ms(self.now_ms),
                parent_hash: Hash([7; 32]),
                txs_root: Block::compute_txs_root(&[]),
                receipts_root: Hash(n.to_le_bytes().repeat(4).try_into().unwrap()),
                state_root: Hash([ahead as u8; 32]),
                validator_set_hash: Hash([0; 32]),
                next_validator_set_hash: Hash([0; 32]),
                proposer,
            };
            let block = ProposedBlock {
                round: 0,
                valid_round: None,
                proposer,
                block: Block {
                    header,
                    txs: vec![],
                },
            };
            self.gossip(from, Topic::Blocks, Gossip::Block(block).encode(), &honest);
        }
        // Junk, a message on the wrong topic, a forged transaction, a sync
        // request for everything.
        let junk: Vec<u8> = (0..64).map(|_| self.rng.next() as u8).collect();
        self.gossip(from, Topic::Consensus, junk, &honest);
        let mut forged = parts::commission(1_000_000 + self.rng.below(1_000));
        forged.signature.0[0] ^= 1;
        self.gossip(
            from,
            Topic::Blocks,
            Gossip::Tx(forged.clone()).encode(),
            &honest,
        );
        self.gossip(
            from,
            Topic::Transactions,
            Gossip::Tx(forged).encode(),
            &honest,
        );
        let target = honest[self.rng.below(honest.len() as u64) as usize];
        self.seq += 1;
        let everything = SyncRequest {
            from_height: 1,
            count: u32::MAX,
        };
        self.send(
            from,
            target,
            PeerEvent::SyncRequest {
                from,
                id: self.seq,
                data: everything.encode(),
            },
        );
        self.attacks += 7;
    }

    /// Runs until every node is past `height` once the faults ended, or `deadline_ms`.
    pub fn run(&mut self, deadline_ms: u64, height: u64) {
        while let Some(Reverse(s)) = self.queue.pop() {
            if s.at > deadline_ms {
                // Kept, so that a later `run` goes on from here.
                self.queue.push(Reverse(s));
                break;
            }
            self.now_ms = s.at;
            let node = s.node;
            if let Some(generation) = s.generation
                && (self.nodes[node].generation != generation || self.nodes[node].driver.is_none())
            {
                continue;
            }
            match s.what {
                What::Deliver(event) => self.feed(node, Event::Network(event)),
                What::Timer(timer, id) => {
                    let timers = &mut self.nodes[node].timers;
                    if let Some(at) = timers.iter().position(|x| *x == (timer, id)) {
                        timers.remove(at);
                        self.feed(node, Event::Timeout(timer));
                    }
                }
                What::Build { height, round } => self.feed(node, Event::Build { height, round }),
                What::Flush => self.feed(node, Event::FlushTxs),
                What::Tick => {
                    let generation = self.nodes[node].generation;
                    self.at(self.now_ms + TICK_MS, node, Some(generation), What::Tick);
                    self.feed(node, Event::Tick);
                }
                What::Submit => {
                    let tx = parts::commission(self.next_nonce);
                    self.next_nonce += 1;
                    for j in 0..self.nodes.len() {
                        if self.nodes[j].driver.is_some() {
                            let verified = Verified::check(tx.clone()).unwrap();
                            self.feed(j, Event::Submit(verified, Box::new(|_| {})));
                        }
                    }
                    if self.next_nonce < 40 {
                        self.at(self.now_ms + SUBMIT_EVERY_MS, 0, None, What::Submit);
                    }
                }
                What::Attack(from) => {
                    if self.now_ms < self.attack_end_ms() {
                        self.attack(from);
                        self.at(
                            self.now_ms + ATTACK_EVERY_MS,
                            node,
                            None,
                            What::Attack(from),
                        );
                    }
                }
                What::Crash(i) => {
                    self.note_heights();
                    let n = &mut self.nodes[i];
                    n.driver = None;
                    n.generation += 1;
                    n.timers.clear();
                    for j in 0..self.nodes.len() {
                        if j != i {
                            self.feed(j, Event::Network(PeerEvent::Disconnected(i as PeerNo)));
                        }
                    }
                }
                What::Restart(i) => {
                    self.note_heights();
                    self.start_node(i);
                }
            }
            if self.now_ms >= self.faults_end_ms() && self.all_at(height) {
                return;
            }
        }
    }

    fn note_heights(&mut self) {
        let top = (0..self.nodes.len())
            .map(|i| self.committed(i))
            .max()
            .unwrap_or(0);
        self.heights_at_faults.push((self.now_ms, top));
    }

    /// Heights committed by node `i` (0 when down).
    pub fn committed(&self, i: usize) -> u64 {
        self.nodes[i]
            .driver
            .as_ref()
            .map_or(0, |d| d.height().saturating_sub(1))
    }

    fn all_at(&self, height: u64) -> bool {
        (0..self.nodes.len())
            .filter(|&i| self.is_honest(i as PeerNo))
            .all(|i| self.committed(i) >= height)
    }

    /// The honest nodes that are up.
    pub fn honest_up(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.is_honest(i as PeerNo) && self.nodes[i].driver.is_some())
            .collect()
    }

    /// No two honest nodes committed different blocks or states at any height.
    pub fn check_agreement(&self) -> Result<(), String> {
        let up = self.honest_up();
        let top = up.iter().map(|&i| self.committed(i)).max().unwrap_or(0);
        for h in 1..=top {
            let mut seen: Option<(Hash, usize)> = None;
            for &i in &up {
                let store = self.nodes[i].driver.as_ref().unwrap().chain().store();
                let Some(block) = store.block(h).unwrap() else {
                    continue;
                };
                match seen {
                    None => seen = Some((block.hash(), i)),
                    Some((hash, j)) if hash != block.hash() => {
                        return Err(format!("fork at height {h}: node {j} and node {i} differ"));
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }

    /// The validators node `i`'s chain holds evidence against.
    pub fn accused(&self, i: usize) -> Vec<filiera_types::Address> {
        let store = self.nodes[i].driver.as_ref().unwrap().chain().store();
        let mut who: Vec<_> = store
            .state_prefix(sys_keys::EVIDENCE, None, 1_000)
            .unwrap()
            .iter()
            .map(|(k, _)| {
                let bytes: [u8; 20] = k[sys_keys::EVIDENCE.len()..][..20].try_into().unwrap();
                filiera_types::Address(bytes)
            })
            .collect();
        who.dedup();
        who
    }

    /// Transactions committed on node `i`.
    pub fn txs_committed(&self, i: usize) -> usize {
        let store = self.nodes[i].driver.as_ref().unwrap().chain().store();
        (1..=self.committed(i))
            .map(|h| store.block(h).unwrap().map_or(0, |b| b.txs.len()))
            .sum()
    }
}
