"""Execute a notebook top to bottom in a fresh kernel: the one way the repository runs notebooks.

Shared by `make notebooks` (tools/run_notebooks.py) and `make bench` (bench/book_timing.py). The
per-cell timeout is the book's own `execute: timeout` in _config.yml, so the book, nbval (the
Makefile asks this script for it) and these tools allow every cell the same time.

    python tools/notebook_exec.py --cell-timeout     # prints the timeout in seconds
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
import yaml
from nbclient import NotebookClient

CONFIG = Path(__file__).resolve().parents[1] / "_config.yml"


def cell_timeout() -> int:
    """Seconds one cell may run: ``execute.timeout`` in _config.yml."""
    timeout = yaml.safe_load(CONFIG.read_text())["execute"]["timeout"]
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise ValueError(f"{CONFIG}: execute.timeout must be a positive number of seconds")
    return timeout


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int) -> float:
    """Run every cell of ``nb`` in place, with ``cwd`` as the kernel's working directory.

    ``timeout`` is the seconds one cell may run: every caller passes its ``--timeout`` option,
    whose default is ``cell_timeout()``. Cells tagged ``skip-execution`` (the install cell) are
    skipped, as nbclient does by default. Per-cell timestamps are not recorded: they would
    change every run and clutter the diffs. Returns the wall-clock seconds; raises nbclient's
    errors when a cell fails or times out.
    """
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
        record_timing=False,
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


if __name__ == "__main__":
    if sys.argv[1:] != ["--cell-timeout"]:
        sys.exit("usage: python tools/notebook_exec.py --cell-timeout")
    print(cell_timeout())
