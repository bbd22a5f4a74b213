//! Binary Merkle trees over the transactions and receipts of a block.
//!
//! The shape is RFC 9162's (Certificate Transparency v2): the left subtree holds
//! the largest power of two of the leaves, so there is one tree per leaf count
//! and no duplicated last leaf (the ambiguity that let Bitcoin's tree commit to
//! two different lists). Leaves and inner nodes hash in different domains.

use crate::hash::{Domain, Hash};

/// The root of the tree over `leaves` (already leaf-hashed); `Hash::ZERO` when empty.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Hash::ZERO,
        1 => leaves[0],
        n => {
            let split = split_point(n);
            node(&root(&leaves[..split]), &root(&leaves[split..]))
        }
    }
}

/// The audit path proving `leaves[index]` is in the tree, nearest sibling first.
/// `None` when `index` is out of range.
pub fn proof(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    let mut path = Vec::new();
    collect_path(leaves, index, &mut path);
    Some(path)
}

fn collect_path(leaves: &[Hash], index: usize, path: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let split = split_point(leaves.len());
    if index < split {
        collect_path(&leaves[..split], index, path);
        path.push(root(&leaves[split..]));
    } else {
        collect_path(&leaves[split..], index - split, path);
        path.push(root(&leaves[..split]));
    }
}

/// Checks that `leaf` sits at `index` of a tree of `size` leaves with `root`.
pub fn verify(leaf: &Hash, index: u64, size: u64, path: &[Hash], expected_root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut position, mut last) = (index, size - 1);
    let mut acc = *leaf;
    for sibling in path {
        if last == 0 {
            return false;
        }
        if position & 1 == 1 || position == last {
            acc = node(sibling, &acc);
            if position & 1 == 0 {
                // A right-edge node with no sibling at this level: climb until it has one.
                while position & 1 == 0 && position != 0 {
                    position >>= 1;
                    last >>= 1;
                }
            }
        } else {
            acc = node(&acc, sibling);
        }
        position >>= 1;
        last >>= 1;
    }
    last == 0 && acc == *expected_root
}

/// Hash of an inner node.
fn node(left: &Hash, right: &Hash) -> Hash {
    Hash::of_parts(Domain::MerkleNode, &[&left.0, &right.0])
}

/// The largest power of two strictly below `n` (n >= 2).
fn split_point(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}
