#!/usr/bin/env bash
# Starts a local network of 4 validators on loopback with demo data, and keeps
# it running until Ctrl-C (which stops every validator cleanly).
#
#   scripts/devnet.sh            # 4 validators in ./localnet (reused if it exists)
#   scripts/devnet.sh --reset    # start from a new genesis
#
# Environment: FILIERA_DEVNET_DIR (default ./localnet), FILIERA_VALIDATORS (4),
# FILIERA_P2P_PORT (26656), FILIERA_API_PORT (8080), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

dir="${FILIERA_DEVNET_DIR:-./localnet}"
validators="${FILIERA_VALIDATORS:-4}"
p2p_port="${FILIERA_P2P_PORT:-26656}"
api_port="${FILIERA_API_PORT:-8080}"
# The operators' listeners (/metrics), on loopback, apart from the public API.
metrics_port="${FILIERA_METRICS_PORT:-9615}"
if [ "${1:-}" = "--reset" ]; then
  rm -rf "$dir"
fi

bash scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/filiera-target}"
echo "devnet: building the filiera binary (the first build takes a while: RocksDB, wasmtime)"
cargo build --locked -q -p filiera-node
filiera="$CARGO_TARGET_DIR/debug/filiera"

fresh=1
[ -f "$dir/genesis.json" ] && fresh=0

"$filiera" localnet --insecure-plain-keys --validators "$validators" --dir "$dir" \
  --p2p-base-port "$p2p_port" --api-base-port "$api_port" --metrics-base-port "$metrics_port" &
localnet=$!
stop() { kill -TERM "$localnet" 2>/dev/null || true; wait "$localnet" 2>/dev/null || true; }
trap 'stop; exit 130' INT TERM
trap stop EXIT

api="http://127.0.0.1:$api_port"
for _ in $(seq 1 120); do
  if curl -fsS "$api/v1/status" 2>/dev/null | grep -q '"height":[1-9]'; then break; fi
  if ! kill -0 "$localnet" 2>/dev/null; then
    echo "devnet: the localnet stopped; see $dir/node*/node.log" >&2
    # A directory a build with another storage format wrote: a devnet starts over.
    if grep -qs "storage format" "$dir"/node*/node.log; then
      echo "devnet: its data is in another storage format; start over with: scripts/devnet.sh --reset" >&2
    fi
    exit 1
  fi
  sleep 0.5
done
if [ "$fresh" = 1 ]; then
  echo "devnet: writing demo data"
  "$filiera" demo --dir "$dir" --api "$api"
fi
echo
echo "devnet: $validators validators are finalising blocks. Try:"
echo "  curl $api/v1/status"
echo "  curl $api/v1/blocks/1"
echo "  curl http://127.0.0.1:$metrics_port/metrics | grep ^filiera_   (operator listener, loopback only)"
echo "Consumer pages (open in a browser; ?lang=en for English):"
echo "  $api/01/09521234100010/10/CU-2026-0150   Casciotta d'Urbino DOP: two farms' milk, dairy, ageing, attestation, retail"
echo "  $api/01/09521234100041/10/VJ-2026-032    Verdicchio dei Castelli di Jesi DOC: grapes, vinification, bottling"
echo "  $api/01/09521234100072/10/CT-2026-007    Cartoceto DOP oil"
echo "  $api/01/09521234100065/10/CI-2026-020-B  Ciauscolo IGP pack, recalled with the lot it came from"
echo "Ctrl-C stops them all."
wait "$localnet"
