"""The one notebook runner behind `make notebooks` and `make bench` (tools/notebook_exec.py)."""

import subprocess
import sys
from pathlib import Path

import nbformat
import yaml
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from notebook_exec import cell_timeout, execute  # noqa: E402
from run_notebooks import main as run_notebooks  # noqa: E402


def test_the_cell_timeout_is_the_books():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert cell_timeout() == config["execute"]["timeout"]
    shown = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "notebook_exec.py"), "--cell-timeout"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == str(config["execute"]["timeout"])


def test_execute_runs_in_order_in_the_folder_and_skips_the_install_cell(tmp_path):
    (tmp_path / "data.txt").write_text("from the notebook's folder")
    install = new_code_cell("raise SystemExit('the install cell must not run here')")
    install.metadata["tags"] = ["skip-execution"]
    nb = new_notebook(
        cells=[install, new_code_cell("x = open('data.txt').read()"), new_code_cell("print(x)")]
    )
    seconds = execute(nb, tmp_path, timeout=60)
    assert seconds > 0
    assert [cell.get("execution_count") for cell in nb.cells] == [None, 1, 2]
    assert nb.cells[2].outputs[0]["text"] == "from the notebook's folder\n"
    assert "execution" not in nb.cells[1].metadata  # no per-cell timestamps in the diffs


def test_a_failing_notebook_is_left_as_it_was(tmp_path, capsys):
    path = tmp_path / "broken.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("1 / 0")]), path)
    before = path.read_bytes()
    assert run_notebooks([str(path), "--timeout", "60"]) == 1
    assert path.read_bytes() == before
    assert "ZeroDivisionError" in capsys.readouterr().err
