"""Chapter 1's checker (pgkit/exercises/ch01_objective.py) names a reader's typical mistakes."""

import numpy as np
import pytest
from exercise_helpers import assert_names_mistake, run

MISTAKES = [
    (lambda x: (x.mean(), x.std() / np.sqrt(len(x))), "ddof=0"),
    (lambda x: (x.mean(), x.var(ddof=1) / len(x)), "forgot the square root"),
    (lambda x: (x.mean(), x.std(ddof=1)), "forgot to divide by sqrt(N)"),
    (lambda x: (x.mean(), x.std(ddof=1) / len(x)), "divided s by N"),
]


@pytest.mark.parametrize(("fn", "hint"), MISTAKES, ids=[m[1][:30] for m in MISTAKES])
def test_checker_names_typical_mistake(fn, hint, capsys):
    assert_names_mistake("mc_estimate", fn, hint, capsys)


def test_a_triple_instead_of_the_pair_fails(capsys):
    result, out = run("mc_estimate", lambda x: (x.mean(), x.std(ddof=1), 0.0), capsys)
    assert result is False
    assert "a tuple of 3 values" in out
