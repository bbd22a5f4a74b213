//! Block sync both ways: asking the peer seen furthest ahead (by signed
//! messages only) when stalled, committing what it sends by certificate, and
//! answering others from the store.

use super::*;

impl<L: Ledger, W: ConsensusLog, P: Peer> Driver<L, W, P> {
    pub(super) fn maybe_sync(&mut self, seen: Option<(P, u64)>, effects: &mut Vec<Effect<P>>) {
        let current = self.height();
        if let Some((peer, height)) = seen {
            if self
                .distrusted
                .get(&peer)
                .is_some_and(|until| *until > self.now_ms)
            {
                return;
            }
            let known = self.peers.entry(peer).or_insert(0);
            *known = (*known).max(height);
            // One height ahead is normal just before this node decides too.
            if height <= current + 1 {
                return;
            }
        } else {
            let stalled = self.now_ms.saturating_sub(self.last_commit_ms) >= SYNC_STALL_MS;
            if !stalled {
                return;
            }
        }
        self.request_sync(effects);
    }

    pub(super) fn request_sync(&mut self, effects: &mut Vec<Effect<P>>) {
        let current = self.height();
        if self
            .sync_sent
            .is_some_and(|(_, at)| self.now_ms.saturating_sub(at) < SYNC_RETRY_MS)
        {
            return;
        }
        // The peer seen furthest ahead; ties by id, so the choice is stable.
        let Some((&peer, _)) = self
            .peers
            .iter()
            .filter(|(_, h)| **h > current)
            .max_by_key(|(p, h)| (**h, std::cmp::Reverse(**p)))
        else {
            return;
        };
        // Once a fork is suspected, the blocks before this node's height
        // too: their certificates show where the chains part.
        let from_height = if self.fork_suspected {
            current.saturating_sub(fork::FORK_LOOKBACK_BLOCKS).max(1)
        } else {
            current
        };
        let request = SyncRequest {
            from_height,
            count: SYNC_BATCH_BLOCKS_MAX,
        };
        tracing::info!(%peer, from_height, "requesting blocks");
        self.sync_sent = Some((peer, self.now_ms));
        effects.push(Effect::Request(peer, request.encode()));
    }

    /// A sync request handed to the driver (the node answers them off this
    /// thread; this path stays whole for any caller that
    /// hands network events over as they come).
    pub(super) fn on_sync_request(
        &mut self,
        from: P,
        id: u64,
        data: &[u8],
        effects: &mut Vec<Effect<P>>,
    ) -> Result<(), Fatal> {
        let response = match self.chain.sync_answer(data) {
            Ok(r) => r,
            Err(SyncAnswerError::Malformed(e)) => {
                self.penalise(from, &e.to_string(), effects);
                SyncResponse { blocks: Vec::new() }
            }
            Err(SyncAnswerError::Broken(e)) => return Err(Fatal::Storage(e)),
        };
        // Answered even when empty, so the network releases the ticket.
        effects.push(Effect::Respond(id, response.encode()));
        Ok(())
    }

    pub(super) fn on_sync_response(
        &mut self,
        from: P,
        data: &[u8],
        effects: &mut Vec<Effect<P>>,
    ) -> Result<(), Fatal> {
        if self.sync_sent.is_some_and(|(p, _)| p == from) {
            self.sync_sent = None;
        }
        self.metrics.sync_bytes_received.inc_by(data.len() as u64);
        let response = match SyncResponse::decode(data) {
            Ok(r) => r,
            Err(e) => {
                self.penalise(from, &e.to_string(), effects);
                return Ok(());
            }
        };
        let mut any = false;
        for (block, cert) in response.blocks {
            let height = block.header.height;
            if height < self.height() {
                self.compare_committed(from, &cert, effects)?;
                continue;
            }
            if height != self.height() {
                continue;
            }
            match self.chain.commit_synced(&block, &cert, self.now_ms) {
                Ok(receipts) => self.count_failed(&receipts),
                // Certified (the chain checks the certificate first), yet
                // not on this node's chain.
                Err(LedgerError::NotExtending { .. }) => {
                    self.suspect_fork(height, effects);
                    return Ok(());
                }
                Err(LedgerError::Invalid(why) | LedgerError::Future(why)) => {
                    self.penalise(from, &format!("synced block: {why}"), effects);
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            }
            tracing::info!(height = block.header.height, "committed from sync");
            self.metrics.blocks_synced.inc();
            any = true;
            let outputs = self.after_commit(&block, effects)?;
            self.carry_out(outputs, effects)?;
        }
        if !any {
            // A peer that claimed to be ahead but had nothing for us is
            // neither asked again nor believed for a while.
            if let Some(h) = self.peers.get_mut(&from) {
                *h = 0;
            }
            self.distrusted
                .insert(from, self.now_ms.saturating_add(SYNC_DISTRUST_MS));
        } else if self.peers.get(&from).is_some_and(|h| *h > self.height()) {
            // Still behind the peer: ask for the next batch.
            self.request_sync(effects);
        }
        Ok(())
    }
}
