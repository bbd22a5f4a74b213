//! A fork, seen from one node: a peer's block that does not extend this
//! node's chain, and then a valid certificate for another block at a height
//! this node committed. Only more than a third of the voting power
//! equivocating makes that possible, so the two certificates are turned into
//! evidence against every validator that signed both in one round
//! (`filiera_types::evidence::from_certificates`) and reported to the chain
//! like any equivocation. This node does not switch chains: which chain the
//! authority keeps is a governance decision; this node stops committing
//! (nothing it could commit extends its chain) and says why.

use super::*;

/// Heights back from this node's last block that it asks for once a fork is
/// suspected: the certificates there are compared with its own.
pub(super) const FORK_LOOKBACK_BLOCKS: u64 = 16;
/// Heights at which a fork was proven, remembered so that each is counted
/// and reported once (the oldest forgotten first).
const FORK_HEIGHTS_REMEMBERED_MAX: usize = 64;

impl<L: Ledger, W: ConsensusLog, P: Peer> Driver<L, W, P> {
    /// The hash of this node's last committed block (genesis before block 1).
    pub(super) fn head_hash(&self) -> Result<Hash, Fatal> {
        let last = self.height().saturating_sub(1);
        if last == 0 {
            return Ok(self.chain.params().genesis_hash);
        }
        match self.chain.certificate(last)? {
            Some(cert) => Ok(cert.block_hash),
            None => Err(Fatal::Storage(
                format!("the certificate of committed height {last} is missing").into(),
            )),
        }
    }

    /// A block that a quorum decided or certified does not extend this
    /// node's chain: ask for the blocks before it, to compare certificates.
    pub(super) fn suspect_fork(&mut self, height: u64, effects: &mut Vec<Effect<P>>) {
        if !self.fork_suspected {
            tracing::error!(
                height,
                "a certified block does not extend this node's chain: the network may have forked"
            );
        }
        self.fork_suspected = true;
        self.sync_sent = None;
        self.request_sync(effects);
    }

    /// A peer's committed block at a height this node committed: if its
    /// certificate is valid and names another block, the network forked
    /// there; the validators that signed both certificates in one round are
    /// reported.
    pub(super) fn compare_committed(
        &mut self,
        from: P,
        theirs: &filiera_types::CommitCertificate,
        effects: &mut Vec<Effect<P>>,
    ) -> Result<(), Fatal> {
        let height = theirs.height;
        let Some(ours) = self.chain.certificate(height)? else {
            return Ok(());
        };
        if ours.block_hash == theirs.block_hash || self.forks_seen.contains(&height) {
            return Ok(());
        }
        let chain_id = self.chain.params().chain_id.clone();
        if let Err(e) = theirs.verify(chain_id.as_str(), self.chain.validator_set(height)) {
            self.penalise(from, &format!("synced certificate: {e}"), effects);
            return Ok(());
        }
        if self.forks_seen.len() >= FORK_HEIGHTS_REMEMBERED_MAX {
            self.forks_seen.pop_first();
        }
        self.forks_seen.insert(height);
        self.metrics.forks_detected.inc();
        let pairs = from_certificates(&ours, theirs);
        tracing::error!(
            height,
            ours = %ours.block_hash,
            ours_round = ours.round,
            theirs = %theirs.block_hash,
            theirs_round = theirs.round,
            provable = pairs.len(),
            "fork: a valid certificate names another block than this node committed"
        );
        if !pairs.is_empty() {
            self.on_evidence(pairs, effects);
        }
        Ok(())
    }
}
