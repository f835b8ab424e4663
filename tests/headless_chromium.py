"""Headless Chromium for the browser checks (the book, JupyterLab): tools/chromium.py, with a
missing browser reported as a test failure that says how to install it."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import chromium as _chromium  # noqa: E402

PAGE_TIMEOUT_S = _chromium.PAGE_TIMEOUT_S
WAIT_FOR_MATHJAX_JS = _chromium.WAIT_FOR_MATHJAX_JS
serve = _chromium.serve


@contextlib.contextmanager
def chromium(width: int = 1280, height: int = 1000, phone: bool = False) -> Iterator:
    """tools/chromium.py's driver; fails the test when Chromium is not installed."""
    if _chromium.missing():
        pytest.fail(f"{', '.join(_chromium.missing())} not found: {_chromium.INSTALL_HINT}")
    with _chromium.chromium(width, height, phone=phone) as browser:
        yield browser
