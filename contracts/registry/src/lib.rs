//! The registry contract: who is who and who may do what.
//!
//! **Invariants.** Only the authority, by `threshold` distinct approvals of its
//! keys, onboards organisations, changes their status, roles and keys, and
//! accredits certification bodies. An organisation registers only its own
//! sites. A key belongs to at most one organisation. Everything other
//! contracts need is under `pub/`.
//!
//! **Threats.** A single authority key, a replayed approval, or a key of
//! another organisation must not be enough: each is refused with a reason.

#![no_std]

extern crate alloc;

use alloc::vec::Vec;
use filiera_contract_api::registry::{
    AccreditationRecord, AuthorityAction, AuthorityRecord, ORG_KEYS_MAX, ObserverRecord, OrgRecord,
    OrgStatus, Proposal, Role, RoleSet, SCOPE_NAMES_MAX, SiteRecord, ValidatorRecord, method,
};
use filiera_contract_api::{TEXT_BYTES_MAX, code_is_valid, encode, gs1, keys, text_is_valid};
use filiera_contract_sdk::{Result, args, ensure, env, fail, storage};

filiera_contract_sdk::entry!(dispatch);

fn dispatch(method: &str, input: &[u8]) -> Result<Vec<u8>> {
    match method {
        method::PROPOSE => propose(args(input)?),
        method::APPROVE => approve(args(input)?),
        method::REGISTER_SITE => register_site(args(input)?),
        other => Err(fail!("registry has no method {other:?}")),
    }
}

fn authority() -> Result<AuthorityRecord> {
    storage::get(keys::AUTHORITY)?.ok_or_else(|| fail!("no authority in genesis"))
}

fn propose(action: AuthorityAction) -> Result<Vec<u8>> {
    let auth = authority()?;
    let me = env::caller();
    ensure!(auth.keys.contains(&me), "only an authority key may propose");
    check_action(&action)?;
    let id: u64 = storage::get(keys::NEXT_PROPOSAL)?.unwrap_or(0);
    storage::set(keys::NEXT_PROPOSAL, &(id + 1));
    let mut proposal = Proposal {
        action,
        approvals: alloc::vec![me],
        executed: false,
        proposed_height: env::height(),
    };
    settle(&auth, id, &mut proposal)?;
    Ok(encode(&id))
}

fn approve(id: u64) -> Result<Vec<u8>> {
    let auth = authority()?;
    let me = env::caller();
    ensure!(auth.keys.contains(&me), "only an authority key may approve");
    let mut proposal: Proposal =
        storage::get(&keys::proposal(id))?.ok_or_else(|| fail!("no proposal {id}"))?;
    ensure!(!proposal.executed, "proposal {id} was already executed");
    ensure!(
        !proposal.approvals.contains(&me),
        "this key already approved proposal {id}"
    );
    proposal.approvals.push(me);
    settle(&auth, id, &mut proposal)?;
    Ok(encode(&proposal.executed))
}

/// Stores the proposal, executing it first if it has enough approvals.
fn settle(auth: &AuthorityRecord, id: u64, proposal: &mut Proposal) -> Result<()> {
    let approvals = proposal
        .approvals
        .iter()
        .filter(|k| auth.keys.contains(k))
        .count();
    if approvals >= auth.threshold as usize {
        execute(&proposal.action)?;
        proposal.executed = true;
        env::emit("proposal_executed", &id);
    } else {
        env::emit("proposal_pending", &id);
    }
    storage::set(&keys::proposal(id), proposal);
    Ok(())
}

/// Rejects malformed actions when they are proposed, not when they execute.
fn check_action(action: &AuthorityAction) -> Result<()> {
    match action {
        AuthorityAction::RegisterOrg {
            id,
            name,
            vat_number,
            keys,
            ..
        } => {
            ensure!(code_is_valid(id), "organisation id {id:?} is not a code");
            ensure!(
                text_is_valid(name, TEXT_BYTES_MAX),
                "organisation name is empty or too long"
            );
            ensure!(
                vat_number.as_deref().is_none_or(code_is_valid),
                "VAT number is not a code"
            );
            ensure!(
                !keys.is_empty() && keys.len() <= ORG_KEYS_MAX,
                "an organisation needs 1 to {ORG_KEYS_MAX} keys"
            );
        }
        AuthorityAction::Accredit {
            scheme,
            scope,
            valid_from_ms,
            valid_until_ms,
            ..
        } => {
            ensure!(code_is_valid(scheme), "scheme {scheme:?} is not a code");
            ensure!(
                scope.len() <= SCOPE_NAMES_MAX,
                "scope has more than {SCOPE_NAMES_MAX} names"
            );
            ensure!(
                scope.iter().all(|s| text_is_valid(s, TEXT_BYTES_MAX)),
                "a scope name is empty or too long"
            );
            ensure!(
                valid_from_ms < valid_until_ms,
                "accreditation window is empty"
            );
        }
        _ => {}
    }
    Ok(())
}

fn org(id: &str) -> Result<OrgRecord> {
    storage::get(&keys::org(id))?.ok_or_else(|| fail!("no organisation {id:?}"))
}

fn execute(action: &AuthorityAction) -> Result<()> {
    match action {
        AuthorityAction::RegisterOrg {
            id,
            name,
            kind,
            vat_number,
            roles,
            keys: org_keys,
        } => {
            ensure!(
                !storage::has(&keys::org(id)),
                "organisation {id:?} already exists"
            );
            for key in org_keys {
                ensure!(
                    !storage::has(&keys::key_owner(key)),
                    "a key of {id:?} already belongs to an organisation"
                );
                storage::set(&keys::key_owner(key), id);
            }
            let record = OrgRecord {
                id: id.clone(),
                name: name.clone(),
                kind: *kind,
                vat_number: vat_number.clone(),
                roles: RoleSet::of(roles),
                status: OrgStatus::Active,
                keys: org_keys.clone(),
            };
            storage::set(&keys::org(id), &record);
        }
        AuthorityAction::SetOrgStatus { org: id, status } => {
            let mut record = org(id)?;
            ensure!(
                record.status != OrgStatus::Revoked,
                "organisation {id:?} is revoked for good"
            );
            record.status = *status;
            storage::set(&keys::org(id), &record);
        }
        AuthorityAction::GrantRole { org: id, role } => update_roles(id, |r| r.with(*role))?,
        AuthorityAction::RevokeRole { org: id, role } => update_roles(id, |r| r.without(*role))?,
        AuthorityAction::AddKey { org: id, key } => {
            let mut record = org(id)?;
            ensure!(
                record.keys.len() < ORG_KEYS_MAX,
                "organisation {id:?} has {ORG_KEYS_MAX} keys already"
            );
            ensure!(
                !storage::has(&keys::key_owner(key)),
                "the key already belongs to an organisation"
            );
            record.keys.push(*key);
            storage::set(&keys::key_owner(key), id);
            storage::set(&keys::org(id), &record);
        }
        AuthorityAction::RemoveKey { org: id, key } => {
            let mut record = org(id)?;
            ensure!(record.keys.contains(key), "the key is not one of {id:?}'s");
            record.keys.retain(|k| k != key);
            storage::remove(&keys::key_owner(key));
            storage::set(&keys::org(id), &record);
        }
        AuthorityAction::Accredit {
            org: id,
            scheme,
            scope,
            valid_from_ms,
            valid_until_ms,
        } => {
            let record = org(id)?;
            ensure!(
                record.roles.has(Role::CertificationBody),
                "organisation {id:?} is not a certification body"
            );
            let accreditation = AccreditationRecord {
                scheme: scheme.clone(),
                scope: scope.clone(),
                valid_from_ms: *valid_from_ms,
                valid_until_ms: *valid_until_ms,
                withdrawn: false,
            };
            storage::set(&keys::accreditation(id, scheme), &accreditation);
        }
        AuthorityAction::SetValidator {
            org: id,
            consensus_key,
            p2p_key,
            power,
        } => {
            let record = org(id)?;
            ensure!(
                record.status == OrgStatus::Active && record.roles.has(Role::ValidatorOperator),
                "organisation {id:?} is not an active validator operator"
            );
            let validator = ValidatorRecord {
                org: id.clone(),
                consensus_key: *consensus_key,
                p2p_key: *p2p_key,
                power: *power,
                set_height: env::height(),
            };
            storage::set(&keys::validator(consensus_key), &validator);
            env::emit("validator_set", consensus_key);
        }
        AuthorityAction::SetObserver {
            org: id,
            p2p_key,
            allowed,
        } => {
            let record = org(id)?;
            ensure!(
                !*allowed || record.status == OrgStatus::Active,
                "organisation {id:?} is not active"
            );
            let observer = ObserverRecord {
                org: id.clone(),
                p2p_key: *p2p_key,
                allowed: *allowed,
                set_height: env::height(),
            };
            storage::set(&keys::observer(p2p_key), &observer);
            env::emit("observer_set", p2p_key);
        }
        AuthorityAction::WithdrawAccreditation { org: id, scheme } => {
            let key = keys::accreditation(id, scheme);
            let mut accreditation: AccreditationRecord =
                storage::get(&key)?.ok_or_else(|| fail!("{id:?} has no {scheme} accreditation"))?;
            accreditation.withdrawn = true;
            storage::set(&key, &accreditation);
        }
    }
    Ok(())
}

fn update_roles(id: &str, change: impl Fn(RoleSet) -> RoleSet) -> Result<()> {
    let mut record = org(id)?;
    record.roles = change(record.roles);
    storage::set(&keys::org(id), &record);
    Ok(())
}

fn register_site(site: SiteRecord) -> Result<Vec<u8>> {
    let me = env::org_of(&env::caller())?
        .ok_or_else(|| fail!("caller's key belongs to no organisation"))?;
    ensure!(
        me.may(Role::Producer) || me.may(Role::Processor),
        "only an active producer or processor registers sites"
    );
    ensure!(
        site.org == me.id,
        "an organisation registers only its own sites"
    );
    ensure!(gs1::gln_is_valid(&site.gln), "{:?} is not a GLN", site.gln);
    ensure!(code_is_valid(&site.kind), "site kind is not a code");
    ensure!(
        text_is_valid(&site.name, TEXT_BYTES_MAX),
        "site name is empty or too long"
    );
    if let Some(existing) = storage::get::<SiteRecord>(&keys::site(&site.gln))? {
        ensure!(
            existing.org == me.id,
            "site {} belongs to {}",
            site.gln,
            existing.org
        );
    }
    storage::set(&keys::site(&site.gln), &site);
    env::emit("site_registered", &site.gln);
    Ok(Vec::new())
}
