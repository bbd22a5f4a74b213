//! Building consistent chains for tests, benchmarks and the crash harness:
//! blocks whose headers carry the right roots, with a real commit certificate
//! signed by a fixed single validator. Not used by the node itself.

use crate::{PreparedState, Result, StateChanges, Store};
use filiera_types::block::HEADER_VERSION;
use filiera_types::receipt::{Receipt, TxStatus};
use filiera_types::{
    Block, ChainId, CommitCertificate, CommitSignature, Hash, Header, SecretKey, SignedTransaction,
    Validator, ValidatorSet, Vote, VoteKind, encoding,
};

/// The chain id of test chains.
pub const TEST_CHAIN: &str = "filiera-storage-test";

/// Builds and commits blocks on top of a store.
pub struct ChainBuilder {
    chain_id: ChainId,
    validator: SecretKey,
    set: ValidatorSet,
    genesis: Hash,
}

impl Default for ChainBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainBuilder {
    /// A builder with a fixed validator key.
    pub fn new() -> ChainBuilder {
        let validator = SecretKey::from_seed(&[42; 32]);
        let set = ValidatorSet::new(vec![Validator {
            public_key: validator.public_key(),
            power: 1,
        }])
        .expect("one validator with power 1 is a valid set");
        let chain_id = ChainId::new(TEST_CHAIN).expect("valid chain id");
        ChainBuilder {
            chain_id,
            validator,
            set,
            genesis: Hash::of(filiera_types::Domain::Genesis, TEST_CHAIN.as_bytes()),
        }
    }

    /// The genesis hash of test chains.
    pub fn genesis_hash(&self) -> Hash {
        self.genesis
    }

    /// The validator set that signs certificates.
    pub fn validator_set(&self) -> &ValidatorSet {
        &self.set
    }

    /// Initialises the store with an empty genesis state if it is new.
    pub fn init(&self, store: &Store) -> Result<Hash> {
        store.init_genesis(self.genesis, StateChanges::new())
    }

    /// Builds, certifies and commits the next block with these state changes and
    /// transactions (each given a success receipt).
    pub fn commit(
        &self,
        store: &Store,
        changes: StateChanges,
        txs: Vec<SignedTransaction>,
    ) -> Result<Block> {
        let receipts: Vec<Receipt> = txs
            .iter()
            .map(|tx| Receipt {
                tx_hash: tx.hash(),
                status: TxStatus::Success,
                fuel_used: 0,
                events: vec![],
                return_data: vec![],
            })
            .collect();
        self.commit_with_receipts(store, changes, txs, receipts)
    }

    /// As [`ChainBuilder::commit`], with the caller's receipts (one per
    /// transaction, in order).
    pub fn commit_with_receipts(
        &self,
        store: &Store,
        changes: StateChanges,
        txs: Vec<SignedTransaction>,
        receipts: Vec<Receipt>,
    ) -> Result<Block> {
        let last = store
            .last_height()?
            .ok_or(crate::StorageError::NotInitialised)?;
        let prepared = store.prepare_state(last + 1, changes)?;
        self.commit_block_of(store, prepared, txs, receipts)
    }

    /// Commits the next block, without transactions, over a state the caller
    /// prepared (with a query index, say).
    pub fn commit_prepared(&self, store: &Store, prepared: PreparedState) -> Result<Block> {
        self.commit_block_of(store, prepared, vec![], vec![])
    }

    fn commit_block_of(
        &self,
        store: &Store,
        prepared: PreparedState,
        txs: Vec<SignedTransaction>,
        receipts: Vec<Receipt>,
    ) -> Result<Block> {
        let last = store
            .last_height()?
            .ok_or(crate::StorageError::NotInitialised)?;
        let height = last + 1;
        let (parent_hash, parent_time) = match store.header(last)? {
            Some(h) => (h.hash(), h.time_ms),
            None => (self.genesis, 1_764_000_000_000),
        };
        let header = Header {
            version: HEADER_VERSION,
            chain_id: self.chain_id.clone(),
            height,
            time_ms: parent_time + 1_000,
            parent_hash,
            txs_root: Block::compute_txs_root(&txs),
            receipts_root: Receipt::root(&receipts),
            state_root: prepared.root(),
            validator_set_hash: self.set.hash(),
            next_validator_set_hash: self.set.hash(),
            proposer: self.validator.public_key().address(),
        };
        let block = Block { header, txs };
        let certificate = self.certify(&block);
        store.commit_block(&block, &certificate, &receipts, prepared)?;
        Ok(block)
    }

    /// A commit certificate for `block` signed by the validator.
    pub fn certify(&self, block: &Block) -> CommitCertificate {
        certify_alone(&self.validator, self.chain_id.as_str(), block)
            .expect("test chain id is valid")
    }
}

/// A commit certificate for `block` holding `validator`'s precommit alone:
/// a quorum for a chain of that one validator (the test chains here, the
/// bulk loader's).
pub fn certify_alone(
    validator: &SecretKey,
    chain_id: &str,
    block: &Block,
) -> std::result::Result<CommitCertificate, filiera_types::crypto::CryptoError> {
    let address = validator.public_key().address();
    let vote = Vote {
        kind: VoteKind::Precommit,
        height: block.header.height,
        round: 0,
        block_hash: Some(block.hash()),
        validator: address,
    };
    let signature = validator.sign(
        chain_id,
        filiera_types::SignKind::Vote,
        &encoding::encode(&vote),
    )?;
    Ok(CommitCertificate::new(
        block.header.height,
        0,
        block.hash(),
        vec![CommitSignature {
            validator: address,
            signature,
        }],
    ))
}

/// Deterministic pseudo-random state writes for `height`: `n` keys drawn from
/// `key_space` keys, about one in eight a deletion. Same inputs, same writes.
pub fn changes_for(height: u64, seed: u64, n: usize, key_space: u64) -> StateChanges {
    let mut rng = SplitMix64(seed ^ height.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut changes = StateChanges::new();
    for _ in 0..n {
        let k = rng.next_u64() % key_space.max(1);
        let key = format!("lots/lot-{k:08}").into_bytes();
        let value = if rng.next_u64().is_multiple_of(8) {
            None
        } else {
            Some(format!("event at height {height}: {}", rng.next_u64()).into_bytes())
        };
        changes.insert(key, value);
    }
    changes
}

/// A tiny seeded generator (SplitMix64): enough for reproducible test data.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
