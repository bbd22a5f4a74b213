//! Receipts: what executing a transaction did, committed in the header's
//! receipts root so a light client can check a transaction's outcome.

use crate::encoding;
use crate::hash::{Domain, Hash};
use crate::name::ContractId;
use borsh::{BorshDeserialize, BorshSerialize};

/// Largest encoded receipt, in bytes.
pub const RECEIPT_BYTES_MAX: usize = 256 * 1024;

/// How a transaction ended.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, serde::Serialize)]
pub enum TxStatus {
    /// Its state changes were applied.
    Success,
    /// Its state changes were discarded; the nonce still advanced.
    Failed {
        /// A stable error code (never a runtime's message, which changes across versions).
        code: u16,
        /// The contract's or the node's message.
        message: String,
    },
}

/// An event emitted by a contract.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, serde::Serialize)]
pub struct Event {
    /// The emitting contract.
    pub contract: ContractId,
    /// The event's name, e.g. `lot_registered`.
    pub name: String,
    /// Borsh-encoded payload; its schema belongs to the contract.
    pub data: Vec<u8>,
}

/// The outcome of one transaction in a block.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, serde::Serialize)]
pub struct Receipt {
    /// The transaction's id.
    pub tx_hash: Hash,
    /// Success or failure with a stable code.
    pub status: TxStatus,
    /// Fuel consumed.
    pub fuel_used: u64,
    /// Events emitted (empty on failure).
    pub events: Vec<Event>,
    /// Data returned by the method.
    pub return_data: Vec<u8>,
}

impl Receipt {
    /// The receipt's Merkle leaf in the block's receipts tree.
    pub fn leaf(&self) -> Hash {
        Hash::of(Domain::ReceiptLeaf, &encoding::encode(self))
    }

    /// The receipts root of a block.
    pub fn root(receipts: &[Receipt]) -> Hash {
        let leaves: Vec<Hash> = receipts.iter().map(Receipt::leaf).collect();
        crate::merkle::root(&leaves)
    }
}
