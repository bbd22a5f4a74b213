#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Integration tests of filiera-tx: what the app's requests build is what
//! the node's own types sign and verify.

mod app;
