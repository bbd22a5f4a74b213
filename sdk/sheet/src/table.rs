//! A file, CSV or XLSX, read into a header and rows of text.
//!
//! CSV comes from every spreadsheet program in its own dialect: Italian
//! Excel separates with `;` and saves in Windows-1252 unless asked for
//! UTF-8, others use `,` or tab. The separator is the one the header line
//! uses most; text that is not UTF-8 is read as Windows-1252. XLSX is read
//! with calamine (its first worksheet); a number cell is written out as the
//! digits a person typed, so a GTIN stored as a number stays a GTIN.

use crate::{CELL_BYTES_MAX, SHEET_BYTES_MAX, SHEET_COLUMNS_MAX, SHEET_ROWS_MAX, SheetError};
use calamine::{Data, Reader, Xlsx};
use std::borrow::Cow;
use std::io::Cursor;

/// A file's rows: the header and the data rows with their row numbers as
/// the spreadsheet shows them (the header is row 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The header's cells.
    pub header: Vec<String>,
    /// Data rows that are not blank: (row number, cells).
    pub rows: Vec<(usize, Vec<String>)>,
}

/// Reads `bytes`, an XLSX workbook (by its ZIP signature) or CSV.
pub fn read(bytes: &[u8]) -> Result<Table, SheetError> {
    if bytes.len() > SHEET_BYTES_MAX {
        return Err(SheetError::TooLarge { bytes: bytes.len() });
    }
    let rows = if bytes.starts_with(b"PK\x03\x04") {
        xlsx_rows(bytes)?
    } else {
        csv_rows(bytes)?
    };
    into_table(rows)
}

fn into_table(rows: Vec<(usize, Vec<String>)>) -> Result<Table, SheetError> {
    let mut rows = rows.into_iter();
    let (_, header) = rows.next().ok_or(SheetError::Empty)?;
    let rows: Vec<_> = rows
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
        .collect();
    if rows.is_empty() {
        return Err(SheetError::Empty);
    }
    Ok(Table { header, rows })
}

/// Checks one row's cells against the limits, keeping the first columns.
fn bounded(row: usize, mut cells: Vec<String>) -> Result<(usize, Vec<String>), SheetError> {
    if row > SHEET_ROWS_MAX + 1 {
        return Err(SheetError::TooManyRows);
    }
    cells.truncate(SHEET_COLUMNS_MAX);
    if cells.iter().any(|c| c.len() > CELL_BYTES_MAX) {
        return Err(SheetError::CellTooLong { row });
    }
    Ok((row, cells))
}

fn csv_rows(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>, SheetError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text: Cow<'_, str> = match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => windows_1252(bytes),
    };
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = [b';', b',', b'\t']
        .into_iter()
        .max_by_key(|d| first_line.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| SheetError::Unreadable(e.to_string()))?;
        let line = record.position().map_or(i + 1, |p| p.line() as usize);
        rows.push(bounded(line, record.iter().map(str::to_owned).collect())?);
    }
    Ok(rows)
}

/// Windows-1252, the code page Italian Excel saves CSV in: Latin-1 but for
/// 0x80..=0x9F.
fn windows_1252(bytes: &[u8]) -> Cow<'static, str> {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    Cow::Owned(
        bytes
            .iter()
            .map(|&b| match b {
                0x80..=0x9F => HIGH[usize::from(b - 0x80)],
                _ => char::from(b),
            })
            .collect(),
    )
}

/// The first worksheet's rows, read cell by cell as they are stored: a row
/// past `SHEET_ROWS_MAX` refuses the file when it is reached, and cells past
/// `SHEET_COLUMNS_MAX` are never kept, so a hostile file's claimed size (a
/// used range of a million rows) costs nothing before it is refused.
fn xlsx_rows(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>, SheetError> {
    let unreadable = |e: calamine::XlsxError| SheetError::Unreadable(e.to_string());
    let mut workbook = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    let first = workbook
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| SheetError::Unreadable("the workbook has no worksheet".into()))?;
    let mut cells = workbook
        .worksheet_cells_reader(&first)
        .map_err(unreadable)?;
    let mut by_row: std::collections::BTreeMap<usize, Vec<String>> = Default::default();
    while let Some(cell) = cells.next_cell().map_err(unreadable)? {
        let (row, column) = cell.get_position();
        let (row, column) = (row as usize + 1, column as usize);
        if row > SHEET_ROWS_MAX + 1 {
            return Err(SheetError::TooManyRows);
        }
        if column >= SHEET_COLUMNS_MAX {
            continue;
        }
        let text = cell_text(&Data::from(cell.get_value().clone()));
        if text.len() > CELL_BYTES_MAX {
            return Err(SheetError::CellTooLong { row });
        }
        let line = by_row.entry(row).or_default();
        if line.len() <= column {
            line.resize(column + 1, String::new());
        }
        line[column] = text;
    }
    // Rows from the first to the last, the empty ones included, numbered as
    // the spreadsheet shows them.
    let (Some(&top), Some(&bottom)) = (by_row.keys().next(), by_row.keys().next_back()) else {
        return Ok(Vec::new());
    };
    (top..=bottom)
        .map(|row| bounded(row, by_row.remove(&row).unwrap_or_default()))
        .collect()
}

/// A cell as the text a person typed: whole numbers without a decimal part
/// (spreadsheets keep every number as a float).
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        // Whole numbers up to 2^53 are exact in a float.
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 => {
            format!("{f:.0}")
        }
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        // A date where a lot number was typed (Excel turns "12/03" into
        // one): never a valid lot, quantity or GTIN, so the row is refused
        // rather than read as the date's serial number.
        Data::DateTime(d) => format!("#date {}", d.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}
