//! Who a sender is, read from the state: the fact the admission rules
//! ([`filiera_types::admission::Standing`]) judge by.
//!
//! The registry is the one source: `pub/key/{key}` names the organisation a
//! key signs for and `pub/org/{id}` says whether it is active; the
//! authority's keys are in `pub/authority`. A validator's consensus key is
//! found in the validator set governing the height (node state, `sys/vset/`).
//! An unreadable or undecodable record counts as absent: a sender is never a
//! member by a record the node cannot read as one.
//!
//! A key of no one is [`Standing::Enrolling`] when its transaction is the
//! registry's `enrol` naming an open ticket (`pub/enrol/{ticket key}`) whose
//! key signed the sender's key for this chain. The signature is checked here,
//! so an enrolment without the ticket's secret never reaches a block, and a
//! copy of someone's enrolment names their key, not the copier's. Cost: a
//! stranger's transaction that does not call `enrol` costs a state read; one
//! that names an open ticket (ticket keys are public on chain) costs a
//! signature verification too, like any member's transaction, within the
//! API's per-client write allowance. The ticket's expiry is the contract's
//! to judge, by block time; so is the caller being a key of no one (an
//! authority key is a member here and never asked for the proof).

use crate::host::{StateReader, StateUnreadable};
use filiera_contract_api::registry::{
    AuthorityRecord, Enrol, EnrolmentTicket, OrgRecord, OrgStatus, enrolment_message,
};
use filiera_contract_api::{contract_ids, decode, keys};
use filiera_types::admission::{ENROL_CONTRACT, ENROL_METHOD, Standing};
use filiera_types::{PublicKey, Transaction};

/// The standing of `tx`'s sender in `state`, for a transaction of block
/// `height`.
pub fn standing(
    state: &dyn StateReader,
    tx: &Transaction,
    height: u64,
) -> Result<Standing, StateUnreadable> {
    let found = sender_standing(state, &tx.sender, height)?;
    if found != Standing::Stranger || !enrols_with_open_ticket(state, tx)? {
        return Ok(found);
    }
    Ok(Standing::Enrolling)
}

/// Whether `tx` is an enrolment whose ticket is open and signed its sender.
fn enrols_with_open_ticket(
    state: &dyn StateReader,
    tx: &Transaction,
) -> Result<bool, StateUnreadable> {
    if tx.call.contract.as_str() != ENROL_CONTRACT || tx.call.method.as_str() != ENROL_METHOD {
        return Ok(false);
    }
    let Some(enrol) = decode::<Enrol>(&tx.call.args) else {
        return Ok(false);
    };
    let ticket_key = keys::state_key(contract_ids::REGISTRY, &keys::enrolment(&enrol.ticket_key));
    if state
        .get(&ticket_key)?
        .and_then(|v| decode::<EnrolmentTicket>(&v))
        .is_none()
    {
        return Ok(false);
    }
    let Ok(signature) = <[u8; 64]>::try_from(enrol.proof.as_slice()) else {
        return Ok(false);
    };
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&enrol.ticket_key) else {
        return Ok(false);
    };
    let message = enrolment_message(tx.chain_id.as_str(), &tx.sender.0);
    Ok(key
        .verify_strict(&message, &ed25519_dalek::Signature::from_bytes(&signature))
        .is_ok())
}

/// `sender`'s standing in `state` by its key alone.
pub fn sender_standing(
    state: &dyn StateReader,
    sender: &PublicKey,
    height: u64,
) -> Result<Standing, StateUnreadable> {
    let registry = |key: &[u8]| state.get(&keys::state_key(contract_ids::REGISTRY, key));
    if let Some(org_id) = registry(&keys::key_owner(&sender.0))?.and_then(|v| decode::<String>(&v))
    {
        let org = registry(&keys::org(&org_id))?.and_then(|v| decode::<OrgRecord>(&v));
        // A key whose organisation record is gone signs for no one.
        return Ok(match org {
            Some(org) if org.status == OrgStatus::Active && org.keys.contains(&sender.0) => {
                Standing::Member
            }
            Some(org) if org.keys.contains(&sender.0) => Standing::Inactive,
            _ => Standing::Stranger,
        });
    }
    let authority = registry(keys::AUTHORITY)?.and_then(|v| decode::<AuthorityRecord>(&v));
    if authority.is_some_and(|a| a.keys.contains(&sender.0)) {
        return Ok(Standing::Member);
    }
    let set = crate::evidence::validator_set_at(state, height)?;
    if set.is_some_and(|s| s.validators().iter().any(|v| v.public_key == *sender)) {
        return Ok(Standing::Validator);
    }
    Ok(Standing::Stranger)
}
