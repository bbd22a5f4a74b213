//! Block Merkle trees: every leaf provable, nothing else provable.

use filiera_types::merkle;
use filiera_types::{Domain, Hash};

fn leaves(n: usize) -> Vec<Hash> {
    (0..n)
        .map(|i| Hash::of(Domain::TxLeaf, &(i as u64).to_le_bytes()))
        .collect()
}

#[test]
fn every_leaf_of_every_size_up_to_40_proves_and_nothing_else_does() {
    for n in 1..=40 {
        let l = leaves(n);
        let root = merkle::root(&l);
        for i in 0..n {
            let path = merkle::proof(&l, i).unwrap();
            assert!(
                merkle::verify(&l[i], i as u64, n as u64, &path, &root),
                "n={n} i={i}"
            );
            let other = (i + 1) % n;
            if other != i {
                assert!(
                    !merkle::verify(&l[other], i as u64, n as u64, &path, &root),
                    "wrong leaf n={n} i={i}"
                );
                assert!(
                    !merkle::verify(&l[i], other as u64, n as u64, &path, &root),
                    "wrong index n={n} i={i}"
                );
            }
            // (The tree size is not bound by the root, as in RFC 9162: a verifier takes
            // it from the block. A size that cannot have this path's shape still fails.)
            assert!(
                !merkle::verify(&l[i], i as u64, 2 * n as u64 + 2, &path, &root) || n == 1,
                "size n={n} i={i}"
            );
            assert!(
                !merkle::verify(&l[i], i as u64, n as u64, &path, &Hash([7; 32])),
                "wrong root"
            );
            assert!(
                !merkle::verify(&l[i], n as u64, n as u64, &path, &root),
                "index out of range"
            );
        }
        assert!(merkle::proof(&l, n).is_none());
    }
}

#[test]
fn duplicating_the_last_leaf_changes_the_root() {
    let mut l = leaves(5);
    let root = merkle::root(&l);
    l.push(l[4]);
    assert_ne!(merkle::root(&l), root);
    assert_eq!(merkle::root(&[]), Hash::ZERO);
}
