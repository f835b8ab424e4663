"""Every chapter runs where pgkit is not installed: Colab, Binder, a downloaded notebook.

The fast tests check that each chapter carries the install cell generated from `_config.yml`
(tools/install_cell.py) and that the cell does nothing where pgkit is installed. The `bare_venv`
test (`make launch-check`) makes a virtualenv with only Jupyter's kernel and client, points the
cell at a copy of this checkout and runs chapter 1 from top to bottom there.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("install_cell", ROOT / "tools" / "install_cell.py")
install_cell = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(install_cell)

NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))


def test_every_chapter_has_the_current_install_cell():
    stale = [p.name for p in NOTEBOOKS if not install_cell.is_current(nbformat.read(p, 4))]
    assert not stale, (
        f"install cell missing or out of date in {stale}; "
        "run .venv/bin/python tools/install_cell.py --write"
    )


def test_install_source_comes_from_the_repository_setting():
    url, branch = install_cell.repository()
    assert url.startswith("https://github.com/")
    assert install_cell.install_source() == f"pgkit @ git+{url}.git@{branch}"
    # The copy in the chapters is the generated one, so it names the same repository.
    assert f'"{install_cell.install_source()}"' in install_cell.cell_source()


def test_install_cell_lines_fit_the_code_column():
    widths = [len(line) for line in install_cell.cell_source().splitlines()]
    assert max(widths) <= 80, f"longest install-cell line is {max(widths)} characters"


def test_install_cell_does_nothing_where_pgkit_is_installed(tmp_path):
    # pip would fail at once on this source, so any attempt to install shows up as an error.
    env = dict(os.environ, PGKIT_INSTALL_SOURCE=str(tmp_path / "missing"))
    done = subprocess.run(
        [sys.executable, "-c", install_cell.cell_source()],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""


def test_install_cell_is_placed_before_the_first_code_cell():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell("import pgkit"),
    ]
    assert not install_cell.is_current(nb)
    install_cell.update(nb)
    assert [cell.get("id") for cell in nb.cells][1] == install_cell.CELL_ID
    assert install_cell.is_current(nb)
    install_cell.update(nb)  # idempotent: still one copy
    assert sum(cell.get("id") == install_cell.CELL_ID for cell in nb.cells) == 1


def test_binder_installs_pgkit_with_cpu_torch_and_jupyterlab_myst():
    lines = (ROOT / "binder" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    lines = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert f"--extra-index-url {install_cell.TORCH_CPU_INDEX}" in lines
    assert "-e ." in lines
    assert any(line.startswith("jupyterlab-myst") for line in lines)
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"


def _copy_of_the_checkout(dest: Path) -> Path:
    """The files pip needs to build pgkit, so that building never writes into the checkout."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "pgkit", dest / "pgkit", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


RUN_NOTEBOOK = """
import sys, nbformat
from nbclient import NotebookClient
path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
# Jupyter runs every cell; nbclient skips cells tagged skip-execution unless told otherwise.
NotebookClient(nb, timeout=600, kernel_name="python3", skip_cells_with_tag="none",
               resources={"metadata": {"path": sys.argv[2]}}).execute()
nbformat.write(nb, path)
"""


@pytest.mark.bare_venv
def test_chapter_1_runs_in_a_bare_virtualenv_through_its_install_cell(tmp_path):
    bare = tmp_path / "bare"
    venv.create(bare, with_pip=True)
    python = bare / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "ipykernel", "nbclient", "nbformat"],
        check=True,
        timeout=600,
    )
    # Run from tmp_path: from the checkout, `python -c` would import ./pgkit.
    found = subprocess.run([python, "-c", "import pgkit"], capture_output=True, cwd=tmp_path)
    assert found.returncode != 0, "the bare virtualenv must start without pgkit"

    chapter = tmp_path / "chapter"
    chapter.mkdir()
    notebook = chapter / "01_objective.ipynb"
    shutil.copy2(ROOT / "chapters" / notebook.name, notebook)
    env = {
        key: value
        for key, value in os.environ.items()
        # The kernel must be the bare virtualenv's own, not one registered by the book's .venv.
        if key not in ("JUPYTER_PATH", "VIRTUAL_ENV", "PYTHONPATH")
    }
    env.update(
        PGKIT_INSTALL_SOURCE=str(_copy_of_the_checkout(tmp_path / "source")),
        # This machine has no internet: torch comes from pip's configured local indexes.
        PGKIT_TORCH_INDEX="",
        MPLBACKEND="Agg",
    )
    done = subprocess.run(
        [python, "-c", RUN_NOTEBOOK, str(notebook), str(chapter)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-4000:]

    cells = nbformat.read(notebook, as_version=4).cells
    install = next(cell for cell in cells if cell.get("id") == install_cell.CELL_ID)
    printed = "".join(out.get("text", "") for out in install.outputs)
    assert "Installing pgkit from" in printed, "the install cell did not install pgkit"
    errors = [out for cell in cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in errors if out.get("output_type") == "error"]
    installed = subprocess.run(
        [python, "-c", "import pgkit, torch; print(pgkit.__file__, torch.__version__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stderr
    assert str(bare) in installed.stdout and "+cpu" in installed.stdout, installed.stdout
