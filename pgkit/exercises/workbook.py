"""Self-study: the workbook generator.

``python -m pgkit workbook`` copies every chapter into ``workbook/`` with each exercise's
solution replaced by a stub: the function's signature and docstring, a body that raises
``NotImplementedError``, and the checker call. Run a workbook notebook top to bottom and
it stops at the first exercise you have not solved, with a message saying what to write.

A chapter's solutions follow two rules, which :func:`workbook_cells` enforces: each
exercise's solution (between ``{solution-start}`` and ``{solution-end}``) has exactly one
code cell, and that cell defines the function and calls its ``pgkit.exercises`` checker.

A workbook notebook you have edited is never overwritten: each generated notebook records
a fingerprint of everything in it (cells, outputs, tags, the notebook's metadata and format
fields), and only notebooks that still match it are refreshed (``--force`` overwrites
everything). A chapter that cannot be read (not JSON, not a notebook, a solution that is not
valid Python) is reported by name and skipped; the other chapters are still written, and the
command then exits with status 1. The commands themselves are in
:mod:`pgkit.exercises.commands`.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from pgkit.files import write_atomically

SOLUTION_START = re.compile(r"```\{solution-start\}\s*(?P<label>\S+)[^`]*?```", re.DOTALL)
SOLUTION_END = re.compile(r"```\{solution-end\}\s*```")
# A pen-and-paper solution written as one directive, ```{solution} label ... ``` (or with :::).
SOLUTION_BLOCK = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{solution\}[^\n]*\n.*?^(?P=fence)[ \t]*$\n?", re.M | re.S
)


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


# The notebook-level metadata key under which a workbook notebook records its fingerprint.
FINGERPRINT_KEY = "pgkit_workbook"
# Fingerprints of the whole notebook carry this prefix; a bare 64-digit hash was written by
# earlier versions and covers the cells only (see _state).
FINGERPRINT_PREFIX = "notebook-sha256:"
LEGACY_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


def _sha256(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _without_fingerprint(notebook: dict[str, Any]) -> dict[str, Any]:
    """The notebook with its metadata always present and the fingerprint taken out of it.

    The fingerprint cannot cover itself, and a notebook written without metadata gets some
    (holding only the fingerprint), so both are normalised away before comparing.
    """
    metadata = {k: v for k, v in notebook.get("metadata", {}).items() if k != FINGERPRINT_KEY}
    return {**notebook, "metadata": metadata}


def _fingerprint(notebook: dict[str, Any]) -> str:
    """A hash of everything in the notebook as written, except the fingerprint itself.

    Cells (sources, outputs, tags, metadata), the notebook's metadata and its ``nbformat``
    fields are all covered: any change the reader makes, running a cell included, changes
    it, so the notebook is then treated as the reader's and kept. Key order and whitespace
    are not covered, so a file re-indented by an editor still counts as unchanged.
    """
    return FINGERPRINT_PREFIX + _sha256(_without_fingerprint(notebook))


def stub_source(solution: str, label: str) -> str:
    """The workbook cell that replaces one solution cell.

    Keeps the solution's imports and the signature and docstring of each function it
    defines, replaces every function body by ``raise NotImplementedError``, and ends with
    the solution's checker calls, each turned into a check that stops the notebook with a
    clear message while the function is unsolved. The rest of the solution (the worked
    answer) is left for the reader.

    Parameters
    ----------
    solution : str
        The source of the solution code cell.
    label : str
        The exercise's label, named in the stub's messages.

    Returns
    -------
    str
        The stub cell's source.

    Raises
    ------
    ValueError
        When the solution defines no function or calls no ``check_`` function.
    """
    tree = ast.parse(solution)
    lines = [f"# Exercise {label}: implement the function below, then run this cell."]
    names = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            lines.append(ast.get_source_segment(solution, node))
        elif isinstance(node, ast.FunctionDef):
            names.append(node.name)
            signature = ast.get_source_segment(solution, node).split("\n")
            header_end = node.body[0].lineno - node.lineno
            if ast.get_docstring(node) is not None:
                header_end = node.body[0].end_lineno - node.lineno + 1
            lines += ["", *signature[:header_end]]
            lines.append(
                f"    raise NotImplementedError("
                f'"{node.name} is yours to write: see exercise {label} above")'
            )
    if not names:
        raise ValueError(f"the solution of exercise {label} defines no function to stub")
    checks = [
        ast.get_source_segment(solution, call)
        for call in ast.walk(tree)
        if isinstance(call, ast.Call)
        and getattr(call.func, "attr", getattr(call.func, "id", "")).startswith("check_")
    ]
    if not checks:
        raise ValueError(f"the solution of exercise {label} calls no pgkit checker")
    for check in checks:
        lines += [
            "",
            "",
            f"if not {check}:",
            f"    raise RuntimeError(\"exercise {label} is not solved yet: the checker's verdict "
            'above says what to fix")',
        ]
    return "\n".join(lines) + "\n"


def workbook_cells(notebook: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Turn a chapter's cells into workbook cells; also return ``{label: solution source}``.

    Parameters
    ----------
    notebook : dict
        The chapter notebook, as read from its JSON.

    Returns
    -------
    cells : list of dict
        The workbook's cells: prose without the solutions, each solution code cell replaced
        by its :func:`stub_source`.
    solutions : dict
        ``{label: solution source}``.

    Raises
    ------
    ValueError
        When an exercise has more than one solution code cell, or a solution is not valid
        Python or cannot be stubbed (see :func:`stub_source`).
    """
    cells: list[dict[str, Any]] = []
    solutions: dict[str, str] = {}
    label = None
    for index, cell in enumerate(notebook["cells"]):
        text = _source(cell)
        cell_id = cell.get("id", f"cell-{index}")
        if cell["cell_type"] == "markdown":
            # Prose between {solution-start} and {solution-end} is part of the answer (a written
            # explanation after the solution's code), and so is a {solution} directive: the
            # workbook keeps neither.
            if label is not None:
                end = SOLUTION_END.search(text)
                text, label = (text[end.end() :], None) if end else ("", label)
            start = SOLUTION_START.search(text)
            if start:
                label = start.group("label")
                rest = text[start.end() :]
                end = SOLUTION_END.search(rest)
                text = text[: start.start()] + (rest[end.end() :] if end else "")
                if end:
                    label = None
            text = SOLUTION_BLOCK.sub("", text).strip()
            if text:
                cells.append(
                    {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": text}
                )
        elif label is not None:
            if label in solutions:
                raise ValueError(f"exercise {label} has more than one solution code cell")
            solutions[label] = text
            try:
                stub = stub_source(text, label)
            except SyntaxError as error:
                raise ValueError(
                    f"the solution of exercise {label} is not valid Python "
                    f"(line {error.lineno}: {error.msg})"
                ) from None
            cells.append(_code_cell(cell_id, stub, {"pgkit_stub": label}))
        else:
            cells.append(_code_cell(cell_id, text, cell.get("metadata", {})))
    return cells, solutions


def _code_cell(cell_id: str, source: str, metadata: dict[str, Any]) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "id": cell_id,
        "execution_count": None,
        "metadata": dict(metadata),
        "outputs": [],
        "source": source,
    }


def write_workbook(
    chapters: str | Path = "chapters", out: str | Path = "workbook", *, force: bool = False
) -> dict[str, Any]:
    """Write a workbook copy of every chapter notebook into ``out``.

    Each notebook is written to a temporary file and renamed into place, so an interruption
    never leaves a half-written one. A chapter that cannot be read is skipped and its
    workbook notebook, if there is one, is left as it is; the other chapters are written.

    Parameters
    ----------
    chapters : str or Path
        The folder of chapter notebooks (``*.ipynb``).
    out : str or Path
        The workbook folder, created if missing.
    force : bool
        Overwrite notebooks the reader changed too.

    Returns
    -------
    dict
        ``{"written": [...], "kept": [...], "unreadable": [...], "bad_chapters": {...}}``:
        notebooks (re)generated; notebooks left alone because the reader changed them in
        any way (cells, outputs, tags, notebook metadata, format fields), unless ``force``;
        files in ``out`` that are not readable notebooks, which are never overwritten, even
        with ``force``; and ``{chapter path: reason}`` for each chapter that could not be
        read.

    Raises
    ------
    FileNotFoundError
        When ``chapters`` holds no notebook.
    """
    chapters, out = Path(chapters), Path(out)
    notebooks = sorted(chapters.glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no chapter notebooks in {chapters}/; run from the book's folder")
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"written": [], "kept": [], "unreadable": [], "bad_chapters": {}}
    for path in notebooks:
        try:
            chapter = _read_chapter(path)
            cells, _ = workbook_cells(chapter)
        except ValueError as error:
            report["bad_chapters"][path] = str(error)
            continue
        target = out / path.name
        if target.exists():
            state = _state(target, chapter)
            if state == "unreadable":
                report["unreadable"].append(target)
                continue
            if state == "edited" and not force:
                report["kept"].append(target)
                continue
        workbook = {**chapter, "cells": cells, "metadata": dict(chapter.get("metadata", {}))}
        workbook["metadata"][FINGERPRINT_KEY] = _fingerprint(workbook)
        write_atomically(target, json.dumps(workbook, indent=1, ensure_ascii=False) + "\n")
        report["written"].append(target)
    return report


def _read_chapter(path: Path) -> dict[str, Any]:
    """Read a chapter notebook, or raise ValueError saying why it is not one.

    Only the structure the workbook relies on is checked (an object whose ``cells`` are
    objects with a ``cell_type`` and string sources), so that any chapter Jupyter can open
    gets through and anything else fails here with a reason rather than deep inside.
    """
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error})") from None
    except OSError as error:
        raise ValueError(f"cannot be read ({error.strerror or error})") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ValueError('not a notebook: it has no "cells" list')
    if not isinstance(notebook.get("metadata", {}), dict):
        raise ValueError('not a notebook: its "metadata" is not an object')
    for index, cell in enumerate(notebook["cells"]):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise ValueError(f'not a notebook: cell {index} has no "cell_type"')
        source = cell.get("source", "")
        if not (
            isinstance(source, str)
            or isinstance(source, list)
            and all(isinstance(line, str) for line in source)
        ):
            raise ValueError(f'not a notebook: the "source" of cell {index} is not text')
        if not isinstance(cell.get("metadata", {}), dict):
            raise ValueError(f'not a notebook: the "metadata" of cell {index} is not an object')
    return notebook


def _state(path: Path, chapter: dict[str, Any]) -> str:
    """'unchanged' (as the workbook wrote it), 'edited' by the reader, or 'unreadable'.

    ``chapter`` is the chapter ``path`` was made from; it is needed only for notebooks
    written by earlier versions, whose fingerprint covers the cells alone. Such a notebook
    counts as unchanged only if its cells match that fingerprint and everything else in it
    is what this chapter gives now; otherwise it is kept, since a change to its metadata
    cannot be told apart from the reader's.
    """
    try:
        notebook = json.loads(path.read_text())
        cells = notebook["cells"]
        stored = notebook.get("metadata", {}).get(FINGERPRINT_KEY)
        if not isinstance(cells, list):
            raise TypeError("cells is not a list")
        rest = _without_fingerprint(notebook)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError):
        return "unreadable"
    if isinstance(stored, str) and LEGACY_FINGERPRINT.fullmatch(stored):
        beside_cells = {k: v for k, v in rest.items() if k != "cells"}
        from_chapter = {k: v for k, v in _without_fingerprint(chapter).items() if k != "cells"}
        unchanged = stored == _sha256(cells) and beside_cells == from_chapter
    else:
        unchanged = stored == FINGERPRINT_PREFIX + _sha256(rest)
    return "unchanged" if unchanged else "edited"
