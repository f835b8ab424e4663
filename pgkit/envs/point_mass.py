r"""A point steered towards 0, ``pgkit/PointMass-v0``, and its native vector version (Chapter 4)."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from pgkit.envs.base import _EpisodicEnv
from pgkit.envs.lqr import finite_horizon_lqr, linear_policy_return, lqr_gain
from pgkit.validation import check_number, check_positive_int, check_seed

__all__ = ["PointMassEnv", "PointMassVectorEnv"]


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
    :func:`pgkit.vec_env.make_vec_env`, which Chapter 4's training uses). Observations are
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
