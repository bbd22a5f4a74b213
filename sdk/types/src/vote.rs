//! Consensus votes and the commit certificate that makes a block final.
//!
//! A block is final when validators holding more than two thirds of the voting
//! power precommit its hash in one round. The commit certificate carries exactly
//! those precommit signatures; a light client re-derives each signed vote from
//! the certificate and checks it against the validator set of that height, so
//! the certificate needs no trust in whoever serves it.

use crate::crypto::{Address, CryptoError, SecretKey, SignKind, Signature};
use crate::encoding::{self, DecodeError, invalid_data};
use crate::hash::Hash;
use crate::limits::{CERTIFICATE_BYTES_MAX, VALIDATORS_MAX, VOTE_BYTES_MAX};
use crate::validator::ValidatorSet;
use borsh::{BorshDeserialize, BorshSerialize};

/// Prevote or precommit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum VoteKind {
    /// First voting step of a round.
    Prevote = 0,
    /// Second voting step; a quorum of precommits decides.
    Precommit = 1,
}

/// A vote of one validator in one height, round and step.
#[derive(Clone, Debug, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct Vote {
    /// Prevote or precommit.
    pub kind: VoteKind,
    /// The height voted on.
    pub height: u64,
    /// The round voted in.
    pub round: u32,
    /// The block hash voted for; `None` is a vote for nil.
    pub block_hash: Option<Hash>,
    /// The voter.
    pub validator: Address,
}

impl Vote {
    /// Signs the vote.
    pub fn sign(self, chain_id: &str, key: &SecretKey) -> Result<SignedVote, CryptoError> {
        let signature = key.sign(chain_id, SignKind::Vote, &encoding::encode(&self))?;
        Ok(SignedVote {
            vote: self,
            signature,
        })
    }
}

/// A vote with its signature.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedVote {
    /// The vote.
    pub vote: Vote,
    /// The voter's signature of kind [`SignKind::Vote`].
    pub signature: Signature,
}

impl SignedVote {
    /// Decodes a vote received from a peer, within [`VOTE_BYTES_MAX`].
    pub fn decode(bytes: &[u8]) -> Result<SignedVote, DecodeError> {
        encoding::decode("vote", bytes, VOTE_BYTES_MAX)
    }

    /// Checks the signature against the validator's key in `set`.
    pub fn verify(&self, chain_id: &str, set: &ValidatorSet) -> Result<(), CertificateError> {
        let validator = set
            .get(&self.vote.validator)
            .ok_or(CertificateError::UnknownValidator(self.vote.validator))?;
        validator
            .public_key
            .verify(
                chain_id,
                SignKind::Vote,
                &encoding::encode(&self.vote),
                &self.signature,
            )
            .map_err(|e| CertificateError::Signature(self.vote.validator, e))
    }
}

/// One precommit signature inside a certificate.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct CommitSignature {
    /// The validator who precommitted.
    pub validator: Address,
    /// Its signature over the precommit for the certified block.
    pub signature: Signature,
}

/// Why a certificate or vote does not prove what it claims.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CertificateError {
    /// A signer that is not in the validator set.
    #[error("validator {0} is not in the validator set")]
    UnknownValidator(Address),
    /// A signature that does not verify.
    #[error("signature of validator {0}: {1}")]
    Signature(Address, CryptoError),
    /// The signers hold two thirds of the power or less.
    #[error("signers hold {signed} of {total} voting power, not more than two thirds")]
    NoQuorum {
        /// Power that signed.
        signed: u64,
        /// Total power of the set.
        total: u64,
    },
    /// The certificate is for another height or block than expected.
    #[error(
        "certificate is for height {found_height} block {found_block}, expected height {height} block {block}"
    )]
    Mismatch {
        /// Expected height.
        height: u64,
        /// Expected block hash.
        block: Hash,
        /// Height in the certificate.
        found_height: u64,
        /// Block hash in the certificate.
        found_block: Hash,
    },
}

/// Proof that a block was decided: a quorum of precommit signatures.
///
/// Canonical form: signatures sorted by validator address, no duplicates, at most
/// [`VALIDATORS_MAX`]. Decoding enforces it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize)]
pub struct CommitCertificate {
    /// The decided height.
    pub height: u64,
    /// The round in which the decision was reached.
    pub round: u32,
    /// The decided block's hash.
    pub block_hash: Hash,
    signatures: Vec<CommitSignature>,
}

impl CommitCertificate {
    /// Builds a canonical certificate from precommit signatures in any order,
    /// dropping exact duplicates.
    pub fn new(
        height: u64,
        round: u32,
        block_hash: Hash,
        mut signatures: Vec<CommitSignature>,
    ) -> CommitCertificate {
        signatures.sort_by_key(|s| s.validator);
        signatures.dedup_by(|a, b| a.validator == b.validator);
        CommitCertificate {
            height,
            round,
            block_hash,
            signatures,
        }
    }

    /// The signatures, sorted by validator address.
    pub fn signatures(&self) -> &[CommitSignature] {
        &self.signatures
    }

    /// Decodes a certificate received from outside, within [`CERTIFICATE_BYTES_MAX`].
    pub fn decode(bytes: &[u8]) -> Result<CommitCertificate, DecodeError> {
        encoding::decode("commit certificate", bytes, CERTIFICATE_BYTES_MAX)
    }

    /// The precommit vote each signature covers.
    pub fn vote_of(&self, validator: Address) -> Vote {
        Vote {
            kind: VoteKind::Precommit,
            height: self.height,
            round: self.round,
            block_hash: Some(self.block_hash),
            validator,
        }
    }

    /// Verifies every signature against `set` and that the signers form a quorum.
    /// Returns the signing power.
    pub fn verify(&self, chain_id: &str, set: &ValidatorSet) -> Result<u64, CertificateError> {
        let mut signed: u64 = 0;
        for sig in &self.signatures {
            let validator = set
                .get(&sig.validator)
                .ok_or(CertificateError::UnknownValidator(sig.validator))?;
            let vote = self.vote_of(sig.validator);
            validator
                .public_key
                .verify(
                    chain_id,
                    SignKind::Vote,
                    &encoding::encode(&vote),
                    &sig.signature,
                )
                .map_err(|e| CertificateError::Signature(sig.validator, e))?;
            // Bounded by the set's total power, which is far below u64::MAX.
            signed = signed.saturating_add(validator.power);
        }
        if !set.is_quorum(signed) {
            return Err(CertificateError::NoQuorum {
                signed,
                total: set.total_power(),
            });
        }
        Ok(signed)
    }

    /// Verifies the certificate certifies `block_hash` at `height`, then its signatures.
    pub fn verify_for(
        &self,
        chain_id: &str,
        set: &ValidatorSet,
        height: u64,
        block_hash: &Hash,
    ) -> Result<u64, CertificateError> {
        if self.height != height || self.block_hash != *block_hash {
            return Err(CertificateError::Mismatch {
                height,
                block: *block_hash,
                found_height: self.height,
                found_block: self.block_hash,
            });
        }
        self.verify(chain_id, set)
    }
}

impl BorshDeserialize for CommitCertificate {
    fn deserialize_reader<R: borsh::io::Read>(reader: &mut R) -> borsh::io::Result<Self> {
        let height = u64::deserialize_reader(reader)?;
        let round = u32::deserialize_reader(reader)?;
        let block_hash = Hash::deserialize_reader(reader)?;
        let signatures = Vec::<CommitSignature>::deserialize_reader(reader)?;
        if signatures.len() > VALIDATORS_MAX {
            return Err(invalid_data(format!(
                "{} signatures exceed the limit of {VALIDATORS_MAX}",
                signatures.len()
            )));
        }
        if signatures
            .windows(2)
            .any(|w| w[0].validator >= w[1].validator)
        {
            return Err(invalid_data(
                "signatures not strictly sorted by validator address",
            ));
        }
        Ok(CommitCertificate {
            height,
            round,
            block_hash,
            signatures,
        })
    }
}
