//! The certification contract: attestations by accredited bodies, and their
//! status at any time, derived from their history (never stored stale).

use crate::Hash32;
use crate::lots::LotRef;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use borsh::{BorshDeserialize, BorshSerialize};

/// Most status changes one attestation may go through.
pub const HISTORY_MAX: usize = 64;

/// What an attestation is about.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Subject {
    /// One lot.
    Lot(LotRef),
    /// A product (GTIN).
    Product(String),
    /// An organisation.
    Org(String),
}

impl Subject {
    /// The subject as an index key part.
    pub fn key(&self) -> String {
        match self {
            Subject::Lot(l) => format!("lot:{}:{}", l.gtin, l.lot),
            Subject::Product(g) => format!("product:{g}"),
            Subject::Org(o) => format!("org:{o}"),
        }
    }
}

/// A status change of an attestation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum Change {
    /// Suspended from this time.
    Suspend = 0,
    /// Valid again from this time.
    Reinstate = 1,
    /// Revoked for good from this time.
    Revoke = 2,
}

/// One entry of an attestation's history.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct StatusChange {
    /// What changed.
    pub change: Change,
    /// Block time, ms.
    pub time_ms: u64,
    /// Why.
    pub reason: String,
}

/// An attestation (`pub/att/{id}`).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Attestation {
    /// Its number.
    pub id: u64,
    /// The certification body that issued it.
    pub body: String,
    /// What it is about.
    pub subject: Subject,
    /// Scheme code.
    pub scheme: String,
    /// The protected name it certifies (e.g. `Casciotta d'Urbino`).
    pub protected_name: String,
    /// Hash of the evidence (inspection report...), kept off chain.
    pub evidence_hash: Hash32,
    /// Start of validity, ms.
    pub valid_from_ms: u64,
    /// End of validity (exclusive), ms.
    pub valid_until_ms: u64,
    /// Block time of issue, ms.
    pub issued_ms: u64,
    /// Suspensions, reinstatements, revocation, in order.
    pub history: Vec<StatusChange>,
}

/// An attestation's status at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum Validity {
    /// In force.
    Valid = 0,
    /// Its window has not started.
    NotYetValid = 1,
    /// Its window has ended.
    Expired = 2,
    /// Suspended.
    Suspended = 3,
    /// Revoked.
    Revoked = 4,
}

impl Attestation {
    /// Its status at `time_ms`, derived from the window and the history.
    pub fn validity_at(&self, time_ms: u64) -> Validity {
        let mut suspended = false;
        for c in self.history.iter().take_while(|c| c.time_ms <= time_ms) {
            match c.change {
                Change::Revoke => return Validity::Revoked,
                Change::Suspend => suspended = true,
                Change::Reinstate => suspended = false,
            }
        }
        if suspended {
            Validity::Suspended
        } else if time_ms < self.valid_from_ms {
            Validity::NotYetValid
        } else if time_ms >= self.valid_until_ms {
            Validity::Expired
        } else {
            Validity::Valid
        }
    }
}

/// `attest`: issues an attestation.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Attest {
    /// What it is about.
    pub subject: Subject,
    /// Scheme code.
    pub scheme: String,
    /// Protected name (for lots and products: the product's name).
    pub protected_name: String,
    /// Evidence hash.
    pub evidence_hash: Hash32,
    /// Start of validity, ms.
    pub valid_from_ms: u64,
    /// End of validity (exclusive), ms.
    pub valid_until_ms: u64,
}

/// `suspend`, `reinstate` or `revoke`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ChangeStatus {
    /// The attestation.
    pub id: u64,
    /// Why.
    pub reason: String,
}

/// Certification methods.
pub mod method {
    /// `Attest` → attestation id (u64); accredited bodies only.
    pub const ATTEST: &str = "attest";
    /// `ChangeStatus`; the issuing body.
    pub const SUSPEND: &str = "suspend";
    /// `ChangeStatus`; the issuing body.
    pub const REINSTATE: &str = "reinstate";
    /// `ChangeStatus`; the issuing body (or the authority).
    pub const REVOKE: &str = "revoke";
}
