//! Key files: the SDK's (`filiera_client::keys`), one format for the node,
//! the CLI and producers' software.

pub use filiera_client::keys::{generate, read, write};
