//! RFC 3339 timestamps in JSON, milliseconds since the Unix epoch in the canonical form.

use serde::{Deserializer, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Milliseconds to RFC 3339 in UTC, e.g. `2026-11-24T00:00:00Z`.
pub fn format_ms(ms: u64) -> Option<String> {
    let nanos = i128::from(ms).checked_mul(1_000_000)?;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

/// RFC 3339 (any offset) to milliseconds since the epoch; times before 1970 are refused.
pub fn parse_ms(text: &str) -> Result<u64, String> {
    let t = OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| format!("{text:?} is not an RFC 3339 time ({e})"))?;
    let ms = t.unix_timestamp_nanos() / 1_000_000;
    u64::try_from(ms).map_err(|_| format!("{text:?} is before 1970-01-01"))
}

pub fn serialize<S: Serializer>(ms: &u64, s: S) -> Result<S::Ok, S::Error> {
    let text = format_ms(*ms).ok_or_else(|| serde::ser::Error::custom("time out of range"))?;
    s.serialize_str(&text)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
    parse_ms(&text).map_err(serde::de::Error::custom)
}
