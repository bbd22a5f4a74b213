#!/usr/bin/env bash
# The producers' app, measured (issue 35), on a new localnet of 4 validators
# on loopback, built as scripts/devnet.sh builds it (dev profile, dependencies
# at opt-level 2), or the release build with --release:
#   1. Lighthouse 12.2.3 on /app/ (mobile: a Moto G class phone on slow 4G,
#      simulated): performance score, first paint, total bytes;
#   2. scripts/app-bench.py: the first load's bytes on the wire, what the
#      service worker keeps, and EVENTS times "record an event" from the tap
#      to the event final on the network (p50, p99).
# Everything lands in results/app-<UTC time>/ (SUMMARY.md, lighthouse.json,
# app-bench.json, the localnet's logs).
#
#   scripts/app-bench.sh [--release] [EVENTS]     # default 100 events
set -euo pipefail
cd "$(dirname "$0")/.."
profile=debug
if [ "${1:-}" = "--release" ]; then profile=release; shift; fi
events="${1:-100}"

bash scripts/setup.sh
lh_dir="$HOME/.cache/filiera-tools/lighthouse"
lighthouse="$lh_dir/node_modules/.bin/lighthouse"
if [ ! -x "$lighthouse" ]; then
  mkdir -p "$lh_dir"
  (cd "$lh_dir" && npm install --no-audit --no-fund --silent lighthouse@12.2.3) \
    || { echo "app-bench: could not install lighthouse 12.2.3 from npm" >&2; exit 1; }
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/filiera-target}"
if [ "$profile" = release ]; then
  cargo build --release --locked -q -p filiera-node --bins
else
  cargo build --locked -q -p filiera-node --bins
fi
filiera="$CARGO_TARGET_DIR/$profile/filiera"
out="$PWD/results/app-$(date -u +%Y-%m-%dT%H%M%SZ)"
mkdir -p "$out"
net="$out/localnet"

# 4 validators: p2p, API and metrics ports from one free range.
base=$(python3 scripts/free-ports.py 12)
"$filiera" localnet --insecure-plain-keys --validators 4 --dir "$net" \
  --p2p-base-port "$base" --api-base-port $((base + 4)) --metrics-base-port $((base + 8)) \
  >"$out/localnet.log" 2>&1 &
localnet=$!
trap 'kill -TERM "$localnet" 2>/dev/null || true; wait "$localnet" 2>/dev/null || true' EXIT
api="http://127.0.0.1:$((base + 4))"
api1="http://127.0.0.1:$((base + 5))"
for _ in $(seq 1 240); do
  curl -fsS "$api/v1/status" 2>/dev/null | grep -q '"height":[2-9]' && break
  kill -0 "$localnet" 2>/dev/null || { echo "app-bench: the localnet stopped; $out/localnet.log" >&2; exit 1; }
  sleep 0.5
done

# The authority onboards a dairy and opens an enrolment for its first phone
# (proposed with key 0, approved with key 1: 2 of 3).
authority() {
  local proposal
  proposal=$("$filiera" --json authority "$@" --key "$net/authority/key-0.json" --api "$api" \
    | tee -a "$out/authority.jsonl" | python3 -c 'import json,sys
for l in sys.stdin:
    v = json.loads(l)
    if "returned" in v: print(v["returned"])')
  "$filiera" --json authority approve "$proposal" --key "$net/authority/key-1.json" --api "$api1" >>"$out/authority.jsonl"
}
authority onboard --id caseificio-banco --name "Caseificio Banco di Prova" --kind producer --role producer
authority enrolment --org caseificio-banco --app-url "$api/app/"
link=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    v = json.loads(l)
    if v.get("enrolment_link"): print(v["enrolment_link"])' "$out/authority.jsonl" | tail -1)
# The ticket is open once the approval is in a block: two blocks later.
height() { curl -fsS "$api/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["height"])'; }
until_height=$(( $(height) + 2 ))
while [ "$(height)" -lt "$until_height" ]; do sleep 0.3; done

echo "== lighthouse (mobile, simulated slow 4G) on $api/app/"
CHROME_PATH="$(command -v chromium)" "$lighthouse" "$api/app/" --quiet \
  --only-categories=performance --output=json --output-path="$out/lighthouse.json" \
  --chrome-flags="--headless=new --no-sandbox"

echo "== the app in a browser: first load, service worker, $events events recorded"
python3 scripts/app-bench.py "$api" "$link" "$out" "$events" >/dev/null

python3 - "$out" "$profile" <<'PY' | tee "$out/SUMMARY.md"
import json, os, platform, sys
out = sys.argv[1]
lh = json.load(open(f"{out}/lighthouse.json"))
app = json.load(open(f"{out}/app-bench.json"))
a = lh["audits"]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
rec = app["record_to_final_ms"]
print(f"# The producers' app, measured ({os.path.basename(out)})\n")
print(f"Machine: {cpu}, {os.cpu_count()} cores. Localnet: 4 validators, {sys.argv[2]} build, loopback.")
print(f"Lighthouse {lh['lighthouseVersion']}, {lh['configSettings']['formFactor']}, throttling {lh['configSettings']['throttlingMethod']}; Chromium {lh['environment']['hostUserAgent'].split('Chrome/')[1].split(' ')[0]}.\n")
print("| Figure | Value |\n|---|---|")
print(f"| Lighthouse performance score (mobile) | {round(lh['categories']['performance']['score'] * 100)} |")
for key in ["first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift", "speed-index", "interactive"]:
    print(f"| {a[key]['title']} | {a[key]['displayValue']} |")
print(f"| Lighthouse total byte weight | {a['total-byte-weight']['numericValue']:.0f} B |")
print(f"| First load on the wire (Playwright, {len(app['first_load']['files'])} files) | {app['first_load']['wire_bytes']} B |")
print(f"| Kept by the service worker (decoded) | {app['service_worker_cache']['bytes']} B |")
print(f"| Tap \"record\" to event final, {rec['count']} events | p50 {rec['p50']} ms, p99 {rec['p99']} ms (min {rec['min']}, max {rec['max']}, mean {rec['mean']}) |")
print("\nFirst load, per file (bytes on the wire, body, encoding):\n")
for f in app["first_load"]["files"]:
    print(f"- {f['url']}: {f['wire_bytes']} ({f['body_bytes']}, {f['encoding']})")
PY
