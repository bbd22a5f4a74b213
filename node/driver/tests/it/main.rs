#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Integration tests of filiera-driver: the seeded simulation runs the real
//! `Driver` with the real chain (RocksDB, wasmtime, signatures) on a
//! simulated network, clock and WAL disk.

mod parts;
mod sim;
mod simulation;
