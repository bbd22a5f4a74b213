//! State in an ordered map: for genesis checks, simulations, tests and
//! benchmarks that run the executor without a store.

use crate::executor::Changes;
use crate::host::{KeyValue, StateReader, StateUnreadable};
use std::collections::BTreeMap;
use std::ops::Bound;

/// Committed state held in memory, by full state key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemState(pub BTreeMap<Vec<u8>, Vec<u8>>);

impl MemState {
    /// Applies a block's changes (`None` deletes).
    pub fn apply(&mut self, changes: &Changes) {
        for (k, v) in changes {
            match v {
                Some(v) => self.0.insert(k.clone(), v.clone()),
                None => self.0.remove(k),
            };
        }
    }
}

impl StateReader for MemState {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateUnreadable> {
        Ok(self.0.get(key).cloned())
    }

    fn next(&self, prefix: &[u8], after: &[u8]) -> Result<Option<KeyValue>, StateUnreadable> {
        Ok(self
            .0
            .range::<[u8], _>((Bound::Excluded(after), Bound::Unbounded))
            .find(|(k, _)| k.as_slice() >= prefix)
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone())))
    }
}
