"""Writing a file so that an interruption never leaves half of it.

The workbook's notebooks and a sweep's job files and tables are rewritten while a reader or
a running sweep may stop at any moment; each is written beside its target and renamed over
it, which on one file system replaces the old file with the whole new one or not at all.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a hidden ``.NAME.partial`` file and a rename."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)
