//! Attestations as W3C Verifiable Credentials 2.0, secured with VC-JOSE: a
//! compact JWS (`application/vc+jwt`, `EdDSA`) whose payload is the
//! credential itself. The issuer is the certification body's signing key as
//! a `did:key` (Ed25519, multicodec `0xed01`, base58btc): anyone resolves it
//! from the credential alone, and any JOSE library checks the signature,
//! without trusting Filiera or reaching a node.
//!
//! Invariants: a credential states only what the chain records of the
//! attestation (lot, scheme, protected name, issuing body, validity); the key
//! that signs it is the one its `kid` and `issuer` name, and verification
//! accepts nothing else (no `alg` but `EdDSA`, no `none`, no key carried in
//! the header). Signing goes through [`SecretKey::sign_jose`], which cannot
//! sign a chain message, so a credential signature never authorises a
//! transaction and the reverse.
//!
//! Threats: forged or altered credentials (the signature), a body's key
//! claimed by another (the `kid` and `issuer` must be the signer's), header
//! tricks (algorithm confusion, embedded keys), oversized input (bounded by
//! [`CREDENTIAL_JWT_BYTES_MAX`] before any decoding).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use filiera_types::{PublicKey, SecretKey, Signature};
use serde_json::{Value, json};

/// Largest credential (the compact JWS) accepted, in bytes.
pub const CREDENTIAL_JWT_BYTES_MAX: usize = 16 * 1024;
/// Longest `kid` accepted, in bytes (an Ed25519 did:key's is 105): base58
/// decoding is quadratic, so it is bounded before it runs.
pub const KID_BYTES_MAX: usize = 256;
/// The VC 2.0 base context.
pub const VC_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
/// The media type of a credential secured with VC-JOSE (its `typ`; the
/// `application/` prefix may be written too, RFC 7515 section 4.1.9).
pub const VC_JWT_TYPE: &str = "vc+jwt";
/// The content type of the secured payload (its `cty`).
pub const VC_CONTENT_TYPE: &str = "vc";
/// The type that names a Filiera attestation, beside `VerifiableCredential`.
pub const ATTESTATION_TYPE: &str = "FilieraAttestation";

/// Multicodec prefix of an Ed25519 public key (varint of 0xed).
const ED25519_MULTICODEC: [u8; 2] = [0xed, 0x01];

/// Why a credential is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialError {
    /// Over [`CREDENTIAL_JWT_BYTES_MAX`].
    #[error("credential of {0} bytes, at most {CREDENTIAL_JWT_BYTES_MAX}")]
    TooLarge(usize),
    /// Not three base64url parts of JSON, JSON, 64 bytes.
    #[error("not a compact JWS: {0}")]
    Malformed(String),
    /// A header this verifier does not accept.
    #[error("header refused: {0}")]
    Header(String),
    /// Not a `did:key` of an Ed25519 key.
    #[error("not an Ed25519 did:key: {0}")]
    DidKey(String),
    /// The signature does not verify with the issuer's key.
    #[error("the signature does not verify with the issuer's key")]
    BadSignature,
    /// The payload is not a credential of this issuer.
    #[error("credential refused: {0}")]
    Credential(String),
}

/// What a body attests of a lot, as the chain records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attestation {
    /// The credential's id, e.g. `urn:filiera:filiera-marche:attestation:7`.
    pub id: String,
    /// The lot, as its GS1 Digital Link URI.
    pub lot_link: String,
    /// The scheme's code, e.g. `DOP`.
    pub scheme: String,
    /// The protected name, e.g. `Casciotta d'Urbino`.
    pub name: String,
    /// The issuing body's organisation id on the chain.
    pub body: String,
    /// The body's key that signs.
    pub issuer: PublicKey,
    /// From when it is valid, ms since the epoch.
    pub valid_from_ms: u64,
    /// Until when, if it expires.
    pub valid_until_ms: Option<u64>,
}

/// A credential whose signature verified, and its issuer's key.
#[derive(Clone, Debug, PartialEq)]
pub struct Verified {
    /// The key that signed (the issuer's `did:key`).
    pub issuer: PublicKey,
    /// The credential (the JWS payload, parsed).
    pub credential: Value,
    /// The payload's bytes as signed: compare these, not the parsed value,
    /// with what a credential should say (a duplicate key parses as one).
    pub payload: Vec<u8>,
}

/// The `did:key` of an Ed25519 public key.
pub fn did_key(key: &PublicKey) -> String {
    let mut bytes = ED25519_MULTICODEC.to_vec();
    bytes.extend_from_slice(&key.0);
    format!("did:key:z{}", bs58::encode(bytes).into_string())
}

/// The Ed25519 key a `did:key` (or one of its verification method ids,
/// `did:key:z...#z...`) names.
pub fn did_key_public_key(did: &str) -> Result<PublicKey, CredentialError> {
    let did = did.split('#').next().unwrap_or_default();
    let encoded = did
        .strip_prefix("did:key:z")
        .ok_or_else(|| CredentialError::DidKey(format!("{did:?} is not did:key:z...")))?;
    let bytes = bs58::decode(encoded)
        .into_vec()
        .map_err(|e| CredentialError::DidKey(e.to_string()))?;
    let key = bytes
        .strip_prefix(&ED25519_MULTICODEC)
        .ok_or_else(|| CredentialError::DidKey("not an Ed25519 multicodec key".into()))?;
    let key: [u8; 32] = key
        .try_into()
        .map_err(|_| CredentialError::DidKey(format!("{} key bytes, not 32", key.len())))?;
    Ok(PublicKey(key))
}

/// The verification method id of `key` in its `did:key` document.
pub fn verification_method(key: &PublicKey) -> String {
    let did = did_key(key);
    let fragment = did.trim_start_matches("did:key:");
    format!("{did}#{fragment}")
}

fn time(ms: u64) -> Result<String, CredentialError> {
    filiera_types::genesis::format_time_ms(ms)
        .ok_or_else(|| CredentialError::Credential(format!("time {ms} ms is out of range")))
}

/// The credential of `a` (unsecured), as the VC 2.0 data model has it.
pub fn credential(a: &Attestation) -> Result<Value, CredentialError> {
    let mut vc = json!({
        "@context": [VC_CONTEXT],
        "id": a.id,
        "type": ["VerifiableCredential", ATTESTATION_TYPE],
        "issuer": did_key(&a.issuer),
        "validFrom": time(a.valid_from_ms)?,
        "credentialSubject": {
            "id": a.lot_link,
            "scheme": a.scheme,
            "protectedName": a.name,
            "certificationBody": a.body,
        },
    });
    if let Some(until) = a.valid_until_ms {
        vc["validUntil"] = time(until)?.into();
    }
    Ok(vc)
}

/// The payload bytes [`issue`] signs for `a`: what a verifier compares a
/// credential's [`Verified::payload`] with.
pub fn payload(a: &Attestation) -> Result<Vec<u8>, CredentialError> {
    Ok(credential(a)?.to_string().into_bytes())
}

/// Issues the credential of `a`, signed by `key` (which must be
/// `a.issuer`): a compact JWS, `application/vc+jwt`.
pub fn issue(a: &Attestation, key: &SecretKey) -> Result<String, CredentialError> {
    if key.public_key() != a.issuer {
        return Err(CredentialError::Credential(
            "the signing key is not the attestation's issuer".into(),
        ));
    }
    let header = json!({
        "alg": "EdDSA",
        "kid": verification_method(&a.issuer),
        "typ": VC_JWT_TYPE,
        "cty": VC_CONTENT_TYPE,
    });
    let signing_input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(payload(a)?)
    );
    let signature = key
        .sign_jose(signing_input.as_bytes())
        .map_err(|e| CredentialError::Credential(e.to_string()))?;
    Ok(format!("{signing_input}.{}", B64.encode(signature.0)))
}

/// Verifies a credential: its header, its signature by the key its `kid`
/// names, and that its `issuer` is that key. Validity in time and status
/// are the caller's to judge (they change; the signature does not).
pub fn verify(jwt: &str) -> Result<Verified, CredentialError> {
    if jwt.len() > CREDENTIAL_JWT_BYTES_MAX {
        return Err(CredentialError::TooLarge(jwt.len()));
    }
    let mut parts = jwt.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(CredentialError::Malformed(
            "it must have three parts".into(),
        ));
    };
    let json_of = |what: &str, part: &str| -> Result<Value, CredentialError> {
        let bytes = B64
            .decode(part)
            .map_err(|e| CredentialError::Malformed(format!("{what}: {e}")))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| CredentialError::Malformed(format!("{what}: {e}")))
    };
    let head = json_of("header", header)?;
    if head["alg"] != "EdDSA" {
        return Err(CredentialError::Header(format!(
            "alg {}: only EdDSA",
            head["alg"]
        )));
    }
    let typ = head["typ"].as_str().unwrap_or_default();
    if typ != VC_JWT_TYPE && typ != format!("application/{VC_JWT_TYPE}") {
        return Err(CredentialError::Header(format!(
            "typ {}: only {VC_JWT_TYPE}",
            head["typ"]
        )));
    }
    for carried in ["jwk", "jku", "x5u", "x5c", "crit"] {
        if head.get(carried).is_some() {
            return Err(CredentialError::Header(format!(
                "{carried}: the key comes from the issuer's did:key only"
            )));
        }
    }
    let kid = head["kid"]
        .as_str()
        .ok_or_else(|| CredentialError::Header("no kid".into()))?;
    if kid.len() > KID_BYTES_MAX {
        return Err(CredentialError::Header(format!(
            "a kid of {} bytes, at most {KID_BYTES_MAX}",
            kid.len()
        )));
    }
    let issuer = did_key_public_key(kid)?;
    if kid != verification_method(&issuer) {
        return Err(CredentialError::Header(format!(
            "kid {kid:?} is not the did:key's verification method"
        )));
    }
    let signature: [u8; 64] = B64
        .decode(signature)
        .map_err(|e| CredentialError::Malformed(format!("signature: {e}")))?
        .try_into()
        .map_err(|_| CredentialError::Malformed("the signature is not 64 bytes".into()))?;
    let signing_input = &jwt[..header.len() + 1 + payload.len()];
    issuer
        .verify_jose(signing_input.as_bytes(), &Signature(signature))
        .map_err(|_| CredentialError::BadSignature)?;
    let payload_bytes = B64
        .decode(payload)
        .map_err(|e| CredentialError::Malformed(format!("payload: {e}")))?;
    let credential: Value = serde_json::from_slice(&payload_bytes)
        .map_err(|e| CredentialError::Malformed(format!("payload: {e}")))?;
    if credential["issuer"] != did_key(&issuer) {
        return Err(CredentialError::Credential(format!(
            "issuer {} is not the signer {}",
            credential["issuer"],
            did_key(&issuer)
        )));
    }
    let types = credential["type"].as_array().cloned().unwrap_or_default();
    if !types.iter().any(|t| t == "VerifiableCredential") {
        return Err(CredentialError::Credential(
            "not a VerifiableCredential".into(),
        ));
    }
    if credential["@context"].get(0).and_then(Value::as_str) != Some(VC_CONTEXT) {
        return Err(CredentialError::Credential(format!(
            "its first @context is not {VC_CONTEXT}"
        )));
    }
    Ok(Verified {
        issuer,
        credential,
        payload: payload_bytes,
    })
}
