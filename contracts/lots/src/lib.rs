//! The lots contract: products, lots and what happens to them.
//!
//! **Invariants.** Quantities are conserved: a transformation draws down its
//! inputs and its outputs never exceed the inputs times each output product's
//! maximum yield; a split or a merge balances exactly. Events are appended,
//! never edited (a correction is a new event naming the one it corrects). An
//! EPCIS event hash is anchored at most once, so resubmitting a captured event
//! changes nothing. A captured event document is stored only under the CBV
//! 2.0 hash it has and with the lot action it describes (both read from the
//! document by the host), so no member can squat another event's id or
//! index a document under lots it does not name. A recall marks every lot downstream of the recalled one.
//!
//! **Threats.** Only the holder acts on a lot, only the GTIN's owner
//! commissions or produces lots of it, and every role is checked in the
//! registry at execution time, not at the API.

#![no_std]

extern crate alloc;

use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;
use filiera_contract_api::lots::{
    Capture, CapturedAction, Commission, EPCIS_EVENT_BYTES_MAX, EventKind, EventPlan,
    LOT_LINKS_MAX, LotAmount, LotEvent, LotRecord, LotRef, LotStatus, Merge, ProductRecord,
    RECALL_LOTS_MAX, Recall, RecallMark, Record, RegisterProduct, Split, Transform, YIELD_SCALE,
    method,
};
use filiera_contract_api::registry::{OrgRecord, Role, SiteRecord, rights};
use filiera_contract_api::{
    Hash32, METADATA_PAIRS_MAX, TEXT_BYTES_MAX, code_is_valid, contract_ids, encode, gs1, keys,
    text_is_valid,
};
use filiera_contract_sdk::{Error, Result, args, ensure, env, fail, storage};

mod rules;

filiera_contract_sdk::entry!(dispatch);

fn dispatch(method: &str, input: &[u8]) -> Result<Vec<u8>> {
    match method {
        method::REGISTER_PRODUCT => register_product(args(input)?),
        method::COMMISSION => {
            let a: Commission = args(input)?;
            unanchored(a.epcis_hash)?;
            commission(a)
        }
        method::TRANSFORM => {
            let a: Transform = args(input)?;
            unanchored(a.epcis_hash)?;
            transform(a)
        }
        method::SPLIT => {
            let a: Split = args(input)?;
            unanchored(a.epcis_hash)?;
            split(a)
        }
        method::MERGE => {
            let a: Merge = args(input)?;
            unanchored(a.epcis_hash)?;
            merge(a)
        }
        method::RECORD => {
            let a: Record = args(input)?;
            unanchored(a.epcis_hash)?;
            record(a)
        }
        method::RECALL => recall(args(input)?),
        method::CAPTURE => capture(args(input)?),
        method::CLOSE_RECALL => close_recall(args(input)?),
        method::MIGRATE => migrate(),
        other => Err(fail!("lots has no method {other:?}")),
    }
}

/// The node's call at this version's activation, when its proposal asks for
/// a migration: records the layout its records have, which a later
/// version's migration (or its lazy reads) starts from. Version 1 converts
/// nothing: its records are already in this layout.
fn migrate() -> Result<Vec<u8>> {
    // The executor never lets a transaction call it; no key is all zeros.
    ensure!(
        env::caller() == [0u8; 32],
        "migrate is called by the node only"
    );
    storage::set(keys::LAYOUT, &filiera_contract_api::lots::LAYOUT_VERSION);
    Ok(Vec::new())
}

/// An EPCIS event id is anchored only by `capture`, with the document that
/// hashes to it: a bare id in a direct call would let a member squat the id
/// of an event another organisation has yet to send.
fn unanchored(epcis_hash: Option<Hash32>) -> Result<()> {
    ensure!(
        epcis_hash.is_none(),
        "an EPCIS event id is anchored only by capture, with the event document"
    );
    Ok(())
}

/// The caller's organisation if it is active with one of `roles` and the
/// caller's key holds `right` for it (a device key may be limited).
fn caller_org(roles: &[Role], right: u8) -> Result<OrgRecord> {
    let org = env::caller_org_with(right)?;
    ensure!(
        roles.iter().any(|r| org.may(*r)),
        "organisation {} may not do this (needs one of {:?})",
        org.id,
        roles
    );
    Ok(org)
}

fn product(gtin: &str) -> Result<ProductRecord> {
    storage::get(&keys::product(gtin))?.ok_or_else(|| fail!("no product {gtin}"))
}

fn load(id: &LotRef) -> Result<LotRecord> {
    storage::get(&keys::lot(&id.gtin, &id.lot))?
        .ok_or_else(|| fail!("no lot {}/{}", id.gtin, id.lot))
}

fn save(lot: &LotRecord) {
    storage::set(&keys::lot(&lot.id.gtin, &lot.id.lot), lot);
}

fn event(
    kind: EventKind,
    by: &str,
    quantity_delta: i64,
    site: Option<String>,
    epcis_hash: Option<Hash32>,
) -> LotEvent {
    LotEvent {
        kind,
        epcis_hash,
        by: String::from(by),
        height: env::height(),
        time_ms: env::time_ms(),
        quantity_delta,
        site,
        corrects: None,
        note: String::new(),
    }
}

fn append(lot: &mut LotRecord, ev: &LotEvent) {
    storage::set(&keys::lot_event(&lot.id.gtin, &lot.id.lot, lot.events), ev);
    lot.events += 1;
}

/// Anchors an EPCIS event hash once; a second anchoring is refused.
fn anchor(hash: Option<Hash32>, on: &LotRef) -> Result<()> {
    if let Some(h) = hash {
        let key = keys::epcis_anchor(&h);
        ensure!(!storage::has(&key), "EPCIS event already recorded");
        storage::set(&key, on);
    }
    Ok(())
}

fn delta(quantity: u64) -> Result<i64> {
    i64::try_from(quantity).map_err(|_| fail!("quantity {quantity} too large"))
}

/// A site given by the caller must be registered and run by it.
fn check_site(site: &Option<String>, org: &str) -> Result<()> {
    if let Some(gln) = site {
        let record: SiteRecord = env::read_public(contract_ids::REGISTRY, &keys::site(gln))?
            .ok_or_else(|| fail!("site {gln} is not registered"))?;
        ensure!(record.org == org, "site {gln} is not run by {org}");
    }
    Ok(())
}

fn check_new_lot(id: &LotRef) -> Result<()> {
    ensure!(
        gs1::gtin_is_valid(&id.gtin),
        "{:?} is not a GTIN-14",
        id.gtin
    );
    ensure!(
        gs1::lot_is_valid(&id.lot),
        "{:?} is not a GS1 lot number",
        id.lot
    );
    ensure!(
        !storage::has(&keys::lot(&id.gtin, &id.lot)),
        "lot {}/{} already exists",
        id.gtin,
        id.lot
    );
    Ok(())
}

/// A lot the caller holds and may still use.
fn usable(id: &LotRef, org: &str) -> Result<LotRecord> {
    let lot = load(id)?;
    ensure!(
        lot.holder == org,
        "lot {}/{} is held by {}, not {org}",
        id.gtin,
        id.lot,
        lot.holder
    );
    ensure!(
        lot.status == LotStatus::Active,
        "lot {}/{} is {:?}",
        id.gtin,
        id.lot,
        lot.status
    );
    ensure!(
        lot.recall.is_none(),
        "lot {}/{} is recalled",
        id.gtin,
        id.lot
    );
    Ok(lot)
}

fn new_lot(
    id: LotRef,
    org: &str,
    quantity: u64,
    site: Option<String>,
    inputs: Vec<LotRef>,
) -> LotRecord {
    LotRecord {
        id,
        owner: String::from(org),
        holder: String::from(org),
        destination: None,
        quantity,
        initial_quantity: quantity,
        site,
        status: LotStatus::Active,
        recall: None,
        inputs,
        metadata: Vec::new(),
        private_hash: None,
        events: 0,
        created_ms: env::time_ms(),
    }
}

fn register_product(p: RegisterProduct) -> Result<Vec<u8>> {
    // Processors own the GTINs of what they pack or make from others' lots.
    let org = caller_org(&[Role::Producer, Role::Processor], rights::RECORD)?;
    ensure!(gs1::gtin_is_valid(&p.gtin), "{:?} is not a GTIN-14", p.gtin);
    ensure!(
        !storage::has(&keys::product(&p.gtin)),
        "product {} already exists",
        p.gtin
    );
    ensure!(
        text_is_valid(&p.name, TEXT_BYTES_MAX),
        "product name is empty or too long"
    );
    ensure!(
        code_is_valid(&p.scheme) && code_is_valid(&p.uom),
        "scheme and unit must be codes"
    );
    ensure!(
        p.max_yield_permille > 0 && p.max_yield_permille <= YIELD_SCALE * 1_000,
        "maximum yield out of range"
    );
    let record = ProductRecord {
        gtin: p.gtin,
        owner: org.id,
        name: p.name,
        scheme: p.scheme,
        uom: p.uom,
        max_yield_permille: p.max_yield_permille,
    };
    storage::set(&keys::product(&record.gtin), &record);
    env::emit("product_registered", &record.gtin);
    Ok(Vec::new())
}

fn commission(c: Commission) -> Result<Vec<u8>> {
    let org = caller_org(&[Role::Producer], rights::RECORD)?;
    let product = product(&c.id.gtin)?;
    ensure!(
        product.owner == org.id,
        "product {} belongs to {}, not {}",
        product.gtin,
        product.owner,
        org.id
    );
    check_new_lot(&c.id)?;
    ensure!(c.quantity > 0, "a lot needs a quantity");
    check_site(&c.site, &org.id)?;
    let made = rules::applying(&product)?;
    if let Some(v) = &made {
        rules::check_made(&v.rules, &product, &c.site)?;
    }
    ensure!(
        c.metadata.len() <= METADATA_PAIRS_MAX,
        "more than {METADATA_PAIRS_MAX} metadata pairs"
    );
    for (k, v) in &c.metadata {
        ensure!(
            code_is_valid(k) && text_is_valid(v, TEXT_BYTES_MAX),
            "metadata {k:?} is malformed"
        );
    }
    anchor(c.epcis_hash, &c.id)?;
    let mut lot = new_lot(c.id, &org.id, c.quantity, c.site.clone(), Vec::new());
    lot.metadata = c.metadata;
    lot.private_hash = c.private_hash;
    append(
        &mut lot,
        &event(
            EventKind::Commission,
            &org.id,
            delta(c.quantity)?,
            c.site,
            c.epcis_hash,
        ),
    );
    save(&lot);
    if let Some(v) = made {
        rules::start(&lot.id, &v, false);
    }
    env::emit("lot_commissioned", &lot.id);
    Ok(Vec::new())
}

/// Draws `amounts` down from lots the caller holds, linking each to `outputs`.
fn draw_down(
    amounts: &[LotAmount],
    org: &str,
    kind: EventKind,
    outputs: &[LotRef],
    epcis_hash: Option<Hash32>,
) -> Result<u64> {
    let mut seen = BTreeSet::new();
    let mut total: u64 = 0;
    for input in amounts {
        ensure!(
            seen.insert(&input.id),
            "lot {}/{} appears twice",
            input.id.gtin,
            input.id.lot
        );
        let mut lot = usable(&input.id, org)?;
        ensure!(
            input.quantity > 0 && input.quantity <= lot.quantity,
            "lot {}/{} has {} left, not {}",
            lot.id.gtin,
            lot.id.lot,
            lot.quantity,
            input.quantity
        );
        lot.quantity -= input.quantity;
        if lot.quantity == 0 {
            lot.status = LotStatus::Consumed;
        }
        total = total
            .checked_add(input.quantity)
            .ok_or_else(|| fail!("quantities overflow"))?;
        append(
            &mut lot,
            &event(kind, org, -delta(input.quantity)?, None, epcis_hash),
        );
        for out in outputs {
            storage::set(
                &keys::lot_child(&lot.id.gtin, &lot.id.lot, &out.gtin, &out.lot),
                &(),
            );
        }
        save(&lot);
    }
    Ok(total)
}

/// Creates the output lots of a transformation, split or merge.
fn create_outputs(
    outputs: &[LotAmount],
    inputs: Vec<LotRef>,
    org: &str,
    kind: EventKind,
    site: Option<String>,
    epcis_hash: Option<Hash32>,
) -> Result<()> {
    for out in outputs {
        check_new_lot(&out.id)?;
        ensure!(
            out.quantity > 0,
            "output {}/{} needs a quantity",
            out.id.gtin,
            out.id.lot
        );
        let mut lot = new_lot(
            out.id.clone(),
            org,
            out.quantity,
            site.clone(),
            inputs.clone(),
        );
        append(
            &mut lot,
            &event(kind, org, delta(out.quantity)?, site.clone(), epcis_hash),
        );
        save(&lot);
    }
    Ok(())
}

fn links(len: usize, what: &str) -> Result<()> {
    ensure!(
        len > 0 && len <= LOT_LINKS_MAX,
        "{what}: 1 to {LOT_LINKS_MAX} lots"
    );
    Ok(())
}

fn transform(t: Transform) -> Result<Vec<u8>> {
    let org = caller_org(&[Role::Producer, Role::Processor], rights::RECORD)?;
    links(t.inputs.len(), "inputs")?;
    links(t.outputs.len(), "outputs")?;
    check_site(&t.site, &org.id)?;
    // Each output, converted back through its product's maximum yield, needs
    // that much input: together they may not need more than was drawn.
    let input_refs: Vec<LotRef> = t.inputs.iter().map(|i| i.id.clone()).collect();
    // The inputs as the rules see them, read before they are drawn down.
    let mut drawn = Vec::with_capacity(t.inputs.len());
    for input in &t.inputs {
        let lot = load(&input.id)?;
        drawn.push(rules::Drawn {
            product_name: product(&input.id.gtin)?.name,
            quantity: input.quantity,
            made_ms: rules::origin_ms(&lot)?,
        });
    }
    let mut needed: u128 = 0;
    let mut under_rules = Vec::new();
    for out in &t.outputs {
        let p = product(&out.id.gtin)?;
        ensure!(
            p.owner == org.id,
            "product {} belongs to {}, not {}",
            p.gtin,
            p.owner,
            org.id
        );
        let made = rules::applying(&p)?;
        // The rules' inputs and yield are about making the product; a
        // repacking of it (sliced, portioned) keeps only the product's yield.
        let mut making = None;
        if let Some(v) = &made {
            rules::check_made(&v.rules, &p, &t.site)?;
            let repacked = rules::repacks(&v.rules, &input_refs)?;
            if !repacked {
                rules::check_inputs(&v.rules, &drawn)?;
                making = Some(&v.rules);
            }
            under_rules.push((out.id.clone(), v.clone(), repacked));
        }
        needed += rules::input_needed(making, p.max_yield_permille, out.quantity);
    }
    let output_ids: Vec<LotRef> = t.outputs.iter().map(|o| o.id.clone()).collect();
    let total = draw_down(
        &t.inputs,
        &org.id,
        EventKind::Transform,
        &output_ids,
        t.epcis_hash,
    )?;
    ensure!(
        needed <= u128::from(total),
        "rule {}: outputs exceed inputs times the maximum yield ({total} drawn, {needed} needed)",
        filiera_contract_api::rules::code::YIELD
    );
    create_outputs(
        &t.outputs,
        input_refs.clone(),
        &org.id,
        EventKind::Transform,
        t.site,
        t.epcis_hash,
    )?;
    for (id, v, repacked) in &under_rules {
        if *repacked {
            rules::inherit(&input_refs, core::slice::from_ref(id))?;
        } else {
            rules::start(id, v, true);
        }
    }
    anchor(t.epcis_hash, &output_ids[0])?;
    env::emit("lots_transformed", &output_ids);
    Ok(Vec::new())
}

fn split(s: Split) -> Result<Vec<u8>> {
    let org = caller_org(&[Role::Producer, Role::Processor], rights::RECORD)?;
    links(s.parts.len(), "parts")?;
    let from = usable(&s.from, &org.id)?;
    ensure!(
        s.parts.iter().all(|p| p.id.gtin == from.id.gtin),
        "parts must be of the same product"
    );
    let sum = s
        .parts
        .iter()
        .try_fold(0u64, |acc, p| acc.checked_add(p.quantity))
        .ok_or_else(|| fail!("quantities overflow"))?;
    ensure!(
        sum == from.quantity,
        "parts sum to {sum}, the lot has {}",
        from.quantity
    );
    let part_ids: Vec<LotRef> = s.parts.iter().map(|p| p.id.clone()).collect();
    let whole = [LotAmount {
        id: s.from.clone(),
        quantity: sum,
    }];
    draw_down(&whole, &org.id, EventKind::Split, &part_ids, s.epcis_hash)?;
    create_outputs(
        &s.parts,
        alloc::vec![s.from.clone()],
        &org.id,
        EventKind::Split,
        from.site,
        s.epcis_hash,
    )?;
    rules::inherit(core::slice::from_ref(&s.from), &part_ids)?;
    anchor(s.epcis_hash, &s.from)?;
    env::emit("lot_split", &s.from);
    Ok(Vec::new())
}

fn merge(m: Merge) -> Result<Vec<u8>> {
    let org = caller_org(&[Role::Producer, Role::Processor], rights::RECORD)?;
    ensure!(
        m.from.len() >= 2 && m.from.len() <= LOT_LINKS_MAX,
        "merge: 2 to {LOT_LINKS_MAX} lots"
    );
    ensure!(
        m.from.iter().all(|l| l.gtin == m.into.gtin),
        "merged lots must be of the same product"
    );
    let mut whole = Vec::new();
    for id in &m.from {
        let lot = usable(id, &org.id)?;
        whole.push(LotAmount {
            id: id.clone(),
            quantity: lot.quantity,
        });
    }
    let into = [m.into.clone()];
    let total = draw_down(&whole, &org.id, EventKind::Merge, &into, m.epcis_hash)?;
    let site = load(&m.from[0])?.site;
    rules::inherit(&m.from, core::slice::from_ref(&m.into))?;
    create_outputs(
        &[LotAmount {
            id: m.into.clone(),
            quantity: total,
        }],
        m.from,
        &org.id,
        EventKind::Merge,
        site,
        m.epcis_hash,
    )?;
    anchor(m.epcis_hash, &m.into)?;
    env::emit("lots_merged", &m.into);
    Ok(Vec::new())
}

fn record(r: Record) -> Result<Vec<u8>> {
    let org = caller_org(
        &[Role::Producer, Role::Processor, Role::CertificationBody],
        rights::RECORD,
    )?;
    let mut lot = load(&r.id)?;
    ensure!(
        r.note.len() <= TEXT_BYTES_MAX && !r.note.chars().any(char::is_control),
        "note is too long or has control characters"
    );
    if let Some(seq) = r.corrects {
        ensure!(seq < lot.events, "lot has no event {seq} to correct");
    }
    let holder = lot.holder == org.id;
    let is_body = org.may(Role::CertificationBody);
    let finished = matches!(
        lot.status,
        LotStatus::Consumed | LotStatus::Sold | LotStatus::Destroyed
    );
    let mut quantity_delta = 0i64;
    match r.kind {
        EventKind::Ship => {
            ensure!(
                holder && lot.status == LotStatus::Active,
                "only the holder ships an active lot"
            );
            let to =
                r.to.clone()
                    .ok_or_else(|| fail!("a shipment needs a receiving organisation"))?;
            let receiver = env::org_of_id(&to)?.ok_or_else(|| fail!("no organisation {to:?}"))?;
            ensure!(
                receiver.may(Role::Producer) || receiver.may(Role::Processor),
                "{to} may not receive lots"
            );
            ensure!(lot.recall.is_none(), "a recalled lot cannot be shipped");
            lot.status = LotStatus::InTransit;
            lot.destination = Some(to);
        }
        EventKind::Receive => {
            ensure!(
                lot.status == LotStatus::InTransit
                    && lot.destination.as_deref() == Some(org.id.as_str()),
                "lot is not in transit to {}",
                org.id
            );
            check_site(&r.site, &org.id)?;
            lot.holder = org.id.clone();
            lot.destination = None;
            lot.status = LotStatus::Active;
            if r.site.is_some() {
                lot.site.clone_from(&r.site);
            }
        }
        EventKind::Store => {
            ensure!(holder && !finished, "only the holder stores a lot in use");
            check_site(&r.site, &org.id)?;
            if r.site.is_some() {
                lot.site.clone_from(&r.site);
            }
        }
        EventKind::Inspect => ensure!(
            (holder || is_body) && !finished,
            "only the holder or a certification body inspects a lot in use"
        ),
        EventKind::Hold => {
            ensure!(
                holder && lot.status == LotStatus::Active,
                "only the holder holds an active lot"
            );
            lot.status = LotStatus::Held;
        }
        EventKind::Release => {
            ensure!(
                holder && lot.status == LotStatus::Held,
                "only the holder releases a held lot"
            );
            lot.status = LotStatus::Active;
        }
        EventKind::Sell | EventKind::Destroy => {
            let selling = r.kind == EventKind::Sell;
            let allowed = if selling {
                lot.status == LotStatus::Active && lot.recall.is_none()
            } else {
                matches!(lot.status, LotStatus::Active | LotStatus::Held)
            };
            ensure!(
                holder && allowed,
                "the lot cannot be {} now ({:?})",
                if selling { "sold" } else { "destroyed" },
                lot.status
            );
            let q = if r.quantity == 0 {
                lot.quantity
            } else {
                r.quantity
            };
            ensure!(
                q > 0 && q <= lot.quantity,
                "lot has {} left, not {q}",
                lot.quantity
            );
            lot.quantity -= q;
            quantity_delta = -delta(q)?;
            if lot.quantity == 0 {
                lot.status = if selling {
                    LotStatus::Sold
                } else {
                    LotStatus::Destroyed
                };
            }
        }
        other => return Err(fail!("{other:?} has its own method")),
    }
    if r.kind != EventKind::Inspect && r.kind != EventKind::Store && r.kind != EventKind::Receive {
        ensure!(r.site.is_none() || holder, "site given by a non-holder");
    }
    // Steps are what a note names: an inspection may come at any time
    // (unannounced), so no event kind is a step by itself. Only the holder
    // records its lot's steps: a body's note must not start or end a
    // producer's ageing.
    if let Some(step) = filiera_contract_api::rules::note_step(&r.note) {
        ensure!(
            holder,
            "rule {}: only the lot's holder records its steps",
            filiera_contract_api::rules::code::STEP_ORDER
        );
        rules::step(&lot, step)?;
    }
    anchor(r.epcis_hash, &r.id)?;
    let mut ev = event(r.kind, &org.id, quantity_delta, r.site, r.epcis_hash);
    ev.corrects = r.corrects;
    ev.note = r.note;
    append(&mut lot, &ev);
    save(&lot);
    env::emit("lot_event", &(lot.id.clone(), r.kind));
    Ok(Vec::new())
}

/// Parses a child link key suffix: GTIN-14, two hex digits of length, lot.
fn parse_child(suffix: &[u8]) -> Result<LotRef> {
    let bad = || Error(String::from("corrupt child link"));
    let s = core::str::from_utf8(suffix).map_err(|_| bad())?;
    let (gtin, rest) = s.split_at_checked(14).ok_or_else(bad)?;
    let (len, lot) = rest.split_at_checked(2).ok_or_else(bad)?;
    ensure!(
        usize::from_str_radix(len, 16).ok() == Some(lot.len()),
        "corrupt child link"
    );
    Ok(LotRef {
        gtin: String::from(gtin),
        lot: String::from(lot),
    })
}

fn recall(r: Recall) -> Result<Vec<u8>> {
    let org = caller_org(
        &[Role::Producer, Role::Processor, Role::Authority],
        rights::RECALL,
    )?;
    let root = load(&r.id)?;
    ensure!(
        root.owner == org.id || org.may(Role::Authority),
        "only the lot's owner or the authority recalls it"
    );
    ensure!(
        text_is_valid(&r.reason, TEXT_BYTES_MAX),
        "a recall needs a reason"
    );
    ensure!(
        root.recall.as_ref().is_none_or(|m| m.origin != r.id),
        "lot is already recalled"
    );
    let mark = RecallMark {
        origin: r.id.clone(),
        reason: r.reason.clone(),
        time_ms: env::time_ms(),
    };
    let reached = downstream(&r.id, |id| {
        let mut lot = load(id)?;
        if lot.recall.is_none() || *id == r.id {
            lot.recall = Some(mark.clone());
        }
        let mut ev = event(EventKind::Recall, &org.id, 0, None, None);
        ev.note.clone_from(&r.reason);
        append(&mut lot, &ev);
        save(&lot);
        Ok(())
    })?;
    env::emit("lot_recalled", &(r.id, reached));
    Ok(encode(&reached))
}

/// Visits `root` and every lot made from it, breadth first, each once;
/// fails past [`RECALL_LOTS_MAX`] lots. The number of lots visited.
fn downstream(root: &LotRef, mut visit: impl FnMut(&LotRef) -> Result<()>) -> Result<u32> {
    let mut queue = alloc::collections::VecDeque::from([root.clone()]);
    let mut seen = BTreeSet::from([root.clone()]);
    while let Some(id) = queue.pop_front() {
        visit(&id)?;
        let prefix = keys::lot_children(&id.gtin, &id.lot);
        for key in storage::keys(&prefix, LOT_LINKS_MAX * 4)? {
            let child = parse_child(&key[prefix.len()..])?;
            if seen.insert(child.clone()) {
                ensure!(
                    seen.len() <= RECALL_LOTS_MAX,
                    "recall reaches more than {RECALL_LOTS_MAX} lots"
                );
                queue.push_back(child);
            }
        }
    }
    Ok(seen.len() as u32)
}

/// An EPCIS event with its lot action: the action as if called directly (same
/// checks, same anchoring of the hash, so a second capture of the event is
/// refused), then the document kept under its hash and indexed by lot. The
/// node computes the hash from the document (CBV 2.0) before submitting;
/// anyone can recompute it from the stored document.
fn capture(c: Capture) -> Result<Vec<u8>> {
    ensure!(
        c.event.len() <= EPCIS_EVENT_BYTES_MAX,
        "EPCIS event of {} bytes, at most {}",
        c.event.len(),
        EPCIS_EVENT_BYTES_MAX
    );
    let (hash, lots): (Option<Hash32>, Vec<LotRef>) = match &c.action {
        CapturedAction::Commission(a) => (a.epcis_hash, alloc::vec![a.id.clone()]),
        CapturedAction::Transform(a) => (
            a.epcis_hash,
            a.inputs
                .iter()
                .chain(&a.outputs)
                .map(|l| l.id.clone())
                .collect(),
        ),
        CapturedAction::Record(a) => (a.epcis_hash, alloc::vec![a.id.clone()]),
    };
    let hash = hash.ok_or_else(|| fail!("a captured event's action must name its EPCIS hash"))?;
    let facts =
        env::epcis_facts(&c.event)?.map_err(|why| fail!("the EPCIS event is not stored: {why}"))?;
    ensure!(
        facts.hash == hash,
        "the EPCIS event hashes (CBV 2.0) to {}, not to {}, the id it would be stored under",
        short_hex(&facts.hash),
        short_hex(&hash)
    );
    ensure!(
        describes(&facts.plan, &c.action)?,
        "the action is not the one the EPCIS event describes"
    );
    let out = match c.action {
        CapturedAction::Commission(a) => commission(a)?,
        CapturedAction::Transform(a) => transform(a)?,
        CapturedAction::Record(a) => record(a)?,
    };
    storage::set(&keys::epcis_event(&hash), &c.event);
    for l in lots {
        storage::set(&keys::epcis_of_lot(&l.gtin, &l.lot, &hash), &true);
    }
    Ok(out)
}

/// Whether `action` is exactly what the event document says (`plan`), with
/// nothing the document does not carry: a shipment's receiver must run the
/// destination site the document names.
fn describes(plan: &EventPlan, action: &CapturedAction) -> Result<bool> {
    Ok(match (plan, action) {
        (
            EventPlan::Commission {
                lot,
                quantity,
                site,
            },
            CapturedAction::Commission(a),
        ) => {
            a.id == *lot
                && a.quantity == *quantity
                && a.site == *site
                && a.metadata.is_empty()
                && a.private_hash.is_none()
        }
        (
            EventPlan::Transform {
                inputs,
                outputs,
                site,
            },
            CapturedAction::Transform(a),
        ) => a.inputs == *inputs && a.outputs == *outputs && a.site == *site,
        (
            EventPlan::Record {
                lot,
                kind,
                quantity,
                site,
                destination,
            },
            CapturedAction::Record(a),
        ) => {
            let receiver = match (destination, &a.to) {
                (None, None) => true,
                (Some(gln), Some(to)) => {
                    env::read_public::<SiteRecord>(contract_ids::REGISTRY, &keys::site(gln))?
                        .is_some_and(|s| s.org == *to)
                }
                _ => false,
            };
            receiver
                && a.id == *lot
                && a.kind == *kind
                && a.quantity == *quantity
                && a.site == *site
                && a.corrects.is_none()
                && a.note.is_empty()
        }
        _ => false,
    })
}

/// The first eight bytes of a hash in hex, for messages.
fn short_hex(h: &Hash32) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(19);
    for b in &h[..8] {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out.push('…');
    out
}

/// Lifts the recall opened on `r.id`: from that lot and every lot downstream
/// that carries this recall's mark (a lot also recalled from elsewhere keeps
/// that other mark), through the same [`downstream`] walk as the recall.
fn close_recall(r: Recall) -> Result<Vec<u8>> {
    let org = caller_org(
        &[Role::Producer, Role::Processor, Role::Authority],
        rights::RECALL,
    )?;
    let root = load(&r.id)?;
    ensure!(
        root.owner == org.id || org.may(Role::Authority),
        "only the lot's owner or the authority closes its recall"
    );
    ensure!(
        text_is_valid(&r.reason, TEXT_BYTES_MAX),
        "closing a recall needs a reason"
    );
    ensure!(
        root.recall.as_ref().is_some_and(|m| m.origin == r.id),
        "no recall was opened on this lot"
    );
    let mut lifted: u32 = 0;
    downstream(&r.id, |id| {
        let mut lot = load(id)?;
        if lot.recall.as_ref().is_some_and(|m| m.origin == r.id) {
            lot.recall = None;
            lifted += 1;
            let mut ev = event(EventKind::RecallClosed, &org.id, 0, None, None);
            ev.note.clone_from(&r.reason);
            append(&mut lot, &ev);
            save(&lot);
        }
        Ok(())
    })?;
    env::emit("lot_recall_closed", &(r.id, lifted));
    Ok(encode(&lifted))
}
