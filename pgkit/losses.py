"""Loss functions that the algorithms in :mod:`pgkit.algos` compose.

Every function is a pure function of torch tensors. Functions named ``*_loss``
return a scalar to *minimise*: the negative of the objective the chapters
maximise. Diagnostics (:func:`approx_kl`, :func:`clip_fraction`) return detached
scalars because nothing should differentiate through them.

Shapes are never broadcast: ``log_probs``, ``old_log_probs``, ``advantages``,
``values`` and ``returns`` must have identical shapes, typically ``(T,)``,
``(T, N)`` or a flattened minibatch ``(B,)``.
"""

from __future__ import annotations

import torch

from pgkit.estimators import surrogate_loss
from pgkit.importance import _RATIO_FIX
from pgkit.validation import (
    check_finite,
    check_float_tensor,
    check_no_overflow,
    check_number,
    check_same_shape,
)

__all__ = [
    "approx_kl",
    "clip_fraction",
    "entropy_bonus",
    "policy_gradient_loss",
    "ppo_clip_loss",
    "value_loss",
]


def _check_tensors(**tensors: torch.Tensor) -> None:
    for name, x in tensors.items():
        check_float_tensor(name, x)
        if x.numel() == 0:
            raise ValueError(f"{name} is empty; a loss needs at least one sample")
        if not torch.isfinite(x).all():
            check_finite(name, x.detach().float().cpu().numpy())
    check_same_shape(**tensors)


def _check_clip(clip: float) -> float:
    return check_number("clip", clip, low=0.0, strict=True, hint="PPO uses 0.1 to 0.3")


def policy_gradient_loss(log_probs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    r"""REINFORCE surrogate loss: the alias of :func:`pgkit.estimators.surrogate_loss` (Chapter 3).

    Equation :eq:`ch3-loss-step` of Chapter 3.

    .. math::

        L(\theta) = -\frac{1}{B} \sum_i \log \pi_\theta(a_i \mid s_i)\, \Psi_i,

    whose gradient is minus the policy-gradient estimate
    :math:`\frac{1}{B}\sum_i \nabla_\theta \log \pi_\theta(a_i \mid s_i)\, \Psi_i`.
    ``weights`` :math:`\Psi` can be whole-episode returns :math:`R(\tau)`, rewards-to-go
    :math:`G_t` (Chapter 5) or advantages :math:`\hat A_t` (Chapter 7); they are detached.

    Chapter 2 derives this equation as :func:`pgkit.estimators.surrogate_loss`, with samples
    :math:`x_i` for the state-action pairs and rewards for :math:`\Psi_i`; this name is the one
    the algorithms' chapters use. The two are one function: same result, same errors.

    Parameters
    ----------
    log_probs : torch.Tensor, any non-empty shape
        :math:`\log \pi_\theta(a_i \mid s_i)`, differentiable.
    weights : torch.Tensor or numpy.ndarray, exactly the same shape as ``log_probs``
        :math:`\Psi_i`.

    Returns
    -------
    loss : torch.Tensor, shape ()
        Scalar to minimise.
    """
    return surrogate_loss(log_probs, weights)


def _pg_surrogate(log_probs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """:func:`policy_gradient_loss` without checks, for training loops that checked their inputs."""
    return -(log_probs * weights.detach()).mean()


def value_loss(values: torch.Tensor, returns: torch.Tensor) -> torch.Tensor:
    r"""Mean squared error of a value function against its regression targets (Chapter 7).

    Equation :eq:`ch7-a2c-loss` of Chapter 7.

    .. math::

        L^{V}(\phi) = \frac{1}{B} \sum_i \big(V_\phi(s_i) - \hat G_i\big)^2,

    where the targets :math:`\hat G_i` (Monte Carlo returns, n-step or
    :math:`\lambda`-returns) are treated as constants: ``returns`` is detached.

    Parameters
    ----------
    values : torch.Tensor, any shape
        :math:`V_\phi(s_i)`, differentiable.
    returns : torch.Tensor, exactly the same shape as ``values``
        Targets :math:`\hat G_i` (a ``(B, 1)`` value head against ``(B,)`` returns is an error,
        not a broadcast).

    Returns
    -------
    torch.Tensor
        Scalar.
    """
    _check_tensors(values=values, returns=returns)
    return check_no_overflow(_value_mse(values, returns), "values", "returns")


def _value_mse(values: torch.Tensor, returns: torch.Tensor) -> torch.Tensor:
    """:func:`value_loss` without checks, for training loops that checked their inputs."""
    return (values - returns.detach()).pow(2).mean()


def ppo_clip_loss(
    log_probs: torch.Tensor,
    old_log_probs: torch.Tensor,
    advantages: torch.Tensor,
    clip: float = 0.2,
) -> torch.Tensor:
    r"""Negative of PPO's clipped surrogate objective :math:`L^{CLIP}` (Chapter 9).

    Equation :eq:`ch9-clip` of Chapter 9.

    With the probability ratio
    :math:`\rho_i(\theta) = \pi_\theta(a_i \mid s_i) / \pi_{\theta_\text{old}}(a_i \mid s_i)
    = \exp(\log\pi_\theta - \log\pi_{\theta_\text{old}})`,

    .. math::

        L(\theta) = -\frac{1}{B} \sum_i \min\!\big(\rho_i \hat A_i,\;
        \operatorname{clip}(\rho_i, 1-\epsilon, 1+\epsilon)\, \hat A_i\big).

    The minimum makes the objective a pessimistic bound: once the ratio has moved
    past :math:`1+\epsilon` on a positive advantage (or below :math:`1-\epsilon` on a
    negative one) the sample contributes no gradient, so one batch cannot push the
    policy far from the one that collected it (Schulman et al., 2017).

    Parameters
    ----------
    log_probs : torch.Tensor
        :math:`\log\pi_\theta(a_i \mid s_i)` under the current parameters, differentiable.
    old_log_probs : torch.Tensor, same shape
        :math:`\log\pi_{\theta_\text{old}}(a_i \mid s_i)` recorded at collection time
        (detached).
    advantages : torch.Tensor, same shape
        :math:`\hat A_i` (detached).
    clip : float
        :math:`\epsilon > 0`, typically 0.1 to 0.3.

    Returns
    -------
    torch.Tensor
        Scalar.
    """
    _check_tensors(log_probs=log_probs, old_log_probs=old_log_probs, advantages=advantages)
    clip = _check_clip(clip)
    loss = _clipped_surrogate(log_probs, old_log_probs, advantages, clip)
    return check_no_overflow(loss, "log_probs", "old_log_probs", "advantages", fix=_RATIO_FIX)


def _clipped_surrogate(
    log_probs: torch.Tensor, old_log_probs: torch.Tensor, advantages: torch.Tensor, clip: float
) -> torch.Tensor:
    """:func:`ppo_clip_loss` without checks, for training loops that checked their inputs."""
    advantages = advantages.detach()
    ratio = torch.exp(log_probs - old_log_probs.detach())
    unclipped = ratio * advantages
    # ratio >= 0, so bounds outside [0, float max] clip nothing; keeping them inside the
    # dtype's range lets a huge clip (no clipping at all) work instead of overflowing
    upper = min(1.0 + clip, torch.finfo(ratio.dtype).max)
    clipped = torch.clamp(ratio, max(1.0 - clip, 0.0), upper) * advantages
    return -torch.min(unclipped, clipped).mean()


def entropy_bonus(entropy: torch.Tensor) -> torch.Tensor:
    r"""Mean policy entropy :math:`\frac{1}{B}\sum_i \mathcal{H}[\pi_\theta(\cdot \mid s_i)]`.

    A quantity to *maximise*: the algorithms add ``-ent_coef * entropy_bonus(...)`` to
    their loss, which keeps the policy from collapsing to a deterministic one before
    it has explored (Chapter 7's A2C, Chapter 9's PPO).

    Parameters
    ----------
    entropy : torch.Tensor, any non-empty shape
        Per-state entropies, e.g. ``dist.entropy()``.

    Returns
    -------
    torch.Tensor
        Scalar (differentiable).
    """
    _check_tensors(entropy=entropy)
    return check_no_overflow(entropy.mean(), "entropy", fix="check how they were computed")


@torch.no_grad()
def approx_kl(log_probs: torch.Tensor, old_log_probs: torch.Tensor) -> torch.Tensor:
    r"""Low-variance estimate of :math:`\mathrm{KL}(\pi_{\theta_\text{old}} \,\|\, \pi_\theta)` (Chapter 9).

    Equation :eq:`ch8-approx-kl` of Chapter 8.

    For actions sampled from the old policy, with :math:`\rho = \pi_\theta / \pi_{\theta_\text{old}}`,

    .. math::

        \widehat{\mathrm{KL}} = \frac{1}{B} \sum_i \big((\rho_i - 1) - \log \rho_i\big).

    Each term is non-negative (because :math:`\log x \le x - 1`) and unbiased, since
    :math:`\mathbb{E}_{\text{old}}[\rho - 1] = 0`; it has far lower variance than the
    naive :math:`-\log\rho` when the policies are close (J. Schulman, "Approximating
    KL Divergence", 2020; the estimator PPO implementations log and early-stop on).

    Parameters
    ----------
    log_probs : torch.Tensor
        :math:`\log\pi_\theta(a_i \mid s_i)`.
    old_log_probs : torch.Tensor, same shape
        :math:`\log\pi_{\theta_\text{old}}(a_i \mid s_i)`, for actions drawn from the old
        policy.

    Returns
    -------
    torch.Tensor
        Detached scalar, :math:`\ge 0`.
    """
    _check_tensors(log_probs=log_probs, old_log_probs=old_log_probs)
    return check_no_overflow(
        _kl_estimate(log_probs, old_log_probs), "log_probs", "old_log_probs", fix=_RATIO_FIX
    )


@torch.no_grad()
def _kl_estimate(log_probs: torch.Tensor, old_log_probs: torch.Tensor) -> torch.Tensor:
    """:func:`approx_kl` without checks; ``inf`` when the policies are too far apart for exp."""
    log_ratio = log_probs - old_log_probs
    # expm1 keeps (rho - 1) accurate when the ratio is within float error of 1
    return (torch.expm1(log_ratio) - log_ratio).mean()


@torch.no_grad()
def clip_fraction(
    log_probs: torch.Tensor, old_log_probs: torch.Tensor, clip: float = 0.2
) -> torch.Tensor:
    r"""Fraction of samples whose ratio left the trust region: :math:`\frac{1}{B}\sum_i [\,|\rho_i - 1| > \epsilon\,]`.

    A diagnostic for PPO (Chapter 9): values far above ~0.2 mean each update moves the
    policy further than the clip allows, a hint to lower the learning rate or the epochs.

    Parameters
    ----------
    log_probs : torch.Tensor
        :math:`\log\pi_\theta(a_i \mid s_i)`.
    old_log_probs : torch.Tensor, same shape
        :math:`\log\pi_{\theta_\text{old}}(a_i \mid s_i)`.
    clip : float
        :math:`\epsilon > 0`.

    Returns
    -------
    torch.Tensor
        Detached scalar in [0, 1].
    """
    _check_tensors(log_probs=log_probs, old_log_probs=old_log_probs)
    clip = _check_clip(clip)
    ratio = torch.exp(log_probs - old_log_probs)
    return ((ratio - 1.0).abs() > clip).float().mean()
