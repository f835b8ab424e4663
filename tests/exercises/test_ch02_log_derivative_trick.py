"""Chapter 2's checker (pgkit/exercises/ch02_log_derivative_trick.py) names typical mistakes."""

import numpy as np
import pytest
from exercise_helpers import assert_names_mistake, correct_bandit_gradient, run

from pgkit.exercises import ch02_log_derivative_trick

MISTAKES = [
    (
        lambda theta, a, r: (r[:, None] * np.eye(len(theta))[a]).mean(axis=0),
        "the - pi term is missing",
    ),
    (lambda theta, a, r: correct_bandit_gradient(theta, a, r) * len(r), "summed over the samples"),
    (lambda theta, a, r: -correct_bandit_gradient(theta, a, r), "sign is flipped"),
]


@pytest.mark.parametrize(("fn", "hint"), MISTAKES, ids=[m[1][:30] for m in MISTAKES])
def test_checker_names_typical_mistake(fn, hint, capsys):
    assert_names_mistake("bandit_gradient", fn, hint, capsys)


def test_a_reader_written_softmax_passes(capsys):
    assert run("bandit_gradient", correct_bandit_gradient, capsys)[0] is True


def test_the_reference_is_pgkits_closed_form_scores():
    rng = np.random.default_rng(0)
    theta, actions, rewards = rng.normal(size=4), rng.integers(0, 4, 9), rng.normal(size=9)
    np.testing.assert_allclose(
        ch02_log_derivative_trick._bandit_estimate(theta, actions, rewards),
        correct_bandit_gradient(theta, actions, rewards),
        rtol=1e-12,
    )


def test_one_entry_too_few_fails(capsys):
    result, out = run(
        "bandit_gradient", lambda t, a, r: correct_bandit_gradient(t, a, r)[:-1], capsys
    )
    assert result is False
    assert "shape" in out
