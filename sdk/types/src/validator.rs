//! Validator sets: who votes, with what power, and when a vote count is a quorum.
//!
//! A set is canonical when sorted by address with no duplicates and no zero
//! power; decoding enforces it, so two nodes holding the same set always hash it
//! the same. Quorum arithmetic is in u128 so no total power can overflow it.

use crate::crypto::{Address, PublicKey};
use crate::encoding::{self, invalid_data};
use crate::hash::{Domain, Hash};
use crate::limits::VALIDATORS_MAX;
use borsh::{BorshDeserialize, BorshSerialize};

/// Largest total voting power of a set.
pub const TOTAL_POWER_MAX: u64 = 1 << 60;

/// One validator's consensus key and voting power.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, serde::Serialize)]
pub struct Validator {
    /// The key that signs votes and proposals.
    pub public_key: PublicKey,
    /// Voting power, at least 1.
    pub power: u64,
}

impl Validator {
    /// The validator's address.
    pub fn address(&self) -> Address {
        self.public_key.address()
    }
}

/// Why a validator set is not valid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ValidatorSetError {
    /// No validators, or more than the limit.
    #[error("a validator set needs 1 to {VALIDATORS_MAX} validators, found {0}")]
    Size(usize),
    /// A validator with zero power.
    #[error("validator {0} has zero voting power")]
    ZeroPower(Address),
    /// The same address twice.
    #[error("validator {0} appears twice")]
    Duplicate(Address),
    /// Total power above [`TOTAL_POWER_MAX`].
    #[error("total voting power exceeds {TOTAL_POWER_MAX}")]
    PowerOverflow,
}

/// A canonical validator set.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, serde::Serialize)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
    #[borsh(skip)]
    #[serde(skip)]
    total_power: u64,
}

impl ValidatorSet {
    /// Builds a canonical set (sorted by address) from validators in any order.
    pub fn new(mut validators: Vec<Validator>) -> Result<ValidatorSet, ValidatorSetError> {
        validators.sort_by_key(Validator::address);
        Self::from_sorted(validators)
    }

    fn from_sorted(validators: Vec<Validator>) -> Result<ValidatorSet, ValidatorSetError> {
        if validators.is_empty() || validators.len() > VALIDATORS_MAX {
            return Err(ValidatorSetError::Size(validators.len()));
        }
        let mut total: u64 = 0;
        for (i, v) in validators.iter().enumerate() {
            if v.power == 0 {
                return Err(ValidatorSetError::ZeroPower(v.address()));
            }
            if i > 0 && validators[i - 1].address() >= v.address() {
                // Sorted input: equal neighbours are duplicates, a decrease is non-canonical.
                return Err(ValidatorSetError::Duplicate(v.address()));
            }
            total = total
                .checked_add(v.power)
                .filter(|t| *t <= TOTAL_POWER_MAX)
                .ok_or(ValidatorSetError::PowerOverflow)?;
        }
        Ok(ValidatorSet {
            validators,
            total_power: total,
        })
    }

    /// The validators, sorted by address.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// Sum of all voting power.
    pub fn total_power(&self) -> u64 {
        self.total_power
    }

    /// The validator with this address.
    pub fn get(&self, address: &Address) -> Option<&Validator> {
        self.validators
            .binary_search_by(|v| v.address().cmp(address))
            .ok()
            .map(|i| &self.validators[i])
    }

    /// Whether `power` is more than two thirds of the total (a BFT quorum).
    pub fn is_quorum(&self, power: u64) -> bool {
        u128::from(power) * 3 > u128::from(self.total_power) * 2
    }

    /// The set's hash, committed in every header.
    pub fn hash(&self) -> Hash {
        Hash::of(Domain::ValidatorSet, &encoding::encode(self))
    }
}

impl BorshDeserialize for ValidatorSet {
    fn deserialize_reader<R: borsh::io::Read>(reader: &mut R) -> borsh::io::Result<Self> {
        let validators = Vec::<Validator>::deserialize_reader(reader)?;
        // Decoding does not sort: only the canonical (sorted, unique) order is accepted.
        Self::from_sorted(validators).map_err(invalid_data)
    }
}
