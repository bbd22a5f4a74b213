#!/usr/bin/env bash
# The benchmark suite, on this machine, release build:
#   1. criterion micro-benchmarks (names `module::operation/param=value`);
#   2. filiera-bench on new localnets of real processes: the largest sustained
#      rate with 1 and with 4 validators, 60 s at the 4-validator maximum,
#      60 s at half of it (latency), 30 s at three times it (memory under
#      overload), 60 s with 1 validator at its maximum;
#   3. consumer lookups: wrk against the QR resolver page of a demo localnet;
#   4. EPCIS queries over 1,000,000 stored events (epcis-query), their answers
#      checked with GS1's schema and reference hash tool.
# Prints the summary table; everything lands in results/<UTC time>/.
#
#   scripts/bench.sh            # the whole suite (about 30 minutes on 2 cores)
#   scripts/bench.sh --quick    # short steps and criterion's quick mode: a look, not figures
#   scripts/bench.sh --native   # built for this processor (-C target-cpu=native), in its own
#                               # target dir: the binaries may not run on another processor
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
native=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --native) native=1 ;;
    *) echo "bench: unknown argument $arg (--quick, --native)" >&2; exit 2 ;;
  esac
done

bash scripts/setup.sh
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1 \
      || echo "bench: could not install wrk; the lookup figures will be skipped" >&2
  else
    sudo -n apt-get install -y -qq wrk >/dev/null 2>&1 \
      || echo "bench: wrk missing (apt-get install wrk); the lookup figures will be skipped" >&2
  fi
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/filiera-target}"
if [ "$native" = 1 ]; then
  # Its own target dir: other RUSTFLAGS would make cargo rebuild the portable
  # build from scratch, and the next portable build rebuild this one.
  export RUSTFLAGS="${RUSTFLAGS:-} -C target-cpu=native"
  export CARGO_TARGET_DIR="$CARGO_TARGET_DIR-native"
fi
cargo build --release --locked --workspace --bins -q
BIN="$CARGO_TARGET_DIR/release"
OUT="$PWD/results/$(date -u +%Y-%m-%dT%H%M%SZ)"
mkdir -p "$OUT"
echo "bench: results in $OUT"

if [ "$quick" = 1 ]; then STEP=5; LONG=10; CRIT="--quick"; else STEP=15; LONG=60; CRIT=""; fi

echo "== criterion micro-benchmarks"
touch "$OUT/.criterion-start"
cargo bench --locked --workspace --bench types --bench storage --bench execution -- --noplot $CRIT \
  >"$OUT/criterion.log" 2>&1
python3 - "$CARGO_TARGET_DIR/criterion" "$OUT/.criterion-start" >"$OUT/criterion.md" <<'PY'
import json, os, sys
root = sys.argv[1]
since = os.path.getmtime(sys.argv[2])  # only what this run measured
rows = []
for dirpath, _, files in os.walk(root):
    if os.path.basename(dirpath) == "new" and "estimates.json" in files \
            and os.path.getmtime(os.path.join(dirpath, "estimates.json")) >= since:
        bench = json.load(open(os.path.join(dirpath, "benchmark.json")))
        est = json.load(open(os.path.join(dirpath, "estimates.json")))
        ns = est["mean"]["point_estimate"]
        tp = bench.get("throughput") or {}
        per = ""
        if "Elements" in tp and tp["Elements"]:
            per = f"{ns / tp['Elements'] / 1000:.2f} µs each"
        rows.append((bench["full_id"], ns, per))
print("| benchmark | mean | per element |\n|---|---:|---:|")
for name, ns, per in sorted(rows):
    mean = f"{ns / 1e6:.2f} ms" if ns >= 1e6 else f"{ns / 1e3:.2f} µs"
    print(f"| `{name}` | {mean} | {per} |")
PY

run() { # name, then filiera-bench arguments
  local name="$1"; shift
  echo "== filiera-bench $name: $*"
  # The progress bar and notes go to the terminal (stderr), the table to the log.
  "$BIN/filiera-bench" --out "$OUT/$name" "$@" >"$OUT/$name.log" || echo "bench: $name failed" >&2
  grep '^|' "$OUT/$name.log" | tail -n +3 || true
}
max_of() { python3 -c 'import glob,json,sys; r=json.load(open(glob.glob(sys.argv[1]+"/*/result.json")[0])); print(r["max_sustained_per_s"] or 0)' "$OUT/$1"; }

run max-1v --validators 1 --find-max --start-rate 3000 --step-seconds "$STEP"
run max-4v --validators 4 --find-max --start-rate 1000 --step-seconds "$STEP"
MAX1=$(max_of max-1v); MAX4=$(max_of max-4v)
echo "bench: largest sustained rate: 1 validator $MAX1 tx/s, 4 validators $MAX4 tx/s"
if [ "$MAX4" -gt 0 ]; then
  run sustained-4v --validators 4 --rate "$MAX4" --seconds "$LONG"
  run half-4v --validators 4 --rate $((MAX4 / 2)) --seconds "$LONG"
  run overload-4v --validators 4 --rate $((MAX4 * 3)) --seconds $((LONG / 2))
fi
if [ "$MAX1" -gt 0 ]; then
  run sustained-1v --validators 1 --rate "$MAX1" --seconds "$LONG"
fi

echo "== consumer lookups (wrk against the QR resolver)"
LOOKUPS="$OUT/lookups.md"
if command -v wrk >/dev/null 2>&1; then
  NET="$(mktemp -d)/net"
  BASE=$(python3 scripts/free-ports.py 8)
  FILIERA_API_RATE_LIMIT_PER_IP_PER_S=0 FILIERA_API_WRITE_RATE_LIMIT_PER_IP_PER_S=0 "$BIN/filiera" localnet --insecure-plain-keys --validators 4 --dir "$NET" \
    --p2p-base-port "$BASE" --api-base-port $((BASE + 4)) >"$OUT/lookups-net.log" 2>&1 &
  NETPID=$!
  API="http://127.0.0.1:$((BASE + 4))"
  until curl -fsS "$API/v1/status" 2>/dev/null | grep -q '"height":[1-9]'; do sleep 0.5; done
  "$BIN/filiera" demo --dir "$NET" --api "$API" >"$OUT/lookups-demo.log" 2>&1
  PAGE="$API/01/09521234100010/10/CU-2026-0150"
  {
    echo "| what | wrk | requests/s | p50 | p99 |"
    echo "|---|---|---:|---:|---:|"
    for accept in text/html application/json; do
      wrk -t2 -c16 -d"${LONG}s" --latency -H "accept: $accept" "$PAGE" >"$OUT/wrk-$(echo "$accept" | tr / -).txt"
      python3 - "$OUT/wrk-$(echo "$accept" | tr / -).txt" "$accept" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rps = re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)
p50 = re.search(r"\n\s+50%\s+(\S+)", t).group(1)
p99 = re.search(r"\n\s+99%\s+(\S+)", t).group(1)
print(f"| lot page, accept {sys.argv[2]} | -t2 -c16 | {rps} | {p50} | {p99} |")
PY
    done
  } >"$LOOKUPS"
  kill -TERM "$NETPID" 2>/dev/null || true; wait "$NETPID" 2>/dev/null || true
else
  echo "wrk not installed: lookups skipped" >"$LOOKUPS"
fi

echo "== EPCIS queries over many stored events (epcis-query)"
EVENTS=1000000
[ "$quick" -eq 1 ] && EVENTS=50000
"$BIN/epcis-query" --events "$EVENTS" --sites 1000 --queries 2000 --seed 1 --answers "$OUT/epcis-answers" \
  >"$OUT/epcis-query.jsonl" 2>"$OUT/epcis-query.log" || echo "bench: epcis-query failed" >&2
# Its answers must still be standard: GS1's JSON Schema, GS1's event hashes.
for f in "$OUT"/epcis-answers/*.json; do
  python3 scripts/epcis-schema-check.py "$f" >>"$OUT/epcis-answers.check" 2>&1 || echo "bench: $f fails GS1's schema" >&2
done
python3 scripts/epcis-answer-ids.py "$OUT"/epcis-answers/*.json >>"$OUT/epcis-answers.check" 2>&1 \
  || echo "bench: EPCIS answer ids differ from GS1's reference hashes" >&2

python3 - "$OUT" >"$OUT/SUMMARY.md" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
print(f"# Benchmark suite, {os.path.basename(out)}\n")
print("| run | validators | offered tx/s | s | committed | committed tx/s | p50 ms | p95 ms | p99 ms | CPU % per node | peak RSS MiB per node | sustained |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
for path in sorted(glob.glob(f"{out}/*/*/result.json")):
    run = os.path.basename(os.path.dirname(os.path.dirname(path)))
    r = json.load(open(path))
    for s in r["steps"]:
        ok = s["committed"] == s["offered"] and s["refused"] == 0 and s["latency_ms"]["p99"] < 5000
        cpu = " / ".join(str(n["cpu_percent"]) for n in s["nodes"])
        rss = " / ".join(str(n["rss_peak_kib"] // 1024) for n in s["nodes"])
        l = s["latency_ms"]
        print(f"| {run} | {r['validators']} | {s['rate_per_s']} | {s['seconds']} | {s['committed']} | {s['committed_per_s']} | {l['p50']} | {l['p95']} | {l['p99']} | {cpu} | {rss} | {'yes' if ok else 'no'} |")
    if r.get("max_sustained_per_s"):
        print(f"| {run}: largest sustained | {r['validators']} | **{r['max_sustained_per_s']}** | | | | | | | | | |")
print("\n## Consumer lookups\n")
print(open(f"{out}/lookups.md").read())
print("\n## Micro-benchmarks\n")
print(open(f"{out}/criterion.md").read())
print(f"\nMachine: {json.load(open(sorted(glob.glob(out + '/*/*/result.json'))[0]))['machine']}" if glob.glob(out + '/*/*/result.json') else "")
PY
if [ "$native" = 1 ]; then
  echo "Built with RUSTFLAGS=\"$RUSTFLAGS\" (for this processor only)." >>"$OUT/SUMMARY.md"
fi
cat "$OUT/SUMMARY.md"
