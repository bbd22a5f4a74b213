//! Protocol limits, in one place, each with its unit in its name.
//!
//! These are hard ceilings that decoders enforce before they allocate. The
//! genesis consensus parameters may choose lower values (never higher), and the
//! node checks those at its edges (HTTP, p2p, mempool).

/// Largest encoded signed transaction, in bytes.
pub const TX_BYTES_MAX: usize = 64 * 1024;
/// Furthest ahead of its height a transaction's expiry may ever be, in blocks.
pub const TX_EXPIRY_BLOCKS_MAX: u64 = 1_000_000;
/// Largest encoded block (header and transactions), in bytes.
pub const BLOCK_BYTES_MAX: usize = 8 * 1024 * 1024;
/// Most transactions one block may carry.
pub const BLOCK_TXS_MAX: usize = 20_000;
/// Longest chain id, in bytes (it is signed with a one-byte length prefix).
pub const CHAIN_ID_BYTES_MAX: usize = 64;
/// Longest contract method name, in bytes.
pub const METHOD_NAME_BYTES_MAX: usize = 64;
/// Longest contract id, in bytes.
pub const CONTRACT_ID_BYTES_MAX: usize = 32;
/// Most validators in one set.
pub const VALIDATORS_MAX: usize = 128;
/// Largest encoded vote, in bytes.
pub const VOTE_BYTES_MAX: usize = 512;
/// Largest encoded commit certificate, in bytes (one signature per validator at most).
pub const CERTIFICATE_BYTES_MAX: usize = 128 + VALIDATORS_MAX * 96;
/// Largest genesis document, in bytes (JSON as read from disk).
pub const GENESIS_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Most keys in the regional authority's multisignature.
pub const AUTHORITY_KEYS_MAX: usize = 32;
/// Longest organisation id, in bytes.
pub const ORG_ID_BYTES_MAX: usize = 64;
/// Longest human-readable name or description in genesis and registry records, in bytes.
pub const TEXT_BYTES_MAX: usize = 256;
