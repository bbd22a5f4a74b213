//! Transactions waiting for a block: checked at the door, bounded, and
//! handed out fairly.
//!
//! Admission checks everything that does not need execution, by the rules
//! of [`filiera_types::admission`] (which execution applies too): size, chain id,
//! signature (`verify_strict`, possibly earlier and on another thread: see
//! [`Verified`]), expiry, and the nonce against the committed
//! state (no replays of a used nonce, no gap wider than
//! [`MempoolLimits::nonce_gap_max`]). A full pool answers "busy" rather than
//! grow. Block building takes, round-robin across senders, each sender's
//! consecutive nonces, so one busy sender cannot starve the others.

use filiera_types::admission::{self, Refusal};
use filiera_types::{Address, ChainId, Hash, SignedTransaction};
use std::collections::{BTreeMap, BTreeSet};

/// Bounds of the pool.
#[derive(Clone, Copy, Debug)]
pub struct MempoolLimits {
    /// Transactions held, at most.
    pub txs_max: usize,
    /// Encoded bytes held, at most.
    pub bytes_max: usize,
    /// Transactions held per sender, at most.
    pub per_sender_max: usize,
    /// How far above the committed nonce a transaction may be.
    pub nonce_gap_max: u64,
}

impl Default for MempoolLimits {
    fn default() -> Self {
        MempoolLimits {
            txs_max: 50_000,
            bytes_max: 64 * 1024 * 1024,
            per_sender_max: 1_000,
            nonce_gap_max: 1_000,
        }
    }
}

/// What admission is checked against.
#[derive(Clone, Debug)]
pub struct AdmitContext<'a> {
    /// The chain.
    pub chain_id: &'a ChainId,
    /// The height the next block will have.
    pub next_height: u64,
    /// The sender's next nonce in the committed state.
    pub committed_nonce: u64,
    /// Largest encoded transaction, bytes (genesis `tx_bytes_max`).
    pub tx_bytes_max: u64,
    /// Furthest expiry allowed, in blocks after the next height.
    pub tx_expiry_blocks_max: u64,
    /// The sender's standing in the committed state.
    pub standing: admission::Standing,
}

/// Why a transaction was not admitted: a broken rule (the rules live in
/// [`filiera_types::admission`], shared with execution), or the pool's state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    /// It breaks an admission rule: the client must fix it.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Already in the pool (the same transaction, or another one with its nonce).
    #[error("a transaction with this sender and nonce is already pending")]
    Duplicate,
    /// The pool or the sender's share of it is full: try again later.
    #[error("busy: {0}")]
    Busy(&'static str),
}

/// The refusal of a full pool, by the driver or (from its last report) before
/// verification.
pub const POOL_FULL: AdmitError = AdmitError::Busy("the mempool is full");

impl AdmitError {
    /// Whether the client should retry later rather than fix the transaction.
    pub fn is_busy(&self) -> bool {
        matches!(self, AdmitError::Busy(_))
    }

    /// The API's stable code.
    pub fn code(&self) -> &'static str {
        match self {
            AdmitError::Refused(refusal) => refusal.code(),
            AdmitError::Duplicate => "duplicate",
            AdmitError::Busy(_) => "busy",
        }
    }
}

/// A signed transaction whose signature `verify_strict` accepted. Only
/// [`Verified::check`] makes one, so holding one is the proof: the expensive
/// check can run on any thread, before the driver sees the transaction.
#[derive(Clone, Debug)]
pub struct Verified(SignedTransaction);

impl Verified {
    /// Verifies `tx`'s signature.
    pub fn check(tx: SignedTransaction) -> Result<Verified, AdmitError> {
        filiera_execution::signatures::verify(&tx)
            .map_err(|e| Refusal::BadSignature(e.to_string()))?;
        Ok(Verified(tx))
    }

    /// Verifies many at once, spread over the cores
    /// ([`filiera_execution::signatures::check_all`]); one result each, in order.
    pub fn check_all(txs: Vec<SignedTransaction>) -> Vec<Result<Verified, AdmitError>> {
        let valid = filiera_execution::signatures::check_all(&txs, &[]);
        txs.into_iter()
            .zip(valid)
            .map(|(tx, ok)| {
                if ok {
                    Ok(Verified(tx))
                } else {
                    Err(Refusal::BadSignature("signature does not verify".into()).into())
                }
            })
            .collect()
    }

    /// The transaction.
    pub fn tx(&self) -> &SignedTransaction {
        &self.0
    }
}

struct Entry {
    tx: SignedTransaction,
    hash: Hash,
    bytes: usize,
}

/// The pool.
pub struct Mempool {
    limits: MempoolLimits,
    senders: BTreeMap<Address, BTreeMap<u64, Entry>>,
    hashes: BTreeSet<Hash>,
    count: usize,
    bytes: usize,
    /// Where the next block's round-robin over senders starts.
    cursor: Option<Address>,
}

impl Mempool {
    /// An empty pool.
    pub fn new(limits: MempoolLimits) -> Mempool {
        Mempool {
            limits,
            senders: BTreeMap::new(),
            hashes: BTreeSet::new(),
            count: 0,
            bytes: 0,
            cursor: None,
        }
    }

    /// The nonce `sender`'s next transaction needs: the committed one, or
    /// after the run of consecutive nonces this pool holds from it.
    pub fn next_nonce(&self, sender: &Address, committed: u64) -> u64 {
        let mut next = committed;
        if let Some(held) = self.senders.get(sender) {
            while held.contains_key(&next) {
                next += 1;
            }
        }
        next
    }

    /// Transactions held.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Encoded bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether this transaction is pending.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.hashes.contains(hash)
    }

    /// For each of `txs`, whether the pool holds that very signed transaction
    /// (same body and same signature bytes): its signature was verified at
    /// admission and need not be verified again. The id does not cover the
    /// signature, so the signature is compared too.
    pub fn known_valid(&self, txs: &[SignedTransaction]) -> Vec<bool> {
        txs.iter()
            .map(|tx| {
                self.senders
                    .get(&tx.tx.sender.address())
                    .and_then(|q| q.get(&tx.tx.nonce))
                    .is_some_and(|e| e.tx.signature == tx.signature && e.tx.tx == tx.tx)
            })
            .collect()
    }

    /// Checks and admits a transaction; returns its id. The signature is
    /// verified last, after the cheap checks.
    pub fn admit(&mut self, tx: SignedTransaction, ctx: &AdmitContext) -> Result<Hash, AdmitError> {
        self.check(&tx, ctx)?;
        self.admit_verified(Verified::check(tx)?, ctx)
    }

    /// Admits a transaction whose signature was verified already.
    pub fn admit_verified(
        &mut self,
        verified: Verified,
        ctx: &AdmitContext,
    ) -> Result<Hash, AdmitError> {
        let (hash, bytes, sender) = self.check(&verified.0, ctx)?;
        let found = verified.0.tx.nonce;
        self.senders.entry(sender).or_default().insert(
            found,
            Entry {
                tx: verified.0,
                hash,
                bytes,
            },
        );
        self.hashes.insert(hash);
        self.count += 1;
        self.bytes += bytes;
        Ok(hash)
    }

    /// Every check but the signature's: (id, encoded bytes, sender).
    fn check(
        &self,
        tx: &SignedTransaction,
        ctx: &AdmitContext,
    ) -> Result<(Hash, usize, Address), AdmitError> {
        let bytes = borsh::object_length(&tx).unwrap_or(usize::MAX);
        admission::check_size(bytes, ctx.tx_bytes_max)?;
        // The signature is judged by [`Verified`], on its own thread.
        let at = admission::door(
            ctx.chain_id,
            ctx.next_height,
            ctx.committed_nonce,
            self.limits.nonce_gap_max,
            ctx.tx_expiry_blocks_max,
            ctx.standing,
        );
        admission::check(&tx.tx, Ok(()), &at)?;
        let hash = tx.hash();
        if self.hashes.contains(&hash) {
            return Err(AdmitError::Duplicate);
        }
        let found = tx.tx.nonce;
        let sender = tx.tx.sender.address();
        let queue = self.senders.get(&sender);
        if queue.is_some_and(|q| q.contains_key(&found)) {
            return Err(AdmitError::Duplicate);
        }
        if queue.is_some_and(|q| q.len() >= self.limits.per_sender_max) {
            return Err(AdmitError::Busy(
                "this sender has too many pending transactions",
            ));
        }
        if self.count >= self.limits.txs_max || self.bytes + bytes > self.limits.bytes_max {
            return Err(POOL_FULL);
        }
        Ok((hash, bytes, sender))
    }

    /// Transactions for the next block: per sender, consecutive nonces from
    /// its committed nonce; senders taken in turn, one transaction each per
    /// turn, within the block's bytes and count and the size of one
    /// transaction (`(block_bytes_max, block_txs_max, tx_bytes_max)`). `committed_nonce` is `None` for a sender
    /// who may no longer send (suspended since admission): none of theirs
    /// is taken (they leave the pool as they expire).
    pub fn take(
        &mut self,
        (block_bytes_max, block_txs_max, tx_bytes_max): (usize, usize, usize),
        mut committed_nonce: impl FnMut(&SignedTransaction) -> Option<u64>,
    ) -> Vec<SignedTransaction> {
        // (sender, next nonce wanted) for every sender that has something runnable.
        let mut lanes: Vec<(Address, u64)> = Vec::new();
        let start = self.cursor;
        let ordered = self
            .senders
            .iter()
            .filter(|(a, _)| start.is_none_or(|c| **a > c))
            .chain(
                self.senders
                    .iter()
                    .filter(|(a, _)| start.is_some_and(|c| **a <= c)),
            );
        for (address, queue) in ordered {
            if let Some((_, first)) = queue.iter().next()
                && let Some(nonce) = committed_nonce(&first.tx)
            {
                lanes.push((*address, nonce));
            }
        }
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut progressed = true;
        while progressed && out.len() < block_txs_max {
            progressed = false;
            for (address, nonce) in lanes.iter_mut() {
                if out.len() >= block_txs_max {
                    break;
                }
                let Some(entry) = self.senders.get(address).and_then(|q| q.get(nonce)) else {
                    continue;
                };
                // Over a limit lowered since it was let in: its sender's
                // lane stops there until it expires.
                if bytes + entry.bytes > block_bytes_max || entry.bytes > tx_bytes_max {
                    continue;
                }
                bytes += entry.bytes;
                out.push(entry.tx.clone());
                *nonce += 1;
                progressed = true;
            }
        }
        self.cursor = lanes.first().map(|(a, _)| *a);
        out
    }

    /// Drops what a committed block used up: for each sender in `committed`
    /// (address to its next nonce), every transaction below that nonce; and
    /// every transaction that expired, or that is over `tx_bytes_max`, the
    /// limit of `next_height` (lowered since it was let in: no block could
    /// take it, and it would hold room in the pool until it expired).
    pub fn prune(
        &mut self,
        next_height: u64,
        tx_bytes_max: usize,
        committed: &BTreeMap<Address, u64>,
    ) {
        let mut removed = Vec::new();
        for (address, queue) in self.senders.iter_mut() {
            let floor = committed.get(address).copied();
            queue.retain(|nonce, entry| {
                let keep = floor.is_none_or(|f| *nonce >= f)
                    && entry.tx.tx.expiry_height >= next_height
                    && entry.bytes <= tx_bytes_max;
                if !keep {
                    removed.push((entry.hash, entry.bytes));
                }
                keep
            });
        }
        self.senders.retain(|_, q| !q.is_empty());
        for (hash, bytes) in removed {
            self.hashes.remove(&hash);
            self.count -= 1;
            self.bytes -= bytes;
        }
    }

    /// The senders with pending transactions.
    pub fn senders(&self) -> impl Iterator<Item = &Address> {
        self.senders.keys()
    }
}
