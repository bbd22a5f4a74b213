#!/usr/bin/env bash
# The long versions of the reliability checks (the quick ones run in scripts/test.sh):
#   1. the seeded simulation of the node's real driver and chain
#      (filiera-driver's tests/it/sim.rs: delays, drops, partitions,
#      crash-restart from store and WAL, 2 of 4 crashed, a Byzantine validator
#      that equivocates and floods, a Byzantine observer, 4 and 7 validators,
#      2 of 4 running twins that fork the honest pair: a tenth of the seeds)
#      over SEEDS seeds per scenario instead of the test run's 100; a failing
#      seed is printed with the command that replays it; keep it as a
#      regression test;
#   2. every fuzz target for FUZZ_SECONDS (new inputs join fuzz/corpus; a crash
#      fails the run and leaves its input in fuzz/artifacts);
#   3. fault injection on 4 real validators (filiera-faults, as root): FAULT_ROUNDS
#      faults of every kind under load, the Byzantine phase (validator 3's
#      keys, then an observer's, in filiera-byzantine's hands, its CPU capped
#      by a cgroup; time per height beside a calm window), the hostile
#      inputs, then the checker;
#      the report goes to results/faults-<seed>/report.md.
#
#   scripts/reliability.sh                 # 2,000 seeds, 600 s per fuzz target, 70 faults
#   scripts/reliability.sh 10000 3600 700  # longer
#   scripts/reliability.sh 2000 0 0        # the simulation only
set -euo pipefail
cd "$(dirname "$0")/.."
seeds="${1:-2000}"
fuzz_seconds="${2:-600}"
fault_rounds="${3:-70}"
fault_seed="${FILIERA_FAULT_SEED:-$(date +%s)}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/filiera-target}"
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

echo "== seeded simulation of the real driver: seeds 0..$seeds per scenario"
start=$(date +%s)
FILIERA_SIM_FIRST=0 FILIERA_SIM_SEEDS="$seeds" \
  cargo test -p filiera-driver --locked --test it -- simulation:: 2>&1 | grep -E '^test |test result: .* [1-9][0-9]* passed|panicked|seed'
echo "simulation: $seeds seeds per scenario in $(( $(date +%s) - start )) s"

if [ "$fuzz_seconds" -gt 0 ]; then
  echo "== fuzzing: ${fuzz_seconds} s per target"
  scripts/fuzz.sh "$fuzz_seconds"
else
  echo "== fuzzing skipped (0 s)"
fi

if [ "$fault_rounds" -gt 0 ]; then
  echo "== fault injection: $fault_rounds faults on 4 real validators, seed $fault_seed"
  cargo build --release --workspace --bins --locked -q
  "$CARGO_TARGET_DIR/release/filiera-faults" --seed "$fault_seed" --rounds "$fault_rounds" \
    --out "results/faults-$fault_seed" --keep
else
  echo "== fault injection skipped (0 rounds)"
fi
