//! Contract execution benchmarks on real wasmtime and the committed contracts:
//! one call with instantiation, one block, and a module load from the disk cache.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use filiera_contract_api::lots::{Commission, EventKind, LotRef, ProductRecord, Record};
use filiera_contract_api::registry::{OrgRecord, OrgStatus, Role, RoleSet};
use filiera_contract_api::{CallInput, contract_ids, encode, keys};
use filiera_execution::contracts::{LOTS_WASM, builtin};
use filiera_execution::limits::TX_FUEL_MAX;
use filiera_execution::{
    BlockContext, CallContext, CallStatus, ContractEngine, Executor, MemState,
};
use filiera_types::receipt::TxStatus;
use filiera_types::{ChainId, ContractCall, ContractId, Hash, MethodName, SecretKey, Transaction};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;

const GTIN: &str = "09521234100010";
const BLOCK_TXS: u64 = 100;

/// A producer with a product and one existing lot, written as genesis would.
fn state(producer: &SecretKey) -> Arc<MemState> {
    let mut m = BTreeMap::new();
    let key = producer.public_key().0;
    let org = OrgRecord {
        id: "caseificio".into(),
        name: "Caseificio".into(),
        kind: 3,
        vat_number: None,
        roles: RoleSet::of(&[Role::Producer]),
        status: OrgStatus::Active,
        keys: vec![key],
    };
    m.insert(
        keys::state_key(contract_ids::REGISTRY, &keys::org("caseificio")),
        encode(&org),
    );
    m.insert(
        keys::state_key(contract_ids::REGISTRY, &keys::key_owner(&key)),
        encode(&"caseificio".to_string()),
    );
    let product = ProductRecord {
        gtin: GTIN.into(),
        owner: "caseificio".into(),
        name: "Casciotta d'Urbino".into(),
        scheme: "DOP".into(),
        uom: "kg".into(),
        max_yield_permille: 1000,
    };
    m.insert(
        keys::state_key(contract_ids::LOTS, &keys::product(GTIN)),
        encode(&product),
    );
    Arc::new(MemState(m))
}

fn commission(lot: &str) -> Vec<u8> {
    let args = Commission {
        id: LotRef {
            gtin: GTIN.into(),
            lot: lot.into(),
        },
        quantity: 180,
        site: None,
        metadata: vec![("harvest_year".into(), "2026".into())],
        private_hash: Some([3; 32]),
        epcis_hash: None,
    };
    encode(&CallInput {
        method: "commission".into(),
        args: encode(&args),
    })
}

/// An ageing event (the holder stores the lot) on lot `lot` of the product.
fn ageing(lot: String, epcis_hash: Option<[u8; 32]>) -> Record {
    Record {
        id: LotRef {
            gtin: GTIN.into(),
            lot,
        },
        kind: EventKind::Store,
        to: None,
        quantity: 0,
        site: None,
        corrects: None,
        note: "stagionatura 20 giorni".into(),
        epcis_hash,
    }
}

fn context(producer: &SecretKey) -> CallContext {
    CallContext {
        contract: ContractId::new(contract_ids::LOTS).expect("id"),
        caller: producer.public_key(),
        tx_hash: Hash([9; 32]),
        height: 10,
        time_ms: 1_793_491_200_000,
        epcis_event_bytes_max: filiera_contract_api::lots::EPCIS_EVENT_BYTES_MAX as u64,
    }
}

fn call(c: &mut Criterion) {
    let producer = SecretKey::from_seed(&[5; 32]);
    let engine = ContractEngine::new(None).expect("engine");
    let lots = engine.load(LOTS_WASM).expect("lots");
    let state = state(&producer);
    let mut group = c.benchmark_group("execution::call");
    group.throughput(Throughput::Elements(1));
    // A lot registration: instantiation, input decoding, two registry reads,
    // a product read, the lot, its first event, the EPCIS anchor and an event.
    let input = commission("CU-251124");
    let first = engine
        .call(
            &lots,
            state.clone(),
            context(&producer),
            input.clone(),
            TX_FUEL_MAX,
        )
        .expect("state readable");
    assert_eq!(first.status, CallStatus::Success, "{first:?}");
    eprintln!(
        "execution::call/method=register_lot fuel_used={}",
        first.fuel_used
    );
    group.bench_function("method=register_lot", |b| {
        b.iter(|| {
            black_box(engine.call(
                &lots,
                state.clone(),
                context(&producer),
                input.clone(),
                TX_FUEL_MAX,
            ))
        })
    });

    // A lot event (ageing) on an existing lot.
    let mut with_lot = MemState(state.0.clone());
    with_lot.0.extend(
        first
            .writes
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.clone()?))),
    );
    let with_lot = Arc::new(with_lot);
    let store = ageing("CU-251124".into(), None);
    let input = encode(&CallInput {
        method: "record".into(),
        args: encode(&store),
    });
    let out = engine
        .call(
            &lots,
            with_lot.clone(),
            context(&producer),
            input.clone(),
            TX_FUEL_MAX,
        )
        .expect("state readable");
    assert_eq!(out.status, CallStatus::Success, "{out:?}");
    eprintln!("execution::call/lot_event fuel_used={}", out.fuel_used);
    group.bench_function("method=record_event", |b| {
        b.iter(|| {
            black_box(engine.call(
                &lots,
                with_lot.clone(),
                context(&producer),
                input.clone(),
                TX_FUEL_MAX,
            ))
        })
    });

    // The floor: instantiating and calling a contract that does nothing.
    let empty = wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "call")))"#)
        .expect("wat");
    let empty = engine.load(&empty).expect("empty");
    group.bench_function("method=empty_module", |b| {
        b.iter(|| {
            black_box(engine.call(
                &empty,
                state.clone(),
                context(&producer),
                Vec::new(),
                TX_FUEL_MAX,
            ))
        })
    });
    group.finish();
}

fn block(c: &mut Criterion) {
    let producer = SecretKey::from_seed(&[5; 32]);
    let executor =
        Executor::new(ContractEngine::new(None).expect("engine"), &builtin()).expect("executor");
    let chain_id = ChainId::new("filiera-bench").expect("chain id");
    let txs: Vec<_> = (0..BLOCK_TXS)
        .map(|nonce| {
            let args = Commission {
                id: LotRef {
                    gtin: GTIN.into(),
                    lot: format!("L{nonce}"),
                },
                quantity: 10,
                site: None,
                metadata: vec![],
                private_hash: None,
                epcis_hash: None,
            };
            signed_call(
                &producer,
                &chain_id,
                nonce,
                100,
                "commission",
                encode(&args),
            )
        })
        .collect();
    let state = state(&producer);
    let ctx = BlockContext {
        chain_id,
        height: 1,
        time_ms: 1_793_491_200_000,
    };
    let outcome = executor
        .execute_block(state.clone(), &ctx, &txs, &[])
        .expect("state readable");
    assert!(
        outcome
            .receipts
            .iter()
            .all(|r| r.status == filiera_types::receipt::TxStatus::Success)
    );
    let mut group = c.benchmark_group("execution::block");
    group.throughput(Throughput::Elements(BLOCK_TXS));
    // Every signature verified during execution (a block this node never saw
    // in its mempool)...
    group.bench_function(
        format!("commissions={BLOCK_TXS},signatures=unverified"),
        |b| b.iter(|| black_box(executor.execute_block(state.clone(), &ctx, &txs, &[]))),
    );
    // ...and none (each verified at admission already: the usual case).
    let known = vec![true; txs.len()];
    group.bench_function(format!("commissions={BLOCK_TXS},signatures=known"), |b| {
        b.iter(|| black_box(executor.execute_block(state.clone(), &ctx, &txs, &known)))
    });
    group.finish();

    let mut group = c.benchmark_group("signatures::check_all");
    group.throughput(Throughput::Elements(BLOCK_TXS));
    group.bench_function(format!("txs={BLOCK_TXS}"), |b| {
        b.iter(|| black_box(filiera_execution::signatures::check_all(&txs, &[])))
    });
    group.finish();
}

fn load(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = ContractEngine::new(Some(filiera_execution::runtime::ArtifactCache {
        dir: dir.path().to_path_buf(),
        mac_key: zeroize::Zeroizing::new([7; 32]),
    }))
    .expect("engine");
    engine.load(LOTS_WASM).expect("compile into the cache");
    let mut group = c.benchmark_group("execution::load");
    // Validation, hashing, the disk artifact's deserialisation and linking
    // (InstancePre); the in-memory table is emptied first so every load goes to disk.
    group.bench_function("source=disk_cache", |b| {
        b.iter(|| {
            engine.forget_loaded();
            black_box(engine.load(LOTS_WASM).expect("load"))
        })
    });
    group.finish();
}

/// Lots registered before the grown-state block runs (20 blocks of 1,000).
const GROWN_LOTS: u64 = 20_000;
/// Transactions of the grown-state block: half registrations, half lot events.
const GROWN_BLOCK_TXS: u64 = 1_000;

/// A call of the lots contract by `producer`, signed.
fn signed_call(
    producer: &SecretKey,
    chain_id: &ChainId,
    nonce: u64,
    expiry_height: u64,
    method: &str,
    args: Vec<u8>,
) -> filiera_types::SignedTransaction {
    Transaction {
        chain_id: chain_id.clone(),
        sender: producer.public_key(),
        nonce,
        expiry_height,
        call: ContractCall {
            contract: ContractId::new(contract_ids::LOTS).expect("id"),
            method: MethodName::new(method).expect("method"),
            args,
        },
    }
    .sign(producer)
    .expect("sign")
}

fn commission_args(lot: u64) -> Vec<u8> {
    encode(&Commission {
        id: LotRef {
            gtin: GTIN.into(),
            lot: format!("G{lot}"),
        },
        quantity: 180,
        site: None,
        metadata: vec![("harvest_year".into(), "2026".into())],
        private_hash: None,
        epcis_hash: None,
    })
}

/// Panics, naming the first failure, unless every transaction of the block succeeded.
fn assert_all_succeeded(outcome: &filiera_execution::BlockOutcome) {
    let failed = outcome
        .receipts
        .iter()
        .find(|r| r.status != TxStatus::Success);
    assert!(failed.is_none(), "{failed:?}");
}

/// One block's execution on a state that has grown (20,000 lots, each with
/// its first event), read from memory and from the real store: the node's
/// path, where every read goes through the state cache to RocksDB. The same
/// block, the same state, so the difference is the reads.
fn grown_block(c: &mut Criterion) {
    let producer = SecretKey::from_seed(&[5; 32]);
    let executor =
        Executor::new(ContractEngine::new(None).expect("engine"), &builtin()).expect("executor");
    let chain_id = ChainId::new("filiera-bench").expect("chain id");
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Arc::new(
        filiera_storage::Store::open(dir.path(), filiera_storage::StorageConfig::default())
            .expect("store"),
    );
    // The node's own reader: the state cache, then RocksDB.
    let store: Arc<dyn filiera_execution::StateReader> = db.clone();
    let chain = filiera_storage::testkit::ChainBuilder::new();
    chain.init(&db).expect("genesis");
    let mut memory: BTreeMap<Vec<u8>, Vec<u8>> = state(&producer).0.clone();
    let initial = memory
        .iter()
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect();
    chain.commit(&db, initial, vec![]).expect("initial state");
    let mut nonce = 0;
    let mut height = 1;
    for first in (0..GROWN_LOTS).step_by(GROWN_BLOCK_TXS as usize) {
        let txs: Vec<_> = (first..first + GROWN_BLOCK_TXS)
            .map(|lot| {
                nonce += 1;
                signed_call(
                    &producer,
                    &chain_id,
                    nonce - 1,
                    u64::MAX,
                    "commission",
                    commission_args(lot),
                )
            })
            .collect();
        height += 1;
        let ctx = BlockContext {
            chain_id: chain_id.clone(),
            height,
            time_ms: 1_793_491_200_000 + height,
        };
        let outcome = executor
            .execute_block(store.clone(), &ctx, &txs, &vec![true; txs.len()])
            .expect("state readable");
        assert_all_succeeded(&outcome);
        memory.extend(
            outcome
                .changes
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.clone()?))),
        );
        chain.commit(&db, outcome.changes, vec![]).expect("commit");
    }
    let txs: Vec<_> = (0..GROWN_BLOCK_TXS)
        .map(|i| {
            let (method, args) = if i % 2 == 0 {
                ("commission", commission_args(GROWN_LOTS + i))
            } else {
                let record = ageing(format!("G{}", i * 17 % GROWN_LOTS), None);
                ("record", encode(&record))
            };
            signed_call(&producer, &chain_id, nonce + i, u64::MAX, method, args)
        })
        .collect();
    let ctx = BlockContext {
        chain_id,
        height: height + 1,
        time_ms: 1_793_491_300_000,
    };
    let known = vec![true; txs.len()];
    let memory = Arc::new(MemState(memory));
    for state in [
        memory.clone() as Arc<dyn filiera_execution::StateReader>,
        store.clone(),
    ] {
        assert_all_succeeded(
            &executor
                .execute_block(state, &ctx, &txs, &known)
                .expect("state readable"),
        );
    }
    let mut group = c.benchmark_group("execution::block");
    group.throughput(Throughput::Elements(GROWN_BLOCK_TXS));
    group.sample_size(10);
    let name = |state: &str| {
        format!("mix=commission+record,txs={GROWN_BLOCK_TXS},lots={GROWN_LOTS},state={state}")
    };
    group.bench_function(name("memory"), |b| {
        b.iter(|| black_box(executor.execute_block(memory.clone(), &ctx, &txs, &known)))
    });
    group.bench_function(name("rocksdb"), |b| {
        b.iter(|| black_box(executor.execute_block(store.clone(), &ctx, &txs, &known)))
    });
    group.finish();
}

criterion_group!(benches, call, block, grown_block, load);
criterion_main!(benches);
