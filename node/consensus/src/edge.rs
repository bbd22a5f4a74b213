//! What the node's edge hands consensus and gets back, in Filiera's types:
//! no crate beyond this one names Malachite's, so the core can be upgraded
//! (or replaced) here alone.

use crate::context::{BlockId, Height, ValidatorAddress};
use crate::machine::{Consensus, ConsensusError, ConsensusInput, Output};
use crate::wal::{self, WalCodecError};
use filiera_types::Address;
use malachite_consensus::{Input, LocallyProposedValue, ProposedValue};
use malachite_types::{self as mt, Round, Validity, ValueOrigin};
use std::time::Duration;

/// A consensus timer: the edge schedules it when told
/// ([`Output::ScheduleTimeout`]) and hands it back when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Timer(pub(crate) mt::Timeout);

/// The chain's consensus timeouts (from genesis), ms. A round's timeouts
/// grow by `delta_ms` each round, so that a network slower than the first
/// guess still decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeoutsMs {
    /// Waiting for a proposal.
    pub propose_ms: u64,
    /// Waiting for more prevotes once a quorum of any prevotes is in.
    pub prevote_ms: u64,
    /// Waiting for more precommits once a quorum of any precommits is in.
    pub precommit_ms: u64,
    /// Added to each per round.
    pub delta_ms: u64,
}

impl TimeoutsMs {
    /// The core's form: votes are rebroadcast after twice the propose
    /// timeout, and no timeout grows beyond ten times it.
    pub(crate) fn linear(&self) -> mt::LinearTimeouts {
        let ms = Duration::from_millis;
        mt::LinearTimeouts {
            propose: ms(self.propose_ms),
            propose_delta: ms(self.delta_ms),
            prevote: ms(self.prevote_ms),
            prevote_delta: ms(self.delta_ms),
            precommit: ms(self.precommit_ms),
            precommit_delta: ms(self.delta_ms),
            rebroadcast: ms(self.propose_ms.saturating_mul(2)),
            max_timeout: ms(self.propose_ms.saturating_mul(10)),
        }
    }
}

/// A proposal as signed by its proposer (the block it names travels apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProposalSeen {
    /// Height.
    pub height: u64,
    /// Round.
    pub round: u32,
    /// The block it names.
    pub value: BlockId,
    /// The round the block got a polka in, if re-proposed.
    pub valid_round: Option<u32>,
    /// Who proposes.
    pub proposer: Address,
}

/// A block a verified proposal names, as this node judged it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamedBlock {
    /// Height.
    pub height: u64,
    /// The round of the proposal that names it.
    pub round: u32,
    /// The proposal's proof-of-lock round, if any.
    pub valid_round: Option<u32>,
    /// The round's proposer.
    pub proposer: Address,
    /// The block.
    pub value: BlockId,
    /// Whether it executed and checks out.
    pub valid: bool,
}

/// A vote, proposal or certificate from the network, decoded strictly.
#[derive(Clone, Debug)]
pub struct NetworkInput(pub(crate) ConsensusInput);

/// Why gossiped consensus bytes were refused.
#[derive(Debug, thiserror::Error)]
pub enum NetworkInputError {
    /// Not a record at all.
    #[error(transparent)]
    Codec(#[from] WalCodecError),
    /// A record of a kind only a node itself produces (a timeout, a proposed value).
    #[error("not a network input")]
    NotNetwork,
}

impl NetworkInput {
    /// Decodes gossiped bytes (the WAL's record form).
    pub fn decode(bytes: &[u8]) -> Result<NetworkInput, NetworkInputError> {
        let input = wal::decode(bytes)?;
        match input {
            Input::Vote(_)
            | Input::Proposal(_)
            | Input::PolkaCertificate(_)
            | Input::RoundCertificate(_) => Ok(NetworkInput(input)),
            _ => Err(NetworkInputError::NotNetwork),
        }
    }

    /// The height it is for.
    pub fn height(&self) -> u64 {
        match &self.0 {
            Input::Vote(v) => v.message.height.0,
            Input::Proposal(p) => p.message.height.0,
            Input::PolkaCertificate(c) => c.height.0,
            Input::RoundCertificate(c) => c.height.0,
            // `decode` admits no other kind.
            _ => 0,
        }
    }

    /// The proposal, if it is one.
    pub fn proposal(&self) -> Option<ProposalSeen> {
        match &self.0 {
            Input::Proposal(p) => Some(ProposalSeen {
                height: p.message.height.0,
                round: p.message.round,
                value: p.message.value,
                valid_round: u32::try_from(p.message.pol_round).ok(),
                proposer: p.message.proposer.0,
            }),
            _ => None,
        }
    }

    /// The proposal in Filiera's signed form, if it is one (what evidence
    /// of a proposer's equivocation holds).
    pub fn signed_proposal(&self) -> Option<filiera_types::evidence::SignedProposal> {
        match &self.0 {
            Input::Proposal(p) => Some(filiera_types::evidence::SignedProposal {
                proposal: p.message.to_proposal(),
                signature: p.signature,
            }),
            _ => None,
        }
    }

    /// The vote in Filiera's signed form, if it is one.
    pub fn vote(&self) -> Option<filiera_types::SignedVote> {
        match &self.0 {
            Input::Vote(v) => Some(filiera_types::SignedVote {
                vote: v.message.to_vote(),
                signature: v.signature,
            }),
            _ => None,
        }
    }
}

impl Consensus {
    /// A timer fired.
    pub fn on_timeout(&mut self, timer: Timer) -> Result<Vec<Output>, ConsensusError> {
        self.handle(Input::TimeoutElapsed(timer.0))
    }

    /// This node proposes `value` at `height` and `round` (as asked by
    /// [`Output::BuildBlock`]).
    pub fn propose(
        &mut self,
        height: u64,
        round: u32,
        value: BlockId,
    ) -> Result<Vec<Output>, ConsensusError> {
        self.handle(Input::Propose(LocallyProposedValue::new(
            Height(height),
            Round::new(round),
            value,
        )))
    }

    /// A block a verified proposal names, judged by this node.
    pub fn on_named_block(&mut self, block: NamedBlock) -> Result<Vec<Output>, ConsensusError> {
        let value = ProposedValue {
            height: Height(block.height),
            round: Round::new(block.round),
            valid_round: block.valid_round.map_or(Round::Nil, Round::new),
            proposer: ValidatorAddress(block.proposer),
            value: block.value,
            validity: if block.valid {
                Validity::Valid
            } else {
                Validity::Invalid
            },
        };
        self.handle(Input::ProposedValue(value, ValueOrigin::Consensus))
    }

    /// A vote, proposal or certificate from the network.
    pub fn on_network(&mut self, input: NetworkInput) -> Result<Vec<Output>, ConsensusError> {
        self.handle(input.0)
    }
}
