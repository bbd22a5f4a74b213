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
use filiera_execution::{BlockContext, BlockOutcome, ContractEngine, Executor, StateReader};
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

#[derive(Clone, Default)]
pub struct State(pub BTreeMap<Vec<u8>, Vec<u8>>);

impl StateReader for State {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.get(key).cloned()
    }
    fn next(&self, prefix: &[u8], after: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        self.0
            .range::<[u8], _>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded))
            .find(|(k, _)| k.as_slice() >= prefix)
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
    }
}

impl State {
    pub fn root(&self) -> Hash {
        let mut h = Domain::StateLeaf.hasher();
        for (k, v) in &self.0 {
            h.update(&(k.len() as u64).to_le_bytes());
            h.update(k);
            h.update(&(v.len() as u64).to_le_bytes());
            h.update(v);
        }
        Hash(*h.finalize().as_bytes())
    }

    pub fn apply(&mut self, outcome: &BlockOutcome) {
        for (k, v) in &outcome.changes {
            match v {
                Some(v) => self.0.insert(k.clone(), v.clone()),
                None => self.0.remove(k),
            };
        }
    }

    pub fn next_nonce(&self, key: &SecretKey) -> u64 {
        self.0
            .get(&nonce_key(&key.public_key()))
            .map(|v| u64::from_le_bytes(v.as_slice().try_into().unwrap()))
            .unwrap_or(0)
    }
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
    State(m)
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
    let outcome = executor().execute_block(Arc::new(state.clone()), &ctx, txs);
    let mut after = state.clone();
    after.apply(&outcome);
    let receipts_root = Receipt::root(&outcome.receipts);
    (outcome, after.root(), receipts_root)
}
