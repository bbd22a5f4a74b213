//! How tree nodes are stored: internal nodes in a compact form, leaves as `jmt`
//! encodes them.
//!
//! `jmt`'s own (borsh) form of an internal node spends a tag byte on each of
//! its 16 slots, eight bytes on each child's version and on each internal
//! child's leaf count, and sixteen more on counts that follow from the
//! children. A block of 10,000 writes rewrites some 12,000 internal nodes, so
//! these bytes go through the write-ahead log, the memtables, flushes and
//! compactions of every block. The compact form keeps only what cannot be
//! recomputed: which slots are taken (a 16-bit map), and for each child its
//! hash, its version and, for an internal child, its leaf count (LEB128).
//!
//! Decoding rebuilds `jmt`'s node through [`RootMirror`], whose layout a test
//! pins against real `jmt` nodes; the counts are recomputed from the children,
//! as `jmt` computes them. A stored node is decoded strictly: a truncated or
//! overlong varint, trailing bytes, or a child count of zero is corruption.

use super::layout::{ChildMirror, HASH_BYTES, NIBBLES, RootMirror, Slot, Slots, slots_of};
use borsh::{BorshDeserialize, BorshSerialize};
use jmt::storage::Node;

/// First byte of a compact internal node. `jmt`'s borsh tags are 0 (null),
/// 1 (internal) and 2 (leaf); tag 1 is never stored, so each node has one
/// stored form.
const COMPACT_INTERNAL_TAG: u8 = 3;
/// `jmt`'s borsh tag of an internal node, refused when read.
const BORSH_INTERNAL_TAG: u8 = 1;

/// A stored node, decoded without building `jmt`'s types.
// Decoded on the stack and consumed at once; boxing the children would cost
// an allocation per node read.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stored {
    Internal(Slots),
    Leaf {
        key_hash: [u8; HASH_BYTES],
        value_hash: [u8; HASH_BYTES],
    },
}

/// `jmt`'s borsh tag of a leaf, then its key hash and value hash.
pub(crate) const LEAF_TAG: u8 = 2;
/// Bytes of a stored leaf.
pub(crate) const LEAF_BYTES: usize = 1 + 2 * HASH_BYTES;

/// Appends `node`'s stored form to `out`.
pub(crate) fn encode_node(node: &Node, out: &mut Vec<u8>) -> std::io::Result<()> {
    let mirror = match RootMirror::of(node) {
        Ok(Some(mirror)) => mirror,
        Ok(None) => return node.serialize(out),
        Err(e) => return Err(std::io::Error::other(e.to_string())),
    };
    encode_internal(&slots_of(&mirror), out);
    Ok(())
}

/// Appends the compact form of an internal node with these children.
pub(crate) fn encode_internal(slots: &Slots, out: &mut Vec<u8>) {
    out.push(COMPACT_INTERNAL_TAG);
    let mut taken = 0u16;
    for (slot, child) in slots.iter().enumerate() {
        if child.is_some() {
            taken |= 1 << slot;
        }
    }
    out.extend_from_slice(&taken.to_le_bytes());
    for child in slots.iter().flatten() {
        out.extend_from_slice(&child.hash);
        put_varint(out, child.version);
        // 0 for a leaf; an internal child's leaf count plus one.
        put_varint(out, child.leaves.map_or(0, |count| count.saturating_add(1)));
    }
}

/// Appends the stored form of a leaf (`jmt`'s own).
pub(crate) fn encode_leaf(
    key_hash: &[u8; HASH_BYTES],
    value_hash: &[u8; HASH_BYTES],
    out: &mut Vec<u8>,
) {
    out.push(LEAF_TAG);
    out.extend_from_slice(key_hash);
    out.extend_from_slice(value_hash);
}

/// Reads a stored internal node or leaf; anything else (the null node, a
/// malformed node) is an error.
pub(crate) fn decode_stored(bytes: &[u8]) -> anyhow::Result<Stored> {
    match bytes.split_first() {
        Some((&COMPACT_INTERNAL_TAG, rest)) => Ok(Stored::Internal(decode_slots(rest)?)),
        Some((&LEAF_TAG, rest)) if bytes.len() == LEAF_BYTES => {
            let (mut key_hash, mut value_hash) = ([0u8; HASH_BYTES], [0u8; HASH_BYTES]);
            key_hash.copy_from_slice(&rest[..HASH_BYTES]);
            value_hash.copy_from_slice(&rest[HASH_BYTES..]);
            Ok(Stored::Leaf {
                key_hash,
                value_hash,
            })
        }
        Some((tag, _)) => anyhow::bail!("tree node with tag {tag} and {} bytes", bytes.len()),
        None => anyhow::bail!("empty tree node"),
    }
}

/// Reads a stored node.
pub(crate) fn decode_node(bytes: &[u8]) -> anyhow::Result<Node> {
    let rest = match bytes.split_first() {
        Some((&COMPACT_INTERNAL_TAG, rest)) => rest,
        Some((&BORSH_INTERNAL_TAG, _)) => anyhow::bail!("internal node in jmt's own form"),
        _ => return Ok(Node::try_from_slice(bytes)?),
    };
    let children = decode_slots(rest)?.map(|slot| slot.map(ChildMirror::from));
    RootMirror::from_children(children).into_node()
}

/// The children of a compact internal node (the bytes after its tag).
fn decode_slots(rest: &[u8]) -> anyhow::Result<Slots> {
    let (taken, mut rest) = match rest {
        [a, b, tail @ ..] => (u16::from_le_bytes([*a, *b]), tail),
        _ => anyhow::bail!("internal node: no child map"),
    };
    anyhow::ensure!(taken != 0, "internal node without children");
    let mut slots: Slots = [None; NIBBLES];
    for (index, slot) in slots.iter_mut().enumerate() {
        if taken & (1 << index) == 0 {
            continue;
        }
        anyhow::ensure!(
            rest.len() >= HASH_BYTES,
            "internal node: child hash cut short"
        );
        let (hash_bytes, tail) = rest.split_at(HASH_BYTES);
        let mut hash = [0u8; HASH_BYTES];
        hash.copy_from_slice(hash_bytes);
        let (version, tail) = take_varint(tail)?;
        let (kind, tail) = take_varint(tail)?;
        rest = tail;
        *slot = Some(Slot {
            hash,
            version,
            leaves: kind.checked_sub(1),
        });
    }
    anyhow::ensure!(
        rest.is_empty(),
        "internal node: {} bytes left over",
        rest.len()
    );
    Ok(slots)
}

/// LEB128: seven bits a byte, low bits first.
fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads a LEB128 number written by [`put_varint`]; refuses overlong and
/// overflowing encodings, so each number has exactly one stored form.
fn take_varint(bytes: &[u8]) -> anyhow::Result<(u64, &[u8])> {
    let mut n = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        let bits = u64::from(b & 0x7f);
        anyhow::ensure!(i < 9 || bits <= 1, "varint overflows 64 bits");
        n |= bits << (7 * i);
        if b & 0x80 == 0 {
            anyhow::ensure!(i == 0 || b != 0, "overlong varint");
            return Ok((n, &bytes[i + 1..]));
        }
    }
    anyhow::bail!("varint cut short")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::tree::mem::nodes_of_a_new_tree;
    use filiera_types::encoding;

    /// Every node of a real tree (leaves, internal nodes with leaf and with
    /// internal children, versions past one byte).
    fn real_nodes() -> Vec<Node> {
        nodes_of_a_new_tree(600, &[7; 5], 300)
    }

    fn encoded(node: &Node) -> Vec<u8> {
        let mut out = Vec::new();
        encode_node(node, &mut out).unwrap();
        out
    }

    #[test]
    fn nodes_round_trip_and_internal_ones_shrink() {
        let (mut internal, mut compact_bytes, mut borsh_bytes) = (0, 0, 0);
        for node in real_nodes() {
            let bytes = encoded(&node);
            assert_eq!(decode_node(&bytes).unwrap(), node);
            if matches!(node, Node::Internal(_)) {
                internal += 1;
                assert_eq!(bytes[0], COMPACT_INTERNAL_TAG);
                compact_bytes += bytes.len();
                borsh_bytes += encoding::encode(&node).len();
            } else {
                // Leaves keep jmt's form.
                assert_eq!(bytes, encoding::encode(&node));
            }
        }
        assert!(internal >= 17, "{internal} internal nodes");
        // 16 slot tags, 2 counts and 7 version bytes per child are gone.
        assert!(
            compact_bytes * 10 < borsh_bytes * 8,
            "{compact_bytes} vs {borsh_bytes}"
        );
    }

    #[test]
    fn a_stored_node_has_one_form() {
        let node = real_nodes()
            .into_iter()
            .find(|n| matches!(n, Node::Internal(_)))
            .unwrap();
        let good = encoded(&node);
        // jmt's own form of the same node is refused.
        assert!(decode_node(&encoding::encode(&node)).is_err());
        // Trailing bytes, a cut, an empty child map.
        let mut long = good.clone();
        long.push(0);
        assert!(decode_node(&long).is_err());
        assert!(decode_node(&good[..good.len() - 1]).is_err());
        assert!(decode_node(&[COMPACT_INTERNAL_TAG, 0, 0]).is_err());
        assert!(decode_node(&[COMPACT_INTERNAL_TAG, 1]).is_err());
    }

    #[test]
    fn varints_are_canonical() {
        for n in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, n);
            let (back, rest) = take_varint(&out).unwrap();
            assert_eq!((back, rest.len()), (n, 0));
        }
        // 0 written in two bytes; 2^64; a last byte that says "more".
        assert!(take_varint(&[0x80, 0x00]).is_err());
        let mut over = vec![0xff; 9];
        over.push(0x02);
        assert!(take_varint(&over).is_err());
        assert!(take_varint(&[0x80]).is_err());
    }
}
