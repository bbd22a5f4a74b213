//! WAL records round-trip exactly, and garbage never decodes into an input.

use filiera_consensus::wal::{decode, encode};
use filiera_consensus::{
    BlockId, ConsensusProposal, ConsensusVote, FilieraContext, Height, ValidatorAddress,
};
use filiera_types::{Domain, Hash, SecretKey, SignKind, encoding};
use malachite_consensus::{Input, LocallyProposedValue, ProposedValue};
use malachite_types::{
    NilOrVal, Round, SignedMessage, Timeout, TimeoutKind, Validity, ValueOrigin, VoteType,
};
use std::time::Duration;

fn inputs() -> Vec<Input<FilieraContext>> {
    let key = SecretKey::from_seed(&[9; 32]);
    let me = ValidatorAddress(key.public_key().address());
    let id = BlockId(Hash::of(Domain::Header, b"block"));
    let vote = ConsensusVote {
        kind: VoteType::Precommit,
        height: Height(7),
        round: Round::new(2),
        value: NilOrVal::Val(id),
        validator: me,
    };
    let sig = key
        .sign(
            "filiera-test",
            SignKind::Vote,
            &encoding::encode(&vote.to_vote()),
        )
        .unwrap();
    let nil_vote = ConsensusVote {
        kind: VoteType::Prevote,
        value: NilOrVal::Nil,
        ..vote.clone()
    };
    let proposal = ConsensusProposal {
        height: Height(7),
        round: 2,
        value: id,
        pol_round: -1,
        proposer: me,
    };
    let psig = key
        .sign(
            "filiera-test",
            SignKind::Proposal,
            &encoding::encode(&proposal),
        )
        .unwrap();
    vec![
        Input::Vote(SignedMessage::new(vote, sig)),
        Input::Vote(SignedMessage::new(nil_vote, sig)),
        Input::Proposal(SignedMessage::new(proposal, psig)),
        Input::Propose(LocallyProposedValue::new(Height(7), Round::new(2), id)),
        Input::TimeoutElapsed(Timeout::new(Round::new(3), TimeoutKind::Prevote)),
        Input::TimeoutElapsed(Timeout::new(
            Round::new(0),
            TimeoutKind::FinalizeHeight(Duration::from_millis(250)),
        )),
        Input::ProposedValue(
            ProposedValue {
                height: Height(7),
                round: Round::new(2),
                valid_round: Round::Nil,
                proposer: me,
                value: id,
                validity: Validity::Valid,
            },
            ValueOrigin::Consensus,
        ),
    ]
}

#[test]
fn every_logged_input_round_trips() {
    for input in inputs() {
        let bytes = encode(&input).unwrap();
        assert_eq!(decode(&bytes).unwrap(), input);
    }
}

#[test]
fn truncated_or_garbled_records_are_refused() {
    for input in inputs() {
        let bytes = encode(&input).unwrap();
        for cut in 0..bytes.len() {
            assert!(
                decode(&bytes[..cut]).is_err(),
                "a record cut at {cut} must not decode"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_err(), "trailing bytes are refused");
    }
    let mut x: u64 = 1;
    for _ in 0..2_000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let len = (x >> 58) as usize;
        let bytes: Vec<u8> = (0..len).map(|i| (x >> (i % 8 * 8)) as u8).collect();
        let _ = decode(&bytes); // never panics
    }
}
