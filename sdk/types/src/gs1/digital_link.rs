//! GS1 Digital Link URIs: `https://{domain}[/{prefix}]/01/{gtin}[/22/{cpv}][/10/{lot}][/21/{serial}][?17=YYMMDD...]`.
//!
//! Parsing scans the path for the first primary-key AI (01, 414, 00), so a
//! resolver may serve links under a path prefix. Key qualifiers must follow in
//! GS1's fixed order; data attributes (17 expiry, 15 best-before) go in the query
//! string. Output percent-encodes every character outside the URI unreserved set.

use super::{Gln, Gs1Error, Gtin, Lot, Serial, Sscc, Variant};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Characters escaped in path segments and query values: all but ALPHA, DIGIT, `-._~`.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Longest GLN extension (AI 254), in characters.
const GLN_EXTENSION_CHARS_MAX: usize = 20;

/// The identified thing: a trade item (with qualifiers), a location or a logistic unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DlPrimaryKey {
    /// AI 01 with optional AI 22, 10, 21 qualifiers.
    Gtin {
        /// The product.
        gtin: Gtin,
        /// Consumer product variant (AI 22).
        variant: Option<Variant>,
        /// Lot (AI 10).
        lot: Option<Lot>,
        /// Serial (AI 21).
        serial: Option<Serial>,
    },
    /// AI 414 with an optional extension (AI 254).
    Gln {
        /// The location.
        gln: Gln,
        /// GLN extension component (AI 254).
        extension: Option<String>,
    },
    /// AI 00.
    Sscc(Sscc),
}

/// A parsed GS1 Digital Link URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigitalLink {
    /// Scheme, host and any path prefix, without a trailing slash, e.g. `https://id.gs1.org`.
    pub base: String,
    /// What the link identifies.
    pub key: DlPrimaryKey,
    /// Query parameters in order (data attributes such as 17 and 15, `linkType`...), decoded.
    pub query: Vec<(String, String)>,
}

impl DigitalLink {
    /// A link to a lot of a product.
    pub fn for_lot(base: &str, gtin: Gtin, lot: Lot) -> DigitalLink {
        DigitalLink {
            base: base.trim_end_matches('/').to_owned(),
            key: DlPrimaryKey::Gtin {
                gtin,
                variant: None,
                lot: Some(lot),
                serial: None,
            },
            query: Vec::new(),
        }
    }

    /// A link to one serialised item.
    pub fn for_serial(base: &str, gtin: Gtin, serial: Serial) -> DigitalLink {
        DigitalLink {
            base: base.trim_end_matches('/').to_owned(),
            key: DlPrimaryKey::Gtin {
                gtin,
                variant: None,
                lot: None,
                serial: Some(serial),
            },
            query: Vec::new(),
        }
    }

    /// Parses a Digital Link URI.
    pub fn parse(uri: &str) -> Result<DigitalLink, Gs1Error> {
        let fail = |reason: String| Gs1Error::DigitalLink {
            uri: uri.to_owned(),
            reason,
        };
        let without_fragment = uri.split('#').next().unwrap_or(uri);
        let (scheme, rest) = if let Some(rest) = without_fragment.strip_prefix("https://") {
            ("https://", rest)
        } else if let Some(rest) = without_fragment.strip_prefix("http://") {
            ("http://", rest)
        } else {
            return Err(fail("scheme must be http or https".into()));
        };
        let (path_part, query_part) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let (host, path) = path_part.split_once('/').unwrap_or((path_part, ""));
        if host.is_empty() {
            return Err(fail("missing host".into()));
        }
        let mut segments: Vec<&str> = path.split('/').collect();
        if segments.last() == Some(&"") {
            segments.pop();
        }
        let start = segments
            .iter()
            .enumerate()
            .position(|(i, s)| matches!(*s, "01" | "414" | "00") && i + 1 < segments.len())
            .ok_or_else(|| {
                fail("no primary key (01, 414 or 00) with a value in the path".into())
            })?;
        let prefix = &segments[..start];
        if prefix.iter().any(|s| s.is_empty()) {
            return Err(fail("empty path segment".into()));
        }
        let base = if prefix.is_empty() {
            format!("{scheme}{host}")
        } else {
            format!("{scheme}{host}/{}", prefix.join("/"))
        };
        let pairs = &segments[start..];
        if !pairs.len().is_multiple_of(2) {
            return Err(fail(format!("AI {} has no value", pairs[pairs.len() - 1])));
        }
        let mut values = Vec::new();
        for pair in pairs.chunks(2) {
            values.push((pair[0], decode(pair[1]).map_err(&fail)?));
        }
        let key = primary_key(&values).map_err(&fail)?;
        let query = match query_part {
            Some(q) if !q.is_empty() => parse_query(q).map_err(&fail)?,
            _ => Vec::new(),
        };
        Ok(DigitalLink { base, key, query })
    }

    /// The canonical URI: GTIN as 14 digits, qualifiers in order, percent-encoded values.
    pub fn to_uri(&self) -> String {
        let mut out = self.base.clone();
        let mut push = |ai: &str, value: &str| {
            out.push('/');
            out.push_str(ai);
            out.push('/');
            out.extend(utf8_percent_encode(value, COMPONENT));
        };
        match &self.key {
            DlPrimaryKey::Gtin {
                gtin,
                variant,
                lot,
                serial,
            } => {
                push("01", gtin.as_str());
                if let Some(v) = variant {
                    push("22", v.as_str());
                }
                if let Some(l) = lot {
                    push("10", l.as_str());
                }
                if let Some(s) = serial {
                    push("21", s.as_str());
                }
            }
            DlPrimaryKey::Gln { gln, extension } => {
                push("414", gln.as_str());
                if let Some(e) = extension {
                    push("254", e);
                }
            }
            DlPrimaryKey::Sscc(sscc) => push("00", sscc.as_str()),
        }
        for (i, (k, v)) in self.query.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.extend(utf8_percent_encode(k, COMPONENT));
            out.push('=');
            out.extend(utf8_percent_encode(v, COMPONENT));
        }
        out
    }

    /// A query parameter's value.
    pub fn query_value(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Expiry date (AI 17), YYMMDD.
    pub fn expiry(&self) -> Option<&str> {
        self.query_value("17")
    }

    /// Best-before date (AI 15), YYMMDD.
    pub fn best_before(&self) -> Option<&str> {
        self.query_value("15")
    }
}

fn decode(value: &str) -> Result<String, String> {
    percent_decode_str(value)
        .decode_utf8()
        .map(|v| v.into_owned())
        .map_err(|_| format!("value {value:?} is not valid percent-encoded UTF-8"))
}

fn primary_key(values: &[(&str, String)]) -> Result<DlPrimaryKey, String> {
    let (ai, value) = &values[0];
    let qualifiers = &values[1..];
    let e = |err: Gs1Error| err.to_string();
    match *ai {
        "01" => {
            let gtin = Gtin::parse(value).map_err(e)?;
            let (mut variant, mut lot, mut serial) = (None, None, None);
            // Each qualifier must come after the previous one in the order 22, 10, 21.
            let mut last_rank = 0;
            for (q, v) in qualifiers {
                let rank = match *q {
                    "22" => 1,
                    "10" => 2,
                    "21" => 3,
                    other => {
                        return Err(format!(
                            "AI {other} is not a qualifier of a GTIN (22, 10, 21)"
                        ));
                    }
                };
                if rank <= last_rank {
                    return Err(format!(
                        "qualifier AI {q} repeated or out of order (order is 22, 10, 21)"
                    ));
                }
                last_rank = rank;
                match rank {
                    1 => variant = Some(Variant::parse(v).map_err(e)?),
                    2 => lot = Some(Lot::parse(v).map_err(e)?),
                    _ => serial = Some(Serial::parse(v).map_err(e)?),
                }
            }
            Ok(DlPrimaryKey::Gtin {
                gtin,
                variant,
                lot,
                serial,
            })
        }
        "414" => {
            let gln = Gln::parse(value).map_err(e)?;
            let extension = match qualifiers {
                [] => None,
                [("254", ext)] => {
                    let n = ext.chars().count();
                    if n == 0 || n > GLN_EXTENSION_CHARS_MAX {
                        return Err(format!(
                            "GLN extension (AI 254) must be 1 to {GLN_EXTENSION_CHARS_MAX} characters"
                        ));
                    }
                    Some(ext.clone())
                }
                _ => return Err("a GLN (414) takes only the qualifier 254, once".into()),
            };
            Ok(DlPrimaryKey::Gln { gln, extension })
        }
        _ => {
            if !qualifiers.is_empty() {
                return Err("an SSCC (00) takes no qualifiers".into());
            }
            Ok(DlPrimaryKey::Sscc(Sscc::parse(value).map_err(e)?))
        }
    }
}

fn parse_query(query: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let (k, v) = (decode(k)?, decode(v)?);
        if matches!(k.as_str(), "17" | "15") {
            check_yymmdd(&k, &v)?;
        }
        out.push((k, v));
    }
    Ok(out)
}

/// GS1 dates: YYMMDD, month 01-12, day 00-31 (day 00 means the end of the month).
fn check_yymmdd(ai: &str, value: &str) -> Result<(), String> {
    let b = value.as_bytes();
    let two = |i: usize| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
    if b.len() != 6 || !b.iter().all(u8::is_ascii_digit) {
        return Err(format!("AI {ai} must be a date YYMMDD, found {value:?}"));
    }
    let (month, day) = (two(2), two(4));
    if !(1..=12).contains(&month) || day > 31 {
        return Err(format!(
            "AI {ai} {value:?}: month must be 01-12 and day 00-31"
        ));
    }
    Ok(())
}
