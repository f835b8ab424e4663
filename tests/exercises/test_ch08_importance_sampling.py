"""Chapter 8's checker (pgkit/exercises/ch08_importance_sampling.py): cumulative importance
weights within each episode, the exercise that reproduces
pgkit.estimators.trajectory_importance_weights."""

import numpy as np
import pytest
from exercise_helpers import assert_names_mistake, run

from pgkit import estimators


def weights_naive(log_probs, old_log_probs, dones):
    ratios = np.exp(log_probs - old_log_probs)
    out, carry = np.zeros(ratios.shape), np.ones(ratios.shape[1:])
    for t in range(len(ratios)):
        carry = carry * ratios[t]
        out[t] = carry
        carry = np.where(dones[t], 1.0, carry)
    return out


def weights_no_reset(log_probs, old_log_probs, dones):
    return np.exp(np.cumsum(log_probs - old_log_probs, axis=0))


def weights_per_step(log_probs, old_log_probs, dones):
    return np.exp(log_probs - old_log_probs)


def weights_inverted(log_probs, old_log_probs, dones):
    return 1.0 / estimators.trajectory_importance_weights(log_probs, old_log_probs, dones)


MISTAKES = [
    (weights_naive, "did not use log space"),
    (weights_no_reset, "did not reset at the episode end"),
    (weights_per_step, "per-step ratios"),
    (weights_inverted, "ratio is inverted"),
]


@pytest.mark.parametrize(("fn", "hint"), MISTAKES, ids=[m[1][:30] for m in MISTAKES])
def test_checker_names_typical_mistake(fn, hint, capsys):
    assert_names_mistake("trajectory_importance_weights", fn, hint, capsys)


def test_pgkits_per_step_importance_weights_is_not_the_answer(capsys):
    # The two pgkit functions the chapter imports: the exercise is the cumulative one.
    result, out = run(
        "trajectory_importance_weights",
        lambda log_probs, old_log_probs, dones: estimators.importance_weights(
            log_probs, old_log_probs
        ),
        capsys,
    )
    assert result is False
    assert "per-step ratios" in out
