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

One module per environment family: ``pgkit.envs.bandit``, ``pgkit.envs.driving``,
``pgkit.envs.random_walk``, ``pgkit.envs.point_mass`` (with the exact LQR solutions in
``pgkit.envs.lqr``) and ``pgkit.envs.registration``; every name is importable from
``pgkit.envs`` itself.
"""

from __future__ import annotations

from pgkit.envs.bandit import BanditEnv
from pgkit.envs.driving import DrivingEnv
from pgkit.envs.lqr import finite_horizon_lqr, linear_policy_return, lqr_gain
from pgkit.envs.point_mass import PointMassEnv, PointMassVectorEnv
from pgkit.envs.random_walk import RandomWalkEnv
from pgkit.envs.registration import register_envs

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

register_envs()
