//! The native evidence call: a pair of conflicting messages signed by a
//! validator of that height is recorded once; anything else is refused and
//! records nothing.

use crate::chain::{Chain, key};
use filiera_execution::contracts::{REGISTRY_WASM, builtin};
use filiera_execution::{ContractEngine, Executor, FailureCode, RuntimeError};
use filiera_types::evidence::{
    EVIDENCE_AGE_BLOCKS_MAX, EVIDENCE_CONTRACT, EVIDENCE_METHOD, EVIDENCE_PER_TX_MAX, Equivocation,
    EvidenceRecord, Offence, Proposal, SignedProposal, Step,
};
use filiera_types::receipt::{Receipt, TxStatus};
use filiera_types::{
    ContractId, Hash, SecretKey, SignKind, Validator, ValidatorSet, Vote, VoteKind, encoding,
    sys_keys,
};

/// The chain id of [`Chain::new`].
const CHAIN: &str = "filiera-test";

/// Validators 70..=73 from height 1; from height 20, 73 is replaced by 74.
fn chain() -> Chain {
    let mut chain = Chain::new();
    let set = |seeds: &[u8]| {
        let validators = seeds
            .iter()
            .map(|&s| Validator {
                public_key: key(s).public_key(),
                power: 1,
            })
            .collect();
        encoding::encode(&ValidatorSet::new(validators).unwrap())
    };
    chain
        .state
        .0
        .insert(sys_keys::validator_set(1), set(&[70, 71, 72, 73]));
    chain
        .state
        .0
        .insert(sys_keys::validator_set(20), set(&[70, 71, 72, 74]));
    chain
}

fn vote(by: &SecretKey, height: u64, round: u32, block: u8) -> filiera_types::SignedVote {
    Vote {
        kind: VoteKind::Prevote,
        height,
        round,
        block_hash: Some(Hash([block; 32])),
        validator: by.public_key().address(),
    }
    .sign(CHAIN, by)
    .unwrap()
}

fn proposal(by: &SecretKey, height: u64, block: u8) -> SignedProposal {
    let proposal = Proposal {
        height,
        round: 0,
        block_hash: Hash([block; 32]),
        pol_round: -1,
        proposer: by.public_key().address(),
    };
    let signature = by
        .sign(CHAIN, SignKind::Proposal, &encoding::encode(&proposal))
        .unwrap();
    SignedProposal {
        proposal,
        signature,
    }
}

fn double_vote(by: u8, height: u64) -> Equivocation {
    let k = key(by);
    Equivocation::Votes(vote(&k, height, 0, 1), vote(&k, height, 0, 2))
}

fn report(chain: &mut Chain, reporter: u8, pairs: &[Equivocation]) -> Receipt {
    chain.submit(
        &key(reporter),
        EVIDENCE_CONTRACT,
        EVIDENCE_METHOD,
        encoding::encode(&pairs.to_vec()),
    )
}

/// Advances to height `h - 1`, so that the next report is in block `h`.
fn reach(chain: &mut Chain, h: u64) {
    while chain.height + 1 < h {
        chain.block(&[]);
    }
}

fn evidence_state(chain: &Chain) -> Vec<(Vec<u8>, Vec<u8>)> {
    chain
        .state
        .0
        .iter()
        .filter(|(k, _)| k.starts_with(sys_keys::EVIDENCE))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn refused(chain: &mut Chain, reporter: u8, pairs: &[Equivocation], needle: &str) {
    let before = evidence_state(chain);
    let r = report(chain, reporter, pairs);
    match &r.status {
        TxStatus::Failed { code, message } => {
            assert_eq!(*code, FailureCode::EvidenceInvalid as u16, "{message}");
            assert!(message.contains(needle), "{message:?} lacks {needle:?}");
        }
        TxStatus::Success => panic!("a report that should fail with {needle:?} succeeded"),
    }
    assert!(r.events.is_empty());
    assert_eq!(
        evidence_state(chain),
        before,
        "a refused report records nothing"
    );
}

#[test]
fn a_double_vote_is_recorded_once_whoever_reports_it_and_in_whichever_order() {
    let mut chain = chain();
    reach(&mut chain, 5);
    let pair = double_vote(71, 3);
    // Only members write: a key of no one may not even report evidence...
    let r = report(&mut chain, 99, std::slice::from_ref(&pair));
    assert!(
        matches!(r.status, TxStatus::Failed { code: 12, .. }),
        "{:?}",
        r.status
    );
    // ...but a validator of the height may, though it is no organisation's key.
    let r = report(&mut chain, 72, std::slice::from_ref(&pair));
    assert_eq!(r.status, TxStatus::Success);
    let offence = Offence {
        validator: key(71).public_key().address(),
        height: 3,
        round: 0,
        step: Step::Prevote,
    };
    assert_eq!(r.events.len(), 1);
    assert_eq!(r.events[0].name, "equivocation_recorded");
    assert_eq!(r.events[0].data, encoding::encode(&offence));
    let stored = chain
        .state
        .0
        .get(&sys_keys::evidence(&offence))
        .cloned()
        .unwrap();
    let record: EvidenceRecord = encoding::decode("record", &stored, usize::MAX).unwrap();
    assert_eq!(record.evidence, pair.clone().canonical());
    // Reported in the block after the stranger's refused one.
    assert_eq!(record.reported_height, 6);
    assert_eq!(record.reporter, key(72).public_key());
    // Anyone with the set can check what the chain recorded.
    let set: ValidatorSet = encoding::decode(
        "set",
        &chain.state.0[&sys_keys::validator_set(1)],
        usize::MAX,
    )
    .unwrap();
    assert_eq!(
        record.evidence.verify(chain.chain_id.as_str(), &set),
        Ok(offence)
    );

    // Another node saw the pair the other way round: merged, nothing new.
    let Equivocation::Votes(a, b) = pair else {
        unreachable!()
    };
    let before = evidence_state(&chain);
    let r = report(&mut chain, 70, &[Equivocation::Votes(b, a)]);
    assert_eq!(r.status, TxStatus::Success);
    assert!(r.events.is_empty(), "a known offence is not recorded twice");
    assert_eq!(evidence_state(&chain), before);
}

#[test]
fn a_double_proposal_is_recorded() {
    let mut chain = chain();
    reach(&mut chain, 4);
    let k = key(72);
    let pair = Equivocation::Proposals(proposal(&k, 2, 1), proposal(&k, 2, 2));
    let r = report(&mut chain, 70, &[pair]);
    assert_eq!(r.status, TxStatus::Success);
    let offence = Offence {
        validator: k.public_key().address(),
        height: 2,
        round: 0,
        step: Step::Proposal,
    };
    assert!(chain.state.0.contains_key(&sys_keys::evidence(&offence)));
}

#[test]
fn forged_or_harmless_pairs_are_refused_and_record_nothing() {
    let mut chain = chain();
    reach(&mut chain, 30);
    let (v, other) = (key(71), key(72));

    // The second vote is signed by someone else: it accuses 71 falsely.
    let forged = Equivocation::Votes(vote(&v, 3, 0, 1), {
        let mut x = vote(&other, 3, 0, 2);
        x.vote.validator = v.public_key().address();
        x
    });
    refused(
        &mut chain,
        70,
        std::slice::from_ref(&forged),
        "signature 2 of the pair",
    );

    // A signature made for another chain does not count here.
    let elsewhere = {
        let mut x = vote(&v, 3, 0, 2);
        x.signature = x.vote.clone().sign("filiera-other", &v).unwrap().signature;
        Equivocation::Votes(vote(&v, 3, 0, 1), x)
    };
    refused(&mut chain, 70, &[elsewhere], "signature 2 of the pair");

    // The same vote twice is no offence.
    let same = Equivocation::Votes(vote(&v, 3, 0, 1), vote(&v, 3, 0, 1));
    refused(&mut chain, 70, &[same], "do not conflict");

    // Different rounds may vote differently.
    let rounds = Equivocation::Votes(vote(&v, 3, 0, 1), vote(&v, 3, 1, 2));
    refused(&mut chain, 70, &[rounds], "not by one validator");

    // A prevote and a precommit are different steps.
    let steps = Equivocation::Votes(vote(&v, 3, 0, 1), {
        let vote = Vote {
            kind: VoteKind::Precommit,
            ..vote(&v, 3, 0, 2).vote
        };
        vote.sign(CHAIN, &v).unwrap()
    });
    refused(&mut chain, 70, &[steps], "not by one validator");

    // 73 left the set at height 20: a pair of its at height 25 proves
    // nothing; 74 was not a validator at height 10.
    refused(
        &mut chain,
        70,
        &[double_vote(73, 25)],
        "not in the validator set",
    );
    refused(
        &mut chain,
        70,
        &[double_vote(74, 10)],
        "not in the validator set",
    );

    // Not decided yet: the height of the block that would record it.
    let next = chain.height + 1;
    refused(
        &mut chain,
        70,
        &[double_vote(71, next)],
        "not decided before",
    );

    // One forged pair fails the whole report, the valid pair with it.
    refused(
        &mut chain,
        70,
        &[double_vote(72, 4), forged],
        "pair 1: signature 2",
    );

    // Not a list of pairs; too many pairs; empty; an unknown method.
    refused(&mut chain, 70, &[], "at least one pair");
    let r = chain.submit(&key(70), EVIDENCE_CONTRACT, EVIDENCE_METHOD, vec![7; 9]);
    assert!(
        matches!(r.status, TxStatus::Failed { code, .. } if code == FailureCode::EvidenceInvalid as u16)
    );
    let many = vec![double_vote(72, 4); EVIDENCE_PER_TX_MAX + 1];
    refused(&mut chain, 70, &many, "pairs in one report");
    let r = chain.submit(&key(70), EVIDENCE_CONTRACT, "slash", Vec::new());
    assert!(
        matches!(r.status, TxStatus::Failed { code, .. } if code == FailureCode::EvidenceInvalid as u16)
    );
    assert!(evidence_state(&chain).is_empty());

    // 73's offence at height 10, while it was a validator, is recorded
    // (the set of height 10 is the one from height 1).
    let r = report(&mut chain, 70, &[double_vote(73, 10)]);
    assert_eq!(r.status, TxStatus::Success);
    assert_eq!(evidence_state(&chain).len(), 1);
}

#[test]
fn an_offence_older_than_the_bound_is_refused() {
    let mut chain = chain();
    reach(&mut chain, 4);
    let pair = double_vote(70, 2);
    // Skip ahead: the executor reads heights from the block context only.
    chain.height = 2 + EVIDENCE_AGE_BLOCKS_MAX;
    refused(&mut chain, 71, std::slice::from_ref(&pair), "blocks old");
    chain.height = 1 + EVIDENCE_AGE_BLOCKS_MAX;
    assert_eq!(report(&mut chain, 71, &[pair]).status, TxStatus::Success);
}

#[test]
fn no_contract_may_be_installed_under_the_evidence_id() {
    let engine = ContractEngine::new(None).unwrap();
    let mut contracts = builtin().to_vec();
    contracts.push((ContractId::new(EVIDENCE_CONTRACT).unwrap(), REGISTRY_WASM));
    assert!(matches!(
        Executor::new(engine, &contracts),
        Err(RuntimeError::ReservedId(_))
    ));
}
