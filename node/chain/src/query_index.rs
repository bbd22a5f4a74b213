//! The node's query index of stored EPCIS events (`filiera_epcis::index`),
//! derived from each block's state writes and committed in the block's own
//! batch, and rebuilt from the state when it is missing or of another format.
//!
//! Besides the document's own fields, each event is indexed under its
//! **parties**, the organisations that may read it (ADR 0010): the one that
//! captured it (the `by` of the lot event that anchors it), the owners of
//! the lots it acts on, and the organisations running the sites it names
//! (its own site and a shipment's destination, whose organisation is the
//! receiver). Every one of them is read from records the contracts never
//! rewrite (lot events are appended, a lot's owner and a site's organisation
//! are fixed when they are registered), so a rebuild gives the same parties
//! as the commits did.
//!
//! A stored document that does not decode is left out of the index and
//! reported: the state is authenticated, so it can only be a document the
//! contract wrote, and a query would skip it anyway.

use borsh::BorshDeserialize;
use filiera_contract_api::lots::{LotEvent, LotRecord, LotRef};
use filiera_contract_api::registry::SiteRecord;
use filiera_contract_api::{contract_ids, keys};
use filiera_epcis::index::{
    EventPosition, IndexField, QUERY_INDEX_VERSION, index_key, index_keys, location_of,
    party_location,
};
use filiera_epcis::{Plan, plan};
use filiera_storage::{StateChanges, StorageError, Store};
use serde_json::Value;
use std::collections::BTreeSet;

/// Stored events a rebuild reads per batch.
pub const REBUILD_BATCH_EVENTS: usize = 4_096;

/// The state-key prefix of every stored EPCIS event.
pub fn events_prefix() -> Vec<u8> {
    keys::state_key(contract_ids::LOTS, keys::EPCIS_EVENTS)
}

/// The state-key prefix of every lot record, lot event and lot link.
fn lots_prefix() -> Vec<u8> {
    keys::state_key(contract_ids::LOTS, b"pub/lot/")
}

/// Reads a committed state value, or one a block is about to write.
type Read<'a> = dyn Fn(&[u8]) -> Result<Option<Vec<u8>>, StorageError> + 'a;

/// The event id (its CBV 2.0 hash) a stored event's state key names.
fn event_id(prefix: &[u8], key: &[u8]) -> Option<[u8; 32]> {
    let hex_id = key.strip_prefix(prefix)?;
    hex::decode(hex_id).ok()?.try_into().ok()
}

/// A stored event's document (a borsh string of JSON).
fn document(stored: &[u8]) -> Option<Value> {
    borsh::from_slice::<String>(stored)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
}

fn decoded<T: BorshDeserialize>(read: &Read<'_>, key: Vec<u8>) -> Result<Option<T>, StorageError> {
    Ok(read(&key)?.and_then(|bytes| T::try_from_slice(&bytes).ok()))
}

/// The organisation running site `gln`, if it is registered.
fn site_org(read: &Read<'_>, gln: &str) -> Result<Option<String>, StorageError> {
    let key = keys::state_key(contract_ids::REGISTRY, &keys::site(gln));
    Ok(decoded::<SiteRecord>(read, key)?.map(|s| s.org))
}

/// The owner of lot `l`, if it exists.
fn lot_owner(read: &Read<'_>, l: &LotRef) -> Result<Option<String>, StorageError> {
    let key = keys::state_key(contract_ids::LOTS, &keys::lot(&l.gtin, &l.lot));
    Ok(decoded::<LotRecord>(read, key)?.map(|r| r.owner))
}

/// The parties an event's document names through the state: the owners of
/// the lots it acts on and the organisations running its sites.
fn document_parties(read: &Read<'_>, event: &Value) -> Result<BTreeSet<String>, StorageError> {
    let mut parties = BTreeSet::new();
    let Ok(action) = plan(event) else {
        return Ok(parties);
    };
    let (lots, sites): (Vec<&LotRef>, Vec<&Option<String>>) = match &action {
        Plan::Commission { lot, site, .. } => (vec![lot], vec![site]),
        Plan::Transform {
            inputs,
            outputs,
            site,
        } => (
            inputs.iter().chain(outputs).map(|a| &a.id).collect(),
            vec![site],
        ),
        Plan::Record {
            lot,
            site,
            destination,
            ..
        } => (vec![lot], vec![site, destination]),
    };
    for l in lots {
        parties.extend(lot_owner(read, l)?);
    }
    for gln in sites.into_iter().flatten() {
        parties.extend(site_org(read, gln)?);
    }
    Ok(parties)
}

/// The index keys of one stored event: its fields and its document parties.
fn keys_of(read: &Read<'_>, stored: &[u8], id: [u8; 32]) -> Result<Vec<Vec<u8>>, StorageError> {
    let Some(event) = document(stored) else {
        tracing::warn!(event = %hex::encode(id), "stored EPCIS event does not decode; not indexed");
        return Ok(Vec::new());
    };
    let mut out = index_keys(&event, id);
    if let Some(event_time_ns) = filiera_epcis::index::event_time_ns(&event) {
        let at = EventPosition {
            event_time_ns,
            event_id: id,
        };
        for party in document_parties(read, &event)? {
            out.extend(party_keys(&party, &event, &at));
        }
    }
    Ok(out)
}

/// Whether a key under the lots prefix is a lot event's (`.../ev/{8 hex}`).
fn is_lot_event_key(key: &[u8]) -> bool {
    key.len() > 12
        && key[key.len() - 12..key.len() - 8] == *b"/ev/"
        && key[key.len() - 8..].iter().all(u8::is_ascii_hexdigit)
}

/// The keys that make `party` a reader of the event at `at`: its party
/// field, and its party-and-location field when the event has a location.
fn party_keys(party: &str, event: &Value, at: &EventPosition) -> Vec<Vec<u8>> {
    let mut keys = vec![index_key(IndexField::Party, party, at)];
    if let Some(location) = location_of(event, "bizLocation") {
        keys.push(index_key(
            IndexField::PartyLocation,
            &party_location(party, &location),
            at,
        ));
    }
    keys
}

/// The party keys of a lot event that anchors a stored EPCIS event: its
/// recorder's (the capturer's), at the event's position. None for a lot
/// event of no captured event.
fn capturer_keys(read: &Read<'_>, stored_lot_event: &[u8]) -> Result<Vec<Vec<u8>>, StorageError> {
    let Ok(lot_event) = LotEvent::try_from_slice(stored_lot_event) else {
        return Ok(Vec::new());
    };
    let Some(id) = lot_event.epcis_hash else {
        return Ok(Vec::new());
    };
    let stored = read(&keys::state_key(
        contract_ids::LOTS,
        &keys::epcis_event(&id),
    ))?;
    let Some(event) = stored.as_deref().and_then(document) else {
        return Ok(Vec::new());
    };
    let Some(event_time_ns) = filiera_epcis::index::event_time_ns(&event) else {
        return Ok(Vec::new());
    };
    let at = EventPosition {
        event_time_ns,
        event_id: id,
    };
    Ok(party_keys(&lot_event.by, &event, &at))
}

/// The index writes of a block's state `changes`: the keys of every event
/// written, less those of any event it replaces or deletes (read from the
/// committed state, which the block has not changed yet), and the capturer
/// of every lot event the block appends that anchors a stored event.
pub fn index_changes(store: &Store, changes: &StateChanges) -> Result<StateChanges, StorageError> {
    // What the block leaves: its own writes over the committed state (a lot
    // and the event acting on it are often written by the same block).
    let after = |key: &[u8]| match changes.get(key) {
        Some(value) => Ok(value.clone()),
        None => store.state_get(key),
    };
    let before = |key: &[u8]| store.state_get(key);
    let prefix = events_prefix();
    let mut out = StateChanges::new();
    for (key, value) in changes.range(prefix.clone()..) {
        if !key.starts_with(&prefix) {
            break;
        }
        let Some(id) = event_id(&prefix, key) else {
            continue;
        };
        if let Some(old) = store.state_get(key)? {
            for k in keys_of(&before, &old, id)? {
                out.insert(k, None);
            }
        }
        if let Some(new) = value {
            for k in keys_of(&after, new, id)? {
                out.insert(k, Some(Vec::new()));
            }
        }
    }
    let lots = lots_prefix();
    for (key, value) in changes.range(lots.clone()..) {
        if !key.starts_with(&lots) {
            break;
        }
        if let (true, Some(value)) = (is_lot_event_key(key), value) {
            for k in capturer_keys(&after, value)? {
                out.insert(k, Some(Vec::new()));
            }
        }
    }
    Ok(out)
}

/// Brings the index to the committed state if it is not complete in this
/// format: empties it, indexes every stored event in batches, then the
/// capturer of every lot event that anchors one, and marks it built last.
/// Returns the events indexed, or `None` if it was complete. Runs before the
/// node commits or serves (nothing else writes meanwhile).
pub fn ensure_built(store: &Store) -> Result<Option<u64>, StorageError> {
    if store.index_version()? == Some(QUERY_INDEX_VERSION) {
        return Ok(None);
    }
    store.clear_index()?;
    let read = |key: &[u8]| store.state_get(key);
    let prefix = events_prefix();
    let mut after: Option<Vec<u8>> = None;
    let mut events = 0u64;
    loop {
        let batch = store.state_prefix(&prefix, after.as_deref(), REBUILD_BATCH_EVENTS)?;
        let mut writes = StateChanges::new();
        for (key, value) in &batch {
            if let Some(id) = event_id(&prefix, key) {
                for k in keys_of(&read, value, id)? {
                    writes.insert(k, Some(Vec::new()));
                }
                events += 1;
            }
        }
        after = batch.last().map(|(k, _)| k.clone());
        store.write_index(&writes, None)?;
        if batch.len() < REBUILD_BATCH_EVENTS {
            break;
        }
    }
    let lots = lots_prefix();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let batch = store.state_prefix(&lots, after.as_deref(), REBUILD_BATCH_EVENTS)?;
        let last = batch.len() < REBUILD_BATCH_EVENTS;
        let mut writes = StateChanges::new();
        for (key, value) in &batch {
            if is_lot_event_key(key) {
                for k in capturer_keys(&read, value)? {
                    writes.insert(k, Some(Vec::new()));
                }
            }
        }
        after = batch.last().map(|(k, _)| k.clone());
        store.write_index(&writes, last.then_some(QUERY_INDEX_VERSION))?;
        if last {
            return Ok(Some(events));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use filiera_epcis::index::{IndexField, walk_range};
    use filiera_storage::StorageConfig;
    use filiera_storage::testkit::ChainBuilder;
    use serde_json::json;

    fn event(i: u32, location: &str) -> serde_json::Value {
        json!({
            "type": "ObjectEvent", "action": "OBSERVE", "bizStep": "shipping",
            "eventTime": format!("2026-11-25T10:{i:02}:00Z"), "eventTimeZoneOffset": "+00:00",
            "bizLocation": {"id": location},
            "epcList": [format!("urn:epc:id:sgtin:9521234.010001.{i}")]
        })
    }

    fn stored(e: &serde_json::Value) -> Option<Vec<u8>> {
        Some(borsh::to_vec(&e.to_string()).unwrap())
    }

    fn key(i: u32) -> Vec<u8> {
        keys::state_key(contract_ids::LOTS, &keys::epcis_event(&[i as u8; 32]))
    }

    /// Index entries under `field` = `value` (identifiers as given: canonical here).
    fn under(store: &Store, field: IndexField, value: &str) -> usize {
        let value = match field {
            IndexField::BizLocation | IndexField::Epc => {
                filiera_epcis::canonical_id(value).unwrap()
            }
            _ => value.to_owned(),
        };
        let (from, to) = walk_range(field, &value, None, None, None);
        store.index_range(&from, &to, usize::MAX).unwrap().len()
    }

    /// The state of one captured shipment: the lot (owned by `owner-org`),
    /// its site's and destination's records, the document, and the lot
    /// event that anchors it (recorded by `capturer-org`).
    fn shipment_state() -> (StateChanges, [u8; 32]) {
        use filiera_contract_api::lots::{EventKind, LotStatus};
        let doc = json!({
            "type": "ObjectEvent", "action": "OBSERVE", "bizStep": "shipping",
            "disposition": "in_transit",
            "eventTime": "2026-11-25T09:00:00.000+01:00", "eventTimeZoneOffset": "+01:00",
            "quantityList": [{"epcClass": "urn:epc:class:lgtin:9521234.010001.CU-P-1", "quantity": 5}],
            "bizLocation": {"id": HERE},
            "destinationList": [{"type": "location", "destination": THERE}]
        });
        let Ok(Plan::Record {
            lot,
            site: Some(site),
            destination: Some(destination),
            ..
        }) = plan(&doc)
        else {
            panic!("a shipment with a site and a destination: {doc}");
        };
        let id = [42; 32];
        let lots = |k: Vec<u8>| keys::state_key(contract_ids::LOTS, &k);
        let registry = |k: Vec<u8>| keys::state_key(contract_ids::REGISTRY, &k);
        let site_of = |gln: &str, org: &str| SiteRecord {
            gln: gln.into(),
            org: org.into(),
            kind: "plant".into(),
            name: gln.into(),
        };
        let record = LotRecord {
            id: lot.clone(),
            owner: "owner-org".into(),
            holder: "capturer-org".into(),
            destination: None,
            quantity: 5,
            initial_quantity: 5,
            site: None,
            status: LotStatus::Active,
            recall: None,
            inputs: vec![],
            metadata: vec![],
            private_hash: None,
            events: 1,
            created_ms: 0,
        };
        let anchor = LotEvent {
            kind: EventKind::Ship,
            epcis_hash: Some(id),
            by: "capturer-org".into(),
            height: 1,
            time_ms: 0,
            quantity_delta: 0,
            site: None,
            corrects: None,
            note: String::new(),
        };
        let mut state = StateChanges::new();
        state.insert(lots(keys::epcis_event(&id)), stored(&doc));
        state.insert(
            lots(keys::lot(&lot.gtin, &lot.lot)),
            Some(borsh::to_vec(&record).unwrap()),
        );
        state.insert(
            lots(keys::lot_event(&lot.gtin, &lot.lot, 0)),
            Some(borsh::to_vec(&anchor).unwrap()),
        );
        state.insert(
            registry(keys::site(&site)),
            Some(borsh::to_vec(&site_of(&site, "site-org")).unwrap()),
        );
        state.insert(
            registry(keys::site(&destination)),
            Some(borsh::to_vec(&site_of(&destination, "receiver-org")).unwrap()),
        );
        (state, id)
    }

    /// The organisations the index lists as parties, sorted.
    fn parties(store: &Store) -> Vec<String> {
        let (from, to) = (vec![b'p'], vec![b'q']);
        let mut orgs: Vec<String> = store
            .index_range(&from, &to, usize::MAX)
            .unwrap()
            .iter()
            .map(|k| {
                let len = u32::from_be_bytes(k[1..5].try_into().unwrap()) as usize;
                String::from_utf8(k[5..5 + len].to_vec()).unwrap()
            })
            .collect();
        orgs.sort();
        orgs
    }

    #[test]
    fn an_event_s_parties_are_the_same_from_its_block_and_from_a_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StorageConfig::default()).unwrap();
        let chain = ChainBuilder::new();
        chain.init(&store).unwrap();
        assert_eq!(ensure_built(&store).unwrap(), Some(0));
        // One block writes the lot, the document and its anchoring lot event.
        let (block, _) = shipment_state();
        let index = index_changes(&store, &block).unwrap();
        let next = store.last_height().unwrap().unwrap() + 1;
        let mut prepared = store.prepare_state(next, block).unwrap();
        prepared.set_index_changes(index);
        chain.commit_prepared(&store, prepared).unwrap();
        let want = ["capturer-org", "owner-org", "receiver-org", "site-org"];
        assert_eq!(parties(&store), want);
        // A rebuild reads the same parties from the state alone.
        store.write_index(&StateChanges::new(), Some(0)).unwrap();
        assert_eq!(ensure_built(&store).unwrap(), Some(1));
        assert_eq!(parties(&store), want);
        assert_eq!(under(&store, IndexField::Party, "capturer-org"), 1);
        // Each party also finds it at its location, and only there.
        let here = filiera_epcis::canonical_id(HERE).unwrap();
        let there = filiera_epcis::canonical_id(THERE).unwrap();
        for org in want {
            let at = |l: &str| {
                let (from, to) = walk_range(
                    IndexField::PartyLocation,
                    &party_location(org, l),
                    None,
                    None,
                    None,
                );
                store.index_range(&from, &to, usize::MAX).unwrap().len()
            };
            assert_eq!((at(&here), at(&there)), (1, 0), "{org}");
        }
        assert_eq!(under(&store, IndexField::Party, "someone-else"), 0);
    }

    const HERE: &str = "urn:epc:id:sgln:9521234.00001.0";
    const THERE: &str = "urn:epc:id:sgln:9521234.00002.0";

    #[test]
    fn a_store_without_an_index_is_indexed_once_and_commits_keep_it_exact() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StorageConfig::default()).unwrap();
        let chain = ChainBuilder::new();
        chain.init(&store).unwrap();
        // Events committed with no index (a store of an older node, or imported).
        let mut state = StateChanges::new();
        for i in 0..5 {
            state.insert(key(i), stored(&event(i, HERE)));
        }
        state.insert(b"c/other/not-an-event".to_vec(), Some(vec![1]));
        chain.commit(&store, state, vec![]).unwrap();
        assert_eq!(store.index_version().unwrap(), None);
        assert_eq!(ensure_built(&store).unwrap(), Some(5));
        assert_eq!(ensure_built(&store).unwrap(), None, "built once");
        assert_eq!(under(&store, IndexField::Time, ""), 5);
        assert_eq!(under(&store, IndexField::BizLocation, HERE), 5);

        // A block moving event 0 and adding event 9: its index writes drop
        // the old location's key and add the new ones.
        let mut block = StateChanges::new();
        block.insert(key(0), stored(&event(0, THERE)));
        block.insert(key(9), stored(&event(9, THERE)));
        let index = index_changes(&store, &block).unwrap();
        let mut prepared = store.prepare_state(2, block).unwrap();
        assert!(
            prepared.changes().contains_key(&key(0)) && prepared.changes().contains_key(&key(9))
        );
        prepared.set_index_changes(index);
        // Commit through the testkit's header with this prepared state.
        chain.commit_prepared(&store, prepared).unwrap();
        assert_eq!(under(&store, IndexField::Time, ""), 6);
        assert_eq!(under(&store, IndexField::BizLocation, HERE), 4);
        assert_eq!(under(&store, IndexField::BizLocation, THERE), 2);

        // A rebuild from the state gives the same index, and drops keys the
        // state does not justify.
        let stray = filiera_epcis::index::index_key(
            IndexField::BizStep,
            "stray",
            &filiera_epcis::index::EventPosition {
                event_time_ns: 0,
                event_id: [7; 32],
            },
        );
        store
            .write_index(&StateChanges::from([(stray, Some(Vec::new()))]), Some(0))
            .unwrap();
        assert_eq!(ensure_built(&store).unwrap(), Some(6), "another version");
        assert_eq!(under(&store, IndexField::BizStep, "stray"), 0);
        assert_eq!(under(&store, IndexField::BizLocation, THERE), 2);
        assert_eq!(
            under(&store, IndexField::Epc, "urn:epc:id:sgtin:9521234.010001.9"),
            1
        );
    }
}
