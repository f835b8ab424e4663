"""Chapter 1's exercise: the Monte Carlo estimate of J(theta) and its standard error."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from pgkit.exercises._framework import (
    _SEED,
    ATOL,
    RTOL,
    _as_array,
    _Case,
    _check,
    _describe,
    _Problem,
)
from pgkit.exercises._running import _BadOutput

__all__ = ["check_mc_estimate"]


def _mc_reference(case: _Case) -> np.ndarray:
    from pgkit.objective import mc_estimate

    return np.array(mc_estimate(case.inputs["returns"]))


def _mc_mistake(se: Callable[[np.ndarray], float]) -> Callable[[_Case], np.ndarray]:
    def mistaken(case: _Case) -> np.ndarray:
        returns = case.inputs["returns"]
        return np.array([returns.mean(), se(returns)])

    return mistaken


def _mc_run(fn: Callable[..., Any], case: _Case) -> np.ndarray:
    out = fn(case.inputs["returns"].copy())
    pair = _as_array(list(out) if isinstance(out, tuple) else out)
    if pair.shape != (2,):
        raise _BadOutput(
            f"your function returned {_describe(out)}; return the pair (mean, standard_error), "
            "e.g. `return mean, standard_error`, both single numbers"
        )
    return pair


def _mc_show(pair: np.ndarray) -> str:
    return f"(mean, standard_error) = ({pair[0]:.6g}, {pair[1]:.6g})"


def _mc_fallback(got: np.ndarray | None, expected: np.ndarray, case: _Case) -> str:
    if got is not None and not np.isclose(got[0], expected[0], rtol=RTOL, atol=ATOL):
        return "the estimate of J is the plain average of the returns: np.mean(returns)"
    return "the standard error is np.std(returns, ddof=1) / np.sqrt(len(returns))"


_MC = _Problem(
    name="mc_estimate",
    signature="mc_estimate(returns) -> (mean, standard_error)",
    covers="N = 2 to 500 returns, constant returns (SE = 0), large offsets",
    description="Monte Carlo estimate of J(theta) and its standard error",
    reference=_mc_reference,
    mistakes=(
        (
            "looks like ddof=0 (dividing by N): the sample standard deviation divides by "
            "N - 1, np.std(returns, ddof=1)",
            _mc_mistake(lambda x: x.std(ddof=0) / math.sqrt(len(x))),
        ),
        (
            "looks like you divided s by N; the standard error is s / sqrt(N)",
            _mc_mistake(lambda x: x.std(ddof=1) / len(x)),
        ),
        (
            "forgot the square root: s^2 / N is the variance of the mean, "
            "its standard error is sqrt(s^2 / N) = s / sqrt(N)",
            _mc_mistake(lambda x: x.var(ddof=1) / len(x)),
        ),
        (
            "forgot to divide by sqrt(N): s is the spread of single returns, "
            "s / sqrt(N) the spread of their average",
            _mc_mistake(lambda x: x.std(ddof=1)),
        ),
        (
            "used the variance s^2 where the standard deviation s belongs",
            _mc_mistake(lambda x: x.var(ddof=1) / math.sqrt(len(x))),
        ),
    ),
    fallback=_mc_fallback,
    run=_mc_run,
    show=_mc_show,
    chapter_name="mc_from_returns",
)


def _mc_cases() -> list[_Case]:
    rng = np.random.default_rng(_SEED + 1)
    cases = [
        _Case("N = 2 returns", {"returns": np.array([3.0, 5.0])}),
        _Case("N = 3 returns", {"returns": np.array([1.0, 4.0, 10.0])}),
        _Case("N = 4 equal returns (the standard error is 0)", {"returns": np.full(4, 7.5)}),
    ]
    for n, loc, scale in ((5, 0.0, 1.0), (10, -3.0, 2.0), (50, 20.0, 5.0), (500, 480.0, 30.0)):
        returns = np.round(rng.normal(loc, scale, size=n), 2)
        cases.append(_Case(f"N = {n} returns", {"returns": returns}))
    return cases


def check_mc_estimate(fn: Callable[..., Any]) -> bool:
    r"""Exercise: the Monte Carlo estimate of :math:`J(\theta)` and its standard error (Chapter 1).

    ``fn(returns) -> (mean, standard_error)`` with ``returns`` a 1-D numpy array of
    :math:`N` episode returns:

    .. math::

        \hat J = \frac{1}{N} \sum_{i=1}^{N} R(\tau_i), \qquad \text{SE} = \frac{s}{\sqrt{N}},

    with :math:`s` the sample standard deviation (``ddof = 1``). Compared with
    :func:`pgkit.objective.mc_estimate`.

    Parameters
    ----------
    fn : callable
        Your function, called as ``fn(returns)``.

    Returns
    -------
    bool
        True when every case passes; a verdict is printed.
    """
    return _check(_MC, _mc_cases(), fn)


PROBLEMS = (_MC,)


def __getattr__(name: str) -> Any:
    # REFERENCE imports pgkit.objective, and with it gymnasium, only when asked for: importing the
    # checkers stays fast.
    if name == "REFERENCE":
        from pgkit.objective import mc_estimate

        # pgkit's function that each exercise reproduces, called as the reader's function is.
        return {"mc_estimate": mc_estimate}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
