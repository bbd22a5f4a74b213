//! Measures disk use per stored lot event after compaction: each event is a
//! signed transaction in a block, its receipt with the `lot_event` event the
//! lots contract emits, and one state record, committed in blocks of 1,000
//! through the real store. (The lot's own record and the sender's nonce are
//! rewritten too, but once per lot and sender: with few versions kept they do
//! not grow with the events.)
//!
//! Usage: storage-disk-usage [EVENTS] [STATE_VERSIONS_KEPT] (defaults 100000, 100)

use anyhow::{Context, Result};
use filiera_storage::testkit::{ChainBuilder, TEST_CHAIN};
use filiera_storage::{StateChanges, StorageConfig, Store};
use filiera_types::receipt::{Event, Receipt, TxStatus};
use filiera_types::{
    ChainId, ContractCall, ContractId, MethodName, SecretKey, Transaction, encoding,
};
use std::time::Instant;

const EVENTS_PER_BLOCK: u64 = 1_000;
/// The lots contract's code of an inspection (`EventKind::Inspect`).
const INSPECT: u8 = 7;

fn main() -> Result<()> {
    let events: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()
        .context("EVENTS")?
        .unwrap_or(100_000);
    let kept: u64 = std::env::args()
        .nth(2)
        .map(|s| s.parse())
        .transpose()
        .context("STATE_VERSIONS_KEPT")?
        .unwrap_or(100);
    let dir = tempfile::tempdir()?;
    let store = Store::open(
        dir.path(),
        StorageConfig {
            block_cache_bytes: 64 << 20,
            state_versions_kept: kept,
            ..StorageConfig::default()
        },
    )?;
    let chain = ChainBuilder::new();
    chain.init(&store)?;
    let producer = SecretKey::from_seed(&[5; 32]);
    let started = Instant::now();
    let mut n = 0u64;
    while n < events {
        let mut txs = Vec::new();
        let mut receipts = Vec::new();
        let mut changes = StateChanges::new();
        for _ in 0..EVENTS_PER_BLOCK.min(events - n) {
            // A realistic event: the EPCIS event hash (32 bytes), lot key, biz step,
            // disposition, read point and time, borsh-encoded by the client.
            let lot = format!("CU{:06}", n / 20);
            let mut args = Vec::with_capacity(140);
            args.extend_from_slice(
                &filiera_types::Hash::of(filiera_types::Domain::TxLeaf, &n.to_le_bytes()).0,
            );
            args.extend_from_slice(
                format!(
                    "09521234100010|{lot}|inspecting|conformant|9521234000020|{}",
                    1_764_000_000 + n
                )
                .as_bytes(),
            );
            let tx = Transaction {
                chain_id: ChainId::new(TEST_CHAIN)?,
                sender: producer.public_key(),
                nonce: n,
                expiry_height: u64::MAX,
                call: ContractCall {
                    contract: ContractId::new("lots")?,
                    method: MethodName::new("record_event")?,
                    args: args.clone(),
                },
            }
            .sign(&producer)?;
            changes.insert(
                format!("lots/ev/09521234100010/{lot}/{n:08}").into_bytes(),
                Some(args),
            );
            receipts.push(Receipt {
                tx_hash: tx.hash(),
                status: TxStatus::Success,
                fuel_used: 41_000 + n % 977,
                events: vec![Event {
                    contract: ContractId::new("lots")?,
                    name: "lot_event".into(),
                    // The lot's id and the event's kind, as the contract emits them.
                    data: encoding::encode(&(("09521234100010", lot.as_str()), INSPECT)),
                }],
                return_data: vec![],
            });
            txs.push(tx);
            n += 1;
        }
        chain.commit_with_receipts(&store, changes, txs, receipts)?;
    }
    let elapsed = started.elapsed();
    store.compact()?;
    let bytes = store.disk_bytes()?;
    println!("events: {events}");
    println!(
        "commit time: {:.2} s ({:.0} events/s)",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64()
    );
    println!(
        "disk after compaction ({kept} state versions kept): {bytes} bytes, {:.1} bytes per lot event",
        bytes as f64 / events as f64
    );
    for (column, b) in store.disk_bytes_by_column()? {
        println!(
            "  {column:<14} {b:>12} bytes  {:>8.1} per event",
            b as f64 / events as f64
        );
    }
    Ok(())
}
