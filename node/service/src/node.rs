//! Assembling a node from its parts and running it until shutdown.

use crate::admin;
use crate::chain::{Chain, ChainError};
use crate::handle::ServiceHandle;
use crate::wal_log::FileWal;
use crate::{Event, NodeDriver};
use filiera_driver::{DriverParts, Fatal, Pacing};

use crate::mempool::{Mempool, MempoolLimits, Verified};
use crate::metrics::Metrics;
use crate::runner::{self, Inbox, wall_ms};
use crate::sync_serve::{InFlight, SYNC_SERVING_MAX};
use crate::wire::{Gossip, SyncResponse, TX_GOSSIP_BATCH_MAX};
use crossbeam_channel::{Sender, TrySendError};
use filiera_execution::{ContractEngine, Executor, contracts::builtin, genesis};
use filiera_p2p::{Network, NetworkConfig, NetworkEvent, PeerEvent, Topic, Verdict};
use filiera_storage::{StorageConfig, Store};
use filiera_types::{Genesis, PublicKey, SecretKey};
use libp2p::Multiaddr;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Events waiting for the driver in each of its two lanes (consensus,
/// transactions), at most; beyond, network input is dropped (gossip is lossy
/// by design) and submissions are answered "busy".
pub const DRIVER_QUEUE_MAX: usize = 16_384;

/// Everything a node needs to run.
pub struct NodeSpec {
    /// A name for logs and status.
    pub moniker: String,
    /// The data directory (store, WAL, compiled-contract cache).
    pub data_dir: PathBuf,
    /// The chain's genesis.
    pub genesis: Genesis,
    /// The consensus key (a validator's, or any key for an observer).
    pub consensus_key: SecretKey,
    /// The p2p node key's seed.
    pub p2p_seed: zeroize::Zeroizing<[u8; 32]>,
    /// p2p listen address.
    pub p2p_listen: Multiaddr,
    /// Peers dialled at start and redialled while disconnected.
    pub peers: Vec<Multiaddr>,
    /// Node keys of observers allowed to connect besides the validators.
    pub observers: Vec<PublicKey>,
    /// How many connections anyone reaching the p2p port can make the node hold.
    pub connection_limits: filiera_p2p::ConnectionLimits,
    /// API listen address.
    pub api_listen: SocketAddr,
    /// The operator's listener (`/metrics`, `/health`), apart from the
    /// public API; none: metrics are not served.
    pub metrics_listen: Option<SocketAddr>,
    /// Certificate and key of the HTTPS the API serves; none: plain HTTP.
    pub api_tls: Option<filiera_api::tls::TlsFiles>,
    /// Whether a reverse proxy in front of a plain-HTTP API terminates TLS
    /// for every client (bearer tokens are then accepted from any host).
    pub api_tls_terminated_by_proxy: bool,
    /// Base URL of the Digital Link URIs this node prints (no trailing slash).
    pub public_base_url: String,
    /// HTTP API limits.
    pub api_limits: filiera_api::ApiLimits,
    /// Organisations that may capture EPCIS documents through the API.
    pub epcis_clients: Vec<filiera_api::epcis::EpcisClient>,
    /// Storage options.
    pub storage: StorageConfig,
    /// Mempool bounds.
    pub mempool: MempoolLimits,
    /// Stop after committing this height (coordinated upgrades).
    pub halt_height: Option<u64>,
}

/// Why a node stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Could not start.
    #[error("{0}")]
    Setup(String),
    /// Stopped on a fatal error.
    #[error(transparent)]
    Fatal(#[from] Fatal),
}

fn setup(what: &str) -> impl Fn(&dyn std::fmt::Display) -> NodeError + '_ {
    move |e| NodeError::Setup(format!("{what}: {e}"))
}

fn forward(inbox: &Sender<Inbox>, event: Event) {
    if let Err(TrySendError::Full(_)) = inbox.try_send(Inbox::Event(event)) {
        tracing::warn!("driver queue full; dropping a network event");
    }
}

/// Batches of gossiped transactions being verified at once, at most.
pub const PRE_VERIFY_TASKS_MAX: usize = 4;

/// A transactions gossip message, its signatures verified: the valid ones
/// for the driver to admit, or nothing while the mempool is full; with the
/// verdict for gossip (forward it unless a signature is bad; neither forward
/// nor blame while the pool is full). A malformed or oversized message goes
/// to the driver as it came, which judges it and penalises the peer.
fn pre_verify(
    event: PeerEvent<libp2p::PeerId>,
    metrics: &Metrics,
    store: &Store,
    limits: &MempoolLimits,
) -> (Option<Verdict>, Option<Event>) {
    let PeerEvent::Message { data, .. } = &event else {
        return (None, Some(Event::Network(event)));
    };
    let txs = match Gossip::decode(data) {
        Ok(Gossip::Txs(txs)) if txs.len() <= TX_GOSSIP_BATCH_MAX => txs,
        Ok(Gossip::Tx(tx)) => vec![tx],
        _ => return (None, Some(Event::Network(event))),
    };
    // A transaction often arrives after a block that held it was committed
    // (the proposer had it first): its nonce is used, admission would refuse
    // it, so its signature is not worth checking.
    let (fresh, used): (Vec<_>, Vec<_>) = txs.into_iter().partition(|tx| {
        !crate::chain::committed_nonce(store, &tx.tx.sender).is_ok_and(|next| tx.tx.nonce < next)
    });
    metrics
        .txs_refused
        .with_label_values(&["nonce"])
        .inc_by(used.len() as u64);
    // Only members write: a stranger's transaction is not worth a signature
    // check. No honest node gossips one, but a suspension may have raced it:
    // the message is neither forwarded nor blamed.
    let total_fresh = fresh.len();
    let fresh: Vec<_> = fresh
        .into_iter()
        .filter(|tx| match crate::handle::stranger(store, tx) {
            Some(e) => {
                metrics.count_refused(&e);
                false
            }
            None => true,
        })
        .collect();
    let strangers = total_fresh - fresh.len();
    // A full pool would refuse them after their signatures were checked; the
    // block that carries them is checked anyway (gossip is lossy by design).
    if metrics.mempool_reported_full(limits) {
        metrics.count_refused_n(&crate::mempool::POOL_FULL, fresh.len());
        return (Some(Verdict::Ignore), None);
    }
    let checked = Verified::check_all(fresh);
    let total = checked.len();
    let verified: Vec<Verified> = checked
        .into_iter()
        .filter_map(|r| r.inspect_err(|e| metrics.count_refused(e)).ok())
        .collect();
    // A bad signature is the same for every node: no honest peer forwards one.
    let verdict = if verified.len() != total {
        Verdict::Reject
    } else if strangers > 0 {
        Verdict::Ignore
    } else {
        Verdict::Accept
    };
    (Some(verdict), Some(Event::GossipedTxs(verified)))
}

/// Answers one sync request from the store and sends the answer; a
/// malformed request disconnects its peer.
fn serve_sync(
    store: &Store,
    network: &Network,
    metrics: &Metrics,
    runtime: &tokio::runtime::Handle,
    (from, id, request): (libp2p::PeerId, u64, &[u8]),
) {
    let response = match filiera_chain::sync_answer(store, request) {
        Ok(r) => r,
        Err(e) => {
            if let filiera_driver::SyncAnswerError::Malformed(_) = &e {
                tracing::warn!(peer = %from, error = %e, "disconnecting a peer that sent malformed data");
                metrics.peers_penalised.inc();
                let _ = runtime.block_on(network.disconnect(from));
            } else {
                tracing::error!(error = %e, "sync request not answered");
            }
            SyncResponse { blocks: Vec::new() }
        }
    };
    // Answered even when empty, so the network releases the ticket.
    let _ = runtime.block_on(network.respond(id, response.encode()));
}

/// Runs the node until `shutdown` resolves (or a fatal error).
pub fn run(
    spec: NodeSpec,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("filiera-io")
        .build()
        .map_err(|e| setup("tokio runtime")(&e))?;
    let genesis = &spec.genesis;
    let contracts = builtin();
    genesis::check_contracts(genesis, &contracts).map_err(|e| setup("genesis contracts")(&e))?;
    std::fs::create_dir_all(spec.data_dir.join("wal")).map_err(|e| setup("data directory")(&e))?;
    let store = Arc::new(
        Store::open(&spec.data_dir.join("db"), spec.storage.clone())
            .map_err(|e| setup("opening the store")(&e))?,
    );
    // The compiled-contract cache is authenticated with a key only this
    // node holds (derived from its consensus key, never written anywhere).
    let cache = filiera_execution::runtime::ArtifactCache {
        dir: spec.data_dir.join("wasm-cache"),
        mac_key: zeroize::Zeroizing::new(blake3::derive_key(
            "filiera 2026-12-06 compiled-contract cache MAC",
            &spec.consensus_key.to_seed()[..],
        )),
    };
    let engine = ContractEngine::new(Some(cache)).map_err(|e| setup("contract engine")(&e))?;
    let executor = Executor::new(engine, &contracts).map_err(|e| setup("contracts")(&e))?;
    let state = genesis::genesis_state(genesis)
        .into_iter()
        .map(|(k, v)| (k, Some(v)))
        .collect();
    let chain = Chain::open(store.clone(), executor, genesis, state).map_err(|e| match e {
        ChainError::Storage(s) => setup("genesis state")(&s),
        ChainError::Unreadable(s) => setup("genesis state")(&s),
        e @ (ChainError::Invalid(_)
        | ChainError::Corrupt(_)
        | ChainError::Genesis(_)
        | ChainError::Future(_)
        | ChainError::NotExtending { .. }) => NodeError::Setup(e.to_string()),
    })?;
    if let Some(halt) = spec.halt_height {
        let last = store
            .last_height()
            .map_err(|e| setup("reading the height")(&e))?
            .unwrap_or(0);
        if last >= halt {
            return Err(NodeError::Setup(format!(
                "halt_height {halt} reached (the chain here is at height {last}): after the upgrade, raise halt_height or set it to 0"
            )));
        }
    }
    let c = &genesis.consensus;
    let timeouts = filiera_consensus::TimeoutsMs {
        propose_ms: c.timeout_propose_ms,
        prevote_ms: c.timeout_prevote_ms,
        precommit_ms: c.timeout_precommit_ms,
        delta_ms: c.timeout_delta_ms,
    };
    let metrics = Arc::new(Metrics::new().map_err(|e| setup("metrics")(&e))?);
    // The API bounds bodies by the protocol's ceiling: the limit of the
    // moment, which governance moves, is the mempool's to apply.
    let tx_bytes_max = filiera_types::limits::TX_BYTES_MAX;
    let next_height = chain
        .height()
        .map_err(|e| setup("reading the height")(&e))?
        + 1;
    let parts = DriverParts {
        chain,
        key: spec.consensus_key.clone(),
        timeouts,
        wal: FileWal::open(&spec.data_dir.join("wal"), next_height)
            .map_err(|e| NodeError::Fatal(Fatal::Wal(Box::new(e))))?,
        mempool: Mempool::new(spec.mempool),
        pacing: Pacing {
            block_interval_ms: c.block_interval_ms,
        },
        metrics: metrics.clone(),
        halt_height: spec.halt_height,
    };
    let (driver, initial) = NodeDriver::start(parts, wall_ms())?;
    let mut allowed: Vec<PublicKey> = genesis.validators.iter().map(|v| v.p2p_key).collect();
    allowed.extend(spec.observers.iter().copied());
    // The same list decides who may take this node's state snapshot (the API).
    let allowed_peers = Arc::new(std::sync::RwLock::new(allowed.clone()));
    let (urgent_tx, urgent_rx) = crossbeam_channel::bounded(DRIVER_QUEUE_MAX);
    let (inbox_tx, inbox_rx) = crossbeam_channel::bounded(DRIVER_QUEUE_MAX);
    let (network, mut net_events) = runtime
        .block_on(async {
            Network::start(NetworkConfig {
                node_key_seed: spec.p2p_seed.clone(),
                listen: spec.p2p_listen.clone(),
                bootstrap: spec.peers.clone(),
                allowed,
                validate_gossip: true,
                connection_limits: spec.connection_limits,
            })
        })
        .map_err(|e| setup("network")(&e))?;
    tracing::info!(peer_id = %network.peer_id, height = driver.height(), moniker = %spec.moniker, "node starting");
    // Network events into the driver's inbox; gossiped transactions through
    // the blocking pool first, where their signatures are verified, at most
    // `PRE_VERIFY_TASKS_MAX` batches at a time: beyond, a batch is dropped
    // (gossip is lossy; blocks carry what was committed) rather than waited
    // for, so a transaction flood never holds up the votes queued behind it.
    // Sync requests are answered here too, off the driver's thread.
    let (to_driver, to_driver_urgent) = (inbox_tx.clone(), urgent_tx.clone());
    let verifying = Arc::new(tokio::sync::Semaphore::new(PRE_VERIFY_TASKS_MAX));
    let serving = Arc::new(tokio::sync::Semaphore::new(SYNC_SERVING_MAX));
    let in_flight = InFlight::default();
    let pre_verify_metrics = metrics.clone();
    let pre_verify_store = store.clone();
    let pool_limits = spec.mempool;
    let judge = network.clone();
    runtime.spawn(async move {
        while let Some(event) = net_events.recv().await {
            if let NetworkEvent::Listening(addr) = &event {
                tracing::info!(%addr, "p2p listening");
            }
            let Some(event) = event.into_peer_event() else {
                continue;
            };
            if let PeerEvent::SyncRequest { from, id, data } = event {
                let permit = serving.clone().try_acquire_owned().ok();
                if permit.is_none() || !in_flight.start(from) {
                    // Busy, or this peer's last answer is still being read.
                    let empty = SyncResponse { blocks: Vec::new() }.encode();
                    let _ = judge.respond(id, empty).await;
                    continue;
                }
                let (store, net) = (pre_verify_store.clone(), judge.clone());
                let (metrics, in_flight) = (pre_verify_metrics.clone(), in_flight.clone());
                let runtime = tokio::runtime::Handle::current();
                tokio::task::spawn_blocking(move || {
                    serve_sync(&store, &net, &metrics, &runtime, (from, id, &data));
                    in_flight.done(&from);
                    drop(permit);
                });
                continue;
            }
            let PeerEvent::Message {
                topic: Topic::Transactions,
                id,
                from,
                ..
            } = &event
            else {
                forward(&to_driver_urgent, Event::Network(event));
                continue;
            };
            let Ok(permit) = verifying.clone().try_acquire_owned() else {
                judge.validate(id.clone(), *from, Verdict::Ignore);
                pre_verify_metrics.tx_gossip_dropped.inc();
                continue;
            };
            let (to_driver, metrics) = (to_driver.clone(), pre_verify_metrics.clone());
            let (store, judge) = (pre_verify_store.clone(), judge.clone());
            let origin = match &event {
                PeerEvent::Message { id, from, .. } => Some((id.clone(), *from)),
                _ => None,
            };
            tokio::task::spawn_blocking(move || {
                let (verdict, event) = pre_verify(event, &metrics, &store, &pool_limits);
                if let (Some(verdict), Some((id, from))) = (verdict, origin) {
                    judge.validate(id, from, verdict);
                }
                if let Some(event) = event {
                    forward(&to_driver, event);
                }
                drop(permit);
            });
        }
    });
    // Redial the configured peers now and then: a peer that was down at
    // start, or restarted, is found again.
    let redial = network.clone();
    let peers = spec.peers.clone();
    runtime.spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(3)).await;
            for addr in &peers {
                let _ = redial.dial(addr.clone()).await;
            }
        }
    });
    let api_state = filiera_api::ApiState {
        node: Arc::new(ServiceHandle {
            inbox: inbox_tx.clone(),
            metrics,
            verifying: Arc::new(tokio::sync::Semaphore::new(
                crate::handle::SUBMIT_BATCHES_MAX,
            )),
            mempool: spec.mempool,
            store: store.clone(),
        }),
        store: store.clone(),
        chain_id: genesis.chain_id.as_str().to_owned(),
        moniker: spec.moniker.clone(),
        public_base_url: spec.public_base_url.clone(),
        tx_bytes_max,
        heavy_reads: Arc::new(tokio::sync::Semaphore::new(filiera_api::HEAVY_READS_MAX)),
        epcis: Arc::new(filiera_api::epcis::EpcisState::open(
            spec.epcis_clients,
            Some(&spec.data_dir.join("epcis-jobs")),
        )),
        bundles: Default::default(),
        allowed_peers: allowed_peers.clone(),
        catalogue: Arc::new(genesis.catalogue.clone()),
    };
    let api_limits = spec.api_limits;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(spec.api_listen))
        .map_err(|e| setup("API listen address")(&e))?;
    tracing::info!(addr = %spec.api_listen, https = spec.api_tls.is_some(), "API listening");
    let security = match spec.api_tls {
        Some(files) => {
            let certificates = filiera_api::tls::Certificates::open(files)
                .map_err(|e| setup("api TLS certificate")(&e))?;
            let config = certificates
                .server_config()
                .map_err(|e| setup("api TLS")(&e))?;
            runtime.spawn(filiera_api::tls::watch(certificates));
            filiera_api::Security::Tls(config)
        }
        None => filiera_api::Security::Plain {
            upstream_tls: spec.api_tls_terminated_by_proxy,
        },
    };
    if let Some(addr) = spec.metrics_listen {
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(addr))
            .map_err(|e| setup("metrics listen address")(&e))?;
        tracing::info!(%addr, "metrics listening");
        runtime.spawn(filiera_api::serve(
            listener,
            filiera_api::operator::router(api_state.clone(), &api_limits),
            api_limits.clone(),
            filiera_api::Security::Plain {
                upstream_tls: false,
            },
        ));
    }
    runtime.spawn(filiera_api::serve(
        listener,
        filiera_api::router(api_state, api_limits.clone()),
        api_limits,
        security,
    ));
    admin::spawn(&runtime, &spec.data_dir, store.clone()).map_err(|e| setup("admin socket")(&e))?;
    let stopper = urgent_tx;
    runtime.spawn(async move {
        shutdown.await;
        tracing::info!("shutting down");
        let _ = stopper.send(Inbox::Stop);
    });
    drop(inbox_tx);
    let handle = runtime.handle().clone();
    let observers = spec.observers.clone();
    let halt_height = spec.halt_height;
    let result = std::thread::Builder::new()
        .name("filiera-driver".into())
        .spawn(move || {
            runner::run(
                driver,
                initial,
                runner::Lanes {
                    urgent: urgent_rx,
                    bulk: inbox_rx,
                },
                network,
                handle,
                (observers, allowed_peers),
                halt_height,
            )
        })
        .map_err(|e| setup("driver thread")(&e))?
        .join()
        .map_err(|_| NodeError::Setup("the driver thread panicked".into()))?;
    runtime.shutdown_timeout(Duration::from_secs(2));
    drop(store);
    result.map_err(NodeError::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use filiera_types::{ChainId, ContractCall, ContractId, MethodName, Transaction};

    /// The authority's key in the test store, so a member.
    const MEMBER: [u8; 32] = [3; 32];

    /// A store whose only member is the authority key `MEMBER`.
    fn store_with_a_member(dir: &std::path::Path) -> Store {
        use filiera_contract_api::registry::AuthorityRecord;
        use filiera_contract_api::{contract_ids, encode, keys};
        let store = Store::open(&dir.join("db"), StorageConfig::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let authority = AuthorityRecord {
            org: "regione-marche".into(),
            keys: vec![SecretKey::from_seed(&MEMBER).public_key().0],
            threshold: 1,
        };
        let mut state = std::collections::BTreeMap::new();
        state.insert(
            keys::state_key(contract_ids::REGISTRY, keys::AUTHORITY),
            Some(encode(&authority)),
        );
        store
            .init_genesis(filiera_types::Hash::ZERO, state)
            .unwrap_or_else(|e| panic!("{e}"));
        store
    }

    fn gossip_of_two() -> PeerEvent<libp2p::PeerId> {
        gossip_of_two_by(&SecretKey::from_seed(&MEMBER))
    }

    fn gossip_of_two_by(key: &SecretKey) -> PeerEvent<libp2p::PeerId> {
        let key = key.clone();
        let tx = |nonce| {
            Transaction {
                chain_id: ChainId::new("filiera-test").unwrap_or_else(|e| panic!("{e}")),
                sender: key.public_key(),
                nonce,
                expiry_height: 50,
                call: ContractCall {
                    contract: ContractId::new("lots").unwrap_or_else(|e| panic!("{e}")),
                    method: MethodName::new("commission").unwrap_or_else(|e| panic!("{e}")),
                    args: vec![7; 40],
                },
            }
            .sign(&key)
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let mut forged = tx(1);
        forged.tx.call.args[0] ^= 1;
        PeerEvent::Message {
            topic: Topic::Transactions,
            from: libp2p::PeerId::random(),
            id: filiera_p2p::MessageId::new(b"two"),
            data: Gossip::Txs(vec![tx(0), forged]).encode(),
        }
    }

    #[test]
    fn gossip_reaching_a_full_pool_is_dropped_unverified() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = store_with_a_member(dir.path());
        let metrics = Metrics::new().unwrap_or_else(|e| panic!("{e}"));
        let limits = MempoolLimits {
            txs_max: 4,
            ..MempoolLimits::default()
        };
        let refused = |reason: &str| metrics.txs_refused.with_label_values(&[reason]).get();

        let (Some(Verdict::Reject), Some(Event::GossipedTxs(verified))) =
            pre_verify(gossip_of_two(), &metrics, &store, &limits)
        else {
            panic!("a pool with room gets the verified transactions; a forgery is rejected");
        };
        assert_eq!(verified.len(), 1, "the forged one is dropped");
        assert_eq!(refused("signature"), 1);

        metrics.mempool_txs.set(4);
        let (verdict, event) = pre_verify(gossip_of_two(), &metrics, &store, &limits);
        assert!(event.is_none());
        assert_eq!(verdict, Some(Verdict::Ignore), "a full pool blames no one");
        assert_eq!(refused("signature"), 1, "no signature was looked at");
        assert_eq!(refused("busy"), 2);
    }

    /// A stranger's gossiped transactions (one forged) are dropped by a
    /// state read: no signature checked, nothing admitted, the message
    /// neither forwarded nor blamed (a suspension may have raced it).
    #[test]
    fn gossip_from_a_stranger_is_dropped_unverified_and_not_forwarded() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = store_with_a_member(dir.path());
        let metrics = Metrics::new().unwrap_or_else(|e| panic!("{e}"));
        let limits = MempoolLimits::default();
        let stranger = SecretKey::from_seed(&[4; 32]);
        let (verdict, event) = pre_verify(gossip_of_two_by(&stranger), &metrics, &store, &limits);
        let Some(Event::GossipedTxs(verified)) = event else {
            panic!("the driver is told of nothing but an empty batch");
        };
        assert!(verified.is_empty());
        assert_eq!(verdict, Some(Verdict::Ignore));
        let refused = |reason: &str| metrics.txs_refused.with_label_values(&[reason]).get();
        assert_eq!(refused("not_member"), 2);
        assert_eq!(refused("signature"), 0, "no signature was looked at");
    }
}
