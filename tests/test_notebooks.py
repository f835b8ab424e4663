"""Static checks on the stored chapter notebooks (no kernel is started here).

The book renders the outputs stored in each notebook, so those outputs must be trustworthy: free of
errors, produced by one top-to-bottom run, and re-checked by nbval in CI through at least one
`nbval-check-output` cell (a cell tag). Every notebook must also be reachable from the table of contents and
must import pgkit as an installed package.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat
import pytest
from book_toc import load_toc, toc_files

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))
SYS_PATH_EDIT = re.compile(r"\bsys\.path\b|PYTHONPATH")


def _cells(path: Path) -> list:
    return nbformat.read(path, as_version=4).cells


def code_cells(path: Path) -> list:
    return [cell for cell in _cells(path) if cell.cell_type == "code"]


notebook_params = pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])


def test_toc_walker_finds_nested_entries():
    toc = {
        "root": "intro",
        "parts": [{"chapters": [{"file": "a", "sections": [{"file": "b"}]}]}],
        "chapters": [{"file": "c"}],
    }
    assert toc_files(toc) == ["intro", "a", "b", "c"]


def test_every_toc_entry_exists():
    missing = [
        entry
        for entry in toc_files(load_toc())
        if not any((ROOT / f"{entry}{suffix}").is_file() for suffix in (".md", ".ipynb"))
    ]
    assert not missing, f"_toc.yml lists files that do not exist: {missing}"


@notebook_params
def test_notebook_is_listed_in_toc(path):
    entry = path.relative_to(ROOT).with_suffix("").as_posix()
    assert entry in toc_files(load_toc()), f"add `- file: {entry}` to _toc.yml"


@notebook_params
def test_stored_outputs_contain_no_error(path):
    errors = [
        (index, output.get("ename"))
        for index, cell in enumerate(code_cells(path))
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    ]
    assert not errors, (
        f"{path.name}: code cells (index, exception) {errors} stored an error; "
        "fix them and run `make notebooks`"
    )


@notebook_params
def test_outputs_come_from_one_in_order_run(path):
    # Cells tagged skip-execution (the install cell, tools/install_cell.py) are stored unrun.
    counts = [
        cell.execution_count
        for cell in code_cells(path)
        if cell.source.strip() and "skip-execution" not in cell.metadata.get("tags", [])
    ]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts} are not 1, 2, 3, ...; "
        "re-run it from a fresh kernel with `make notebooks`"
    )


@notebook_params
def test_has_a_checked_output_cell(path):
    checked = [
        cell
        for cell in code_cells(path)
        if "nbval-check-output" in cell.metadata.get("tags", []) and cell.get("outputs")
    ]
    assert checked, (
        f"{path.name}: tag at least one code cell with a stored output `nbval-check-output` "
        "so CI compares it"
    )


# Test markers and formatter switches are for the tools, not the reader: markers are cell tags.
TOOL_COMMENT = re.compile(r"#\s*(NBVAL_[A-Z_]+|PYTEST_VALIDATE_\w+|fmt:\s*(skip|off|on))\b")


@notebook_params
def test_reader_code_carries_no_test_markers(path):
    found = [
        f"code cell {index}: {hit.group(0)!r}"
        for index, cell in enumerate(code_cells(path))
        for hit in TOOL_COMMENT.finditer(cell.source)
    ]
    assert not found, (
        f"{path.name}: {found}; use the cell tags nbval-check-output / nbval-ignore-output "
        "(nbval reads them) and no formatter comments"
    )


@notebook_params
def test_imports_pgkit_without_touching_sys_path(path):
    offending = [
        index for index, cell in enumerate(code_cells(path)) if SYS_PATH_EDIT.search(cell.source)
    ]
    assert not offending, (
        f"{path.name}: code cells {offending} edit sys.path or PYTHONPATH; "
        "pgkit is installed in the environment, import it directly"
    )


@notebook_params
def test_every_figure_has_alt_text_and_a_caption(path):
    cells = _cells(path)
    problems = []
    for index, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        if not any("image/png" in output.get("data", {}) for output in cell.get("outputs", [])):
            continue
        alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")
        if len(alt.split()) < 5:
            problems.append(f"cell {index}: no alt text (metadata mystnb.image.alt)")
        following = cells[index + 1] if index + 1 < len(cells) else None
        if following is None or not (
            following.cell_type == "markdown" and following.source.lstrip().startswith("**Figure")
        ):
            problems.append(f"cell {index}: not followed by a '**Figure N.k.** ...' caption cell")
    assert not problems, f"{path.name}: " + "; ".join(problems)


@notebook_params
def test_opens_with_a_recap_and_key_equations(path):
    cells = _cells(path)
    opening = "\n".join(cell.source for cell in cells[:3] if cell.cell_type == "markdown")
    assert "{doc}`" in cells[0].source, (
        f"{path.name}: the first cell should recap, with a {{doc}} link, what the chapter builds on"
    )
    assert "```{admonition} Key equations" in opening, (
        f"{path.name}: add a 'Key equations' admonition near the top"
    )


@notebook_params
def test_cells_have_ids(path):
    # The raw JSON: nbformat.read would quietly invent the missing ids.
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    missing = [index for index, cell in enumerate(cells) if "id" not in cell]
    assert not missing, f"{path.name}: cells {missing} have no id; run nbformat's normalize()"


@notebook_params
def test_figures_use_the_book_style(path):
    cells = code_cells(path)
    has_figures = any(
        "image/png" in output.get("data", {})
        for cell in cells
        for output in cell.get("outputs", [])
    )
    # The install cell (tagged skip-execution) comes first and does not import pgkit.
    taught = [cell for cell in cells if "skip-execution" not in cell.metadata.get("tags", [])]
    first = taught[0].source if taught else ""
    assert not has_figures or "pgkit.plotting.use_style()" in first, (
        f"{path.name}: call pgkit.plotting.use_style() in the first code cell so its figures "
        "share the book's colour-blind-safe style"
    )


# Calls whose first argument (or `seed=` keyword) seeds a random generator.
SEEDING_CALLS = {"manual_seed", "default_rng", "seed", "RandomState", "SeedSequence", "PCG64"}


def _is_fixed(node: ast.AST) -> bool:
    """True for an expression built from literals alone: 0, 1000 + 3, range(5), [0, 1, 2]."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int) and not isinstance(node.value, bool)
    if isinstance(node, ast.UnaryOp | ast.BinOp):
        return all(
            _is_fixed(child) for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr)
        )
    if isinstance(node, ast.Tuple | ast.List):
        return bool(node.elts) and all(_is_fixed(element) for element in node.elts)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id in {"range", "list", "tuple"} and all(map(_is_fixed, node.args))
    return False


def _seeded_functions() -> set[str]:
    """Names of pgkit's public functions whose ``seed`` has a default a call could fall back on."""
    import importlib
    import inspect

    import pgkit

    names = set()
    for module_name in pgkit._SUBMODULES:
        module = importlib.import_module(f"pgkit.{module_name}")
        for name, fn in vars(module).items():
            if name.startswith("_") or getattr(fn, "__module__", None) != module.__name__:
                continue
            try:
                parameter = inspect.signature(fn).parameters.get("seed")
            except (TypeError, ValueError):
                continue
            if parameter is not None and parameter.default is not inspect.Parameter.empty:
                names.add(name)
    return names


SEEDED_FUNCTIONS = _seeded_functions()


def literal_seeds(source: str) -> list[str]:
    """The seeds in ``source`` that bypass pgkit.seeds.book_seed, as ``line: code`` strings.

    A literal seed (``seed=0``, ``manual_seed(1)``, ``SEEDS = range(5)``) is one; so is a call
    of a seeded pgkit function that leaves ``seed`` to its default.
    """
    # IPython magics and shell escapes are not Python.
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    tree = ast.parse("\n".join(lines))
    found = []
    for node in ast.walk(tree):
        candidates = []
        if isinstance(node, ast.Call):
            candidates += [kw.value for kw in node.keywords if kw.arg in {"seed", "seeds"}]
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            passes_seed = any(kw.arg in {"seed", None} for kw in node.keywords)
            positional_seed = name == "make_vec_env" and len(node.args) >= 3
            # collect_episodes seeds only the envs it builds from an id; built envs carry theirs.
            built_envs = name == "collect_episodes" and not (
                node.args and isinstance(node.args[0], ast.Constant)
            )
            if name in SEEDED_FUNCTIONS and not (passes_seed or positional_seed or built_envs):
                found.append(f"{node.lineno}: {ast.unparse(node.func)}(...) without seed=")
            if name in SEEDING_CALLS and node.args:
                candidates.append(node.args[0])
            if name == "run_seeds" and len(node.args) > 1:
                candidates.append(node.args[1])
        elif isinstance(node, ast.Assign):
            if any(isinstance(t, ast.Name) and "seed" in t.id.lower() for t in node.targets):
                candidates.append(node.value)
        found += [f"{c.lineno}: {ast.unparse(c)}" for c in candidates if _is_fixed(c)]
    return sorted(found, key=lambda hit: int(hit.split(":")[0]))


def test_literal_seed_detector():
    assert literal_seeds("env.reset(seed=0)\ntorch.manual_seed(1)\nSEEDS = range(5)") == [
        "1: 0",
        "2: 1",
        "3: range(5)",
    ]
    assert literal_seeds("rng = np.random.default_rng(2 + 3)\nrun_seeds(f, [0, 1])") == [
        "1: 2 + 3",
        "2: [0, 1]",
    ]
    assert literal_seeds("pgkit.algos.ppo('CartPole-v1', total_steps=10)") == [
        "1: pgkit.algos.ppo(...) without seed="
    ]
    fine = (
        "%time x = 1\nenv.reset(seed=book_seed(0))\ntorch.manual_seed(seed)\n"
        "ppo('CartPole-v1', seed=seed)\nppo('CartPole-v1', **settings)\n"
        "SEEDS = book_seeds(5)\nrng = np.random.default_rng(seed + 1000)\nf(seed=None)"
    )
    assert literal_seeds(fine) == []


@notebook_params
def test_every_seed_goes_through_book_seed(path):
    problems = [
        f"code cell {index}, line {hit}"
        for index, cell in enumerate(code_cells(path))
        for hit in literal_seeds(cell.source)
    ]
    assert not problems, (
        f"{path.name}: literal seeds {problems}; write book_seed(k) / book_seeds(n) from "
        "pgkit.seeds so that PGKIT_SEED_OFFSET (make claims) moves them"
    )
