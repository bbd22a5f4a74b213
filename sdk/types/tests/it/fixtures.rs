//! Deterministic sample values shared by the tests (keys from fixed seeds).

use filiera_types::block::HEADER_VERSION;
use filiera_types::{
    ChainId, CommitCertificate, CommitSignature, ContractCall, ContractId, Hash, Header,
    MethodName, SecretKey, SignedTransaction, SignedVote, Transaction, Validator, ValidatorSet,
    Vote, VoteKind,
};

pub const CHAIN: &str = "filiera-test-1";

pub fn key(n: u8) -> SecretKey {
    SecretKey::from_seed(&[n; 32])
}

pub fn tx(nonce: u64) -> Transaction {
    Transaction {
        chain_id: ChainId::new(CHAIN).unwrap(),
        sender: key(1).public_key(),
        nonce,
        expiry_height: 1_000,
        call: ContractCall {
            contract: ContractId::new("lots").unwrap(),
            method: MethodName::new("register_lot").unwrap(),
            args: vec![1, 2, 3, 4],
        },
    }
}

pub fn signed_tx(nonce: u64) -> SignedTransaction {
    tx(nonce).sign(&key(1)).unwrap()
}

pub fn header() -> Header {
    Header {
        version: HEADER_VERSION,
        chain_id: ChainId::new(CHAIN).unwrap(),
        height: 42,
        time_ms: 1_764_000_000_000,
        parent_hash: Hash([1; 32]),
        txs_root: Hash([2; 32]),
        receipts_root: Hash([3; 32]),
        state_root: Hash([4; 32]),
        validator_set_hash: Hash([5; 32]),
        next_validator_set_hash: Hash([5; 32]),
        proposer: key(10).public_key().address(),
    }
}

/// Validators 10..10+n, power 1 each.
pub fn validator_keys(n: u8) -> Vec<SecretKey> {
    (10..10 + n).map(key).collect()
}

pub fn validator_set(keys: &[SecretKey]) -> ValidatorSet {
    ValidatorSet::new(
        keys.iter()
            .map(|k| Validator {
                public_key: k.public_key(),
                power: 1,
            })
            .collect(),
    )
    .unwrap()
}

pub fn vote(height: u64, round: u32, block: Option<Hash>, k: &SecretKey) -> SignedVote {
    Vote {
        kind: VoteKind::Precommit,
        height,
        round,
        block_hash: block,
        validator: k.public_key().address(),
    }
    .sign(CHAIN, k)
    .unwrap()
}

/// A certificate signed by the given keys for (height, round, block).
pub fn certificate(
    height: u64,
    round: u32,
    block: Hash,
    signers: &[SecretKey],
) -> CommitCertificate {
    let sigs = signers
        .iter()
        .map(|k| CommitSignature {
            validator: k.public_key().address(),
            signature: vote(height, round, Some(block), k).signature,
        })
        .collect();
    CommitCertificate::new(height, round, block, sigs)
}
