"""Sphinx extension: offer the whole-book PDF in every page's download menu.

`make pdf` writes _build/pdf/book.pdf (tools/book_pdf.py). When that file exists as the HTML
book is built, it is copied to the site's root as book.pdf and each page's download menu gets a
"book.pdf" entry beside the page's own .ipynb, source and print-to-PDF entries. Without it the
menu is unchanged, so no page ever links to a missing file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

PDF_NAME = "book.pdf"


def _built_pdf(app) -> Path:
    return Path(app.srcdir) / "_build" / "pdf" / PDF_NAME


def _add_menu_entry(app, pagename, templatename, context, doctree) -> None:
    if app.builder.name != "html" or not _built_pdf(app).is_file():
        return
    for button in context.get("header_buttons", []):
        if button.get("label") == "download-buttons":
            button["buttons"].append(
                {
                    "type": "link",
                    "url": context["pathto"](PDF_NAME, 1),
                    "text": "book.pdf",
                    "tooltip": "Download the whole book as one PDF",
                    "icon": "fas fa-book",
                    "label": "download-book-pdf-button",
                }
            )


def _copy_pdf(app, exception) -> None:
    if exception is None and app.builder.name == "html" and _built_pdf(app).is_file():
        shutil.copyfile(_built_pdf(app), Path(app.outdir) / PDF_NAME)


def setup(app):
    # After sphinx-book-theme has built the header buttons (its handlers run at priority 501).
    app.connect("html-page-context", _add_menu_entry, priority=600)
    app.connect("build-finished", _copy_pdf)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
