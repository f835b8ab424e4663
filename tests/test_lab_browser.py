"""Open a chapter in JupyterLab, as `make lab` serves it, and check its MyST is rendered.

Without jupyterlab-myst, JupyterLab shows the chapters' MyST as text: the Key-equations box as a
code block headed `{admonition}`, references as `{doc}` and `{term}`. This check starts the
JupyterLab of the book's virtualenv on 127.0.0.1 (no token, a copy of the chapter as its root), opens
chapter 1 in headless Chromium and looks at the first markdown cells, the ones on screen (Lab
renders cells lazily as they scroll into view).

    pytest -m browser tests/test_lab_browser.py
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from headless_chromium import chromium

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "chapters/01_objective.ipynb"
START_TIMEOUT_S = 60
RENDER_TIMEOUT_S = 60
# What MyST roles and directives look like when nothing renders them.
RAW_MYST = ("{admonition}", "{doc}", "{term}", "{eq}", "{cite", ":::{")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("lab") / "jupyter-lab.log"
    # Lab serves a copy: opening a notebook writes .ipynb_checkpoints/ beside it, and the
    # check must leave the checkout as it found it.
    root = tmp_path_factory.mktemp("lab-root")
    (root / CHAPTER).parent.mkdir(parents=True)
    shutil.copy2(ROOT / CHAPTER, root / CHAPTER)
    command = [
        str(Path(sys.executable).with_name("jupyter")),
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        f"--ServerApp.root_dir={root}",
        "--allow-root",
    ]
    with open(log, "w") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=os.environ)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"jupyter lab exited with {server.returncode}:\n{log.read_text()}")
            try:
                urllib.request.urlopen(f"{base}/api/status", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not start in {START_TIMEOUT_S} s")
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def _first_markdown(browser) -> list[dict]:
    return browser.execute_script(
        """
        return Array.from(document.querySelectorAll('.jp-MarkdownCell')).slice(0, 3).map(cell => ({
          text: String(cell.innerText),
          admonitions: cell.querySelectorAll('aside[class*="admonition"]').length,
        }));
        """
    )


def test_jupyterlab_renders_a_chapters_myst(lab):
    with chromium() as browser:
        browser.get(f"{lab}/lab/tree/{CHAPTER}")
        deadline = time.monotonic() + RENDER_TIMEOUT_S
        cells = []
        while time.monotonic() < deadline:
            cells = _first_markdown(browser)
            if any(cell["admonitions"] for cell in cells):
                break
            time.sleep(1)
    assert cells, f"JupyterLab showed no markdown cell of {CHAPTER}"
    boxes = [cell for cell in cells if "Key equations" in cell["text"]]
    assert boxes and boxes[0]["admonitions"] == 1, (
        "the Key-equations box is not rendered as an admonition: is jupyterlab-myst installed "
        "and enabled (`.venv/bin/jupyter labextension list`)?"
    )
    raw = [token for cell in cells for token in RAW_MYST if token in cell["text"]]
    assert not raw, f"raw MyST in the rendered cells: {sorted(set(raw))}"
