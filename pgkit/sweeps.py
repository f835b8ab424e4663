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
:func:`pgkit.sweep_results.as_history` turns a record's history back into numpy arrays for
:mod:`pgkit.plotting`.

This module runs the jobs; :mod:`pgkit.sweep_jobs` makes them and runs one, and
:mod:`pgkit.sweep_results` reads and writes what they leave in the folder. Their public
names (``Job``, ``make_jobs``, ``run_job``, ``as_history``, ``load_results``,
``write_tables``, ``sweep_report``) are re-exported here, where they lived before, so
``pgkit.sweeps.make_jobs`` and ``from pgkit.sweeps import sweep_report`` keep working.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

# Re-exported from where they moved (see above); the backends look run_job up here.
from pgkit.sweep_jobs import Job, _error_record, make_jobs, run_job
from pgkit.sweep_results import (
    JOBS,  # noqa: F401
    RESULTS,  # noqa: F401
    RUNS,  # noqa: F401
    SUMMARY,  # noqa: F401
    _finished,
    _save,
    as_history,
    load_results,
    sweep_report,
    write_tables,
)
from pgkit.validation import check_positive_int

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

    The jobs are :func:`pgkit.sweep_jobs.make_jobs` of the arguments, run by :func:`run_jobs`.

    Parameters
    ----------
    algo, env_id, total_steps, grid, seeds, eval_episodes
        As for :func:`pgkit.sweep_jobs.make_jobs`.
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
        (lists, NaN as None; :func:`pgkit.sweep_results.as_history` makes arrays of it),
        ``final_return`` (mean greedy return over ``eval_episodes`` episodes),
        ``wall_time``, ``config``, ``versions`` and ``run``, the folder under ``out`` with
        the trained networks (:func:`pgkit.checkpoints.load_run`). Jobs that failed are in
        the returned dict with ``"error"`` and ``"traceback"`` instead, and run again next
        time.
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
