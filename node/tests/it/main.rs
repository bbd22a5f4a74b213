#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Integration tests of the `filiera` binary, run as a real process.

mod api;
mod app;
mod byzantine;
mod cli;
mod layout;
mod network;
mod rules;
mod tls;
mod upgrade;
