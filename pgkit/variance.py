r"""Per-episode policy-gradient estimates, the raw material for measuring variance (Chapter 5).

Chapter 5 compares weightings :math:`\Psi_t` of the policy-gradient estimator (the whole return
:math:`R(\tau)`, the reward-to-go :math:`G_t`, an advantage :math:`G_t - V(s_t)`, a discounted
version of either) by how much its estimate scatters from batch to batch. For that it needs the
estimate as a plain vector, one per episode:

.. math::

    \hat g_i = \sum_{t \in \tau_i} \Psi_t\, \nabla_\theta \log \pi_\theta(a_t \mid s_t),
    \qquad
    \hat g = \frac{1}{E} \sum_{i=1}^{E} \hat g_i ,

the batch estimate :math:`\hat g` being the average over the :math:`E` episodes of a batch.
:func:`episode_gradients` returns all :math:`\hat g_i` from one vectorised backward pass; feed
their mean to :func:`pgkit.estimators.gradient_variance`, or use their spread directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from pgkit.validation import (
    as_tensor_list,
    check_bool_flags,
    check_finite,
    check_no_overflow,
    check_same_shape,
    check_time_major,
    to_numpy,
)

__all__ = ["episode_gradients"]


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
        layout of each row, as in :func:`pgkit.estimators.flat_grad`.
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
