//! Alphanumeric GS1 attributes: lot (AI 10), serial (AI 21), variant (AI 22).

use super::{Gs1Error, text_codec};

/// Longest lot, serial or variant, in characters.
pub const AI_TEXT_CHARS_MAX: usize = 20;

/// Whether `c` is in GS1's AI encodable character set 82.
fn in_cset82(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!\"%&'()*+,-./:;<=>?_".contains(c)
}

fn parse_text(kind: &'static str, text: &str) -> Result<String, Gs1Error> {
    let found = text.chars().count();
    if found == 0 || found > AI_TEXT_CHARS_MAX {
        return Err(Gs1Error::TextLength {
            kind,
            max: AI_TEXT_CHARS_MAX,
            found,
        });
    }
    if let Some(c) = text.chars().find(|&c| !in_cset82(c)) {
        return Err(Gs1Error::Charset {
            kind,
            value: text.to_owned(),
            found: c,
        });
    }
    Ok(text.to_owned())
}

macro_rules! ai_text {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Validates 1 to 20 characters of GS1 character set 82.
            pub fn parse(text: &str) -> Result<$name, Gs1Error> {
                parse_text($kind, text).map($name)
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        text_codec!($name);
    };
}

ai_text!(
    /// A batch or lot number (AI 10).
    Lot,
    "lot (AI 10)"
);
ai_text!(
    /// A serial number (AI 21).
    Serial,
    "serial (AI 21)"
);
ai_text!(
    /// A consumer product variant (AI 22).
    Variant,
    "variant (AI 22)"
);
