//! Identifiers from URLs, parsed (GS1 check digits, lengths, characters)
//! before any key is built from them; a bad one is a 400 that says why.

use crate::error::ApiError;
use filiera_types::gs1::{Gtin, Lot, Serial, Variant};

/// A GTIN from a URL.
pub fn gtin(text: &str) -> Result<Gtin, ApiError> {
    Gtin::parse(text).map_err(|e| ApiError::bad_request("invalid_identifier", format!("GTIN: {e}")))
}

/// A lot number (GS1 AI 10) from a URL.
pub fn lot(text: &str) -> Result<Lot, ApiError> {
    Lot::parse(text).map_err(|e| ApiError::bad_request("invalid_identifier", format!("lot: {e}")))
}

/// A serial number (GS1 AI 21) from a URL.
pub fn serial(text: &str) -> Result<Serial, ApiError> {
    Serial::parse(text)
        .map_err(|e| ApiError::bad_request("invalid_identifier", format!("serial: {e}")))
}

/// A consumer product variant (GS1 AI 22) from a URL.
pub fn variant(text: &str) -> Result<Variant, ApiError> {
    Variant::parse(text)
        .map_err(|e| ApiError::bad_request("invalid_identifier", format!("variant: {e}")))
}
