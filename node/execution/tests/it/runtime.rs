//! The runtime on real wasmtime: a well-behaved call, and hostile contracts that
//! each fail only their own call with a deterministic outcome.

use filiera_execution::limits::{
    CONTRACT_MEMORY_PAGES_MAX, HOST_CALL_FUEL, MEMORY_PAGE_FUEL, TX_FUEL_MAX,
};
use filiera_execution::runtime::ArtifactCache;
use filiera_execution::{
    CallContext, CallOutcome, CallStatus, ContractEngine, FailureCode, MemState, RuntimeError,
    StateReader,
};
use filiera_types::state::{KeyValue, StateUnreadable};
use filiera_types::{ContractId, Hash, SecretKey};
use std::collections::BTreeMap;
use std::sync::Arc;

fn context(contract: &str) -> CallContext {
    CallContext {
        contract: ContractId::new(contract).unwrap(),
        caller: SecretKey::from_seed(&[1; 32]).public_key(),
        tx_hash: Hash([7; 32]),
        height: 12,
        time_ms: 1_764_000_000_000,
        epcis_event_bytes_max: filiera_contract_api::lots::EPCIS_EVENT_BYTES_MAX as u64,
    }
}

fn state() -> Arc<dyn StateReader> {
    let mut m = BTreeMap::new();
    m.insert(b"c/registry/pub/role/abc".to_vec(), b"producer".to_vec());
    m.insert(b"c/registry/private".to_vec(), b"secret".to_vec());
    Arc::new(MemState(m))
}

/// A contract whose `call` body is `body`, with the host imports it may use.
fn module(body: &str, extra: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
            (import "filiera" "input_len" (func $input_len (result i32)))
            (import "filiera" "input_read" (func $input_read (param i32)))
            (import "filiera" "storage_read" (func $read (param i32 i32) (result i64)))
            (import "filiera" "register_read" (func $register_read (param i32)))
            (import "filiera" "storage_write" (func $write (param i32 i32 i32 i32)))
            (import "filiera" "contract_read" (func $contract_read (param i32 i32 i32 i32) (result i64)))
            (import "filiera" "emit_event" (func $emit (param i32 i32 i32 i32)))
            (import "filiera" "set_return" (func $ret (param i32 i32)))
            (import "filiera" "abort" (func $abort (param i32 i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "key")
            (data (i32.const 16) "registry")
            (data (i32.const 32) "role/abc")
            (data (i32.const 48) "stored")
            (data (i32.const 64) "not allowed here")
            (data (i32.const 96) "private")
            (func (export "call") {body})
            {extra})"#
    ))
    .unwrap()
}

fn run(engine: &ContractEngine, code: &[u8], fuel: u64) -> CallOutcome {
    let loaded = engine.load(code).unwrap();
    engine
        .call(&loaded, state(), context("lots"), b"input!".to_vec(), fuel)
        .expect("state readable")
}

fn failed_with(outcome: &CallOutcome, code: FailureCode) {
    match &outcome.status {
        CallStatus::Failed { code: c, .. } => assert_eq!(*c, code, "{outcome:?}"),
        CallStatus::Success => panic!("expected {code:?}, got success"),
    }
    assert!(
        outcome.writes.is_empty() && outcome.events.is_empty(),
        "a failed call keeps nothing"
    );
}

#[test]
fn a_call_reads_input_writes_its_own_storage_emits_and_returns() {
    let engine = ContractEngine::new(None).unwrap();
    let code = module(
        r#"
        ;; copy the input to 200 and store it under "key"
        (call $input_read (i32.const 200))
        (call $write (i32.const 0) (i32.const 3) (i32.const 200) (call $input_len))
        ;; read the registry's public role and return it
        (drop (call $contract_read (i32.const 16) (i32.const 8) (i32.const 32) (i32.const 8)))
        (call $register_read (i32.const 300))
        (call $ret (i32.const 300) (i32.const 8))
        (call $emit (i32.const 48) (i32.const 6) (i32.const 200) (i32.const 6))
        "#,
        "",
    );
    let out = run(&engine, &code, TX_FUEL_MAX);
    assert_eq!(out.status, CallStatus::Success);
    assert_eq!(
        out.writes.get(b"c/lots/key".as_slice()),
        Some(&Some(b"input!".to_vec()))
    );
    assert_eq!(
        out.writes.len(),
        1,
        "writes land only under the contract's own prefix"
    );
    assert_eq!(out.return_data, b"producer");
    assert_eq!(out.events.len(), 1);
    assert_eq!(out.events[0].name, "stored");
    // The initial page is memory like any other: it is charged.
    let host_work = out.fuel_used - MEMORY_PAGE_FUEL;
    assert!(
        host_work > 7 * HOST_CALL_FUEL && host_work < 10_000,
        "fuel used {}",
        out.fuel_used
    );
}

#[test]
fn another_contracts_private_storage_is_not_readable() {
    let engine = ContractEngine::new(None).unwrap();
    // "private" is outside the registry's pub/ namespace: reads as absent (-1).
    let code = module(
        r#"(if (i64.ne (call $contract_read (i32.const 16) (i32.const 8) (i32.const 96) (i32.const 7)) (i64.const -1))
              (then (unreachable)))"#,
        "",
    );
    assert_eq!(run(&engine, &code, TX_FUEL_MAX).status, CallStatus::Success);
}

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let engine = ContractEngine::new(None).unwrap();
    let out = run(&engine, &module("(loop (br 0))", ""), 1_000_000);
    failed_with(&out, FailureCode::OutOfFuel);
    assert_eq!(out.fuel_used, 1_000_000);
}

#[test]
fn memory_bomb_is_capped_and_charged() {
    let engine = ContractEngine::new(None).unwrap();
    let bomb = module(
        "(loop (br_if 0 (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))",
        "",
    );
    // Growth stops at the page limit; every page costs fuel.
    let out = run(&engine, &bomb, TX_FUEL_MAX);
    assert_eq!(out.status, CallStatus::Success);
    assert!(
        out.fuel_used >= (CONTRACT_MEMORY_PAGES_MAX - 1) * MEMORY_PAGE_FUEL,
        "fuel {}",
        out.fuel_used
    );
    // With less fuel than the pages cost, the call fails.
    failed_with(&run(&engine, &bomb, 1_000_000), FailureCode::OutOfFuel);
    // One huge grow is refused (returns -1), it does not allocate.
    let huge = module(
        "(if (i32.ne (memory.grow (i32.const 100000)) (i32.const -1)) (then (unreachable)))",
        "",
    );
    assert_eq!(run(&engine, &huge, TX_FUEL_MAX).status, CallStatus::Success);
}

#[test]
fn unbounded_recursion_overflows_the_wasm_stack_only() {
    let engine = ContractEngine::new(None).unwrap();
    let code = module(
        "(call $recurse (i64.const 0))",
        "(func $recurse (param i64) (call $recurse (i64.add (local.get 0) (i64.const 1))))",
    );
    failed_with(
        &run(&engine, &code, TX_FUEL_MAX),
        FailureCode::StackOverflow,
    );
    // The engine is unharmed: a normal call still works.
    assert_eq!(
        run(&engine, &module("", ""), TX_FUEL_MAX).status,
        CallStatus::Success
    );
}

#[test]
fn abort_traps_and_host_limits_fail_only_the_call() {
    let engine = ContractEngine::new(None).unwrap();
    let out = run(
        &engine,
        &module(
            "(call $write (i32.const 0) (i32.const 3) (i32.const 0) (i32.const 3)) (call $abort (i32.const 64) (i32.const 16))",
            "",
        ),
        TX_FUEL_MAX,
    );
    failed_with(&out, FailureCode::Abort);
    assert_eq!(
        out.status,
        CallStatus::Failed {
            code: FailureCode::Abort,
            message: "not allowed here".into()
        }
    );
    failed_with(
        &run(&engine, &module("(unreachable)", ""), TX_FUEL_MAX),
        FailureCode::Trap,
    );
    failed_with(
        &run(
            &engine,
            &module("(drop (i32.div_u (i32.const 1) (i32.const 0)))", ""),
            TX_FUEL_MAX,
        ),
        FailureCode::Trap,
    );
    // A value length beyond the contract's memory, and a negative length.
    failed_with(
        &run(
            &engine,
            &module(
                "(call $write (i32.const 0) (i32.const 3) (i32.const 0) (i32.const 200000))",
                "",
            ),
            TX_FUEL_MAX,
        ),
        FailureCode::HostLimit,
    );
    failed_with(
        &run(
            &engine,
            &module(
                "(call $write (i32.const 0) (i32.const -1) (i32.const 0) (i32.const 1))",
                "",
            ),
            TX_FUEL_MAX,
        ),
        FailureCode::HostLimit,
    );
}

#[test]
fn floats_are_deterministic_nan_is_canonical() {
    let engine = ContractEngine::new(None).unwrap();
    // Store the bits of 0.0/0.0: with NaN canonicalisation every machine stores the same bits.
    let code = module(
        r#"(i64.store (i32.const 400) (i64.reinterpret_f64 (f64.div (f64.const 0) (f64.const 0))))
           (call $write (i32.const 0) (i32.const 3) (i32.const 400) (i32.const 8))"#,
        "",
    );
    let out = run(&engine, &code, TX_FUEL_MAX);
    assert_eq!(
        out.writes.get(b"c/lots/key".as_slice()),
        Some(&Some(0x7ff8_0000_0000_0000u64.to_le_bytes().to_vec()))
    );
}

fn cache_in(dir: &std::path::Path, key: u8) -> Option<ArtifactCache> {
    Some(ArtifactCache {
        dir: dir.to_path_buf(),
        mac_key: zeroize::Zeroizing::new([key; 32]),
    })
}

#[test]
fn same_call_on_two_engines_gives_identical_outcomes_and_the_cache_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let a = ContractEngine::new(cache_in(dir.path(), 1)).unwrap();
    let code = module(
        "(call $input_read (i32.const 200)) (call $write (i32.const 0) (i32.const 3) (i32.const 200) (call $input_len)) (loop (br_if 0 (i32.eqz (i32.const 1))))",
        "",
    );
    let first = run(&a, &code, TX_FUEL_MAX);
    let cached: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(cached.len(), 1, "one compiled artifact in the cache");
    // A second engine loads the artifact from disk and computes the same outcome.
    let b = ContractEngine::new(cache_in(dir.path(), 1)).unwrap();
    assert_eq!(run(&b, &code, TX_FUEL_MAX), first);
    assert_eq!(run(&a, &code, TX_FUEL_MAX), first);
    let c = ContractEngine::new(None).unwrap();
    assert_eq!(run(&c, &code, TX_FUEL_MAX), first);
}

#[test]
fn invalid_modules_do_not_load() {
    let engine = ContractEngine::new(None).unwrap();
    let forbidden = wat::parse_str(r#"(module (import "env" "now" (func (result i64))) (memory (export "memory") 1) (func (export "call")))"#).unwrap();
    assert!(matches!(
        engine.load(&forbidden),
        Err(RuntimeError::Deploy(_))
    ));
    assert!(matches!(
        engine.load(b"not wasm"),
        Err(RuntimeError::Deploy(_))
    ));
}

#[test]
fn a_contract_cannot_write_outside_its_own_storage() {
    let engine = ContractEngine::new(None).unwrap();
    // Spell another contract's full key: the host still prefixes it with c/lots/.
    let code = module(
        r#"(call $write (i32.const 500) (i32.const 23) (i32.const 48) (i32.const 6))"#,
        r#"(data (i32.const 500) "c/registry/pub/role/abc")"#,
    );
    let out = run(&engine, &code, TX_FUEL_MAX);
    assert_eq!(out.status, CallStatus::Success);
    let keys: Vec<&Vec<u8>> = out.writes.keys().collect();
    assert_eq!(keys, [&b"c/lots/c/registry/pub/role/abc".to_vec()]);
}

/// A state whose reads fail under `broken` (a store with a bad disk).
struct Unreadable {
    broken: &'static [u8],
}

impl StateReader for Unreadable {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateUnreadable> {
        if key.starts_with(self.broken) {
            return Err(StateUnreadable("disk read failed".into()));
        }
        Ok(None)
    }

    fn next(&self, prefix: &[u8], _after: &[u8]) -> Result<Option<KeyValue>, StateUnreadable> {
        self.get(prefix).map(|_| None)
    }
}

/// A read this node cannot answer is not a contract's failure: no receipt
/// records it; the call, and the block around it, end with the error, so the
/// chain stops the node instead of deciding on a state it did not read.
#[test]
fn an_unreadable_state_ends_the_call_and_the_block_with_an_error_not_a_receipt() {
    let engine = ContractEngine::new(None).unwrap();
    let reads = engine
        .load(&module(
            "(drop (call $read (i32.const 0) (i32.const 3)))",
            "",
        ))
        .unwrap();
    let broken = Arc::new(Unreadable { broken: b"c/lots/" });
    let call = engine.call(&reads, broken, context("lots"), Vec::new(), TX_FUEL_MAX);
    assert_eq!(call, Err(StateUnreadable("disk read failed".into())));
    // The same call on a readable state runs.
    let fine = Arc::new(Unreadable { broken: b"nowhere" });
    let ok = engine.call(&reads, fine, context("lots"), Vec::new(), TX_FUEL_MAX);
    assert_eq!(ok.map(|o| o.status), Ok(CallStatus::Success));

    // A block whose first read (the sender's nonce) fails.
    let executor =
        filiera_execution::Executor::new(ContractEngine::new(None).unwrap(), &[]).unwrap();
    let key = SecretKey::from_seed(&[3; 32]);
    let tx = filiera_types::Transaction {
        chain_id: filiera_types::ChainId::new("filiera-test").unwrap(),
        sender: key.public_key(),
        nonce: 0,
        expiry_height: 5,
        call: filiera_types::ContractCall {
            contract: ContractId::new("lots").unwrap(),
            method: filiera_types::MethodName::new("run").unwrap(),
            args: Vec::new(),
        },
    }
    .sign(&key)
    .unwrap();
    let block = filiera_execution::BlockContext {
        chain_id: tx.tx.chain_id.clone(),
        height: 1,
        time_ms: 1_764_000_000_000,
    };
    let nonces = Arc::new(Unreadable {
        broken: filiera_types::sys_keys::nonce(&key.public_key()).leak(),
    });
    assert!(executor.execute_block(nonces, &block, &[tx], &[]).is_err());
}

/// A compiled artifact is native code: one the node did not write for this
/// very code (another contract's artifact renamed, junk, one authenticated
/// with another key) is never run; the code is compiled again and the
/// artifact rewritten.
#[test]
fn a_cached_artifact_that_does_not_verify_is_compiled_again_never_run() {
    let dir = tempfile::tempdir().unwrap();
    let returning = |offset: u32, len: u32| {
        module(
            &format!("(call $ret (i32.const {offset}) (i32.const {len}))"),
            "",
        )
    };
    let honest = returning(48, 6); // "stored"
    let planted = returning(96, 7); // "private"
    let artifact_of = |code: &[u8]| {
        let hex = Hash::of(filiera_types::Domain::ContractCode, code).to_hex();
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with(&hex))
            .expect("an artifact for this code")
    };
    let node = ContractEngine::new(cache_in(dir.path(), 1)).unwrap();
    assert_eq!(run(&node, &honest, TX_FUEL_MAX).return_data, b"stored");
    assert_eq!(run(&node, &planted, TX_FUEL_MAX).return_data, b"private");
    let honest_path = artifact_of(&honest);
    let honest_bytes = std::fs::read(&honest_path).unwrap();

    // Another contract's artifact, valid for its own name, copied over.
    std::fs::copy(artifact_of(&planted), &honest_path).unwrap();
    let restarted = ContractEngine::new(cache_in(dir.path(), 1)).unwrap();
    assert_eq!(
        run(&restarted, &honest, TX_FUEL_MAX).return_data,
        b"stored",
        "the planted artifact ran"
    );
    assert_eq!(
        std::fs::read(&honest_path).unwrap(),
        honest_bytes,
        "the artifact is compiled again and rewritten"
    );

    // Junk, and a truncated artifact: compiled again.
    for junk in [
        b"\x7fELF not an artifact".to_vec(),
        honest_bytes[..40].to_vec(),
    ] {
        std::fs::write(&honest_path, &junk).unwrap();
        let engine = ContractEngine::new(cache_in(dir.path(), 1)).unwrap();
        assert_eq!(run(&engine, &honest, TX_FUEL_MAX).return_data, b"stored");
        assert_eq!(std::fs::read(&honest_path).unwrap(), honest_bytes);
    }

    // An engine with another key does not take this node's artifacts.
    let other = ContractEngine::new(cache_in(dir.path(), 2)).unwrap();
    assert_eq!(run(&other, &honest, TX_FUEL_MAX).return_data, b"stored");
    let rewritten = std::fs::read(&honest_path).unwrap();
    assert_ne!(rewritten[..32], honest_bytes[..32], "its own MAC, not ours");
    assert_eq!(rewritten[32..], honest_bytes[32..], "the same compilation");
}
