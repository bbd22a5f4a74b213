//! A seeded, deterministic network of validators in one process: simulated
//! time, per-message delays, drops and partitions, crash and restart. The same
//! seed always replays the same run.

use filiera_consensus::{
    BlockId, CommitCertificate, Consensus, ConsensusValidatorSet, Height, Message, Output,
    ValidatorAddress,
};
use filiera_consensus::{TimeoutsMs, Timer};
use filiera_types::block::{Block, Header};
use filiera_types::{Address, ChainId, Domain, Hash, SecretKey, Validator, ValidatorSet};
use malachite_consensus::{Input, LocallyProposedValue, ProposedValue};
use malachite_types::{Round, Validity, ValueOrigin};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::atomic::{AtomicU64, Ordering};

/// Votes and proposals signed through [`CountingSigner`] by every simulation.
pub static SIGNATURES_THROUGH_THE_TRAIT: AtomicU64 = AtomicU64::new(0);

/// A [`filiera_types::Signer`] that is not a `SecretKey`: it delegates and
/// counts, so the simulations show consensus signs through the trait (what a
/// remote signer or an HSM would implement).
struct CountingSigner(SecretKey);

impl filiera_types::Signer for CountingSigner {
    fn public_key(&self) -> filiera_types::PublicKey {
        self.0.public_key()
    }

    fn sign(
        &self,
        chain_id: &str,
        kind: filiera_types::SignKind,
        payload: &[u8],
    ) -> Result<filiera_types::Signature, filiera_types::crypto::CryptoError> {
        SIGNATURES_THROUGH_THE_TRAIT.fetch_add(1, Ordering::Relaxed);
        self.0.sign(chain_id, kind, payload)
    }
}

/// SplitMix64: the only randomness, seeded.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

/// A block as gossiped beside consensus.
#[derive(Clone, Debug)]
pub struct BlockMsg {
    pub round: u32,
    pub valid_round: Round,
    pub proposer: ValidatorAddress,
    pub block: Block,
}

#[derive(Clone, Debug)]
pub enum NetMsg {
    Consensus(Message),
    Block(BlockMsg),
    /// Block sync: "send me the decided block at this height".
    SyncRequest(u64),
    /// Block sync: a decided block and its commit certificate.
    SyncResponse(Block, filiera_types::CommitCertificate),
}

impl NetMsg {
    fn height(&self) -> Option<u64> {
        match self {
            NetMsg::Consensus(Message::Vote(v)) => Some(v.message.height.0),
            NetMsg::Consensus(Message::Proposal(p)) => Some(p.message.height.0),
            NetMsg::Block(b) => Some(b.block.header.height),
            NetMsg::Consensus(Message::PolkaCertificate(c)) => Some(c.height.0),
            NetMsg::Consensus(Message::RoundCertificate(c)) => Some(c.height.0),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // test-only event queue; boxing buys nothing here
enum Event {
    Deliver {
        from: usize,
        to: usize,
        msg: NetMsg,
    },
    Timer {
        node: usize,
        timeout: Timer,
        generation: u64,
    },
    Build {
        node: usize,
        height: u64,
        round: u32,
        generation: u64,
    },
    Crash {
        node: usize,
    },
    Restart {
        node: usize,
    },
}

/// Faults of a run.
#[derive(Clone, Debug)]
pub struct Faults {
    pub delay_ms_max: u64,
    pub drop_per_mille: u64,
    /// (from_ms, until_ms, the nodes on one side).
    pub partition: Option<(u64, u64, Vec<usize>)>,
    /// (node, crash_ms, restart_ms).
    pub crash: Option<(usize, u64, u64)>,
    /// A validator that equivocates: every vote it casts, it also casts a
    /// conflicting one, each to half of the network.
    pub byzantine: Option<usize>,
}

pub struct Node {
    pub key: SecretKey,
    pub consensus: Consensus,
    pub up: bool,
    /// Incremented on crash so timers of the previous life never fire.
    generation: u64,
    timers: Vec<Timer>,
    pub decided: BTreeMap<u64, (BlockId, CommitCertificate)>,
    /// When this node decided each height (simulated ms).
    pub decided_at_ms: BTreeMap<u64, u64>,
    /// Contract state after the last committed block.
    pub state: crate::app::State,
    /// Execution outcomes of blocks validated at the current height.
    outcomes: BTreeMap<BlockId, filiera_execution::BlockOutcome>,
    /// Validators this node recorded evidence of equivocation against.
    pub evidence: std::collections::BTreeSet<Address>,
    /// Heights this node took from block sync instead of deciding.
    pub synced_heights: Vec<u64>,
    pub chain: BTreeMap<u64, Block>,
    blocks: BTreeMap<BlockId, Block>,
    /// Blocks for heights this node has not reached yet.
    early: Vec<BlockMsg>,
    /// When this node last asked a peer for a block it missed, ms.
    last_sync_ms: Option<u64>,
    /// WAL of the current height: inputs to replay after a crash.
    pub wal: Vec<Vec<u8>>,
}

pub struct Sim {
    pub rng: Rng,
    pub now_ms: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    events: BTreeMap<usize, Event>,
    next_event: usize,
    pub nodes: Vec<Node>,
    pub set: ValidatorSet,
    pub chain_id: ChainId,
    pub faults: Faults,
    votes: BTreeMap<(Address, u64, u32, u8), Option<Hash>>,
    pub double_signs: Vec<String>,
    /// Evidence pairs a node output that do not prove their offence.
    pub unprovable_evidence: Vec<String>,
    /// When each (validator, height, round, step) vote was first published.
    pub first_seen_ms: BTreeMap<(Address, u64, u32, u8), u64>,
    /// Conflicting votes the Byzantine validator was seen to sign.
    pub byzantine_double_signs: u64,
    pub block_interval_ms: u64,
    /// Signed transactions of the demo producer, index = nonce.
    pub pool: Vec<filiera_types::SignedTransaction>,
}

fn timeouts() -> TimeoutsMs {
    TimeoutsMs {
        propose_ms: 1_000,
        prevote_ms: 500,
        precommit_ms: 500,
        delta_ms: 250,
    }
}

impl Sim {
    pub fn new(seed: u64, validators: usize, faults: Faults) -> Sim {
        let keys: Vec<SecretKey> = (0..validators)
            .map(|i| SecretKey::from_seed(&[i as u8 + 1; 32]))
            .collect();
        let set = ValidatorSet::new(
            keys.iter()
                .map(|k| Validator {
                    public_key: k.public_key(),
                    power: 1,
                })
                .collect(),
        )
        .unwrap();
        let chain_id = ChainId::new("filiera-sim").unwrap();
        let producer = SecretKey::from_seed(&[200; 32]);
        let genesis_state = crate::app::genesis_state(&producer);
        let pool = crate::app::pool(&chain_id, &producer, 400);
        let genesis = Block {
            header: Header {
                version: 1,
                chain_id: chain_id.clone(),
                height: 0,
                time_ms: 1_000,
                parent_hash: Hash::default(),
                txs_root: Block::compute_txs_root(&[]),
                receipts_root: Hash::default(),
                state_root: crate::app::root(&genesis_state),
                validator_set_hash: set.hash(),
                next_validator_set_hash: set.hash(),
                proposer: Address::default(),
            },
            txs: Vec::new(),
        };
        let nodes = keys
            .into_iter()
            .map(|key| {
                let consensus = Consensus::new(
                    chain_id.clone(),
                    CountingSigner(key.clone()),
                    timeouts(),
                    Height(1),
                    ConsensusValidatorSet::new(set.clone()),
                );
                let mut chain = BTreeMap::new();
                chain.insert(0, genesis.clone());
                Node {
                    key,
                    consensus,
                    up: true,
                    generation: 0,
                    timers: Vec::new(),
                    decided: BTreeMap::new(),
                    decided_at_ms: BTreeMap::new(),
                    synced_heights: Vec::new(),
                    evidence: std::collections::BTreeSet::new(),
                    state: genesis_state.clone(),
                    outcomes: BTreeMap::new(),
                    chain,
                    blocks: BTreeMap::new(),
                    early: Vec::new(),
                    last_sync_ms: None,
                    wal: Vec::new(),
                }
            })
            .collect();
        let mut sim = Sim {
            rng: Rng::new(seed),
            now_ms: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            events: BTreeMap::new(),
            next_event: 0,
            nodes,
            set,
            chain_id,
            faults,
            votes: BTreeMap::new(),
            double_signs: Vec::new(),
            unprovable_evidence: Vec::new(),
            first_seen_ms: BTreeMap::new(),
            byzantine_double_signs: 0,
            block_interval_ms: 100,
            pool,
        };
        if let Some((node, crash_ms, restart_ms)) = sim.faults.crash {
            sim.at(crash_ms, Event::Crash { node });
            sim.at(restart_ms, Event::Restart { node });
        }
        for i in 0..validators {
            let set = ConsensusValidatorSet::new(sim.set.clone());
            let outputs = sim.nodes[i]
                .consensus
                .start_height(Height(1), set, false)
                .unwrap();
            sim.apply(i, outputs);
        }
        sim
    }

    fn at(&mut self, time_ms: u64, event: Event) {
        let id = self.next_event;
        self.next_event += 1;
        self.seq += 1;
        self.events.insert(id, event);
        self.queue.push(Reverse((time_ms, self.seq, id)));
    }

    fn connected(&self, a: usize, b: usize) -> bool {
        match &self.faults.partition {
            Some((from, until, side)) if (*from..*until).contains(&self.now_ms) => {
                side.contains(&a) == side.contains(&b)
            }
            _ => true,
        }
    }

    fn broadcast(&mut self, from: usize, msg: NetMsg) {
        for to in 0..self.nodes.len() {
            if to == from {
                continue;
            }
            self.send(from, to, msg.clone());
        }
    }

    fn send(&mut self, from: usize, to: usize, msg: NetMsg) {
        if !self.connected(from, to) || self.rng.chance(self.faults.drop_per_mille) {
            return;
        }
        let delay = 1 + self.rng.below(self.faults.delay_ms_max);
        self.at(self.now_ms + delay, Event::Deliver { from, to, msg });
    }

    /// Carries out a node's outputs in order.
    fn apply(&mut self, i: usize, outputs: Vec<Output>) {
        let mut work: std::collections::VecDeque<Output> = outputs.into();
        while let Some(output) = work.pop_front() {
            if !self.nodes[i].up {
                return;
            }
            match output {
                // The WAL holds bytes, as on disk: a restart decodes them.
                Output::WalAppend(_, input) => self.nodes[i]
                    .wal
                    .push(filiera_consensus::wal::encode(&input).unwrap()),
                Output::Publish(msg) => {
                    if std::env::var("SIM_DEBUG").is_ok() && self.nodes[i].consensus.height().0 == 4
                    {
                        match &msg {
                            Message::Vote(v) if v.message.round.as_u32() < Some(4) => eprintln!(
                                "t={} node {i} votes {:?} r{:?} {:?} for {}",
                                self.now_ms,
                                v.message.kind,
                                v.message.round,
                                v.message.value,
                                v.message.validator
                            ),
                            Message::Proposal(p) if p.message.round < 4 => eprintln!(
                                "t={} node {i} proposes r{} {} pol {}",
                                self.now_ms, p.message.round, p.message.value, p.message.pol_round
                            ),
                            _ => {}
                        }
                    }
                    if let Message::Vote(v) = &msg {
                        self.record_vote(i, v);
                        // Only its own votes: it also relays others' (inside certificates).
                        let own = v.message.validator.0 == self.nodes[i].key.public_key().address();
                        if self.faults.byzantine == Some(i) && own {
                            self.equivocate(i, v.clone());
                            continue;
                        }
                    }
                    self.broadcast(i, NetMsg::Consensus(msg))
                }
                Output::ScheduleTimeout(t, ms) => {
                    self.nodes[i].timers.push(t);
                    let generation = self.nodes[i].generation;
                    self.at(
                        self.now_ms + ms,
                        Event::Timer {
                            node: i,
                            timeout: t,
                            generation,
                        },
                    );
                }
                Output::CancelTimeout(t) => {
                    self.nodes[i].timers.retain(|x| *x != t);
                }
                Output::CancelAllTimeouts => self.nodes[i].timers.clear(),
                Output::BuildBlock { height, round, .. } => {
                    let generation = self.nodes[i].generation;
                    self.at(
                        self.now_ms + self.block_interval_ms,
                        Event::Build {
                            node: i,
                            height: height.0,
                            round,
                            generation,
                        },
                    );
                }
                Output::RestreamBlock {
                    height,
                    round,
                    valid_round,
                    value,
                } => {
                    if let Some(block) = self.nodes[i].blocks.get(&value).cloned() {
                        let proposer = self.nodes[i].consensus.address();
                        let msg = BlockMsg {
                            round,
                            valid_round: valid_round.map_or(Round::Nil, Round::new),
                            proposer,
                            block,
                        };
                        let _ = height;
                        self.broadcast(i, NetMsg::Block(msg));
                    }
                }
                Output::Evidence(pairs) => {
                    for pair in pairs {
                        // What the chain would check of a report.
                        match pair.verify(self.chain_id.as_str(), &self.set) {
                            Ok(offence) => {
                                self.nodes[i].evidence.insert(offence.validator);
                            }
                            Err(e) => self.unprovable_evidence.push(format!("node {i}: {e}")),
                        }
                    }
                }
                Output::RoundStarted {
                    height,
                    round,
                    proposer,
                } => {
                    if std::env::var("SIM_DEBUG").is_ok() && round < 4 && height.0 == 4 {
                        eprintln!(
                            "t={} node {i} starts h{} r{round} proposer {proposer}",
                            self.now_ms, height.0
                        );
                    }
                }
                Output::Decided(cert) => {
                    let outputs = self.commit(i, cert);
                    work.extend(outputs);
                }
            }
        }
    }

    /// No validator ever signs two different votes for one height, round and
    /// step, also across a crash and its WAL replay.
    fn record_vote(&mut self, i: usize, v: &filiera_consensus::SignedVote) {
        let vote = v.message.to_vote();
        // Keyed by the signer: a node also relays others' votes (certificates).
        let key = (vote.validator, vote.height, vote.round, vote.kind as u8);
        self.first_seen_ms.entry(key).or_insert(self.now_ms);
        if let Some(previous) = self.votes.insert(key, vote.block_hash)
            && previous != vote.block_hash
        {
            if self
                .faults
                .byzantine
                .is_some_and(|b| self.nodes[b].key.public_key().address() == vote.validator)
            {
                self.byzantine_double_signs += 1;
                return;
            }
            self.double_signs.push(format!(
                "node {i} signed {previous:?} and {:?} at {key:?}",
                vote.block_hash
            ));
        }
    }

    /// Sends `vote` to half the network and a conflicting vote, signed with the
    /// same key, to the other half (and both to the next node, so someone sees both).
    fn equivocate(&mut self, i: usize, vote: filiera_consensus::SignedVote) {
        let mut other = vote.message.clone();
        other.value = match other.value {
            malachite_types::NilOrVal::Nil => malachite_types::NilOrVal::Val(BlockId(Hash::of(
                Domain::Header,
                &self.rng.next().to_le_bytes(),
            ))),
            malachite_types::NilOrVal::Val(_) => malachite_types::NilOrVal::Nil,
        };
        let key = self.nodes[i].key.clone();
        let signature = key
            .sign(
                self.chain_id.as_str(),
                filiera_types::SignKind::Vote,
                &filiera_types::encoding::encode(&other.to_vote()),
            )
            .unwrap();
        let conflicting = malachite_types::SignedMessage::new(other, signature);
        self.record_vote(i, &conflicting);
        let n = self.nodes.len();
        let witness = (i + 1) % n;
        for to in (0..n).filter(|&to| to != i) {
            if to < n / 2 || to == witness {
                self.send(i, to, NetMsg::Consensus(Message::Vote(vote.clone())));
            }
            if to >= n / 2 || to == witness {
                self.send(i, to, NetMsg::Consensus(Message::Vote(conflicting.clone())));
            }
        }
    }

    fn commit(&mut self, i: usize, cert: CommitCertificate) -> Vec<Output> {
        let node = &mut self.nodes[i];
        let height = cert.height.0;
        let block = node
            .blocks
            .get(&cert.value_id)
            .cloned()
            .expect("a decided block was validated, so it is known");
        // Executed when validated, unless a crash lost it since: then again.
        let outcome = match node.outcomes.remove(&cert.value_id) {
            Some(outcome) => outcome,
            None => {
                let h = &block.header;
                crate::app::execute(&node.state, &self.chain_id, height, h.time_ms, &block.txs).0
            }
        };
        node.state.apply(&outcome.changes);
        node.outcomes.clear();
        node.decided_at_ms.insert(height, self.now_ms);
        node.decided.insert(height, (cert.value_id, cert));
        node.chain.insert(height, block);
        node.wal.clear();
        self.start_next_height(i, height)
    }

    /// After committing `height` (decided or synced): start the next one and
    /// hand it the blocks that arrived early for it.
    fn start_next_height(&mut self, i: usize, height: u64) -> Vec<Output> {
        let set = ConsensusValidatorSet::new(self.set.clone());
        let mut outputs = self.nodes[i]
            .consensus
            .start_height(Height(height + 1), set, false)
            .unwrap();
        let early: Vec<BlockMsg> = std::mem::take(&mut self.nodes[i].early);
        for msg in early {
            outputs.extend(self.receive_block(i, msg));
        }
        outputs
    }

    fn build(&mut self, i: usize, height: u64, round: u32) -> Vec<Output> {
        let node = &mut self.nodes[i];
        if node.consensus.height().0 != height {
            return Vec::new();
        }
        let parent = node
            .chain
            .get(&(height - 1))
            .expect("parent committed")
            .clone();
        let proposer = node.key.public_key().address();
        let next = crate::app::next_nonce(&node.state, &SecretKey::from_seed(&[200; 32])) as usize;
        let txs: Vec<_> = self
            .pool
            .iter()
            .skip(next)
            .take(crate::app::BLOCK_TXS_MAX)
            .cloned()
            .collect();
        let time_ms = self.now_ms.max(parent.header.time_ms + 1);
        let (outcome, state_root, receipts_root) =
            crate::app::execute(&node.state, &self.chain_id, height, time_ms, &txs);
        let header = Header {
            version: 1,
            chain_id: self.chain_id.clone(),
            height,
            time_ms,
            parent_hash: parent.hash(),
            txs_root: Block::compute_txs_root(&txs),
            receipts_root,
            state_root,
            validator_set_hash: self.set.hash(),
            next_validator_set_hash: self.set.hash(),
            proposer,
        };
        let block = Block { header, txs };
        node.outcomes.insert(BlockId(block.hash()), outcome);
        let id = BlockId(block.hash());
        node.blocks.insert(id, block.clone());
        let msg = BlockMsg {
            round,
            valid_round: Round::Nil,
            proposer: ValidatorAddress(proposer),
            block,
        };
        self.broadcast(i, NetMsg::Block(msg));
        let input = Input::Propose(LocallyProposedValue::new(
            Height(height),
            Round::new(round),
            id,
        ));
        self.nodes[i].consensus.handle(input).unwrap()
    }

    /// Validates a block against the committed chain and tells consensus.
    fn receive_block(&mut self, i: usize, msg: BlockMsg) -> Vec<Output> {
        let node = &mut self.nodes[i];
        let height = msg.block.header.height;
        let current = node.consensus.height().0;
        if height > current {
            node.early.push(msg);
            return Vec::new();
        }
        if height < current {
            return Vec::new();
        }
        let parent = node.chain.get(&(height - 1)).expect("parent committed");
        let h = &msg.block.header;
        // Execute before voting: a block is valid only if this node computes
        // the same receipts and state root from its own state.
        let (outcome, state_root, receipts_root) = crate::app::execute(
            &node.state,
            &self.chain_id,
            height,
            h.time_ms,
            &msg.block.txs,
        );
        let valid = h.parent_hash == parent.hash()
            && h.time_ms > parent.header.time_ms
            && msg.block.txs_root_matches()
            && h.state_root == state_root
            && h.receipts_root == receipts_root
            // The builder, not necessarily this round's proposer: a locked block is re-proposed as is.
            && self.set.get(&h.proposer).is_some()
            && h.chain_id == self.chain_id;
        if valid {
            node.outcomes.insert(BlockId(msg.block.hash()), outcome);
        }
        let id = BlockId(msg.block.hash());
        node.blocks.insert(id, msg.block.clone());
        let value = ProposedValue {
            height: Height(height),
            round: Round::new(msg.round),
            valid_round: msg.valid_round,
            proposer: msg.proposer,
            value: id,
            validity: if valid {
                Validity::Valid
            } else {
                Validity::Invalid
            },
        };
        node.consensus
            .handle(Input::ProposedValue(value, ValueOrigin::Consensus))
            .unwrap()
    }

    /// A block fetched by sync: committed only if its certificate verifies
    /// against the validator set and it extends this node's chain.
    fn synced(
        &mut self,
        i: usize,
        block: Block,
        cert: filiera_types::CommitCertificate,
    ) -> Vec<Output> {
        let node = &mut self.nodes[i];
        let height = node.consensus.height().0;
        let Some(parent) = node.chain.get(&(height - 1)) else {
            return Vec::new();
        };
        if cert.height != height
            || block.hash() != cert.block_hash
            || block.header.parent_hash != parent.hash()
        {
            return Vec::new();
        }
        if cert.verify(self.chain_id.as_str(), &self.set).is_err() {
            return Vec::new();
        }
        let h = &block.header;
        let (outcome, state_root, receipts_root) =
            crate::app::execute(&node.state, &self.chain_id, height, h.time_ms, &block.txs);
        if state_root != h.state_root || receipts_root != h.receipts_root {
            return Vec::new();
        }
        node.state.apply(&outcome.changes);
        node.outcomes.clear();
        node.synced_heights.push(height);
        node.chain.insert(height, block.clone());
        node.blocks.insert(BlockId(block.hash()), block);
        node.wal.clear();
        self.start_next_height(i, height)
    }

    fn crash(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        node.up = false;
        node.generation += 1;
        node.timers.clear();
        // Memory is lost; the committed chain and state, the WAL and the
        // blocks received for the current height (kept beside the WAL) survive.
        node.outcomes.clear();
    }

    /// Restarts from what survives a crash: the committed chain and the WAL.
    fn restart(&mut self, i: usize) {
        let set = ConsensusValidatorSet::new(self.set.clone());
        let node = &mut self.nodes[i];
        let height = node.chain.keys().max().copied().unwrap_or(0) + 1;
        node.consensus = Consensus::new(
            self.chain_id.clone(),
            CountingSigner(node.key.clone()),
            timeouts(),
            Height(height),
            set.clone(),
        );
        node.up = true;
        node.early.clear();
        let wal: Vec<_> = node
            .wal
            .iter()
            .map(|bytes| filiera_consensus::wal::decode(bytes).unwrap())
            .collect();
        let outputs = node.consensus.replay(Height(height), set, wal).unwrap();
        self.apply(i, outputs);
    }

    /// Runs until `until_ms` of simulated time or every node decided `height`.
    pub fn run(&mut self, until_ms: u64, height: u64) {
        while let Some(Reverse((time, _, id))) = self.queue.pop() {
            if time > until_ms {
                break;
            }
            self.now_ms = time;
            let event = self.events.remove(&id).expect("event");
            match event {
                Event::Deliver { from, to, msg } => {
                    if !self.nodes[to].up {
                        continue;
                    }
                    // A message from a later height means this node missed a decision.
                    let current = self.nodes[to].consensus.height().0;
                    if msg.height().is_some_and(|h| h > current) {
                        let due = self.nodes[to]
                            .last_sync_ms
                            .is_none_or(|t| self.now_ms >= t + 200);
                        if due {
                            self.nodes[to].last_sync_ms = Some(self.now_ms);
                            self.send(to, from, NetMsg::SyncRequest(current));
                        }
                    }
                    let outputs = match msg {
                        NetMsg::Consensus(Message::Vote(v)) => {
                            self.nodes[to].consensus.handle(Input::Vote(v)).unwrap()
                        }
                        NetMsg::Consensus(Message::Proposal(p)) => {
                            self.nodes[to].consensus.handle(Input::Proposal(p)).unwrap()
                        }
                        NetMsg::Consensus(Message::PolkaCertificate(c)) => self.nodes[to]
                            .consensus
                            .handle(Input::PolkaCertificate(c))
                            .unwrap(),
                        NetMsg::Consensus(Message::RoundCertificate(c)) => self.nodes[to]
                            .consensus
                            .handle(Input::RoundCertificate(c))
                            .unwrap(),
                        NetMsg::Block(b) => self.receive_block(to, b),
                        NetMsg::SyncRequest(h) => {
                            if let (Some(block), Some((_, cert))) =
                                (self.nodes[to].chain.get(&h), self.nodes[to].decided.get(&h))
                            {
                                let msg = NetMsg::SyncResponse(
                                    block.clone(),
                                    filiera_consensus::to_certificate(cert),
                                );
                                self.send(to, from, msg);
                            }
                            Vec::new()
                        }
                        NetMsg::SyncResponse(block, cert) => self.synced(to, block, cert),
                    };
                    self.apply(to, outputs);
                }
                Event::Timer {
                    node,
                    timeout,
                    generation,
                } => {
                    let n = &mut self.nodes[node];
                    let Some(pos) = n.timers.iter().position(|t| *t == timeout) else {
                        continue;
                    };
                    n.timers.remove(pos);
                    if !n.up || n.generation != generation {
                        continue;
                    }
                    let outputs = n.consensus.on_timeout(timeout).unwrap();
                    self.apply(node, outputs);
                }
                Event::Build {
                    node,
                    height,
                    round,
                    generation,
                } => {
                    if !self.nodes[node].up || self.nodes[node].generation != generation {
                        continue;
                    }
                    let outputs = self.build(node, height, round);
                    self.apply(node, outputs);
                }
                Event::Crash { node } => self.crash(node),
                Event::Restart { node } => self.restart(node),
            }
            if self.nodes.iter().all(|n| n.chain.contains_key(&height)) {
                break;
            }
        }
    }

    /// Safety: no two nodes decided (or synced) different blocks at any
    /// height; equal blocks carry equal state roots.
    pub fn check_agreement(&self) -> Result<(), String> {
        if let Some(d) = self.double_signs.first() {
            return Err(format!("double signing: {d}"));
        }
        let mut by_height: BTreeMap<u64, (usize, Hash)> = BTreeMap::new();
        for (n, node) in self.nodes.iter().enumerate() {
            for (h, block) in &node.chain {
                let hash = block.hash();
                if let Some((other, other_hash)) = by_height.insert(*h, (n, hash))
                    && other_hash != hash
                {
                    return Err(format!(
                        "fork at height {h}: node {n} has {hash}, node {other} has {other_hash}"
                    ));
                }
            }
            // Every included transaction advanced the producer's nonce exactly once.
            let included: usize = node.chain.values().map(|b| b.txs.len()).sum();
            if crate::app::next_nonce(&node.state, &SecretKey::from_seed(&[200; 32])) as usize
                != included
            {
                return Err(format!(
                    "node {n}: {included} transactions included, nonce disagrees"
                ));
            }
            let head = node.chain.values().next_back().expect("genesis");
            if crate::app::root(&node.state) != head.header.state_root {
                return Err(format!(
                    "node {n}: state root differs from its head's at height {}",
                    head.header.height
                ));
            }
            for (h, (id, _)) in &node.decided {
                if node.chain.get(h).map(Block::hash) != Some(id.0) {
                    return Err(format!(
                        "node {n} decided {id} at {h} but stored another block"
                    ));
                }
            }
        }
        Ok(())
    }
}
