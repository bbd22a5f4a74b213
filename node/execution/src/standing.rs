//! Who a sender is, read from the state: the fact the admission rules
//! ([`filiera_types::admission::Standing`]) judge by.
//!
//! The registry is the one source: `pub/key/{key}` names the organisation a
//! key signs for and `pub/org/{id}` says whether it is active; the
//! authority's keys are in `pub/authority`. A validator's consensus key is
//! found in the validator set governing the height (node state, `sys/vset/`).
//! An unreadable or undecodable record counts as absent: a sender is never a
//! member by a record the node cannot read as one.

use crate::host::{StateReader, StateUnreadable};
use filiera_contract_api::registry::{AuthorityRecord, OrgRecord, OrgStatus};
use filiera_contract_api::{contract_ids, decode, keys};
use filiera_types::PublicKey;
use filiera_types::admission::Standing;

/// `sender`'s standing in `state`, for a transaction of block `height`.
pub fn standing(
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
