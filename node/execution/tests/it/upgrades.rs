//! Contract upgrades on the real runtime: a module uploaded in chunks by an
//! authority key, proposed with its activation height, scheduled by 2 of 3
//! authority keys, and run from that height on; and what may not happen.

use crate::chain::{Chain, key};
use crate::lifecycle::{commission_args, gtin, lot, product, record_args};
use filiera_contract_api::contract_ids::LOTS;
use filiera_contract_api::lots::{EventKind, LotRecord};
use filiera_contract_api::registry::Role;
use filiera_contract_api::{encode, keys};
use filiera_execution::contracts::{LOTS_WASM, code_hash};
use filiera_execution::executor::BlockContext;
use filiera_types::chain_rules::{ChainRulesVersion, IMPLEMENTED_MAX, RulesProposal, RulesUpgrade};
use filiera_types::governance::{
    CODE_BYTES_MAX, ContractVersion, GOVERNANCE_CONTRACT, MIGRATE_METHOD, MigrationOutcome,
    UPGRADE_NOTICE_BLOCKS_MIN, UPLOAD_CHUNK_BYTES_MAX, Upgrade, UpgradeProposal, Upload,
    UploadInProgress, method,
};
use filiera_types::receipt::{Receipt, TxStatus};
use filiera_types::{ContractId, Hash, SecretKey, encoding, sys_keys};
use std::collections::BTreeMap;

const ORG: &str = "caseificio-montefeltro";

/// The lots contract with a custom section appended: a valid module with
/// another hash that behaves as version 1 does.
fn lots_rebuilt() -> Vec<u8> {
    let mut code = LOTS_WASM.to_vec();
    let name = b"filiera-version";
    let payload = b"2";
    code.push(0); // custom section
    code.push((1 + name.len() + payload.len()) as u8);
    code.push(name.len() as u8);
    code.extend_from_slice(name);
    code.extend_from_slice(payload);
    code
}

/// A contract that answers every call with "v2": which code runs is visible.
fn answers_v2() -> Vec<u8> {
    wat::parse_str(
        r#"(module
            (import "filiera" "set_return" (func $ret (param i32 i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "v2")
            (func (export "call") (call $ret (i32.const 0) (i32.const 2))))"#,
    )
    .unwrap()
}

fn lots_id() -> ContractId {
    ContractId::new(LOTS).unwrap()
}

/// Every state entry but the nonces: what a refused call must leave alone.
pub(crate) fn state_but_nonces(chain: &Chain) -> BTreeMap<Vec<u8>, Vec<u8>> {
    chain
        .state
        .0
        .iter()
        .filter(|(k, _)| !k.starts_with(b"sys/nonce/"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub(crate) fn failed(receipt: &Receipt) -> &str {
    match &receipt.status {
        TxStatus::Failed { message, .. } => message,
        TxStatus::Success => panic!("expected a failure"),
    }
}

/// Submits a governance call that must be refused with `needle`, changing
/// nothing but the sender's nonce.
pub(crate) fn refused(
    chain: &mut Chain,
    signer: &SecretKey,
    method: &str,
    args: Vec<u8>,
    needle: &str,
) {
    let before = state_but_nonces(chain);
    let r = chain.submit(signer, GOVERNANCE_CONTRACT, method, args);
    let message = failed(&r);
    assert!(
        message.contains(needle),
        "{method}: {message:?} lacks {needle:?}"
    );
    assert_eq!(
        state_but_nonces(chain),
        before,
        "{method} refused changes nothing"
    );
}

/// Uploads `code` in chunks from `signer`.
fn upload(chain: &mut Chain, signer: &SecretKey, code: &[u8]) {
    let hash = code_hash(code);
    for (i, chunk) in code.chunks(UPLOAD_CHUNK_BYTES_MAX).enumerate() {
        let args = Upload {
            code_hash: hash,
            code_bytes: code.len() as u32,
            offset: (i * UPLOAD_CHUNK_BYTES_MAX) as u32,
            bytes: chunk.to_vec(),
        };
        chain.ok(signer, GOVERNANCE_CONTRACT, method::UPLOAD, encode(&args));
    }
    let slot: UploadInProgress = encoding::decode(
        "slot",
        &chain.state.0[&sys_keys::upload(&signer.public_key())],
        usize::MAX,
    )
    .unwrap();
    assert_eq!(slot.bytes, code, "the module waits in the uploader's slot");
    assert!(
        !chain.state.0.contains_key(&sys_keys::code(&hash)),
        "kept for good only once approved"
    );
}

/// Proposes `upgrade` from `signer`; the proposal's id.
fn propose(chain: &mut Chain, signer: &SecretKey, upgrade: &Upgrade) -> u64 {
    let r = chain.ok(
        signer,
        GOVERNANCE_CONTRACT,
        method::PROPOSE,
        encode(upgrade),
    );
    let event = r
        .events
        .iter()
        .find(|e| e.name == "upgrade_proposed")
        .expect("a proposal event");
    encoding::decode("id", &event.data, 8).unwrap()
}

fn versions(chain: &Chain) -> Vec<ContractVersion> {
    let bytes = chain
        .state
        .0
        .get(&sys_keys::contract_versions(&lots_id()))
        .expect("a version table");
    encoding::decode("versions", bytes, usize::MAX).unwrap()
}

fn proposal(chain: &Chain, id: u64) -> UpgradeProposal {
    let bytes = chain.state.0.get(&sys_keys::upgrade_proposal(id)).unwrap();
    encoding::decode("proposal", bytes, usize::MAX).unwrap()
}

/// An organisation with a product and a lot commissioned under version 1.
fn with_a_lot() -> (Chain, SecretKey, String) {
    let mut chain = Chain::new();
    let producer = key(10);
    chain.onboard(ORG, 3, &[Role::Producer], &producer);
    let g = gtin("0952123410001");
    product(
        &mut chain,
        &producer,
        &g,
        "Casciotta d'Urbino DOP",
        "casciotta-durbino-dop",
        1000,
    );
    chain.ok(
        &producer,
        LOTS,
        "commission",
        encode(&commission_args(&lot(&g, "CU-1"), 100)),
    );
    (chain, producer, g)
}

fn upgrade_to(chain: &Chain, code: &[u8], replaces: Hash) -> Upgrade {
    Upgrade {
        contract: lots_id(),
        code_hash: code_hash(code),
        replaces: Some(replaces),
        // Room for a few blocks of approvals before the notice runs out.
        activation_height: chain.height + 1 + UPGRADE_NOTICE_BLOCKS_MIN + 5,
        migrate: false,
    }
}

/// A contract that returns the record version 1 of lots stored under `key`
/// (its own storage): what the old version wrote, the new one reads.
fn reads_back(key: &[u8]) -> Vec<u8> {
    let escaped: String = key.iter().map(|b| format!("\\{b:02x}")).collect();
    wat::parse_str(format!(
        r#"(module
            (import "filiera" "storage_read" (func $read (param i32 i32) (result i64)))
            (import "filiera" "register_read" (func $register_read (param i32)))
            (import "filiera" "set_return" (func $ret (param i32 i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "{escaped}")
            (func (export "call") (local $n i64)
                (local.set $n (call $read (i32.const 0) (i32.const {len})))
                (call $register_read (i32.const 1024))
                (call $ret (i32.const 1024) (i32.wrap_i64 (local.get $n)))))"#,
        len = key.len()
    ))
    .unwrap()
}

#[test]
fn an_upgrade_approved_by_two_of_three_runs_from_its_height_on() {
    let (mut chain, producer, g) = with_a_lot();
    let (a, b) = (chain.authority[0].clone(), chain.authority[1].clone());
    let v2 = answers_v2();
    upload(&mut chain, &a, &v2);
    let upgrade = upgrade_to(&chain, &v2, code_hash(LOTS_WASM));
    let id = propose(&mut chain, &a, &upgrade);
    assert!(!proposal(&chain, id).scheduled, "one approval of two");

    let r = chain.ok(&b, GOVERNANCE_CONTRACT, method::APPROVE, encode(&id));
    assert!(r.events.iter().any(|e| e.name == "upgrade_scheduled"));
    assert_eq!(
        chain.state.0.get(&sys_keys::code(&code_hash(&v2))),
        Some(&v2),
        "approved: the module is kept for good"
    );
    assert!(
        !chain
            .state
            .0
            .contains_key(&sys_keys::upload(&a.public_key()))
    );
    let table = versions(&chain);
    assert_eq!(table.len(), 2, "{table:?}");
    assert_eq!(table[0].code_hash, code_hash(LOTS_WASM));
    assert_eq!(
        table[1],
        ContractVersion {
            version: 2,
            code_hash: code_hash(&v2),
            from_height: upgrade.activation_height,
            proposal: Some(id),
        }
    );

    // Up to the height before, version 1 runs: the lot takes an event.
    while chain.height + 2 < upgrade.activation_height {
        chain.block(&[]);
    }
    let record = encode(&record_args(&lot(&g, "CU-1"), EventKind::Inspect));
    let r = chain.ok(&producer, LOTS, "record", record.clone());
    assert_eq!(chain.height + 1, upgrade.activation_height);
    assert_ne!(r.return_data, b"v2");
    // From its height, version 2 answers.
    let r = chain.ok(&producer, LOTS, "record", record);
    assert_eq!(chain.height, upgrade.activation_height);
    assert_eq!(r.return_data, b"v2", "the new version runs at its height");
}

#[test]
fn a_new_version_reads_what_the_old_one_wrote() {
    let (mut chain, producer, g) = with_a_lot();
    let (a, c) = (chain.authority[0].clone(), chain.authority[2].clone());
    let lot_key = keys::lot(&g, "CU-1");
    let v2 = reads_back(&lot_key);
    upload(&mut chain, &c, &v2);
    let upgrade = upgrade_to(&chain, &v2, code_hash(LOTS_WASM));
    let id = propose(&mut chain, &c, &upgrade);
    chain.ok(&a, GOVERNANCE_CONTRACT, method::APPROVE, encode(&id));
    // Version 1 has no such method.
    let r = chain.submit(&producer, LOTS, "read_back", vec![]);
    failed(&r);
    while chain.height + 1 < upgrade.activation_height {
        chain.block(&[]);
    }
    // Version 2 returns the lot record version 1 stored, byte for byte.
    let r = chain.ok(&producer, LOTS, "read_back", vec![]);
    let stored = chain.state.0[&filiera_contract_api::keys::state_key(LOTS, &lot_key)].clone();
    assert_eq!(r.return_data, stored);
    let record: LotRecord = filiera_contract_api::decode(&r.return_data).unwrap();
    assert_eq!(record.quantity, 100);
    assert_eq!(versions(&chain)[1].code_hash, code_hash(&v2));

    // A replacement of version 2 must name version 2, not version 1.
    let v3 = answers_v2();
    upload(&mut chain, &a, &v3);
    let stale = upgrade_to(&chain, &v3, code_hash(LOTS_WASM));
    refused(
        &mut chain,
        &a,
        method::PROPOSE,
        encode(&stale),
        "but its latest version is",
    );
    let fresh = upgrade_to(&chain, &v3, code_hash(&v2));
    propose(&mut chain, &a, &fresh);
}

#[test]
fn a_proposal_overtaken_by_another_is_refused_at_its_last_approval() {
    let (mut chain, _, _) = with_a_lot();
    let [a, b, c] = [0, 1, 2].map(|i| chain.authority[i].clone());
    let (x, y) = (answers_v2(), lots_rebuilt());
    upload(&mut chain, &a, &x);
    upload(&mut chain, &b, &y);
    let to_x = upgrade_to(&chain, &x, code_hash(LOTS_WASM));
    let first = propose(&mut chain, &a, &to_x);
    let to_y = upgrade_to(&chain, &y, code_hash(LOTS_WASM));
    let second = propose(&mut chain, &b, &to_y);
    chain.ok(&c, GOVERNANCE_CONTRACT, method::APPROVE, encode(&first));
    refused(
        &mut chain,
        &c,
        method::APPROVE,
        encode(&second),
        "but its latest version is",
    );
    assert_eq!(versions(&chain).len(), 2);
    assert_eq!(versions(&chain)[1].code_hash, code_hash(&x));
}

#[test]
fn what_governance_refuses_changes_nothing() {
    let (mut chain, producer, _) = with_a_lot();
    let (a, b) = (chain.authority[0].clone(), chain.authority[1].clone());
    let v2 = answers_v2();
    let chunk = |code: &[u8], offset: usize| Upload {
        code_hash: code_hash(code),
        code_bytes: code.len() as u32,
        offset: offset as u32,
        bytes: code[offset..].to_vec(),
    };

    // A member's key, not the authority's: refused at every method.
    refused(
        &mut chain,
        &producer,
        method::UPLOAD,
        encode(&chunk(&v2, 0)),
        "only an authority key",
    );
    // An invalid module, a module that lies about its hash, a chunk out of
    // place, a size past the limit.
    let not_wasm = b"\0asm\x01\0\0\0garbage".to_vec();
    refused(
        &mut chain,
        &a,
        method::UPLOAD,
        encode(&chunk(&not_wasm, 0)),
        "the module is refused",
    );
    let mut lying = chunk(&v2, 0);
    lying.code_hash = code_hash(b"another module");
    refused(
        &mut chain,
        &a,
        method::UPLOAD,
        encode(&lying),
        "the module hashes to",
    );
    refused(
        &mut chain,
        &a,
        method::UPLOAD,
        encode(&chunk(&v2, 4)),
        "no upload in progress",
    );
    // A chunk shorter than the limit that is not the last (it would make
    // every node rewrite the slot for a few bytes).
    let big = lots_rebuilt();
    let mut short = chunk(&big, 0);
    short.bytes.truncate(100);
    refused(
        &mut chain,
        &a,
        method::UPLOAD,
        encode(&short),
        "every chunk but the last",
    );
    let mut huge = chunk(&v2, 0);
    huge.code_bytes = (CODE_BYTES_MAX + 1) as u32;
    refused(
        &mut chain,
        &a,
        method::UPLOAD,
        encode(&huge),
        "it must have 1 to",
    );
    refused(
        &mut chain,
        &a,
        method::UPLOAD,
        b"\x01\x02".to_vec(),
        "upload",
    );

    // Proposals: code never uploaded, activation too soon (or backdated),
    // the node's own ids, a wrong version replaced.
    let mut upgrade = upgrade_to(&chain, &v2, code_hash(LOTS_WASM));
    refused(
        &mut chain,
        &a,
        method::PROPOSE,
        encode(&upgrade),
        "was uploaded",
    );
    upload(&mut chain, &a, &v2);
    refused(
        &mut chain,
        &a,
        method::UPLOAD,
        encode(&chunk(&v2, 0)),
        "uploaded already",
    );
    let mut soon = upgrade_to(&chain, &v2, code_hash(LOTS_WASM));
    soon.activation_height = chain.height + UPGRADE_NOTICE_BLOCKS_MIN;
    refused(
        &mut chain,
        &a,
        method::PROPOSE,
        encode(&soon),
        "it must be from",
    );
    soon.activation_height = 1;
    refused(
        &mut chain,
        &a,
        method::PROPOSE,
        encode(&soon),
        "it must be from",
    );
    for reserved in [GOVERNANCE_CONTRACT, "evidence"] {
        let mut own = upgrade_to(&chain, &v2, code_hash(LOTS_WASM));
        own.contract = ContractId::new(reserved).unwrap();
        refused(
            &mut chain,
            &a,
            method::PROPOSE,
            encode(&own),
            "not a contract",
        );
    }
    let mut wrong = upgrade_to(&chain, &v2, code_hash(LOTS_WASM));
    wrong.replaces = Some(code_hash(&v2));
    refused(
        &mut chain,
        &a,
        method::PROPOSE,
        encode(&wrong),
        "but its latest version is",
    );
    let mut new_named_old = upgrade_to(&chain, &v2, code_hash(LOTS_WASM));
    new_named_old.replaces = None;
    refused(
        &mut chain,
        &a,
        method::PROPOSE,
        encode(&new_named_old),
        "but its latest version is",
    );

    // One approval of two schedules nothing; the same key twice is one.
    upgrade = upgrade_to(&chain, &v2, code_hash(LOTS_WASM));
    let id = propose(&mut chain, &a, &upgrade);
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
    refused(
        &mut chain,
        &b,
        method::APPROVE,
        encode(&(id + 1)),
        "no upgrade proposal",
    );
    assert!(!proposal(&chain, id).scheduled);
    assert_eq!(versions(&chain).len(), 1, "nothing scheduled");
    // The proposer starts another upload before the approvals: its module is
    // gone from its slot, and the proposal cannot be scheduled.
    let other = lots_rebuilt();
    let first: Vec<u8> = other[..UPLOAD_CHUNK_BYTES_MAX].to_vec();
    chain.ok(
        &a,
        GOVERNANCE_CONTRACT,
        method::UPLOAD,
        encode(&Upload {
            code_hash: code_hash(&other),
            code_bytes: other.len() as u32,
            offset: 0,
            bytes: first,
        }),
    );
    refused(&mut chain, &b, method::APPROVE, encode(&id), "is gone");
    upload(&mut chain, &a, &v2);
    // An approval that leaves less than the notice before the activation
    // height is too late: the version never runs, version 1 goes on.
    while chain.height + 1 + UPGRADE_NOTICE_BLOCKS_MIN <= upgrade.activation_height {
        chain.block(&[]);
    }
    refused(&mut chain, &b, method::APPROVE, encode(&id), "expired");
    let g = gtin("0952123410001");
    let r = chain.ok(
        &producer,
        LOTS,
        "record",
        encode(&record_args(&lot(&g, "CU-1"), EventKind::Inspect)),
    );
    assert_ne!(r.return_data, b"v2");
}

fn chain_rules(chain: &Chain) -> Vec<ChainRulesVersion> {
    encoding::decode(
        "chain rules",
        &chain.state.0[sys_keys::CHAIN_RULES],
        usize::MAX,
    )
    .unwrap()
}

fn rules_proposal(chain: &Chain, id: u64) -> RulesProposal {
    encoding::decode(
        "rules proposal",
        &chain.state.0[&sys_keys::chain_rules_proposal(id)],
        usize::MAX,
    )
    .unwrap()
}

#[test]
fn a_chain_rules_version_is_scheduled_by_two_of_three_and_this_binary_stops_at_its_height() {
    let (mut chain, producer, _) = with_a_lot();
    let (a, b) = (chain.authority[0].clone(), chain.authority[1].clone());
    let stranger = key(42);
    let genesis_rules = chain_rules(&chain);
    // A version this binary does not implement: the chain accepts it all
    // the same (a node that implements less must agree on the block).
    let next = IMPLEMENTED_MAX + 1;
    // Far enough for the refusals below, a block each.
    let at = chain.height + 1 + UPGRADE_NOTICE_BLOCKS_MIN + 20;
    let upgrade = RulesUpgrade {
        version: next,
        replaces: IMPLEMENTED_MAX,
        activation_height: at,
    };
    let rules = method::PROPOSE_RULES;
    refused(
        &mut chain,
        &stranger,
        rules,
        encode(&upgrade),
        "not a key of a member",
    );
    refused(
        &mut chain,
        &producer,
        rules,
        encode(&upgrade),
        "only an authority key",
    );
    let stale = RulesUpgrade {
        replaces: next,
        ..upgrade.clone()
    };
    refused(&mut chain, &a, rules, encode(&stale), "but the latest is 1");
    let same = RulesUpgrade {
        version: IMPLEMENTED_MAX,
        ..upgrade.clone()
    };
    refused(&mut chain, &a, rules, encode(&same), "the next one must be");
    let gap = RulesUpgrade {
        version: next + 1,
        ..upgrade.clone()
    };
    refused(&mut chain, &a, rules, encode(&gap), "the next one must be");
    let soon = RulesUpgrade {
        activation_height: chain.height + 3,
        ..upgrade.clone()
    };
    refused(&mut chain, &a, rules, encode(&soon), "it must be from");
    refused(
        &mut chain,
        &a,
        rules,
        b"\x01".to_vec(),
        "chain rules upgrade",
    );
    assert_eq!(
        chain_rules(&chain),
        genesis_rules,
        "refusals change nothing"
    );

    // Proposed by one key: recorded, not scheduled.
    let r = chain.ok(&a, GOVERNANCE_CONTRACT, rules, encode(&upgrade));
    let event = r
        .events
        .iter()
        .find(|e| e.name == "rules_proposed")
        .unwrap();
    let id: u64 = encoding::decode("id", &event.data, 8).unwrap();
    assert!(!rules_proposal(&chain, id).scheduled, "one approval of two");
    assert_eq!(chain_rules(&chain), genesis_rules);
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

    // The second key schedules it.
    let r = chain.ok(&b, GOVERNANCE_CONTRACT, method::APPROVE, encode(&id));
    assert!(r.events.iter().any(|e| e.name == "rules_scheduled"));
    assert!(rules_proposal(&chain, id).scheduled);
    assert_eq!(
        chain_rules(&chain),
        vec![
            genesis_rules[0].clone(),
            ChainRulesVersion {
                version: next,
                from_height: at,
                proposal: Some(id),
            }
        ]
    );
    // A proposal against the version it replaced is stale now.
    refused(&mut chain, &a, rules, encode(&upgrade), "but the latest is");

    // The blocks before its height run; the block at it is not executed by
    // a binary that does not implement it.
    while chain.height + 1 < at {
        chain.block(&[]);
    }
    let ctx = BlockContext {
        chain_id: chain.chain_id.clone(),
        height: at,
        time_ms: chain.time_ms + 60_000,
    };
    let err = chain
        .executor
        .execute_block(std::sync::Arc::new(chain.state.clone()), &ctx, &[], &[])
        .expect_err("no block under rules this binary does not implement");
    assert!(err.0.contains("does not implement"), "{err}");
}

/// A version whose every call (the node's `migrate` included) writes
/// `layout = 2` into its storage and answers "v2"; with `poison`, it traps
/// first if that key of its storage holds a record.
fn migrates_to_layout_2(poison: Option<&[u8]>) -> Vec<u8> {
    let (escaped, len) = poison.map_or((String::new(), 0), |k| {
        (k.iter().map(|b| format!("\\{b:02x}")).collect(), k.len())
    });
    let check = if poison.is_some() {
        format!(
            "(if (i64.ge_s (call $read (i32.const 200) (i32.const {len})) (i64.const 0)) (then unreachable))"
        )
    } else {
        String::new()
    };
    wat::parse_str(format!(
        r#"(module
            (import "filiera" "storage_read" (func $read (param i32 i32) (result i64)))
            (import "filiera" "storage_write" (func $write (param i32 i32 i32 i32)))
            (import "filiera" "set_return" (func $ret (param i32 i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "v2")
            (data (i32.const 100) "layout")
            (data (i32.const 110) "2")
            (data (i32.const 200) "{escaped}")
            (func (export "call")
                {check}
                (call $write (i32.const 100) (i32.const 6) (i32.const 110) (i32.const 1))
                (call $ret (i32.const 0) (i32.const 2))))"#
    ))
    .unwrap()
}

/// A version whose calls answer the `layout` in its storage, after writing
/// "2" there if there was none (and answering "migrated" then): which ran
/// first, its migration or a transaction, shows in the answer.
fn migrates_then_reads() -> Vec<u8> {
    wat::parse_str(
        r#"(module
            (import "filiera" "storage_read" (func $read (param i32 i32) (result i64)))
            (import "filiera" "register_read" (func $register_read (param i32)))
            (import "filiera" "storage_write" (func $write (param i32 i32 i32 i32)))
            (import "filiera" "set_return" (func $ret (param i32 i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "migrated")
            (data (i32.const 100) "layout")
            (data (i32.const 110) "2")
            (func (export "call") (local $n i64)
                (local.set $n (call $read (i32.const 100) (i32.const 6)))
                (if (i64.lt_s (local.get $n) (i64.const 0))
                    (then
                        (call $write (i32.const 100) (i32.const 6) (i32.const 110) (i32.const 1))
                        (call $ret (i32.const 0) (i32.const 8))
                        (return)))
                (call $register_read (i32.const 1024))
                (call $ret (i32.const 1024) (i32.wrap_i64 (local.get $n)))))"#,
    )
    .unwrap()
}

/// A version whose every call loops until its fuel runs out.
fn loops() -> Vec<u8> {
    wat::parse_str(
        r#"(module
            (memory (export "memory") 1)
            (func (export "call") (loop $l (br $l))))"#,
    )
    .unwrap()
}

fn migration(chain: &Chain, version: u32) -> Option<MigrationOutcome> {
    let bytes = chain
        .state
        .0
        .get(&sys_keys::migration(&lots_id(), version))?;
    Some(encoding::decode("migration", bytes, usize::MAX).unwrap())
}

/// Uploads and proposes `code` as lots version 2 with a migration, from
/// authority key 0; the upgrade and the proposal's id.
fn propose_migration(chain: &mut Chain, code: &[u8]) -> (Upgrade, u64) {
    let a = chain.authority[0].clone();
    upload(chain, &a, code);
    let upgrade = Upgrade {
        migrate: true,
        ..upgrade_to(chain, code, code_hash(LOTS_WASM))
    };
    let id = propose(chain, &a, &upgrade);
    (upgrade, id)
}

#[test]
fn a_migration_runs_at_activation_before_the_blocks_transactions() {
    let (mut chain, producer, g) = with_a_lot();
    let b = chain.authority[1].clone();
    let v2 = migrates_then_reads();
    let (upgrade, id) = propose_migration(&mut chain, &v2);
    let layout = keys::state_key(LOTS, b"layout");
    chain.ok(&b, GOVERNANCE_CONTRACT, method::APPROVE, encode(&id));
    assert!(proposal(&chain, id).scheduled);
    assert!(
        !chain.state.0.contains_key(&layout),
        "tried at approval, never kept"
    );
    // No member may run it.
    let r = chain.submit(&producer, LOTS, MIGRATE_METHOD, Vec::new());
    assert!(failed(&r).contains("called by the node"), "{r:?}");
    assert!(!chain.state.0.contains_key(&layout));

    while chain.height + 1 < upgrade.activation_height {
        chain.block(&[]);
    }
    assert_eq!(migration(&chain, 2), None);
    // A transaction of the activation block finds the state migrated: the
    // migration ran before it (else it would answer "migrated").
    let record = encode(&record_args(&lot(&g, "CU-1"), EventKind::Inspect));
    let r = chain.ok(&producer, LOTS, "record", record);
    assert_eq!(chain.height, upgrade.activation_height);
    assert_eq!(r.return_data, b"2", "version 2 ran, after its migration");
    assert_eq!(chain.state.0.get(&layout), Some(&b"2".to_vec()));
    let outcome = migration(&chain, 2).expect("its outcome is recorded");
    assert_eq!(outcome.height, upgrade.activation_height);
    assert_eq!(outcome.failure, None);
    assert!(outcome.fuel_used > 0);
    assert_eq!(versions(&chain).len(), 2, "version 2 runs");
}

#[test]
fn a_migration_that_exhausts_its_fuel_is_refused_at_the_last_approval() {
    let (mut chain, _, _) = with_a_lot();
    let b = chain.authority[1].clone();
    let (_, id) = propose_migration(&mut chain, &loops());
    refused(
        &mut chain,
        &b,
        method::APPROVE,
        encode(&id),
        "the migration of lots fails on the current state",
    );
    assert!(!proposal(&chain, id).scheduled);
    assert_eq!(versions(&chain).len(), 1);
}

#[test]
fn a_migration_that_fails_at_activation_withdraws_its_version() {
    let (mut chain, producer, g) = with_a_lot();
    let b = chain.authority[1].clone();
    let poison = keys::lot(&g, "CU-POISON");
    let v2 = migrates_to_layout_2(Some(&poison));
    let (upgrade, id) = propose_migration(&mut chain, &v2);
    chain.ok(&b, GOVERNANCE_CONTRACT, method::APPROVE, encode(&id));
    assert!(proposal(&chain, id).scheduled, "it passes on today's state");
    // No version is scheduled over it before its migration ran.
    let a = chain.authority[0].clone();
    let v3 = answers_v2();
    upload(&mut chain, &a, &v3);
    let over = Upgrade {
        activation_height: upgrade.activation_height + 20,
        ..upgrade_to(&chain, &v3, code_hash(&v2))
    };
    refused(
        &mut chain,
        &a,
        method::PROPOSE,
        encode(&over),
        "waits until that migration ran",
    );
    // Then the state changes under it, before its height.
    chain.ok(
        &producer,
        LOTS,
        "commission",
        encode(&commission_args(&lot(&g, "CU-POISON"), 10)),
    );
    while chain.height + 1 < upgrade.activation_height {
        chain.block(&[]);
    }
    // At the height: the migration traps, version 1 runs on.
    let record = encode(&record_args(&lot(&g, "CU-1"), EventKind::Inspect));
    let r = chain.ok(&producer, LOTS, "record", record.clone());
    assert_eq!(chain.height, upgrade.activation_height);
    assert_ne!(r.return_data, b"v2", "the old version ran at the height");
    let outcome = migration(&chain, 2).expect("its outcome is recorded");
    assert!(outcome.failure.is_some(), "{outcome:?}");
    assert!(
        !chain
            .state
            .0
            .contains_key(&keys::state_key(LOTS, b"layout"))
    );
    // Withdrawn: version 2 keeps its number and its outcome, and runs the
    // code of version 1.
    let table = versions(&chain);
    assert_eq!(table.len(), 2, "{table:?}");
    assert_eq!(table[1].version, 2);
    assert_eq!(table[1].code_hash, code_hash(LOTS_WASM), "withdrawn");
    let r = chain.ok(&producer, LOTS, "record", record);
    assert_ne!(r.return_data, b"v2", "and after it");
    // The next version is 3, proposed against the code that runs.
    let next = upgrade_to(&chain, &v3, code_hash(LOTS_WASM));
    let id = propose(&mut chain, &a, &next);
    chain.ok(&b, GOVERNANCE_CONTRACT, method::APPROVE, encode(&id));
    assert_eq!(versions(&chain)[2].version, 3);
    assert!(migration(&chain, 2).unwrap().failure.is_some(), "kept");
}

#[test]
fn the_lots_contract_records_its_layout_when_migrated_and_only_the_node_may_ask() {
    assert_eq!(filiera_contract_api::lots::method::MIGRATE, MIGRATE_METHOD);
    let (mut chain, producer, _) = with_a_lot();
    let b = chain.authority[1].clone();
    let (upgrade, id) = propose_migration(&mut chain, &lots_rebuilt());
    chain.ok(&b, GOVERNANCE_CONTRACT, method::APPROVE, encode(&id));
    while chain.height < upgrade.activation_height {
        chain.block(&[]);
    }
    let layout: u32 = chain.get(LOTS, keys::LAYOUT).expect("the layout recorded");
    assert_eq!(layout, filiera_contract_api::lots::LAYOUT_VERSION);
    assert_eq!(migration(&chain, 2).unwrap().failure, None);
    let r = chain.submit(&producer, LOTS, MIGRATE_METHOD, Vec::new());
    assert!(failed(&r).contains("called by the node"), "{r:?}");
}
