//! Storage keys. Keys are relative to the contract's own prefix (the host adds
//! `c/{contract}/`); [`state_key`] spells the full key the node stores.
//!
//! Variable parts that could contain `/` are length-prefixed so that no two
//! different records ever share a key or a key prefix.

use crate::KeyBytes;
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

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 15)]);
    }
}

/// A variable part: its length in two hex digits, then the bytes (parts are
/// at most 255 bytes: ids, codes and lot numbers are far shorter).
fn push_part(out: &mut Vec<u8>, s: &str) {
    let len = s.len().min(255) as u8;
    push_hex(out, &[len]);
    out.extend_from_slice(s.as_bytes());
}

fn key(parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(parts.iter().map(|p| p.len()).sum::<usize>() + 8);
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

fn with_part(prefix: &[u8], s: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + s.len() + 2);
    k.extend_from_slice(prefix);
    push_part(&mut k, s);
    k
}

// Registry.

/// A contract's state layout version (u32), written by its migrations.
pub const LAYOUT: &[u8] = b"layout";

/// The authority's keys and threshold.
pub const AUTHORITY: &[u8] = b"pub/authority";
/// The next proposal number.
pub const NEXT_PROPOSAL: &[u8] = b"next_proposal";
/// An organisation.
pub fn org(id: &str) -> Vec<u8> {
    with_part(b"pub/org/", id)
}
/// Which organisation a key signs for.
pub fn key_owner(owner_key: &KeyBytes) -> Vec<u8> {
    let mut k = b"pub/key/".to_vec();
    push_hex(&mut k, owner_key);
    k
}
/// An organisation's accreditation for a scheme.
pub fn accreditation(org: &str, scheme: &str) -> Vec<u8> {
    let mut k = with_part(b"pub/accr/", org);
    k.push(b'/');
    push_part(&mut k, scheme);
    k
}
/// A device key's grant (rights, label, expiry).
pub fn device(key: &KeyBytes) -> Vec<u8> {
    let mut k = b"pub/dev/".to_vec();
    push_hex(&mut k, key);
    k
}
/// An open enrolment ticket, by its public key.
pub fn enrolment(ticket_key: &KeyBytes) -> Vec<u8> {
    let mut k = b"pub/enrol/".to_vec();
    push_hex(&mut k, ticket_key);
    k
}
/// A site, by GLN.
pub fn site(gln: &str) -> Vec<u8> {
    key(&[b"pub/site/", gln.as_bytes()])
}
/// Every version of a protected name's production rules.
/// The name is folded ([`crate::rules::fold`]): a product finds its rules
/// whatever the case of its name's letters.
pub fn rules(scheme: &str, name: &str) -> Vec<u8> {
    let mut k = with_part(b"pub/rules/", scheme);
    k.push(b'/');
    push_part(&mut k, &crate::rules::fold(name));
    k
}
/// The organisation a protected name's rules are delegated to (its id).
pub fn rules_delegate(scheme: &str, name: &str) -> Vec<u8> {
    let mut k = with_part(b"pub/rules_delegate/", scheme);
    k.push(b'/');
    push_part(&mut k, &crate::rules::fold(name));
    k
}
/// The prefix of every protected name's rules.
pub const RULES: &[u8] = b"pub/rules/";
/// A site's official place, vouched by the authority.
pub fn site_area(gln: &str) -> Vec<u8> {
    key(&[b"pub/site_area/", gln.as_bytes()])
}
/// Prefix of the validator records (the node reads them after each block).
pub const VALIDATORS: &[u8] = b"pub/validator/";
/// A validator's record, by consensus key.
pub fn validator(consensus_key: &KeyBytes) -> Vec<u8> {
    let mut k = VALIDATORS.to_vec();
    push_hex(&mut k, consensus_key);
    k
}
/// Prefix of observer records.
pub const OBSERVERS: &[u8] = b"pub/observer/";
/// An observer node, by p2p key.
pub fn observer(p2p_key: &KeyBytes) -> Vec<u8> {
    let mut k = OBSERVERS.to_vec();
    push_hex(&mut k, p2p_key);
    k
}
/// An authority proposal.
pub fn proposal(id: u64) -> Vec<u8> {
    let mut k = b"proposal/".to_vec();
    push_hex(&mut k, &id.to_be_bytes());
    k
}

// Lots.

/// A product, by GTIN.
pub fn product(gtin: &str) -> Vec<u8> {
    key(&[b"pub/product/", gtin.as_bytes()])
}
/// The prefix of everything about one lot.
pub fn lot(gtin: &str, lot: &str) -> Vec<u8> {
    let mut k = key(&[b"pub/lot/", gtin.as_bytes()]);
    push_part(&mut k, lot);
    k
}
/// The `seq`-th event of a lot.
pub fn lot_event(gtin: &str, lot_number: &str, seq: u32) -> Vec<u8> {
    let mut k = lot(gtin, lot_number);
    k.extend_from_slice(b"/ev/");
    push_hex(&mut k, &seq.to_be_bytes());
    k
}
/// The rules a lot was made under and the steps it went through.
pub fn lot_rules(gtin: &str, lot_number: &str) -> Vec<u8> {
    let mut k = lot(gtin, lot_number);
    k.extend_from_slice(b"/rules");
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
    push_part(&mut k, child_lot);
    k
}
/// Which lot an EPCIS event hash is anchored on (events are idempotent by hash).
pub fn epcis_anchor(hash: &[u8; 32]) -> Vec<u8> {
    let mut k = b"pub/epcis/".to_vec();
    push_hex(&mut k, hash);
    k
}

/// A captured EPCIS event document (JSON), by its CBV 2.0 hash.
pub fn epcis_event(hash: &[u8; 32]) -> Vec<u8> {
    let mut k = b"pub/epcis_event/".to_vec();
    push_hex(&mut k, hash);
    k
}
/// The prefix of every captured EPCIS event document.
pub const EPCIS_EVENTS: &[u8] = b"pub/epcis_event/";
/// The prefix of the EPCIS events that name a lot.
pub fn epcis_of_lot_prefix(gtin: &str, lot_number: &str) -> Vec<u8> {
    let mut k = key(&[b"pub/epcis_lot/", gtin.as_bytes()]);
    push_part(&mut k, lot_number);
    k.push(b'/');
    k
}
/// An EPCIS event that names a lot (the value is `true`).
pub fn epcis_of_lot(gtin: &str, lot_number: &str, hash: &[u8; 32]) -> Vec<u8> {
    let mut k = epcis_of_lot_prefix(gtin, lot_number);
    push_hex(&mut k, hash);
    k
}

// Certification.

/// The next attestation number.
pub const NEXT_ATTESTATION: &[u8] = b"next_attestation";
/// An attestation.
pub fn attestation(id: u64) -> Vec<u8> {
    let mut k = b"pub/att/".to_vec();
    push_hex(&mut k, &id.to_be_bytes());
    k
}
/// The prefix of the attestations of a subject.
pub fn attestations_of(subject_key: &str) -> Vec<u8> {
    let mut k = with_part(b"pub/att_of/", subject_key);
    k.push(b'/');
    k
}
/// One entry of a subject's attestation index.
pub fn attestation_of(subject_key: &str, id: u64) -> Vec<u8> {
    let mut k = attestations_of(subject_key);
    push_hex(&mut k, &id.to_be_bytes());
    k
}
