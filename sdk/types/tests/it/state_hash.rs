//! The state tree's one-shot hash against the incremental hasher jmt uses:
//! a difference would change every root the node computes.

use filiera_types::state::{StateHasher, key_hash, tree_hash};
use jmt::SimpleHasher;
use proptest::prelude::*;

fn incremental(parts: &[Vec<u8>]) -> [u8; 32] {
    let mut hasher = StateHasher::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize()
}

proptest! {
    /// Parts on both sides of the gathering limit (128 bytes in all), empty
    /// parts and inputs past one blake3 chunk (1,024 bytes) included.
    #[test]
    fn tree_hash_is_the_incremental_hash(
        parts in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..700), 0..5)
    ) {
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        prop_assert_eq!(tree_hash(&refs), incremental(&parts));
    }

    #[test]
    fn key_hash_is_jmts(key in prop::collection::vec(any::<u8>(), 0..600)) {
        prop_assert_eq!(key_hash(&key), jmt::KeyHash::with::<StateHasher>(&key));
    }
}

#[test]
fn a_tree_node_input_hashes_as_before() {
    // Exactly at the gathering limit, and one byte past it.
    for len in [80usize, 128, 129] {
        let part: Vec<u8> = (0..len).map(|i| i as u8).collect();
        assert_eq!(
            tree_hash(&[&part]),
            incremental(std::slice::from_ref(&part)),
            "{len} bytes"
        );
    }
    // Not the plain blake3 hash: the tree's own context keys it.
    assert_ne!(tree_hash(&[b"x"]), *blake3::hash(b"x").as_bytes());
}

proptest! {
    /// The entry encoded from borrowed parts is the derived borsh encoding of
    /// the struct, which leaves and snapshot chunks decode.
    #[test]
    fn entry_parts_encode_as_the_struct(
        key in prop::collection::vec(any::<u8>(), 0..100),
        value in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let entry = filiera_types::state::StateEntry { key: key.clone(), value: value.clone() };
        let derived = filiera_types::encoding::encode(&entry);
        prop_assert_eq!(filiera_types::state::StateEntry::encode_parts(&key, &value), derived.clone());
        prop_assert_eq!(filiera_types::state::StateEntry::decode(&derived).ok(), Some(entry));
    }
}
