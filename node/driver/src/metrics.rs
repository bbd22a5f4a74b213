//! Prometheus metrics of a node, on `GET /metrics` in the text format.
//! Names follow Prometheus conventions: `filiera_` prefix, base units
//! (seconds, bytes), `_total` for counters.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// Every metric the node exports.
pub struct Metrics {
    registry: Registry,
    /// Last committed height.
    pub height: IntGauge,
    /// Current consensus round.
    pub round: IntGauge,
    /// Blocks committed by this node (decided or synced).
    pub blocks_committed: IntCounter,
    /// Blocks taken from block sync rather than decided.
    pub blocks_synced: IntCounter,
    /// Bytes of block-sync answers received (what joining by replay costs).
    pub sync_bytes_received: IntCounter,
    /// Transactions committed.
    pub txs_committed: IntCounter,
    /// Committed transactions whose receipt says failed (refused by a contract).
    pub txs_failed: IntCounter,
    /// Time between two consecutive commits, seconds.
    pub block_interval: Histogram,
    /// From the start of a height to its decision, seconds.
    pub finality_latency: Histogram,
    /// Building a proposal (taking from the mempool, executing, the state
    /// root), seconds: on the critical path of every height.
    pub block_build: Histogram,
    /// Checking a proposal (rules, signatures not yet verified, execution,
    /// the state root), seconds: on the critical path before this node votes.
    pub block_check: Histogram,
    /// Writing a decided block, its certificate, receipts and state, seconds.
    pub block_commit: Histogram,
    /// The chain rules version of the height being decided.
    pub chain_rules_version: IntGauge,
    /// The first height whose chain rules this binary does not implement,
    /// where it will stop; 0 when none is scheduled.
    pub chain_rules_unimplemented_height: IntGauge,
    /// Connected peers.
    pub peers: IntGauge,
    /// Transactions in the mempool.
    pub mempool_txs: IntGauge,
    /// Bytes in the mempool.
    pub mempool_bytes: IntGauge,
    /// Transactions refused at admission, by reason.
    pub txs_refused: IntCounterVec,
    /// Transactions of blocks checked whose signature this node had not
    /// verified before (not in its mempool), so verified during the check.
    pub block_txs_unverified: IntCounter,
    /// Proposed blocks found invalid.
    pub blocks_invalid: IntCounter,
    /// Gossiped blocks dropped unexamined: no proposal of their round's
    /// proposer named them before their peer's room was needed.
    pub blocks_unnamed_dropped: IntCounter,
    /// Proposals built without waiting for their pacing timer, because the
    /// mempool held a full block.
    pub blocks_built_by_size: IntCounter,
    /// Transaction gossip messages dropped unverified because every
    /// verification task was busy (consensus messages are never held up
    /// behind them).
    pub tx_gossip_dropped: IntCounter,
    /// Equivocations seen.
    pub evidence: IntCounter,
    /// Evidence reports this node signed and admitted.
    pub evidence_reported: IntCounter,
    /// Offences recorded on chain by the blocks this node committed.
    pub evidence_recorded: IntCounter,
    /// Heights at which a peer proved, by a valid commit certificate, that
    /// the network decided another block than this node committed.
    pub forks_detected: IntCounter,
    /// Peers disconnected for sending malformed data.
    pub peers_penalised: IntCounter,
}

const LATENCY_BUCKETS_S: [f64; 14] = [
    0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
];

impl Metrics {
    /// Whether the mempool was full when the driver last reported its size
    /// (after every event). Submissions and gossip are then refused before
    /// their signatures are checked: under overload, verifying transactions
    /// the pool can only refuse (and verifying them again at every retry of
    /// a client answered "busy") took the cores from consensus, and a 4-node
    /// localnet offered 1.5 times what it could commit committed a fifth of
    /// it. The report may be one event old; the driver's admission stays the
    /// exact check.
    pub fn mempool_reported_full(&self, limits: &crate::mempool::MempoolLimits) -> bool {
        let txs = usize::try_from(self.mempool_txs.get()).unwrap_or(0);
        let bytes = usize::try_from(self.mempool_bytes.get()).unwrap_or(0);
        txs >= limits.txs_max || bytes >= limits.bytes_max
    }

    /// Counts a transaction refused at admission, by reason.
    pub fn count_refused(&self, e: &crate::mempool::AdmitError) {
        self.count_refused_n(e, 1);
    }

    /// Counts `count` transactions refused at admission for the same reason.
    pub fn count_refused_n(&self, e: &crate::mempool::AdmitError, count: usize) {
        use crate::mempool::AdmitError;
        use filiera_types::admission::Refusal;
        let reason = match e {
            AdmitError::Busy(_) => "busy",
            AdmitError::Duplicate => "duplicate",
            AdmitError::Refused(refusal) => match refusal {
                Refusal::BadSignature(_) => "signature",
                Refusal::NonceUsed { .. } | Refusal::NonceGap { .. } => "nonce",
                Refusal::Expiry { .. } => "expiry",
                Refusal::TooLarge { .. } => "size",
                Refusal::WrongChain(_) => "chain",
                Refusal::NotMember(_) | Refusal::NotActive(_) => "not_member",
            },
        };
        self.txs_refused
            .with_label_values(&[reason])
            .inc_by(u64::try_from(count).unwrap_or(u64::MAX));
    }

    /// Registers every metric.
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let gauge = |name: &str, help: &str| -> Result<IntGauge, prometheus::Error> {
            let g = IntGauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let counter = |name: &str, help: &str| -> Result<IntCounter, prometheus::Error> {
            let c = IntCounter::new(name, help)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let histogram = |name: &str, help: &str| -> Result<Histogram, prometheus::Error> {
            let h = Histogram::with_opts(
                HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS_S.to_vec()),
            )?;
            registry.register(Box::new(h.clone()))?;
            Ok(h)
        };
        let txs_refused = IntCounterVec::new(
            Opts::new(
                "filiera_txs_refused_total",
                "Transactions refused at admission, by reason.",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(txs_refused.clone()))?;
        Ok(Metrics {
            height: gauge("filiera_height", "Last committed block height.")?,
            round: gauge("filiera_consensus_round", "Current consensus round.")?,
            chain_rules_version: gauge(
                "filiera_chain_rules_version",
                "Chain rules version of the height being decided.",
            )?,
            chain_rules_unimplemented_height: gauge(
                "filiera_chain_rules_unimplemented_height",
                "First height whose chain rules this binary does not implement (it stops before it); 0 when none is scheduled.",
            )?,
            blocks_committed: counter(
                "filiera_blocks_committed_total",
                "Blocks committed (decided or synced).",
            )?,
            blocks_synced: counter(
                "filiera_blocks_synced_total",
                "Blocks committed from block sync.",
            )?,
            sync_bytes_received: counter(
                "filiera_sync_received_bytes_total",
                "Bytes of block-sync answers received.",
            )?,
            txs_committed: counter("filiera_txs_committed_total", "Transactions committed.")?,
            block_txs_unverified: counter(
                "filiera_block_txs_unverified_total",
                "Transactions of checked blocks whose signature was verified during the check.",
            )?,
            txs_failed: counter(
                "filiera_txs_failed_total",
                "Committed transactions whose receipt says failed.",
            )?,
            block_interval: histogram(
                "filiera_block_interval_seconds",
                "Time between consecutive commits.",
            )?,
            finality_latency: histogram(
                "filiera_finality_latency_seconds",
                "From the start of a height to its decision.",
            )?,
            block_build: histogram(
                "filiera_block_build_seconds",
                "Building a proposal: mempool, execution, state root.",
            )?,
            block_check: histogram(
                "filiera_block_check_seconds",
                "Checking a proposal: rules, signatures, execution, state root.",
            )?,
            block_commit: histogram(
                "filiera_block_commit_seconds",
                "Writing a decided block with its certificate, receipts and state.",
            )?,
            peers: gauge("filiera_peers", "Connected peers.")?,
            mempool_txs: gauge("filiera_mempool_txs", "Transactions in the mempool.")?,
            mempool_bytes: gauge("filiera_mempool_bytes", "Bytes in the mempool.")?,
            txs_refused,
            blocks_invalid: counter(
                "filiera_blocks_invalid_total",
                "Proposed blocks found invalid.",
            )?,
            blocks_unnamed_dropped: counter(
                "filiera_blocks_unnamed_dropped_total",
                "Gossiped blocks dropped unexamined: no proposal named them in time.",
            )?,
            blocks_built_by_size: counter(
                "filiera_blocks_built_by_size_total",
                "Proposals built early because the mempool held a full block.",
            )?,
            tx_gossip_dropped: counter(
                "filiera_tx_gossip_dropped_total",
                "Transaction gossip messages dropped unverified: verifiers busy.",
            )?,
            evidence: counter(
                "filiera_equivocations_total",
                "Pairs of equivocating votes or proposals this node's consensus saw.",
            )?,
            evidence_reported: counter(
                "filiera_evidence_reported_total",
                "Equivocation reports this node signed and admitted to its mempool.",
            )?,
            evidence_recorded: counter(
                "filiera_evidence_recorded_total",
                "Equivocation offences recorded on chain by blocks this node committed.",
            )?,
            forks_detected: counter(
                "filiera_forks_detected_total",
                "Heights at which a valid certificate names another block than this node committed.",
            )?,
            peers_penalised: counter(
                "filiera_peers_penalised_total",
                "Peers disconnected for malformed messages.",
            )?,
            registry,
        })
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for the text format.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}
