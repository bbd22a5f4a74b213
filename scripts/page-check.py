#!/usr/bin/env python3
"""Opens the consumer page of demo lots in headless Chromium (Debian's
`chromium`) against a running node, and checks what a consumer's phone would
see: the badge of the in-browser verification, the recall banner, the English
switch, and a tampered bundle shown as not verified. Saves screenshots.

    scripts/page-check.py http://127.0.0.1:PORT OUT_DIR

The tampered case goes through a proxy started here that forwards everything
to the node but changes one number in the JSON bundle the page fetches.
Prints one JSON line with what it measured (verification time in the browser,
page weight). Exits non-zero on any failed check.
"""
import http.server
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.request

API, OUT = sys.argv[1].rstrip("/"), sys.argv[2]
CASCIOTTA = "/01/09521234100010/10/CU-2026-0142"
CIAUSCOLO = "/01/09521234100065/10/CI-2026-019"
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
if not BROWSER:
    sys.exit("page-check: chromium is not installed (scripts/setup.sh installs it)")
failures = []


def chromium(url, screenshot=None):
    """The DOM after scripts ran (virtual time lets fetch and WASM finish;
    it also stops the page's clock, so verification time is measured by
    scripts/verify-timing.mjs instead). The browser asks for Italian first,
    like a phone set to Italian."""
    with tempfile.TemporaryDirectory() as profile:
        args = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--no-first-run", f"--user-data-dir={profile}", "--virtual-time-budget=15000",
                "--accept-lang=it-IT,it",
                "--window-size=412,1600"]
        if screenshot:
            subprocess.run(args + [f"--screenshot={OUT}/{screenshot}", url], check=True,
                           capture_output=True, timeout=120)
        done = subprocess.run(args + ["--dump-dom", url], check=True, capture_output=True,
                              timeout=120)
        return done.stdout.decode()


def badge(dom):
    m = re.search(r'<b id="badge"([^>]*)>(.*?)</b>', dom, re.S)
    if not m:
        return None, {}, ""
    attrs = dict(re.findall(r'data-([a-z]+)="([^"]*)"', m.group(1)))
    return attrs.get("state"), attrs, m.group(2)


def check(what, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + what + ("" if ok else f": {detail}"))
    if not ok:
        failures.append(what)


# 1. A demo lot verifies, in Italian by default.
dom = chromium(API + CASCIOTTA, "casciotta-it.png")
state, attrs, text = badge(dom)
check("Casciotta page verifies in the browser", state == "verified", text)
check("Italian by default", 'lang="it"' in dom and "Verificato" in text, text)

# 2. The recalled Ciauscolo lot: banner first, and still verified.
dom = chromium(API + CIAUSCOLO, "ciauscolo-recall-it.png")
state, _, text = badge(dom)
check("recalled lot shows the recall banner", 'id="recall"' in dom and "RICHIAMO" in dom)
check("recalled lot verifies", state == "verified", text)

# 3. The English switch.
dom = chromium(API + CIAUSCOLO + "?lang=en", "ciauscolo-recall-en.png")
state, _, text = badge(dom)
check("English switch", 'lang="en"' in dom and "RECALL" in dom and "Verified on your device" in text,
      text)


# 4. A tampered bundle, through a proxy, shows as not verified.
class Tamper(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        req = urllib.request.Request(API + self.path, headers={"Accept": self.headers.get("Accept", "*/*")})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                body, status, ctype = r.read(), r.status, r.headers.get("content-type", "")
        except urllib.error.HTTPError as e:
            body, status, ctype = e.read(), e.code, e.headers.get("content-type", "")
        if ctype.startswith("application/json") and self.path.startswith("/01/"):
            bundle = json.loads(body)
            bundle["lot"]["quantity"] += 1000
            body = json.dumps(bundle).encode()
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Tamper)
threading.Thread(target=proxy.serve_forever, daemon=True).start()
dom = chromium(f"http://127.0.0.1:{proxy.server_address[1]}{CASCIOTTA}", "casciotta-tampered.png")
proxy.shutdown()
state, _, text = badge(dom)
check("tampered bundle shows as not verified", state == "failed" and "Non verificato" in text, text)

with urllib.request.urlopen(urllib.request.Request(API + CASCIOTTA, headers={"Accept": "text/html"})) as r:
    page_bytes = len(r.read())
with urllib.request.urlopen(API + "/assets/verify.wasm") as r:
    wasm_bytes = len(r.read())
print(json.dumps({"page_bytes": page_bytes,
                  "verifier_wasm_bytes": wasm_bytes, "screenshots": OUT}))
sys.exit(1 if failures else 0)
