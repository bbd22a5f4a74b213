//! Spreadsheets for the producers' app: the templates it offers, the files
//! it reads, the dry run it shows and the files it exports.
//!
//! A producer without IT staff keeps lots in a spreadsheet. This crate,
//! compiled to wasm32 and loaded by the app only when a spreadsheet is
//! opened, turns one (CSV with `,`, `;` or tab, or XLSX) into the app's
//! actions, one per row, and names every bad row with a stable code before
//! anything is signed: the app signs only a file without errors. What can be
//! checked without the chain is checked here (GS1 check digits, lot number
//! characters, quantities, event words, a shipment's receiver, duplicate
//! lots, the organisation's own lots and products as last seen); the
//! contracts decide the rest and refuse with their own codes.
//!
//! It also writes the same lots as an EPCIS 2.0 document whose event IDs
//! are the CBV 2.0 hashes the node computes.
//!
//! Invariants: a file larger than [`SHEET_BYTES_MAX`], with more than
//! [`SHEET_ROWS_MAX`] rows or a cell longer than [`CELL_BYTES_MAX`] is
//! refused whole, never cut short; every data row gets exactly one outcome,
//! an action or at least one error; an exported CSV cell that a spreadsheet
//! would read as a formula (first character `=`, `+`, `-`, `@`, tab or
//! carriage return) is prefixed with `'`, and XLSX cells are written as
//! typed strings and numbers, never as formulas.
//!
//! Threats: the file is the user's own, read in their own browser, so a
//! hostile file costs only their tab; the limits keep even that bounded.
//! The exports carry what other organisations wrote on chain (notes,
//! organisation names): those are the cells a formula injection would use,
//! and the reason for the neutralising above.

pub mod app;
pub mod check;
pub mod epcis;
pub mod export;
pub mod kinds;
pub mod table;
mod wasm;

/// Largest spreadsheet file read, bytes.
pub const SHEET_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Most data rows in one file (a season's lots of a small dairy fit many
/// times over; the app signs and sends them in batches).
pub const SHEET_ROWS_MAX: usize = 5_000;
/// Longest cell, bytes (a note on chain is at most 256).
pub const CELL_BYTES_MAX: usize = 1_024;
/// Most columns read from a row.
pub const SHEET_COLUMNS_MAX: usize = 32;

/// Why a file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    /// The file is larger than [`SHEET_BYTES_MAX`].
    #[error("the file has {bytes} bytes; at most {SHEET_BYTES_MAX} are read")]
    TooLarge {
        /// Its size.
        bytes: usize,
    },
    /// The file has more rows than [`SHEET_ROWS_MAX`].
    #[error("the file has more than {SHEET_ROWS_MAX} rows")]
    TooManyRows,
    /// A cell is longer than [`CELL_BYTES_MAX`].
    #[error("row {row}: a cell is longer than {CELL_BYTES_MAX} bytes")]
    CellTooLong {
        /// Its row, counted as the spreadsheet does (the header is row 1).
        row: usize,
    },
    /// Not CSV in UTF-8 nor an XLSX workbook.
    #[error("not a readable CSV or XLSX file: {0}")]
    Unreadable(String),
    /// The header row lacks a column the kind of record needs.
    #[error("the header has no column {0:?}")]
    MissingColumn(&'static str),
    /// The file has a header and no data.
    #[error("the file has no rows below its header")]
    Empty,
    /// Writing a file (workbook, CSV, EPCIS document) failed.
    #[error("writing the file: {0}")]
    Write(String),
}
