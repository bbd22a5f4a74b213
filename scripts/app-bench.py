#!/usr/bin/env python3
"""The producers' app, measured in a real browser (Playwright driving
Debian's Chromium, a 412 px phone) on a running network:

    scripts/app-bench.py API_URL ENROLMENT_LINK OUT_DIR [EVENTS]

1. first load: every file the app's first screen fetches, its bytes on the
   wire (compressed, as the browser received them) and decoded;
2. what the service worker keeps for offline use (decoded bytes);
3. enrolment, a product and a lot, then EVENTS times "record an event":
   the time from tapping "Firma e invia" to the notice that the event is
   recorded on the network (final: the chain has no forks; the app polls
   the transaction every 300 ms, so that is in the figure, as the user
   sees it).
Prints one JSON line and writes it to OUT_DIR/app-bench.json.
"""
import json
import shutil
import statistics
import sys
import time

from playwright.sync_api import expect, sync_playwright

API, LINK, OUT = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
EVENTS = int(sys.argv[4]) if len(sys.argv) > 4 else 100
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
PHONE = {"viewport": {"width": 412, "height": 915}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
TIMEOUT_MS = 60_000
expect.set_options(timeout=TIMEOUT_MS)


def gtin(body13):
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(body13))
    return body13 + str((10 - total % 10) % 10)


GTIN = gtin("0952123420098")
LOT = "CU-BENCH-1"


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def main():
    report = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=BROWSER, args=["--no-sandbox"])
        context = browser.new_context(locale="it-IT", **PHONE)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        loaded = []
        page.on("requestfinished", lambda r: loaded.append(r))
        batches = []
        page.on("response", lambda r: batches.append((r.status, r.text())) if r.url.endswith("/v1/txs/batch") else None)

        # 1. First load, a new phone: the enrolment link.
        page.goto(LINK)
        expect(page.locator("h1")).to_have_text("Attiva questo dispositivo")
        page.wait_for_load_state("networkidle")
        page.wait_for_function("navigator.serviceWorker.controller !== null || navigator.serviceWorker.ready.then(() => true)")
        files = []
        for r in loaded:
            if "/app/" not in r.url:
                continue
            sizes = r.sizes()
            response = r.response()
            files.append({
                "url": r.url.split("/app/")[1] or "(page)",
                "wire_bytes": sizes["responseBodySize"] + sizes["responseHeadersSize"],
                "body_bytes": sizes["responseBodySize"],
                "encoding": (response.headers.get("content-encoding") if response else None) or "identity",
            })
        report["first_load"] = {"files": files, "wire_bytes": sum(f["wire_bytes"] for f in files)}

        # 2. What the service worker keeps.
        page.wait_for_function("navigator.serviceWorker.ready.then(() => true)")
        page.wait_for_timeout(1000)
        cached = page.evaluate("""async () => {
          const out = [];
          for (const name of await caches.keys()) {
            const cache = await caches.open(name);
            for (const req of await cache.keys()) {
              const body = await (await cache.match(req)).arrayBuffer();
              out.push({ url: req.url.split("/app/")[1] || "(page)", bytes: body.byteLength });
            }
          }
          return out;
        }""")
        report["service_worker_cache"] = {"files": cached, "bytes": sum(c["bytes"] for c in cached)}

        # 3. Enrol, a product, a lot; then record events one after another.
        page.fill("#label", "telefono banco di prova")
        page.locator("main button[type=submit]").click()
        expect(page.locator("h1")).to_have_text("I miei lotti")
        page.goto(f"{API}/app/#/product")
        expect(page.locator("h1")).to_have_text("Nuovo prodotto")
        page.fill("#gtin", GTIN)
        page.fill("#name", "Casciotta d'Urbino DOP, banco di prova")
        page.locator("main button[type=submit]").click()
        expect(page.locator("#notice")).to_contain_text("Registrato in rete")
        page.goto(f"{API}/app/#/lot")
        expect(page.locator("h1")).to_have_text("Nuovo lotto")
        page.select_option("#gtin", GTIN)
        page.fill("#lot", LOT)
        page.fill("#quantity", "1000")
        page.locator("main button[type=submit]").click()
        expect(page.locator("#notice")).to_contain_text("Registrato in rete")
        page.goto(f"{API}/app/#/record")
        expect(page.locator("h1")).to_have_text("Registra un evento")
        timings = []
        for i in range(EVENTS):
            page.select_option("#lot", f"{GTIN}/{LOT}")
            page.select_option("#event", "store")
            page.fill("#note", f"misura {i}")
            notice = page.locator("#notice")
            started = time.monotonic()
            page.locator("main button[type=submit]").click()
            try:
                expect(notice).to_have_text(f"Registrato in rete: Stoccaggio o stagionatura: {LOT}.", timeout=TIMEOUT_MS)
            except AssertionError as e:
                queue = page.evaluate("""async () => {
                  const db = await new Promise((ok) => { const r = indexedDB.open("filiera-app", 1); r.onsuccess = () => ok(r.result); });
                  return await new Promise((ok) => { const r = db.transaction("queue").objectStore("queue").getAll(); r.onsuccess = () => ok(r.result.map((i) => [i.what, i.status, i.nonce, i.reason])); });
                }""")
                stop = page.evaluate("document.documentElement.dataset.pumpStop")
                raise AssertionError(f"event {i}: {notice.inner_text()!r}; pump stopped: {stop!r}; batches {batches[-3:]}; queue {queue}") from e
            timings.append(round((time.monotonic() - started) * 1000, 1))
            # The next tap starts from a cleared notice, so each wait sees its own answer.
            page.evaluate("document.getElementById('notice').textContent = ''")
        report["record_to_final_ms"] = {
            "count": len(timings), "p50": percentile(timings, 50), "p99": percentile(timings, 99),
            "min": min(timings), "max": max(timings), "mean": round(statistics.mean(timings), 1), "all": timings,
        }
        browser.close()
    line = json.dumps(report)
    open(f"{OUT}/app-bench.json", "w").write(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
