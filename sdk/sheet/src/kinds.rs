//! The kinds of record a spreadsheet may hold, their columns and the names
//! a header may give them (Italian or English, any case).

use serde::{Deserialize, Serialize};

/// A kind of record, one template each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// New lots (commissioning).
    Lots,
    /// What happened to lots.
    Events,
}

/// A column of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Its name in the templates and in errors.
    pub name: &'static str,
    /// Whether every row needs it.
    pub required: bool,
    /// Other names a header may use for it.
    pub aliases: &'static [&'static str],
}

const fn col(name: &'static str, required: bool, aliases: &'static [&'static str]) -> Column {
    Column {
        name,
        required,
        aliases,
    }
}

const LOTS: &[Column] = &[
    col("gtin", true, &["prodotto", "product"]),
    col("lot", true, &["lotto", "lot number", "numero lotto"]),
    col("quantity", true, &["quantita", "quantità", "qty"]),
    col("site", false, &["sito", "gln"]),
];

const EVENTS: &[Column] = &[
    col("gtin", true, &["prodotto", "product"]),
    col("lot", true, &["lotto", "lot number", "numero lotto"]),
    col("event", true, &["evento", "what"]),
    col("to", false, &["destinatario", "receiver"]),
    col("quantity", false, &["quantita", "quantità", "qty"]),
    col("site", false, &["sito", "gln"]),
    col("note", false, &["nota", "notes", "note"]),
];

/// The event words a row may use, as the app names them; Italian words are
/// accepted too.
pub const EVENT_WORDS: &[(&str, &str)] = &[
    ("store", "stoccaggio"),
    ("inspect", "ispezione"),
    ("ship", "spedizione"),
    ("receive", "ricevimento"),
    ("hold", "blocco"),
    ("release", "sblocco"),
    ("sell", "vendita"),
    ("destroy", "distruzione"),
];

impl Kind {
    /// Its columns, in template order.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Kind::Lots => LOTS,
            Kind::Events => EVENTS,
        }
    }

    /// Its name in file names.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Lots => "lots",
            Kind::Events => "events",
        }
    }
}

/// The column of `kind` a header cell names, if any.
pub fn column_of(kind: Kind, header: &str) -> Option<&'static Column> {
    let h = header.trim().to_lowercase();
    kind.columns()
        .iter()
        .find(|c| c.name == h || c.aliases.contains(&h.as_str()))
}

/// The app's word for an event cell (English or Italian, any case).
pub fn event_word(cell: &str) -> Option<&'static str> {
    let c = cell.trim().to_lowercase();
    EVENT_WORDS
        .iter()
        .find(|(en, it)| *en == c || *it == c)
        .map(|(en, _)| *en)
}
