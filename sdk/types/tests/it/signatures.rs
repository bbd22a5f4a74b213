//! Signatures: domain separation by chain id and kind, and strict validity.

use crate::fixtures::{CHAIN, key, signed_tx};
use filiera_types::crypto::CryptoError;
use filiera_types::{PublicKey, SignKind, Signature};

/// The group order L of ed25519, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

#[test]
fn signature_verifies_only_for_its_chain_kind_and_payload() {
    let k = key(7);
    let sig = k.sign(CHAIN, SignKind::Transaction, b"payload").unwrap();
    let pk = k.public_key();
    assert_eq!(
        pk.verify(CHAIN, SignKind::Transaction, b"payload", &sig),
        Ok(())
    );
    assert_eq!(
        pk.verify("filiera-other-1", SignKind::Transaction, b"payload", &sig),
        Err(CryptoError::BadSignature)
    );
    assert_eq!(
        pk.verify(CHAIN, SignKind::Vote, b"payload", &sig),
        Err(CryptoError::BadSignature)
    );
    assert_eq!(
        pk.verify(CHAIN, SignKind::AuthorityApproval, b"payload", &sig),
        Err(CryptoError::BadSignature)
    );
    assert_eq!(
        pk.verify(CHAIN, SignKind::Transaction, b"payloaD", &sig),
        Err(CryptoError::BadSignature)
    );
    assert_eq!(
        key(8)
            .public_key()
            .verify(CHAIN, SignKind::Transaction, b"payload", &sig),
        Err(CryptoError::BadSignature)
    );
}

#[test]
fn chain_id_prefix_cannot_be_shifted_into_payload() {
    // "ab" + payload "c..." must not equal "abc" + payload "...": the chain id is length-prefixed.
    let k = key(7);
    let sig = k.sign("ab", SignKind::Transaction, b"cxyz").unwrap();
    assert!(
        k.public_key()
            .verify("abc", SignKind::Transaction, b"xyz", &sig)
            .is_err()
    );
}

#[test]
fn empty_or_oversized_chain_id_is_refused() {
    let k = key(7);
    assert_eq!(
        k.sign("", SignKind::Vote, b"x").unwrap_err(),
        CryptoError::BadChainId(0)
    );
    let long = "a".repeat(65);
    assert_eq!(
        k.sign(&long, SignKind::Vote, b"x").unwrap_err(),
        CryptoError::BadChainId(65)
    );
}

#[test]
fn transaction_signature_covers_every_field() {
    let stx = signed_tx(3);
    assert_eq!(stx.verify(), Ok(()));
    let mut other = stx.clone();
    other.tx.nonce = 4;
    assert!(other.verify().is_err());
    let mut other = stx.clone();
    other.tx.call.args.push(0);
    assert!(other.verify().is_err());
    let mut other = stx.clone();
    other.tx.chain_id = filiera_types::ChainId::new("filiera-test-2").unwrap();
    assert!(other.verify().is_err());
    let mut other = stx;
    other.tx.expiry_height += 1;
    assert!(other.verify().is_err());
}

#[test]
fn a_decoded_key_verifies_as_its_bytes_do_and_only_for_its_own_transactions() {
    let stx = signed_tx(3);
    let sender = stx.tx.sender.decode().unwrap();
    assert_eq!(sender.public_key(), stx.tx.sender);
    assert_eq!(stx.verify_with(&sender), Ok(()));
    let mut tampered = stx.clone();
    tampered.tx.nonce = 4;
    assert_eq!(tampered.verify_with(&sender), tampered.verify());
    assert!(tampered.verify().is_err());
    // Another key is refused even for a transaction that key did sign: the
    // transaction names its sender, and only that key may vouch for it.
    let mut by_other = crate::fixtures::tx(3);
    by_other.sender = key(2).public_key();
    let by_other = by_other.sign(&key(2)).unwrap();
    assert_eq!(by_other.verify(), Ok(()));
    assert_eq!(
        by_other.verify_with(&sender),
        Err(CryptoError::BadSignature)
    );
    let payload_sig = key(1).sign(CHAIN, SignKind::Vote, b"m").unwrap();
    assert_eq!(
        sender.verify(CHAIN, SignKind::Vote, b"m", &payload_sig),
        Ok(())
    );
    assert_eq!(
        sender.verify(CHAIN, SignKind::Proposal, b"m", &payload_sig),
        Err(CryptoError::BadSignature)
    );
}

#[test]
fn non_canonical_s_is_rejected() {
    let k = key(7);
    let sig = k.sign(CHAIN, SignKind::Vote, b"m").unwrap();
    // S + L is the same scalar mod L but a second encoding: strict verification refuses it.
    let mut bytes = sig.0;
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(bytes[32 + i]) + u16::from(L[i]) + carry;
        bytes[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    let malleated = Signature(bytes);
    assert_ne!(malleated, sig);
    assert_eq!(
        k.public_key()
            .verify(CHAIN, SignKind::Vote, b"m", &malleated),
        Err(CryptoError::BadSignature)
    );
}

#[test]
fn small_order_and_invalid_keys_are_rejected() {
    // The identity point (y = 1) has order 1: any "signature" with R = identity, S = 0
    // would verify under a lax rule.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = PublicKey(identity);
    assert_eq!(weak.validate(), Err(CryptoError::InvalidPublicKey));
    let mut forged = [0u8; 64];
    forged[0] = 1;
    assert!(
        weak.verify(CHAIN, SignKind::Vote, b"anything", &Signature(forged))
            .is_err()
    );
    assert!(key(1).public_key().validate().is_ok());
    // Some 32-byte strings are not curve points at all.
    let not_points = (0u8..=255)
        .map(|b| PublicKey([b; 32]))
        .filter(|k| k.validate().is_err())
        .count();
    assert!(not_points > 0);
    for b in 0u8..=255 {
        let k = PublicKey([b; 32]);
        assert_eq!(
            k.decode().is_ok(),
            ed25519_dalek::VerifyingKey::from_bytes(&k.0).is_ok()
        );
    }
}

#[test]
fn hex_forms_round_trip_and_reject_bad_lengths() {
    let pk = key(3).public_key();
    assert_eq!(PublicKey::from_hex(&pk.to_hex()).unwrap(), pk);
    assert!(matches!(
        PublicKey::from_hex("abcd"),
        Err(CryptoError::BadHex { expected: 64, .. })
    ));
    let sig = key(3).sign(CHAIN, SignKind::Vote, b"m").unwrap();
    assert_eq!(Signature::from_hex(&sig.to_hex()).unwrap(), sig);
    assert!(Signature::from_hex(&"zz".repeat(64)).is_err());
}
