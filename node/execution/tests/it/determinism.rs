//! The same block gives the same changes and receipts: executed twice, and on
//! two runtimes (one loading compiled modules from its disk cache).

use crate::chain::{Chain, key};
use crate::lifecycle::{commission_args, gtin, lot, product};
use filiera_contract_api::contract_ids::LOTS;
use filiera_contract_api::encode;
use filiera_contract_api::registry::Role;
use filiera_execution::contracts::builtin;
use filiera_execution::executor::nonce_key;
use filiera_execution::{BlockContext, ContractEngine, Executor, FailureCode};
use filiera_types::receipt::TxStatus;
use filiera_types::{ChainId, Signature};
use std::sync::Arc;

#[test]
fn a_block_executes_identically_twice_and_on_two_runtimes() {
    let mut chain = Chain::new();
    let farm = key(70);
    chain.onboard("farm", 3, &[Role::Producer], &farm);
    let g = gtin("0952123480001");
    product(
        &mut chain,
        &farm,
        &g,
        "Olio extravergine Cartoceto",
        "DOP",
        1000,
    );
    // A block mixing successes, a contract failure and an out-of-order nonce.
    let mut txs = Vec::new();
    for i in 0..20 {
        txs.push(chain.tx(
            &farm,
            LOTS,
            "commission",
            encode(&commission_args(&lot(&g, &format!("M{i}")), 100 + i)),
        ));
    }
    txs.push(chain.tx(
        &farm,
        LOTS,
        "commission",
        encode(&commission_args(&lot(&g, "M0"), 1)),
    ));
    txs.push(chain.tx(&farm, LOTS, "no_such_method", vec![]));
    let ctx = BlockContext {
        chain_id: chain.chain_id.clone(),
        height: chain.height + 1,
        time_ms: chain.time_ms + 1000,
    };
    let state = Arc::new(chain.state.clone());

    let first = chain
        .executor
        .execute_block(state.clone(), &ctx, &txs, &[])
        .expect("state readable");
    let again = chain
        .executor
        .execute_block(state.clone(), &ctx, &txs, &[])
        .expect("state readable");
    assert_eq!(first, again);
    let cache = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        // The second round loads the artifacts the first one compiled.
        let other = Executor::new(
            ContractEngine::new(Some(filiera_execution::runtime::ArtifactCache {
                dir: cache.path().to_path_buf(),
                mac_key: zeroize::Zeroizing::new([3; 32]),
            }))
            .unwrap(),
            &builtin(),
        )
        .unwrap();
        assert_eq!(
            other
                .execute_block(state.clone(), &ctx, &txs, &[])
                .expect("state readable"),
            first
        );
    }
    assert_eq!(
        std::fs::read_dir(cache.path()).unwrap().count(),
        3,
        "one artifact per contract"
    );

    let ok = first
        .receipts
        .iter()
        .filter(|r| r.status == TxStatus::Success)
        .count();
    assert_eq!(ok, 20);
    assert!(
        matches!(&first.receipts[20].status, TxStatus::Failed { code, message } if *code == FailureCode::Abort as u16 && message.contains("already exists"))
    );
    assert!(
        matches!(&first.receipts[21].status, TxStatus::Failed { message, .. } if message.contains("no method"))
    );
    // Failed calls still advance the nonce: 22 transactions, next nonce 22 + earlier ones.
    let nonce = first
        .changes
        .get(&nonce_key(&farm.public_key()))
        .cloned()
        .flatten()
        .unwrap();
    assert_eq!(u64::from_le_bytes(nonce.try_into().unwrap()), 23);
}

#[test]
fn invalid_transactions_change_nothing_not_even_the_nonce() {
    let mut chain = Chain::new();
    let farm = key(71);
    chain.onboard("farm", 3, &[Role::Producer], &farm);
    let g = gtin("0952123480002");
    let args = || encode(&commission_args(&lot(&g, "X"), 1));

    let mut forged = chain.tx(&farm, LOTS, "commission", args());
    forged.signature = Signature([7; 64]);
    let mut other_chain = chain.tx(&farm, LOTS, "commission", args());
    other_chain.tx.chain_id = ChainId::new("another-chain").unwrap();
    let other_chain = other_chain.tx.sign(&farm).unwrap();
    let mut expired = chain.tx(&farm, LOTS, "commission", args()).tx;
    expired.expiry_height = 0;
    let expired = expired.sign(&farm).unwrap();
    let mut future = chain.tx(&farm, LOTS, "commission", args()).tx;
    future.nonce = 99;
    let future = future.sign(&farm).unwrap();

    let before = chain.state.0.clone();
    let outcome = chain.block(&[forged, other_chain, expired, future]);
    let codes: Vec<u16> = outcome
        .receipts
        .iter()
        .map(|r| match r.status {
            TxStatus::Failed { code, .. } => code,
            TxStatus::Success => 0,
        })
        .collect();
    assert_eq!(
        codes,
        [
            FailureCode::BadSignature,
            FailureCode::WrongChain,
            FailureCode::Expired,
            FailureCode::BadNonce
        ]
        .map(|c| c as u16)
    );
    assert!(outcome.changes.is_empty());
    assert_eq!(chain.state.0, before);
}
