"""Chapter 8's checker (pgkit/exercises/ch08_importance_sampling.py): cumulative importance
weights within each episode, the exercise that reproduces
pgkit.estimators.trajectory_importance_weights."""

import numpy as np
import pytest
from exercise_helpers import assert_names_mistake, correct_performance_difference, run

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


def difference_old_states(advantages, old_probs, new_probs, old_visitation, new_visitation, gamma):
    return correct_performance_difference(
        advantages, old_probs, new_probs, old_visitation, old_visitation, gamma
    )


def difference_old_actions(advantages, old_probs, new_probs, old_visitation, new_visitation, gamma):
    return correct_performance_difference(
        advantages, old_probs, old_probs, old_visitation, new_visitation, gamma
    )


def difference_unscaled(advantages, old_probs, new_probs, old_visitation, new_visitation, gamma):
    return new_visitation @ (new_probs * advantages).sum(axis=1)


def difference_times(advantages, old_probs, new_probs, old_visitation, new_visitation, gamma):
    return difference_unscaled(
        advantages, old_probs, new_probs, old_visitation, new_visitation, gamma
    ) * (1.0 - gamma)


def difference_reversed(advantages, old_probs, new_probs, old_visitation, new_visitation, gamma):
    return -correct_performance_difference(
        advantages, old_probs, new_probs, old_visitation, new_visitation, gamma
    )


DIFFERENCE_MISTAKES = [
    (difference_old_states, "that is the surrogate L_old(theta)"),
    (difference_old_actions, "advantages average to zero in every state"),
    (difference_unscaled, "divide the sum by (1 - gamma)"),
    (difference_times, "divide by (1 - gamma), do not multiply"),
    (difference_reversed, "the sign is reversed"),
]


@pytest.mark.parametrize(
    ("fn", "hint"), DIFFERENCE_MISTAKES, ids=[m[1][:30] for m in DIFFERENCE_MISTAKES]
)
def test_performance_difference_checker_names_typical_mistake(fn, hint, capsys):
    assert_names_mistake("performance_difference", fn, hint, capsys)


def test_performance_difference_checker_refuses_what_is_not_a_function(capsys):
    from pgkit.exercises import check_performance_difference

    assert check_performance_difference("J(new) - J(old)") is False
    assert "expected your function, got str" in capsys.readouterr().out


def test_a_difference_per_state_fails_on_its_shape(capsys):
    def per_state(advantages, old_probs, new_probs, old_visitation, new_visitation, gamma):
        return new_visitation * (new_probs * advantages).sum(axis=1) / (1.0 - gamma)

    result, out = run("performance_difference", per_state, capsys)
    assert result is False
    assert "return one number, J(pi') - J(pi)" in out


def test_the_lemma_is_exact_on_every_case():
    """The reference (a difference of exact objectives) is what the lemma gives."""
    from pgkit.exercises import ch08_importance_sampling as ch8

    for case in ch8._difference_cases():
        expected = ch8._difference_reference(case)
        lemma = correct_performance_difference(*case.inputs.values())
        np.testing.assert_allclose(lemma, expected, rtol=1e-10, atol=1e-12)
