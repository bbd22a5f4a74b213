//! Commit certificates: quorum, membership, domain and canonical form.

use crate::fixtures::{CHAIN, certificate, key, validator_keys, validator_set, vote};
use filiera_types::vote::CertificateError;
use filiera_types::{CommitCertificate, Hash, encoding};

#[test]
fn three_of_four_is_a_quorum_two_is_not() {
    let keys = validator_keys(4);
    let set = validator_set(&keys);
    let block = Hash([9; 32]);
    assert_eq!(
        certificate(5, 0, block, &keys[..3]).verify(CHAIN, &set),
        Ok(3)
    );
    assert_eq!(certificate(5, 0, block, &keys).verify(CHAIN, &set), Ok(4));
    assert_eq!(
        certificate(5, 0, block, &keys[..2]).verify(CHAIN, &set),
        Err(CertificateError::NoQuorum {
            signed: 2,
            total: 4
        })
    );
}

#[test]
fn signer_outside_the_set_is_refused() {
    let keys = validator_keys(4);
    let set = validator_set(&keys[..3]);
    let cert = certificate(5, 0, Hash([9; 32]), &keys);
    assert!(matches!(
        cert.verify(CHAIN, &set),
        Err(CertificateError::UnknownValidator(_))
    ));
}

#[test]
fn certificate_does_not_verify_for_another_chain_height_round_or_block() {
    let keys = validator_keys(4);
    let set = validator_set(&keys);
    let cert = certificate(5, 1, Hash([9; 32]), &keys);
    assert!(matches!(
        cert.verify("filiera-other-1", &set),
        Err(CertificateError::Signature(..))
    ));
    for tampered in [
        CommitCertificate::new(6, 1, cert.block_hash, cert.signatures().to_vec()),
        CommitCertificate::new(5, 2, cert.block_hash, cert.signatures().to_vec()),
        CommitCertificate::new(5, 1, Hash([8; 32]), cert.signatures().to_vec()),
    ] {
        assert!(matches!(
            tampered.verify(CHAIN, &set),
            Err(CertificateError::Signature(..))
        ));
    }
    assert!(matches!(
        cert.verify_for(CHAIN, &set, 5, &Hash([8; 32])),
        Err(CertificateError::Mismatch { .. })
    ));
    assert_eq!(cert.verify_for(CHAIN, &set, 5, &Hash([9; 32])), Ok(4));
}

#[test]
fn duplicated_signer_counts_once() {
    let keys = validator_keys(4);
    let set = validator_set(&keys);
    let block = Hash([9; 32]);
    let twice: Vec<_> = [&keys[0], &keys[0], &keys[1], &keys[1]]
        .iter()
        .map(|k| (*k).clone())
        .collect();
    let cert = certificate(5, 0, block, &twice);
    assert_eq!(cert.signatures().len(), 2);
    assert!(matches!(
        cert.verify(CHAIN, &set),
        Err(CertificateError::NoQuorum { signed: 2, .. })
    ));
}

#[test]
fn unsorted_or_duplicate_signatures_do_not_decode() {
    let keys = validator_keys(3);
    let cert = certificate(5, 0, Hash([9; 32]), &keys);
    let good = encoding::encode(&cert);
    assert_eq!(CommitCertificate::decode(&good).unwrap(), cert);
    // Swap the first two signature entries in the raw bytes: 8+4+32 header, then u32 len, then 84-byte entries.
    let start = 8 + 4 + 32 + 4;
    let entry = 20 + 64;
    let mut swapped = good.clone();
    swapped[start..start + entry].copy_from_slice(&good[start + entry..start + 2 * entry]);
    swapped[start + entry..start + 2 * entry].copy_from_slice(&good[start..start + entry]);
    assert!(CommitCertificate::decode(&swapped).is_err());
    let mut dup = good.clone();
    dup[start + entry..start + 2 * entry].copy_from_slice(&good[start..start + entry]);
    assert!(CommitCertificate::decode(&dup).is_err());
}

#[test]
fn vote_verifies_against_its_validator_only() {
    let keys = validator_keys(4);
    let set = validator_set(&keys);
    let v = vote(3, 0, None, &keys[2]);
    assert_eq!(v.verify(CHAIN, &set), Ok(()));
    let mut forged = v.clone();
    forged.vote.validator = keys[1].public_key().address();
    assert!(matches!(
        forged.verify(CHAIN, &set),
        Err(CertificateError::Signature(..))
    ));
    let outsider = vote(3, 0, None, &key(99));
    assert!(matches!(
        outsider.verify(CHAIN, &set),
        Err(CertificateError::UnknownValidator(_))
    ));
}

#[test]
fn two_certificates_of_one_round_for_different_blocks_prove_each_common_signer_equivocated() {
    use filiera_types::evidence::{Step, from_certificates};
    let keys = validator_keys(4);
    let set = validator_set(&keys);
    // Two sides of a split: validators 0, 2, 3 certify one block, 1, 2, 3 another.
    let pick = |which: &[usize]| which.iter().map(|&i| keys[i].clone()).collect::<Vec<_>>();
    let a = certificate(5, 0, Hash([1; 32]), &pick(&[0, 2, 3]));
    let b = certificate(5, 0, Hash([2; 32]), &pick(&[1, 2, 3]));
    let pairs = from_certificates(&a, &b);
    let mut accused: Vec<_> = pairs
        .iter()
        .map(|p| {
            let o = p.verify(CHAIN, &set).unwrap();
            assert_eq!((o.height, o.round, o.step), (5, 0, Step::Precommit));
            o.validator
        })
        .collect();
    accused.sort();
    let mut culprits = vec![
        keys[2].public_key().address(),
        keys[3].public_key().address(),
    ];
    culprits.sort();
    assert_eq!(accused, culprits);
    // The same pairs whichever certificate comes first.
    assert_eq!(from_certificates(&b, &a), pairs);
    // Different rounds, the same block, or another height: nothing provable.
    let later = certificate(5, 1, Hash([2; 32]), &keys[1..]);
    assert!(from_certificates(&a, &later).is_empty());
    assert!(from_certificates(&a, &a.clone()).is_empty());
    let other_height = certificate(6, 0, Hash([2; 32]), &keys[1..]);
    assert!(from_certificates(&a, &other_height).is_empty());
}
