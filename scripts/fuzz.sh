#!/usr/bin/env bash
# Fuzzing with cargo-fuzz (libFuzzer, nightly), every target in fuzz/ in turn.
#
#   scripts/fuzz.sh            # 20 s per target
#   scripts/fuzz.sh 3600       # an hour per target (the long run)
#   scripts/fuzz.sh 5 --smoke  # what scripts/test.sh runs: the committed corpus
#                              # is read, nothing is written back into it
#
# A crash fails the run and leaves its input in fuzz/artifacts/<target>/;
# add it to fuzz/corpus/<target>/ once fixed, so it is replayed for ever.
# Without --smoke, new interesting inputs are added to fuzz/corpus/<target>/.
# Prints a Markdown table: target, executions, seconds, crashes.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
smoke=0
[ "${2:-}" = "--smoke" ] && smoke=1

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal \
    || { echo "fuzz: no nightly toolchain and none could be installed" >&2; exit 1; }
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked -q || { echo "fuzz: cargo install cargo-fuzz failed" >&2; exit 1; }
fi
# Its own target dir: nightly and sanitizer flags would rebuild the node's.
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/filiera-fuzz-target}"
cd fuzz
cargo +nightly fuzz build -O --sanitizer none >/dev/null
log="$(mktemp -d)"
echo "| target | executions | seconds | crashes |"
echo "|---|---:|---:|---:|"
failed=0
for target in $(cargo +nightly fuzz list); do
  mkdir -p "corpus/$target"
  if [ "$smoke" = 1 ]; then
    dirs=("$log/new-$target" "corpus/$target")
    mkdir -p "$log/new-$target"
  else
    dirs=("corpus/$target")
  fi
  status=0
  cargo +nightly fuzz run -O --sanitizer none "$target" "${dirs[@]}" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=1048576 \
    >"$log/$target.txt" 2>&1 || status=$?
  runs=$(grep -o 'Done [0-9]* runs' "$log/$target.txt" | grep -o '[0-9]*' | tail -1 || true)
  crashes=0
  if [ "$status" != 0 ]; then
    crashes=1
    failed=1
    tail -n 30 "$log/$target.txt" >&2
  fi
  echo "| $target | ${runs:-0} | $seconds | $crashes |"
done
rm -rf "$log"
exit "$failed"
