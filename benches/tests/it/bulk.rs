//! The bulk loader on a real localnet directory: real keys, real executor,
//! real RocksDB; a second run goes on where the first stopped.

use filiera_benches::bulk::{Options, load};
use std::process::Command;

/// The `filiera` binary of this build: `cargo test --workspace` builds it
/// for the node's own tests, beside this test's folder (`deps/`).
fn filiera() -> Command {
    let exe = std::env::current_exe().unwrap();
    let debug = exe.parent().and_then(|deps| deps.parent()).unwrap();
    Command::new(filiera_benches::node_binary(Some(&debug.join("filiera"))).unwrap())
}

fn localnet(dir: &std::path::Path, validators: &str) {
    let out = filiera()
        .args([
            "genesis",
            "new",
            "--insecure-plain-keys",
            "--validators",
            validators,
        ])
        .args(["--load-keys", "1", "--out"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_chain_grows_in_real_blocks_and_a_second_run_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    localnet(&dir, "1");
    let options = |txs_total| Options {
        dir: dir.clone(),
        txs_total,
        block_txs: 150,
        block_interval_ms: 1_000,
    };
    let mut heights = Vec::new();
    let first = load(&options(500), &mut |r| heights.push(r.to_height)).unwrap();
    assert_eq!(
        (first.from_height, first.txs_total, first.failed),
        (0, 500, 0)
    );
    // Every block committed in turn, one progress report each.
    assert_eq!(heights, (1..=first.to_height).collect::<Vec<_>>());
    let second = load(&options(1_000), &mut |_| {}).unwrap();
    assert_eq!(
        second.from_height, first.to_height,
        "goes on from the store's height"
    );
    assert_eq!(
        (second.txs, second.txs_total, second.failed),
        (500, 1_000, 0)
    );
    // Nothing to do once the total is reached.
    let third = load(&options(1_000), &mut |_| {}).unwrap();
    assert_eq!((third.txs, third.to_height), (0, second.to_height));
}

#[test]
fn more_than_one_validator_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    localnet(&dir, "2");
    let err = load(
        &Options {
            dir,
            txs_total: 10,
            block_txs: 10,
            block_interval_ms: 1_000,
        },
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("one-validator"), "{err}");
}
