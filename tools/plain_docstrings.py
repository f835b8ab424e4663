"""Sphinx extension: show pgkit's docstrings as they read in `help()`, with their math typeset.

pgkit's docstrings are written for the reader of the source and of `help()`: aligned
"name: meaning" lines and ASCII shapes, not reStructuredText. Parsed as reST they produce
layout warnings (and the book builds with warnings as errors), so each docstring is shown as a
preformatted block, except for its ``.. math::`` blocks, which stay reST so MathJax typesets them.
Cross-reference roles such as :func:`gae` are reduced to their target name.
"""

from __future__ import annotations

import re

ROLE = re.compile(r":[a-z]+:`~?([^`<]+?)(?:\s*<[^>]+>)?`")


def preformatted(lines: list[str]) -> list[str]:
    """The docstring ``lines`` as literal blocks, keeping top-level ``.. math::`` blocks."""
    out: list[str] = []
    text: list[str] = []

    def flush() -> None:
        while text and not text[-1].strip():
            text.pop()
        while text and not text[0].strip():
            text.pop(0)
        if text:
            out.extend(["::", ""])
            out.extend("    " + ROLE.sub(r"\1", line) if line.strip() else "" for line in text)
            out.append("")
        text.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(".. math::"):
            flush()
            out.append(line)
            i += 1
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
                out.append(lines[i])
                i += 1
            out.append("")
            continue
        text.append(line)
        i += 1
    flush()
    return out


def _process(app, what, name, obj, options, lines: list[str]) -> None:
    lines[:] = preformatted(lines)


def setup(app):
    app.connect("autodoc-process-docstring", _process)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
