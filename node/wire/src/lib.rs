//! The peer protocol's vocabulary, apart from the network that carries it.
//!
//! **Purpose.** The gossip topics and envelope, the block-sync request and
//! answer ([`frames`]), what a node makes of a gossip message ([`Verdict`]) and
//! what the network tells the node ([`PeerEvent`]). The network
//! (`filiera-p2p`, on libp2p) and the driver (`filiera-driver`, no I/O) both
//! speak it, so the driver runs as well on a simulated network as on sockets,
//! and the frames can be fuzzed without linking either.
//!
//! **Invariants.** Frames are borsh, decoded strictly within named caps;
//! a peer is any copyable, ordered identity (a libp2p peer id on the real
//! network, a number in a simulation).
//!
//! **Threats.** Every frame comes from a peer that may be faulty: decoding
//! refuses oversized, truncated, trailing and non-canonical input before
//! allocating.

pub mod frames;

pub use frames::{
    GOSSIP_BYTES_MAX, Gossip, ProposedBlock, SYNC_BATCH_BLOCKS_MAX, SYNC_BATCH_BYTES_MAX,
    SyncRequest, SyncResponse, TX_GOSSIP_BATCH_MAX, TX_GOSSIP_DELAY_MS,
};

/// Largest block-sync request, in bytes.
pub const SYNC_REQUEST_BYTES_MAX: usize = 1024;
/// Largest block-sync answer, in bytes (a batch of blocks with certificates).
pub const SYNC_RESPONSE_BYTES_MAX: usize = 32 * 1024 * 1024;

/// The gossip topics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    /// Votes, proposals and certificates.
    Consensus,
    /// Proposed blocks.
    Blocks,
    /// Transactions for the mempool.
    Transactions,
}

impl Topic {
    /// The topic's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Consensus => "filiera/consensus/1",
            Topic::Blocks => "filiera/blocks/1",
            Topic::Transactions => "filiera/txs/1",
        }
    }

    /// Every topic.
    pub fn all() -> [Topic; 3] {
        [Topic::Consensus, Topic::Blocks, Topic::Transactions]
    }
}

/// What the node makes of a gossip message it was handed: forward it,
/// drop it quietly, or drop it and count it against the peer that sent it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Valid: forward it to the mesh.
    Accept,
    /// Not for now (stale, ahead, duplicate, no room): neither forwarded nor held against the sender.
    Ignore,
    /// Invalid by rules every node applies alike (malformed, bad signature,
    /// wrong topic): not forwarded, and the sender's gossip score drops.
    Reject,
}

/// A gossip message's id, as the network gave it (the node hands it back
/// with its [`Verdict`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(pub Vec<u8>);

impl MessageId {
    /// An id of these bytes.
    pub fn new(bytes: &[u8]) -> MessageId {
        MessageId(bytes.to_vec())
    }
}

/// What the network tells the node about its peers, `P` being a peer's identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerEvent<P> {
    /// A gossip message arrived; answer it with a [`Verdict`] and this id.
    Message {
        /// Its topic.
        topic: Topic,
        /// The peer that handed it over (with validation on everywhere, the
        /// peer that vouched for it).
        from: P,
        /// Its gossip id.
        id: MessageId,
        /// Its payload.
        data: Vec<u8>,
    },
    /// A peer connected (it is on the allow list).
    Connected(P),
    /// A peer's last connection closed.
    Disconnected(P),
    /// A peer asks for blocks; answer with this ticket.
    SyncRequest {
        /// The asking peer.
        from: P,
        /// Ticket for the answer.
        id: u64,
        /// The request.
        data: Vec<u8>,
    },
    /// The answer to this node's block request.
    SyncResponse {
        /// The answering peer.
        from: P,
        /// The answer.
        data: Vec<u8>,
    },
    /// A block request to this peer failed (timeout, disconnection).
    SyncFailed(P),
}
