//! The state tree (a Jellyfish Merkle tree, `jmt`'s hashing and node keys)
//! as this crate stores and updates it. Read it bottom-up; each module
//! imports only from the ones above it in this list:
//!
//! 1. [`mem`]: a whole tree in memory built by `jmt` alone, the reference the
//!    rest is checked against.
//! 2. [`layout`]: the bytes of a node key, a value key and an internal node's
//!    children (and the mirror of `jmt`'s internal node).
//! 3. [`pairs`]: key-value pairs back to back in one buffer.
//! 4. [`codec`]: how a node is stored (internal nodes in a compact form).
//! 5. [`walk`]: a block's inserts applied node by node, as `jmt` would.
//! 6. [`recent`]: the last committed blocks' nodes, kept in memory.
//! 7. [`db`]: the tree's view of RocksDB (recent nodes first).
//! 8. [`parallel`]: one block's update split over threads by first nibble.
//!
//! The store (`crate::store`) sits on top and is the only writer. A test
//! (`tests/it/layering.rs`) reads these files and fails on an import that
//! points down this list, and on any cycle among the crate's modules.

pub(crate) mod codec;
pub(crate) mod db;
pub(crate) mod layout;
pub(crate) mod mem;
pub(crate) mod pairs;
pub(crate) mod parallel;
pub(crate) mod recent;
pub(crate) mod walk;
