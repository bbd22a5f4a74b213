#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Real libp2p sockets on loopback.

mod limits;
mod permissioned;
mod relay;
mod sync;
