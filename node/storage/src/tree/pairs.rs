//! Key-value pairs encoded back to back in one buffer: a block's tens of
//! thousands of tree nodes and values, without a vector each.

/// Pairs in the order they were pushed, or in key order once [`Pairs::sorted`].
#[derive(Default)]
pub(crate) struct Pairs {
    bytes: Vec<u8>,
    /// Per pair: where its key ends and where its value ends.
    ends: Vec<(usize, usize)>,
}

impl Pairs {
    pub(crate) fn push(
        &mut self,
        key: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>,
        value: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        key(&mut self.bytes)?;
        let key_end = self.bytes.len();
        value(&mut self.bytes)?;
        self.ends.push((key_end, self.bytes.len()));
        Ok(())
    }

    /// Pair `i`: its key and its value.
    fn pair(&self, i: usize) -> (&[u8], &[u8]) {
        let start = match i.checked_sub(1) {
            Some(before) => self.ends[before].1,
            None => 0,
        };
        let (key_end, end) = self.ends[i];
        (&self.bytes[start..key_end], &self.bytes[key_end..end])
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        (0..self.ends.len()).map(|i| self.pair(i))
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Bytes of the keys and values together.
    pub(crate) fn payload_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Memory held, in bytes.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.ends.capacity() * size_of::<(usize, usize)>()
    }

    /// The pairs of all `parts` in one buffer, in key order. Keys must be
    /// unique across the parts: a block writes each node once.
    pub(crate) fn sorted(parts: &[Pairs]) -> SortedPairs {
        let mut order: Vec<(&[u8], &[u8])> = parts.iter().flat_map(Pairs::iter).collect();
        order.sort_unstable_by_key(|(key, _)| *key);
        let mut out = Pairs {
            bytes: Vec::with_capacity(parts.iter().map(|p| p.bytes.len()).sum()),
            ends: Vec::with_capacity(order.len()),
        };
        for (key, value) in order {
            out.bytes.extend_from_slice(key);
            let key_end = out.bytes.len();
            out.bytes.extend_from_slice(value);
            out.ends.push((key_end, out.bytes.len()));
        }
        SortedPairs(out)
    }
}

/// Pairs in key order, so a key is found by binary search.
#[derive(Default)]
pub(crate) struct SortedPairs(Pairs);

impl SortedPairs {
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.0.iter()
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.0.heap_bytes()
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn payload_bytes(&self) -> usize {
        self.0.payload_bytes()
    }

    /// Pair `i` in key order: its key and its value.
    pub(crate) fn pair(&self, i: usize) -> (&[u8], &[u8]) {
        self.0.pair(i)
    }

    /// The value under `key`, if any.
    pub(crate) fn get(&self, key: &[u8]) -> Option<&[u8]> {
        let pairs = &self.0;
        let (mut low, mut high) = (0, pairs.len());
        while low < high {
            let mid = low + (high - low) / 2;
            let (k, v) = pairs.pair(mid);
            match k.cmp(key) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Some(v),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::io::Write;

    fn pairs_of(entries: &[(Vec<u8>, Vec<u8>)]) -> Pairs {
        let mut pairs = Pairs::default();
        for (k, v) in entries {
            pairs.push(|b| b.write_all(k), |b| b.write_all(v)).unwrap();
        }
        pairs
    }

    proptest! {
        /// Sorting several parts gives every pair once, in key order, each
        /// found under its key; a key in no part is not found.
        #[test]
        fn sorted_parts_hold_every_pair_in_key_order(
            entries in prop::collection::btree_map(
                prop::collection::vec(any::<u8>(), 0..12),
                prop::collection::vec(any::<u8>(), 0..20),
                0..200,
            ),
            cut in 0usize..200,
            absent in prop::collection::vec(any::<u8>(), 0..12),
        ) {
            // Two parts, each in an order other than the keys'.
            let mut all: Vec<(Vec<u8>, Vec<u8>)> = entries.clone().into_iter().collect();
            all.reverse();
            let cut = cut.min(all.len());
            let parts = [pairs_of(&all[..cut]), pairs_of(&all[cut..])];
            let sorted = Pairs::sorted(&parts);
            let listed: BTreeMap<Vec<u8>, Vec<u8>> =
                sorted.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
            prop_assert_eq!(sorted.len(), entries.len());
            prop_assert_eq!(&listed, &entries);
            let keys: Vec<&[u8]> = sorted.iter().map(|(k, _)| k).collect();
            prop_assert!(keys.windows(2).all(|w| w[0] < w[1]));
            for (k, v) in &entries {
                prop_assert_eq!(sorted.get(k), Some(v.as_slice()));
            }
            prop_assert_eq!(sorted.get(&absent), entries.get(&absent).map(Vec::as_slice));
        }
    }
}
