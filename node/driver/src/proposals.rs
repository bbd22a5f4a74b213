//! Which gossiped blocks count: a block is examined (executed) only once a
//! correctly signed proposal of its round's proposer names it. Until then it
//! is held, unexamined, in room that each peer has for itself.
//!
//! Why: blocks travel beside proposals and carry no signature of their own;
//! anyone allow-listed can gossip a block for any height, round and claimed
//! proposer. Executing every one, in a table shared by all peers, let one
//! observer fill the table and keep the real proposer's block out. Here an
//! attacker's blocks only evict the attacker's own older blocks, and only
//! the round's proposer can make a block worth executing: at most
//! [`NAMED_PER_ROUND_MAX`] per round (a second is already equivocation), in
//! rounds at most [`PROPOSAL_ROUNDS_AHEAD_MAX`] ahead of this node's.
//!
//! Pure bookkeeping: no I/O, no clock; deterministic (ordered maps only).

use filiera_consensus::BlockId;
use filiera_types::block::Block;
use std::collections::{BTreeMap, VecDeque};

/// Unnamed blocks held per peer, at most; a peer's next block evicts its oldest.
pub const HELD_BLOCKS_PER_PEER_MAX: usize = 4;
/// Unnamed blocks held from all peers, at most (allow-listed peers are few;
/// this bounds memory should many connect): about this many times
/// `block_bytes_max`.
pub const HELD_BLOCKS_MAX: usize = 32;
/// Proposals kept per height and round, at most: the round's proposer signs
/// one; a second is equivocation, kept so that whichever the quorum follows
/// is at hand; more are dropped.
pub const NAMED_PER_ROUND_MAX: usize = 2;
/// Proposals of rounds this far ahead of the node's round are kept (a node
/// that lags a round must not miss its block); later ones are dropped, so a
/// faulty proposer cannot make the node store or execute blocks for rounds
/// without end.
pub const PROPOSAL_ROUNDS_AHEAD_MAX: u32 = 8;

/// A block held until a proposal names it, with the token of the message
/// that brought it (its gossip id: the verdict on it waits for the naming).
struct Held<P, T> {
    block: Block,
    from: P,
    token: T,
}

/// A block given up (evicted or stale): who sent it, and its message's token.
pub type Dropped<P, T> = (P, T);

/// Blocks heard of and not yet named, by id, with each peer's in arrival order.
pub struct HeldBlocks<P, T> {
    blocks: BTreeMap<BlockId, Held<P, T>>,
    by_peer: BTreeMap<P, VecDeque<BlockId>>,
}

impl<P, T> Default for HeldBlocks<P, T> {
    fn default() -> Self {
        HeldBlocks {
            blocks: BTreeMap::new(),
            by_peer: BTreeMap::new(),
        }
    }
}

impl<P: Copy + Ord, T> HeldBlocks<P, T> {
    /// Holds `block` from `from`; returns the held blocks evicted to make
    /// room (the peer's own oldest first). A block already held is given
    /// back (it stays charged to the peer that sent it first).
    pub fn insert(&mut self, from: P, id: BlockId, block: Block, token: T) -> Vec<Dropped<P, T>> {
        if self.blocks.contains_key(&id) {
            return vec![(from, token)];
        }
        let mut evicted = Vec::new();
        let own = self.by_peer.get(&from).map_or(0, VecDeque::len);
        if own >= HELD_BLOCKS_PER_PEER_MAX {
            evicted.extend(self.evict_oldest_of(from));
        }
        if self.blocks.len() >= HELD_BLOCKS_MAX {
            // The peer holding the most gives way (ties: the smallest id, so
            // the choice is deterministic).
            let heaviest = self
                .by_peer
                .iter()
                .max_by_key(|(p, q)| (q.len(), std::cmp::Reverse(**p)))
                .map(|(p, _)| *p);
            if let Some(peer) = heaviest {
                evicted.extend(self.evict_oldest_of(peer));
            }
        }
        self.by_peer.entry(from).or_default().push_back(id);
        self.blocks.insert(id, Held { block, from, token });
        evicted
    }

    fn evict_oldest_of(&mut self, peer: P) -> Option<Dropped<P, T>> {
        let queue = self.by_peer.get_mut(&peer)?;
        let oldest = queue.pop_front();
        if queue.is_empty() {
            self.by_peer.remove(&peer);
        }
        let held = self.blocks.remove(&oldest?)?;
        Some((held.from, held.token))
    }

    /// Takes the block `id` out, if held, with who sent it and its token.
    pub fn take(&mut self, id: &BlockId) -> Option<(Block, P, T)> {
        let held = self.blocks.remove(id)?;
        if let Some(queue) = self.by_peer.get_mut(&held.from) {
            queue.retain(|b| b != id);
            if queue.is_empty() {
                self.by_peer.remove(&held.from);
            }
        }
        Some((held.block, held.from, held.token))
    }

    /// Whether `id` is held.
    pub fn contains(&self, id: &BlockId) -> bool {
        self.blocks.contains_key(id)
    }

    /// Drops the blocks below `height` (decided or given up).
    pub fn prune_below(&mut self, height: u64) -> Vec<Dropped<P, T>> {
        let stale: Vec<BlockId> = self
            .blocks
            .iter()
            .filter(|(_, h)| h.block.header.height < height)
            .map(|(id, _)| *id)
            .collect();
        stale
            .iter()
            .filter_map(|id| self.take(id).map(|(_, from, token)| (from, token)))
            .collect()
    }

    /// Blocks held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    /// Whether none is held.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Blocks held for `peer`.
    #[cfg(test)]
    pub fn of_peer(&self, peer: &P) -> usize {
        self.by_peer.get(peer).map_or(0, VecDeque::len)
    }
}

/// A block a verified proposal names, for one round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Naming {
    /// The block.
    pub value: BlockId,
    /// The proposal's proof-of-lock round, if any.
    pub valid_round: Option<u32>,
    /// The proposer (verified: the round's).
    pub proposer: filiera_types::Address,
    /// Already reported to consensus.
    pub delivered: bool,
}

/// Verified proposals by (height, round).
#[derive(Default)]
pub struct Namings {
    by_round: BTreeMap<(u64, u32), Vec<Naming>>,
}

impl Namings {
    /// Records a verified proposal; `false` if it was known or the round's
    /// room is full.
    pub fn insert(&mut self, height: u64, round: u32, naming: Naming) -> bool {
        let slot = self.by_round.entry((height, round)).or_default();
        if slot.iter().any(|n| n.value == naming.value) || slot.len() >= NAMED_PER_ROUND_MAX {
            return false;
        }
        slot.push(naming);
        true
    }

    /// Whether some proposal at `height` names `value`.
    #[cfg(test)]
    pub fn names(&self, height: u64, value: &BlockId) -> bool {
        self.by_round
            .range((height, 0)..=(height, u32::MAX))
            .any(|(_, ns)| ns.iter().any(|n| n.value == *value))
    }

    /// The first naming at `height` in rounds up to `round_max` not yet
    /// delivered whose block `available` says is at hand; marked delivered.
    pub fn next_deliverable(
        &mut self,
        height: u64,
        round_max: u32,
        available: impl Fn(&BlockId) -> bool,
    ) -> Option<(u32, Naming)> {
        for ((_, round), namings) in self.by_round.range_mut((height, 0)..=(height, round_max)) {
            if let Some(n) = namings
                .iter_mut()
                .find(|n| !n.delivered && available(&n.value))
            {
                n.delivered = true;
                return Some((*round, *n));
            }
        }
        None
    }

    /// Drops the proposals below `height`.
    pub fn prune_below(&mut self, height: u64) {
        self.by_round = self.by_round.split_off(&(height, 0));
    }

    /// Proposals kept.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_round.values().map(Vec::len).sum()
    }

    /// Whether none is kept.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.by_round.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use filiera_types::Hash;
    use filiera_types::block::Header;

    fn block(height: u64, n: u64) -> (BlockId, Block) {
        let header = Header {
            version: 1,
            chain_id: filiera_types::ChainId::new("t").unwrap_or_else(|e| panic!("{e}")),
            height,
            time_ms: n,
            parent_hash: Hash([0; 32]),
            txs_root: Hash([0; 32]),
            receipts_root: Hash([0; 32]),
            state_root: Hash([0; 32]),
            validator_set_hash: Hash([0; 32]),
            next_validator_set_hash: Hash([0; 32]),
            proposer: filiera_types::Address([0; 20]),
        };
        let b = Block {
            header,
            txs: vec![],
        };
        (BlockId(b.hash()), b)
    }

    #[test]
    fn a_peer_flooding_blocks_evicts_only_its_own() {
        let mut held = HeldBlocks::default();
        let (honest, flooder): (u64, u64) = (1, 2);
        let (real, b) = block(1, 0);
        assert!(held.insert(honest, real, b, 0).is_empty());
        for n in 1..1_000 {
            let (id, b) = block(1, n);
            let evicted = held.insert(flooder, id, b, n);
            if n > HELD_BLOCKS_PER_PEER_MAX as u64 {
                // The flooder's own oldest, with its token.
                assert_eq!(
                    evicted,
                    vec![(flooder, n - HELD_BLOCKS_PER_PEER_MAX as u64)]
                );
            }
        }
        assert!(held.contains(&real));
        assert_eq!(held.of_peer(&flooder), HELD_BLOCKS_PER_PEER_MAX);
        assert_eq!(held.len(), HELD_BLOCKS_PER_PEER_MAX + 1);
        assert_eq!(held.take(&real).map(|t| (t.1, t.2)), Some((honest, 0)));
        assert_eq!(held.of_peer(&honest), 0);
        let (copy, b) = block(1, 999);
        assert_eq!(
            held.insert(honest, copy, b, 7),
            vec![(honest, 7)],
            "a copy is refused"
        );
    }

    #[test]
    fn many_peers_stay_within_the_total_and_the_heaviest_gives_way() {
        let mut held = HeldBlocks::default();
        let heavy: u64 = 0;
        for n in 0..HELD_BLOCKS_PER_PEER_MAX as u64 {
            let (id, b) = block(1, n);
            held.insert(heavy, id, b, n);
        }
        let mut evicted = Vec::new();
        for n in 100..(100 + 2 * HELD_BLOCKS_MAX as u64) {
            let (id, b) = block(1, n);
            evicted.extend(held.insert(n, id, b, n));
            assert!(held.len() <= HELD_BLOCKS_MAX);
        }
        assert_eq!(held.len(), HELD_BLOCKS_MAX);
        // Until it holds no more than the others (then ties go by peer id).
        let first: Vec<_> = evicted.iter().take(HELD_BLOCKS_PER_PEER_MAX - 1).collect();
        assert_eq!(
            first,
            [(heavy, 0), (heavy, 1), (heavy, 2)]
                .iter()
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn pruning_drops_lower_heights_and_their_peer_entries() {
        let mut held = HeldBlocks::default();
        let peer: u64 = 7;
        let (low, b) = block(1, 0);
        held.insert(peer, low, b, 1);
        let (high, b) = block(2, 0);
        held.insert(peer, high, b, 2);
        assert_eq!(held.prune_below(2), vec![(peer, 1)]);
        assert!(!held.contains(&low));
        assert!(held.contains(&high));
        assert_eq!(held.of_peer(&peer), 1);
    }

    fn naming(v: u64) -> Naming {
        Naming {
            value: block(1, v).0,
            valid_round: None,
            proposer: filiera_types::Address([1; 20]),
            delivered: false,
        }
    }

    #[test]
    fn a_round_keeps_at_most_two_proposals_and_each_is_delivered_once() {
        let mut namings = Namings::default();
        assert!(namings.insert(1, 0, naming(1)));
        assert!(!namings.insert(1, 0, naming(1)), "a copy is not kept twice");
        assert!(namings.insert(1, 0, naming(2)));
        assert!(!namings.insert(1, 0, naming(3)), "a third is dropped");
        assert!(namings.insert(1, 3, naming(4)));
        assert_eq!(namings.len(), 3);

        let all = |_: &BlockId| true;
        assert_eq!(namings.next_deliverable(1, 2, all).map(|d| d.0), Some(0));
        assert_eq!(namings.next_deliverable(1, 2, all).map(|d| d.0), Some(0));
        assert_eq!(
            namings.next_deliverable(1, 2, all),
            None,
            "round 3 is beyond 2"
        );
        let wanted = naming(4).value;
        assert_eq!(namings.next_deliverable(1, 3, |id| *id != wanted), None);
        assert_eq!(
            namings.next_deliverable(1, 3, all).map(|d| d.1.value),
            Some(wanted)
        );
        assert!(namings.names(1, &wanted));
        namings.prune_below(2);
        assert!(namings.is_empty());
    }
}
