//! The chain's limits moved by governance: k of n authority keys schedule
//! new values from an activation height, within the protocol's ceilings;
//! the host applies the EPCIS event limit of the block's height.

use crate::chain::{Chain, key};
use crate::epcis::{capture_of, capture_with, commissioning, farms};
use crate::upgrades::{failed, refused};
use filiera_contract_api::contract_ids::LOTS;
use filiera_contract_api::encode as contract_encode;
use filiera_contract_api::registry::Role;
use filiera_types::chain_limits::{
    ChainLimits, EPCIS_EVENT_BYTES_FLOOR, LimitsProposal, LimitsUpgrade, LimitsVersion,
    TX_BYTES_FLOOR,
};
use filiera_types::encoding::{self, encode};
use filiera_types::governance::{GOVERNANCE_CONTRACT, UPGRADE_NOTICE_BLOCKS_MIN, method};
use filiera_types::limits::TX_BYTES_MAX;
use filiera_types::sys_keys;

fn limits(chain: &Chain) -> Vec<LimitsVersion> {
    let bytes = chain.state.0.get(sys_keys::LIMITS).expect("a limits table");
    encoding::decode("limits", bytes, usize::MAX).unwrap()
}

fn proposal(chain: &Chain, id: u64) -> LimitsProposal {
    let bytes = chain
        .state
        .0
        .get(&sys_keys::limits_proposal(id))
        .expect("the proposal");
    encoding::decode("limits proposal", bytes, usize::MAX).unwrap()
}

/// Proposes `upgrade` with `a`, approves it with `b`: its id.
fn schedule(chain: &mut Chain, upgrade: &LimitsUpgrade) -> u64 {
    let (a, b) = (chain.authority[0].clone(), chain.authority[1].clone());
    let r = chain.ok(
        &a,
        GOVERNANCE_CONTRACT,
        method::PROPOSE_LIMITS,
        encode(upgrade),
    );
    let id: u64 = encoding::decode("id", &r.return_data, 8).unwrap();
    chain.ok(&b, GOVERNANCE_CONTRACT, method::APPROVE, encode(&id));
    id
}

#[test]
fn limits_are_moved_by_two_of_three_from_their_height_and_refusals_change_nothing() {
    let mut chain = Chain::new();
    let producer = key(30);
    chain.onboard("caseificio", 3, &[Role::Producer], &producer);
    let (a, b) = (chain.authority[0].clone(), chain.authority[1].clone());
    let genesis = limits(&chain);
    let now = ChainLimits::default();
    let at = chain.height + 1 + UPGRADE_NOTICE_BLOCKS_MIN + 20;
    let upgrade = LimitsUpgrade {
        limits: ChainLimits {
            tx_bytes_max: 48 * 1024,
            block_txs_max: 5_000,
            ..now
        },
        replaces: now,
        activation_height: at,
    };
    let propose = method::PROPOSE_LIMITS;
    refused(
        &mut chain,
        &key(42),
        propose,
        encode(&upgrade),
        "not a key of a member",
    );
    refused(
        &mut chain,
        &producer,
        propose,
        encode(&upgrade),
        "only an authority key",
    );
    let with = |limits: ChainLimits| LimitsUpgrade {
        limits,
        ..upgrade.clone()
    };
    // A transaction too small for a module chunk would lock governance out.
    let small = with(ChainLimits {
        tx_bytes_max: TX_BYTES_FLOOR - 1,
        ..now
    });
    refused(&mut chain, &a, propose, encode(&small), "tx_bytes_max");
    let over = with(ChainLimits {
        tx_bytes_max: TX_BYTES_MAX as u64 + 1,
        block_bytes_max: 8 * 1024 * 1024,
        ..now
    });
    refused(&mut chain, &a, propose, encode(&over), "tx_bytes_max");
    let block_under_tx = with(ChainLimits {
        block_bytes_max: now.tx_bytes_max - 1,
        ..now
    });
    refused(
        &mut chain,
        &a,
        propose,
        encode(&block_under_tx),
        "block_bytes_max",
    );
    let tiny_event = with(ChainLimits {
        epcis_event_bytes_max: EPCIS_EVENT_BYTES_FLOOR - 1,
        ..now
    });
    refused(
        &mut chain,
        &a,
        propose,
        encode(&tiny_event),
        "epcis_event_bytes_max",
    );
    refused(
        &mut chain,
        &a,
        propose,
        encode(&with(now)),
        "latest already",
    );
    let stale = LimitsUpgrade {
        replaces: upgrade.limits,
        ..upgrade.clone()
    };
    refused(
        &mut chain,
        &a,
        propose,
        encode(&stale),
        "but the latest are",
    );
    let soon = LimitsUpgrade {
        activation_height: chain.height + 3,
        ..upgrade.clone()
    };
    refused(&mut chain, &a, propose, encode(&soon), "it must be from");
    refused(&mut chain, &a, propose, b"\x01".to_vec(), "limits upgrade");
    assert_eq!(limits(&chain), genesis, "refusals change nothing");

    // Proposed by one key: recorded, not scheduled.
    let r = chain.ok(&a, GOVERNANCE_CONTRACT, propose, encode(&upgrade));
    assert!(r.events.iter().any(|e| e.name == "limits_proposed"));
    let id: u64 = encoding::decode("id", &r.return_data, 8).unwrap();
    assert!(!proposal(&chain, id).scheduled, "one approval of two");
    assert_eq!(limits(&chain), genesis);
    refused(
        &mut chain,
        &a,
        method::APPROVE,
        encode(&id),
        "already approved",
    );
    refused(
        &mut chain,
        &producer,
        method::APPROVE,
        encode(&id),
        "only an authority key",
    );

    // The second key schedules them.
    let r = chain.ok(&b, GOVERNANCE_CONTRACT, method::APPROVE, encode(&id));
    assert!(r.events.iter().any(|e| e.name == "limits_scheduled"));
    assert!(proposal(&chain, id).scheduled);
    let table = limits(&chain);
    assert_eq!(
        table,
        vec![
            genesis[0].clone(),
            LimitsVersion {
                limits: upgrade.limits,
                from_height: at,
                proposal: Some(id),
            }
        ]
    );
    use filiera_types::chain_limits::limits_at;
    assert_eq!(limits_at(&table, at - 1), now);
    assert_eq!(limits_at(&table, at), upgrade.limits);
    // Written against the values it replaced, a proposal is stale now; a
    // later one must start after the scheduled one.
    refused(
        &mut chain,
        &a,
        propose,
        encode(&upgrade),
        "but the latest are",
    );
    let before = LimitsUpgrade {
        limits: now,
        replaces: upgrade.limits,
        activation_height: at - 1,
    };
    refused(
        &mut chain,
        &a,
        propose,
        encode(&before),
        "must start after it",
    );
}

/// The capture of `event` in a document that declares the `example:`
/// extension namespace.
fn padded(event: &str) -> (filiera_contract_api::lots::Capture, [u8; 32]) {
    capture_with(
        r#""https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",{"example":"https://example.org/epcis/"}"#,
        event,
        &[],
    )
}

/// A commissioning event of `padding` more bytes (a user extension).
fn padded_commissioning(f: &crate::epcis::Farms, padding: usize) -> String {
    let event = commissioning(&f.ovino, 800);
    let closing = event.rfind('}').unwrap();
    format!(
        r#"{}, "example:note": "{}"}}"#,
        &event[..closing],
        "x".repeat(padding)
    )
}

#[test]
fn an_epcis_event_over_the_limit_of_its_height_fails_and_changes_nothing() {
    let mut f = farms();
    let now = ChainLimits::default();
    let at = f.chain.height + 2 + UPGRADE_NOTICE_BLOCKS_MIN;
    let lowered = ChainLimits {
        epcis_event_bytes_max: EPCIS_EVENT_BYTES_FLOOR,
        ..now
    };
    schedule(
        &mut f.chain,
        &LimitsUpgrade {
            limits: lowered,
            replaces: now,
            activation_height: at,
        },
    );
    let (big, _) = padded(&padded_commissioning(&f, 1_200));
    assert!(big.event.len() as u64 > lowered.epcis_event_bytes_max);
    // Before the height, such an event is within the limit of its block.
    let (early, _) = padded(&padded_commissioning(&f, 1_200).replace("OV-251124", "OV-251123"));
    f.chain
        .ok(&f.ovina, LOTS, "capture", contract_encode(&early));
    while f.chain.height + 1 < at {
        f.chain.block(&[]);
    }
    let before = crate::upgrades::state_but_nonces(&f.chain);
    let r = f
        .chain
        .submit(&f.ovina, LOTS, "capture", contract_encode(&big));
    let message = failed(&r);
    assert!(
        message.contains(&format!("exceeds {}", EPCIS_EVENT_BYTES_FLOOR)),
        "{message}"
    );
    assert_eq!(before, crate::upgrades::state_but_nonces(&f.chain));
    // A small event still lands.
    let (small, _) = capture_of(&commissioning(&f.ovino, 800), &[]);
    f.chain
        .ok(&f.ovina, LOTS, "capture", contract_encode(&small));
}
