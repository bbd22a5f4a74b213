//! Who may take the whole state: a snapshot (`/v1/snapshot`) holds every
//! record, members' EPCIS documents among them (ADR 0010), so it is served
//! only to the node's operator (the operator's listener) and to the nodes
//! this node's network lets in (the chain's validators, the observers the
//! authority allows, those its operator lists in `p2p.observers`: the list
//! the driver keeps, [`crate::ApiState::allowed_peers`]), proving it with a
//! signature of their p2p key over the request.
//!
//! **Threats.** A stranger gets nothing but the refusal, decided from the
//! headers and an in-memory list (no state is read for it). A signature is
//! bound to the chain, the path and a time within
//! [`PEER_SIGNATURE_SKEW_S_MAX`] of this node's clock, not to the node asked:
//! whoever receives a signed request (a `--from` URL that is no chain node,
//! or a man in the middle of plain HTTP) can replay it to real nodes for that
//! long. So `filiera join` should name only peers over HTTPS that its
//! operator trusts (docs/OPERATIONS.md). The payload starts with its own
//! text, so the signature of a read is never a node-identity proof of
//! anything else (kind `NodeIdentity` is used for nothing else today).

use crate::ApiState;
use crate::error::ApiError;
use crate::readers::OperatorListener;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use filiera_types::crypto::CryptoError;
use filiera_types::{PublicKey, SecretKey, SignKind, Signature};

/// The header a peer's signed read carries: `{p2p key}.{unix time, s}.{signature}`, hex.
pub const PEER_SIGNATURE_HEADER: &str = "filiera-peer-signature";
/// Largest difference between a signed read's time and this node's clock, s.
pub const PEER_SIGNATURE_SKEW_S_MAX: u64 = 60;

/// What a peer signs (kind [`SignKind::NodeIdentity`]) to read `path` at `time_s`.
pub fn peer_read_payload(path: &str, time_s: u64) -> Vec<u8> {
    format!("filiera/peer-read/v1\n{path}\n{time_s}").into_bytes()
}

/// The [`PEER_SIGNATURE_HEADER`] value of a read of `path` at `time_s` by the
/// node whose p2p key is `key`.
pub fn peer_signature(
    key: &SecretKey,
    chain_id: &str,
    path: &str,
    time_s: u64,
) -> Result<String, CryptoError> {
    let signature = key.sign(
        chain_id,
        SignKind::NodeIdentity,
        &peer_read_payload(path, time_s),
    )?;
    Ok(format!(
        "{}.{time_s}.{}",
        key.public_key().to_hex(),
        signature.to_hex()
    ))
}

/// A request the snapshot may be served to.
#[derive(Clone, Copy, Debug)]
pub struct SnapshotReader;

fn refused(status: StatusCode, code: &'static str, why: &str) -> ApiError {
    ApiError {
        status,
        code,
        message: format!(
            "the state snapshot is served to the chain's validators and allowed observers \
             (a request signed with their p2p key, header {PEER_SIGNATURE_HEADER}) and on the \
             operator's listener: {why}"
        ),
    }
}

/// Checks a signed read of `path` against `now_s`: the key that signed it.
pub fn check_signature(
    header: &str,
    chain_id: &str,
    path: &str,
    now_s: u64,
) -> Result<PublicKey, ApiError> {
    let malformed = || {
        refused(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the signature header is not {key}.{time}.{signature}",
        )
    };
    let mut parts = header.trim().split('.');
    let (Some(key), Some(time), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let key = PublicKey::from_hex(key).map_err(|_| malformed())?;
    let time_s: u64 = time.parse().map_err(|_| malformed())?;
    let signature = Signature::from_hex(signature).map_err(|_| malformed())?;
    if time_s.abs_diff(now_s) > PEER_SIGNATURE_SKEW_S_MAX {
        return Err(refused(
            StatusCode::UNAUTHORIZED,
            "stale_signature",
            &format!(
                "signed at {time_s}, {} s from this node's clock ({now_s}); at most \
                 {PEER_SIGNATURE_SKEW_S_MAX} s",
                time_s.abs_diff(now_s)
            ),
        ));
    }
    key.verify(
        chain_id,
        SignKind::NodeIdentity,
        &peer_read_payload(path, time_s),
        &signature,
    )
    .map_err(|_| {
        refused(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            "the signature does not verify for this chain and path",
        )
    })?;
    Ok(key)
}

impl FromRequestParts<ApiState> for SnapshotReader {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        s: &ApiState,
    ) -> Result<SnapshotReader, ApiError> {
        if parts.extensions.get::<OperatorListener>().is_some() {
            return Ok(SnapshotReader);
        }
        let Some(header) = parts
            .headers
            .get(PEER_SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
        else {
            return Err(refused(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this request is not signed",
            ));
        };
        // The edge's clock: the signature's freshness is an I/O matter, not
        // consensus.
        let now_s = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let key = check_signature(header, &s.chain_id, parts.uri.path(), now_s)?;
        let allowed = s
            .allowed_peers
            .read()
            .map_err(|_| ApiError::internal("the allowed peers' lock is poisoned"))?
            .contains(&key);
        if allowed {
            Ok(SnapshotReader)
        } else {
            Err(refused(
                StatusCode::FORBIDDEN,
                "not_allowed",
                &format!(
                    "p2p key {} is no validator's and no allowed observer's",
                    key.to_hex()
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_signed_read_checks_only_for_its_chain_path_and_time() {
        let key = SecretKey::from_seed(&[7; 32]);
        let header = peer_signature(&key, "filiera-test", "/v1/snapshot", 1_000).unwrap();
        let ok = check_signature(&header, "filiera-test", "/v1/snapshot", 1_060).unwrap();
        assert_eq!(ok, key.public_key());
        let code = |chain: &str, path: &str, now: u64, h: &str| {
            check_signature(h, chain, path, now).unwrap_err().code
        };
        assert_eq!(
            code("filiera-other", "/v1/snapshot", 1_000, &header),
            "bad_signature"
        );
        assert_eq!(
            code("filiera-test", "/v1/snapshot/5/0", 1_000, &header),
            "bad_signature"
        );
        assert_eq!(
            code("filiera-test", "/v1/snapshot", 1_061, &header),
            "stale_signature"
        );
        assert_eq!(
            code("filiera-test", "/v1/snapshot", 939, &header),
            "stale_signature"
        );
        // The time is signed: moving it breaks the signature.
        let moved = header.replacen(".1000.", ".1030.", 1);
        assert_eq!(
            code("filiera-test", "/v1/snapshot", 1_030, &moved),
            "bad_signature"
        );
        assert_eq!(
            code("filiera-test", "/v1/snapshot", 1_000, "x.y"),
            "unauthorized"
        );
        assert_eq!(
            code(
                "filiera-test",
                "/v1/snapshot",
                1_000,
                &format!("{header}.1")
            ),
            "unauthorized"
        );
    }
}
