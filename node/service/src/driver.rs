//! The node's event loop body: one thread owns consensus, the chain, the
//! mempool and the WAL, takes [`Event`]s one at a time and answers with
//! [`Effect`]s for the I/O tasks (network, timers).
//!
//! Ordering is the safety argument: consensus outputs are carried out in the
//! order the core produced them, and a WAL append is fsynced before this
//! function returns the effects after it, so a vote leaves the node only
//! once it is durable. The driver reads no clock: the runner passes `now_ms`
//! with every event, used for block times and metrics only.

use crate::chain::{Chain, ChainError, Executed};
use crate::evidence::{self, EVIDENCE_EXPIRY_BLOCKS};
use crate::mempool::{AdmitContext, AdmitError, Mempool, Verified};
use crate::metrics::Metrics;
use crate::proposals::{HeldBlocks, Naming, Namings, PROPOSAL_ROUNDS_AHEAD_MAX};
use crate::wire::{
    Gossip, ProposedBlock, SYNC_BATCH_BLOCKS_MAX, SyncRequest, SyncResponse, TX_GOSSIP_BATCH_MAX,
    TX_GOSSIP_DELAY_MS,
};
use filiera_consensus::{
    BlockId, CommitCertificate, Consensus, ConsensusValidatorSet, Height, NamedBlock, NetworkInput,
    Output, ProposalSeen, TimeoutsMs, Timer, to_certificate, wal,
};
use filiera_p2p::{MessageId, NetworkEvent, Topic, Verdict};
use filiera_types::block::Block;
use filiera_types::evidence::{EVIDENCE_CONTRACT, EVIDENCE_PER_TX_MAX, Equivocation};
use filiera_types::{Address, Hash, SecretKey, SignedTransaction};
use filiera_wal::Wal;
use libp2p::PeerId;
use std::collections::BTreeMap;
use std::sync::Arc;

/// How far ahead of its own height a node keeps blocks and consensus inputs;
/// further ones only tell it to sync.
const AHEAD_HEIGHTS_MAX: u64 = 2;
/// A named block is examined (executed) once its round is at most this far
/// ahead of this node's round: a proposal for a later round waits, so
/// execution follows the rounds the node actually reaches.
const EXAMINE_ROUNDS_AHEAD_MAX: u32 = 1;
/// A sync request unanswered for this long may be sent again elsewhere, ms.
const SYNC_RETRY_MS: u64 = 5_000;
/// With no commit for this long while a peer is ahead, ask for blocks, ms.
const SYNC_STALL_MS: u64 = 2_000;
/// A peer that claimed to be ahead and then had no block for this node is
/// not believed for this long, ms: a faulty validator signing votes for far
/// heights must not keep this node asking it instead of the honest peers.
const SYNC_DISTRUST_MS: u64 = 60_000;
/// Room kept in `block_bytes_max` for the header and the proposal's framing.
const BLOCK_FRAMING_BYTES: usize = 4 * 1024;

/// How long a proposer waits before building: what is left of the pacing
/// interval since the last commit, never more than half the propose timeout
/// (the block must reach the others in time). The wait gathers transactions
/// into fewer, fuller blocks when load is light; under load a full mempool
/// cuts it short (`Driver::build_if_full`).
fn build_delay_ms(block_interval_ms: u64, since_commit_ms: u64, timeout_ms: u64) -> u64 {
    block_interval_ms
        .saturating_sub(since_commit_ms)
        .min(timeout_ms / 2)
}

/// Whether a block of `txs` transactions and `bytes` bytes is at least half
/// of either limit.
fn half_full(txs: usize, txs_max: usize, bytes: usize, bytes_max: usize) -> bool {
    txs.saturating_mul(2) >= txs_max || bytes.saturating_mul(2) >= bytes_max
}

/// What the driver is told.
#[derive(Debug)]
pub enum Event {
    /// Something the network reported (gossip, sync, peers coming and going).
    Network(NetworkEvent),
    /// A consensus timer fired.
    Timeout(Timer),
    /// Time to build the block this node proposes.
    Build {
        /// Height.
        height: u64,
        /// Round.
        round: u32,
    },
    /// Periodic check (sync when stalled).
    Tick,
    /// A client submits a transaction (its signature verified on the API's thread).
    Submit(
        Verified,
        tokio::sync::oneshot::Sender<Result<Hash, AdmitError>>,
    ),
    /// A client submits several transactions (verified on the API's threads);
    /// one answer per transaction, in order.
    SubmitBatch(
        Vec<Verified>,
        tokio::sync::oneshot::Sender<Vec<Result<Hash, AdmitError>>>,
    ),
    /// Transactions gossiped by a peer, their signatures verified off this
    /// thread (see `node::pre_verify`); the bad ones were dropped there.
    GossipedTxs(Vec<Verified>),
    /// A client asks whether a transaction waits in the mempool.
    IsPending(Hash, tokio::sync::oneshot::Sender<bool>),
    /// Time to gossip the transactions admitted since the last batch.
    FlushTxs,
}

/// What the runner must do.
#[derive(Debug, PartialEq, Eq)]
pub enum Effect {
    /// Gossip bytes on a topic.
    Gossip(Topic, Vec<u8>),
    /// Ask a peer for blocks.
    Request(PeerId, Vec<u8>),
    /// Answer a peer's sync request.
    Respond(u64, Vec<u8>),
    /// Drop a peer that sent malformed data.
    Disconnect(PeerId),
    /// Tell gossip what this node made of a message it was handed (whether
    /// to forward it, and whether to hold it against the peer).
    Validate(MessageId, PeerId, Verdict),
    /// Start a consensus timer.
    Schedule(Timer, u64),
    /// Stop a timer.
    Cancel(Timer),
    /// Stop every timer.
    CancelAll,
    /// The validators' p2p keys changed: these may connect (besides observers).
    AllowValidators(Vec<filiera_types::PublicKey>),
    /// Deliver `Event::FlushTxs` after `delay_ms`.
    FlushTxsAfter(u64),
    /// Deliver `Event::Build` after `delay_ms`.
    BuildAfter {
        /// Height.
        height: u64,
        /// Round.
        round: u32,
        /// Delay, ms.
        delay_ms: u64,
    },
}

/// A failure the node cannot go on after (storage or WAL).
#[derive(Debug, thiserror::Error)]
pub enum Fatal {
    /// The store failed.
    #[error("storage: {0}")]
    Storage(#[from] filiera_storage::StorageError),
    /// The WAL failed.
    #[error("wal: {0}")]
    Wal(#[from] filiera_wal::WalError),
    /// Consensus refused an input it produced itself, or a WAL record.
    #[error("consensus: {0}")]
    Consensus(#[from] filiera_consensus::ConsensusError),
    /// A quorum decided a block whose execution here gives another state:
    /// this node's state or code differs from the network's. Stop; never
    /// commit a state the certificate does not vouch for.
    #[error("divergence at height {height}: {why}")]
    Divergence {
        /// The height.
        height: u64,
        /// What differs.
        why: String,
    },
    /// The WAL belongs to a later height than the store: the store was
    /// replaced or rolled back. Starting would forget votes already cast.
    #[error("the WAL is at height {wal} but the store's next height is {store}; refusing to start")]
    WalAhead {
        /// The WAL's height.
        wal: u64,
        /// The store's next height.
        store: u64,
    },
}

impl From<ChainError> for Fatal {
    fn from(e: ChainError) -> Fatal {
        match e {
            ChainError::Storage(s) => Fatal::Storage(s),
            ChainError::Invalid(m) | ChainError::Future(m) => {
                Fatal::Consensus(filiera_consensus::ConsensusError(m))
            }
        }
    }
}

/// Pacing of the chain.
#[derive(Clone, Copy, Debug)]
pub struct Pacing {
    /// Pause between a commit and building the next block, ms.
    pub block_interval_ms: u64,
}

/// What a driver is made of.
pub struct DriverParts {
    /// The chain (store and executor).
    pub chain: Chain,
    /// The consensus key.
    pub key: SecretKey,
    /// Consensus timeouts (from genesis).
    pub timeouts: TimeoutsMs,
    /// The WAL's directory.
    pub wal_dir: std::path::PathBuf,
    /// The mempool.
    pub mempool: Mempool,
    /// Pacing.
    pub pacing: Pacing,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The last height this binary may commit (an upgrade's stop), if any:
    /// no proposal above it is built early, inside the event that decides it.
    pub halt_height: Option<u64>,
}

/// A block of the current height that a proposal named (or this node built)
/// and, if it is valid, its execution.
struct Candidate {
    block: Block,
    executed: Option<Executed>,
}

/// The driver.
pub struct Driver {
    consensus: Consensus,
    /// The consensus key, also what this node signs evidence reports with.
    key: SecretKey,
    chain: Chain,
    mempool: Mempool,
    wal: Wal,
    address: Address,
    pacing: Pacing,
    /// Blocks examined at the current height: only those named by a
    /// verified proposal of their round's proposer, and this node's own.
    candidates: BTreeMap<BlockId, Candidate>,
    /// Blocks heard of, for this height or the next ones, not yet named,
    /// with the gossip id of the message that brought each (its verdict
    /// waits for the naming: a block is forwarded only once named).
    held: HeldBlocks<MessageId>,
    /// Verified proposals, for this height or the next ones.
    namings: Namings,
    /// Inside `examine` (it feeds consensus, whose outputs call it again).
    examining: bool,
    /// The height each peer was last seen at, from signed votes and proposals only.
    peers: BTreeMap<PeerId, u64>,
    /// Peers whose height claims are ignored until then, ms.
    distrusted: BTreeMap<PeerId, u64>,
    sync_sent: Option<(PeerId, u64)>,
    /// Admitted from clients, not yet gossiped (at most `TX_GOSSIP_BATCH_MAX`).
    tx_outbox: Vec<SignedTransaction>,
    last_commit_ms: u64,
    /// The proposal consensus asked this node for and that is not built yet
    /// (height, round): built when its pacing timer fires, or earlier once
    /// the mempool holds a full block.
    build_pending: Option<(u64, u32)>,
    /// Whether the last block this node built was at least half full. A full
    /// pool builds early only then, so a pool of transactions that cannot go
    /// in a block (nonce gaps) never makes the chain spin out empty blocks.
    build_by_size_armed: bool,
    halt_height: Option<u64>,
    height_started_ms: u64,
    metrics: Arc<Metrics>,
    now_ms: u64,
    /// The validators' p2p keys last given to the network.
    allowed_validators: Vec<filiera_types::PublicKey>,
}

impl Driver {
    /// Opens the driver at the height after the last committed block and
    /// replays the WAL if it belongs to that height. Returns the effects of
    /// starting (timers, maybe a proposal).
    pub fn start(parts: DriverParts, now_ms: u64) -> Result<(Driver, Vec<Effect>), Fatal> {
        let DriverParts {
            chain,
            key,
            timeouts,
            wal_dir,
            mempool,
            pacing,
            metrics,
            halt_height,
        } = parts;
        let height = chain.height()? + 1;
        let set = ConsensusValidatorSet::new(chain.validator_set(height).clone());
        let (mut wal, wal_height, records) = Wal::open(&wal_dir, height)?;
        if wal_height > height {
            return Err(Fatal::WalAhead {
                wal: wal_height,
                store: height,
            });
        }
        let mut consensus = Consensus::new(
            chain.params().chain_id.clone(),
            key.clone(),
            timeouts,
            Height(height),
            set.clone(),
        );
        let outputs = if wal_height == height && !records.is_empty() {
            let inputs = records
                .iter()
                .map(|r| wal::decode(r))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Fatal::Consensus(filiera_consensus::ConsensusError(e.to_string())))?;
            tracing::info!(height, records = inputs.len(), "replaying the WAL");
            consensus.replay(Height(height), set, inputs)?
        } else {
            // A WAL of an older height: that block is committed (the store
            // is written before the WAL is reset), so its records are spent.
            if wal_height != height {
                wal.reset(height)?;
            }
            consensus.start_height(Height(height), set, false)?
        };
        let mut driver = Driver {
            consensus,
            key: key.clone(),
            chain,
            mempool,
            wal,
            address: key.public_key().address(),
            pacing,
            candidates: BTreeMap::new(),
            held: HeldBlocks::default(),
            namings: Namings::default(),
            examining: false,
            peers: BTreeMap::new(),
            distrusted: BTreeMap::new(),
            sync_sent: None,
            tx_outbox: Vec::new(),
            last_commit_ms: now_ms,
            build_pending: None,
            build_by_size_armed: true,
            halt_height,
            height_started_ms: now_ms,
            metrics,
            now_ms,
            allowed_validators: Vec::new(),
        };
        driver.publish_progress();
        let mut effects = Vec::new();
        driver.update_allowed(&mut effects)?;
        driver.carry_out(outputs, &mut effects)?;
        Ok((driver, effects))
    }

    /// The height consensus is working on.
    pub fn height(&self) -> u64 {
        self.consensus.height().0
    }

    /// Handles one event at time `now_ms`.
    pub fn handle(&mut self, event: Event, now_ms: u64) -> Result<Vec<Effect>, Fatal> {
        self.now_ms = now_ms;
        let mut effects = Vec::new();
        match event {
            Event::Network(event) => self.on_network(event, &mut effects)?,
            Event::Timeout(t) => {
                let outputs = self.consensus.on_timeout(t)?;
                self.carry_out(outputs, &mut effects)?;
            }
            Event::Build { height, round } => {
                self.build(height, round, &mut effects)?;
            }
            Event::Tick => self.maybe_sync(None, &mut effects),
            Event::Submit(verified, reply) => {
                let result = self.submit(verified, &mut effects);
                // The client may have given up; nothing to do then.
                let _ = reply.send(result);
            }
            Event::SubmitBatch(txs, reply) => {
                let results = txs
                    .into_iter()
                    .map(|v| self.submit(v, &mut effects))
                    .collect();
                let _ = reply.send(results);
            }
            Event::GossipedTxs(txs) => {
                for tx in txs {
                    // Races on nonces are normal between nodes; refusals are not misbehaviour.
                    let _ = self.admit(tx);
                }
            }
            Event::FlushTxs => self.flush_txs(&mut effects),
            Event::IsPending(hash, reply) => {
                let _ = reply.send(self.mempool.contains(&hash));
            }
        }
        self.build_if_full(&mut effects)?;
        self.publish_progress();
        Ok(effects)
    }

    /// Admits a client's transaction and queues it for gossip.
    fn submit(
        &mut self,
        verified: Verified,
        effects: &mut Vec<Effect>,
    ) -> Result<Hash, AdmitError> {
        let tx = verified.tx().clone();
        let result = self.admit(verified);
        if result.is_ok() {
            // Gossiped in batches: per-message costs (signing, framing,
            // caches) dominate a transaction's size.
            if self.tx_outbox.is_empty() {
                effects.push(Effect::FlushTxsAfter(TX_GOSSIP_DELAY_MS));
            }
            self.tx_outbox.push(tx);
            if self.tx_outbox.len() >= TX_GOSSIP_BATCH_MAX {
                self.flush_txs(effects);
            }
        }
        result
    }

    /// Gossips the transactions admitted since the last batch, if any.
    fn flush_txs(&mut self, effects: &mut Vec<Effect>) {
        if !self.tx_outbox.is_empty() {
            let txs = std::mem::take(&mut self.tx_outbox);
            effects.push(Effect::Gossip(
                Topic::Transactions,
                Gossip::Txs(txs).encode(),
            ));
        }
    }

    fn on_network(&mut self, event: NetworkEvent, effects: &mut Vec<Effect>) -> Result<(), Fatal> {
        match event {
            NetworkEvent::Message {
                from,
                topic,
                id,
                data,
            } => self.on_gossip(from, id, topic, &data, effects)?,
            NetworkEvent::SyncRequest { from, id, data } => {
                self.on_sync_request(from, id, &data, effects)?
            }
            NetworkEvent::SyncResponse { from, data } => {
                self.on_sync_response(from, &data, effects)?
            }
            NetworkEvent::SyncFailed(peer) => {
                if self.sync_sent.is_some_and(|(p, _)| p == peer) {
                    self.sync_sent = None;
                }
                // Ask someone else next time.
                if let Some(h) = self.peers.get_mut(&peer) {
                    *h = 0;
                }
            }
            NetworkEvent::Connected(peer) => {
                self.peers.entry(peer).or_insert(0);
            }
            NetworkEvent::Disconnected(peer) => {
                self.peers.remove(&peer);
                self.distrusted.remove(&peer);
            }
            NetworkEvent::Listening(addr) => tracing::info!(%addr, "p2p listening"),
        }
        Ok(())
    }

    /// The gauges are also what the API reports as the node's progress.
    fn publish_progress(&self) {
        let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.metrics
            .height
            .set(gauge(self.height().saturating_sub(1)));
        self.metrics
            .round
            .set(i64::from(self.consensus.round().unwrap_or(0)));
        self.metrics.peers.set(gauge(self.peers.len() as u64));
        self.metrics
            .mempool_txs
            .set(gauge(self.mempool.len() as u64));
        self.metrics
            .mempool_bytes
            .set(gauge(self.mempool.bytes() as u64));
    }

    fn admit(&mut self, tx: Verified) -> Result<Hash, AdmitError> {
        let committed_nonce = self
            .chain
            .nonce(&tx.tx().tx.sender)
            .map_err(|_| AdmitError::Busy("state unavailable"))?;
        let params = self.chain.params();
        let ctx = AdmitContext {
            chain_id: &params.chain_id,
            next_height: self.height(),
            committed_nonce,
            tx_bytes_max: params.tx_bytes_max,
            tx_expiry_blocks_max: params.tx_expiry_blocks_max,
        };
        let result = self.mempool.admit_verified(tx, &ctx);
        if let Err(e) = &result {
            self.metrics.count_refused(e);
        }
        result
    }

    /// Admits a gossiped transaction; `Reject` if its signature is bad (no
    /// node would take it), else `Accept` whatever admission says: races on
    /// nonces are normal between nodes, and a refusal is not misbehaviour.
    fn admit_unverified(&mut self, tx: SignedTransaction) -> Verdict {
        match Verified::check(tx) {
            Ok(v) => {
                let _ = self.admit(v);
                Verdict::Accept
            }
            Err(e) => {
                self.metrics.count_refused(&e);
                Verdict::Reject
            }
        }
    }

    fn penalise(&mut self, peer: PeerId, why: &str, effects: &mut Vec<Effect>) {
        tracing::warn!(%peer, why, "disconnecting a peer that sent malformed data");
        self.metrics.peers_penalised.inc();
        effects.push(Effect::Disconnect(peer));
    }

    fn on_gossip(
        &mut self,
        from: PeerId,
        id: MessageId,
        topic: Topic,
        data: &[u8],
        effects: &mut Vec<Effect>,
    ) -> Result<(), Fatal> {
        let gossip = match Gossip::decode(data) {
            Ok(g) => g,
            Err(e) => {
                self.reject(from, id, &e.to_string(), effects);
                return Ok(());
            }
        };
        match (topic, gossip) {
            (Topic::Consensus, Gossip::Consensus(bytes)) => {
                let input = match NetworkInput::decode(&bytes) {
                    Ok(i) => i,
                    Err(e) => {
                        self.reject(from, id, &e.to_string(), effects);
                        return Ok(());
                    }
                };
                self.on_consensus(from, id, input, effects)?;
            }
            // A block is unsigned: its height says nothing about its sender's.
            (Topic::Blocks, Gossip::Block(proposed)) => {
                self.on_block(from, id, proposed, effects)?
            }
            // Normally verified before the driver (node::pre_verify); these
            // paths stay whole for any caller that hands gossip over as is.
            (Topic::Transactions, Gossip::Tx(tx)) => {
                let verdict = self.admit_unverified(tx);
                effects.push(Effect::Validate(id, from, verdict));
            }
            (Topic::Transactions, Gossip::Txs(txs)) => {
                if txs.len() > TX_GOSSIP_BATCH_MAX {
                    self.reject(from, id, "transaction batch over its limit", effects);
                    return Ok(());
                }
                let mut verdict = Verdict::Accept;
                for tx in txs {
                    if self.admit_unverified(tx) == Verdict::Reject {
                        verdict = Verdict::Reject;
                    }
                }
                effects.push(Effect::Validate(id, from, verdict));
            }
            _ => self.reject(from, id, "message on the wrong topic", effects),
        }
        Ok(())
    }

    /// A message no node would accept, from the peer that handed it over:
    /// with validation on, honest peers never forward one, so it is that
    /// peer's own. Not forwarded, scored against it, and it is disconnected.
    fn reject(&mut self, from: PeerId, id: MessageId, why: &str, effects: &mut Vec<Effect>) {
        effects.push(Effect::Validate(id, from, Verdict::Reject));
        self.penalise(from, why, effects);
    }

    /// A vote, proposal or certificate. Forwarded only when it can count: a
    /// vote must be signed by a validator and a proposal by its round's
    /// proposer (checked here, so that a forged one goes no further than this
    /// node; the core reuses the check instead of verifying again).
    fn on_consensus(
        &mut self,
        from: PeerId,
        id: MessageId,
        input: NetworkInput,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Fatal> {
        let height = input.height();
        let current = self.height();
        if height < current {
            effects.push(Effect::Validate(id, from, Verdict::Ignore));
            return Ok(());
        }
        // The set of a far height may not be known yet: the latest one
        // stands in. A vote that fails there is still rejected: a lagging
        // node may then graylist, for seconds, a validator added since (it
        // catches up by sync, which gossip scores do not touch), but junk
        // signed for far heights cannot make it verify without end.
        let signed = if height == current {
            let set = self.consensus.validators();
            self.consensus.check_signature(set, &input)
        } else {
            let set = ConsensusValidatorSet::new(self.chain.validator_set(height).clone());
            self.consensus.check_signature(&set, &input)
        };
        if signed == Some(false) {
            // Not disconnected: scoring keeps it out if it goes on.
            effects.push(Effect::Validate(id, from, Verdict::Reject));
            return Ok(());
        }
        if signed == Some(true) {
            // Only a validator's signature says how far the chain has got.
            self.maybe_sync(Some((from, height)), effects);
        }
        if height > current + AHEAD_HEIGHTS_MAX {
            effects.push(Effect::Validate(id, from, Verdict::Ignore));
            return Ok(());
        }
        effects.push(Effect::Validate(id, from, Verdict::Accept));
        let proposal = input.proposal();
        // Refusals (a certificate's bad vote, a stale round) are the core's;
        // an error here is what a peer said, not ours.
        match self.consensus.on_network(input) {
            Ok(outputs) => self.carry_out(outputs, effects)?,
            Err(e) => tracing::debug!(error = %e, "consensus input refused"),
        }
        if let Some(p) = proposal {
            self.on_verified_proposal(&p, effects)?;
        }
        Ok(())
    }

    /// A gossiped block: held, unexamined, until a verified proposal names it
    /// (`examine`). Its round, valid round and proposer as gossiped are not
    /// trusted: the proposal that names it says them, signed.
    fn on_block(
        &mut self,
        from: PeerId,
        message: MessageId,
        proposed: ProposedBlock,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Fatal> {
        let height = proposed.block.header.height;
        let current = self.height();
        if height < current || height > current + AHEAD_HEIGHTS_MAX {
            effects.push(Effect::Validate(message, from, Verdict::Ignore));
            return Ok(());
        }
        let id = BlockId(proposed.block.hash());
        if self.candidates.contains_key(&id) {
            effects.push(Effect::Validate(message, from, Verdict::Accept));
            return Ok(());
        }
        if self.held.contains(&id) {
            // A copy: the first stays charged to the peer that sent it.
            effects.push(Effect::Validate(message, from, Verdict::Ignore));
            return Ok(());
        }
        let evicted = self.held.insert(from, id, proposed.block, message);
        self.metrics
            .blocks_unnamed_dropped
            .inc_by(evicted.len() as u64);
        for (peer, message) in evicted {
            effects.push(Effect::Validate(message, peer, Verdict::Ignore));
        }
        self.examine(effects)
    }

    /// A proposal for this height or one of the next, signed by its round's
    /// proposer (`on_consensus` checked it): kept if its round is near, then
    /// its block examined.
    fn on_verified_proposal(
        &mut self,
        p: &ProposalSeen,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Fatal> {
        let height = p.height;
        let round_now = if height == self.height() {
            self.consensus.round().unwrap_or(0)
        } else {
            0
        };
        if p.round > round_now.saturating_add(PROPOSAL_ROUNDS_AHEAD_MAX) {
            return Ok(());
        }
        let naming = Naming {
            value: p.value,
            valid_round: p.valid_round,
            proposer: p.proposer,
            delivered: false,
        };
        if self.namings.insert(height, p.round, naming) {
            self.examine(effects)?;
        }
        Ok(())
    }

    /// Reports to consensus every block of the current height that a kept
    /// proposal names, for rounds up to `EXAMINE_ROUNDS_AHEAD_MAX` past this
    /// node's, executing each block once.
    fn examine(&mut self, effects: &mut Vec<Effect>) -> Result<(), Fatal> {
        if self.examining {
            return Ok(());
        }
        self.examining = true;
        let result = self.examine_all(effects);
        self.examining = false;
        result
    }

    fn examine_all(&mut self, effects: &mut Vec<Effect>) -> Result<(), Fatal> {
        loop {
            let height = self.height();
            let round_max = self
                .consensus
                .round()
                .unwrap_or(0)
                .saturating_add(EXAMINE_ROUNDS_AHEAD_MAX);
            let (candidates, held) = (&self.candidates, &self.held);
            let Some((round, naming)) = self.namings.next_deliverable(height, round_max, |id| {
                candidates.contains_key(id) || held.contains(id)
            }) else {
                return Ok(());
            };
            if let Some((block, from, message)) = self.held.take(&naming.value) {
                // Named: worth forwarding, whatever its execution says
                // (others judge it themselves).
                effects.push(Effect::Validate(message, from, Verdict::Accept));
                if !self.check_candidate(block)? {
                    continue;
                }
            }
            let valid = self
                .candidates
                .get(&naming.value)
                .is_some_and(|c| c.executed.is_some());
            let named = NamedBlock {
                height,
                round,
                valid_round: naming.valid_round,
                proposer: naming.proposer,
                value: naming.value,
                valid,
            };
            // An error is the core's refusal of what a peer said, not ours.
            match self.consensus.on_named_block(named) {
                Ok(outputs) => self.carry_out(outputs, effects)?,
                Err(e) => tracing::debug!(error = %e, "proposed value refused"),
            }
        }
    }

    /// Checks (executes) a named block of the current height once and keeps
    /// it as a candidate, valid or not; `false` if it cannot be judged yet
    /// (its time is ahead of this node's clock: not kept, the same block may
    /// be fine when proposed again).
    fn check_candidate(&mut self, block: Block) -> Result<bool, Fatal> {
        let height = block.header.height;
        let known = self.mempool.known_valid(&block.txs);
        let unknown = known.iter().filter(|k| !**k).count();
        self.metrics.block_txs_unverified.inc_by(unknown as u64);
        // Timed for the metrics and the debug log; nothing decides by it.
        let started = std::time::Instant::now();
        let checked = self.chain.check(&block, self.now_ms, &known);
        let elapsed = started.elapsed();
        self.metrics.block_check.observe(elapsed.as_secs_f64());
        tracing::debug!(
            height,
            txs = block.txs.len(),
            unknown,
            check_ms = elapsed.as_millis(),
            "checked"
        );
        let executed = match checked {
            Ok(executed) => Some(executed),
            Err(ChainError::Invalid(why)) => {
                tracing::warn!(height, %why, "proposed block is invalid");
                self.metrics.blocks_invalid.inc();
                None
            }
            Err(ChainError::Future(why)) => {
                tracing::warn!(height, %why, "proposed block is ahead of this node's clock");
                return Ok(false);
            }
            Err(e) => return Err(e.into()),
        };
        self.candidates
            .insert(BlockId(block.hash()), Candidate { block, executed });
        Ok(true)
    }

    /// Whether the mempool holds a full block: at least `block_txs_max`
    /// transactions or the block's bytes. Waiting for the pacing interval
    /// would then only add latency (block building by size).
    fn pool_holds_a_block(&self) -> bool {
        let (txs_bytes_max, block_txs_max) = self.block_room();
        self.mempool.len() >= block_txs_max || self.mempool.bytes() >= txs_bytes_max
    }

    /// Room for transactions in a block: (bytes, count).
    fn block_room(&self) -> (usize, usize) {
        let params = self.chain.params();
        // Room for the header and framing inside the block limit.
        let txs_bytes_max = params.block_bytes_max.saturating_sub(BLOCK_FRAMING_BYTES);
        (txs_bytes_max, params.block_txs_max)
    }

    /// Builds the pending proposal now if the mempool holds a full block.
    ///
    /// Not while catching up (the height is likely decided elsewhere already:
    /// the block would be executed for nothing), nor above `halt_height`
    /// (the runner stops after the event that commits it and must not find a
    /// later height begun).
    fn build_if_full(&mut self, effects: &mut Vec<Effect>) -> Result<(), Fatal> {
        let Some((height, round)) = self.build_pending else {
            return Ok(());
        };
        let halting = self.halt_height.is_some_and(|halt| height > halt);
        if halting
            || self.sync_sent.is_some()
            || !self.build_by_size_armed
            || !self.pool_holds_a_block()
        {
            return Ok(());
        }
        if self.build(height, round, effects)? {
            self.metrics.blocks_built_by_size.inc();
        }
        Ok(())
    }

    /// Builds and proposes the block consensus asked for; `false` if that
    /// request was already built or superseded (height or round moved on).
    fn build(&mut self, height: u64, round: u32, effects: &mut Vec<Effect>) -> Result<bool, Fatal> {
        // Once per request: a proposal built by size is not built again when
        // its pacing timer fires.
        if self.build_pending != Some((height, round)) {
            return Ok(false);
        }
        self.build_pending = None;
        if self.height() != height || self.consensus.round() != Some(round) {
            return Ok(false);
        }
        let (txs_bytes_max, block_txs_max) = self.block_room();
        let chain = &self.chain;
        let mut nonce_error = None;
        // Timed for the metrics and the debug log; nothing decides by it.
        let started = std::time::Instant::now();
        let txs = self.mempool.take(txs_bytes_max, block_txs_max, |tx| {
            chain.nonce(&tx.tx.sender).unwrap_or_else(|e| {
                nonce_error = Some(e);
                u64::MAX
            })
        });
        if let Some(e) = nonce_error {
            return Err(e.into());
        }
        let (block, executed) = self.chain.build(height, self.now_ms, self.address, txs)?;
        let elapsed = started.elapsed();
        self.metrics.block_build.observe(elapsed.as_secs_f64());
        let id = BlockId(block.hash());
        tracing::debug!(height, round, txs = block.txs.len(), build_ms = elapsed.as_millis(), block = %id.0, "proposing");
        let proposal = Gossip::Block(ProposedBlock {
            round,
            valid_round: None,
            proposer: self.address,
            block: block.clone(),
        })
        .encode();
        self.build_by_size_armed = half_full(
            block.txs.len(),
            block_txs_max,
            proposal.len(),
            txs_bytes_max,
        );
        effects.push(Effect::Gossip(Topic::Blocks, proposal));
        self.candidates.insert(
            id,
            Candidate {
                block,
                executed: Some(executed),
            },
        );
        let outputs = self.consensus.propose(height, round, id)?;
        self.carry_out(outputs, effects)?;
        Ok(true)
    }

    /// Carries out consensus outputs in order (WAL first, see the module docs).
    fn carry_out(&mut self, outputs: Vec<Output>, effects: &mut Vec<Effect>) -> Result<(), Fatal> {
        let mut work: std::collections::VecDeque<Output> = outputs.into();
        while let Some(output) = work.pop_front() {
            match output {
                Output::WalAppend(_, input) => {
                    let bytes = wal::encode(&input).map_err(|e| {
                        Fatal::Consensus(filiera_consensus::ConsensusError(e.to_string()))
                    })?;
                    self.wal.append(&bytes)?;
                }
                Output::Publish(msg) => {
                    let bytes = msg.encode().map_err(|e| {
                        Fatal::Consensus(filiera_consensus::ConsensusError(e.to_string()))
                    })?;
                    effects.push(Effect::Gossip(
                        Topic::Consensus,
                        Gossip::Consensus(bytes).encode(),
                    ));
                }
                Output::ScheduleTimeout(t, ms) => effects.push(Effect::Schedule(t, ms)),
                Output::CancelTimeout(t) => effects.push(Effect::Cancel(t)),
                Output::CancelAllTimeouts => effects.push(Effect::CancelAll),
                Output::BuildBlock {
                    height,
                    round,
                    timeout_ms,
                } => {
                    let since_commit_ms = self.now_ms.saturating_sub(self.last_commit_ms);
                    let delay_ms =
                        build_delay_ms(self.pacing.block_interval_ms, since_commit_ms, timeout_ms);
                    // Built when the timer fires, or earlier by `build_if_full`
                    // at the end of an event once the pool holds a full block.
                    self.build_pending = Some((height.0, round));
                    effects.push(Effect::BuildAfter {
                        height: height.0,
                        round,
                        delay_ms,
                    });
                }
                Output::RestreamBlock {
                    round,
                    valid_round,
                    value,
                    ..
                } => {
                    if let Some(c) = self.candidates.get(&value) {
                        effects.push(Effect::Gossip(
                            Topic::Blocks,
                            Gossip::Block(ProposedBlock {
                                round,
                                valid_round,
                                proposer: self.address,
                                block: c.block.clone(),
                            })
                            .encode(),
                        ));
                    }
                }
                Output::RoundStarted { round, .. } => self.metrics.round.set(i64::from(round)),
                Output::Evidence(pairs) => self.on_evidence(pairs, effects),
                Output::Decided(cert) => {
                    if let Some(more) = self.decided(cert, effects)? {
                        // After what is left of the old height, in order.
                        work.extend(more);
                    }
                }
            }
        }
        // The round or height may have moved on: blocks named for it are due.
        self.examine(effects)
    }

    /// Commits a decided block; `None` if its block is missing (then it is
    /// fetched by sync).
    fn decided(
        &mut self,
        cert: CommitCertificate,
        effects: &mut Vec<Effect>,
    ) -> Result<Option<Vec<Output>>, Fatal> {
        let height = cert.height.0;
        // A block the quorum decided counts even if no proposal of it
        // reached this node: the certificate names it.
        let held = self.held.take(&cert.value_id).map(|(block, from, id)| {
            effects.push(Effect::Validate(id, from, Verdict::Accept));
            Candidate {
                block,
                executed: None,
            }
        });
        let Some(candidate) = self.candidates.remove(&cert.value_id).or(held) else {
            tracing::warn!(
                height,
                "decided a block this node does not hold; syncing it"
            );
            self.request_sync(effects);
            return Ok(None);
        };
        let executed = match candidate.executed {
            Some(e) => e,
            // Decided by a quorum although this node judged it invalid: the
            // quorum is right by assumption (at most f faulty), so execute.
            None => {
                let known = self.mempool.known_valid(&candidate.block.txs);
                self.chain.execute(
                    height,
                    candidate.block.header.time_ms,
                    &candidate.block.txs,
                    &known,
                )?
            }
        };
        let certificate = to_certificate(&cert);
        let receipts = executed.receipts.len();
        self.count_failed(&executed.receipts);
        let started = std::time::Instant::now();
        self.chain
            .commit(&candidate.block, &certificate, executed)?;
        self.metrics
            .block_commit
            .observe(started.elapsed().as_secs_f64());
        self.metrics
            .finality_latency
            .observe(self.now_ms.saturating_sub(self.height_started_ms) as f64 / 1000.0);
        tracing::info!(height, txs = receipts, block = %cert.value_id.0, "committed");
        self.after_commit(&candidate.block, effects).map(Some)
    }

    fn count_failed(&self, receipts: &[filiera_types::receipt::Receipt]) {
        let failed = receipts
            .iter()
            .filter(|r| matches!(r.status, filiera_types::receipt::TxStatus::Failed { .. }))
            .count();
        self.metrics.txs_failed.inc_by(failed as u64);
        let recorded = receipts
            .iter()
            .flat_map(|r| &r.events)
            .filter(|e| e.contract.as_str() == EVIDENCE_CONTRACT)
            .count();
        self.metrics.evidence_recorded.inc_by(recorded as u64);
    }

    /// Equivocation the core kept at the height just decided: logged,
    /// counted, and reported to the chain unless already recorded there.
    fn on_evidence(&mut self, pairs: Vec<Equivocation>, effects: &mut Vec<Effect>) {
        self.metrics.evidence.inc_by(pairs.len() as u64);
        let mut new = Vec::new();
        for pair in pairs {
            let o = pair.offence();
            tracing::warn!(
                validator = %o.validator,
                height = o.height,
                round = o.round,
                step = o.step.as_str(),
                "equivocation seen"
            );
            // A store error only costs a duplicate report, which the chain merges.
            if !self.chain.evidence_recorded(&o).unwrap_or(false) && new.len() < EVIDENCE_PER_TX_MAX
            {
                new.push(pair);
            }
        }
        if new.is_empty() {
            return;
        }
        let sender = self.key.public_key();
        let Ok(committed) = self.chain.nonce(&sender) else {
            tracing::warn!("cannot read this node's nonce: evidence not reported");
            return;
        };
        let params = self.chain.params();
        let report = evidence::report_tx(
            &params.chain_id,
            &self.key,
            self.mempool.next_nonce(&sender.address(), committed),
            self.height(),
            EVIDENCE_EXPIRY_BLOCKS.min(params.tx_expiry_blocks_max),
            &new,
        )
        .map_err(|e| e.to_string())
        .and_then(|tx| Verified::check(tx).map_err(|e| e.to_string()))
        .and_then(|tx| self.submit(tx, effects).map_err(|e| e.to_string()));
        match report {
            Ok(hash) => {
                self.metrics.evidence_reported.inc();
                tracing::warn!(tx = %hash, pairs = new.len(), "equivocation reported to the chain");
            }
            Err(e) => tracing::warn!(error = %e, "equivocation not reported"),
        }
    }

    /// After a commit (decided or synced): WAL, mempool, metrics; returns
    /// the outputs of starting the next height. Blocks held and named for
    /// it are examined once those outputs are carried out (`carry_out` ends
    /// with `examine`).
    fn after_commit(
        &mut self,
        block: &Block,
        effects: &mut Vec<Effect>,
    ) -> Result<Vec<Output>, Fatal> {
        let height = block.header.height;
        self.wal.reset(height + 1)?;
        let mut committed = BTreeMap::new();
        for tx in &block.txs {
            let sender = tx.tx.sender.address();
            if let std::collections::btree_map::Entry::Vacant(slot) = committed.entry(sender) {
                slot.insert(self.chain.nonce(&tx.tx.sender)?);
            }
        }
        self.mempool.prune(height + 1, &committed);
        self.metrics.blocks_committed.inc();
        self.metrics.txs_committed.inc_by(block.txs.len() as u64);
        self.metrics
            .block_interval
            .observe(self.now_ms.saturating_sub(self.last_commit_ms) as f64 / 1000.0);
        self.last_commit_ms = self.now_ms;
        self.height_started_ms = self.now_ms;
        self.candidates.clear();
        for (from, id) in self.held.prune_below(height + 1) {
            effects.push(Effect::Validate(id, from, Verdict::Ignore));
        }
        self.namings.prune_below(height + 1);
        self.update_allowed(effects)?;
        let set = ConsensusValidatorSet::new(self.chain.validator_set(height + 1).clone());
        Ok(self
            .consensus
            .start_height(Height(height + 1), set, false)?)
    }

    /// Tells the network when the validators' p2p keys change.
    fn update_allowed(&mut self, effects: &mut Vec<Effect>) -> Result<(), Fatal> {
        let keys = self.chain.allowed_p2p_keys(self.height())?;
        if keys != self.allowed_validators {
            self.allowed_validators = keys.clone();
            effects.push(Effect::AllowValidators(keys));
        }
        Ok(())
    }

    fn maybe_sync(&mut self, seen: Option<(PeerId, u64)>, effects: &mut Vec<Effect>) {
        let current = self.height();
        if let Some((peer, height)) = seen {
            if self
                .distrusted
                .get(&peer)
                .is_some_and(|until| *until > self.now_ms)
            {
                return;
            }
            let known = self.peers.entry(peer).or_insert(0);
            *known = (*known).max(height);
            // One height ahead is normal just before this node decides too.
            if height <= current + 1 {
                return;
            }
        } else {
            let stalled = self.now_ms.saturating_sub(self.last_commit_ms) >= SYNC_STALL_MS;
            if !stalled {
                return;
            }
        }
        self.request_sync(effects);
    }

    fn request_sync(&mut self, effects: &mut Vec<Effect>) {
        let current = self.height();
        if self
            .sync_sent
            .is_some_and(|(_, at)| self.now_ms.saturating_sub(at) < SYNC_RETRY_MS)
        {
            return;
        }
        // The peer seen furthest ahead; ties by id, so the choice is stable.
        let Some((&peer, _)) = self
            .peers
            .iter()
            .filter(|(_, h)| **h > current)
            .max_by_key(|(p, h)| (**h, std::cmp::Reverse(**p)))
        else {
            return;
        };
        let request = SyncRequest {
            from_height: current,
            count: SYNC_BATCH_BLOCKS_MAX,
        };
        tracing::info!(%peer, from_height = current, "requesting blocks");
        self.sync_sent = Some((peer, self.now_ms));
        effects.push(Effect::Request(peer, request.encode()));
    }

    /// A sync request handed to the driver (the node answers them off this
    /// thread, `sync_serve`; this path stays whole for any caller that
    /// hands network events over as they come).
    fn on_sync_request(
        &mut self,
        from: PeerId,
        id: u64,
        data: &[u8],
        effects: &mut Vec<Effect>,
    ) -> Result<(), Fatal> {
        let response = match crate::sync_serve::answer(self.chain.store(), data) {
            Ok(r) => r,
            Err(crate::sync_serve::ServeError::Malformed(e)) => {
                self.penalise(from, &e.to_string(), effects);
                SyncResponse { blocks: Vec::new() }
            }
            Err(crate::sync_serve::ServeError::Storage(e)) => return Err(e.into()),
        };
        // Answered even when empty, so the network releases the ticket.
        effects.push(Effect::Respond(id, response.encode()));
        Ok(())
    }

    fn on_sync_response(
        &mut self,
        from: PeerId,
        data: &[u8],
        effects: &mut Vec<Effect>,
    ) -> Result<(), Fatal> {
        if self.sync_sent.is_some_and(|(p, _)| p == from) {
            self.sync_sent = None;
        }
        self.metrics.sync_bytes_received.inc_by(data.len() as u64);
        let response = match SyncResponse::decode(data) {
            Ok(r) => r,
            Err(e) => {
                self.penalise(from, &e.to_string(), effects);
                return Ok(());
            }
        };
        let mut any = false;
        for (block, cert) in response.blocks {
            if block.header.height != self.height() {
                continue;
            }
            match self.chain.commit_synced(&block, &cert, self.now_ms) {
                Ok(receipts) => self.count_failed(&receipts),
                Err(ChainError::Invalid(why) | ChainError::Future(why)) => {
                    self.penalise(from, &format!("synced block: {why}"), effects);
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            }
            tracing::info!(height = block.header.height, "committed from sync");
            self.metrics.blocks_synced.inc();
            any = true;
            let outputs = self.after_commit(&block, effects)?;
            self.carry_out(outputs, effects)?;
        }
        if !any {
            // A peer that claimed to be ahead but had nothing for us is
            // neither asked again nor believed for a while.
            if let Some(h) = self.peers.get_mut(&from) {
                *h = 0;
            }
            self.distrusted
                .insert(from, self.now_ms.saturating_add(SYNC_DISTRUST_MS));
        } else if self.peers.get(&from).is_some_and(|h| *h > self.height()) {
            // Still behind the peer: ask for the next batch.
            self.request_sync(effects);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{build_delay_ms, half_full};

    #[test]
    fn the_pacing_wait_is_the_interval_left_capped_at_half_the_propose_timeout() {
        assert_eq!(build_delay_ms(250, 0, 3_000), 250);
        assert_eq!(build_delay_ms(250, 100, 3_000), 150);
        assert_eq!(build_delay_ms(250, 400, 3_000), 0);
        assert_eq!(build_delay_ms(60_000, 0, 3_000), 1_500);
    }

    #[test]
    fn a_block_is_half_full_by_count_or_by_bytes() {
        assert!(half_full(5_000, 10_000, 10, 4_000_000));
        assert!(half_full(1, 10_000, 2_000_000, 4_000_000));
        assert!(!half_full(4_999, 10_000, 1_999_999, 4_000_000));
        assert!(!half_full(0, 10_000, 0, 4_000_000));
    }
}
