//! How a contract call ends, with stable error codes.
//!
//! A receipt records a code from this list and a message from the contract or
//! the host, never wasmtime's trap text, which is not stable across versions.

use filiera_types::admission;
use filiera_types::receipt::Event;

/// Stable failure codes recorded in receipts. Never renumber.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum FailureCode {
    /// The transaction's fuel ran out (instructions, host work or memory growth).
    OutOfFuel = 1,
    /// The contract trapped (unreachable, division by zero, out-of-bounds access...).
    Trap = 2,
    /// The wasm stack was exhausted (unbounded recursion).
    StackOverflow = 3,
    /// The contract aborted with a message.
    Abort = 4,
    /// A host call broke a limit (key or value too large, bad pointer, too many events).
    HostLimit = 5,
    /// The contract does not exist or could not be instantiated.
    NoContract = 6,
    /// The transaction is signed for another chain (nothing changes). This
    /// and the next three are refusals, numbered in [`admission`].
    WrongChain = admission::RECEIPT_WRONG_CHAIN,
    /// The signature does not verify (nothing changes).
    BadSignature = admission::RECEIPT_BAD_SIGNATURE,
    /// The transaction's expiry height has passed (nothing changes).
    Expired = admission::RECEIPT_EXPIRED,
    /// The nonce is not the sender's next (nothing changes).
    BadNonce = admission::RECEIPT_BAD_NONCE,
    /// An equivocation report that does not prove its offence (nothing is recorded).
    EvidenceInvalid = 11,
    /// The sender is no member's key (a refusal: nothing changes).
    NotMember = admission::RECEIPT_NOT_MEMBER,
    /// The sender's organisation is suspended or revoked (a refusal).
    NotActive = admission::RECEIPT_NOT_ACTIVE,
    /// A governance call (upload, proposal, approval of contract code) that
    /// its rules refuse: nothing changes but the nonce.
    GovernanceRefused = 14,
}

/// The result of one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallStatus {
    /// The call returned normally; its writes apply.
    Success,
    /// The call failed; its writes are discarded.
    Failed {
        /// Stable code.
        code: FailureCode,
        /// Message from the contract or the host.
        message: String,
    },
}

/// Everything a call produced. On failure only `status` and `fuel_used` count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallOutcome {
    /// Success or the failure.
    pub status: CallStatus,
    /// Fuel consumed, memory growth and host work included.
    pub fuel_used: u64,
    /// State writes (full state keys), last write per key; empty on failure.
    pub writes: std::collections::BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Events emitted; empty on failure.
    pub events: Vec<Event>,
    /// Data the method returned.
    pub return_data: Vec<u8>,
}
