r"""Checked claims that print their margin: how far a measurement is from its threshold.

A chapter states a claim ("KL stop earns over 1.5 times the return of unconstrained reuse") and
checks it with nbval, which compares the printed verdict with the stored one. A verdict alone
hides how close it came to flipping, so :func:`claim` prints two lines::

      measured 2.31 (claim: > 1.5, margin +0.81)
    KL stop / unconstrained mean return > 1.5: True

The first line depends on the seeds and on the machine's floating-point kernels; nbval ignores
it through the replacement in ``tools/nbval_sanitize.cfg``, so only the verdict is compared. The
book's rule is that every checked verdict must hold with room to spare under other seeds
(``PGKIT_SEED_OFFSET``), which the printed margin lets a reader judge.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from pgkit.validation import to_numpy

_OPERATORS = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
# How every margin line starts; tools/nbval_sanitize.cfg matches it.
MARGIN_PREFIX = "  measured"


def _format(x: float) -> str:
    if x == 0 or 1e-3 <= abs(x) < 1e5:
        return f"{x:.4g}"
    return f"{x:.3g}"


def claim(statement: str, measured, op: str, threshold: float) -> bool:
    r"""Print the margin of ``measured op threshold`` and the verdict; return the verdict.

    The margin is :math:`x - c` for ``>`` and ``>=`` and :math:`c - x` for ``<`` and ``<=``, where
    :math:`c` is the threshold and :math:`x` the measurement (the worst one when there are several),
    so a positive margin means the claim holds.

    Parameters
    ----------
    statement : str
        The claim in words, printed before the verdict.
    measured : float or array_like
        A number, or numbers (one per seed, say) that must all satisfy the claim; then the worst of
        them is the one reported.
    op : {">", ">=", "<", "<="}
        The comparison.
    threshold : float
        The number ``measured`` is compared with.

    Returns
    -------
    verdict : bool
        True when every value satisfies ``value op threshold``.

    Raises
    ------
    ValueError, TypeError
        When ``statement`` is empty, ``op`` is unknown, ``threshold`` is not a finite real number, or
        ``measured`` is empty or holds NaN.
    """
    if not isinstance(statement, str) or not statement.strip():
        raise ValueError("statement must be a non-empty string saying what is claimed")
    if op not in _OPERATORS:
        raise ValueError(f"op must be one of {sorted(_OPERATORS)}, got {op!r}")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)):
        raise TypeError(f"threshold must be a real number, got {type(threshold).__name__}")
    threshold = float(threshold)
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    values = to_numpy(measured, "measured", dtype=float).ravel()
    if values.size == 0:
        raise ValueError("measured is empty; pass the number (or numbers) the claim is about")
    if np.isnan(values).any():
        raise ValueError("measured contains NaN; a claim about a NaN is neither true nor false")
    above = op in (">", ">=")
    worst = float(values.min() if above else values.max())
    ok = bool(all(_OPERATORS[op](float(v), threshold) for v in values))
    margin = worst - threshold if above else threshold - worst
    which = f"worst of {values.size}: " if values.size > 1 else ""
    print(
        f"{MARGIN_PREFIX} {which}{_format(worst)} "
        f"(claim: {op} {_format(threshold)}, margin {margin:+.3g})"
    )
    print(f"{statement}: {ok}")
    return ok
