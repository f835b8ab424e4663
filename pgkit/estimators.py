r"""Policy-gradient estimators: the log-derivative trick made checkable (Chapter 2).

Chapter 2 derives the score-function (likelihood-ratio) identity

.. math::

    \nabla_\theta J(\theta) = \nabla_\theta\, \mathbb{E}_{x \sim p_\theta}[f(x)]
    = \mathbb{E}_{x \sim p_\theta}\big[f(x)\, \nabla_\theta \log p_\theta(x)\big],

which needs samples of :math:`x` and values of :math:`f(x)` but never the gradient of
:math:`f`: the reward is a black box. This module holds

* the explicit estimator :math:`\hat g = \frac1N \sum_i f(x_i) \nabla_\theta \log p_\theta(x_i)`
  built from per-sample scores (:func:`per_sample_scores`, :func:`score_function_gradient`),
* the surrogate loss whose single backward pass gives the same number
  (:func:`surrogate_loss`, Chapters 2-3; :func:`pgkit.losses.policy_gradient_loss` is its
  alias).

Its neighbours hold the rest of the story: the problems with known answers in
:mod:`pgkit.analytic_problems`, the variance yardstick of Chapter 5 in :mod:`pgkit.variance`,
and the importance weights of Chapter 8 in :mod:`pgkit.importance`. Their names
(``SoftmaxBandit``, ``GaussianQuadratic``, ``gradient_variance``, ``flat_grad``,
``importance_weights``, ``trajectory_importance_weights``, ``importance_weighted_objective``,
``importance_weighted_loss``) still import from here, kept for one release; new code should
import them from their own modules.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import torch

from pgkit.validation import (
    check_finite,
    check_float_tensor,
    check_no_overflow,
    check_same_shape,
    is_torch,
    to_numpy,
)

__all__ = ["per_sample_scores", "score_function_gradient", "surrogate_loss"]

# Names that moved to their own modules, importable from here for one release. They load on
# first use: pgkit.importance imports this module, so importing it back at the top would be
# circular.
_MOVED = MappingProxyType(
    {
        "GaussianQuadratic": "pgkit.analytic_problems",
        "SoftmaxBandit": "pgkit.analytic_problems",
        "flat_grad": "pgkit.variance",
        "gradient_variance": "pgkit.variance",
        "importance_weighted_loss": "pgkit.importance",
        "importance_weighted_objective": "pgkit.importance",
        "importance_weights": "pgkit.importance",
        "trajectory_importance_weights": "pgkit.importance",
        "_RATIO_FIX": "pgkit.importance",
        "_ratio_weighted_loss": "pgkit.importance",
    }
)


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
