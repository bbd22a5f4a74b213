//! What nodes say to each other, beside consensus messages proper: the gossip
//! envelope and the block-sync request and answer. Borsh, decoded strictly
//! within a size cap; a peer that sends bytes that do not decode is
//! disconnected.

use borsh::{BorshDeserialize, BorshSerialize};
use filiera_types::block::Block;
use filiera_types::encoding::{self, DecodeError};
use filiera_types::limits::BLOCK_BYTES_MAX;
use filiera_types::{Address, CommitCertificate, SignedTransaction};

/// Blocks one sync answer carries, at most.
pub const SYNC_BATCH_BLOCKS_MAX: u32 = 32;
/// Bytes of blocks one sync answer carries, at most (one block may exceed it alone).
pub const SYNC_BATCH_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Largest gossip envelope: a full block and its framing.
pub const GOSSIP_BYTES_MAX: usize = BLOCK_BYTES_MAX + 64 * 1024;

/// A gossiped message.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[allow(clippy::large_enum_variant)] // decoded one at a time; boxing buys nothing
pub enum Gossip {
    /// A consensus message, in the WAL's input encoding (vote, proposal or certificate).
    Consensus(Vec<u8>),
    /// A proposed block, sent beside its proposal.
    Block(ProposedBlock),
    /// A transaction for the mempool.
    Tx(SignedTransaction),
    /// Transactions for the mempool, gossiped together: one gossip message
    /// (one signature, one frame, one cache entry) per batch, not per transaction.
    Txs(Vec<SignedTransaction>),
}

/// Transactions in one [`Gossip::Txs`], at most.
pub const TX_GOSSIP_BATCH_MAX: usize = 512;
/// How long an admitted transaction may wait for others before it is gossiped, ms.
///
/// Every gossip message costs each of the other validators a receipt, a
/// verification task and a driver event whatever it carries, so fewer, fuller
/// messages leave more CPU to blocks. 4 validators on the 2-core machine of
/// `benches/README.md`, 40-s runs, 20 / 100 / 200 / 500 ms: CPU per node at
/// 1,125 tx/s 34-36% / 30-31% / 27-29% / 25-26%; committed at 3,000 tx/s
/// offered 2,177 / 2,450 / 2,660 / 2,643 tx/s. Finality p50 at 1,125 tx/s
/// stays under 0.5 s up to 200 ms and is 0.6 s at 500 ms: a transaction not
/// sent to the proposer waits this long to reach it.
pub const TX_GOSSIP_DELAY_MS: u64 = 200;

/// A block proposed at a round (or re-proposed with a proof-of-lock round).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ProposedBlock {
    /// Round of the proposal.
    pub round: u32,
    /// The round in which the block got a polka, if re-proposed.
    pub valid_round: Option<u32>,
    /// Who proposes it in this round.
    pub proposer: Address,
    /// The block.
    pub block: Block,
}

/// "Send me the decided blocks from this height on."
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SyncRequest {
    /// The first height wanted.
    pub from_height: u64,
    /// How many, at most [`SYNC_BATCH_BLOCKS_MAX`].
    pub count: u32,
}

/// Decided blocks with their commit certificates, in height order.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SyncResponse {
    /// The blocks.
    pub blocks: Vec<(Block, CommitCertificate)>,
}

impl Gossip {
    /// Decodes a gossip message from a peer.
    pub fn decode(bytes: &[u8]) -> Result<Gossip, DecodeError> {
        encoding::decode("gossip", bytes, GOSSIP_BYTES_MAX)
    }
    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        encoding::encode(self)
    }
}

impl SyncRequest {
    /// Decodes a request from a peer.
    pub fn decode(bytes: &[u8]) -> Result<SyncRequest, DecodeError> {
        encoding::decode("sync request", bytes, crate::SYNC_REQUEST_BYTES_MAX)
    }
    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        encoding::encode(self)
    }
}

impl SyncResponse {
    /// Decodes an answer from a peer.
    pub fn decode(bytes: &[u8]) -> Result<SyncResponse, DecodeError> {
        encoding::decode("sync response", bytes, crate::SYNC_RESPONSE_BYTES_MAX)
    }
    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        encoding::encode(self)
    }
}
