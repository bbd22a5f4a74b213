#!/usr/bin/env bash
# The test command: set-up, formatting, lints, the wasm32 build of the verifier's
# types, and every test of the workspace. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

# One target dir outside the clone, reused across runs: RocksDB and wasmtime are slow to build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/filiera-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Incremental caches grow by gigabytes per day of edits; CI builds once.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step() { printf '\n== %s (%s UTC)\n' "$*" "$(date -u +%H:%M:%S)"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "the in-browser verifier (sdk/verify for wasm32) rebuilds byte for byte"
scripts/build-verifier.sh --check

step "contracts: fmt, clippy (wasm32), and committed artifacts rebuild byte for byte"
(cd contracts && cargo fmt --all -- --check)
(cd contracts && CARGO_TARGET_DIR="${CONTRACTS_TARGET_DIR:-$HOME/.cache/filiera-contracts-target}" \
  cargo clippy --release --locked --target wasm32-unknown-unknown -- -D warnings)
scripts/build-contracts.sh --check

step "cargo test"
cargo test --workspace --locked

step "load generator smoke run: transactions commit, results are written (no speed threshold)"
cargo build --workspace --bins --locked -q
smoke="$(mktemp -d)"
"$CARGO_TARGET_DIR/debug/filiera-bench" --validators 1 --rate 50 --seconds 3 --batch 10 \
  --out "$smoke" --require-all-committed >"$smoke/log" 2>&1 || { cat "$smoke/log"; exit 1; }
python3 - "$smoke" <<'PY'
import glob, json, sys, xml.etree.ElementTree as ET
run = glob.glob(sys.argv[1] + "/*/")
assert len(run) == 1, run
r = json.load(open(run[0] + "result.json"))
step = r["steps"][0]
assert step["offered"] == 150 and step["committed"] == 150, step
assert step["failed_receipts"] == 0 and step["refused"] == 0, step
summary = open(run[0] + "summary.md").read()
assert "| 50 | 3 | 150 | 150 |" in summary
# Every row of the table has as many cells as its header.
rows = [l for l in summary.splitlines() if l.startswith("|")]
assert len(rows) >= 3 and len({l.count("|") for l in rows}) == 1, rows
assert ET.parse(run[0] + "chart.svg").getroot().tag.endswith("svg")
print("smoke run: 150 of 150 transactions committed; result.json, summary.md, chart.svg written")
PY
rm -rf "$smoke"

step "fault injection: one fault of each kind on 4 real validators, then the checker (long runs: scripts/reliability.sh)"
if [ "$(id -u)" -eq 0 ] && ip netns add "filiera-probe-$$" 2>/dev/null; then
  ip netns del "filiera-probe-$$"
  faults="$(mktemp -d)"
  # The Byzantine phase (two minutes of attack and calm windows) runs in
  # scripts/reliability.sh; the same attacks on real processes run in the
  # node's tests (node/tests/it/byzantine.rs).
  "$CARGO_TARGET_DIR/debug/filiera-faults" --seed "${FILIERA_FAULT_SEED:-1}" --rounds 7 --no-byzantine \
    --out "$faults" --keep >"$faults/log" 2>&1 || { cat "$faults/log"; exit 1; }
  sed -n '1,20p' "$faults/report.md"
  rm -rf "$faults"
elif [ "${FILIERA_REQUIRE_TOOLS:-0}" = 1 ]; then
  echo "fault injection needs root and network namespaces" >&2; exit 1
else
  echo "not root or no network namespaces: fault injection skipped"
fi

step "fuzz smoke: every target for 5 s from the committed corpus (long runs: scripts/fuzz.sh)"
if rustup toolchain list 2>/dev/null | grep -q '^nightly' \
  || rustup toolchain install nightly --profile minimal >/dev/null 2>&1; then
  scripts/fuzz.sh 5 --smoke
elif [ "${FILIERA_REQUIRE_TOOLS:-0}" = 1 ]; then
  echo "no nightly toolchain for cargo-fuzz" >&2; exit 1
else
  echo "no nightly toolchain (cargo-fuzz needs it): skipped"
fi

step "the systemd unit verifies and keeps its sandbox"
if command -v systemd-analyze >/dev/null; then
  unit_dir="$(mktemp -d)"
  sed "s#/usr/local/bin/filiera#$CARGO_TARGET_DIR/debug/filiera#" ops/systemd/filiera.service \
    >"$unit_dir/filiera.service"
  systemd-analyze verify "$unit_dir/filiera.service"
  # Exposure is 0 (locked down) to 10 (unprotected); the unit rates 1.6.
  systemd-analyze security --offline=yes --threshold=25 "$unit_dir/filiera.service" >/dev/null
  rm -rf "$unit_dir"
elif [ "${FILIERA_REQUIRE_TOOLS:-0}" = 1 ]; then
  echo "systemd-analyze is missing" >&2; exit 1
else
  echo "systemd-analyze not installed: skipped"
fi
