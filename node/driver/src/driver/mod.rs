//! The node's event loop body: one thread owns consensus, the chain, the
//! mempool and the WAL, takes [`Event`]s one at a time and answers with
//! [`Effect`]s for the I/O tasks (network, timers).
//!
//! Ordering is the safety argument: consensus outputs are carried out in the
//! order the core produced them, and a WAL append is durable before this
//! function returns the effects after it, so a vote leaves the node only
//! once it is durable. The driver reads no clock: the runner passes `now_ms`
//! with every event, used for block times and metrics only.
//!
//! One file per kind of input: transactions ([`txs`]), gossip as it arrives
//! ([`gossip`]), consensus messages ([`votes`]), proposed blocks
//! ([`blocks`]), this node's proposal ([`build`]), consensus outputs and
//! commits ([`commit`]), block sync ([`sync`]), a fork seen ([`fork`]).

mod blocks;
mod build;
mod commit;
mod fork;
mod gossip;
mod rules;
mod sync;
mod txs;
mod votes;

use crate::Peer;
use crate::evidence::{self, EVIDENCE_EXPIRY_BLOCKS};
use crate::ledger::{Broken, ConsensusLog, Ledger, LedgerError, Recovered, SyncAnswerError};
use crate::mempool::{AdmitContext, AdmitError, Mempool, Verified};
use crate::metrics::Metrics;
use crate::proposals::{HeldBlocks, Naming, Namings, PROPOSAL_ROUNDS_AHEAD_MAX};
use filiera_consensus::{
    BlockId, CommitCertificate, Consensus, ConsensusValidatorSet, Height, NamedBlock, NetworkInput,
    Output, ProposalSeen, TimeoutsMs, Timer, to_certificate, wal,
};
use filiera_types::admission;
use filiera_types::block::Block;
use filiera_types::evidence::{
    EVIDENCE_CONTRACT, EVIDENCE_PER_TX_MAX, Equivocation, from_certificates,
};
use filiera_types::{Address, Hash, SecretKey, SignedTransaction};
use filiera_wire::{
    Gossip, MessageId, PeerEvent, ProposedBlock, SYNC_BATCH_BLOCKS_MAX, SyncRequest, SyncResponse,
    TX_GOSSIP_BATCH_MAX, TX_GOSSIP_DELAY_MS, Topic, Verdict,
};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
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
const BLOCK_FRAMING_BYTES: usize = filiera_types::chain_limits::BLOCK_FRAMING_BYTES as usize;

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

/// Where the answer to a client's request goes (a channel's sender, in the node).
pub type Reply<T> = Box<dyn FnOnce(T) + Send>;

/// What the driver is told, `P` being a peer's identity.
pub enum Event<P> {
    /// Something the network reported (gossip, sync, peers coming and going).
    Network(PeerEvent<P>),
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
    Submit(Verified, Reply<Result<Hash, AdmitError>>),
    /// A client submits several transactions (verified on the API's threads);
    /// one answer per transaction, in order.
    SubmitBatch(Vec<Verified>, Reply<Vec<Result<Hash, AdmitError>>>),
    /// Transactions gossiped by a peer, their signatures verified off this
    /// thread; the bad ones were dropped there.
    GossipedTxs(Vec<Verified>),
    /// A client asks whether a transaction waits in the mempool.
    IsPending(Hash, Reply<bool>),
    /// Time to gossip the transactions admitted since the last batch.
    FlushTxs,
}

impl<P: std::fmt::Debug> std::fmt::Debug for Event<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::Network(e) => f.debug_tuple("Network").field(e).finish(),
            Event::Timeout(t) => f.debug_tuple("Timeout").field(t).finish(),
            Event::Build { height, round } => f
                .debug_struct("Build")
                .field("height", height)
                .field("round", round)
                .finish(),
            Event::Tick => f.write_str("Tick"),
            Event::Submit(v, _) => f.debug_tuple("Submit").field(&v.tx().hash()).finish(),
            Event::SubmitBatch(v, _) => f.debug_tuple("SubmitBatch").field(&v.len()).finish(),
            Event::GossipedTxs(v) => f.debug_tuple("GossipedTxs").field(&v.len()).finish(),
            Event::IsPending(h, _) => f.debug_tuple("IsPending").field(h).finish(),
            Event::FlushTxs => f.write_str("FlushTxs"),
        }
    }
}

/// What the runner must do.
#[derive(Debug, PartialEq, Eq)]
pub enum Effect<P> {
    /// Gossip bytes on a topic.
    Gossip(Topic, Vec<u8>),
    /// Ask a peer for blocks.
    Request(P, Vec<u8>),
    /// Answer a peer's sync request.
    Respond(u64, Vec<u8>),
    /// Drop a peer that sent malformed data.
    Disconnect(P),
    /// Tell gossip what this node made of a message it was handed (whether
    /// to forward it, and whether to hold it against the peer).
    Validate(MessageId, P, Verdict),
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
    Storage(Broken),
    /// The WAL failed.
    #[error("wal: {0}")]
    Wal(Broken),
    /// Consensus refused an input it produced itself, or a WAL record.
    #[error("consensus: {0}")]
    Consensus(#[from] filiera_consensus::ConsensusError),
    /// A consensus message or WAL record could not be encoded, or a WAL
    /// record read back could not be decoded.
    #[error("encoding: {0}")]
    Encoding(String),
    /// The ledger refused a block this node had to take (its own proposal,
    /// or one replayed from its WAL).
    #[error("ledger: {0}")]
    Ledger(LedgerError),
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
    /// The chain's rules change at `height` to a version this binary does
    /// not implement: the node stops before it, having voted on nothing
    /// there, and starts again only with a release that implements it.
    #[error(
        "stopped before height {height}: the chain's rules are version {version} from there, and this binary implements versions 1 to {max}; install a release that implements version {version} and start again",
        max = filiera_types::chain_rules::IMPLEMENTED_MAX
    )]
    RulesUnimplemented {
        /// The first height under that version.
        height: u64,
        /// The version.
        version: u32,
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

impl From<LedgerError> for Fatal {
    fn from(e: LedgerError) -> Fatal {
        match e {
            LedgerError::Broken(s) => Fatal::Storage(s),
            e @ (LedgerError::Invalid(_)
            | LedgerError::Future(_)
            | LedgerError::NotExtending { .. }) => Fatal::Ledger(e),
        }
    }
}

fn wal_failed(e: Broken) -> Fatal {
    Fatal::Wal(e)
}

/// Pacing of the chain.
pub struct Pacing {
    /// Pause between a commit and building the next block, ms.
    pub block_interval_ms: u64,
}

/// What a driver is made of.
pub struct DriverParts<L, W> {
    /// The chain.
    pub chain: L,
    /// The consensus key.
    pub key: SecretKey,
    /// Consensus timeouts (from genesis).
    pub timeouts: TimeoutsMs,
    /// The WAL, as found at start (see [`Recovered`]).
    pub wal: Recovered<W>,
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
struct Candidate<E> {
    block: Block,
    executed: Option<E>,
}

/// The driver.
pub struct Driver<L: Ledger, W, P> {
    consensus: Consensus,
    /// The consensus key, also what this node signs evidence reports with.
    key: SecretKey,
    chain: L,
    mempool: Mempool,
    wal: W,
    address: Address,
    pacing: Pacing,
    /// Blocks examined at the current height: only those named by a
    /// verified proposal of their round's proposer, and this node's own.
    candidates: BTreeMap<BlockId, Candidate<L::Executed>>,
    /// Blocks heard of, for this height or the next ones, not yet named,
    /// with the gossip id of the message that brought each (its verdict
    /// waits for the naming: a block is forwarded only once named).
    held: HeldBlocks<P, MessageId>,
    /// Verified proposals, for this height or the next ones.
    namings: Namings,
    /// The height each peer was last seen at, from signed votes and proposals only.
    peers: BTreeMap<P, u64>,
    /// Peers whose height claims are ignored until then, ms.
    distrusted: BTreeMap<P, u64>,
    sync_sent: Option<(P, u64)>,
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
    /// A certified block did not extend this node's chain: sync asks for the
    /// blocks before this node's height too, to find where the chains differ.
    fork_suspected: bool,
    /// Heights at which a fork was proven (see [`fork`]).
    forks_seen: BTreeSet<u64>,
}

impl<L: Ledger, W: ConsensusLog, P: Peer> Driver<L, W, P> {
    /// Opens the driver at the height after the last committed block and
    /// replays the WAL if it belongs to that height. Returns the effects of
    /// starting (timers, maybe a proposal).
    pub fn start(parts: DriverParts<L, W>, now_ms: u64) -> Result<(Self, Vec<Effect<P>>), Fatal> {
        let DriverParts {
            chain,
            key,
            timeouts,
            wal,
            mempool,
            pacing,
            metrics,
            halt_height,
        } = parts;
        let height = chain.height()? + 1;
        rules::gate(&chain, &metrics, height)?;
        let set = ConsensusValidatorSet::new(chain.validator_set(height).clone());
        let Recovered {
            log: mut wal,
            height: wal_height,
            records,
        } = wal;
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
                .map_err(|e| Fatal::Encoding(e.to_string()))?;
            tracing::info!(height, records = inputs.len(), "replaying the WAL");
            consensus.replay(Height(height), set, inputs)?
        } else {
            // A WAL of an older height: that block is committed (the store
            // is written before the WAL is reset), so its records are spent.
            if wal_height != height {
                wal.reset(height).map_err(wal_failed)?;
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
            fork_suspected: false,
            forks_seen: BTreeSet::new(),
        };
        driver.publish_progress();
        let mut effects = Vec::new();
        driver.update_allowed(&mut effects)?;
        driver.carry_out(outputs, &mut effects)?;
        Ok((driver, effects))
    }

    /// The chain, for reads.
    pub fn chain(&self) -> &L {
        &self.chain
    }

    /// The height consensus is working on.
    pub fn height(&self) -> u64 {
        self.consensus.height().0
    }

    /// Handles one event at time `now_ms`.
    pub fn handle(&mut self, event: Event<P>, now_ms: u64) -> Result<Vec<Effect<P>>, Fatal> {
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
                reply(result);
            }
            Event::SubmitBatch(txs, reply) => {
                let results = txs
                    .into_iter()
                    .map(|v| self.submit(v, &mut effects))
                    .collect();
                reply(results);
            }
            Event::GossipedTxs(txs) => {
                for tx in txs {
                    // Races on nonces are normal between nodes; refusals are not misbehaviour.
                    let _ = self.admit(tx);
                }
            }
            Event::FlushTxs => self.flush_txs(&mut effects),
            Event::IsPending(hash, reply) => {
                reply(self.mempool.contains(&hash));
            }
        }
        self.build_if_full(&mut effects)?;
        self.publish_progress();
        Ok(effects)
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
