"""Time how long each chapter notebook takes to run top to bottom from a fresh kernel.

Every notebook is executed with nbclient in a temporary copy of chapters/, so nothing in the
repository is modified (no outputs, no files a notebook writes). Prints a Markdown table of
per-notebook and total wall-clock seconds, ready to paste into README.md ("Running locally").

    python bench/book_timing.py                    # every chapters/*.ipynb
    python bench/book_timing.py chapters/01_objective.ipynb --timeout 600
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
sys.path.insert(0, str(ROOT / "tools"))
from notebook_exec import cell_timeout, execute  # noqa: E402


def time_notebook(path: Path, workdir: Path, timeout: int) -> tuple[float, int]:
    """Execute the copy of `path` inside `workdir`; return (seconds, number of code cells)."""
    nb = nbformat.read(workdir / path.name, as_version=4)
    seconds = execute(nb, workdir, timeout)
    return seconds, sum(cell.cell_type == "code" for cell in nb.cells)


def machine_line() -> str:
    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = "not installed"
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
        f"Python {platform.python_version()}, torch {torch_version}"
    )


# Seconds each chapter may take from a fresh kernel on the book's 2-core machine: the sweeps
# of chapters 7 and 9 get two minutes, every other chapter one.
LONG_CHAPTERS = ("07_", "09_")


def budget(name: str) -> int:
    return 120 if name.startswith(LONG_CHAPTERS) else 60


def markdown_table(rows: list[tuple[str, int, float]]) -> str:
    lines = [
        "| Notebook | Code cells | Seconds | Budget | Share of budget |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| `{name}` | {cells} | {seconds:.1f} | {budget(name)} | {seconds / budget(name):.0%} |"
        for name, cells, seconds in rows
    ]
    total = sum(seconds for _, _, seconds in rows)
    lines.append(f"| **Total** | {sum(cells for _, cells, _ in rows)} | **{total:.1f}** | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: chapters/*.ipynb")
    parser.add_argument(
        "--timeout", type=int, default=cell_timeout(), help="seconds allowed per cell"
    )
    args = parser.parse_args(argv)

    notebooks = [path.resolve() for path in args.notebooks] or sorted(CHAPTERS.glob("*.ipynb"))
    if not notebooks:
        print("no notebooks to time in chapters/")
        return 0
    rows = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="pg-book-timing-") as tmp:
        workdir = Path(tmp) / "chapters"
        # A copy of the whole folder, so relative paths between chapter files keep working.
        shutil.copytree(CHAPTERS, workdir, ignore=shutil.ignore_patterns(".*", "_build"))
        for path in notebooks:
            shutil.copy2(path, workdir / path.name)
            print(f"running {path.name} ...", file=sys.stderr, flush=True)
            seconds, cells = time_notebook(path, workdir, args.timeout)
            rows.append((path.name, cells, seconds))
    print(markdown_table(rows))
    print(
        f"\nMeasured {datetime.date.today().isoformat()} on: {machine_line()}; each notebook "
        f"in a fresh kernel, one at a time; 1-minute load average {load_before:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after."
    )
    over = [name for name, _, seconds in rows if seconds > budget(name)]
    if over:
        print(f"over budget: {', '.join(over)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
