//! Building this node's proposal: paced after the last commit, earlier once
//! the mempool holds a full block.

use super::*;

impl<L: Ledger, W: ConsensusLog, P: Peer> Driver<L, W, P> {
    /// Whether the mempool holds a full block: at least `block_txs_max`
    /// transactions or the block's bytes. Waiting for the pacing interval
    /// would then only add latency (block building by size).
    pub(super) fn pool_holds_a_block(&self) -> bool {
        let (txs_bytes_max, block_txs_max) = self.block_room();
        self.mempool.len() >= block_txs_max || self.mempool.bytes() >= txs_bytes_max
    }

    /// Room for transactions in a block: (bytes, count).
    pub(super) fn block_room(&self) -> (usize, usize) {
        // The limits of the height being decided: a change scheduled for it
        // was known a notice period ahead.
        let limits = self.chain.limits(self.height());
        let size = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        // Room for the header and framing inside the block limit.
        let txs_bytes_max = size(limits.block_bytes_max).saturating_sub(BLOCK_FRAMING_BYTES);
        (txs_bytes_max, size(limits.block_txs_max))
    }

    /// Builds the pending proposal now if the mempool holds a full block.
    ///
    /// Not while catching up (the height is likely decided elsewhere already:
    /// the block would be executed for nothing), nor above `halt_height`
    /// (the runner stops after the event that commits it and must not find a
    /// later height begun).
    pub(super) fn build_if_full(&mut self, effects: &mut Vec<Effect<P>>) -> Result<(), Fatal> {
        let Some((height, round)) = self.build_pending else {
            return Ok(());
        };
        let halting = self.halt_height.is_some_and(|halt| height > halt);
        if halting
            || self.sync_sent.is_some()
            || !self.build_by_size_armed
            || !self.pool_holds_a_block()
        {
            return Ok(());
        }
        if self.build(height, round, effects)? {
            self.metrics.blocks_built_by_size.inc();
        }
        Ok(())
    }

    /// Builds and proposes the block consensus asked for; `false` if that
    /// request was already built or superseded (height or round moved on).
    pub(super) fn build(
        &mut self,
        height: u64,
        round: u32,
        effects: &mut Vec<Effect<P>>,
    ) -> Result<bool, Fatal> {
        // Once per request: a proposal built by size is not built again when
        // its pacing timer fires.
        if self.build_pending != Some((height, round)) {
            return Ok(false);
        }
        self.build_pending = None;
        if self.height() != height || self.consensus.round() != Some(round) {
            return Ok(false);
        }
        let (txs_bytes_max, block_txs_max) = self.block_room();
        let chain = &self.chain;
        // A transaction let in under larger limits waits (and expires) rather
        // than make the block invalid.
        let tx_bytes_max = usize::try_from(chain.limits(height).tx_bytes_max).unwrap_or(usize::MAX);
        let mut nonce_error = None;
        // Timed for the metrics and the debug log; nothing decides by it.
        let started = std::time::Instant::now();
        // A sender suspended since admission is skipped: the block would be
        // invalid with its transactions (standing is judged before the block).
        let room = (txs_bytes_max, block_txs_max, tx_bytes_max);
        let txs = self.mempool.take(room, |tx| {
            let sender = &tx.tx.sender;
            let standing = chain.standing(&tx.tx, height);
            match standing.and_then(|s| Ok((s, chain.nonce(sender)?))) {
                Ok((s, nonce)) => admission::standing_allows(&tx.tx, s).ok().map(|()| nonce),
                Err(e) => {
                    nonce_error = Some(e);
                    None
                }
            }
        });
        if let Some(e) = nonce_error {
            return Err(e.into());
        }
        let (block, executed) = self.chain.build(height, self.now_ms, self.address, txs)?;
        let elapsed = started.elapsed();
        self.metrics.block_build.observe(elapsed.as_secs_f64());
        let id = BlockId(block.hash());
        tracing::debug!(height, round, txs = block.txs.len(), build_ms = elapsed.as_millis(), block = %id.0, "proposing");
        let proposal = Gossip::Block(ProposedBlock {
            round,
            valid_round: None,
            proposer: self.address,
            block: block.clone(),
        })
        .encode();
        self.build_by_size_armed = half_full(
            block.txs.len(),
            block_txs_max,
            proposal.len(),
            txs_bytes_max,
        );
        effects.push(Effect::Gossip(Topic::Blocks, proposal));
        self.candidates.insert(
            id,
            Candidate {
                block,
                executed: Some(executed),
            },
        );
        let outputs = self.consensus.propose(height, round, id)?;
        self.carry_out(outputs, effects)?;
        Ok(true)
    }
}
