//! Evidence that a validator equivocated: two messages it signed for the same
//! height, round and step that say different things.
//!
//! Tendermint stays safe while less than a third of the voting power
//! equivocates; beyond that a fork needs equivocation, and this is what makes
//! it provable. Evidence needs no trust in whoever reports it: anyone holding
//! the validator set of that height checks both signatures. The chain records
//! each offence once, keyed by [`Offence`] (validator, height, round, step),
//! whoever reports it and however many pairs exist; what follows (suspending
//! the validator) is the authority's decision, not the protocol's.
//!
//! A proposal's signed bytes are [`Proposal`] encoded with borsh; the
//! consensus crate signs exactly those bytes, which a test there pins.

use crate::crypto::{Address, CryptoError, SignKind, Signature};
use crate::encoding::{self, DecodeError};
use crate::hash::Hash;
use crate::validator::ValidatorSet;
use crate::vote::{CommitCertificate, SignedVote, Vote, VoteKind};
use borsh::{BorshDeserialize, BorshSerialize};

/// The id of the call that reports evidence. No contract may be installed
/// under it: the executor handles it itself, before any contract lookup.
pub const EVIDENCE_CONTRACT: &str = "evidence";
/// The method of that call; its arguments are a borsh `Vec<Equivocation>`.
pub const EVIDENCE_METHOD: &str = "report";
/// Pairs in one report, at most (a report covers one decided height: a few
/// offenders, each with a few steps).
pub const EVIDENCE_PER_TX_MAX: usize = 16;
/// How many blocks after its height an offence may still be reported. The
/// validator set of a height stays in state; the bound keeps old disputes
/// from being reopened at will and the check of a report cheap.
pub const EVIDENCE_AGE_BLOCKS_MAX: u64 = 100_000;
/// Encoded report arguments, at most.
pub const EVIDENCE_ARGS_BYTES_MAX: usize = 16 * 1024;

/// A block proposal as its proposer signs it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Proposal {
    /// Height.
    pub height: u64,
    /// Round.
    pub round: u32,
    /// The block proposed.
    pub block_hash: Hash,
    /// The proof-of-lock round, `-1` for none.
    pub pol_round: i64,
    /// The proposer.
    pub proposer: Address,
}

/// A proposal with its proposer's signature of kind [`SignKind::Proposal`].
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedProposal {
    /// The proposal.
    pub proposal: Proposal,
    /// The signature.
    pub signature: Signature,
}

/// The step a validator equivocated in.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize,
)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum Step {
    /// Two proposals.
    Proposal = 0,
    /// Two prevotes.
    Prevote = 1,
    /// Two precommits.
    Precommit = 2,
}

impl Step {
    /// The step's name, as shown to people.
    pub fn as_str(&self) -> &'static str {
        match self {
            Step::Proposal => "proposal",
            Step::Prevote => "prevote",
            Step::Precommit => "precommit",
        }
    }
}

/// What was done wrong, once: the key under which the chain records it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize,
)]
pub struct Offence {
    /// The validator that signed both.
    pub validator: Address,
    /// Height of both.
    pub height: u64,
    /// Round of both.
    pub round: u32,
    /// Step of both.
    pub step: Step,
}

/// Two conflicting messages signed by one validator.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Equivocation {
    /// Two votes of one step for different blocks (nil counts as one).
    Votes(SignedVote, SignedVote),
    /// Two proposals of one round for different blocks or proof-of-lock rounds.
    Proposals(SignedProposal, SignedProposal),
}

/// What the chain keeps under [`crate::sys_keys::evidence`].
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct EvidenceRecord {
    /// The first pair reported, in canonical order.
    pub evidence: Equivocation,
    /// The block that recorded it.
    pub reported_height: u64,
    /// Who reported it.
    pub reporter: crate::crypto::PublicKey,
}

/// Why a report does not prove an offence.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EvidenceError {
    /// The two messages are not for the same validator, height, round and step.
    #[error("the two messages are not by one validator for one height, round and step")]
    NotSameSlot,
    /// The two messages say the same thing: no offence.
    #[error("the two messages do not conflict")]
    NoConflict,
    /// The offender is not in the validator set of that height.
    #[error("validator {0} was not in the validator set of that height")]
    UnknownValidator(Address),
    /// A signature that does not verify under the offender's key.
    #[error("signature {which} of the pair: {error}")]
    Signature {
        /// 1 or 2.
        which: u8,
        /// Why.
        error: CryptoError,
    },
}

impl Equivocation {
    /// Who, when and in which step, as claimed (not yet checked).
    pub fn offence(&self) -> Offence {
        match self {
            Equivocation::Votes(a, _) => Offence {
                validator: a.vote.validator,
                height: a.vote.height,
                round: a.vote.round,
                step: match a.vote.kind {
                    VoteKind::Prevote => Step::Prevote,
                    VoteKind::Precommit => Step::Precommit,
                },
            },
            Equivocation::Proposals(a, _) => Offence {
                validator: a.proposal.proposer,
                height: a.proposal.height,
                round: a.proposal.round,
                step: Step::Proposal,
            },
        }
    }

    /// The same pair in canonical order (by encoded bytes), so that the pair
    /// a node saw as (first, second) and one that saw it as (second, first)
    /// report the same bytes.
    pub fn canonical(self) -> Equivocation {
        fn order<T: BorshSerialize>(a: T, b: T) -> (T, T) {
            if encoding::encode(&a) <= encoding::encode(&b) {
                (a, b)
            } else {
                (b, a)
            }
        }
        match self {
            Equivocation::Votes(a, b) => {
                let (a, b) = order(a, b);
                Equivocation::Votes(a, b)
            }
            Equivocation::Proposals(a, b) => {
                let (a, b) = order(a, b);
                Equivocation::Proposals(a, b)
            }
        }
    }

    /// Checks that the pair proves its offence against `set`, the validator
    /// set of the offence's height: same validator, height, round and step,
    /// different content, both signatures valid under the validator's key.
    pub fn verify(&self, chain_id: &str, set: &ValidatorSet) -> Result<Offence, EvidenceError> {
        let offence = self.offence();
        let (kind, first, second) = match self {
            Equivocation::Votes(a, b) => {
                if !same_vote_slot(&a.vote, &b.vote) {
                    return Err(EvidenceError::NotSameSlot);
                }
                if a.vote.block_hash == b.vote.block_hash {
                    return Err(EvidenceError::NoConflict);
                }
                (
                    SignKind::Vote,
                    (encoding::encode(&a.vote), &a.signature),
                    (encoding::encode(&b.vote), &b.signature),
                )
            }
            Equivocation::Proposals(a, b) => {
                let (p, q) = (&a.proposal, &b.proposal);
                if (p.proposer, p.height, p.round) != (q.proposer, q.height, q.round) {
                    return Err(EvidenceError::NotSameSlot);
                }
                if p == q {
                    return Err(EvidenceError::NoConflict);
                }
                (
                    SignKind::Proposal,
                    (encoding::encode(p), &a.signature),
                    (encoding::encode(q), &b.signature),
                )
            }
        };
        let validator = set
            .get(&offence.validator)
            .ok_or(EvidenceError::UnknownValidator(offence.validator))?;
        for (which, (bytes, signature)) in [(1, first), (2, second)] {
            validator
                .public_key
                .verify(chain_id, kind, &bytes, signature)
                .map_err(|error| EvidenceError::Signature { which, error })?;
        }
        Ok(offence)
    }
}

/// The equivocation two commit certificates of one height prove: when both
/// are of the same round and certify different blocks, every validator that
/// signed both precommitted two blocks in one round, and each such signer
/// gives a pair of signed precommits (in canonical order). Certificates of
/// different rounds prove no single-slot offence (a fork across rounds
/// needs a validator to break its lock, which two messages cannot show):
/// none is returned, as for certificates that agree. Signatures are not
/// checked here; [`Equivocation::verify`] checks each pair.
pub fn from_certificates(a: &CommitCertificate, b: &CommitCertificate) -> Vec<Equivocation> {
    if a.height != b.height || a.round != b.round || a.block_hash == b.block_hash {
        return Vec::new();
    }
    let precommit =
        |cert: &CommitCertificate, validator: Address, signature: &Signature| SignedVote {
            vote: Vote {
                kind: VoteKind::Precommit,
                height: cert.height,
                round: cert.round,
                block_hash: Some(cert.block_hash),
                validator,
            },
            signature: *signature,
        };
    // Both lists are sorted by validator (canonical certificates).
    a.signatures()
        .iter()
        .filter_map(|sa| {
            let at = b
                .signatures()
                .binary_search_by_key(&sa.validator, |s| s.validator)
                .ok()?;
            let sb = &b.signatures()[at];
            Some(
                Equivocation::Votes(
                    precommit(a, sa.validator, &sa.signature),
                    precommit(b, sb.validator, &sb.signature),
                )
                .canonical(),
            )
        })
        .collect()
}

fn same_vote_slot(a: &Vote, b: &Vote) -> bool {
    (a.kind, a.height, a.round, a.validator) == (b.kind, b.height, b.round, b.validator)
}

/// Decodes a report's arguments within [`EVIDENCE_ARGS_BYTES_MAX`] and
/// [`EVIDENCE_PER_TX_MAX`] pairs.
pub fn decode_report(args: &[u8]) -> Result<Vec<Equivocation>, DecodeError> {
    let pairs: Vec<Equivocation> = encoding::decode("evidence", args, EVIDENCE_ARGS_BYTES_MAX)?;
    if pairs.len() > EVIDENCE_PER_TX_MAX {
        return Err(DecodeError::Malformed {
            kind: "evidence",
            reason: format!(
                "{} pairs in one report, at most {EVIDENCE_PER_TX_MAX}",
                pairs.len()
            ),
        });
    }
    Ok(pairs)
}
