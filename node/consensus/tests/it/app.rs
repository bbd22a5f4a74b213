//! The application side of a simulated validator: the real executor and the
//! committed contracts over an in-memory state. The state root here is a hash
//! of the whole sorted state (the node proper uses the storage's Jellyfish
//! tree); what matters for the simulation is that every node computes it from
//! its own execution and refuses a block whose root differs.

use filiera_contract_api::lots::{Commission, LotRef, ProductRecord};
use filiera_contract_api::registry::{OrgRecord, OrgStatus, Role, RoleSet};
use filiera_contract_api::{contract_ids, encode, keys};
use filiera_execution::contracts::builtin;
use filiera_execution::executor::nonce_key;
use filiera_execution::{BlockContext, BlockOutcome, ContractEngine, Executor, MemState};
use filiera_types::receipt::Receipt;
use filiera_types::{
    ChainId, ContractCall, ContractId, Domain, Hash, MethodName, SecretKey, SignedTransaction,
    Transaction,
};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

pub const GTIN: &str = "09521234100010";
/// Transactions a proposer puts in one block.
pub const BLOCK_TXS_MAX: usize = 4;

/// One executor for every simulated node: compiling the contracts once keeps
/// hundreds of seeds fast; each node still executes every block itself.
pub fn executor() -> &'static Executor {
    static EXECUTOR: OnceLock<Executor> = OnceLock::new();
    EXECUTOR.get_or_init(|| Executor::new(ContractEngine::new(None).unwrap(), &builtin()).unwrap())
}

pub type State = MemState;

/// The simulation's state root: a hash of the whole sorted state.
pub fn root(state: &State) -> Hash {
    let mut h = Domain::StateLeaf.hasher();
    for (k, v) in &state.0 {
        h.update(&(k.len() as u64).to_le_bytes());
        h.update(k);
        h.update(&(v.len() as u64).to_le_bytes());
        h.update(v);
    }
    Hash(*h.finalize().as_bytes())
}

/// The next nonce of `key`'s sender.
pub fn next_nonce(state: &State, key: &SecretKey) -> u64 {
    state
        .0
        .get(&nonce_key(&key.public_key()))
        .map(|v| u64::from_le_bytes(v.as_slice().try_into().unwrap()))
        .unwrap_or(0)
}

/// A producer registered at genesis, with one product.
pub fn genesis_state(producer: &SecretKey) -> State {
    let mut m = BTreeMap::new();
    let key = producer.public_key().0;
    let org = OrgRecord {
        id: "caseificio".into(),
        name: "Caseificio".into(),
        kind: 3,
        vat_number: None,
        roles: RoleSet::of(&[Role::Producer]),
        status: OrgStatus::Active,
        keys: vec![key],
    };
    m.insert(
        keys::state_key(contract_ids::REGISTRY, &keys::org("caseificio")),
        encode(&org),
    );
    m.insert(
        keys::state_key(contract_ids::REGISTRY, &keys::key_owner(&key)),
        encode(&"caseificio".to_string()),
    );
    let product = ProductRecord {
        gtin: GTIN.into(),
        owner: "caseificio".into(),
        name: "Casciotta d'Urbino".into(),
        scheme: "DOP".into(),
        uom: "kg".into(),
        max_yield_permille: 1000,
    };
    m.insert(
        keys::state_key(contract_ids::LOTS, &keys::product(GTIN)),
        encode(&product),
    );
    MemState(m)
}

/// The producer's transactions, one lot each, in nonce order; every tenth
/// commissions a lot that already exists, so some receipts are failures.
pub fn pool(chain_id: &ChainId, producer: &SecretKey, count: u64) -> Vec<SignedTransaction> {
    (0..count)
        .map(|nonce| {
            let lot = if nonce % 10 == 9 {
                format!("L{}", nonce - 1)
            } else {
                format!("L{nonce}")
            };
            let args = Commission {
                id: LotRef {
                    gtin: GTIN.into(),
                    lot,
                },
                quantity: 10 + nonce,
                site: None,
                metadata: vec![],
                private_hash: None,
                epcis_hash: None,
            };
            let call = ContractCall {
                contract: ContractId::new(contract_ids::LOTS).unwrap(),
                method: MethodName::new("commission").unwrap(),
                args: encode(&args),
            };
            Transaction {
                chain_id: chain_id.clone(),
                sender: producer.public_key(),
                nonce,
                expiry_height: 1_000_000,
                call,
            }
            .sign(producer)
            .unwrap()
        })
        .collect()
}

/// Executes a block on `state` (not modified): the outcome and the new root.
pub fn execute(
    state: &State,
    chain_id: &ChainId,
    height: u64,
    time_ms: u64,
    txs: &[SignedTransaction],
) -> (BlockOutcome, Hash, Hash) {
    let ctx = BlockContext {
        chain_id: chain_id.clone(),
        height,
        time_ms,
    };
    let outcome = executor().execute_block(Arc::new(state.clone()), &ctx, txs, &[]);
    let mut after = state.clone();
    after.apply(&outcome.changes);
    let receipts_root = Receipt::root(&outcome.receipts);
    (outcome, root(&after), receipts_root)
}
