"""The book's table of contents for the tests: tools/toc.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

from toc import ROOT, load_toc, toc_files  # noqa: E402

__all__ = ["ROOT", "load_toc", "toc_files"]
