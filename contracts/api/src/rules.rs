//! Production rules (disciplinari) as data: what a protected name's rules
//! say that can be checked from records, versioned by the date from which
//! each version applies.
//!
//! The authority sets them by a k-of-n proposal
//! ([`crate::registry::AuthorityAction::SetRules`]); the registry keeps every
//! version under `pub/rules/{scheme}/{name}`; the lots contract checks the
//! version that applies when a lot is made and writes it beside the lot
//! (`pub/lot/.../rules`), where it stays: a later amendment never reaches
//! a lot made before it applied. A refusal names its rule with a stable code
//! ([`code`]), first in the message, so that the CLI, the SDK and the app
//! can say which rule failed.

use alloc::string::String;
use alloc::vec::Vec;
use borsh::{BorshDeserialize, BorshSerialize};

/// One day, in ms: durations are whole days of block time.
pub const DAY_MS: u64 = 86_400_000;
/// Most area entries (ISTAT codes) in one version.
pub const AREA_CODES_MAX: usize = 256;
/// Most input kinds in one version.
pub const INPUT_KINDS_MAX: usize = 8;
/// Most product names an input kind matches.
pub const INPUT_NAMES_MAX: usize = 8;
/// Most steps in one version.
pub const STEPS_MAX: usize = 16;
/// Most duration rules in one version.
pub const DURATIONS_MAX: usize = 8;
/// Most units in one version.
pub const UNITS_MAX: usize = 8;
/// Most notes (figures the published rules do not give) in one version.
pub const NOTES_MAX: usize = 8;
/// Most versions kept for one protected name.
pub const VERSIONS_MAX: usize = 64;
/// Of [`VERSIONS_MAX`], how many only the authority may use: a consortium it
/// delegated to can never fill a name's table.
pub const VERSIONS_RESERVED_FOR_AUTHORITY: usize = 8;
/// Furthest ahead of its approving block a version may start applying, in
/// ms (two years): versions apply in order, so one dated in a far future
/// would bar every amendment before it.
pub const APPLIES_AHEAD_MS_MAX: u64 = 2 * 366 * 24 * 60 * 60 * 1000;
/// Longest a step code is, bytes.
pub const STEP_BYTES_MAX: usize = 32;
/// Shares are in parts per thousand.
pub const SHARE_SCALE: u32 = 1_000;

/// Stable codes of the rules a refusal names: a refusal's message starts
/// with `rule <code>:`.
pub mod code {
    /// The lot's site is outside the area, or has no vouched ISTAT code.
    pub const AREA: &str = "area";
    /// An input is of a kind the rules do not allow.
    pub const INPUT_KIND: &str = "input_kind";
    /// An input's share is below its minimum or above its maximum.
    pub const INPUT_SHARE: &str = "input_share";
    /// A step recorded out of the rules' order, or one missing.
    pub const STEP_ORDER: &str = "step_order";
    /// A duration between two steps shorter than the minimum.
    pub const DURATION_MIN: &str = "duration_min";
    /// A duration between two steps longer than the maximum.
    pub const DURATION_MAX: &str = "duration_max";
    /// More output than the rules' maximum yield.
    pub const YIELD: &str = "yield";
    /// The product's unit is not one the rules allow.
    pub const UNIT: &str = "unit";
}

/// The rule code a refusal message names, if it names one.
pub fn violated(message: &str) -> Option<&str> {
    let rest = message.split("rule ").nth(1)?;
    let (code, _) = rest.split_once(':')?;
    let known = [
        code::AREA,
        code::INPUT_KIND,
        code::INPUT_SHARE,
        code::STEP_ORDER,
        code::DURATION_MIN,
        code::DURATION_MAX,
        code::YIELD,
        code::UNIT,
    ];
    known.into_iter().find(|k| *k == code)
}

/// An input a lot may be made from, and its share of what is drawn.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct InputRule {
    /// What it is, e.g. `latte ovino`.
    pub kind: String,
    /// Input products of this kind: a product whose name starts with one of
    /// these (letters compared without case) is of this kind.
    pub names: Vec<String>,
    /// Least share of the quantity drawn, per thousand.
    pub min_share_permille: u32,
    /// Most share of the quantity drawn, per thousand.
    pub max_share_permille: u32,
}

/// A bound on the time between two steps, in whole days of block time.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct DurationRule {
    /// The step it starts at (`commission` is the lot's making).
    pub from: String,
    /// The step it ends at.
    pub to: String,
    /// Least days between them.
    pub min_days: u32,
    /// Most days between them; `None` for no bound.
    pub max_days: Option<u32>,
}

/// One version of a protected name's rules.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct ProductionRules {
    /// Scheme code (`DOP`, `IGP`, `DOC`, `QM`...).
    pub scheme: String,
    /// The protected name; a product of the scheme whose name starts with it
    /// (letters compared without case) is made under these rules.
    pub name: String,
    /// Block time (ms since the epoch) from which lots are made under it.
    pub applies_from_ms: u64,
    /// ISTAT codes of the area: a province (3 digits) or a municipality
    /// (6 digits); a site is in the area if its vouched code starts with
    /// one of them. Empty: the area is not checked.
    pub area: Vec<String>,
    /// The inputs a transformation into it may draw. Empty: not checked.
    pub inputs: Vec<InputRule>,
    /// Step codes in the order they must happen; those a lot has before
    /// attestation. Empty: not checked.
    pub steps: Vec<String>,
    /// Bounds on the time between steps.
    pub durations: Vec<DurationRule>,
    /// Most output per input of a transformation into it, per thousand.
    pub max_yield_permille: Option<u64>,
    /// Units of measure its products may use. Empty: not checked.
    pub units: Vec<String>,
    /// What the published rules say that these do not check, or a figure
    /// they do not give (said here rather than invented).
    pub notes: Vec<String>,
}

/// A version as the registry keeps it (`pub/rules/{scheme}/{name}` holds
/// every version, oldest first).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct RulesVersion {
    /// 1 for the first version, then one more per amendment.
    pub version: u32,
    /// What it says.
    pub rules: ProductionRules,
    /// Height of the block that approved it (0: genesis).
    pub approved_height: u64,
}

/// The version that applies at block time `time_ms`: the newest whose date
/// has come.
pub fn applying(versions: &[RulesVersion], time_ms: u64) -> Option<&RulesVersion> {
    versions
        .iter()
        .rev()
        .find(|v| v.rules.applies_from_ms <= time_ms)
}

/// Most names a product's name is looked up under.
pub const LOOKUP_NAMES_MAX: usize = 16;

/// The names under which a product's rules are looked up, longest first:
/// the prefixes of its first [`LOOKUP_NAMES_MAX`] words, folded ("Casciotta
/// d'Urbino DOP 1 kg" is looked up as "casciotta d'urbino dop 1 kg", then
/// "casciotta d'urbino dop 1", ... "casciotta"). Rules are stored under their
/// name so folded ([`fold`]).
pub fn lookup_names(product_name: &str) -> Vec<String> {
    let folded = fold(product_name);
    let words: Vec<&str> = folded.split(' ').take(LOOKUP_NAMES_MAX).collect();
    (1..=words.len())
        .rev()
        .map(|n| words[..n].join(" "))
        .collect()
}

/// A name as rules are stored and looked up under: ASCII letters in lower
/// case, typographic apostrophes as `'`, any run of white space as one
/// space, none at the ends (so "Casciotta  d’Urbino" finds the rules of
/// "Casciotta d'Urbino").
pub fn fold(name: &str) -> String {
    let words: Vec<String> = name
        .split_whitespace()
        .map(|w| {
            w.replace(['\u{2019}', '\u{2018}', '`'], "'")
                .to_ascii_lowercase()
        })
        .collect();
    words.join(" ")
}

/// Whether an input product named `product_name` is of `kind`.
pub fn of_kind(kind: &InputRule, product_name: &str) -> bool {
    let b = product_name.as_bytes();
    kind.names.iter().any(|n| {
        let a = n.as_bytes();
        b.len() >= a.len() && a.eq_ignore_ascii_case(&b[..a.len()])
    })
}

/// A vouched site's official place (`pub/site_area/{gln}`), written by the
/// authority.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SiteArea {
    /// ISTAT municipality code, 6 digits.
    pub istat: String,
    /// Height of the block that vouched it (0: genesis).
    pub vouched_height: u64,
}

/// A step a lot went through, and when (block time). A lot merged from
/// others went through it at several times: the latest and the earliest
/// are kept, so that a minimum is measured from the youngest part and a
/// maximum from the oldest (equal for a lot never merged).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct StepDone {
    /// Its code.
    pub step: String,
    /// Block time, ms (the latest, after a merge).
    pub time_ms: u64,
    /// The earliest block time any merged part went through it, ms.
    pub first_ms: u64,
}

impl StepDone {
    /// `step` done once, at `time_ms`.
    pub fn at(step: &str, time_ms: u64) -> StepDone {
        StepDone {
            step: String::from(step),
            time_ms,
            first_ms: time_ms,
        }
    }
}

/// The rules a lot was made under and what it did of them
/// (`pub/lot/.../rules`): kept for good.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct LotRules {
    /// Scheme code.
    pub scheme: String,
    /// The protected name.
    pub name: String,
    /// The version that applied when the lot was made.
    pub version: u32,
    /// Whether it was made by a transformation whose inputs these rules
    /// checked (or split or merged from such lots): a lot of a name with
    /// input rules that was commissioned directly is not attested.
    pub inputs_checked: bool,
    /// Steps recorded on the lot (or on the lots it was split or merged
    /// from), in order; `commission` first.
    pub steps: Vec<StepDone>,
}

/// Whether `code` is a 3-digit province or 6-digit municipality ISTAT code.
pub fn istat_is_valid(code: &str) -> bool {
    (code.len() == 3 || code.len() == 6) && code.bytes().all(|b| b.is_ascii_digit())
}

/// The step a lot event's note names (`#ageing_start ...`), if it names one.
pub fn note_step(note: &str) -> Option<&str> {
    let tagged = note.strip_prefix('#')?;
    let code = tagged.split(' ').next().unwrap_or(tagged);
    (!code.is_empty() && code.len() <= STEP_BYTES_MAX).then_some(code)
}

/// The first rule `done` breaks for attestation: every step in the rules'
/// order and every duration met. `None` when it breaks none.
pub fn attestable(rules: &ProductionRules, made: &LotRules) -> Option<String> {
    // Inputs, their age and the yield are checked only by a transformation:
    // a lot of such a name that was commissioned skipped them.
    let asks_inputs = !rules.inputs.is_empty()
        || rules.max_yield_permille.is_some()
        || rules.durations.iter().any(|d| d.from == INPUTS_MADE);
    if asks_inputs && !made.inputs_checked {
        return Some(alloc::format!(
            "rule {}: made without the inputs the rules ask for (commissioned, not transformed)",
            code::INPUT_SHARE
        ));
    }
    let done = &made.steps;
    let mut at = 0usize;
    for step in &rules.steps {
        match done[at..].iter().position(|d| &d.step == step) {
            Some(i) => at += i + 1,
            None => {
                return Some(alloc::format!(
                    "rule {}: step {step} is missing or out of order",
                    code::STEP_ORDER
                ));
            }
        }
    }
    // A duration from the inputs' making was checked when the lot was made.
    for d in rules.durations.iter().filter(|d| d.from != INPUTS_MADE) {
        let from = done.iter().find(|s| s.step == d.from);
        let to = done.iter().find(|s| s.step == d.to);
        match (from, to) {
            (Some(f), Some(t)) => {
                if let Some(e) = duration_breaks(d, f, t) {
                    return Some(e);
                }
            }
            _ => {
                return Some(alloc::format!(
                    "rule {}: no {} then {} recorded",
                    code::DURATION_MIN,
                    d.from,
                    d.to
                ));
            }
        }
    }
    None
}

/// The refusal if the time from `from` to `to` breaks `d`: the minimum
/// from the latest start to the earliest end, the maximum from the earliest
/// start to the latest end.
pub fn duration_breaks(d: &DurationRule, from: &StepDone, to: &StepDone) -> Option<String> {
    let days = to.first_ms.saturating_sub(from.time_ms) / DAY_MS;
    if days < u64::from(d.min_days) {
        return Some(alloc::format!(
            "rule {}: {} to {} takes at least {} days, this lot {days}",
            code::DURATION_MIN,
            d.from,
            d.to,
            d.min_days
        ));
    }
    // A maximum is exact to the ms: "within 2 days" is 48 hours, not 71.
    let elapsed_ms = to.time_ms.saturating_sub(from.first_ms);
    let days = elapsed_ms / DAY_MS;
    match d.max_days {
        Some(max) if elapsed_ms > u64::from(max) * DAY_MS => Some(alloc::format!(
            "rule {}: {} to {} takes at most {max} days, this lot {days}",
            code::DURATION_MAX,
            d.from,
            d.to
        )),
        _ => None,
    }
}

/// Why `r` is malformed, if it is: every list within its named limit, every
/// code a code, every share and bound in range. Checked when a version is
/// proposed and when a genesis is read.
pub fn malformed(r: &ProductionRules) -> Option<String> {
    use crate::{TEXT_BYTES_MAX, code_is_valid, text_is_valid};
    let step_ok = |s: &str| code_is_valid(s) && s.len() <= STEP_BYTES_MAX;
    let bad = |what: &str| Some(alloc::format!("rules of {:?}: {what}", r.name));
    if !code_is_valid(&r.scheme) || !text_is_valid(&r.name, TEXT_BYTES_MAX) {
        return bad("scheme must be a code and name a text");
    }
    if r.area.len() > AREA_CODES_MAX || !r.area.iter().all(|c| istat_is_valid(c)) {
        return bad("area: at most 256 ISTAT codes of 3 or 6 digits");
    }
    if r.inputs.len() > INPUT_KINDS_MAX {
        return bad("too many input kinds");
    }
    for i in &r.inputs {
        if !text_is_valid(&i.kind, TEXT_BYTES_MAX)
            || i.names.is_empty()
            || i.names.len() > INPUT_NAMES_MAX
            || !i.names.iter().all(|n| text_is_valid(n, TEXT_BYTES_MAX))
            || i.min_share_permille > i.max_share_permille
            || i.max_share_permille > SHARE_SCALE
        {
            return bad("an input kind needs 1 to 8 names and 0 <= min <= max <= 1000");
        }
    }
    if r.steps.len() > STEPS_MAX || !r.steps.iter().all(|s| step_ok(s)) {
        return bad("at most 16 steps, each a code of at most 32 bytes");
    }
    if r.steps
        .iter()
        .enumerate()
        .any(|(i, s)| r.steps[..i].contains(s))
    {
        return bad("a step is listed twice");
    }
    if r.durations.len() > DURATIONS_MAX {
        return bad("too many durations");
    }
    // Every duration must be one a lot can meet: its ends are steps of the
    // rules (or the making), and `inputs_made` ends at the making.
    let recordable = |s: &str| s == MADE || r.steps.iter().any(|x| x == s);
    for d in &r.durations {
        let ends_ok = if d.from == INPUTS_MADE {
            d.to == MADE
        } else {
            recordable(&d.from) && recordable(&d.to) && d.from != d.to
        };
        if !ends_ok || d.max_days.is_some_and(|m| m < d.min_days) {
            return bad(
                "a duration runs between two of the rules' steps (or from inputs_made to commission), min_days <= max_days",
            );
        }
    }
    if r.max_yield_permille
        .is_some_and(|y| y == 0 || y > 1_000_000)
    {
        return bad("max_yield_permille out of range");
    }
    if r.units.len() > UNITS_MAX || !r.units.iter().all(|u| code_is_valid(u)) {
        return bad("at most 8 units, each a code");
    }
    if r.notes.len() > NOTES_MAX || !r.notes.iter().all(|n| text_is_valid(n, TEXT_BYTES_MAX)) {
        return bad("at most 8 notes of at most 256 bytes");
    }
    None
}

/// The step a lot's making is (commission, or the transformation, split or
/// merge that made it).
pub const MADE: &str = "commission";
/// A duration's start that means "when each input lot was made", checked
/// when the lot is made from them (e.g. olives milled within 2 days).
pub const INPUTS_MADE: &str = "inputs_made";
