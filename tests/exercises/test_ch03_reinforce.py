"""Chapter 3's checker (pgkit/exercises/ch03_reinforce.py): the surrogate loss, its gradient,
and gradients that must not reach the weights."""

import pytest
from exercise_helpers import assert_names_mistake, run

from pgkit.exercises import EXERCISES

MISTAKES = [
    (lambda lp, w: -(lp * w).mean(), "weights must be treated as constants"),
    (lambda lp, w: (lp * w.detach()).mean(), "sign of the loss"),
    (lambda lp, w: -(lp * w.detach()).sum(), "sum instead of mean"),
    (lambda lp, w: -(lp * w.detach()).mean().item(), "return a torch tensor"),
    (lambda lp, w: -(lp.detach() * w.detach()).mean(), "does not depend on log_probs"),
]


@pytest.mark.parametrize(("fn", "hint"), MISTAKES, ids=[m[1][:30] for m in MISTAKES])
def test_checker_names_typical_mistake(fn, hint, capsys):
    assert_names_mistake("surrogate_loss", fn, hint, capsys)


def test_a_loss_per_sample_fails(capsys):
    result, out = run("surrogate_loss", lambda lp, w: -(lp * w.detach()), capsys)
    assert result is False
    assert "shape" in out


def test_the_exercise_says_which_pgkit_function_it_reproduces():
    doc = EXERCISES["surrogate_loss"].checker.__doc__
    assert ":func:`pgkit.estimators.surrogate_loss`, which this exercise reproduces" in doc
