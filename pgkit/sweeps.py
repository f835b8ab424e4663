"""Sweeps: one training function over a grid of settings x seeds, resumable, local or on Ray.

A sweep is a list of jobs; a job is one (settings, seed) pair with a stable id made from
its settings and seed. Each finished job is written to ``OUT/jobs/<id>.json`` atomically
(its history, final evaluation, wall time, exact configuration and library versions), and
its trained networks to ``OUT/runs/<id>/`` (a :func:`pgkit.checkpoints.save_run` folder), so
re-running the same sweep skips it, and Ctrl-C or a killed worker loses only the jobs in
flight. A job that raises is written to ``OUT/jobs/<id>.error.json`` with its traceback
and is tried again on the next run. After every run the tidy tables ``OUT/results.csv``
(one row per job and training iteration) and ``OUT/summary.csv`` (one row per job) are
rewritten from the job files.

Backends run the same jobs and give bitwise identical results on one machine, because
every job seeds everything it uses and trains with one torch thread:

- ``"local"`` (default): worker processes of the standard library's
  ``concurrent.futures.ProcessPoolExecutor``, one per core unless ``workers`` says
  otherwise (``workers=1`` runs the jobs in this process). Workers are forked from a clean
  server process that has imported torch and pgkit once (``forkserver`` where the platform
  has it, else ``spawn``), so they start in milliseconds and share no state with the caller;
- ``"ray"``: Ray tasks of one CPU each, on a running cluster (``address="HOST:PORT"``)
  or on a local Ray instance started for the sweep (``pip install -e ".[cluster]"``).

    >>> from pgkit.sweeps import run_sweep                     # doctest: +SKIP
    >>> run_sweep("a2c", "CartPole-v1", total_steps=50_000, seeds=3, out="runs/gae",
    ...           grid={"gamma": [0.9, 0.99], "lam": [0.9, 1.0]})

Jobs of different algorithms run together with :func:`run_jobs`
(``run_jobs(make_jobs("ppo", ...) + make_jobs("a2c", ...), out=...)``), and
:func:`as_history` turns a record's history back into numpy arrays for :mod:`pgkit.plotting`.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import io
import itertools
import json
import math
import os
import re
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pgkit.files import write_atomically
from pgkit.validation import check_positive_int, check_seed

__all__ = [
    "Job",
    "as_history",
    "load_results",
    "make_jobs",
    "run_jobs",
    "run_sweep",
    "sweep_report",
]

BACKENDS = ("local", "ray")
JOBS = "jobs"
RUNS = "runs"
RESULTS = "results.csv"
SUMMARY = "summary.csv"


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


def run_sweep(
    algo: str,
    env_id: str,
    *,
    total_steps: int,
    out: str | Path,
    grid: Mapping[str, Sequence[Any]] | None = None,
    seeds: int | Sequence[int] = 3,
    eval_episodes: int = 10,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    progress: bool = True,
) -> dict[str, dict[str, Any]]:
    """Run every job of the sweep that has not finished yet; return ``{job id: record}``.

    The jobs are :func:`make_jobs` of the arguments, run by :func:`run_jobs`.

    Parameters
    ----------
    algo, env_id, total_steps, grid, seeds, eval_episodes
        As for :func:`make_jobs`.
    out, backend, workers, address, progress
        As for :func:`run_jobs`.

    Returns
    -------
    dict of str to dict
        As for :func:`run_jobs`.
    """
    jobs = make_jobs(
        algo, env_id, total_steps=total_steps, grid=grid, seeds=seeds, eval_episodes=eval_episodes
    )
    return run_jobs(
        jobs, out=out, backend=backend, workers=workers, address=address, progress=progress
    )


def run_jobs(
    jobs: Sequence[Job],
    *,
    out: str | Path,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    progress: bool = True,
) -> dict[str, dict[str, Any]]:
    """Run every job in ``jobs`` that has not finished yet; return ``{job id: record}``.

    Parameters
    ----------
    jobs : sequence of Job
        Run in this order as far as the workers allow, so put the longest first; no job
        twice.
    out : str or Path
        The sweep folder (see :mod:`pgkit.sweeps`).
    backend : {"local", "ray"}
        Where the jobs run.
    workers : int, optional
        Worker processes (``1`` runs the jobs in this process), or the CPUs of a Ray
        instance started for the sweep; one per core by default.
    address : str, optional
        ``"HOST:PORT"`` of a running Ray cluster (``backend="ray"`` only).
    progress : bool
        Show a progress bar.

    Returns
    -------
    records : dict of str to dict
        Records of finished jobs are read back from ``out``; a record holds ``history``
        (lists, NaN as None; :func:`as_history` makes arrays of it), ``final_return`` (mean
        greedy return over ``eval_episodes`` episodes), ``wall_time``, ``config``,
        ``versions`` and ``run``, the folder under ``out`` with the trained networks
        (:func:`pgkit.checkpoints.load_run`). Jobs that failed are in the returned dict with
        ``"error"`` and ``"traceback"`` instead, and run again next time.
    """
    jobs = list(jobs)
    if not all(isinstance(job, Job) for job in jobs):
        raise TypeError("jobs must be a list of pgkit.sweeps.Job, as made by make_jobs")
    if len({job.id for job in jobs}) != len(jobs):
        raise ValueError("jobs contains the same job twice; each (settings, seed) runs once")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if workers is not None:
        workers = check_positive_int("workers", workers)
    folder = Path(out) / JOBS
    folder.mkdir(parents=True, exist_ok=True)
    records = {job.id: record for job in jobs if (record := _finished(folder, job)) is not None}
    pending = [job for job in jobs if job.id not in records]
    from pgkit.algos import tqdm

    bar = tqdm(total=len(jobs), initial=len(records), unit="job", disable=not progress)
    try:
        runner = _run_local if backend == "local" else _run_ray
        for job, record in runner(pending, workers, address, Path(out).resolve()):
            _save(folder, job, record)
            records[job.id] = record
            bar.update(1)
    finally:
        bar.close()
        # Whatever happened, the tables describe every job finished so far in ``out``,
        # including those of earlier sweeps into the same folder (several algorithms, say).
        write_tables(out)
    return records


# --------------------------------------------------------------------------- one job


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
        The job's record, as described in :func:`run_jobs`.
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


# --------------------------------------------------------------------------- backends


def _run_local(jobs: list[Job], workers: int | None, address: str | None, out: Path) -> Iterator:
    if address is not None:
        raise ValueError("address is for backend='ray'; the local backend runs on this machine")
    if not jobs:
        return
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    if workers == 1:
        for job in jobs:
            yield job, run_job(job, out)
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_clean_context())
    futures = {pool.submit(run_job, job, out): job for job in jobs}
    try:
        for future in as_completed(futures):
            job = futures[future]
            try:
                yield job, future.result()
            except Exception as e:  # a worker killed mid-job: only that job is lost
                yield job, _error_record(job, e)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _clean_context() -> Any:
    """Workers that share nothing with this process (its threads, its imports, its RNGs).

    forkserver forks each worker from one server process started once per session; the
    preload makes that server import torch and pgkit, so a worker starts in milliseconds
    instead of the ~3 s a spawned interpreter takes to import them.
    """
    import multiprocessing

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # torch._dynamo: Adam imports it on first use (~2 s), once here instead of in every worker.
    context.set_forkserver_preload(
        ["torch", "torch._dynamo", "gymnasium", "pgkit.algos", "pgkit.sweeps"]
    )
    return context


def _run_ray(jobs: list[Job], workers: int | None, address: str | None, out: Path) -> Iterator:
    try:
        import ray
    except ImportError as e:
        raise ValueError(
            "backend='ray' needs Ray: pip install -e \".[cluster]\" (or pip install ray)"
        ) from e
    if not jobs:
        return
    started = not ray.is_initialized()
    if started:
        _start_ray(ray, workers, address)
    task = ray.remote(num_cpus=1, max_retries=0)(run_job)
    # Jobs on other nodes write their runs to the same path: a shared folder on a cluster.
    refs = {task.remote(job, out): job for job in jobs}
    pending = list(refs)
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                try:
                    yield refs[ref], ray.get(ref)
                except Exception as e:  # a crashed worker or node: only that job is lost
                    yield refs[ref], _error_record(refs[ref], e)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()


def _start_ray(ray: Any, workers: int | None, address: str | None, attempts: int = 3) -> None:
    """Connect to the cluster at ``address``, or start a local Ray instance.

    Ray gives a starting node a fixed 30 s to register (ray/_private/node.py), which a loaded
    2-core machine can exceed; the start is then tried again.
    """
    for attempt in range(attempts):
        try:
            if address is None:
                ray.init(num_cpus=workers or os.cpu_count(), include_dashboard=False,
                         log_to_driver=False)  # fmt: skip
            else:
                ray.init(address=address, log_to_driver=False)
            return
        except Exception as e:
            if "timed out during startup" not in str(e) or attempt == attempts - 1:
                raise
            ray.shutdown()


# --------------------------------------------------------------------------- files


def _write_json(path: Path, data: dict[str, Any]) -> None:
    write_atomically(path, json.dumps(data, indent=1, sort_keys=True))  # whole or absent


def _save(folder: Path, job: Job, record: dict[str, Any]) -> None:
    error_file = folder / f"{job.id}.error.json"
    if "error" in record:
        _write_json(error_file, record)
        return
    _write_json(folder / f"{job.id}.json", record)
    error_file.unlink(missing_ok=True)


def _finished(folder: Path, job: Job) -> dict[str, Any] | None:
    path = folder / f"{job.id}.json"
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None  # absent or unreadable: run it (again)
    return record if record.get("id") == job.id and "history" in record else None


def as_history(record: Mapping[str, Any]) -> dict[str, Any]:
    """A job record's history as numpy float arrays (None back to NaN), for :mod:`pgkit.plotting`.

    Parameters
    ----------
    record : mapping
        A finished job's record, as :func:`run_jobs` and :func:`load_results` return it.

    Returns
    -------
    dict of str to numpy.ndarray

    Raises
    ------
    ValueError
        When ``record`` has no history (a job that failed).
    """
    import numpy as np

    if "history" not in record:
        raise ValueError(
            f"record {record.get('id', '?')} has no history: "
            f"{record.get('error', 'it is not a finished job')}"
        )
    return {
        k: np.array([np.nan if x is None else x for x in v], float)
        for k, v in record["history"].items()
    }


def load_results(out: str | Path) -> list[dict[str, Any]]:
    """Every finished job record in the sweep folder ``out``, sorted by job id.

    Parameters
    ----------
    out : str or Path
        A folder written by a sweep.

    Returns
    -------
    list of dict

    Raises
    ------
    FileNotFoundError
        When ``out`` has no ``jobs`` folder.
    ValueError
        When a job file is not valid JSON (delete it to rerun that job).
    """
    folder = Path(out) / JOBS
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} not found: is {out} a folder written by a sweep?")
    records = []
    for path in sorted(folder.glob("*.json")):
        if path.name.endswith(".error.json"):
            continue
        try:
            records.append(json.loads(path.read_text()))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not valid JSON ({e}); delete it to rerun that job") from e
    return records


def write_tables(out: str | Path, jobs: Sequence[Job] | None = None) -> tuple[Path, Path]:
    """Rewrite ``results.csv`` (job x iteration) and ``summary.csv`` (one row per job).

    Both cover every finished job in ``out`` (only those of ``jobs``, if given), one column
    per setting any of them has (empty where a job does not set it), after ``algo`` and
    ``env_id``, so rows of different algorithms or environments are told apart.

    Parameters
    ----------
    out : str or Path
        The sweep folder.
    jobs : sequence of Job, optional
        The jobs to cover; every finished job by default.

    Returns
    -------
    results, summary : Path
        The two tables.
    """
    out = Path(out)
    records = load_results(out)
    if jobs is not None:
        wanted = {job.id for job in jobs}
        records = [r for r in records if r["id"] in wanted]
    names = sorted({name for r in records for name in r["settings"]})
    results, summary = out / RESULTS, out / SUMMARY
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(
        ["job", "algo", "env_id", *names, "seed", "iteration", "steps", "episode_return"]
    )
    for r in records:
        settings = [r["settings"].get(name) for name in names]
        history = r["history"]
        for i, (steps, ret) in enumerate(zip(history["steps"], history["episode_return"],
                                             strict=True)):  # fmt: skip
            writer.writerow([r["id"], r["algo"], r["env_id"], *settings, r["seed"], i, steps,
                             "" if ret is None else ret])  # fmt: skip
    write_atomically(results, rows.getvalue())
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["job", "algo", "env_id", *names, "seed", "final_return", "mean_return",
                     "wall_time"])  # fmt: skip
    for r in records:
        returns = [x for x in r["history"]["episode_return"] if x is not None]
        mean = sum(returns) / len(returns) if returns else ""
        writer.writerow([r["id"], r["algo"], r["env_id"], *(r["settings"].get(n) for n in names),
                         r["seed"],
                         r["final_return"], mean, round(r["wall_time"], 3)])  # fmt: skip
    write_atomically(summary, rows.getvalue())
    return results, summary


# --------------------------------------------------------------------------- report


def sweep_report(out: str | Path) -> list[Path]:
    """Figures of a finished sweep in ``out``: ``heatmap.png`` and ``learning_curves.png``.

    The heat map shows the mean over seeds of the final greedy return over the first two
    grid axes (the mean over any further axes); the learning curves show, for every
    setting, the mean training return over seeds with a 95% band (:mod:`pgkit.plotting`).
    Where the folder holds jobs of several algorithms (several :func:`run_jobs` calls or
    command-line sweeps into one folder), their settings are not one grid, so the heat map
    has one row per algorithm and setting instead: no cell or curve mixes two algorithms or
    two settings.

    Parameters
    ----------
    out : str or Path
        The sweep folder.

    Returns
    -------
    list of Path
        The figures written (no heat map where no setting varies).

    Raises
    ------
    ValueError
        When ``out`` holds no finished job yet.
    """
    import matplotlib.pyplot as plt

    from pgkit import plotting

    out = Path(out)
    records = load_results(out)
    if not records:
        raise ValueError(f"{out} holds no finished job yet; run the sweep first")
    labels = _setting_labels(records)
    plotting.use_style()
    written = []
    grid = _heatmap_grid(records, labels)
    if grid is not None:
        rows_name, row_values, cols_name, col_values, scores = grid
        # Long row labels widen the saved figure (bbox_inches="tight"), not the cells.
        fig, ax = plt.subplots(figsize=(1.2 * len(col_values) + 3, 0.6 * len(row_values) + 2))
        plotting.sweep_heatmap(
            scores, row_values=row_values, row_label=rows_name,
            col_values=col_values if cols_name else [""],
            col_label=cols_name or "", title="final greedy return, mean over seeds", ax=ax,
        )  # fmt: skip
        written.append(out / "heatmap.png")
        fig.savefig(written[-1], bbox_inches="tight")
        plt.close(fig)
    groups: dict[str, list[dict[str, Any]]] = {}
    for record, label in zip(records, labels, strict=True):
        groups.setdefault(label, []).append(as_history(record))
    fig, ax = plt.subplots()
    for label, histories in groups.items():
        plotting.learning_curve(histories, ax=ax, label=label)
    # Below the axes: the labels are long and would hide the curves.
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(0.0, -0.15))
    written.append(out / "learning_curves.png")
    fig.savefig(written[-1], bbox_inches="tight")
    plt.close(fig)
    return written


def _mixed(records: list[dict[str, Any]]) -> bool:
    return len({r["algo"] for r in records}) > 1


def _setting_labels(records: list[dict[str, Any]]) -> list[str]:
    """One label per record naming its algorithm (where there are several) and settings."""
    names = sorted({n for r in records for n in r["settings"]})
    labels = []
    for r in records:
        parts = [f"{n} = {r['settings'][n]}" for n in names if n in r["settings"]]
        labels.append(", ".join(([r["algo"]] if _mixed(records) else []) + parts) or r["algo"])
    return labels


def _heatmap_grid(records: list[dict[str, Any]], labels: list[str]) -> tuple | None:
    """(rows name, row values, columns name or None, column values, mean final returns).

    One grid: its first two settings that take more than one value, the mean over the rest.
    Several algorithms: one row per label, since their settings do not form one grid.
    None where nothing varies.
    """
    import numpy as np

    if _mixed(records):
        points = [{"algorithm and settings": label} for label in labels]
        varied = ["algorithm and settings"]
    else:
        points = [r["settings"] for r in records]
        names = sorted({n for p in points for n in p})
        varied = [n for n in names if len({_key(p.get(n)) for p in points}) > 1]
    if not varied:
        return None
    rows_name, cols_name = varied[0], varied[1] if len(varied) > 1 else None
    row_values, col_values = _values(points, rows_name), _values(points, cols_name)
    scores = np.full((len(row_values), len(col_values)), np.nan)
    for i, a in enumerate(row_values):
        for j, b in enumerate(col_values):
            cell = [r["final_return"] for r, p in zip(records, points, strict=True)
                    if _key(p.get(rows_name)) == _key(a)
                    and _key(p.get(cols_name)) == _key(b)]  # fmt: skip
            scores[i, j] = np.mean(cell) if cell else np.nan
    return rows_name, row_values, cols_name, col_values, scores


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _values(points: list[dict[str, Any]], name: str | None) -> list[Any]:
    """The distinct values of setting ``name`` over the jobs' settings, numbers in order."""
    distinct = {_key(p.get(name)): p.get(name) for p in points}
    numbers = all(isinstance(v, int | float) for v in distinct.values())
    return sorted(distinct.values(), key=(lambda v: v) if numbers else _key)
