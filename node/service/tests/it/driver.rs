//! The driver on real parts (RocksDB, wasmtime, the WAL, signatures), fed
//! events by hand with a made-up clock: block building by size against the
//! pacing interval.

use filiera_client::actions;
use filiera_contract_api::lots::{Commission, LotRef};
use filiera_execution::contracts::builtin;
use filiera_execution::genesis::{genesis_state, pinned};
use filiera_execution::{ContractEngine, Executor};
use filiera_p2p::Topic;
use filiera_service::chain::Chain;
use filiera_service::driver::{DriverParts, Pacing};
use filiera_service::mempool::{Mempool, MempoolLimits, Verified};
use filiera_service::metrics::Metrics;
use filiera_service::wal_log::FileWal;
use filiera_service::{Effect, Event, NodeDriver};
use filiera_storage::{StorageConfig, Store};
use filiera_types::{ChainId, Genesis, SecretKey, SignedTransaction, Transaction};
use serde_json::json;
use std::sync::Arc;

pub(crate) const CHAIN: &str = "filiera-driver-test";
const BLOCK_TXS_MAX: u64 = 4;
const BLOCK_INTERVAL_MS: u64 = 250;
/// 2026-11-24T00:00:00Z, as the genesis says.
pub(crate) const GENESIS_MS: u64 = 1_795_478_400_000;

pub(crate) fn key(n: u8) -> SecretKey {
    SecretKey::from_seed(&[n; 32])
}

/// Validators with consensus keys `validators` (p2p key: seed + 10), one
/// producer (key 42) owning one product.
pub(crate) fn genesis(validators: &[u8]) -> Genesis {
    let pk = |n: u8| key(n).public_key().to_hex();
    let validators: Vec<_> = validators
        .iter()
        .map(|&n| json!({"name": format!("v{n}"), "organisation": "regione-marche", "consensus_key": pk(n), "p2p_key": pk(n + 10), "p2p_address": "/ip4/127.0.0.1/tcp/26656", "power": 1}))
        .collect();
    let contracts: Vec<_> = pinned(&builtin())
        .into_iter()
        .map(|(id, hash)| json!({"id": id.as_str(), "code_hash": hash.to_hex()}))
        .collect();
    let doc = json!({
        "format_version": 1,
        "rules_version": 1,
        "chain_id": CHAIN,
        "genesis_time_ms": "2026-11-24T00:00:00Z",
        "consensus": {
            "timeout_propose_ms": 3000, "timeout_prevote_ms": 1000, "timeout_precommit_ms": 1000,
            "timeout_delta_ms": 500, "block_interval_ms": BLOCK_INTERVAL_MS, "block_bytes_max": 4194304,
            "tx_bytes_max": 32768, "block_txs_max": BLOCK_TXS_MAX, "tx_expiry_blocks_max": 10000
        },
        "validators": validators,
        "authority": {"organisation": "regione-marche", "keys": [pk(30)], "threshold": 1},
        "organisations": [
            {"id": "regione-marche", "name": "Regione Marche", "kind": "public_authority", "roles": ["authority", "validator_operator"], "keys": [pk(40)]},
            {"id": "caseificio-demo", "name": "Caseificio demo", "kind": "producer", "vat_number": "01234567890", "roles": ["producer"], "keys": [pk(42)]}
        ],
        "catalogue": {
            "schemes": [{"code": "DOP", "name": "Denominazione di Origine Protetta (PDO)", "law": "Reg. (UE) 2024/1143"}],
            "products": [
                {"gtin": "09521234100010", "name": "Casciotta d'Urbino", "scheme": "DOP", "category": "cheese", "unit": "piece", "uom": "kg", "description": "Casciotta d'Urbino DOP", "owner": "caseificio-demo"}
            ],
            "locations": []
        },
        "contracts": contracts
    });
    Genesis::from_json(doc.to_string().as_bytes()).expect("valid genesis")
}

pub(crate) struct Node {
    pub(crate) driver: NodeDriver,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) now_ms: u64,
    next_nonce: u64,
    _dir: tempfile::TempDir,
}

/// A chain on real parts (RocksDB in `dir`, wasmtime) at the genesis.
pub(crate) fn open_chain(dir: &std::path::Path, genesis: &Genesis) -> Chain {
    let store = Arc::new(Store::open(&dir.join("db"), StorageConfig::default()).unwrap());
    let executor = Executor::new(ContractEngine::new(None).unwrap(), &builtin()).unwrap();
    let state = genesis_state(genesis)
        .into_iter()
        .map(|(k, v)| (k, Some(v)))
        .collect();
    Chain::open(store, executor, genesis, state).unwrap()
}

impl Node {
    fn start() -> (Node, Vec<Effect>) {
        Node::start_as(10, &[10])
    }

    /// The driver of validator `me` on a chain of `validators`.
    pub(crate) fn start_as(me: u8, validators: &[u8]) -> (Node, Vec<Effect>) {
        let dir = tempfile::tempdir().unwrap();
        let chain = open_chain(dir.path(), &genesis(validators));
        let metrics = Arc::new(Metrics::new().unwrap());
        std::fs::create_dir_all(dir.path().join("wal")).unwrap();
        let parts = DriverParts {
            chain,
            key: key(me),
            timeouts: filiera_consensus::TimeoutsMs {
                propose_ms: 3_000,
                prevote_ms: 1_000,
                precommit_ms: 1_000,
                delta_ms: 500,
            },
            wal: FileWal::open(&dir.path().join("wal"), 1).unwrap(),
            mempool: Mempool::new(MempoolLimits::default()),
            pacing: Pacing {
                block_interval_ms: BLOCK_INTERVAL_MS,
            },
            metrics: metrics.clone(),
            halt_height: None,
        };
        let now_ms = GENESIS_MS + 1_000;
        let (driver, effects) = NodeDriver::start(parts, now_ms).unwrap();
        let node = Node {
            driver,
            metrics,
            now_ms,
            next_nonce: 0,
            _dir: dir,
        };
        (node, effects)
    }

    pub(crate) fn handle(&mut self, event: Event) -> Vec<Effect> {
        self.now_ms += 10;
        self.driver.handle(event, self.now_ms).unwrap()
    }

    /// Submits `n` new lots of the producer as one client batch; all admitted.
    fn submit(&mut self, n: u64) -> Vec<Effect> {
        let txs: Vec<Verified> = (0..n)
            .map(|_| {
                let tx = commission(self.next_nonce);
                self.next_nonce += 1;
                Verified::check(tx).unwrap()
            })
            .collect();
        let (reply, mut answer) = tokio::sync::oneshot::channel();
        let reply = Box::new(move |a| {
            let _ = reply.send(a);
        });
        let effects = self.handle(Event::SubmitBatch(txs, reply));
        let answers = answer.try_recv().expect("answered at once");
        assert!(answers.iter().all(Result::is_ok), "{answers:?}");
        effects
    }

    /// The pacing timer of round 0 at `height` fires.
    fn timer_fires(&mut self, height: u64) -> Vec<Effect> {
        self.handle(Event::Build { height, round: 0 })
    }

    fn built_by_size(&self) -> u64 {
        self.metrics.blocks_built_by_size.get()
    }
}

fn commission(nonce: u64) -> SignedTransaction {
    Transaction {
        chain_id: ChainId::new(CHAIN).unwrap(),
        sender: key(42).public_key(),
        nonce,
        expiry_height: 1_000,
        call: actions::commission(&Commission {
            id: LotRef {
                gtin: "09521234100010".into(),
                lot: format!("CU-DRIVER-{nonce}"),
            },
            quantity: 10,
            site: None,
            metadata: vec![],
            private_hash: None,
            epcis_hash: None,
        }),
    }
    .sign(&key(42))
    .unwrap()
}

fn proposes(effects: &[Effect]) -> bool {
    effects
        .iter()
        .any(|e| matches!(e, Effect::Gossip(Topic::Blocks, _)))
}

/// The pacing timer the driver asked for, if any: (height, round, delay).
fn build_timer(effects: &[Effect]) -> Option<(u64, u32, u64)> {
    effects.iter().find_map(|e| match e {
        Effect::BuildAfter {
            height,
            round,
            delay_ms,
        } => Some((*height, *round, *delay_ms)),
        _ => None,
    })
}

#[test]
fn a_full_mempool_builds_before_the_pacing_timer_and_only_once() {
    let (mut node, effects) = Node::start();
    assert_eq!(node.driver.height(), 1);
    let (height, round, delay_ms) = build_timer(&effects).expect("a build timer at start");
    assert_eq!((height, round), (1, 0));
    assert!(delay_ms > 0, "the interval paces the first block");

    // Less than a block: the proposer waits for its timer.
    let effects = node.submit(BLOCK_TXS_MAX - 1);
    assert!(!proposes(&effects));
    assert_eq!(node.driver.height(), 1);

    // A full block: built now, decided (one validator) and committed.
    let effects = node.submit(1);
    assert!(proposes(&effects), "a full mempool builds at once");
    assert_eq!(node.built_by_size(), 1);
    assert_eq!(node.driver.height(), 2, "height 1 is committed");
    let next = build_timer(&effects).expect("the next height's build timer");
    assert_eq!((next.0, next.1), (2, 0));

    // The timer of height 1 fires late: nothing is built twice.
    let effects = node.timer_fires(1);
    assert!(!proposes(&effects));
    assert_eq!(node.driver.height(), 2);

    // An empty pool waits for the timer; the block it gives is empty.
    let effects = node.timer_fires(2);
    assert!(proposes(&effects));
    assert_eq!(node.driver.height(), 3);
    assert_eq!(node.built_by_size(), 1);

    // After a block under half full, a full pool does not cut the wait
    // short: a pool of transactions that cannot be taken must not make the
    // chain spin out empty blocks.
    let effects = node.submit(BLOCK_TXS_MAX);
    assert!(!proposes(&effects));
    assert_eq!(node.driver.height(), 3);
    let effects = node.timer_fires(3);
    assert!(proposes(&effects));
    assert_eq!(node.driver.height(), 4);
    assert_eq!(node.built_by_size(), 1);

    // That block was full: building by size is armed again.
    let effects = node.submit(BLOCK_TXS_MAX);
    assert!(proposes(&effects));
    assert_eq!(node.built_by_size(), 2);
    assert_eq!(node.driver.height(), 5);
}

#[test]
fn a_block_with_a_transaction_over_the_limit_of_its_height_is_invalid() {
    let genesis = genesis(&[1]);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (proposer, checker) = (
        open_chain(a.path(), &genesis),
        open_chain(b.path(), &genesis),
    );
    let limit = checker.limits(1).tx_bytes_max;
    assert_eq!(limit, genesis.consensus.tx_bytes_max);
    // A byzantine proposer builds around the door: one transaction of the
    // ceiling's size, which no honest node lets in under this chain's limit.
    let mut tx = commission(0).tx;
    tx.call.args = vec![7; usize::try_from(limit).unwrap()];
    let big = tx.sign(&key(42)).unwrap();
    let address = key(1).public_key().address();
    let (block, _) = proposer
        .build(1, 1_795_478_500_000, address, vec![big])
        .unwrap();
    let Err(err) = checker.check(&block, 1_795_478_500_000, &[]) else {
        panic!("a block over tx_bytes_max passed the check");
    };
    assert!(
        err.to_string().contains("over the chain's tx_bytes_max"),
        "{err}"
    );
    // The same block without it is valid.
    let (fine, _) = proposer
        .build(1, 1_795_478_500_000, address, vec![commission(0)])
        .unwrap();
    checker.check(&fine, 1_795_478_500_000, &[]).unwrap();
}
