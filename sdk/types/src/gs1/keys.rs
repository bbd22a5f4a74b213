//! Numeric GS1 keys with a mod-10 check digit: GTIN, GLN, SSCC.

use super::{Gs1Error, text_codec};

/// The GS1 check digit of `data_digits` (ASCII digits, check digit excluded):
/// weights 3, 1, 3, 1... from the rightmost data digit leftwards, and
/// check = (10 - sum mod 10) mod 10.
pub fn check_digit(data_digits: &[u8]) -> Result<u8, Gs1Error> {
    let mut sum: u32 = 0;
    for (i, &c) in data_digits.iter().rev().enumerate() {
        if !c.is_ascii_digit() {
            return Err(Gs1Error::NonDigit {
                kind: "GS1 key",
                value: String::from_utf8_lossy(data_digits).into_owned(),
                found: char::from(c),
            });
        }
        let weight = if i % 2 == 0 { 3 } else { 1 };
        sum += u32::from(c - b'0') * weight;
    }
    // sum % 10 < 10, so the result is a single digit.
    Ok(((10 - sum % 10) % 10) as u8)
}

/// Validates digits and check digit, and left-pads with zeros to `width`.
fn parse_key(
    kind: &'static str,
    text: &str,
    lengths: &[usize],
    expected: &'static str,
    width: usize,
) -> Result<String, Gs1Error> {
    if let Some(found) = text.chars().find(|c| !c.is_ascii_digit()) {
        return Err(Gs1Error::NonDigit {
            kind,
            value: text.to_owned(),
            found,
        });
    }
    if !lengths.contains(&text.len()) {
        return Err(Gs1Error::Length {
            kind,
            expected,
            found: text.len(),
        });
    }
    let bytes = text.as_bytes();
    let (data, last) = bytes.split_at(bytes.len() - 1);
    let expected_digit = check_digit(data)?;
    let found = last[0] - b'0';
    if expected_digit != found {
        return Err(Gs1Error::CheckDigit {
            kind,
            value: text.to_owned(),
            expected: expected_digit,
            found,
        });
    }
    Ok(format!("{text:0>width$}"))
}

/// A Global Trade Item Number, always held as 14 digits (GTIN-8/12/13 are left-padded).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gtin(String);

impl Gtin {
    /// Parses a GTIN-8, -12, -13 or -14 and normalises it to 14 digits.
    pub fn parse(text: &str) -> Result<Gtin, Gs1Error> {
        parse_key("GTIN", text, &[8, 12, 13, 14], "8, 12, 13 or 14", 14).map(Gtin)
    }

    /// The 14 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Gtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gtin({})", self.0)
    }
}

/// A Global Location Number (13 digits): a site such as a dairy or a mill.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gln(String);

impl Gln {
    /// Parses 13 digits with a correct check digit.
    pub fn parse(text: &str) -> Result<Gln, Gs1Error> {
        parse_key("GLN", text, &[13], "13", 13).map(Gln)
    }

    /// The 13 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Gln {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gln({})", self.0)
    }
}

/// A Serial Shipping Container Code (18 digits): a pallet or other logistic unit.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sscc(String);

impl Sscc {
    /// Parses 18 digits with a correct check digit.
    pub fn parse(text: &str) -> Result<Sscc, Gs1Error> {
        parse_key("SSCC", text, &[18], "18", 18).map(Sscc)
    }

    /// The 18 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Sscc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sscc({})", self.0)
    }
}

text_codec!(Gtin);
text_codec!(Gln);
text_codec!(Sscc);
