//! The organisation's lots and events as files: CSV (one for lots, one for
//! events) and XLSX (a workbook with both), and the empty templates.
//!
//! What is exported includes text other organisations wrote on chain (a
//! receiver's notes, organisation codes): a CSV text cell that starts like a
//! formula is prefixed with `'` ([`neutralise`]); XLSX cells are typed
//! strings and numbers, which no spreadsheet evaluates.

use crate::SheetError;
use crate::kinds::{EVENT_WORDS, Kind};
use rust_xlsxwriter::{DataValidation, DocProperties, ExcelDateTime, Format, Workbook, Worksheet};
use serde::Deserialize;
use std::borrow::Cow;

/// A lot as `/v1/lots/{gtin}/{lot}` shows it (the fields exported).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ExportLot {
    /// GTIN.
    pub gtin: String,
    /// Lot number.
    pub lot: String,
    /// Status word.
    pub status: String,
    /// Quantity now.
    pub quantity: u64,
    /// Quantity when made.
    pub initial_quantity: u64,
    /// Who made it.
    pub owner: String,
    /// Who holds it.
    pub holder: String,
    /// Where it is (GLN).
    pub site: Option<String>,
    /// When it was made (block time, ms).
    pub created_ms: u64,
    /// Its events.
    pub history: Vec<ExportEvent>,
    /// The lots it was made from (a transformation, a split, a merge).
    pub inputs: Vec<ExportInput>,
}

/// A lot another was made from.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(default)]
pub struct ExportInput {
    /// GTIN.
    pub gtin: String,
    /// Lot number.
    pub lot: String,
}

/// One event of a lot.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ExportEvent {
    /// Its number in the lot's history.
    pub seq: u64,
    /// What happened (CBV business step word).
    pub kind: String,
    /// The organisation that recorded it.
    pub by: String,
    /// Its block.
    pub height: u64,
    /// Its block's time, ms.
    pub time_ms: u64,
    /// The change of quantity.
    pub quantity_delta: i64,
    /// Where (GLN).
    pub site: Option<String>,
    /// The note.
    pub note: String,
}

/// A cell a spreadsheet would read as a formula, made plain text: OWASP's
/// advice for CSV injection (the characters that start a formula or a DDE
/// call, and tab and carriage return, which some programs skip first).
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// A cell of an export row: text (from the chain, neutralised in CSV) or a
/// number the node computed.
enum Cell<'a> {
    Text(Cow<'a, str>),
    Number(i128),
}

fn text(s: &str) -> Cell<'_> {
    Cell::Text(Cow::Borrowed(s))
}

const LOT_HEADER: &[&str] = &[
    "gtin",
    "lot",
    "status",
    "quantity",
    "initial_quantity",
    "owner",
    "holder",
    "site",
    "created",
];
const EVENT_HEADER: &[&str] = &[
    "gtin",
    "lot",
    "seq",
    "event",
    "time",
    "by",
    "quantity_delta",
    "site",
    "note",
    "height",
];

fn lot_rows(lots: &[ExportLot]) -> Vec<Vec<Cell<'_>>> {
    lots.iter()
        .map(|l| {
            vec![
                text(&l.gtin),
                text(&l.lot),
                text(&l.status),
                Cell::Number(l.quantity.into()),
                Cell::Number(l.initial_quantity.into()),
                text(&l.owner),
                text(&l.holder),
                text(l.site.as_deref().unwrap_or("")),
                Cell::Text(Cow::Owned(iso_time(l.created_ms))),
            ]
        })
        .collect()
}

fn event_rows(lots: &[ExportLot]) -> Vec<Vec<Cell<'_>>> {
    lots.iter()
        .flat_map(|l| {
            l.history.iter().map(move |e| {
                vec![
                    text(&l.gtin),
                    text(&l.lot),
                    Cell::Number(e.seq.into()),
                    text(&e.kind),
                    Cell::Text(Cow::Owned(iso_time(e.time_ms))),
                    text(&e.by),
                    Cell::Number(e.quantity_delta.into()),
                    text(e.site.as_deref().unwrap_or("")),
                    text(&e.note),
                    Cell::Number(e.height.into()),
                ]
            })
        })
        .collect()
}

/// A block time (ms since 1970, UTC) as ISO 8601.
pub(crate) fn iso_time(ms: u64) -> String {
    i128::from(ms)
        .checked_mul(1_000_000)
        .and_then(|ns| time::OffsetDateTime::from_unix_timestamp_nanos(ns).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The two CSV exports: which rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CsvExport {
    /// One row per lot.
    Lots,
    /// One row per event of every lot.
    Events,
}

/// `lots` as CSV (UTF-8 with a byte order mark, so Excel reads accents),
/// separated by `delimiter` (Italian Excel expects `;`).
pub fn csv(which: CsvExport, lots: &[ExportLot], delimiter: u8) -> Result<Vec<u8>, SheetError> {
    let (header, rows) = match which {
        CsvExport::Lots => (LOT_HEADER, lot_rows(lots)),
        CsvExport::Events => (EVENT_HEADER, event_rows(lots)),
    };
    write_csv(header, &rows, delimiter)
}

fn write_csv(
    header: &[&str],
    rows: &[Vec<Cell<'_>>],
    delimiter: u8,
) -> Result<Vec<u8>, SheetError> {
    let write = |e: csv::Error| SheetError::Write(e.to_string());
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        // Every cell quoted: a program that splits on another
        // separator than this file's (`,` for `;`) still keeps a note such
        // as `ok,=cmd` in one cell, whose first character is neutralised.
        let mut w = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .quote_style(csv::QuoteStyle::Always)
            .from_writer(&mut out);
        w.write_record(header).map_err(write)?;
        for row in rows {
            let cells: Vec<Cow<'_, str>> = row
                .iter()
                .map(|c| match c {
                    Cell::Text(t) => neutralise(t),
                    Cell::Number(n) => Cow::Owned(n.to_string()),
                })
                .collect();
            w.write_record(cells.iter().map(|c| c.as_bytes()))
                .map_err(write)?;
        }
        w.flush().map_err(|e| SheetError::Write(e.to_string()))?;
    }
    Ok(out)
}

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> SheetError {
    SheetError::Write(e.to_string())
}

/// A workbook whose creation time is given, not read from a clock (there is
/// none in wasm32, and the same export makes the same bytes).
fn workbook(now_ms: u64) -> Result<Workbook, SheetError> {
    let mut workbook = Workbook::new();
    let when = ExcelDateTime::from_timestamp(i64::try_from(now_ms / 1000).unwrap_or(0))
        .map_err(xlsx_error)?;
    workbook.set_properties(&DocProperties::new().set_creation_datetime(&when));
    Ok(workbook)
}

fn write_sheet(
    sheet: &mut Worksheet,
    header: &[&str],
    rows: &[Vec<Cell<'_>>],
) -> Result<(), SheetError> {
    let bold = Format::new().set_bold();
    for (c, name) in header.iter().enumerate() {
        let c = u16::try_from(c).unwrap_or(u16::MAX);
        sheet
            .write_string_with_format(0, c, *name, &bold)
            .map_err(xlsx_error)?;
        sheet.set_column_width(c, 16).map_err(xlsx_error)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = u32::try_from(r + 1).map_err(|_| SheetError::TooManyRows)?;
        for (c, cell) in row.iter().enumerate() {
            let c = u16::try_from(c).unwrap_or(u16::MAX);
            match cell {
                Cell::Text(t) => sheet.write_string(r, c, t.as_ref()),
                // Quantities, heights and sequence numbers stay far below
                // 2^53, where a spreadsheet's float is exact.
                Cell::Number(n) => sheet.write_number(r, c, *n as f64),
            }
            .map_err(xlsx_error)?;
        }
    }
    Ok(())
}

/// `lots` as an XLSX workbook: a sheet of lots and a sheet of events.
pub fn xlsx(lots: &[ExportLot], now_ms: u64) -> Result<Vec<u8>, SheetError> {
    let mut workbook = workbook(now_ms)?;
    let sheet = workbook.add_worksheet();
    sheet.set_name("lots").map_err(xlsx_error)?;
    write_sheet(sheet, LOT_HEADER, &lot_rows(lots))?;
    let sheet = workbook.add_worksheet();
    sheet.set_name("events").map_err(xlsx_error)?;
    write_sheet(sheet, EVENT_HEADER, &event_rows(lots))?;
    workbook.save_to_buffer().map_err(xlsx_error)
}

/// The empty template of `kind`: CSV with its header, separated by
/// `delimiter`.
pub fn csv_template(kind: Kind, delimiter: u8) -> Result<Vec<u8>, SheetError> {
    let header: Vec<&str> = kind.columns().iter().map(|c| c.name).collect();
    write_csv(&header, &[], delimiter)
}

/// Rows a template's lists and checks cover.
const TEMPLATE_ROWS: u32 = 5_000;

/// The empty template of `kind` as XLSX: its header, and for events a
/// list to pick the event word from.
pub fn xlsx_template(kind: Kind, italian: bool, now_ms: u64) -> Result<Vec<u8>, SheetError> {
    let mut workbook = workbook(now_ms)?;
    let sheet = workbook.add_worksheet();
    sheet.set_name(kind.name()).map_err(xlsx_error)?;
    let header: Vec<&str> = kind.columns().iter().map(|c| c.name).collect();
    write_sheet(sheet, &header, &[])?;
    let text_format = Format::new().set_num_format("@");
    for (c, column) in kind.columns().iter().enumerate() {
        // GTIN, lot and GLN cells as text, so no leading zero is lost.
        if matches!(column.name, "gtin" | "lot" | "site" | "to") {
            let c = u16::try_from(c).unwrap_or(u16::MAX);
            sheet
                .set_column_format(c, &text_format)
                .map_err(xlsx_error)?;
        }
    }
    if kind == Kind::Events {
        let words: Vec<&str> = EVENT_WORDS
            .iter()
            .map(|(en, it)| if italian { *it } else { *en })
            .collect();
        let list = DataValidation::new()
            .allow_list_strings(&words)
            .map_err(xlsx_error)?;
        sheet
            .add_data_validation(1, 2, TEMPLATE_ROWS, 2, &list)
            .map_err(xlsx_error)?;
    }
    workbook.save_to_buffer().map_err(xlsx_error)
}
