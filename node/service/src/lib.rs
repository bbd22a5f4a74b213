//! The running node: Filiera's layers wired into one service.
//!
//! **Purpose.** One thread (the driver, [`driver`]) owns consensus, the chain
//! (store + executor, [`chain`]), the mempool and the WAL, and handles one
//! event at a time; the async runtime carries the network (libp2p), the HTTP
//! API and timers' delivery. Blocks are built by the round's proposer from
//! the mempool, executed by every validator before it votes, and committed
//! with their certificate in one synced write; a node that falls behind
//! fetches decided blocks with their certificates by request-response
//! ([`wire`]) and verifies each against the validator set.
//!
//! **Invariants.** A WAL record is fsynced before any vote that depends on
//! it is published (effects are carried out in the core's order). The store
//! is written before the WAL is reset, so after `kill -9` a node either
//! replays the height it was in or starts the next one. Nothing a client was
//! told is admitted is lost silently: it is in the mempool, in a block, or
//! was refused with a reason.
//!
//! **Threats.** Peers (allow-listed, but possibly faulty) send malformed
//! bytes (decoded strictly within caps; the sender is disconnected), blocks
//! for any height and round (held unexamined in room of their own peer until
//! a proposal signed by the round's proposer names them, [`proposals`]; a
//! named invalid block is voted nil), forged votes and proposals (checked
//! before gossip forwards them: gossip relays only what this node accepted,
//! so a peer answers only for what it sent), forged certificates (verified),
//! floods (bounded queues that drop gossip and answer clients "busy").
//! Storage and WAL errors stop the node rather than let it run on
//! half-written state.

pub mod admin;
pub mod backup;
pub mod handle;
pub mod node;
pub mod runner;
pub mod sync_serve;
pub mod wal_log;

/// The chain on RocksDB and the executor (`filiera-chain`).
pub use filiera_chain as chain;
/// The node loop, without I/O (`filiera-driver`), and its parts.
pub use filiera_driver::{driver, evidence, mempool, metrics, proposals};
/// The peer frames (gossip envelope, block sync), in `filiera-wire`.
pub use filiera_wire::frames as wire;

/// The driver as this node runs it: the RocksDB chain, the file WAL, libp2p peers.
pub type NodeDriver = filiera_driver::Driver<chain::Chain, wal_log::FileWal, libp2p::PeerId>;
/// An event for [`NodeDriver`].
pub type Event = filiera_driver::Event<libp2p::PeerId>;
/// An effect of [`NodeDriver`].
pub type Effect = filiera_driver::Effect<libp2p::PeerId>;

pub use filiera_api::ApiLimits;
pub use filiera_p2p::ConnectionLimits;
pub use node::{NodeError, NodeSpec, run};
