r"""Linear-quadratic regulators solved exactly: optimal gains, returns of linear policies (Chapter 4).

For dynamics :math:`x' = Ax + Ba` and reward :math:`-(x^\top Q x + a^\top R a)`, :func:`lqr_gain`
and :func:`finite_horizon_lqr` give the optimal gains and :func:`linear_policy_return` the exact
expected return of any linear Gaussian policy; ``pgkit/PointMass-v0`` is the one-dimensional case.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pgkit.validation import (
    check_finite,
    check_number,
    check_positive_int,
    check_unit_interval,
    to_numpy,
)

__all__ = ["finite_horizon_lqr", "linear_policy_return", "lqr_gain"]


def _as_matrices(A: Any, B: Any, Q: Any, R: Any) -> tuple[np.ndarray, ...]:
    A, B, Q, R = (
        np.atleast_2d(to_numpy(m, name, dtype=np.float64))
        for m, name in ((A, "A"), (B, "B"), (Q, "Q"), (R, "R"))
    )
    n, m = B.shape
    for name, mat, shape in (("A", A, (n, n)), ("Q", Q, (n, n)), ("R", R, (m, m))):
        if mat.shape != shape:
            raise ValueError(
                f"{name} must have shape {shape} to match B of shape {B.shape} (state dim {n}, "
                f"action dim {m}), got {mat.shape}"
            )
        check_finite(name, mat)
    return A, B, Q, R


def lqr_gain(
    A: Any, B: Any, Q: Any, R: Any, gamma: float = 1.0, tol: float = 1e-14, max_iter: int = 10_000
) -> tuple[np.ndarray, np.ndarray]:
    r"""Stationary LQR gain ``K`` (policy :math:`a = -Kx`) and cost matrix ``P`` (Chapter 4).

    For :math:`x' = Ax + Ba` and reward :math:`-(x^\top Q x + a^\top R a)` discounted by
    :math:`\gamma`, the optimal infinite-horizon value is :math:`V(x) = -x^\top P x`, where
    ``P`` is the fixed point of the discounted Riccati equation

    .. math::

        \begin{aligned}
        P &= Q + \gamma A^\top P A
            - \gamma^2 A^\top P B\,(R + \gamma B^\top P B)^{-1} B^\top P A, \\
        K &= \gamma\,(R + \gamma B^\top P B)^{-1} B^\top P A,
        \end{aligned}

    found by iterating it from ``P = Q`` (value iteration) until ``P`` changes by < ``tol``.

    Parameters
    ----------
    A, B : array_like, shapes (n, n) and (n, m)
        Dynamics.
    Q, R : array_like, shapes (n, n) and (m, m)
        State and action cost; :math:`Q` positive semi-definite, :math:`R` positive definite.
    gamma : float in [0, 1]
        Discount :math:`\gamma` (default 1).
    tol : float
        Convergence tolerance on the change of ``P``.
    max_iter : int
        Most iterations before giving up.

    Returns
    -------
    K : numpy.ndarray, shape (m, n)
    P : numpy.ndarray, shape (n, n)

    Raises
    ------
    ValueError
        When the iteration diverges or does not converge in ``max_iter`` steps (``(A, B)``
        not stabilisable and :math:`\gamma = 1`, or ``Q`` / ``R`` not as above).
    """
    A, B, Q, R = _as_matrices(A, B, Q, R)
    gamma = check_unit_interval("gamma", gamma)
    P = Q.copy()
    for _ in range(max_iter):
        K = gamma * np.linalg.solve(R + gamma * B.T @ P @ B, B.T @ P @ A)
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below
            P_next = Q + K.T @ R @ K + gamma * (A - B @ K).T @ P @ (A - B @ K)
        if not np.all(np.isfinite(P_next)):
            break
        if np.max(np.abs(P_next - P)) < tol * max(1.0, np.max(np.abs(P))):
            return K, P_next
        P = P_next
    raise ValueError(
        "the Riccati iteration did not converge: check that (A, B) is stabilisable (or use "
        "gamma < 1) and that Q is positive semi-definite and R positive definite"
    )


def finite_horizon_lqr(
    A: Any, B: Any, Q: Any, R: Any, horizon: int, gamma: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    r"""Time-varying optimal gains ``K_t`` for an ``horizon``-step LQR and the cost matrix ``P_0``.

    Backward Riccati recursion from :math:`P_H = 0`:

    .. math::

        \begin{aligned}
        K_t &= \gamma (R + \gamma B^\top P_{t+1} B)^{-1} B^\top P_{t+1} A, \\
        P_t &= Q + K_t^\top R K_t + \gamma (A - BK_t)^\top P_{t+1} (A - BK_t).
        \end{aligned}

    The best possible expected return from :math:`x_0` is :math:`-\mathbb E[x_0^\top P_0 x_0]`.

    Parameters
    ----------
    A, B, Q, R : array_like, shapes (n, n), (n, m), (n, n), (m, m)
        Dynamics and costs, as in :func:`lqr_gain`.
    horizon : int >= 1
        Number of steps :math:`H`.
    gamma : float in [0, 1]
        Discount :math:`\gamma` (default 1).

    Returns
    -------
    K : numpy.ndarray, shape (horizon, m, n)
        The gains :math:`K_t`, policy :math:`a_t = -K_t x_t`.
    P_0 : numpy.ndarray, shape (n, n)
    """
    A, B, Q, R = _as_matrices(A, B, Q, R)
    horizon = check_positive_int("horizon", horizon)
    gamma = check_unit_interval("gamma", gamma)
    P = np.zeros_like(Q)
    gains = np.zeros((horizon, B.shape[1], A.shape[0]))
    for t in reversed(range(horizon)):
        K = gamma * np.linalg.solve(R + gamma * B.T @ P @ B, B.T @ P @ A)
        P = Q + K.T @ R @ K + gamma * (A - B @ K).T @ P @ (A - B @ K)
        gains[t] = K
    return gains, P


def linear_policy_return(
    K: Any,
    A: Any,
    B: Any,
    Q: Any,
    R: Any,
    horizon: int,
    init_second_moment: Any,
    gamma: float = 1.0,
    action_std: float = 0.0,
) -> float:
    r"""Exact expected ``horizon``-step return of the policy :math:`a = -Kx + \sigma\varepsilon`.

    With :math:`\varepsilon \sim \mathcal N(0, I)` independent of the state, the second moment
    :math:`S_t = \mathbb E[x_t x_t^\top]` follows the Lyapunov-type recursion

    .. math::

        S_{t+1} = (A - BK)\,S_t\,(A - BK)^\top + \sigma^2 B B^\top,

    and :math:`\mathbb E[r_t] = -\operatorname{tr}\big((Q + K^\top R K) S_t\big)
    - \sigma^2 \operatorname{tr}(R)`, so :math:`J = \sum_{t<H} \gamma^t\,\mathbb E[r_t]`.
    Exact as long as the environment never clips the action.

    Parameters
    ----------
    K : array_like, shape (m, n)
        The gain.
    A, B, Q, R : array_like, shapes (n, n), (n, m), (n, n), (m, m)
        Dynamics and costs, as in :func:`lqr_gain`.
    horizon : int >= 1
        Number of steps :math:`H`.
    init_second_moment : array_like, shape (n, n)
        :math:`S_0 = \mathbb E[x_0 x_0^\top]`.
    gamma : float in [0, 1]
        Discount :math:`\gamma` (default 1).
    action_std : float >= 0
        :math:`\sigma` (default 0, the deterministic policy).

    Returns
    -------
    float
        :math:`J`.
    """
    A, B, Q, R = _as_matrices(A, B, Q, R)
    n, m = B.shape
    K = np.atleast_2d(to_numpy(K, "K", dtype=np.float64))
    S = np.atleast_2d(to_numpy(init_second_moment, "init_second_moment", dtype=np.float64))
    if K.shape != (m, n) or S.shape != (n, n):
        raise ValueError(
            f"K must have shape {(m, n)} and init_second_moment {(n, n)}, got {K.shape} and {S.shape}"
        )
    horizon = check_positive_int("horizon", horizon)
    gamma = check_unit_interval("gamma", gamma)
    action_std = check_number("action_std", action_std, low=0.0)
    closed_loop = A - B @ K
    step_cost = Q + K.T @ R @ K
    total = 0.0
    for t in range(horizon):
        total += gamma**t * (np.trace(step_cost @ S) + action_std**2 * np.trace(R))
        S = closed_loop @ S @ closed_loop.T + action_std**2 * B @ B.T
    return -float(total)
