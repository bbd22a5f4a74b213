#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Tests of the service's pure parts: mempool admission and fairness, wire decoding.

mod mempool;
mod wire;
