//! Storage micro-benchmarks on the real RocksDB: block commit, proof generation
//! and proof verification.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use filiera_storage::testkit::{ChainBuilder, SplitMix64};
use filiera_storage::{StateChanges, StorageConfig, Store};
use std::hint::black_box;

const WRITES_PER_BLOCK: usize = 10_000;
const PROOF_KEYS: usize = 100_000;

fn store() -> (tempfile::TempDir, Store, ChainBuilder) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(
        dir.path(),
        StorageConfig {
            block_cache_bytes: 256 << 20,
            state_versions_kept: 100,
            ..StorageConfig::default()
        },
    )
    .expect("open");
    let chain = ChainBuilder::new();
    chain.init(&store).expect("genesis");
    (dir, store, chain)
}

/// The state key of event `i` of the lot of `block`: the one key layout every
/// benchmark here writes, rewrites and proves.
fn event_key(block: u64, i: u64) -> Vec<u8> {
    format!("lots/events/09521234100010/CU{block:06}/{i:06}").into_bytes()
}

/// `n` lot-event-sized writes with keys unique to `block`.
fn writes(block: u64, n: usize) -> StateChanges {
    (0..n)
        .map(|i| {
            let key = event_key(block, i as u64);
            let value = format!("{{\"bizStep\":\"inspecting\",\"disposition\":\"conformant\",\"n\":{i},\"block\":{block}}}").into_bytes();
            (key, Some(value))
        })
        .collect()
}

/// Tree sizes the commit is measured at: a young chain, and one that has
/// recorded a million records.
const COMMIT_TREE_KEYS: [usize; 2] = [100_000, 1_000_000];

/// A block of 10,000 lot-event-sized rewrites of records of the first
/// `prefilled` blocks (lot records and nonces are rewritten by every event), so
/// the tree keeps its size from one measured block to the next.
fn rewrites(block: u64, prefilled: u64, rng: &mut SplitMix64) -> StateChanges {
    let mut changes = StateChanges::new();
    while changes.len() < WRITES_PER_BLOCK {
        let old = 1 + rng.next_u64() % prefilled;
        let i = rng.next_u64() % WRITES_PER_BLOCK as u64;
        let key = event_key(old, i);
        let value = format!("{{\"bizStep\":\"shipping\",\"disposition\":\"in_transit\",\"n\":{i},\"block\":{block}}}").into_bytes();
        changes.insert(key, Some(value));
    }
    changes
}

/// One block of 10,000 writes (prepare, then the synced commit) on a tree of
/// `keys` keys.
fn commit(c: &mut Criterion) {
    let mut group = c.benchmark_group("storage::commit");
    group.sample_size(10);
    group.throughput(Throughput::Elements(WRITES_PER_BLOCK as u64));
    for keys in COMMIT_TREE_KEYS {
        let (_dir, store, chain) = store();
        let prefilled = (keys / WRITES_PER_BLOCK) as u64;
        for block in 1..=prefilled {
            chain
                .commit(&store, writes(block, WRITES_PER_BLOCK), vec![])
                .expect("prefill");
        }
        let mut block = prefilled;
        let mut rng = SplitMix64(keys as u64);
        group.bench_function(format!("writes={WRITES_PER_BLOCK},keys={keys}"), |b| {
            b.iter_batched(
                || {
                    block += 1;
                    rewrites(block, prefilled, &mut rng)
                },
                |changes| chain.commit(&store, changes, vec![]).expect("commit"),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

/// The state-tree half of a commit alone: the root of 10,000 writes over a
/// tree that already holds 10 blocks of them, nothing written.
fn prepare(c: &mut Criterion) {
    let (_dir, store, chain) = store();
    for block in 0..10u64 {
        chain
            .commit(&store, writes(block, WRITES_PER_BLOCK), vec![])
            .expect("commit");
    }
    let height = store.last_height().expect("height").expect("initialised") + 1;
    let mut group = c.benchmark_group("storage::prepare");
    group.sample_size(10);
    group.throughput(Throughput::Elements(WRITES_PER_BLOCK as u64));
    group.bench_function(format!("writes={WRITES_PER_BLOCK}"), |b| {
        b.iter_batched(
            || writes(1_000, WRITES_PER_BLOCK),
            |changes| store.prepare_state(height, changes).expect("prepare"),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn proofs(c: &mut Criterion) {
    let (_dir, store, chain) = store();
    for block in 0..(PROOF_KEYS / WRITES_PER_BLOCK) as u64 {
        chain
            .commit(&store, writes(block, WRITES_PER_BLOCK), vec![])
            .expect("commit");
    }
    let height = store.last_height().expect("height").expect("initialised");
    let root = store.state_root(height).expect("root");
    let key = event_key(4, 4242);
    c.bench_function(&format!("storage::prove/keys={PROOF_KEYS}"), |b| {
        b.iter(|| store.prove(black_box(&key), height).expect("prove"))
    });
    let proof = store.prove(&key, height).expect("prove");
    assert!(proof.value.is_some());
    c.bench_function(&format!("state::verify_proof/keys={PROOF_KEYS}"), |b| {
        b.iter(|| black_box(&proof).verify(&root).expect("verifies"))
    });
    let absent = store
        .prove(b"lots/events/none", height)
        .expect("prove absent");
    c.bench_function(&format!("state::verify_absence/keys={PROOF_KEYS}"), |b| {
        b.iter(|| black_box(&absent).verify(&root).expect("verifies"))
    });
}

criterion_group!(benches, commit, prepare, proofs);
criterion_main!(benches);
