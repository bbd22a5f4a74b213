//! ed25519 keys and signatures with domain separation.
//!
//! A signature never covers bare payload bytes: it covers
//! `SIGNATURE_PREFIX || kind || len(chain id) || chain id || payload`, so a
//! signature made for one chain or for one kind of message (a transaction, a
//! vote, an authority approval) does not verify for another. The validity rule
//! is `verify_strict`: it rejects small-order public keys and non-canonical
//! signature scalars, so every accepted signature has exactly one encoding.

use crate::hash::{Domain, Hash};
use crate::limits::CHAIN_ID_BYTES_MAX;
use borsh::{BorshDeserialize, BorshSerialize};
use ed25519_dalek::Signer as _;
use std::fmt;

/// Prefix of every signed message; versioned so the format can change on purpose.
pub const SIGNATURE_PREFIX: &[u8; 14] = b"FILIERA/SIG/v1";

/// How every JOSE signing input starts: `{"` in base64url.
pub const JOSE_SIGNING_INPUT_START: &[u8] = b"eyJ";

/// What a signature is for. The tag is part of the signed bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum SignKind {
    /// A transaction body.
    Transaction = 1,
    /// A consensus vote (prevote or precommit).
    Vote = 2,
    /// A consensus proposal.
    Proposal = 3,
    /// A member of the regional authority approving an action (k-of-n).
    AuthorityApproval = 4,
    /// A node proving it holds its network key.
    NodeIdentity = 5,
}

/// Why a key or signature was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// The 32 bytes are not a valid ed25519 public key.
    #[error("not a valid ed25519 public key")]
    InvalidPublicKey,
    /// A JOSE signature asked for bytes that are not a JOSE signing input.
    #[error("not a JOSE signing input (it must start with a base64url JSON header)")]
    NotJose,
    /// The signature does not verify under `verify_strict`.
    #[error("signature does not verify")]
    BadSignature,
    /// The chain id is empty or too long to be signed.
    #[error("chain id must be 1 to {CHAIN_ID_BYTES_MAX} bytes, found {0}")]
    BadChainId(usize),
    /// Hex text of the wrong length or alphabet.
    #[error("expected {expected} hex characters: {reason}")]
    BadHex {
        /// Expected length in hex characters.
        expected: usize,
        /// The decoder's reason.
        reason: String,
    },
}

/// A public key decoded into its curve point ([`PublicKey::decode`]).
///
/// Verifying with it is verifying with the key's bytes: decoding is a pure
/// function of them, so a node may keep decoded keys of frequent senders.
#[derive(Clone, Copy, Debug)]
pub struct DecodedKey(ed25519_dalek::VerifyingKey);

impl DecodedKey {
    /// The key these bytes decode from.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.to_bytes())
    }

    /// [`PublicKey::verify`] without decoding the key again.
    pub fn verify(
        &self,
        chain_id: &str,
        kind: SignKind,
        payload: &[u8],
        signature: &Signature,
    ) -> Result<(), CryptoError> {
        let message = signing_message(chain_id, kind, payload)?;
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.0
            .verify_strict(&message, &sig)
            .map_err(|_| CryptoError::BadSignature)
    }
}

/// An ed25519 public key, kept as its 32 encoded bytes.
///
/// Decoding happens at verification, so a stored key that is not a curve point
/// fails verification rather than the decoding of the structure around it; the
/// genesis validator and the registry reject such keys at the edge.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// Checks the bytes are a point usable for strict verification (not small order).
    pub fn validate(&self) -> Result<(), CryptoError> {
        if self.decode()?.0.is_weak() {
            return Err(CryptoError::InvalidPublicKey);
        }
        Ok(())
    }

    /// Verifies a signature made by [`SecretKey::sign_jose`], with
    /// `verify_strict`.
    pub fn verify_jose(
        &self,
        signing_input: &[u8],
        signature: &Signature,
    ) -> Result<(), CryptoError> {
        if !signing_input.starts_with(JOSE_SIGNING_INPUT_START) {
            return Err(CryptoError::NotJose);
        }
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.decode()?
            .0
            .verify_strict(signing_input, &sig)
            .map_err(|_| CryptoError::BadSignature)
    }

    /// Verifies `signature` over `payload` for `chain_id` and `kind`, with `verify_strict`.
    pub fn verify(
        &self,
        chain_id: &str,
        kind: SignKind,
        payload: &[u8],
        signature: &Signature,
    ) -> Result<(), CryptoError> {
        self.decode()?.verify(chain_id, kind, payload, signature)
    }

    /// The key decoded into a curve point, for verifying many signatures of it:
    /// decoding (a field square root) is an eighth to a sixth of a verification.
    pub fn decode(&self) -> Result<DecodedKey, CryptoError> {
        ed25519_dalek::VerifyingKey::from_bytes(&self.0)
            .map(DecodedKey)
            .map_err(|_| CryptoError::InvalidPublicKey)
    }

    /// The address this key controls.
    pub fn address(&self) -> Address {
        let digest = Hash::of(Domain::Address, &self.0);
        let mut out = [0u8; 20];
        out.copy_from_slice(&digest.0[..20]);
        Address(out)
    }

    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex characters (the point itself is checked by [`PublicKey::validate`]).
    pub fn from_hex(text: &str) -> Result<PublicKey, CryptoError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).map_err(|e| CryptoError::BadHex {
            expected: 64,
            reason: e.to_string(),
        })?;
        Ok(PublicKey(out))
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

impl serde::Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        PublicKey::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// A 64-byte ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    /// Lower-case hex, 128 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 128 hex characters.
    pub fn from_hex(text: &str) -> Result<Signature, CryptoError> {
        let mut out = [0u8; 64];
        hex::decode_to_slice(text, &mut out).map_err(|e| CryptoError::BadHex {
            expected: 128,
            reason: e.to_string(),
        })?;
        Ok(Signature(out))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_hex())
    }
}

impl serde::Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        Signature::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// A 20-byte account address: the first 20 bytes of the public key's hash.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize,
)]
pub struct Address(pub [u8; 20]);

impl Address {
    /// Lower-case hex, 40 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({})", self.to_hex())
    }
}

impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

/// An ed25519 secret key. Zeroized on drop; never printed.
#[derive(Clone)]
pub struct SecretKey(ed25519_dalek::SigningKey);

impl SecretKey {
    /// Builds the key from its 32-byte seed (the caller supplies randomness).
    pub fn from_seed(seed: &[u8; 32]) -> SecretKey {
        SecretKey(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// The 32-byte seed, for writing a key file.
    pub fn to_seed(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.0.to_bytes())
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Signs a JOSE signing input (`BASE64URL(header) "." BASE64URL(payload)`,
    /// RFC 7515) with plain Ed25519, for credentials that standard verifiers
    /// check. Anything that does not start as a JOSE header (`eyJ`, a JSON
    /// object) is refused: every message this key signs for the chain starts
    /// with [`SIGNATURE_PREFIX`], so neither kind can pass for the other.
    pub fn sign_jose(&self, signing_input: &[u8]) -> Result<Signature, CryptoError> {
        if !signing_input.starts_with(JOSE_SIGNING_INPUT_START) {
            return Err(CryptoError::NotJose);
        }
        Ok(Signature(self.0.sign(signing_input).to_bytes()))
    }

    /// Signs `payload` for `chain_id` and `kind`.
    pub fn sign(
        &self,
        chain_id: &str,
        kind: SignKind,
        payload: &[u8],
    ) -> Result<Signature, CryptoError> {
        let message = signing_message(chain_id, kind, payload)?;
        Ok(Signature(self.0.sign(&message).to_bytes()))
    }
}

/// Whatever signs for a key: the key in this process's memory
/// ([`SecretKey`]), or, behind the same two methods, a remote signer or an
/// HSM that never lets the secret out.
pub trait Signer {
    /// The key whose signatures this makes.
    fn public_key(&self) -> PublicKey;
    /// Signs `payload` for `chain_id` and `kind` (see [`signing_message`]).
    fn sign(
        &self,
        chain_id: &str,
        kind: SignKind,
        payload: &[u8],
    ) -> Result<Signature, CryptoError>;
}

impl Signer for SecretKey {
    fn public_key(&self) -> PublicKey {
        SecretKey::public_key(self)
    }

    fn sign(
        &self,
        chain_id: &str,
        kind: SignKind,
        payload: &[u8],
    ) -> Result<Signature, CryptoError> {
        SecretKey::sign(self, chain_id, kind, payload)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public {})", self.public_key().to_hex())
    }
}

/// The exact bytes a signature covers.
pub fn signing_message(
    chain_id: &str,
    kind: SignKind,
    payload: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let chain = chain_id.as_bytes();
    if chain.is_empty() || chain.len() > CHAIN_ID_BYTES_MAX {
        return Err(CryptoError::BadChainId(chain.len()));
    }
    let mut message = Vec::with_capacity(SIGNATURE_PREFIX.len() + 2 + chain.len() + payload.len());
    message.extend_from_slice(SIGNATURE_PREFIX);
    message.push(kind as u8);
    // CHAIN_ID_BYTES_MAX is below 256, so the length fits one byte.
    message.push(chain.len() as u8);
    message.extend_from_slice(chain);
    message.extend_from_slice(payload);
    Ok(message)
}
