#!/usr/bin/env bash
# Builds the node's in-browser WebAssembly and writes the committed artifacts
# the node serves: node/api/assets/verify.wasm (sdk/verify, the consumer
# page's verifier) and node/api/assets/tx.wasm (sdk/tx, the producers' app's
# transaction building; the app signs with a key that stays in the browser)
# and node/api/assets/sheet.wasm (sdk/sheet, the app's spreadsheets, loaded
# only when one is opened).
#
#   scripts/build-verifier.sh           rebuild and overwrite the artifacts
#   scripts/build-verifier.sh --check   rebuild elsewhere and fail if any byte differs
#
# Reproducible like the contracts: fixed size-oriented profile, the lockfile,
# build paths remapped out of the bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

mode=${1:-build}
case "$mode" in build|--check) ;; *) echo "usage: $0 [--check]" >&2; exit 2 ;; esac

cargo_home=${CARGO_HOME:-$HOME/.cargo}
export CARGO_TARGET_DIR="${VERIFIER_TARGET_DIR:-$HOME/.cache/filiera-verifier-target}"
export RUSTFLAGS="--remap-path-prefix=$root=/filiera --remap-path-prefix=$cargo_home=/cargo"
unset CARGO_ENCODED_RUSTFLAGS
export CARGO_PROFILE_RELEASE_OPT_LEVEL=s
export CARGO_PROFILE_RELEASE_LTO=true
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
export CARGO_PROFILE_RELEASE_DEBUG=false
export CARGO_PROFILE_RELEASE_PANIC=abort
export CARGO_PROFILE_RELEASE_STRIP=true

# One build per module: built together, their shared dependencies would
# take the union of their features and each module would change with the
# others.
for crate in filiera-verify filiera-tx filiera-sheet; do
  cargo build -p "$crate" --release --locked --target wasm32-unknown-unknown --quiet
done
status=0
for pair in filiera_verify:verify filiera_tx:tx filiera_sheet:sheet; do
  crate=${pair%%:*}
  name=${pair##*:}
  built="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/$crate.wasm"
  if [ "$mode" = build ]; then
    mkdir -p node/api/assets
    cp "$built" "node/api/assets/$name.wasm"
    echo "build-verifier: wrote node/api/assets/$name.wasm ($(stat -c %s "node/api/assets/$name.wasm") bytes)"
  elif ! cmp -s "$built" "node/api/assets/$name.wasm"; then
    echo "build-verifier: node/api/assets/$name.wasm is not what $crate builds to; run scripts/build-verifier.sh and commit" >&2
    status=1
  else
    echo "build-verifier: node/api/assets/$name.wasm matches the source"
  fi
done
exit $status
