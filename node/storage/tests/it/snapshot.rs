//! Snapshots: export at a height, import into an empty directory, same root and
//! reads; a tampered or misplaced chunk is refused.

use crate::open;
use filiera_storage::testkit::{ChainBuilder, changes_for};
use filiera_storage::{SnapshotChunk, StorageError, Store};

fn source() -> (tempfile::TempDir, Store, ChainBuilder) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let chain = ChainBuilder::new();
    chain.init(&store).unwrap();
    for h in 1..=12u64 {
        chain
            .commit(&store, changes_for(h, 11, 200, 3_000), vec![])
            .unwrap();
    }
    (dir, store, chain)
}

fn chunks(store: &Store, height: u64, per_chunk: usize) -> Vec<SnapshotChunk> {
    let mut exporter = store.export_snapshot(height, per_chunk).unwrap();
    let mut out = Vec::new();
    while let Some(c) = exporter.next_chunk().unwrap() {
        out.push(SnapshotChunk::decode(&c.encode()).unwrap());
    }
    out
}

#[test]
fn snapshot_round_trip_gives_the_same_root_and_reads() {
    let (_d, src, chain) = source();
    let h = 12;
    let header = src.header(h).unwrap().unwrap();
    let cert = src.certificate(h).unwrap().unwrap();
    let parts = chunks(&src, h, 250);
    assert!(parts.len() > 3, "{} chunks", parts.len());

    let dst_dir = tempfile::tempdir().unwrap();
    let dst = open(dst_dir.path());
    let mut importer = dst
        .import_snapshot(chain.genesis_hash(), header.clone(), cert)
        .unwrap();
    for c in parts {
        importer.add_chunk(c).unwrap();
    }
    assert_eq!(importer.finish().unwrap(), header.state_root);
    assert_eq!(dst.last_height().unwrap(), Some(h));
    assert_eq!(dst.state_root(h).unwrap(), header.state_root);
    assert_eq!(dst.verify_state_root().unwrap(), header.state_root);
    for (k, v) in src.state_prefix(b"lots/", None, 10_000).unwrap() {
        assert_eq!(dst.state_get(&k).unwrap(), Some(v));
    }
    let proof = dst.prove(b"lots/lot-00000042", h).unwrap();
    assert_eq!(proof.value, src.state_get(b"lots/lot-00000042").unwrap());
    proof.verify(&header.state_root).unwrap();
    // The imported node continues the chain.
    let next = chain
        .commit(&dst, changes_for(13, 11, 200, 3_000), vec![])
        .unwrap();
    let same = chain
        .commit(&src, changes_for(13, 11, 200, 3_000), vec![])
        .unwrap();
    assert_eq!(next.header.state_root, same.header.state_root);
    assert_eq!(next.hash(), same.hash());
}

#[test]
fn tampered_chunks_are_refused() {
    let (_d, src, chain) = source();
    let header = src.header(12).unwrap().unwrap();
    let cert = src.certificate(12).unwrap().unwrap();
    let good = chunks(&src, 12, 250);

    type Tamper = fn(&mut Vec<SnapshotChunk>);
    let tampers: Vec<(&str, Tamper)> = vec![
        ("changed value", |c| {
            let e = c[1].entries[3].len();
            c[1].entries[3][e - 1] ^= 1;
        }),
        ("dropped entry", |c| {
            c[2].entries.remove(5);
        }),
        ("swapped entries", |c| c[0].entries.swap(1, 2)),
        ("chunk out of order", |c| c.swap(1, 2)),
        ("missing chunk", |c| {
            c.remove(1);
        }),
    ];
    for (what, tamper) in tampers {
        let mut parts = good.clone();
        tamper(&mut parts);
        let dir = tempfile::tempdir().unwrap();
        let dst = open(dir.path());
        let mut importer = dst
            .import_snapshot(chain.genesis_hash(), header.clone(), cert.clone())
            .unwrap();
        let refused = parts
            .into_iter()
            .map(|c| importer.add_chunk(c))
            .find_map(Result::err);
        let refused = match refused {
            Some(e) => e,
            None => importer.finish().expect_err(what),
        };
        assert!(
            matches!(refused, StorageError::Snapshot(_)),
            "{what}: {refused}"
        );
        assert_eq!(
            dst.last_height().unwrap(),
            None,
            "{what}: nothing committed"
        );
    }

    // A header whose certificate is for another block, or a non-empty target.
    let dir = tempfile::tempdir().unwrap();
    let dst = open(dir.path());
    let other = src.certificate(11).unwrap().unwrap();
    assert!(
        dst.import_snapshot(chain.genesis_hash(), header.clone(), other)
            .is_err()
    );
    assert!(
        src.import_snapshot(chain.genesis_hash(), header, cert)
            .is_err()
    );
}

#[test]
fn chunks_served_by_index_equal_the_exported_ones_and_import_in_any_session() {
    let (_d, src, chain) = source();
    let h = 12;
    let exported = chunks(&src, h, 250);
    let entries = src.state_entries(h).unwrap();
    let total: usize = exported.iter().map(|c| c.entries.len()).sum();
    assert_eq!(entries, total as u64);
    // Each chunk alone, out of order, is the exporter's chunk byte for byte.
    for i in (0..exported.len()).rev() {
        let served = src.snapshot_chunk(h, i as u32, 250).unwrap().unwrap();
        assert_eq!(served.encode(), exported[i].encode(), "chunk {i}");
    }
    assert!(
        src.snapshot_chunk(h, exported.len() as u32, 250)
            .unwrap()
            .is_none(),
        "past the end"
    );
    // An import from served chunks keeps the history headers it is given, and
    // refuses any at or above the snapshot's height.
    let dst_dir = tempfile::tempdir().unwrap();
    let dst = open(dst_dir.path());
    let header = src.header(h).unwrap().unwrap();
    let cert = src.certificate(h).unwrap().unwrap();
    let mut importer = dst
        .import_snapshot(chain.genesis_hash(), header.clone(), cert.clone())
        .unwrap();
    for i in 0..exported.len() as u32 {
        importer
            .add_chunk(src.snapshot_chunk(h, i, 250).unwrap().unwrap())
            .unwrap();
    }
    assert_eq!(importer.finish().unwrap(), header.state_root);
    let old = (
        src.header(5).unwrap().unwrap(),
        src.certificate(5).unwrap().unwrap(),
    );
    dst.keep_history(std::slice::from_ref(&old)).unwrap();
    assert_eq!(dst.header(5).unwrap(), Some(old.0.clone()));
    assert_eq!(dst.certificate(5).unwrap(), Some(old.1));
    assert!(dst.block(5).unwrap().is_none(), "headers only, no block");
    let err = dst.keep_history(&[(header, cert)]).unwrap_err();
    assert!(
        err.to_string().contains("not an earlier certified header"),
        "{err}"
    );
    // A header with another header's certificate is refused too.
    let wrong = (old.0, src.certificate(6).unwrap().unwrap());
    assert!(dst.keep_history(&[wrong]).is_err());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Snapshot chunks come from peers: any bit flipped in a chunk's bytes, or
    /// bytes from nowhere, is refused (at decoding or import) and leaves the
    /// importing store empty. Never a panic, never a partial state.
    #[test]
    fn arbitrary_chunk_bytes_are_refused_and_change_nothing(
        chunk_pick in 0usize..4,
        flip_at in proptest::prelude::any::<proptest::sample::Index>(),
        bit in 0u8..8,
        junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2_048),
    ) {
        let (_d, src, chain) = source();
        let header = src.header(12).unwrap().unwrap();
        let cert = src.certificate(12).unwrap().unwrap();
        let good = chunks(&src, 12, 250);
        let pick = chunk_pick.min(good.len() - 1);
        let mut flipped = good[pick].encode();
        let at = flip_at.index(flipped.len());
        flipped[at] ^= 1 << bit;
        for bytes in [flipped, junk.clone()] {
            let dir = tempfile::tempdir().unwrap();
            let dst = open(dir.path());
            let mut importer = dst
                .import_snapshot(chain.genesis_hash(), header.clone(), cert.clone())
                .unwrap();
            // The chunks before the picked one are good: the bad one arrives in its place.
            for c in &good[..pick] {
                importer.add_chunk(c.clone()).unwrap();
            }
            let refused = match SnapshotChunk::decode(&bytes) {
                Err(_) => true,
                Ok(c) => importer.add_chunk(c).is_err(),
            };
            proptest::prop_assert!(refused, "a changed chunk {pick} was taken");
            proptest::prop_assert_eq!(dst.last_height().unwrap(), None);
        }
    }
}
