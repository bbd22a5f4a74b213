//! Filiera's benchmark suite: criterion micro-benchmarks under `benches/`, named
//! `module::operation/param=value` so results stay comparable across runs.
//! Run them with `cargo bench -p filiera-benches`. The network load
//! generator (`filiera-bench`, see [`load`]) measures whole localnets.

pub mod bulk;
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

/// The `filiera` binary the harnesses start: `given`, or the one next to
/// the running binary (cargo builds them into the same folder).
pub fn node_binary(given: Option<&std::path::Path>) -> anyhow::Result<std::path::PathBuf> {
    let bin = match given {
        Some(b) => b.to_owned(),
        None => std::env::current_exe()?
            .parent()
            .ok_or_else(|| anyhow::anyhow!("no folder of this binary"))?
            .join("filiera"),
    };
    if !bin.exists() {
        anyhow::bail!(
            "{} not found: build it (cargo build --release --workspace --bins) or pass --bin",
            bin.display()
        );
    }
    Ok(bin)
}
