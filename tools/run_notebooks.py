"""Re-execute chapter notebooks in place, each top to bottom in a fresh kernel.

Used by `make notebooks`. Each notebook runs with its own folder as the working directory (as
nbval and JupyterLab do), so the stored outputs come from one in-order run: execution counts
1, 2, 3, ... An error stops that notebook, leaves its file untouched, and makes the command fail.

    python tools/run_notebooks.py [--timeout SECONDS] chapters/*.ipynb

The default timeout per cell is the book's (`execute: timeout` in _config.yml).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from notebook_exec import cell_timeout, execute


def execute_in_place(path: Path, timeout: int) -> float:
    """Execute the notebook at `path` in a fresh kernel and overwrite it; return seconds taken."""
    nb = nbformat.read(path, as_version=4)
    seconds = execute(nb, path.parent, timeout)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to execute in place")
    parser.add_argument(
        "--timeout", type=int, default=cell_timeout(), help="seconds allowed per cell"
    )
    args = parser.parse_args(argv)

    notebooks = [p for p in args.notebooks if p.suffix == ".ipynb" and p.is_file()]
    if not notebooks:
        print("run_notebooks: no notebooks to execute")
        return 0
    failed = []
    for path in notebooks:
        print(f"executing {path} ...", flush=True)
        try:
            seconds = execute_in_place(path, args.timeout)
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
            print(f"FAILED {path}: the file is left as it was.\n{error}", file=sys.stderr)
            failed.append(path)
            continue
        print(f"  done in {seconds:.1f} s", flush=True)
    if failed:
        print(f"{len(failed)} notebook(s) failed: {', '.join(map(str, failed))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
