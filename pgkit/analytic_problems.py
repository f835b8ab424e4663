r"""Two problems with known answers, to test gradient estimators against (Chapter 2).

Each gives the objective :math:`J`, its exact gradient :math:`\nabla_\theta J`, the closed-form
scores :math:`\nabla_\theta \log p_\theta(x)` and the exact variance of the one-sample
score-function estimate, so that an estimator's mean and spread can be checked against numbers
that involve no sampling: a softmax policy on a K-armed bandit (:class:`SoftmaxBandit`) and a
1-D Gaussian policy with a quadratic reward (:class:`GaussianQuadratic`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from pgkit.validation import (
    check_finite,
    check_number,
    check_positive_int,
    check_seed,
    is_torch,
    to_numpy,
)

__all__ = ["GaussianQuadratic", "SoftmaxBandit"]


def _generator(seed: int | torch.Generator) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        return seed
    return torch.Generator().manual_seed(check_seed("seed", seed))


def _param_tensor(name: str, x: Any, shape: tuple[int, ...]) -> torch.Tensor:
    """A detached parameter tensor of the given shape (float64 unless ``x`` is a float tensor)."""
    arr = to_numpy(x, name, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got shape {arr.shape}")
    check_finite(name, arr)
    if isinstance(x, torch.Tensor) and x.is_floating_point():
        return x.detach()
    return torch.as_tensor(arr)


def _param_array(name: str, x: Any, shape: tuple[int, ...]) -> np.ndarray:
    arr = to_numpy(x, name, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got shape {arr.shape}")
    check_finite(name, arr)
    return arr


def _softmax(theta: np.ndarray) -> np.ndarray:
    z = np.exp(theta - theta.max())
    return z / z.sum()


@dataclass(frozen=True)
class SoftmaxBandit:
    r"""A K-armed bandit with a softmax policy: :math:`J` and :math:`\nabla J` in closed form (Chapter 2).

    Equation :eq:`ch2-bandit-grad` of Chapter 2.

    Arm :math:`a` pays :math:`r \sim \mathcal N(\mu_a, \sigma_r^2)` (deterministic
    :math:`\mu_a` when ``reward_std`` is 0); the policy is
    :math:`\pi_\theta(a) = \operatorname{softmax}(\theta)_a`. Then

    .. math::

        J(\theta) = \sum_a \pi_\theta(a)\, \mu_a, \qquad
        \frac{\partial J}{\partial \theta_k} = \pi_\theta(k)\,\big(\mu_k - J(\theta)\big), \qquad
        \nabla_\theta \log \pi_\theta(a) = e_a - \pi_\theta.

    Parameters
    ----------
    mu : sequence of float, length K >= 2
        Arm means :math:`\mu_a`, finite (stored as a tuple).
    reward_std : float, default 0
        Reward noise :math:`\sigma_r \ge 0`.
    """

    mu: tuple[float, ...]
    reward_std: float = 0.0

    def __post_init__(self) -> None:
        arr = to_numpy(self.mu, "mu", dtype=np.float64)
        if arr.ndim != 1 or arr.shape[0] < 2:
            raise ValueError(
                f"mu must be a 1-D sequence of at least two arm means, got shape {arr.shape}"
            )
        check_finite("mu", arr)
        object.__setattr__(self, "mu", tuple(float(m) for m in arr))
        std = check_number("reward_std", self.reward_std, low=0.0)
        object.__setattr__(self, "reward_std", std)

    @property
    def n_arms(self) -> int:
        """K, the number of arms."""
        return len(self.mu)

    def _theta(self, theta: Any) -> np.ndarray:
        return _param_array("theta", theta, (self.n_arms,))

    def policy(self, theta: Any) -> np.ndarray:
        r""":math:`\pi_\theta = \operatorname{softmax}(\theta)`, shape ``(K,)``."""
        return _softmax(self._theta(theta))

    def objective(self, theta: Any) -> float:
        r""":math:`J(\theta) = \sum_a \pi_\theta(a) \mu_a`."""
        return float(self.policy(theta) @ np.asarray(self.mu))

    def gradient(self, theta: Any) -> np.ndarray:
        r""":math:`\nabla_\theta J` with entries :math:`\pi_k (\mu_k - J)`, shape ``(K,)``."""
        pi = self.policy(theta)
        mu = np.asarray(self.mu)
        return pi * (mu - pi @ mu)

    def distribution(self, theta: torch.Tensor) -> torch.distributions.Categorical:
        r"""The policy as ``Categorical(logits=theta)``; keeps autograd through ``theta``."""
        if not isinstance(theta, torch.Tensor):
            theta = _param_tensor("theta", theta, (self.n_arms,))
        elif tuple(theta.shape) != (self.n_arms,):
            raise ValueError(f"theta must have shape ({self.n_arms},), got {tuple(theta.shape)}")
        return torch.distributions.Categorical(logits=theta)

    def sample(
        self, theta: Any, n: int, seed: int | torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Draw :math:`a_i \sim \pi_\theta` and rewards :math:`r_i`, :math:`i = 1, \dots, n`.

        Parameters
        ----------
        theta : array_like or torch.Tensor, shape (K,)
            Logits :math:`\theta`.
        n : int
            Number of draws, at least 1.
        seed : int or torch.Generator
            Seed (a non-negative int) or generator for the draws.

        Returns
        -------
        actions : torch.Tensor of int64, shape (n,)
            The arms :math:`a_i`.
        rewards : torch.Tensor, shape (n,)
            :math:`r_i`; float64 unless ``theta`` is a float tensor, whose dtype is kept.
        """
        theta_t = _param_tensor("theta", theta, (self.n_arms,))
        n = check_positive_int("n", n)
        g = _generator(seed)
        probs = torch.softmax(theta_t, dim=0)
        actions = torch.multinomial(probs, n, replacement=True, generator=g)
        rewards = torch.as_tensor(self.mu, dtype=theta_t.dtype)[actions]
        if self.reward_std > 0:
            noise = torch.randn(n, generator=g, dtype=theta_t.dtype)
            rewards = rewards + self.reward_std * noise
        return actions, rewards

    def scores(self, theta: Any, actions: Any) -> np.ndarray:
        r"""Closed-form scores :math:`\nabla_\theta \log \pi_\theta(a_i) = e_{a_i} - \pi_\theta`, shape ``(n, K)``."""
        pi = self.policy(theta)
        a = to_numpy(actions, "actions")
        if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
            raise ValueError(
                f"actions must be a 1-D array of integer arm indices, got shape {a.shape} "
                f"and dtype {a.dtype}"
            )
        if a.size and (a.min() < 0 or a.max() >= self.n_arms):
            raise ValueError(
                f"actions must lie in [0, {self.n_arms - 1}], got {a.min()}..{a.max()}"
            )
        return np.eye(self.n_arms)[a] - pi

    def estimate_variance(self, theta: Any) -> np.ndarray:
        r"""Per-parameter variance of the one-sample estimate :math:`r\,(e_a - \pi_\theta)`, shape ``(K,)``.

        .. math::

            \operatorname{Var}[\hat g_k] = \sum_a \pi_a (\mu_a^2 + \sigma_r^2)(\delta_{ak} - \pi_k)^2
            - \big(\pi_k(\mu_k - J)\big)^2.

        An N-sample average has this variance divided by N.
        """
        pi = self.policy(theta)
        mu = np.asarray(self.mu)
        centred = np.eye(self.n_arms) - pi  # row a: e_a - pi
        second_moment = (pi * (mu**2 + self.reward_std**2)) @ centred**2
        return second_moment - self.gradient(theta) ** 2


@dataclass(frozen=True)
class GaussianQuadratic:
    r"""A 1-D Gaussian policy with a quadratic reward: :math:`J` and :math:`\nabla J` in closed form (Chapter 2).

    Equation :eq:`ch2-gauss-grad` of Chapter 2.

    Actions :math:`a \sim \mathcal N(\mu, \sigma^2)` with :math:`\sigma = e^{\log\sigma}`, reward
    :math:`r(a) = -(a - c)^2`. Then

    .. math::

        J(\mu, \log\sigma) = -\big((\mu - c)^2 + \sigma^2\big), \qquad
        \frac{\partial J}{\partial \mu} = -2(\mu - c), \qquad
        \frac{\partial J}{\partial \log\sigma} = -2\sigma^2,

    and the scores, with :math:`z = (a - \mu)/\sigma`, are

    .. math::

        \frac{\partial \log p}{\partial \mu} = \frac{z}{\sigma}, \qquad
        \frac{\partial \log p}{\partial \log\sigma} = z^2 - 1.

    Parameters are always ordered ``(mu, log_sigma)``.

    Parameters
    ----------
    c : float, default 0
        The target action :math:`c` (finite).
    """

    c: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "c", check_number("c", self.c))

    @staticmethod
    def _params(mu: Any, log_sigma: Any) -> tuple[float, float]:
        return (
            float(_param_array("mu", mu, ())),
            float(_param_array("log_sigma", log_sigma, ())),
        )

    def reward(self, actions: Any) -> Any:
        r""":math:`r(a) = -(a - c)^2`, elementwise; numpy in -> numpy out, torch in -> torch out."""
        if is_torch(actions):
            return -((actions - self.c) ** 2)
        return -((to_numpy(actions, "actions", dtype=np.float64) - self.c) ** 2)

    def objective(self, mu: Any, log_sigma: Any) -> float:
        r""":math:`J = -((\mu - c)^2 + \sigma^2)`."""
        mu, log_sigma = self._params(mu, log_sigma)
        return -((mu - self.c) ** 2 + math.exp(2 * log_sigma))

    def gradient(self, mu: Any, log_sigma: Any) -> np.ndarray:
        r""":math:`(\partial J/\partial\mu, \partial J/\partial\log\sigma) = (-2(\mu - c), -2\sigma^2)`, shape ``(2,)``."""
        mu, log_sigma = self._params(mu, log_sigma)
        return np.array([-2.0 * (mu - self.c), -2.0 * math.exp(2 * log_sigma)])

    def distribution(self, mu: torch.Tensor, log_sigma: torch.Tensor) -> torch.distributions.Normal:
        r"""The policy :math:`\mathcal N(\mu, \sigma^2)`; keeps autograd through both parameters."""
        if not isinstance(mu, torch.Tensor):
            mu = _param_tensor("mu", mu, ())
        if not isinstance(log_sigma, torch.Tensor):
            log_sigma = _param_tensor("log_sigma", log_sigma, ())
        for name, p in (("mu", mu), ("log_sigma", log_sigma)):
            if p.ndim != 0:
                raise ValueError(f"{name} must be a scalar tensor, got shape {tuple(p.shape)}")
        return torch.distributions.Normal(mu, log_sigma.exp())

    def sample(
        self, mu: Any, log_sigma: Any, n: int, seed: int | torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Draw :math:`a_i \sim \mathcal N(\mu, \sigma^2)` and rewards :math:`r(a_i)`, :math:`i = 1, \dots, n`.

        Parameters
        ----------
        mu, log_sigma : float or scalar tensor
            :math:`\mu` and :math:`\log\sigma`.
        n : int
            Number of draws, at least 1.
        seed : int or torch.Generator
            Seed (a non-negative int) or generator for the draws.

        Returns
        -------
        actions, rewards : torch.Tensor, shape (n,)
            :math:`a_i` and :math:`r(a_i)`; float64 unless ``mu`` is a float tensor, whose
            dtype is kept.
        """
        mu_t = _param_tensor("mu", mu, ())
        log_sigma_t = _param_tensor("log_sigma", log_sigma, ()).to(mu_t.dtype)
        n = check_positive_int("n", n)
        noise = torch.randn(n, generator=_generator(seed), dtype=mu_t.dtype)
        actions = mu_t + log_sigma_t.exp() * noise
        return actions, self.reward(actions)

    def scores(self, mu: Any, log_sigma: Any, actions: Any) -> np.ndarray:
        r"""Closed-form scores :math:`(z/\sigma,\; z^2 - 1)` per action, shape ``(n, 2)``."""
        mu, log_sigma = self._params(mu, log_sigma)
        a = to_numpy(actions, "actions", dtype=np.float64)
        if a.ndim != 1:
            raise ValueError(f"actions must be 1-D with shape (n,), got shape {a.shape}")
        sigma = math.exp(log_sigma)
        z = (a - mu) / sigma
        return np.stack([z / sigma, z**2 - 1.0], axis=1)

    def estimate_variance(self, mu: Any, log_sigma: Any) -> np.ndarray:
        r"""Per-parameter variance of the one-sample estimate :math:`r(a)\,\nabla\log p(a)`, shape ``(2,)``.

        With :math:`d = \mu - c` and Gaussian moments :math:`\mathbb E z^{2k} = (2k-1)!!`,

        .. math::

            \operatorname{Var}[\hat g_\mu] = \frac{d^4 + 14 d^2\sigma^2 + 15\sigma^4}{\sigma^2},
            \qquad
            \operatorname{Var}[\hat g_{\log\sigma}] = 2d^4 + 60 d^2\sigma^2 + 74\sigma^4.

        An N-sample average has this variance divided by N.
        """
        mu, log_sigma = self._params(mu, log_sigma)
        d = mu - self.c
        s2 = math.exp(2 * log_sigma)
        var_mu = (d**4 + 14 * d**2 * s2 + 15 * s2**2) / s2
        var_log_sigma = 2 * d**4 + 60 * d**2 * s2 + 74 * s2**2
        return np.array([var_mu, var_log_sigma])
