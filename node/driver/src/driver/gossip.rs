//! Gossip as it arrives: decoded strictly, routed by topic, and judged
//! (accept, ignore, reject) before the network forwards it.

use super::*;

impl<L: Ledger, W: ConsensusLog, P: Peer> Driver<L, W, P> {
    pub(super) fn on_network(
        &mut self,
        event: PeerEvent<P>,
        effects: &mut Vec<Effect<P>>,
    ) -> Result<(), Fatal> {
        match event {
            PeerEvent::Message {
                from,
                topic,
                id,
                data,
            } => self.on_gossip(from, id, topic, &data, effects)?,
            PeerEvent::SyncRequest { from, id, data } => {
                self.on_sync_request(from, id, &data, effects)?
            }
            PeerEvent::SyncResponse { from, data } => {
                self.on_sync_response(from, &data, effects)?
            }
            PeerEvent::SyncFailed(peer) => {
                if self.sync_sent.is_some_and(|(p, _)| p == peer) {
                    self.sync_sent = None;
                }
                // Ask someone else next time.
                if let Some(h) = self.peers.get_mut(&peer) {
                    *h = 0;
                }
            }
            PeerEvent::Connected(peer) => {
                self.peers.entry(peer).or_insert(0);
            }
            PeerEvent::Disconnected(peer) => {
                self.peers.remove(&peer);
                self.distrusted.remove(&peer);
            }
        }
        Ok(())
    }

    pub(super) fn on_gossip(
        &mut self,
        from: P,
        id: MessageId,
        topic: Topic,
        data: &[u8],
        effects: &mut Vec<Effect<P>>,
    ) -> Result<(), Fatal> {
        let gossip = match Gossip::decode(data) {
            Ok(g) => g,
            Err(e) => {
                self.reject(from, id, &e.to_string(), effects);
                return Ok(());
            }
        };
        match (topic, gossip) {
            (Topic::Consensus, Gossip::Consensus(bytes)) => {
                let input = match NetworkInput::decode(&bytes) {
                    Ok(i) => i,
                    Err(e) => {
                        self.reject(from, id, &e.to_string(), effects);
                        return Ok(());
                    }
                };
                self.on_consensus(from, id, input, effects)?;
            }
            // A block is unsigned: its height says nothing about its sender's.
            (Topic::Blocks, Gossip::Block(proposed)) => {
                self.on_block(from, id, proposed, effects)?
            }
            // Normally verified before the driver (node::pre_verify); these
            // paths stay whole for any caller that hands gossip over as is.
            (Topic::Transactions, Gossip::Tx(tx)) => {
                let verdict = self.admit_unverified(tx);
                effects.push(Effect::Validate(id, from, verdict));
            }
            (Topic::Transactions, Gossip::Txs(txs)) => {
                if txs.len() > TX_GOSSIP_BATCH_MAX {
                    self.reject(from, id, "transaction batch over its limit", effects);
                    return Ok(());
                }
                let mut verdict = Verdict::Accept;
                for tx in txs {
                    if self.admit_unverified(tx) == Verdict::Reject {
                        verdict = Verdict::Reject;
                    }
                }
                effects.push(Effect::Validate(id, from, verdict));
            }
            _ => self.reject(from, id, "message on the wrong topic", effects),
        }
        Ok(())
    }

    /// A message no node would accept, from the peer that handed it over:
    /// with validation on, honest peers never forward one, so it is that
    /// peer's own. Not forwarded, scored against it, and it is disconnected.
    pub(super) fn reject(
        &mut self,
        from: P,
        id: MessageId,
        why: &str,
        effects: &mut Vec<Effect<P>>,
    ) {
        effects.push(Effect::Validate(id, from, Verdict::Reject));
        self.penalise(from, why, effects);
    }

    pub(super) fn penalise(&mut self, peer: P, why: &str, effects: &mut Vec<Effect<P>>) {
        tracing::warn!(%peer, why, "disconnecting a peer that sent malformed data");
        self.metrics.peers_penalised.inc();
        effects.push(Effect::Disconnect(peer));
    }
}
