//! The app's requests and answers, as JSON, with the file (when there is
//! one) beside the request as bytes, and files in answers as base64.
//!
//! Requests, by `op`:
//! - `template`: the empty template of a kind, CSV or XLSX;
//! - `check`: the file read and dry-run as records of a kind, against what
//!   the app knows of the organisation (see [`crate::check::Context`]);
//! - `export`: the organisation's lots and their histories as a CSV of lots,
//!   a CSV of events, an XLSX workbook of both or an EPCIS 2.0 document.
//!
//! The answer is `{"ok":true,...}` or `{"ok":false,"code":...,"error":...}`
//! with a stable code the app puts into words.

use crate::check::{Context, dry_run};
use crate::export::{CsvExport, ExportLot, csv, csv_template, xlsx, xlsx_template};
use crate::kinds::Kind;
use crate::{SheetError, table};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

/// A file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// CSV.
    Csv,
    /// XLSX.
    Xlsx,
}

/// What an export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportWhat {
    /// CSV, one row per lot.
    CsvLots,
    /// CSV, one row per event.
    CsvEvents,
    /// XLSX, both.
    Xlsx,
    /// EPCIS 2.0 JSON-LD, one event per event of a lot.
    Epcis,
}

/// A request of the app.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// An empty template.
    Template {
        /// Of which records.
        kind: Kind,
        /// CSV or XLSX.
        format: Format,
        /// The app's language (`it` or `en`): the CSV separator and the
        /// event words offered.
        lang: String,
        /// Now, for the workbook's properties (ms).
        #[serde(default)]
        now_ms: u64,
    },
    /// The file beside the request, read and dry-run.
    Check {
        /// As which records.
        kind: Kind,
        /// What the app knows.
        context: Context,
    },
    /// An export.
    Export {
        /// Which file.
        what: ExportWhat,
        /// The lots, each with its `history`.
        lots: Vec<ExportLot>,
        /// The app's language (the CSV separator).
        lang: String,
        /// Now, for the workbook's properties and the file name (ms).
        #[serde(default)]
        now_ms: u64,
    },
}

fn delimiter(lang: &str) -> u8 {
    if lang == "it" { b';' } else { b',' }
}

fn file(name: String, mime: &str, bytes: &[u8]) -> Value {
    json!({
        "ok": true,
        "file_name": name,
        "mime": mime,
        "bytes": bytes.len(),
        "base64": base64::engine::general_purpose::STANDARD.encode(bytes),
    })
}

const CSV_MIME: &str = "text/csv; charset=utf-8";
const XLSX_MIME: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn answer(request: &[u8], data: &[u8]) -> Result<Value, SheetError> {
    let request: Request = serde_json::from_slice(request)
        .map_err(|e| SheetError::Unreadable(format!("request: {e}")))?;
    Ok(match request {
        Request::Template {
            kind,
            format: Format::Csv,
            lang,
            ..
        } => file(
            format!("filiera-{}.csv", kind.name()),
            CSV_MIME,
            &csv_template(kind, delimiter(&lang))?,
        ),
        Request::Template {
            kind,
            format: Format::Xlsx,
            lang,
            now_ms,
        } => file(
            format!("filiera-{}.xlsx", kind.name()),
            XLSX_MIME,
            &xlsx_template(kind, lang == "it", now_ms)?,
        ),
        Request::Check { kind, context } => {
            let table = table::read(data)?;
            let report = dry_run(kind, &table, &context)?;
            let mut v =
                serde_json::to_value(report).map_err(|e| SheetError::Write(e.to_string()))?;
            v["ok"] = json!(true);
            v
        }
        Request::Export {
            what,
            lots,
            lang,
            now_ms,
        } => match what {
            ExportWhat::CsvLots => file(
                "filiera-lots.csv".into(),
                CSV_MIME,
                &csv(CsvExport::Lots, &lots, delimiter(&lang))?,
            ),
            ExportWhat::CsvEvents => file(
                "filiera-events.csv".into(),
                CSV_MIME,
                &csv(CsvExport::Events, &lots, delimiter(&lang))?,
            ),
            ExportWhat::Xlsx => file("filiera-lots.xlsx".into(), XLSX_MIME, &xlsx(&lots, now_ms)?),
            ExportWhat::Epcis => file(
                "filiera-epcis.jsonld".into(),
                "application/ld+json",
                crate::epcis::document(&lots, now_ms)?
                    .to_string()
                    .as_bytes(),
            ),
        },
    })
}

/// Every code a refused file may carry (the app has words for each).
pub const FILE_CODES: &[&str] = &[
    "sheet_too_large",
    "sheet_too_many_rows",
    "sheet_cell_too_long",
    "sheet_unreadable",
    "sheet_missing_column",
    "sheet_empty",
    "sheet_write",
];

/// The stable code of an error, for the app's words.
pub fn code(e: &SheetError) -> &'static str {
    match e {
        SheetError::TooLarge { .. } => "sheet_too_large",
        SheetError::TooManyRows => "sheet_too_many_rows",
        SheetError::CellTooLong { .. } => "sheet_cell_too_long",
        SheetError::Unreadable(_) => "sheet_unreadable",
        SheetError::MissingColumn(_) => "sheet_missing_column",
        SheetError::Empty => "sheet_empty",
        SheetError::Write(_) => "sheet_write",
    }
}

/// Answers `request` (JSON) about `data` (a file's bytes, or none).
pub fn handle(request: &[u8], data: &[u8]) -> Vec<u8> {
    let v = match answer(request, data) {
        Ok(v) => v,
        Err(e) => {
            let mut v = json!({"ok": false, "code": code(&e), "error": e.to_string()});
            match e {
                SheetError::MissingColumn(column) => v["column"] = json!(column),
                SheetError::CellTooLong { row } => v["row"] = json!(row),
                _ => {}
            }
            v
        }
    };
    serde_json::to_vec(&v).unwrap_or_else(|_| b"{\"ok\":false}".to_vec())
}
