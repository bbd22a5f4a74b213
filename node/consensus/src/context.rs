//! Filiera's types seen through Malachite's `Context`: heights, validator
//! addresses, block ids as values, votes, proposals and ed25519 signing.
//!
//! The value agreed on is a block id (the header hash). Blocks travel beside
//! consensus (as proposal parts) and are executed by each validator before it
//! reports them valid, so no validator votes for a block it has not checked.

use borsh::{BorshDeserialize, BorshSerialize};
use filiera_types::{Address, Hash, PublicKey, Signature};
use malachite_types as mt;
use mt::{NilOrVal, Round, VoteType};
use std::fmt;

/// A block height.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    BorshSerialize,
    BorshDeserialize,
)]
pub struct Height(pub u64);

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl mt::Height for Height {
    const ZERO: Self = Height(0);
    const INITIAL: Self = Height(1);

    fn increment_by(&self, n: u64) -> Self {
        Height(self.0.saturating_add(n))
    }

    fn decrement_by(&self, n: u64) -> Option<Self> {
        self.0.checked_sub(n).map(Height)
    }

    fn as_u64(&self) -> u64 {
        self.0
    }
}

/// A validator's address (derived from its consensus key).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize,
)]
pub struct ValidatorAddress(pub Address);

impl fmt::Display for ValidatorAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl mt::Address for ValidatorAddress {}

/// The value consensus decides: a block id.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize,
)]
pub struct BlockId(pub Hash);

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_hex()[..16])
    }
}

impl mt::Value for BlockId {
    type Id = BlockId;

    fn id(&self) -> BlockId {
        *self
    }
}

/// Round as signed on the wire: `-1` is nil.
fn round_i64(r: Round) -> i64 {
    r.as_i64()
}

fn round_of(r: i64) -> Round {
    u32::try_from(r).map(Round::new).unwrap_or(Round::Nil)
}

/// A prevote or precommit.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConsensusVote {
    /// Prevote or precommit.
    pub kind: VoteType,
    /// Height voted at.
    pub height: Height,
    /// Round voted in.
    pub round: Round,
    /// The block voted for, or nil.
    pub value: NilOrVal<BlockId>,
    /// Who votes.
    pub validator: ValidatorAddress,
}

impl ConsensusVote {
    /// The vote in Filiera's signed form (what the signature covers).
    pub fn to_vote(&self) -> filiera_types::Vote {
        filiera_types::Vote {
            kind: match self.kind {
                VoteType::Prevote => filiera_types::VoteKind::Prevote,
                VoteType::Precommit => filiera_types::VoteKind::Precommit,
            },
            height: self.height.0,
            round: self.round.as_u32().unwrap_or(u32::MAX),
            block_hash: match self.value {
                NilOrVal::Nil => None,
                NilOrVal::Val(id) => Some(id.0),
            },
            validator: self.validator.0,
        }
    }

    /// The vote from Filiera's signed form.
    pub fn from_vote(v: &filiera_types::Vote) -> ConsensusVote {
        ConsensusVote {
            kind: match v.kind {
                filiera_types::VoteKind::Prevote => VoteType::Prevote,
                filiera_types::VoteKind::Precommit => VoteType::Precommit,
            },
            height: Height(v.height),
            round: Round::new(v.round),
            value: v
                .block_hash
                .map_or(NilOrVal::Nil, |h| NilOrVal::Val(BlockId(h))),
            validator: ValidatorAddress(v.validator),
        }
    }
}

impl mt::Vote<FilieraContext> for ConsensusVote {
    fn height(&self) -> Height {
        self.height
    }
    fn round(&self) -> Round {
        self.round
    }
    fn value(&self) -> &NilOrVal<BlockId> {
        &self.value
    }
    fn take_value(self) -> NilOrVal<BlockId> {
        self.value
    }
    fn vote_type(&self) -> VoteType {
        self.kind
    }
    fn validator_address(&self) -> &ValidatorAddress {
        &self.validator
    }
    fn extension(&self) -> Option<&mt::SignedExtension<FilieraContext>> {
        None
    }
    fn take_extension(&mut self) -> Option<mt::SignedExtension<FilieraContext>> {
        None
    }
    fn extend(self, _extension: mt::SignedExtension<FilieraContext>) -> Self {
        // Vote extensions are disabled on this chain.
        self
    }
}

/// A block proposal for a height and round.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct ConsensusProposal {
    /// Height.
    pub height: Height,
    /// Round (always defined for a proposal).
    pub round: u32,
    /// The block proposed.
    pub value: BlockId,
    /// The proof-of-lock round, `-1` for none.
    pub pol_round: i64,
    /// The proposer.
    pub proposer: ValidatorAddress,
}

impl ConsensusProposal {
    /// The proposal in Filiera's signed form (what the signature covers).
    pub fn to_proposal(&self) -> filiera_types::evidence::Proposal {
        filiera_types::evidence::Proposal {
            height: self.height.0,
            round: self.round,
            block_hash: self.value.0,
            pol_round: self.pol_round,
            proposer: self.proposer.0,
        }
    }
}

impl mt::Proposal<FilieraContext> for ConsensusProposal {
    fn height(&self) -> Height {
        self.height
    }
    fn round(&self) -> Round {
        Round::new(self.round)
    }
    fn value(&self) -> &BlockId {
        &self.value
    }
    fn take_value(self) -> BlockId {
        self.value
    }
    fn pol_round(&self) -> Round {
        round_of(self.pol_round)
    }
    fn validator_address(&self) -> &ValidatorAddress {
        &self.proposer
    }
}

/// Blocks travel beside consensus; the core never sees their parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockPart;

impl mt::ProposalPart<FilieraContext> for BlockPart {
    fn is_first(&self) -> bool {
        true
    }
    fn is_last(&self) -> bool {
        true
    }
}

/// No vote extensions on this chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoExtension;

impl mt::Extension for NoExtension {
    fn size_bytes(&self) -> usize {
        0
    }
}

/// A validator: address, consensus key, voting power.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsensusValidator {
    /// Its address.
    pub address: ValidatorAddress,
    /// Its consensus key.
    pub public_key: PublicKey,
    /// Its voting power.
    pub power: u64,
}

impl mt::Validator<FilieraContext> for ConsensusValidator {
    fn address(&self) -> &ValidatorAddress {
        &self.address
    }
    fn public_key(&self) -> &PublicKey {
        &self.public_key
    }
    fn voting_power(&self) -> u64 {
        self.power
    }
}

/// The validator set of a height, sorted by address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsensusValidatorSet {
    validators: Vec<ConsensusValidator>,
    total_power: u64,
    inner: filiera_types::ValidatorSet,
}

impl ConsensusValidatorSet {
    /// The consensus view of a validator set.
    pub fn new(set: filiera_types::ValidatorSet) -> ConsensusValidatorSet {
        let mut validators: Vec<ConsensusValidator> = set
            .validators()
            .iter()
            .map(|v| ConsensusValidator {
                address: ValidatorAddress(v.address()),
                public_key: v.public_key,
                power: v.power,
            })
            .collect();
        validators.sort_by_key(|v| v.address);
        ConsensusValidatorSet {
            total_power: set.total_power(),
            validators,
            inner: set,
        }
    }

    /// Filiera's form of the set.
    pub fn inner(&self) -> &filiera_types::ValidatorSet {
        &self.inner
    }

    /// The validators, by address.
    pub fn validators(&self) -> &[ConsensusValidator] {
        &self.validators
    }
}

impl mt::ValidatorSet<FilieraContext> for ConsensusValidatorSet {
    fn count(&self) -> usize {
        self.validators.len()
    }
    fn total_voting_power(&self) -> u64 {
        self.total_power
    }
    fn get_by_address(&self, address: &ValidatorAddress) -> Option<&ConsensusValidator> {
        self.validators
            .binary_search_by_key(address, |v| v.address)
            .ok()
            .and_then(|i| self.validators.get(i))
    }
    fn get_by_index(&self, index: usize) -> Option<&ConsensusValidator> {
        self.validators.get(index)
    }
}

/// Ed25519 with `verify_strict`, through `filiera-types`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ed25519;

/// A key or signature of the wrong length.
#[derive(Debug)]
pub struct BadLength;

impl fmt::Display for BadLength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("wrong length")
    }
}

impl mt::SigningScheme for Ed25519 {
    type DecodingError = BadLength;
    type Signature = Signature;
    type PublicKey = PublicKey;
    type PrivateKey = filiera_types::SecretKey;

    fn decode_signature(bytes: &[u8]) -> Result<Signature, BadLength> {
        bytes.try_into().map(Signature).map_err(|_| BadLength)
    }
    fn encode_signature(signature: &Signature) -> Vec<u8> {
        signature.0.to_vec()
    }
    fn decode_public_key(bytes: &[u8]) -> Result<PublicKey, BadLength> {
        bytes.try_into().map(PublicKey).map_err(|_| BadLength)
    }
    fn encode_public_key(public_key: &PublicKey) -> Vec<u8> {
        public_key.0.to_vec()
    }
}

/// Filiera's consensus context.
#[derive(Clone, Debug)]
pub struct FilieraContext;

impl mt::Context for FilieraContext {
    type Address = ValidatorAddress;
    type Height = Height;
    type ProposalPart = BlockPart;
    type Proposal = ConsensusProposal;
    type Validator = ConsensusValidator;
    type ValidatorSet = ConsensusValidatorSet;
    type Timeouts = mt::LinearTimeouts;
    type Value = BlockId;
    type Vote = ConsensusVote;
    type Extension = NoExtension;
    type SigningScheme = Ed25519;

    /// Round robin over the validators sorted by address, shifted by height:
    /// every validator proposes in turn, and a failed proposer is skipped in
    /// the next round.
    fn select_proposer<'a>(
        &self,
        set: &'a ConsensusValidatorSet,
        height: Height,
        round: Round,
    ) -> &'a ConsensusValidator {
        // The core never starts a height with an empty set (genesis validation refuses one).
        &set.validators[proposer_index(set.validators.len(), height.0, round.as_u32().unwrap_or(0))]
    }

    fn new_proposal(
        &self,
        height: Height,
        round: Round,
        value: BlockId,
        pol_round: Round,
        address: ValidatorAddress,
    ) -> ConsensusProposal {
        ConsensusProposal {
            height,
            round: round.as_u32().unwrap_or(0),
            value,
            pol_round: round_i64(pol_round),
            proposer: address,
        }
    }

    fn new_prevote(
        &self,
        height: Height,
        round: Round,
        value: NilOrVal<BlockId>,
        address: ValidatorAddress,
    ) -> ConsensusVote {
        ConsensusVote {
            kind: VoteType::Prevote,
            height,
            round,
            value,
            validator: address,
        }
    }

    fn new_precommit(
        &self,
        height: Height,
        round: Round,
        value: NilOrVal<BlockId>,
        address: ValidatorAddress,
    ) -> ConsensusVote {
        ConsensusVote {
            kind: VoteType::Precommit,
            height,
            round,
            value,
            validator: address,
        }
    }
}

/// Index, in a set of `count` validators sorted by address, of the proposer
/// of `height` and `round`: every validator proposes in turn, and a failed
/// proposer is skipped in the next round.
pub fn proposer_index(count: usize, height: u64, round: u32) -> usize {
    let n = count.max(1) as u64;
    (height.wrapping_add(u64::from(round)) % n) as usize
}

/// The proposer of `height` and `round` in `set` (tools that speak to nodes
/// without Malachite's types: the Byzantine actor signs conflicting
/// proposals only where it is the proposer).
pub fn proposer_of(
    set: &filiera_types::ValidatorSet,
    height: u64,
    round: u32,
) -> filiera_types::Address {
    let validators = set.validators();
    validators[proposer_index(validators.len(), height, round)].address()
}
