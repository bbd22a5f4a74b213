//! `filiera start`: runs a node from its home directory.

use crate::node::config::Config;
use crate::node::home::Home;
use crate::{genesis_cmd, keyfile};
use anyhow::{Context, Result};
use filiera_service::NodeSpec;
use filiera_storage::StorageConfig;
use filiera_types::PublicKey;
use std::path::Path;

/// How often a node started with `--stop-with-parent` looks for its parent, ms.
const PARENT_POLL_MS: u64 = 500;

/// Loads the home's config, genesis and keys, and runs the node until
/// SIGINT or SIGTERM (or, with `stop_with_parent`, until the process that
/// started it is gone).
pub fn start(home_dir: &Path, stop_with_parent: bool) -> Result<()> {
    let home = Home::new(home_dir);
    let config_text = std::fs::read_to_string(home.config())
        .with_context(|| format!("reading {}", home.config().display()))?;
    let mut config: Config = toml::from_str(&config_text)
        .with_context(|| format!("parsing {}", home.config().display()))?;
    crate::node::config_check::apply_env(&mut config, &|var| std::env::var(var).ok())?;
    crate::node::config_check::validate(&config).with_context(|| {
        format!(
            "invalid configuration ({} and FILIERA_* variables)",
            home.config().display()
        )
    })?;
    init_logging(&config)?;
    let genesis = genesis_cmd::load(&home.genesis())?;
    let consensus_key = keyfile::read(&home.consensus_key())?;
    let p2p_key = keyfile::read(&home.p2p_key())?;
    let parse_addr = |a: &String| {
        a.parse::<libp2p::Multiaddr>()
            .with_context(|| format!("p2p address {a:?} in config.toml"))
    };
    let observers = config
        .p2p
        .observers
        .iter()
        .map(|k| PublicKey::from_hex(k).map_err(|e| anyhow::anyhow!("observer key {k:?}: {e}")))
        .collect::<Result<Vec<_>>>()?;
    let epcis_clients = config
        .epcis
        .clients
        .iter()
        .map(|c| {
            let token_sha256: [u8; 32] = hex::decode(&c.token_sha256)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "epcis.clients: token_sha256 of {:?} must be 64 hex digits",
                        c.org
                    )
                })?;
            let key = keyfile::read(&home_dir.join(&c.key_file))
                .with_context(|| format!("epcis.clients: key_file of {:?}", c.org))?;
            Ok(filiera_api::epcis::EpcisClient {
                token_sha256,
                org: c.org.clone(),
                key,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    keyfile::forget_passphrase();
    let spec = NodeSpec {
        moniker: config.moniker.clone(),
        data_dir: home_dir.join("data"),
        genesis,
        consensus_key,
        p2p_seed: p2p_key.to_seed(),
        p2p_listen: parse_addr(&config.p2p.listen_address)?,
        peers: config
            .p2p
            .peers
            .iter()
            .map(parse_addr)
            .collect::<Result<_>>()?,
        observers,
        connection_limits: filiera_service::ConnectionLimits {
            pending_incoming_max: config.p2p.pending_incoming_max,
            established_incoming_max: config.p2p.established_incoming_max,
            incoming_per_ip_max: config.p2p.incoming_per_ip_max,
            ..Default::default()
        },
        api_listen: config
            .api
            .listen_address
            .parse()
            .with_context(|| format!("api.listen_address {:?}", config.api.listen_address))?,
        metrics_listen: match config.api.metrics_listen_address.as_str() {
            "" => None,
            addr => Some(
                addr.parse()
                    .with_context(|| format!("api.metrics_listen_address {addr:?}"))?,
            ),
        },
        api_tls: (!config.api.tls_cert_file.is_empty()).then(|| filiera_api::tls::TlsFiles {
            cert: home_dir.join(&config.api.tls_cert_file),
            key: home_dir.join(&config.api.tls_key_file),
        }),
        api_tls_terminated_by_proxy: config.api.tls_terminated_by_proxy,
        public_base_url: config.api.public_base_url.trim_end_matches('/').to_owned(),
        api_limits: filiera_service::ApiLimits {
            rate_per_ip_per_s: config.api.rate_limit_per_ip_per_s,
            burst_per_ip: config.api.rate_limit_burst,
            write_txs_per_ip_per_s: config.api.write_rate_limit_per_ip_per_s,
            write_txs_burst_per_ip: config.api.write_rate_limit_burst,
            // Within RATE_LIMIT_CLIENTS_MAX (checked above), so it fits a usize.
            clients_max: usize::try_from(config.api.rate_limit_clients_max)
                .context("api.rate_limit_clients_max")?,
            trusted_proxies: config
                .api
                .trusted_proxies
                .iter()
                .map(|p| {
                    filiera_api::limiter::parse_proxy(p)
                        .map_err(|e| anyhow::anyhow!("api.trusted_proxies: {e}"))
                })
                .collect::<Result<_>>()?,
            request_timeout_ms: config.api.request_timeout_ms,
            ..Default::default()
        },
        storage: StorageConfig {
            // Within BLOCK_CACHE_MIB_MAX (checked above), so it fits a usize.
            block_cache_bytes: usize::try_from(config.storage.block_cache_mib << 20)
                .context("storage.block_cache_mib")?,
            state_versions_kept: config.storage.state_versions_kept,
            // Within RECENT_NODES_MIB_MAX (checked above), so it fits a usize.
            recent_nodes_bytes: usize::try_from(config.storage.recent_nodes_mib << 20)
                .context("storage.recent_nodes_mib")?,
            ..StorageConfig::default()
        },
        halt_height: (config.halt_height > 0).then_some(config.halt_height),
        mempool: Default::default(),
        epcis_clients,
    };
    let parent = stop_with_parent.then(std::os::unix::process::parent_id);
    filiera_service::run(spec, shutdown_signal(parent)).map_err(anyhow::Error::from)
}

/// Resolves once the parent process `parent` is gone (this process was
/// handed to another parent), or never if there is none to watch.
async fn parent_gone(parent: Option<u32>) {
    let Some(parent) = parent else {
        return std::future::pending().await;
    };
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(PARENT_POLL_MS)).await;
        if std::os::unix::process::parent_id() != parent {
            tracing::warn!(
                parent,
                "the process that started this node is gone; stopping"
            );
            return;
        }
    }
}

/// Resolves on SIGINT or SIGTERM, or once the watched parent is gone.
async fn shutdown_signal(parent: Option<u32>) {
    use tokio::signal::unix::{SignalKind, signal};
    // Without a SIGTERM handler, only the other two can stop the node.
    let sigterm = async {
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = sigterm => {}
        _ = parent_gone(parent) => {}
    }
}

fn init_logging(config: &Config) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.filter)
        .with_context(|| format!("log.filter {:?}", config.log.filter))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let result = match config.log.format.as_str() {
        "json" => builder.json().try_init(),
        "human" => builder.try_init(),
        other => anyhow::bail!("log.format must be \"human\" or \"json\", not {other:?}"),
    };
    result.map_err(|e| anyhow::anyhow!("logging: {e}"))
}
