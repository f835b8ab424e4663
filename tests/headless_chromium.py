"""Headless Chromium from the Debian packages, for the browser checks (the book, JupyterLab).

Selenium never downloads a browser or driver here (SE_OFFLINE), and Chromium's host resolver
refuses every name but 127.0.0.1, so a page that needs the network fails visibly.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PAGE_TIMEOUT_S = 30


@contextlib.contextmanager
def chromium(width: int = 1280, height: int = 1000, phone: bool = False) -> Iterator:
    """A selenium driver for a headless Chromium window of `width` x `height` pixels.

    With `phone`, the page is laid out as on a phone of that size (a touch screen at device
    pixel ratio 3): a headless window on its own cannot be narrower than about 500 pixels.
    """
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: install them with `make browser-deps`")
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
