#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The router's edges with a real store: limits, CORS, errors, escaping.

mod edges;
mod jobs;
