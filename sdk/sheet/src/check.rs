//! The dry run: every data row of a file becomes the app's action or the
//! reasons it would be refused, before anything is signed.
//!
//! Checked here what needs no chain: GS1 check digits, lot number
//! characters, whole positive quantities, the event words, a shipment's
//! receiver, a lot twice in one file; and, against the organisation's lots
//! and products as the app last saw them, lots that already exist, lots it
//! does not hold, products of another organisation. The contracts check all
//! of it again, and what only they know (a receiver's role, a lot's state
//! by the time the row is executed) comes back as their refusal.

use crate::SheetError;
use crate::kinds::{Kind, column_of, event_word};
use crate::table::Table;
use filiera_contract_api::gs1::{gln_is_valid, gtin_is_valid, lot_is_valid};
use filiera_contract_api::{TEXT_BYTES_MAX, code_is_valid, text_is_valid};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// What the app knows of the organisation when it checks a file.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Context {
    /// The organisation the rows are signed for.
    pub org: String,
    /// Its lots, as `/v1/orgs/{id}/lots` lists them.
    #[serde(default)]
    pub lots: Vec<KnownLot>,
    /// The products the file names, as `/v1/products/{gtin}` answered
    /// (a GTIN absent here is unknown to the chain).
    #[serde(default)]
    pub products: Vec<KnownProduct>,
}

/// A lot the organisation owns or holds.
#[derive(Debug, Clone, Deserialize)]
pub struct KnownLot {
    /// Its GTIN.
    pub gtin: String,
    /// Its lot number.
    pub lot: String,
    /// Its status word (`active`, `held`, `in_transit`, `consumed`, `sold`,
    /// `destroyed`).
    pub status: String,
    /// Who holds it.
    pub holder: String,
}

/// A registered product.
#[derive(Debug, Clone, Deserialize)]
pub struct KnownProduct {
    /// Its GTIN.
    pub gtin: String,
    /// The organisation that registered it.
    pub owner: String,
}

/// Why a row would be refused: the column and a stable code the app puts
/// into words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// The column (template name).
    pub column: &'static str,
    /// The reason's code.
    pub code: &'static str,
}

/// One data row's outcome: an action to sign, or its errors.
#[derive(Debug, Clone, Serialize)]
pub struct RowOutcome {
    /// The row number as the spreadsheet shows it.
    pub row: usize,
    /// The action (the shape of `filiera_tx::app::Action`), when the row
    /// has no error.
    pub action: Option<Value>,
    /// Why not, otherwise.
    pub errors: Vec<RowError>,
}

/// The dry run of a file.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The kind of record.
    pub kind: Kind,
    /// Every data row, in file order.
    pub rows: Vec<RowOutcome>,
    /// Rows without error.
    pub good: usize,
    /// Rows with at least one.
    pub bad: usize,
    /// Header cells that name no column of the kind (their cells are not read).
    pub ignored_columns: Vec<String>,
    /// The valid GTINs the file names, for the app to look up (products
    /// absent from the context are unknown).
    pub gtins: Vec<String>,
}

/// Every code a row error may carry (the app has words for each, in both
/// languages, under `x_<code>`).
pub const ROW_CODES: &[&str] = &[
    "required",
    "bad_gtin",
    "bad_lot",
    "bad_quantity",
    "bad_site",
    "bad_event",
    "bad_org",
    "to_self",
    "bad_note",
    "duplicate_lot",
    "lot_exists",
    "product_unknown",
    "product_foreign",
    "lot_unknown",
    "lot_not_held",
    "lot_finished",
    "quantity_not_applicable",
];

/// Final states: nothing more can be recorded of such a lot.
const FINISHED: &[&str] = &["consumed", "sold", "destroyed"];

/// Checks every row of `table` as records of `kind`.
pub fn dry_run(kind: Kind, table: &Table, context: &Context) -> Result<Report, SheetError> {
    let mut positions: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut ignored_columns = Vec::new();
    for (i, header) in table.header.iter().enumerate() {
        match column_of(kind, header) {
            Some(c) => {
                positions.entry(c.name).or_insert(i);
            }
            None if header.trim().is_empty() => {}
            None => ignored_columns.push(header.clone()),
        }
    }
    if let Some(missing) = kind
        .columns()
        .iter()
        .find(|c| c.required && !positions.contains_key(c.name))
    {
        return Err(SheetError::MissingColumn(missing.name));
    }
    let lots: BTreeMap<(&str, &str), &KnownLot> = context
        .lots
        .iter()
        .map(|l| ((l.gtin.as_str(), l.lot.as_str()), l))
        .collect();
    let products: BTreeMap<&str, &str> = context
        .products
        .iter()
        .map(|p| (p.gtin.as_str(), p.owner.as_str()))
        .collect();
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    let mut gtins = BTreeSet::new();
    let mut rows = Vec::with_capacity(table.rows.len());
    for (row, cells) in &table.rows {
        let cell = |name: &str| -> &str {
            positions
                .get(name)
                .and_then(|&i| cells.get(i))
                .map_or("", |c| c.trim())
        };
        let mut row_check = RowCheck::default();
        let gtin = row_check.gtin(cell("gtin"));
        gtins.extend(gtin.clone());
        let lot = row_check.lot(cell("lot"));
        let action = match kind {
            Kind::Lots => {
                let quantity = row_check.quantity(cell("quantity"), true);
                let site = row_check.site(cell("site"));
                if let (Some(g), Some(l)) = (&gtin, &lot) {
                    if !seen.insert((g.clone(), l.clone())) {
                        row_check.fail("lot", "duplicate_lot");
                    } else if lots.contains_key(&(g.as_str(), l.as_str())) {
                        row_check.fail("lot", "lot_exists");
                    }
                    match products.get(g.as_str()) {
                        None => row_check.fail("gtin", "product_unknown"),
                        Some(owner) if *owner != context.org => {
                            row_check.fail("gtin", "product_foreign")
                        }
                        Some(_) => {}
                    }
                }
                json!({"kind": "commission", "gtin": gtin, "lot": lot, "quantity": quantity, "site": site})
            }
            Kind::Events => {
                let event = event_word(cell("event"));
                if event.is_none() {
                    row_check.fail(
                        "event",
                        if cell("event").is_empty() {
                            "required"
                        } else {
                            "bad_event"
                        },
                    );
                }
                let to = row_check.receiver(event, cell("to"), &context.org);
                let quantity = row_check.quantity(cell("quantity"), false);
                // The contract reads a quantity for a sale or a destruction
                // only (none: the whole lot); elsewhere it would be ignored,
                // and a row saying "ship 50" would ship the whole lot.
                if quantity.is_some() && !matches!(event, Some("sell" | "destroy")) {
                    row_check.fail("quantity", "quantity_not_applicable");
                }
                let site = row_check.site(cell("site"));
                let note = cell("note");
                if !note.is_empty() && !text_is_valid(note, TEXT_BYTES_MAX) {
                    row_check.fail("note", "bad_note");
                }
                if let (Some(g), Some(l), Some(e)) = (&gtin, &lot, event) {
                    // A lot shipped to this organisation is not yet its own:
                    // receiving it is for the chain to judge.
                    if e != "receive" {
                        match lots.get(&(g.as_str(), l.as_str())) {
                            None => row_check.fail("lot", "lot_unknown"),
                            Some(known) if known.holder != context.org => {
                                row_check.fail("lot", "lot_not_held")
                            }
                            Some(known) if FINISHED.contains(&known.status.as_str()) => {
                                row_check.fail("lot", "lot_finished")
                            }
                            Some(_) => {}
                        }
                    }
                }
                json!({"kind": "record", "gtin": gtin, "lot": lot, "event": event, "to": to,
                       "quantity": quantity.unwrap_or(0), "site": site, "note": note})
            }
        };
        let errors = row_check.errors;
        rows.push(RowOutcome {
            row: *row,
            action: errors.is_empty().then_some(action),
            errors,
        });
    }
    let bad = rows.iter().filter(|r| !r.errors.is_empty()).count();
    Ok(Report {
        kind,
        good: rows.len() - bad,
        bad,
        rows,
        ignored_columns,
        gtins: gtins.into_iter().collect(),
    })
}

/// One row's checks, gathering every error rather than stopping at the first.
#[derive(Default)]
struct RowCheck {
    errors: Vec<RowError>,
}

impl RowCheck {
    fn fail(&mut self, column: &'static str, code: &'static str) {
        debug_assert!(ROW_CODES.contains(&code), "{code} is not in ROW_CODES");
        self.errors.push(RowError { column, code });
    }

    fn gtin(&mut self, cell: &str) -> Option<String> {
        // A GTIN typed into a number cell loses its leading zero.
        let digits = if cell.len() == 13 {
            format!("0{cell}")
        } else {
            cell.to_owned()
        };
        if cell.is_empty() {
            self.fail("gtin", "required");
            None
        } else if gtin_is_valid(&digits) {
            Some(digits)
        } else {
            self.fail("gtin", "bad_gtin");
            None
        }
    }

    fn lot(&mut self, cell: &str) -> Option<String> {
        if cell.is_empty() {
            self.fail("lot", "required");
            None
        } else if lot_is_valid(cell) {
            Some(cell.to_owned())
        } else {
            self.fail("lot", "bad_lot");
            None
        }
    }

    fn quantity(&mut self, cell: &str, required: bool) -> Option<u64> {
        if cell.is_empty() {
            if required {
                self.fail("quantity", "required");
            }
            return None;
        }
        match cell.parse::<u64>() {
            Ok(q) if q > 0 && cell.bytes().all(|b| b.is_ascii_digit()) => Some(q),
            _ => {
                self.fail("quantity", "bad_quantity");
                None
            }
        }
    }

    fn site(&mut self, cell: &str) -> Option<String> {
        if cell.is_empty() {
            return None;
        }
        let digits = if cell.len() == 12 {
            format!("0{cell}")
        } else {
            cell.to_owned()
        };
        if gln_is_valid(&digits) {
            Some(digits)
        } else {
            self.fail("site", "bad_site");
            None
        }
    }

    fn receiver(&mut self, event: Option<&str>, cell: &str, org: &str) -> Option<String> {
        if event != Some("ship") {
            return None;
        }
        if cell.is_empty() {
            self.fail("to", "required");
        } else if !code_is_valid(cell) {
            self.fail("to", "bad_org");
        } else if cell == org {
            self.fail("to", "to_self");
        } else {
            return Some(cell.to_owned());
        }
        None
    }
}
