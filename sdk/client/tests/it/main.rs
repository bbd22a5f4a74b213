#![allow(clippy::unwrap_used, clippy::expect_used)]
//! filiera-client without a node: keys, typed calls, offline EPCIS signing.
//! (Against a real localnet, the node crate's test drives the SDK.)

mod offline;
mod retry;
mod sealed_keys;
