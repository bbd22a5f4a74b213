//! Who reads what (ADR 0010).
//!
//! Members' EPCIS documents carry business transactions, customers and
//! quantities: they are read by their parties only (the organisations the
//! query index lists for each event), by the authority and accredited
//! auditors, and by the node's operator. Everything a consumer page shows
//! (lots, their events, attestations, registry records) stays public.
//!
//! A reader is named by how the request came:
//! - on the operator's listener: the operator, who reads everything (the
//!   node holds every block anyway);
//! - with an organisation's API token (`Authorization: Bearer`, over a
//!   secure transport only): that organisation, as the registry says it is
//!   now (suspended or revoked: refused);
//! - with neither: anyone.
//!
//! **Threats.** A token sent in clear is refused before it is looked at; an
//! unknown token is refused, not read as anonymous (a client that believes
//! itself authenticated must learn it is not); a non-party asking for a
//! document gets the answer it would get for a document that does not
//! exist, so ids cannot be probed.

use crate::error::ApiError;
use crate::{ApiState, SecureTransport, reads};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use filiera_contract_api::registry::{OrgStatus, Role};

/// Marks a request that came on the operator's listener.
#[derive(Clone, Copy, Debug)]
pub struct OperatorListener;

/// Who is reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reader {
    /// No credentials: what consumer pages show.
    Anyone,
    /// An active member organisation: its own EPCIS documents and those it
    /// is a party to.
    Member(String),
    /// The operator, the authority or an accredited auditor: everything.
    Everything,
}

/// The answer to an anonymous request for members' documents.
pub fn member_only() -> ApiError {
    ApiError {
        status: StatusCode::UNAUTHORIZED,
        code: "unauthorized",
        message: "EPCIS documents are read by their parties: send `Authorization: Bearer \
                  <organisation API token>`"
            .into(),
    }
}

impl FromRequestParts<ApiState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &ApiState) -> Result<Reader, ApiError> {
        if parts.extensions.get::<OperatorListener>().is_some() {
            return Ok(Reader::Everything);
        }
        // Another scheme (a proxy's Basic credentials, say) names no member.
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Bearer "));
        if !bearer {
            return Ok(Reader::Anyone);
        }
        crate::epcis::token_transport(parts.extensions.get::<SecureTransport>().copied())?;
        let org_id = crate::epcis::token_org(s, &parts.headers)?;
        let org = reads::org(&s.store, &org_id)?;
        match org {
            Some(o) if o.may(Role::Authority) || o.may(Role::Auditor) => Ok(Reader::Everything),
            Some(o) if o.status == OrgStatus::Active => Ok(Reader::Member(o.id)),
            _ => Err(ApiError {
                status: StatusCode::FORBIDDEN,
                code: "not_active",
                message: format!(
                    "organisation {org_id:?} is not an active member: its token reads nothing"
                ),
            }),
        }
    }
}
