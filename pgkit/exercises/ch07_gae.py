"""Chapter 7's exercise: generalised advantage estimation, :func:`pgkit.returns.gae`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pgkit.exercises._cases import (
    _AXIS_HINT,
    _backward,
    _float,
    _returns_fallback,
    _td_cases,
    _transposed,
)
from pgkit.exercises._framework import _SEED, _Case, _check, _Problem
from pgkit.returns import gae

__all__ = ["check_gae"]


def _gae(
    case: _Case,
    *,
    lam: float | None = None,
    recursion_gamma: bool = True,
    bootstrap_terminated: bool = False,
    bootstrap_truncated: bool = True,
    bootstrap_data_end: bool = True,
    reset: bool = True,
    reset_at_truncation: bool = True,
    next_from_values: bool = False,
) -> np.ndarray:
    rewards, values = case.inputs["rewards"], case.inputs["values"]
    next_values = case.inputs["next_values"]
    terminated, truncated = _float(case.inputs["terminated"]), _float(case.inputs["truncated"])
    gamma = case.inputs["gamma"]
    lam = case.inputs["lam"] if lam is None else lam
    done = np.maximum(terminated, truncated)
    if next_from_values:
        next_values = np.concatenate([values[1:], next_values[-1:]])
    bootstrap = np.ones(rewards.shape)
    if not bootstrap_terminated:
        bootstrap = bootstrap * (1.0 - terminated)
    if not bootstrap_truncated:
        bootstrap = bootstrap * (1.0 - truncated)
    if not bootstrap_data_end:
        bootstrap[-1] = 0.0
    deltas = rewards + gamma * bootstrap * next_values - values
    ends = done if reset_at_truncation else terminated
    keep = 1.0 - ends if reset else np.ones(done.shape)
    return _backward(deltas, (gamma if recursion_gamma else 1.0) * lam * keep)


def _gae_reference(case: _Case) -> np.ndarray:
    return np.asarray(gae(**case.inputs))


_GAE = _Problem(
    name="gae",
    signature="gae(rewards, values, next_values, terminated, truncated, gamma, lam) -> advantages",
    covers=(
        "T = 1, terminated, truncated and both at once, episodes ending on the last step, "
        "(T, N) batches, gamma = 0 and 1, lam = 0 and 1"
    ),
    description="generalised advantage estimates A_t",
    reference=_gae_reference,
    mistakes=(
        (
            "did you forget lam in the recursion? A_t = delta_t + gamma lam (1 - done_t) A_{t+1}",
            lambda case: _gae(case, lam=1.0),
        ),
        (
            "the recursion multiplies A_{t+1} by gamma * lam; gamma seems to be missing there",
            lambda case: _gae(case, recursion_gamma=False),
        ),
        (
            "terminated steps must not bootstrap: delta_t = r_t - V(s_t) when terminated_t",
            lambda case: _gae(case, bootstrap_terminated=True),
        ),
        (
            "truncated steps must be bootstrapped with next_values: "
            "delta_t = r_t + gamma next_values[t] - V(s_t) when only truncated_t",
            lambda case: _gae(case, bootstrap_truncated=False),
        ),
        (
            "advantages did not reset at the episode end: multiply gamma lam A_{t+1} by "
            "(1 - done_t), with done = terminated or truncated",
            lambda case: _gae(case, reset=False),
        ),
        (
            "the recursion must also stop at truncated steps: done_t = terminated_t or "
            "truncated_t, not terminated_t alone",
            lambda case: _gae(case, reset_at_truncation=False),
        ),
        (
            "use next_values[t] for V(s_{t+1}): after an episode end values[t + 1] is the "
            "value of the NEXT episode's first state",
            lambda case: _gae(case, next_from_values=True),
        ),
        (
            "the end of the data counts as truncation: delta_{T-1} bootstraps with "
            "next_values[T - 1] (unless terminated)",
            lambda case: _gae(case, bootstrap_data_end=False),
        ),
        (
            "these are lambda-returns A_t + V(s_t); gae returns the advantages A_t",
            lambda case: _gae(case) + case.inputs["values"],
        ),
        (
            "these are the one-step TD errors delta_t; GAE adds gamma lam (1 - done_t) A_{t+1}",
            lambda case: _gae(case, lam=0.0),
        ),
        (_AXIS_HINT, _transposed(lambda case: _gae(case))),
    ),
    fallback=_returns_fallback(
        "compare with delta_t = r_t + gamma (1 - terminated_t) next_values[t] - values[t] and "
        "A_t = delta_t + gamma lam (1 - done_t) A_{t+1}, computed backwards from t = T - 1"
    ),
    time_major=True,
    chapter_name="my_gae",
)


def check_gae(fn: Callable[..., Any]) -> bool:
    r"""Exercise: generalised advantage estimation (Chapter 7).

    ``fn(rewards, values, next_values, terminated, truncated, gamma, lam)`` (the
    arguments of :func:`pgkit.returns.gae`), arrays (T,) or (T, N), flags boolean:

    .. math::

        \begin{aligned}
        \delta_t &= r_t + \gamma (1 - \text{terminated}_t) V(s_{t+1}) - V(s_t), \\
        \hat A_t &= \delta_t + \gamma \lambda (1 - \text{done}_t) \hat A_{t+1},
        \qquad \text{done}_t = \text{terminated}_t \lor \text{truncated}_t,
        \end{aligned}

    with :math:`V(s_{t+1})` = ``next_values[t]``, :math:`V(s_t)` = ``values[t]``,
    :math:`\lambda` = ``lam``, and the end of the data treated as truncation.

    Parameters
    ----------
    fn : callable
        Your function, called as
        ``fn(rewards, values, next_values, terminated, truncated, gamma, lam)``.

    Returns
    -------
    bool
        True when every case passes; a verdict is printed.
    """
    return _check(_GAE, _td_cases(_SEED + 8, with_lam=True), fn)


PROBLEMS = (_GAE,)
# pgkit's function that each exercise reproduces, called as the reader's function is.
REFERENCE = {"gae": gae}
