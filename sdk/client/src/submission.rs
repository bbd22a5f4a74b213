//! Signing and sequencing transactions, with no I/O: the one path every
//! writer takes, whether it talks HTTP ([`crate::Client`]), signs offline
//! ([`crate::epcis::sign_document`]) or is the node's own EPCIS capture,
//! which signs for an organisation whose key it holds.
//!
//! A sender's next nonce is the larger of the chain's count and one past the
//! last this writer signed: transactions signed in a row get consecutive
//! nonces before the first is committed, and a writer that fell behind (its
//! transactions expired, or another writer used the key) catches up.

use filiera_types::crypto::CryptoError;
use filiera_types::{ChainId, ContractCall, PublicKey, SecretKey, SignedTransaction, Transaction};
use std::collections::BTreeMap;

/// The next nonce of each sender this writer signs for.
#[derive(Clone, Debug, Default)]
pub struct Nonces(BTreeMap<PublicKey, u64>);

impl Nonces {
    /// `sender`'s next nonce, given the chain's count `on_chain`.
    pub fn next(&self, sender: &PublicKey, on_chain: u64) -> u64 {
        self.0.get(sender).map_or(on_chain, |n| (*n).max(on_chain))
    }

    /// `nonce` was used by a transaction the node admitted (or that was
    /// handed out to be submitted): the next one is after it.
    pub fn used(&mut self, sender: PublicKey, nonce: u64) {
        let next = nonce.saturating_add(1);
        let slot = self.0.entry(sender).or_insert(next);
        *slot = (*slot).max(next);
    }
}

/// `call` signed by `key` for `chain`, at `nonce`, valid up to `expiry_height`.
pub fn sign_call(
    key: &SecretKey,
    chain: &ChainId,
    nonce: u64,
    expiry_height: u64,
    call: ContractCall,
) -> Result<SignedTransaction, CryptoError> {
    Transaction {
        chain_id: chain.clone(),
        sender: key.public_key(),
        nonce,
        expiry_height,
        call,
    }
    .sign(key)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_next_nonce_is_the_chains_or_past_the_last_signed_whichever_is_larger() {
        let a = SecretKey::from_seed(&[1; 32]).public_key();
        let b = SecretKey::from_seed(&[2; 32]).public_key();
        let mut nonces = Nonces::default();
        assert_eq!(nonces.next(&a, 4), 4);
        nonces.used(a, 4);
        nonces.used(a, 5);
        assert_eq!(nonces.next(&a, 4), 6);
        // The chain moved past what this writer signed.
        assert_eq!(nonces.next(&a, 9), 9);
        // An older use never moves it back; other senders are apart.
        nonces.used(a, 2);
        assert_eq!(nonces.next(&a, 0), 6);
        assert_eq!(nonces.next(&b, 0), 0);
    }
}
