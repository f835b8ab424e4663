"""Chapter 6's exercise: n-step returns, bootstrapping at truncation and the end of the data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pgkit.exercises._cases import _AXIS_HINT, _returns_fallback, _td_cases, _transposed
from pgkit.exercises._framework import _SEED, _Case, _check, _Problem
from pgkit.returns import n_step_returns

__all__ = ["check_n_step_returns"]


def _n_step(
    case: _Case,
    *,
    n: int | None = None,
    stop_at_ends: bool = True,
    bootstrap_terminated: bool = False,
    bootstrap_truncated: bool = True,
    bootstrap_data_end: bool = True,
    truncation_first: bool = False,
    fixed_power: bool = False,
    absolute_power: bool = False,
) -> np.ndarray | None:
    rewards, next_values = case.inputs["rewards"], case.inputs["next_values"]
    terminated, truncated = case.inputs["terminated"], case.inputs["truncated"]
    gamma = case.inputs["gamma"]
    n = case.inputs["n"] if n is None else n
    if n < 1:
        return None
    horizon = rewards.shape[0]
    out = np.zeros(rewards.shape)
    for column in np.ndindex(rewards.shape[1:]):
        r, v = rewards[(slice(None), *column)], next_values[(slice(None), *column)]
        term, trunc = terminated[(slice(None), *column)], truncated[(slice(None), *column)]
        for t in range(horizon):
            offset = t if absolute_power else 0
            total, m, k = 0.0, 0, t
            while True:
                total += gamma ** (m + offset) * r[k]
                m += 1
                power = (n if fixed_power else m) + offset
                if stop_at_ends and term[k] and not (truncation_first and trunc[k]):
                    total += gamma**power * v[k] if bootstrap_terminated else 0.0
                    break
                if stop_at_ends and trunc[k]:
                    total += gamma**power * v[k] if bootstrap_truncated else 0.0
                    break
                if k == horizon - 1:
                    total += gamma**power * v[k] if bootstrap_data_end else 0.0
                    break
                if m == n:
                    total += gamma**power * v[k]
                    break
                k += 1
            out[(t, *column)] = total
    return out


def _n_step_reference(case: _Case) -> np.ndarray:
    return np.asarray(n_step_returns(**case.inputs))


_N_STEP = _Problem(
    name="n_step_returns",
    signature="n_step_returns(rewards, next_values, terminated, truncated, gamma, n) -> (T,) or (T, N)",
    covers=(
        "T = 1, n = 1 and n > T, terminated, truncated and both at once, episodes ending on "
        "the last step, (T, N) batches, gamma = 0 and 1"
    ),
    description="n-step returns, bootstrapping at truncation and at the end of the data",
    reference=_n_step_reference,
    mistakes=(
        (
            "terminated steps must not bootstrap: after a terminal state there are no "
            "more rewards, so add nothing for V(s_{t+1})",
            lambda case: _n_step(case, bootstrap_terminated=True),
        ),
        (
            "truncated steps must be bootstrapped with next_values: the episode was cut "
            "short, so gamma^m next_values[k] stands in for the missing rewards",
            lambda case: _n_step(case, bootstrap_truncated=False),
        ),
        (
            "returns did not stop at the episode end: never sum rewards past a "
            "terminated or truncated step",
            lambda case: _n_step(case, stop_at_ends=False),
        ),
        (
            "the end of the data counts as truncation: the last row t = T - 1 "
            "bootstraps with next_values[T - 1] (unless terminated)",
            lambda case: _n_step(case, bootstrap_data_end=False),
        ),
        (
            "a step that is both terminated and truncated is terminal: termination wins, "
            "no bootstrap",
            lambda case: _n_step(case, truncation_first=True),
        ),
        (
            "bootstrap with gamma ** m, where m <= n is the number of rewards actually "
            "summed (fewer than n near an episode end)",
            lambda case: _n_step(case, fixed_power=True),
        ),
        (
            "summed n - 1 rewards: G^(n)_t adds r_t, ..., r_{t+n-1}, then "
            "gamma^n next_values[t+n-1]",
            lambda case: _n_step(case, n=case.inputs["n"] - 1),
        ),
        (
            "summed n + 1 rewards: G^(n)_t adds r_t, ..., r_{t+n-1}, then "
            "gamma^n next_values[t+n-1]",
            lambda case: _n_step(case, n=case.inputs["n"] + 1),
        ),
        (
            "looks like you used gamma ** t' instead of gamma ** (t' - t): "
            "discounting restarts from the step whose return you compute",
            lambda case: _n_step(case, absolute_power=True),
        ),
        (_AXIS_HINT, _transposed(lambda case: _n_step(case))),
    ),
    fallback=_returns_fallback(
        "compare with G_t = sum_{k<m} gamma^k r_{t+k} + gamma^m (1 - terminated) "
        "next_values[t+m-1], where m <= n stops at the episode's end"
    ),
    time_major=True,
    chapter_name="my_n_step_returns",
)


def check_n_step_returns(fn: Callable[..., Any]) -> bool:
    r"""Exercise: n-step returns with bootstrapping (Chapter 6).

    ``fn(rewards, next_values, terminated, truncated, gamma, n)`` (the arguments of
    :func:`pgkit.returns.n_step_returns`), arrays (T,) or (T, N), flags boolean:

    .. math::

        G^{(n)}_t = \sum_{k=0}^{m-1} \gamma^k r_{t+k}
        + \gamma^m (1 - \text{terminated}_{t+m-1}) V(s_{t+m}),

    with :math:`V(s_{t+m})` = ``next_values[t+m-1]``, where :math:`m \le n` stops early at
    the episode's end (terminated or truncated) and at the end of the data (treated as
    truncation).

    Parameters
    ----------
    fn : callable
        Your function, called as ``fn(rewards, next_values, terminated, truncated, gamma, n)``.

    Returns
    -------
    bool
        True when every case passes; a verdict is printed.
    """
    return _check(_N_STEP, _td_cases(_SEED + 7, with_lam=False), fn)


PROBLEMS = (_N_STEP,)
# pgkit's function that each exercise reproduces, called as the reader's function is.
REFERENCE = {"n_step_returns": n_step_returns}
