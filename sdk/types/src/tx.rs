//! Transactions: a signed call of one contract method.
//!
//! Replay protection lives in the transaction itself: the chain id is signed,
//! the nonce is the sender's next sequence number (checked in the state
//! transition) and the expiry height bounds how long a signed transaction stays
//! valid. The transaction id hashes the body only, so it is known before signing
//! and identical for every node.

use crate::crypto::{CryptoError, DecodedKey, PublicKey, SignKind, Signature};
use crate::encoding::{self, DecodeError};
use crate::hash::{Domain, Hash};
use crate::limits::TX_BYTES_MAX;
use crate::name::{ChainId, ContractId, MethodName};
use borsh::{BorshDeserialize, BorshSerialize};

/// One contract method call with borsh-encoded arguments.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ContractCall {
    /// The contract called.
    pub contract: ContractId,
    /// The method called.
    pub method: MethodName,
    /// Borsh-encoded arguments; their schema belongs to the method.
    pub args: Vec<u8>,
}

/// The signed body of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Transaction {
    /// The chain this transaction is for.
    pub chain_id: ChainId,
    /// Who signs and pays for it (no fees: it is accounted for quotas).
    pub sender: PublicKey,
    /// The sender's sequence number, starting at 0.
    pub nonce: u64,
    /// The last height at which the transaction may be included.
    pub expiry_height: u64,
    /// What it does.
    pub call: ContractCall,
}

impl Transaction {
    /// The transaction id: the hash of the canonical body.
    pub fn hash(&self) -> Hash {
        Hash::of(Domain::Transaction, &encoding::encode(self))
    }

    /// Signs the body with `key` (a [`SecretKey`](crate::crypto::SecretKey) or any other
    /// [`Signer`](crate::crypto::Signer)), which must be the sender's.
    pub fn sign<S: crate::crypto::Signer + ?Sized>(
        self,
        key: &S,
    ) -> Result<SignedTransaction, CryptoError> {
        let signature = key.sign(
            self.chain_id.as_str(),
            SignKind::Transaction,
            &encoding::encode(&self),
        )?;
        Ok(SignedTransaction {
            tx: self,
            signature,
        })
    }
}

/// A transaction with the sender's signature over its body.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedTransaction {
    /// The body.
    pub tx: Transaction,
    /// The sender's signature of kind [`SignKind::Transaction`].
    pub signature: Signature,
}

impl SignedTransaction {
    /// Decodes a signed transaction received from outside, within [`TX_BYTES_MAX`].
    pub fn decode(bytes: &[u8]) -> Result<SignedTransaction, DecodeError> {
        encoding::decode("transaction", bytes, TX_BYTES_MAX)
    }

    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        encoding::encode(self)
    }

    /// The transaction id.
    pub fn hash(&self) -> Hash {
        self.tx.hash()
    }

    /// Checks the signature against the sender key (chain id and kind included).
    pub fn verify(&self) -> Result<(), CryptoError> {
        self.verify_with(&self.tx.sender.decode()?)
    }

    /// [`SignedTransaction::verify`] with the sender's key already decoded;
    /// a key that is not the sender's is refused, whatever the signature.
    pub fn verify_with(&self, sender: &DecodedKey) -> Result<(), CryptoError> {
        if sender.public_key() != self.tx.sender {
            return Err(CryptoError::BadSignature);
        }
        sender.verify(
            self.tx.chain_id.as_str(),
            SignKind::Transaction,
            &encoding::encode(&self.tx),
            &self.signature,
        )
    }
}
