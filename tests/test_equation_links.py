"""Each public function of the math modules names the chapter equation it implements.

Its docstring cites the label with ``:eq:``; the label exists in a chapter's markdown, and that
chapter links back to the function with ``{py:func}`` (``{py:class}`` for a class).
"""

import importlib
import inspect
import json
import re
from pathlib import Path

import pytest

CHAPTERS = Path(__file__).resolve().parent.parent / "chapters"
MODULES = [
    "returns",
    "td",
    "estimators",
    "analytic_problems",
    "variance",
    "importance",
    "losses",
    "trust_region",
    "conjugate_gradient",
    "tabular",
    "critic",
]

# Public names that implement no labelled equation, with the reason.
NO_EQUATION = {
    "returns.normalize_advantages": "a numerical convenience, not an equation of the chapters",
    "td.n_step_td_episode": "a tabular learning loop over whole episodes, not one equation",
    "td.tabular_episodes": "runs episodes in an environment to feed n_step_td_episode",
    "variance.episode_gradients": "splits an estimator into per-episode terms, to measure it",
    "variance.flat_grad": "a helper that flattens a gradient into one vector",
    "losses.clip_fraction": "a diagnostic that PPO logs, not part of the objective",
    "losses.entropy_bonus": "the chapters add it in words; no labelled equation",
    "trust_region.LineSearchResult": "a dataclass holding the line search's outcome",
    "conjugate_gradient.conjugate_gradient": "a linear solver that natural_step uses",
    "tabular.Episodes": "a dataclass holding sampled episodes",
    "tabular.TabularMDP": "a dataclass holding an MDP's tables",
    "tabular.chain_mdp": "builds an example MDP",
    "tabular.two_state_mdp": "builds an example MDP",
    "tabular.sample_episodes": "a sampler of episodes, not an equation",
    "tabular.policy": "the softmax, written inline in Chapter 5, not a labelled equation",
    "tabular.scores": "the softmax score, written inline in Chapter 5, not a labelled equation",
    "tabular.objective": "J = rho_0 . V, written inline in Chapter 5, not a labelled equation",
}

EQ_ROLE = re.compile(r":eq:`([^`]+)`")
LABEL = re.compile(r"\$\$\s*\(([^)\s]+)\)|:label:\s*(\S+)")


def _markdown_by_chapter() -> dict[str, str]:
    texts = {}
    for path in sorted(CHAPTERS.glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        texts[path.name] = "\n".join(
            "".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown"
        )
    return texts


def _labels(markdown: str) -> set[str]:
    return {a or b for a, b in LABEL.findall(markdown)}


def _public_names() -> list[str]:
    return [
        f"{module}.{name}"
        for module in MODULES
        for name in importlib.import_module(f"pgkit.{module}").__all__
    ]


MARKDOWN = _markdown_by_chapter()


@pytest.mark.parametrize("qualname", _public_names())
def test_function_and_equation_link_both_ways(qualname: str) -> None:
    module, name = qualname.split(".")
    obj = getattr(importlib.import_module(f"pgkit.{module}"), name)
    cited = EQ_ROLE.findall(inspect.getdoc(obj) or "")
    if qualname in NO_EQUATION:
        assert not cited, f"{qualname} cites {cited} but is listed in NO_EQUATION"
        return
    assert cited, f"the docstring of pgkit.{qualname} names no equation with :eq:`label`"
    role = "py:class" if inspect.isclass(obj) else "py:func"
    backlink = f"{{{role}}}`pgkit.{qualname}`"
    for label in cited:
        holders = [ch for ch, text in MARKDOWN.items() if label in _labels(text)]
        assert holders, f"pgkit.{qualname} cites equation {label!r}, which no chapter labels"
        assert any(backlink in MARKDOWN[ch] for ch in holders), (
            f"{holders[0]} labels {label!r} but does not link to {backlink}"
        )


def test_no_equation_list_names_public_functions() -> None:
    assert set(NO_EQUATION) <= set(_public_names())
