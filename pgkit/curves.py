"""Learning curves as numbers: every seed's history on one grid of steps, and a 95% band.

Seeds log at slightly different environment steps, so :func:`resample_curves` interpolates
each run onto one grid of steps before they are averaged, and :func:`confidence_band` gives
the mean over seeds with a 95% confidence band for that mean. The band uses Student's t
quantile (:func:`t_quantile_975`), since an experiment in the book has only a handful of
seeds. :mod:`pgkit.plotting` draws these curves and re-exports all three functions.

Inputs are checked before anything is computed, so a mistake raises a ``ValueError`` or
``TypeError`` naming the argument instead of giving an empty or one-point curve, or a band
of NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pgkit.validation import check_no_overflow, to_numpy

__all__ = ["confidence_band", "resample_curves", "t_quantile_975"]

# Two-sided 95% Student-t quantiles t_{0.975, df} for df = 1..30; beyond that the
# normal quantile 1.96 is within 2%. Small seed counts need the t quantile: with
# three seeds the band is 4.30 standard errors wide on each side, not 1.96.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t_quantile_975(df: int) -> float:
    r"""Two-sided 95% Student-t quantile :math:`t_{0.975,\, \text{df}}` (1.96 for ``df > 30``).

    Parameters
    ----------
    df : int
        Degrees of freedom, at least 1 (two seeds).

    Returns
    -------
    float
        The tabulated quantile, or the normal quantile 1.96 beyond 30 degrees of freedom.

    Raises
    ------
    TypeError
        When ``df`` is not an integer (booleans included).
    ValueError
        When ``df < 1``.
    """
    if isinstance(df, bool) or not isinstance(df, (int, np.integer)):
        raise TypeError(
            f"df must be an integer (the number of seeds minus one), got {type(df).__name__}"
        )
    if df < 1:
        raise ValueError(f"df must be >= 1 (need at least two seeds for a band), got {df}")
    return _T975[df - 1] if df <= len(_T975) else 1.96


def confidence_band(curves: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Mean and 95% confidence band of the mean over seeds.

    .. math::

        \text{low}, \text{high} = \text{mean} \mp t_{0.975,\, S-1} \frac{s}{\sqrt{S}},

    with :math:`s` the sample standard deviation over the :math:`S` seeds at each point. With a
    single seed the band collapses to the curve itself.

    Parameters
    ----------
    curves : array_like, shape (S, K)
        :math:`S` seeds, :math:`K` points, real and finite.

    Returns
    -------
    mean, low, high : numpy.ndarray, shape (K,)
        The mean curve and the band's lower and upper edges.

    Raises
    ------
    TypeError
        When ``curves`` holds booleans, complex numbers or anything but numbers.
    ValueError
        When ``curves`` is not two-dimensional, holds no seed or no point, holds NaN or
        infinity, or holds values so large that the band overflows.
    """
    curves = _real_array("curves", curves)
    if curves.ndim != 2:
        hint = (
            "; for a single seed's curve use curves[None, :]"
            if curves.ndim == 1
            else ", e.g. np.stack(list_of_curves)"
        )
        raise ValueError(f"curves must have shape (seeds, points), got shape {curves.shape}{hint}")
    if curves.shape[0] == 0:
        raise ValueError("curves holds no seed (shape (0, K)); pass at least one seed's curve")
    if curves.shape[1] == 0:
        raise ValueError("curves has no point (shape (S, 0)); pass curves of at least one point")
    # A NaN would make the mean and both edges NaN at that point without a word; resample_curves
    # is where missing values (iterations with no finished episode) are skipped.
    _check_finite(
        "curves",
        curves,
        "every seed needs a value at every point: put the runs on one grid with "
        "resample_curves, which skips NaN entries, or drop that point",
    )
    seeds = curves.shape[0]
    # Values near the float maximum overflow in the sum or the squares; the check below turns
    # that into an error naming curves, so numpy's warning would only repeat it.
    with np.errstate(over="ignore", invalid="ignore"):
        mean = curves.mean(axis=0)
        if seeds == 1:
            low, high = mean.copy(), mean.copy()
        else:
            half = t_quantile_975(seeds - 1) * curves.std(axis=0, ddof=1) / math.sqrt(seeds)
            low, high = mean - half, mean + half
    check_no_overflow(
        np.stack([mean, low, high]), "curves", fix="rescale them, e.g. divide by a constant"
    )
    return mean, low, high


def _real_array(name: str, x: Any) -> np.ndarray:
    """``x`` as a float array; complex, boolean and non-numeric inputs are refused by name."""
    arr = to_numpy(x, name)
    if arr.dtype == bool:
        # True/False are not measurements: most likely a flag array or a comparison
        # (returns > 0) passed in place of the values themselves.
        raise TypeError(
            f"{name} must hold numbers, got booleans; pass the values themselves "
            "(convert on purpose with .astype(float) if 0/1 is really what you mean)"
        )
    return arr.astype(float)


def _check_finite(name: str, arr: np.ndarray, fix: str, *, allow_nan: bool = False) -> None:
    bad = np.isinf(arr) if allow_nan else ~np.isfinite(arr)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = index[0] if len(index) == 1 else index
        raise ValueError(f"{name} holds {arr[index]} at index {where}; {fix}")


def _run_name(i: int, result: Any) -> str:
    config = getattr(result, "config", None)
    seed = config.get("seed") if isinstance(config, Mapping) else None
    return f"results[{i}]" + (f" (seed {seed})" if seed is not None else "")


def _runs(results: Any) -> list[tuple[str, Mapping[str, Any]]]:
    """(name, history) for each run, naming each run by its position in ``results``."""
    if isinstance(results, Mapping) or hasattr(results, "history"):
        # One run passed on its own: iterating it would walk the history's keys.
        raise TypeError(
            f"results must be a list with one TrainResult (or history dict) per seed, got a "
            f"single {type(results).__name__}; wrap one run in a list: [result]"
        )
    if isinstance(results, (str, bytes)) or not hasattr(results, "__iter__"):
        raise TypeError(
            "results must be a list with one TrainResult (or history dict) per seed, "
            f"got {type(results).__name__}"
        )
    results = list(results)
    if not results:
        raise ValueError("results is empty; pass one TrainResult (or history) per seed")
    runs = []
    for i, result in enumerate(results):
        name = _run_name(i, result)
        history = getattr(result, "history", result)
        if not isinstance(history, Mapping):
            raise TypeError(
                f"{name} must be a TrainResult or a history dict with a 'steps' entry, "
                f"got {type(result).__name__}"
            )
        if "steps" not in history:
            hint = (
                "; it looks like a sweep record: pass pgkit.sweeps.as_history(record)"
                if "history" in history
                else ""
            )
            raise KeyError(
                f"{name} has no 'steps' entry (the x axis); available: "
                f"{sorted(map(str, history))}{hint}"
            )
        runs.append((name, history))
    return runs


def _run_curve(name: str, history: Mapping[str, Any], key: str) -> tuple[np.ndarray, np.ndarray]:
    """One run's logged steps and finite values of ``key``, after checking both."""
    if key not in history:
        raise KeyError(f"{name} has no {key!r}; available: {sorted(map(str, history))}")
    steps = _real_array(f"{name}['steps']", history["steps"])
    values = _real_array(f"{name}[{key!r}]", history[key])
    for label, arr in ((f"{name}['steps']", steps), (f"{name}[{key!r}]", values)):
        if arr.ndim != 1:
            raise ValueError(
                f"{label} must be one-dimensional (one entry per logged iteration), "
                f"got shape {arr.shape}"
            )
    if len(steps) != len(values):
        raise ValueError(
            f"{name}['steps'] has {len(steps)} entries but {name}[{key!r}] has {len(values)}; "
            "a history needs one value per logged step"
        )
    _check_finite(f"{name}['steps']", steps, "every logged iteration needs a finite step count")
    # Steps only grow in a single run's log. Sorting would quietly interleave two runs joined
    # into one history, so an out-of-order log is refused and the choice is left to the caller.
    decreasing = np.flatnonzero(np.diff(steps) <= 0)
    if len(decreasing):
        i = int(decreasing[0])
        raise ValueError(
            f"{name}['steps'] must increase, but goes from {steps[i]:g} at index {i} to "
            f"{steps[i + 1]:g} at index {i + 1}; sort the history by its steps "
            "(order = np.argsort(steps), applied to steps and values alike), or, if it "
            "joins several runs, pass each run separately"
        )
    # NaN marks an iteration where no episode finished (pgkit.algos logs it so) and is skipped;
    # an infinity is not a missing value but a diverged one, and would draw a band of NaN.
    _check_finite(
        f"{name}[{key!r}]",
        values,
        "NaN marks a missing value and is skipped, but an infinity cannot be averaged: "
        "drop or clip that entry",
        allow_nan=True,
    )
    if len(steps) == 0:
        raise ValueError(f"{name} logs no iteration ({name}['steps'] is empty); train first")
    keep = ~np.isnan(values)
    if not keep.any():
        raise ValueError(
            f"{name} has no finite {key!r} values to plot (all {len(values)} are NaN): "
            "no episode finished; train for more steps"
        )
    return steps[keep], values[keep]


def resample_curves(
    results: Sequence[Any], key: str = "episode_return", points: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """Put each seed's curve on one grid of environment steps.

    Seeds log at slightly different step counts (episodes end at different times), so
    each curve is linearly interpolated onto ``points`` evenly spaced steps between the
    largest first and the smallest last logged step. NaN entries (iterations where no
    episode finished yet) are dropped before interpolating. Each history's ``steps`` must
    increase, as they do in a run's log; an out-of-order history is refused rather than
    sorted, since it is most often two runs joined into one. Runs whose step ranges do not
    overlap (or meet at a single step) have no common grid and are refused too. Only where
    every run has a single finite value, all at the same step (a run of one iteration), is
    the grid that one step.

    Parameters
    ----------
    results : sequence of TrainResult or history dict
        One :class:`pgkit.algos.TrainResult` (or its ``history``) per seed, in a list even
        for a single run.
    key : str
        The history entry to resample.
    points : int
        Number of grid points :math:`K`, at least 2.

    Returns
    -------
    steps : numpy.ndarray, shape (K,)
        The grid of environment steps.
    curves : numpy.ndarray, shape (S, K)
        Each seed's curve on that grid.

    Raises
    ------
    KeyError
        When a history has no ``steps`` or no ``key``.
    TypeError
        When ``results`` is not a sequence of runs (a single run on its own included), ``key``
        is not a string, ``points`` not an integer, or an entry holds booleans, complex
        numbers or non-numbers.
    ValueError
        When ``results`` is empty, ``points < 2``, a history's steps and values differ in
        length or shape, its steps are not finite or do not increase, its values hold an
        infinity or no finite value, or the runs' step ranges do not overlap.
    """
    runs = _runs(results)
    if not isinstance(key, str):
        raise TypeError(f"key must be the name of a history entry (a str), got {key!r}")
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)):
        raise TypeError(f"points must be an integer, got {type(points).__name__}")
    if points < 2:
        raise ValueError(f"points must be >= 2 (a curve needs two grid points), got {points}")
    cleaned = [(name, *_run_curve(name, history, key)) for name, history in runs]
    latest_start = max(cleaned, key=lambda run: run[1][0])
    earliest_stop = min(cleaned, key=lambda run: run[1][-1])
    start, stop = latest_start[1][0], earliest_stop[1][-1]
    one_step = all(len(x) == 1 and x[0] == start for _, x, _ in cleaned)
    if one_step:
        grid = np.array([start])
    elif stop <= start:
        ranges = ", ".join(
            f"{name} covers steps {x[0]:g} to {x[-1]:g}"
            for name, x, _ in (earliest_stop, latest_start)
        )
        shared = "share only step" if stop == start else "do not overlap"
        raise ValueError(
            f"the runs' step ranges {shared}{f' {stop:g}' if stop == start else ''}, so there "
            f"is no common grid to average them on: {ranges} (finite {key!r} values). Pass "
            "runs that cover the same steps (e.g. the same total_steps), or draw them with "
            "separate learning_curve calls"
        )
    else:
        grid = np.linspace(start, stop, int(points))
    curves = np.stack([np.interp(grid, x, y) for _, x, y in cleaned])
    return grid, check_no_overflow(
        curves, f"the runs' {key!r}", fix="rescale them, e.g. divide by a constant"
    )
