//! The committed state as execution reads it: the store implements
//! [`StateReader`] itself, so a read error reaches execution as an error
//! ([`StateUnreadable`]) and the chain stops the node, rather than an
//! adapter deciding for it.

use crate::store::Store;
use filiera_types::state::{KeyValue, StateReader, StateUnreadable};

fn unreadable(e: crate::StorageError) -> StateUnreadable {
    StateUnreadable(e.to_string())
}

impl StateReader for Store {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateUnreadable> {
        self.state_get(key).map_err(unreadable)
    }

    fn next(&self, prefix: &[u8], after: &[u8]) -> Result<Option<KeyValue>, StateUnreadable> {
        let start = (after >= prefix).then_some(after);
        Ok(self
            .state_prefix(prefix, start, 1)
            .map_err(unreadable)?
            .into_iter()
            .next())
    }
}
