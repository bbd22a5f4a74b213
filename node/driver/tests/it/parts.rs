//! The real parts a simulated node is made of: a genesis, a chain on RocksDB
//! with the committed contracts, keys, and a producer's transactions.

use filiera_chain::Chain;
use filiera_client::actions;
use filiera_contract_api::lots::{Commission, LotRef};
use filiera_execution::contracts::builtin;
use filiera_execution::genesis::{genesis_state, pinned};
use filiera_execution::{ContractEngine, Executor};
use filiera_storage::{StorageConfig, Store};
use filiera_types::{ChainId, Genesis, SecretKey, SignedTransaction, Transaction};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;

pub const CHAIN: &str = "filiera-sim";
/// 2026-11-24T00:00:00Z, as the genesis says.
pub const GENESIS_MS: u64 = 1_795_478_400_000;
pub const BLOCK_INTERVAL_MS: u64 = 250;
/// The producer's key seed.
pub const PRODUCER: u8 = 42;

pub fn key(n: u8) -> SecretKey {
    SecretKey::from_seed(&[n; 32])
}

/// Validators with consensus keys `1..=validators` (p2p key: seed + 100),
/// one producer owning one product.
pub fn genesis(validators: u8) -> Genesis {
    let pk = |n: u8| key(n).public_key().to_hex();
    let validators: Vec<_> = (1..=validators)
        .map(|n| json!({"name": format!("v{n}"), "organisation": "regione-marche", "consensus_key": pk(n), "p2p_key": pk(n + 100), "p2p_address": "/ip4/127.0.0.1/tcp/26656", "power": 1}))
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
            "timeout_propose_ms": 1000, "timeout_prevote_ms": 500, "timeout_precommit_ms": 500,
            "timeout_delta_ms": 250, "block_interval_ms": BLOCK_INTERVAL_MS, "block_bytes_max": 4194304,
            "tx_bytes_max": 32768, "block_txs_max": 100, "tx_expiry_blocks_max": 10000
        },
        "validators": validators,
        "authority": {"organisation": "regione-marche", "keys": [pk(30)], "threshold": 1},
        "organisations": [
            {"id": "regione-marche", "name": "Regione Marche", "kind": "public_authority", "roles": ["authority", "validator_operator"], "keys": [pk(40)]},
            {"id": "caseificio-demo", "name": "Caseificio demo", "kind": "producer", "vat_number": "01234567890", "roles": ["producer"], "keys": [pk(PRODUCER)]}
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

/// A chain on real parts (RocksDB in `dir`, wasmtime with compiled modules
/// cached in `cache`) at its last committed block, or at genesis.
pub fn open_chain(dir: &Path, cache: &Path, genesis: &Genesis) -> Chain {
    let store = Arc::new(Store::open(&dir.join("db"), StorageConfig::default()).unwrap());
    let engine = ContractEngine::new(Some(filiera_execution::runtime::ArtifactCache {
        dir: cache.to_owned(),
        mac_key: zeroize::Zeroizing::new([7; 32]),
    }))
    .unwrap();
    let executor = Executor::new(engine, &builtin()).unwrap();
    let state = genesis_state(genesis)
        .into_iter()
        .map(|(k, v)| (k, Some(v)))
        .collect();
    Chain::open(store, executor, genesis, state).unwrap()
}

/// The producer registers lot number `nonce`.
pub fn commission(nonce: u64) -> SignedTransaction {
    Transaction {
        chain_id: ChainId::new(CHAIN).unwrap(),
        sender: key(PRODUCER).public_key(),
        nonce,
        expiry_height: 5_000,
        call: actions::commission(&Commission {
            id: LotRef {
                gtin: "09521234100010".into(),
                lot: format!("CU-SIM-{nonce}"),
            },
            quantity: 10,
            site: None,
            metadata: vec![],
            private_hash: None,
            epcis_hash: None,
        }),
    }
    .sign(&key(PRODUCER))
    .unwrap()
}
