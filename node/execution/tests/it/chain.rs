//! A chain in memory driven through the real executor, runtime and contracts:
//! one block per `submit`, state kept in an ordered map.

use filiera_contract_api::registry::{
    AuthorityAction, AuthorityRecord, OrgRecord, OrgStatus, Role, RoleSet,
};
use filiera_contract_api::{contract_ids, encode, keys};
use filiera_execution::contracts::builtin;
use filiera_execution::{BlockContext, BlockOutcome, ContractEngine, Executor, MemState};
use filiera_types::receipt::{Receipt, TxStatus};
use filiera_types::{
    ChainId, ContractCall, ContractId, MethodName, PublicKey, SecretKey, SignedTransaction,
    Transaction,
};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const DAY_MS: u64 = 86_400_000;
/// 2026-11-01T00:00:00Z.
pub const START_MS: u64 = 1_793_491_200_000;

pub fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32])
}

pub struct Chain {
    pub executor: Executor,
    pub state: MemState,
    pub chain_id: ChainId,
    pub height: u64,
    pub time_ms: u64,
    nonces: BTreeMap<PublicKey, u64>,
    pub authority: Vec<SecretKey>,
}

impl Chain {
    /// A chain whose only organisation is the authority (keys 1, 2, 3; 2 of 3).
    pub fn new() -> Chain {
        let engine = ContractEngine::new(None).unwrap();
        let executor = Executor::new(engine, &builtin()).unwrap();
        let authority: Vec<SecretKey> = (1..=3).map(key).collect();
        let auth_keys: Vec<[u8; 32]> = authority.iter().map(|k| k.public_key().0).collect();
        let mut state = MemState::default();
        let mut put = |k: &[u8], v: Vec<u8>| {
            state
                .0
                .insert(keys::state_key(contract_ids::REGISTRY, k), v);
        };
        put(
            keys::AUTHORITY,
            encode(&AuthorityRecord {
                org: "regione-marche".into(),
                keys: auth_keys.clone(),
                threshold: 2,
            }),
        );
        let org = OrgRecord {
            id: "regione-marche".into(),
            name: "Regione Marche".into(),
            kind: 0,
            vat_number: None,
            roles: RoleSet::of(&[Role::Authority]),
            status: OrgStatus::Active,
            keys: auth_keys.clone(),
        };
        put(&keys::org("regione-marche"), encode(&org));
        for k in &auth_keys {
            put(&keys::key_owner(k), encode(&"regione-marche".to_string()));
        }
        // As genesis writes them: each built-in contract is version 1.
        for (id, code) in builtin() {
            let hash = filiera_execution::contracts::code_hash(code);
            let v1 = filiera_types::governance::ContractVersion {
                version: 1,
                code_hash: hash,
                from_height: 0,
                proposal: None,
            };
            state.0.insert(
                filiera_types::sys_keys::contract_versions(&id),
                filiera_types::encoding::encode(&vec![v1]),
            );
            state
                .0
                .insert(filiera_types::sys_keys::code(&hash), code.to_vec());
        }
        // As genesis writes it: chain rules version 1 from height 0.
        state.0.insert(
            filiera_types::sys_keys::CHAIN_RULES.to_vec(),
            filiera_types::encoding::encode(&vec![filiera_types::chain_rules::ChainRulesVersion {
                version: 1,
                from_height: 0,
                proposal: None,
            }]),
        );
        // As genesis writes it: the default consensus parameters' limits.
        state.0.insert(
            filiera_types::sys_keys::LIMITS.to_vec(),
            filiera_types::encoding::encode(&vec![filiera_types::chain_limits::LimitsVersion {
                limits: filiera_types::chain_limits::ChainLimits::default(),
                from_height: 0,
                proposal: None,
            }]),
        );
        Chain {
            executor,
            state,
            chain_id: ChainId::new("filiera-test").unwrap(),
            height: 0,
            time_ms: START_MS,
            nonces: BTreeMap::new(),
            authority,
        }
    }

    pub fn tx(
        &mut self,
        signer: &SecretKey,
        contract: &str,
        method: &str,
        args: Vec<u8>,
    ) -> SignedTransaction {
        let sender = signer.public_key();
        let nonce = self.nonces.entry(sender).or_insert(0);
        let tx = Transaction {
            chain_id: self.chain_id.clone(),
            sender,
            nonce: *nonce,
            expiry_height: self.height + 100,
            call: ContractCall {
                contract: ContractId::new(contract).unwrap(),
                method: MethodName::new(method).unwrap(),
                args,
            },
        };
        *nonce += 1;
        tx.sign(signer).unwrap()
    }

    /// Executes one block and commits it.
    pub fn block(&mut self, txs: &[SignedTransaction]) -> BlockOutcome {
        self.height += 1;
        self.time_ms += 60_000;
        let ctx = BlockContext {
            chain_id: self.chain_id.clone(),
            height: self.height,
            time_ms: self.time_ms,
        };
        let outcome = self
            .executor
            .execute_block(Arc::new(self.state.clone()), &ctx, txs, &[])
            .expect("state readable");
        self.state.apply(&outcome.changes);
        outcome
    }

    /// One transaction in its own block; its receipt.
    pub fn submit(
        &mut self,
        signer: &SecretKey,
        contract: &str,
        method: &str,
        args: Vec<u8>,
    ) -> Receipt {
        let tx = self.tx(signer, contract, method, args);
        let receipt = self.block(&[tx]).receipts.remove(0);
        // A refusal (a node would never have let it in) uses no nonce.
        if let TxStatus::Failed { code, .. } = &receipt.status
            && filiera_types::admission::is_refusal_receipt(*code)
            && let Some(nonce) = self.nonces.get_mut(&signer.public_key())
        {
            *nonce -= 1;
        }
        receipt
    }

    /// Submits and asserts success.
    pub fn ok(
        &mut self,
        signer: &SecretKey,
        contract: &str,
        method: &str,
        args: Vec<u8>,
    ) -> Receipt {
        let r = self.submit(signer, contract, method, args);
        assert_eq!(r.status, TxStatus::Success, "{contract}.{method}");
        r
    }

    /// Submits, asserts failure with a message containing `needle`, and that no contract state changed.
    pub fn refused(
        &mut self,
        signer: &SecretKey,
        contract: &str,
        method: &str,
        args: Vec<u8>,
        needle: &str,
    ) {
        let before = self.contract_state();
        let r = self.submit(signer, contract, method, args);
        match &r.status {
            TxStatus::Failed { message, .. } => assert!(
                message.contains(needle),
                "{contract}.{method}: {message:?} lacks {needle:?}"
            ),
            TxStatus::Success => panic!("{contract}.{method} should fail with {needle:?}"),
        }
        assert_eq!(
            self.contract_state(),
            before,
            "a refused transaction changes no contract state"
        );
    }

    /// Contract state only (nonces excluded).
    pub fn contract_state(&self) -> BTreeMap<Vec<u8>, Vec<u8>> {
        self.state
            .0
            .iter()
            .filter(|(k, _)| k.starts_with(b"c/"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    pub fn get<T: borsh::BorshDeserialize>(&self, contract: &str, key: &[u8]) -> Option<T> {
        self.state
            .0
            .get(&keys::state_key(contract, key))
            .map(|v| filiera_contract_api::decode(v).unwrap())
    }

    /// Runs an authority action with two approvals (keys 1 then 2).
    pub fn authority_does(&mut self, action: AuthorityAction) {
        let (a, b) = (self.authority[0].clone(), self.authority[1].clone());
        let r = self.ok(&a, contract_ids::REGISTRY, "propose", encode(&action));
        let id: u64 = filiera_contract_api::decode(&r.return_data).unwrap();
        let r = self.ok(&b, contract_ids::REGISTRY, "approve", encode(&id));
        assert_eq!(
            r.return_data,
            encode(&true),
            "executed after the second approval"
        );
    }

    /// Onboards an organisation with one key and `roles`.
    pub fn onboard(&mut self, id: &str, kind: u8, roles: &[Role], signer: &SecretKey) {
        self.authority_does(AuthorityAction::RegisterOrg {
            id: id.into(),
            name: format!("{id} s.r.l."),
            kind,
            vat_number: None,
            roles: roles.to_vec(),
            keys: vec![signer.public_key().0],
        });
    }
}
