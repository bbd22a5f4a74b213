#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Tests of the harness's own parts: the fault-injection proxy on real
//! sockets, the bulk loader on a real store.

mod bulk;
mod proxy;
