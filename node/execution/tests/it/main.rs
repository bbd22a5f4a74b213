#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Integration tests of filiera-execution: validation, the runtime, and the
//! committed contracts executed block by block.

mod chain;
mod determinism;
mod devices;
mod epcis;
mod evidence;
mod genesis;
mod lifecycle;
mod limits;
mod permissions;
mod rules;
mod runtime;
mod signatures;
mod upgrades;
mod validate;
mod validators;
