#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Integration tests of filiera-wal on a real file system.

mod crash;
mod format;
