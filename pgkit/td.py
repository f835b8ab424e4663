r"""Temporal-difference learning: TD errors, and tabular prediction of :math:`V(s)` (Chapter 6).

:func:`td_errors` computes the one-step TD error :math:`\delta_t` of a time-major batch, with the
array conventions of :mod:`pgkit.returns` (numpy in, numpy out; torch in, torch out;
``terminated`` kept apart from truncation). The rest of the module learns the value of a fixed
policy from whole episodes, as Chapter 6 does on the random walk.

A value table is a float array ``values`` with one entry per state, ``values[s]`` being
:math:`V(s)`; N independent tables (runs, or one per step size) are stacked as ``(N, S)``.
Episodes are stored time-major and padded: ``states``, shape ``(T + 1,)`` or ``(T + 1, N)``,
holds :math:`s_0, \dots, s_T`; ``rewards``, shape ``(T,)`` or ``(T, N)``, holds
:math:`r_0, \dots, r_{T-1}` (:math:`r_t` follows the step from :math:`s_t`); and ``lengths[i]``
says where column i's episode ends: :math:`s_{L_i}` with :math:`L_i` = ``lengths[i]`` is terminal
and the entries after it are padding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import pgkit.envs  # noqa: F401  (registers the "pgkit/..." ids)
from pgkit import validation
from pgkit.returns import _deltas, _prepare, n_step_returns
from pgkit.validation import (
    check_finite,
    check_positive_int,
    check_seed,
    check_unit_interval,
    to_numpy,
)

__all__ = ["n_step_td_episode", "tabular_episodes", "td_errors"]


def td_errors(rewards: Any, values: Any, next_values: Any, terminated: Any, gamma: float) -> Any:
    r"""One-step temporal-difference errors (Chapter 6).

    Equation :eq:`ch6-td-error` of Chapter 6.

    .. math::

        \delta_t = r_t + \gamma (1 - \text{terminated}_t) V(s_{t+1}) - V(s_t).

    Truncation does not appear: ``next_values[t]`` is the value of the true next observation, so a
    cut-off episode is bootstrapped exactly like an ongoing one.

    Parameters
    ----------
    rewards : array_like, shape (T,) or (T, N)
        :math:`r_t`, time-major.
    values, next_values : array_like, same shape as ``rewards``
        :math:`V(s_t)` and :math:`V(s_{t+1})`.
    terminated : array_like of bool, same shape as ``rewards``
        :math:`s_{t+1}` is terminal.
    gamma : float in [0, 1]
        Discount :math:`\gamma`.

    Returns
    -------
    deltas : same kind and shape as ``rewards``, float32 or float64 (see the module notes)
        :math:`\delta_t`.
    """
    gamma = check_unit_interval("gamma", gamma)
    (r, v, nv), (term,), restore = _prepare(
        {"rewards": rewards, "values": values, "next_values": next_values},
        {"terminated": terminated},
    )
    return restore(_deltas(r, v, nv, term, gamma))


def _check_alpha(alpha: Any, runs: int) -> np.ndarray:
    """Step sizes as a (runs,) float array: one number for every run, or one per run."""
    if np.ndim(alpha) == 0:
        return np.full(runs, check_unit_interval("alpha", alpha))
    arr = to_numpy(alpha, "alpha")
    if arr.dtype == bool:
        raise TypeError("alpha must hold step sizes in [0, 1], got booleans")
    if arr.shape != (runs,):
        raise ValueError(
            f"alpha must be one number or one step size per run, shape ({runs},), "
            f"got shape {arr.shape}"
        )
    arr = arr.astype(np.float64)
    if np.isnan(arr).any() or (arr < 0).any() or (arr > 1).any():
        raise ValueError(f"every alpha must lie in [0, 1], got {arr.min()} .. {arr.max()}")
    return arr


def _check_episodes(values, states, rewards, lengths):
    """Validate the arguments of n_step_td_episode; return 2-D float / int arrays."""
    values = to_numpy(values, "values", dtype=np.float64)
    states = to_numpy(states, "states")
    rewards = to_numpy(rewards, "rewards", dtype=np.float64)
    if values.ndim not in (1, 2):
        raise ValueError(
            f"values must be a value table of shape (S,) or (N, S), got {values.shape}"
        )
    if states.ndim not in (1, 2) or states.shape[0] < 2:
        raise ValueError(
            f"states must be time-major with shape (T + 1,) or (T + 1, N), s_0 .. s_T with "
            f"T >= 1, got shape {states.shape}"
        )
    if not np.issubdtype(states.dtype, np.integer):
        raise TypeError(f"states must be integer state indices, got dtype {states.dtype}")
    one_run = states.ndim == 1
    runs = 1 if one_run else states.shape[1]
    expected_values = (values.shape[-1],) if one_run else (runs, values.shape[-1])
    if values.ndim != states.ndim or values.shape != expected_values or values.shape[-1] == 0:
        want = "(S,)" if one_run else f"({runs}, S)"
        raise ValueError(
            f"values must be a value table of shape {want} to match states {states.shape}, "
            f"got shape {values.shape}"
        )
    T = states.shape[0] - 1
    if rewards.shape != (T, *states.shape[1:]):
        raise ValueError(
            f"rewards must have one row fewer than states, shape {(T, *states.shape[1:])}, "
            f"got shape {rewards.shape}"
        )
    check_finite("values", values)
    check_finite("rewards", rewards)
    n_states = values.shape[-1]
    if states.min() < 0 or states.max() >= n_states:
        raise ValueError(
            f"states must index the value table, 0 <= s < {n_states}, got values from "
            f"{states.min()} to {states.max()}"
        )
    if lengths is None:
        lengths = np.full(runs, T)
    else:
        lengths = to_numpy(lengths, "lengths")
        if not np.issubdtype(lengths.dtype, np.integer):
            raise TypeError(f"lengths must be integers, got dtype {lengths.dtype}")
        if lengths.shape != (() if one_run else (runs,)):
            want = "one integer" if one_run else f"shape ({runs},)"
            raise ValueError(f"lengths must be {want}, one per episode, got shape {lengths.shape}")
        lengths = lengths.reshape(runs)
        if lengths.min() < 1 or lengths.max() > T:
            raise ValueError(
                f"lengths must lie in 1 .. {T} (the steps stored in rewards), got "
                f"{lengths.min()} .. {lengths.max()}"
            )
    values = values.astype(np.float64).reshape(runs, n_states)
    states = states.reshape(T + 1, runs)
    rewards = rewards.astype(np.float64).reshape(T, runs)
    return values, states, rewards, lengths.astype(np.int64), one_run


def n_step_td_episode(
    values: Any,
    states: Any,
    rewards: Any,
    gamma: float,
    n: int,
    alpha: Any,
    lengths: Any = None,
) -> np.ndarray:
    r"""Tabular n-step TD prediction over one episode, updating :math:`V` online (Chapter 6).

    For :math:`\tau = 0, 1, \dots, L - 1` in order (:math:`L` the episode's length), with the table
    as updated so far,

    .. math::

        \begin{aligned}
        G^{(n)}_\tau &= \sum_{k=0}^{m-1} \gamma^k r_{\tau+k} + [\tau + n < L]\, \gamma^n V(s_{\tau+n}),
        \qquad m = \min(n, L - \tau), \\
        V(s_\tau) &\leftarrow V(s_\tau) + \alpha \big(G^{(n)}_\tau - V(s_\tau)\big).
        \end{aligned}

    This is the online algorithm of Sutton and Barto (2018, section 7.1): the update of
    :math:`s_\tau` happens once :math:`r_{\tau+n-1}` is seen, so later targets read the values it
    changed. :math:`n = 1` is TD(0); :math:`n \ge L` is the constant-:math:`\alpha` Monte Carlo
    update. Terminal states are never updated and never bootstrapped from (the target stops at the
    episode's end).

    Parameters
    ----------
    values : array_like, shape (S,) or (N, S)
        The value table, or N stacked tables for N independent runs; not modified.
    states : array_like of int, shape (T + 1,) or (T + 1, N)
        Indices into the table, :math:`s_0, \dots, s_T`.
    rewards : array_like, shape (T,) or (T, N)
        :math:`r_0, \dots, r_{T-1}`.
    gamma : float in [0, 1]
        Discount :math:`\gamma`.
    n : int, at least 1
        Number of rewards in each target.
    alpha : float in [0, 1], or array_like of shape (N,)
        Step size :math:`\alpha`, one for every run or one per run.
    lengths : None, int, or array_like of int, shape (N,)
        Each episode's length in ``1 .. T``; None means every episode lasts T steps.

    Returns
    -------
    values : numpy.ndarray of float64, shaped like ``values``
        The updated table, a new array.

    Raises
    ------
    ValueError, TypeError
        When shapes do not match, a state is outside the table, or a length, ``gamma``, ``n`` or
        ``alpha`` is out of range.
    """
    gamma = check_unit_interval("gamma", gamma)
    n = check_positive_int("n", n)
    V, states, rewards, lengths, one_run = _check_episodes(values, states, rewards, lengths)
    runs, T = V.shape[0], rewards.shape[0]
    alpha = _check_alpha(alpha, runs)
    steps = np.arange(T)[:, None]
    # Padding after an episode's end must not leak into its n-step sums.
    rewards = np.where(steps < lengths, rewards, 0.0)
    terminated = steps == lengths - 1
    # The reward part of every target is fixed by the episode; only the bootstrap term reads V,
    # and it must read V as updated so far, so it is added inside the loop.
    reward_sums = n_step_returns(
        rewards=rewards,
        next_values=np.zeros_like(rewards),
        terminated=terminated,
        truncated=np.zeros_like(terminated),
        gamma=gamma,
        n=n,
    )
    # Flat indices into the stacked tables: run i's V(s) sits at i * S + s.
    index = np.arange(runs) * V.shape[1] + states
    step_sizes = np.where(steps < lengths, alpha, 0.0)
    bootstrap = np.where(steps + n < lengths, gamma**n, 0.0)
    flat = V.reshape(-1)
    for tau in range(T):
        target = reward_sums[tau]
        if tau + n < T:
            target = target + bootstrap[tau] * flat[index[tau + n]]
        flat[index[tau]] += step_sizes[tau] * (target - flat[index[tau]])
    return V[0] if one_run else V


def tabular_episodes(env: Any, episodes: int, seed: int) -> tuple[np.ndarray, ...]:
    r"""Play episodes of an environment with integer states and a single action, padded for :func:`n_step_td_episode` (Chapter 6).

    Made for Chapter 6's ``pgkit/Driving-v0`` and ``pgkit/RandomWalk-v0``. The environment is reset
    with ``seed`` once and then continues its own random stream, so episode i of ``episodes = 10`` is
    the same as episode i of ``episodes = 100``.

    Parameters
    ----------
    env : str or gymnasium.Env
        A gymnasium id (the ``pgkit/`` ids are registered on import) or an environment instance.
    episodes : int, at least 1
        Number of episodes E.
    seed : int
        Seed of the one reset.

    Returns
    -------
    states : numpy.ndarray of int64, shape (T + 1, E)
        :math:`s_0, \dots, s_L` followed by the terminal state repeated.
    rewards : numpy.ndarray of float64, shape (T, E)
        Padded with zeros.
    lengths : numpy.ndarray of int64, shape (E,)
        Each episode's length :math:`L`; T is the longest.

    Raises
    ------
    ValueError
        When the states are not integers, there is more than one action, or an episode is
        truncated (a padded episode cannot say it was cut off): episodes must terminate.
    """
    import gymnasium

    episodes = check_positive_int("episodes", episodes)
    if isinstance(env, str):
        env = gymnasium.make(env)
    if not isinstance(env.observation_space, gymnasium.spaces.Discrete):
        raise ValueError(
            f"env must have integer states (a Discrete observation space) for a value table, "
            f"got {env.observation_space}"
        )
    if not (isinstance(env.action_space, gymnasium.spaces.Discrete) and env.action_space.n == 1):
        raise ValueError(
            f"env must have a single action (there is no policy to choose with), got "
            f"{env.action_space}"
        )
    all_states, all_rewards = [], []
    env.reset(seed=check_seed("seed", seed))
    for _ in range(episodes):
        state, _ = env.reset()
        states, rewards = [int(state)], []
        done = False
        while not done:
            if len(rewards) >= validation.MAX_EPISODE_STEPS:
                raise ValueError(
                    f"an episode of {env} ran {len(rewards)} steps without terminating; "
                    "tabular_episodes needs episodes that end (if they really are longer, "
                    "raise pgkit.validation.MAX_EPISODE_STEPS)"
                )
            state, reward, terminated, truncated, _ = env.step(0)
            if truncated and not terminated:
                raise ValueError(
                    "an episode was truncated; tabular_episodes needs episodes that terminate "
                    "(remove the time limit or use an environment without one)"
                )
            states.append(int(state))
            rewards.append(float(reward))
            done = terminated
        all_states.append(states)
        all_rewards.append(rewards)
    lengths = np.array([len(r) for r in all_rewards], dtype=np.int64)
    T = int(lengths.max())
    states = np.array([s + [s[-1]] * (T + 1 - len(s)) for s in all_states]).T
    rewards = np.array([r + [0.0] * (T - len(r)) for r in all_rewards]).T
    return states.astype(np.int64), rewards.astype(np.float64), lengths
