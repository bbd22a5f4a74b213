//! Connection limits: how many connections anyone who reaches the p2p port
//! can make this node hold, before and after the noise handshake.
//!
//! Why: the allow list is checked once the handshake reveals a peer's key,
//! so until then every connection costs a socket and a handshake (two
//! Diffie-Hellman operations). Without limits, any host could open
//! connections without end. libp2p's `connection_limits` bounds pending and
//! established connections in total and per peer; [`PerIp`] bounds inbound
//! connections per remote IP address, counted from the moment a connection
//! is accepted (before the handshake), so one host cannot take the whole
//! pending budget.

use libp2p::core::Endpoint;
use libp2p::core::transport::PortUse;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm, dummy,
};
use libp2p::{Multiaddr, PeerId};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::task::{Context, Poll};

/// The connection limits of a node (every one a count of connections).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Inbound connections still in their handshake, in total.
    pub pending_incoming_max: u32,
    /// Established inbound connections, in total.
    pub established_incoming_max: u32,
    /// Established connections with one peer (both directions): a redial or
    /// a simultaneous dial may open a second, never more.
    pub established_per_peer_max: u32,
    /// Inbound connections (pending or established) from one IP address.
    /// A localnet runs every node on 127.0.0.1, so this must exceed twice
    /// the number of its other nodes there.
    pub incoming_per_ip_max: u32,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            pending_incoming_max: 32,
            established_incoming_max: 128,
            established_per_peer_max: 2,
            incoming_per_ip_max: 32,
        }
    }
}

impl ConnectionLimits {
    /// libp2p's limits (totals and per peer).
    pub(crate) fn totals(&self) -> libp2p::connection_limits::ConnectionLimits {
        libp2p::connection_limits::ConnectionLimits::default()
            .with_max_pending_incoming(Some(self.pending_incoming_max))
            .with_max_established_incoming(Some(self.established_incoming_max))
            .with_max_established_per_peer(Some(self.established_per_peer_max))
    }
}

/// Refused: too many connections from one IP address.
#[derive(Debug, thiserror::Error)]
#[error("{count} inbound connections from {ip} already (at most {max})")]
pub struct TooManyFromIp {
    ip: IpAddr,
    count: u32,
    max: u32,
}

/// Bounds inbound connections per remote IP address.
pub struct PerIp {
    max: u32,
    by_ip: BTreeMap<IpAddr, u32>,
    open: BTreeMap<ConnectionId, IpAddr>,
}

impl PerIp {
    /// At most `max` inbound connections from one IP address.
    pub fn new(max: u32) -> PerIp {
        PerIp {
            max,
            by_ip: BTreeMap::new(),
            open: BTreeMap::new(),
        }
    }

    /// Inbound connections counted for `ip`.
    pub fn count(&self, ip: &IpAddr) -> u32 {
        self.by_ip.get(ip).copied().unwrap_or(0)
    }

    fn admit(&mut self, id: ConnectionId, remote: &Multiaddr) -> Result<(), ConnectionDenied> {
        let Some(ip) = ip_of(remote) else {
            return Ok(());
        };
        let count = self.count(&ip);
        if count >= self.max {
            return Err(ConnectionDenied::new(TooManyFromIp {
                ip,
                count,
                max: self.max,
            }));
        }
        self.by_ip.insert(ip, count + 1);
        self.open.insert(id, ip);
        Ok(())
    }

    fn release(&mut self, id: ConnectionId) {
        let Some(ip) = self.open.remove(&id) else {
            return;
        };
        match self.by_ip.get(&ip).copied() {
            Some(n) if n > 1 => {
                self.by_ip.insert(ip, n - 1);
            }
            _ => {
                self.by_ip.remove(&ip);
            }
        }
    }
}

fn ip_of(addr: &Multiaddr) -> Option<IpAddr> {
    addr.iter().find_map(|p| match p {
        Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        Protocol::Ip6(ip) => Some(IpAddr::V6(ip)),
        _ => None,
    })
}

impl NetworkBehaviour for PerIp {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        _local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.admit(connection_id, remote)
    }

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionClosed(c) => self.release(c.connection_id),
            // A pending inbound connection that failed or was denied (by any
            // behaviour, before or at establishment).
            FromSwarm::ListenFailure(f) => self.release(f.connection_id),
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Multiaddr {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn one_ip_is_bounded_and_a_closed_connection_frees_its_place() {
        let mut limit = PerIp::new(2);
        let (a, b, c) = (
            ConnectionId::new_unchecked(1),
            ConnectionId::new_unchecked(2),
            ConnectionId::new_unchecked(3),
        );
        let host = addr("/ip4/10.0.0.1/tcp/4001");
        assert!(limit.admit(a, &host).is_ok());
        assert!(limit.admit(b, &host).is_ok());
        assert!(limit.admit(c, &host).is_err(), "a third from one IP");
        assert!(
            limit.admit(c, &addr("/ip4/10.0.0.2/tcp/4001")).is_ok(),
            "another IP has its own room"
        );
        limit.release(a);
        limit.release(a);
        assert_eq!(
            limit.count(&"10.0.0.1".parse().unwrap_or_else(|e| panic!("{e:?}"))),
            1
        );
        assert!(limit.admit(ConnectionId::new_unchecked(4), &host).is_ok());
    }
}
