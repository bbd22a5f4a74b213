//! Column families and their tuning.
//!
//! One shared LRU block cache (sized by the operator) serves every family.
//! Point-lookup families get bloom filters (10 bits per key, about 1% false
//! positives). Data is compressed with LZ4 in upper levels and Zstandard in the
//! bottommost level, where most bytes end up and are read least; tree nodes,
//! mostly hashes, only with LZ4 and only there.

use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, DBCompressionType, Options, SliceTransform,
};

/// Chain metadata: format version, genesis hash, last committed height, pruning mark.
pub const META: &str = "meta";
/// Height (u64 BE) to encoded header.
pub const HEADERS: &str = "headers";
/// Height (u64 BE) to encoded transactions of the block.
pub const BLOCK_TXS: &str = "block_txs";
/// Block hash to height (u64 BE).
pub const BLOCK_INDEX: &str = "block_index";
/// Height (u64 BE) to encoded commit certificate.
pub const CERTIFICATES: &str = "certificates";
/// Transaction hash to height (u64 BE) and position (u32 BE).
pub const TX_INDEX: &str = "tx_index";
/// Height (u64 BE) and position (u32 BE) to encoded receipt (events included)
/// without its first field, the transaction hash: `tx_index` is keyed by it.
pub const RECEIPTS: &str = "receipts";
/// State key to the version (u64 BE) of its latest value, in key order for
/// prefix scans; the value is read from `tree_values`, its only copy.
pub const STATE: &str = "state";
/// Jellyfish tree node key (borsh) to node (borsh).
pub const TREE_NODES: &str = "tree_nodes";
/// Key hash (32 bytes) and version (u64 BE) to the leaf bytes, or a deletion mark.
pub const TREE_VALUES: &str = "tree_values";
/// Stale-since version (u64 BE) to the keys (borsh) of the nodes pruning may then delete.
pub const TREE_STALE: &str = "tree_stale";

/// A node's own index of the state for queries (EPCIS events by time,
/// location, ...): derived at commit, in the same batch, and rebuilt from
/// the state when its format changes or after a snapshot import; not part of
/// the state root. Keys only, values empty.
pub const QUERY_INDEX: &str = "query_index";

/// All column families, in creation order.
pub const ALL: &[&str] = &[
    META,
    HEADERS,
    BLOCK_TXS,
    BLOCK_INDEX,
    CERTIFICATES,
    TX_INDEX,
    RECEIPTS,
    STATE,
    TREE_NODES,
    TREE_VALUES,
    TREE_STALE,
    QUERY_INDEX,
];

/// Bloom filter bits per key for point-lookup families.
const BLOOM_BITS_PER_KEY: f64 = 10.0;
/// Data block size, in bytes: larger blocks compress better, smaller ones read less per lookup.
const BLOCK_BYTES: usize = 16 * 1024;
/// Memory all memtables may use together, bytes. Without a shared cap each of
/// the 11 families could hold two 64 MiB memtables (1.4 GiB): a node under
/// steady load grew past 1 GiB. Beyond the cap the fullest is flushed.
pub const MEMTABLES_BYTES_MAX: usize = 64 << 20;
/// RocksDB's own write-ahead log, bytes at most before old memtables are flushed.
pub const WAL_BYTES_MAX: u64 = 2 * MEMTABLES_BYTES_MAX as u64;
/// Length of the key-hash prefix of `tree_values` keys.
pub const KEY_HASH_BYTES: usize = 32;
/// Leading bytes of a `tree_nodes` key (a borsh `NodeKey`) that hold the
/// node's version, little-endian: one version's nodes are contiguous.
pub(crate) const NODE_KEY_VERSION_BYTES: usize = 8;
/// Bytes of a `tree_nodes` key before its path: the version, the nibble
/// count (u64) and the path's length (u32), all little-endian.
pub(crate) const NODE_KEY_HEAD_BYTES: usize = NODE_KEY_VERSION_BYTES + 8 + 4;

fn table_options(cache: &Cache, bloom: bool) -> BlockBasedOptions {
    let mut t = BlockBasedOptions::default();
    t.set_block_cache(cache);
    t.set_block_size(BLOCK_BYTES);
    t.set_cache_index_and_filter_blocks(true);
    t.set_pin_l0_filter_and_index_blocks_in_cache(true);
    if bloom {
        t.set_bloom_filter(BLOOM_BITS_PER_KEY, false);
    }
    t
}

fn cf_options(name: &str, cache: &Cache) -> Result<Options, rocksdb::Error> {
    let mut o = Options::default();
    if name == TREE_NODES {
        // Tree nodes are mostly hashes, and compressing them on every flush and
        // compaction takes the CPU the commits need. Criterion, 10,000 rewrites
        // per block over 100,000 / 1,000,000 keys, and bytes per lot event
        // after compaction with 1 / 100 versions kept:
        //   LZ4, Zstandard at the bottom: 120.83 / 297.42 ms, 455.0 / 909.5 B
        //   none at all:                  110.40 / 208.90 ms, 487.2 / 1103.4 B
        //   none, LZ4 at the bottom:      113.43 / 255.29 ms, 469.3 / 968.2 B
        // The last keeps most of the speed and most of the history's disk.
        o.set_compression_type(DBCompressionType::None);
        o.set_bottommost_compression_type(DBCompressionType::Lz4);
    } else {
        o.set_compression_type(DBCompressionType::Lz4);
        o.set_bottommost_compression_type(DBCompressionType::Zstd);
    }
    let bloom = matches!(
        name,
        BLOCK_INDEX | TX_INDEX | STATE | TREE_NODES | TREE_VALUES
    );
    if name == TREE_VALUES {
        // Reads seek the newest version of one key hash: a prefix bloom on the hash
        // lets RocksDB skip files that do not hold it.
        o.set_prefix_extractor(SliceTransform::create_fixed_prefix(KEY_HASH_BYTES));
    }
    o.set_block_based_table_factory(&table_options(cache, bloom));
    // A block's writes reach each family in key order (the state and values
    // by key, the nodes sorted before they are written), so each insert into
    // the memtable's skip list can start from where the last one ended
    // instead of from the top. RocksDB keeps that position per prefix: for
    // nodes the version, whose keys are contiguous; elsewhere one for all.
    // The option has no setter in the C API, only this string form.
    let hint_prefix_bytes = if name == TREE_NODES {
        NODE_KEY_VERSION_BYTES
    } else {
        0
    };
    o.get_options_from_string(format!(
        "memtable_insert_with_hint_prefix_extractor=rocksdb.FixedPrefix.{hint_prefix_bytes}"
    ))
}

/// Database-wide options.
pub fn db_options() -> Options {
    let mut o = Options::default();
    o.create_if_missing(true);
    o.create_missing_column_families(true);
    o.set_max_background_jobs(2);
    o.set_db_write_buffer_size(MEMTABLES_BYTES_MAX);
    // The write-ahead log is kept until every family's memtable it covers is
    // flushed; capping it makes a quiet family flush too, so the log (and the
    // disk it holds) stays small.
    o.set_max_total_wal_size(WAL_BYTES_MAX);
    o.set_bytes_per_sync(1 << 20);
    o.set_keep_log_file_num(4);
    // Refuse to open a damaged directory rather than guess: checksums are verified on reads.
    o.set_paranoid_checks(true);
    o
}

/// Descriptors of every family with a shared block cache of `block_cache_bytes`.
pub fn descriptors(
    block_cache_bytes: usize,
) -> Result<Vec<ColumnFamilyDescriptor>, rocksdb::Error> {
    let cache = Cache::new_lru_cache(block_cache_bytes);
    ALL.iter()
        .map(|name| {
            Ok(ColumnFamilyDescriptor::new(
                *name,
                cf_options(name, &cache)?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The options of family `name` in the newest OPTIONS file of `dir`, one
    /// `name=value` per line.
    fn written_options(dir: &std::path::Path, name: &str) -> Vec<String> {
        let newest = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|f| f.starts_with("OPTIONS-"))
            .max_by_key(|f| f["OPTIONS-".len()..].parse::<u64>().unwrap_or(0))
            .unwrap();
        let text = std::fs::read_to_string(dir.join(newest)).unwrap();
        let header = format!("[CFOptions \"{name}\"]");
        text.lines()
            .skip_while(|l| l.trim() != header)
            .skip(1)
            .take_while(|l| !l.trim_start().starts_with('['))
            .map(|l| l.trim().to_string())
            .collect()
    }

    /// What RocksDB itself recorded it runs with: the insert hint set through
    /// an options string, and the settings made before it, which that string
    /// must not have reset.
    #[test]
    fn families_open_with_the_tuned_options() {
        let dir = tempfile::tempdir().unwrap();
        let db = rocksdb::DB::open_cf_descriptors(
            &db_options(),
            dir.path(),
            descriptors(8 << 20).unwrap(),
        )
        .unwrap();
        drop(db);
        let has = |name: &str, setting: &str| {
            let options = written_options(dir.path(), name);
            assert!(
                options.iter().any(|l| l == setting),
                "{name}: no {setting} in {options:?}"
            );
        };
        has(
            TREE_NODES,
            "memtable_insert_with_hint_prefix_extractor=rocksdb.FixedPrefix.8",
        );
        has(TREE_NODES, "compression=kNoCompression");
        has(TREE_NODES, "bottommost_compression=kLZ4Compression");
        has(
            TREE_VALUES,
            "memtable_insert_with_hint_prefix_extractor=rocksdb.FixedPrefix.0",
        );
        has(TREE_VALUES, "prefix_extractor=rocksdb.FixedPrefix.32");
        has(STATE, "compression=kLZ4Compression");
        has(STATE, "bottommost_compression=kZSTD");
    }
}
