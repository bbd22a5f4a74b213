//! GS1 identifiers: GTIN, GLN, SSCC with check digits; lot, serial and variant
//! strings; GS1 Digital Link URIs (what the QR code encodes); EPC URNs (what
//! EPCIS events name).
//!
//! Every identifier is validated on construction and on decoding (serde and
//! borsh), so a value of these types is always well formed; a GTIN is always
//! stored as 14 digits, so the same product has one spelling in hashes.

mod digital_link;
mod epc;
mod keys;
mod text;

pub use digital_link::{DigitalLink, DlPrimaryKey};
pub use epc::Epc;
pub use keys::{Gln, Gtin, Sscc, check_digit};
pub use text::{Lot, Serial, Variant};

/// Why a GS1 identifier, Digital Link or EPC URN was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Gs1Error {
    /// Wrong number of digits.
    #[error("{kind} must have {expected} digits, found {found}")]
    Length {
        /// GTIN, GLN or SSCC.
        kind: &'static str,
        /// The lengths allowed, in words.
        expected: &'static str,
        /// The length found.
        found: usize,
    },
    /// A character that is not a digit.
    #[error("{kind} {value:?}: contains a non-digit character {found:?}")]
    NonDigit {
        /// GTIN, GLN or SSCC.
        kind: &'static str,
        /// The text.
        value: String,
        /// The first non-digit.
        found: char,
    },
    /// The last digit is not the check digit of the others.
    #[error("{kind} {value}: check digit should be {expected}, found {found}")]
    CheckDigit {
        /// GTIN, GLN or SSCC.
        kind: &'static str,
        /// The identifier as given.
        value: String,
        /// The correct check digit.
        expected: u8,
        /// The digit found.
        found: u8,
    },
    /// A lot, serial or variant that is empty or too long.
    #[error("{kind} must be 1 to {max} characters, found {found}")]
    TextLength {
        /// Which application identifier.
        kind: &'static str,
        /// Most characters allowed.
        max: usize,
        /// Characters found.
        found: usize,
    },
    /// A character outside GS1's AI encodable character set 82.
    #[error("{kind} {value:?}: character {found:?} is not in the GS1 character set 82")]
    Charset {
        /// Which application identifier.
        kind: &'static str,
        /// The text.
        value: String,
        /// The refused character.
        found: char,
    },
    /// A malformed Digital Link URI.
    #[error("Digital Link {uri:?}: {reason}")]
    DigitalLink {
        /// The URI.
        uri: String,
        /// What is wrong.
        reason: String,
    },
    /// A malformed EPC URN.
    #[error("EPC {urn:?}: {reason}")]
    Epc {
        /// The URN.
        urn: String,
        /// What is wrong.
        reason: String,
    },
}

/// Implements Display, FromStr, serde and borsh (as text, validated on decode) for
/// a GS1 type with `parse(&str) -> Result<Self, Gs1Error>` and `as_str()`.
macro_rules! text_codec {
    ($name:ident) => {
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::gs1::Gs1Error;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::parse(text)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }

        impl borsh::BorshSerialize for $name {
            fn serialize<W: borsh::io::Write>(&self, w: &mut W) -> borsh::io::Result<()> {
                borsh::BorshSerialize::serialize(self.as_str(), w)
            }
        }

        impl borsh::BorshDeserialize for $name {
            fn deserialize_reader<R: borsh::io::Read>(r: &mut R) -> borsh::io::Result<Self> {
                let text = String::deserialize_reader(r)?;
                // Only the canonical spelling decodes: a GTIN-13 written where a GTIN-14
                // belongs would parse, but would be a second encoding of the same value.
                let value = Self::parse(&text).map_err($crate::encoding::invalid_data)?;
                if value.as_str() != text {
                    return Err($crate::encoding::invalid_data(format!(
                        "{text:?} is not the canonical form {:?}",
                        value.as_str()
                    )));
                }
                Ok(value)
            }
        }
    };
}
pub(crate) use text_codec;
