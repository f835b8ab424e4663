r"""Importance sampling: learning about one policy from another policy's data (Chapter 8).

A batch collected by a behaviour policy :math:`\pi_{\theta_\text{old}}` can still estimate the
gradient of the current policy :math:`\pi_\theta` once each step is reweighted by the ratio

.. math::

    \rho_t = \frac{\pi_\theta(a_t \mid s_t)}{\pi_{\theta_\text{old}}(a_t \mid s_t)}.

This module holds the per-step ratios (:func:`importance_weights`), their running products
within an episode (:func:`trajectory_importance_weights`), the per-decision reward-to-go that
weights each reward only by the ratios of the actions before it (:func:`per_decision_returns`),
and the importance-sampled
surrogate that PPO starts from (:func:`importance_weighted_objective`,
:func:`importance_weighted_loss`). All work in log space, so that two far-apart policies raise
an error that names the arguments rather than returning ``inf``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from pgkit.estimators import _checked_numpy, _like
from pgkit.returns import _prepare, _reverse_scan
from pgkit.validation import (
    check_bool_flags,
    check_float_tensor,
    check_no_overflow,
    check_same_shape,
    check_time_major,
    check_unit_interval,
    is_torch,
    to_numpy,
)

__all__ = [
    "importance_weighted_loss",
    "importance_weighted_objective",
    "importance_weights",
    "per_decision_returns",
    "trajectory_importance_weights",
]


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


def per_decision_returns(
    rewards: Any, log_probs: Any, old_log_probs: Any, dones: Any, gamma: float
) -> Any:
    r"""Per-decision importance-weighted reward-to-go on data from :math:`\pi_{\theta_\text{old}}` (Chapter 8).

    Equation :eq:`ch8-per-decision` of Chapter 8. Each reward is weighted by the ratios of the
    actions between step :math:`t` and itself, never by those of later actions:

    .. math::

        \hat G_t = \sum_{t'=t}^{t_1} \gamma^{t'-t} \Big(\prod_{k=t+1}^{t'} \rho_k\Big) r_{t'}
        = r_t + \gamma\, (1 - \text{done}_t)\, \rho_{t+1}\, \hat G_{t+1},

    where :math:`t_1` is the last step of :math:`t`'s episode and
    :math:`\rho_k` the ratio of step :math:`k`'s action under the two policies. Given
    :math:`(s_t, a_t)`, :math:`\hat G_t` is an unbiased estimate of the target policy's
    :math:`Q^{\pi_\theta}_\gamma(s_t, a_t)`. So, with :math:`w_t` of
    :func:`trajectory_importance_weights`, an unbiased off-policy gradient estimate is

    .. math::

        \sum_t \gamma^{t - t_0} w_t\, \nabla_\theta \log\pi_\theta(a_t \mid s_t)\, \hat G_t,

    and :math:`\rho_{t_0} \hat G_{t_0}` is one of :math:`J_\gamma(\theta)`. At :math:`\theta = \theta_\text{old}` it is
    :func:`pgkit.returns.discounted_returns`. The weights are constants: no gradient flows
    through them.

    Parameters
    ----------
    rewards : array_like or torch.Tensor, shape (T,) or (T, N)
        :math:`r_t`, time-major, collected with :math:`\pi_{\theta_\text{old}}`.
    log_probs, old_log_probs : array_like or torch.Tensor, same shape
        The log-probabilities of the actions under :math:`\pi_\theta` and under
        :math:`\pi_{\theta_\text{old}}`.
    dones : array_like of bool (or 0/1), same shape
        ``True`` where step :math:`t` ends its episode (``terminated | truncated``; a truncated
        episode's tail is simply missing, as in :func:`pgkit.returns.discounted_returns`).
    gamma : float
        The discount :math:`\gamma`, in [0, 1].

    Returns
    -------
    returns : same kind as ``rewards``, same shape, float32 or float64
        :math:`\hat G_t`.

    Raises
    ------
    ValueError
        For mismatched shapes, non-finite inputs, or ratios or returns beyond the float range.
    """
    gamma = check_unit_interval("gamma", gamma)
    # the ratios are weights, not part of the graph: to_numpy detaches a tensor
    rho = to_numpy(importance_weights(log_probs, old_log_probs), "log_probs")
    (r, rho), (done,), restore = _prepare({"rewards": rewards, "log_probs": rho}, {"dones": dones})
    # the ratio of the next action, rho_{t+1}; the last row has no next step in the batch
    rho_next = np.concatenate([rho[1:], np.ones_like(rho[:1])])
    with np.errstate(over="ignore"):  # reported by name in restore
        return restore(_reverse_scan(r, gamma * ~done * rho_next))


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
