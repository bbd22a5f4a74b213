//! The fault-injection harness (`filiera-faults`): a localnet of real
//! `filiera` processes, each in a network namespace of its own, every peer
//! link through a proxy of the harness. Under a closed-loop load it kills
//! (SIGKILL) and restarts nodes, pauses them (SIGSTOP/SIGCONT), cuts one node
//! or half the network off, delays and stalls every link, starts a node with
//! its wall clock off (libfaketime), and fills a node's disk. After each heal
//! it times how long every node takes to commit past the highest height seen
//! at the heal; at the end the checker compares every block on every node and
//! looks up every acknowledged transaction everywhere. Between the faults and
//! the checker, the hostile phase ([`hostile`]) throws forged, replayed and
//! malformed inputs at every node and counts the refusals; then the
//! Byzantine phase ([`byzantine`]) hands a validator's keys, then an
//! observer's, to `filiera-byzantine`, its CPU capped, and measures time per
//! height beside a calm window.
//!
//! Needs root (namespaces, a tmpfs mount). Seeded: the same seed gives the
//! same schedule of faults (timings on a real machine still vary).

pub mod byzantine;
pub mod check;
pub mod cluster;
pub mod edge;
pub mod hostile;
pub mod load;
pub mod netns;
pub mod proxy;
pub mod run;
