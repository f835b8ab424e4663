r"""Small Gymnasium environments whose exact answers are known.

Importing this module registers four environments under the ``pgkit/`` namespace:

- ``pgkit/Bandit-v0`` (Chapter 2): k-armed Gaussian bandit with one-step episodes;
  exact answer: the arm means and the best arm.
- ``pgkit/Driving-v0`` (Chapter 6): the trip SF -> SJ -> LA -> SD with reward = hours;
  exact answer: :math:`V = (8, 7, 1, 0)` hours.
- ``pgkit/RandomWalk-v0`` (Chapter 6): the 19-state random walk with rewards -1 / +1;
  exact answer: :math:`V(s) = (s + 1)/10 - 1`.
- ``pgkit/PointMass-v0`` (Chapter 4): a 1-D linear-quadratic regulator over :math:`H` steps;
  exact answer: optimal gain :math:`K^* = 1/\varphi = 0.618`, optimal return
  :math:`-\varphi/3 = -0.539`.

Each class docstring derives its answer, and ``tests/test_envs.py`` checks it against an
independent computation (a Bellman linear system, brute force over gains, Monte Carlo).

Usage::

    import gymnasium
    import pgkit.envs  # registers the ids

    env = gymnasium.make("pgkit/Driving-v0")
    env.unwrapped.state_values()  # array([8., 7., 1., 0.])

``gymnasium.make`` wraps the environment, so reach the exact answers through ``env.unwrapped``.
Every environment is seeded by ``reset(seed=...)`` and draws all randomness from
``self.np_random``, so the same seed and actions give the same episode.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from pgkit.validation import (
    check_finite,
    check_number,
    check_positive_int,
    check_seed,
    check_unit_interval,
    to_numpy,
)

__all__ = [
    "BanditEnv",
    "DrivingEnv",
    "RandomWalkEnv",
    "PointMassEnv",
    "PointMassVectorEnv",
    "lqr_gain",
    "finite_horizon_lqr",
    "linear_policy_return",
    "register_envs",
]


class _EpisodicEnv(gymnasium.Env):
    """Shared guard: stepping before ``reset`` or after the episode ended is a usage error."""

    metadata: dict[str, Any] = {"render_modes": []}
    _done = True

    def _check_can_step(self) -> None:
        if self._done:
            raise RuntimeError(
                f"{type(self).__name__}.step() called without a running episode; call reset() "
                "first and again after terminated or truncated is True"
            )

    def _check_discrete_action(self, action: Any) -> int:
        if not self.action_space.contains(action):
            raise ValueError(
                f"action must be an integer in [0, {self.action_space.n - 1}], got {action!r}"
            )
        return int(action)


# ---------------------------------------------------------------------------------------------
# Chapter 2: the k-armed bandit
# ---------------------------------------------------------------------------------------------


class BanditEnv(_EpisodicEnv):
    r"""k-armed bandit with Gaussian rewards: one action, one reward, episode over (Chapter 2).

    Pulling arm ``a`` pays :math:`r \sim \mathcal N(\mu_a, \sigma^2)` and terminates the episode,
    so :math:`J(\theta) = \sum_a \pi_\theta(a)\,\mu_a` exactly, maximised by always pulling
    ``best_arm`` :math:`= \arg\max_a \mu_a` (the first one on ties) for ``optimal_value``
    :math:`= \max_a \mu_a`.

    Observation: ``Box(-1, 1, (1,))``, always ``[0.0]`` (there is one state; the constant input
    lets the same MLP policies used elsewhere run here). Action: ``Discrete(k)``.
    ``info`` holds ``arm_mean`` (:math:`\mu_a`) and ``regret`` (``optimal_value`` :math:`- \mu_a`).

    Parameters
    ----------
    means : array_like, shape (k,), k >= 2
        The arm means :math:`\mu_a`. Default ``(0.2, 0.8, 0.5, -0.3, 0.1)``, so
        ``best_arm == 1`` and ``optimal_value == 0.8``.
    noise_std : float >= 0
        Reward noise :math:`\sigma` (default 1.0; 0 gives deterministic rewards).
    """

    def __init__(self, means: Any = (0.2, 0.8, 0.5, -0.3, 0.1), noise_std: float = 1.0) -> None:
        means = to_numpy(means, "means", dtype=np.float64)
        if means.ndim != 1 or means.shape[0] < 2:
            raise ValueError(
                f"means must be a 1-D sequence with one mean per arm (at least two arms), "
                f"got shape {means.shape}"
            )
        check_finite("means", means)
        self.means = means.copy()
        self.noise_std = check_number("noise_std", noise_std, low=0.0)
        self.best_arm = int(np.argmax(self.means))
        self.optimal_value = float(self.means[self.best_arm])
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Discrete(len(self.means))

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=check_seed("seed", seed, optional=True))
        self._done = False
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action: Any):
        self._check_can_step()
        arm = self._check_discrete_action(action)
        mean = float(self.means[arm])
        reward = mean + self.noise_std * float(self.np_random.standard_normal())
        self._done = True
        info = {"arm_mean": mean, "regret": self.optimal_value - mean}
        return np.zeros(1, dtype=np.float32), reward, True, False, info


# ---------------------------------------------------------------------------------------------
# Chapter 6: the driving example (Monte Carlo versus TD prediction)
# ---------------------------------------------------------------------------------------------


class DrivingEnv(_EpisodicEnv):
    r"""Drive San Francisco -> San Jose -> Los Angeles -> San Diego; reward = hours (Chapter 6).

    States are the cities ``0 = SF, 1 = SJ, 2 = LA, 3 = SD`` (SD is terminal). There is nothing
    to decide: the single action 0 drives the next leg. Leg :math:`k` takes :math:`h_k` hours
    with expectations :math:`\mathbb E[h] = (1, 6, 1)` (SF->SJ, SJ->LA, LA->SD).

    Sign convention: the reward is the hours the leg took, counted *positively* (a cost), so a
    value is an expected number of hours: with :math:`\gamma = 1`

    .. math::

        V(s) = \mathbb E\Big[\sum_{k \ge s} h_k\Big] = \sum_{k \ge s} \mathbb E[h_k],
        \qquad V = (8, 7, 1, 0)\ \text{hours for (SF, SJ, LA, SD)},

    returned by :meth:`state_values`. A sampled trip of 2, 6, 2 hours gives the Monte Carlo
    estimate :math:`G_0 = 10` of :math:`V(\mathrm{SF}) = 8`; replay exactly that trip with
    ``env.reset(options={"leg_hours": [2, 6, 2]})``.

    Leg times are Gamma distributed with mean :math:`\mathbb E[h_k]` and standard deviation
    ``noise_std``, so they are never negative and their mean is exact (a clipped Gaussian would
    bias it). :meth:`leg_hours_distribution` gives the parameters and :meth:`sample_leg_hours`
    draws trips without running the environment.
    ``info`` holds ``city`` (the name of the city just reached, or of the start on reset).

    Parameters
    ----------
    expected_hours : array_like, shape (legs,), all > 0
        Mean hours of each leg. Default ``(1, 6, 1)``.
    noise_std : float or array_like of shape (legs,), >= 0
        Standard deviation of each leg's hours, a number or one per leg (default 0.5; 0 makes
        every trip take exactly the expected hours).
    cities : sequence of str, length legs + 1
        Distinct names of the stops, one more than the legs. Default ``("SF", "SJ", "LA", "SD")``.
    """

    def __init__(
        self,
        expected_hours: Any = (1.0, 6.0, 1.0),
        noise_std: Any = 0.5,
        cities: Any = ("SF", "SJ", "LA", "SD"),
    ) -> None:
        hours = to_numpy(expected_hours, "expected_hours", dtype=np.float64)
        if hours.ndim != 1 or hours.shape[0] < 1:
            raise ValueError(
                f"expected_hours must be a 1-D sequence with one mean per leg, got shape {hours.shape}"
            )
        check_finite("expected_hours", hours)
        if np.any(hours <= 0):
            raise ValueError(
                f"expected_hours must all be > 0 (hours per leg), got {hours.tolist()}"
            )
        std = to_numpy(noise_std, "noise_std", dtype=np.float64)
        if std.ndim == 0:
            std = np.full_like(hours, float(std))
        if std.shape != hours.shape:
            raise ValueError(
                f"noise_std must be a number or have one entry per leg {hours.shape}, got shape "
                f"{std.shape}"
            )
        check_finite("noise_std", std)
        if np.any(std < 0):
            raise ValueError(f"noise_std must be >= 0, got {std.tolist()}")
        cities = tuple(cities)
        if len(cities) != len(hours) + 1 or not all(isinstance(c, str) for c in cities):
            raise ValueError(
                f"cities must be {len(hours) + 1} names (one more than the {len(hours)} legs in "
                f"expected_hours), got {cities!r}"
            )
        if len(set(cities)) != len(cities):
            raise ValueError(f"cities must have distinct names, got {cities!r}")
        self.expected_hours = hours.copy()
        self.noise_std = std.copy()
        self.cities = cities
        self.observation_space = spaces.Discrete(len(cities))
        self.action_space = spaces.Discrete(1)
        self._trip: np.ndarray | None = None

    def state_values(self) -> np.ndarray:
        """Exact :math:`V(s)`: the expected hours still to drive from each city.

        Returns
        -------
        values : numpy.ndarray, shape (n_cities,)
        """
        return np.append(np.cumsum(self.expected_hours[::-1])[::-1], 0.0)

    def leg_hours_distribution(self) -> dict[str, np.ndarray]:
        r"""Leg :math:`k` takes :math:`h_k \sim \mathrm{Gamma}(\text{shape}_k, \text{scale}_k)` hours.

        :math:`\text{shape} = (\text{mean}/\text{std})^2` and
        :math:`\text{scale} = \text{std}^2/\text{mean}` give mean ``expected_hours`` and standard
        deviation ``noise_std``; a leg with std 0 always takes exactly its mean
        (:math:`\text{shape} = \infty`).

        Returns
        -------
        dict of str to numpy.ndarray, each of shape (legs,)
            ``"mean"``, ``"std"``, ``"shape"`` and ``"scale"``.
        """
        with np.errstate(divide="ignore"):
            shape = np.where(
                self.noise_std > 0, (self.expected_hours / self.noise_std) ** 2, np.inf
            )
        scale = self.noise_std**2 / self.expected_hours
        return {
            "mean": self.expected_hours.copy(),
            "std": self.noise_std.copy(),
            "shape": shape,
            "scale": scale,
        }

    def sample_leg_hours(self, n_trips: int = 1, seed: int | None = None) -> np.ndarray:
        """Draw ``n_trips`` trips from the environment's leg-time distribution.

        Parameters
        ----------
        n_trips : int >= 1
            Number of trips.
        seed : int or None
            Seed of a fresh ``numpy`` generator; the environment's own RNG is not used.

        Returns
        -------
        hours : numpy.ndarray, shape (n_trips, legs)
        """
        n_trips = check_positive_int("n_trips", n_trips)
        seed = check_seed("seed", seed, optional=True)
        return self._draw_hours(np.random.default_rng(seed), n_trips)

    def _draw_hours(self, rng: np.random.Generator, n_trips: int) -> np.ndarray:
        hours = np.broadcast_to(self.expected_hours, (n_trips, len(self.expected_hours))).copy()
        noisy = self.noise_std > 0
        if noisy.any():
            shape = (self.expected_hours[noisy] / self.noise_std[noisy]) ** 2
            scale = self.noise_std[noisy] ** 2 / self.expected_hours[noisy]
            hours[:, noisy] = rng.gamma(shape, scale, size=(n_trips, int(noisy.sum())))
        return hours

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=check_seed("seed", seed, optional=True))
        self._trip = None
        if options and "leg_hours" in options:
            trip = to_numpy(options["leg_hours"], "options['leg_hours']", dtype=np.float64)
            if trip.shape != self.expected_hours.shape:
                raise ValueError(
                    f"options['leg_hours'] must give one time per leg, shape "
                    f"{self.expected_hours.shape}, got shape {trip.shape}"
                )
            check_finite("options['leg_hours']", trip)
            if np.any(trip < 0):
                raise ValueError(f"options['leg_hours'] must be >= 0 hours, got {trip.tolist()}")
            self._trip = trip.copy()
        self._city = 0
        self._done = False
        return self._city, {"city": self.cities[0]}

    def step(self, action: Any):
        self._check_can_step()
        self._check_discrete_action(action)
        leg = self._city
        if self._trip is not None:
            hours = float(self._trip[leg])
        else:
            hours = float(self._draw_hours(self.np_random, 1)[0, leg])
        self._city += 1
        terminated = self._city == len(self.cities) - 1
        self._done = terminated
        return self._city, hours, terminated, False, {"city": self.cities[self._city]}


# ---------------------------------------------------------------------------------------------
# Chapter 6: the random walk of Sutton and Barto
# ---------------------------------------------------------------------------------------------


class RandomWalkEnv(_EpisodicEnv):
    r"""Sutton and Barto's random walk: 19 states in a row, start in the middle (Chapter 6).

    Non-terminal states ``s = 0 .. n_states - 1`` (default 19); the walk starts at
    ``n_states // 2`` (state 9) and moves one step left or right with probability 1/2 each,
    whatever the action (the single action 0 exists only to satisfy the API). Stepping left of
    state 0 ends the episode with reward ``left_reward`` (-1); stepping right of the last state
    ends it with ``right_reward`` (+1); every other reward is 0 and :math:`\gamma = 1`.
    Both ends are reported as the one terminal observation ``n_states`` (19), so a value table
    of length ``n_states + 1`` can be indexed by any observation, with ``V[n_states] = 0``.

    With :math:`\gamma = 1`, :math:`V(s)` is linear in :math:`s` between the ends (gambler's
    ruin: the probability of leaving on the right from :math:`s` is :math:`(s + 1)/(n + 1)`):

    .. math::

        V(s) = r_{\text{left}} + (r_{\text{right}} - r_{\text{left}})\,\frac{s + 1}{n + 1},

    which for the default 19 states and rewards -1 / +1 is :math:`V(s) = (s + 1)/10 - 1`,
    i.e. -0.9, -0.8, ..., 0.9, with :math:`V(9) = 0`. ``n_states=5, left_reward=0`` gives
    the 5-state walk with values 1/6, ..., 5/6. :meth:`state_values` returns these numbers.
    ``info`` holds ``side``: ``"left"`` or ``"right"`` on the terminating step, else ``None``.

    Parameters
    ----------
    n_states : int, odd and >= 3
        Number of non-terminal states :math:`n`, odd so there is a middle (default 19).
    left_reward, right_reward : float
        Rewards for leaving on the left / right (default -1, +1).
    """

    def __init__(
        self, n_states: int = 19, left_reward: float = -1.0, right_reward: float = 1.0
    ) -> None:
        n_states = check_positive_int("n_states", n_states)
        if n_states < 3 or n_states % 2 == 0:
            raise ValueError(
                f"n_states must be odd and >= 3 so the walk starts in a unique middle state, "
                f"got {n_states}"
            )
        self.n_states = n_states
        self.start_state = n_states // 2
        self.terminal_state = n_states
        self.left_reward = check_number("left_reward", left_reward)
        self.right_reward = check_number("right_reward", right_reward)
        self.observation_space = spaces.Discrete(n_states + 1)
        self.action_space = spaces.Discrete(1)

    def state_values(self) -> np.ndarray:
        r"""Exact :math:`V(s)` for ``s = 0 .. n_states - 1`` under :math:`\gamma = 1`.

        Returns
        -------
        values : numpy.ndarray, shape (n_states,)
        """
        s = np.arange(self.n_states)
        return self.left_reward + (self.right_reward - self.left_reward) * (s + 1) / (
            self.n_states + 1
        )

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=check_seed("seed", seed, optional=True))
        self._state = self.start_state
        self._done = False
        return self._state, {"side": None}

    def step(self, action: Any):
        self._check_can_step()
        self._check_discrete_action(action)
        self._state += 1 if self.np_random.random() < 0.5 else -1
        side = None
        reward = 0.0
        if self._state < 0:
            side, reward = "left", self.left_reward
        elif self._state >= self.n_states:
            side, reward = "right", self.right_reward
        terminated = side is not None
        if terminated:
            self._state = self.terminal_state
        self._done = terminated
        return self._state, reward, terminated, False, {"side": side}


# ---------------------------------------------------------------------------------------------
# Chapter 4: linear-quadratic regulator (exact optimum for Gaussian policies)
# ---------------------------------------------------------------------------------------------


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


class PointMassEnv(_EpisodicEnv):
    r"""A point on a line steered towards 0: the simplest LQR, with a known optimum (Chapter 4).

    State :math:`x \in \mathbb R`, action :math:`a \in [-1, 1]` (the env clips), dynamics
    :math:`x_{t+1} = x_t + a_t`, reward :math:`r_t = -(x_t^2 + \rho\,a_t^2)` with
    :math:`\rho` = ``action_cost``, :math:`x_0 \sim \mathrm{Uniform}[-1, 1]`
    (so :math:`\mathbb E[x_0^2] = 1/3`), and the episode truncated after ``horizon`` steps
    (no termination; bootstrap at truncation). The return is the undiscounted sum of rewards.

    Optimal policy. The infinite-horizon Riccati equation (see :func:`lqr_gain`) reduces to
    :math:`p^2 - p - \rho = 0`, so :math:`p = (1 + \sqrt{1 + 4\rho})/2` and the optimal
    stationary linear policy is :math:`a = -K^* x` with :math:`K^* = p/(\rho + p)`. For the
    default :math:`\rho = 1`, :math:`p = \varphi = 1.6180...` (the golden ratio) and
    :math:`K^* = 1/\varphi = 0.6180...`; the closed loop shrinks :math:`x` by
    :math:`1 - K^* = 1/\varphi^2 = 0.382` per step, and :math:`|K^* x| \le 0.62`, so the
    optimal policy is never clipped.

    Optimal return. ``optimal_return`` is the exact expected ``horizon``-step return of
    :math:`a = -K^* x` (:func:`linear_policy_return`):
    :math:`J^* = -p\,\mathbb E[x_0^2]\,(1 - (1-K^*)^{2H})`, which for :math:`\rho = 1`,
    :math:`H = 20` is :math:`-\varphi/3 = -0.539345` to 16 digits. The truly optimal policy for
    a finite horizon is time-varying (:func:`finite_horizon_lqr`), but its return
    ``finite_horizon_optimal_return`` differs from :math:`J^*` by about :math:`(1-K^*)^{2H}`
    relative, below :math:`10^{-15}` for :math:`H = 20`, so the stationary gain -- the one a
    Gaussian policy with a state-independent std can represent -- is optimal for all practical
    purposes. A Gaussian policy :math:`a \sim \mathcal N(-Kx, \sigma^2)` earns
    :meth:`expected_return` ``(K, action_std=sigma)``, less than :math:`J^*` by the exploration
    cost.

    Observation ``Box(-(H + 1), H + 1, (1,))`` (the farthest reachable point); action
    ``Box(-1, 1, (1,))``. ``info`` holds ``clipped``: whether the action was clipped.

    Parameters
    ----------
    horizon : int >= 1
        Steps per episode :math:`H` (default 20).
    action_cost : float > 0
        :math:`\rho`, the weight of :math:`a^2` in the cost (default 1.0).
    """

    def __init__(self, horizon: int = 20, action_cost: float = 1.0) -> None:
        self.horizon = check_positive_int("horizon", horizon)
        self.action_cost = check_number("action_cost", action_cost, low=0.0, strict=True)
        self.init_second_moment = 1.0 / 3.0
        # x' = 1 x + 1 a and cost 1 x^2 + rho a^2, as 1x1 matrices for the general LQR functions.
        self.A = np.ones((1, 1))
        self.B = np.ones((1, 1))
        self.Q = np.ones((1, 1))
        self.R = np.full((1, 1), self.action_cost)
        gain, _ = lqr_gain(self.A, self.B, self.Q, self.R)
        self.optimal_gain = float(gain[0, 0])
        self.optimal_return = self.expected_return(self.optimal_gain)
        _, P0 = finite_horizon_lqr(self.A, self.B, self.Q, self.R, self.horizon)
        self.finite_horizon_optimal_return = -float(P0[0, 0]) * self.init_second_moment
        bound = float(self.horizon + 1)
        self.observation_space = spaces.Box(-bound, bound, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def expected_return(self, gain: float, action_std: float = 0.0) -> float:
        r"""Exact expected return of :math:`a = -\text{gain}\cdot x + \text{action\_std}\cdot\varepsilon`.

        Parameters
        ----------
        gain : float
            :math:`K` in :math:`a = -Kx`.
        action_std : float >= 0
            Standard deviation of the noise, :math:`\varepsilon \sim \mathcal N(0, 1)` (default 0).
        """
        gain = check_number("gain", gain)
        return linear_policy_return(
            gain,
            self.A,
            self.B,
            self.Q,
            self.R,
            self.horizon,
            self.init_second_moment,
            action_std=action_std,
        )

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=check_seed("seed", seed, optional=True))
        if options and "x0" in options:
            self._x = check_number("options['x0']", options["x0"])
            if abs(self._x) > 1.0:
                raise ValueError(
                    f"options['x0'] must lie in [-1, 1], the support of the start distribution, "
                    f"got {self._x}"
                )
        else:
            self._x = float(self.np_random.uniform(-1.0, 1.0))
        self._t = 0
        self._done = False
        return np.array([self._x], dtype=np.float32), {}

    def step(self, action: Any):
        self._check_can_step()
        a = np.asarray(action, dtype=np.float64)
        if a.shape not in ((1,), ()) or not np.all(np.isfinite(a)):
            raise ValueError(f"action must be one finite number of shape (1,), got {action!r}")
        # The policy's unclipped sample is what its log-probability refers to; the env clips.
        a_raw = float(a.reshape(()))
        a = min(max(a_raw, -1.0), 1.0)
        reward = -(self._x**2 + self.action_cost * a**2)
        self._x += a
        self._t += 1
        truncated = self._t >= self.horizon
        self._done = truncated
        obs = np.array([self._x], dtype=np.float32)
        return obs, reward, False, truncated, {"clipped": a != a_raw}


class PointMassVectorEnv(VectorEnv):
    r"""``num_envs`` copies of :class:`PointMassEnv` stepped as arrays (Chapter 4).

    The same dynamics, reward and start distribution, without a Python call per sub-env (about
    10x faster than ``SyncVectorEnv`` at 16 copies, which is most of Chapter 4's training time).
    ``gymnasium.make_vec("pgkit/PointMass-v0", n)`` builds it (so does
    :func:`pgkit.rollout.make_vec_env`, which Chapter 4's training uses). Observations are
    (n, 1), actions (n, 1). Autoreset is gymnasium's NEXT_STEP: a sub-env whose episode ended on
    the previous step ignores its action and starts again (reward 0, not truncated).
    ``reset(options={"reset_mask": mask})`` restarts only the sub-envs where the (n,) boolean
    ``mask`` is True. One generator, seeded by ``reset(seed=...)``, draws every start, so
    episodes differ from those of n separately seeded :class:`PointMassEnv` copies, but follow
    the same law. ``info["clipped"]`` is (n,): which actions the env clipped to [-1, 1].

    Parameters
    ----------
    num_envs : int >= 1
        Number of copies n.
    horizon, action_cost
        As in :class:`PointMassEnv`.
    """

    metadata: dict[str, Any] = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int = 1, horizon: int = 20, action_cost: float = 1.0) -> None:
        single = PointMassEnv(horizon, action_cost)  # validates both arguments
        self.num_envs = check_positive_int("num_envs", num_envs)
        self.horizon, self.action_cost = single.horizon, single.action_cost
        self.single_observation_space = single.observation_space
        self.single_action_space = single.action_space
        self.observation_space = batch_space(single.observation_space, self.num_envs)
        self.action_space = batch_space(single.action_space, self.num_envs)
        self._x = np.zeros(self.num_envs)
        self._t = np.zeros(self.num_envs, dtype=np.int64)
        self._ended = np.zeros(self.num_envs, dtype=bool)  # truncated on the previous step
        self._started = False

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=check_seed("seed", seed, optional=True))
        mask = np.ones(self.num_envs, dtype=bool)
        if options and options.get("reset_mask") is not None:
            mask = np.asarray(options["reset_mask"])
            if mask.dtype != bool or mask.shape != (self.num_envs,):
                raise ValueError(
                    f"options['reset_mask'] must be a boolean array of shape ({self.num_envs},), "
                    f"got {mask.dtype} of shape {mask.shape}"
                )
            if not self._started and not mask.all():
                raise RuntimeError("reset the whole PointMassVectorEnv once before a masked reset")
        self._x[mask] = self.np_random.uniform(-1.0, 1.0, size=int(mask.sum()))
        self._t[mask], self._ended[mask] = 0, False
        self._started = True
        return self._observation(), {}

    def step(self, actions: Any):
        if not self._started:
            raise RuntimeError("PointMassVectorEnv.step() called before reset()")
        a_raw = np.asarray(actions, dtype=np.float64)
        if a_raw.shape != (self.num_envs, 1) or not np.all(np.isfinite(a_raw)):
            raise ValueError(
                f"actions must be finite numbers of shape ({self.num_envs}, 1), got {actions!r}"
            )
        a_raw = a_raw[:, 0]
        a = np.clip(a_raw, -1.0, 1.0)
        reward = -(self._x**2 + self.action_cost * a**2)
        self._x += a
        self._t += 1
        truncated = self._t >= self.horizon
        restart = self._ended  # NEXT_STEP autoreset: these ignore their action
        if restart.any():
            self._x[restart] = self.np_random.uniform(-1.0, 1.0, size=int(restart.sum()))
            self._t[restart], reward[restart], truncated[restart] = 0, 0.0, False
        self._ended = truncated.copy()
        clipped = (a != a_raw) & ~restart
        terminated = np.zeros(self.num_envs, dtype=bool)
        return self._observation(), reward, terminated, truncated, {"clipped": clipped}

    def _observation(self) -> np.ndarray:
        return self._x[:, None].astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------------------------

_ENTRY_POINTS = {
    "pgkit/Bandit-v0": "pgkit.envs:BanditEnv",
    "pgkit/Driving-v0": "pgkit.envs:DrivingEnv",
    "pgkit/RandomWalk-v0": "pgkit.envs:RandomWalkEnv",
    "pgkit/PointMass-v0": "pgkit.envs:PointMassEnv",
}
# Used by gymnasium.make_vec (and so by pgkit.rollout.make_vec_env) for NEXT_STEP autoreset.
_VECTOR_ENTRY_POINTS = {"pgkit/PointMass-v0": "pgkit.envs:PointMassVectorEnv"}


def register_envs() -> None:
    """Register the ``pgkit/...`` ids with gymnasium; calling it again changes nothing.

    Episodes end inside each environment (PointMass truncates itself after ``horizon`` steps),
    so no ``TimeLimit`` is added: ``gymnasium.make("pgkit/PointMass-v0", horizon=50)`` just works.
    """
    for env_id, entry_point in _ENTRY_POINTS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(
                id=env_id,
                entry_point=entry_point,
                vector_entry_point=_VECTOR_ENTRY_POINTS.get(env_id),
            )


register_envs()
