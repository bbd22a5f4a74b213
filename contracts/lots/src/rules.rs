//! Production rules, checked where a lot is made and where a step of it is
//! recorded. The rules are the registry's (`pub/rules/...`); the version a
//! lot was made under is written beside it and is the one checked for the
//! rest of its life, whatever amendments come later.

use alloc::string::String;
use alloc::vec::Vec;
use filiera_contract_api::lots::{LotRecord, LotRef, ProductRecord, YIELD_SCALE};
use filiera_contract_api::rules::{
    self, INPUTS_MADE, LotRules, MADE, ProductionRules, RulesVersion, SiteArea, StepDone, code,
};
use filiera_contract_api::{contract_ids, keys};
use filiera_contract_sdk::{Result, ensure, env, fail, storage};

fn versions(scheme: &str, name: &str) -> Result<Option<Vec<RulesVersion>>> {
    env::read_public(contract_ids::REGISTRY, &keys::rules(scheme, name))
}

/// The version that applies now to lots of `product`, if its scheme and
/// name have rules whose date has come.
pub fn applying(product: &ProductRecord) -> Result<Option<RulesVersion>> {
    if product.scheme == "none" {
        return Ok(None);
    }
    // The longest name with a version in force: a name whose first version
    // is still ahead does not hide a shorter name's rules.
    for name in rules::lookup_names(&product.name) {
        if let Some(all) = versions(&product.scheme, &name)?
            && let Some(v) = rules::applying(&all, env::time_ms())
        {
            return Ok(Some(v.clone()));
        }
    }
    Ok(None)
}

/// The rules a lot was made under.
pub fn of_lot(made: &LotRules) -> Result<ProductionRules> {
    let all = versions(&made.scheme, &made.name)?
        .ok_or_else(|| fail!("no rules of {:?} in the registry", made.name))?;
    all.into_iter()
        .find(|v| v.version == made.version)
        .map(|v| v.rules)
        .ok_or_else(|| {
            fail!(
                "no version {} of the rules of {:?}",
                made.version,
                made.name
            )
        })
}

/// What a lot records of its rules, if it was made under some.
pub fn lot_rules(id: &LotRef) -> Result<Option<LotRules>> {
    storage::get(&keys::lot_rules(&id.gtin, &id.lot))
}

fn save(id: &LotRef, made: &LotRules) {
    storage::set(&keys::lot_rules(&id.gtin, &id.lot), made);
}

/// The unit and the area: what any lot of a product under `r` must meet
/// where it is made.
pub fn check_made(
    r: &ProductionRules,
    product: &ProductRecord,
    site: &Option<String>,
) -> Result<()> {
    ensure!(
        r.units.is_empty() || r.units.contains(&product.uom),
        "rule {}: {:?} {} allows units {:?}, not {:?}",
        code::UNIT,
        r.name,
        r.scheme,
        r.units,
        product.uom
    );
    if r.area.is_empty() {
        return Ok(());
    }
    let gln = site.as_deref().ok_or_else(|| {
        fail!(
            "rule {}: a lot of {:?} names the site it is made at (the area is checked)",
            code::AREA,
            r.name
        )
    })?;
    let place: SiteArea = env::read_public(contract_ids::REGISTRY, &keys::site_area(gln))?
        .ok_or_else(|| {
            fail!(
                "rule {}: site {gln} has no ISTAT code vouched by the authority",
                code::AREA
            )
        })?;
    ensure!(
        r.area.iter().any(|a| place.istat.starts_with(a.as_str())),
        "rule {}: site {gln} (ISTAT {}) is outside the area of {:?}",
        code::AREA,
        place.istat,
        r.name
    );
    Ok(())
}

/// Most lots walked to find when an input's material was first made.
pub const ORIGIN_LOTS_MAX: usize = 64;

/// When the material of `lot` was first made: its own making, or, through
/// splits and merges (which keep the product), the earliest making of the
/// lots it came from. A split does not make olives younger.
pub fn origin_ms(lot: &LotRecord) -> Result<u64> {
    let mut earliest = lot.created_ms;
    let mut queue: Vec<LotRef> = lot
        .inputs
        .iter()
        .filter(|i| i.gtin == lot.id.gtin)
        .cloned()
        .collect();
    let mut walked = 0usize;
    while let Some(id) = queue.pop() {
        walked += 1;
        ensure!(
            walked <= ORIGIN_LOTS_MAX,
            "rule {}: lot {}/{} comes from more than {ORIGIN_LOTS_MAX} lots: its age cannot be checked",
            code::DURATION_MAX,
            lot.id.gtin,
            lot.id.lot
        );
        let source: LotRecord = storage::get(&keys::lot(&id.gtin, &id.lot))?
            .ok_or_else(|| fail!("no lot {}/{}", id.gtin, id.lot))?;
        earliest = earliest.min(source.created_ms);
        queue.extend(source.inputs.into_iter().filter(|i| i.gtin == id.gtin));
    }
    Ok(earliest)
}

/// Whether every input lot was made under the rules of `r`'s name: the
/// transformation repacks a protected product (sliced, portioned), and the
/// new lots keep their sources' version and steps.
pub fn repacks(r: &ProductionRules, inputs: &[LotRef]) -> Result<bool> {
    for id in inputs {
        match lot_rules(id)? {
            Some(m) if m.scheme == r.scheme && rules::fold(&m.name) == rules::fold(&r.name) => {}
            _ => return Ok(false),
        }
    }
    Ok(!inputs.is_empty())
}

/// An input lot as a transformation draws it.
pub struct Drawn {
    /// Its product's name.
    pub product_name: String,
    /// The quantity drawn.
    pub quantity: u64,
    /// When the input lot was made (block time, ms).
    pub made_ms: u64,
}

/// The inputs' kinds and shares, and the time since each was made.
pub fn check_inputs(r: &ProductionRules, drawn: &[Drawn]) -> Result<()> {
    let now = env::time_ms();
    for d in r.durations.iter().filter(|d| d.from == INPUTS_MADE) {
        for input in drawn {
            let made = StepDone::at(INPUTS_MADE, input.made_ms);
            if let Some(why) = rules::duration_breaks(d, &made, &StepDone::at(MADE, now)) {
                return Err(fail!("{why}"));
            }
        }
    }
    if r.inputs.is_empty() {
        return Ok(());
    }
    let total: u128 = drawn.iter().map(|d| u128::from(d.quantity)).sum();
    let mut per_kind = alloc::vec![0u128; r.inputs.len()];
    for input in drawn {
        let k = r
            .inputs
            .iter()
            .position(|k| rules::of_kind(k, &input.product_name))
            .ok_or_else(|| {
                fail!(
                    "rule {}: {:?} is not an input {:?} may be made from",
                    code::INPUT_KIND,
                    input.product_name,
                    r.name
                )
            })?;
        per_kind[k] += u128::from(input.quantity);
    }
    let scale = u128::from(rules::SHARE_SCALE);
    for (kind, qty) in r.inputs.iter().zip(per_kind) {
        let low = qty * scale < u128::from(kind.min_share_permille) * total;
        let high = qty * scale > u128::from(kind.max_share_permille) * total;
        ensure!(
            !low && !high,
            "rule {}: {} must be {} to {} per thousand of the inputs of {:?}, here {}",
            code::INPUT_SHARE,
            kind.kind,
            kind.min_share_permille,
            kind.max_share_permille,
            r.name,
            qty * scale / total.max(1)
        );
    }
    Ok(())
}

/// The input needed for `quantity` of a product whose own maximum yield is
/// `product_yield`, under the stricter of it and the rules' yield.
pub fn input_needed(r: Option<&ProductionRules>, product_yield: u64, quantity: u64) -> u128 {
    let rules_yield = r.and_then(|r| r.max_yield_permille).unwrap_or(u64::MAX);
    let permille = product_yield.min(rules_yield).max(1);
    (u128::from(quantity) * u128::from(YIELD_SCALE)).div_ceil(u128::from(permille))
}

/// Writes that `id` was made now under `made`, by a transformation whose
/// inputs were checked or not.
pub fn start(id: &LotRef, made: &RulesVersion, inputs_checked: bool) {
    let record = LotRules {
        scheme: made.rules.scheme.clone(),
        name: made.rules.name.clone(),
        version: made.version,
        inputs_checked,
        steps: alloc::vec![StepDone::at(MADE, env::time_ms())],
    };
    save(id, &record);
}

/// Checks `step` against the rules `lot` was made under and records it.
/// A step the rules do not name is recorded only if it ends a duration.
pub fn step(lot: &LotRecord, step: &str) -> Result<()> {
    let Some(mut made) = lot_rules(&lot.id)? else {
        return Ok(());
    };
    let r = of_lot(&made)?;
    let named = r.steps.iter().position(|s| s == step);
    let ends = r.durations.iter().any(|d| d.to == step);
    if named.is_none() && !ends {
        return Ok(());
    }
    ensure!(
        !made.steps.iter().any(|d| d.step == step),
        "rule {}: {step} is already recorded on {}/{}",
        code::STEP_ORDER,
        lot.id.gtin,
        lot.id.lot
    );
    if let Some(i) = named {
        let mut at = 0usize;
        for earlier in &r.steps[..i] {
            let found = made.steps[at..].iter().position(|d| &d.step == earlier);
            let Some(j) = found else {
                return Err(fail!(
                    "rule {}: {step} comes after {earlier}, not yet recorded on {}/{} ({:?} v{})",
                    code::STEP_ORDER,
                    lot.id.gtin,
                    lot.id.lot,
                    r.name,
                    made.version
                ));
            };
            at += j + 1;
        }
    }
    let now = env::time_ms();
    for d in r.durations.iter().filter(|d| d.to == step) {
        let from = made
            .steps
            .iter()
            .find(|s| s.step == d.from)
            .ok_or_else(|| {
                fail!(
                    "rule {}: {step} needs {} recorded first",
                    code::STEP_ORDER,
                    d.from
                )
            })?;
        if let Some(why) = rules::duration_breaks(d, from, &StepDone::at(step, now)) {
            return Err(fail!("{why} ({:?} v{})", r.name, made.version));
        }
    }
    ensure!(
        made.steps.len() < rules::STEPS_MAX * 2,
        "lot {}/{} has recorded every step it may",
        lot.id.gtin,
        lot.id.lot
    );
    made.steps.push(StepDone::at(step, now));
    save(&lot.id, &made);
    Ok(())
}

/// Parts of a split, the lot merged from others, or a lot repacked from
/// lots of the same name, keep the rules their sources were made under and
/// the steps they went through. Merged lots must share both (steps by
/// name); each step keeps the latest and the earliest time any of them
/// went through it, so merging never shortens a minimum (measured from the
/// youngest part) nor stretches a maximum (from the oldest).
pub fn inherit(from: &[LotRef], into: &[LotRef]) -> Result<()> {
    let mut merged: Option<LotRules> = None;
    for id in from {
        let this = lot_rules(id)?;
        match (&mut merged, this) {
            (None, Some(r)) if id == &from[0] => merged = Some(r),
            (None, None) if id == &from[0] => {}
            (Some(m), Some(r)) => {
                let same = m.version == r.version
                    && m.name == r.name
                    && m.inputs_checked == r.inputs_checked
                    && m.steps.len() == r.steps.len()
                    && m.steps.iter().zip(&r.steps).all(|(a, b)| a.step == b.step);
                ensure!(
                    same,
                    "rule {}: lots merged must be made under the same rules and have gone through the same steps",
                    code::STEP_ORDER
                );
                for (a, b) in m.steps.iter_mut().zip(&r.steps) {
                    a.time_ms = a.time_ms.max(b.time_ms);
                    a.first_ms = a.first_ms.min(b.first_ms);
                }
            }
            (None, None) => {}
            _ => {
                return Err(fail!(
                    "rule {}: lots merged must all be made under rules, or none",
                    code::STEP_ORDER
                ));
            }
        }
    }
    if let Some(m) = merged {
        for id in into {
            save(id, &m);
        }
    }
    Ok(())
}
