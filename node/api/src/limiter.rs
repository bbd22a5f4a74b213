//! Who a request comes from, and how much each client may ask: separate
//! allowances for reads (QR lookups, pages, `/v1` reads) and writes
//! (counted in transactions, not requests), in tables of bounded size.
//!
//! **The client.** The socket's peer address, unless that peer is one of the
//! operator's trusted proxies: then the address the proxy vouches for, the
//! rightmost one in `Forwarded` (`for=`) or else `X-Forwarded-For` that is
//! not itself a trusted proxy. A header from anyone else is ignored, so no
//! client can pick its own key. IPv6 clients are keyed by their /64, which
//! one subscriber gets whole: rotating addresses inside it changes nothing.
//!
//! **Reads and writes apart.** A write flood spends the writers' allowance,
//! never the one a consumer's scan draws on; reads are generous (many
//! shoppers share one carrier-grade NAT address).
//!
//! **Bounded memory.** Each table holds at most `clients_max` clients. When
//! it is full, clients idle long enough to be back at a full burst are
//! forgotten (at most one sweep per [`SWEEP_INTERVAL_MS`]); if it is still
//! full, newcomers share one overflow allowance, so a flood of fresh
//! addresses neither grows the table nor takes a known client's share.
//!
//! Buckets are governor's GCRA limiters; the wall clock is fine here (the
//! edge, not consensus).

use axum::http::HeaderMap;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Instant;

/// Least time between two sweeps of a full table, ms.
pub const SWEEP_INTERVAL_MS: u64 = 1_000;

/// A client as the limits see it: an IPv4 address, or an IPv6 /64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClientKey {
    /// An IPv4 address (IPv4-mapped IPv6 included).
    V4([u8; 4]),
    /// The first 64 bits of an IPv6 address.
    V6([u8; 8]),
}

impl ClientKey {
    /// The key of `ip`.
    pub fn of(ip: IpAddr) -> ClientKey {
        match ip {
            IpAddr::V4(v4) => ClientKey::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey::V4(v4.octets()),
                None => {
                    let o = v6.octets();
                    ClientKey::V6([o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7]])
                }
            },
        }
    }
}

/// A trusted proxy as an operator writes it: an address (`10.0.0.5`,
/// `::1`) or a network (`10.0.0.0/8`, `fd00::/8`).
pub fn parse_proxy(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    match text.parse::<IpAddr>() {
        Ok(ip) => Ok(IpNet::from(ip)),
        Err(_) => Err(format!(
            "{text:?} is neither an IP address nor a network such as 10.0.0.0/8"
        )),
    }
}

/// The client's address: `peer`, or, when `peer` is a trusted proxy, the
/// rightmost untrusted address of its forwarding headers (`peer` if none).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded = forwarded_for(headers);
    let chain = if forwarded.is_empty() {
        x_forwarded_for(headers)
    } else {
        forwarded
    };
    // Nearest hop first: each proxy appends the address it saw.
    for ip in chain.iter().rev() {
        if !is_trusted(ip) {
            return *ip;
        }
    }
    peer
}

/// The `for=` addresses of every `Forwarded` header, in order (RFC 7239);
/// obfuscated or unknown identifiers are skipped.
fn forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for value in headers.get_all("forwarded") {
        let Ok(text) = value.to_str() else { continue };
        for element in text.split(',') {
            for pair in element.split(';') {
                let Some((name, value)) = pair.trim().split_once('=') else {
                    continue;
                };
                if name.trim().eq_ignore_ascii_case("for")
                    && let Some(ip) = node_ip(value.trim().trim_matches('"'))
                {
                    out.push(ip);
                }
            }
        }
    }
    out
}

/// An RFC 7239 node: `192.0.2.1`, `192.0.2.1:80`, `[2001:db8::1]`,
/// `[2001:db8::1]:80`.
fn node_ip(text: &str) -> Option<IpAddr> {
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    text.parse()
        .ok()
        .or_else(|| text.rsplit_once(':')?.0.parse().ok())
}

/// The addresses of every `X-Forwarded-For` header, in order.
fn x_forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| node_ip(s.trim()))
        .collect()
}

/// One allowance: so many units per second, so many at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allowance {
    /// Units per second; 0: no limit.
    pub per_s: u32,
    /// Units at once.
    pub burst: u32,
}

struct Client {
    bucket: DefaultDirectRateLimiter,
    last_ms: u64,
}

struct Clients {
    by_key: BTreeMap<ClientKey, Client>,
    last_sweep_ms: Option<u64>,
}

/// A table of clients' allowances, of bounded size.
pub struct Table {
    quota: Option<Quota>,
    /// How long an idle client takes to be back at a full burst, ms.
    refill_ms: u64,
    clients_max: usize,
    clients: Mutex<Clients>,
    overflow: Option<DefaultDirectRateLimiter>,
    started: Instant,
}

/// Why a request was not let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// Seconds until it may be let through (at least 1).
    pub retry_after_s: u64,
    /// Whether it can never be (it costs more than a whole burst).
    pub too_large: bool,
}

impl Table {
    /// A table for `allowance`, of at most `clients_max` clients.
    pub fn new(allowance: Allowance, clients_max: usize) -> Table {
        let quota = NonZeroU32::new(allowance.per_s).map(|per_s| {
            let burst = NonZeroU32::new(allowance.burst).unwrap_or(per_s);
            Quota::per_second(per_s).allow_burst(burst)
        });
        let refill_ms = match quota {
            Some(_) => u64::from(allowance.burst.max(1)) * 1_000 / u64::from(allowance.per_s) + 1,
            None => 0,
        };
        Table {
            quota,
            refill_ms,
            clients_max: clients_max.max(1),
            clients: Mutex::new(Clients {
                by_key: BTreeMap::new(),
                last_sweep_ms: None,
            }),
            overflow: quota.map(RateLimiter::direct),
            started: Instant::now(),
        }
    }

    /// Clients held now.
    pub fn len(&self) -> usize {
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .by_key
            .len()
    }

    /// Whether no client is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes `cost` units from `key`'s allowance.
    pub fn take(&self, key: ClientKey, cost: u32) -> Result<(), Limited> {
        let Some(quota) = self.quota else {
            return Ok(());
        };
        let Some(cost) = NonZeroU32::new(cost) else {
            return Ok(());
        };
        let now_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        // A poisoned lock only means another request panicked mid-update:
        // the table is still a table.
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if !clients.by_key.contains_key(&key) && clients.by_key.len() >= self.clients_max {
            let due = clients
                .last_sweep_ms
                .is_none_or(|last| now_ms.saturating_sub(last) >= SWEEP_INTERVAL_MS);
            if due {
                let refill_ms = self.refill_ms;
                clients
                    .by_key
                    .retain(|_, c| now_ms.saturating_sub(c.last_ms) < refill_ms);
                clients.last_sweep_ms = Some(now_ms);
            }
        }
        let bucket = if clients.by_key.contains_key(&key) || clients.by_key.len() < self.clients_max
        {
            let client = clients.by_key.entry(key).or_insert_with(|| Client {
                bucket: RateLimiter::direct(quota),
                last_ms: now_ms,
            });
            client.last_ms = now_ms;
            &client.bucket
        } else {
            match &self.overflow {
                Some(o) => o,
                None => return Ok(()),
            }
        };
        match bucket.check_n(cost) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                use governor::clock::{Clock, DefaultClock};
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(Limited {
                    retry_after_s: wait.as_secs() + 1,
                    too_large: false,
                })
            }
            Err(_) => Err(Limited {
                retry_after_s: 1,
                too_large: true,
            }),
        }
    }
}

/// The edge's limits: who the client is, and its read and write allowances.
pub struct EdgeLimiter {
    /// Reads, one unit per request.
    pub reads: Table,
    /// Writes, one unit per transaction.
    pub writes: Table,
    trusted_proxies: Vec<IpNet>,
}

impl EdgeLimiter {
    /// The limiter of `limits`.
    pub fn new(limits: &crate::ApiLimits) -> EdgeLimiter {
        EdgeLimiter {
            reads: Table::new(
                Allowance {
                    per_s: limits.rate_per_ip_per_s,
                    burst: limits.burst_per_ip,
                },
                limits.clients_max,
            ),
            writes: Table::new(
                Allowance {
                    per_s: limits.write_txs_per_ip_per_s,
                    burst: limits.write_txs_burst_per_ip,
                },
                limits.clients_max,
            ),
            trusted_proxies: limits.trusted_proxies.clone(),
        }
    }

    /// The client a request with these `headers` from `peer` comes from.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> ClientKey {
        ClientKey::of(client_ip(peer, headers, &self.trusted_proxies))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn forwarding_headers_count_only_from_a_trusted_proxy() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap_or_else(|e| panic!("{e}"))];
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 198.51.100.7, 10.0.0.3"),
        );
        // From a stranger, the header is ignored.
        assert_eq!(client_ip(ip("192.0.2.1"), &h, &trusted), ip("192.0.2.1"));
        // From the proxy, the rightmost address it does not trust.
        assert_eq!(client_ip(ip("10.0.0.2"), &h, &trusted), ip("198.51.100.7"));
        // `Forwarded` wins over X-Forwarded-For.
        h.insert(
            "forwarded",
            HeaderValue::from_static(
                "for=192.0.2.60;proto=https, for=\"[2001:db8:cafe::17]:4711\"",
            ),
        );
        assert_eq!(
            client_ip(ip("10.0.0.2"), &h, &trusted),
            ip("2001:db8:cafe::17")
        );
        // No header: the proxy itself.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &HeaderMap::new(), &trusted),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        assert_eq!(
            ClientKey::of(ip("2001:db8:1:2::1")),
            ClientKey::of(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            ClientKey::of(ip("2001:db8:1:2::1")),
            ClientKey::of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            ClientKey::of(ip("::ffff:192.0.2.1")),
            ClientKey::of(ip("192.0.2.1"))
        );
    }

    #[test]
    fn a_full_table_sends_newcomers_to_one_shared_allowance() {
        let table = Table::new(Allowance { per_s: 1, burst: 2 }, 3);
        let key = |n: u8| ClientKey::V4([192, 0, 2, n]);
        for n in 0..3 {
            assert!(table.take(key(n), 1).is_ok());
        }
        assert_eq!(table.len(), 3);
        // Newcomers: the table stays at 3; they share one burst of 2.
        assert!(table.take(key(10), 1).is_ok());
        assert!(table.take(key(11), 1).is_ok());
        assert!(table.take(key(12), 1).is_err());
        assert_eq!(table.len(), 3);
        // A known client keeps its own allowance.
        assert!(table.take(key(0), 1).is_ok());
        assert!(table.take(key(0), 1).is_err());
        // More than a whole burst at once can never pass.
        assert!(table.take(key(1), 3).is_err_and(|l| l.too_large));
    }
}
