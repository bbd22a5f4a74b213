//! The authority sets validators: only for active validator operators, with
//! the height recorded so the node can schedule the set change.

use crate::chain::{Chain, key};
use filiera_contract_api::contract_ids::REGISTRY;
use filiera_contract_api::registry::{AuthorityAction, Role, ValidatorRecord};
use filiera_contract_api::{encode, keys};

fn set_validator(org: &str, seed: u8, power: u64) -> AuthorityAction {
    AuthorityAction::SetValidator {
        org: org.into(),
        consensus_key: key(seed).public_key().0,
        p2p_key: key(seed + 1).public_key().0,
        power,
    }
}

#[test]
fn the_authority_sets_and_removes_validators_of_validator_operators_only() {
    let mut chain = Chain::new();
    chain.onboard("consorzio", 4, &[Role::ValidatorOperator], &key(40));
    chain.onboard("caseificio", 3, &[Role::Producer], &key(41));

    chain.authority_does(set_validator("consorzio", 50, 3));
    let record: ValidatorRecord = chain
        .get(REGISTRY, &keys::validator(&key(50).public_key().0))
        .expect("validator record written");
    assert_eq!(record.power, 3);
    assert_eq!(record.p2p_key, key(51).public_key().0);
    assert_eq!(
        record.set_height, chain.height,
        "the executing block's height"
    );

    // Power 0 removes: the record stays, with power 0, so the node sees the change.
    chain.authority_does(set_validator("consorzio", 50, 0));
    let record: ValidatorRecord = chain
        .get(REGISTRY, &keys::validator(&key(50).public_key().0))
        .unwrap();
    assert_eq!(record.power, 0);

    // A producer cannot operate a validator: the approval that would execute it fails.
    let (a, b) = (chain.authority[0].clone(), chain.authority[1].clone());
    let r = chain.ok(
        &a,
        REGISTRY,
        "propose",
        encode(&set_validator("caseificio", 60, 1)),
    );
    let id: u64 = filiera_contract_api::decode(&r.return_data).unwrap();
    chain.refused(
        &b,
        REGISTRY,
        "approve",
        encode(&id),
        "not an active validator operator",
    );
    assert!(
        chain
            .get::<ValidatorRecord>(REGISTRY, &keys::validator(&key(60).public_key().0))
            .is_none()
    );
}
