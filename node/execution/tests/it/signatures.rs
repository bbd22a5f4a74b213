//! A block's signature flags: exactly what `verify_strict` says of each
//! transaction, whether checked on one thread or many, and checks skipped
//! only where the caller vouches for them.

use filiera_execution::signatures::{VERIFY_PARALLEL_MIN, check_all, verify};
use filiera_types::{
    ChainId, ContractCall, ContractId, MethodName, PublicKey, SecretKey, SignedTransaction,
    Transaction,
};

fn txs(n: usize) -> Vec<SignedTransaction> {
    let chain = ChainId::new("filiera-test").unwrap();
    (0..n)
        .map(|i| {
            let key = SecretKey::from_seed(&[(i % 7) as u8 + 1; 32]);
            let mut tx = Transaction {
                chain_id: chain.clone(),
                sender: key.public_key(),
                nonce: i as u64,
                expiry_height: 10,
                call: ContractCall {
                    contract: ContractId::new("lots").unwrap(),
                    method: MethodName::new("commission").unwrap(),
                    args: vec![i as u8; 30],
                },
            }
            .sign(&key)
            .unwrap();
            // Every fifth is forged in a different way: signature bytes,
            // the body after signing, or the claimed sender.
            match i % 15 {
                0 => tx.signature.0[(i * 7) % 64] ^= 0x20,
                5 => tx.tx.nonce += 1,
                10 => tx.tx.sender = SecretKey::from_seed(&[99; 32]).public_key(),
                _ => {}
            }
            tx
        })
        .collect()
}

#[test]
fn flags_equal_verify_strict_on_one_thread_and_many() {
    for n in [
        2,
        16,
        VERIFY_PARALLEL_MIN - 1,
        VERIFY_PARALLEL_MIN,
        3 * VERIFY_PARALLEL_MIN + 1,
    ] {
        let txs = txs(n);
        let expected: Vec<bool> = txs.iter().map(|t| t.verify().is_ok()).collect();
        assert!(expected.contains(&true));
        assert!(expected.contains(&false), "forgeries present at n={n}");
        assert_eq!(check_all(&txs, &[]), expected, "n={n}");
        // Known-valid flags for the valid ones change nothing.
        assert_eq!(check_all(&txs, &expected), expected, "n={n}");
    }
}

#[test]
fn known_valid_flags_are_trusted_and_unknown_ones_checked() {
    let txs = txs(3 * VERIFY_PARALLEL_MIN);
    let truth: Vec<bool> = txs.iter().map(|t| t.verify().is_ok()).collect();
    // Flag a forged one as known: the caller vouches, so no check happens.
    let forged = truth.iter().position(|ok| !ok).unwrap();
    let mut known = vec![false; txs.len()];
    known[forged] = true;
    let mut expected = truth.clone();
    expected[forged] = true;
    assert_eq!(check_all(&txs, &known), expected);
    // A short list leaves the rest unknown (checked).
    assert_eq!(check_all(&txs, &[false; 2]), truth);
}

/// The cache of decoded sender keys changes no answer: the first look
/// (decoded now) and the next ones (from the cache) say what `verify` on the
/// bytes says, for good signatures, forgeries, a sender swapped for another
/// real key, and a sender that is no key at all (never cached).
#[test]
fn cached_sender_keys_answer_exactly_as_fresh_decoding() {
    let mut txs = txs(45);
    let not_a_key = (0u8..=255)
        .map(|b| PublicKey([b; 32]))
        .find(|k| k.decode().is_err())
        .unwrap();
    txs[1].tx.sender = not_a_key;
    let truth: Vec<_> = txs.iter().map(|t| t.verify()).collect();
    assert!(truth.iter().any(|r| r.is_ok()));
    assert!(truth.iter().filter(|r| r.is_err()).count() >= 4);
    assert!(truth[1].is_err());
    for pass in 0..3 {
        let cached: Vec<_> = txs.iter().map(verify).collect();
        assert_eq!(cached, truth, "pass {pass}");
    }
    let flags: Vec<bool> = truth.iter().map(|r| r.is_ok()).collect();
    assert_eq!(check_all(&txs, &[]), flags);
}
