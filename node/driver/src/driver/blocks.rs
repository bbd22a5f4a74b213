//! Proposed blocks: held unexamined until a verified proposal of their
//! round's proposer names them, then executed once and reported to consensus.

use super::*;

impl<L: Ledger, W: ConsensusLog, P: Peer> Driver<L, W, P> {
    /// A gossiped block: held, unexamined, until a verified proposal names it
    /// (`examine`). Its round, valid round and proposer as gossiped are not
    /// trusted: the proposal that names it says them, signed.
    pub(super) fn on_block(
        &mut self,
        from: P,
        message: MessageId,
        proposed: ProposedBlock,
        effects: &mut Vec<Effect<P>>,
    ) -> Result<(), Fatal> {
        let height = proposed.block.header.height;
        let current = self.height();
        if height < current || height > current + AHEAD_HEIGHTS_MAX {
            effects.push(Effect::Validate(message, from, Verdict::Ignore));
            return Ok(());
        }
        let id = BlockId(proposed.block.hash());
        if self.candidates.contains_key(&id) {
            effects.push(Effect::Validate(message, from, Verdict::Accept));
            return Ok(());
        }
        if self.held.contains(&id) {
            // A copy: the first stays charged to the peer that sent it.
            effects.push(Effect::Validate(message, from, Verdict::Ignore));
            return Ok(());
        }
        let evicted = self.held.insert(from, id, proposed.block, message);
        self.metrics
            .blocks_unnamed_dropped
            .inc_by(evicted.len() as u64);
        for (peer, message) in evicted {
            effects.push(Effect::Validate(message, peer, Verdict::Ignore));
        }
        self.carry_out(Vec::new(), effects)
    }

    /// A proposal for this height or one of the next, signed by its round's
    /// proposer (`on_consensus` checked it): kept if its round is near, then
    /// its block examined.
    pub(super) fn on_verified_proposal(
        &mut self,
        p: &ProposalSeen,
        effects: &mut Vec<Effect<P>>,
    ) -> Result<(), Fatal> {
        let height = p.height;
        let round_now = if height == self.height() {
            self.consensus.round().unwrap_or(0)
        } else {
            0
        };
        if p.round > round_now.saturating_add(PROPOSAL_ROUNDS_AHEAD_MAX) {
            return Ok(());
        }
        let naming = Naming {
            value: p.value,
            valid_round: p.valid_round,
            proposer: p.proposer,
            delivered: false,
        };
        if self.namings.insert(height, p.round, naming) {
            self.carry_out(Vec::new(), effects)?;
        }
        Ok(())
    }

    /// The next block of the current height that a kept proposal names,
    /// for rounds up to `EXAMINE_ROUNDS_AHEAD_MAX` past this node's, executed
    /// (once) and reported to consensus: the outputs of that report, or
    /// `None` when no named block is due.
    pub(super) fn examine_next(
        &mut self,
        effects: &mut Vec<Effect<P>>,
    ) -> Result<Option<Vec<Output>>, Fatal> {
        loop {
            let height = self.height();
            let round_max = self
                .consensus
                .round()
                .unwrap_or(0)
                .saturating_add(EXAMINE_ROUNDS_AHEAD_MAX);
            let (candidates, held) = (&self.candidates, &self.held);
            let Some((round, naming)) = self.namings.next_deliverable(height, round_max, |id| {
                candidates.contains_key(id) || held.contains(id)
            }) else {
                return Ok(None);
            };
            if let Some((block, from, message)) = self.held.take(&naming.value) {
                // Named: worth forwarding, whatever its execution says
                // (others judge it themselves).
                effects.push(Effect::Validate(message, from, Verdict::Accept));
                if !self.check_candidate(block)? {
                    continue;
                }
            }
            let valid = self
                .candidates
                .get(&naming.value)
                .is_some_and(|c| c.executed.is_some());
            let named = NamedBlock {
                height,
                round,
                valid_round: naming.valid_round,
                proposer: naming.proposer,
                value: naming.value,
                valid,
            };
            // An error is the core's refusal of what a peer said, not ours.
            return Ok(Some(match self.consensus.on_named_block(named) {
                Ok(outputs) => outputs,
                Err(e) => {
                    tracing::debug!(error = %e, "proposed value refused");
                    Vec::new()
                }
            }));
        }
    }

    /// Checks (executes) a named block of the current height once and keeps
    /// it as a candidate, valid or not; `false` if it cannot be judged yet
    /// (its time is ahead of this node's clock: not kept, the same block may
    /// be fine when proposed again).
    pub(super) fn check_candidate(&mut self, block: Block) -> Result<bool, Fatal> {
        let height = block.header.height;
        let known = self.mempool.known_valid(&block.txs);
        let unknown = known.iter().filter(|k| !**k).count();
        self.metrics.block_txs_unverified.inc_by(unknown as u64);
        // Timed for the metrics and the debug log; nothing decides by it.
        let started = std::time::Instant::now();
        let checked = self.chain.check(&block, self.now_ms, &known);
        let elapsed = started.elapsed();
        self.metrics.block_check.observe(elapsed.as_secs_f64());
        tracing::debug!(
            height,
            txs = block.txs.len(),
            unknown,
            check_ms = elapsed.as_millis(),
            "checked"
        );
        let executed = match checked {
            Ok(executed) => Some(executed),
            Err(e @ (LedgerError::Invalid(_) | LedgerError::NotExtending { .. })) => {
                tracing::warn!(height, why = %e, "proposed block is invalid");
                self.metrics.blocks_invalid.inc();
                None
            }
            Err(LedgerError::Future(why)) => {
                tracing::warn!(height, %why, "proposed block is ahead of this node's clock");
                return Ok(false);
            }
            Err(e) => return Err(e.into()),
        };
        self.candidates
            .insert(BlockId(block.hash()), Candidate { block, executed });
        Ok(true)
    }
}
