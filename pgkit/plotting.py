"""One figure style for the whole book, and the plots every chapter reuses.

Learning curves are drawn over environment steps (never iterations), as the mean
over seeds with a 95% confidence band for that mean, so curves from different
chapters and algorithms can be compared by eye. The palette is Okabe and Ito's,
which stays distinguishable for the common forms of colour blindness and in
greyscale print when combined with the line styles below.

Inputs are checked before anything is drawn, so a mistake raises a ``ValueError`` or
``TypeError`` naming the argument instead of leaving a half-drawn figure, an empty or
one-point curve, or a band of NaN.

The numbers behind a learning curve (one grid of steps for all seeds, the 95% band) come
from :mod:`pgkit.curves`; ``t_quantile_975``, ``confidence_band`` and ``resample_curves``
are re-exported here, so ``pgkit.plotting.confidence_band`` keeps working.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np

# confidence_band, resample_curves and t_quantile_975 are re-exported: they lived here before
# pgkit.curves, and the chapters call them from here.
from pgkit.curves import (
    _check_finite,
    _real_array,
    confidence_band,
    resample_curves,
    t_quantile_975,
)

__all__ = [
    "LINESTYLES",
    "PALETTE",
    "STYLE",
    "compare_methods",
    "confidence_band",
    "learning_curve",
    "resample_curves",
    "style_context",
    "sweep_heatmap",
    "t_quantile_975",
    "use_style",
]

# Okabe & Ito (2008) colour-blind-safe palette, most distinct colours first.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
LINESTYLES = ("-", "--", "-.", ":")

# Read-only, so that no caller can change every later figure of the book by editing it.
STYLE = MappingProxyType(
    {
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
)


def use_style() -> None:
    """Apply the book's matplotlib style (call once at the top of a chapter)."""
    import matplotlib as mpl

    mpl.rcParams.update(_rc())
    _retina_figures_in_notebooks()


def style_context() -> Any:
    """The book's matplotlib style for the figures made inside a ``with`` block only.

    For figures that pgkit saves to files (a run's learning curve, a sweep's report): they
    look like the book's, and the settings of the notebook or program that asked for them
    are back as they were after the block. A chapter calls :func:`use_style` instead.

    Returns
    -------
    contextlib.AbstractContextManager
        ``matplotlib.rc_context`` of the book's settings.

    Examples
    --------
    >>> with style_context():
    ...     fig, ax = plt.subplots()  # doctest: +SKIP
    """
    import matplotlib as mpl

    return mpl.rc_context(_rc())


def _rc() -> dict[str, Any]:
    from cycler import cycler

    return {**STYLE, "axes.prop_cycle": cycler(color=PALETTE)}


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


def _check_axes(ax: Any) -> Any:
    """``ax``, or the current axes when it is None, after checking it is one Axes."""
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    if ax is None:
        return plt.gca()
    if isinstance(ax, Axes):
        return ax
    if isinstance(ax, np.ndarray):
        hint = f"an array of {ax.size} axes; pick one, e.g. axes[0]"
    elif hasattr(ax, "add_subplot"):
        hint = "a Figure; pass its axes, e.g. the ax of fig, ax = plt.subplots()"
    else:
        hint = type(ax).__name__
    raise TypeError(f"ax must be one matplotlib Axes (or None for the current one), got {hint}")


def _check_line_style(color: Any, linestyle: Any) -> None:
    from matplotlib.lines import Line2D

    # Matplotlib checks both when the line is made; doing it up front keeps a bad colour from
    # failing after part of the figure is drawn, and names the argument.
    for name, value in (("color", color), ("linestyle", linestyle)):
        try:
            Line2D([], [], **{name: value})
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"{name}={value!r} is not a matplotlib {name}: {str(error).rstrip('.')}; e.g. "
                + ("color='#0072B2' or one of PALETTE" if name == "color" else "one of LINESTYLES")
            ) from error


def _check_str(name: str, value: Any, *, optional: bool = False) -> None:
    if (value is None and optional) or isinstance(value, str):
        return
    kind = "a str or None" if optional else "a str"
    raise TypeError(f"{name} must be {kind}, got {type(value).__name__}; convert it with str()")


def _draw_curve(
    ax: Any,
    grid: np.ndarray,
    curves: np.ndarray,
    *,
    key: str,
    label: str | None,
    color: str | None,
    linestyle: str,
) -> None:
    mean, low, high = confidence_band(curves)
    seeds = curves.shape[0]
    seed_count = f"{seeds} seed" + ("s" if seeds != 1 else "")
    text = f"{label} ({seed_count})" if label else seed_count
    # A line through one point is invisible: runs of a single iteration get markers instead.
    single = len(grid) == 1
    (line,) = ax.plot(
        grid, mean, label=text, color=color, linestyle=linestyle, marker="o" if single else None
    )
    # A light fill with thin edges in the curve's own dash: where several bands overlap, each one
    # can still be followed by its outline.
    colour = line.get_color()
    ax.fill_between(grid, low, high, color=colour, alpha=0.1, linewidth=0)
    for edge in (low, high):
        ax.plot(
            grid, edge, color=colour, linestyle=linestyle, linewidth=0.7, alpha=0.6,
            marker="_" if single else None,
        )  # fmt: skip
    ax.set_xlabel("environment steps")
    ax.set_ylabel(key.replace("_", " "))


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

    The runs are put on one grid by :func:`pgkit.curves.resample_curves` (so they must cover
    overlapping steps) and the band is :func:`pgkit.curves.confidence_band`'s. A run of a
    single iteration is drawn as a marker.

    Parameters
    ----------
    results : sequence of TrainResult or history dict
        One :class:`pgkit.algos.TrainResult` (or its ``history``) per seed, in a list even
        for a single run.
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

    Raises
    ------
    KeyError, TypeError, ValueError
        As :func:`pgkit.curves.resample_curves` for ``results`` and ``key``; ``TypeError`` also when
        ``label`` is not a string or ``ax`` is not one Axes, and ``ValueError`` when
        ``color`` or ``linestyle`` is not one matplotlib knows. Nothing is drawn then.
    """
    _check_str("label", label, optional=True)
    _check_line_style(color, linestyle)
    grid, curves = resample_curves(results, key=key)
    ax = _check_axes(ax)
    _draw_curve(ax, grid, curves, key=key, label=label, color=color, linestyle=linestyle)
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
        A method's name to its list of per-seed results (as for :func:`learning_curve`), at
        most ``len(PALETTE)`` methods so that no two share a colour and dash.
    key : str
        The history entry to plot.
    title : str
        Title of the axes.
    ax : matplotlib.axes.Axes, optional
        Where to draw; the current axes by default.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    KeyError, TypeError, ValueError
        As :func:`learning_curve` for each method's results, the message naming the method;
        ``TypeError`` also when ``results_by_method`` is not a mapping or a name or ``title``
        is not a string, and ``ValueError`` when it is empty or has more methods than
        ``PALETTE`` has colours. Nothing is drawn then.
    """
    if not isinstance(results_by_method, Mapping):
        raise TypeError(
            "results_by_method must be a dict {name: [result per seed]}, "
            f"got {type(results_by_method).__name__}"
        )
    if not results_by_method:
        raise ValueError("results_by_method is empty; pass {name: [result per seed]}")
    if len(results_by_method) > len(PALETTE):
        # Colour i and dash i % 4 repeat after len(PALETTE) methods: two curves would look alike.
        raise ValueError(
            f"results_by_method has {len(results_by_method)} methods but only {len(PALETTE)} "
            "can be told apart on one axis; split them over several axes"
        )
    _check_str("title", title)
    resampled = []
    for name, results in results_by_method.items():
        _check_str(f"the method name {name!r}", name)
        try:
            resampled.append((name, *resample_curves(results, key=key)))
        except (KeyError, TypeError, ValueError) as error:
            raise type(error)(f"results_by_method[{name!r}]: {error.args[0]}") from error
    ax = _check_axes(ax)
    for i, (name, grid, curves) in enumerate(resampled):
        _draw_curve(
            ax, grid, curves, key=key, label=name,
            color=PALETTE[i % len(PALETTE)], linestyle=LINESTYLES[i % len(LINESTYLES)],
        )  # fmt: skip
    ax.set_title(title)
    ax.legend()
    return ax


def _tick_values(name: str, values: Any) -> list[Any]:
    if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__len__"):
        axis = "row" if name == "row_values" else "column"
        raise TypeError(
            f"{name} must be a list of the swept values (one per {axis}), "
            f"got {type(values).__name__}"
        )
    return list(values)


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

    Each cell is annotated with its number so the figure is readable without colour. A NaN
    cell (a pair of values with no finished run) is left blank in colour and marked ``nan``.

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
        Format of each cell's number, with one replacement field such as ``"{:.2f}"``.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    TypeError
        When ``scores`` holds booleans, complex numbers or non-numbers, ``row_values`` or
        ``col_values`` is not a sequence, a label, ``title`` or ``fmt`` is not a string, or
        ``ax`` is not one Axes.
    ValueError
        When the shape of ``scores`` does not match ``row_values`` and ``col_values``, it is
        empty, holds an infinity or no finite score, or ``fmt`` cannot format a number.
    """
    scores = _real_array("scores", scores)
    row_values = _tick_values("row_values", row_values)
    col_values = _tick_values("col_values", col_values)
    if scores.shape != (len(row_values), len(col_values)):
        raise ValueError(
            f"scores has shape {scores.shape} but row_values/col_values give "
            f"({len(row_values)}, {len(col_values)})"
        )
    if scores.size == 0:
        raise ValueError(
            f"scores is empty (shape {scores.shape}); pass at least one row and one column value"
        )
    # NaN is a cell with no finished run (pgkit.sweeps leaves it so); infinity is a broken score.
    _check_finite("scores", scores, "pass finite scores (NaN for a missing cell)", allow_nan=True)
    if np.isnan(scores).all():
        raise ValueError("scores holds no finite value (every cell is NaN); nothing to show")
    for name, value in (("row_label", row_label), ("col_label", col_label), ("title", title)):
        _check_str(name, value)
    if not isinstance(fmt, str):
        raise TypeError(f"fmt must be a format string such as '{{:.2f}}', got {type(fmt).__name__}")
    try:
        distinct = fmt.format(1.0) != fmt.format(2.0)
    except (ValueError, IndexError, KeyError) as error:
        raise ValueError(
            f"fmt={fmt!r} cannot format a number ({error}); e.g. '{{:.2f}}'"
        ) from error
    if not distinct:
        raise ValueError(f"fmt={fmt!r} has no replacement field for the score; e.g. '{{:.2f}}'")
    ax = _check_axes(ax)
    image = ax.imshow(scores, cmap="viridis", aspect="auto", origin="lower")
    ax.set_xticks(range(len(col_values)), [str(v) for v in col_values])
    ax.set_yticks(range(len(row_values)), [str(v) for v in row_values])
    ax.set_xlabel(col_label)
    ax.set_ylabel(row_label)
    ax.set_title(title)
    ax.grid(False)
    # Halves added, not the range halved: max - min overflows for scores near the float maximum.
    middle = 0.5 * np.nanmin(scores) + 0.5 * np.nanmax(scores)
    for i in range(scores.shape[0]):
        for j in range(scores.shape[1]):
            colour = "black" if scores[i, j] > middle else "white"
            ax.text(j, i, fmt.format(scores[i, j]), ha="center", va="center", color=colour)
    ax.figure.colorbar(image, ax=ax)
    return ax
