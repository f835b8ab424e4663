"""Print the whole book, preface to bibliography, to one PDF with headless Chromium.

`make pdf` builds the book as one HTML page (`jupyter-book build --builder singlehtml`, in
_build/singlehtml) and runs this script, which writes _build/pdf/book.pdf:

1. serves that page on 127.0.0.1 (nothing is fetched from the network) and waits for MathJax;
2. opens every folded solution and hidden cell, so the PDF holds everything the site does;
3. starts each chapter on a new page, after the book's own linked table of contents (chapter
   titles keep their numbers, "3. REINFORCE");
4. lays the page out as it will be printed (print media, the A4 text width) and refuses to print
   when a display equation, code line or table would run past the page edge, naming each one;
5. prints A4 pages with page numbers and PDF bookmarks for the headings (Page.printToPDF).

    python tools/book_pdf.py [--html _build/singlehtml] [--out _build/pdf/book.pdf]
"""

from __future__ import annotations

import argparse
import base64
import sys
import tempfile
from pathlib import Path

from chromium import PAGE_TIMEOUT_S, WAIT_FOR_MATHJAX_JS, chromium, serve
from toc import ROOT, load_toc, toc_files

# A4 with 15 mm margins, in CSS pixels (96 per inch): the width the printed text column gets.
PAPER_IN = (8.27, 11.69)
MARGIN_IN = 0.59
# Printed at 88%: the page is laid out 773 px wide, a little wider than the site's 745 px text
# column, so every equation that fits the site fits the page; the text prints at about 10.5 pt.
PRINT_SCALE = 0.88
PRINT_WIDTH_PX = round((PAPER_IN[0] - 2 * MARGIN_IN) * 96 / PRINT_SCALE)

PREPARE_JS = r"""
const docs = arguments[0];
for (const d of document.querySelectorAll('details')) d.open = true;
for (const e of document.querySelectorAll('.toggle-hidden')) e.classList.remove('toggle-hidden');
for (const e of document.querySelectorAll('.toggle-details__container')) e.style.display = 'block';
// The first heading after each document's anchor is its title.
const entries = [];
for (const doc of docs) {
  const anchor = document.getElementById('document-' + doc);
  if (!anchor) continue;
  let heading = null;
  for (let e = anchor; e && !heading; e = e.nextElementSibling) {
    heading = e.matches('h1, h2') ? e : e.querySelector('h1, h2');
  }
  if (!heading) continue;
  const section = heading.closest('section');
  if (section) section.style.breakBefore = 'page';
  const title = heading.cloneNode(true);
  for (const link of title.querySelectorAll('a.headerlink')) link.remove();
  entries.push([section ? section.id : heading.id, title.textContent.trim()]);
}
return entries.map((e) => e[1]);
"""

# What would run past the printed page: measured with print media at the printed width.
CUT_JS = r"""
const article = document.querySelector('article') || document.body;
const box = article.getBoundingClientRect();
// Typeset math has no text of its own: name it by its equation number or its MathML.
const name = (e) => {
  const math = e.closest('div.math');
  const label = math && math.querySelector('.eqno');
  const text = label ? label.textContent : (e.closest('mjx-container') || e).textContent;
  return text.trim().replace(/\s+/g, ' ').slice(0, 60);
};
const cut = [];
for (const e of article.querySelectorAll('mjx-container[display="true"] > mjx-math, pre, table, img')) {
  const r = e.getBoundingClientRect();
  if (r.width > 0 && (r.right > box.right + 1 || r.left < box.left - 1)) {
    const section = e.closest('section[id]');
    cut.push(`${name(e) || e.tagName} (in #${section ? section.id : '?'})`);
  }
}
return cut;
"""


def toc_documents() -> list[str]:
    """Every file of _toc.yml after the root, in reading order."""
    return toc_files(load_toc())[1:]


def print_book(html: Path, out: Path) -> tuple[int, list[str]]:
    """Write the PDF of the single-page book in `html` to `out`; return its size and titles."""
    page = html / f"{load_toc()['root']}.html"
    if not page.is_file():
        raise FileNotFoundError(f"{page} is missing: build it with `make pdf`")
    with serve(html) as base, chromium(PRINT_WIDTH_PX, 1000) as browser:
        browser.set_page_load_timeout(4 * PAGE_TIMEOUT_S)
        browser.set_script_timeout(4 * PAGE_TIMEOUT_S)
        browser.get(base + page.name)
        state = browser.execute_async_script(WAIT_FOR_MATHJAX_JS)
        if state != "typeset":
            raise RuntimeError(f"MathJax did not typeset the book ({state})")
        titles = browser.execute_script(PREPARE_JS, toc_documents())
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        cut = browser.execute_script(CUT_JS)
        if cut:
            listed = "\n  ".join(cut)
            raise RuntimeError(f"{len(cut)} elements would run past the page edge:\n  {listed}")
        pdf = browser.execute_cdp_cmd(
            "Page.printToPDF",
            {
                "paperWidth": PAPER_IN[0],
                "paperHeight": PAPER_IN[1],
                **{f"margin{side}": MARGIN_IN for side in ("Top", "Bottom", "Left", "Right")},
                "scale": PRINT_SCALE,
                "printBackground": True,
                "displayHeaderFooter": True,
                "headerTemplate": "<span></span>",
                "footerTemplate": (
                    '<div style="font-size: 8px; width: 100%; text-align: center;">'
                    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
                ),
                "generateDocumentOutline": True,
            },
        )
    data = base64.b64decode(pdf["data"])
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed into place: an interrupted run never leaves half a PDF.
    with tempfile.NamedTemporaryFile(dir=out.parent, suffix=".pdf", delete=False) as handle:
        handle.write(data)
    Path(handle.name).chmod(0o644)
    Path(handle.name).replace(out)
    return len(data), titles


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "singlehtml")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "pdf" / "book.pdf")
    args = parser.parse_args(argv)
    try:
        size, titles = print_book(args.html, args.out)
    except (FileNotFoundError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"PDF: {args.out} ({size / 1e6:.1f} MB, {len(titles)} chapters and appendices)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
