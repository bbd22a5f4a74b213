//! Canonical encoding: round trips, and refusal of every non-canonical form.

use crate::fixtures::{CHAIN, header, key, signed_tx, validator_keys, validator_set};
use filiera_types::encoding::{self, DecodeError};
use filiera_types::limits::TX_BYTES_MAX;
use filiera_types::{
    Block, ChainId, ContractCall, ContractId, Hash, Header, MethodName, SignedTransaction,
    SignedVote, Transaction, ValidatorSet, Vote, VoteKind,
};
use proptest::prelude::*;

fn arb_name(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[a-z][a-z0-9_]{{0,{}}}", max - 1)).unwrap()
}

fn arb_tx() -> impl Strategy<Value = SignedTransaction> {
    (
        any::<u8>(),
        any::<u64>(),
        any::<u64>(),
        arb_name(32),
        arb_name(64),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(seed, nonce, expiry, contract, method, args)| {
            Transaction {
                chain_id: ChainId::new(CHAIN).unwrap(),
                sender: key(seed).public_key(),
                nonce,
                expiry_height: expiry,
                call: ContractCall {
                    contract: ContractId::new(contract).unwrap(),
                    method: MethodName::new(method).unwrap(),
                    args,
                },
            }
            .sign(&key(seed))
            .unwrap()
        })
}

fn arb_header() -> impl Strategy<Value = Header> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
    )
        .prop_map(|(height, time_ms, a, b)| Header {
            height,
            time_ms,
            parent_hash: Hash(a),
            state_root: Hash(b),
            ..header()
        })
}

fn arb_vote() -> impl Strategy<Value = SignedVote> {
    (
        any::<bool>(),
        any::<u64>(),
        any::<u32>(),
        proptest::option::of(any::<[u8; 32]>()),
        1u8..50,
    )
        .prop_map(|(pre, height, round, block, seed)| {
            Vote {
                kind: if pre {
                    VoteKind::Prevote
                } else {
                    VoteKind::Precommit
                },
                height,
                round,
                block_hash: block.map(Hash),
                validator: key(seed).public_key().address(),
            }
            .sign(CHAIN, &key(seed))
            .unwrap()
        })
}

proptest! {
    #[test]
    fn transactions_round_trip(stx in arb_tx()) {
        let bytes = stx.encode();
        prop_assert_eq!(SignedTransaction::decode(&bytes).unwrap(), stx.clone());
        prop_assert_eq!(SignedTransaction::decode(&bytes).unwrap().hash(), stx.hash());
        prop_assert!(stx.verify().is_ok());
    }

    #[test]
    fn trailing_or_missing_bytes_are_refused(stx in arb_tx(), extra in 1usize..8, cut in 1usize..8) {
        let bytes = stx.encode();
        let mut longer = bytes.clone();
        longer.extend(std::iter::repeat_n(0u8, extra));
        let malformed = matches!(SignedTransaction::decode(&longer), Err(DecodeError::Malformed { .. }));
        prop_assert!(malformed);
        let shorter = &bytes[..bytes.len() - cut.min(bytes.len())];
        prop_assert!(SignedTransaction::decode(shorter).is_err());
    }

    #[test]
    fn headers_and_blocks_round_trip(h in arb_header(), txs in proptest::collection::vec(arb_tx(), 0..4)) {
        let bytes = encoding::encode(&h);
        prop_assert_eq!(encoding::decode::<Header>("header", &bytes, 1024).unwrap(), h.clone());
        let block = Block { header: h, txs };
        prop_assert_eq!(Block::decode(&block.encode()).unwrap(), block);
    }

    #[test]
    fn votes_round_trip(v in arb_vote()) {
        prop_assert_eq!(SignedVote::decode(&encoding::encode(&v)).unwrap(), v);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoders(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = SignedTransaction::decode(&bytes);
        let _ = SignedVote::decode(&bytes);
        let _ = Block::decode(&bytes);
        let _ = filiera_types::CommitCertificate::decode(&bytes);
        let _ = encoding::decode::<ValidatorSet>("validator set", &bytes, 4096);
    }
}

#[test]
fn bad_option_and_enum_tags_are_refused() {
    let v = crate::fixtures::vote(1, 0, None, &key(10));
    let mut bytes = encoding::encode(&v);
    // Layout: kind (1) | height (8) | round (4) | option tag (1) ...
    assert_eq!(bytes[13], 0);
    bytes[13] = 2;
    assert!(SignedVote::decode(&bytes).is_err());
    let mut bytes = encoding::encode(&v);
    bytes[0] = 2; // no third vote kind
    assert!(SignedVote::decode(&bytes).is_err());
}

#[test]
fn names_outside_their_alphabet_do_not_decode() {
    let stx = signed_tx(0);
    let bytes = stx.encode();
    // The chain id is the first field: u32 length then its bytes.
    let mut upper = bytes.clone();
    upper[4] = b'F';
    assert!(matches!(
        SignedTransaction::decode(&upper),
        Err(DecodeError::Malformed { .. })
    ));
    let mut not_utf8 = bytes;
    not_utf8[4] = 0xff;
    assert!(SignedTransaction::decode(&not_utf8).is_err());
    assert!(ChainId::new("Filiera").is_err());
    assert!(ContractId::new("9lots").is_err());
    assert!(MethodName::new("register-lot").is_err());
    assert!(ChainId::new("a".repeat(65)).is_err());
}

#[test]
fn oversized_input_is_refused_before_decoding() {
    let big = vec![0u8; TX_BYTES_MAX + 1];
    assert_eq!(
        SignedTransaction::decode(&big),
        Err(DecodeError::TooLarge {
            kind: "transaction",
            len: TX_BYTES_MAX + 1,
            max: TX_BYTES_MAX
        })
    );
}

#[test]
fn validator_set_decodes_only_in_canonical_order() {
    let keys = validator_keys(4);
    let set = validator_set(&keys);
    let bytes = encoding::encode(&set);
    assert_eq!(
        encoding::decode::<ValidatorSet>("set", &bytes, 4096).unwrap(),
        set
    );
    // Swap the first two 40-byte entries (32-byte key + u64 power) after the u32 length.
    let mut swapped = bytes.clone();
    swapped[4..44].copy_from_slice(&bytes[44..84]);
    swapped[44..84].copy_from_slice(&bytes[4..44]);
    assert!(encoding::decode::<ValidatorSet>("set", &swapped, 4096).is_err());
    // Zero power is not a validator.
    let mut zero = bytes;
    zero[36..44].copy_from_slice(&0u64.to_le_bytes());
    assert!(encoding::decode::<ValidatorSet>("set", &zero, 4096).is_err());
}

#[test]
fn hashes_are_domain_separated() {
    let bytes = b"same bytes";
    let domains = [
        filiera_types::Domain::Transaction,
        filiera_types::Domain::Header,
        filiera_types::Domain::TxLeaf,
        filiera_types::Domain::MerkleNode,
        filiera_types::Domain::Genesis,
        filiera_types::Domain::StateLeaf,
    ];
    for (i, a) in domains.iter().enumerate() {
        for b in &domains[i + 1..] {
            assert_ne!(Hash::of(*a, bytes), Hash::of(*b, bytes), "{a:?} vs {b:?}");
        }
    }
}
