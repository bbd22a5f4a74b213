//! The attacker's messages, made without I/O: each is well-formed where a
//! well-formed lie hurts most (correctly signed by the key the attacker
//! holds), malformed where the parser is the target.

use filiera_types::block::{Block, Header};
use filiera_types::crypto::CryptoError;
use filiera_types::evidence::{Proposal, SignedProposal};
use filiera_types::{
    Address, ChainId, ContractCall, ContractId, Hash, MethodName, SecretKey, SignKind,
    SignedTransaction, Transaction, ValidatorSet, Vote, VoteKind, encoding,
};
use filiera_wire::{Gossip, ProposedBlock, SyncRequest, Topic};

/// Rounds of a height the attacker signs conflicting messages for.
pub const EQUIVOCATION_ROUNDS: u32 = 2;
/// Heights ahead of the one seen that unnamed blocks are made for.
pub const BLOCK_HEIGHTS_AHEAD: u64 = 3;
/// Unnamed blocks per height and tick.
pub const BLOCKS_PER_HEIGHT: u64 = 8;

/// A block that no proposal names, for `height`, `proposer` named in it.
/// `salt` makes each one different (a different hash).
pub fn unnamed_block(chain: &ChainId, proposer: Address, height: u64, salt: u64) -> Gossip {
    let header = Header {
        version: 1,
        chain_id: chain.clone(),
        height,
        time_ms: salt,
        parent_hash: Hash([7; 32]),
        txs_root: Block::compute_txs_root(&[]),
        receipts_root: Hash(blake3::hash(&salt.to_le_bytes()).into()),
        state_root: Hash([(salt % 251) as u8; 32]),
        validator_set_hash: Hash([0; 32]),
        next_validator_set_hash: Hash([0; 32]),
        proposer,
    };
    Gossip::Block(ProposedBlock {
        round: 0,
        valid_round: None,
        proposer,
        block: Block {
            header,
            txs: vec![],
        },
    })
}

/// Two votes of `key` in the same step of `height` and `round`, one for
/// nil, one for a block that does not exist: a true equivocation, each vote
/// correctly signed. As gossip payloads.
pub fn conflicting_votes(
    chain: &ChainId,
    key: &SecretKey,
    kind: VoteKind,
    height: u64,
    round: u32,
) -> Result<[Vec<u8>; 2], ForgeError> {
    let vote = |block_hash| -> Result<Vec<u8>, ForgeError> {
        let signed = Vote {
            kind,
            height,
            round,
            block_hash,
            validator: key.public_key().address(),
        }
        .sign(chain.as_str(), key)?;
        let bytes = filiera_consensus::wal::encode_signed_vote(&signed)
            .map_err(|e| ForgeError::Encode(e.to_string()))?;
        Ok(Gossip::Consensus(bytes).encode())
    };
    Ok([vote(None)?, vote(Some(fake_hash(height, round)))?])
}

/// Two proposals of `key` for `height` and `round`, naming two different
/// blocks, when `key` is that round's proposer in `set`; `None` otherwise
/// (a proposal from anyone else is refused before it could count).
pub fn conflicting_proposals(
    chain: &ChainId,
    key: &SecretKey,
    set: &ValidatorSet,
    height: u64,
    round: u32,
) -> Result<Option<[Vec<u8>; 2]>, ForgeError> {
    let me = key.public_key().address();
    if filiera_consensus::proposer_of(set, height, round) != me {
        return Ok(None);
    }
    let proposal = |salt: u8| -> Result<Vec<u8>, ForgeError> {
        let mut hash = fake_hash(height, round).0;
        hash[31] = salt;
        let proposal = Proposal {
            height,
            round,
            block_hash: Hash(hash),
            pol_round: -1,
            proposer: me,
        };
        let signature = key.sign(
            chain.as_str(),
            SignKind::Proposal,
            &encoding::encode(&proposal),
        )?;
        let bytes = filiera_consensus::wal::encode_signed_proposal(&SignedProposal {
            proposal,
            signature,
        })
        .map_err(|e| ForgeError::Encode(e.to_string()))?;
        Ok(Gossip::Consensus(bytes).encode())
    };
    Ok(Some([proposal(1)?, proposal(2)?]))
}

/// A hash no block has, the same for one height and round.
fn fake_hash(height: u64, round: u32) -> Hash {
    let mut seed = height.to_le_bytes().to_vec();
    seed.extend_from_slice(&round.to_le_bytes());
    seed.extend_from_slice(b"filiera-byzantine");
    Hash(blake3::hash(&seed).into())
}

/// A transaction of `key` whose signature does not verify (one bit of it
/// flipped), as gossip.
pub fn forged_transaction(
    chain: &ChainId,
    key: &SecretKey,
    nonce: u64,
) -> Result<Gossip, ForgeError> {
    let tx = Transaction {
        chain_id: chain.clone(),
        sender: key.public_key(),
        nonce,
        expiry_height: u64::MAX,
        call: ContractCall {
            contract: ContractId::new("lots").map_err(|e| ForgeError::Encode(e.to_string()))?,
            method: MethodName::new("commission").map_err(|e| ForgeError::Encode(e.to_string()))?,
            args: nonce.to_le_bytes().to_vec(),
        },
    }
    .sign(key)?;
    let mut bytes = tx.encode();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let forged =
        SignedTransaction::decode(&bytes).map_err(|e| ForgeError::Encode(e.to_string()))?;
    Ok(Gossip::Tx(forged))
}

/// The seed of the key of no member that [`stranger_transactions`] signs
/// with: a test asks the chain for its nonce, which must stay 0.
pub const STRANGER_SEED: [u8; 32] = *b"filiera-byzantine-stranger-key!!";

/// The key of no member that signs [`stranger_transactions`].
pub fn stranger_key() -> SecretKey {
    SecretKey::from_seed(&STRANGER_SEED)
}

/// `count` well-signed transactions of a key of no member (nonces from
/// `first_nonce`), as one gossip message: only members write, so every node
/// must drop them unverified and no block may hold one.
pub fn stranger_transactions(
    chain: &ChainId,
    first_nonce: u64,
    count: u64,
) -> Result<Gossip, ForgeError> {
    let key = stranger_key();
    let mut txs = Vec::new();
    for nonce in first_nonce..first_nonce + count {
        txs.push(
            Transaction {
                chain_id: chain.clone(),
                sender: key.public_key(),
                nonce,
                expiry_height: u64::MAX,
                call: ContractCall {
                    contract: ContractId::new("lots")
                        .map_err(|e| ForgeError::Encode(e.to_string()))?,
                    method: MethodName::new("commission")
                        .map_err(|e| ForgeError::Encode(e.to_string()))?,
                    args: nonce.to_le_bytes().to_vec(),
                },
            }
            .sign(&key)?,
        );
    }
    Ok(Gossip::Txs(txs))
}

/// Junk for each topic: bytes that decode as nothing, and messages that
/// decode but came on a topic not theirs.
pub fn junk(salt: u64, vote: &[u8], block: &[u8]) -> Vec<(Topic, Vec<u8>)> {
    let noise: Vec<u8> = blake3::hash(&salt.to_le_bytes()).as_bytes().repeat(4);
    vec![
        (Topic::Consensus, noise.clone()),
        (Topic::Blocks, noise.clone()),
        (Topic::Transactions, noise),
        // A vote where blocks go, a block where transactions go.
        (Topic::Blocks, vote.to_vec()),
        (Topic::Transactions, block.to_vec()),
        // A frame of a known kind cut short.
        (Topic::Consensus, vote[..vote.len() / 2].to_vec()),
    ]
}

/// Requests for everything, for what does not exist yet, and for what
/// follows `height` (how the attacker keeps up with the chain once its
/// junk has cost it its place in the gossip mesh).
pub fn greedy_sync_requests(height: u64) -> [Vec<u8>; 3] {
    let request = |from_height| {
        SyncRequest {
            from_height,
            count: u32::MAX,
        }
        .encode()
    };
    [
        request(1),
        request(height.saturating_add(1_000_000)),
        request(height.saturating_add(1)),
    ]
}

/// Why a message could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    /// Signing failed.
    #[error("signing: {0}")]
    Sign(#[from] CryptoError),
    /// Encoding failed.
    #[error("encoding: {0}")]
    Encode(String),
}
