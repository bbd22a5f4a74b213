//! Driving Malachite's core: every input goes through `process!`, and every
//! effect is answered here (signing, verification) or turned into an
//! [`Output`] for the node's I/O edge (network, timers, WAL, blocks, commits).
//!
//! Outputs are returned in the order the core produced them. The edge must
//! carry them out in that order: a WAL append comes before the vote it
//! protects is published, so a vote never leaves a node before it is durable.

use crate::context::{
    BlockId, ConsensusProposal, ConsensusValidatorSet, ConsensusVote, FilieraContext, Height,
    ValidatorAddress,
};
use crate::edge::{NetworkInput, TimeoutsMs, Timer};
use filiera_types::evidence::Equivocation;
use filiera_types::{ChainId, SignKind, encoding};
use malachite_consensus::{self as mc, Effect, Input, Resume, SignedConsensusMsg};
use malachite_types::{
    self as mt, CertificateError, SignedMessage, ThresholdParams, Timeout, Vote as _,
};

/// A signed vote, as gossiped.
pub type SignedVote = mt::SignedVote<FilieraContext>;
/// A signed proposal, as gossiped.
pub type SignedProposal = mt::SignedProposal<FilieraContext>;
/// A commit certificate, as decided.
pub type CommitCertificate = mt::CommitCertificate<FilieraContext>;
/// Everything consensus takes in.
pub type ConsensusInput = Input<FilieraContext>;

/// A consensus message for the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A vote.
    Vote(SignedVote),
    /// A proposal (the block itself travels beside it, see [`Output::BuildBlock`]).
    Proposal(SignedProposal),
    /// Proof that +2/3 prevoted a block in a round: lets a node that missed
    /// some of those prevotes (or saw an equivocator's other vote first)
    /// accept a re-proposal of a locked block.
    PolkaCertificate(mt::PolkaCertificate<FilieraContext>),
    /// Proof that a round ended (precommits) or that f+1 moved to a later round.
    RoundCertificate(mt::RoundCertificate<FilieraContext>),
}

impl Message {
    /// The bytes gossip carries (the WAL's record form of the input).
    pub fn encode(&self) -> Result<Vec<u8>, crate::wal::WalCodecError> {
        let input = match self.clone() {
            Message::Vote(v) => Input::Vote(v),
            Message::Proposal(p) => Input::Proposal(p),
            Message::PolkaCertificate(c) => Input::PolkaCertificate(c),
            Message::RoundCertificate(c) => Input::RoundCertificate(c),
        };
        crate::wal::encode(&input)
    }
}

/// What the edge must do, in order.
#[derive(Clone, Debug)]
pub enum Output {
    /// Persist this input to the WAL (fsync) before carrying out anything after it.
    WalAppend(Height, Box<ConsensusInput>),
    /// Send to every validator.
    Publish(Message),
    /// Start a timer for this many ms; when it fires, hand it to
    /// [`Consensus::on_timeout`].
    ScheduleTimeout(Timer, u64),
    /// Stop a timer.
    CancelTimeout(Timer),
    /// Stop every timer.
    CancelAllTimeouts,
    /// We propose at this height and round: build a block (or reuse the one
    /// locked on) and feed `Input::Propose` with its id within `timeout_ms`.
    BuildBlock {
        /// Height.
        height: Height,
        /// Round.
        round: u32,
        /// Time left to propose, ms.
        timeout_ms: u64,
    },
    /// Send the block `value` again, for a proposal at `round` whose
    /// proof-of-lock round is `valid_round` (receivers must report the block
    /// with that valid round, or it will not match the proposal).
    RestreamBlock {
        /// Height.
        height: Height,
        /// Round of the new proposal.
        round: u32,
        /// The round in which the block got a polka.
        valid_round: Option<u32>,
        /// The block.
        value: BlockId,
    },
    /// A round started.
    RoundStarted {
        /// Height.
        height: Height,
        /// Round.
        round: u32,
        /// Its proposer.
        proposer: ValidatorAddress,
    },
    /// The block is decided: commit it with this certificate, then start the next height.
    Decided(CommitCertificate),
    /// Equivocation seen at the decided height: pairs of votes or proposals
    /// signed by one validator for one step, in canonical order, each pair
    /// checkable by anyone with that height's validator set.
    Evidence(Vec<Equivocation>),
}

/// Why consensus could not process an input. Both end the node: the core
/// refusing an input (which this node's own driver or WAL produced) is a bug
/// or a corrupt WAL, and a key that cannot sign cannot take part.
#[derive(Debug, thiserror::Error)]
pub enum ConsensusError {
    /// The Tendermint core refused the input (its message).
    #[error("consensus core: {0}")]
    Core(String),
    /// This validator's key could not sign a vote or a proposal.
    #[error("signing: {0}")]
    Signing(#[from] filiera_types::crypto::CryptoError),
}

/// The signing half, kept apart from the core's state so effects can use it
/// while the core runs. Votes and proposals are signed through
/// [`filiera_types::Signer`]: the key in memory today, a remote signer or an
/// HSM behind the same trait.
struct Signer {
    chain_id: ChainId,
    key: Box<dyn filiera_types::Signer + Send + Sync>,
    context: FilieraContext,
    timeouts: mt::LinearTimeouts,
    /// Set by `Consensus::check_signature`, spent by the next `handle`.
    vouched: std::cell::RefCell<Option<Vouched>>,
}

/// One validator's (or observer's) consensus.
pub struct Consensus {
    state: mc::State<FilieraContext>,
    signer: Signer,
}

/// Inputs buffered per height and in total before a node is at that height.
const INPUT_QUEUE_MAX: usize = 4_096;
const INPUT_QUEUE_PER_HEIGHT_MAX: usize = 1_024;

impl Consensus {
    /// Consensus for `key` at `height` with the validator set of that height.
    pub fn new(
        chain_id: ChainId,
        key: impl filiera_types::Signer + Send + Sync + 'static,
        timeouts: TimeoutsMs,
        height: Height,
        validators: ConsensusValidatorSet,
    ) -> Consensus {
        let address = ValidatorAddress(key.public_key().address());
        let params = mc::Params {
            address,
            threshold_params: ThresholdParams::default(),
            value_payload: mt::ValuePayload::ProposalAndParts,
            enabled: true,
        };
        let state = mc::State::new(
            FilieraContext,
            height,
            validators,
            params,
            INPUT_QUEUE_MAX,
            INPUT_QUEUE_PER_HEIGHT_MAX,
        );
        Consensus {
            state,
            signer: Signer {
                chain_id,
                key: Box::new(key),
                context: FilieraContext,
                timeouts: timeouts.linear(),
                vouched: std::cell::RefCell::new(None),
            },
        }
    }

    /// This node's address.
    pub fn address(&self) -> ValidatorAddress {
        *self.state.address()
    }

    /// The height consensus is at.
    pub fn height(&self) -> Height {
        self.state.height()
    }

    /// The round consensus is in (`None` before the first).
    pub fn round(&self) -> Option<u32> {
        self.state.round().as_u32()
    }

    /// Starts `height` (after the previous one was committed, or at boot).
    pub fn start_height(
        &mut self,
        height: Height,
        validators: ConsensusValidatorSet,
        is_restart: bool,
    ) -> Result<Vec<Output>, ConsensusError> {
        // No target time: the core would read the wall clock; the node paces blocks itself.
        self.handle(Input::StartHeight(
            height,
            validators,
            is_restart,
            None,
            mt::VoteExtensionPolicy::Disabled,
        ))
    }

    /// Restarts at `height` after a crash: starts the height and feeds back
    /// the WAL's records, with the core's replay index set so it reuses the
    /// signatures it recorded instead of signing anew. WAL appends caused by
    /// the replay are dropped: those records are already in the log.
    pub fn replay(
        &mut self,
        height: Height,
        validators: ConsensusValidatorSet,
        records: Vec<ConsensusInput>,
    ) -> Result<Vec<Output>, ConsensusError> {
        self.state.index_wal_entries(records.iter());
        let mut outputs = self.handle(Input::StartHeight(
            height,
            validators,
            true,
            None,
            mt::VoteExtensionPolicy::Disabled,
        ));
        if let Ok(out) = &mut outputs {
            for record in records {
                match self.handle(record) {
                    Ok(more) => out.extend(more),
                    Err(e) => {
                        outputs = Err(e);
                        break;
                    }
                }
            }
        }
        self.state.reset_entries_index();
        Ok(outputs?
            .into_iter()
            .filter(|o| !matches!(o, Output::WalAppend(..)))
            .collect())
    }

    /// The validator set of the height consensus is at.
    pub fn validators(&self) -> &ConsensusValidatorSet {
        self.state.validator_set()
    }

    /// Whether a network vote or proposal is signed as the core requires:
    /// by a validator of `validators`, a proposal by its round's proposer.
    /// `None` for other inputs (certificates: the core checks them vote by
    /// vote). The edge asks before it forwards a message; a good signature is
    /// remembered, so that handing the same input to [`Consensus::handle`]
    /// next does not verify it again.
    pub fn check_signature(
        &self,
        validators: &ConsensusValidatorSet,
        input: &NetworkInput,
    ) -> Option<bool> {
        let claimed = claimed_signature(validators, &input.0)?;
        let good = claimed.filter(|c| {
            c.key
                .verify(
                    self.signer.chain_id.as_str(),
                    c.kind,
                    &c.bytes,
                    &c.signature,
                )
                .is_ok()
        });
        let ok = good.is_some();
        *self.signer.vouched.borrow_mut() = good;
        Some(ok)
    }

    /// Feeds one input; returns what the edge must do, in order.
    pub fn handle(&mut self, input: ConsensusInput) -> Result<Vec<Output>, ConsensusError> {
        let mut outputs = Vec::new();
        let signer = &self.signer;
        let result: Result<(), mc::Error<FilieraContext>> = mc::process!(
            input: input,
            state: &mut self.state,
            metrics: &(),
            with: effect => signer.answer(effect, &mut outputs)
        );
        // Good for the input it was checked for only.
        self.signer.vouched.take();
        result.map_err(|e| ConsensusError::Core(e.to_string()))?;
        Ok(outputs)
    }
}

/// The certificate in Filiera's stored form (what light clients and block sync verify).
pub fn to_certificate(c: &CommitCertificate) -> filiera_types::CommitCertificate {
    let signatures = c
        .commit_signatures
        .iter()
        .map(|s| filiera_types::vote::CommitSignature {
            validator: s.address.0,
            signature: s.signature,
        })
        .collect();
    filiera_types::CommitCertificate::new(
        c.height.0,
        c.round.as_u32().unwrap_or(0),
        c.value_id.0,
        signatures,
    )
}

/// The bytes a proposal signature covers.
pub fn proposal_bytes(p: &ConsensusProposal) -> Vec<u8> {
    encoding::encode(&p.to_proposal())
}

/// The core's evidence in Filiera's signed forms, proposals first, each
/// validator's pairs in the order the core kept them.
fn equivocations(evidence: &mc::MisbehaviorEvidence<FilieraContext>) -> Vec<Equivocation> {
    let vote = |v: &SignedVote| filiera_types::SignedVote {
        vote: v.message.to_vote(),
        signature: v.signature,
    };
    let proposal = |p: &SignedProposal| filiera_types::evidence::SignedProposal {
        proposal: p.message.to_proposal(),
        signature: p.signature,
    };
    let proposals = evidence.proposals.iter().flat_map(|(_, pairs)| {
        pairs
            .iter()
            .map(|(a, b)| Equivocation::Proposals(proposal(a), proposal(b)))
    });
    let votes = evidence.votes.iter().flat_map(|(_, pairs)| {
        pairs
            .iter()
            .map(|(a, b)| Equivocation::Votes(vote(a), vote(b)))
    });
    proposals
        .chain(votes)
        .map(Equivocation::canonical)
        .collect()
}

/// The signature a network vote or proposal must carry: who must have
/// signed it, what, and the signature it has. `None` for other inputs
/// (certificates are checked vote by vote by the core); `Some(None)` when no
/// one in `validators` may sign it (an unknown validator, or a proposal from
/// anyone but its round's proposer).
fn claimed_signature(
    validators: &ConsensusValidatorSet,
    input: &ConsensusInput,
) -> Option<Option<Vouched>> {
    let (address, kind, bytes, signature) = match input {
        Input::Vote(v) => (
            v.message.validator,
            SignKind::Vote,
            encoding::encode(&v.message.to_vote()),
            v.signature,
        ),
        Input::Proposal(p) => {
            let proposal = &p.message;
            if mt::ValidatorSet::count(validators) == 0 {
                return Some(None);
            }
            let expected = mt::Context::select_proposer(
                &FilieraContext,
                validators,
                proposal.height,
                mt::Round::new(proposal.round),
            );
            if expected.address != proposal.proposer {
                return Some(None);
            }
            (
                proposal.proposer,
                SignKind::Proposal,
                proposal_bytes(proposal),
                p.signature,
            )
        }
        _ => return None,
    };
    let key = mt::ValidatorSet::get_by_address(validators, &address).map(|v| v.public_key);
    Some(key.map(|key| Vouched {
        key,
        kind,
        bytes,
        signature,
    }))
}

/// A signature the edge verified (`Consensus::check_signature`): when the
/// core asks to verify that same signature while handling the next input,
/// it is answered from here instead of verifying twice.
struct Vouched {
    key: filiera_types::PublicKey,
    kind: SignKind,
    bytes: Vec<u8>,
    signature: filiera_types::Signature,
}

impl Signer {
    fn duration_ms(&self, t: Timeout) -> u64 {
        u64::try_from(self.timeouts.duration_for(t).as_millis()).unwrap_or(u64::MAX)
    }

    fn sign_vote(&self, vote: &ConsensusVote) -> Result<filiera_types::Signature, ConsensusError> {
        self.key
            .sign(
                self.chain_id.as_str(),
                SignKind::Vote,
                &encoding::encode(&vote.to_vote()),
            )
            .map_err(ConsensusError::Signing)
    }

    fn verify(
        &self,
        msg: &mc::ConsensusMsg<FilieraContext>,
        signature: &filiera_types::Signature,
        key: &filiera_types::PublicKey,
    ) -> bool {
        let (kind, bytes) = match msg {
            mc::ConsensusMsg::Vote(v) => (SignKind::Vote, encoding::encode(&v.to_vote())),
            mc::ConsensusMsg::Proposal(p) => (SignKind::Proposal, proposal_bytes(p)),
        };
        let vouched = self.vouched.borrow().as_ref().is_some_and(|v| {
            v.key == *key && v.kind == kind && v.signature == *signature && v.bytes == bytes
        });
        vouched
            || key
                .verify(self.chain_id.as_str(), kind, &bytes, signature)
                .is_ok()
    }

    fn verify_vote(
        &self,
        vote: &SignedVote,
        set: &ConsensusValidatorSet,
    ) -> Result<u64, CertificateError<FilieraContext>> {
        let address = *vote.message.validator_address();
        let validator = mt::ValidatorSet::get_by_address(set, &address)
            .ok_or(CertificateError::UnknownValidator(address))?;
        let msg = mc::ConsensusMsg::Vote(vote.message.clone());
        if !self.verify(&msg, &vote.signature, &validator.public_key) {
            return Err(CertificateError::VerificationError(None));
        }
        Ok(validator.power)
    }

    /// Verifies the votes of a certificate and that they reach `threshold`.
    fn verify_votes(
        &self,
        votes: impl Iterator<Item = SignedVote>,
        set: &ConsensusValidatorSet,
        threshold: mt::ThresholdParam,
    ) -> Result<(), CertificateError<FilieraContext>> {
        let mut seen = std::collections::BTreeSet::new();
        let mut signed: u64 = 0;
        for vote in votes {
            let address = *vote.message.validator_address();
            if !seen.insert(address) {
                return Err(CertificateError::DuplicateVote(address));
            }
            let power = self.verify_vote(&vote, set)?;
            signed = signed
                .checked_add(power)
                .ok_or(CertificateError::VotingPowerOverflow {
                    signed,
                    added: power,
                })?;
        }
        let total = mt::ValidatorSet::total_voting_power(set);
        if !threshold.is_met(signed, total) {
            return Err(CertificateError::NotEnoughVotingPower {
                signed,
                total,
                expected: threshold.min_expected(total),
            });
        }
        Ok(())
    }

    fn commit_votes<'a>(
        &'a self,
        c: &'a CommitCertificate,
    ) -> impl Iterator<Item = SignedVote> + 'a {
        c.commit_signatures.iter().map(move |s| {
            let vote = mt::Context::new_precommit(
                &self.context,
                c.height,
                c.round,
                mt::NilOrVal::Val(c.value_id),
                s.address,
            );
            SignedMessage::new(vote, s.signature)
        })
    }

    /// Answers one effect of the core.
    fn answer(
        &self,
        effect: Effect<FilieraContext>,
        out: &mut Vec<Output>,
    ) -> Result<Resume<FilieraContext>, ConsensusError> {
        use mc::Resumable;
        Ok(match effect {
            Effect::CancelAllTimeouts(r) => {
                out.push(Output::CancelAllTimeouts);
                r.resume_with(())
            }
            Effect::CancelTimeout(t, r) => {
                out.push(Output::CancelTimeout(Timer(t)));
                r.resume_with(())
            }
            Effect::ScheduleTimeout(t, r) => {
                out.push(Output::ScheduleTimeout(Timer(t), self.duration_ms(t)));
                r.resume_with(())
            }
            Effect::StartRound(height, round, proposer, _role, r) => {
                out.push(Output::RoundStarted {
                    height,
                    round: round.as_u32().unwrap_or(0),
                    proposer,
                });
                r.resume_with(())
            }
            Effect::PublishConsensusMsg(msg, r) => {
                out.push(Output::Publish(match msg {
                    SignedConsensusMsg::Vote(v) => Message::Vote(v),
                    SignedConsensusMsg::Proposal(p) => Message::Proposal(p),
                }));
                r.resume_with(())
            }
            Effect::PublishLivenessMsg(msg, r) => {
                out.push(Output::Publish(match msg {
                    mc::LivenessMsg::Vote(v) => Message::Vote(v),
                    mc::LivenessMsg::PolkaCertificate(c) => Message::PolkaCertificate(c),
                    mc::LivenessMsg::SkipRoundCertificate(c) => Message::RoundCertificate(c),
                }));
                r.resume_with(())
            }
            Effect::RepublishVote(v, r) => {
                out.push(Output::Publish(Message::Vote(v)));
                r.resume_with(())
            }
            Effect::RepublishRoundCertificate(c, r) => {
                out.push(Output::Publish(Message::RoundCertificate(c)));
                r.resume_with(())
            }
            Effect::GetValue(height, round, timeout, r) => {
                let timeout_ms = self.duration_ms(timeout);
                out.push(Output::BuildBlock {
                    height,
                    round: round.as_u32().unwrap_or(0),
                    timeout_ms,
                });
                r.resume_with(())
            }
            Effect::RestreamProposal(height, round, valid_round, _address, value, r) => {
                out.push(Output::RestreamBlock {
                    height,
                    round: round.as_u32().unwrap_or(0),
                    valid_round: valid_round.as_u32(),
                    value,
                });
                r.resume_with(())
            }
            Effect::CertVerifiedSyncValue(_, _, r) | Effect::CertRejectedSyncValue(_, _, _, r) => {
                r.resume_with(())
            }
            Effect::Decide(certificate, _extensions, r) => {
                out.push(Output::Decided(certificate));
                r.resume_with(())
            }
            Effect::Finalize(_certificate, _extensions, evidence, r) => {
                let pairs = equivocations(&evidence);
                if !pairs.is_empty() {
                    out.push(Output::Evidence(pairs));
                }
                r.resume_with(())
            }
            Effect::SignVote(vote, r) => {
                let signature = self.sign_vote(&vote)?;
                r.resume_with(SignedMessage::new(vote, signature))
            }
            Effect::SignProposal(proposal, r) => {
                let signature = self
                    .key
                    .sign(
                        self.chain_id.as_str(),
                        SignKind::Proposal,
                        &proposal_bytes(&proposal),
                    )
                    .map_err(ConsensusError::Signing)?;
                r.resume_with(SignedMessage::new(proposal, signature))
            }
            Effect::VerifySignature(signed, key, r) => {
                r.resume_with(self.verify(&signed.message, &signed.signature, &key))
            }
            Effect::VerifyCommitCertificate(c, set, thresholds, r) => {
                r.resume_with(self.verify_votes(self.commit_votes(&c), &set, thresholds.quorum))
            }
            Effect::VerifyExtendedCommitCertificate(c, set, thresholds, _policy, r) => {
                let plain = c.trim_vote_extensions();
                r.resume_with(self.verify_votes(self.commit_votes(&plain), &set, thresholds.quorum))
            }
            Effect::VerifyPolkaCertificate(c, set, thresholds, r) => {
                r.resume_with(self.verify_votes(c.votes(&self.context), &set, thresholds.quorum))
            }
            Effect::VerifyRoundCertificate(c, set, thresholds, r) => {
                let threshold = match c.cert_type {
                    mt::RoundCertificateType::Precommit => thresholds.quorum,
                    mt::RoundCertificateType::Skip => thresholds.honest,
                };
                r.resume_with(self.verify_votes(c.votes(&self.context), &set, threshold))
            }
            Effect::WalAppend(height, input, r) => {
                out.push(Output::WalAppend(height, Box::new(input)));
                r.resume_with(())
            }
            Effect::ExtendVote(_, _, _, _, r) => r.resume_with(None),
            Effect::VerifyVoteExtension(_, _, _, _, _, _, r) => r.resume_with(Ok(())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use filiera_types::{SecretKey, ValidatorSet, validator::Validator};

    const CHAIN: &str = "filiera-machine-test";

    fn key(n: u8) -> SecretKey {
        SecretKey::from_seed(&[n; 32])
    }

    fn set() -> ConsensusValidatorSet {
        let validators = (1..=4)
            .map(|n| Validator {
                public_key: key(n).public_key(),
                power: 1,
            })
            .collect();
        ConsensusValidatorSet::new(ValidatorSet::new(validators).unwrap_or_else(|e| panic!("{e}")))
    }

    /// Proposals were signed over the borsh encoding of `ConsensusProposal`
    /// before evidence needed that form in `filiera-types`: the two must stay
    /// the same bytes, or every signed proposal (WALs, evidence) breaks.
    #[test]
    fn a_proposal_signs_the_same_bytes_in_both_forms() {
        let proposal = ConsensusProposal {
            height: Height(7),
            round: 3,
            value: BlockId(filiera_types::Hash([5; 32])),
            pol_round: -1,
            proposer: ValidatorAddress(key(2).public_key().address()),
        };
        assert_eq!(proposal_bytes(&proposal), encoding::encode(&proposal));
        let relocked = ConsensusProposal {
            pol_round: 2,
            ..proposal
        };
        assert_eq!(proposal_bytes(&relocked), encoding::encode(&relocked));
    }

    fn vote(signer: u8, by: u8) -> ConsensusInput {
        let vote = ConsensusVote {
            kind: mt::VoteType::Prevote,
            height: Height(1),
            round: mt::Round::new(0),
            value: mt::NilOrVal::Val(BlockId(filiera_types::Hash([9; 32]))),
            validator: ValidatorAddress(key(signer).public_key().address()),
        };
        let signature = key(by)
            .sign(CHAIN, SignKind::Vote, &encoding::encode(&vote.to_vote()))
            .unwrap_or_else(|e| panic!("{e}"));
        Input::Vote(SignedMessage::new(vote, signature))
    }

    /// What the core's own check answers for `input`.
    fn core_accepts(consensus: &Consensus, input: &ConsensusInput) -> bool {
        let Input::Vote(v) = input else {
            panic!("a vote")
        };
        let msg = mc::ConsensusMsg::Vote(v.message.clone());
        consensus
            .signer
            .verify(&msg, &v.signature, &key(2).public_key())
    }

    #[test]
    fn a_vouched_signature_answers_for_that_signature_only_and_once() {
        let chain = ChainId::new(CHAIN).unwrap_or_else(|e| panic!("{e}"));
        let timeouts = TimeoutsMs {
            propose_ms: 1_000,
            prevote_ms: 1_000,
            precommit_ms: 1_000,
            delta_ms: 500,
        };
        let mut consensus = Consensus::new(chain, key(1), timeouts, Height(1), set());
        let (good, forged) = (vote(2, 2), vote(2, 3));
        assert_eq!(
            consensus.check_signature(&set(), &NetworkInput(forged.clone())),
            Some(false)
        );
        assert_eq!(
            consensus.check_signature(&set(), &NetworkInput(good.clone())),
            Some(true)
        );
        // The same vote with another signature is still verified, and refused.
        assert!(!core_accepts(&consensus, &forged));
        assert!(core_accepts(&consensus, &good));
        let _ = consensus.handle(good.clone());
        assert!(
            consensus.signer.vouched.borrow().is_none(),
            "spent by handle"
        );
        assert!(core_accepts(&consensus, &good), "verified anew, still good");
        // A signer outside the set.
        assert_eq!(
            consensus.check_signature(&set(), &NetworkInput(vote(7, 7))),
            Some(false)
        );
    }
}
