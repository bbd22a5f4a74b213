//! The node's query index of stored EPCIS events (`filiera_epcis::index`),
//! derived from each block's state writes and committed in the block's own
//! batch, and rebuilt from the state when it is missing or of another format.
//!
//! A stored document that does not decode is left out of the index and
//! reported: the state is authenticated, so it can only be a document the
//! contract wrote, and a query would skip it anyway.

use filiera_contract_api::{contract_ids, keys};
use filiera_epcis::index::{QUERY_INDEX_VERSION, index_keys};
use filiera_storage::{StateChanges, StorageError, Store};

/// Stored events a rebuild reads per batch.
pub const REBUILD_BATCH_EVENTS: usize = 4_096;

/// The state-key prefix of every stored EPCIS event.
pub fn events_prefix() -> Vec<u8> {
    keys::state_key(contract_ids::LOTS, keys::EPCIS_EVENTS)
}

/// The event id (its CBV 2.0 hash) a stored event's state key names.
fn event_id(prefix: &[u8], key: &[u8]) -> Option<[u8; 32]> {
    let hex_id = key.strip_prefix(prefix)?;
    hex::decode(hex_id).ok()?.try_into().ok()
}

/// The index keys of one stored event's bytes (a borsh string of JSON).
fn keys_of(stored: &[u8], id: [u8; 32]) -> Vec<Vec<u8>> {
    let document = borsh::from_slice::<String>(stored)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok());
    match document {
        Some(event) => index_keys(&event, id),
        None => {
            tracing::warn!(event = %hex::encode(id), "stored EPCIS event does not decode; not indexed");
            Vec::new()
        }
    }
}

/// The index writes of a block's state `changes`: the keys of every event
/// written, less those of any event it replaces or deletes (read from the
/// committed state, which the block has not changed yet).
pub fn index_changes(store: &Store, changes: &StateChanges) -> Result<StateChanges, StorageError> {
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
            for k in keys_of(&old, id) {
                out.insert(k, None);
            }
        }
        if let Some(new) = value {
            for k in keys_of(new, id) {
                out.insert(k, Some(Vec::new()));
            }
        }
    }
    Ok(out)
}

/// Brings the index to the committed state if it is not complete in this
/// format: empties it, indexes every stored event in batches, and marks it
/// built last. Returns the events indexed, or `None` if it was complete.
/// Runs before the node commits or serves (nothing else writes meanwhile).
pub fn ensure_built(store: &Store) -> Result<Option<u64>, StorageError> {
    if store.index_version()? == Some(QUERY_INDEX_VERSION) {
        return Ok(None);
    }
    store.clear_index()?;
    let prefix = events_prefix();
    let mut after: Option<Vec<u8>> = None;
    let mut events = 0u64;
    loop {
        let batch = store.state_prefix(&prefix, after.as_deref(), REBUILD_BATCH_EVENTS)?;
        let last = batch.len() < REBUILD_BATCH_EVENTS;
        let mut writes = StateChanges::new();
        for (key, value) in &batch {
            if let Some(id) = event_id(&prefix, key) {
                for k in keys_of(value, id) {
                    writes.insert(k, Some(Vec::new()));
                }
                events += 1;
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
