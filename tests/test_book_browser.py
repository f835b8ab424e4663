"""Open the built book in headless Chromium, with no network, and check what a reader would see.

Run after the book is built (`make test` does both; on its own: `make book browser`):

    pytest -m browser tests/test_book_browser.py

Pages are served from _build/html by a local HTTP server on 127.0.0.1 in a thread. Chromium's host
resolver refuses every name, so anything fetched from outside the machine fails and is recorded.
The checks, on every page: MathJax (served from the build) typeset every equation and left no raw
TeX in the text; every image loaded; every local link and cross-reference points at an existing
file and fragment id; no request left 127.0.0.1; no page names a MathJax CDN; the browser console
shows no error. Then, as a reader would: exercise solutions are folded until their toggle is
clicked, and the search page finds chapters. A screenshot of the first
chapter is saved to _build/screenshot.png, and the per-page counts to _build/browser_check.json.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest
from book_toc import load_toc, toc_files
from headless_chromium import PAGE_TIMEOUT_S, WAIT_FOR_MATHJAX_JS, chromium, serve

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SCREENSHOT = ROOT / "_build" / "screenshot.png"
REPORT = ROOT / "_build" / "browser_check.json"
NOT_PAGES = {"_static", "_sources", "_images", "_downloads"}
MATHJAX_CDNS = (
    "cdn.jsdelivr.net/npm/mathjax",
    "cdnjs.cloudflare.com/ajax/libs/mathjax",
    "mathjax@",
)

# Text outside code, scripts and typeset math that still looks like TeX delimiters.
RAW_TEX_JS = r"""
const skip = new Set(['PRE', 'CODE', 'SCRIPT', 'STYLE', 'TEXTAREA', 'NOSCRIPT', 'MJX-CONTAINER']);
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
  acceptNode(node) {
    for (let e = node.parentElement; e; e = e.parentElement) {
      if (skip.has(e.tagName)) return NodeFilter.FILTER_REJECT;
    }
    return NodeFilter.FILTER_ACCEPT;
  },
});
const hits = [];
while (walker.nextNode()) {
  const text = walker.currentNode.nodeValue;
  // Display or inline delimiters, or a TeX command such as \log: math that was not typeset
  // (for example a wrapped line inside $...$ that Markdown read as a list item).
  if (/\$\$|\\\[|\\\]|\\\(|\\\)|\\begin\{|\$[^$\s][^$]*\$|\\[A-Za-z]{2,}/.test(text)) {
    hits.push(text.trim().slice(0, 80));
  }
}
return hits;
"""

PAGE_FACTS_JS = """
const math = Array.from(document.querySelectorAll('.math'));
return {
  math_total: math.length,
  math_typeset: math.filter((e) => e.querySelector('mjx-container')).length,
  display_math: document.querySelectorAll('div.math').length,
  mjx_containers: document.querySelectorAll('mjx-container').length,
  mjx_display: document.querySelectorAll('mjx-container[display="true"]').length,
  images: Array.from(document.images).map((i) => [i.currentSrc || i.src, i.naturalWidth]),
  links: [
    ...Array.from(document.querySelectorAll('a[href], link[href]')).map((e) => e.href),
    ...Array.from(document.querySelectorAll('script[src], img[src]')).map((e) => e.src),
  ],
  ids: [
    ...Array.from(document.querySelectorAll('[id]')).map((e) => e.id),
    ...Array.from(document.querySelectorAll('a[name]')).map((e) => e.name),
  ],
};
"""

LOAD_IMAGES_JS = """
for (const img of document.images) { img.loading = 'eager'; img.scrollIntoView(); }
window.scrollTo(0, 0);
"""


@dataclass
class PageReport:
    page: str
    mathjax: str
    math_total: int
    math_typeset: int
    display_math: int
    mjx_containers: int
    mjx_display: int
    raw_tex: list[str]
    console_errors: list[str]
    images: list[list]
    links: list[str]
    ids: list[str] = field(repr=False)
    requests: list[str] = field(repr=False)


class _IdCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" or (tag == "a" and name == "name"):
                self.ids.add(value or "")


def static_ids(path: Path) -> set[str]:
    collector = _IdCollector()
    collector.feed(path.read_text(encoding="utf-8", errors="replace"))
    return collector.ids


def built_pages() -> list[Path]:
    return sorted(
        path
        for path in HTML.rglob("*.html")
        if not NOT_PAGES.intersection(path.relative_to(HTML).parts)
    )


def first_chapter_page() -> str:
    toc = load_toc()
    for entry in toc_files(toc):
        if (HTML / f"{entry}.html").is_file() and (ROOT / f"{entry}.ipynb").is_file():
            return f"{entry}.html"
    return f"{toc['root']}.html"


@pytest.fixture(scope="module")
def site():
    assert (HTML / "index.html").is_file(), (
        f"{HTML / 'index.html'} is missing: build the book first (`make book`)"
    )
    with serve(HTML) as base:
        yield base


@pytest.fixture(scope="module")
def driver():
    with chromium() as browser:
        yield browser


def requested_urls(browser) -> list[str]:
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def console_errors(browser) -> list[str]:
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def visit(browser, base: str, relative: str) -> PageReport:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("performance")  # drop events from earlier pages
    browser.get_log("browser")
    browser.get(base + relative)
    mathjax = browser.execute_async_script(WAIT_FOR_MATHJAX_JS)
    browser.execute_script(LOAD_IMAGES_JS)
    WebDriverWait(browser, PAGE_TIMEOUT_S).until(
        lambda b: b.execute_script("return Array.from(document.images).every((i) => i.complete)")
    )
    facts = browser.execute_script(PAGE_FACTS_JS)
    return PageReport(
        page=relative,
        mathjax=mathjax,
        raw_tex=browser.execute_script(RAW_TEX_JS),
        requests=requested_urls(browser),
        console_errors=console_errors(browser),
        **facts,
    )


@pytest.fixture(scope="module")
def reports(site, driver) -> dict[str, PageReport]:
    pages = [path.relative_to(HTML).as_posix() for path in built_pages()]
    result = {page: visit(driver, site, page) for page in pages}
    summary = {
        page: {
            key: value
            for key, value in asdict(report).items()
            if key not in {"ids", "links", "requests", "images", "raw_tex", "console_errors"}
        }
        | {"images": len(report.images), "links": len(report.links)}
        for page, report in result.items()
    }
    REPORT.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(f"\nbrowser check ({len(result)} pages, counts in {REPORT.relative_to(ROOT)}):")
    for page, row in summary.items():
        print(
            f"  {page:40s} math {row['math_typeset']}/{row['math_total']} typeset, "
            f"mjx-container {row['mjx_containers']} ({row['mjx_display']} display), "
            f"images {row['images']}, links {row['links']}"
        )
    return result


def local_target(url: str, base: str) -> tuple[Path, str] | None:
    """The built file and fragment a same-site URL points at; None for anything external."""
    if not url.startswith(base):
        return None
    address, fragment = urldefrag(url)
    path = HTML / unquote(urlsplit(address).path).lstrip("/")
    if path.is_dir():
        path = path / "index.html"
    return path, unquote(fragment)


def test_no_page_names_a_mathjax_cdn():
    assert (HTML / "_static" / "mathjax" / "tex-chtml.js").is_file(), (
        "MathJax was not copied into the build: is sphinx-mathjax-offline in _config.yml?"
    )
    offenders = [
        (path.relative_to(HTML).as_posix(), cdn)
        for path in HTML.rglob("*.html")
        for cdn in MATHJAX_CDNS
        if cdn in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert not offenders, f"pages that would load MathJax from the network: {offenders}"


def test_mathjax_typesets_every_equation(reports):
    for page, report in reports.items():
        assert report.mathjax in {"typeset", "no-math"}, f"{page}: MathJax {report.mathjax}"
        assert report.math_typeset == report.math_total, (
            f"{page}: only {report.math_typeset} of {report.math_total} equations were typeset"
        )
    display = sum(report.mjx_display for report in reports.values())
    assert display > 0, "no page has a typeset display equation; the preface should have one"


def test_no_raw_tex_left_in_text(reports):
    leftovers = {page: report.raw_tex for page, report in reports.items() if report.raw_tex}
    assert not leftovers, f"untypeset TeX delimiters in the page text: {leftovers}"


def test_every_image_loads(reports):
    broken = {
        page: [src for src, width in report.images if not width]
        for page, report in reports.items()
        if any(not width for _, width in report.images)
    }
    assert not broken, f"images that did not load (naturalWidth 0): {broken}"


def test_internal_links_and_cross_references_resolve(reports, site):
    ids_by_file = {HTML / page: set(report.ids) for page, report in reports.items()}
    broken = []
    for page, report in reports.items():
        for url in sorted(set(report.links)):
            target = local_target(url, site)
            if target is None:
                continue
            path, fragment = target
            if not path.is_file():
                broken.append((page, url, "no such file"))
                continue
            if fragment and path.suffix == ".html":
                if path not in ids_by_file:
                    ids_by_file[path] = static_ids(path)
                if fragment not in ids_by_file[path]:
                    broken.append((page, url, f"no id '{fragment}'"))
    assert not broken, "broken local links:\n" + "\n".join(map(str, broken))


def test_no_request_leaves_the_machine(reports, site):
    network = ("http:", "https:", "ws:", "wss:")
    outside = {}
    for page, report in reports.items():
        urls = {url for url in report.requests if url.startswith(network)}
        urls -= {url for url in urls if url.startswith(site)}
        if urls:
            outside[page] = sorted(urls)
    assert not outside, f"pages that requested something from the network: {outside}"


def test_screenshot_of_a_chapter(driver, site):
    page = first_chapter_page()
    visit(driver, site, page)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(SCREENSHOT)), f"could not save a screenshot of {page}"
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_console_errors(reports):
    errors = {
        page: report.console_errors for page, report in reports.items() if report.console_errors
    }
    assert not errors, f"pages that logged errors in the browser console: {errors}"


SOLUTIONS_JS = """
return Array.from(document.querySelectorAll('.solution')).map((s) => ({
  id: s.id,
  body_visible: Array.from(s.children)
    .filter((c) => !c.classList.contains('admonition-title'))
    .some((c) => c.getClientRects().length > 0 && c.offsetHeight > 0),
}));
"""


def test_solutions_are_folded_until_clicked(driver, site):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    pages = [
        path.relative_to(HTML).as_posix()
        for path in built_pages()
        if 'class="solution' in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert pages, "no built page has an exercise solution"
    for page in pages:
        visit(driver, site, page)
        solutions = driver.execute_script(SOLUTIONS_JS)
        assert solutions, f"{page}: solutions in the HTML but none found in the page"
        shown = [s["id"] for s in solutions if s["body_visible"]]
        assert not shown, f"{page}: solutions visible before any click: {shown}"
        for solution in solutions:
            button = driver.find_element(By.CSS_SELECTOR, f'[id="{solution["id"]}"] .toggle-button')
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
            button.click()
            WebDriverWait(driver, PAGE_TIMEOUT_S).until(
                lambda d, sid=solution["id"]: next(
                    s for s in d.execute_script(SOLUTIONS_JS) if s["id"] == sid
                )["body_visible"],
                message=f"{page}: solution {solution['id']} did not open when its toggle was clicked",
            )


def test_search_finds_chapters(driver, site):
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(site + "search.html?q=advantage")
    WebDriverWait(driver, PAGE_TIMEOUT_S).until(
        lambda d: d.execute_script(
            "const r = document.querySelector('#search-results');"
            "return r && /Search finished/.test(r.innerText);"
        ),
        message="the search page did not finish searching (is searchindex.js built?)",
    )
    hits = driver.execute_script(
        "return Array.from(document.querySelectorAll('#search-results li a')).map((a) => a.href)"
    )
    chapters = [url for url in hits if "/chapters/" in url]
    assert chapters, f"searching for 'advantage' found no chapter; results: {hits}"
    for url in chapters:
        target = local_target(url, site)
        assert target is not None and target[0].is_file(), f"search result {url} is broken"


def test_api_page_reads_as_prose_with_typeset_math(reports):
    """appendix/api: each documented object opens with a paragraph (napoleon's rendering of the
    NumPy docstrings), not a preformatted block, and the docstrings' maths is typeset."""
    import re

    html = (HTML / "appendix" / "api.html").read_text(encoding="utf-8")
    entries = re.findall(
        r'<dl class="py (?:function|class|method|exception|property)">.*?<dd>\s*(<[a-z]+)',
        html,
        re.DOTALL,
    )
    assert len(entries) > 100, f"only {len(entries)} documented objects on the API page"
    preformatted = [start for start in entries if start != "<p"]
    assert len(preformatted) <= len(entries) // 20, (
        f"{len(preformatted)} of {len(entries)} API entries do not open with prose"
    )
    report = next(r for page, r in reports.items() if page.endswith("appendix/api.html"))
    assert report.math_total > 100 and report.math_typeset == report.math_total, (
        f"API page: {report.math_typeset} of {report.math_total} equations typeset"
    )
