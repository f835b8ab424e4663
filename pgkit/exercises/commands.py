"""The ``workbook``, ``check`` and ``exercises`` commands of ``python -m pgkit``.

``workbook`` writes the self-study workbook (:mod:`pgkit.exercises.workbook`); ``check``
runs one exercise's checker on a function in the reader's own ``.py`` file; ``exercises``
lists every exercise, with the reader's status when given a solutions file.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import sys
from pathlib import Path
from typing import Any

from pgkit.exercises.workbook import write_workbook


def workbook_command(args: argparse.Namespace) -> int:
    """``python -m pgkit workbook``: write the workbook and print what it did.

    Runs :func:`pgkit.exercises.workbook.write_workbook`.

    Parameters
    ----------
    args : argparse.Namespace
        The command line's ``chapters``, ``out`` and ``force``.

    Returns
    -------
    int
        The exit status: 0, or 1 when a chapter could not be read (it is named on stderr,
        and every other chapter is still written).
    """
    report = write_workbook(args.chapters, args.out, force=args.force)
    for path in report["written"]:
        print(f"wrote {path}")
    for path in report["kept"]:
        print(f"kept  {path} (you changed it; --force overwrites)")
    for path in report["unreadable"]:
        print(f"skipped {path}: not a readable notebook; rename or remove it to get a fresh copy")
    for path, reason in report["bad_chapters"].items():
        print(
            f"error: chapter {path} could not be read: {reason}; fix it or move it out of "
            f"{args.chapters}/ (its workbook notebook, if any, is unchanged)",
            file=sys.stderr,
        )
    bad = len(report["bad_chapters"])
    print(
        f"{len(report['written'])} written, {len(report['kept'])} kept, "
        f"{len(report['unreadable'])} unreadable in {args.out}/"
        + (f"; {bad} chapter{'s' * (bad > 1)} could not be read" if bad else "")
    )
    return 1 if bad else 0


def load_function(target: str, names: tuple[str, ...] = ()) -> Any:
    """Load ``FILE.py:NAME`` and return the function ``NAME`` defined in that file.

    A bare ``FILE.py`` takes the first of ``names`` that the file defines (an exercise's own
    name, then the name its chapter uses).

    Parameters
    ----------
    target : str
        ``FILE.py:NAME``, or ``FILE.py``.
    names : tuple of str
        The names to try for a bare ``FILE.py``.

    Returns
    -------
    callable
        The function.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When ``target`` is malformed, the file is not a ``.py`` file, fails to run or
        defines no such function.
    """
    file, sep, name = target.rpartition(":")
    if not sep and target.endswith(".py") and names:
        module = _load_module(Path(target))
        found = _find_function(module, names)
        if found is None:
            raise ValueError(f"{target} defines no function named {' or '.join(map(repr, names))}")
        return found[1]
    if not sep or not file or not name:
        raise ValueError(f"expected FILE.py:FUNCTION (e.g. my_solutions.py:gae), got {target!r}")
    module = _load_module(Path(file))
    if not callable(getattr(module, name, None)):
        raise ValueError(f"{file} defines no function named {name!r}")
    return getattr(module, name)


def _find_function(module: Any, names: tuple[str, ...]) -> tuple[str, Any] | None:
    """The first of ``names`` that ``module`` defines as a function, with the function.

    A function the file only imports (``from pgkit.returns import gae`` beside ``my_gae``) is
    pgkit's answer, not the reader's, so it is passed over.
    """
    for name in names:
        fn = getattr(module, name, None)
        if callable(fn) and getattr(fn, "__module__", None) == module.__name__:
            return name, fn
    return None


def _load_module(path: Path) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    if path.suffix != ".py":
        raise ValueError(
            f"{path} is not a .py file. To check a function written in a notebook, call its "
            "checker there (from pgkit.exercises import check_gae; check_gae(my_gae)), or put "
            "the function in a .py file (JupyterLab: File > Save and Export Notebook As > "
            "Executable Script)"
        )
    spec = importlib.util.spec_from_file_location(f"_pgkit_solutions_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    with _import_path(path), _no_hard_exit(path):
        try:
            spec.loader.exec_module(module)
        except _HardExit as e:
            raise ValueError(f"{path} called os._exit({e.args[0]!r}) while it was imported") from e
        except SystemExit as e:
            raise ValueError(f"{path} called sys.exit({e.code!r}) while it was imported") from e
        except Exception as e:
            raise ValueError(f"{path} failed to run: {type(e).__name__}: {e}") from e
    return module


class _HardExit(BaseException):
    """os._exit called by the reader's file while it is imported."""


@contextlib.contextmanager
def _no_hard_exit(file: Path):
    """While the reader's file is imported here, os._exit fails loudly instead of ending
    ``check`` with exit code 0 and no verdict (its functions run in a child process)."""

    def refuse(code: int) -> None:
        raise _HardExit(code)

    hard_exit, os._exit = os._exit, refuse
    try:
        yield
    finally:
        os._exit = hard_exit


@contextlib.contextmanager
def _import_path(file: Path):
    """As `python FILE.py` would: the file's own folder first on the import path, so that a
    helper module beside it imports, also from inside a function while a checker runs it."""
    folder = str(file.resolve().parent)
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        sys.path.remove(folder)


def _exercise(name: str) -> Any:
    from pgkit.exercises import EXERCISES

    for exercise in EXERCISES.values():
        if name in exercise.names:  # the chapter's name (my_gae) works too
            return exercise
    raise ValueError(f"unknown exercise {name!r}; choose one of: {', '.join(EXERCISES)}")


def check_command(args: argparse.Namespace) -> int:
    """``python -m pgkit check``: run an exercise's checker on the reader's function.

    The checker runs the function in a child process (see :mod:`pgkit.exercises`), so a
    function that ends the process or never returns gets a failing verdict, not a pass.

    Parameters
    ----------
    args : argparse.Namespace
        The command line's ``exercise`` (its name or the chapter's name for it) and
        ``target`` (``FILE.py:NAME`` or ``FILE.py``, as in :func:`load_function`).

    Returns
    -------
    int
        The exit status: 0 when the checker passed, else 1.
    """
    exercise = _exercise(args.exercise)
    file, sep, _ = args.target.rpartition(":")
    with _import_path(Path(file if sep else args.target)):
        fn = load_function(args.target, exercise.names)
        return 0 if exercise.checker(fn) else 1


def exercises_command(args: argparse.Namespace) -> int:
    """``python -m pgkit exercises``: print every exercise with its chapter and signature.

    With ``--solutions FILE.py`` each row also says whether the file's function for that
    exercise passes its checker, fails it, or is not started.

    Parameters
    ----------
    args : argparse.Namespace
        The command line's ``solutions``, a ``.py`` file or None.

    Returns
    -------
    int
        The exit status, 0.
    """
    from pgkit.exercises import EXERCISES

    solutions = Path(args.solutions) if args.solutions else None
    with _import_path(solutions) if solutions else contextlib.nullcontext():
        module = _load_module(solutions) if solutions else None
        # Columns as wide as the longest name (and at least as wide as they always were).
        wide = max(24, *(len(name) + 1 for name in EXERCISES))
        wide_chapter = max(26, *(len(e.chapter_name) + 2 for e in EXERCISES.values()))
        print(
            f"{'exercise':<{wide}}{'chapter':>8}  {'in the chapter':<{wide_chapter}}"
            f"{'status':<14}signature"
        )
        for name, exercise in EXERCISES.items():
            status = ""
            if module is not None:
                found = _find_function(module, exercise.names)
                if found is None:
                    status = "not started"
                else:
                    with contextlib.redirect_stdout(io.StringIO()):
                        status = "passed" if exercise.checker(found[1]) else "failing"
            print(
                f"{name:<{wide}}{exercise.chapter:>8}  {exercise.chapter_name:<{wide_chapter}}"
                f"{status:<14}"
                f"{exercise.signature}"
            )
    if module is None:
        print(
            "\nAdd --solutions FILE.py to see which of your functions pass; name each as in the "
            "first column or as in the chapter."
        )
    return 0
