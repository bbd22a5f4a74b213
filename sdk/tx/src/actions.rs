//! A typed call for every contract action: the arguments are the contract
//! API's own types, so a call that compiles is one the contract can decode.
//!
//! ```
//! use filiera_tx::actions;
//! use filiera_contract_api::lots::{Commission, LotRef};
//! let call = actions::commission(&Commission {
//!     id: LotRef { gtin: "09521234100010".into(), lot: "CU-2026-0150".into() },
//!     quantity: 80,
//!     site: None,
//!     metadata: vec![],
//!     private_hash: None,
//!     epcis_hash: None,
//! });
//! assert_eq!(call.method.as_str(), "commission");
//! ```

use borsh::BorshSerialize;
use filiera_contract_api::certification::{self, Attest, ChangeStatus};
use filiera_contract_api::lots::{
    self, Capture, Commission, Merge, Recall, Record, RegisterProduct, Split, Transform,
};
use filiera_contract_api::registry::{self, AuthorityAction, SiteRecord};
use filiera_contract_api::{contract_ids, encode};
use filiera_types::governance;
use filiera_types::{ContractCall, ContractId, MethodName};

fn call<T: BorshSerialize>(contract: &'static str, method: &'static str, args: &T) -> ContractCall {
    ContractCall {
        // Both names are constants of the contract API, valid by construction.
        contract: ContractId::new(contract).unwrap_or_else(|_| unreachable!("contract id")),
        method: MethodName::new(method).unwrap_or_else(|_| unreachable!("method name")),
        args: encode(args),
    }
}

/// An authority key proposes an action (onboard an organisation, grant roles,
/// accredit a body, change the validator set...).
pub fn propose(action: &AuthorityAction) -> ContractCall {
    call(contract_ids::REGISTRY, registry::method::PROPOSE, action)
}
/// Another authority key approves proposal `id`; it executes at the threshold.
pub fn approve(id: u64) -> ContractCall {
    call(contract_ids::REGISTRY, registry::method::APPROVE, &id)
}
/// A producer or processor registers one of its sites.
pub fn register_site(site: &SiteRecord) -> ContractCall {
    call(
        contract_ids::REGISTRY,
        registry::method::REGISTER_SITE,
        site,
    )
}
/// The owner of a GTIN registers its product.
pub fn register_product(p: &RegisterProduct) -> ContractCall {
    call(contract_ids::LOTS, lots::method::REGISTER_PRODUCT, p)
}
/// A new lot.
pub fn commission(c: &Commission) -> ContractCall {
    call(contract_ids::LOTS, lots::method::COMMISSION, c)
}
/// Lots consumed into lots.
pub fn transform(t: &Transform) -> ContractCall {
    call(contract_ids::LOTS, lots::method::TRANSFORM, t)
}
/// A lot split into parts.
pub fn split(s: &Split) -> ContractCall {
    call(contract_ids::LOTS, lots::method::SPLIT, s)
}
/// Lots merged into one.
pub fn merge(m: &Merge) -> ContractCall {
    call(contract_ids::LOTS, lots::method::MERGE, m)
}
/// Something that happened to a lot (ship, receive, store, inspect, hold,
/// release, sell, destroy).
pub fn record(r: &Record) -> ContractCall {
    call(contract_ids::LOTS, lots::method::RECORD, r)
}
/// A recall, reaching every lot made from the recalled one.
pub fn recall(r: &Recall) -> ContractCall {
    call(contract_ids::LOTS, lots::method::RECALL, r)
}
/// Lifts a recall opened on a lot, from it and every lot it reached.
pub fn close_recall(r: &Recall) -> ContractCall {
    call(contract_ids::LOTS, lots::method::CLOSE_RECALL, r)
}
/// An EPCIS event with its lot action (see [`crate::epcis`]).
pub fn capture(c: &Capture) -> ContractCall {
    call(contract_ids::LOTS, lots::method::CAPTURE, c)
}
/// An accredited body attests that a lot, product or organisation conforms.
pub fn attest(a: &Attest) -> ContractCall {
    call(
        contract_ids::CERTIFICATION,
        certification::method::ATTEST,
        a,
    )
}
/// The issuing body suspends an attestation.
pub fn suspend(c: &ChangeStatus) -> ContractCall {
    call(
        contract_ids::CERTIFICATION,
        certification::method::SUSPEND,
        c,
    )
}
/// The issuing body reinstates a suspended attestation.
pub fn reinstate(c: &ChangeStatus) -> ContractCall {
    call(
        contract_ids::CERTIFICATION,
        certification::method::REINSTATE,
        c,
    )
}
/// The issuing body (or the authority) revokes an attestation.
pub fn revoke(c: &ChangeStatus) -> ContractCall {
    call(
        contract_ids::CERTIFICATION,
        certification::method::REVOKE,
        c,
    )
}
/// A new device enrols itself with an open enrolment ticket (the only call
/// a key of no organisation may make).
pub fn enrol(e: &registry::Enrol) -> ContractCall {
    call(contract_ids::REGISTRY, registry::method::ENROL, e)
}
/// An admin device adds a device key to its organisation.
pub fn add_device(a: &registry::AddDevice) -> ContractCall {
    call(contract_ids::REGISTRY, registry::method::ADD_DEVICE, a)
}
/// An admin device revokes another device key of its organisation.
pub fn revoke_device(key: &filiera_contract_api::KeyBytes) -> ContractCall {
    call(contract_ids::REGISTRY, registry::method::REVOKE_DEVICE, key)
}

/// An authority key uploads a contract module: one call per chunk of at most
/// [`governance::UPLOAD_CHUNK_BYTES_MAX`] bytes, to send in order.
pub fn upload_code(code: &[u8]) -> Vec<ContractCall> {
    let code_hash = filiera_types::Hash::of(filiera_types::Domain::ContractCode, code);
    code.chunks(governance::UPLOAD_CHUNK_BYTES_MAX)
        .enumerate()
        .map(|(i, chunk)| {
            let upload = governance::Upload {
                code_hash,
                code_bytes: u32::try_from(code.len()).unwrap_or(u32::MAX),
                offset: u32::try_from(i * governance::UPLOAD_CHUNK_BYTES_MAX).unwrap_or(u32::MAX),
                bytes: chunk.to_vec(),
            };
            call(
                governance::GOVERNANCE_CONTRACT,
                governance::method::UPLOAD,
                &upload,
            )
        })
        .collect()
}
/// An authority key proposes a version of a contract (its module uploaded).
pub fn propose_upgrade(upgrade: &governance::Upgrade) -> ContractCall {
    call(
        governance::GOVERNANCE_CONTRACT,
        governance::method::PROPOSE,
        upgrade,
    )
}
/// A protected name's rules set by the organisation the authority delegated
/// them to (its consortium), with one of its admin keys.
pub fn set_rules_delegated(rules: &filiera_contract_api::rules::ProductionRules) -> ContractCall {
    call(
        filiera_contract_api::contract_ids::REGISTRY,
        filiera_contract_api::registry::method::SET_RULES,
        rules,
    )
}

/// An authority key proposes a chain rules version from its activation
/// height (approved like an upgrade, with [`approve_upgrade`]).
pub fn propose_chain_rules(upgrade: &filiera_types::chain_rules::RulesUpgrade) -> ContractCall {
    call(
        governance::GOVERNANCE_CONTRACT,
        governance::method::PROPOSE_RULES,
        upgrade,
    )
}
/// An authority key proposes new values of the chain's limits from their
/// activation height (approved like an upgrade, with [`approve_upgrade`]).
pub fn propose_limits(upgrade: &filiera_types::chain_limits::LimitsUpgrade) -> ContractCall {
    call(
        governance::GOVERNANCE_CONTRACT,
        governance::method::PROPOSE_LIMITS,
        upgrade,
    )
}
/// Another authority key approves upgrade proposal `id`; the version is
/// scheduled at the threshold.
pub fn approve_upgrade(id: u64) -> ContractCall {
    call(
        governance::GOVERNANCE_CONTRACT,
        governance::method::APPROVE,
        &id,
    )
}
