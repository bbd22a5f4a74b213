//! Micro-benchmarks of the canonical types: hashing, encoding, signatures, Merkle roots.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use filiera_types::{
    ChainId, ContractCall, ContractId, Domain, Hash, MethodName, SecretKey, SignKind,
    SignedTransaction, Transaction, merkle,
};
use std::hint::black_box;

const CHAIN: &str = "filiera-bench-1";

fn sample_tx() -> SignedTransaction {
    let key = SecretKey::from_seed(&[7; 32]);
    Transaction {
        chain_id: ChainId::new(CHAIN).expect("valid chain id"),
        sender: key.public_key(),
        nonce: 12,
        expiry_height: 10_000,
        call: ContractCall {
            contract: ContractId::new("lots").expect("valid contract id"),
            method: MethodName::new("record_event").expect("valid method"),
            args: vec![0x5a; 200],
        },
    }
    .sign(&key)
    .expect("signing with a valid chain id")
}

fn hashing(c: &mut Criterion) {
    let mut group = c.benchmark_group("hash::blake3");
    for size in [64usize, 256, 4096] {
        let data = vec![0xabu8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("bytes={size}")),
            &data,
            |b, d| b.iter(|| Hash::of(Domain::Transaction, black_box(d))),
        );
    }
    group.finish();
}

fn encoding(c: &mut Criterion) {
    let tx = sample_tx();
    let bytes = tx.encode();
    c.bench_function("encoding::encode/kind=tx", |b| {
        b.iter(|| black_box(&tx).encode())
    });
    c.bench_function("encoding::decode/kind=tx", |b| {
        b.iter(|| SignedTransaction::decode(black_box(&bytes)))
    });
    c.bench_function("tx::hash/kind=tx", |b| b.iter(|| black_box(&tx).hash()));
}

fn signatures(c: &mut Criterion) {
    let key = SecretKey::from_seed(&[9; 32]);
    let payload = vec![0x11u8; 256];
    let sig = key
        .sign(CHAIN, SignKind::Transaction, &payload)
        .expect("valid chain id");
    let public = key.public_key();
    c.bench_function("crypto::sign/bytes=256", |b| {
        b.iter(|| key.sign(CHAIN, SignKind::Transaction, black_box(&payload)))
    });
    c.bench_function("crypto::verify_strict/bytes=256", |b| {
        b.iter(|| public.verify(CHAIN, SignKind::Transaction, black_box(&payload), &sig))
    });
    // The key's share of a verification: decoding the sender's point, which a
    // cache of decoded keys would save for senders seen before.
    let key_bytes = public.0;
    c.bench_function("crypto::decompress/point=public_key", |b| {
        b.iter(|| ed25519_dalek::VerifyingKey::from_bytes(black_box(&key_bytes)))
    });
    let tx = sample_tx();
    c.bench_function("tx::verify/kind=tx", |b| b.iter(|| black_box(&tx).verify()));
    // What the node pays for a sender whose key it keeps decoded
    // (filiera_execution::signatures::verify).
    let sender = tx.tx.sender.decode().expect("the sample's sender is a key");
    c.bench_function("tx::verify/kind=tx,key=decoded", |b| {
        b.iter(|| black_box(&tx).verify_with(black_box(&sender)))
    });

    // What batch verification would need per signature to accept exactly what
    // verify_strict accepts (ADR 0007): its R shown torsion-free, a scalar
    // multiplication by the group order (keys, being few, can be cached).
    let mut r_bytes = [0u8; 32];
    r_bytes.copy_from_slice(&sig.0[..32]);
    let r = curve25519_dalek::edwards::CompressedEdwardsY(r_bytes);
    let point = r.decompress().expect("a valid signature's R decompresses");
    assert!(point.is_torsion_free());
    c.bench_function("crypto::torsion_check/point=R", |b| {
        b.iter(|| black_box(&point).is_torsion_free())
    });

    // For the record: ed25519-dalek's batch verification, which the node does
    // NOT use (see filiera_execution::signatures: it cannot be made to accept
    // exactly what verify_strict accepts without a per-signature subgroup
    // check that costs about what it saves).
    let mut group = c.benchmark_group("crypto::verify_batch");
    for n in [64usize, 256] {
        let keys: Vec<ed25519_dalek::SigningKey> = (0..n)
            .map(|i| ed25519_dalek::SigningKey::from_bytes(&[i as u8 ^ 0x5a; 32]))
            .collect();
        let messages: Vec<Vec<u8>> = (0..n).map(|i| vec![i as u8; 256]).collect();
        let signatures: Vec<ed25519_dalek::Signature> = keys
            .iter()
            .zip(&messages)
            .map(|(k, m)| ed25519_dalek::Signer::sign(k, m))
            .collect();
        let publics: Vec<ed25519_dalek::VerifyingKey> =
            keys.iter().map(|k| k.verifying_key()).collect();
        let refs: Vec<&[u8]> = messages.iter().map(|m| m.as_slice()).collect();
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::from_parameter(format!("n={n}")), |b| {
            b.iter(|| ed25519_dalek::verify_batch(black_box(&refs), &signatures, &publics))
        });
    }
    group.finish();
}

fn merkle_roots(c: &mut Criterion) {
    let mut group = c.benchmark_group("merkle::root");
    for n in [100usize, 10_000] {
        let leaves: Vec<Hash> = (0..n as u64)
            .map(|i| Hash::of(Domain::TxLeaf, &i.to_le_bytes()))
            .collect();
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("leaves={n}")),
            &leaves,
            |b, l| b.iter(|| merkle::root(black_box(l))),
        );
    }
    group.finish();
}

criterion_group!(benches, hashing, encoding, signatures, merkle_roots);
criterion_main!(benches);
