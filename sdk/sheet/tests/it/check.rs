//! The dry run names every bad row, and its good rows are actions the
//! transaction module takes.

use filiera_sheet::check::{Context, KnownLot, KnownProduct, Report, dry_run};
use filiera_sheet::kinds::Kind;
use filiera_sheet::table::read;

const ORG: &str = "caseificio-montefeltro";
/// Casciotta d'Urbino of the dairy, a valid GTIN-14.
const CASCIOTTA: &str = "08012345000012";
/// Another organisation's product.
const FOREIGN: &str = "08012345000029";

fn context() -> Context {
    let lot = |lot: &str, status: &str, holder: &str| KnownLot {
        gtin: CASCIOTTA.into(),
        lot: lot.into(),
        status: status.into(),
        holder: holder.into(),
    };
    Context {
        org: ORG.into(),
        lots: vec![
            lot("CU-2026-001", "active", ORG),
            lot("CU-2026-002", "in_transit", "distributore-pesaro"),
            lot("CU-2026-003", "sold", ORG),
        ],
        products: vec![
            KnownProduct {
                gtin: CASCIOTTA.into(),
                owner: ORG.into(),
            },
            KnownProduct {
                gtin: FOREIGN.into(),
                owner: "altro-caseificio".into(),
            },
        ],
    }
}

fn codes(report: &Report, row: usize) -> Vec<(&'static str, &'static str)> {
    let outcome = report
        .rows
        .iter()
        .find(|r| r.row == row)
        .expect("row reported");
    outcome.errors.iter().map(|e| (e.column, e.code)).collect()
}

/// Every good row's action is one the app's transaction module accepts.
fn assert_actions_are_transactions(report: &Report) {
    for outcome in &report.rows {
        if let Some(action) = &outcome.action {
            let action: filiera_tx::app::Action =
                serde_json::from_value(action.clone()).expect("an action of the app");
            filiera_tx::app::call_of(action).expect("a contract call");
        }
    }
}

#[test]
fn an_italian_csv_of_lots_is_checked_row_by_row() {
    // Italian Excel: `;`, Italian headers, a GTIN typed into a number cell
    // (13 digits), an unknown extra column.
    let file = "prodotto;lotto;quantità;sito;data\n\
        08012345000012;CU-2026-010;120;;2026-11-02\n\
        8012345000012;CU-2026-011;80;8012345000104;\n\
        08012345000013;CU-2026-012;10;;\n\
        08012345000012;CU 2026 013;10;;\n\
        08012345000012;CU-2026-014;0;;\n\
        08012345000012;CU-2026-015;12.5;;\n\
        08012345000012;CU-2026-010;5;;\n\
        08012345000012;CU-2026-001;5;;\n\
        08012345000029;ALTRO-1;5;;\n\
        08012345000036;NUOVO-1;5;;\n\
        ;;;;\n\
        08012345000012;;abc;123;\n";
    let table = read(file.as_bytes()).expect("read");
    let report = dry_run(Kind::Lots, &table, &context()).expect("checked");

    assert_eq!(report.ignored_columns, vec!["data".to_string()]);
    assert_eq!(
        report.gtins,
        vec![
            CASCIOTTA.to_string(),
            FOREIGN.to_string(),
            "08012345000036".into()
        ],
        "the GTINs for the app to look up, padded"
    );
    assert_eq!(codes(&report, 2), vec![]);
    assert_eq!(
        codes(&report, 3),
        vec![],
        "a GTIN that lost its leading zero is padded"
    );
    assert_eq!(codes(&report, 4), vec![("gtin", "bad_gtin")]);
    assert_eq!(codes(&report, 5), vec![("lot", "bad_lot")]);
    assert_eq!(codes(&report, 6), vec![("quantity", "bad_quantity")]);
    assert_eq!(codes(&report, 7), vec![("quantity", "bad_quantity")]);
    assert_eq!(codes(&report, 8), vec![("lot", "duplicate_lot")]);
    assert_eq!(codes(&report, 9), vec![("lot", "lot_exists")]);
    assert_eq!(codes(&report, 10), vec![("gtin", "product_foreign")]);
    assert_eq!(codes(&report, 11), vec![("gtin", "product_unknown")]);
    assert!(
        report.rows.iter().all(|r| r.row != 12),
        "a blank row is skipped"
    );
    assert_eq!(
        codes(&report, 13),
        vec![
            ("lot", "required"),
            ("quantity", "bad_quantity"),
            ("site", "bad_site")
        ]
    );
    assert_eq!((report.good, report.bad), (2, 9));
    let good = &report.rows[1];
    assert_eq!(
        good.action.as_ref().expect("an action"),
        &serde_json::json!({"kind": "commission", "gtin": CASCIOTTA, "lot": "CU-2026-011",
            "quantity": 80, "site": "8012345000104"})
    );
    assert!(
        report
            .rows
            .iter()
            .all(|r| r.action.is_some() == r.errors.is_empty())
    );
    assert_actions_are_transactions(&report);
}

#[test]
fn a_csv_of_events_knows_the_lots_the_organisation_holds() {
    let file = "gtin,lot,event,to,quantity,site,note\n\
        08012345000012,CU-2026-001,stoccaggio,,,,cella 2\n\
        08012345000012,CU-2026-001,ship,distributore-pesaro,,,\n\
        08012345000012,CU-2026-001,ship,,,,\n\
        08012345000012,CU-2026-001,SHIP,caseificio-montefeltro,,,\n\
        08012345000012,CU-2026-001,bottle,,,,\n\
        08012345000012,CU-2026-001,,,,,\n\
        08012345000012,CU-2026-099,store,,,,\n\
        08012345000012,CU-2026-002,store,,,,\n\
        08012345000012,CU-2026-003,destroy,,,,\n\
        08012345000012,CU-2026-002,ricevimento,,,,\n\
        08012345000012,CU-2026-001,sell,,7,,\"bell\u{7}\"\n\
        08012345000012,CU-2026-001,ship,a b,,,\n\
        08012345000012,CU-2026-001,ship,distributore-pesaro,50,,\n";
    let table = read(file.as_bytes()).expect("read");
    let report = dry_run(Kind::Events, &table, &context()).expect("checked");

    assert_eq!(codes(&report, 2), vec![]);
    assert_eq!(
        report.rows[0].action.as_ref().expect("an action")["event"],
        "store",
        "Italian event words are the app's words"
    );
    assert_eq!(codes(&report, 3), vec![]);
    assert_eq!(codes(&report, 4), vec![("to", "required")]);
    assert_eq!(codes(&report, 5), vec![("to", "to_self")]);
    assert_eq!(codes(&report, 6), vec![("event", "bad_event")]);
    assert_eq!(codes(&report, 7), vec![("event", "required")]);
    assert_eq!(codes(&report, 8), vec![("lot", "lot_unknown")]);
    assert_eq!(codes(&report, 9), vec![("lot", "lot_not_held")]);
    assert_eq!(codes(&report, 10), vec![("lot", "lot_finished")]);
    assert_eq!(
        codes(&report, 11),
        vec![],
        "receiving is for the chain to judge"
    );
    assert_eq!(codes(&report, 12), vec![("note", "bad_note")]);
    assert_eq!(codes(&report, 13), vec![("to", "bad_org")]);
    assert_eq!(
        codes(&report, 14),
        vec![("quantity", "quantity_not_applicable")],
        "a shipment moves the whole lot: a quantity would be ignored"
    );
    assert_eq!((report.good, report.bad), (3, 10));
    assert_actions_are_transactions(&report);
}

#[test]
fn a_file_without_a_required_column_is_refused_whole() {
    let table = read(b"gtin;quantita\n08012345000012;5\n").expect("read");
    let err = dry_run(Kind::Lots, &table, &context()).expect_err("no lot column");
    assert!(matches!(
        err,
        filiera_sheet::SheetError::MissingColumn("lot")
    ));
}

#[test]
fn every_code_has_words_in_both_languages_of_the_app() -> anyhow::Result<()> {
    let words = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../node/api/app/i18n.js"
    ))?;
    let keys = filiera_sheet::check::ROW_CODES
        .iter()
        .map(|c| format!("x_{c}:"))
        .chain(
            filiera_sheet::app::FILE_CODES
                .iter()
                .map(|c| format!("{c}:")),
        );
    for key in keys {
        assert_eq!(
            words.matches(&format!(" {key}")).count(),
            2,
            "{key} in Italian and English"
        );
    }
    Ok(())
}
