//! The state transition: a block's transactions, in order, against the state.
//!
//! Per transaction: the chain id, expiry, nonce and signature are checked by
//! the rules of [`filiera_types::admission`], the ones the mempool admits by (a
//! transaction failing these changes nothing, not even the nonce: it was
//! never validly signed for this point of the chain); then the nonce
//! advances and the contract runs. A failed call discards its writes but keeps
//! the nonce advance, so the same signed transaction can never run twice.
//!
//! Deterministic by construction: ordered maps only, no clock (block time comes
//! from the header), and contracts run on one thread with a large native stack.

use crate::host::{CallContext, KeyValue, StateReader, StateUnreadable, next_key_over};
use crate::limits::{EXECUTOR_STACK_BYTES, TX_FUEL_MAX};
use crate::outcome::{CallStatus, FailureCode};
use crate::runtime::{ContractEngine, LoadedContract, RuntimeError};
use filiera_contract_api::CallInput;
use filiera_types::admission::{self, Standing};
use filiera_types::chain_limits::{self, ChainLimits};
use filiera_types::evidence::{EVIDENCE_CONTRACT, EVIDENCE_METHOD};
use filiera_types::governance::{
    GOVERNANCE_CONTRACT, MIGRATE_METHOD, MIGRATION_FUEL_MAX, MigrationOutcome, version_at,
};
use filiera_types::receipt::{Receipt, TxStatus};
use filiera_types::sys_keys;
use filiera_types::{ChainId, ContractId, Hash, PublicKey, SignedTransaction};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// State changes: key to new value, `None` deletes.
pub type Changes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// The state key of a sender's next nonce.
pub fn nonce_key(sender: &PublicKey) -> Vec<u8> {
    filiera_types::sys_keys::nonce(sender)
}

/// What a block gives its transactions.
#[derive(Clone, Debug)]
pub struct BlockContext {
    /// The chain.
    pub chain_id: ChainId,
    /// The block's height.
    pub height: u64,
    /// The block's time, ms since the epoch.
    pub time_ms: u64,
}

/// A block's result: its state changes and one receipt per transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockOutcome {
    /// Every key the block changed, last write wins.
    pub changes: Changes,
    /// Receipts, in transaction order.
    pub receipts: Vec<Receipt>,
}

/// Runs blocks against the contracts' versions in state.
pub struct Executor {
    engine: ContractEngine,
    /// The contracts this node ships, by id: the code of a contract that has
    /// no version table in state (a chain built without one, in tests).
    contracts: BTreeMap<ContractId, LoadedContract>,
    builtin_hashes: BTreeMap<ContractId, Hash>,
}

/// The code each contract runs at one height, resolved once per block (a
/// version is scheduled at least `UPGRADE_NOTICE_BLOCKS_MIN` blocks ahead, so
/// no transaction of a block changes what another one runs).
type Resolved = BTreeMap<ContractId, Option<LoadedContract>>;

/// Committed state with the block's earlier transactions applied on top.
struct Overlay {
    base: Arc<dyn StateReader>,
    changes: RwLock<Changes>,
    /// The chain's limits at the block's height (scheduled a notice period
    /// ahead: no transaction of the block moves them for another).
    limits: ChainLimits,
}

impl StateReader for Overlay {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateUnreadable> {
        if let Ok(changes) = self.changes.read()
            && let Some(v) = changes.get(key)
        {
            return Ok(v.clone());
        }
        self.base.get(key)
    }

    fn next(&self, prefix: &[u8], after: &[u8]) -> Result<Option<KeyValue>, StateUnreadable> {
        let changes = self
            .changes
            .read()
            .map_err(|_| StateUnreadable("the block's changes are poisoned".into()))?;
        let Some(key) = next_key_over(&*self.base, &changes, prefix, after)? else {
            return Ok(None);
        };
        // This block's changes shadow the committed value.
        Ok(match changes.get(&key) {
            Some(v) => v.clone().map(|v| (key, v)),
            None => self.base.get(&key)?.map(|v| (key, v)),
        })
    }
}

impl Executor {
    /// Loads `contracts` (id, code) into `engine`.
    pub fn new(
        engine: ContractEngine,
        contracts: &[(ContractId, &[u8])],
    ) -> Result<Executor, RuntimeError> {
        let mut loaded = BTreeMap::new();
        for (id, code) in contracts {
            if [EVIDENCE_CONTRACT, GOVERNANCE_CONTRACT].contains(&id.as_str()) {
                return Err(RuntimeError::ReservedId(id.to_string()));
            }
            loaded.insert(id.clone(), engine.load(code)?);
        }
        let builtin_hashes = loaded
            .iter()
            .map(|(id, c)| (id.clone(), c.code_hash()))
            .collect();
        Ok(Executor {
            engine,
            contracts: loaded,
            builtin_hashes,
        })
    }

    /// The code contract `id` runs at `height` (`None`: no such contract,
    /// or none yet). Code the state names but this node cannot load is an
    /// error: the node stops rather than execute something else.
    fn resolve(
        &self,
        state: &dyn StateReader,
        id: &ContractId,
        height: u64,
    ) -> Result<Option<LoadedContract>, StateUnreadable> {
        let Some(versions) = crate::governance::versions(state, id)? else {
            return Ok(self.contracts.get(id).cloned());
        };
        let Some(version) = version_at(&versions, height) else {
            return Ok(None);
        };
        if let Some(c) = self.contracts.get(id)
            && c.code_hash() == version.code_hash
        {
            return Ok(Some(c.clone()));
        }
        if let Some(c) = self.engine.loaded(&version.code_hash) {
            return Ok(Some(c));
        }
        let cannot = |why: String| {
            StateUnreadable(format!(
                "this node cannot run version {} of {id} ({}) at height {height}: {why}",
                version.version,
                version.code_hash.to_hex()
            ))
        };
        let Some(code) = state.get(&filiera_types::sys_keys::code(&version.code_hash))? else {
            return Err(cannot("its module is not in state".into()));
        };
        self.engine
            .load(&code)
            .map(Some)
            .map_err(|e| cannot(e.to_string()))
    }

    /// Compiles the code of a version just scheduled, so that its activation
    /// costs nothing. Not consensus: a module this node cannot load fails
    /// again at the activation height, where [`Executor::resolve`] stops the
    /// node with the reason.
    fn compile_ahead(&self, code: Option<Vec<u8>>) {
        if let Some(code) = code {
            // The compiled module stays in the engine (and its disk cache).
            let _ = self.engine.load(&code);
        }
    }

    /// The code hash of each installed contract.
    pub fn code_hashes(&self) -> BTreeMap<ContractId, Hash> {
        self.contracts
            .iter()
            .map(|(id, c)| (id.clone(), c.code_hash()))
            .collect()
    }

    /// Executes a block's transactions in order on a thread with a large
    /// stack. `known_valid[i]` says transaction `i`'s signature was verified
    /// already by this node (see [`crate::signatures`]); the others are
    /// verified first, in parallel.
    pub fn execute_block(
        &self,
        state: Arc<dyn StateReader>,
        block: &BlockContext,
        txs: &[SignedTransaction],
        known_valid: &[bool],
    ) -> Result<BlockOutcome, StateUnreadable> {
        let signatures_valid = crate::signatures::check_all(txs, known_valid);
        std::thread::scope(|scope| {
            let worker = std::thread::Builder::new()
                .name("filiera-exec".into())
                .stack_size(EXECUTOR_STACK_BYTES)
                .spawn_scoped(scope, || {
                    self.execute_block_here(state, block, txs, &signatures_valid)
                });
            match worker.map(|w| w.join()) {
                Ok(Ok(outcome)) => outcome,
                // A panic in the executor is a bug in the node, not in a contract:
                // stop rather than commit a partial block.
                Ok(Err(panic)) => std::panic::resume_unwind(panic),
                Err(e) => panic!("cannot start the executor thread: {e}"),
            }
        })
    }

    /// Executes on the calling thread (which must have a large stack);
    /// `signatures_valid[i]` is what `verify_strict` says of transaction `i`
    /// (from [`crate::signatures::check_all`]).
    pub fn execute_block_here(
        &self,
        state: Arc<dyn StateReader>,
        block: &BlockContext,
        txs: &[SignedTransaction],
        signatures_valid: &[bool],
    ) -> Result<BlockOutcome, StateUnreadable> {
        assert_eq!(
            signatures_valid.len(),
            txs.len(),
            "one signature flag per transaction"
        );
        // Never execute under rules this binary does not know: the node stops
        // (the driver stops it before such a height; this is the last guard).
        let versions = crate::governance::chain_rules(&*state)?;
        let version = filiera_types::chain_rules::version_at(&versions, block.height);
        if filiera_types::chain_rules::implemented(version).is_none() {
            return Err(StateUnreadable(format!(
                "block {} follows chain rules version {version}, which this binary does not implement (it implements 1 to {}): install a release that does",
                block.height,
                filiera_types::chain_rules::IMPLEMENTED_MAX
            )));
        }
        let limits = chain_limits::limits_at(&crate::governance::limits(&*state)?, block.height);
        let overlay = Arc::new(Overlay {
            base: state,
            changes: RwLock::new(BTreeMap::new()),
            limits,
        });
        let mut receipts = Vec::with_capacity(txs.len());
        // Judged on the state before the block (see `admission`), once per
        // sender; a key of no one is judged per transaction (an enrolment's
        // standing depends on what it calls).
        let mut standings: BTreeMap<PublicKey, Standing> = BTreeMap::new();
        let mut resolved = Resolved::new();
        self.run_migrations(&overlay, block, &mut resolved)?;
        for (tx, signature_valid) in txs.iter().zip(signatures_valid) {
            let sender = tx.tx.sender;
            let standing = match standings.get(&sender) {
                Some(s) => *s,
                None => {
                    let s = crate::standing::standing(&*overlay.base, &tx.tx, block.height)?;
                    if !matches!(s, Standing::Enrolling | Standing::Stranger) {
                        standings.insert(sender, s);
                    }
                    s
                }
            };
            let (receipt, writes) = self.execute_tx(
                overlay.clone(),
                block,
                tx,
                *signature_valid,
                standing,
                &mut resolved,
            )?;
            if let Ok(mut changes) = overlay.changes.write() {
                changes.extend(writes);
            }
            receipts.push(receipt);
        }
        // Every call has ended: take the changes rather than copy them.
        let changes = overlay
            .changes
            .write()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default();
        Ok(BlockOutcome { changes, receipts })
    }

    fn execute_tx(
        &self,
        state: Arc<Overlay>,
        block: &BlockContext,
        stx: &SignedTransaction,
        signature_valid: bool,
        standing: Standing,
        resolved: &mut Resolved,
    ) -> Result<(Receipt, Changes), StateUnreadable> {
        let tx = &stx.tx;
        let tx_hash = stx.hash();
        let refuse = |code: u16, message: String| {
            let status = TxStatus::Failed { code, message };
            Ok((
                Receipt {
                    tx_hash,
                    status,
                    fuel_used: 0,
                    events: Vec::new(),
                    return_data: Vec::new(),
                },
                Changes::new(),
            ))
        };
        let key = nonce_key(&tx.sender);
        let expected = state
            .get(&key)?
            .and_then(|v| v.try_into().ok())
            .map(u64::from_le_bytes)
            .unwrap_or(0);
        let signature = if signature_valid {
            Ok(())
        } else {
            Err("signature does not verify".to_owned())
        };
        let at = admission::in_block(&block.chain_id, block.height, expected, standing);
        if let Err(refusal) = admission::check(tx, signature, &at) {
            // `check` judges no size, so each of its refusals has a receipt code.
            let code = refusal
                .receipt_code()
                .unwrap_or(admission::RECEIPT_BAD_NONCE);
            return refuse(code, refusal.to_string());
        }
        let mut writes = Changes::new();
        writes.insert(key, Some((expected + 1).to_le_bytes().to_vec()));
        if tx.call.contract.as_str() == EVIDENCE_CONTRACT {
            return self.report_evidence(&*state, block, stx, writes);
        }
        if tx.call.contract.as_str() == GOVERNANCE_CONTRACT {
            return self.govern(state, block, stx, writes);
        }
        if tx.call.method.as_str() == MIGRATE_METHOD {
            // The node calls it at an activation; a member calling it could
            // rewrite the contract's state as a migration does.
            let refused = Err((
                FailureCode::GovernanceRefused,
                format!(
                    "{MIGRATE_METHOD} is called by the node at a version's activation, never by a transaction"
                ),
            ));
            return Ok(native_receipt(stx, refused, writes));
        }
        let id = &tx.call.contract;
        let contract = match resolved.get(id) {
            Some(c) => c.clone(),
            None => {
                let c = self.resolve(&*state.base, id, block.height)?;
                resolved.insert(id.clone(), c.clone());
                c
            }
        };
        let Some(contract) = contract else {
            let status = TxStatus::Failed {
                code: FailureCode::NoContract as u16,
                message: format!("no contract {}", tx.call.contract.as_str()),
            };
            return Ok((
                Receipt {
                    tx_hash,
                    status,
                    fuel_used: 0,
                    events: Vec::new(),
                    return_data: Vec::new(),
                },
                writes,
            ));
        };
        let context = CallContext {
            contract: tx.call.contract.clone(),
            caller: tx.sender,
            tx_hash,
            height: block.height,
            time_ms: block.time_ms,
            epcis_event_bytes_max: state.limits.epcis_event_bytes_max,
        };
        let input = filiera_contract_api::encode(&CallInput {
            method: tx.call.method.as_str().to_owned(),
            args: tx.call.args.clone(),
        });
        let outcome = self
            .engine
            .call(&contract, state, context, input, TX_FUEL_MAX)?;
        let status = match outcome.status {
            CallStatus::Success => {
                writes.extend(outcome.writes);
                TxStatus::Success
            }
            CallStatus::Failed { code, message } => TxStatus::Failed {
                code: code as u16,
                message,
            },
        };
        let receipt = Receipt {
            tx_hash,
            status,
            fuel_used: outcome.fuel_used,
            events: outcome.events,
            return_data: outcome.return_data,
        };
        Ok((receipt, writes))
    }

    /// The native governance calls (see [`crate::governance`]).
    fn govern(
        &self,
        overlay: Arc<Overlay>,
        block: &BlockContext,
        stx: &SignedTransaction,
        writes: Changes,
    ) -> Result<(Receipt, Changes), StateUnreadable> {
        let tx = &stx.tx;
        let state: &dyn StateReader = &*overlay;
        let try_migration = |code: &[u8], id: &ContractId| {
            // It passed the deploy-time checks at upload: a module every node
            // accepted that this one cannot compile is this node's fault,
            // so it stops rather than judge the approval alone.
            let contract = self.engine.load(code).map_err(|e| {
                StateUnreadable(format!(
                    "this node cannot compile module {} to try its migration: {e}",
                    filiera_types::Hash::of(filiera_types::Domain::ContractCode, code).to_hex()
                ))
            })?;
            let outcome = self.migrate(&contract, overlay.clone(), id, block)?;
            not_instantiated(&outcome, id)?;
            Ok(match outcome.status {
                CallStatus::Success => Ok(()),
                CallStatus::Failed { message, .. } => Err(message),
            })
        };
        let result = crate::governance::call(
            state,
            &self.builtin_hashes,
            &try_migration,
            block.height,
            &tx.sender,
            tx.call.method.as_str(),
            &tx.call.args,
        )?;
        if let Ok(done) = &result
            && let Some(hash) = done.scheduled
        {
            // Stored by this call, or earlier for a version scheduled before.
            let code_key = filiera_types::sys_keys::code(&hash);
            let code = match done.writes.get(&code_key) {
                Some(written) => written.clone(),
                None => state.get(&code_key)?,
            };
            self.compile_ahead(code);
        }
        let result = result.map(|done| (done.writes, done.events, done.return_data));
        Ok(native_receipt(stx, result, writes))
    }

    /// Calls `contract`'s [`MIGRATE_METHOD`] on `state` as the node, with
    /// [`MIGRATION_FUEL_MAX`].
    fn migrate(
        &self,
        contract: &LoadedContract,
        state: Arc<Overlay>,
        id: &ContractId,
        block: &BlockContext,
    ) -> Result<crate::outcome::CallOutcome, StateUnreadable> {
        let context = CallContext {
            contract: id.clone(),
            // No one's key: the node calls it.
            caller: PublicKey([0; 32]),
            tx_hash: contract.code_hash(),
            height: block.height,
            time_ms: block.time_ms,
            epcis_event_bytes_max: state.limits.epcis_event_bytes_max,
        };
        let input = filiera_contract_api::encode(&CallInput {
            method: MIGRATE_METHOD.to_owned(),
            args: Vec::new(),
        });
        self.engine
            .call(contract, state, context, input, MIGRATION_FUEL_MAX)
    }

    /// Runs the migrations due at this block's height, before its
    /// transactions. One that fails leaves no write, and its version is
    /// withdrawn from this height on: the version before runs on, as every
    /// node decides alike. The outcome of each is kept in state.
    fn run_migrations(
        &self,
        overlay: &Arc<Overlay>,
        block: &BlockContext,
        resolved: &mut Resolved,
    ) -> Result<(), StateUnreadable> {
        let Some(bytes) = overlay.base.get(&sys_keys::migrations_at(block.height))? else {
            return Ok(());
        };
        let due: Vec<(ContractId, u32)> =
            filiera_types::encoding::decode("migrations", &bytes, usize::MAX)
                .map_err(|e| StateUnreadable(format!("migrations due at {}: {e}", block.height)))?;
        for (id, version) in due {
            let Some(table) = crate::governance::versions(&*overlay.base, &id)? else {
                continue;
            };
            // Only the version scheduled for this height migrates.
            if version_at(&table, block.height).map(|v| (v.version, v.from_height))
                != Some((version, block.height))
            {
                continue;
            }
            let Some(contract) = self.resolve(&*overlay.base, &id, block.height)? else {
                continue;
            };
            let outcome = self.migrate(&contract, overlay.clone(), &id, block)?;
            not_instantiated(&outcome, &id)?;
            let mut writes = Changes::new();
            let failure = match outcome.status {
                CallStatus::Success => {
                    writes.extend(outcome.writes);
                    None
                }
                CallStatus::Failed { message, .. } => {
                    // Withdrawn: the version keeps its number (so its
                    // outcome stays its own and numbers only go up) and runs
                    // the code of the one before; a new contract is removed.
                    let mut versions = table;
                    if let Some(i) = versions.iter().position(|v| v.version == version) {
                        match i.checked_sub(1).map(|p| versions[p].code_hash) {
                            Some(before) => versions[i].code_hash = before,
                            None => {
                                versions.remove(i);
                            }
                        }
                    }
                    writes.insert(
                        sys_keys::contract_versions(&id),
                        Some(filiera_types::encoding::encode(&versions)),
                    );
                    // This block already runs the version before.
                    let before =
                        self.resolve(&*overlay.base, &id, block.height.saturating_sub(1))?;
                    resolved.insert(id.clone(), before);
                    Some(message)
                }
            };
            let record = MigrationOutcome {
                height: block.height,
                fuel_used: outcome.fuel_used,
                failure,
            };
            writes.insert(
                sys_keys::migration(&id, version),
                Some(filiera_types::encoding::encode(&record)),
            );
            if let Ok(mut changes) = overlay.changes.write() {
                changes.extend(writes);
            }
        }
        Ok(())
    }

    /// The native evidence call (see [`crate::evidence`]).
    fn report_evidence(
        &self,
        state: &dyn StateReader,
        block: &BlockContext,
        stx: &SignedTransaction,
        writes: Changes,
    ) -> Result<(Receipt, Changes), StateUnreadable> {
        let tx = &stx.tx;
        let result = if tx.call.method.as_str() == EVIDENCE_METHOD {
            crate::evidence::report(
                state,
                &block.chain_id,
                block.height,
                &tx.sender,
                &tx.call.args,
            )?
        } else {
            Err((
                FailureCode::EvidenceInvalid,
                format!("{EVIDENCE_CONTRACT} has no method {}", tx.call.method),
            ))
        };
        let result = result.map(|(recorded, events)| (recorded, events, Vec::new()));
        Ok(native_receipt(stx, result, writes))
    }
}

/// A module that passed the deploy-time checks and compiled, yet could not
/// be instantiated here, is this node's failure (memory, the pool), not a
/// verdict: the node stops rather than refuse an approval or withdraw a
/// version alone.
fn not_instantiated(
    outcome: &crate::outcome::CallOutcome,
    id: &ContractId,
) -> Result<(), StateUnreadable> {
    match &outcome.status {
        CallStatus::Failed { code, message } if *code == FailureCode::NoContract => {
            Err(StateUnreadable(format!(
                "this node cannot instantiate {id} to migrate it: {message}"
            )))
        }
        _ => Ok(()),
    }
}

/// What a native call changed, emitted and returned, or its failure.
type NativeResult =
    Result<(Changes, Vec<filiera_types::receipt::Event>, Vec<u8>), (FailureCode, String)>;

/// The receipt of a native call (evidence, governance), which uses no fuel:
/// its writes join the nonce advance in `writes` on success; a failure
/// keeps only the nonce advance.
fn native_receipt(
    stx: &SignedTransaction,
    result: NativeResult,
    mut writes: Changes,
) -> (Receipt, Changes) {
    let (status, events, return_data) = match result {
        Ok((changed, events, return_data)) => {
            writes.extend(changed);
            (TxStatus::Success, events, return_data)
        }
        Err((code, message)) => (
            TxStatus::Failed {
                code: code as u16,
                message,
            },
            Vec::new(),
            Vec::new(),
        ),
    };
    let receipt = Receipt {
        tx_hash: stx.hash(),
        status,
        fuel_used: 0,
        events,
        return_data,
    };
    (receipt, writes)
}
