//! The registry contract: who is who and who may do what.
//!
//! **Invariants.** Only the authority, by `threshold` distinct approvals of its
//! keys, onboards organisations, changes their status and roles, accredits
//! certification bodies, and opens enrolments. An organisation manages its
//! own device keys: an admin device adds a key with a pseudonymous label,
//! rights and an expiry, and revokes any other of its keys; a new device
//! enrols itself with a one-time ticket the authority opened (the
//! organisation's first key, or one restored after every admin device was
//! lost). An organisation registers only its own sites. A key belongs to at
//! most one organisation, and never to more than [`ORG_KEYS_MAX`] at once.
//! Everything other contracts need is under `pub/`.
//!
//! **Threats.** A single authority key, a replayed approval, or a key of
//! another organisation must not be enough: each is refused with a reason.
//! A device without the admin right, an expired one, or one of another
//! organisation cannot add or revoke keys. A ticket is used once: a copy of
//! the enrolment seen in the mempool names the same device key (the ticket
//! key signed it, checked at admission), so it cannot enrol another.

#![no_std]

extern crate alloc;

use alloc::vec::Vec;
use filiera_contract_api::KeyBytes;
use filiera_contract_api::registry::{
    AccreditationRecord, AddDevice, AuthorityAction, AuthorityRecord, DEVICE_LABEL_BYTES_MAX,
    DeviceGrant, Enrol, EnrolmentTicket, ORG_KEYS_MAX, ObserverRecord, OrgRecord, OrgStatus,
    Proposal, Role, RoleSet, SCOPE_NAMES_MAX, SiteRecord, ValidatorRecord, method, rights,
};
use filiera_contract_api::rules::{self, ProductionRules, RulesVersion, SiteArea};
use filiera_contract_api::{TEXT_BYTES_MAX, code_is_valid, encode, gs1, keys, text_is_valid};
use filiera_contract_sdk::{Result, args, ensure, env, fail, storage};

filiera_contract_sdk::entry!(dispatch);

fn dispatch(method: &str, input: &[u8]) -> Result<Vec<u8>> {
    match method {
        method::PROPOSE => propose(args(input)?),
        method::APPROVE => approve(args(input)?),
        method::REGISTER_SITE => register_site(args(input)?),
        method::ENROL => enrol(args(input)?),
        method::ADD_DEVICE => add_device(args(input)?),
        method::REVOKE_DEVICE => revoke_device(args(input)?),
        method::SET_RULES => set_rules_delegated(args(input)?),
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
            // No key at all is allowed: the organisation's first device
            // then enrols with a ticket (`OpenEnrolment`).
            ensure!(
                keys.len() <= ORG_KEYS_MAX,
                "an organisation has at most {ORG_KEYS_MAX} keys"
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
        AuthorityAction::OpenEnrolment {
            rights: granted,
            expires_ms,
            ..
        } => {
            check_rights(*granted)?;
            ensure!(*expires_ms > 0, "an enrolment must expire");
        }
        AuthorityAction::SetRules(r) => {
            if let Some(why) = rules::malformed(r) {
                return Err(fail!("{why}"));
            }
        }
        AuthorityAction::DelegateRules { scheme, name, org } => {
            ensure!(code_is_valid(scheme), "scheme {scheme:?} is not a code");
            ensure!(
                text_is_valid(name, TEXT_BYTES_MAX),
                "protected name is empty or too long"
            );
            if let Some(id) = org {
                ensure!(code_is_valid(id), "organisation id {id:?} is not a code");
            }
        }
        AuthorityAction::VouchSite { gln, istat } => {
            ensure!(gs1::gln_is_valid(gln), "{gln:?} is not a GLN");
            ensure!(
                istat.len() == 6 && rules::istat_is_valid(istat),
                "{istat:?} is not an ISTAT municipality code (6 digits)"
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
        AuthorityAction::RemoveKey { org: id, key } => remove_key(&mut org(id)?, key)?,
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
        AuthorityAction::OpenEnrolment {
            org: id,
            ticket_key,
            rights: granted,
            expires_ms,
        } => {
            let record = org(id)?;
            ensure!(
                record.status == OrgStatus::Active,
                "organisation {id:?} is not active"
            );
            // Approvals slower than the link's life would open a dead ticket.
            ensure!(
                *expires_ms > env::time_ms(),
                "the enrolment would be expired already"
            );
            ensure!(
                !storage::has(&keys::enrolment(ticket_key)),
                "this enrolment ticket is already open"
            );
            storage::set(
                &keys::enrolment(ticket_key),
                &EnrolmentTicket {
                    org: id.clone(),
                    rights: *granted,
                    expires_ms: *expires_ms,
                },
            );
            env::emit("enrolment_opened", ticket_key);
        }
        AuthorityAction::SetRules(r) => set_rules(r)?,
        AuthorityAction::DelegateRules {
            scheme,
            name,
            org: to,
        } => {
            let key = keys::rules_delegate(scheme, name);
            match to {
                Some(id) => {
                    ensure!(
                        org(id)?.status == OrgStatus::Active,
                        "organisation {id:?} is not active"
                    );
                    storage::set(&key, id);
                }
                None => storage::remove(&key),
            }
            env::emit(
                "rules_delegated",
                &(scheme.clone(), name.clone(), to.clone()),
            );
        }
        AuthorityAction::VouchSite { gln, istat } => {
            ensure!(
                storage::has(&keys::site(gln)),
                "site {gln} is not registered"
            );
            let area = SiteArea {
                istat: istat.clone(),
                vouched_height: env::height(),
            };
            storage::set(&keys::site_area(gln), &area);
            env::emit("site_vouched", gln);
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

/// A protected name's rules set by the organisation the authority delegated
/// them to, with one of its admin keys: the checks of [`set_rules`] apply.
fn set_rules_delegated(r: ProductionRules) -> Result<Vec<u8>> {
    let caller = env::caller_org_with(rights::ADMIN)?;
    ensure!(
        caller.status == OrgStatus::Active,
        "organisation {:?} is not active",
        caller.id
    );
    let delegate: Option<alloc::string::String> =
        storage::get(&keys::rules_delegate(&r.scheme, &r.name))?;
    ensure!(
        delegate.as_deref() == Some(caller.id.as_str()),
        "the rules of {} {:?} are not delegated to {:?}: the authority sets them",
        r.scheme,
        r.name,
        caller.id
    );
    if let Some(why) = rules::malformed(&r) {
        return Err(fail!("{why}"));
    }
    let versions: Vec<RulesVersion> =
        storage::get(&keys::rules(&r.scheme, &r.name))?.unwrap_or_default();
    ensure!(
        versions.len() < rules::VERSIONS_MAX - rules::VERSIONS_RESERVED_FOR_AUTHORITY,
        "{:?} has {} versions: the rest are the authority's",
        r.name,
        versions.len()
    );
    set_rules(&r)?;
    Ok(Vec::new())
}

/// Appends a version of a protected name's rules. Its date may not be
/// before the block that approves it (a backdated amendment would change
/// what lots already made were made under) nor before the version it
/// amends (versions apply in their order).
fn set_rules(r: &ProductionRules) -> Result<()> {
    ensure!(
        r.applies_from_ms >= env::time_ms(),
        "rules of {:?} would apply from {} ms, before this block ({} ms): backdated",
        r.name,
        r.applies_from_ms,
        env::time_ms()
    );
    ensure!(
        r.applies_from_ms <= env::time_ms().saturating_add(rules::APPLIES_AHEAD_MS_MAX),
        "rules of {:?} would apply from {} ms, more than two years after this block: too far ahead",
        r.name,
        r.applies_from_ms
    );
    let key = keys::rules(&r.scheme, &r.name);
    let mut versions: Vec<RulesVersion> = storage::get(&key)?.unwrap_or_default();
    if let Some(last) = versions.last() {
        ensure!(
            r.applies_from_ms > last.rules.applies_from_ms,
            "rules of {:?} would apply before version {} they amend",
            r.name,
            last.version
        );
    }
    ensure!(
        versions.len() < rules::VERSIONS_MAX,
        "{:?} has {} versions of its rules already",
        r.name,
        rules::VERSIONS_MAX
    );
    let version = versions.last().map_or(1, |v| v.version + 1);
    versions.push(RulesVersion {
        version,
        rules: r.clone(),
        approved_height: env::height(),
    });
    storage::set(&key, &versions);
    env::emit("rules_set", &(r.name.clone(), version));
    Ok(())
}

fn update_roles(id: &str, change: impl Fn(RoleSet) -> RoleSet) -> Result<()> {
    let mut record = org(id)?;
    record.roles = change(record.roles);
    storage::set(&keys::org(id), &record);
    Ok(())
}

fn register_site(site: SiteRecord) -> Result<Vec<u8>> {
    let me = env::caller_org_with(rights::ADMIN)?;
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

/// Adds `key` to `record` (saved) with `grant`.
fn add_key(record: &mut OrgRecord, key: &KeyBytes, grant: &DeviceGrant) -> Result<()> {
    ensure!(
        record.keys.len() < ORG_KEYS_MAX,
        "organisation {:?} has {ORG_KEYS_MAX} keys already",
        record.id
    );
    ensure!(
        !authority()?.keys.contains(key),
        "the key is one of the authority's"
    );
    ensure!(
        !storage::has(&keys::key_owner(key)) && !storage::has(&keys::device(key)),
        "the key already belongs to an organisation"
    );
    record.keys.push(*key);
    storage::set(&keys::key_owner(key), &record.id);
    storage::set(&keys::device(key), grant);
    storage::set(&keys::org(&record.id), record);
    env::emit("device_added", key);
    Ok(())
}

/// Removes `key` from `record` (saved), with its grant if it has one.
fn remove_key(record: &mut OrgRecord, key: &KeyBytes) -> Result<()> {
    ensure!(
        record.keys.contains(key),
        "the key is not one of {:?}'s",
        record.id
    );
    record.keys.retain(|k| k != key);
    storage::remove(&keys::key_owner(key));
    storage::remove(&keys::device(key));
    storage::set(&keys::org(&record.id), record);
    Ok(())
}

/// Rights name at least one right and no unknown one.
fn check_rights(granted: u8) -> Result<()> {
    ensure!(
        granted != 0 && granted & !rights::ALL == 0,
        "rights {granted:#x} name no right or an unknown one"
    );
    Ok(())
}

fn check_device(label: &str, granted: u8) -> Result<()> {
    ensure!(
        text_is_valid(label, DEVICE_LABEL_BYTES_MAX),
        "a device label is 1 to {DEVICE_LABEL_BYTES_MAX} bytes of text"
    );
    check_rights(granted)
}

/// A new device uses an open ticket. Admission checked that the ticket is
/// open and that its key signed the caller's key
/// (`filiera_execution::standing`), but only for a key of no one: so the
/// caller must be a key of no one here too (an authority key, a member at
/// admission, would otherwise take a ticket without its secret). The
/// ticket's expiry is judged here, by block time, first, and an expired
/// ticket is closed so it cannot be tried again.
fn enrol(e: Enrol) -> Result<Vec<u8>> {
    let me = env::caller();
    ensure!(
        !authority()?.keys.contains(&me) && env::org_of(&me)?.is_none(),
        "only a key of no organisation enrols"
    );
    let ticket: EnrolmentTicket =
        storage::get(&keys::enrolment(&e.ticket_key))?.ok_or_else(|| {
            fail!("no open enrolment for this ticket (used, expired or never opened)")
        })?;
    if env::time_ms() > ticket.expires_ms {
        // Not an error: the ticket's removal must be kept.
        storage::remove(&keys::enrolment(&e.ticket_key));
        env::emit("enrolment_expired", &e.ticket_key);
        return Ok(encode(&false));
    }
    check_device(&e.label, ticket.rights)?;
    let mut record = org(&ticket.org)?;
    ensure!(
        record.status == OrgStatus::Active,
        "organisation {:?} is not active",
        record.id
    );
    storage::remove(&keys::enrolment(&e.ticket_key));
    let grant = DeviceGrant {
        org: record.id.clone(),
        label: e.label,
        rights: ticket.rights,
        expires_ms: 0,
        added_by: e.ticket_key,
        added_height: env::height(),
    };
    add_key(&mut record, &me, &grant)?;
    Ok(encode(&true))
}

/// An admin device adds a key. It gives no more than it holds: an admin
/// device limited in rights or time cannot make an unlimited one (a key
/// the authority gave holds everything, for ever).
fn add_device(a: AddDevice) -> Result<Vec<u8>> {
    let mut record = env::caller_org_with(rights::ADMIN)?;
    ensure!(
        record.status == OrgStatus::Active,
        "organisation {:?} is not active",
        record.id
    );
    check_device(&a.label, a.rights)?;
    ensure!(
        a.expires_ms == 0 || a.expires_ms > env::time_ms(),
        "the device key would be expired already"
    );
    if let Some(mine) = storage::get::<DeviceGrant>(&keys::device(&env::caller()))? {
        ensure!(
            a.rights & !mine.rights == 0,
            "a device gives no right it does not hold"
        );
        ensure!(
            mine.expires_ms == 0 || (a.expires_ms != 0 && a.expires_ms <= mine.expires_ms),
            "a device gives no key that outlives its own"
        );
    }
    let grant = DeviceGrant {
        org: record.id.clone(),
        label: a.label,
        rights: a.rights,
        expires_ms: a.expires_ms,
        added_by: env::caller(),
        added_height: env::height(),
    };
    add_key(&mut record, &a.key, &grant)?;
    Ok(Vec::new())
}

fn revoke_device(key: KeyBytes) -> Result<Vec<u8>> {
    let me = env::caller();
    let mut record = env::caller_org_with(rights::ADMIN)?;
    ensure!(
        key != me,
        "a device does not revoke itself: revoke it from another admin device"
    );
    remove_key(&mut record, &key)?;
    env::emit("device_revoked", &key);
    Ok(Vec::new())
}
