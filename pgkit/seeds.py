"""Run one configuration over several seeds, optionally in parallel processes.

Every experiment in the book reports several seeds: a single run of a policy-gradient
method says little, because two seeds of the same algorithm can differ more than two
algorithms do. On the book's 2-core machine two worker processes halve the wall-clock
time of a multi-seed experiment.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

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
    """Return ``[fn(seed=s, **kwargs) for s in seeds]``, in the order of ``seeds``.

    ``processes`` worker processes run seeds side by side (default: one per core,
    at most one per seed; ``processes=1`` runs in this process). Results are the same
    as a sequential run because each seed seeds everything it uses. Workers are
    forked, so ``fn`` may be any function, lambda or closure defined in a notebook;
    only the results travel back by pickling. A ``progress`` keyword,
    if ``fn`` takes one, should be False when running in parallel, since several bars
    would overwrite each other.
    """
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds is empty; pass e.g. seeds=range(3)")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds contains duplicates: {seeds}; each run needs its own seed")
    if processes is None:
        processes = min(len(seeds), os.cpu_count() or 1)
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise ValueError(f"processes must be a positive integer, got {processes!r}")
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
