"""Nothing in the built book is cut off, on a laptop (1366 px) or a phone (390 px).

Run after the book is built, with the other browser checks (`make browser`). Every page is
measured in headless Chromium at both widths, once MathJax has typeset it:

- On a laptop everything fits the text column: display equations neither run past their box nor
  under their equation number, code lines and tables fit, images fit.
- On a phone a display equation or table may be wider than the screen, but then it scrolls
  sideways inside its own box, which shows a shadow at the edge as a cue (_static/reading.css);
  code blocks scroll the same way. Inline math never runs past its paragraph, images fit, and the
  page itself never scrolls sideways, so nothing is lost off the screen's edge.
"""

from __future__ import annotations

import pytest
from headless_chromium import PAGE_TIMEOUT_S, WAIT_FOR_MATHJAX_JS, chromium
from test_book_browser import HTML, built_pages, site  # noqa: F401

pytestmark = pytest.mark.browser

LAPTOP = (1366, 900)
PHONE = (390, 844)

# Everything a reader could lose off an edge, measured against the article's content box.
MEASURE_JS = r"""
const article = document.querySelector('article.bd-article') || document.body;
const box = article.getBoundingClientRect();
const pad = getComputedStyle(article);
const left = box.left + parseFloat(pad.paddingLeft) - 1;
const right = box.right - parseFloat(pad.paddingRight) + 1;
const rect = (e) => e.getBoundingClientRect();
const scrolls = (e) => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
const cued = (e) => getComputedStyle(e).backgroundImage.includes('gradient');
// A box between e and the article that scrolls sideways with a cue: e may be wider than that.
const in_scroll_box = (e) => {
  for (let a = e.parentElement; a && a !== article; a = a.parentElement) {
    if (scrolls(a) && cued(a)) return true;
  }
  return false;
};
const name = (e) => e.textContent.trim().replace(/\s+/g, ' ').slice(0, 50);
const found = {equations: [], inline_math: [], code: [], tables: [], images: []};
for (const div of article.querySelectorAll('div.math')) {
  const box = div.querySelector('mjx-container[display="true"]');
  if (!box) continue;
  const math = rect(box.querySelector('mjx-math') || box);
  const number = div.querySelector('.eqno');
  const label = number ? number.textContent.replace('#', '').trim() : name(div);
  const wide = box.scrollWidth > box.clientWidth + 1 || math.right > rect(box).right + 1;
  let under_number = false;
  if (number) {
    const n = rect(number);
    under_number = math.right > n.left + 1 && math.top < n.bottom && math.bottom > n.top;
  }
  found.equations.push({label, wide, under_number, scrolls: scrolls(box), cued: cued(box),
                        past_column: rect(box).right > right});
}
for (const math of article.querySelectorAll('mjx-container:not([display="true"])')) {
  let block = math.parentElement;
  while (block && getComputedStyle(block).display.startsWith('inline')) block = block.parentElement;
  const r = rect(math), b = rect(block);
  const out = r.right > Math.min(b.right, right) + 1 || r.left < Math.max(b.left, left) - 1;
  if (out && !in_scroll_box(math)) {
    found.inline_math.push(name(math));
  }
}
for (const pre of article.querySelectorAll('pre')) {
  const wide = pre.scrollWidth > pre.clientWidth + 1;
  if (wide || rect(pre).right > right) {
    found.code.push({text: name(pre), wide, scrolls: scrolls(pre), cued: cued(pre),
                     past_column: rect(pre).right > right,
                     output: !!pre.closest('.cell_output')});
  }
}
for (const table of article.querySelectorAll('table')) {
  const holder = table.closest('.pst-scrollable-table-container') || table;
  found.tables.push({text: name(table), wide: rect(table).width > right - left,
                     scrolls: scrolls(holder), cued: cued(holder),
                     past_column: rect(holder).right > right});
}
for (const img of article.querySelectorAll('img')) {
  if (rect(img).right > right || rect(img).left < left) found.images.push(img.src.split('/').pop());
}
found.page_scrolls_sideways = document.documentElement.scrollWidth > window.innerWidth;
return found;
"""


def measure(width: int, height: int, phone: bool, base: str) -> dict[str, dict]:
    from selenium.webdriver.support.ui import WebDriverWait

    pages = {}
    with chromium(width, height, phone=phone) as browser:
        for path in built_pages():
            page = path.relative_to(HTML).as_posix()
            browser.get(base + page)
            browser.execute_async_script(WAIT_FOR_MATHJAX_JS)
            WebDriverWait(browser, PAGE_TIMEOUT_S).until(
                lambda b: b.execute_script("return document.documentElement.dataset.wideMath"),
                message=f"{page}: _static/wide_math.js did not run",
            )
            pages[page] = browser.execute_script(MEASURE_JS)
    return pages


@pytest.fixture(scope="module")
def laptop(site):  # noqa: F811
    return measure(*LAPTOP, phone=False, base=site)


@pytest.fixture(scope="module")
def phone(site):  # noqa: F811
    return measure(*PHONE, phone=True, base=site)


def offenders(pages: dict[str, dict], kind: str, bad) -> dict[str, list]:
    found = {page: [item for item in facts[kind] if bad(item)] for page, facts in pages.items()}
    return {page: items for page, items in found.items() if items}


def test_laptop_equations_fit_the_column(laptop):
    counted = sum(len(facts["equations"]) for facts in laptop.values())
    assert counted > 50, f"only {counted} display equations measured: is MathJax typesetting?"
    cut = offenders(laptop, "equations", lambda e: e["wide"] or e["under_number"])
    assert not cut, f"display equations wider than the column at {LAPTOP[0]} px: {cut}"


def test_laptop_code_tables_and_images_fit_the_column(laptop):
    code = offenders(laptop, "code", lambda c: True)
    assert not code, f"code or output lines wider than the column at {LAPTOP[0]} px: {code}"
    tables = offenders(laptop, "tables", lambda t: t["wide"] or t["past_column"])
    assert not tables, f"tables wider than the column at {LAPTOP[0]} px: {tables}"
    images = offenders(laptop, "images", lambda i: True)
    assert not images, f"images past the column at {LAPTOP[0]} px: {images}"


def test_phone_wide_equations_scroll_with_a_cue(phone):
    wide = sum(e["wide"] for facts in phone.values() for e in facts["equations"])
    assert wide > 0, "no display equation is wider than a phone: the measurement is broken"
    lost = offenders(
        phone,
        "equations",
        lambda e: e["past_column"] or (e["wide"] and not (e["scrolls"] and e["cued"])),
    )
    assert not lost, (
        f"display equations cut off at {PHONE[0]} px (no scroll box with a cue): {lost}"
    )


def test_phone_code_and_tables_scroll_inside_the_column(phone):
    code = offenders(
        phone,
        "code",
        lambda c: c["past_column"] or (c["wide"] and not (c["scrolls"] and c["cued"])),
    )
    assert not code, f"code blocks cut off at {PHONE[0]} px: {code}"
    assert not offenders(phone, "code", lambda c: c["output"]), "printed output must wrap"
    tables = offenders(
        phone,
        "tables",
        lambda t: t["past_column"] or (t["wide"] and not (t["scrolls"] and t["cued"])),
    )
    assert not tables, f"tables cut off at {PHONE[0]} px: {tables}"


def test_phone_inline_math_images_and_page_stay_on_screen(phone):
    inline = offenders(phone, "inline_math", lambda m: True)
    assert not inline, f"inline math running past its paragraph at {PHONE[0]} px: {inline}"
    images = offenders(phone, "images", lambda i: True)
    assert not images, f"images wider than the screen at {PHONE[0]} px: {images}"
    sideways = [page for page, facts in phone.items() if facts["page_scrolls_sideways"]]
    assert not sideways, f"pages that scroll sideways at {PHONE[0]} px: {sideways}"
