//! An organisation's own device keys, on the real runtime and contracts:
//! enrolment with a one-time ticket, keys added with limited rights and an
//! expiry by an admin device, revocation, and what each may not do.

use crate::chain::{Chain, START_MS, key};
use crate::lifecycle::{commission_args, gtin, lot, product};
use filiera_contract_api::lots::Recall;
use filiera_contract_api::registry::{
    AddDevice, AuthorityAction, DeviceGrant, Enrol, OrgRecord, Role, enrolment_message, rights,
};
use filiera_contract_api::{contract_ids::LOTS, contract_ids::REGISTRY, encode, keys};
use filiera_types::SecretKey;

const ORG: &str = "caseificio-montefeltro";

fn ed25519(seed: u8) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
}

/// The enrolment `device` sends with the ticket of seed `ticket`.
fn enrolment(chain: &Chain, ticket: u8, device: &SecretKey, label: &str) -> Enrol {
    use ed25519_dalek::Signer;
    let ticket = ed25519(ticket);
    let message = enrolment_message(chain.chain_id.as_str(), &device.public_key().0);
    Enrol {
        ticket_key: ticket.verifying_key().to_bytes(),
        proof: ticket.sign(&message).to_bytes().to_vec(),
        label: label.into(),
    }
}

/// `add_device`'s arguments for `device`.
fn add_device(device: &SecretKey, label: &str, granted: u8, expires_ms: u64) -> Vec<u8> {
    encode(&AddDevice {
        key: device.public_key().0,
        label: label.into(),
        rights: granted,
        expires_ms,
    })
}

fn open_ticket(chain: &mut Chain, ticket: u8, granted: u8, expires_ms: u64) {
    chain.authority_does(AuthorityAction::OpenEnrolment {
        org: ORG.into(),
        ticket_key: ed25519(ticket).verifying_key().to_bytes(),
        rights: granted,
        expires_ms,
    });
}

fn org(chain: &Chain) -> OrgRecord {
    chain.get(REGISTRY, &keys::org(ORG)).unwrap()
}

/// An organisation onboarded with one authority-given key (seed 10), and a
/// first admin device (seed 51) enrolled with ticket 50.
fn enrolled() -> (Chain, SecretKey) {
    let mut chain = Chain::new();
    chain.onboard(ORG, 3, &[Role::Producer], &key(10));
    open_ticket(&mut chain, 50, rights::ALL, START_MS + 3_600_000);
    let admin = key(51);
    let args = enrolment(&chain, 50, &admin, "device 1, admin");
    let r = chain.ok(&admin, REGISTRY, "enrol", encode(&args));
    assert_eq!(r.return_data, encode(&true), "enrolled");
    (chain, admin)
}

#[test]
fn a_ticket_enrols_one_device_once_and_a_copy_enrols_no_one() {
    let mut chain = Chain::new();
    chain.onboard(ORG, 3, &[Role::Producer], &key(10));
    open_ticket(&mut chain, 50, rights::ALL, START_MS + 3_600_000);
    let (device, thief) = (key(51), key(52));
    let args = enrolment(&chain, 50, &device, "device 1, admin");

    // Someone who saw the enrolment (in the mempool, say) sends it as its
    // own: the ticket signed another key, so admission refuses it.
    chain.refused(
        &thief,
        REGISTRY,
        "enrol",
        encode(&args),
        "not a key of a member organisation",
    );
    // A key of no one may enrol, and do nothing else.
    chain.refused(
        &device,
        REGISTRY,
        "register_site",
        encode(&args),
        "not a key of a member organisation",
    );
    chain.ok(&device, REGISTRY, "enrol", encode(&args));
    assert!(org(&chain).keys.contains(&device.public_key().0));
    let grant: DeviceGrant = chain
        .get(REGISTRY, &keys::device(&device.public_key().0))
        .unwrap();
    assert_eq!(grant.rights, rights::ALL);
    assert_eq!(grant.label, "device 1, admin");
    assert_eq!(grant.added_by, ed25519(50).verifying_key().to_bytes());
    assert!(
        chain
            .get::<filiera_contract_api::registry::EnrolmentTicket>(
                REGISTRY,
                &keys::enrolment(&ed25519(50).verifying_key().to_bytes())
            )
            .is_none(),
        "the ticket is used up"
    );
    // Used: the thief's own properly signed enrolment is refused at the door.
    let again = enrolment(&chain, 50, &thief, "device 2");
    chain.refused(
        &thief,
        REGISTRY,
        "enrol",
        encode(&again),
        "not a key of a member organisation",
    );
    assert_eq!(org(&chain).keys.len(), 2);
}

#[test]
fn an_expired_ticket_is_closed_and_enrols_nothing() {
    let mut chain = Chain::new();
    chain.onboard(ORG, 3, &[Role::Producer], &key(10));
    // Each block is a minute: proposed and approved in the next two, then
    // two empty blocks take the chain past it.
    let expires_ms = chain.time_ms + 150_000;
    open_ticket(&mut chain, 60, rights::ALL, expires_ms);
    chain.block(&[]);
    chain.block(&[]);
    assert!(chain.time_ms > expires_ms);
    let late = key(61);
    let args = enrolment(&chain, 60, &late, "device 1");
    let r = chain.ok(&late, REGISTRY, "enrol", encode(&args));
    assert_eq!(r.return_data, encode(&false), "not enrolled");
    assert!(!org(&chain).keys.contains(&late.public_key().0));
    assert!(
        chain
            .get::<filiera_contract_api::registry::EnrolmentTicket>(
                REGISTRY,
                &keys::enrolment(&ed25519(60).verifying_key().to_bytes())
            )
            .is_none(),
        "the expired ticket is closed"
    );
    // Closed: trying again is refused at the door, no contract runs.
    chain.refused(
        &late,
        REGISTRY,
        "enrol",
        encode(&args),
        "not a key of a member organisation",
    );
}

#[test]
fn an_admin_device_adds_a_limited_key_that_may_record_but_not_recall_nor_add() {
    let (mut chain, admin) = enrolled();
    let worker = key(60);
    chain.ok(
        &admin,
        REGISTRY,
        "add_device",
        add_device(&worker, "device 2, cellar", rights::RECORD, 0),
    );
    let g = gtin("0952123410001");
    product(
        &mut chain,
        &worker,
        &g,
        "Casciotta d'Urbino DOP",
        "DOP",
        1000,
    );
    let id = lot(&g, "CU-1");
    chain.ok(
        &worker,
        LOTS,
        "commission",
        encode(&commission_args(&id, 100)),
    );
    chain.refused(
        &worker,
        LOTS,
        "recall",
        encode(&Recall {
            id: id.clone(),
            reason: "test".into(),
        }),
        "may not do this",
    );
    chain.refused(
        &worker,
        REGISTRY,
        "add_device",
        add_device(&key(61), "device 3", rights::ALL, 0),
        "may not do this",
    );
    // The admin device may recall.
    chain.ok(
        &admin,
        LOTS,
        "recall",
        encode(&Recall {
            id,
            reason: "test".into(),
        }),
    );
}

#[test]
fn a_revoked_device_is_refused_at_the_door_and_a_device_never_revokes_itself() {
    let (mut chain, admin) = enrolled();
    let phone = key(60);
    chain.ok(
        &admin,
        REGISTRY,
        "add_device",
        add_device(&phone, "device 2", rights::RECORD, 0),
    );
    let g = gtin("0952123410001");
    product(
        &mut chain,
        &phone,
        &g,
        "Casciotta d'Urbino DOP",
        "DOP",
        1000,
    );
    chain.refused(
        &admin,
        REGISTRY,
        "revoke_device",
        encode(&admin.public_key().0),
        "does not revoke itself",
    );
    // Another organisation's admin cannot touch this one's keys.
    chain.onboard("altra-azienda", 3, &[Role::Producer], &key(70));
    chain.refused(
        &key(70),
        REGISTRY,
        "revoke_device",
        encode(&phone.public_key().0),
        "is not one of",
    );
    chain.ok(
        &admin,
        REGISTRY,
        "revoke_device",
        encode(&phone.public_key().0),
    );
    assert!(!org(&chain).keys.contains(&phone.public_key().0));
    assert!(
        chain
            .get::<DeviceGrant>(REGISTRY, &keys::device(&phone.public_key().0))
            .is_none()
    );
    let id = lot(&g, "CU-2");
    chain.refused(
        &phone,
        LOTS,
        "commission",
        encode(&commission_args(&id, 10)),
        "not a key of a member organisation",
    );
}

#[test]
fn a_device_key_stops_acting_after_its_expiry() {
    let (mut chain, admin) = enrolled();
    let temp = key(60);
    chain.ok(
        &admin,
        REGISTRY,
        "add_device",
        // Each block is a minute: good for the next two blocks.
        add_device(
            &temp,
            "harvest helper",
            rights::RECORD,
            chain.time_ms + 2 * 60_000,
        ),
    );
    let g = gtin("0952123410001");
    product(&mut chain, &temp, &g, "Verdicchio DOC", "DOC", 1000);
    chain.block(&[]);
    chain.block(&[]);
    chain.refused(
        &temp,
        LOTS,
        "commission",
        encode(&commission_args(&lot(&g, "V-1"), 10)),
        "lacks the right or has expired",
    );
    // A key the authority gave has no grant, so no expiry.
    chain.ok(
        &key(10),
        LOTS,
        "commission",
        encode(&commission_args(&lot(&g, "V-1"), 10)),
    );
}

#[test]
fn an_authority_key_takes_no_ticket_and_no_organisation_adopts_an_authority_key() {
    let (mut chain, admin) = enrolled();
    let until = chain.time_ms + 3_600_000;
    open_ticket(&mut chain, 70, rights::ALL, until);
    // An authority key is a member at admission, where the proof is not
    // asked of it: the contract refuses it, whatever proof it carries.
    let authority = chain.authority[2].clone();
    let forged = Enrol {
        ticket_key: ed25519(70).verifying_key().to_bytes(),
        proof: vec![0; 64],
        label: "not mine".into(),
    };
    chain.refused(
        &authority,
        REGISTRY,
        "enrol",
        encode(&forged),
        "only a key of no organisation enrols",
    );
    // An organisation's admin cannot make an authority key its own (a later
    // suspension would silence the authority).
    chain.refused(
        &admin,
        REGISTRY,
        "add_device",
        add_device(&authority, "authority?", rights::RECORD, 0),
        "one of the authority's",
    );
}

#[test]
fn a_limited_admin_gives_no_more_than_it_holds() {
    let (mut chain, admin) = enrolled();
    let deputy = key(60);
    let until = chain.time_ms + 3_600_000;
    chain.ok(
        &admin,
        REGISTRY,
        "add_device",
        add_device(&deputy, "deputy", rights::ADMIN | rights::RECORD, until),
    );
    let add = |granted: u8, expires_ms: u64| add_device(&key(61), "device 3", granted, expires_ms);
    chain.refused(
        &deputy,
        REGISTRY,
        "add_device",
        add(rights::ALL, until),
        "no right it does not hold",
    );
    chain.refused(
        &deputy,
        REGISTRY,
        "add_device",
        add(rights::RECORD, 0),
        "outlives its own",
    );
    chain.refused(
        &deputy,
        REGISTRY,
        "add_device",
        add(rights::RECORD, until + 1),
        "outlives its own",
    );
    chain.ok(&deputy, REGISTRY, "add_device", add(rights::RECORD, until));
}

#[test]
fn an_enrolment_the_approvals_reached_too_late_opens_nothing() {
    let mut chain = Chain::new();
    chain.onboard(ORG, 3, &[Role::Producer], &key(10));
    let (a, b) = (chain.authority[0].clone(), chain.authority[1].clone());
    let action = AuthorityAction::OpenEnrolment {
        org: ORG.into(),
        ticket_key: ed25519(80).verifying_key().to_bytes(),
        rights: rights::ALL,
        expires_ms: chain.time_ms + 90_000,
    };
    let r = chain.ok(&a, REGISTRY, "propose", encode(&action));
    let id: u64 = filiera_contract_api::decode(&r.return_data).unwrap();
    chain.block(&[]);
    chain.refused(&b, REGISTRY, "approve", encode(&id), "expired already");
}
