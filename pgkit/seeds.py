"""Run one configuration over several seeds, optionally in parallel processes.

Every experiment in the book reports several seeds: a single run of a policy-gradient
method says little, because two seeds of the same algorithm can differ more than two
algorithms do. On the book's 2-core machine two worker processes halve the wall-clock
time of a multi-seed experiment.

Every seed a chapter names goes through :func:`book_seed` (or :func:`book_seeds`), which adds the
offset in the environment variable ``PGKIT_SEED_OFFSET``: a claim the book checks must
hold for other seeds too, and ``make claims`` re-runs the chapters to test that.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from pgkit.validation import check_positive_int, check_seed

# The job for forked workers. Handing it over through the fork instead of pickling it
# lets run_seeds accept lambdas and closures defined in a notebook.
_job: tuple[Callable[..., Any], dict[str, Any]] | None = None


def _run_forked(seed: int) -> Any:
    import torch

    # Each worker owns one core; letting torch spawn more threads only makes them fight.
    torch.set_num_threads(1)
    fn, kwargs = _job
    return fn(seed=seed, **kwargs)


def run_seeds(
    fn: Callable[..., Any],
    seeds: Sequence[int],
    *,
    processes: int | None = None,
    **kwargs: Any,
) -> list[Any]:
    r"""Return ``[fn(seed=s, **kwargs) for s in seeds]``, in the order of ``seeds``.

    Results are the same as a sequential run because each seed seeds everything it uses. Workers are
    forked, so ``fn`` may be any function, lambda or closure defined in a notebook; only the results
    travel back by pickling.

    Parameters
    ----------
    fn : callable
        Called as ``fn(seed=s, **kwargs)``.
    seeds : sequence
        Distinct seeds, one run each: usually ints, or any picklable keys such as
        ``(method, seed)`` pairs that ``fn`` understands; ``fn`` checks them.
    processes : int, optional
        Worker processes that run seeds side by side; default one per core, at most one per seed.
        ``processes=1`` runs in this process.
    **kwargs
        Passed to every call. A ``progress`` keyword, if ``fn`` takes one, should be False when
        running in parallel, since several bars would overwrite each other.

    Returns
    -------
    results : list
        One result per seed.

    Raises
    ------
    ValueError
        When ``seeds`` is empty or repeats a seed, or ``processes`` is not a positive integer.
    """
    if isinstance(seeds, (int, np.integer)):
        raise TypeError(f"seeds must be a list of seeds such as range({seeds}), got {seeds}")
    # fn decides what a seed is (an int, or a (method, seed) job as in Chapter 5) and checks it
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds is empty; pass e.g. seeds=range(3)")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds contains duplicates: {seeds}; each run needs its own seed")
    if processes is None:
        processes = min(len(seeds), os.cpu_count() or 1)
    processes = check_positive_int("processes", processes)
    if processes == 1:
        return [fn(seed=seed, **kwargs) for seed in seeds]
    global _job
    _job = (fn, kwargs)
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
            return list(pool.map(_run_forked, seeds))
    finally:
        _job = None


SEED_OFFSET_VARIABLE = "PGKIT_SEED_OFFSET"


def seed_offset() -> int:
    r"""The offset added to every seed the book uses: ``$PGKIT_SEED_OFFSET``, default 0.

    ``make claims`` re-runs every chapter with ``PGKIT_SEED_OFFSET=1000``, so each checked claim is
    tested on seeds it was not written with.

    Returns
    -------
    offset : int

    Raises
    ------
    ValueError
        When the variable is set to anything but a non-negative integer.
    """
    text = os.environ.get(SEED_OFFSET_VARIABLE, "").strip()
    if not text:
        return 0
    try:
        offset = int(text)
    except ValueError:
        raise ValueError(
            f"{SEED_OFFSET_VARIABLE}={text!r} is not an integer; "
            f"unset it or set e.g. {SEED_OFFSET_VARIABLE}=1000"
        ) from None
    if offset < 0:
        raise ValueError(f"{SEED_OFFSET_VARIABLE}={offset} is negative; use 0 or more")
    return offset


def book_seed(base: int) -> int:
    r"""Return ``base + seed_offset()``: the one way a chapter turns a seed it names into a seed.

    Chapters write ``book_seed(0)``, ``book_seed(1)``, ... wherever they seed a generator, an
    environment or a training run, so that changing ``PGKIT_SEED_OFFSET`` changes every random draw
    in the book at once while a default run stays as printed.

    Parameters
    ----------
    base : int, at least 0
        The seed the chapter names.

    Returns
    -------
    seed : int
    """
    return check_seed("base", base) + seed_offset()


def book_seeds(n: int, start: int = 0) -> list[int]:
    r"""Return ``[book_seed(start), ..., book_seed(start + n - 1)]``: n experiment seeds.

    Parameters
    ----------
    n : int, at least 1
        Number of seeds.
    start : int, at least 0, default 0
        The first base seed.

    Returns
    -------
    seeds : list of int
    """
    n = check_positive_int("n", n)
    start = check_seed("start", start)
    return [book_seed(start + i) for i in range(n)]
