r"""Values of a :class:`~pgkit.tabular.TabularMDP` whose episodes stop after a time limit
:math:`H` that is part of the task: they depend on the time :math:`t` as well as on the state,
and are computed by backward recursion from :math:`V_H = 0` (Chapter 6)."""

from __future__ import annotations

from typing import Any

import numpy as np

from pgkit.tabular.mdp import TabularMDP, _check_mdp, _continuing, policy
from pgkit.validation import check_int, check_no_overflow

__all__ = [
    "finite_horizon_optimal",
    "finite_horizon_values",
]


def finite_horizon_values(mdp: TabularMDP, theta: Any, horizon: int) -> np.ndarray:
    r"""Time-dependent values :math:`V_t(s)` of a task that stops after ``horizon`` steps (Chapter 6).

    The return from step :math:`t` stops at the limit,
    :math:`G_t = \sum_{k=0}^{H-1-t} \gamma^k r_{t+k}`, so its expectation depends on the time
    :math:`t` (equivalently the time left :math:`H - t`), computed backwards from the limit,
    :eq:`ch6-finite-horizon`:

    .. math::

        V_H(s) = 0, \qquad V_t(s) = r_\pi(s) + \gamma \sum_{s'} P_\pi(s, s')\, V_{t+1}(s'),
        \quad t = H-1, \dots, 0,

    with :math:`r_\pi` and :math:`P_\pi` as in :func:`values` (0 at terminal states). As
    :math:`H` grows with :math:`\gamma < 1`, :math:`V_0` tends to the unbounded value
    :math:`V^\pi` of :func:`values`, the gap being
    :math:`V^\pi(s) - V_t(s) = \gamma^{H-t}\, \mathbb{E}[V^\pi(s_H) \mid s_t = s]`.

    Parameters
    ----------
    mdp, theta : TabularMDP, and array_like or torch.Tensor of shape (S, A)
        The MDP and the (finite) logits :math:`\theta` of the softmax policy.
    horizon : int, at least 0
        :math:`H`, the number of steps the task lasts.

    Returns
    -------
    values : numpy.ndarray, shape (H + 1, S), float64
        Row :math:`t` is :math:`V_t`, the value with :math:`H - t` steps left; the last row is 0.

    Raises
    ------
    TypeError, ValueError
        Naming the argument that is not of this form.

    Examples
    --------
    >>> from pgkit import tabular
    >>> mdp = tabular.two_state_mdp(gamma=0.5)
    >>> stay = [[9.0, -9.0], [-9.0, 9.0]]  # logits: stay put
    >>> tabular.finite_horizon_values(mdp, stay, 2).round(3)
    array([[1.5, 3. ],
           [1. , 2. ],
           [0. , 0. ]])
    """
    pi = policy(mdp, theta)
    n_steps = check_int("horizon", horizon, low=0)
    p_pi = _continuing(mdp, pi)
    r_pi = (pi * mdp.rewards).sum(axis=1)
    v = np.zeros((n_steps + 1, mdp.n_states))
    with np.errstate(over="ignore", invalid="ignore"):  # refused below by check_no_overflow
        for t in range(n_steps - 1, -1, -1):
            v[t] = r_pi + mdp.gamma * p_pi @ v[t + 1]
    return check_no_overflow(v, "rewards", "theta")


def finite_horizon_optimal(mdp: TabularMDP, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Optimal values :math:`V^*_t(s)` and actions of a task that stops after ``horizon`` steps (Chapter 6).

    Backward induction from the limit, :eq:`ch6-finite-horizon-optimal`:

    .. math::

        V^*_H(s) = 0, \qquad
        V^*_t(s) = \max_a \Big[ r(s, a) + \gamma \sum_{s' \text{ not terminal}}
        P(s' \mid s, a)\, V^*_{t+1}(s') \Big],

    and the optimal action :math:`a^*_t(s)` is the maximiser, which can differ between times
    for the same state: with a limit that is part of the task, the best policy depends on the
    time left.

    Parameters
    ----------
    mdp : TabularMDP
        The MDP.
    horizon : int, at least 0
        :math:`H`, the number of steps the task lasts.

    Returns
    -------
    values : numpy.ndarray, shape (H + 1, S), float64
        Row :math:`t` is :math:`V^*_t`; the last row is 0.
    actions : numpy.ndarray, shape (H, S), int64
        :math:`a^*_t(s)`, the lowest-numbered action among ties (0 at terminal states).

    Raises
    ------
    TypeError, ValueError
        Naming the argument that is not of this form.

    Examples
    --------
    >>> from pgkit import tabular
    >>> mdp = tabular.two_state_mdp(gamma=0.9)
    >>> values, actions = tabular.finite_horizon_optimal(mdp, 3)
    >>> actions[:, 0]  # state 0: move with 3 steps left, else stay
    array([1, 0, 0])
    """
    mdp = _check_mdp(mdp)
    n_steps = check_int("horizon", horizon, low=0)
    keep = ~mdp.terminal
    p = mdp.transitions * keep[:, None, None] * keep[None, None, :]
    v = np.zeros((n_steps + 1, mdp.n_states))
    actions = np.zeros((n_steps, mdp.n_states), dtype=np.int64)
    with np.errstate(over="ignore", invalid="ignore"):  # refused below by check_no_overflow
        for t in range(n_steps - 1, -1, -1):
            q = mdp.rewards + mdp.gamma * p @ v[t + 1]
            actions[t] = q.argmax(axis=1)
            v[t] = q.max(axis=1)
    return check_no_overflow(v, "rewards"), actions
