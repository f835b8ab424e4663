r"""The derivation exercises' numbers: reference answers, mistaken derivations and cases.

Chapters 5 and 9 ask the reader to derive a quantity rather than re-type a function: the optimal
constant baseline of a softmax bandit, the size of the :math:`\gamma^t` bias on the two-state MDP
(Chapter 5) and the Fisher matrix of a Gaussian policy with a linear mean (Chapter 9). Their
checkers, hints and verdicts are in the chapters' modules; what those compute, right and wrong,
is here, so that each chapter's module stays short.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pgkit.exercises._framework import _SEED, _Case


def _baseline(case: _Case, weight: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> float:
    """sum_a pi_a r_a w_a / sum_a pi_a w_a for a weight w_a of each action."""
    probs, rewards = case.inputs["probs"], case.inputs["rewards"]
    w = probs * weight(probs, np.eye(len(probs)) - probs)
    return float((w * rewards).sum() / w.sum())


def _squared_score(probs: np.ndarray, scores: np.ndarray) -> np.ndarray:
    return (scores**2).sum(axis=1)  # row a is the score e_a - pi


def _baseline_cases() -> list[_Case]:
    rng = np.random.default_rng(_SEED + 51)
    cases = []
    for label, logits, rewards in (
        ("K = 2, the uniform policy, rewards (10, 1)", [0.0, 0.0], [10.0, 1.0]),
        ("K = 2, pi = (0.8, 0.2)", [np.log(4.0), 0.0], [1.0, 3.0]),
        ("K = 3, the uniform policy", [0.0, 0.0, 0.0], [1.0, 0.0, 5.0]),
        ("K = 3, logits (1, 0, -1)", [1.0, 0.0, -1.0], [1.0, 0.0, 5.0]),
        ("K = 4, a nearly greedy policy", [4.0, 0.0, 0.0, -1.0], [-1.0, 2.0, 0.5, 3.0]),
        ("K = 6, random logits and rewards", None, None),
    ):
        if logits is None:
            logits, rewards = np.round(rng.normal(0, 1, 6), 1), np.round(rng.normal(0, 2, 6), 1)
        z = np.exp(np.asarray(logits) - np.max(logits))
        cases.append(
            _Case(label, {"probs": z / z.sum(), "rewards": np.asarray(rewards, dtype=np.float64)})
        )
    return cases


def _two_state(case: _Case, gamma: float | None = None) -> Any:
    from pgkit.tabular import two_state_mdp

    g = case.inputs["gamma"] if gamma is None else gamma
    return two_state_mdp(g, case.inputs["termination"])


def _weighted_advantages(case: _Case, weights: str, advantage_gamma: float | None = None) -> Any:
    """visits(s) pi(a | s) A(s, a), visits eta (undiscounted) or d (discounted)."""
    from pgkit import tabular

    theta = case.inputs["theta"]
    mdp = _two_state(case, advantage_gamma)
    advantages = tabular.q_values(mdp, theta) - tabular.values(mdp, theta)[:, None]
    visits = tabular.visitation(_two_state(case, 1.0 if weights == "eta" else None), theta)
    return visits[:, None] * tabular.policy(mdp, theta) * advantages


def _gap(case: _Case) -> np.ndarray:
    from pgkit import tabular

    exact = tabular.gradient(_two_state(case), case.inputs["theta"])
    return _weighted_advantages(case, "eta") - exact


def _weighted_policy(case: _Case) -> np.ndarray:
    from pgkit.tabular import policy

    return policy(_two_state(case), case.inputs["theta"])


def _gamma_bias_cases() -> list[_Case]:
    cases = []
    for label, theta, gamma, termination in (
        ("termination = 1: every episode is one step", [[0.0, 0.0], [0.0, 0.0]], 0.9, 1.0),
        ("gamma = 1: nothing is discounted", [[0.5, 0.0], [0.0, 1.0]], 1.0, 0.1),
        ("the uniform policy, gamma = 0.9", [[0.0, 0.0], [0.0, 0.0]], 0.9, 0.1),
        ("gamma = 0: only the first reward counts", [[0.0, 0.0], [0.0, 0.0]], 0.0, 0.1),
        ("a policy that mostly stays in state 0", [[2.0, 0.0], [0.0, 0.0]], 0.9, 0.05),
        ("a policy that moves to state 1 and stays", [[0.0, 1.5], [0.0, 2.0]], 0.95, 0.05),
        ("gamma = 0.5, termination 0.3", [[-0.4, 0.7], [1.1, -0.2]], 0.5, 0.3),
    ):
        cases.append(
            _Case(label, {"theta": np.asarray(theta), "gamma": gamma, "termination": termination})
        )
    return cases


def _fisher(
    case: _Case,
    *,
    mean_power: float = -2.0,
    log_std_entry: Callable[[float], float] = lambda sigma: 2.0,
    reduce: str = "mean",
    sign: float = 1.0,
) -> np.ndarray:
    """F in (w, log sigma), or a mistaken one: the mean's block phi phi^T sigma^mean_power."""
    features, sigma = case.inputs["features"], float(np.exp(case.inputs["log_std"]))
    batch, k = features.shape
    if reduce == "outer of means":
        outer = np.outer(features.mean(axis=0), features.mean(axis=0))
    else:
        outer = features.T @ features / (1.0 if reduce == "sum" else batch)
    if reduce == "diagonal":
        outer = np.diag(np.diag(outer))
    fisher = np.zeros((k + 1, k + 1))
    fisher[:k, :k] = outer * sigma**mean_power
    fisher[k, k] = log_std_entry(sigma)
    return sign * fisher


def _gaussian_fisher_cases() -> list[_Case]:
    rng = np.random.default_rng(_SEED + 91)
    cases = []
    for label, batch, k, log_std in (
        ("B = 1, k = 1, feature 1: N(mu, sigma^2) in (mu, log sigma), sigma = 1", 1, 1, 0.0),
        ("B = 1, k = 1, feature 1, sigma > 1", 1, 1, 0.5),
        ("B = 1, k = 1, feature 1, sigma < 1", 1, 1, -0.7),
        ("B = 3, k = 2, sigma < 1", 3, 2, -0.4),
        ("B = 8, k = 3, sigma > 1", 8, 3, 0.3),
    ):
        features = np.ones((1, 1)) if batch == 1 else np.round(rng.normal(0, 1, (batch, k)), 1)
        cases.append(_Case(label, {"features": features, "log_std": log_std}))
    return cases
