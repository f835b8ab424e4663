r"""Episodes of a :class:`~pgkit.tabular.TabularMDP`, sampled as time-major arrays, and their
scores in closed form (Chapter 5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pgkit.tabular.mdp import TabularMDP, policy
from pgkit.validation import (
    check_positive_int,
    check_seed,
    to_numpy,
)

__all__ = [
    "Episodes",
    "sample_episodes",
    "scores",
]


@dataclass(frozen=True, eq=False)
class Episodes:
    r"""Time-major episodes from :func:`sample_episodes`: column n is episode n, then padding.

    Row t of column n is step t of episode n while ``mask[t, n]``; after the episode's last step
    the column is padded with state 0, action 0, reward 0 and both flags False.

    Parameters
    ----------
    states, next_states : numpy.ndarray of int64, shape (T, N)
        :math:`s_t` and :math:`s_{t+1}`. When the episode ended by the termination probability
        there is no next state; ``next_states`` repeats :math:`s_t` and ``terminated`` is set.
    actions : numpy.ndarray of int64, shape (T, N)
        :math:`a_t`.
    rewards : numpy.ndarray of float64, shape (T, N)
        :math:`r_t = r(s_t, a_t)`.
    terminated, truncated : numpy.ndarray of bool, shape (T, N)
        The episode terminated after step t, or was cut off there by ``max_length``.
    mask : numpy.ndarray of bool, shape (T, N)
        Step t belongs to episode n.
    lengths : numpy.ndarray of int64, shape (N,)
        Number of steps of each episode; T is the longest.
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_states: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray


def _draw(cumulative: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One index per row of cumulative probabilities (last column exactly 1)."""
    u = rng.random(len(cumulative))
    return (u[:, None] >= cumulative[:, :-1]).sum(axis=1)


def sample_episodes(
    mdp: TabularMDP, theta: Any, episodes: int, max_length: int, seed: int
) -> Episodes:
    r"""Draw episodes :math:`\tau_1, \dots, \tau_N \sim p_\theta`, all at once (Chapter 3).

    :math:`s_0 \sim \rho_0`, :math:`a_t \sim \pi_\theta(\cdot \mid s_t)`,
    :math:`r_t = r(s_t, a_t)`, :math:`s_{t+1} \sim P(\cdot \mid s_t, a_t)`, until the episode
    terminates (enters a terminal state, or ends by the termination probability) or reaches
    ``max_length`` steps, where it is truncated.

    Parameters
    ----------
    mdp, theta : TabularMDP, and array_like or torch.Tensor of shape (S, A)
        The MDP and the (finite) logits :math:`\theta` of the softmax policy.
    episodes : int, at least 1
        N, the number of episodes.
    max_length : int, at least 1
        The time limit: longer episodes are truncated after this many steps.
    seed : int, at least 0
        Seed of the ``numpy.random.Generator`` that draws everything.

    Returns
    -------
    episodes : Episodes
        Time-major arrays of shape (T, N), T the longest episode's length.
    """
    pi = policy(mdp, theta)
    n = check_positive_int("episodes", episodes)
    horizon = check_positive_int("max_length", max_length)
    rng = np.random.default_rng(check_seed("seed", seed))
    n_states = mdp.n_states
    # Outcome n_states stands for "the episode ends here" (the termination probability).
    outcomes = np.concatenate([mdp.transitions, 1 - mdp.transitions.sum(-1, keepdims=True)], -1)
    outcomes = np.cumsum(np.clip(outcomes, 0, None), axis=-1)
    outcomes[..., -1] = 1.0
    policy_cumulative = np.cumsum(pi, axis=1)
    policy_cumulative[:, -1] = 1.0
    ints, flags = ("states", "actions", "next_states"), ("terminated", "truncated", "mask")
    arrays = {name: np.zeros((horizon, n), dtype=np.int64) for name in ints}
    arrays |= {name: np.zeros((horizon, n), dtype=bool) for name in flags}
    arrays["rewards"] = np.zeros((horizon, n))
    state = _draw(np.cumsum(mdp.initial)[None].repeat(n, 0), rng)
    running, t = np.arange(n), 0
    while running.size and t < horizon:
        s = state[running]
        a = _draw(policy_cumulative[s], rng)
        following = _draw(outcomes[s, a], rng)
        ended = following == n_states
        following = np.where(ended, s, following)
        term = ended | mdp.terminal[following]
        step = {"states": s, "actions": a, "rewards": mdp.rewards[s, a], "mask": True,
                "next_states": following, "terminated": term,
                "truncated": ~term & (t == horizon - 1)}  # fmt: skip
        for name, value in step.items():
            arrays[name][t, running] = value
        state[running] = following
        running, t = running[~term], t + 1
    lengths = arrays["mask"].sum(axis=0).astype(np.int64)
    return Episodes(**{name: x[:t] for name, x in arrays.items()}, lengths=lengths)


def _indices(name: str, x: Any, size: int) -> np.ndarray:
    arr = to_numpy(x, name)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integer indices, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= size):
        raise ValueError(f"{name} must lie in [0, {size - 1}], got {arr.min()}..{arr.max()}")
    return arr


def scores(mdp: TabularMDP, theta: Any, states: Any, actions: Any) -> np.ndarray:
    r"""Closed-form scores :math:`\nabla_\theta \log \pi_\theta(a_t \mid s_t)` of the tabular softmax (Chapter 3).

    .. math::

        \frac{\partial \log \pi_\theta(a \mid s)}{\partial \theta_{s',b}}
        = \mathbb{1}[s' = s]\, \big(\mathbb{1}[b = a] - \pi_\theta(b \mid s)\big),

    one-hot minus :math:`\pi`, in row :math:`s` only. Padding rows of :class:`Episodes` get the
    score of state 0 and action 0: weight them by ``mask`` (or by weights that are 0 there).

    Parameters
    ----------
    mdp, theta : TabularMDP, and array_like or torch.Tensor of shape (S, A)
        The MDP and the (finite) logits :math:`\theta` of the softmax policy.
    states, actions : array_like of int, same shape, e.g. (T, N)
        :math:`s_t` and :math:`a_t`.

    Returns
    -------
    scores : numpy.ndarray, shape ``states.shape + (S, A)``, float64
        The gradient of :math:`\log \pi_\theta(a_t \mid s_t)` for every entry.
    """
    pi = policy(mdp, theta)
    s = _indices("states", states, mdp.n_states)
    a = _indices("actions", actions, mdp.n_actions)
    if s.shape != a.shape:
        raise ValueError(f"states {s.shape} and actions {a.shape} must have the same shape")
    local = np.eye(mdp.n_actions)[a] - pi[s]  # (..., A)
    return np.eye(mdp.n_states)[s][..., :, None] * local[..., None, :]
