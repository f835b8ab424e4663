"""Bibliography labels that match the book's author-year citations.

The chapters cite author-year ("Williams (1992)", sphinxcontrib-bibtex's `author_year`
reference style), but pybtex's styles label the list with numbers or "Wil92", so a citation
cannot be matched to its entry by eye. This Sphinx extension registers the pybtex formatting
style `plain_author_year`: pybtex's `plain` (entries sorted by author, year, title) with labels
"Williams 1992", "Schulman et al. 2017", and "2017a"/"2017b" where an author-year repeats.
`_config.yml` selects it with `bibtex_default_style`. Upstream has no such style:
https://github.com/mcmtroffaes/sphinxcontrib-bibtex/issues/201.
"""

from __future__ import annotations

import string
from collections import Counter

from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle


def _surname(person) -> str:
    parts = person.prelast_names + person.last_names
    return " ".join(parts).replace("{", "").replace("}", "")


def author_year(entry) -> str:
    """'Williams 1992', 'Sutton and Barto 2018', 'Schulman et al. 2017' for one entry."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_surname(person) for person in people]
    if "others" in names[1:]:  # BibTeX's "and others": an author list cut short
        names = names[: names.index("others")] + ["", ""]
    if not names:
        who = entry.fields.get("organization") or entry.fields.get("title", entry.key)
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who} {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year(entry) for entry in entries]
        repeated = Counter(labels)
        seen: Counter = Counter()
        for label in labels:
            if repeated[label] > 1:  # two works of one author in one year: 2017a, 2017b
                yield label + string.ascii_lowercase[seen[label]]
                seen[label] += 1
            else:
                yield label


class PlainAuthorYear(PlainStyle):
    default_label_style = "author_year"


def setup(app):
    register_plugin("pybtex.style.labels", "author_year", AuthorYearLabels)
    register_plugin("pybtex.style.formatting", "plain_author_year", PlainAuthorYear)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
