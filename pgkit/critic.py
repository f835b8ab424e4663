r"""Fitting a critic: least-squares value fits and the explained variance (Chapter 6).

A critic :math:`V_w(s) = \phi(s)^\top w` is fitted by regression on targets :math:`\hat G_t`
(Monte Carlo returns, TD(0) targets or :math:`\lambda`-returns from :mod:`pgkit.returns`):
:func:`fit_linear_values` minimises the squared error with the targets held fixed, which is a
table when :math:`\phi(s)` is one-hot. :func:`explained_variance` scores a fit,
:math:`1 - \operatorname{Var}[\hat G - V] / \operatorname{Var}[\hat G]`.

Arrays are time-major as everywhere in pgkit: targets of shape ``(T,)`` or ``(T, N)``, and an
optional boolean ``mask`` of the same shape that keeps only the steps that belong to episodes
(the padding of :class:`pgkit.tabular.Episodes` is left out with ``mask=episodes.mask``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pgkit.validation import (
    check_bool_flags,
    check_finite,
    check_no_overflow,
    check_not_flags,
    check_same_shape,
    check_time_major,
    to_numpy,
)

__all__ = ["explained_variance", "fit_linear_values"]


def _floats(name: str, x: Any) -> np.ndarray:
    arr = to_numpy(x, name)
    check_not_flags(name, arr)
    check_finite(name, arr)
    return arr.astype(np.float64)


def _selected(targets: np.ndarray, mask: Any) -> np.ndarray:
    """The boolean selection of the steps that count (all of them without a mask)."""
    if mask is None:
        return np.ones(targets.shape, dtype=bool)
    keep = check_bool_flags("mask", to_numpy(mask, "mask"))
    check_same_shape(targets=targets, mask=keep)
    if not keep.any():
        raise ValueError("mask selects no step; pass at least one True entry")
    return keep


def explained_variance(values: Any, targets: Any, mask: Any = None) -> float:
    r"""The fraction of the targets' variance that a critic explains (Chapter 6).

    Equation :eq:`ch6-explained-variance` of Chapter 6.

    .. math::

        \mathrm{EV} = 1 - \frac{\operatorname{Var}[\hat G_t - V(s_t)]}{\operatorname{Var}[\hat G_t]},

    the variances taken over all the (selected) entries. 1 is a perfect fit, 0 is no better than
    a constant, and a negative value is worse than predicting the targets' mean. A constant
    offset in :math:`V` does not change it: a critic can score 1 and still be biased.

    Parameters
    ----------
    values : array_like or torch.Tensor, shape (T,) or (T, N)
        :math:`V(s_t)`, time-major.
    targets : array_like or torch.Tensor, same shape as ``values``
        :math:`\hat G_t`, the regression targets (or returns) the critic is judged against.
    mask : array_like of bool, same shape, optional
        Entries to use (e.g. ``Episodes.mask``); default all.

    Returns
    -------
    float
        EV. When the selected targets are all equal there is no variance to explain, and the
        convention is 0.0 (the score of a constant predictor), never NaN.

    Raises
    ------
    ValueError
        Shapes that differ, are not time-major, non-finite entries, or a mask that selects
        nothing.
    TypeError
        Booleans or non-numbers in ``values`` or ``targets``, or a mask that is not boolean.

    Examples
    --------
    >>> explained_variance([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    0.9285714285714286
    >>> explained_variance([0.0, 0.0], [1.0, 3.0])
    0.0
    """
    v, g = _floats("values", values), _floats("targets", targets)
    for name, arr in [("values", v), ("targets", g)]:
        check_time_major(name, arr)
    check_same_shape(values=v, targets=g)
    keep = _selected(g, mask)
    g, v = g[keep], v[keep]
    # EV does not change when both are scaled: scaling to at most 1 keeps the variances finite
    # for inputs near the float maximum.
    scale = max(float(np.abs(g).max()), float(np.abs(v).max())) or 1.0
    g, v = g / scale, v / scale
    target_variance = g.var()
    if target_variance <= 1e-24:  # constant up to rounding
        return 0.0
    return float(1.0 - (g - v).var() / target_variance)


def fit_linear_values(features: Any, targets: Any, mask: Any = None) -> np.ndarray:
    r"""Least-squares weights of a linear critic, the targets held fixed (Chapter 6).

    Equation :eq:`ch6-least-squares` of Chapter 6.

    .. math::

        w^\star = \arg\min_w \sum_t \big(\phi(s_t)^\top w - \hat G_t\big)^2,

    the minimum-norm solution when the features do not determine :math:`w` (a state never
    visited gets weight 0 in a table). With one-hot features
    :math:`\phi(s) = e_s`, :math:`w^\star_s` is the mean of the targets seen in state
    :math:`s`. Fitting to TD targets computed from the previous fit and repeating is the
    semi-gradient method of Chapter 6, carried to convergence at each step.

    Parameters
    ----------
    features : array_like, shape (T, d) or (T, N, d)
        :math:`\phi(s_t)`, one row per entry of ``targets``.
    targets : array_like, shape (T,) or (T, N)
        :math:`\hat G_t`, time-major.
    mask : array_like of bool, same shape as ``targets``, optional
        Entries to fit (e.g. ``Episodes.mask``); default all.

    Returns
    -------
    weights : numpy.ndarray, shape (d,), float64
        :math:`w^\star`; the fitted values are ``features @ weights``.

    Raises
    ------
    ValueError
        ``features`` whose leading shape is not that of ``targets``, non-finite entries, or a
        mask that selects nothing.
    TypeError
        Booleans or non-numbers where numbers belong, or a mask that is not boolean.

    Examples
    --------
    >>> states = np.array([0, 1, 1, 0])
    >>> fit_linear_values(np.eye(2)[states], np.array([1.0, 2.0, 4.0, 3.0]))
    array([2., 3.])
    """
    phi, g = _floats("features", features), _floats("targets", targets)
    check_time_major("targets", g)
    if phi.ndim != g.ndim + 1 or phi.shape[:-1] != g.shape:
        raise ValueError(
            f"features must have shape targets.shape + (d,) = {g.shape} + (d,), got "
            f"{phi.shape}: one feature row per target"
        )
    keep = _selected(g, mask)
    phi, g = phi[keep], g[keep]
    # Solved on rescaled copies so that entries near the float maximum do not overflow inside.
    phi_scale = float(np.abs(phi).max()) or 1.0
    g_scale = float(np.abs(g).max()) or 1.0
    phi, g = phi / phi_scale, g / g_scale
    # The normal equations, formed without BLAS (threaded BLAS is slow for a few columns on a
    # busy machine), solved for the minimum-norm w: same solutions as the full problem.
    gram = np.einsum("ti,tj->ij", phi, phi, optimize=False)
    weights, *_ = np.linalg.lstsq(gram, np.einsum("ti,t->i", phi, g, optimize=False), rcond=None)
    with np.errstate(over="ignore"):
        weights = weights * (g_scale / phi_scale)
    return check_no_overflow(weights, "features", "targets")
