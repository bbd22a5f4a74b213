//! Storage keys. Keys are relative to the contract's own prefix (the host adds
//! `c/{contract}/`); [`state_key`] spells the full key the node stores.
//!
//! Variable parts that could contain `/` are length-prefixed so that no two
//! different records ever share a key or a key prefix.

use crate::KeyBytes;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The full state key of a contract's relative key.
pub fn state_key(contract: &str, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(contract.len() + key.len() + 3);
    k.extend_from_slice(b"c/");
    k.extend_from_slice(contract.as_bytes());
    k.push(b'/');
    k.extend_from_slice(key);
    k
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| {
            [
                DIGITS[usize::from(b >> 4)] as char,
                DIGITS[usize::from(b & 15)] as char,
            ]
        })
        .collect()
}

fn part(s: &str) -> String {
    format!("{:02x}{s}", s.len())
}

// Registry.

/// The authority's keys and threshold.
pub const AUTHORITY: &[u8] = b"pub/authority";
/// The next proposal number.
pub const NEXT_PROPOSAL: &[u8] = b"next_proposal";
/// An organisation.
pub fn org(id: &str) -> Vec<u8> {
    format!("pub/org/{}", part(id)).into_bytes()
}
/// Which organisation a key signs for.
pub fn key_owner(key: &KeyBytes) -> Vec<u8> {
    format!("pub/key/{}", hex(key)).into_bytes()
}
/// An organisation's accreditation for a scheme.
pub fn accreditation(org: &str, scheme: &str) -> Vec<u8> {
    format!("pub/accr/{}/{}", part(org), part(scheme)).into_bytes()
}
/// A site, by GLN.
pub fn site(gln: &str) -> Vec<u8> {
    format!("pub/site/{gln}").into_bytes()
}
/// An authority proposal.
pub fn proposal(id: u64) -> Vec<u8> {
    format!("proposal/{id:016x}").into_bytes()
}

// Lots.

/// A product, by GTIN.
pub fn product(gtin: &str) -> Vec<u8> {
    format!("pub/product/{gtin}").into_bytes()
}
/// The prefix of everything about one lot.
pub fn lot(gtin: &str, lot: &str) -> Vec<u8> {
    format!("pub/lot/{gtin}{}", part(lot)).into_bytes()
}
/// The `seq`-th event of a lot.
pub fn lot_event(gtin: &str, lot_number: &str, seq: u32) -> Vec<u8> {
    let mut k = lot(gtin, lot_number);
    k.extend_from_slice(format!("/ev/{seq:08x}").as_bytes());
    k
}
/// The prefix of a lot's downstream links.
pub fn lot_children(gtin: &str, lot_number: &str) -> Vec<u8> {
    let mut k = lot(gtin, lot_number);
    k.extend_from_slice(b"/child/");
    k
}
/// A downstream link: `child` was made (in part) from the lot.
pub fn lot_child(gtin: &str, lot_number: &str, child_gtin: &str, child_lot: &str) -> Vec<u8> {
    let mut k = lot_children(gtin, lot_number);
    k.extend_from_slice(child_gtin.as_bytes());
    k.extend_from_slice(part(child_lot).as_bytes());
    k
}
/// Which lot an EPCIS event hash is anchored on (events are idempotent by hash).
pub fn epcis_anchor(hash: &[u8; 32]) -> Vec<u8> {
    format!("pub/epcis/{}", hex(hash)).into_bytes()
}

// Certification.

/// The next attestation number.
pub const NEXT_ATTESTATION: &[u8] = b"next_attestation";
/// An attestation.
pub fn attestation(id: u64) -> Vec<u8> {
    format!("pub/att/{id:016x}").into_bytes()
}
/// The prefix of the attestations of a subject.
pub fn attestations_of(subject_key: &str) -> Vec<u8> {
    format!("pub/att_of/{}/", part(subject_key)).into_bytes()
}
/// One entry of a subject's attestation index.
pub fn attestation_of(subject_key: &str, id: u64) -> Vec<u8> {
    let mut k = attestations_of(subject_key);
    k.extend_from_slice(format!("{id:016x}").as_bytes());
    k
}
