#!/usr/bin/env bash
# Builds the in-browser verifier (sdk/verify for wasm32) and writes the
# committed artifact node/api/assets/verify.wasm, which the node serves to the
# consumer page.
#
#   scripts/build-verifier.sh           rebuild and overwrite the artifact
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

cargo build -p filiera-verify --release --locked --target wasm32-unknown-unknown --quiet
built="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/filiera_verify.wasm"

if [ "$mode" = build ]; then
  mkdir -p node/api/assets
  cp "$built" node/api/assets/verify.wasm
  echo "build-verifier: wrote node/api/assets/verify.wasm ($(stat -c %s node/api/assets/verify.wasm) bytes)"
  exit 0
fi
if ! cmp -s "$built" node/api/assets/verify.wasm; then
  echo "build-verifier: node/api/assets/verify.wasm is not what sdk/verify builds to; run scripts/build-verifier.sh and commit" >&2
  exit 1
fi
echo "build-verifier: node/api/assets/verify.wasm matches the source"
