//! EPC pure-identity URNs (GS1 Tag Data Standard), as EPCIS events name objects.
//!
//! Turning a GTIN into a URN needs the length of the GS1 company prefix, which
//! the digits alone do not tell; the caller supplies it (6 to 12). Parsing a URN
//! needs no such hint: the dot marks it.

use super::{DigitalLink, DlPrimaryKey, Gln, Gs1Error, Gtin, Lot, Serial, Sscc, check_digit};

/// An EPC: an object instance or, for `Lgtin`, a class (a lot of a product).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Epc {
    /// A serialised trade item: `urn:epc:id:sgtin:...`.
    Sgtin {
        /// The product.
        gtin: Gtin,
        /// Its serial.
        serial: Serial,
    },
    /// A lot of a trade item: `urn:epc:class:lgtin:...`.
    Lgtin {
        /// The product.
        gtin: Gtin,
        /// The lot.
        lot: Lot,
    },
    /// A location: `urn:epc:id:sgln:...`.
    Sgln {
        /// The location.
        gln: Gln,
        /// Its extension; `None` is written as `0`.
        extension: Option<String>,
    },
    /// A logistic unit: `urn:epc:id:sscc:...`.
    Sscc(Sscc),
}

/// Characters escaped in the serial or lot part of an EPC URN.
const URN_ESCAPED: &[(char, &str)] = &[
    ('%', "%25"),
    ('"', "%22"),
    ('&', "%26"),
    ('/', "%2F"),
    ('<', "%3C"),
    ('>', "%3E"),
    ('?', "%3F"),
];

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match URN_ESCAPED.iter().find(|(e, _)| *e == c) {
            Some((_, code)) => out.push_str(code),
            None => out.push(c),
        }
    }
    out
}

fn unescape(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let code = rest.get(i..i + 3).ok_or("truncated %-escape")?;
        let (c, _) = URN_ESCAPED
            .iter()
            .find(|(_, e)| e.eq_ignore_ascii_case(code))
            .ok_or_else(|| format!("{code} is not an EPC URN escape"))?;
        out.push(*c);
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

fn digits(field: &str, what: &str) -> Result<(), String> {
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} must be digits, found {field:?}"));
    }
    Ok(())
}

/// Appends the check digit to `data` (digits only, already validated).
fn with_check(data: String) -> Result<String, String> {
    let c = check_digit(data.as_bytes()).map_err(|e| e.to_string())?;
    Ok(format!("{data}{c}"))
}

fn prefix_len_ok(len: usize) -> Result<(), Gs1Error> {
    if !(6..=12).contains(&len) {
        return Err(Gs1Error::Epc {
            urn: String::new(),
            reason: format!("a GS1 company prefix has 6 to 12 digits, not {len}"),
        });
    }
    Ok(())
}

impl Epc {
    /// Parses an EPC pure-identity URN (sgtin, sgln, sscc) or lgtin class URN.
    pub fn parse_urn(urn: &str) -> Result<Epc, Gs1Error> {
        Self::parse_inner(urn).map_err(|reason| Gs1Error::Epc {
            urn: urn.to_owned(),
            reason,
        })
    }

    fn parse_inner(urn: &str) -> Result<Epc, String> {
        let (kind, body) = if let Some(b) = urn.strip_prefix("urn:epc:id:sgtin:") {
            ("sgtin", b)
        } else if let Some(b) = urn.strip_prefix("urn:epc:class:lgtin:") {
            ("lgtin", b)
        } else if let Some(b) = urn.strip_prefix("urn:epc:id:sgln:") {
            ("sgln", b)
        } else if let Some(b) = urn.strip_prefix("urn:epc:id:sscc:") {
            ("sscc", b)
        } else {
            return Err("not an sgtin, lgtin, sgln or sscc URN".into());
        };
        let fields: Vec<&str> = body.splitn(3, '.').collect();
        let prefix = fields[0];
        digits(prefix, "company prefix")?;
        if !(6..=12).contains(&prefix.len()) {
            return Err(format!(
                "company prefix must have 6 to 12 digits, found {}",
                prefix.len()
            ));
        }
        let err = |e: Gs1Error| e.to_string();
        match (kind, fields.as_slice()) {
            ("sgtin" | "lgtin", [_, item, last]) => {
                digits(item, "indicator and item reference")?;
                if prefix.len() + item.len() != 13 {
                    return Err(
                        "company prefix and item reference must have 13 digits together".into(),
                    );
                }
                let data = format!("{}{prefix}{}", &item[..1], &item[1..]);
                let gtin = Gtin::parse(&with_check(data)?).map_err(err)?;
                let text = unescape(last)?;
                if kind == "sgtin" {
                    Ok(Epc::Sgtin {
                        gtin,
                        serial: Serial::parse(&text).map_err(err)?,
                    })
                } else {
                    Ok(Epc::Lgtin {
                        gtin,
                        lot: Lot::parse(&text).map_err(err)?,
                    })
                }
            }
            ("sgln", [_, location, ext]) => {
                if prefix.len() + location.len() != 12
                    || !location.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(
                        "company prefix and location reference must be 12 digits together".into(),
                    );
                }
                let gln = Gln::parse(&with_check(format!("{prefix}{location}"))?).map_err(err)?;
                let ext = unescape(ext)?;
                let extension = if ext == "0" { None } else { Some(ext) };
                Ok(Epc::Sgln { gln, extension })
            }
            ("sscc", [_, serial_ref]) => {
                digits(serial_ref, "extension and serial reference")?;
                if prefix.len() + serial_ref.len() != 17 {
                    return Err(
                        "company prefix, extension and serial reference must be 17 digits together"
                            .into(),
                    );
                }
                let data = format!("{}{prefix}{}", &serial_ref[..1], &serial_ref[1..]);
                Ok(Epc::Sscc(Sscc::parse(&with_check(data)?).map_err(err)?))
            }
            _ => Err(format!("wrong number of '.'-separated fields for {kind}")),
        }
    }

    /// The URN, splitting keys after a GS1 company prefix of `company_prefix_len` digits.
    pub fn to_urn(&self, company_prefix_len: usize) -> Result<String, Gs1Error> {
        prefix_len_ok(company_prefix_len)?;
        let l = company_prefix_len;
        Ok(match self {
            Epc::Sgtin { gtin, serial } => {
                let g = gtin.as_str();
                format!(
                    "urn:epc:id:sgtin:{}.{}{}.{}",
                    &g[1..1 + l],
                    &g[..1],
                    &g[1 + l..13],
                    escape(serial.as_str())
                )
            }
            Epc::Lgtin { gtin, lot } => {
                let g = gtin.as_str();
                format!(
                    "urn:epc:class:lgtin:{}.{}{}.{}",
                    &g[1..1 + l],
                    &g[..1],
                    &g[1 + l..13],
                    escape(lot.as_str())
                )
            }
            Epc::Sgln { gln, extension } => {
                let g = gln.as_str();
                let ext = extension
                    .as_deref()
                    .map(escape)
                    .unwrap_or_else(|| "0".into());
                format!("urn:epc:id:sgln:{}.{}.{ext}", &g[..l], &g[l..12])
            }
            Epc::Sscc(sscc) => {
                let s = sscc.as_str();
                format!(
                    "urn:epc:id:sscc:{}.{}{}",
                    &s[1..1 + l],
                    &s[..1],
                    &s[1 + l..17]
                )
            }
        })
    }

    /// The same object as a Digital Link under `base`.
    pub fn to_digital_link(&self, base: &str) -> DigitalLink {
        let key = match self.clone() {
            Epc::Sgtin { gtin, serial } => DlPrimaryKey::Gtin {
                gtin,
                variant: None,
                lot: None,
                serial: Some(serial),
            },
            Epc::Lgtin { gtin, lot } => DlPrimaryKey::Gtin {
                gtin,
                variant: None,
                lot: Some(lot),
                serial: None,
            },
            Epc::Sgln { gln, extension } => DlPrimaryKey::Gln { gln, extension },
            Epc::Sscc(sscc) => DlPrimaryKey::Sscc(sscc),
        };
        DigitalLink {
            base: base.trim_end_matches('/').to_owned(),
            key,
            query: Vec::new(),
        }
    }

    /// The EPC a Digital Link names: a serial makes an sgtin, a lot alone an lgtin.
    pub fn from_digital_link(link: &DigitalLink) -> Result<Epc, Gs1Error> {
        match &link.key {
            DlPrimaryKey::Gtin {
                gtin,
                serial: Some(serial),
                ..
            } => Ok(Epc::Sgtin {
                gtin: gtin.clone(),
                serial: serial.clone(),
            }),
            DlPrimaryKey::Gtin {
                gtin,
                lot: Some(lot),
                ..
            } => Ok(Epc::Lgtin {
                gtin: gtin.clone(),
                lot: lot.clone(),
            }),
            DlPrimaryKey::Gtin { .. } => Err(Gs1Error::Epc {
                urn: link.to_uri(),
                reason: "a GTIN without lot or serial names a product class, not an EPC".into(),
            }),
            DlPrimaryKey::Gln { gln, extension } => Ok(Epc::Sgln {
                gln: gln.clone(),
                extension: extension.clone(),
            }),
            DlPrimaryKey::Sscc(sscc) => Ok(Epc::Sscc(sscc.clone())),
        }
    }
}
