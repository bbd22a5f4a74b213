#!/usr/bin/env python3
"""The producers' app as phones open it, over a node's HTTPS and over plain
HTTP from another machine (Playwright from PyPI driving Debian's Chromium):

    scripts/app-https.py APP_URL...

An https:// APP_URL (https://localhost:PORT/app/, a certificate made for the test):
the page is served over TLS under the node's policy, is a secure context,
and makes its device key with WebCrypto (the pairing code). The name the
browser uses is not the loopback's, so only TLS makes the context secure:
filiera-app.test is mapped to 127.0.0.1 by the browser's resolver, and the
certificate's errors are ignored (it was made for the test).

An http:// APP_URL (a node's plain HTTP app): opened under a name that is not
localhost, the app says plainly that it needs HTTPS and makes no key.
Prints one JSON line; exits non-zero at the first failed check.
"""
import json
import re
import shutil
import sys
from urllib.parse import urlsplit, urlunsplit

from playwright.sync_api import expect, sync_playwright

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
NAME = "filiera-app.test"
PHONE = {"viewport": {"width": 412, "height": 915}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def renamed(url):
    """The URL with its host replaced by NAME (same port and path)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, f"{NAME}:{parts.port}", parts.path, parts.query, parts.fragment))


def over_https(browser, url):
    context = browser.new_context(locale="it-IT", ignore_https_errors=True, **PHONE)
    context.set_default_timeout(60_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    response = page.goto(url)
    assert response.ok, f"{url}: {response.status}"
    assert "connect-src 'self'" in response.headers.get("content-security-policy", ""), response.headers
    assert page.evaluate("window.isSecureContext"), "HTTPS is a secure context"
    expect(page.locator("h1")).to_have_text("Questo dispositivo non è ancora attivo")
    page.click("text=Mostra il codice di abbinamento")
    page.fill("#org", "caseificio-https-demo")
    page.locator("main button[type=submit]").click()
    code = page.locator("#pairing-code").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", code), code
    assert not errors, f"script errors over HTTPS: {errors}"
    context.close()
    return {"url": url, "secure_context": True, "device_key": code[:16]}


def over_plain_http(browser, url):
    context = browser.new_context(locale="it-IT", **PHONE)
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(url)
    assert not page.evaluate("window.isSecureContext"), f"{url} should not be a secure context"
    expect(page.locator("h1")).to_have_text("Connessione non sicura")
    expect(page.locator("main")).to_contain_text("HTTPS")
    said = page.locator("main p").inner_text()
    context.close()
    return {"url": url, "secure_context": False, "said": said}


def main():
    checks = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=BROWSER, args=["--no-sandbox", f"--host-resolver-rules=MAP {NAME} 127.0.0.1"])
        for url in map(renamed, sys.argv[1:]):
            checks.append(over_https(browser, url) if url.startswith("https://") else over_plain_http(browser, url))
        browser.close()
    print(json.dumps(checks))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - report which check failed
        print(f"app-https: {e}", file=sys.stderr)
        sys.exit(1)
