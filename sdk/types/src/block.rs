//! Blocks and headers.
//!
//! The header is what light clients hold: it commits to the transactions, the
//! receipts, the state after executing the block, and the validator sets of
//! this height and the next, so a single certified header proves any record of
//! the chain at that height and lets a verifier walk validator-set changes from
//! genesis. Execution is immediate: header `h` carries the state root after
//! applying block `h`.

use crate::crypto::Address;
use crate::encoding::{self, DecodeError, invalid_data};
use crate::hash::{Domain, Hash};
use crate::limits::{BLOCK_BYTES_MAX, BLOCK_TXS_MAX};
use crate::merkle;
use crate::name::ChainId;
use crate::tx::SignedTransaction;
use borsh::{BorshDeserialize, BorshSerialize};

/// The header format version written by this code.
pub const HEADER_VERSION: u16 = 1;

/// A block header.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Header {
    /// Format version, [`HEADER_VERSION`].
    pub version: u16,
    /// The chain.
    pub chain_id: ChainId,
    /// Height, starting at 1 (genesis is height 0 and has no block).
    pub height: u64,
    /// Block time chosen by the proposer, milliseconds since the Unix epoch;
    /// strictly greater than the parent's.
    pub time_ms: u64,
    /// Hash of the parent header; at height 1, the genesis hash.
    pub parent_hash: Hash,
    /// Merkle root of the transaction ids.
    pub txs_root: Hash,
    /// Merkle root of the receipts.
    pub receipts_root: Hash,
    /// Root of the authenticated state after this block.
    pub state_root: Hash,
    /// Hash of the validator set that decides this height.
    pub validator_set_hash: Hash,
    /// Hash of the validator set that decides the next height.
    pub next_validator_set_hash: Hash,
    /// The proposer of this block.
    pub proposer: Address,
}

impl Header {
    /// The block id.
    pub fn hash(&self) -> Hash {
        Hash::of(Domain::Header, &encoding::encode(self))
    }
}

/// A block: header and transactions.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// The transactions, in execution order.
    pub txs: Vec<SignedTransaction>,
}

impl Block {
    /// Decodes a block received from outside, within [`BLOCK_BYTES_MAX`].
    pub fn decode(bytes: &[u8]) -> Result<Block, DecodeError> {
        encoding::decode("block", bytes, BLOCK_BYTES_MAX)
    }

    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        encoding::encode(self)
    }

    /// The block id (its header's hash).
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    /// The Merkle root of these transactions' ids.
    pub fn compute_txs_root(txs: &[SignedTransaction]) -> Hash {
        let leaves: Vec<Hash> = txs.iter().map(|tx| tx_leaf(&tx.hash())).collect();
        merkle::root(&leaves)
    }

    /// Whether the header's `txs_root` matches the transactions carried.
    pub fn txs_root_matches(&self) -> bool {
        Self::compute_txs_root(&self.txs) == self.header.txs_root
    }
}

/// The Merkle leaf of a transaction id.
pub fn tx_leaf(tx_hash: &Hash) -> Hash {
    Hash::of(Domain::TxLeaf, &tx_hash.0)
}

impl BorshDeserialize for Block {
    fn deserialize_reader<R: borsh::io::Read>(reader: &mut R) -> borsh::io::Result<Self> {
        let header = Header::deserialize_reader(reader)?;
        let txs = Vec::<SignedTransaction>::deserialize_reader(reader)?;
        if txs.len() > BLOCK_TXS_MAX {
            return Err(invalid_data(format!(
                "{} transactions exceed the limit of {BLOCK_TXS_MAX}",
                txs.len()
            )));
        }
        Ok(Block { header, txs })
    }
}
