//! The admission rules have one home (`filiera_types::admission`): the
//! mempool's door and execution in a block both judge by it. Over a grid of
//! transactions around every rule's edge (chain, sender's standing,
//! signature, expiry, nonce), with the standing read by the real lookup
//! (`filiera_execution::standing`) from registry records,
//! what the real mempool answers and what the real executor records must be
//! what the rules module says, case by case. A rule changed there is followed
//! by both; a check added to one side only breaks this test.

use filiera_contract_api::registry::{OrgRecord, OrgStatus, RoleSet};
use filiera_contract_api::{contract_ids, encode, keys};
use filiera_execution::{BlockContext, ContractEngine, Executor, MemState, executor::nonce_key};
use filiera_service::mempool::{AdmitContext, AdmitError, Mempool, MempoolLimits};
use filiera_types::admission::{self, Refusal, Standing};
use filiera_types::evidence::EVIDENCE_CONTRACT;
use filiera_types::receipt::TxStatus;
use filiera_types::{
    ChainId, ContractCall, ContractId, MethodName, SecretKey, SignedTransaction, Transaction,
    Validator, ValidatorSet, encoding, sys_keys,
};
use std::collections::BTreeSet;
use std::sync::Arc;

const HEIGHT: u64 = 20;
const NONCE: u64 = 5;
const NONCE_GAP_MAX: u64 = 3;
const EXPIRY_BLOCKS_MAX: u64 = 10;

fn chain() -> ChainId {
    ChainId::new("filiera-test").unwrap()
}

/// The senders: a key of an active organisation, one of a suspended one, a
/// validator's consensus key, and a key of no one.
fn senders() -> [(SecretKey, Standing); 4] {
    [
        (SecretKey::from_seed(&[4; 32]), Standing::Member),
        (SecretKey::from_seed(&[5; 32]), Standing::Inactive),
        (SecretKey::from_seed(&[6; 32]), Standing::Validator),
        (SecretKey::from_seed(&[7; 32]), Standing::Stranger),
    ]
}

/// The registry's records of `senders()` (and each sender's nonce).
fn state() -> MemState {
    let mut state = MemState::default();
    let [member, inactive, validator, _] = senders();
    let mut put = |key: Vec<u8>, value: Vec<u8>| state.0.insert(key, value);
    for (id, (key, _), status) in [
        ("member", &member, OrgStatus::Active),
        ("suspended", &inactive, OrgStatus::Suspended),
    ] {
        let record = OrgRecord {
            id: id.into(),
            name: id.into(),
            kind: 3,
            vat_number: None,
            roles: RoleSet::of(&[]),
            status,
            keys: vec![key.public_key().0],
        };
        let registry = contract_ids::REGISTRY;
        put(keys::state_key(registry, &keys::org(id)), encode(&record));
        let owner = keys::key_owner(&key.public_key().0);
        put(keys::state_key(registry, &owner), encode(&id.to_owned()));
    }
    let set = ValidatorSet::new(vec![Validator {
        public_key: validator.0.public_key(),
        power: 1,
    }])
    .unwrap();
    put(sys_keys::validator_set(0), encoding::encode(&set));
    for (key, _) in senders() {
        put(nonce_key(&key.public_key()), NONCE.to_le_bytes().to_vec());
    }
    state
}

/// Every combination of a right or wrong chain, a call to a contract or to
/// the evidence report, a good or forged signature, an expiry around the
/// height, and a nonce around the sender's next.
fn grid(key: &SecretKey) -> Vec<SignedTransaction> {
    let other = ChainId::new("another-chain").unwrap();
    let expiries = [
        HEIGHT - 1,
        HEIGHT,
        HEIGHT + 1,
        HEIGHT + EXPIRY_BLOCKS_MAX,
        HEIGHT + EXPIRY_BLOCKS_MAX + 1,
    ];
    let nonces = [
        NONCE - 1,
        NONCE,
        NONCE + 1,
        NONCE + NONCE_GAP_MAX,
        NONCE + NONCE_GAP_MAX + 1,
    ];
    let mut out = Vec::new();
    for chain_id in [chain(), other] {
        for contract in ["nothing", EVIDENCE_CONTRACT] {
            for forged in [false, true] {
                for expiry_height in expiries {
                    for nonce in nonces {
                        let mut body = body(&chain_id, key, nonce, expiry_height);
                        body.call.contract = ContractId::new(contract).unwrap();
                        let mut stx = body.sign(key).unwrap();
                        if forged {
                            stx.tx.call.args[0] ^= 1;
                        }
                        out.push(stx);
                    }
                }
            }
        }
    }
    out
}

/// A call to a contract that does not exist: admitted, it fails with its own
/// code (6), never a refusal's (as a malformed evidence report fails with 11).
fn body(chain_id: &ChainId, key: &SecretKey, nonce: u64, expiry_height: u64) -> Transaction {
    Transaction {
        chain_id: chain_id.clone(),
        sender: key.public_key(),
        nonce,
        expiry_height,
        call: ContractCall {
            contract: ContractId::new("nothing").unwrap(),
            method: MethodName::new("run").unwrap(),
            args: vec![1, 2, 3],
        },
    }
}

fn signature(stx: &SignedTransaction) -> Result<(), String> {
    filiera_execution::signatures::verify(stx).map_err(|e| e.to_string())
}

/// The mempool's answer, as a code (`None`: admitted).
fn at_the_door(stx: &SignedTransaction, standing: Standing) -> Option<&'static str> {
    let chain = chain();
    let mut pool = Mempool::new(MempoolLimits {
        nonce_gap_max: NONCE_GAP_MAX,
        ..MempoolLimits::default()
    });
    let ctx = AdmitContext {
        chain_id: &chain,
        next_height: HEIGHT,
        committed_nonce: NONCE,
        tx_bytes_max: 1 << 20,
        tx_expiry_blocks_max: EXPIRY_BLOCKS_MAX,
        standing,
    };
    match pool.admit(stx.clone(), &ctx) {
        Ok(_) => None,
        Err(AdmitError::Refused(refusal)) => Some(refusal.code()),
        Err(other) => panic!("not a rule's refusal: {other}"),
    }
}

/// The executor's receipt for `stx` alone in a block at `HEIGHT`, as a
/// refusal's receipt code (`None`: it ran).
fn in_a_block(executor: &Executor, state: &MemState, stx: &SignedTransaction) -> Option<u16> {
    let state = MemState(state.0.clone());
    let block = BlockContext {
        chain_id: chain(),
        height: HEIGHT,
        time_ms: 1_700_000_000_000,
    };
    let outcome = executor
        .execute_block(Arc::new(state), &block, std::slice::from_ref(stx), &[false])
        .expect("state readable");
    match &outcome.receipts[0].status {
        TxStatus::Failed { code, .. } if admission::is_refusal_receipt(*code) => {
            assert!(outcome.changes.is_empty(), "a refusal changed the state");
            Some(*code)
        }
        _ => None,
    }
}

#[test]
fn the_door_and_the_block_both_judge_by_the_admission_rules() {
    let chain = chain();
    let executor = Executor::new(ContractEngine::new(None).unwrap(), &[]).unwrap();
    let state = state();
    let (mut door_codes, mut block_codes) = (BTreeSet::new(), BTreeSet::new());
    for (key, expected) in senders() {
        // The real lookup, on the records the block executes over.
        let standing =
            filiera_execution::standing::sender_standing(&state, &key.public_key(), HEIGHT)
                .unwrap();
        assert_eq!(standing, expected, "the registry's records say who is who");
        for stx in grid(&key) {
            let door = admission::door(
                &chain,
                HEIGHT,
                NONCE,
                NONCE_GAP_MAX,
                EXPIRY_BLOCKS_MAX,
                standing,
            );
            let rules_at_door = admission::check(&stx.tx, signature(&stx), &door)
                .err()
                .map(|r| r.code());
            assert_eq!(
                at_the_door(&stx, standing),
                rules_at_door,
                "door, {:?}",
                stx.tx
            );

            let here = admission::in_block(&chain, HEIGHT, NONCE, standing);
            let rules_in_block = admission::check(&stx.tx, signature(&stx), &here)
                .err()
                .map(|r: Refusal| r.receipt_code().unwrap());
            assert_eq!(
                in_a_block(&executor, &state, &stx),
                rules_in_block,
                "block, {:?}",
                stx.tx
            );

            door_codes.insert(rules_at_door);
            block_codes.insert(rules_in_block);
        }
    }
    // The grid reaches every verdict on both sides, so no rule goes untested.
    let door_all: BTreeSet<_> = [
        None,
        Some("wrong_chain"),
        Some("not_member"),
        Some("not_active"),
        Some("bad_signature"),
        Some("expired"),
        Some("nonce_used"),
        Some("nonce_gap"),
    ]
    .into();
    assert_eq!(door_codes, door_all);
    let block_all: BTreeSet<_> = [
        None,
        Some(7),
        Some(8),
        Some(9),
        Some(10),
        Some(12),
        Some(13),
    ]
    .into();
    assert_eq!(block_codes, block_all);
}

/// The rules as they are today, pinned: changing one is a decision, seen here.
#[test]
fn the_rules_today() {
    let chain = chain();
    let key = SecretKey::from_seed(&[4; 32]);
    let tx = |nonce, expiry_height| body(&chain, &key, nonce, expiry_height);
    let door = admission::door(
        &chain,
        HEIGHT,
        NONCE,
        NONCE_GAP_MAX,
        EXPIRY_BLOCKS_MAX,
        Standing::Member,
    );
    let block = admission::in_block(&chain, HEIGHT, NONCE, Standing::Member);
    // A transaction may be included at its expiry height, not after.
    assert_eq!(admission::check(&tx(NONCE, HEIGHT), Ok(()), &block), Ok(()));
    assert!(matches!(
        admission::check(&tx(NONCE, HEIGHT - 1), Ok(()), &block),
        Err(Refusal::Expiry { .. })
    ));
    // The door lets in a few nonces ahead; a block only the next.
    assert_eq!(
        admission::check(&tx(NONCE + 1, HEIGHT), Ok(()), &door),
        Ok(())
    );
    assert!(matches!(
        admission::check(&tx(NONCE + 1, HEIGHT), Ok(()), &block),
        Err(Refusal::NonceGap { .. })
    ));
    // The door bounds how far off an expiry may be; a block does not.
    let far = HEIGHT + EXPIRY_BLOCKS_MAX + 1;
    assert!(admission::check(&tx(NONCE, far), Ok(()), &door).is_err());
    assert_eq!(admission::check(&tx(NONCE, far), Ok(()), &block), Ok(()));
    // Only members write; a validator's key only reports evidence; a
    // suspended organisation's key writes nothing. Judged before expiry.
    let at = |standing| admission::in_block(&chain, HEIGHT, NONCE, standing);
    let stale = tx(NONCE, HEIGHT - 1);
    assert!(matches!(
        admission::check(&stale, Ok(()), &at(Standing::Stranger)),
        Err(Refusal::NotMember(_))
    ));
    assert!(matches!(
        admission::check(&stale, Ok(()), &at(Standing::Inactive)),
        Err(Refusal::NotActive(_))
    ));
    assert!(matches!(
        admission::check(&tx(NONCE, HEIGHT), Ok(()), &at(Standing::Validator)),
        Err(Refusal::NotMember(_))
    ));
    let mut report = tx(NONCE, HEIGHT);
    report.call.contract = ContractId::new(EVIDENCE_CONTRACT).unwrap();
    assert_eq!(
        admission::check(&report, Ok(()), &at(Standing::Validator)),
        Ok(())
    );
}
