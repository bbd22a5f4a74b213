//! Transactions: clients' submissions and gossiped ones, admitted to the
//! mempool and gossiped onward in batches.

use super::*;

impl<L: Ledger, W: ConsensusLog, P: Peer> Driver<L, W, P> {
    /// Admits a client's transaction and queues it for gossip.
    pub(super) fn submit(
        &mut self,
        verified: Verified,
        effects: &mut Vec<Effect<P>>,
    ) -> Result<Hash, AdmitError> {
        let tx = verified.tx().clone();
        let result = self.admit(verified);
        if result.is_ok() {
            // Gossiped in batches: per-message costs (signing, framing,
            // caches) dominate a transaction's size.
            if self.tx_outbox.is_empty() {
                effects.push(Effect::FlushTxsAfter(TX_GOSSIP_DELAY_MS));
            }
            self.tx_outbox.push(tx);
            if self.tx_outbox.len() >= TX_GOSSIP_BATCH_MAX {
                self.flush_txs(effects);
            }
        }
        result
    }

    /// Gossips the transactions admitted since the last batch, if any.
    pub(super) fn flush_txs(&mut self, effects: &mut Vec<Effect<P>>) {
        if !self.tx_outbox.is_empty() {
            let txs = std::mem::take(&mut self.tx_outbox);
            effects.push(Effect::Gossip(
                Topic::Transactions,
                Gossip::Txs(txs).encode(),
            ));
        }
    }

    pub(super) fn admit(&mut self, tx: Verified) -> Result<Hash, AdmitError> {
        let unavailable = |_| AdmitError::Busy("state unavailable");
        let sender = &tx.tx().tx.sender;
        let committed_nonce = self.chain.nonce(sender).map_err(unavailable)?;
        let standing = self
            .chain
            .standing(&tx.tx().tx, self.height())
            .map_err(unavailable)?;
        let params = self.chain.params();
        // The door applies the limits of the block the transaction may join.
        let limits = self.chain.limits(self.height());
        let ctx = AdmitContext {
            chain_id: &params.chain_id,
            next_height: self.height(),
            committed_nonce,
            tx_bytes_max: limits.tx_bytes_max,
            tx_expiry_blocks_max: limits.tx_expiry_blocks_max,
            standing,
        };
        let result = self.mempool.admit_verified(tx, &ctx);
        if let Err(e) = &result {
            self.metrics.count_refused(e);
        }
        result
    }

    /// Admits a gossiped transaction; `Reject` if its signature is bad (no
    /// node would take it), else `Accept` whatever admission says: races on
    /// nonces are normal between nodes, and a refusal is not misbehaviour.
    pub(super) fn admit_unverified(&mut self, tx: SignedTransaction) -> Verdict {
        // A stranger's transaction costs a state read, not a verification;
        // it may be a race with a suspension, so no blame, but no forwarding.
        if let Ok(standing) = self.chain.standing(&tx.tx, self.height())
            && let Err(refusal) = admission::standing_allows(&tx.tx, standing)
        {
            self.metrics.count_refused(&AdmitError::Refused(refusal));
            return Verdict::Ignore;
        }
        match Verified::check(tx) {
            Ok(v) => {
                let _ = self.admit(v);
                Verdict::Accept
            }
            Err(e) => {
                self.metrics.count_refused(&e);
                Verdict::Reject
            }
        }
    }
}
