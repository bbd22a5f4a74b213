//! Short validated names: chain ids, contract ids, method names.
//!
//! They are signed and hashed, so each has one spelling: lower-case ASCII from a
//! small alphabet, bounded length. Decoding (borsh or serde) re-validates, so a
//! value of these types is always well formed.

use crate::encoding::invalid_data;
use crate::limits::{CHAIN_ID_BYTES_MAX, CONTRACT_ID_BYTES_MAX, METHOD_NAME_BYTES_MAX};
use borsh::{BorshDeserialize, BorshSerialize};

/// Why a name was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    /// Empty or too long.
    #[error("{kind} must be 1 to {max} bytes, found {len}")]
    Length {
        /// Which kind of name.
        kind: &'static str,
        /// The limit in bytes.
        max: usize,
        /// The length found.
        len: usize,
    },
    /// A character outside the allowed alphabet.
    #[error("{kind} {text:?}: character {found:?} not allowed ({allowed})")]
    Character {
        /// Which kind of name.
        kind: &'static str,
        /// The refused text.
        text: String,
        /// The first refused character.
        found: char,
        /// A human description of the alphabet.
        allowed: &'static str,
    },
}

fn check(
    kind: &'static str,
    text: &str,
    max: usize,
    allowed: &'static str,
    ok: fn(usize, u8) -> bool,
) -> Result<(), NameError> {
    if text.is_empty() || text.len() > max {
        return Err(NameError::Length {
            kind,
            max,
            len: text.len(),
        });
    }
    if let Some((_, found)) = text
        .char_indices()
        .find(|&(i, c)| !c.is_ascii() || !ok(i, c as u8))
    {
        return Err(NameError::Character {
            kind,
            text: text.to_owned(),
            found,
            allowed,
        });
    }
    Ok(())
}

macro_rules! validated_name {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:expr, $allowed:literal, $ok:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps `text`.
            pub fn new(text: impl Into<String>) -> Result<Self, NameError> {
                let text = text.into();
                check($kind, &text, $max, $allowed, $ok)?;
                Ok(Self(text))
            }

            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = NameError;
            fn from_str(text: &str) -> Result<Self, NameError> {
                Self::new(text)
            }
        }

        impl BorshDeserialize for $name {
            fn deserialize_reader<R: borsh::io::Read>(reader: &mut R) -> borsh::io::Result<Self> {
                let text = String::deserialize_reader(reader)?;
                Self::new(text).map_err(invalid_data)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(d)?;
                Self::new(text).map_err(serde::de::Error::custom)
            }
        }
    };
}

validated_name!(
    /// A chain id, e.g. `filiera-marche-devnet-1`: signed into every message.
    ChainId,
    "chain id",
    CHAIN_ID_BYTES_MAX,
    "a-z, 0-9, '-' and '.'",
    |_, c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.'
);

validated_name!(
    /// A contract's id, e.g. `registry`.
    ContractId,
    "contract id",
    CONTRACT_ID_BYTES_MAX,
    "a-z first, then a-z, 0-9, '-' and '_'",
    |i, c| c.is_ascii_lowercase() || (i > 0 && (c.is_ascii_digit() || c == b'-' || c == b'_'))
);

validated_name!(
    /// A contract method name, e.g. `register_lot`.
    MethodName,
    "method name",
    METHOD_NAME_BYTES_MAX,
    "a-z or '_' first, then a-z, 0-9 and '_'",
    |i, c| c.is_ascii_lowercase() || c == b'_' || (i > 0 && c.is_ascii_digit())
);

validated_name!(
    /// An organisation's id on chain, e.g. `regione-marche`.
    OrgId,
    "organisation id",
    crate::limits::ORG_ID_BYTES_MAX,
    "a-z, 0-9 and '-', starting with a-z",
    |i, c| c.is_ascii_lowercase() || (i > 0 && (c.is_ascii_digit() || c == b'-'))
);
