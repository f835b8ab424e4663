r"""Steps measured in KL divergence: the pieces of natural gradient and TRPO (Chapter 9).

A gradient step of fixed length in parameter space can change the policy a little or a lot,
depending on where the parameters are. A trust-region method fixes the size of the step in
*distribution* space instead. To second order the KL divergence between the old policy and
the new one is a quadratic form in the parameter change :math:`\Delta`,

.. math::

    \begin{aligned}
    \mathrm{KL}\big(\pi_{\theta} \,\|\, \pi_{\theta + \Delta}\big)
    &\approx \tfrac12\, \Delta^\top F(\theta)\, \Delta,
    \\
    F(\theta) &= \mathbb{E}\big[\nabla_\theta \log\pi_\theta(a \mid s)\,
                                \nabla_\theta \log\pi_\theta(a \mid s)^\top\big],
    \end{aligned}

with :math:`F` the Fisher information matrix. Maximising the linearised objective
:math:`g^\top \Delta` subject to :math:`\tfrac12 \Delta^\top F \Delta \le \delta` gives the
natural gradient step (Amari, 1998; Kakade, 2001)

.. math::

    \Delta^\star = \sqrt{\frac{2\delta}{g^\top F^{-1} g}}\; F^{-1} g .

This module holds

* :func:`categorical_fisher`: :math:`F` of a softmax policy with respect to its logits, in
  closed form;
* :func:`~pgkit.conjugate_gradient.conjugate_gradient`: solves :math:`F x = g` from
  matrix-vector products alone, which is how TRPO avoids ever forming :math:`F` (Schulman et
  al., 2015); it lives in :mod:`pgkit.conjugate_gradient` and is imported here as well;
* :func:`fisher_vector_product`: :math:`v \mapsto F v` for any policy, as the Hessian of the
  KL divergence times a vector (two backward passes);
* :func:`kl_step_scale` and :func:`natural_step`: scale a direction so that the quadratic
  model of the KL equals :math:`\delta`;
* :func:`backtracking_line_search`: TRPO's safeguard, which shrinks the step until the exact
  KL is within :math:`\delta` and the surrogate objective actually improves.

All vectors are flat 1-D tensors; ``torch.nn.utils.parameters_to_vector`` turns a
network's parameters into one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch

# conjugate_gradient is imported for readers of Chapter 9, who find the solver beside the steps.
from pgkit.conjugate_gradient import (  # noqa: F401
    _CG_TOL,
    MatVec,
    _check_vector,
    _solve,
    conjugate_gradient,
)
from pgkit.validation import (
    as_tensor_list,
    check_callable,
    check_int,
    check_no_overflow,
    check_number,
    check_positive_int,
)

__all__ = [
    "LineSearchResult",
    "backtracking_line_search",
    "categorical_fisher",
    "fisher_vector_product",
    "kl_step_scale",
    "natural_step",
]


def _check_max_kl(max_kl: float) -> float:
    return check_number("max_kl", max_kl, low=0.0, strict=True, hint="TRPO uses about 0.01")


def categorical_fisher(probs: torch.Tensor) -> torch.Tensor:
    r"""Fisher matrix of a softmax policy with respect to its logits (Chapter 9).

    Equation :eq:`ch9-softmax-fisher` of Chapter 9.

    For :math:`\pi = \operatorname{softmax}(\theta)` the score is
    :math:`\nabla_\theta \log\pi(a) = e_a - \pi`, so

    .. math::

        F = \sum_a \pi(a)\, (e_a - \pi)(e_a - \pi)^\top = \operatorname{diag}(\pi) - \pi\pi^\top .

    :math:`F` is singular: adding a constant to every logit leaves the policy unchanged, so
    :math:`F \mathbf 1 = 0`. Natural-gradient code therefore solves :math:`F x = g` with
    :func:`~pgkit.conjugate_gradient.conjugate_gradient` (or a pseudo-inverse) rather than inverting :math:`F`.

    Parameters
    ----------
    probs : torch.Tensor, shape (K,) or (B, K)
        Action probabilities :math:`\pi`, for one state or a batch of states; each row
        non-negative and summing to 1, with :math:`K \ge 2`.

    Returns
    -------
    torch.Tensor, shape (K, K) or (B, K, K)
        :math:`F`.

    Raises
    ------
    TypeError
        When ``probs`` is not a floating-point tensor.
    ValueError
        When its shape is wrong or its rows are not probabilities.
    """
    if not isinstance(probs, torch.Tensor) or not probs.is_floating_point():
        raise TypeError("probs must be a floating-point torch.Tensor of shape (K,) or (B, K)")
    if probs.ndim not in (1, 2) or probs.shape[-1] < 2:
        raise ValueError(
            f"probs must have shape (K,) or (B, K) with K >= 2, got {tuple(probs.shape)}"
        )
    sums = probs.sum(-1)
    if (probs < 0).any() or not torch.allclose(sums, torch.ones_like(sums), atol=1e-5):
        raise ValueError("probs must be probabilities: non-negative, each row summing to 1")
    return torch.diag_embed(probs) - probs.unsqueeze(-1) * probs.unsqueeze(-2)


def fisher_vector_product(
    kl_fn: Callable[[], torch.Tensor],
    params: Iterable[torch.Tensor],
    damping: float = 0.0,
) -> MatVec:
    r"""The map :math:`v \mapsto (F + \lambda I) v` for a policy with parameters ``params`` (Chapter 9).

    Equation :eq:`ch9-fvp` of Chapter 9.

    ``kl_fn()`` must return the mean :math:`\mathrm{KL}(\pi_{\theta_\text{old}} \,\|\, \pi_\theta)`
    over a batch of states, with the old distribution detached and :math:`\theta` the current
    parameters (equal to :math:`\theta_\text{old}`). Its gradient is zero there and its Hessian is
    the Fisher matrix, so

    .. math::

        F v = \nabla_\theta \big( (\nabla_\theta \mathrm{KL})^\top v \big),

    two backward passes and no :math:`P \times P` matrix.

    Parameters
    ----------
    kl_fn : callable
        Called with no arguments; returns that mean KL as a scalar tensor.
    params : iterable of torch.Tensor
        The policy's parameters :math:`\theta`.
    damping : float
        :math:`\lambda \ge 0`; adds :math:`\lambda v`, keeping conjugate gradient stable where
        :math:`F` is nearly singular.

    Returns
    -------
    callable
        A function from a flat vector ``(P,)`` to a flat vector ``(P,)`` (detached), with
        :math:`P` the total number of parameters, in the order of ``params``.
    """
    check_callable("kl_fn", kl_fn)
    params = as_tensor_list("params", params)
    damping = check_number("damping", damping, low=0.0, hint="TRPO uses about 0.1")
    kl = kl_fn()
    if not isinstance(kl, torch.Tensor) or kl.dim() != 0:
        raise ValueError("kl_fn must return a scalar tensor: the mean KL over the batch")
    grads = torch.autograd.grad(kl, params, create_graph=True)
    flat_grad = torch.cat([g.reshape(-1) for g in grads])
    if damping > torch.finfo(flat_grad.dtype).max:
        raise ValueError(
            f"damping={damping} is beyond the range of the parameters' {flat_grad.dtype}; "
            "use a damping near 0.1"
        )
    size = flat_grad.numel()

    def fvp(v: torch.Tensor) -> torch.Tensor:
        v = _check_vector("v", v)
        if v.numel() != size:
            raise ValueError(f"v has {v.numel()} entries; the parameters have {size}")
        products = torch.autograd.grad(flat_grad @ v.detach(), params, retain_graph=True)
        product = torch.cat([h.reshape(-1) for h in products]).detach() + damping * v.detach()
        return check_no_overflow(product, "damping", "v", fix="use a damping near 0.1")

    return fvp


def kl_step_scale(direction: torch.Tensor, fisher_direction: torch.Tensor, max_kl: float) -> float:
    r"""The :math:`\beta` for which the step :math:`\beta d` has quadratic KL :math:`\delta` (Chapter 9).

    Equation :eq:`ch9-natural-step` of Chapter 9.

    .. math::

        \tfrac12 (\beta d)^\top F (\beta d) = \delta
        \quad\Longrightarrow\quad
        \beta = \sqrt{\frac{2\delta}{d^\top F d}} .

    Parameters
    ----------
    direction : torch.Tensor, shape (P,)
        :math:`d`.
    fisher_direction : torch.Tensor, shape (P,)
        :math:`F d`.
    max_kl : float
        :math:`\delta > 0`.

    Returns
    -------
    float
        :math:`\beta`.

    Raises
    ------
    ValueError
        When the shapes differ, or when :math:`d^\top F d \le 0`: the direction does not change
        the policy.
    """
    direction = _check_vector("direction", direction)
    fisher_direction = _check_vector("fisher_direction", fisher_direction)
    if direction.shape != fisher_direction.shape:
        raise ValueError(
            f"direction {tuple(direction.shape)} and fisher_direction "
            f"{tuple(fisher_direction.shape)} must have the same shape"
        )
    max_kl = _check_max_kl(max_kl)
    # in float64: float16/bfloat16 vectors cannot be multiplied with each other or float32
    curvature = float(direction.double() @ fisher_direction.double())
    if not curvature > 0:
        raise ValueError(
            f"d^T F d = {curvature:.3g} must be > 0: the direction does not change the policy"
        )
    return math.sqrt(2.0 * max_kl / curvature)


def natural_step(
    grad: torch.Tensor, fvp: MatVec, max_kl: float, cg_iters: int = 10
) -> torch.Tensor:
    r"""The natural gradient step whose quadratic KL is :math:`\delta` (Chapter 9).

    Equation :eq:`ch9-natural-step` of Chapter 9.

    .. math::

        \Delta = \sqrt{\frac{2\delta}{x^\top F x}}\; x, \qquad x \approx F^{-1} g,

    with :math:`x` from ``cg_iters`` steps of :func:`~pgkit.conjugate_gradient.conjugate_gradient`.

    Parameters
    ----------
    grad : torch.Tensor, shape (P,)
        :math:`g`, the gradient of the objective to *maximise*.
    fvp : callable
        :math:`v \mapsto F v` (e.g. from :func:`fisher_vector_product`, or ``F @ v``).
    max_kl : float
        :math:`\delta > 0`.
    cg_iters : int
        Conjugate-gradient iterations.

    Returns
    -------
    torch.Tensor, shape (P,)
        :math:`\Delta`: add it to the parameters (zeros if ``grad`` is zero).
    """
    grad = _check_vector("grad", grad)
    check_callable("fvp", fvp)
    max_kl = _check_max_kl(max_kl)
    cg_iters = check_positive_int("cg_iters", cg_iters)
    direction = check_no_overflow(_solve(fvp, grad, cg_iters, tol=_CG_TOL), "grad")
    if not direction.any():  # a zero gradient (an optimum, or a saturated policy): stay put
        return direction
    step = kl_step_scale(direction, fvp(direction), max_kl) * direction
    return check_no_overflow(step, "max_kl", "grad", fix="use a max_kl near 0.01")


@dataclass(frozen=True)
class LineSearchResult:
    """Outcome of :func:`backtracking_line_search`.

    Its ``accepted`` property is True when a step was accepted (``fraction > 0``).

    Parameters
    ----------
    step : torch.Tensor, shape (P,)
        The accepted step (zeros if none was accepted).
    fraction : float
        The factor it was scaled by (0.0 if rejected).
    improvement, kl : float
        The surrogate gain and exact KL at the accepted step.
    backtracks : int
        How many times the step was halved (or shrunk) before acceptance.
    """

    step: torch.Tensor
    fraction: float
    improvement: float
    kl: float
    backtracks: int

    @property
    def accepted(self) -> bool:
        return self.fraction > 0.0


def backtracking_line_search(
    evaluate: Callable[[torch.Tensor], tuple[float, float]],
    step: torch.Tensor,
    max_kl: float,
    *,
    shrink: float = 0.5,
    max_backtracks: int = 10,
) -> LineSearchResult:
    r"""TRPO's line search: shrink a proposed step until it is safe and useful (Chapter 9).

    Equation :eq:`ch8-constrained` of Chapter 8.

    The natural step is sized with a *quadratic model* of the KL and a *linear model* of the
    objective; either model can be wrong for a large step. Try the fractions
    :math:`1, s, s^2, \dots` of ``step`` and accept the first one whose exact KL is at most
    ``max_kl`` and whose surrogate improvement is positive.

    Parameters
    ----------
    evaluate : callable
        Maps a candidate step ``(P,)`` to ``(improvement, kl)``: the change of the surrogate
        objective and the mean :math:`\mathrm{KL}(\pi_\text{old} \,\|\, \pi_\text{new})` if the
        parameters moved by that step (the caller restores its parameters).
    step : torch.Tensor, shape (P,)
        The full proposed step.
    max_kl : float
        :math:`\delta > 0`.
    shrink : float
        Factor :math:`s \in (0, 1)` applied after each rejection.
    max_backtracks : int
        Number of fractions tried after the full step.

    Returns
    -------
    LineSearchResult
        ``accepted`` is False (and the step zero) if no fraction passed.
    """
    check_callable("evaluate", evaluate)
    step = _check_vector("step", step).detach()
    max_kl = _check_max_kl(max_kl)
    shrink = check_number("shrink", shrink, low=0.0, high=1.0, strict=True)
    max_backtracks = check_int("max_backtracks", max_backtracks, low=0)
    fraction = 1.0
    for backtracks in range(max_backtracks + 1):
        improvement, kl = (float(x) for x in evaluate(fraction * step))
        if kl <= max_kl and improvement > 0:
            return LineSearchResult(fraction * step, fraction, improvement, kl, backtracks)
        fraction *= shrink
    return LineSearchResult(torch.zeros_like(step), 0.0, 0.0, 0.0, max_backtracks + 1)
