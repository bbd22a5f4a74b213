//! The certification contract: attestations that a lot, product or
//! organisation conforms to a scheme, issued by accredited bodies.
//!
//! **Invariants.** A body attests only inside an accreditation valid at the
//! block's time, for its scheme and scope; for a lot or product the scheme and
//! protected name are the product's own. Only the issuing body suspends,
//! reinstates or revokes (the authority may also revoke). Validity at a time
//! is derived from the window and the history, never stored.
//!
//! **Threats.** A body accredited for another scheme or scope, an expired or
//! withdrawn accreditation, or a key of another body is refused with a reason.

#![no_std]

extern crate alloc;

use alloc::vec::Vec;
use filiera_contract_api::certification::{
    Attest, Attestation, Change, ChangeStatus, HISTORY_MAX, StatusChange, Subject, method,
};
use filiera_contract_api::lots::{LotRecord, LotRef, ProductRecord};
use filiera_contract_api::registry::{AccreditationRecord, OrgRecord, Role, rights};
use filiera_contract_api::rules::{self, LotRules, RulesVersion};
use filiera_contract_api::{
    TEXT_BYTES_MAX, code_is_valid, contract_ids, encode, keys, text_is_valid,
};
use filiera_contract_sdk::{Result, args, ensure, env, fail, storage};

filiera_contract_sdk::entry!(dispatch);

fn dispatch(method: &str, input: &[u8]) -> Result<Vec<u8>> {
    match method {
        method::ATTEST => attest(args(input)?),
        method::SUSPEND => change(args(input)?, Change::Suspend),
        method::REINSTATE => change(args(input)?, Change::Reinstate),
        method::REVOKE => change(args(input)?, Change::Revoke),
        other => Err(fail!("certification has no method {other:?}")),
    }
}

fn caller_org() -> Result<OrgRecord> {
    env::caller_org_with(rights::RECORD)
}

/// The product a subject names, if it names one.
fn product_of(subject: &Subject) -> Result<Option<ProductRecord>> {
    let gtin = match subject {
        Subject::Lot(lot) => {
            let record: LotRecord =
                env::read_public(contract_ids::LOTS, &keys::lot(&lot.gtin, &lot.lot))?
                    .ok_or_else(|| fail!("no lot {}/{}", lot.gtin, lot.lot))?;
            record.id.gtin
        }
        Subject::Product(gtin) => gtin.clone(),
        Subject::Org(id) => {
            ensure!(env::org_of_id(id)?.is_some(), "no organisation {id:?}");
            return Ok(None);
        }
    };
    env::read_public(contract_ids::LOTS, &keys::product(&gtin))?
        .ok_or_else(|| fail!("no product {gtin}"))
        .map(Some)
}

/// A lot made under production rules is attested only if it went through
/// their steps, in order, within their durations (the version it was made
/// under, not today's).
fn meets_its_rules(lot: &LotRef) -> Result<()> {
    let made: Option<LotRules> =
        env::read_public(contract_ids::LOTS, &keys::lot_rules(&lot.gtin, &lot.lot))?;
    let Some(made) = made else {
        return Ok(());
    };
    let versions: Vec<RulesVersion> = env::read_public(
        contract_ids::REGISTRY,
        &keys::rules(&made.scheme, &made.name),
    )?
    .ok_or_else(|| fail!("no rules of {:?} in the registry", made.name))?;
    let version = versions
        .iter()
        .find(|v| v.version == made.version)
        .ok_or_else(|| {
            fail!(
                "no version {} of the rules of {:?}",
                made.version,
                made.name
            )
        })?;
    match rules::attestable(&version.rules, &made) {
        Some(why) => Err(fail!(
            "{why}: lot {}/{} does not meet {:?} v{}",
            lot.gtin,
            lot.lot,
            made.name,
            made.version
        )),
        None => Ok(()),
    }
}

fn attest(a: Attest) -> Result<Vec<u8>> {
    let body = caller_org()?;
    ensure!(
        body.may(Role::CertificationBody),
        "organisation {} is not an active certification body",
        body.id
    );
    ensure!(code_is_valid(&a.scheme), "scheme is not a code");
    ensure!(
        text_is_valid(&a.protected_name, TEXT_BYTES_MAX),
        "protected name is empty or too long"
    );
    ensure!(
        a.valid_from_ms < a.valid_until_ms,
        "validity window is empty"
    );
    let now = env::time_ms();
    let accreditation: AccreditationRecord = env::read_public(
        contract_ids::REGISTRY,
        &keys::accreditation(&body.id, &a.scheme),
    )?
    .ok_or_else(|| fail!("{} is not accredited for {}", body.id, a.scheme))?;
    ensure!(
        accreditation.covers(&a.protected_name, now),
        "{}'s {} accreditation does not cover {:?} now",
        body.id,
        a.scheme,
        a.protected_name
    );
    ensure!(
        a.valid_until_ms <= accreditation.valid_until_ms,
        "attestation outlives the accreditation"
    );
    if let Some(product) = product_of(&a.subject)? {
        ensure!(
            product.scheme == a.scheme,
            "product {} is {}, not {}",
            product.gtin,
            product.scheme,
            a.scheme
        );
        ensure!(
            product.name == a.protected_name,
            "product {} is {:?}, not {:?}",
            product.gtin,
            product.name,
            a.protected_name
        );
    }
    match &a.subject {
        Subject::Lot(lot) => meets_its_rules(lot)?,
        // A product-wide attestation would show on every lot of it, also
        // on one that broke its rules: a name with rules is attested lot
        // by lot, each against the version it was made under.
        Subject::Product(_) => {
            let versions: Option<Vec<RulesVersion>> = env::read_public(
                contract_ids::REGISTRY,
                &keys::rules(&a.scheme, &a.protected_name),
            )?;
            ensure!(
                versions.is_none_or(|v| v.is_empty()),
                "{:?} has production rules: attest its lots, each against the version it was made under",
                a.protected_name
            );
        }
        Subject::Org(_) => {}
    }
    let id: u64 = storage::get(keys::NEXT_ATTESTATION)?.unwrap_or(0);
    storage::set(keys::NEXT_ATTESTATION, &(id + 1));
    let subject_key = a.subject.key();
    let attestation = Attestation {
        id,
        body: body.id,
        subject: a.subject,
        scheme: a.scheme,
        protected_name: a.protected_name,
        evidence_hash: a.evidence_hash,
        valid_from_ms: a.valid_from_ms,
        valid_until_ms: a.valid_until_ms,
        issued_ms: now,
        history: Vec::new(),
    };
    storage::set(&keys::attestation(id), &attestation);
    storage::set(&keys::attestation_of(&subject_key, id), &());
    env::emit("attested", &id);
    Ok(encode(&id))
}

fn change(c: ChangeStatus, what: Change) -> Result<Vec<u8>> {
    let org = caller_org()?;
    let mut att: Attestation =
        storage::get(&keys::attestation(c.id))?.ok_or_else(|| fail!("no attestation {}", c.id))?;
    let issuer = att.body == org.id && org.may(Role::CertificationBody);
    let authority = what == Change::Revoke && org.may(Role::Authority);
    ensure!(
        issuer || authority,
        "only the issuing body changes attestation {}",
        c.id
    );
    ensure!(
        text_is_valid(&c.reason, TEXT_BYTES_MAX),
        "a status change needs a reason"
    );
    ensure!(
        att.history.len() < HISTORY_MAX,
        "attestation {} has {HISTORY_MAX} changes already",
        c.id
    );
    let revoked = att.history.iter().any(|h| h.change == Change::Revoke);
    ensure!(!revoked, "attestation {} is revoked", c.id);
    let suspended = att
        .history
        .last()
        .is_some_and(|h| h.change == Change::Suspend);
    match what {
        Change::Suspend => ensure!(!suspended, "attestation {} is already suspended", c.id),
        Change::Reinstate => ensure!(suspended, "attestation {} is not suspended", c.id),
        Change::Revoke => {}
    }
    att.history.push(StatusChange {
        change: what,
        time_ms: env::time_ms(),
        reason: c.reason,
    });
    storage::set(&keys::attestation(c.id), &att);
    env::emit("attestation_changed", &(c.id, what));
    Ok(Vec::new())
}
