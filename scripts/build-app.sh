#!/usr/bin/env bash
# The producers' app as a folder of static files, for any web server (a
# consortium's site, a CDN), talking to the node at API_URL:
#
#   scripts/build-app.sh OUT_DIR API_URL
#
# The files are the node's own (node/api/app/ and the transaction and
# spreadsheet modules in node/api/assets/, checked byte for byte by the test
# command); only index.html changes: it names the node and carries the
# policy the node would send as a header, opened to that node's origin. The
# app must be served over HTTPS (or from localhost): WebCrypto signs only in
# a secure context. The node answers other origins' requests (CORS).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -ne 2 ]; then
  echo "usage: scripts/build-app.sh OUT_DIR API_URL" >&2
  exit 2
fi
out=$1
api=${2%/}
# An origin and nothing else: the URL ends up in an HTML attribute and in
# the page's policy, so anything that could break out of them is refused.
if ! [[ $api =~ ^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$ ]]; then
  echo "build-app: API_URL must be an origin such as https://nodo.regione.marche.it (got: $api)" >&2
  exit 2
fi

mkdir -p "$out"
cp node/api/app/app.js node/api/app/i18n.js node/api/app/app.css node/api/app/sw.js \
  node/api/app/manifest.webmanifest node/api/app/icon.svg \
  node/api/assets/tx.wasm node/api/assets/sheet.wasm "$out/"
policy="default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: $api; connect-src 'self' $api; base-uri 'none'; form-action 'none'; object-src 'none'"
# The empty meta the node's copy carries becomes the node's origin and the
# policy (awk, not sed: a newline in a replacement is not portable).
awk -v named="<meta name=\"filiera-api\" content=\"$api\">" \
  -v policy="<meta http-equiv=\"Content-Security-Policy\" content=\"$policy\">" \
  '$0 == "<meta name=\"filiera-api\" content=\"\">" { print named; print policy; next } { print }' \
  node/api/app/index.html > "$out/index.html"
grep -q "content=\"$api\"" "$out/index.html" || { echo "build-app: index.html has no filiera-api meta to fill" >&2; exit 1; }
echo "build-app: wrote the app to $out for the node at $api"
