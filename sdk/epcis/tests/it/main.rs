#![allow(clippy::unwrap_used, clippy::expect_used)]
//! filiera-epcis: hashes against GS1's reference implementation, validation
//! errors by position, and the lot actions events become.

mod hashes;
mod plan;
mod validation;

use std::path::PathBuf;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}
