r"""Conjugate gradient: solving :math:`A x = b` from matrix-vector products alone (Chapter 9).

TRPO and the natural gradient need :math:`F^{-1} g` for a Fisher matrix :math:`F` too large to
form. :func:`conjugate_gradient` finds it with only the products :math:`v \mapsto F v` that
:func:`pgkit.trust_region.fisher_vector_product` supplies, in about ten of them. Vectors are
flat 1-D tensors; ``torch.nn.utils.parameters_to_vector`` turns a network's parameters into one.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from pgkit.validation import (
    check_callable,
    check_finite,
    check_float_tensor,
    check_no_overflow,
    check_positive_int,
)

__all__ = ["conjugate_gradient"]

MatVec = Callable[[torch.Tensor], torch.Tensor]
_CG_TOL = 1e-10  # conjugate_gradient's default, which pgkit.trust_region.natural_step uses too


def _check_vector(name: str, x: object) -> torch.Tensor:
    check_float_tensor(name, x)
    if x.ndim != 1 or x.numel() == 0:
        raise ValueError(
            f"{name} must be a non-empty flat vector of shape (P,), got shape {tuple(x.shape)}; "
            "flatten parameters with torch.nn.utils.parameters_to_vector"
        )
    if not torch.isfinite(x).all():
        check_finite(name, x.detach().float().cpu().numpy())
    return x


def conjugate_gradient(
    matvec: MatVec, b: torch.Tensor, iters: int = 10, tol: float = _CG_TOL
) -> torch.Tensor:
    r"""Approximately solve :math:`A x = b` for symmetric positive (semi-)definite :math:`A` (Chapter 9).

    Conjugate gradient needs only the products :math:`v \mapsto A v`, never :math:`A` itself.
    Starting from :math:`x_0 = 0` it minimises :math:`\tfrac12 x^\top A x - b^\top x` over a
    growing Krylov subspace, exactly after at most :math:`P` iterations in exact arithmetic,
    and usually well enough after about 10 for TRPO. For a singular :math:`A` with :math:`b`
    in its range (the softmax Fisher matrix and its gradient), it converges to the
    minimum-norm solution.

    Parameters
    ----------
    matvec : callable
        Returns :math:`A v` for a vector ``v`` of shape ``(P,)``.
    b : torch.Tensor, shape (P,)
        The right-hand side.
    iters : int
        Maximum number of iterations (>= 1).
    tol : float
        Stop once the squared residual norm :math:`\|b - A x\|^2` falls below this.

    Returns
    -------
    x : torch.Tensor, shape (P,)
        Detached.

    Raises
    ------
    ValueError
        When ``matvec`` returns the wrong shape or is not positive definite along a search
        direction (add damping).
    """
    check_callable("matvec", matvec)
    b = _check_vector("b", b)
    iters = check_positive_int("iters", iters)
    x = _solve(matvec, b, iters, tol)
    return check_no_overflow(x, "b", fix="the solution lies beyond the float range")


def _solve(matvec: MatVec, b: torch.Tensor, iters: int, tol: float) -> torch.Tensor:
    """:func:`conjugate_gradient` after its checks; the solution may overflow to inf."""
    b = b.detach()
    if b.dtype in (torch.float16, torch.bfloat16):  # too coarse for CG's residual updates
        b = b.float()
    # Solve for b / scale and multiply back (A x = b is linear in b): squared norms of b's
    # entries near the float maximum would overflow to inf and the iterates to NaN.
    scale = float(b.abs().max())
    if scale == 0.0:
        return torch.zeros_like(b)
    b = b / scale
    tol = tol / scale / scale
    x = torch.zeros_like(b)
    residual = b.clone()
    direction = b.clone()
    residual_sq = residual @ residual
    for _ in range(iters):
        if residual_sq <= tol:
            break
        a_direction = matvec(direction).detach()
        if a_direction.shape != b.shape:
            raise ValueError(
                f"matvec returned shape {tuple(a_direction.shape)}, expected {tuple(b.shape)}"
            )
        curvature = direction @ a_direction
        if curvature <= 0:
            raise ValueError(
                "matvec is not positive definite along a search direction "
                f"(d^T A d = {float(curvature):.3g}); add damping"
            )
        alpha = residual_sq / curvature
        x = x + alpha * direction
        residual = residual - alpha * a_direction
        new_residual_sq = residual @ residual
        direction = residual + (new_residual_sq / residual_sq) * direction
        residual_sq = new_residual_sq
    return x * scale
