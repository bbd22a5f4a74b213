//! Pins the on-disk format: a fixed chain must leave exactly these bytes in
//! every column family. A change here is a change of `STORAGE_FORMAT_VERSION`
//! (and of this file), never an accident.

use crate::commit::tx;
use crate::open_keeping;
use filiera_storage::STORAGE_FORMAT_VERSION;
use filiera_storage::testkit::{ChainBuilder, changes_for};

/// Column family, then the digest of its entries after the fixed chain.
const GOLDEN: [(&str, &str); 11] = [
    (
        "meta",
        "7ff3fdda192ccfb96525b5e531954ea1339a9582c66d464c0b40d9602b223b57",
    ),
    (
        "headers",
        "c279d759acabd12312208f3b1bbff983d4438bcee752dfcd98156c982a9c9d56",
    ),
    (
        "block_txs",
        "5f4e409f3a83390d891faa471b97ac8290472b6983436d97fce4be6f2d60a14b",
    ),
    (
        "block_index",
        "d2e99ceeedfe60b9cedeb25f692cfc1ac98ad5d4545d4159df22ab6a1f27687d",
    ),
    (
        "certificates",
        "ed4f998b83f06ecc6406da2ba594917af859f6161de9716bc4604bddca354da0",
    ),
    (
        "tx_index",
        "14e0bd161556f9263f1809a6ebd9a2f62bf6946c41934bacd14e89d2e37b8804",
    ),
    (
        "receipts",
        "e6edcd12d3a088f9d3c9f5e48909c1e0a0804b39cfe3c009bd13c1f117a6d707",
    ),
    (
        "state",
        "5397d262308cc8a74713a175b20e315df7bdf12caa18fb5fcb060f6d5eb81a7a",
    ),
    (
        "tree_nodes",
        "a450cd79faac8616f0d62d001164b599131f573e12b35cbbd8b8ab3ff97a8f86",
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
        STORAGE_FORMAT_VERSION, 2,
        "a new format needs new digests below"
    );
    let dir = tempfile::tempdir().unwrap();
    let store = open_keeping(dir.path(), 2);
    let chain = ChainBuilder::new();
    chain.init(&store).unwrap();
    for height in 1..=4 {
        // Rewrites, deletions and new keys; pruning runs from height 2 on.
        let txs = vec![tx(2 * height), tx(2 * height + 1)];
        chain
            .commit(&store, changes_for(height, 11, 40, 60), txs)
            .unwrap();
    }
    for (column, expected) in GOLDEN {
        let got = store.column_digest(column).unwrap().to_string();
        assert_eq!(expected, got, "{column}");
    }
}
