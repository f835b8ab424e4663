"""Helpers shared by the chapters' cases and mistakes: episode flags, time recursions, hints.

Cases are readable on screen (rewards and values with one decimal) and come from fixed
seeds. The time recursions here compute the known mistakes the checkers recognise; the
right answers always come from pgkit itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from pgkit.exercises._framework import _Case
from pgkit.returns import _reverse_scan
from pgkit.validation import is_torch


def _backward(x: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """y_t = x_t + coef_t * y_{t+1} along time (axis 0), with y_T = 0."""
    return _reverse_scan(np.asarray(x, dtype=np.float64), coef)


def _forward(x: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """y_t = x_t + coef_t * y_{t-1} along time (axis 0), with y_{-1} = 0."""
    y = np.zeros(x.shape)
    carry = np.zeros(x.shape[1:])
    for t in range(x.shape[0]):
        carry = x[t] + coef[t] * carry
        y[t] = carry
    return y


def _shift_up(flags: np.ndarray) -> np.ndarray:
    """flags_{t+1}, with 0 after the last row."""
    out = np.zeros(flags.shape)
    out[:-1] = flags[1:]
    return out


def _shift_down(flags: np.ndarray) -> np.ndarray:
    """flags_{t-1}, with 0 before the first row."""
    out = np.zeros(flags.shape)
    out[1:] = flags[:-1]
    return out


def _steps_since_start(dones: np.ndarray) -> np.ndarray:
    """k_t = number of steps since the first step of t's episode within the batch."""
    ones = np.ones(dones.shape)
    return _forward(ones, 1.0 - _shift_down(dones)) - 1.0


def _transposed(compute: Callable[[_Case], np.ndarray]) -> Callable[[_Case], np.ndarray | None]:
    """The mistake of running a time recursion along axis 1 of a (T, N) batch."""

    def mistaken(case: _Case) -> np.ndarray | None:
        arrays = [v for v in case.inputs.values() if isinstance(v, np.ndarray)]
        if arrays[0].ndim != 2:
            return None
        swapped = {k: v.T if isinstance(v, np.ndarray) else v for k, v in case.inputs.items()}
        return compute(dataclasses.replace(case, inputs=swapped)).T

    return mistaken


_AXIS_HINT = (
    "(T, N) arrays are time-major: run the recursion along axis 0 (time), separately "
    "for each of the N columns"
)
_NONFINITE_HINT = "your answer contains NaN or inf; "
_SHAPE_HINT = "return one value per time step: the same shape as rewards, (T,) or (T, N)"


def _float(flags: np.ndarray) -> np.ndarray:
    return np.asarray(flags, dtype=np.float64)


def _r(rng: np.random.Generator, shape: Any) -> np.ndarray:
    """Rewards or values with one decimal, so printed cases stay readable."""
    return np.round(rng.normal(0.0, 1.0, size=shape), 1)


def _flags(shape: tuple[int, ...], where: dict[Any, str]) -> tuple[np.ndarray, np.ndarray]:
    """terminated, truncated with the given entries set ("term", "trunc" or "both")."""
    terminated = np.zeros(shape, dtype=bool)
    truncated = np.zeros(shape, dtype=bool)
    for index, kind in where.items():
        terminated[index] = kind in ("term", "both")
        truncated[index] = kind in ("trunc", "both")
    return terminated, truncated


def _random_flags(
    rng: np.random.Generator, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    ends = rng.random(shape) < 0.25
    truncated = ends & (rng.random(shape) < 0.4)
    terminated = ends & ~truncated
    # Make sure every (T, N) case has both kinds of episode end.
    terminated[1, 0], truncated[1, 0] = True, False
    truncated[2, 1], terminated[2, 1] = True, False
    return terminated, truncated


def _values_pair(
    rng: np.random.Generator, terminated: np.ndarray, truncated: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """values V(s_t) and next_values V(s_{t+1}) as a rollout would produce them.

    Inside an episode next_values[t] = values[t + 1] (the same state); after an
    episode end s_{t+1} is the final observation, whose value is unrelated to the
    next episode's first state, and the last row looks one step past the data.
    """
    values = _r(rng, terminated.shape)
    other = _r(rng, terminated.shape)
    next_values = np.empty(terminated.shape)
    next_values[:-1] = values[1:]
    next_values[-1] = other[-1]
    next_values = np.where(terminated | truncated, other, next_values)
    return values, next_values


def _describe_ends(terminated: np.ndarray, truncated: np.ndarray) -> str:
    parts = []
    for t in range(len(terminated)):
        if terminated[t] and truncated[t]:
            parts.append(f"terminated and truncated at t = {t}")
        elif terminated[t]:
            parts.append(f"terminated at t = {t}")
        elif truncated[t]:
            parts.append(f"truncated at t = {t}")
    return ", ".join(parts) if parts else "no episode end"


def _np64(x: Any) -> np.ndarray:
    if is_torch(x):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _time_index(x: np.ndarray) -> np.ndarray:
    """t at every entry of a (T,) or (T, N) array."""
    column = np.arange(x.shape[0], dtype=np.float64).reshape((-1,) + (1,) * (x.ndim - 1))
    return np.broadcast_to(column, x.shape)


def _returns_fallback(advice: str) -> Callable[[np.ndarray | None, np.ndarray, _Case], str]:
    def fallback(got: np.ndarray | None, expected: np.ndarray, case: _Case) -> str:
        if got is not None and got.shape != expected.shape:
            return _SHAPE_HINT
        if got is not None and not np.isfinite(got).all():
            return _NONFINITE_HINT + "check for division by zero or overflow"
        return advice

    return fallback


def _td_cases(seed: int, with_lam: bool) -> list[_Case]:
    """Cases for n-step returns (with n) and GAE (with values and lam)."""
    rng = np.random.default_rng(seed)
    # (shape, episode ends, gamma, n or lam)
    specs: list[tuple[Any, dict[Any, str] | None, float, float]] = [
        (1, {}, 0.9, 1 if not with_lam else 0.95),
        (1, {0: "term"}, 0.9, 1 if not with_lam else 0.95),
        (1, {0: "trunc"}, 0.9, 3 if not with_lam else 0.95),
        (3, {}, 0.9, 1 if not with_lam else 0.8),
        (3, {}, 0.9, 2 if not with_lam else 0.5),
        (3, {}, 0.0, 2 if not with_lam else 0.9),
        (4, {1: "term"}, 0.9, 2 if not with_lam else 0.8),
        (4, {1: "trunc"}, 0.9, 2 if not with_lam else 0.8),
        (4, {3: "term"}, 0.9, 3 if not with_lam else 0.8),
        (5, {}, 1.0, 10 if not with_lam else 1.0),
        (5, {1: "term"}, 0.9, 3 if not with_lam else 0.0),
        (5, {2: "both"}, 0.9, 3 if not with_lam else 0.9),
        (6, {1: "term", 3: "trunc"}, 0.8, 3 if not with_lam else 0.9),
        ((5, 2), None, 0.9, 2 if not with_lam else 0.9),
        ((8, 3), None, 0.95, 3 if not with_lam else 0.95),
        ((12, 4), None, 0.99, 5 if not with_lam else 0.95),
    ]
    cases = []
    for shape, where, gamma, last in specs:
        if isinstance(shape, tuple):
            terminated, truncated = _random_flags(rng, shape)
            label = f"(T, N) = {shape}, random episode ends"
        else:
            terminated, truncated = _flags((shape,), where or {})
            label = f"T = {shape}, {_describe_ends(terminated, truncated)}"
            if terminated[-1] or truncated[-1]:
                label += " (the last step)" if shape > 1 else ""
        values, next_values = _values_pair(rng, terminated, truncated)
        rewards = _r(rng, terminated.shape)
        if with_lam:
            inputs: dict[str, Any] = {
                "rewards": rewards,
                "values": values,
                "next_values": next_values,
                "terminated": terminated,
                "truncated": truncated,
                "gamma": gamma,
                "lam": last,
            }
            label += f", gamma = {gamma:g}, lam = {last:g}"
        else:
            inputs = {
                "rewards": rewards,
                "next_values": next_values,
                "terminated": terminated,
                "truncated": truncated,
                "gamma": gamma,
                "n": int(last),
            }
            label += f", gamma = {gamma:g}, n = {int(last)}"
        cases.append(_Case(label, inputs))
    return cases
