//! Block commits: what is written can be read back, and inconsistent commits write nothing.

use crate::{open, open_keeping};
use filiera_storage::testkit::{ChainBuilder, changes_for};
use filiera_storage::{
    STORAGE_FORMAT_VERSION, StateChanges, StorageConfig, StorageError, Store, TxLocation,
};
use filiera_types::receipt::{Event, Receipt, TxStatus};
use filiera_types::{ChainId, ContractCall, ContractId, Hash, MethodName, SecretKey, Transaction};

pub fn tx(nonce: u64) -> filiera_types::SignedTransaction {
    let key = SecretKey::from_seed(&[3; 32]);
    Transaction {
        chain_id: ChainId::new("filiera-storage-test").unwrap(),
        sender: key.public_key(),
        nonce,
        expiry_height: 100,
        call: ContractCall {
            contract: ContractId::new("lots").unwrap(),
            method: MethodName::new("record_event").unwrap(),
            args: vec![nonce as u8],
        },
    }
    .sign(&key)
    .unwrap()
}

/// Receipts with every field set, so a round trip shows each one is kept.
pub fn receipts_for(txs: &[filiera_types::SignedTransaction]) -> Vec<Receipt> {
    txs.iter()
        .enumerate()
        .map(|(i, tx)| Receipt {
            tx_hash: tx.hash(),
            status: if i % 2 == 0 {
                TxStatus::Success
            } else {
                TxStatus::Failed {
                    code: 7,
                    message: "lot unknown".into(),
                }
            },
            fuel_used: 40_000 + i as u64,
            events: vec![Event {
                contract: ContractId::new("lots").unwrap(),
                name: "lot_event".into(),
                data: vec![i as u8; 3],
            }],
            return_data: vec![1, 2, i as u8],
        })
        .collect()
}

#[test]
fn committed_blocks_read_back_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let chain = ChainBuilder::new();
    let mut blocks = Vec::new();
    {
        let store = open(dir.path());
        assert_eq!(store.last_height().unwrap(), None);
        chain.init(&store).unwrap();
        for h in 1..=5u64 {
            let mut changes = StateChanges::new();
            changes.insert(format!("lots/{h}").into_bytes(), Some(vec![h as u8; 10]));
            let txs = vec![tx(2 * h), tx(2 * h + 1)];
            let receipts = receipts_for(&txs);
            blocks.push(
                chain
                    .commit_with_receipts(&store, changes, txs, receipts)
                    .unwrap(),
            );
        }
    }
    let store = open(dir.path());
    assert_eq!(store.last_height().unwrap(), Some(5));
    assert_eq!(store.genesis_hash().unwrap(), Some(chain.genesis_hash()));
    for b in &blocks {
        let h = b.header.height;
        assert_eq!(store.block(h).unwrap().as_ref(), Some(b));
        assert_eq!(store.height_of_block(&b.hash()).unwrap(), Some(h));
        let cert = store.certificate(h).unwrap().unwrap();
        assert_eq!(
            cert.verify_for("filiera-storage-test", chain.validator_set(), h, &b.hash())
                .unwrap(),
            1
        );
        assert_eq!(store.state_root(h).unwrap(), b.header.state_root);
        let receipts = receipts_for(&b.txs);
        for (i, tx) in b.txs.iter().enumerate() {
            let loc = store.tx_location(&tx.hash()).unwrap().unwrap();
            assert_eq!(
                loc,
                TxLocation {
                    tx_hash: tx.hash(),
                    height: h,
                    index: i as u32
                }
            );
            assert_eq!(store.receipt(loc).unwrap().as_ref(), Some(&receipts[i]));
        }
    }
    // Parents chain back to genesis.
    assert_eq!(blocks[0].header.parent_hash, chain.genesis_hash());
    assert_eq!(blocks[3].header.parent_hash, blocks[2].hash());
    assert_eq!(store.state_get(b"lots/3").unwrap(), Some(vec![3; 10]));
    assert_eq!(store.state_prefix(b"lots/", None, 10).unwrap().len(), 5);
    assert_eq!(
        store
            .state_prefix(b"lots/", Some(b"lots/2"), 2)
            .unwrap()
            .iter()
            .map(|(k, _)| k.clone())
            .collect::<Vec<_>>(),
        vec![b"lots/3".to_vec(), b"lots/4".to_vec()]
    );
    assert_eq!(
        store.verify_state_root().unwrap(),
        blocks[4].header.state_root
    );
    assert!(store.tx_location(&Hash([0; 32])).unwrap().is_none());
}

#[test]
fn inconsistent_commits_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let chain = ChainBuilder::new();
    chain.init(&store).unwrap();
    let good = chain
        .commit(&store, changes_for(1, 1, 10, 100), vec![tx(0)])
        .unwrap();
    let root_before = store.state_root(1).unwrap();

    // Wrong height.
    let p = store.prepare_state(2, changes_for(2, 1, 10, 100)).unwrap();
    let mut block = good.clone();
    block.header.height = 3;
    let cert = chain.certify(&block);
    assert!(matches!(
        store.commit_block(&block, &cert, &[], p),
        Err(StorageError::OutOfOrder {
            expected: 2,
            found: 3
        })
    ));
    assert!(matches!(
        store.prepare_state(5, StateChanges::new()),
        Err(StorageError::OutOfOrder { .. })
    ));

    // A header whose state root is not the state's.
    let p = store.prepare_state(2, changes_for(2, 1, 10, 100)).unwrap();
    let mut block = good.clone();
    block.header.height = 2;
    block.header.state_root = Hash([9; 32]);
    let cert = chain.certify(&block);
    let receipts = vec![Receipt {
        tx_hash: block.txs[0].hash(),
        status: filiera_types::receipt::TxStatus::Success,
        fuel_used: 0,
        events: vec![],
        return_data: vec![],
    }];
    assert!(matches!(
        store.commit_block(&block, &cert, &receipts, p),
        Err(StorageError::Inconsistent(_))
    ));

    // A certificate for another block, and missing receipts.
    let p = store.prepare_state(2, StateChanges::new()).unwrap();
    let mut block = good.clone();
    block.header.height = 2;
    block.header.state_root = p.root();
    let cert = chain.certify(&good);
    assert!(matches!(
        store.commit_block(&block, &cert, &receipts, p),
        Err(StorageError::Inconsistent(_))
    ));
    let p = store.prepare_state(2, StateChanges::new()).unwrap();
    let cert = chain.certify(&block);
    assert!(matches!(
        store.commit_block(&block, &cert, &[], p),
        Err(StorageError::Inconsistent(_))
    ));

    // Oversized keys and the reserved key.
    let mut big = StateChanges::new();
    big.insert(vec![b'k'; 600], Some(vec![1]));
    assert!(matches!(
        store.prepare_state(2, big),
        Err(StorageError::Limit { .. })
    ));
    let mut reserved = StateChanges::new();
    reserved.insert(filiera_storage::HEIGHT_KEY.to_vec(), Some(vec![1]));
    assert!(store.prepare_state(2, reserved).is_err());

    assert_eq!(store.last_height().unwrap(), Some(1));
    assert_eq!(store.state_root(1).unwrap(), root_before);
    assert!(store.header(2).unwrap().is_none());
    store.verify_state_root().unwrap();
}

#[test]
fn another_genesis_or_a_future_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        ChainBuilder::new().init(&store).unwrap();
        assert!(matches!(
            store.init_genesis(Hash([1; 32]), StateChanges::new()),
            Err(StorageError::WrongGenesis { .. })
        ));
    }
    // Pretend a newer binary wrote the directory.
    {
        let db = rocksdb::DB::open_cf(&rocksdb_opts(), dir.path(), cf_names()).unwrap();
        db.put_cf(
            db.cf_handle("meta").unwrap(),
            b"format_version",
            (STORAGE_FORMAT_VERSION + 1).to_be_bytes(),
        )
        .unwrap();
    }
    match Store::open(dir.path(), Default::default()) {
        Err(StorageError::IncompatibleFormat { found, supported })
            if found == STORAGE_FORMAT_VERSION + 1 && supported == STORAGE_FORMAT_VERSION => {}
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a future format must be refused"),
    }
    // And a past one, with the way out named: there is no in-place migration.
    {
        let db = rocksdb::DB::open_cf(&rocksdb_opts(), dir.path(), cf_names()).unwrap();
        db.put_cf(
            db.cf_handle("meta").unwrap(),
            b"format_version",
            (STORAGE_FORMAT_VERSION - 1).to_be_bytes(),
        )
        .unwrap();
    }
    match Store::open(dir.path(), Default::default()) {
        Err(e @ StorageError::IncompatibleFormat { .. }) => {
            assert!(e.to_string().contains("fast-sync from peers"), "{e}")
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a past format must be refused"),
    }
}

fn rocksdb_opts() -> rocksdb::Options {
    let mut o = rocksdb::Options::default();
    o.create_missing_column_families(true);
    o
}

fn cf_names() -> Vec<&'static str> {
    vec![
        "meta",
        "headers",
        "block_txs",
        "block_index",
        "certificates",
        "tx_index",
        "receipts",
        "state",
        "tree_nodes",
        "tree_values",
        "tree_stale",
        "query_index",
    ]
}

#[test]
fn pruning_keeps_recent_versions_and_bounds_old_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keeping(dir.path(), 5);
    let chain = ChainBuilder::new();
    chain.init(&store).unwrap();
    let mut roots = Vec::new();
    for h in 1..=30u64 {
        // Rewrite the same 50 keys every block: without pruning, old versions pile up.
        roots.push(
            chain
                .commit(&store, changes_for(h, 3, 50, 50), vec![])
                .unwrap()
                .header
                .state_root,
        );
    }
    assert_eq!(store.oldest_state_height().unwrap(), 26);
    for h in 26..=30u64 {
        assert_eq!(store.state_root(h).unwrap(), roots[(h - 1) as usize]);
        let proof = store.prove(b"lots/lot-00000007", h).unwrap();
        proof.verify(&roots[(h - 1) as usize]).unwrap();
    }
    assert!(matches!(
        store.state_root(25),
        Err(StorageError::Pruned {
            height: 25,
            oldest: 26
        })
    ));
    // Restarting a node re-checks genesis; the genesis version is long pruned.
    assert_eq!(chain.init(&store).unwrap(), roots[29]);
    // Blocks and certificates are never pruned.
    assert!(store.block(1).unwrap().is_some() && store.certificate(1).unwrap().is_some());
    store.verify_state_root().unwrap();

    // Without pruning the same history keeps more tree nodes.
    let dir2 = tempfile::tempdir().unwrap();
    let unpruned = open_keeping(dir2.path(), 1_000);
    chain.init(&unpruned).unwrap();
    for h in 1..=30u64 {
        chain
            .commit(&unpruned, changes_for(h, 3, 50, 50), vec![])
            .unwrap();
    }
    assert_eq!(unpruned.state_root(30).unwrap(), roots[29]);
    assert!(count_cf(&store, "tree_nodes") < count_cf(&unpruned, "tree_nodes") / 2);
    // And the values of rewritten keys go too.
    assert!(count_cf(&store, "tree_values") < count_cf(&unpruned, "tree_values") / 2);
}

/// With one version kept, a block deletes the nodes it makes stale in its own
/// write: the tree holds exactly the nodes of the latest version, as many as
/// a new tree of the same entries.
#[test]
fn one_version_kept_leaves_only_the_latest_tree() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        StorageConfig {
            block_cache_bytes: 8 << 20,
            state_versions_kept: 1,
            tree_threads: 2,
            ..StorageConfig::default()
        },
    )
    .unwrap();
    let chain = ChainBuilder::new();
    chain.init(&store).unwrap();
    for h in 1..=12u64 {
        let mut changes = changes_for(h, 9, 1_500, 4_000);
        if h % 2 == 0 {
            // Insert-only blocks this large take the split, multi-threaded path.
            changes.retain(|_, v| v.is_some());
        }
        chain.commit(&store, changes, vec![]).unwrap();
    }
    assert_eq!(store.oldest_state_height().unwrap(), 12);
    assert!(
        store.split_tree_updates() > 0,
        "no block took the split path"
    );
    let root = store.state_root(12).unwrap();
    let entries: StateChanges = store
        .state_prefix(b"lots/", None, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, Some(v)))
        .collect();
    assert!(entries.len() > 2_000);
    for key in entries.keys().step_by(97) {
        store.prove(key, 12).unwrap().verify(&root).unwrap();
    }
    assert_eq!(count_cf(&store, "tree_stale"), 0);

    let dir2 = tempfile::tempdir().unwrap();
    let fresh = open_keeping(dir2.path(), 1);
    chain.init(&fresh).unwrap();
    chain.commit(&fresh, entries, vec![]).unwrap();
    assert_eq!(
        count_cf(&store, "tree_nodes"),
        count_cf(&fresh, "tree_nodes")
    );
}

fn count_cf(store: &Store, cf: &str) -> usize {
    store.count_entries(cf).unwrap()
}

/// A key written once and never again must stay provable however long ago it
/// was written: when later keys land beside it, the tree moves its leaf to a
/// new node (a new version) while its value stays where it was written, and
/// pruning the moved leaf's old node must not take that value with it.
#[test]
fn pruning_keeps_the_values_of_old_keys_whose_leaves_moved() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keeping(dir.path(), 3);
    let chain = ChainBuilder::new();
    chain.init(&store).unwrap();
    // Fresh keys every block (as lot commissions are): old leaves get pushed
    // down by new neighbours again and again.
    let key = |h: u64, i: u64| format!("lots/h{h:04}-k{i:03}").into_bytes();
    let mut header = None;
    for h in 1..=60u64 {
        let changes: StateChanges = (0..40)
            .map(|i| (key(h, i), Some(format!("value {h}/{i}").into_bytes())))
            .collect();
        header = Some(chain.commit(&store, changes, vec![]).unwrap().header);
    }
    let header = header.unwrap();
    assert_eq!(store.oldest_state_height().unwrap(), 58);
    for h in 1..=60u64 {
        for i in 0..40 {
            let proof = store.prove(&key(h, i), 60).unwrap();
            assert_eq!(
                proof.value,
                Some(format!("value {h}/{i}").into_bytes()),
                "key {h}/{i}"
            );
            proof.verify(&header.state_root).unwrap();
        }
    }
    // The whole state exports (a snapshot walks every leaf's value).
    let mut exporter = store.export_snapshot(60, 500).unwrap();
    let mut entries = 0;
    while let Some(chunk) = exporter.next_chunk().unwrap() {
        entries += chunk.entries.len();
    }
    assert!(entries >= 60 * 40);
    assert_eq!(entries as u64, store.state_entries(60).unwrap());
    store.verify_state_root().unwrap();
}

/// A state larger than one sweep's stretch of values: the sweep resumes where
/// it stopped, comes round again, and every superseded value goes while every
/// kept version still proves.
#[test]
fn the_value_sweep_resumes_and_covers_a_large_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keeping(dir.path(), 2);
    let chain = ChainBuilder::new();
    chain.init(&store).unwrap();
    let key = |i: u64| format!("lots/ev/{i:06}").into_bytes();
    let keys = 3 * filiera_storage::VALUE_SWEEP_ENTRIES as u64 / 2;
    let fresh: StateChanges = (0..keys)
        .map(|i| (key(i), Some(b"first".to_vec())))
        .collect();
    chain.commit(&store, fresh, vec![]).unwrap();
    // Rewrite a tenth of the keys per block, round the key space.
    let per_block = keys / 10;
    let mut header = None;
    for h in 0..12u64 {
        let rewrites: StateChanges = (0..per_block)
            .map(|i| {
                (
                    key((h * per_block + i) % keys),
                    Some(format!("at {h}").into_bytes()),
                )
            })
            .collect();
        header = Some(chain.commit(&store, rewrites, vec![]).unwrap().header);
    }
    let header = header.unwrap();
    // One value per key, plus the older values the two kept versions still
    // read and those superseded since the sweep last passed by (a cycle is
    // about two blocks here): far below the 12 rewrites of a tenth of the keys
    // an unswept store holds.
    let values = store.count_entries("tree_values").unwrap() as u64;
    let unswept = keys + 12 * per_block;
    assert!(
        values <= keys + 4 * per_block,
        "{values} values of {unswept}"
    );
    for i in (0..keys).step_by(97) {
        let proof = store.prove(&key(i), header.height).unwrap();
        assert!(proof.value.is_some());
        proof.verify(&header.state_root).unwrap();
    }
    store.verify_state_root().unwrap();
}
