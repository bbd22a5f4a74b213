//! Filiera's permissioned network on libp2p.
//!
//! **Purpose.** Validators and registered observer nodes exchange consensus
//! messages and transactions over TCP with noise (authenticated encryption,
//! peer id = ed25519 node key) and yamux, by gossipsub topics; a node that
//! fell behind asks one peer for decided blocks by request-response
//! (`/filiera/sync/1`, length-prefixed frames capped before allocation);
//! identify and ping keep peers known and connections alive.
//!
//! **Invariants.** Only peers whose node keys are on the allow list (the
//! validator set and registered observers) may hold a connection: anyone else
//! is refused as soon as the noise handshake reveals its key, inbound or
//! outbound, before any of its messages is read. Gossip messages are capped in
//! size ([`GOSSIP_MESSAGE_BYTES_MAX`]) and carry no gossipsub signature: what
//! they hold is signed by its own author (a transaction's sender, a vote's
//! validator), so the node never trusts a message for who relayed it (ADR 0008).
//!
//! Gossip is forwarded only once the node has judged it
//! ([`NetworkConfig::validate_gossip`], [`Verdict`]): a relay passes on what
//! it checked, never what it was merely handed, so the peer that hands over
//! an invalid message is the one that made it (or a faulty relay), and peer
//! scoring counts rejected messages against that peer alone.
//!
//! **Threats.** Unknown peers, oversized or malformed gossip, and floods: the
//! connection limits (in total, per peer and per IP address, before the
//! handshake: [`ConnectionLimits`]), the allow list, the size cap and
//! gossipsub's peer scoring are the first line; what a message means is
//! checked by its consumer (consensus verifies every signature against the
//! validator set).

mod limits;
mod network;
mod scoring;
mod sync_codec;

/// The frames peers exchange (`filiera-wire`), under their old path.
pub use filiera_wire::frames as wire;
pub use filiera_wire::{MessageId, PeerEvent, Topic, Verdict};
pub use limits::{ConnectionLimits, TooManyFromIp};
pub use network::{Network, NetworkConfig, NetworkError, NetworkEvent, peer_id_of};

/// Largest gossip message, in bytes (a block proposal of `block_bytes_max` fits).
pub const GOSSIP_MESSAGE_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Capacity of the channel of events to the node, in events.
pub const EVENT_QUEUE_MAX: usize = 4_096;
/// Capacity of the channel of commands to the network task.
pub const COMMAND_QUEUE_MAX: usize = 4_096;
pub use filiera_wire::{SYNC_REQUEST_BYTES_MAX, SYNC_RESPONSE_BYTES_MAX};
