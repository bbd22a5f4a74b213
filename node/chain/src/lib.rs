//! The application half of a validator: builds, checks, executes and
//! commits blocks over the store, with the executor and the committed
//! contracts; answers other nodes' block-sync requests from the store.
//!
//! **Purpose.** What `filiera-driver`'s [`Ledger`] asks of the chain, on the
//! real RocksDB store and wasmtime executor: the node and the seeded
//! simulation both run this code.
//!
//! **Invariants.** A block is valid only if this node, executing it on its
//! own committed state, gets the header's state and receipts roots; if it
//! extends the committed chain (parent hash, height, strictly later time
//! that is not too far in this node's future); if it fits the size limits of
//! genesis; and if none of its transactions is one that admission would have
//! refused (bad signature, wrong chain, expired, wrong nonce): a proposer may
//! include failing calls, never unauthenticated ones. A commit writes block,
//! certificate, receipts and state in one synced batch, with the node's query
//! index of EPCIS events derived from that state ([`query_index`]).
//!
//! **Threats.** Proposed blocks come from any validator and synced ones from
//! any peer: every rule above is checked before a block is voted for or
//! committed, and a synced block's certificate is verified against the
//! validator set of its height. A storage read failing during execution stops
//! the node (it never executes on state it could not read).

pub mod query_index;

use filiera_contract_api::registry::{ObserverRecord, ValidatorRecord};
use filiera_contract_api::{contract_ids, keys as contract_keys};
pub use filiera_driver::ChainParams;
use filiera_driver::{Ledger, LedgerError, SyncAnswerError};
use filiera_execution::{BlockContext, Changes, Executor, StateReader};
use filiera_storage::{PreparedState, StorageError, Store};
use filiera_types::admission;
use filiera_types::block::{Block, HEADER_VERSION, Header};
use filiera_types::chain_limits::{self, ChainLimits, LimitsVersion};
use filiera_types::genesis::Genesis;
use filiera_types::receipt::{Receipt, TxStatus};
use filiera_types::state::StateUnreadable;
use filiera_types::{Address, CommitCertificate, Hash, PublicKey, Transaction, ValidatorSet};
use filiera_types::{Validator, encoding, sys_keys};
use filiera_wire::{SYNC_BATCH_BLOCKS_MAX, SYNC_BATCH_BYTES_MAX, SyncRequest, SyncResponse};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How far ahead of this node's clock a block's time may be, in ms.
pub const BLOCK_TIME_FUTURE_MS_MAX: u64 = 5_000;
/// A validator-set change executed in block `h` governs heights from
/// `h + VALIDATOR_SET_DELAY_BLOCKS`: header `h + 1` already names that set as
/// its next, so every validator knows it before it must use it.
pub const VALIDATOR_SET_DELAY_BLOCKS: u64 = 2;
/// Observer records read for the allow list, at most (beyond, the newest are
/// not let in: the authority must remove some first).
pub const OBSERVERS_MAX: usize = 1_024;
/// Why a block is not valid (a peer's or a proposer's fault).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidBlock {
    /// Not the next height.
    #[error("height {got} but next is {expected}")]
    Height {
        /// The block's.
        got: u64,
        /// This chain's next.
        expected: u64,
    },
    /// Another header version or chain id.
    #[error("version or chain id")]
    VersionOrChain,
    /// Its time is not after its parent's.
    #[error("time {time_ms} not after parent's {parent_time_ms}")]
    TimeNotAfterParent {
        /// The block's time.
        time_ms: u64,
        /// The parent's.
        parent_time_ms: u64,
    },
    /// The validator set hashes are not this chain's.
    #[error("validator set hash")]
    ValidatorSetHash,
    /// The proposer is not a validator of its height.
    #[error("builder is not a validator")]
    ProposerNotValidator,
    /// More transactions than a block holds.
    #[error("{0} transactions")]
    TooManyTxs(usize),
    /// More bytes than a block holds.
    #[error("{0} bytes")]
    TooManyBytes(usize),
    /// A transaction over the limit of the block's height.
    #[error("transaction {index} has {bytes} bytes, over the chain's tx_bytes_max")]
    TxTooLarge {
        /// Its position in the block.
        index: usize,
        /// Its encoded size.
        bytes: usize,
    },
    /// The transactions root does not match the transactions.
    #[error("transactions root")]
    TxsRoot,
    /// A transaction the admission rules refuse.
    #[error("transaction {index} not admissible: {message}")]
    TxNotAdmissible {
        /// Its position in the block.
        index: usize,
        /// The refusal.
        message: String,
    },
    /// The state root is not what this node's execution gives.
    #[error("state root differs from this node's execution")]
    StateRoot,
    /// The receipts root is not what this node's execution gives.
    #[error("receipts root differs from this node's execution")]
    ReceiptsRoot,
    /// The certificate names another block.
    #[error("certificate is for another block")]
    CertificateForAnotherBlock,
    /// The certificate does not verify.
    #[error("certificate: {0}")]
    Certificate(String),
}

/// Why the chain could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The store failed: the node must stop.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The store failed under execution: the node must stop.
    #[error(transparent)]
    Unreadable(#[from] StateUnreadable),
    /// The block is not valid: whoever sent it is at fault.
    #[error("invalid block: {0}")]
    Invalid(#[from] InvalidBlock),
    /// This node's own records contradict themselves: the node must stop
    /// (never a peer's fault, never a penalty).
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// The genesis document does not give a chain.
    #[error("genesis: {0}")]
    Genesis(String),
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

/// A block executed but not committed.
pub struct Executed {
    /// Receipts, one per transaction.
    pub receipts: Vec<Receipt>,
    /// The state update, ready to commit.
    pub prepared: PreparedState,
    /// A validator set this block schedules: (first height, set).
    pub new_set: Option<(u64, ValidatorSet)>,
    /// Root of the receipts.
    pub receipts_root: Hash,
}

/// `sender`'s next nonce in the committed state of `store` (what the chain's
/// admission checks; callable off the driver thread too).
pub fn committed_nonce(store: &Store, sender: &PublicKey) -> Result<u64, ChainError> {
    let key = filiera_execution::executor::nonce_key(sender);
    Ok(match store.state_get(&key)? {
        Some(v) => v
            .as_slice()
            .try_into()
            .map(u64::from_le_bytes)
            .map_err(|_| ChainError::Corrupt("stored nonce is not 8 bytes".into()))?,
        None => 0,
    })
}

/// The standing of `tx`'s sender in the committed state of `store`, for a
/// transaction of block `height` (what the chain's admission checks;
/// callable off the driver thread, before a signature is worth verifying).
pub fn committed_standing(
    store: &Store,
    tx: &Transaction,
    height: u64,
) -> Result<admission::Standing, ChainError> {
    Ok(filiera_execution::standing::standing(store, tx, height)?)
}

/// The chain as this node holds it.
pub struct Chain {
    store: Arc<Store>,
    executor: Executor,
    params: ChainParams,
    /// Validator sets by first height (a copy of the `sys/vset/` state).
    sets: BTreeMap<u64, ValidatorSet>,
    /// The limits versions (a copy of the `sys/limits` state, read again
    /// after a block that writes it): admission reads them per transaction.
    limits: Vec<LimitsVersion>,
}

impl Chain {
    /// Opens the chain, writing the genesis state into an empty store.
    pub fn open(
        store: Arc<Store>,
        executor: Executor,
        genesis: &Genesis,
        genesis_state: Changes,
    ) -> Result<Chain, ChainError> {
        let params =
            ChainParams::from_genesis(genesis).map_err(|e| ChainError::Genesis(e.to_string()))?;
        let mut genesis_state = genesis_state;
        genesis_state.insert(
            sys_keys::validator_set(1),
            Some(encoding::encode(&params.validators)),
        );
        store.init_genesis(params.genesis_hash, genesis_state)?;
        if let Some(events) = query_index::ensure_built(&store)? {
            tracing::info!(events, "query index built from the state");
        }
        let mut sets = BTreeMap::new();
        for (key, value) in store.state_prefix(sys_keys::VALIDATOR_SETS, None, usize::MAX)? {
            let height = sys_keys::validator_set_height(&key)
                .ok_or_else(|| ChainError::Corrupt("malformed validator-set key".into()))?;
            let set = encoding::decode("validator set", &value, usize::MAX)
                .map_err(|e| ChainError::Corrupt(format!("stored validator set: {e}")))?;
            sets.insert(height, set);
        }
        let limits = filiera_execution::limits_versions(&*store)?;
        Ok(Chain {
            store,
            executor,
            params,
            sets,
            limits,
        })
    }

    /// The validator set that decides `height`.
    pub fn validator_set(&self, height: u64) -> &ValidatorSet {
        self.sets
            .range(..=height)
            .next_back()
            .map_or(&self.params.validators, |(_, set)| set)
    }

    /// p2p keys allowed to connect: the authority's observers, and the
    /// validators of every set in force from `height` on
    /// (the current one and any already scheduled): a validator removed by
    /// block `h` keeps its connections until its last height, `h + 1`. The p2p
    /// key of a consensus key is the latest the authority set (else genesis').
    pub fn allowed_p2p_keys(&self, height: u64) -> Result<Vec<PublicKey>, ChainError> {
        let mut p2p_of: BTreeMap<[u8; 32], PublicKey> = self
            .params
            .validator_p2p
            .iter()
            .map(|(consensus, p2p)| (consensus.0, *p2p))
            .collect();
        let prefix = contract_keys::state_key(contract_ids::REGISTRY, contract_keys::VALIDATORS);
        for (_, value) in self.store.state_prefix(&prefix, None, usize::MAX)? {
            if let Ok(record) = borsh::from_slice::<ValidatorRecord>(&value) {
                p2p_of.insert(record.consensus_key, PublicKey(record.p2p_key));
            }
        }
        let mut keys = std::collections::BTreeSet::new();
        let sets = std::iter::once(self.validator_set(height))
            .chain(self.sets.range(height + 1..).map(|(_, set)| set));
        for set in sets {
            for v in set.validators() {
                if let Some(p2p) = p2p_of.get(&v.public_key.0) {
                    keys.insert(p2p.0);
                }
            }
        }
        // Observers the authority allows (the registry's SetObserver).
        let prefix = contract_keys::state_key(contract_ids::REGISTRY, contract_keys::OBSERVERS);
        for (_, value) in self.store.state_prefix(&prefix, None, OBSERVERS_MAX)? {
            if let Ok(record) = borsh::from_slice::<ObserverRecord>(&value)
                && record.allowed
            {
                keys.insert(record.p2p_key);
            }
        }
        Ok(keys.into_iter().map(PublicKey).collect())
    }

    /// The set a block's validator records schedule, if any: applied to the
    /// last set scheduled so far; ignored (logged) if the result is not a
    /// valid set, e.g. empty.
    fn scheduled_set(&self, height: u64, changes: &Changes) -> Option<(u64, ValidatorSet)> {
        let prefix = contract_keys::state_key(contract_ids::REGISTRY, contract_keys::VALIDATORS);
        let records: Vec<ValidatorRecord> = changes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(_, v)| v.as_deref().and_then(|v| borsh::from_slice(v).ok()))
            .collect();
        if records.is_empty() {
            return None;
        }
        let from = height + VALIDATOR_SET_DELAY_BLOCKS;
        let mut members: BTreeMap<[u8; 32], u64> = self
            .validator_set(from - 1)
            .validators()
            .iter()
            .map(|v| (v.public_key.0, v.power))
            .collect();
        for r in records {
            if r.power == 0 {
                members.remove(&r.consensus_key);
            } else {
                members.insert(r.consensus_key, r.power);
            }
        }
        let validators = members
            .into_iter()
            .map(|(key, power)| Validator {
                public_key: PublicKey(key),
                power,
            })
            .collect();
        match ValidatorSet::new(validators) {
            Ok(set) => Some((from, set)),
            Err(e) => {
                tracing::warn!(height, error = %e, "validator-set change ignored");
                None
            }
        }
    }

    /// The chain's limits at `height` (those a genesis without a table
    /// sets, before the first version).
    pub fn limits(&self, height: u64) -> ChainLimits {
        match self.limits.first() {
            Some(_) => chain_limits::limits_at(&self.limits, height),
            None => self.params.limits,
        }
    }

    /// The rules.
    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    /// The store (for reads).
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The last committed height (0 = genesis only).
    pub fn height(&self) -> Result<u64, ChainError> {
        Ok(self.store.last_height()?.unwrap_or(0))
    }

    /// A sender's next nonce in the committed state.
    pub fn nonce(&self, sender: &PublicKey) -> Result<u64, ChainError> {
        committed_nonce(&self.store, sender)
    }

    /// Whether the chain has recorded evidence of `offence`.
    pub fn evidence_recorded(
        &self,
        offence: &filiera_types::evidence::Offence,
    ) -> Result<bool, ChainError> {
        Ok(self
            .store
            .state_get(&filiera_types::sys_keys::evidence(offence))?
            .is_some())
    }

    /// Hash and time of the block at `height - 1` (the genesis for height 1).
    fn parent(&self, height: u64) -> Result<(Hash, u64), ChainError> {
        if height <= 1 {
            return Ok((self.params.genesis_hash, self.params.genesis_time_ms));
        }
        let header = self
            .store
            .header(height - 1)?
            .ok_or_else(|| ChainError::Corrupt(format!("parent {} not stored", height - 1)))?;
        Ok((header.hash(), header.time_ms))
    }

    /// Executes `txs` as block `height` on the committed state;
    /// `known_valid[i]`: this node verified transaction `i`'s signature already.
    pub fn execute(
        &self,
        height: u64,
        time_ms: u64,
        txs: &[filiera_types::SignedTransaction],
        known_valid: &[bool],
    ) -> Result<Executed, ChainError> {
        let ctx = BlockContext {
            chain_id: self.params.chain_id.clone(),
            height,
            time_ms,
        };
        let reader: Arc<dyn StateReader> = self.store.clone();
        let mut outcome = self
            .executor
            .execute_block(reader, &ctx, txs, known_valid)?;
        let receipts_root = Receipt::root(&outcome.receipts);
        let new_set = self.scheduled_set(height, &outcome.changes);
        if let Some((from, set)) = &new_set {
            outcome
                .changes
                .insert(sys_keys::validator_set(*from), Some(encoding::encode(set)));
        }
        let prepared = self.store.prepare_state(height, outcome.changes)?;
        Ok(Executed {
            receipts: outcome.receipts,
            prepared,
            receipts_root,
            new_set,
        })
    }

    /// Builds block `height` from `txs` at `now_ms` (later than the parent);
    /// `txs` come from the mempool, so their signatures are verified already.
    pub fn build(
        &self,
        height: u64,
        now_ms: u64,
        proposer: Address,
        txs: Vec<filiera_types::SignedTransaction>,
    ) -> Result<(Block, Executed), ChainError> {
        let (parent_hash, parent_time_ms) = self.parent(height)?;
        let time_ms = now_ms.max(parent_time_ms + 1);
        let executed = self.execute(height, time_ms, &txs, &vec![true; txs.len()])?;
        let header = Header {
            version: HEADER_VERSION,
            chain_id: self.params.chain_id.clone(),
            height,
            time_ms,
            parent_hash,
            txs_root: Block::compute_txs_root(&txs),
            receipts_root: executed.receipts_root,
            state_root: executed.prepared.root(),
            validator_set_hash: self.validator_set(height).hash(),
            next_validator_set_hash: self.validator_set(height + 1).hash(),
            proposer,
        };
        Ok((Block { header, txs }, executed))
    }

    /// Checks a proposed block and executes it; `Invalid` if any rule fails.
    /// `known_valid[i]`: this node verified transaction `i`'s signature already.
    pub fn check(
        &self,
        block: &Block,
        now_ms: u64,
        known_valid: &[bool],
    ) -> Result<Executed, ChainError> {
        let h = &block.header;
        let invalid = |why: InvalidBlock| Err(ChainError::Invalid(why));
        let expected = self.height()? + 1;
        if h.height != expected {
            return invalid(InvalidBlock::Height {
                got: h.height,
                expected,
            });
        }
        if h.version != HEADER_VERSION || h.chain_id != self.params.chain_id {
            return invalid(InvalidBlock::VersionOrChain);
        }
        let (parent_hash, parent_time_ms) = self.parent(h.height)?;
        if h.parent_hash != parent_hash {
            return Err(ChainError::NotExtending {
                height: h.height,
                parent: h.parent_hash,
            });
        }
        if h.time_ms <= parent_time_ms {
            return invalid(InvalidBlock::TimeNotAfterParent {
                time_ms: h.time_ms,
                parent_time_ms,
            });
        }
        if h.time_ms > now_ms.saturating_add(BLOCK_TIME_FUTURE_MS_MAX) {
            return Err(ChainError::Future(format!(
                "time {} too far after local {now_ms}",
                h.time_ms
            )));
        }
        if h.validator_set_hash != self.validator_set(h.height).hash()
            || h.next_validator_set_hash != self.validator_set(h.height + 1).hash()
        {
            return invalid(InvalidBlock::ValidatorSetHash);
        }
        if self.validator_set(h.height).get(&h.proposer).is_none() {
            return invalid(InvalidBlock::ProposerNotValidator);
        }
        // The limits of the block's height, which every node knew a notice
        // period ahead.
        let limits = self.limits(h.height);
        if block.txs.len() as u64 > limits.block_txs_max {
            return invalid(InvalidBlock::TooManyTxs(block.txs.len()));
        }
        // Counted, not encoded: no copy of a block of up to block_bytes_max.
        let bytes = borsh::object_length(block).unwrap_or(usize::MAX);
        if bytes as u64 > limits.block_bytes_max {
            return invalid(InvalidBlock::TooManyBytes(bytes));
        }
        // The door's size check holds in a block too: a proposer cannot slip
        // in what no node would let in.
        for (index, tx) in block.txs.iter().enumerate() {
            let bytes = borsh::object_length(tx).unwrap_or(usize::MAX);
            if bytes as u64 > limits.tx_bytes_max {
                return invalid(InvalidBlock::TxTooLarge { index, bytes });
            }
        }
        if !block.txs_root_matches() {
            return invalid(InvalidBlock::TxsRoot);
        }
        let executed = self.execute(h.height, h.time_ms, &block.txs, known_valid)?;
        for (i, r) in executed.receipts.iter().enumerate() {
            if let TxStatus::Failed { code, message } = &r.status
                && admission::is_refusal_receipt(*code)
            {
                return invalid(InvalidBlock::TxNotAdmissible {
                    index: i,
                    message: message.clone(),
                });
            }
        }
        if executed.prepared.root() != h.state_root {
            return invalid(InvalidBlock::StateRoot);
        }
        if executed.receipts_root != h.receipts_root {
            return invalid(InvalidBlock::ReceiptsRoot);
        }
        Ok(executed)
    }

    /// Verifies a block fetched by sync against its certificate, executes and commits it.
    pub fn commit_synced(
        &mut self,
        block: &Block,
        certificate: &CommitCertificate,
        now_ms: u64,
    ) -> Result<Vec<Receipt>, ChainError> {
        if certificate.block_hash != block.hash() || certificate.height != block.header.height {
            return Err(InvalidBlock::CertificateForAnotherBlock.into());
        }
        certificate
            .verify(
                self.params.chain_id.as_str(),
                self.validator_set(block.header.height),
            )
            .map_err(|e| InvalidBlock::Certificate(e.to_string()))?;
        // A certified block was valid when decided; its time may be in our past
        // by any amount, so the clock check is relaxed to its own time.
        let executed = self.check(block, now_ms.max(block.header.time_ms), &[])?;
        let receipts = executed.receipts.clone();
        self.commit(block, certificate, executed)?;
        Ok(receipts)
    }

    /// Commits a decided block with its certificate, receipts and state.
    pub fn commit(
        &mut self,
        block: &Block,
        certificate: &CommitCertificate,
        executed: Executed,
    ) -> Result<(), ChainError> {
        let mut prepared = executed.prepared;
        let index = query_index::index_changes(&self.store, prepared.changes())?;
        prepared.set_index_changes(index);
        let limits_moved = prepared.changes().contains_key(sys_keys::LIMITS);
        self.store
            .commit_block(block, certificate, &executed.receipts, prepared)?;
        if limits_moved {
            self.limits = filiera_execution::limits_versions(&*self.store)?;
            tracing::info!(versions = self.limits.len(), "chain limits scheduled");
        }
        if let Some((from, set)) = executed.new_set {
            tracing::info!(
                from,
                validators = set.validators().len(),
                "validator set scheduled"
            );
            self.sets.insert(from, set);
        }
        Ok(())
    }
}

impl From<ChainError> for LedgerError {
    fn from(e: ChainError) -> LedgerError {
        match e {
            ChainError::Storage(s) => LedgerError::Broken(Box::new(s)),
            ChainError::Unreadable(s) => LedgerError::Broken(Box::new(s)),
            ChainError::Invalid(why) => LedgerError::Invalid(why.to_string()),
            e @ (ChainError::Corrupt(_) | ChainError::Genesis(_)) => {
                LedgerError::Broken(Box::new(e))
            }
            ChainError::Future(m) => LedgerError::Future(m),
            ChainError::NotExtending { height, parent } => {
                LedgerError::NotExtending { height, parent }
            }
        }
    }
}

impl Ledger for Chain {
    type Executed = Executed;

    fn params(&self) -> &ChainParams {
        Chain::params(self)
    }
    fn height(&self) -> Result<u64, LedgerError> {
        Ok(Chain::height(self)?)
    }
    fn validator_set(&self, height: u64) -> &ValidatorSet {
        Chain::validator_set(self, height)
    }
    fn allowed_p2p_keys(&self, height: u64) -> Result<Vec<PublicKey>, LedgerError> {
        Ok(Chain::allowed_p2p_keys(self, height)?)
    }
    fn nonce(&self, sender: &PublicKey) -> Result<u64, LedgerError> {
        Ok(Chain::nonce(self, sender)?)
    }
    fn standing(&self, tx: &Transaction, height: u64) -> Result<admission::Standing, LedgerError> {
        Ok(committed_standing(&self.store, tx, height)?)
    }
    fn certificate(&self, height: u64) -> Result<Option<CommitCertificate>, LedgerError> {
        self.store
            .certificate(height)
            .map_err(|e| LedgerError::Broken(Box::new(e)))
    }
    fn chain_rules(&self, height: u64) -> Result<(u32, Option<(u64, u32)>), LedgerError> {
        let versions =
            filiera_execution::chain_rules_versions(&*self.store).map_err(ChainError::from)?;
        let running = filiera_types::chain_rules::version_at(&versions, height);
        let ahead = filiera_types::chain_rules::first_unimplemented(&versions, height)
            .map(|v| (v.from_height, v.version));
        Ok((running, ahead))
    }
    fn limits(&self, height: u64) -> ChainLimits {
        Chain::limits(self, height)
    }
    fn evidence_recorded(
        &self,
        offence: &filiera_types::evidence::Offence,
    ) -> Result<bool, LedgerError> {
        Ok(Chain::evidence_recorded(self, offence)?)
    }
    fn check(
        &self,
        block: &Block,
        now_ms: u64,
        known_valid: &[bool],
    ) -> Result<Executed, LedgerError> {
        Ok(Chain::check(self, block, now_ms, known_valid)?)
    }
    fn build(
        &self,
        height: u64,
        now_ms: u64,
        proposer: Address,
        txs: Vec<filiera_types::SignedTransaction>,
    ) -> Result<(Block, Executed), LedgerError> {
        Ok(Chain::build(self, height, now_ms, proposer, txs)?)
    }
    fn execute(
        &self,
        height: u64,
        time_ms: u64,
        txs: &[filiera_types::SignedTransaction],
        known_valid: &[bool],
    ) -> Result<Executed, LedgerError> {
        Ok(Chain::execute(self, height, time_ms, txs, known_valid)?)
    }
    fn receipts(executed: &Executed) -> &[Receipt] {
        &executed.receipts
    }
    fn commit(
        &mut self,
        block: &Block,
        certificate: &CommitCertificate,
        executed: Executed,
    ) -> Result<(), LedgerError> {
        Ok(Chain::commit(self, block, certificate, executed)?)
    }
    fn commit_synced(
        &mut self,
        block: &Block,
        certificate: &CommitCertificate,
        now_ms: u64,
    ) -> Result<Vec<Receipt>, LedgerError> {
        Ok(Chain::commit_synced(self, block, certificate, now_ms)?)
    }
    fn sync_answer(&self, request: &[u8]) -> Result<SyncResponse, SyncAnswerError> {
        sync_answer(&self.store, request)
    }
}

/// The answer to a block-sync request: the committed blocks it asks for,
/// with their certificates, within the batch's count and bytes. Reads
/// committed blocks only, so it may run on any thread while the driver commits.
pub fn sync_answer(store: &Store, request: &[u8]) -> Result<SyncResponse, SyncAnswerError> {
    let broken = |e: StorageError| SyncAnswerError::Broken(Box::new(e));
    let request = SyncRequest::decode(request)?;
    let last = store.last_height().map_err(broken)?.unwrap_or(0);
    let mut blocks = Vec::new();
    let mut bytes = 0usize;
    let count = u64::from(request.count.min(SYNC_BATCH_BLOCKS_MAX));
    let first = request.from_height.max(1);
    let end = first.saturating_add(count);
    let mut h = first;
    while h <= last && h < end && bytes < SYNC_BATCH_BYTES_MAX {
        let (Some(block), Some(cert)) = (
            store.block(h).map_err(broken)?,
            store.certificate(h).map_err(broken)?,
        ) else {
            break;
        };
        bytes = bytes.saturating_add(borsh::object_length(&block).unwrap_or(usize::MAX));
        blocks.push((block, cert));
        h += 1;
    }
    Ok(SyncResponse { blocks })
}
