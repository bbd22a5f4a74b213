//! State keys the node itself writes, under `sys/` (contracts write only under
//! `c/{contract}/`, so nothing else can forge them). One definition for the
//! executor, the chain, the API and light clients.

use crate::crypto::PublicKey;
use crate::evidence::Offence;
use crate::name::ContractId;

/// A sender's next nonce (u64, little endian).
pub fn nonce(sender: &PublicKey) -> Vec<u8> {
    let mut k = b"sys/nonce/".to_vec();
    k.extend_from_slice(&sender.0);
    k
}

/// The code hash of an installed contract.
pub fn contract_code(id: &ContractId) -> Vec<u8> {
    let mut k = b"sys/contract/".to_vec();
    k.extend_from_slice(id.as_str().as_bytes());
    k
}

/// Prefix of the validator sets, keyed by the first height each governs.
pub const VALIDATOR_SETS: &[u8] = b"sys/vset/";

/// The validator set from `height` on (big endian, so sets sort by height).
pub fn validator_set(height: u64) -> Vec<u8> {
    let mut k = VALIDATOR_SETS.to_vec();
    k.extend_from_slice(&height.to_be_bytes());
    k
}

/// The first height of a validator-set key, if it is one.
pub fn validator_set_height(key: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] = key.strip_prefix(VALIDATOR_SETS)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// Prefix of recorded equivocation evidence.
pub const EVIDENCE: &[u8] = b"sys/evidence/";

/// Where the evidence of `offence` is recorded: validator, then height, round
/// and step (big endian), so one validator's offences sort by height.
pub fn evidence(offence: &Offence) -> Vec<u8> {
    let mut k = EVIDENCE.to_vec();
    k.extend_from_slice(&offence.validator.0);
    k.extend_from_slice(&offence.height.to_be_bytes());
    k.extend_from_slice(&offence.round.to_be_bytes());
    k.push(offence.step as u8);
    k
}
