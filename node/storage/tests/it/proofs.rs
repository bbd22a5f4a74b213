//! State proofs: present and absent keys prove; wrong values, keys or roots never do.
//! The root depends on the state, not on how writes were ordered or batched.

use crate::open;
use filiera_storage::StateChanges;
use filiera_storage::testkit::ChainBuilder;
use filiera_types::Hash;
use proptest::prelude::*;

fn key(i: u8) -> Vec<u8> {
    format!("lots/{i:03}").into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn proofs_verify_exactly_the_stored_state(
        writes in proptest::collection::vec((0u8..40, proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40))), 1..60),
        probe in 0u8..60,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let chain = ChainBuilder::new();
        chain.init(&store).unwrap();
        let mut changes = StateChanges::new();
        for (k, v) in &writes {
            changes.insert(key(*k), v.clone());
        }
        let root = chain.commit(&store, changes.clone(), vec![]).unwrap().header.state_root;

        let k = key(probe);
        let proof = store.prove(&k, 1).unwrap();
        let expected = changes.get(&k).cloned().flatten();
        prop_assert_eq!(&proof.value, &expected);
        prop_assert!(proof.verify(&root).is_ok());
        // Wrong root.
        prop_assert!(proof.verify(&Hash([7; 32])).is_err());
        // Wrong value: claim a different value, or claim absence of a present key.
        let mut forged = proof.clone();
        forged.value = Some(match &expected { Some(v) => { let mut v = v.clone(); v.push(1); v } None => vec![1] });
        prop_assert!(forged.verify(&root).is_err());
        if expected.is_some() {
            let mut absent = proof.clone();
            absent.value = None;
            prop_assert!(absent.verify(&root).is_err());
        }
        // Wrong key: the same proof does not speak for another key's value.
        let mut other = proof.clone();
        other.key = key(probe.wrapping_add(100));
        if other.value.is_some() {
            prop_assert!(other.verify(&root).is_err());
        }
        // The proof survives its encoding.
        let decoded = filiera_types::state::StateProof::decode(&proof.encode()).unwrap();
        prop_assert!(decoded.verify(&root).is_ok());
    }

    #[test]
    fn root_does_not_depend_on_order_or_batching(
        entries in proptest::collection::btree_map(0u8..50, proptest::collection::vec(any::<u8>(), 1..20), 1..40),
        split in 0usize..40,
    ) {
        // One block with everything, versus the same final state reached in two
        // blocks with some keys first written to other values then overwritten.
        let one = tempfile::tempdir().unwrap();
        let two = tempfile::tempdir().unwrap();
        let (a, b) = (open(one.path()), open(two.path()));
        let chain = ChainBuilder::new();
        chain.init(&a).unwrap();
        chain.init(&b).unwrap();

        let all: StateChanges = entries.iter().map(|(k, v)| (key(*k), Some(v.clone()))).collect();
        chain.commit(&a, StateChanges::new(), vec![]).unwrap();
        let root_a = chain.commit(&a, all.clone(), vec![]).unwrap().header.state_root;

        let items: Vec<_> = all.into_iter().collect();
        let cut = split.min(items.len());
        let mut first: StateChanges = items[..cut].iter().cloned().collect();
        for (k, _) in &items[cut..] {
            first.insert(k.clone(), Some(b"temporary".to_vec()));
        }
        first.insert(b"lots/zzz-deleted-later".to_vec(), Some(vec![1]));
        let mut second: StateChanges = items[cut..].iter().rev().cloned().collect();
        second.insert(b"lots/zzz-deleted-later".to_vec(), None);
        chain.commit(&b, first, vec![]).unwrap();
        let root_b = chain.commit(&b, second, vec![]).unwrap().header.state_root;
        prop_assert_eq!(root_a, root_b);
        prop_assert_eq!(a.verify_state_root().unwrap(), root_a);
        prop_assert_eq!(b.verify_state_root().unwrap(), root_b);
    }
}
