"""The whole-book PDF that `make pdf` writes (tools/book_pdf.py): every chapter and appendix, in
order, with its number, typeset math and the figures in place.

Run after `make pdf` (`make test` does both). tools/book_pdf.py itself refuses to print when an
equation, code line or table would run past the page edge.
"""

from __future__ import annotations

import re

import pytest
from book_toc import ROOT, load_toc, toc_files

pytestmark = pytest.mark.browser

PDF = ROOT / "_build" / "pdf" / "book.pdf"


def document_title(entry: str) -> str:
    """The first heading of a chapter notebook or Markdown page."""
    import nbformat

    path = ROOT / f"{entry}.ipynb"
    if path.is_file():
        text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    else:
        text = (ROOT / f"{entry}.md").read_text(encoding="utf-8")
    return next(line[2:].strip() for line in text.splitlines() if line.startswith("# "))


@pytest.fixture(scope="module")
def pdf():
    from pypdf import PdfReader

    assert PDF.is_file(), f"{PDF} is missing: run `make pdf` first"
    return PdfReader(PDF)


@pytest.fixture(scope="module")
def text(pdf) -> str:
    # Ligatures and line breaks differ from the source: compare on plain, single-spaced words.
    raw = "\n".join(page.extract_text() for page in pdf.pages)
    raw = raw.replace("\ufb00", "ff").replace("\ufb01", "fi").replace("\ufb02", "fl")
    return re.sub(r"\s+", " ", raw)


def test_the_pdf_has_the_whole_book(pdf):
    # The book runs to several hundred pages; a short PDF means a page failed to load.
    assert len(pdf.pages) > 200, f"only {len(pdf.pages)} pages"


def test_every_chapter_title_is_in_the_text_in_order_with_its_number(text):
    entries = toc_files(load_toc())[1:]
    # The book's table of contents comes first and lists every title; then each title opens its
    # own chapter, after the previous one.
    position = max(text.find(document_title(entry)) for entry in entries)
    for entry in entries:
        title = re.sub(r"\s+", " ", document_title(entry))
        numbered = re.match(r"chapters/(\d\d)_", entry)
        heading = f"{int(numbered[1])}. {title}" if numbered else title
        found = text.find(heading, position + 1)
        assert found > position, f"'{heading}' ({entry}) is missing or out of order in the PDF"
        position = found


def test_math_is_typeset_and_figures_are_in_place(pdf, text):
    import nbformat

    # Chapters and the API page alike (\theta is left out: matplotlib labels in printed code
    # cells use it, as they should).
    for tex in ("$$", "\\frac", "\\sum", ":math:"):
        assert tex not in text, f"raw TeX ({tex}) in the PDF: {text[text.find(tex) - 80 :][:160]}"
    figures = sum(
        "image/png" in output.get("data", {})
        for entry in toc_files(load_toc())
        if (ROOT / f"{entry}.ipynb").is_file()
        for cell in nbformat.read(ROOT / f"{entry}.ipynb", as_version=4).cells
        for output in cell.get("outputs", [])
    )
    images = sum(len(page.images) for page in pdf.pages)
    assert images >= figures, f"{images} images in the PDF, {figures} figures in the chapters"
