#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The attacker's messages are what they claim to be: equivocations that
//! verify as evidence, junk that does not decode, blocks that no proposal
//! names. (The attacks themselves run against real processes in the node's
//! and the fault harness's tests.)

use filiera_byzantine::{Attack, forge};
use filiera_consensus::NetworkInput;
use filiera_types::evidence::{Equivocation, Step};
use filiera_types::{ChainId, SecretKey, Validator, ValidatorSet, VoteKind};
use filiera_wire::{Gossip, Topic};

fn keys() -> Vec<SecretKey> {
    (1..=4u8).map(|i| SecretKey::from_seed(&[i; 32])).collect()
}

fn set(keys: &[SecretKey]) -> ValidatorSet {
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

fn chain() -> ChainId {
    ChainId::new("filiera-test").unwrap()
}

fn input(gossip: &[u8]) -> NetworkInput {
    match Gossip::decode(gossip).unwrap() {
        Gossip::Consensus(bytes) => NetworkInput::decode(&bytes).unwrap(),
        other => panic!("not consensus gossip: {other:?}"),
    }
}

#[test]
fn conflicting_votes_are_evidence_that_verifies_against_the_set() {
    let keys = keys();
    let set = set(&keys);
    for kind in [VoteKind::Prevote, VoteKind::Precommit] {
        let [a, b] = forge::conflicting_votes(&chain(), &keys[2], kind, 7, 1).unwrap();
        let (a, b) = (input(&a).vote().unwrap(), input(&b).vote().unwrap());
        assert_ne!(a.vote.block_hash, b.vote.block_hash);
        let offence = Equivocation::Votes(a, b)
            .verify(chain().as_str(), &set)
            .unwrap();
        assert_eq!(offence.validator, keys[2].public_key().address());
        assert_eq!((offence.height, offence.round), (7, 1));
        let step = if kind == VoteKind::Prevote {
            Step::Prevote
        } else {
            Step::Precommit
        };
        assert_eq!(offence.step, step);
    }
}

#[test]
fn conflicting_proposals_are_made_only_where_the_key_proposes_and_verify() {
    let keys = keys();
    let set = set(&keys);
    let mut made = 0;
    for height in 1..=8u64 {
        for round in 0..2u32 {
            let proposer = filiera_consensus::proposer_of(&set, height, round);
            for key in &keys {
                let pair =
                    forge::conflicting_proposals(&chain(), key, &set, height, round).unwrap();
                let mine = key.public_key().address() == proposer;
                assert_eq!(pair.is_some(), mine, "height {height} round {round}");
                let Some([a, b]) = pair else { continue };
                made += 1;
                let (a, b) = (
                    input(&a).signed_proposal().unwrap(),
                    input(&b).signed_proposal().unwrap(),
                );
                assert_ne!(a.proposal.block_hash, b.proposal.block_hash);
                let offence = Equivocation::Proposals(a, b)
                    .verify(chain().as_str(), &set)
                    .unwrap();
                assert_eq!(offence.step, Step::Proposal);
                assert_eq!(offence.validator, proposer);
            }
        }
    }
    // Each height and round has exactly one proposer.
    assert_eq!(made, 16);
}

#[test]
fn forged_transactions_do_not_verify_and_junk_does_not_decode_where_it_is_sent() {
    let key = SecretKey::from_seed(&[9; 32]);
    let Gossip::Tx(tx) = forge::forged_transaction(&chain(), &key, 3).unwrap() else {
        panic!("a transaction");
    };
    assert!(tx.verify().is_err(), "the signature must not verify");
    let [vote, _] = forge::conflicting_votes(&chain(), &key, VoteKind::Prevote, 5, 0).unwrap();
    let block = forge::unnamed_block(&chain(), key.public_key().address(), 5, 1).encode();
    let junk = forge::junk(1, &vote, &block);
    assert_eq!(junk.len(), 6);
    for (topic, data) in junk {
        // What each topic's handler would accept: its own kind of frame.
        let fits = match (topic, Gossip::decode(&data)) {
            (Topic::Consensus, Ok(Gossip::Consensus(b))) => NetworkInput::decode(&b).is_ok(),
            (Topic::Blocks, Ok(Gossip::Block(_))) => true,
            (Topic::Transactions, Ok(Gossip::Tx(_) | Gossip::Txs(_))) => true,
            _ => false,
        };
        assert!(!fits, "junk on {topic:?} would be taken");
    }
}

#[test]
fn unnamed_blocks_differ_by_salt_and_name_the_attacker() {
    let key = SecretKey::from_seed(&[5; 32]);
    let me = key.public_key().address();
    let hash = |salt| match forge::unnamed_block(&chain(), me, 10, salt) {
        Gossip::Block(b) => {
            assert_eq!((b.block.header.height, b.proposer), (10, me));
            b.block.header.hash()
        }
        _ => panic!("a block"),
    };
    assert_ne!(hash(1), hash(2));
}

#[test]
fn attacks_parse_by_name_and_unknown_ones_are_refused() {
    for a in Attack::ALL {
        assert_eq!(Attack::parse(a.name()).unwrap(), a);
    }
    assert!(Attack::parse("meteor").is_err());
}
