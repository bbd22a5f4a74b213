//! What the driver needs from the chain and from its write-ahead log, as
//! traits: the node gives it the RocksDB chain and the file WAL, the seeded
//! simulation the same chain code with a simulated disk under the WAL.

use filiera_types::admission::Standing;
use filiera_types::block::Block;
use filiera_types::chain_limits::ChainLimits;
use filiera_types::evidence::Offence;
use filiera_types::genesis::Genesis;
use filiera_types::receipt::Receipt;
use filiera_types::{
    Address, ChainId, CommitCertificate, Hash, PublicKey, SignedTransaction, Transaction,
    ValidatorSet,
};
use filiera_wire::SyncResponse;

/// A failure below the driver (disk, database): the node must stop.
pub type Broken = Box<dyn std::error::Error + Send + Sync>;

/// Why the chain could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The store failed: the node must stop.
    #[error("storage: {0}")]
    Broken(Broken),
    /// The block is not valid; the reason is for logs and metrics.
    #[error("invalid block: {0}")]
    Invalid(String),
    /// The block's time is too far after this node's clock: not valid now,
    /// perhaps valid when proposed again later (never cached).
    #[error("block from the future: {0}")]
    Future(String),
    /// The block names another parent than this chain's last block: invalid
    /// here, and when a valid certificate vouches for it, a sign that the
    /// network forked (the driver compares certificates then).
    #[error("block {height} names parent {parent}, not this chain's block before it")]
    NotExtending {
        /// The block's height.
        height: u64,
        /// The parent it names.
        parent: Hash,
    },
}

/// Why a sync request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum SyncAnswerError {
    /// The request does not decode: the peer's fault.
    #[error("malformed sync request: {0}")]
    Malformed(#[from] filiera_types::DecodeError),
    /// This node's store failed: its own fault.
    #[error("storage: {0}")]
    Broken(Broken),
}

/// The rules of the chain this node follows, from genesis.
#[derive(Clone, Debug)]
pub struct ChainParams {
    /// Chain id.
    pub chain_id: ChainId,
    /// Genesis hash (the parent of height 1).
    pub genesis_hash: Hash,
    /// Genesis time, ms (the parent time of height 1).
    pub genesis_time_ms: u64,
    /// The genesis validator set.
    pub validators: ValidatorSet,
    /// Genesis validators' (consensus key, p2p key).
    pub validator_p2p: Vec<(PublicKey, PublicKey)>,
    /// The limits genesis sets: those of a chain whose state has no limits
    /// table (governance moves them: see [`Ledger::limits`]).
    pub limits: ChainLimits,
}

impl ChainParams {
    /// The parameters genesis sets.
    pub fn from_genesis(genesis: &Genesis) -> Result<ChainParams, LedgerError> {
        let validators = genesis
            .validator_set()
            .map_err(|e| LedgerError::Invalid(format!("genesis: {e}")))?;
        let c = &genesis.consensus;
        Ok(ChainParams {
            chain_id: genesis.chain_id.clone(),
            genesis_hash: genesis.hash(),
            genesis_time_ms: genesis.genesis_time_ms,
            validators,
            validator_p2p: genesis
                .validators
                .iter()
                .map(|v| (v.consensus_key, v.p2p_key))
                .collect(),
            limits: ChainLimits::from_genesis(c),
        })
    }
}

/// The chain as the driver uses it: build, check, execute and commit blocks
/// over the committed state.
pub trait Ledger {
    /// A block executed but not committed.
    type Executed;

    /// The chain's rules.
    fn params(&self) -> &ChainParams;
    /// The last committed height (0 before the first block).
    fn height(&self) -> Result<u64, LedgerError>;
    /// The validator set that decides `height`.
    fn validator_set(&self, height: u64) -> &ValidatorSet;
    /// p2p keys of the validators of every set in force from `height` on,
    /// and of the observers the authority allows.
    fn allowed_p2p_keys(&self, height: u64) -> Result<Vec<PublicKey>, LedgerError>;
    /// `sender`'s next nonce in the committed state.
    fn nonce(&self, sender: &PublicKey) -> Result<u64, LedgerError>;
    /// The standing of `tx`'s sender in the committed state, for a
    /// transaction of block `height` (see [`filiera_types::admission`]).
    fn standing(&self, tx: &Transaction, height: u64) -> Result<Standing, LedgerError>;
    /// The commit certificate of committed `height`, if any.
    fn certificate(&self, height: u64) -> Result<Option<CommitCertificate>, LedgerError>;
    /// The chain rules version at `height`, and the first scheduled version
    /// this binary does not implement (its first height and number).
    fn chain_rules(&self, height: u64) -> Result<(u32, Option<(u64, u32)>), LedgerError>;
    /// The chain's limits at `height` (of a block, or of the door's next
    /// block): what governance scheduled, else genesis'.
    fn limits(&self, height: u64) -> ChainLimits;
    /// Whether the chain recorded evidence of `offence`.
    fn evidence_recorded(&self, offence: &Offence) -> Result<bool, LedgerError>;
    /// Checks a proposed block of the next height by executing it.
    fn check(
        &self,
        block: &Block,
        now_ms: u64,
        known_valid: &[bool],
    ) -> Result<Self::Executed, LedgerError>;
    /// Builds the block of `height` from `txs` (in order) and executes it.
    fn build(
        &self,
        height: u64,
        now_ms: u64,
        proposer: Address,
        txs: Vec<SignedTransaction>,
    ) -> Result<(Block, Self::Executed), LedgerError>;
    /// Executes transactions at `height` without checking a header.
    fn execute(
        &self,
        height: u64,
        time_ms: u64,
        txs: &[SignedTransaction],
        known_valid: &[bool],
    ) -> Result<Self::Executed, LedgerError>;
    /// The receipts of an execution.
    fn receipts(executed: &Self::Executed) -> &[Receipt];
    /// Commits an executed block with its certificate, durably.
    fn commit(
        &mut self,
        block: &Block,
        certificate: &CommitCertificate,
        executed: Self::Executed,
    ) -> Result<(), LedgerError>;
    /// Verifies, executes and commits a block fetched by sync; its receipts.
    fn commit_synced(
        &mut self,
        block: &Block,
        certificate: &CommitCertificate,
        now_ms: u64,
    ) -> Result<Vec<Receipt>, LedgerError>;
    /// The answer to a peer's sync request (committed blocks with certificates).
    fn sync_answer(&self, request: &[u8]) -> Result<SyncResponse, SyncAnswerError>;
}

/// The consensus write-ahead log: every record durable before `append` returns.
pub trait ConsensusLog {
    /// Appends one record, durably.
    fn append(&mut self, record: &[u8]) -> Result<(), Broken>;
    /// Starts `height`: the records of earlier heights are spent.
    fn reset(&mut self, height: u64) -> Result<(), Broken>;
}

/// A WAL as found at start: the log, the height it belongs to, its records.
pub struct Recovered<W> {
    /// The log, open for appending.
    pub log: W,
    /// The height its records belong to.
    pub height: u64,
    /// Its records, in order.
    pub records: Vec<Vec<u8>>,
}
