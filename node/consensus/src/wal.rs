//! The write-ahead log's records: what the core asks to persist, in a
//! canonical borsh form. No file I/O here (that is the node's edge); this
//! module only turns inputs into bytes and back, strictly.
//!
//! On restart the node feeds these records back through
//! [`crate::Consensus::replay`], so the core re-derives its votes and reuses
//! the recorded signatures: a restarted validator never signs a second,
//! different vote for a height, round and step it already voted in.

use crate::context::{
    BlockId, ConsensusProposal, ConsensusVote, FilieraContext, Height, ValidatorAddress,
};
use borsh::{BorshDeserialize, BorshSerialize};
use filiera_types::Signature;
use malachite_consensus::{Input, LocallyProposedValue, ProposedValue};
use malachite_types::{
    self as mt, NilOrVal, Round, SignedMessage, Timeout, TimeoutKind, Validity, ValueOrigin,
    VoteType,
};

/// Largest WAL record, in bytes (a round certificate of the largest validator set).
pub const WAL_RECORD_BYTES_MAX: usize = 256 * 1024;

/// Why a WAL record could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum WalCodecError {
    /// The bytes are not a record.
    #[error("malformed WAL record: {0}")]
    Malformed(String),
    /// The input kind is never written to the WAL.
    #[error("input kind not kept in the WAL")]
    NotLogged,
}

#[derive(BorshSerialize, BorshDeserialize)]
struct WireVote {
    prevote: bool,
    height: u64,
    round: u32,
    value: Option<BlockId>,
    validator: ValidatorAddress,
    signature: Signature,
}

#[derive(BorshSerialize, BorshDeserialize)]
struct WireSig {
    validator: ValidatorAddress,
    signature: Signature,
}

#[derive(BorshSerialize, BorshDeserialize)]
struct WireRoundSig {
    prevote: bool,
    value: Option<BlockId>,
    validator: ValidatorAddress,
    signature: Signature,
}

#[derive(BorshSerialize, BorshDeserialize)]
enum Record {
    Vote(WireVote),
    Proposal(ConsensusProposal, Signature),
    Polka {
        height: u64,
        round: u32,
        value: BlockId,
        signatures: Vec<WireSig>,
    },
    RoundCert {
        height: u64,
        round: u32,
        skip: bool,
        signatures: Vec<WireRoundSig>,
    },
    Propose {
        height: u64,
        round: u32,
        value: BlockId,
    },
    Timeout {
        kind: u8,
        round: i64,
        duration_ms: u64,
    },
    ProposedValue {
        height: u64,
        round: i64,
        valid_round: i64,
        proposer: ValidatorAddress,
        value: BlockId,
        valid: bool,
        from_sync: bool,
    },
}

fn round_of(r: i64) -> Round {
    u32::try_from(r).map(Round::new).unwrap_or(Round::Nil)
}

fn defined(r: Round) -> Result<u32, WalCodecError> {
    r.as_u32()
        .ok_or_else(|| WalCodecError::Malformed("undefined round".into()))
}

fn vote_to_wire(
    v: &SignedMessage<FilieraContext, ConsensusVote>,
) -> Result<WireVote, WalCodecError> {
    Ok(WireVote {
        prevote: v.message.kind == VoteType::Prevote,
        height: v.message.height.0,
        round: defined(v.message.round)?,
        value: match v.message.value {
            NilOrVal::Nil => None,
            NilOrVal::Val(id) => Some(id),
        },
        validator: v.message.validator,
        signature: v.signature,
    })
}

fn vote_from_wire(w: WireVote) -> SignedMessage<FilieraContext, ConsensusVote> {
    let vote = ConsensusVote {
        kind: if w.prevote {
            VoteType::Prevote
        } else {
            VoteType::Precommit
        },
        height: Height(w.height),
        round: Round::new(w.round),
        value: w.value.map_or(NilOrVal::Nil, NilOrVal::Val),
        validator: w.validator,
    };
    SignedMessage::new(vote, w.signature)
}

/// A vote in Filiera's signed form as the bytes of a vote input (what
/// gossip carries): for tools and tests that speak to a node without
/// Malachite's types.
pub fn encode_signed_vote(v: &filiera_types::SignedVote) -> Result<Vec<u8>, WalCodecError> {
    encode(&Input::Vote(SignedMessage::new(
        ConsensusVote::from_vote(&v.vote),
        v.signature,
    )))
}

/// A proposal in Filiera's signed form as the bytes of a proposal input.
pub fn encode_signed_proposal(
    p: &filiera_types::evidence::SignedProposal,
) -> Result<Vec<u8>, WalCodecError> {
    let q = &p.proposal;
    let proposal = ConsensusProposal {
        height: Height(q.height),
        round: q.round,
        value: BlockId(q.block_hash),
        pol_round: q.pol_round,
        proposer: ValidatorAddress(q.proposer),
    };
    encode(&Input::Proposal(SignedMessage::new(proposal, p.signature)))
}

/// Encodes an input the core asked to log.
pub fn encode(input: &Input<FilieraContext>) -> Result<Vec<u8>, WalCodecError> {
    let record = match input {
        Input::Vote(v) => Record::Vote(vote_to_wire(v)?),
        Input::Proposal(p) => Record::Proposal(p.message.clone(), p.signature),
        Input::PolkaCertificate(c) => Record::Polka {
            height: c.height.0,
            round: defined(c.round)?,
            value: c.value_id,
            signatures: c
                .polka_signatures
                .iter()
                .map(|s| WireSig {
                    validator: s.address,
                    signature: s.signature,
                })
                .collect(),
        },
        Input::RoundCertificate(c) => Record::RoundCert {
            height: c.height.0,
            round: defined(c.round)?,
            skip: c.cert_type == mt::RoundCertificateType::Skip,
            signatures: c
                .round_signatures
                .iter()
                .map(|s| WireRoundSig {
                    prevote: s.vote_type == VoteType::Prevote,
                    value: match s.value_id {
                        NilOrVal::Nil => None,
                        NilOrVal::Val(id) => Some(id),
                    },
                    validator: s.address,
                    signature: s.signature,
                })
                .collect(),
        },
        Input::Propose(p) => Record::Propose {
            height: p.height.0,
            round: defined(p.round)?,
            value: p.value,
        },
        Input::TimeoutElapsed(t) => {
            let (kind, duration_ms) = match t.kind {
                TimeoutKind::Propose => (0, 0),
                TimeoutKind::Prevote => (1, 0),
                TimeoutKind::Precommit => (2, 0),
                TimeoutKind::Rebroadcast => (3, 0),
                TimeoutKind::FinalizeHeight(d) => {
                    (4, u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                }
            };
            Record::Timeout {
                kind,
                round: t.round.as_i64(),
                duration_ms,
            }
        }
        Input::ProposedValue(v, origin) => Record::ProposedValue {
            height: v.height.0,
            round: v.round.as_i64(),
            valid_round: v.valid_round.as_i64(),
            proposer: v.proposer,
            value: v.value,
            valid: v.validity.is_valid(),
            from_sync: origin.is_sync(),
        },
        Input::StartHeight(..) | Input::SyncValueResponse(_) => {
            return Err(WalCodecError::NotLogged);
        }
    };
    Ok(filiera_types::encoding::encode(&record))
}

/// Decodes a record written by [`encode`].
pub fn decode(bytes: &[u8]) -> Result<Input<FilieraContext>, WalCodecError> {
    let record: Record = filiera_types::encoding::decode("WAL record", bytes, WAL_RECORD_BYTES_MAX)
        .map_err(|e| WalCodecError::Malformed(e.to_string()))?;
    Ok(match record {
        Record::Vote(w) => Input::Vote(vote_from_wire(w)),
        Record::Proposal(p, s) => Input::Proposal(SignedMessage::new(p, s)),
        Record::Polka {
            height,
            round,
            value,
            signatures,
        } => Input::PolkaCertificate(mt::PolkaCertificate {
            height: Height(height),
            round: Round::new(round),
            value_id: value,
            polka_signatures: signatures
                .into_iter()
                .map(|s| mt::PolkaSignature::new(s.validator, s.signature))
                .collect(),
        }),
        Record::RoundCert {
            height,
            round,
            skip,
            signatures,
        } => Input::RoundCertificate(mt::RoundCertificate {
            height: Height(height),
            round: Round::new(round),
            cert_type: if skip {
                mt::RoundCertificateType::Skip
            } else {
                mt::RoundCertificateType::Precommit
            },
            round_signatures: signatures
                .into_iter()
                .map(|s| {
                    let vote_type = if s.prevote {
                        VoteType::Prevote
                    } else {
                        VoteType::Precommit
                    };
                    let value = s.value.map_or(NilOrVal::Nil, NilOrVal::Val);
                    mt::RoundSignature::new(vote_type, value, s.validator, s.signature)
                })
                .collect(),
        }),
        Record::Propose {
            height,
            round,
            value,
        } => Input::Propose(LocallyProposedValue::new(
            Height(height),
            Round::new(round),
            value,
        )),
        Record::Timeout {
            kind,
            round,
            duration_ms,
        } => {
            let kind = match kind {
                0 => TimeoutKind::Propose,
                1 => TimeoutKind::Prevote,
                2 => TimeoutKind::Precommit,
                3 => TimeoutKind::Rebroadcast,
                4 => TimeoutKind::FinalizeHeight(std::time::Duration::from_millis(duration_ms)),
                other => return Err(WalCodecError::Malformed(format!("timeout kind {other}"))),
            };
            Input::TimeoutElapsed(Timeout::new(round_of(round), kind))
        }
        Record::ProposedValue {
            height,
            round,
            valid_round,
            proposer,
            value,
            valid,
            from_sync,
        } => Input::ProposedValue(
            ProposedValue {
                height: Height(height),
                round: round_of(round),
                valid_round: round_of(valid_round),
                proposer,
                value,
                validity: if valid {
                    Validity::Valid
                } else {
                    Validity::Invalid
                },
            },
            if from_sync {
                ValueOrigin::Sync
            } else {
                ValueOrigin::Consensus
            },
        ),
    })
}
