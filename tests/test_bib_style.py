"""Bibliography labels match the author-year citations (tools/bib_style.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from pybtex.database import Entry, Person

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("bib_style", ROOT / "tools" / "bib_style.py")
bib_style = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bib_style)


def _entry(authors: list[str], year: str) -> Entry:
    return Entry(
        "article",
        fields={"year": year, "title": "T"},
        persons={"author": [Person(name) for name in authors]},
    )


def test_labels_name_one_two_or_the_first_of_many_authors():
    assert bib_style.author_year(_entry(["Williams, Ronald J."], "1992")) == "Williams 1992"
    two = _entry(["Sutton, Richard S.", "Barto, Andrew G."], "2018")
    assert bib_style.author_year(two) == "Sutton and Barto 2018"
    many = _entry(["Schulman, John", "Wolski, Filip", "Dhariwal, Prafulla"], "2017")
    assert bib_style.author_year(many) == "Schulman et al. 2017"
    cut = _entry(["Berner, Christopher", "others"], "2019")
    assert bib_style.author_year(cut) == "Berner et al. 2019"


def test_repeated_author_years_get_letters():
    entries = [_entry(["Sutton, R."], "1988"), _entry(["Sutton, R."], "1988")]
    entries.append(_entry(["Thomas, P."], "2014"))
    labels = list(bib_style.AuthorYearLabels().format_labels(entries))
    assert labels == ["Sutton 1988a", "Sutton 1988b", "Thomas 2014"]
