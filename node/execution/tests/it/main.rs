#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Integration tests of `filiera-execution`.

mod validate;
