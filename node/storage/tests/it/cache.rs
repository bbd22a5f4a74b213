//! The state cache: reads through it never return a value older than the
//! committed one, also while commits run beside them.

use crate::{open, open_keeping};
use filiera_storage::StateChanges;
use filiera_storage::testkit::ChainBuilder;
use std::sync::atomic::{AtomicBool, Ordering};

const HOT_KEYS: u64 = 4;
const COMMITS: u64 = 120;

fn hot_key(i: u64) -> Vec<u8> {
    format!("lots/hot-{i}").into_bytes()
}

/// The value every hot key gets at `height`: the height first.
fn value_at(height: u64) -> Vec<u8> {
    let mut v = height.to_be_bytes().to_vec();
    v.extend_from_slice(b" -- a hot record rewritten by every block");
    v
}

/// With one version kept a superseded value is swept at the next block, so a
/// read that found the old version can miss its value: it must start over,
/// not report corruption. With many kept, stale cache fills are the risk.
#[test]
fn reads_beside_commits_never_see_an_older_value_than_committed() {
    for kept in [1, 1_000] {
        reads_beside_commits(kept);
    }
}

fn reads_beside_commits(kept: u64) {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keeping(dir.path(), kept);
    let chain = ChainBuilder::new();
    chain.init(&store).unwrap();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let readers: Vec<_> = (0..2)
            .map(|r| {
                let (store, stop) = (&store, &stop);
                s.spawn(move || {
                    let mut reads = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let key = hot_key(reads % HOT_KEYS + r);
                        let committed = store.last_height().unwrap().unwrap();
                        // Point reads and scans both fill the cache.
                        let values: Vec<Vec<u8>> = if reads.is_multiple_of(3) {
                            store
                                .state_prefix(b"lots/hot-", None, 10)
                                .unwrap()
                                .into_iter()
                                .map(|(_, v)| v)
                                .collect()
                        } else {
                            store.state_get(&key).unwrap().into_iter().collect()
                        };
                        for value in values {
                            let seen = u64::from_be_bytes(value[..8].try_into().unwrap());
                            assert!(
                                seen >= committed,
                                "read the value of height {seen} after height {committed} was committed"
                            );
                        }
                        reads += 1;
                    }
                    reads
                })
            })
            .collect();
        for height in 1..=COMMITS {
            let changes: StateChanges = (0..=HOT_KEYS)
                .map(|i| (hot_key(i), Some(value_at(height))))
                .collect();
            chain.commit(&store, changes, vec![]).unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        for reader in readers {
            assert!(
                reader.join().unwrap() > COMMITS,
                "readers ran beside the commits"
            );
        }
    });
    // After the commits, cached and stored agree.
    for i in 0..=HOT_KEYS {
        assert_eq!(
            store.state_get(&hot_key(i)).unwrap(),
            Some(value_at(COMMITS))
        );
    }
    store.verify_state_root().unwrap();
}

#[test]
fn a_deleted_key_is_not_served_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let chain = ChainBuilder::new();
    chain.init(&store).unwrap();
    let key = hot_key(0);
    let mut changes = StateChanges::new();
    changes.insert(key.clone(), Some(value_at(1)));
    chain.commit(&store, changes, vec![]).unwrap();
    assert_eq!(store.state_get(&key).unwrap(), Some(value_at(1)));
    assert_eq!(store.state_get(&key).unwrap(), Some(value_at(1)));
    let mut changes = StateChanges::new();
    changes.insert(key.clone(), None);
    chain.commit(&store, changes, vec![]).unwrap();
    assert_eq!(store.state_get(&key).unwrap(), None);
    assert!(store.state_prefix(b"lots/", None, 10).unwrap().is_empty());
}
