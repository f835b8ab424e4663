"""Chapter 8's exercise: :func:`pgkit.importance.trajectory_importance_weights` by hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pgkit.exercises._cases import (
    _AXIS_HINT,
    _backward,
    _flags,
    _float,
    _forward,
    _random_flags,
    _returns_fallback,
    _shift_down,
    _transposed,
)
from pgkit.exercises._framework import _SEED, _Case, _check, _Problem

__all__ = ["check_importance_weights", "check_trajectory_importance_weights"]


def _restart_after_done(dones: np.ndarray) -> np.ndarray:
    """1 where the running sum carries on, 0 on the first step of an episode."""
    return 1.0 - _shift_down(dones)


def _restart_at_done(dones: np.ndarray) -> np.ndarray:
    return 1.0 - dones


def _never_restart(dones: np.ndarray) -> np.ndarray:
    return np.ones(dones.shape)


def _log_weights(
    case: _Case, *, keep: Callable[[np.ndarray], np.ndarray] = _restart_after_done
) -> np.ndarray:
    log_ratios = case.inputs["log_probs"] - case.inputs["old_log_probs"]
    return _forward(log_ratios, keep(_float(case.inputs["dones"])))


def _naive_weights(case: _Case) -> np.ndarray:
    ratios = np.exp(case.inputs["log_probs"] - case.inputs["old_log_probs"])
    keep = 1.0 - _shift_down(_float(case.inputs["dones"]))
    out = np.zeros(ratios.shape)
    current = np.ones(ratios.shape[1:])
    with np.errstate(all="ignore"):
        for t in range(ratios.shape[0]):
            current = np.where(keep[t] > 0, current, 1.0) * ratios[t]
            out[t] = current
    return out


def _whole_episode_weights(case: _Case) -> np.ndarray:
    log_ratios = case.inputs["log_probs"] - case.inputs["old_log_probs"]
    dones = _float(case.inputs["dones"])
    total = _forward(log_ratios, 1.0 - _shift_down(dones)) + _backward(log_ratios, 1.0 - dones)
    return np.exp(total - log_ratios)


def _importance_reference(case: _Case) -> np.ndarray:
    from pgkit.importance import trajectory_importance_weights

    return np.asarray(trajectory_importance_weights(**case.inputs))


_IMPORTANCE = _Problem(
    name="trajectory_importance_weights",
    signature="trajectory_importance_weights(log_probs, old_log_probs, dones) -> (T,) or (T, N)",
    covers=(
        "T = 1, episodes ending mid-batch and on the last step, (T, N) batches, "
        "a 700-step episode that needs log space"
    ),
    description="per-episode cumulative importance weights, in log space",
    reference=_importance_reference,
    mistakes=(
        (
            "weights did not reset at the episode end: each episode's product starts "
            "again at its first step",
            lambda case: np.exp(_log_weights(case, keep=_never_restart)),
        ),
        (
            "off by one at the episode end: done_t = True marks the LAST step of an episode; "
            "the product restarts at step t + 1",
            lambda case: np.exp(_log_weights(case, keep=_restart_at_done)),
        ),
        (
            "these are per-step ratios; the weight at t multiplies the ratios of every step "
            "from the episode's first step up to t",
            lambda case: np.exp(case.inputs["log_probs"] - case.inputs["old_log_probs"]),
        ),
        (
            "the ratio is inverted: pi_theta / pi_old = exp(log_probs - old_log_probs)",
            lambda case: np.exp(-_log_weights(case)),
        ),
        (
            "the weight at t multiplies the ratios up to t only, not the whole episode's",
            _whole_episode_weights,
        ),
        (
            "the product includes step t itself: prod_{k=start}^{t}, not up to t - 1",
            lambda case: np.exp(
                _log_weights(case) - (case.inputs["log_probs"] - case.inputs["old_log_probs"])
            ),
        ),
        (
            "did not use log space: a product of hundreds of ratios underflows to 0 (or "
            "overflows); add the log-ratios (a cumulative sum) and exponentiate once",
            _naive_weights,
        ),
        (_AXIS_HINT, _transposed(lambda case: np.exp(_log_weights(case)))),
    ),
    fallback=_returns_fallback(
        "compare with log w_t = (log_probs_t - old_log_probs_t) + (1 - done_{t-1}) log w_{t-1}, "
        "then w_t = exp(log w_t)"
    ),
    time_major=True,
    chapter_name="my_trajectory_importance_weights",
)


def _importance_cases() -> list[_Case]:
    rng = np.random.default_rng(_SEED + 9)
    cases = []
    for shape, where in (
        (1, {}),
        (1, {0: "term"}),
        (3, {}),
        (4, {1: "term"}),
        (4, {3: "term"}),
        (6, {1: "term", 3: "trunc"}),
        ((5, 2), None),
        ((8, 3), None),
    ):
        if isinstance(shape, tuple):
            terminated, truncated = _random_flags(rng, shape)
            label = f"(T, N) = {shape}, random episode ends"
        else:
            terminated, truncated = _flags((shape,), where)
            ends = [str(t) for t in range(shape) if terminated[t] or truncated[t]]
            label = f"T = {shape}, " + (
                f"episode ends at t = {', '.join(ends)}" if ends else "no episode end"
            )
            if ends and int(ends[-1]) == shape - 1 and shape > 1:
                label += " (the last step)"
        old_log_probs = np.round(-rng.exponential(1.0, size=terminated.shape), 2)
        log_probs = np.round(old_log_probs + rng.normal(0.0, 0.3, size=terminated.shape), 2)
        inputs: dict[str, Any] = {
            "log_probs": log_probs,
            "old_log_probs": old_log_probs,
            "dones": terminated | truncated,
        }
        cases.append(_Case(label, inputs))

    # The weight falls to ~exp(-875) (0 in float64) and climbs back to ~1: a running
    # product gets stuck at 0, a sum of log-ratios does not.
    half = 350
    drift = np.concatenate([np.full(half, -2.5), np.full(half, 2.5)])
    old_log_probs = np.round(-rng.exponential(1.0, size=2 * half), 2)
    noise = np.round(rng.normal(0.0, 0.05, size=2 * half), 2)
    log_probs = old_log_probs + drift + noise
    dones = np.zeros(2 * half, dtype=bool)
    cases.append(
        _Case(
            "T = 700, one long episode whose weight falls below 1e-320 and recovers",
            {"log_probs": log_probs, "old_log_probs": old_log_probs, "dones": dones},
        )
    )
    return cases


def check_trajectory_importance_weights(fn: Callable[..., Any]) -> bool:
    r"""Exercise: cumulative importance weights within each episode (Chapter 8).

    ``fn(log_probs, old_log_probs, dones)``, your own
    :func:`pgkit.importance.trajectory_importance_weights` (not
    :func:`pgkit.importance.importance_weights`, the per-step ratio), arrays (T,) or (T, N):

    .. math::

        \begin{aligned}
        w_t &= \prod_{k=b_t}^{t}
        \frac{\pi_\theta(a_k \mid s_k)}{\pi_{\theta_\text{old}}(a_k \mid s_k)} \\
        &= \exp\Bigl( \sum_{k=b_t}^{t} \bigl(\log \pi_\theta(a_k \mid s_k)
        - \log \pi_{\theta_\text{old}}(a_k \mid s_k)\bigr) \Bigr),
        \end{aligned}

    with :math:`b_t` the first step of :math:`t`'s episode and the log-probabilities
    ``log_probs`` and ``old_log_probs``, computed in log space so long episodes neither
    underflow nor overflow.

    Parameters
    ----------
    fn : callable
        Your function, called as ``fn(log_probs, old_log_probs, dones)``.

    Returns
    -------
    bool
        True when every case passes; a verdict is printed.
    """
    return _check(_IMPORTANCE, _importance_cases(), fn)


def check_importance_weights(fn: Callable[..., Any]) -> bool:
    r"""The former name of :func:`check_trajectory_importance_weights`, kept for one release (Chapter 8).

    The exercise reproduces :func:`pgkit.importance.trajectory_importance_weights`, so its
    checker now carries that name; this one runs the same check.

    Parameters
    ----------
    fn : callable
        Your function, called as ``fn(log_probs, old_log_probs, dones)``.

    Returns
    -------
    bool
        True when every case passes; a verdict is printed.
    """
    return check_trajectory_importance_weights(fn)


PROBLEMS = (_IMPORTANCE,)
# Names the exercises had in earlier releases, still accepted by ``python -m pgkit check``.
FORMER_NAMES = {"trajectory_importance_weights": ("importance_weights",)}


def __getattr__(name: str) -> Any:
    # REFERENCE imports pgkit.importance, and with it torch, only when asked for: importing the
    # checkers stays fast.
    if name == "REFERENCE":
        from pgkit.importance import trajectory_importance_weights

        # pgkit's function that each exercise reproduces, called as the reader's function is.
        return {"trajectory_importance_weights": trajectory_importance_weights}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
