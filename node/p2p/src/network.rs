//! The swarm task and its handle.

use crate::sync_codec::{SYNC_PROTOCOL, SyncCodec};
use crate::{
    COMMAND_QUEUE_MAX, EVENT_QUEUE_MAX, GOSSIP_MESSAGE_BYTES_MAX, SYNC_REQUEST_BYTES_MAX,
    SYNC_RESPONSE_BYTES_MAX,
};
use filiera_types::PublicKey;
use filiera_wire::{MessageId, Topic, Verdict};
use libp2p::futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageAuthenticity, ValidationMode};
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, allow_block_list, identify, identity, noise, ping, tcp, yamux};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::mpsc;

/// The topic of a gossipsub topic hash, if it is one of ours.
fn topic_of(hash: &gossipsub::TopicHash) -> Option<Topic> {
    Topic::all()
        .into_iter()
        .find(|t| IdentTopic::new(t.name()).hash() == *hash)
}

/// How to run the network.
#[derive(Clone)]
pub struct NetworkConfig {
    /// The node's ed25519 key seed (its peer id derives from it), wiped on
    /// drop and never printed.
    pub node_key_seed: zeroize::Zeroizing<[u8; 32]>,
    /// Where to listen, e.g. `/ip4/127.0.0.1/tcp/0`.
    pub listen: Multiaddr,
    /// Peers to dial at start.
    pub bootstrap: Vec<Multiaddr>,
    /// Node keys allowed to connect (validators and registered observers).
    pub allowed: Vec<PublicKey>,
    /// Whether gossip waits for the node's [`Verdict`] before it is
    /// forwarded ([`Network::validate`]): a node must, so that what it relays
    /// is what it checked, and a peer is judged only for what it sent itself.
    /// Off, every message is forwarded as it arrives (test and fault tools).
    pub validate_gossip: bool,
    /// How many connections others can make this node hold.
    pub connection_limits: crate::ConnectionLimits,
}

impl std::fmt::Debug for NetworkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkConfig")
            .field("node_key_seed", &"<secret>")
            .field("listen", &self.listen)
            .field("bootstrap", &self.bootstrap)
            .field("allowed", &self.allowed.len())
            .field("validate_gossip", &self.validate_gossip)
            .finish_non_exhaustive()
    }
}

/// What the network tells the node.
#[derive(Clone, Debug)]
pub enum NetworkEvent {
    /// Listening on this address.
    Listening(Multiaddr),
    /// A gossip message arrived; with `validate_gossip`, answer it with
    /// [`Network::validate`] and this id.
    Message {
        /// Its topic.
        topic: Topic,
        /// The peer that handed it over (with validation on everywhere, the
        /// peer that vouched for it).
        from: PeerId,
        /// Its gossip id.
        id: MessageId,
        /// Its payload.
        data: Vec<u8>,
    },
    /// A peer connected (it is on the allow list).
    Connected(PeerId),
    /// A peer's last connection closed.
    Disconnected(PeerId),
    /// A peer asks for blocks; answer with [`Network::respond`] and this id.
    SyncRequest {
        /// The asking peer.
        from: PeerId,
        /// Ticket for the answer.
        id: u64,
        /// The request.
        data: Vec<u8>,
    },
    /// The answer to a [`Network::request`].
    SyncResponse {
        /// The answering peer.
        from: PeerId,
        /// The answer.
        data: Vec<u8>,
    },
    /// A request to this peer failed (timeout, refused, closed).
    SyncFailed(PeerId),
}

impl NetworkEvent {
    /// The event in the driver's terms; `None` for what only the network
    /// cares about (a listening address).
    pub fn into_peer_event(self) -> Option<filiera_wire::PeerEvent<PeerId>> {
        use filiera_wire::PeerEvent;
        Some(match self {
            NetworkEvent::Listening(_) => return None,
            NetworkEvent::Message {
                topic,
                from,
                id,
                data,
            } => PeerEvent::Message {
                topic,
                from,
                id,
                data,
            },
            NetworkEvent::Connected(p) => PeerEvent::Connected(p),
            NetworkEvent::Disconnected(p) => PeerEvent::Disconnected(p),
            NetworkEvent::SyncRequest { from, id, data } => {
                PeerEvent::SyncRequest { from, id, data }
            }
            NetworkEvent::SyncResponse { from, data } => PeerEvent::SyncResponse { from, data },
            NetworkEvent::SyncFailed(p) => PeerEvent::SyncFailed(p),
        })
    }
}

/// Why the network could not start or act.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The node key or an allowed key is not a valid ed25519 key.
    #[error("bad key: {0}")]
    Key(String),
    /// libp2p refused the configuration.
    #[error("network setup: {0}")]
    Setup(String),
    /// The network task has stopped.
    #[error("the network task has stopped")]
    Stopped,
    /// A message exceeds [`GOSSIP_MESSAGE_BYTES_MAX`].
    #[error("message of {0} bytes exceeds {GOSSIP_MESSAGE_BYTES_MAX}")]
    TooLarge(usize),
}

/// The peer id of a node key.
pub fn peer_id_of(key: &PublicKey) -> Result<PeerId, NetworkError> {
    let pk = identity::ed25519::PublicKey::try_from_bytes(&key.0)
        .map_err(|e| NetworkError::Key(e.to_string()))?;
    Ok(PeerId::from_public_key(&identity::PublicKey::from(pk)))
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    // First the limits, which judge a connection as soon as it is accepted
    // (before the handshake); then the allow list, once the handshake has
    // revealed the peer's key: both deny before the other behaviours see it.
    per_ip: crate::limits::PerIp,
    limits: libp2p::connection_limits::Behaviour,
    allowed: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    gossipsub: gossipsub::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    sync: request_response::Behaviour<SyncCodec>,
}

enum Command {
    Publish(Topic, Vec<u8>),
    Dial(Multiaddr),
    Request(PeerId, Vec<u8>),
    Respond(u64, Vec<u8>),
    Disconnect(PeerId),
    SetAllowed(Vec<PeerId>),
    Validate(MessageId, PeerId, Verdict),
}

/// How long a peer has to answer a sync request.
const SYNC_REQUEST_TIMEOUT_MS: u64 = 10_000;
/// Sync requests waiting for this node's answer, at most.
const SYNC_PENDING_ANSWERS_MAX: usize = 64;

/// A handle on the running network.
#[derive(Clone)]
pub struct Network {
    commands: mpsc::Sender<Command>,
    /// This node's peer id.
    pub peer_id: PeerId,
}

impl Network {
    /// Starts the swarm on the current tokio runtime; events arrive on the receiver.
    pub fn start(
        config: NetworkConfig,
    ) -> Result<(Network, mpsc::Receiver<NetworkEvent>), NetworkError> {
        let mut seed = config.node_key_seed.clone();
        let keypair = identity::Keypair::ed25519_from_bytes(&mut *seed)
            .map_err(|e| NetworkError::Key(e.to_string()))?;
        let peer_id = keypair.public().to_peer_id();
        let setup = |e: &dyn std::fmt::Display| NetworkError::Setup(e.to_string());
        // No gossipsub signatures (ADR 0008): every payload carries its own
        // (transactions their senders', consensus messages their validators',
        // a block the hash its signed proposal names), and the peer that hands
        // a message over is authenticated by noise and the allow list. A
        // gossipsub signature would cost a signing per publish and, as it is
        // checked while decoding and before duplicates are recognised, one
        // verification per copy received (a 2.5 MB block hashed whole each
        // time), for nothing the node relies on. Permissive, not None: None
        // would also drop the author and sequence number that message ids
        // (and so duplicate detection) are made of.
        let mut gossip_builder = gossipsub::ConfigBuilder::default();
        gossip_builder
            .validation_mode(ValidationMode::Permissive)
            .max_transmit_size(GOSSIP_MESSAGE_BYTES_MAX)
            .heartbeat_interval(Duration::from_millis(500));
        if config.validate_gossip {
            gossip_builder.validate_messages();
        }
        let gossip_config = gossip_builder.build().map_err(|e| setup(&e))?;
        let mut allowed = allow_block_list::Behaviour::<allow_block_list::AllowedPeers>::default();
        let mut allowed_now = std::collections::BTreeSet::new();
        for key in &config.allowed {
            let peer = peer_id_of(key)?;
            allowed.allow_peer(peer);
            allowed_now.insert(peer);
        }
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| setup(&e))?
            .with_behaviour(|key| {
                // The author field and a random sequence number (what message
                // ids are made of) are set, unsigned.
                let mut gossipsub = gossipsub::Behaviour::new(
                    MessageAuthenticity::Author(key.public().to_peer_id()),
                    gossip_config,
                )?;
                let (params, thresholds) = crate::scoring::params();
                gossipsub.with_peer_score(params, thresholds)?;
                let identify = identify::Behaviour::new(identify::Config::new(
                    "/filiera/1".into(),
                    key.public(),
                ));
                Ok(Behaviour {
                    per_ip: crate::limits::PerIp::new(config.connection_limits.incoming_per_ip_max),
                    limits: libp2p::connection_limits::Behaviour::new(
                        config.connection_limits.totals(),
                    ),
                    allowed,
                    gossipsub,
                    identify,
                    ping: ping::Behaviour::default(),
                    sync: request_response::Behaviour::with_codec(
                        SyncCodec,
                        [(SYNC_PROTOCOL, ProtocolSupport::Full)],
                        request_response::Config::default()
                            .with_request_timeout(Duration::from_millis(SYNC_REQUEST_TIMEOUT_MS)),
                    ),
                })
            })
            .map_err(|e| setup(&e))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
            .build();
        for topic in Topic::all() {
            swarm
                .behaviour_mut()
                .gossipsub
                .subscribe(&IdentTopic::new(topic.name()))
                .map_err(|e| setup(&e))?;
        }
        swarm
            .listen_on(config.listen.clone())
            .map_err(|e| NetworkError::Setup(format!("listening on {}: {e:?}", config.listen)))?;
        for addr in &config.bootstrap {
            // A bootstrap peer that is down now is retried by the node later.
            let _ = swarm.dial(addr.clone());
        }
        let (command_tx, mut command_rx) = mpsc::channel(COMMAND_QUEUE_MAX);
        let (event_tx, event_rx) = mpsc::channel(EVENT_QUEUE_MAX);
        tokio::spawn(async move {
            // Answers owed, by ticket; the channel cannot leave the swarm task.
            // A ticket the node never answers (its queue was full) expires with
            // the asker's timeout, so the table cannot fill up for good.
            let mut answers: BTreeMap<u64, (std::time::Instant, ResponseChannel<Vec<u8>>)> =
                BTreeMap::new();
            let mut next_ticket: u64 = 0;
            let mut asked: BTreeMap<OutboundRequestId, PeerId> = BTreeMap::new();
            loop {
                tokio::select! {
                    command = command_rx.recv() => match command {
                        None => break,
                        Some(Command::Publish(topic, data)) => {
                            // No peers subscribed yet is not an error for the sender.
                            let _ = swarm.behaviour_mut().gossipsub.publish(IdentTopic::new(topic.name()), data);
                        }
                        Some(Command::Dial(addr)) => {
                            let _ = swarm.dial(addr);
                        }
                        Some(Command::Request(peer, data)) => {
                            let id = swarm.behaviour_mut().sync.send_request(&peer, data);
                            asked.insert(id, peer);
                        }
                        Some(Command::Respond(ticket, data)) => {
                            if let Some((_, channel)) = answers.remove(&ticket) {
                                // The asker may have gone; nothing to do then.
                                let _ = swarm.behaviour_mut().sync.send_response(channel, data);
                            }
                        }
                        Some(Command::Validate(id, peer, verdict)) => {
                            let acceptance = match verdict {
                                Verdict::Accept => MessageAcceptance::Accept,
                                Verdict::Ignore => MessageAcceptance::Ignore,
                                Verdict::Reject => MessageAcceptance::Reject,
                            };
                            // `false`: the message left the cache meanwhile; nothing to do.
                            let _ = swarm.behaviour_mut().gossipsub.report_message_validation_result(&gossipsub::MessageId(id.0), &peer, acceptance);
                        }
                        Some(Command::Disconnect(peer)) => {
                            let _ = swarm.disconnect_peer_id(peer);
                        }
                        Some(Command::SetAllowed(peers)) => {
                            let next: std::collections::BTreeSet<PeerId> = peers.into_iter().collect();
                            for gone in allowed_now.difference(&next) {
                                // Also closes its connections.
                                swarm.behaviour_mut().allowed.disallow_peer(*gone);
                            }
                            for new in next.difference(&allowed_now) {
                                swarm.behaviour_mut().allowed.allow_peer(*new);
                            }
                            allowed_now = next;
                        }
                    },
                    event = swarm.select_next_some() => {
                        let out = match event {
                            SwarmEvent::NewListenAddr { address, .. } => Some(NetworkEvent::Listening(address)),
                            SwarmEvent::ConnectionEstablished { peer_id, num_established, .. } if num_established.get() == 1 => {
                                Some(NetworkEvent::Connected(peer_id))
                            }
                            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => Some(NetworkEvent::Disconnected(peer_id)),
                            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message { propagation_source, message_id, message })) => {
                                match topic_of(&message.topic) {
                                    Some(topic) => Some(NetworkEvent::Message { topic, from: propagation_source, id: MessageId(message_id.0), data: message.data }),
                                    None => {
                                        // Only a peer that ignores the protocol sends on a topic nobody here subscribed to.
                                        let _ = swarm.behaviour_mut().gossipsub.report_message_validation_result(&message_id, &propagation_source, MessageAcceptance::Reject);
                                        None
                                    }
                                }
                            }
                            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => match event {
                                request_response::Event::Message { peer, message: request_response::Message::Request { request, channel, .. }, .. } => {
                                    let expiry = Duration::from_millis(SYNC_REQUEST_TIMEOUT_MS);
                                    answers.retain(|_, (at, _)| at.elapsed() < expiry);
                                    if answers.len() >= SYNC_PENDING_ANSWERS_MAX {
                                        // Dropping the channel tells the asker we are busy.
                                        None
                                    } else {
                                        let id = next_ticket;
                                        next_ticket += 1;
                                        answers.insert(id, (std::time::Instant::now(), channel));
                                        Some(NetworkEvent::SyncRequest { from: peer, id, data: request })
                                    }
                                }
                                request_response::Event::Message { peer, message: request_response::Message::Response { request_id, response }, .. } => {
                                    asked.remove(&request_id);
                                    Some(NetworkEvent::SyncResponse { from: peer, data: response })
                                }
                                request_response::Event::OutboundFailure { peer, request_id, .. } => {
                                    asked.remove(&request_id);
                                    Some(NetworkEvent::SyncFailed(peer))
                                }
                                _ => None,
                            },
                            _ => None,
                        };
                        if let Some(out) = out
                            && event_tx.send(out).await.is_err()
                        {
                            break;
                        }
                    }
                }
            }
        });
        Ok((
            Network {
                commands: command_tx,
                peer_id,
            },
            event_rx,
        ))
    }

    /// Gossips `data` on `topic`.
    pub async fn publish(&self, topic: Topic, data: Vec<u8>) -> Result<(), NetworkError> {
        if data.len() > GOSSIP_MESSAGE_BYTES_MAX {
            return Err(NetworkError::TooLarge(data.len()));
        }
        self.commands
            .send(Command::Publish(topic, data))
            .await
            .map_err(|_| NetworkError::Stopped)
    }

    /// Asks `peer` for blocks; the answer comes as [`NetworkEvent::SyncResponse`].
    pub async fn request(&self, peer: PeerId, data: Vec<u8>) -> Result<(), NetworkError> {
        if data.len() > SYNC_REQUEST_BYTES_MAX {
            return Err(NetworkError::TooLarge(data.len()));
        }
        self.send(Command::Request(peer, data)).await
    }

    /// Answers the sync request with ticket `id`.
    pub async fn respond(&self, id: u64, data: Vec<u8>) -> Result<(), NetworkError> {
        if data.len() > SYNC_RESPONSE_BYTES_MAX {
            return Err(NetworkError::TooLarge(data.len()));
        }
        self.send(Command::Respond(id, data)).await
    }

    /// Replaces the allow list (validator-set changes); peers no longer on it
    /// are disconnected.
    pub async fn set_allowed(&self, keys: &[PublicKey]) -> Result<(), NetworkError> {
        let peers = keys.iter().map(peer_id_of).collect::<Result<Vec<_>, _>>()?;
        self.send(Command::SetAllowed(peers)).await
    }

    /// Answers a gossip message ([`NetworkEvent::Message`]) with the node's
    /// verdict. Never waits: with the command queue full the verdict is
    /// dropped and the message, unvalidated, is not forwarded.
    pub fn validate(&self, id: MessageId, from: PeerId, verdict: Verdict) {
        let _ = self.commands.try_send(Command::Validate(id, from, verdict));
    }

    /// Closes every connection to a peer that sent invalid data.
    pub async fn disconnect(&self, peer: PeerId) -> Result<(), NetworkError> {
        self.send(Command::Disconnect(peer)).await
    }

    async fn send(&self, command: Command) -> Result<(), NetworkError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| NetworkError::Stopped)
    }

    /// Dials a peer.
    pub async fn dial(&self, addr: Multiaddr) -> Result<(), NetworkError> {
        self.commands
            .send(Command::Dial(addr))
            .await
            .map_err(|_| NetworkError::Stopped)
    }
}
