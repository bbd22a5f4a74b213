//! Votes, proposals and certificates from the network: forwarded only when
//! they can count (signed by a validator; a proposal by its round's proposer).

use super::*;

impl<L: Ledger, W: ConsensusLog, P: Peer> Driver<L, W, P> {
    /// A vote, proposal or certificate. Forwarded only when it can count: a
    /// vote must be signed by a validator and a proposal by its round's
    /// proposer (checked here, so that a forged one goes no further than this
    /// node; the core reuses the check instead of verifying again).
    pub(super) fn on_consensus(
        &mut self,
        from: P,
        id: MessageId,
        input: NetworkInput,
        effects: &mut Vec<Effect<P>>,
    ) -> Result<(), Fatal> {
        let height = input.height();
        let current = self.height();
        if height < current {
            effects.push(Effect::Validate(id, from, Verdict::Ignore));
            return Ok(());
        }
        // The set of a far height may not be known yet: the latest one
        // stands in. A vote that fails there is still rejected: a lagging
        // node may then graylist, for seconds, a validator added since (it
        // catches up by sync, which gossip scores do not touch), but junk
        // signed for far heights cannot make it verify without end.
        let signed = if height == current {
            let set = self.consensus.validators();
            self.consensus.check_signature(set, &input)
        } else {
            let set = ConsensusValidatorSet::new(self.chain.validator_set(height).clone());
            self.consensus.check_signature(&set, &input)
        };
        if signed == Some(false) {
            // Not disconnected: scoring keeps it out if it goes on.
            effects.push(Effect::Validate(id, from, Verdict::Reject));
            return Ok(());
        }
        if signed == Some(true) {
            // Only a validator's signature says how far the chain has got.
            self.maybe_sync(Some((from, height)), effects);
        }
        if height > current + AHEAD_HEIGHTS_MAX {
            effects.push(Effect::Validate(id, from, Verdict::Ignore));
            return Ok(());
        }
        effects.push(Effect::Validate(id, from, Verdict::Accept));
        let proposal = input.proposal();
        // Refusals (a certificate's bad vote, a stale round) are the core's;
        // an error here is what a peer said, not ours.
        match self.consensus.on_network(input) {
            Ok(outputs) => self.carry_out(outputs, effects)?,
            Err(e) => tracing::debug!(error = %e, "consensus input refused"),
        }
        if let Some(p) = proposal {
            self.on_verified_proposal(&p, effects)?;
        }
        Ok(())
    }
}
