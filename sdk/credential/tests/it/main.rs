#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Integration tests of filiera-credential: issued credentials verify here
//! and with a JOSE library no one here wrote; altered ones, another body's
//! key and header tricks are refused.

mod independent;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use filiera_credential::{
    Attestation, CredentialError, did_key, did_key_public_key, issue, verify,
};
use filiera_types::SecretKey;

pub(crate) fn body_key() -> SecretKey {
    SecretKey::from_seed(&[31; 32])
}

pub(crate) fn attestation(key: &SecretKey) -> Attestation {
    Attestation {
        id: "urn:filiera:filiera-marche-localnet:attestation:7".into(),
        lot_link: "https://id.gs1.org/01/09521234100010/10/CU-2026-0150".into(),
        scheme: "DOP".into(),
        name: "Casciotta d'Urbino".into(),
        body: "organismo-controllo-demo".into(),
        issuer: key.public_key(),
        valid_from_ms: 1_795_478_400_000,
        valid_until_ms: Some(1_827_014_400_000),
    }
}

/// `jwt` with its payload replaced by `edit` of it (signature kept).
pub(crate) fn with_payload(jwt: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    edit(&mut payload);
    format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(payload.to_string()),
        parts[2]
    )
}

fn with_header(jwt: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut header: serde_json::Value =
        serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
    edit(&mut header);
    format!(
        "{}.{}.{}",
        B64.encode(header.to_string()),
        parts[1],
        parts[2]
    )
}

#[test]
fn an_issued_credential_verifies_and_says_what_was_attested() {
    let key = body_key();
    let a = attestation(&key);
    let jwt = issue(&a, &key).unwrap();
    let v = verify(&jwt).unwrap();
    assert_eq!(v.issuer, key.public_key());
    let c = &v.credential;
    assert_eq!(c["@context"][0], "https://www.w3.org/ns/credentials/v2");
    assert_eq!(c["type"][1], "FilieraAttestation");
    assert_eq!(c["issuer"], did_key(&key.public_key()));
    assert_eq!(c["credentialSubject"]["id"], a.lot_link);
    assert_eq!(
        c["credentialSubject"]["protectedName"],
        "Casciotta d'Urbino"
    );
    assert_eq!(c["validFrom"], "2026-11-24T00:00:00Z");
    assert_eq!(c["validUntil"], "2027-11-24T00:00:00Z");
}

#[test]
fn a_did_key_names_its_key_and_nothing_else() {
    let key = body_key().public_key();
    let did = did_key(&key);
    assert!(did.starts_with("did:key:z6Mk"), "an Ed25519 did:key: {did}");
    assert_eq!(did_key_public_key(&did).unwrap(), key);
    assert!(did_key_public_key("did:web:example.org").is_err());
    assert!(did_key_public_key("did:key:z0OIl").is_err());
    // A secp256k1 did:key (multicodec 0xe7) is not an Ed25519 key.
    assert!(
        did_key_public_key("did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme").is_err()
    );
}

#[test]
fn altered_or_misattributed_credentials_are_refused() {
    let key = body_key();
    let jwt = issue(&attestation(&key), &key).unwrap();
    // Another lot under the same signature.
    let altered = with_payload(&jwt, |p| {
        p["credentialSubject"]["id"] = "https://id.gs1.org/01/09521234100010/10/OTHER".into()
    });
    assert_eq!(verify(&altered), Err(CredentialError::BadSignature));
    // Another body's key cannot sign for this body: the issuer is the signer.
    let other = SecretKey::from_seed(&[32; 32]);
    assert!(issue(&attestation(&key), &other).is_err());
    let mut claimed = attestation(&key);
    claimed.issuer = other.public_key();
    let forged = issue(&claimed, &other).unwrap();
    let forged = with_payload(&forged, |p| p["issuer"] = did_key(&key.public_key()).into());
    assert_eq!(verify(&forged), Err(CredentialError::BadSignature));
    // Header tricks.
    let none = with_header(&jwt, |h| h["alg"] = "none".into());
    assert!(matches!(verify(&none), Err(CredentialError::Header(m)) if m.contains("only EdDSA")));
    let embedded = with_header(&jwt, |h| h["jwk"] = serde_json::json!({"kty": "OKP"}));
    assert!(matches!(verify(&embedded), Err(CredentialError::Header(m)) if m.contains("jwk")));
    let elsewhere = with_header(&jwt, |h| {
        h["kid"] = format!("{}#key-1", did_key(&key.public_key())).into()
    });
    assert!(matches!(
        verify(&elsewhere),
        Err(CredentialError::Header(_))
    ));
    assert!(matches!(verify("a.b"), Err(CredentialError::Malformed(_))));
    let huge = "e".repeat(filiera_credential::CREDENTIAL_JWT_BYTES_MAX + 1);
    assert!(matches!(verify(&huge), Err(CredentialError::TooLarge(_))));
}

#[test]
fn a_credential_signature_never_passes_for_a_chain_signature() {
    let key = body_key();
    // sign_jose refuses what is not a JOSE signing input, chain messages
    // included; a chain signature over a JOSE input is another signature.
    let chain_message = filiera_types::crypto::signing_message(
        "filiera-marche-localnet",
        filiera_types::SignKind::Transaction,
        b"payload",
    )
    .unwrap();
    assert!(key.sign_jose(&chain_message).is_err());
    let jwt = issue(&attestation(&key), &key).unwrap();
    let input = &jwt[..jwt.rfind('.').unwrap()];
    let chain_signature = key
        .sign(
            "filiera-marche-localnet",
            filiera_types::SignKind::Transaction,
            input.as_bytes(),
        )
        .unwrap();
    let spliced = format!("{input}.{}", B64.encode(chain_signature.0));
    assert_eq!(verify(&spliced), Err(CredentialError::BadSignature));
}

/// A JWS of `header` and `payload` signed by `key`, as a forger would make it.
fn signed(header: &serde_json::Value, payload: &serde_json::Value, key: &SecretKey) -> String {
    let input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(payload.to_string())
    );
    let signature = key.sign_jose(input.as_bytes()).unwrap();
    format!("{input}.{}", B64.encode(signature.0))
}

#[test]
fn a_sound_signature_over_a_wrong_credential_is_refused() {
    let key = body_key();
    let jwt = issue(&attestation(&key), &key).unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    let header: serde_json::Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
    let payload: serde_json::Value =
        serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    let refused = |h: &serde_json::Value, p: &serde_json::Value| verify(&signed(h, p, &key));
    // Re-signed as is: accepted (the forger's tool is sound).
    assert!(refused(&header, &payload).is_ok());
    // Naming another issuer than its signer.
    let mut other_issuer = payload.clone();
    other_issuer["issuer"] = did_key(&SecretKey::from_seed(&[32; 32]).public_key()).into();
    assert!(matches!(
        refused(&header, &other_issuer),
        Err(CredentialError::Credential(m)) if m.contains("is not the signer")
    ));
    // Not a VerifiableCredential, or without the VC 2.0 context first.
    let mut not_vc = payload.clone();
    not_vc["type"] = serde_json::json!(["FilieraAttestation"]);
    assert!(matches!(
        refused(&header, &not_vc),
        Err(CredentialError::Credential(_))
    ));
    let mut old_context = payload.clone();
    old_context["@context"] = serde_json::json!(["https://www.w3.org/2018/credentials/v1"]);
    assert!(matches!(
        refused(&header, &old_context),
        Err(CredentialError::Credential(_))
    ));
    // Another media type; the application/ prefix is the same one.
    let mut jwt_typ = header.clone();
    jwt_typ["typ"] = "JWT".into();
    assert!(matches!(
        refused(&jwt_typ, &payload),
        Err(CredentialError::Header(_))
    ));
    let mut full_typ = header.clone();
    full_typ["typ"] = "application/vc+jwt".into();
    assert!(refused(&full_typ, &payload).is_ok());
    // A kid far longer than any did:key is refused before it is decoded.
    let mut long_kid = header.clone();
    long_kid["kid"] = format!("did:key:z{}", "6".repeat(10_000)).into();
    assert!(matches!(
        refused(&long_kid, &payload),
        Err(CredentialError::Header(m)) if m.contains("at most")
    ));
    // The payload bytes are what was signed, duplicate keys and all.
    let v = verify(&jwt).unwrap();
    assert_eq!(v.payload, B64.decode(parts[1]).unwrap());
    assert_eq!(
        v.payload,
        filiera_credential::payload(&attestation(&key)).unwrap()
    );
}
