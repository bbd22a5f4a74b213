//! Environment overrides and validation of `config.toml`: every option may
//! be set by `FILIERA_<SECTION>_<OPTION>` (the container way), and a value out
//! of range stops start-up with a message naming the option and its range.

use crate::node::config::Config;
use anyhow::{Result, bail};

/// Shortest request timeout, ms (below, ordinary reads would time out).
pub const REQUEST_TIMEOUT_MS_MIN: u64 = 100;
/// Longest request timeout, ms.
pub const REQUEST_TIMEOUT_MS_MAX: u64 = 600_000;
/// Highest per-IP rate, requests per second.
pub const RATE_PER_IP_PER_S_MAX: u32 = 100_000;
/// Largest per-IP burst, requests.
pub const BURST_MAX: u32 = 1_000_000;

/// Fewest clients a rate-limit table remembers (below, a small office's
/// addresses would already share the overflow allowance).
pub const RATE_LIMIT_CLIENTS_MIN: u32 = 1_024;
/// Most clients a rate-limit table remembers (each costs about 100 bytes).
pub const RATE_LIMIT_CLIENTS_MAX: u32 = 4_194_304;
/// Most trusted proxies listed.
pub const TRUSTED_PROXIES_MAX: usize = 64;

/// Most inbound connections in their handshake (each costs a noise handshake).
pub const PENDING_INCOMING_MAX: u32 = 1_024;
/// Most established inbound connections.
pub const ESTABLISHED_INCOMING_MAX: u32 = 10_000;

/// Smallest block cache, MiB.
pub const BLOCK_CACHE_MIB_MIN: u64 = 8;
/// Largest block cache, MiB (64 GiB).
pub const BLOCK_CACHE_MIB_MAX: u64 = 65_536;
/// Most memory for the last blocks' tree nodes, MiB (16 GiB).
pub const RECENT_NODES_MIB_MAX: u64 = 16_384;
/// Most state versions kept (each costs the tree nodes one block changed).
pub const STATE_VERSIONS_KEPT_MAX: u64 = 10_000_000;

/// The environment variables read, with the option each sets.
pub const ENV_OPTIONS: &[(&str, &str)] = &[
    ("FILIERA_MONIKER", "moniker"),
    ("FILIERA_HALT_HEIGHT", "halt_height"),
    ("FILIERA_STORAGE_BLOCK_CACHE_MIB", "storage.block_cache_mib"),
    (
        "FILIERA_STORAGE_STATE_VERSIONS_KEPT",
        "storage.state_versions_kept",
    ),
    (
        "FILIERA_STORAGE_RECENT_NODES_MIB",
        "storage.recent_nodes_mib",
    ),
    ("FILIERA_P2P_LISTEN_ADDRESS", "p2p.listen_address"),
    ("FILIERA_P2P_PEERS", "p2p.peers (comma-separated)"),
    ("FILIERA_P2P_OBSERVERS", "p2p.observers (comma-separated)"),
    (
        "FILIERA_P2P_PENDING_INCOMING_MAX",
        "p2p.pending_incoming_max",
    ),
    (
        "FILIERA_P2P_ESTABLISHED_INCOMING_MAX",
        "p2p.established_incoming_max",
    ),
    ("FILIERA_P2P_INCOMING_PER_IP_MAX", "p2p.incoming_per_ip_max"),
    ("FILIERA_API_LISTEN_ADDRESS", "api.listen_address"),
    ("FILIERA_API_PUBLIC_BASE_URL", "api.public_base_url"),
    (
        "FILIERA_API_METRICS_LISTEN_ADDRESS",
        "api.metrics_listen_address (empty: none)",
    ),
    ("FILIERA_API_TLS_CERT_FILE", "api.tls_cert_file"),
    ("FILIERA_API_TLS_KEY_FILE", "api.tls_key_file"),
    (
        "FILIERA_API_TLS_TERMINATED_BY_PROXY",
        "api.tls_terminated_by_proxy (true or false)",
    ),
    (
        "FILIERA_API_RATE_LIMIT_PER_IP_PER_S",
        "api.rate_limit_per_ip_per_s",
    ),
    ("FILIERA_API_RATE_LIMIT_BURST", "api.rate_limit_burst"),
    (
        "FILIERA_API_WRITE_RATE_LIMIT_PER_IP_PER_S",
        "api.write_rate_limit_per_ip_per_s",
    ),
    (
        "FILIERA_API_WRITE_RATE_LIMIT_BURST",
        "api.write_rate_limit_burst",
    ),
    (
        "FILIERA_API_RATE_LIMIT_CLIENTS_MAX",
        "api.rate_limit_clients_max",
    ),
    (
        "FILIERA_API_TRUSTED_PROXIES",
        "api.trusted_proxies (comma-separated)",
    ),
    ("FILIERA_API_REQUEST_TIMEOUT_MS", "api.request_timeout_ms"),
    ("FILIERA_LOG_FORMAT", "log.format"),
    ("FILIERA_LOG_FILTER", "log.filter"),
];

fn number<T: std::str::FromStr>(var: &str, text: &str) -> Result<T> {
    match text.trim().parse() {
        Ok(n) => Ok(n),
        Err(_) => bail!("{var}={text:?}: not a whole number"),
    }
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Applies the `FILIERA_*` variables `env` knows to `config`.
pub fn apply_env(config: &mut Config, env: &dyn Fn(&str) -> Option<String>) -> Result<()> {
    for (var, _) in ENV_OPTIONS {
        let Some(value) = env(var) else { continue };
        match *var {
            "FILIERA_MONIKER" => config.moniker = value,
            "FILIERA_HALT_HEIGHT" => config.halt_height = number(var, &value)?,
            "FILIERA_STORAGE_BLOCK_CACHE_MIB" => {
                config.storage.block_cache_mib = number(var, &value)?
            }
            "FILIERA_STORAGE_STATE_VERSIONS_KEPT" => {
                config.storage.state_versions_kept = number(var, &value)?
            }
            "FILIERA_STORAGE_RECENT_NODES_MIB" => {
                config.storage.recent_nodes_mib = number(var, &value)?
            }
            "FILIERA_P2P_LISTEN_ADDRESS" => config.p2p.listen_address = value,
            "FILIERA_P2P_PEERS" => config.p2p.peers = list(&value),
            "FILIERA_P2P_OBSERVERS" => config.p2p.observers = list(&value),
            "FILIERA_P2P_PENDING_INCOMING_MAX" => {
                config.p2p.pending_incoming_max = number(var, &value)?
            }
            "FILIERA_P2P_ESTABLISHED_INCOMING_MAX" => {
                config.p2p.established_incoming_max = number(var, &value)?
            }
            "FILIERA_P2P_INCOMING_PER_IP_MAX" => {
                config.p2p.incoming_per_ip_max = number(var, &value)?
            }
            "FILIERA_API_LISTEN_ADDRESS" => config.api.listen_address = value,
            "FILIERA_API_PUBLIC_BASE_URL" => config.api.public_base_url = value,
            "FILIERA_API_METRICS_LISTEN_ADDRESS" => config.api.metrics_listen_address = value,
            "FILIERA_API_TLS_CERT_FILE" => config.api.tls_cert_file = value,
            "FILIERA_API_TLS_KEY_FILE" => config.api.tls_key_file = value,
            "FILIERA_API_TLS_TERMINATED_BY_PROXY" => {
                config.api.tls_terminated_by_proxy = match value.trim() {
                    "true" => true,
                    "false" => false,
                    _ => bail!("{var}={value:?}: true or false"),
                }
            }
            "FILIERA_API_RATE_LIMIT_PER_IP_PER_S" => {
                config.api.rate_limit_per_ip_per_s = number(var, &value)?
            }
            "FILIERA_API_RATE_LIMIT_BURST" => config.api.rate_limit_burst = number(var, &value)?,
            "FILIERA_API_WRITE_RATE_LIMIT_PER_IP_PER_S" => {
                config.api.write_rate_limit_per_ip_per_s = number(var, &value)?
            }
            "FILIERA_API_WRITE_RATE_LIMIT_BURST" => {
                config.api.write_rate_limit_burst = number(var, &value)?
            }
            "FILIERA_API_RATE_LIMIT_CLIENTS_MAX" => {
                config.api.rate_limit_clients_max = number(var, &value)?
            }
            "FILIERA_API_TRUSTED_PROXIES" => config.api.trusted_proxies = list(&value),
            "FILIERA_API_REQUEST_TIMEOUT_MS" => {
                config.api.request_timeout_ms = number(var, &value)?
            }
            "FILIERA_LOG_FORMAT" => config.log.format = value,
            "FILIERA_LOG_FILTER" => config.log.filter = value,
            _ => {}
        }
    }
    Ok(())
}

/// Checks every option; the first problem names the option and what is allowed.
pub fn validate(config: &Config) -> Result<()> {
    if config.moniker.trim().is_empty() || config.moniker.len() > 64 {
        bail!("moniker: 1 to 64 characters");
    }
    if config
        .p2p
        .listen_address
        .parse::<libp2p::Multiaddr>()
        .is_err()
    {
        bail!(
            "p2p.listen_address {:?}: a multiaddr such as /ip4/0.0.0.0/tcp/26656",
            config.p2p.listen_address
        );
    }
    for peer in &config.p2p.peers {
        if peer.parse::<libp2p::Multiaddr>().is_err() {
            bail!("p2p.peers: {peer:?} is not a multiaddr");
        }
    }
    for key in &config.p2p.observers {
        if filiera_types::PublicKey::from_hex(key).is_err() {
            bail!("p2p.observers: {key:?} is not a 64-hex-digit node key");
        }
    }
    let p2p = &config.p2p;
    if !(1..=PENDING_INCOMING_MAX).contains(&p2p.pending_incoming_max) {
        bail!(
            "p2p.pending_incoming_max = {}: allowed 1 to {PENDING_INCOMING_MAX}",
            p2p.pending_incoming_max
        );
    }
    if !(1..=ESTABLISHED_INCOMING_MAX).contains(&p2p.established_incoming_max) {
        bail!(
            "p2p.established_incoming_max = {}: allowed 1 to {ESTABLISHED_INCOMING_MAX}",
            p2p.established_incoming_max
        );
    }
    if !(1..=p2p.established_incoming_max).contains(&p2p.incoming_per_ip_max) {
        bail!(
            "p2p.incoming_per_ip_max = {}: allowed 1 to p2p.established_incoming_max ({})",
            p2p.incoming_per_ip_max,
            p2p.established_incoming_max
        );
    }
    if config
        .api
        .listen_address
        .parse::<std::net::SocketAddr>()
        .is_err()
    {
        bail!(
            "api.listen_address {:?}: a socket address such as 0.0.0.0:8080",
            config.api.listen_address
        );
    }
    let metrics = &config.api.metrics_listen_address;
    if !metrics.is_empty() {
        if metrics.parse::<std::net::SocketAddr>().is_err() {
            bail!(
                "api.metrics_listen_address {metrics:?}: a socket address such as 127.0.0.1:9615, or empty for none"
            );
        }
        if metrics == &config.api.listen_address {
            bail!(
                "api.metrics_listen_address {metrics:?}: the public API's address; metrics need a listener of their own"
            );
        }
    }
    if config.api.tls_cert_file.is_empty() != config.api.tls_key_file.is_empty() {
        bail!("api.tls_cert_file and api.tls_key_file: give both (HTTPS) or neither (plain HTTP)");
    }
    if !config.api.tls_cert_file.is_empty() && config.api.tls_terminated_by_proxy {
        bail!("api.tls_terminated_by_proxy: only for plain HTTP; the node serves HTTPS itself");
    }
    let url = &config.api.public_base_url;
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.ends_with('/') {
        bail!("api.public_base_url {url:?}: an http(s) URL without a trailing slash");
    }
    if config.api.rate_limit_per_ip_per_s > RATE_PER_IP_PER_S_MAX {
        bail!(
            "api.rate_limit_per_ip_per_s = {}: allowed 0 (no limit) to {RATE_PER_IP_PER_S_MAX}",
            config.api.rate_limit_per_ip_per_s
        );
    }
    if config.api.rate_limit_burst == 0 || config.api.rate_limit_burst > BURST_MAX {
        bail!(
            "api.rate_limit_burst = {}: allowed 1 to {BURST_MAX}",
            config.api.rate_limit_burst
        );
    }
    if config.api.write_rate_limit_per_ip_per_s > RATE_PER_IP_PER_S_MAX {
        bail!(
            "api.write_rate_limit_per_ip_per_s = {}: allowed 0 (no limit) to {RATE_PER_IP_PER_S_MAX}",
            config.api.write_rate_limit_per_ip_per_s
        );
    }
    if config.api.write_rate_limit_burst == 0 || config.api.write_rate_limit_burst > BURST_MAX {
        bail!(
            "api.write_rate_limit_burst = {}: allowed 1 to {BURST_MAX}",
            config.api.write_rate_limit_burst
        );
    }
    if !(RATE_LIMIT_CLIENTS_MIN..=RATE_LIMIT_CLIENTS_MAX)
        .contains(&config.api.rate_limit_clients_max)
    {
        bail!(
            "api.rate_limit_clients_max = {}: allowed {RATE_LIMIT_CLIENTS_MIN} to {RATE_LIMIT_CLIENTS_MAX}",
            config.api.rate_limit_clients_max
        );
    }
    if config.api.trusted_proxies.len() > TRUSTED_PROXIES_MAX {
        bail!(
            "api.trusted_proxies lists {}: allowed at most {TRUSTED_PROXIES_MAX}",
            config.api.trusted_proxies.len()
        );
    }
    for proxy in &config.api.trusted_proxies {
        if let Err(e) = filiera_api::limiter::parse_proxy(proxy) {
            bail!("api.trusted_proxies: {e}");
        }
    }
    if !(REQUEST_TIMEOUT_MS_MIN..=REQUEST_TIMEOUT_MS_MAX).contains(&config.api.request_timeout_ms) {
        bail!(
            "api.request_timeout_ms = {}: allowed {REQUEST_TIMEOUT_MS_MIN} to {REQUEST_TIMEOUT_MS_MAX}",
            config.api.request_timeout_ms
        );
    }
    if config.log.format != "human" && config.log.format != "json" {
        bail!(
            "log.format = {:?}: allowed \"human\" or \"json\"",
            config.log.format
        );
    }
    if tracing_subscriber::EnvFilter::try_new(&config.log.filter).is_err() {
        bail!(
            "log.filter = {:?}: not a tracing filter (e.g. \"info\")",
            config.log.filter
        );
    }
    if !(BLOCK_CACHE_MIB_MIN..=BLOCK_CACHE_MIB_MAX).contains(&config.storage.block_cache_mib) {
        bail!(
            "storage.block_cache_mib = {}: allowed {BLOCK_CACHE_MIB_MIN} to {BLOCK_CACHE_MIB_MAX}",
            config.storage.block_cache_mib
        );
    }
    if !(1..=STATE_VERSIONS_KEPT_MAX).contains(&config.storage.state_versions_kept) {
        bail!(
            "storage.state_versions_kept = {}: allowed 1 to {STATE_VERSIONS_KEPT_MAX}",
            config.storage.state_versions_kept
        );
    }
    if config.storage.recent_nodes_mib > RECENT_NODES_MIB_MAX {
        bail!(
            "storage.recent_nodes_mib = {}: allowed 0 to {RECENT_NODES_MIB_MAX}",
            config.storage.recent_nodes_mib
        );
    }
    for c in &config.epcis.clients {
        if c.token_sha256.len() != 64 || hex::decode(&c.token_sha256).is_err() {
            bail!(
                "epcis.clients: token_sha256 of {:?} must be 64 hex digits",
                c.org
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Config {
        Config::new("validator-0", "127.0.0.1", 26656, 8080, Some(9615), vec![])
    }

    #[test]
    fn the_template_is_valid_and_each_bad_value_is_named_with_its_range() {
        validate(&sample()).expect("the template validates");
        type Breakage = (fn(&mut Config), &'static str);
        let cases: Vec<Breakage> = vec![
            (
                |c| c.api.request_timeout_ms = 5,
                "api.request_timeout_ms = 5: allowed 100 to 600000",
            ),
            (
                |c| c.api.rate_limit_burst = 0,
                "api.rate_limit_burst = 0: allowed 1",
            ),
            (
                |c| c.api.trusted_proxies = vec!["10.0.0.0/33".into()],
                "api.trusted_proxies: \"10.0.0.0/33\" is neither",
            ),
            (
                |c| c.api.rate_limit_clients_max = 10,
                "api.rate_limit_clients_max = 10: allowed 1024",
            ),
            (
                |c| c.api.write_rate_limit_burst = 0,
                "api.write_rate_limit_burst = 0: allowed 1",
            ),
            (
                |c| c.api.rate_limit_per_ip_per_s = 1_000_000,
                "api.rate_limit_per_ip_per_s",
            ),
            (
                |c| c.api.public_base_url = "https://id.example.it/".into(),
                "without a trailing slash",
            ),
            (
                |c| c.api.listen_address = "8080".into(),
                "api.listen_address",
            ),
            (
                |c| c.api.metrics_listen_address = "localhost".into(),
                "api.metrics_listen_address \"localhost\": a socket address",
            ),
            (
                |c| c.api.metrics_listen_address = c.api.listen_address.clone(),
                "the public API's address",
            ),
            (
                |c| c.api.tls_cert_file = "tls/cert.pem".into(),
                "give both (HTTPS) or neither",
            ),
            (
                |c| c.p2p.listen_address = "localhost:1".into(),
                "p2p.listen_address",
            ),
            (|c| c.p2p.observers = vec!["zz".into()], "p2p.observers"),
            (
                |c| c.p2p.pending_incoming_max = 0,
                "p2p.pending_incoming_max = 0: allowed 1 to 1024",
            ),
            (
                |c| c.p2p.established_incoming_max = 20_000,
                "p2p.established_incoming_max = 20000: allowed 1 to 10000",
            ),
            (
                |c| c.p2p.incoming_per_ip_max = 129,
                "p2p.incoming_per_ip_max = 129: allowed 1 to p2p.established_incoming_max (128)",
            ),
            (|c| c.log.format = "xml".into(), "log.format"),
            (|c| c.moniker = String::new(), "moniker"),
            (
                |c| c.storage.block_cache_mib = 1,
                "storage.block_cache_mib = 1: allowed 8 to 65536",
            ),
            (
                |c| c.storage.state_versions_kept = 0,
                "storage.state_versions_kept = 0: allowed 1",
            ),
            (
                |c| c.storage.recent_nodes_mib = RECENT_NODES_MIB_MAX + 1,
                "storage.recent_nodes_mib = 16385: allowed 0 to 16384",
            ),
        ];
        for (break_it, expected) in cases {
            let mut c = sample();
            break_it(&mut c);
            let err = validate(&c).expect_err(expected).to_string();
            assert!(err.contains(expected), "{err} (expected {expected})");
        }
    }

    #[test]
    fn environment_variables_override_the_file() {
        let mut c = sample();
        let env = |var: &str| match var {
            "FILIERA_API_REQUEST_TIMEOUT_MS" => Some("2500".to_owned()),
            "FILIERA_P2P_PEERS" => {
                Some("/ip4/10.0.0.2/tcp/26656, /ip4/10.0.0.3/tcp/26656".to_owned())
            }
            "FILIERA_LOG_FORMAT" => Some("json".to_owned()),
            "FILIERA_P2P_INCOMING_PER_IP_MAX" => Some("64".to_owned()),
            "FILIERA_API_TRUSTED_PROXIES" => Some("10.0.0.0/8, ::1".to_owned()),
            "FILIERA_API_WRITE_RATE_LIMIT_PER_IP_PER_S" => Some("0".to_owned()),
            "FILIERA_API_METRICS_LISTEN_ADDRESS" => Some("10.1.2.3:9100".to_owned()),
            _ => None,
        };
        apply_env(&mut c, &env).unwrap();
        assert_eq!(c.api.trusted_proxies, ["10.0.0.0/8", "::1"]);
        assert_eq!(c.api.write_rate_limit_per_ip_per_s, 0);
        assert_eq!(c.api.metrics_listen_address, "10.1.2.3:9100");
        validate(&c).expect("proxies given as a network and as an address validate");
        assert_eq!(c.p2p.incoming_per_ip_max, 64);
        assert_eq!(c.api.request_timeout_ms, 2500);
        assert_eq!(c.p2p.peers.len(), 2);
        assert_eq!(c.log.format, "json");
        assert_eq!(
            c.api.rate_limit_burst,
            sample().api.rate_limit_burst,
            "untouched"
        );
        let bad = |var: &str| (var == "FILIERA_API_RATE_LIMIT_BURST").then(|| "lots".to_owned());
        let err = apply_env(&mut c, &bad).unwrap_err().to_string();
        assert!(
            err.contains("FILIERA_API_RATE_LIMIT_BURST=\"lots\""),
            "{err}"
        );
    }
}
