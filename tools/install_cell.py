"""The cell that makes each chapter run where pgkit is not installed (Colab, Binder, a download).

Every chapter holds one copy of this cell, just before its first other code cell. It installs the
book's pgkit, with CPU-only torch, when and only when `import pgkit` would fail; where pgkit is
installed (`make` targets, nbval, `make claims`, JupyterLab from `make lab`) it does nothing.

The install source is derived from the one setting that names the book's repository, `repository`
in `_config.yml` (the launch buttons and the repository button read the same setting), so the
copies in the chapters are generated, never edited by hand:

    python tools/install_cell.py           # exit 1 and name the chapters whose cell is out of date
    python tools/install_cell.py --write   # insert or update the cell in every chapter

Two environment variables, read by the cell when it runs, point it elsewhere:
PGKIT_INSTALL_SOURCE (a folder or a pip requirement; tests use a local checkout) and
PGKIT_TORCH_INDEX (where CPU torch comes from; empty for pip's configured indexes only).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
CELL_ID = "install-pgkit"
# The cell is in every downloaded or launched notebook; the rendered page, where the reader runs
# nothing, does not show it ("remove-cell"). It is stored as a download meets it, never run:
# `make notebooks` and `make bench` (nbclient) skip it ("skip-execution"), since where they run
# pgkit is installed and the cell would do nothing; nbval runs it and it prints nothing.
CELL_TAGS = ["remove-cell", "skip-execution"]
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def repository() -> tuple[str, str]:
    """The book's repository URL and branch, from `_config.yml`."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    settings = config.get("repository") or {}
    url, branch = settings.get("url"), settings.get("branch", "main")
    if not url:
        raise ValueError("_config.yml has no repository: url:, which the install cell needs")
    return url.rstrip("/"), branch


def install_source() -> str:
    """A pip requirement that installs pgkit from the book's repository (PyPI's pgkit is not ours)."""
    url, branch = repository()
    return f"pgkit @ git+{url}.git@{branch}"


def _book_pgkit() -> str:
    """The BOOK_PGKIT line, wrapped as `ruff format --line-length 80` wraps it."""
    line = f'BOOK_PGKIT = "{install_source()}"'
    if len(line) <= 80:
        return line
    return f'BOOK_PGKIT = (\n    "{install_source()}"\n)'


def cell_source() -> str:
    """The code of the install cell, with lines that fit the book's code column."""
    return f'''\
# pgkit, the book's library, is missing in Colab, Binder or a downloaded copy
# of this notebook: install it, with CPU-only torch. Nothing happens if it is
# there.
import importlib
import importlib.util
import os
import subprocess
import sys

{_book_pgkit()}
CPU_TORCH = "{TORCH_CPU_INDEX}"

if importlib.util.find_spec("pgkit") is None:
    source = os.environ.get("PGKIT_INSTALL_SOURCE", BOOK_PGKIT)
    torch_index = os.environ.get("PGKIT_TORCH_INDEX", CPU_TORCH)
    index = ["--extra-index-url", torch_index] if torch_index else []
    print(f"Installing pgkit from {{source}} (a minute or two, once) ...")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", *index, source]
    subprocess.run(pip, check=True)
    importlib.invalidate_caches()'''


def install_cell() -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(cell_source(), id=CELL_ID)
    cell.metadata["tags"] = list(CELL_TAGS)
    return cell


def _first_code_index(nb: nbformat.NotebookNode) -> int:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.get("id") != CELL_ID:
            return index
    raise ValueError("the notebook has no code cell to put the install cell before")


def is_current(nb: nbformat.NotebookNode) -> bool:
    """True when the notebook has one install cell, up to date and unrun, before any other code."""
    found = [i for i, cell in enumerate(nb.cells) if cell.get("id") == CELL_ID]
    if len(found) != 1 or found[0] > _first_code_index(nb):
        return False
    cell = nb.cells[found[0]]
    return (
        cell.cell_type == "code"
        and cell.source == cell_source()
        and cell.metadata.get("tags") == CELL_TAGS
        and cell.execution_count is None
        and not cell.outputs
    )


def update(nb: nbformat.NotebookNode) -> None:
    """Put the current install cell, unrun, before the first other code cell (one copy only)."""
    nb.cells = [cell for cell in nb.cells if cell.get("id") != CELL_ID]
    nb.cells.insert(_first_code_index(nb), install_cell())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="insert or update the cell")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: chapters/*.ipynb")
    args = parser.parse_args(argv)
    stale = []
    for path in args.notebooks or sorted(CHAPTERS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if is_current(nb):
            continue
        if args.write:
            update(nb)
            nbformat.write(nb, path)
            print(f"updated {path}")
        else:
            stale.append(path.name)
    if stale:
        print(
            f"install cell missing or out of date in {', '.join(stale)}; run {Path(__file__).name} --write"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
