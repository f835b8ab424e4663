r"""Policy-gradient estimators: the log-derivative trick made checkable.

Chapter 2 derives the score-function (likelihood-ratio) identity

.. math::

    \nabla_\theta J(\theta) = \nabla_\theta\, \mathbb{E}_{x \sim p_\theta}[f(x)]
    = \mathbb{E}_{x \sim p_\theta}\big[f(x)\, \nabla_\theta \log p_\theta(x)\big],

which needs samples of :math:`x` and values of :math:`f(x)` but never the gradient of
:math:`f`: the reward is a black box. This module holds

* the explicit estimator :math:`\hat g = \frac1N \sum_i f(x_i) \nabla_\theta \log p_\theta(x_i)`
  built from per-sample scores (:func:`per_sample_scores`, :func:`score_function_gradient`),
* the surrogate loss whose single backward pass gives the same number
  (:func:`surrogate_loss`, Chapters 2-3),
* two problems with closed-form :math:`J` and :math:`\nabla_\theta J` to test estimators
  against (:class:`SoftmaxBandit`, :class:`GaussianQuadratic`, Chapter 2),
* the measuring stick for variance reduction (:func:`gradient_variance`, :func:`flat_grad`,
  Chapter 5),
* importance weights for learning from another policy's data (Chapter 8).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from pgkit.validation import (
    as_tensor_list,
    check_bool_flags,
    check_finite,
    check_float_tensor,
    check_no_overflow,
    check_number,
    check_positive_int,
    check_same_shape,
    check_seed,
    check_time_major,
    is_torch,
    to_numpy,
)

__all__ = [
    "GaussianQuadratic",
    "SoftmaxBandit",
    "flat_grad",
    "gradient_variance",
    "importance_weighted_loss",
    "importance_weighted_objective",
    "importance_weights",
    "per_sample_scores",
    "score_function_gradient",
    "surrogate_loss",
    "trajectory_importance_weights",
]

Params = torch.Tensor | Sequence[torch.Tensor]


# ------------------------------------------------------------------ shared checks


def _checked_numpy(name: str, x: Any) -> np.ndarray:
    """Detached float64 copy of ``x`` for validation, rejecting empty or non-finite input."""
    arr = to_numpy(x, name, dtype=np.float64)
    if arr.size == 0:
        raise ValueError(f"{name} is empty; pass at least one entry")
    check_finite(name, arr)
    return arr


def _like(x: Any, reference: torch.Tensor) -> torch.Tensor:
    """``x`` as a constant tensor with the dtype and device of ``reference``."""
    if is_torch(x):
        return x.detach().to(dtype=reference.dtype, device=reference.device)
    return torch.as_tensor(np.asarray(x), dtype=reference.dtype, device=reference.device)


def _as_param_tuple(params: Params) -> tuple[tuple[torch.Tensor, ...], bool]:
    """Return ``(params as a tuple, whether a single tensor was passed)``."""
    if isinstance(params, torch.Tensor):
        params = (params,)
        single = True
    else:
        if not isinstance(params, (list, tuple)):
            raise TypeError(
                "params must be a torch.Tensor or a list/tuple of tensors, "
                f"got {type(params).__name__}"
            )
        params = tuple(params)
        single = False
    if not params:
        raise ValueError("params is empty; pass at least one parameter tensor")
    for i, p in enumerate(params):
        check_float_tensor(f"params[{i}]", p)
        if not torch.isfinite(p).all():
            check_finite(f"params[{i}]", p.detach().float().cpu().numpy())
    return params, single


# ------------------------------------------------------------- Chapter 2: estimators


def surrogate_loss(log_probs: torch.Tensor, weights: Any) -> torch.Tensor:
    r"""The surrogate loss whose gradient is minus the score-function estimate (Chapter 2).

    Equation :eq:`ch2-surrogate` of Chapter 2.

    .. math::

        L(\theta) = -\frac{1}{N} \sum_i \log p_\theta(x_i)\, w_i,
        \qquad
        \nabla_\theta L = -\frac{1}{N} \sum_i w_i\, \nabla_\theta \log p_\theta(x_i) = -\hat g.

    The weights :math:`w_i` (rewards :math:`f(x_i)` in Chapter 2, returns or advantages
    later) are constants: they are detached, so autograd differentiates only
    :math:`\log p_\theta`. Its value is not :math:`J`; only its gradient means something.

    Parameters
    ----------
    log_probs : torch.Tensor, any non-empty shape
        :math:`\log p_\theta(x_i)`, e.g. ``(N,)`` or time-major ``(T, N)``; differentiable.
    weights : torch.Tensor or numpy.ndarray, exactly the same shape as ``log_probs``
        :math:`w_i`, converted to the dtype and device of ``log_probs``.

    Returns
    -------
    loss : torch.Tensor, shape ()
        Scalar to minimise.
    """
    check_float_tensor("log_probs", log_probs)
    check_same_shape(log_probs=log_probs, weights=weights)
    _checked_numpy("log_probs", log_probs)
    _checked_numpy("weights", weights)
    return check_no_overflow(
        -(log_probs * _like(weights, log_probs)).mean(), "log_probs", "weights"
    )


def _check_samples(samples: Any) -> int:
    """Return N after checking ``samples`` is a tensor with a leading sample dimension."""
    if not isinstance(samples, torch.Tensor):
        raise TypeError(
            f"samples must be a torch.Tensor, got {type(samples).__name__}; "
            "wrap it with torch.as_tensor(samples)"
        )
    if samples.ndim == 0 or samples.shape[0] == 0:
        raise ValueError(
            f"samples must have a leading sample dimension N >= 1, got shape {tuple(samples.shape)}"
        )
    return samples.shape[0]


def per_sample_scores(
    dist_fn: Callable[..., torch.distributions.Distribution],
    params: Params,
    samples: torch.Tensor,
) -> torch.Tensor | tuple[torch.Tensor, ...]:
    r"""Per-sample scores :math:`\nabla_\theta \log p_\theta(x_i)`, one gradient per sample (Chapter 2).

    Equation :eq:`ch2-score-function` of Chapter 2.

    Computed with ``torch.func.jacrev`` (one vector-Jacobian product per sample), so no
    sample's gradient is mixed with another's; samples go through in chunks, so memory and
    time grow linearly with N. Samples are treated as constants: any
    reparameterisation path through them is cut.

    Parameters
    ----------
    dist_fn : callable
        Maps the parameters to a distribution, called as ``dist_fn(*params)``
        (e.g. ``lambda theta: Categorical(logits=theta)``).
    params : torch.Tensor or list/tuple of torch.Tensor
        :math:`\theta`: one floating-point tensor or a list/tuple of them.
    samples : torch.Tensor, shape ``(N, *event_shape)``
        :math:`x_{1..N}`; ``dist_fn(*params).log_prob`` must map it to shape ``(N,)``.

    Returns
    -------
    scores : torch.Tensor or tuple of torch.Tensor
        For a single tensor ``theta``: a tensor of shape ``(N, *theta.shape)``; for a
        sequence, a tuple with one such tensor per parameter.
    """
    params, single = _as_param_tuple(params)
    if not callable(dist_fn):
        raise TypeError(f"dist_fn must be callable, got {type(dist_fn).__name__}")
    _check_samples(samples)
    params = tuple(p.detach() for p in params)
    samples = samples.detach()
    n = samples.shape[0]
    with torch.no_grad():
        dist = dist_fn(*params)
        if not isinstance(dist, torch.distributions.Distribution):
            raise TypeError(
                f"dist_fn must return a torch.distributions.Distribution, got {type(dist).__name__}"
            )
        log_probs = dist.log_prob(samples)
    if tuple(log_probs.shape) != (n,):
        raise ValueError(
            f"dist_fn(*params).log_prob(samples) has shape {tuple(log_probs.shape)}, expected "
            f"({n},): one log-probability per sample. For a vector action use "
            "Independent(Normal(mu, sigma), 1) so log_prob sums over the action dimensions"
        )
    check_finite("dist_fn(*params).log_prob(samples)", to_numpy(log_probs, "log_probs"))

    # jacrev over all N outputs at once would take N vector-Jacobian products through a graph
    # of N samples: memory and time quadratic in N. In chunks of _SCORE_CHUNK samples both
    # are linear, and each score is the same (the other samples only added exact zeros).
    pieces = []
    for chunk in samples.split(_SCORE_CHUNK):

        def log_prob_of(*theta: torch.Tensor, chunk: torch.Tensor = chunk) -> torch.Tensor:
            return dist_fn(*theta).log_prob(chunk)

        pieces.append(torch.func.jacrev(log_prob_of, argnums=tuple(range(len(params))))(*params))
    scores = tuple(torch.cat(per_param) for per_param in zip(*pieces, strict=True))
    return scores[0] if single else scores


_SCORE_CHUNK = 1024  # samples per jacrev call in per_sample_scores


def score_function_gradient(
    dist_fn: Callable[..., torch.distributions.Distribution],
    params: Params,
    samples: torch.Tensor,
    weights: Any,
) -> torch.Tensor | tuple[torch.Tensor, ...]:
    r"""Explicit score-function (likelihood-ratio) estimate of :math:`\nabla_\theta J` (Chapter 2).

    Equation :eq:`ch2-estimator` of Chapter 2.

    .. math::

        \hat g = \frac{1}{N} \sum_{i=1}^{N} f(x_i)\, \nabla_\theta \log p_\theta(x_i),
        \qquad x_i \sim p_\theta,

    an unbiased estimate of :math:`\nabla_\theta\, \mathbb{E}_{x\sim p_\theta}[f(x)]` whose
    standard deviation falls as :math:`1/\sqrt{N}`. Each term is formed from its own
    per-sample score (:func:`per_sample_scores`) and then averaged: a different computation
    from the single backward pass through :func:`surrogate_loss`, which gives
    :math:`-\hat g`.

    Parameters
    ----------
    dist_fn : callable
        Maps the parameters to a distribution, called as ``dist_fn(*params)``.
    params : torch.Tensor or list/tuple of torch.Tensor
        :math:`\theta`: one floating-point tensor or a list/tuple of them.
    samples : torch.Tensor, shape ``(N, *event_shape)``
        :math:`x_{1..N}`, drawn from ``dist_fn(*params)``.
    weights : torch.Tensor or numpy.ndarray, shape (N,)
        Black-box values :math:`f(x_i)`, treated as constants.

    Returns
    -------
    estimate : torch.Tensor or tuple of torch.Tensor
        :math:`\hat g` with the structure of ``params``: one tensor shaped like ``theta``,
        or a tuple of tensors shaped like each parameter.
    """
    params, single = _as_param_tuple(params)
    n = _check_samples(samples)
    weights_np = to_numpy(weights, "weights", dtype=np.float64)
    if weights_np.shape != (n,):
        raise ValueError(
            f"weights must have shape ({n},), one value f(x_i) per sample, "
            f"got shape {weights_np.shape}"
        )
    check_finite("weights", weights_np)
    scores = per_sample_scores(dist_fn, params, samples)
    estimates = []
    for p, score in zip(params, scores, strict=True):
        w = _like(weights_np, score).reshape(n, *([1] * p.ndim))
        estimates.append(check_no_overflow((w * score).mean(dim=0), "weights", "samples"))
    return estimates[0] if single else tuple(estimates)


# ------------------------------------------------- Chapter 2: problems with known answers


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


# ------------------------------------------------------------ Chapter 5: variance


def flat_grad(
    loss: torch.Tensor, params: Iterable[torch.Tensor], *, retain_graph: bool = False
) -> torch.Tensor:
    r"""The gradient :math:`\nabla_\theta L` of a scalar as one flat vector (Chapter 5).

    Uses ``torch.autograd.grad``, so no parameter's ``.grad`` is read or written.
    Parameters that ``loss`` does not depend on get zeros: their gradient is zero.

    Parameters
    ----------
    loss : torch.Tensor, shape () or one element
        Scalar :math:`L` that requires grad.
    params : iterable of torch.Tensor
        E.g. ``policy.parameters()``; the order sets the layout.
    retain_graph : bool, default False
        Keep the graph to differentiate ``loss`` again.

    Returns
    -------
    grad : torch.Tensor, 1-D
        Length :math:`\sum_j \text{numel}(\theta_j)`.
    """
    if not isinstance(loss, torch.Tensor):
        raise TypeError(f"loss must be a scalar torch.Tensor, got {type(loss).__name__}")
    if loss.numel() != 1:
        raise ValueError(
            f"loss must be a scalar, got shape {tuple(loss.shape)}; reduce it first "
            "(e.g. loss.mean())"
        )
    if not loss.requires_grad:
        raise ValueError(
            "loss does not require grad: it was computed without autograd "
            "(under torch.no_grad(), from detached tensors, or from numpy)"
        )
    params = as_tensor_list("params", params)
    for i, p in enumerate(params):
        if not p.requires_grad:
            raise ValueError(f"params[{i}] does not require grad; call .requires_grad_() on it")
    grads = torch.autograd.grad(
        loss.reshape(()), params, retain_graph=retain_graph, allow_unused=True
    )
    return torch.cat(
        [
            (torch.zeros_like(p) if g is None else g).reshape(-1)
            for p, g in zip(params, grads, strict=True)
        ]
    )


def _estimate_to_numpy(estimate: Any, repeat: int) -> np.ndarray:
    name = f"estimate_fn(seed) for repeat {repeat}"
    if isinstance(estimate, (list, tuple)):
        if not estimate:
            raise ValueError(f"{name} returned an empty sequence")
        parts = [to_numpy(e, name, dtype=np.float64).reshape(-1) for e in estimate]
        flat = np.concatenate(parts)
    elif is_torch(estimate) or isinstance(estimate, np.ndarray):
        flat = to_numpy(estimate, name, dtype=np.float64).reshape(-1)
    else:
        raise TypeError(
            f"{name} must return a tensor, a numpy array or a list of tensors, "
            f"got {type(estimate).__name__}"
        )
    if flat.size == 0:
        raise ValueError(f"{name} returned an empty gradient")
    check_finite(name, flat)
    return flat


def gradient_variance(
    estimate_fn: Callable[[int], Any],
    repeats: int,
    *,
    seed: int = 0,
    reduction: Literal["total", "per_parameter"] = "total",
    return_mean: bool = False,
) -> float | np.ndarray | tuple[float | np.ndarray, np.ndarray]:
    r"""Empirical variance of a gradient estimator over independent batches (Chapter 5).

    Equation :eq:`ch2-estimator-variance` of Chapter 2.

    Calls ``estimate_fn`` ``repeats`` = M times with independent seeds, flattens each
    estimate :math:`\hat g^{(m)} \in \mathbb R^P` and returns the unbiased sample variance

    .. math::

        \hat\sigma_j^2 = \frac{1}{M-1} \sum_{m=1}^{M} \big(\hat g^{(m)}_j - \bar g_j\big)^2,
        \qquad
        \text{total} = \sum_{j=1}^{P} \hat\sigma_j^2
        = \operatorname{tr}\widehat{\operatorname{Cov}}[\hat g],

    the yardstick Chapter 5 uses to compare baselines, reward-to-go and discounting
    (lower is better at equal bias).

    Parameters
    ----------
    estimate_fn : callable
        ``estimate_fn(seed: int)`` returns one estimate computed from a fresh batch drawn
        with that seed: a tensor, a numpy array, or a list/tuple of tensors (e.g.
        ``torch.autograd.grad`` over a policy's parameters). Every call must return the
        same number of entries.
    repeats : int
        M >= 2 independent batches.
    seed : int, default 0
        Master seed; the M seeds come from ``numpy.random.SeedSequence(seed).spawn``, so
        they are independent streams and reproducible.
    reduction : {"total", "per_parameter"}
        ``"total"`` for the sum over parameters (a float), ``"per_parameter"`` for the
        ``(P,)`` array of variances.
    return_mean : bool, default False
        Also return the mean estimate :math:`\bar g`, shape ``(P,)``.

    Returns
    -------
    variance : float or numpy.ndarray, shape (P,)
        As chosen by ``reduction``.
    mean : numpy.ndarray, shape (P,)
        The mean estimate :math:`\bar g`, only when ``return_mean`` is true (then
        ``(variance, mean)`` is returned).
    """
    if not callable(estimate_fn):
        raise TypeError(f"estimate_fn must be callable, got {type(estimate_fn).__name__}")
    repeats = check_positive_int("repeats", repeats)
    if repeats < 2:
        raise ValueError("repeats must be >= 2: a variance needs at least two estimates")
    seed = check_seed("seed", seed)
    if reduction not in ("total", "per_parameter"):
        raise ValueError(f"reduction must be 'total' or 'per_parameter', got {reduction!r}")
    if not isinstance(return_mean, bool):
        raise TypeError(f"return_mean must be a bool, got {type(return_mean).__name__}")

    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(repeats)]
    estimates = []
    for m, s in enumerate(seeds):
        flat = _estimate_to_numpy(estimate_fn(s), m)
        if estimates and flat.shape != estimates[0].shape:
            raise ValueError(
                f"estimate_fn returned {flat.size} entries for repeat {m} but "
                f"{estimates[0].size} for repeat 0; every estimate must have the same size"
            )
        estimates.append(flat)
    stacked = np.stack(estimates)
    per_parameter = stacked.var(axis=0, ddof=1)
    variance = float(per_parameter.sum()) if reduction == "total" else per_parameter
    if return_mean:
        return variance, stacked.mean(axis=0)
    return variance


# ------------------------------------------------ Chapter 8: importance sampling


_RATIO_FIX = (
    "the two policies are too far apart: exp(log_probs - old_log_probs) leaves the float "
    "range; check that both are log-probabilities of the same actions"
)


def _log_ratio(log_probs: Any, old_log_probs: Any, time_major: bool) -> tuple[Any, bool]:
    """``log_probs - old_log_probs`` in the family of ``log_probs`` (old side as a constant)."""
    new = _checked_numpy("log_probs", log_probs)
    old = _checked_numpy("old_log_probs", old_log_probs)
    if time_major:
        check_time_major("log_probs", new)
    check_same_shape(log_probs=new, old_log_probs=old)
    if is_torch(log_probs):
        check_float_tensor("log_probs", log_probs)
        return log_probs - _like(old, log_probs), True
    return new - old, False


def importance_weights(log_probs: Any, old_log_probs: Any) -> Any:
    r"""Per-step importance ratios (Chapter 8).

    Equation :eq:`ch8-is` of Chapter 8.

    .. math::

        \rho_t = \frac{\pi_\theta(a_t \mid s_t)}{\pi_{\theta_\text{old}}(a_t \mid s_t)}
        = \exp\big(\log\pi_\theta(a_t \mid s_t) - \log\pi_{\theta_\text{old}}(a_t \mid s_t)\big).

    Parameters
    ----------
    log_probs : array_like or torch.Tensor, any non-empty shape
        :math:`\log\pi_\theta(a_t \mid s_t)`, e.g. ``(T,)``, ``(T, N)`` or a flattened
        minibatch ``(B,)``.
    old_log_probs : array_like or torch.Tensor, exactly the same shape
        :math:`\log\pi_{\theta_\text{old}}(a_t \mid s_t)` of the behaviour policy; treated as a
        constant.

    Returns
    -------
    ratios : numpy.ndarray or torch.Tensor, same shape
        :math:`\rho`. numpy ``log_probs`` give a float64 array; a torch ``log_probs`` gives a
        tensor that keeps autograd through ``log_probs``.
    """
    log_ratio, torch_out = _log_ratio(log_probs, old_log_probs, time_major=False)
    with np.errstate(over="ignore"):  # reported by name below
        ratios = log_ratio.exp() if torch_out else np.exp(log_ratio)
    return check_no_overflow(ratios, "log_probs", "old_log_probs", fix=_RATIO_FIX)


def trajectory_importance_weights(log_probs: Any, old_log_probs: Any, dones: Any) -> Any:
    r"""Cumulative importance weights within each episode, computed in log space (Chapter 8).

    Equation :eq:`ch8-trajectory-ratio` of Chapter 8.

    .. math::

        w_t = \prod_{k=t_0}^{t} \rho_k
        = \exp\Big(\sum_{k=t_0}^{t} \big(\log\pi_\theta(a_k \mid s_k)
        - \log\pi_{\theta_\text{old}}(a_k \mid s_k)\big)\Big),

    where :math:`t_0` is the first step of the episode containing :math:`t` (the first
    row of the batch, or the step after the latest ``done`` before :math:`t`). Summing log
    ratios before one ``exp`` keeps :math:`w_t` finite whenever its true value is, even
    when a running product of ratios would overflow to ``inf`` or underflow to 0 on the
    way. A weight below the float range becomes 0, a usable weight; one above it raises
    ``ValueError`` instead of returning ``inf``.

    Parameters
    ----------
    log_probs : array_like or torch.Tensor, shape (T,) or (T, N)
        :math:`\log\pi_\theta(a_t \mid s_t)`, time-major.
    old_log_probs : array_like or torch.Tensor, same shape
        :math:`\log\pi_{\theta_\text{old}}(a_t \mid s_t)`; constant.
    dones : array_like of bool (or 0/1), same shape
        ``True`` where step :math:`t` ends its episode (``terminated | truncated``).

    Returns
    -------
    weights : numpy.ndarray or torch.Tensor, same shape
        :math:`w`; numpy in gives float64 numpy out, torch in gives torch out
        (differentiable through ``log_probs``).
    """
    log_ratio, torch_out = _log_ratio(log_probs, old_log_probs, time_major=True)
    done = check_bool_flags("dones", to_numpy(dones, "dones"))
    check_same_shape(log_probs=log_ratio, dones=done)
    if torch_out:
        starts_fresh = torch.as_tensor(done, device=log_ratio.device)
        zero = torch.zeros((), dtype=log_ratio.dtype, device=log_ratio.device)
        where, stack = torch.where, torch.stack
    else:
        starts_fresh, zero, where, stack = done, 0.0, np.where, np.stack
    log_w = [log_ratio[0]]
    for t in range(1, log_ratio.shape[0]):
        # a done at t-1 means step t opens a new episode: its product restarts
        log_w.append(where(starts_fresh[t - 1], zero, log_w[-1]) + log_ratio[t])
    log_w = stack(log_w)
    with np.errstate(over="ignore"):  # reported by name below
        weights = log_w.exp() if torch_out else np.exp(log_w)
    return check_no_overflow(weights, "log_probs", "old_log_probs", fix=_RATIO_FIX)


def importance_weighted_objective(log_probs: Any, old_log_probs: Any, advantages: Any) -> Any:
    r"""Importance-sampled surrogate objective on data from :math:`\pi_{\theta_\text{old}}` (Chapter 8).

    Equation :eq:`ch8-surrogate-sample` of Chapter 8.

    .. math::

        \hat J(\theta) = \frac{1}{B} \sum_t \rho_t\, \hat A_t,
        \qquad \rho_t = \exp\big(\log\pi_\theta(a_t \mid s_t) - \log\pi_{\theta_\text{old}}(a_t \mid s_t)\big),

    whose gradient at :math:`\theta = \theta_\text{old}` is the on-policy policy gradient.

    Parameters
    ----------
    log_probs : array_like or torch.Tensor, any non-empty shape
        :math:`\log\pi_\theta(a_t \mid s_t)` (torch keeps autograd).
    old_log_probs : array_like or torch.Tensor, same shape
        Behaviour log-probabilities :math:`\log\pi_{\theta_\text{old}}(a_t \mid s_t)`, constant.
    advantages : array_like or torch.Tensor, same shape
        :math:`\hat A_t`, constant (detached).

    Returns
    -------
    objective : torch.Tensor or float
        Scalar to maximise: a torch scalar for torch ``log_probs``, else a float.
    """
    ratio = importance_weights(log_probs, old_log_probs)
    adv = _checked_numpy("advantages", advantages)
    check_same_shape(log_probs=ratio, advantages=adv)
    if isinstance(ratio, torch.Tensor):
        objective = (ratio * _like(advantages, ratio)).mean()
    else:
        objective = float((ratio * adv).mean())
    return check_no_overflow(objective, "log_probs", "old_log_probs", "advantages", fix=_RATIO_FIX)


def _ratio_weighted_loss(
    log_probs: torch.Tensor, old_log_probs: torch.Tensor, advantages: torch.Tensor
) -> torch.Tensor:
    """:func:`importance_weighted_loss` of tensors without checks, for training loops."""
    return -(torch.exp(log_probs - old_log_probs.detach()) * advantages.detach()).mean()


def importance_weighted_loss(log_probs: Any, old_log_probs: Any, advantages: Any) -> Any:
    r"""Negative of :func:`importance_weighted_objective`, to minimise (Chapter 8).

    Equation :eq:`ch8-surrogate-sample` of Chapter 8.

    .. math::

        L(\theta) = -\frac{1}{B} \sum_t \rho_t\, \hat A_t.

    Parameters
    ----------
    log_probs, old_log_probs, advantages : array_like or torch.Tensor, same shape
        As for :func:`importance_weighted_objective`.

    Returns
    -------
    loss : torch.Tensor or float
        Scalar to minimise: a torch scalar for torch ``log_probs``, else a float.
    """
    return -importance_weighted_objective(log_probs, old_log_probs, advantages)
