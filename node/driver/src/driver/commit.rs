//! Consensus outputs carried out in order, through one queue: WAL appends,
//! publications, timers, decisions and their commit, evidence. Outputs of
//! starting the next height and of blocks examined meanwhile join the queue,
//! so no handler calls back into another.

use super::*;

impl<L: Ledger, W: ConsensusLog, P: Peer> Driver<L, W, P> {
    /// Carries out consensus outputs in order (WAL first, see the module
    /// docs); once none is left, reports the next named block that is due
    /// (the round or height may have moved on) and carries out what that
    /// gives, until neither is left. The one place outputs are carried out:
    /// handlers return outputs to this queue, they never call back.
    pub(super) fn carry_out(
        &mut self,
        outputs: Vec<Output>,
        effects: &mut Vec<Effect<P>>,
    ) -> Result<(), Fatal> {
        let mut work: VecDeque<Output> = outputs.into();
        loop {
            while let Some(output) = work.pop_front() {
                self.carry_out_one(output, &mut work, effects)?;
            }
            match self.examine_next(effects)? {
                Some(more) => work.extend(more),
                None => return Ok(()),
            }
        }
    }

    pub(super) fn carry_out_one(
        &mut self,
        output: Output,
        work: &mut VecDeque<Output>,
        effects: &mut Vec<Effect<P>>,
    ) -> Result<(), Fatal> {
        {
            match output {
                Output::WalAppend(_, input) => {
                    let bytes = wal::encode(&input).map_err(|e| Fatal::Encoding(e.to_string()))?;
                    self.wal.append(&bytes).map_err(wal_failed)?;
                }
                Output::Publish(msg) => {
                    let bytes = msg.encode().map_err(|e| Fatal::Encoding(e.to_string()))?;
                    effects.push(Effect::Gossip(
                        Topic::Consensus,
                        Gossip::Consensus(bytes).encode(),
                    ));
                }
                Output::ScheduleTimeout(t, ms) => effects.push(Effect::Schedule(t, ms)),
                Output::CancelTimeout(t) => effects.push(Effect::Cancel(t)),
                Output::CancelAllTimeouts => effects.push(Effect::CancelAll),
                Output::BuildBlock {
                    height,
                    round,
                    timeout_ms,
                } => {
                    let since_commit_ms = self.now_ms.saturating_sub(self.last_commit_ms);
                    let delay_ms =
                        build_delay_ms(self.pacing.block_interval_ms, since_commit_ms, timeout_ms);
                    // Built when the timer fires, or earlier by `build_if_full`
                    // at the end of an event once the pool holds a full block.
                    self.build_pending = Some((height.0, round));
                    effects.push(Effect::BuildAfter {
                        height: height.0,
                        round,
                        delay_ms,
                    });
                }
                Output::RestreamBlock {
                    round,
                    valid_round,
                    value,
                    ..
                } => {
                    if let Some(c) = self.candidates.get(&value) {
                        effects.push(Effect::Gossip(
                            Topic::Blocks,
                            Gossip::Block(ProposedBlock {
                                round,
                                valid_round,
                                proposer: self.address,
                                block: c.block.clone(),
                            })
                            .encode(),
                        ));
                    }
                }
                Output::RoundStarted { round, .. } => self.metrics.round.set(i64::from(round)),
                Output::Evidence(pairs) => self.on_evidence(pairs, effects),
                Output::Decided(cert) => {
                    if let Some(more) = self.decided(cert, effects)? {
                        // After what is left of the old height, in order.
                        work.extend(more);
                    }
                }
            }
        }
        Ok(())
    }

    /// Commits a decided block; `None` if its block is missing (then it is
    /// fetched by sync).
    pub(super) fn decided(
        &mut self,
        cert: CommitCertificate,
        effects: &mut Vec<Effect<P>>,
    ) -> Result<Option<Vec<Output>>, Fatal> {
        let height = cert.height.0;
        // A block the quorum decided counts even if no proposal of it
        // reached this node: the certificate names it.
        let held = self.held.take(&cert.value_id).map(|(block, from, id)| {
            effects.push(Effect::Validate(id, from, Verdict::Accept));
            Candidate {
                block,
                executed: None,
            }
        });
        let Some(candidate) = self.candidates.remove(&cert.value_id).or(held) else {
            tracing::warn!(
                height,
                "decided a block this node does not hold; syncing it"
            );
            self.request_sync(effects);
            return Ok(None);
        };
        if candidate.executed.is_none() && candidate.block.header.parent_hash != self.head_hash()? {
            // A quorum decided a block that does not extend this node's
            // chain: beyond the fault bound. Never graft it on.
            self.suspect_fork(height, effects);
            return Ok(None);
        }
        let executed = match candidate.executed {
            Some(e) => e,
            // Decided by a quorum although this node judged it invalid: the
            // quorum is right by assumption (at most f faulty), so execute.
            None => {
                let known = self.mempool.known_valid(&candidate.block.txs);
                self.chain.execute(
                    height,
                    candidate.block.header.time_ms,
                    &candidate.block.txs,
                    &known,
                )?
            }
        };
        let certificate = to_certificate(&cert);
        let receipts = L::receipts(&executed).len();
        self.count_failed(L::receipts(&executed));
        let started = std::time::Instant::now();
        self.chain
            .commit(&candidate.block, &certificate, executed)?;
        self.metrics
            .block_commit
            .observe(started.elapsed().as_secs_f64());
        self.metrics
            .finality_latency
            .observe(self.now_ms.saturating_sub(self.height_started_ms) as f64 / 1000.0);
        tracing::info!(height, txs = receipts, block = %cert.value_id.0, "committed");
        self.after_commit(&candidate.block, effects).map(Some)
    }

    pub(super) fn count_failed(&self, receipts: &[filiera_types::receipt::Receipt]) {
        let failed = receipts
            .iter()
            .filter(|r| matches!(r.status, filiera_types::receipt::TxStatus::Failed { .. }))
            .count();
        self.metrics.txs_failed.inc_by(failed as u64);
        let recorded = receipts
            .iter()
            .flat_map(|r| &r.events)
            .filter(|e| e.contract.as_str() == EVIDENCE_CONTRACT)
            .count();
        self.metrics.evidence_recorded.inc_by(recorded as u64);
    }

    /// Equivocation the core kept at the height just decided: logged,
    /// counted, and reported to the chain unless already recorded there.
    pub(super) fn on_evidence(&mut self, pairs: Vec<Equivocation>, effects: &mut Vec<Effect<P>>) {
        self.metrics.evidence.inc_by(pairs.len() as u64);
        let mut new = Vec::new();
        for pair in pairs {
            let o = pair.offence();
            tracing::warn!(
                validator = %o.validator,
                height = o.height,
                round = o.round,
                step = o.step.as_str(),
                "equivocation seen"
            );
            // A store error only costs a duplicate report, which the chain merges.
            if !self.chain.evidence_recorded(&o).unwrap_or(false) && new.len() < EVIDENCE_PER_TX_MAX
            {
                new.push(pair);
            }
        }
        if new.is_empty() {
            return;
        }
        let sender = self.key.public_key();
        let Ok(committed) = self.chain.nonce(&sender) else {
            tracing::warn!("cannot read this node's nonce: evidence not reported");
            return;
        };
        let params = self.chain.params();
        let report = evidence::report_tx(
            &params.chain_id,
            &self.key,
            self.mempool.next_nonce(&sender.address(), committed),
            self.height(),
            EVIDENCE_EXPIRY_BLOCKS.min(self.chain.limits(self.height()).tx_expiry_blocks_max),
            &new,
        )
        .map_err(|e| e.to_string())
        .and_then(|tx| Verified::check(tx).map_err(|e| e.to_string()))
        .and_then(|tx| self.submit(tx, effects).map_err(|e| e.to_string()));
        match report {
            Ok(hash) => {
                self.metrics.evidence_reported.inc();
                tracing::warn!(tx = %hash, pairs = new.len(), "equivocation reported to the chain");
            }
            Err(e) => tracing::warn!(error = %e, "equivocation not reported"),
        }
    }

    /// After a commit (decided or synced): WAL, mempool, metrics; returns
    /// the outputs of starting the next height. Blocks held and named for
    /// it are examined once those outputs are carried out (`carry_out` ends
    /// with `examine`).
    pub(super) fn after_commit(
        &mut self,
        block: &Block,
        effects: &mut Vec<Effect<P>>,
    ) -> Result<Vec<Output>, Fatal> {
        let height = block.header.height;
        // Committed and durable: stopping here, before the WAL moves on to
        // the next height, loses nothing and casts nothing.
        super::rules::gate(&self.chain, &self.metrics, height + 1)?;
        self.wal.reset(height + 1).map_err(wal_failed)?;
        let mut committed = BTreeMap::new();
        for tx in &block.txs {
            let sender = tx.tx.sender.address();
            if let std::collections::btree_map::Entry::Vacant(slot) = committed.entry(sender) {
                slot.insert(self.chain.nonce(&tx.tx.sender)?);
            }
        }
        let tx_bytes_max = self.chain.limits(height + 1).tx_bytes_max;
        let tx_bytes_max = usize::try_from(tx_bytes_max).unwrap_or(usize::MAX);
        self.mempool.prune(height + 1, tx_bytes_max, &committed);
        self.metrics.blocks_committed.inc();
        self.metrics.txs_committed.inc_by(block.txs.len() as u64);
        self.metrics
            .block_interval
            .observe(self.now_ms.saturating_sub(self.last_commit_ms) as f64 / 1000.0);
        self.last_commit_ms = self.now_ms;
        self.height_started_ms = self.now_ms;
        self.fork_suspected = false;
        self.candidates.clear();
        for (from, id) in self.held.prune_below(height + 1) {
            effects.push(Effect::Validate(id, from, Verdict::Ignore));
        }
        self.namings.prune_below(height + 1);
        self.update_allowed(effects)?;
        let set = ConsensusValidatorSet::new(self.chain.validator_set(height + 1).clone());
        Ok(self
            .consensus
            .start_height(Height(height + 1), set, false)?)
    }

    /// Tells the network when the validators' p2p keys change.
    pub(super) fn update_allowed(&mut self, effects: &mut Vec<Effect<P>>) -> Result<(), Fatal> {
        let keys = self.chain.allowed_p2p_keys(self.height())?;
        if keys != self.allowed_validators {
            self.allowed_validators = keys.clone();
            effects.push(Effect::AllowValidators(keys));
        }
        Ok(())
    }
}
