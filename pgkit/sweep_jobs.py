"""The jobs of a sweep: one (settings, seed) pair each, with a stable id, and how one is run.

:func:`make_jobs` turns a grid of settings and a number of seeds into :class:`Job`
values; :func:`run_job` trains and evaluates one of them and returns its record, which
:mod:`pgkit.sweep_results` writes to the sweep folder. :func:`pgkit.sweeps.run_jobs` hands
the jobs to the local or the Ray backend, and :mod:`pgkit.sweeps` re-exports all three.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import json
import math
import re
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pgkit.sweep_results import RUNS
from pgkit.validation import check_positive_int, check_seed

__all__ = ["Job", "make_jobs", "run_job"]


@dataclass(frozen=True)
class Job:
    """One training run of a sweep: ``algo(env_id, total_steps=..., seed=..., **settings)``.

    Parameters
    ----------
    algo : str
        A function of :mod:`pgkit.algos` (``"ppo"``) or any importable training function as
        ``"module:function"``, which must return a ``TrainResult``-like object with
        ``policy``, ``history`` and ``config``.
    env_id : str
        The environment.
    total_steps : int
        Environment steps of training.
    settings : tuple of (str, value) pairs
        Further keywords of ``algo``, sorted by name.
    seed : int
        The run's seed.
    eval_episodes : int
        Episodes of the greedy evaluation after training.
    """

    algo: str
    env_id: str
    total_steps: int
    settings: tuple[tuple[str, Any], ...]
    seed: int
    eval_episodes: int = 10

    def __post_init__(self) -> None:
        # a numpy seed would not survive the JSON of the job's spec and id
        object.__setattr__(self, "seed", check_seed("seed", self.seed))

    def spec(self) -> dict[str, Any]:
        return {
            "algo": self.algo,
            "env_id": self.env_id,
            "total_steps": self.total_steps,
            "settings": dict(self.settings),
            "seed": self.seed,
            "eval_episodes": self.eval_episodes,
        }

    @property
    def id(self) -> str:
        """A readable and stable name, the settings and seed, then a hash of the whole job."""
        digest = hashlib.sha256(json.dumps(self.spec(), sort_keys=True).encode()).hexdigest()
        words = [self.algo, *(f"{k}={v}" for k, v in self.settings), f"seed={self.seed}"]
        readable = re.sub(r"[^A-Za-z0-9_.=+-]+", "_", "_".join(words))[:80]
        return f"{readable}-{digest[:10]}"


def make_jobs(
    algo: str,
    env_id: str,
    *,
    total_steps: int,
    grid: Mapping[str, Sequence[Any]] | None = None,
    seeds: int | Sequence[int] = 3,
    eval_episodes: int = 10,
) -> list[Job]:
    r"""Every combination of the ``grid`` values, times every seed, as a list of jobs.

    Parameters
    ----------
    algo, env_id, total_steps, eval_episodes
        As for :class:`Job`.
    grid : mapping of str to sequence, optional
        A keyword of ``algo`` to the values to try (``{"gamma": [0.9, 0.99]}``); it cannot
        set ``env_id``, ``total_steps``, ``seed`` or ``progress``.
    seeds : int or sequence of int
        A number :math:`n` (seeds :math:`0, \dots, n-1`) or the seeds themselves (distinct,
        non-negative).

    Returns
    -------
    list of Job

    Raises
    ------
    ValueError
        When ``algo`` names no training function, or ``grid`` or ``seeds`` is malformed.
    """
    if not isinstance(algo, str) or not algo:
        raise TypeError(f"algo must name a training function, e.g. 'ppo', got {algo!r}")
    _training_function(algo)  # fail now on a typo, not in every worker
    total_steps = check_positive_int("total_steps", total_steps)
    eval_episodes = check_positive_int("eval_episodes", eval_episodes)
    grid = dict(grid or {})
    for name, values in grid.items():
        if isinstance(values, str) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"grid[{name!r}] must be a non-empty list of values, got {values!r}")
        for reserved in ("env_id", "total_steps", "seed", "progress"):
            if name == reserved:
                raise ValueError(f"grid cannot set {reserved!r}; it is an argument of the sweep")
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        seeds = range(check_positive_int("seeds", seeds))
    elif isinstance(seeds, (str, bytes, bool)) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"seeds must be a number of seeds or a list of seeds, got {seeds!r}")
    seeds = [check_seed(f"seeds[{i}]", s) for i, s in enumerate(seeds)]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct non-negative integers, got {seeds}")
    names = sorted(grid)
    jobs = []
    for values in itertools.product(*(grid[name] for name in names)):
        settings = tuple(zip(names, (_plain(v) for v in values), strict=True))
        jobs += [Job(algo, env_id, total_steps, settings, s, eval_episodes) for s in seeds]
    return jobs


def _training_function(algo: str) -> Callable[..., Any]:
    module, sep, name = algo.rpartition(":")
    if not sep:
        module, name = "pgkit.algos", algo
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise ValueError(
            f"cannot find the training function {algo!r}: name one of pgkit.algos "
            "(reinforce, vpg, a2c, ppo) or give 'module:function'"
        ) from e
    if not callable(fn):
        raise ValueError(f"{algo!r} is not a function")
    return fn


def run_job(job: Job, out: Path | None = None) -> dict[str, Any]:
    """Train and evaluate one job; return its record (an error record if it raised).

    Parameters
    ----------
    job : Job
        The job to run.
    out : Path, optional
        With ``out``, the trained networks are saved to ``out/runs/<id>`` first, so a record
        never names a run that is not there.

    Returns
    -------
    dict
        The job's record, as described in :func:`pgkit.sweeps.run_jobs`.
    """
    import gymnasium
    import numpy as np
    import torch

    import pgkit
    from pgkit.checkpoints import save_run
    from pgkit.rollout import evaluate

    torch.set_num_threads(1)  # one job, one core: threads would only fight
    start = time.perf_counter()
    try:
        fn = _training_function(job.algo)
        result = fn(
            job.env_id, total_steps=job.total_steps, seed=job.seed, progress=False,
            **dict(job.settings),
        )  # fmt: skip
        # Greedy evaluation on seeds no training episode used.
        final = evaluate(
            result.policy, job.env_id, episodes=job.eval_episodes, seed=job.seed + 10**6
        )
        if out is not None:  # a leftover of a job killed before its record: replaced whole
            save_run(result, Path(out) / RUNS / job.id, overwrite=True)
    except Exception as e:  # recorded with its traceback; the sweep goes on
        return {**job.spec(), "id": job.id, "error": f"{type(e).__name__}: {e}",
                "traceback": traceback.format_exc()}  # fmt: skip
    return {
        **job.spec(),
        "id": job.id,
        "history": {
            k: [_number(x) for x in np.asarray(v).tolist()] for k, v in result.history.items()
        },
        "final_return": float(np.mean(final)),
        "run": None if out is None else f"{RUNS}/{job.id}",
        "wall_time": time.perf_counter() - start,
        "config": json.loads(json.dumps(result.config, default=_plain)),
        "versions": {
            "pgkit": pgkit.__version__,
            "torch": torch.__version__,
            "gymnasium": gymnasium.__version__,
            "numpy": np.__version__,
        },
    }


def _number(x: Any) -> Any:
    return None if isinstance(x, float) and not math.isfinite(x) else x


def _plain(value: Any) -> Any:
    """JSON for numpy scalars in a grid or a config."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return value


def _error_record(job: Job, error: BaseException) -> dict[str, Any]:
    return {**job.spec(), "id": job.id, "error": f"{type(error).__name__}: {error}",
            "traceback": "".join(traceback.format_exception(error))}  # fmt: skip
