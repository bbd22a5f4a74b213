//! Filiera's benchmark suite: criterion micro-benchmarks under `benches/`, named
//! `module::operation/param=value` so results stay comparable across runs.
//! Run them with `cargo bench -p filiera-benches`. The network load
//! generator (`filiera-bench`, see [`load`]) measures whole localnets.

pub mod faults;
pub mod load;

/// Nearest-rank percentile `p` (0..=100) of sorted values; 0 for none.
pub fn percentile(sorted: &[u64], p: u64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len() as u64).div_ceil(100).max(1) as usize;
    sorted[rank.min(sorted.len()) - 1]
}
