"""Chapter 2's exercise: the score-function gradient estimate for a softmax bandit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pgkit.exercises._framework import _SEED, _Case, _check, _Problem

__all__ = ["check_bandit_gradient"]

# A score is d log pi(a_i) / d theta, one row per pull, computed from onehot(a_i), pi and a_i.
Score = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _softmax(theta: np.ndarray) -> np.ndarray:
    from pgkit.analytic_problems import SoftmaxBandit

    return SoftmaxBandit(mu=(0.0,) * len(theta)).policy(theta)


def _score(onehot: np.ndarray, probs: np.ndarray, actions: np.ndarray) -> np.ndarray:
    return onehot - probs


def _score_without_pi(onehot: np.ndarray, probs: np.ndarray, actions: np.ndarray) -> np.ndarray:
    return onehot


def _score_chosen_only(onehot: np.ndarray, probs: np.ndarray, actions: np.ndarray) -> np.ndarray:
    return onehot * (1.0 - probs)


def _grad_pi(onehot: np.ndarray, probs: np.ndarray, actions: np.ndarray) -> np.ndarray:
    return probs[actions][:, None] * (onehot - probs)


def _score_over_pi(onehot: np.ndarray, probs: np.ndarray, actions: np.ndarray) -> np.ndarray:
    return (onehot - probs) / probs[actions][:, None]


def _bandit_gradient(
    case: _Case,
    *,
    pi: Callable[[np.ndarray], np.ndarray] = _softmax,
    score: Score = _score,
    reduce: Callable[..., np.ndarray] = np.mean,
) -> np.ndarray:
    theta, actions, rewards = (case.inputs[k] for k in ("theta", "actions", "rewards"))
    probs = pi(theta)
    onehot = np.eye(len(theta))[actions]
    return reduce(rewards[:, None] * score(onehot, probs, actions), axis=0)


def _bandit_estimate(theta: np.ndarray, actions: np.ndarray, rewards: np.ndarray) -> np.ndarray:
    """The estimate from pgkit's closed-form scores e_a - pi (the arm means play no part)."""
    from pgkit.analytic_problems import SoftmaxBandit

    scores = SoftmaxBandit(mu=(0.0,) * len(theta)).scores(theta, actions)
    return (rewards[:, None] * scores).mean(axis=0)


def _bandit_reference(case: _Case) -> np.ndarray:
    return _bandit_estimate(case.inputs["theta"], case.inputs["actions"], case.inputs["rewards"])


_BANDIT = _Problem(
    name="bandit_gradient",
    signature="bandit_gradient(theta, actions, rewards) -> grad J estimate, shape (K,)",
    covers="K = 2 to 5 arms, batches of 1 to 50 pulls, negative and zero rewards",
    description="score-function estimate of grad J for a softmax bandit policy",
    reference=_bandit_reference,
    mistakes=(
        (
            "d log pi(a) / d theta = onehot(a) - pi: the - pi term is missing",
            lambda case: _bandit_gradient(case, score=_score_without_pi),
        ),
        (
            "for every arm b != a, d log pi(a) / d theta_b = -pi_b (not 0): "
            "the score is onehot(a) - pi for the whole vector",
            lambda case: _bandit_gradient(case, score=_score_chosen_only),
        ),
        (
            "that is the gradient of pi(a), not of log pi(a): drop the factor pi(a)",
            lambda case: _bandit_gradient(case, score=_grad_pi),
        ),
        (
            "do not divide by pi(a): the log-derivative trick already did "
            "(grad log pi = grad pi / pi)",
            lambda case: _bandit_gradient(case, score=_score_over_pi),
        ),
        (
            "summed over the samples; the estimate averages: mean_i r_i (onehot(a_i) - pi)",
            lambda case: _bandit_gradient(case, reduce=np.sum),
        ),
        (
            "the sign is flipped: the estimate is + mean_i r_i (onehot(a_i) - pi)",
            lambda case: -_bandit_gradient(case),
        ),
        (
            "pi must be normalised: softmax(theta) = exp(theta) / sum(exp(theta))",
            lambda case: _bandit_gradient(case, pi=np.exp),
        ),
    ),
    fallback=lambda got, expected, case: (
        "return one entry per arm, shape (K,)"
        if got is not None and got.shape != expected.shape
        else "compute pi = softmax(theta), then average r_i (onehot(a_i) - pi) over the samples"
    ),
    chapter_name="bandit_gradient_estimate",
)


def _negative(rewards: np.ndarray) -> np.ndarray:
    return -np.abs(rewards) - 0.1


def _first_zero(rewards: np.ndarray) -> np.ndarray:
    rewards[0] = 0.0
    return rewards


def _bandit_cases() -> list[_Case]:
    rng = np.random.default_rng(_SEED + 2)
    cases = []
    # (arms K, pulls B, spread of theta, what to do to the rewards, label)
    for k, b, scale, adjust, label in (
        (2, 1, 0.0, None, "K = 2 arms, theta = 0, one pull"),
        (3, 1, 1.0, None, "K = 3 arms, one pull"),
        (2, 3, 1.0, None, "K = 2 arms, 3 pulls"),
        (3, 4, 1.0, _negative, "K = 3 arms, 4 pulls with negative rewards"),
        (4, 6, 1.0, _first_zero, "K = 4 arms, 6 pulls, one reward 0"),
        (5, 20, 2.0, None, "K = 5 arms, 20 pulls"),
        (3, 50, 3.0, None, "K = 3 arms, 50 pulls, peaked policy"),
    ):
        theta = np.round(rng.normal(0.0, scale, size=k), 1) if scale else np.zeros(k)
        actions = rng.integers(0, k, size=b)
        rewards = np.round(rng.normal(0.5, 1.0, size=b), 1)
        if adjust is not None:
            rewards = adjust(rewards)
        cases.append(_Case(label, {"theta": theta, "actions": actions, "rewards": rewards}))
    return cases


def check_bandit_gradient(fn: Callable[..., Any]) -> bool:
    r"""Exercise: the score-function gradient estimate for a softmax bandit (Chapter 2).

    ``fn(theta, actions, rewards) -> (K,)`` with :math:`\pi = \operatorname{softmax}(\theta)`,
    ``actions`` an integer array of :math:`B` pulled arms and ``rewards`` their :math:`B`
    rewards:

    .. math::

        \nabla_\theta J(\theta) \approx \frac{1}{B} \sum_{i=1}^{B} r_i
        \bigl(\operatorname{onehot}(a_i) - \pi\bigr).

    Parameters
    ----------
    fn : callable
        Your function, called as ``fn(theta, actions, rewards)``.

    Returns
    -------
    bool
        True when every case passes; a verdict is printed.
    """
    return _check(_BANDIT, _bandit_cases(), fn)


PROBLEMS = (_BANDIT,)
# pgkit has no function of this exercise's signature (it is built from SoftmaxBandit.scores),
# so there is no pgkit function to list as the one it reproduces.
REFERENCE: dict[str, Callable[..., Any]] = {}
