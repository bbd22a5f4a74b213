#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Tests of the service: mempool admission and fairness, wire decoding, and the
//! driver on real parts.

mod admin;
mod admission;
mod byzantine;
mod driver;
mod handle;
mod mempool;
mod wire;
