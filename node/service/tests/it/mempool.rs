use filiera_service::mempool::{AdmitContext, AdmitError, Mempool, MempoolLimits, Verified};
use filiera_types::admission::{Refusal, Standing};
use filiera_types::{
    ChainId, ContractCall, ContractId, MethodName, SecretKey, SignedTransaction, Transaction,
};
use std::collections::BTreeMap;

fn chain() -> ChainId {
    ChainId::new("filiera-test").unwrap()
}

pub fn tx(key: &SecretKey, nonce: u64, expiry: u64) -> SignedTransaction {
    Transaction {
        chain_id: chain(),
        sender: key.public_key(),
        nonce,
        expiry_height: expiry,
        call: ContractCall {
            contract: ContractId::new("lots").unwrap(),
            method: MethodName::new("commission").unwrap(),
            args: vec![7; 40],
        },
    }
    .sign(key)
    .unwrap()
}

fn ctx(chain: &ChainId, committed_nonce: u64) -> AdmitContext<'_> {
    AdmitContext {
        chain_id: chain,
        next_height: 10,
        committed_nonce,
        tx_bytes_max: 1024,
        tx_expiry_blocks_max: 100,
        standing: Standing::Member,
    }
}

fn small_pool() -> Mempool {
    Mempool::new(MempoolLimits {
        txs_max: 8,
        bytes_max: 1 << 20,
        per_sender_max: 4,
        nonce_gap_max: 5,
    })
}

#[test]
fn admission_refuses_each_bad_transaction_with_its_reason_and_keeps_nothing() {
    let c = chain();
    let key = SecretKey::from_seed(&[1; 32]);
    let mut pool = small_pool();
    let other_chain = ChainId::new("another-chain").unwrap();
    let mut wrong_chain = tx(&key, 0, 50);
    wrong_chain.tx.chain_id = other_chain;
    assert!(matches!(
        pool.admit(wrong_chain, &ctx(&c, 0)),
        Err(AdmitError::Refused(Refusal::WrongChain(_)))
    ));
    let mut forged = tx(&key, 0, 50);
    forged.tx.call.args[0] ^= 1;
    assert!(matches!(
        pool.admit(forged, &ctx(&c, 0)),
        Err(AdmitError::Refused(Refusal::BadSignature(_)))
    ));
    assert!(matches!(
        pool.admit(tx(&key, 0, 9), &ctx(&c, 0)),
        Err(AdmitError::Refused(Refusal::Expiry { .. }))
    ));
    assert!(matches!(
        pool.admit(tx(&key, 0, 111), &ctx(&c, 0)),
        Err(AdmitError::Refused(Refusal::Expiry { .. }))
    ));
    assert!(matches!(
        pool.admit(tx(&key, 2, 50), &ctx(&c, 3)),
        Err(AdmitError::Refused(Refusal::NonceUsed {
            expected: 3,
            found: 2
        }))
    ));
    assert!(matches!(
        pool.admit(tx(&key, 9, 50), &ctx(&c, 3)),
        Err(AdmitError::Refused(Refusal::NonceGap { .. }))
    ));
    let mut huge = tx(&key, 0, 50);
    huge.tx.call.args = vec![0; 2048];
    assert!(matches!(
        pool.admit(huge, &ctx(&c, 0)),
        Err(AdmitError::Refused(Refusal::TooLarge { .. }))
    ));
    assert!(pool.is_empty());
    assert_eq!(pool.bytes(), 0);
    // A good one goes in once; the same again, or another with its nonce, is a duplicate.
    let good = tx(&key, 0, 50);
    let hash = pool.admit(good.clone(), &ctx(&c, 0)).unwrap();
    assert!(pool.contains(&hash));
    assert_eq!(pool.admit(good, &ctx(&c, 0)), Err(AdmitError::Duplicate));
    assert_eq!(
        pool.admit(tx(&key, 0, 60), &ctx(&c, 0)),
        Err(AdmitError::Duplicate)
    );
    assert_eq!(pool.len(), 1);
}

#[test]
fn a_full_pool_and_a_greedy_sender_get_busy_not_growth() {
    let c = chain();
    let mut pool = small_pool();
    let greedy = SecretKey::from_seed(&[2; 32]);
    for n in 0..4 {
        pool.admit(tx(&greedy, n, 50), &ctx(&c, 0)).unwrap();
    }
    let refused = pool.admit(tx(&greedy, 4, 50), &ctx(&c, 0)).unwrap_err();
    assert!(refused.is_busy(), "{refused}");
    for s in 3..7u8 {
        pool.admit(tx(&SecretKey::from_seed(&[s; 32]), 0, 50), &ctx(&c, 0))
            .unwrap();
    }
    assert_eq!(pool.len(), 8);
    let full = pool
        .admit(tx(&SecretKey::from_seed(&[9; 32]), 0, 50), &ctx(&c, 0))
        .unwrap_err();
    assert!(full.is_busy(), "{full}");
    assert_eq!(pool.len(), 8);
}

/// No limit.
const M: usize = usize::MAX;

#[test]
fn blocks_take_senders_in_turn_with_consecutive_nonces_and_prune_frees_everything() {
    let c = chain();
    let mut pool = Mempool::new(MempoolLimits::default());
    let busy = SecretKey::from_seed(&[4; 32]);
    let quiet = SecretKey::from_seed(&[5; 32]);
    for n in 0..10 {
        pool.admit(tx(&busy, n, 50), &ctx(&c, 0)).unwrap();
    }
    pool.admit(tx(&quiet, 0, 50), &ctx(&c, 0)).unwrap();
    // A nonce gap: quiet's nonce 2 must wait for nonce 1.
    pool.admit(tx(&quiet, 2, 50), &ctx(&c, 0)).unwrap();
    let first = pool.take((M, 2, M), |_| Some(0));
    let senders: Vec<_> = first.iter().map(|t| t.tx.sender).collect();
    assert!(
        senders.contains(&busy.public_key()) && senders.contains(&quiet.public_key()),
        "two slots go to two senders, not both to the busy one"
    );
    // A sender suspended since admission (no nonce to take from) is skipped.
    let without_busy = pool.take((M, 100, M), |t| {
        (t.tx.sender != busy.public_key()).then_some(0)
    });
    assert_eq!(without_busy.len(), 1);
    assert_eq!(without_busy[0].tx.sender, quiet.public_key());
    let all = pool.take((M, 100, M), |_| Some(0));
    let quiet_nonces: Vec<u64> = all
        .iter()
        .filter(|t| t.tx.sender == quiet.public_key())
        .map(|t| t.tx.nonce)
        .collect();
    assert_eq!(
        quiet_nonces,
        vec![0],
        "nonce 2 is not runnable before nonce 1"
    );
    let busy_nonces: Vec<u64> = all
        .iter()
        .filter(|t| t.tx.sender == busy.public_key())
        .map(|t| t.tx.nonce)
        .collect();
    assert_eq!(busy_nonces, (0..10).collect::<Vec<_>>());
    // A byte limit is a limit.
    let one = all[0].encode().len();
    assert_eq!(pool.take((one * 3, 100, M), |_| Some(0)).len(), 3);
    // A transaction over a limit lowered since it was let in stops its
    // sender's lane there (the block would be invalid with it); the others
    // still go.
    let large = SecretKey::from_seed(&[6; 32]);
    let mut big = tx(&large, 0, 50).tx;
    big.call.args = vec![7; 400];
    pool.admit(big.sign(&large).unwrap(), &ctx(&c, 0)).unwrap();
    let under = pool.take((M, 100, one), |_| Some(0));
    assert_eq!(under.len(), all.len(), "all but the large one");
    assert!(under.iter().all(|t| t.tx.sender != large.public_key()));
    let with_it = pool.take((M, 100, one + 400), |_| Some(0));
    assert_eq!(with_it.len(), all.len() + 1);
    // Committing busy's ten and quiet's first leaves quiet's 2; expiry drops it.
    let mut committed = BTreeMap::new();
    committed.insert(busy.public_key().address(), 10);
    committed.insert(quiet.public_key().address(), 1);
    // A limit lowered under the large one drops it at the next commit.
    let before = pool.len();
    pool.prune(0, one, &BTreeMap::new());
    assert_eq!(pool.len(), before - 1, "only the large one goes");
    pool.prune(11, M, &committed);
    assert_eq!(pool.len(), 1);
    pool.prune(51, M, &BTreeMap::new());
    assert!(pool.is_empty());
    assert_eq!(pool.bytes(), 0);
}

/// Blocks skip re-verifying only the very transactions the pool admitted:
/// the id does not cover the signature, so a block's copy with other
/// signature bytes (or another body under the same sender and nonce) is unknown.
#[test]
fn known_valid_needs_the_same_signature_bytes() {
    let c = chain();
    let key = SecretKey::from_seed(&[4; 32]);
    let mut pool = small_pool();
    let admitted = tx(&key, 0, 50);
    pool.admit(admitted.clone(), &ctx(&c, 0)).unwrap();
    let mut forged = admitted.clone();
    forged.signature.0[0] ^= 1;
    assert_eq!(forged.hash(), admitted.hash(), "same id, other signature");
    let other_body = tx(&key, 0, 60);
    let stranger = tx(&SecretKey::from_seed(&[5; 32]), 0, 50);
    assert_eq!(
        pool.known_valid(&[admitted, forged, other_body, stranger]),
        vec![true, false, false, false]
    );
    // A pre-verified transaction is admitted without a second check; one whose
    // signature fails is never wrapped.
    let next = tx(&key, 1, 50);
    let verified = Verified::check(next.clone()).unwrap();
    pool.admit_verified(verified, &ctx(&c, 0)).unwrap();
    assert_eq!(pool.known_valid(&[next]), vec![true]);
    let mut bad = tx(&key, 2, 50);
    bad.signature.0[3] ^= 1;
    assert!(matches!(
        Verified::check(bad),
        Err(AdmitError::Refused(Refusal::BadSignature(_)))
    ));
}
