//! The state a chain starts from: the genesis document written into the
//! contracts' own storage formats, so the first block's contracts find the
//! authority, organisations, accreditations, sites and products they enforce.

use crate::contracts::code_hash;
use filiera_contract_api::lots::{ProductRecord, YIELD_SCALE};
use filiera_contract_api::registry::{
    AccreditationRecord, AuthorityRecord, OrgRecord, OrgStatus, Role, RoleSet, SiteRecord,
};
use filiera_contract_api::rules::RulesVersion;
use filiera_contract_api::{contract_ids, encode, keys};
use filiera_types::genesis::Genesis;
use filiera_types::governance::ContractVersion;
use filiera_types::{ContractId, Hash};
use filiera_types::{encoding, sys_keys};
use std::collections::BTreeMap;

/// Why a genesis cannot start a chain with these contracts.
#[derive(Debug, thiserror::Error)]
pub enum GenesisStateError {
    /// Genesis pins a contract this node does not ship.
    #[error("genesis installs contract {0:?}, which this node does not have")]
    UnknownContract(String),
    /// Genesis pins another code hash than this node's contract.
    #[error("genesis pins contract {id:?} at {pinned}, this node's code hashes to {actual}")]
    CodeMismatch {
        /// The contract.
        id: String,
        /// The hash in genesis.
        pinned: String,
        /// The hash of the node's code.
        actual: String,
    },
    /// A built-in contract is missing from genesis.
    #[error("genesis does not install contract {0:?}")]
    MissingContract(String),
}

/// The state key of a contract's version table.
pub fn contract_key(id: &ContractId) -> Vec<u8> {
    filiera_types::sys_keys::contract_versions(id)
}

/// Checks that genesis pins exactly `contracts` (id and code).
pub fn check_contracts(
    genesis: &Genesis,
    contracts: &[(ContractId, &[u8])],
) -> Result<(), GenesisStateError> {
    for pinned in &genesis.contracts {
        let Some((_, code)) = contracts.iter().find(|(id, _)| *id == pinned.id) else {
            return Err(GenesisStateError::UnknownContract(
                pinned.id.as_str().to_owned(),
            ));
        };
        let actual = code_hash(code);
        if actual != pinned.code_hash {
            return Err(GenesisStateError::CodeMismatch {
                id: pinned.id.as_str().to_owned(),
                pinned: pinned.code_hash.to_hex(),
                actual: actual.to_hex(),
            });
        }
    }
    for (id, _) in contracts {
        if !genesis.contracts.iter().any(|c| c.id == *id) {
            return Err(GenesisStateError::MissingContract(id.as_str().to_owned()));
        }
    }
    Ok(())
}

/// The initial state: key to value, full state keys.
pub fn genesis_state(genesis: &Genesis) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut state = BTreeMap::new();
    let mut put = |contract: &str, key: &[u8], value: Vec<u8>| {
        state.insert(keys::state_key(contract, key), value);
    };
    let registry = contract_ids::REGISTRY;
    put(
        registry,
        keys::AUTHORITY,
        encode(&AuthorityRecord {
            org: genesis.authority.organisation.as_str().to_owned(),
            keys: genesis.authority.keys.iter().map(|k| k.0).collect(),
            threshold: genesis.authority.threshold,
        }),
    );
    for org in &genesis.organisations {
        let id = org.id.as_str();
        let roles: Vec<Role> = org.roles.clone();
        let record = OrgRecord {
            id: id.to_owned(),
            name: org.name.clone(),
            kind: org.kind as u8,
            vat_number: org.vat_number.clone(),
            roles: RoleSet::of(&roles),
            status: OrgStatus::Active,
            keys: org.keys.iter().map(|k| k.0).collect(),
        };
        put(registry, &keys::org(id), encode(&record));
        for key in &org.keys {
            put(registry, &keys::key_owner(&key.0), encode(&id.to_owned()));
        }
        for a in &org.accreditations {
            let record = AccreditationRecord {
                scheme: a.scheme.clone(),
                scope: a.scope.clone(),
                valid_from_ms: a.valid_from_ms,
                valid_until_ms: a.valid_until_ms,
                withdrawn: false,
            };
            put(
                registry,
                &keys::accreditation(id, &a.scheme),
                encode(&record),
            );
        }
    }
    for site in &genesis.catalogue.locations {
        if let Some(owner) = &site.owner {
            let record = SiteRecord {
                gln: site.gln.as_str().to_owned(),
                org: owner.as_str().to_owned(),
                kind: site.kind.clone(),
                name: site.name.clone(),
            };
            put(registry, &keys::site(site.gln.as_str()), encode(&record));
        }
    }
    for r in &genesis.catalogue.rules {
        let first = vec![RulesVersion {
            version: 1,
            rules: r.clone(),
            approved_height: 0,
        }];
        put(registry, &keys::rules(&r.scheme, &r.name), encode(&first));
    }
    // Catalogue products without an owner are registered later by the producer
    // who owns the GTIN. Genesis has no yields: no transformation gains quantity.
    for p in &genesis.catalogue.products {
        if let Some(owner) = &p.owner {
            let record = ProductRecord {
                gtin: p.gtin.as_str().to_owned(),
                owner: owner.as_str().to_owned(),
                name: p.name.clone(),
                scheme: p.scheme.clone(),
                uom: p.uom.clone(),
                max_yield_permille: YIELD_SCALE,
            };
            put(
                contract_ids::LOTS,
                &keys::product(p.gtin.as_str()),
                encode(&record),
            );
        }
    }
    // Genesis contracts are version 1 of each, their modules in state so
    // that the code that ran at any height can be read with a proof.
    // The chain's rules version at height 0: what every later version
    // replaces, and what a node's binary must implement to start.
    let rules = filiera_types::chain_rules::ChainRulesVersion {
        version: genesis.rules_version,
        from_height: 0,
        proposal: None,
    };
    state.insert(
        sys_keys::CHAIN_RULES.to_vec(),
        encoding::encode(&vec![rules]),
    );
    // The chain's limits at height 0: the consensus parameters, as the
    // first version of what governance moves.
    let limits = filiera_types::chain_limits::LimitsVersion {
        limits: filiera_types::chain_limits::ChainLimits::from_genesis(&genesis.consensus),
        from_height: 0,
        proposal: None,
    };
    state.insert(sys_keys::LIMITS.to_vec(), encoding::encode(&vec![limits]));
    let shipped = crate::contracts::builtin();
    for c in &genesis.contracts {
        let version = ContractVersion {
            version: 1,
            code_hash: c.code_hash,
            from_height: 0,
            proposal: None,
        };
        state.insert(contract_key(&c.id), encoding::encode(&vec![version]));
        if let Some((_, code)) = shipped
            .iter()
            .find(|(id, code)| *id == c.id && code_hash(code) == c.code_hash)
        {
            state.insert(sys_keys::code(&c.code_hash), code.to_vec());
        }
    }
    state
}

/// The genesis state's code hash entries must name these hashes: a helper for tests.
pub fn pinned(contracts: &[(ContractId, &[u8])]) -> Vec<(ContractId, Hash)> {
    contracts
        .iter()
        .map(|(id, code)| (id.clone(), code_hash(code)))
        .collect()
}
