"""Reading the book's table of contents (_toc.yml): shared by `make pdf` and the tests."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_files(toc: dict) -> list[str]:
    """Every `file:` entry in a jb-book table of contents, root included, in order."""
    found = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                found.append(entry["file"])
            for key in ("parts", "chapters", "sections"):
                walk(entry.get(key, []))

    walk([toc])
    return found


def load_toc() -> dict:
    with open(ROOT / "_toc.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)
