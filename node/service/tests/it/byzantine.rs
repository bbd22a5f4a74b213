//! One Byzantine peer against an honest validator's driver on real parts
//! (RocksDB, wasmtime, signatures): blocks that no correctly signed proposal
//! of the round's proposer names must neither be executed nor crowd out the
//! block that one does name, at the current height or ahead of it.

use crate::driver::{CHAIN, GENESIS_MS, Node, genesis, key, open_chain};
use filiera_consensus::{NetworkInput, wal};
use filiera_p2p::Verdict;
use filiera_p2p::{PeerEvent, Topic};
use filiera_service::chain::Chain;
use filiera_service::wire::{Gossip, ProposedBlock, SyncResponse};
use filiera_service::{Effect, Event};
use filiera_types::block::Block;
use filiera_types::evidence::{Proposal, SignedProposal};
use filiera_types::vote::CommitSignature;
use filiera_types::{Address, CommitCertificate, Hash, SignKind, Vote, VoteKind, encoding};
use libp2p::PeerId;

const VALIDATORS: [u8; 4] = [10, 11, 12, 13];

fn address(n: u8) -> Address {
    key(n).public_key().address()
}

/// The proposer of a round, as the chain's rule says: validators sorted by
/// address, the one at (height + round) mod n.
fn proposer(height: u64, round: u32) -> u8 {
    let mut sorted = VALIDATORS.to_vec();
    sorted.sort_by_key(|n| address(*n));
    sorted[((height + u64::from(round)) % 4) as usize]
}

/// A validator that proposes neither height 1 nor height 2 in round 0.
fn honest() -> u8 {
    *VALIDATORS
        .iter()
        .find(|n| **n != proposer(1, 0) && **n != proposer(2, 0))
        .unwrap()
}

fn gossip(from: PeerId, topic: Topic, message: Gossip) -> Event {
    let data = message.encode();
    Event::Network(PeerEvent::Message {
        from,
        topic,
        id: filiera_p2p::MessageId::new(&data),
        data,
    })
}

fn block_from(from: PeerId, block: &Block, proposer: u8) -> Event {
    let proposed = ProposedBlock {
        round: 0,
        valid_round: None,
        proposer: address(proposer),
        block: block.clone(),
    };
    gossip(from, Topic::Blocks, Gossip::Block(proposed))
}

fn vote_event(from: PeerId, vote: &filiera_types::SignedVote) -> Event {
    let bytes = wal::encode_signed_vote(vote).unwrap();
    gossip(from, Topic::Consensus, Gossip::Consensus(bytes))
}

/// `signer`'s round-0 proposal of `block`.
fn proposal_from(from: PeerId, signer: u8, block: &Block) -> Event {
    let proposal = Proposal {
        height: block.header.height,
        round: 0,
        block_hash: block.hash(),
        pol_round: -1,
        proposer: address(signer),
    };
    let signature = key(signer)
        .sign(CHAIN, SignKind::Proposal, &encoding::encode(&proposal))
        .unwrap();
    let bytes = wal::encode_signed_proposal(&SignedProposal {
        proposal,
        signature,
    })
    .unwrap();
    gossip(from, Topic::Consensus, Gossip::Consensus(bytes))
}

fn signed_vote(signer: u8, kind: VoteKind, block: &Block) -> filiera_types::SignedVote {
    signed_vote_at(signer, kind, block.header.height, block.hash())
}

fn signed_vote_at(
    signer: u8,
    kind: VoteKind,
    height: u64,
    value: Hash,
) -> filiera_types::SignedVote {
    Vote {
        kind,
        height,
        round: 0,
        block_hash: Some(value),
        validator: address(signer),
    }
    .sign(CHAIN, &key(signer))
    .unwrap()
}

fn vote_from(from: PeerId, signer: u8, kind: VoteKind, block: &Block) -> Event {
    vote_event(from, &signed_vote(signer, kind, block))
}

/// The blocks this node prevoted for in `effects` (`None`: nil).
fn prevoted(effects: &[Effect]) -> Vec<Option<Hash>> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Gossip(Topic::Consensus, bytes) => match Gossip::decode(bytes) {
                Ok(Gossip::Consensus(input)) => NetworkInput::decode(&input)
                    .ok()
                    .and_then(|i| i.vote())
                    .filter(|v| v.vote.kind == VoteKind::Prevote)
                    .map(|v| v.vote.block_hash),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn checked_blocks(node: &Node) -> u64 {
    node.metrics.block_check.get_sample_count()
}

/// The proposer's own chain: builds the blocks an honest proposer would.
struct Proposer {
    chain: Chain,
    _dir: tempfile::TempDir,
}

impl Proposer {
    fn new() -> Proposer {
        let dir = tempfile::tempdir().unwrap();
        let chain = open_chain(dir.path(), &genesis(&VALIDATORS));
        Proposer { chain, _dir: dir }
    }

    /// An empty, valid block at `height`, made distinct by its time.
    fn block(&self, height: u64, time_ms: u64) -> Block {
        let builder = address(proposer(height, 0));
        self.chain
            .build(height, time_ms, builder, vec![])
            .unwrap()
            .0
    }

    /// `count` distinct valid blocks at `height` from `attacker`, which no
    /// proposal names.
    fn flood(&self, node: &mut Node, attacker: PeerId, height: u64, count: u64) {
        let mut distinct = std::collections::BTreeSet::new();
        for i in 0..count {
            let time_ms = GENESIS_MS + 1_000 * height + i;
            let block = self.block(height, time_ms);
            distinct.insert(block.hash());
            node.handle(block_from(attacker, &block, proposer(height, 0)));
        }
        assert_eq!(
            distinct.len() as u64,
            count,
            "the flood's blocks are distinct"
        );
    }

    /// Commits `block` with the precommits of three validators.
    fn commit(&mut self, block: &Block) {
        let executed = self.chain.check(block, block.header.time_ms, &[]).unwrap();
        let signatures = VALIDATORS[..3]
            .iter()
            .map(|n| CommitSignature {
                validator: address(*n),
                signature: signed_vote(*n, VoteKind::Precommit, block).signature,
            })
            .collect();
        let certificate = CommitCertificate::new(block.header.height, 0, block.hash(), signatures);
        self.chain.commit(block, &certificate, executed).unwrap();
    }
}

#[test]
fn unsolicited_blocks_do_not_crowd_out_the_block_the_proposer_signed_for() {
    let (mut node, _) = Node::start_as(honest(), &VALIDATORS);
    let proposer_chain = Proposer::new();
    // Valid blocks, even: what makes them junk is that no proposal names them.
    proposer_chain.flood(&mut node, PeerId::random(), 1, 64);
    assert_eq!(checked_blocks(&node), 0, "no unsolicited block is executed");

    let relay = PeerId::random();
    let real = proposer_chain.block(1, GENESIS_MS + 900);
    let mut effects = node.handle(block_from(relay, &real, proposer(1, 0)));
    effects.extend(node.handle(proposal_from(relay, proposer(1, 0), &real)));
    assert_eq!(
        prevoted(&effects),
        vec![Some(real.hash())],
        "the honest node prevotes for the proposer's block"
    );
    assert_eq!(checked_blocks(&node), 1, "only the named block is executed");
}

#[test]
fn a_block_named_by_a_validator_that_is_not_the_rounds_proposer_is_not_executed() {
    let (mut node, _) = Node::start_as(honest(), &VALIDATORS);
    let proposer_chain = Proposer::new();
    let byzantine = *VALIDATORS
        .iter()
        .find(|n| **n != honest() && **n != proposer(1, 0))
        .unwrap();
    let attacker = PeerId::random();
    let block = proposer_chain.block(1, GENESIS_MS + 500);
    let mut effects = node.handle(block_from(attacker, &block, byzantine));
    effects.extend(node.handle(proposal_from(attacker, byzantine, &block)));
    assert_eq!(checked_blocks(&node), 0);
    assert!(prevoted(&effects).is_empty(), "{:?}", prevoted(&effects));

    // The same block named by the real proposer counts.
    let effects = node.handle(proposal_from(PeerId::random(), proposer(1, 0), &block));
    assert_eq!(prevoted(&effects), vec![Some(block.hash())]);
    assert_eq!(checked_blocks(&node), 1);
}

#[test]
fn blocks_flooded_for_the_next_height_do_not_crowd_out_its_real_block() {
    let me = honest();
    let (mut node, _) = Node::start_as(me, &VALIDATORS);
    let mut proposer_chain = Proposer::new();
    let first = proposer_chain.block(1, GENESIS_MS + 500);
    let relay = PeerId::random();
    node.handle(block_from(relay, &first, proposer(1, 0)));
    node.handle(proposal_from(relay, proposer(1, 0), &first));

    // The attacker fills the room for height 2 with blocks of its own.
    proposer_chain.commit(&first);
    proposer_chain.flood(&mut node, PeerId::random(), 2, 128);
    // The real block of height 2 and its proposal arrive before this node decides height 1.
    let second = proposer_chain.block(2, GENESIS_MS + 900);
    node.handle(block_from(relay, &second, proposer(2, 0)));
    node.handle(proposal_from(relay, proposer(2, 0), &second));

    let mut effects = Vec::new();
    for kind in [VoteKind::Prevote, VoteKind::Precommit] {
        for n in VALIDATORS.iter().filter(|n| **n != me).take(2) {
            effects.extend(node.handle(vote_from(relay, *n, kind, &first)));
        }
    }
    assert_eq!(node.driver.height(), 2, "height 1 is decided and committed");
    assert_eq!(
        prevoted(&effects).last(),
        Some(&Some(second.hash())),
        "the real block of height 2 is prevoted as soon as height 2 starts"
    );
    assert_eq!(
        checked_blocks(&node),
        2,
        "the two named blocks, nothing else"
    );
}

fn sync_requests(effects: &[Effect]) -> Vec<PeerId> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Request(peer, _) => Some(*peer),
            _ => None,
        })
        .collect()
}

#[test]
fn only_a_validators_signature_makes_a_far_height_worth_syncing_and_an_empty_answer_is_remembered()
{
    let (mut node, _) = Node::start_as(honest(), &VALIDATORS);
    let proposer_chain = Proposer::new();
    let liar = PeerId::random();
    // An unsigned block claims height 50.
    let mut far = proposer_chain.block(1, GENESIS_MS + 500);
    far.header.height = 50;
    let effects = node.handle(block_from(liar, &far, proposer(1, 0)));
    assert!(sync_requests(&effects).is_empty(), "a block proves nothing");
    // A vote for height 50 whose signature is not a validator's.
    let mut forged = signed_vote_at(proposer(1, 0), VoteKind::Prevote, 50, far.hash());
    forged.signature = signed_vote_at(99, VoteKind::Prevote, 50, far.hash()).signature;
    let effects = node.handle(vote_event(liar, &forged));
    assert!(
        sync_requests(&effects).is_empty(),
        "a forged vote proves nothing"
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Validate(_, p, Verdict::Reject) if *p == liar)),
        "and is held against its sender"
    );

    // A faulty validator signs for height 50: worth asking, once.
    let faulty = proposer(1, 0);
    let vote = signed_vote_at(faulty, VoteKind::Prevote, 50, far.hash());
    let effects = node.handle(vote_event(liar, &vote));
    assert_eq!(sync_requests(&effects), vec![liar]);
    // It has nothing: its claims are ignored for a while, even signed anew.
    node.handle(Event::Network(PeerEvent::SyncResponse {
        from: liar,
        data: SyncResponse { blocks: vec![] }.encode(),
    }));
    node.now_ms += 10_000;
    let vote = signed_vote_at(faulty, VoteKind::Prevote, 60, far.hash());
    let effects = node.handle(vote_event(liar, &vote));
    assert!(sync_requests(&effects).is_empty(), "{effects:?}");
}
