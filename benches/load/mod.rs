//! The network load generator behind `filiera-bench`: starts a localnet of
//! real `filiera` processes, pre-signs a realistic mix of transactions from
//! many senders, offers them at an open-loop rate over HTTP, and measures
//! what commits, how fast, and what it costs each node.
//!
//! Open loop: every transaction has a due time fixed before the run, and its
//! latency is counted from that due time, not from when a busy client got
//! around to sending it; a slow node therefore shows as latency, never as a
//! quietly lower offered rate (no coordinated omission). Signing happens
//! before the clock starts, so the generator measures the node, not itself.

pub mod drive;
pub mod mix;
pub mod net;
pub mod report;
