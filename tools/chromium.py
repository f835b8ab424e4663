"""Headless Chromium from the Debian packages, driven by selenium, with no network.

Shared by `make pdf` (tools/book_pdf.py) and the browser checks (tests/headless_chromium.py).
Selenium never downloads a browser or driver here (SE_OFFLINE), and Chromium's host resolver
refuses every name but 127.0.0.1, so a page that needs the network fails visibly.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PAGE_TIMEOUT_S = 30
INSTALL_HINT = "install them with `make browser-deps` (Debian packages chromium, chromium-driver)"


def missing() -> list[str]:
    """The Chromium files that are not installed."""
    return [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]


@contextlib.contextmanager
def chromium(width: int = 1280, height: int = 1000, phone: bool = False) -> Iterator:
    """A selenium driver for a headless Chromium window of `width` x `height` pixels.

    With `phone`, the page is laid out as on a phone of that size (a touch screen at device
    pixel ratio 3): a headless window on its own cannot be narrower than about 500 pixels.
    """
    if missing():
        raise FileNotFoundError(f"{', '.join(missing())} not found: {INSTALL_HINT}")
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="pg-book-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in (
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--window-size={width},{height}",
            f"--user-data-dir={profile}",
            # Every host name fails to resolve: nothing may need the network.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        ):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        browser.set_page_load_timeout(PAGE_TIMEOUT_S)
        browser.set_script_timeout(PAGE_TIMEOUT_S)
        if phone:
            browser.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 3, "mobile": True},
            )
        try:
            yield browser
        finally:
            browser.quit()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve `folder` over HTTP on 127.0.0.1 in a thread; yields the base URL, ending in '/'."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# Resolves once MathJax has typeset the page; the config object Sphinx writes has no promise.
WAIT_FOR_MATHJAX_JS = """
const done = arguments[arguments.length - 1];
if (!document.querySelector('.math')) { done('no-math'); return; }
const start = Date.now();
(function poll() {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    MathJax.startup.promise.then(() => done('typeset'), (e) => done('error: ' + e));
  } else if (Date.now() - start > 20000) {
    done('mathjax-missing');
  } else {
    setTimeout(poll, 50);
  }
})();
"""
