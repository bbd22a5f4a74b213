//! The node's `config.toml`: what an operator sets per node (the chain's rules
//! are in genesis, not here).

use serde::{Deserialize, Serialize};

/// The whole configuration file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A human name for this node, shown in logs and status.
    pub moniker: String,
    /// Stop after committing this height (coordinated upgrades); 0 = never.
    #[serde(default)]
    pub halt_height: u64,
    /// Peer-to-peer networking.
    pub p2p: P2pConfig,
    /// The HTTP API.
    pub api: ApiConfig,
    /// Storage tuning and pruning.
    #[serde(default)]
    pub storage: StoreConfig,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// EPCIS 2.0 capture through the API.
    #[serde(default)]
    pub epcis: EpcisConfig,
}

/// EPCIS 2.0 capture through the API.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpcisConfig {
    /// Organisations whose software may `POST /epcis/capture`.
    #[serde(default)]
    pub clients: Vec<EpcisClientConfig>,
}

/// One organisation allowed to capture: the node signs its events with its key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpcisClientConfig {
    /// The organisation's id in the registry.
    pub org: String,
    /// SHA-256 (hex) of the bearer token its software sends; the token itself
    /// is not stored here (`printf %s TOKEN | sha256sum`).
    pub token_sha256: String,
    /// Key file of one of the organisation's keys (relative to the home directory).
    pub key_file: String,
}

/// Peer-to-peer networking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct P2pConfig {
    /// Multiaddr to listen on, e.g. `/ip4/0.0.0.0/tcp/26656`.
    pub listen_address: String,
    /// Multiaddrs of peers to dial at start.
    #[serde(default)]
    pub peers: Vec<String>,
    /// Node keys (hex) of observer nodes allowed to connect besides the validators.
    #[serde(default)]
    pub observers: Vec<String>,
    /// Inbound connections still in their handshake, in total.
    #[serde(default = "default_pending_incoming_max")]
    pub pending_incoming_max: u32,
    /// Established inbound connections, in total.
    #[serde(default = "default_established_incoming_max")]
    pub established_incoming_max: u32,
    /// Inbound connections (pending or established) from one IP address.
    #[serde(default = "default_incoming_per_ip_max")]
    pub incoming_per_ip_max: u32,
}

fn default_pending_incoming_max() -> u32 {
    filiera_service::ConnectionLimits::default().pending_incoming_max
}
fn default_established_incoming_max() -> u32 {
    filiera_service::ConnectionLimits::default().established_incoming_max
}
fn default_incoming_per_ip_max() -> u32 {
    filiera_service::ConnectionLimits::default().incoming_per_ip_max
}

/// The HTTP API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Socket address to listen on, e.g. `127.0.0.1:8080`.
    pub listen_address: String,
    /// Public base URL printed in QR codes (GS1 Digital Link resolver), no trailing slash.
    pub public_base_url: String,
    /// Requests per second per client IP on the public read endpoints; 0 = no limit.
    #[serde(default = "default_rate")]
    pub rate_limit_per_ip_per_s: u32,
    /// Requests a client IP may burst before the rate applies.
    #[serde(default = "default_burst")]
    pub rate_limit_burst: u32,
    /// Transactions per second per client IP submitted (single, batch, EPCIS
    /// capture), counted apart from reads; 0 = no limit.
    #[serde(default = "default_write_rate")]
    pub write_rate_limit_per_ip_per_s: u32,
    /// Transactions a client IP may submit in a burst (a batch counts each).
    #[serde(default = "default_write_burst")]
    pub write_rate_limit_burst: u32,
    /// Client addresses each rate-limit table remembers, at most.
    #[serde(default = "default_clients_max")]
    pub rate_limit_clients_max: u32,
    /// Reverse proxies (addresses or networks) whose `Forwarded` /
    /// `X-Forwarded-For` headers name the client.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Longest a request may take, ms.
    #[serde(default = "default_timeout_ms")]
    pub request_timeout_ms: u64,
    /// Socket address of the operator's listener (`/metrics`, `/health`),
    /// apart from the public API; empty: metrics are not served.
    #[serde(default)]
    pub metrics_listen_address: String,
    /// PEM certificate chain of the HTTPS the API serves (relative to the
    /// home, or absolute); empty, with `tls_key_file`: plain HTTP.
    #[serde(default)]
    pub tls_cert_file: String,
    /// PEM private key of that certificate.
    #[serde(default)]
    pub tls_key_file: String,
    /// A reverse proxy in front of a plain-HTTP API terminates TLS for every
    /// client, so EPCIS bearer tokens may come from other hosts.
    #[serde(default)]
    pub tls_terminated_by_proxy: bool,
}

/// Port of the operator's listener in a new configuration, unless told
/// otherwise (Prometheus exporters' convention: one well-known port per kind).
pub const METRICS_PORT_DEFAULT: u16 = 9615;

fn default_rate() -> u32 {
    filiera_service::ApiLimits::default().rate_per_ip_per_s
}
fn default_burst() -> u32 {
    filiera_service::ApiLimits::default().burst_per_ip
}
fn default_write_rate() -> u32 {
    filiera_service::ApiLimits::default().write_txs_per_ip_per_s
}
fn default_write_burst() -> u32 {
    filiera_service::ApiLimits::default().write_txs_burst_per_ip
}
fn default_clients_max() -> u32 {
    // The default (65,536) fits a u32.
    u32::try_from(filiera_service::ApiLimits::default().clients_max).unwrap_or(u32::MAX)
}
fn default_timeout_ms() -> u64 {
    filiera_service::ApiLimits::default().request_timeout_ms
}

/// Storage tuning and pruning.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// RocksDB block cache shared by all column families, MiB.
    pub block_cache_mib: u64,
    /// Recent state versions kept for proofs and snapshots; older are pruned.
    pub state_versions_kept: u64,
    /// Memory for the state-tree nodes of the last blocks, which the next
    /// block's tree update reads before RocksDB, MiB (0: none).
    #[serde(default = "default_recent_nodes_mib")]
    pub recent_nodes_mib: u64,
}

fn default_recent_nodes_mib() -> u64 {
    (filiera_storage::RECENT_NODES_BYTES_DEFAULT >> 20) as u64
}

impl Default for StoreConfig {
    fn default() -> Self {
        let d = filiera_storage::StorageConfig::default();
        StoreConfig {
            block_cache_mib: (d.block_cache_bytes >> 20) as u64,
            state_versions_kept: d.state_versions_kept,
            recent_nodes_mib: default_recent_nodes_mib(),
        }
    }
}

/// Logging.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `human` or `json`.
    pub format: String,
    /// A tracing filter, e.g. `info` or `info,filiera_consensus=debug`.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "human".into(),
            filter: "info,arc_malachitebft_core_consensus=warn".into(),
        }
    }
}

impl Config {
    /// A configuration for a node listening on the given ports of `host`,
    /// its metrics on `metrics_port` of loopback (none: not served).
    pub fn new(
        moniker: &str,
        host: &str,
        p2p_port: u16,
        api_port: u16,
        metrics_port: Option<u16>,
        peers: Vec<String>,
    ) -> Config {
        Config {
            moniker: moniker.to_owned(),
            halt_height: 0,
            p2p: P2pConfig {
                listen_address: format!("/ip4/{host}/tcp/{p2p_port}"),
                peers,
                observers: Vec::new(),
                pending_incoming_max: default_pending_incoming_max(),
                established_incoming_max: default_established_incoming_max(),
                incoming_per_ip_max: default_incoming_per_ip_max(),
            },
            api: ApiConfig {
                listen_address: format!("{host}:{api_port}"),
                public_base_url: format!("http://{host}:{api_port}"),
                rate_limit_per_ip_per_s: default_rate(),
                rate_limit_burst: default_burst(),
                write_rate_limit_per_ip_per_s: default_write_rate(),
                write_rate_limit_burst: default_write_burst(),
                rate_limit_clients_max: default_clients_max(),
                trusted_proxies: Vec::new(),
                request_timeout_ms: default_timeout_ms(),
                metrics_listen_address: metrics_port
                    .map(|port| format!("127.0.0.1:{port}"))
                    .unwrap_or_default(),
                tls_cert_file: String::new(),
                tls_key_file: String::new(),
                tls_terminated_by_proxy: false,
            },
            storage: StoreConfig::default(),
            log: LogConfig::default(),
            epcis: EpcisConfig::default(),
        }
    }

    /// The file's text: every option with a comment saying what it is for.
    pub fn to_commented_toml(&self) -> String {
        let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let peers: Vec<String> = self.p2p.peers.iter().map(|p| q(p)).collect();
        let observers: Vec<String> = self.p2p.observers.iter().map(|p| q(p)).collect();
        let proxies: Vec<String> = self.api.trusted_proxies.iter().map(|p| q(p)).collect();
        format!(
            "# Filiera node configuration.\n\
             # The chain's rules (validators, limits, timeouts) live in genesis.json, not here.\n\n\
             # A human name for this node, shown in logs and status.\n\
             moniker = {moniker}\n\n\
             # Stop after committing this height, for a coordinated binary upgrade\n\
             # (0 = never). The node refuses to start at or past it until it is raised.\n\
             halt_height = {halt_height}\n\n\
             [p2p]\n\
             # Multiaddr the node listens on for peers (TCP, noise, yamux).\n\
             listen_address = {p2p_listen}\n\
             # Multiaddrs of peers dialled at start.\n\
             peers = [{peers}]\n\
             # Node keys (hex) of observer nodes allowed to connect besides the validators.\n\
             observers = [{observers}]\n\
             # Inbound connections still in their handshake (before the peer's key is\n\
             # known and checked against the allow list), in total.\n\
             pending_incoming_max = {pending}\n\
             # Established inbound connections, in total.\n\
             established_incoming_max = {established}\n\
             # Inbound connections, pending or established, from one IP address. Nodes\n\
             # sharing an address (a localnet on 127.0.0.1, a NAT) need 2 each.\n\
             incoming_per_ip_max = {per_ip}\n\n\
             [api]\n\
             # Socket address of the public HTTP API (REST, EPCIS, Digital Link resolver).\n\
             listen_address = {api_listen}\n\
             # Socket address of the operator's listener: Prometheus /metrics and /health.\n\
             # Keep it on loopback or a private network: the counters tell an attacker the\n\
             # node's load and peers. Empty: metrics are not served.\n\
             metrics_listen_address = {metrics_listen}\n\
             # Base URL printed in QR codes; consumers' phones open it.\n\
             public_base_url = {base_url}\n\
             # HTTPS served by the node: PEM certificate chain and key (relative to this\n\
             # home, or absolute), read again on SIGHUP and when they change. Empty: plain\n\
             # HTTP (behind a TLS proxy, or on loopback).\n\
             tls_cert_file = {tls_cert}\n\
             tls_key_file = {tls_key}\n\
             # Plain HTTP only: a reverse proxy in front terminates TLS for every client.\n\
             # Until this is true, EPCIS bearer tokens from other hosts are refused.\n\
             tls_terminated_by_proxy = {tls_proxy}\n\
             # Requests per second per client IP on the public read endpoints (0 = no limit).\n\
             rate_limit_per_ip_per_s = {rate}\n\
             # Requests a client IP may burst before that rate applies.\n\
             rate_limit_burst = {burst}\n\
             # Transactions per second per client IP (single, batch, EPCIS capture),\n\
             # counted apart from reads so a write flood never slows QR scans (0 = no limit).\n\
             write_rate_limit_per_ip_per_s = {write_rate}\n\
             # Transactions a client IP may submit in a burst; a batch counts each one.\n\
             write_rate_limit_burst = {write_burst}\n\
             # Client addresses each rate-limit table remembers; beyond, newcomers share\n\
             # one allowance (a flood of fresh addresses cannot grow memory).\n\
             rate_limit_clients_max = {clients_max}\n\
             # Reverse proxies in front of this node (addresses or networks such as\n\
             # \"10.0.0.0/8\"): only their Forwarded / X-Forwarded-For headers are believed.\n\
             # Behind a proxy not listed here, every client shares the proxy's allowance.\n\
             trusted_proxies = [{proxies}]\n\
             # Longest a request may take, in milliseconds (then 408).\n\
             request_timeout_ms = {timeout}\n\n\
             [storage]\n\
             # RocksDB block cache shared by every column family, MiB.\n\
             block_cache_mib = {cache_mib}\n\
             # Recent state versions kept for proofs and snapshots (older are pruned;\n\
             # blocks, certificates and receipts stay).\n\
             state_versions_kept = {versions}\n\
             # State-tree nodes of the last blocks kept in memory for the next block, MiB.\n\
             recent_nodes_mib = {recent_mib}\n\n\
             [log]\n\
             # \"human\" or \"json\".\n\
             format = {log_format}\n\
             # Which messages to log, e.g. \"info\" or \"info,filiera_consensus=debug\".\n\
             filter = {log_filter}\n\n\
             # EPCIS 2.0 capture (POST /epcis/capture): organisations whose software may\n\
             # send EPCIS documents; the node signs their events with the key given.\n\
             # [[epcis.clients]]\n\
             # org = \"caseificio-montefeltro\"\n\
             # token_sha256 = \"<printf %s TOKEN | sha256sum>\"\n\
             # key_file = \"keys/caseificio-montefeltro.key\"\n{clients}",
            moniker = q(&self.moniker),
            halt_height = self.halt_height,
            cache_mib = self.storage.block_cache_mib,
            versions = self.storage.state_versions_kept,
            recent_mib = self.storage.recent_nodes_mib,
            p2p_listen = q(&self.p2p.listen_address),
            peers = peers.join(", "),
            observers = observers.join(", "),
            pending = self.p2p.pending_incoming_max,
            established = self.p2p.established_incoming_max,
            per_ip = self.p2p.incoming_per_ip_max,
            api_listen = q(&self.api.listen_address),
            metrics_listen = q(&self.api.metrics_listen_address),
            tls_cert = q(&self.api.tls_cert_file),
            tls_key = q(&self.api.tls_key_file),
            tls_proxy = self.api.tls_terminated_by_proxy,
            base_url = q(&self.api.public_base_url),
            rate = self.api.rate_limit_per_ip_per_s,
            burst = self.api.rate_limit_burst,
            write_rate = self.api.write_rate_limit_per_ip_per_s,
            write_burst = self.api.write_rate_limit_burst,
            clients_max = self.api.rate_limit_clients_max,
            proxies = proxies.join(", "),
            timeout = self.api.request_timeout_ms,
            log_format = q(&self.log.format),
            log_filter = q(&self.log.filter),
            clients = self
                .epcis
                .clients
                .iter()
                .map(|c| format!(
                    "\n[[epcis.clients]]\norg = {}\ntoken_sha256 = {}\nkey_file = {}\n",
                    q(&c.org),
                    q(&c.token_sha256),
                    q(&c.key_file)
                ))
                .collect::<String>(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commented_template_parses_back_to_the_same_config() {
        let config = Config::new(
            "validator-0",
            "127.0.0.1",
            26656,
            8080,
            Some(9615),
            vec!["/ip4/127.0.0.1/tcp/26657".into()],
        );
        let text = config.to_commented_toml();
        assert!(text.lines().filter(|l| l.starts_with('#')).count() >= 8);
        let parsed: Config = toml::from_str(&text).expect("template parses");
        assert_eq!(parsed, config);
    }

    #[test]
    fn unknown_option_is_refused_by_name() {
        let text = Config::new("n", "127.0.0.1", 1, 2, None, vec![])
            .to_commented_toml()
            .replace("moniker", "monicker");
        let err = toml::from_str::<Config>(&text)
            .expect_err("typo must be refused")
            .to_string();
        assert!(err.contains("monicker"), "{err}");
    }
}
