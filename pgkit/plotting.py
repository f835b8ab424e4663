"""One figure style for the whole book, and the plots every chapter reuses.

Learning curves are drawn over environment steps (never iterations), as the mean
over seeds with a 95% confidence band for that mean, so curves from different
chapters and algorithms can be compared by eye. The palette is Okabe and Ito's,
which stays distinguishable for the common forms of colour blindness and in
greyscale print when combined with the line styles below.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

# Okabe & Ito (2008) colour-blind-safe palette, most distinct colours first.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
LINESTYLES = ("-", "--", "-.", ":")

# Two-sided 95% Student-t quantiles t_{0.975, df} for df = 1..30; beyond that the
# normal quantile 1.96 is within 2%. Small seed counts need the t quantile: with
# three seeds the band is 4.30 standard errors wide on each side, not 1.96.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip

STYLE = {
    "figure.figsize": (7.0, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 2.0,
    "font.size": 10,
}


def use_style() -> None:
    """Apply the book's matplotlib style (call once at the top of a chapter)."""
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(STYLE)
    mpl.rcParams["axes.prop_cycle"] = cycler(color=PALETTE)
    _retina_figures_in_notebooks()


def _retina_figures_in_notebooks() -> None:
    # In a notebook each figure is stored as a PNG of twice its pixel size and shown at its nominal
    # size: sharp on high-density screens, and the book links every figure to its full-size file.
    try:
        from IPython import get_ipython
    except ImportError:
        return
    if get_ipython() is not None:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")


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
    ValueError
        When ``df < 1``.
    """
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
        :math:`S` seeds, :math:`K` points.

    Returns
    -------
    mean, low, high : numpy.ndarray, shape (K,)
        The mean curve and the band's lower and upper edges.

    Raises
    ------
    ValueError
        When ``curves`` is not two-dimensional or holds no seed.
    """
    curves = np.asarray(curves, dtype=float)
    if curves.ndim != 2 or curves.shape[0] == 0:
        raise ValueError(f"curves must have shape (seeds, points), got {curves.shape}")
    mean = curves.mean(axis=0)
    seeds = curves.shape[0]
    if seeds == 1:
        return mean, mean.copy(), mean.copy()
    half = t_quantile_975(seeds - 1) * curves.std(axis=0, ddof=1) / math.sqrt(seeds)
    return mean, mean - half, mean + half


def _history(result: Any) -> Mapping[str, Any]:
    history = getattr(result, "history", result)
    if not isinstance(history, Mapping) or "steps" not in history:
        raise TypeError(
            "expected a TrainResult or a history dict with a 'steps' entry, "
            f"got {type(result).__name__}"
        )
    return history


def resample_curves(
    results: Sequence[Any], key: str = "episode_return", points: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """Put each seed's curve on one grid of environment steps.

    Seeds log at slightly different step counts (episodes end at different times), so
    each curve is linearly interpolated onto ``points`` evenly spaced steps between the
    largest first and the smallest last logged step. NaN entries (iterations where no
    episode finished yet) are dropped before interpolating.

    Parameters
    ----------
    results : sequence of TrainResult or history dict
        One :class:`pgkit.algos.TrainResult` (or its ``history``) per seed.
    key : str
        The history entry to resample.
    points : int
        Number of grid points :math:`K`.

    Returns
    -------
    steps : numpy.ndarray, shape (K,)
        The grid of environment steps.
    curves : numpy.ndarray, shape (S, K)
        Each seed's curve on that grid.

    Raises
    ------
    KeyError
        When a history has no ``key``.
    ValueError
        When ``results`` is empty or a run has no finite value of ``key``.
    """
    if len(results) == 0:
        raise ValueError("results is empty; pass one TrainResult (or history) per seed")
    histories = [_history(r) for r in results]
    for h in histories:
        if key not in h:
            raise KeyError(f"history has no {key!r}; available: {sorted(h)}")
    cleaned = []
    for h in histories:
        x = np.asarray(h["steps"], dtype=float)
        y = np.asarray(h[key], dtype=float)
        keep = np.isfinite(y)
        if keep.sum() == 0:
            raise ValueError(f"a run has no finite {key!r} values to plot")
        cleaned.append((x[keep], y[keep]))
    start = max(x[0] for x, _ in cleaned)
    stop = min(x[-1] for x, _ in cleaned)
    grid = np.linspace(start, stop, points) if stop > start else np.array([stop])
    curves = np.stack([np.interp(grid, x, y) for x, y in cleaned])
    return grid, curves


def learning_curve(
    results: Sequence[Any],
    *,
    key: str = "episode_return",
    label: str | None = None,
    ax: Any = None,
    color: str | None = None,
    linestyle: str = "-",
) -> Any:
    """Plot the mean over seeds of ``history[key]`` against environment steps, with a 95% band.

    Parameters
    ----------
    results : sequence of TrainResult or history dict
        One :class:`pgkit.algos.TrainResult` (or its ``history``) per seed.
    key : str
        The history entry to plot.
    label : str, optional
        Legend label; the number of seeds is added to it.
    ax : matplotlib.axes.Axes, optional
        Where to draw; the current axes by default.
    color, linestyle : str, optional
        Colour and dash of the curve and of the band's edges.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    ax = ax if ax is not None else plt.gca()
    grid, curves = resample_curves(results, key=key)
    mean, low, high = confidence_band(curves)
    seeds = curves.shape[0]
    seed_count = f"{seeds} seed" + ("s" if seeds != 1 else "")
    text = f"{label} ({seed_count})" if label else seed_count
    (line,) = ax.plot(grid, mean, label=text, color=color, linestyle=linestyle)
    # A light fill with thin edges in the curve's own dash: where several bands overlap, each one
    # can still be followed by its outline.
    colour = line.get_color()
    ax.fill_between(grid, low, high, color=colour, alpha=0.1, linewidth=0)
    for edge in (low, high):
        ax.plot(grid, edge, color=colour, linestyle=linestyle, linewidth=0.7, alpha=0.6)
    ax.set_xlabel("environment steps")
    ax.set_ylabel(key.replace("_", " "))
    return ax


def compare_methods(
    results_by_method: Mapping[str, Sequence[Any]],
    *,
    key: str = "episode_return",
    title: str = "",
    ax: Any = None,
) -> Any:
    """Learning curves of several methods on one axis, each with its own colour and dash.

    Parameters
    ----------
    results_by_method : mapping of str to sequence
        A method's name to its list of per-seed results (as for :func:`learning_curve`).
    key : str
        The history entry to plot.
    title : str
        Title of the axes.
    ax : matplotlib.axes.Axes, optional
        Where to draw; the current axes by default.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if not results_by_method:
        raise ValueError("results_by_method is empty; pass {name: [result per seed]}")
    ax = ax if ax is not None else plt.gca()
    for i, (name, results) in enumerate(results_by_method.items()):
        learning_curve(
            results,
            key=key,
            label=name,
            ax=ax,
            color=PALETTE[i % len(PALETTE)],
            linestyle=LINESTYLES[i % len(LINESTYLES)],
        )
    ax.set_title(title)
    ax.legend()
    return ax


def sweep_heatmap(
    scores: Any,
    *,
    row_values: Sequence[Any],
    col_values: Sequence[Any],
    row_label: str,
    col_label: str,
    title: str = "",
    ax: Any = None,
    fmt: str = "{:.0f}",
) -> Any:
    """Heatmap of a hyperparameter sweep: ``scores[i, j]`` for row value i and column value j.

    Each cell is annotated with its number so the figure is readable without colour.

    Parameters
    ----------
    scores : array_like, shape (len(row_values), len(col_values))
        One score per pair of values.
    row_values, col_values : sequence
        The values of the two swept settings, shown as tick labels.
    row_label, col_label : str
        Names of the two settings, shown as axis labels.
    title : str
        Title of the axes.
    ax : matplotlib.axes.Axes, optional
        Where to draw; the current axes by default.
    fmt : str
        Format of each cell's number.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        When the shape of ``scores`` does not match ``row_values`` and ``col_values``.
    """
    import matplotlib.pyplot as plt

    scores = np.asarray(scores, dtype=float)
    if scores.shape != (len(row_values), len(col_values)):
        raise ValueError(
            f"scores has shape {scores.shape} but row_values/col_values give "
            f"({len(row_values)}, {len(col_values)})"
        )
    ax = ax if ax is not None else plt.gca()
    image = ax.imshow(scores, cmap="viridis", aspect="auto", origin="lower")
    ax.set_xticks(range(len(col_values)), [str(v) for v in col_values])
    ax.set_yticks(range(len(row_values)), [str(v) for v in row_values])
    ax.set_xlabel(col_label)
    ax.set_ylabel(row_label)
    ax.set_title(title)
    ax.grid(False)
    middle = np.nanmin(scores) + 0.5 * (np.nanmax(scores) - np.nanmin(scores))
    for i in range(scores.shape[0]):
        for j in range(scores.shape[1]):
            colour = "black" if scores[i, j] > middle else "white"
            ax.text(j, i, fmt.format(scores[i, j]), ha="center", va="center", color=colour)
    ax.figure.colorbar(image, ax=ax)
    return ax
