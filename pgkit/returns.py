r"""Returns and advantages: the weights that policy-gradient estimators put on log-probabilities.

Every function takes time-major arrays of shape ``(T,)`` or ``(T, N)`` (N parallel environments)
and returns an array of the same shape and kind: numpy in, numpy out; torch in, torch out (same
device, detached). The result is float32 or float64: the wider of float32 and the float inputs'
dtype (float16 and bfloat16 come back float32, integer rewards float64), since the sums are
accumulated in float64 and half precision cannot hold long discounted sums. Inputs are never
modified.

Notation: :math:`r_t` is ``rewards[t]``, :math:`V(s_t)` is ``values[t]`` and :math:`V(s_{t+1})`
is ``next_values[t]``, the value of the true next observation (the final observation when the
episode ended after step :math:`t`). ``terminated[t]`` means :math:`s_{t+1}` is terminal: nothing
follows, so :math:`V(s_{t+1})` is not used. ``truncated[t]`` means the episode was cut off (time
limit, end of the data), so the rest of it is estimated by :math:`V(s_{t+1})`.
:math:`\text{done}_t` is :math:`\text{terminated}_t` or :math:`\text{truncated}_t`. The last row,
:math:`t = T - 1`, is treated as truncated unless it is terminated: the data ends there, the
episode need not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pgkit.validation import (
    check_bool_flags,
    check_finite,
    check_no_overflow,
    check_not_flags,
    check_number,
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
    "trajectory_returns",
]


def __getattr__(name: str) -> Any:
    # td_errors moved to pgkit.td; importable from here for one release. It loads on first
    # use: pgkit.td imports this module, so importing it back at the top would be circular.
    if name == "td_errors":
        from pgkit.td import td_errors

        return td_errors
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
        with np.errstate(over="ignore"):  # an overflow is reported by name just below
            result = result.astype(out_dtype, copy=False)
        check_no_overflow(result, *floats)
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
    with np.errstate(over="ignore", invalid="ignore"):  # the caller reports an overflow by name
        for t in range(len(x) - 2, -1, -1):
            y[t] += c[t] * y[t + 1]
    return y


def discounted_returns(rewards: Any, dones: Any, gamma: float) -> Any:
    r"""Discounted reward-to-go, restarted at every episode end (Chapters 3 and 5).

    Equation :eq:`ch5-reward-to-go` of Chapter 5.

    .. math::

        G_t = r_t + \gamma (1 - \text{done}_t) G_{t+1}, \qquad G_T = 0,

    that is :math:`G_t = \sum_{k=t}^{\text{end}} \gamma^{k-t} r_k` over the rest of the episode in
    the batch. Nothing is bootstrapped, not even at the end of the data; with :math:`\gamma = 1` this
    is the plain reward-to-go.

    Parameters
    ----------
    rewards : array_like, shape (T,) or (T, N)
        :math:`r_t`, time-major.
    dones : array_like of bool, same shape as ``rewards``
        :math:`\text{done}_t`: the episode ended after step :math:`t`.
    gamma : float in [0, 1]
        Discount :math:`\gamma`.

    Returns
    -------
    returns : same kind and shape as ``rewards``, float32 or float64 (see the module notes)
        :math:`G_t`.
    """
    gamma = check_unit_interval("gamma", gamma)
    (r,), (done,), restore = _prepare({"rewards": rewards}, {"dones": dones})
    return restore(_reverse_scan(r, gamma * ~done))


def trajectory_returns(rewards: Any, dones: Any, gamma: float = 1.0) -> Any:
    r"""Return of the whole episode, :math:`R(\tau) = \sum_k \gamma^k r_k`, given to each of its steps (Chapters 3 and 5).

    Equation :eq:`discounted-return` of Chapter 1.

    An episode is counted from its first step in the batch to its end (or the end of the data); the
    REINFORCE estimator of Chapter 3 weights every :math:`\nabla_\theta \log \pi_\theta(a_t \mid s_t)`
    of :math:`\tau` by :math:`R(\tau)`.

    Parameters
    ----------
    rewards : array_like, shape (T,) or (T, N)
        :math:`r_t`, time-major.
    dones : array_like of bool, same shape as ``rewards``
        :math:`\text{done}_t`: the episode ended after step :math:`t`.
    gamma : float in [0, 1], default 1.0
        Discount :math:`\gamma`.

    Returns
    -------
    returns : same kind and shape as ``rewards``, float32 or float64 (see the module notes)
        :math:`R(\tau)` of the episode each step belongs to.
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
    """delta_t on validated float64 / bool arrays (shared by pgkit.td.td_errors and gae)."""
    return r + gamma * np.where(term, 0.0, nv) - v


def n_step_returns(
    rewards: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, n: int
) -> Any:
    r"""n-step bootstrapped returns (Chapter 6).

    Equation :eq:`ch6-n-step` of Chapter 6.

    .. math::

        G^{(n)}_t = \sum_{k=0}^{m-1} \gamma^k r_{t+k}
        + \gamma^m (1 - \text{terminated}_{t+m-1}) V(s_{t+m}),

    where :math:`m \le n` is cut short by the episode's end, a truncation or the end of the data, so
    the sum never runs past an episode end. :math:`n = 1` gives
    :math:`r_t + \gamma (1 - \text{terminated}_t) V(s_{t+1})`; :math:`n \ge T` gives the Monte Carlo
    return bootstrapped only where episodes are cut off.

    Parameters
    ----------
    rewards : array_like, shape (T,) or (T, N)
        :math:`r_t`, time-major.
    next_values : array_like, same shape as ``rewards``
        :math:`V(s_{t+1})`.
    terminated, truncated : array_like of bool, same shape as ``rewards``
        How each episode piece ends; termination removes the bootstrap value.
    gamma : float in [0, 1]
        Discount :math:`\gamma`.
    n : int, at least 1
        Number of rewards summed before bootstrapping.

    Returns
    -------
    returns : same kind and shape as ``rewards``, float32 or float64 (see the module notes)
        :math:`G^{(n)}_t`.
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
    r"""Generalised advantage estimation, GAE(:math:`\gamma, \lambda`) (Chapter 7).

    Equation :eq:`ch7-gae` of Chapter 7.

    .. math::

        \hat A_t = \delta_t + \gamma\lambda (1 - \text{done}_t) \hat A_{t+1}, \qquad \hat A_T = 0,

    with :math:`\delta_t = r_t + \gamma (1 - \text{terminated}_t) V(s_{t+1}) - V(s_t)` as in
    :func:`pgkit.td.td_errors`. ``lam = 0`` gives :math:`\delta_t` (low variance, biased by :math:`V`);
    ``lam = 1`` gives the bootstrapped Monte Carlo return minus :math:`V(s_t)` when
    ``next_values[t] = values[t+1]`` inside episodes.

    Parameters
    ----------
    rewards : array_like, shape (T,) or (T, N)
        :math:`r_t`, time-major.
    values, next_values : array_like, same shape as ``rewards``
        :math:`V(s_t)` and :math:`V(s_{t+1})`, the value of the true next observation.
    terminated, truncated : array_like of bool, same shape as ``rewards``
        Termination removes the bootstrap value; both end the recursion.
    gamma, lam : float in [0, 1]
        Discount :math:`\gamma` and GAE parameter :math:`\lambda`.

    Returns
    -------
    advantages : same kind and shape as ``rewards``, float32 or float64 (see the module notes)
        :math:`\hat A_t`.
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
    r""":math:`\lambda`-returns, the value targets that go with GAE (Chapter 7).

    Equation :eq:`ch7-lambda-return` of Chapter 7.

    .. math::

        G^\lambda_t = \hat A_t + V(s_t),

    with :math:`\hat A_t` from :func:`gae`. When ``next_values[t] = values[t+1]`` inside episodes this
    is the :math:`\lambda`-weighted average of n-step returns,
    :math:`(1 - \lambda) \sum_{n \ge 1} \lambda^{n-1} G^{(n)}_t`, the remaining weight going to the
    longest one.

    Parameters
    ----------
    rewards : array_like, shape (T,) or (T, N)
        :math:`r_t`, time-major.
    values, next_values : array_like, same shape as ``rewards``
        :math:`V(s_t)` and :math:`V(s_{t+1})`.
    terminated, truncated : array_like of bool, same shape as ``rewards``
        As in :func:`gae`.
    gamma, lam : float in [0, 1]
        Discount :math:`\gamma` and :math:`\lambda`.

    Returns
    -------
    targets : same kind and shape as ``rewards``, float32 or float64 (see the module notes)
        :math:`G^\lambda_t`.
    """
    advantages, v, restore = _gae(rewards, values, next_values, terminated, truncated, gamma, lam)
    return restore(advantages + v)


def normalize_advantages(advantages: Any, eps: float = 1e-8) -> Any:
    r"""Standardise advantages over all entries (Chapter 5).

    .. math::

        \frac{\hat A - \operatorname{mean}(\hat A)}{\operatorname{std}(\hat A) + \epsilon},

    with the population standard deviation (``ddof = 0``).

    Parameters
    ----------
    advantages : array_like, shape (T,) or (T, N)
        :math:`\hat A_t`.
    eps : float, at least 0, default 1e-8
        Keeps a batch of equal advantages from dividing by zero; with ``eps = 0`` such a batch gives
        zeros (every entry equals the mean).

    Returns
    -------
    normalised : same kind and shape as ``advantages``, float32 or wider

    Raises
    ------
    TypeError, ValueError
        When ``eps`` is not a finite non-negative number.
    """
    eps = check_number("eps", eps, low=0.0, hint="a small number such as 1e-8")
    (a,), _, restore = _prepare({"advantages": advantages})
    centred, spread = a - a.mean(), a.std() + eps
    return restore(centred / spread if spread > 0 else np.zeros_like(centred))
