//! Errors as every endpoint answers them: a status, a stable machine code and
//! a human message, as JSON `{"code": ..., "message": ...}`. Internal errors
//! never carry details of the node's internals (no paths, no backtraces).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code, e.g. `not_found`, `invalid_gtin`, `tx_rejected`.
    pub code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
}

impl ApiError {
    /// 400 with a code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: message.into(),
        }
    }

    /// 500; the cause is logged, not shown.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(%cause, "API internal error");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: "the node could not answer; see its log".into(),
        }
    }

    /// 503.
    pub fn busy(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "busy",
            message: message.into(),
        }
    }
}

/// Seconds a client answered "busy" (or "timeout") is asked to wait before
/// retrying, in a `Retry-After` header: an overloaded node sheds load, and
/// clients that retry at once only add to it.
pub const BUSY_RETRY_AFTER_S: u64 = 1;

/// The `Retry-After` header of a "busy" answer.
pub fn retry_after() -> (axum::http::header::HeaderName, String) {
    (
        axum::http::header::RETRY_AFTER,
        BUSY_RETRY_AFTER_S.to_string(),
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "code": self.code, "message": self.message }));
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            (self.status, [retry_after()], body).into_response()
        } else {
            (self.status, body).into_response()
        }
    }
}

impl From<filiera_storage::StorageError> for ApiError {
    fn from(e: filiera_storage::StorageError) -> ApiError {
        ApiError::internal(e)
    }
}
