//! Pins the on-disk format: a fixed chain must leave exactly these bytes in
//! every column family. A change here is a change of `STORAGE_FORMAT_VERSION`
//! (and of this file), never an accident.

use crate::commit::{receipts_for, tx};
use crate::open_keeping;
use filiera_storage::STORAGE_FORMAT_VERSION;
use filiera_storage::testkit::{ChainBuilder, changes_for};

/// Column family, then the digest of its entries after the fixed chain.
const GOLDEN: [(&str, &str); 11] = [
    (
        "meta",
        "7ee5ae7b228fb934c233608a7df1035072cd092c6040d7e85e9a591881827093",
    ),
    (
        "headers",
        "cfa0796907ccea06c701c7d0545ce3ea0005e63808f1c501717fc5d0be4e3ba9",
    ),
    (
        "block_txs",
        "5f4e409f3a83390d891faa471b97ac8290472b6983436d97fce4be6f2d60a14b",
    ),
    (
        "block_index",
        "bea218ed9d61fe47d299e8d23b77628264380359190ccbae1d837cd98e079e51",
    ),
    (
        "certificates",
        "25ff765c8902a2eae7fd0dc0c4d9a161861f6e13e4633b47cd7b0766747fda52",
    ),
    (
        "tx_index",
        "14e0bd161556f9263f1809a6ebd9a2f62bf6946c41934bacd14e89d2e37b8804",
    ),
    (
        "receipts",
        "ffc588ee0fb7c50ad192475cc59c314afdd7a83a9efe2f5faa816648bb63dd97",
    ),
    (
        "state",
        "e0e0144c52cb3bdd8c21b087e82fd52c85120184ca61652cfd148c8b9aac576b",
    ),
    (
        "tree_nodes",
        "2bccc0718f4658f5fc0189d188d7b76096993163e1544f185f73fad8a1bb3495",
    ),
    (
        "tree_values",
        "a0e5654cd696bbbe48d0777dd6ae9f8dab74c494bab9e4932d28e5dd3b2da40b",
    ),
    (
        "tree_stale",
        "8bde72cff550db70eef98ee5b59e11be4bf2dbd96ecd445735b3e981a589bae8",
    ),
];

#[test]
fn a_fixed_chain_leaves_the_pinned_bytes_in_every_column() {
    assert_eq!(
        STORAGE_FORMAT_VERSION, 4,
        "a new format needs new digests below"
    );
    let dir = tempfile::tempdir().unwrap();
    let store = open_keeping(dir.path(), 2);
    let chain = ChainBuilder::new();
    chain.init(&store).unwrap();
    for height in 1..=4 {
        // Rewrites, deletions and new keys; pruning runs from height 2 on.
        let txs = vec![tx(2 * height), tx(2 * height + 1)];
        let receipts = receipts_for(&txs);
        chain
            .commit_with_receipts(&store, changes_for(height, 11, 40, 60), txs, receipts)
            .unwrap();
    }
    for (column, expected) in GOLDEN {
        let got = store.column_digest(column).unwrap().to_string();
        assert_eq!(expected, got, "{column}");
    }
}
