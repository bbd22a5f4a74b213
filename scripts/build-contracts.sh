#!/usr/bin/env bash
# Builds the contracts (contracts/*) for wasm32 reproducibly and writes the
# committed artifacts: contracts/wasm/{registry,lots,certification}.wasm and
# contracts/wasm/SHA256SUMS. Genesis pins their hashes.
#
#   scripts/build-contracts.sh           rebuild and overwrite the artifacts
#   scripts/build-contracts.sh --check   rebuild elsewhere and fail if any byte differs
#
# Reproducible: fixed profile (one codegen unit, LTO, no debug info), the
# lockfile, and build paths remapped so neither the clone's location nor
# CARGO_HOME ends up in the bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

mode=${1:-build}
case "$mode" in build|--check) ;; *) echo "usage: $0 [--check]" >&2; exit 2 ;; esac

rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
  || { echo "build-contracts: the wasm32-unknown-unknown target is missing (run scripts/setup.sh)" >&2; exit 1; }

cargo_home=${CARGO_HOME:-$HOME/.cargo}
export CARGO_TARGET_DIR="${CONTRACTS_TARGET_DIR:-$HOME/.cache/filiera-contracts-target}"
# RUSTFLAGS replaces contracts/.cargo/config.toml's flags: repeat target-cpu here.
export RUSTFLAGS="-C target-cpu=lime1 -C link-arg=-zstack-size=65536 --remap-path-prefix=$root=/filiera --remap-path-prefix=$cargo_home=/cargo"
unset CARGO_ENCODED_RUSTFLAGS

(cd contracts && cargo build --release --locked --target wasm32-unknown-unknown --quiet)

out="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release"
names="registry lots certification"
if [ "$mode" = build ]; then
  mkdir -p contracts/wasm
  for n in $names; do cp "$out/filiera_$n.wasm" "contracts/wasm/$n.wasm"; done
  (cd contracts/wasm && sha256sum $(for n in $names; do echo "$n.wasm"; done) > SHA256SUMS)
  rustc --version > contracts/wasm/RUSTC_VERSION
  echo "build-contracts: wrote contracts/wasm (rustc: $(cat contracts/wasm/RUSTC_VERSION))"
  cat contracts/wasm/SHA256SUMS
  exit 0
fi

status=0
(cd contracts/wasm && sha256sum --quiet -c SHA256SUMS) || { echo "build-contracts: committed artifacts do not match SHA256SUMS" >&2; status=1; }
for n in $names; do
  if ! cmp -s "$out/filiera_$n.wasm" "contracts/wasm/$n.wasm"; then
    echo "build-contracts: contracts/wasm/$n.wasm differs from a rebuild of contracts/$n" >&2
    echo "  committed with $(cat contracts/wasm/RUSTC_VERSION), rebuilt with $(rustc --version)" >&2
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "build-contracts: committed contracts are exactly what the sources build"
exit "$status"
