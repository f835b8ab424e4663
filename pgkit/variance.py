r"""Measuring a policy-gradient estimator's variance: per-episode estimates and their spread (Chapter 5).

Chapter 5 compares weightings :math:`\Psi_t` of the policy-gradient estimator (the whole return
:math:`R(\tau)`, the reward-to-go :math:`G_t`, an advantage :math:`G_t - V(s_t)`, a discounted
version of either) by how much its estimate scatters from batch to batch. For that it needs the
estimate as a plain vector, one per episode:

.. math::

    \hat g_i = \sum_{t \in \tau_i} \Psi_t\, \nabla_\theta \log \pi_\theta(a_t \mid s_t),
    \qquad
    \hat g = \frac{1}{E} \sum_{i=1}^{E} \hat g_i ,

the batch estimate :math:`\hat g` being the average over the :math:`E` episodes of a batch.
:func:`episode_gradients` returns all :math:`\hat g_i` from one vectorised backward pass;
:func:`gradient_variance` measures how much a whole estimator scatters over independent
batches, and :func:`flat_grad` turns one gradient into the plain vector both work with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

import numpy as np
import torch

from pgkit.validation import (
    as_tensor_list,
    check_bool_flags,
    check_finite,
    check_no_overflow,
    check_positive_int,
    check_same_shape,
    check_seed,
    check_time_major,
    is_torch,
    to_numpy,
)

__all__ = ["episode_gradients", "flat_grad", "gradient_variance"]


def episode_gradients(
    log_probs: torch.Tensor,
    weights: Any,
    dones: Any,
    params: Iterable[torch.Tensor],
    *,
    retain_graph: bool = False,
) -> torch.Tensor:
    r"""One policy-gradient estimate per episode, as the rows of a matrix (Chapter 5).

    .. math::

        \hat g_i = \sum_{t \in \tau_i} \Psi_t\, \nabla_\theta \log \pi_\theta(a_t \mid s_t),
        \qquad i = 1, \dots, E,

    where episode :math:`\tau_i` is a run of consecutive rows of one column of the time-major batch
    that ends where ``dones`` is set or where the data ends. The weights :math:`\Psi_t` (returns,
    reward-to-go, advantages) are constants. Summing the rows gives the gradient of
    :math:`\sum_t \Psi_t \log\pi_\theta(a_t \mid s_t)`; averaging them gives the batch estimate
    :math:`\hat g = \frac1E \sum_i \hat g_i` of :math:`\nabla_\theta J`.

    Parameters
    ----------
    log_probs : torch.Tensor, shape (T,) or (T, N)
        :math:`\log\pi_\theta(a_t \mid s_t)`, time-major, differentiable with respect to ``params``.
    weights : torch.Tensor or array_like, same shape
        :math:`\Psi_t`; detached.
    dones : array_like of bool, same shape
        True where step :math:`t` ends its episode (``terminated | truncated``).
    params : iterable of torch.Tensor
        The parameters to differentiate, such as ``policy.parameters()``; their order sets the
        layout of each row, as in :func:`flat_grad`.
    retain_graph : bool, default False
        Keep the graph of ``log_probs``, to call again with other weights.

    Returns
    -------
    gradients : torch.Tensor, shape (E, P)
        :math:`P = \sum_j \operatorname{numel}(\theta_j)`; episodes ordered by column, then by time.
        Parameters that ``log_probs`` does not depend on get zero columns.

    Raises
    ------
    TypeError, ValueError
        When ``log_probs`` is not a floating tensor that requires grad, shapes differ, an input is
        not finite, or a parameter does not require grad.
    """
    if not isinstance(log_probs, torch.Tensor) or not log_probs.is_floating_point():
        raise TypeError(
            f"log_probs must be a floating-point torch.Tensor, got {type(log_probs).__name__}"
        )
    if not log_probs.requires_grad:
        raise ValueError(
            "log_probs does not require grad: compute it as policy(obs).log_prob(actions) "
            "outside torch.no_grad()"
        )
    log_probs_np = to_numpy(log_probs, "log_probs", dtype=np.float64)
    weights_np = to_numpy(weights, "weights", dtype=np.float64)
    done = to_numpy(dones, "dones")
    check_time_major("log_probs", log_probs_np)
    check_same_shape(log_probs=log_probs_np, weights=weights_np, dones=done)
    check_finite("log_probs", log_probs_np)
    check_finite("weights", weights_np)
    done = check_bool_flags("dones", done)
    if not isinstance(retain_graph, bool):
        raise TypeError(f"retain_graph must be True or False, got {retain_graph!r}")
    params = as_tensor_list("params", params)
    for i, p in enumerate(params):
        if not p.requires_grad:
            raise ValueError(f"params[{i}] must be a torch.Tensor that requires grad")

    # Column-major order: every column's last row closes a piece, so no episode spans columns.
    ends = done.reshape(len(done), -1).T.copy()
    ends[:, -1] = True
    ends = ends.reshape(-1)
    episode = torch.as_tensor(np.cumsum(ends) - ends, device=log_probs.device)
    n_episodes = int(ends.sum())
    w = torch.as_tensor(weights_np, dtype=log_probs.dtype, device=log_probs.device)
    terms = (log_probs * w).reshape(len(done), -1).T.reshape(-1)
    sums = torch.zeros(n_episodes, dtype=log_probs.dtype, device=log_probs.device)
    sums = sums.index_add(0, episode, terms)
    # One vectorised backward pass for all E episodes instead of E separate ones.
    eye = torch.eye(n_episodes, dtype=sums.dtype, device=sums.device)
    grads = torch.autograd.grad(
        sums,
        params,
        grad_outputs=eye,
        is_grads_batched=True,
        allow_unused=True,
        retain_graph=retain_graph,
    )
    per_episode = torch.cat(
        [
            (
                torch.zeros(n_episodes, p.numel(), dtype=sums.dtype, device=sums.device)
                if g is None
                else g
            ).reshape(n_episodes, -1)
            for p, g in zip(params, grads, strict=True)
        ],
        dim=1,
    )
    return check_no_overflow(per_episode, "log_probs", "weights")


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
