"""Returns and advantages: the weights that policy-gradient estimators put on log-probabilities.

Every function takes time-major arrays of shape ``(T,)`` or ``(T, N)`` (N parallel environments)
and returns an array of the same shape and kind: numpy in -> numpy out, torch in -> torch out
(same floating dtype and device, detached). Inputs are never modified.

Notation: ``r_t = rewards[t]``, ``V(s_t) = values[t]`` and ``V(s_{t+1}) = next_values[t]``, the value
of the true next observation (the final observation when the episode ended after step t).
``terminated[t]``: s_{t+1} is terminal, nothing follows, so V(s_{t+1}) is not used.
``truncated[t]``: the episode was cut off (time limit, end of the data), so the rest of it is
estimated by V(s_{t+1}). ``done_t = terminated_t or truncated_t``. The last row, t = T - 1, is
treated as truncated unless it is terminated: the data ends there, the episode need not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pgkit.validation import (
    check_bool_flags,
    check_finite,
    check_not_flags,
    check_positive_int,
    check_same_shape,
    check_time_major,
    check_unit_interval,
    is_torch,
    to_numpy,
)

__all__ = [
    "discounted_returns",
    "gae",
    "lambda_returns",
    "n_step_returns",
    "normalize_advantages",
    "td_errors",
    "trajectory_returns",
]


def _prepare(
    floats: dict[str, Any], flags: dict[str, Any] | None = None
) -> tuple[list[np.ndarray], list[np.ndarray], Callable[[np.ndarray], Any]]:
    """Validate the arguments; return them as float64 / bool numpy arrays and a function that
    turns a float64 result back into the caller's kind (numpy or torch), dtype and device."""
    flags = flags or {}
    arrays = {name: to_numpy(x, name) for name, x in {**floats, **flags}.items()}
    for name in floats:
        check_not_flags(name, arrays[name])
    for name, arr in arrays.items():
        check_time_major(name, arr)
    check_same_shape(**arrays)
    for name in floats:
        check_finite(name, arrays[name])
    # Integer rewards give float64, float32 stays float32: the smallest float that holds the inputs.
    out_dtype = np.result_type(*(arrays[name].dtype for name in floats), np.float32)
    like = next((x for x in floats.values() if is_torch(x)), None)

    def restore(result: np.ndarray) -> Any:
        result = result.astype(out_dtype, copy=False)
        if like is None:
            return result
        import torch  # already loaded: a tensor came in

        return torch.from_numpy(result).to(like.device)

    # Accumulating in float64 keeps long discounted sums accurate even for float32 inputs.
    float_arrays = [arrays[name].astype(np.float64) for name in floats]
    flag_arrays = [check_bool_flags(name, arrays[name]) for name in flags]
    return float_arrays, flag_arrays, restore


def _reverse_scan(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """y_t = x_t + c_t y_{t+1}, with y_T = 0, computed backwards in time (vectorised over N)."""
    y = x.copy()
    for t in range(len(x) - 2, -1, -1):
        y[t] += c[t] * y[t + 1]
    return y


def discounted_returns(rewards: Any, dones: Any, gamma: float) -> Any:
    """Discounted reward-to-go, restarted at every episode end (Chapters 3 and 5).

    G_t = r_t + gamma (1 - done_t) G_{t+1},  G_T = 0,

    i.e. G_t = sum_{k=t}^{end} gamma^{k-t} r_k over the rest of the episode in the batch. Nothing is
    bootstrapped, not even at the end of the data; with gamma = 1 this is the plain reward-to-go.
    rewards, dones: (T,) or (T, N); returns the same shape.
    """
    gamma = check_unit_interval("gamma", gamma)
    (r,), (done,), restore = _prepare({"rewards": rewards}, {"dones": dones})
    return restore(_reverse_scan(r, gamma * ~done))


def trajectory_returns(rewards: Any, dones: Any, gamma: float = 1.0) -> Any:
    """Return of the whole episode, R(tau) = sum_k gamma^k r_k, given to each of its steps
    (Chapters 3 and 5).

    An episode is counted from its first step in the batch to its end (or the end of the data);
    the REINFORCE estimator of Chapter 3 weights every grad log pi(a_t | s_t) of tau by R(tau).
    rewards, dones: (T,) or (T, N); returns the same shape.
    """
    gamma = check_unit_interval("gamma", gamma)
    (r,), (done,), restore = _prepare({"rewards": rewards}, {"dones": dones})
    returns = _reverse_scan(r, gamma * ~done)
    starts = np.ones_like(done)
    starts[1:] = done[:-1]
    steps = np.arange(len(r)).reshape(-1, *[1] * (r.ndim - 1))
    # Index of the latest episode start at or before t: the return from there is R(tau).
    start_index = np.maximum.accumulate(np.where(starts, steps, 0), axis=0)
    return restore(np.take_along_axis(returns, start_index, axis=0))


def _deltas(r, v, nv, term, gamma):
    """delta_t on validated float64 / bool arrays (shared by td_errors and gae)."""
    return r + gamma * np.where(term, 0.0, nv) - v


def td_errors(rewards: Any, values: Any, next_values: Any, terminated: Any, gamma: float) -> Any:
    """One-step temporal-difference errors (Chapter 6).

    delta_t = r_t + gamma (1 - terminated_t) V(s_{t+1}) - V(s_t).

    Truncation does not appear: next_values[t] is the value of the true next observation, so a
    cut-off episode is bootstrapped exactly like an ongoing one.
    All arguments (T,) or (T, N); returns the same shape.
    """
    gamma = check_unit_interval("gamma", gamma)
    (r, v, nv), (term,), restore = _prepare(
        {"rewards": rewards, "values": values, "next_values": next_values},
        {"terminated": terminated},
    )
    return restore(_deltas(r, v, nv, term, gamma))


def n_step_returns(
    rewards: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, n: int
) -> Any:
    """n-step bootstrapped returns (Chapter 6).

    G^(n)_t = sum_{k=0}^{m-1} gamma^k r_{t+k} + gamma^m (1 - terminated_{t+m-1}) V(s_{t+m}),

    where m <= n is cut short by the episode's end, a truncation or the end of the data, so the
    sum never runs past an episode end. n = 1 gives r_t + gamma (1 - terminated_t) V(s_{t+1});
    n >= T gives the Monte Carlo return bootstrapped only where episodes are cut off.
    rewards, next_values, terminated, truncated: (T,) or (T, N); n >= 1; returns the same shape.
    """
    gamma = check_unit_interval("gamma", gamma)
    n = check_positive_int("n", n)
    (r, nv), (term, trunc), restore = _prepare(
        {"rewards": rewards, "next_values": next_values},
        {"terminated": terminated, "truncated": truncated},
    )
    done = term | trunc
    done[-1] = True
    # Monte Carlo return to the end of each episode piece, bootstrapped there unless terminal.
    returns = _reverse_scan(r + gamma * done * np.where(term, 0.0, nv), gamma * ~done)
    if n >= len(r):
        return restore(returns)
    steps_to_end = _reverse_scan(np.ones_like(r), (~done).astype(np.float64))
    # Where the piece runs past step t+n-1, swap the tail gamma^n G_{t+n} for gamma^n V(s_{t+n}).
    runs_past = steps_to_end[:-n] > n
    returns[:-n] += np.where(runs_past, gamma**n * (nv[n - 1 : -1] - returns[n:]), 0.0)
    return restore(returns)


def _gae(rewards, values, next_values, terminated, truncated, gamma, lam):
    gamma = check_unit_interval("gamma", gamma)
    lam = check_unit_interval("lam", lam)
    (r, v, nv), (term, trunc), restore = _prepare(
        {"rewards": rewards, "values": values, "next_values": next_values},
        {"terminated": terminated, "truncated": truncated},
    )
    advantages = _reverse_scan(_deltas(r, v, nv, term, gamma), gamma * lam * ~(term | trunc))
    return advantages, v, restore


def gae(
    rewards: Any,
    values: Any,
    next_values: Any,
    terminated: Any,
    truncated: Any,
    gamma: float,
    lam: float,
) -> Any:
    """Generalised advantage estimation, GAE(gamma, lambda) (Chapter 7).

    A_t = delta_t + gamma lam (1 - done_t) A_{t+1},  A_T = 0,
    with delta_t = r_t + gamma (1 - terminated_t) V(s_{t+1}) - V(s_t) as in ``td_errors``.

    lam = 0 gives delta_t (low variance, biased by V); lam = 1 gives the bootstrapped Monte Carlo
    return minus V(s_t) when next_values[t] = values[t+1] inside episodes.
    All arguments (T,) or (T, N); returns advantages of the same shape.
    """
    advantages, _, restore = _gae(rewards, values, next_values, terminated, truncated, gamma, lam)
    return restore(advantages)


def lambda_returns(
    rewards: Any,
    values: Any,
    next_values: Any,
    terminated: Any,
    truncated: Any,
    gamma: float,
    lam: float,
) -> Any:
    """lambda-returns, the value targets that go with GAE (Chapter 7).

    G^lambda_t = A_t + V(s_t), with A_t from ``gae``. When next_values[t] = values[t+1] inside
    episodes this is the lambda-weighted average of n-step returns,
    (1 - lam) sum_{n>=1} lam^{n-1} G^(n)_t, the remaining weight going to the longest one.
    All arguments (T,) or (T, N); returns the same shape.
    """
    advantages, v, restore = _gae(rewards, values, next_values, terminated, truncated, gamma, lam)
    return restore(advantages + v)


def normalize_advantages(advantages: Any, eps: float = 1e-8) -> Any:
    """Standardise advantages over all entries: (A - mean(A)) / (std(A) + eps) (Chapter 5).

    Uses the population standard deviation (ddof = 0). advantages: (T,) or (T, N); eps >= 0 keeps
    a batch of equal advantages from dividing by zero, and with eps = 0 such a batch gives zeros
    (every entry equals the mean). Returns the same shape, as float32 or wider.
    """
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.integer, np.floating)):
        raise TypeError(f"eps must be a small non-negative number, got {type(eps).__name__}")
    if not np.isfinite(eps) or eps < 0:
        raise ValueError(f"eps must be a small non-negative number such as 1e-8, got {eps}")
    (a,), _, restore = _prepare({"advantages": advantages})
    centred, spread = a - a.mean(), a.std() + eps
    return restore(centred / spread if spread > 0 else np.zeros_like(centred))
