//! A block's tree update split over threads equals the one-thread update: same
//! roots, and byte for byte the same tree nodes, values and stale-node index;
//! also when the update reads the last blocks' nodes from memory, however
//! many blocks that memory holds.

use filiera_storage::testkit::{ChainBuilder, SplitMix64};
use filiera_storage::{PARALLEL_WRITES_MIN, StateChanges, StorageConfig, Store};
use proptest::prelude::*;
use std::path::Path;

fn open_with_threads(dir: &Path, tree_threads: usize, recent_nodes_bytes: usize) -> Store {
    Store::open(
        dir,
        StorageConfig {
            block_cache_bytes: 8 << 20,
            state_versions_kept: 3,
            tree_threads,
            recent_nodes_bytes,
        },
    )
    .unwrap()
}

/// Memory for recent nodes: none, about one block's (blocks are dropped as
/// new ones come), and plenty.
const RECENT_NODES_BYTES: [usize; 3] = [0, 1 << 20, 64 << 20];

/// `n` writes for one block: new keys, and rewrites of keys of earlier blocks.
fn block_writes(rng: &mut SplitMix64, height: u64, n: usize, rewrites_per_8: u64) -> StateChanges {
    (0..n)
        .map(|i| {
            let key = if height > 1 && rng.next_u64() % 8 < rewrites_per_8 {
                let old = 1 + rng.next_u64() % (height - 1);
                format!("lots/ev/{old:04}/{:05}", rng.next_u64() % n as u64)
            } else {
                format!("lots/ev/{height:04}/{i:05}")
            };
            (
                key.into_bytes(),
                Some(rng.next_u64().to_le_bytes().to_vec()),
            )
        })
        .collect()
}

const TREE_COLUMNS: [&str; 4] = ["tree_nodes", "tree_values", "tree_stale", "state"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn split_updates_equal_the_one_thread_update(
        seed in any::<u64>(),
        sizes in proptest::collection::vec(1_100usize..3_000, 3..6),
        rewrites_per_8 in 0u64..8,
    ) {
        let chain = ChainBuilder::new();
        let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
        let stores: Vec<Store> = dirs
            .iter()
            .zip([1, 2, 5])
            .zip(RECENT_NODES_BYTES)
            .map(|((d, threads), recent)| open_with_threads(d.path(), threads, recent))
            .collect();
        for s in &stores {
            chain.init(s).unwrap();
        }
        let mut rng = SplitMix64(seed);
        let mut splittable = 0;
        for (i, n) in sizes.iter().enumerate() {
            let height = i as u64 + 1;
            let writes = block_writes(&mut rng, height, *n, rewrites_per_8);
            // The genesis root is a single leaf: nothing to split under it. The
            // commit adds the height key to the block's writes.
            if height > 1 && writes.len() + 1 >= PARALLEL_WRITES_MIN {
                splittable += 1;
            }
            let roots: Vec<_> = stores
                .iter()
                .map(|s| chain.commit(s, writes.clone(), vec![]).unwrap().header.state_root)
                .collect();
            prop_assert!(roots.windows(2).all(|w| w[0] == w[1]), "roots differ at {height}");
        }
        // The threaded stores really split, the other never did.
        prop_assert!(splittable > 0);
        prop_assert_eq!(stores[0].split_tree_updates(), 0);
        for s in &stores[1..] {
            prop_assert_eq!(s.split_tree_updates(), splittable);
        }
        for column in TREE_COLUMNS {
            let digests: Vec<_> = stores.iter().map(|s| s.column_digest(column).unwrap()).collect();
            prop_assert!(digests.windows(2).all(|w| w[0] == w[1]), "{column} differs");
        }
        for s in &stores {
            s.verify_state_root().unwrap();
        }
    }
}

/// A block too small to split, and one after deletions (which take jmt's
/// one-key-at-a-time path), still agree across thread counts.
#[test]
fn small_blocks_and_deletions_agree_across_thread_counts() {
    let chain = ChainBuilder::new();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let stores = [
        open_with_threads(a.path(), 1, 0),
        open_with_threads(b.path(), 4, 64 << 20),
    ];
    for s in &stores {
        chain.init(s).unwrap();
    }
    let mut rng = SplitMix64(7);
    for height in 1..=4u64 {
        let mut writes = block_writes(&mut rng, height, if height == 2 { 10 } else { 2_000 }, 2);
        if height == 3 {
            let gone = format!("lots/ev/0001/{:05}", 5).into_bytes();
            writes.insert(gone, None);
        }
        let roots: Vec<_> = stores
            .iter()
            .map(|s| {
                chain
                    .commit(s, writes.clone(), vec![])
                    .unwrap()
                    .header
                    .state_root
            })
            .collect();
        assert_eq!(roots[0], roots[1], "height {height}");
    }
    // Only height 4 splits: 1 sits on the genesis root (a single leaf), 2 is
    // too small, 3 holds a deletion.
    assert_eq!(stores[0].split_tree_updates(), 0);
    assert_eq!(stores[1].split_tree_updates(), 1);
    for column in TREE_COLUMNS {
        assert_eq!(
            stores[0].column_digest(column).unwrap(),
            stores[1].column_digest(column).unwrap(),
            "{column}"
        );
    }
}
