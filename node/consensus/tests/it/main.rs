#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Integration tests of filiera-consensus: seeded simulations of whole
//! networks running the real consensus core in one process.

mod app;
mod sim;
mod simulation;
mod wal;
