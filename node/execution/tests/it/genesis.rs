//! Genesis becomes contract state, and pins the contracts' code.

use filiera_contract_api::contract_ids::{LOTS, REGISTRY};
use filiera_contract_api::lots::ProductRecord;
use filiera_contract_api::registry::{AccreditationRecord, AuthorityRecord, OrgRecord, Role};
use filiera_contract_api::{decode, keys};
use filiera_execution::contracts::{builtin, code_hash};
use filiera_execution::genesis::{GenesisStateError, check_contracts, genesis_state};
use filiera_types::genesis::{Genesis, GenesisContract};
use filiera_types::governance::ContractVersion;
use filiera_types::{Domain, Hash, encoding, sys_keys};

fn fixture() -> Genesis {
    Genesis::from_json(include_bytes!(
        "../../../../sdk/types/tests/fixtures/genesis.json"
    ))
    .unwrap()
}

/// Genesis entries pinning the contracts this node ships.
fn pinned_builtin() -> Vec<GenesisContract> {
    builtin()
        .iter()
        .map(|(id, code)| GenesisContract {
            id: id.clone(),
            code_hash: code_hash(code),
        })
        .collect()
}

#[test]
fn genesis_state_is_what_the_contracts_read() {
    let g = fixture();
    let state = genesis_state(&g);
    let get = |contract: &str, key: &[u8]| {
        state
            .get(&keys::state_key(contract, key))
            .unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(key)))
    };
    let authority: AuthorityRecord = decode(get(REGISTRY, keys::AUTHORITY)).unwrap();
    assert_eq!(authority.threshold, 2);
    assert_eq!(authority.keys.len(), 3);
    let assam: OrgRecord = decode(get(REGISTRY, &keys::org("assam-apc"))).unwrap();
    assert!(assam.may(Role::CertificationBody) && !assam.may(Role::Producer));
    let owner: String = decode(get(REGISTRY, &keys::key_owner(&assam.keys[0]))).unwrap();
    assert_eq!(owner, "assam-apc");
    let accreditation: AccreditationRecord =
        decode(get(REGISTRY, &keys::accreditation("assam-apc", "DOP"))).unwrap();
    assert!(!accreditation.withdrawn);
    let product: ProductRecord = decode(get(LOTS, &keys::product("09521234100010"))).unwrap();
    assert_eq!(
        (product.owner.as_str(), product.scheme.as_str()),
        ("caseificio-demo", "DOP")
    );
    assert!(
        !state.contains_key(&keys::state_key(LOTS, &keys::product("09521234100027"))),
        "products without an owner wait for one"
    );
}

#[test]
fn genesis_must_pin_exactly_the_shipped_contract_code() {
    let mut g = fixture();
    assert!(matches!(
        check_contracts(&g, &builtin()),
        Err(GenesisStateError::MissingContract(_))
    ));
    g.contracts = pinned_builtin();
    check_contracts(&g, &builtin()).unwrap();
    g.contracts[1].code_hash = Hash::of(Domain::ContractCode, b"other code");
    assert!(matches!(
        check_contracts(&g, &builtin()),
        Err(GenesisStateError::CodeMismatch { .. })
    ));
}

#[test]
fn genesis_contracts_are_version_one_with_their_modules_in_state() {
    let mut g = fixture();
    g.contracts = pinned_builtin();
    let state = genesis_state(&g);
    for (id, code) in builtin() {
        let table = state
            .get(&sys_keys::contract_versions(&id))
            .unwrap_or_else(|| panic!("{id} has a version table"));
        let table: Vec<ContractVersion> = encoding::decode("versions", table, usize::MAX).unwrap();
        assert_eq!(
            table,
            vec![ContractVersion {
                version: 1,
                code_hash: code_hash(code),
                from_height: 0,
                proposal: None,
            }]
        );
        assert_eq!(
            state
                .get(&sys_keys::code(&code_hash(code)))
                .map(Vec::as_slice),
            Some(code),
            "{id}'s module is readable from state"
        );
    }
}
