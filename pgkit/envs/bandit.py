r"""The k-armed Gaussian bandit, ``pgkit/Bandit-v0`` (Chapter 2)."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from pgkit.envs.base import _EpisodicEnv
from pgkit.validation import check_finite, check_number, check_seed, to_numpy

__all__ = ["BanditEnv"]


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
