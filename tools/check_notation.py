"""Find notation drift: places where a chapter departs from the preface's notation table.

The preface (intro.md) fixes the symbols: actions are a (not u), rewards r_t (R is a return),
conditional probabilities use \\mid, values carry their policy as a superscript (V^pi), the old
policy is theta_old written \\theta_\\text{old}, and code spells lambda `lam`. This script greps the
Markdown of intro.md, the chapter notebooks and the chapters' .md pages, pgkit's docstrings (the
API page) and the code cells of the notebooks, for the departures it can recognise, and prints one
line per finding.

    python tools/check_notation.py            # exit status 1 when anything is found
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (pattern, what is wrong and what to write instead); applied to Markdown/math text.
MATH_RULES = [
    (re.compile(r"(?<![A-Za-z\\])u_(?:t|\{t)"), "action written u_t: the book writes a_t"),
    (
        re.compile(r"(?<![A-Za-z\\{])R_(?:t\b|\{t)"),
        "reward written R_t: rewards are r_t, R(tau) is a return",
    ),
    (re.compile(r"\\pi_?\\?[a-z]*\s*\(\s*a_?\w*\s*\|"), "bare | in pi(a | s): write \\mid"),
    (
        re.compile(r"(?<![A-Za-z\\])[VQA]_(?:\\pi|\{\\pi\})"),
        "V_pi / Q_pi / A_pi: write V^\\pi, Q^\\pi, A^\\pi",
    ),
    (re.compile(r"\\theta_\{?old\}?"), "theta_old without \\text: write \\theta_\\text{old}"),
]
# Applied to code cells.
CODE_RULES = [
    (
        re.compile(r"\b(?:lmbda|lambda_|gae_lambda)\s*="),
        "lambda spelled differently: pgkit uses `lam`",
    ),
    (
        re.compile(r"\b\w*_buf\b|\bbuf\b"),
        "buffer-style name: use the reader's names (returns, advantages)",
    ),
]
CODE_SPAN = re.compile(r"`[^`\n]*`")
DOCUMENTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _notebook_cells(path: Path) -> list[tuple[str, str]]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [
        (c["cell_type"], "".join(c["source"]) if isinstance(c["source"], list) else c["source"])
        for c in cells
    ]


def sources() -> list[tuple[Path, str, str]]:
    """(file, cell type, text) for everything the check reads."""
    found = [(ROOT / "intro.md", "markdown", (ROOT / "intro.md").read_text(encoding="utf-8"))]
    for path in sorted((ROOT / "chapters").glob("*.md")):
        found.append((path, "markdown", path.read_text(encoding="utf-8")))
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        found += [(path, kind, text) for kind, text in _notebook_cells(path)]
    # pgkit's docstrings are the API page: the same notation as the chapters
    for path in sorted((ROOT / "pgkit").rglob("*.py")):
        found += [(path, "markdown", doc) for doc in _docstrings(path)]
    return found


def _docstrings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = [tree, *(n for n in ast.walk(tree) if isinstance(n, DOCUMENTED))]
    return [doc for doc in (ast.get_docstring(n, clean=False) for n in nodes) if doc]


def findings(kind: str, text: str) -> list[str]:
    """What drifts in one cell of type ``kind`` ('markdown' or 'code')."""
    if kind == "markdown":
        # Inline code is code: `gae_lambda` in prose names another library's argument.
        rules, text = MATH_RULES, CODE_SPAN.sub("", text)
    elif kind == "code":
        rules = CODE_RULES
    else:
        return []
    out = []
    for line in text.splitlines():
        for pattern, message in rules:
            match = pattern.search(line)
            if match:
                out.append(f"{message}: ...{match.group(0)}...")
    return out


def main() -> int:
    problems = [
        f"{path.relative_to(ROOT)}: {finding}"
        for path, kind, text in sources()
        for finding in findings(kind, text)
    ]
    print("\n".join(problems) if problems else "notation: no drift found")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
