#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Integration tests of filiera-consensus: the WAL record codec and replay.
//! Whole networks are simulated one layer up, where the node's real driver
//! runs (`filiera-driver`'s `tests/it/sim.rs`).

mod wal;
