#!/usr/bin/env bash
# Operations figures on this machine (release build, 4 validators on loopback):
#   - idle validator memory (RSS after 30 s without load, and its peak);
#   - disk growth of a validator per 100,000 lot events;
#   - joining the chain by snapshot versus by replay: time and bytes.
# Usage: scripts/ops-figures.sh [LOT_EVENTS] [RATE_PER_S]   (default 100000 at 1000/s)
# Results: target/ops-figures/result.json and a Markdown line per figure.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS="${1:-100000}"
RATE="${2:-1000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/filiera-target}"
cargo build --release --workspace --bins -q
BIN="$CARGO_TARGET_DIR/release"
OUT="$PWD/target/ops-figures"
rm -rf "$OUT" && mkdir -p "$OUT"
NET="$OUT/net"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

BASE=$(python3 scripts/free-ports.py 24)
API=$((BASE + 8))
METRICS=$((BASE + 16))
"$BIN/filiera" genesis new --insecure-plain-keys --validators 4 --out "$NET" --p2p-base-port "$BASE" --api-base-port "$API" \
  --metrics-base-port "$METRICS" >/dev/null
PEERS=""
for i in 0 1 2 3; do PEERS="$PEERS\"/ip4/127.0.0.1/tcp/$((BASE + i))\", "; done
j=4
for o in snap replay; do
  "$BIN/filiera" init --insecure-plain-keys --home "$NET/$o" --genesis "$NET/genesis.json" \
    --p2p-port $((BASE + j)) --api-port $((API + j)) --metrics-port $((METRICS + j)) >/dev/null
  j=$((j + 1))
  sed -i "s#peers = \[\]#peers = [${PEERS%, }]#" "$NET/$o/config.toml"
done
SNAP_KEY=$("$BIN/filiera" --json keys show "$NET/snap/keys/p2p.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["public_key"])')
REPLAY_KEY=$("$BIN/filiera" --json keys show "$NET/replay/keys/p2p.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["public_key"])')
for i in 0 1 2 3; do
  sed -i "s#observers = \[\]#observers = [\"$SNAP_KEY\", \"$REPLAY_KEY\"]#" "$NET/node$i/config.toml"
done
export FILIERA_API_RATE_LIMIT_PER_IP_PER_S=0 FILIERA_API_WRITE_RATE_LIMIT_PER_IP_PER_S=0
for i in 0 1 2 3; do
  "$BIN/filiera" start --home "$NET/node$i" >"$NET/node$i.log" 2>&1 &
  PIDS+=($!)
done
NODE0=${PIDS[0]}
url() { echo "http://127.0.0.1:$((API + $1))$2"; }
metrics() { echo "http://127.0.0.1:$((METRICS + $1))/metrics"; }
height() { curl -sf "$(url "$1" /v1/status)" | python3 -c 'import json,sys; print(json.load(sys.stdin)["height"])' 2>/dev/null || echo 0; }
until [ "$(height 0)" -ge 2 ]; do sleep 0.5; done

echo "idle 30 s..." >&2
sleep 30
RSS_IDLE_KB=$(awk '/VmRSS/{print $2}' /proc/$NODE0/status)
du_db() { du -sb "$NET/node0/data/db" | cut -f1; }
DISK_BEFORE=$(du_db)

echo "loading $EVENTS lot events at $RATE/s..." >&2
SECONDS_LOAD=$(( (EVENTS + RATE - 1) / RATE ))
"$BIN/localnet-finality" --dir "$NET" --api "$(url 0 '')" --seconds "$SECONDS_LOAD" --rate "$RATE" >"$OUT/load.json"
COMMITTED=$(curl -sf "$(metrics 0)" | awk '/^filiera_txs_committed_total /{print $2}')
sleep 5
DISK_AFTER=$(du_db)
RSS_PEAK_KB=$(awk '/VmHWM/{print $2}' /proc/$NODE0/status)
TIP=$(height 0)

echo "join by snapshot..." >&2
T0=$(date +%s%N)
"$BIN/filiera" --json join --home "$NET/snap" --from "$(url 0 '')" --from "$(url 1 '')" >"$OUT/join.json"
ENTRIES=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["entries"])' "$OUT/join.json")
if [ "$ENTRIES" -lt "$EVENTS" ]; then
  echo "the state holds $ENTRIES entries after $EVENTS lot events: the load failed" >&2; exit 1
fi
"$BIN/filiera" start --home "$NET/snap" >"$NET/snap.log" 2>&1 &
PIDS+=($!)
until [ "$(height 4)" -ge "$TIP" ]; do sleep 0.2; done
T1=$(date +%s%N)
SNAP_SYNC_BYTES=$(curl -sf "$(metrics 4)" | awk '/^filiera_sync_received_bytes_total /{print $2}')

echo "join by replay..." >&2
T2=$(date +%s%N)
"$BIN/filiera" start --home "$NET/replay" >"$NET/replay.log" 2>&1 &
PIDS+=($!)
until [ "$(height 5)" -ge "$TIP" ]; do sleep 0.2; done
T3=$(date +%s%N)
REPLAY_BYTES=$(curl -sf "$(metrics 5)" | awk '/^filiera_sync_received_bytes_total /{print $2}')

python3 - "$OUT" <<PY
import json, sys
out = sys.argv[1]
load = json.load(open(f"{out}/load.json"))
join = json.load(open(f"{out}/join.json"))
committed = int(float("${COMMITTED:-0}"))
r = {
  "lot_events_committed": committed,
  "tip_height": $TIP,
  "idle_validator_rss_kib": $RSS_IDLE_KB,
  "validator_peak_rss_kib_under_load": $RSS_PEAK_KB,
  "disk_bytes_before": $DISK_BEFORE,
  "disk_bytes_after": $DISK_AFTER,
  "disk_bytes_per_100k_lot_events": ($DISK_AFTER - $DISK_BEFORE) * 100000 // max(committed, 1),
  "join_snapshot": {"import_ms": join["elapsed_ms"], "snapshot_bytes": join["bytes"], "entries": join["entries"],
                    "to_tip_ms": ($T1 - $T0) // 1_000_000, "then_sync_bytes": int(float("${SNAP_SYNC_BYTES:-0}"))},
  "join_replay": {"to_tip_ms": ($T3 - $T2) // 1_000_000, "sync_bytes": int(float("${REPLAY_BYTES:-0}"))},
  "load": load,
}
json.dump(r, open(f"{out}/result.json", "w"), indent=1)
print(json.dumps(r, indent=1))
PY
