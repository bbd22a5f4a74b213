//! Filiera's benchmark suite: criterion micro-benchmarks under `benches/`, named
//! `module::operation/param=value` so results stay comparable across runs.
//! Run them with `cargo bench -p filiera-benches`.
