//! Filiera's node loop without I/O: consensus, the chain, the mempool and
//! the WAL, driven one event at a time.
//!
//! **Purpose.** The [`Driver`] takes [`Event`]s (gossip, sync, timers,
//! clients' transactions) and answers with [`Effect`]s (gossip to send,
//! timers to set, verdicts on gossip) for whoever runs it: the node's
//! runner on libp2p sockets and a wall clock (`filiera-service`), or the
//! seeded simulation on a simulated network and clock (`tests/it/sim`). What
//! it needs from the chain and the WAL are traits ([`Ledger`],
//! [`ConsensusLog`]); peers are any ordered identity ([`Peer`]).
//!
//! **Invariants.** One event at a time, no clock read (time comes with each
//! event), no randomness, ordered maps only: the same events give the same
//! effects. Consensus outputs are carried out in the order the core produced
//! them through one queue (`driver::commit`), so a WAL append is durable
//! before the vote it protects leaves; a block is executed only once a
//! proposal signed by its round's proposer names it, or a commit
//! certificate decides it ([`proposals`]).
//!
//! **Threats.** Every peer may be faulty: gossip is judged before it is
//! forwarded (accept, ignore, reject) and only what the sender itself did is
//! held against it; unnamed blocks sit in bounded room of the peer that sent
//! them; sync heights are believed only from signed votes and proposals;
//! queues and tables are bounded by named limits.

pub mod driver;
pub mod evidence;
pub mod ledger;
pub mod mempool;
pub mod metrics;
pub mod proposals;

pub use driver::{Driver, DriverParts, Effect, Event, Fatal, Pacing, Reply};
pub use ledger::{
    Broken, ChainParams, ConsensusLog, Ledger, LedgerError, Recovered, SyncAnswerError,
};
pub use mempool::{AdmitError, Mempool, MempoolLimits, Verified};
pub use metrics::Metrics;

/// A peer's identity: a libp2p peer id on the network, a number in a simulation.
pub trait Peer: Copy + Ord + std::fmt::Debug + std::fmt::Display + Send + 'static {}

impl<T: Copy + Ord + std::fmt::Debug + std::fmt::Display + Send + 'static> Peer for T {}
