//! The rules a transaction meets to be in a block, in one place: chain id,
//! sender's standing, signature, expiry, nonce (and, at the door, size).
//!
//! Only members write: the sender must be a key of an active organisation of
//! the registry or one of the authority's keys ([`Standing::Member`]); a key
//! of a validator of the height may only report equivocation evidence
//! ([`Standing::Validator`]); a new device's key holding an open enrolment
//! ticket may only enrol itself with it ([`Standing::Enrolling`]). Anyone else's transaction is refused at the
//! door and makes a block that carries it invalid, so it never reaches a
//! block or the state (not even a nonce entry). Standing is judged on the
//! state before the block: a suspension takes effect from the next block, so
//! the door and the block it fills agree.
//!
//! Two callers judge by them. The mempool, at the door, against the height
//! the next block will have and the sender's committed nonce, with room for a
//! few nonces ahead and an expiry not too far off ([`Door`]). Execution, in a
//! block, against the block's height and the nonce the block's earlier
//! transactions left ([`InBlock`]); there a refusal changes nothing (not even
//! the nonce) and makes the block invalid, since an honest proposer only
//! takes what its door let in. Both call [`check`], so a rule changed here
//! changes both, and what the door lets in a block can hold.
//!
//! Each refusal has a stable code: a string for the API ([`Refusal::code`])
//! and a number for receipts ([`Refusal::receipt_code`]). Never reuse or
//! renumber them: clients and stored receipts depend on them.
//!
//! Pure: no clock, no state access. The caller reads the nonce and verifies
//! the signature (which may be done earlier, on another thread), and hands in
//! the result.

use crate::{ChainId, Transaction};

/// Receipt code of a transaction signed for another chain.
pub const RECEIPT_WRONG_CHAIN: u16 = 7;
/// Receipt code of a signature that does not verify.
pub const RECEIPT_BAD_SIGNATURE: u16 = 8;
/// Receipt code of an expired transaction.
pub const RECEIPT_EXPIRED: u16 = 9;
/// Receipt code of a nonce that is not the sender's next.
pub const RECEIPT_BAD_NONCE: u16 = 10;
/// Receipt code of a sender that is no member's key (11 is evidence's).
pub const RECEIPT_NOT_MEMBER: u16 = 12;
/// Receipt code of a sender whose organisation is suspended or revoked.
pub const RECEIPT_NOT_ACTIVE: u16 = 13;

/// Who the sender of a transaction is, in the state before its block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// A key of an active organisation, or one of the authority's keys.
    Member,
    /// A key of an organisation that is suspended or revoked.
    Inactive,
    /// A consensus key of a validator of the height, of no organisation: it
    /// may report equivocation evidence only.
    Validator,
    /// A key of no organisation whose transaction enrols it with an open
    /// enrolment ticket whose key signed it: it may call
    /// [`ENROL_CONTRACT`]`.`[`ENROL_METHOD`] only.
    Enrolling,
    /// Anyone else.
    Stranger,
}

/// The contract a new device enrols with (the registry).
pub const ENROL_CONTRACT: &str = "registry";
/// The method a new device enrols with.
pub const ENROL_METHOD: &str = "enrol";

/// Whether a receipt's failure code is a refusal: the transaction should
/// never have been in a block.
pub fn is_refusal_receipt(code: u16) -> bool {
    matches!(
        code,
        RECEIPT_WRONG_CHAIN
            | RECEIPT_BAD_SIGNATURE
            | RECEIPT_EXPIRED
            | RECEIPT_BAD_NONCE
            | RECEIPT_NOT_MEMBER
            | RECEIPT_NOT_ACTIVE
    )
}

/// Why a transaction may not be in a block (at the door, or in one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Over the size limit (checked at the door; a block has its own bound).
    #[error("transaction of {len} bytes exceeds {max}")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: u64,
    },
    /// Signed for another chain.
    #[error("transaction is for chain {0}")]
    WrongChain(String),
    /// The sender is no member's key (or a validator's key calling anything
    /// but the evidence report).
    #[error("sender {0} is not a key of a member organisation")]
    NotMember(String),
    /// The sender's organisation is suspended or revoked.
    #[error("sender {0} belongs to an organisation that is not active")]
    NotActive(String),
    /// The signature does not verify.
    #[error("bad signature: {0}")]
    BadSignature(String),
    /// Expired, or (at the door) its expiry is further than allowed.
    #[error("expiry height {expiry} outside [{first}, {last}]")]
    Expiry {
        /// Its expiry.
        expiry: u64,
        /// The first height it must still be valid at.
        first: u64,
        /// The furthest expiry allowed (`u64::MAX` in a block).
        last: u64,
    },
    /// The nonce was already used.
    #[error("nonce {found} already used (next is {expected})")]
    NonceUsed {
        /// The sender's next nonce.
        expected: u64,
        /// The transaction's.
        found: u64,
    },
    /// The nonce is further ahead than allowed (in a block: ahead at all).
    #[error("nonce {found} too far ahead of {expected}")]
    NonceGap {
        /// The sender's next nonce.
        expected: u64,
        /// The transaction's.
        found: u64,
    },
}

impl Refusal {
    /// The API's stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::TooLarge { .. } => "too_large",
            Refusal::WrongChain(_) => "wrong_chain",
            Refusal::NotMember(_) => "not_member",
            Refusal::NotActive(_) => "not_active",
            Refusal::BadSignature(_) => "bad_signature",
            Refusal::Expiry { .. } => "expired",
            Refusal::NonceUsed { .. } => "nonce_used",
            Refusal::NonceGap { .. } => "nonce_gap",
        }
    }

    /// The receipts' stable code; `None` for a size refusal, which is judged
    /// at the door only (a block bounds its bytes as a whole).
    pub fn receipt_code(&self) -> Option<u16> {
        match self {
            Refusal::TooLarge { .. } => None,
            Refusal::WrongChain(_) => Some(RECEIPT_WRONG_CHAIN),
            Refusal::NotMember(_) => Some(RECEIPT_NOT_MEMBER),
            Refusal::NotActive(_) => Some(RECEIPT_NOT_ACTIVE),
            Refusal::BadSignature(_) => Some(RECEIPT_BAD_SIGNATURE),
            Refusal::Expiry { .. } => Some(RECEIPT_EXPIRED),
            Refusal::NonceUsed { .. } | Refusal::NonceGap { .. } => Some(RECEIPT_BAD_NONCE),
        }
    }
}

/// Where a transaction is judged: the facts [`check`] needs.
#[derive(Clone, Copy, Debug)]
pub struct Point<'a> {
    /// This chain.
    pub chain_id: &'a ChainId,
    /// The height the transaction would be in.
    pub height: u64,
    /// The sender's next nonce at that point.
    pub expected_nonce: u64,
    /// How many nonces past `expected_nonce` are let in.
    pub nonce_gap_max: u64,
    /// The furthest expiry let in, in blocks after `height`.
    pub expiry_blocks_max: u64,
    /// The sender's standing in the state before the block.
    pub standing: Standing,
}

/// At the door: the next block's height and the committed nonce, with the
/// pool's allowances.
pub fn door(
    chain_id: &ChainId,
    next_height: u64,
    committed_nonce: u64,
    nonce_gap_max: u64,
    expiry_blocks_max: u64,
    standing: Standing,
) -> Point<'_> {
    Point {
        chain_id,
        height: next_height,
        expected_nonce: committed_nonce,
        nonce_gap_max,
        expiry_blocks_max,
        standing,
    }
}

/// In a block: exactly the sender's next nonce, any expiry not yet passed.
pub fn in_block(
    chain_id: &ChainId,
    height: u64,
    expected_nonce: u64,
    standing: Standing,
) -> Point<'_> {
    Point {
        chain_id,
        height,
        expected_nonce,
        nonce_gap_max: 0,
        expiry_blocks_max: u64::MAX,
        standing,
    }
}

/// Judges `tx` at `at`; `signature_valid` is what `verify_strict` said of its
/// signature (`Err` carries why not). Checked in this order, so the first
/// broken rule is the one reported: chain, standing, expiry, nonce,
/// signature. The signature comes last because it is the costly one: the
/// door judges the rest before it verifies (a stranger's transaction costs a
/// state read, not a verification), and reports what this order reports.
pub fn check(
    tx: &Transaction,
    signature_valid: Result<(), String>,
    at: &Point<'_>,
) -> Result<(), Refusal> {
    if tx.chain_id != *at.chain_id {
        return Err(Refusal::WrongChain(tx.chain_id.as_str().to_owned()));
    }
    standing_allows(tx, at.standing)?;
    let last = at.height.saturating_add(at.expiry_blocks_max);
    if tx.expiry_height < at.height || tx.expiry_height > last {
        return Err(Refusal::Expiry {
            expiry: tx.expiry_height,
            first: at.height,
            last,
        });
    }
    let (expected, found) = (at.expected_nonce, tx.nonce);
    if found < expected {
        return Err(Refusal::NonceUsed { expected, found });
    }
    if found - expected > at.nonce_gap_max {
        return Err(Refusal::NonceGap { expected, found });
    }
    signature_valid.map_err(Refusal::BadSignature)
}

/// Whether a sender of `standing` may send `tx`.
pub fn standing_allows(tx: &Transaction, standing: Standing) -> Result<(), Refusal> {
    let sender = || tx.sender.to_hex();
    match standing {
        Standing::Member => Ok(()),
        Standing::Validator if tx.call.contract.as_str() == crate::evidence::EVIDENCE_CONTRACT => {
            Ok(())
        }
        Standing::Enrolling
            if tx.call.contract.as_str() == ENROL_CONTRACT
                && tx.call.method.as_str() == ENROL_METHOD =>
        {
            Ok(())
        }
        Standing::Validator | Standing::Enrolling | Standing::Stranger => {
            Err(Refusal::NotMember(sender()))
        }
        Standing::Inactive => Err(Refusal::NotActive(sender())),
    }
}

/// At the door, a transaction is also bounded in size.
pub fn check_size(len: usize, max: u64) -> Result<(), Refusal> {
    if len as u64 > max {
        return Err(Refusal::TooLarge { len, max });
    }
    Ok(())
}
