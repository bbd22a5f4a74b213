#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Integration tests of `filiera-types`: one binary, one module per concern.

mod certificate;
mod encoding;
mod fixtures;
mod genesis;
mod golden;
mod gs1;
mod merkle;
mod signatures;
mod state_hash;
