"""What a sweep leaves in its folder: one file per job, two tidy tables, and the figures.

A finished job is ``OUT/jobs/<id>.json`` (a failed one ``OUT/jobs/<id>.error.json``), each
written whole or not at all; :func:`load_results` reads the finished ones back and
:func:`as_history` turns a record's history into numpy arrays for :mod:`pgkit.plotting`.
:func:`write_tables` rewrites ``OUT/results.csv`` and ``OUT/summary.csv`` from the job
files, and :func:`sweep_report` draws ``heatmap.png`` and ``learning_curves.png``.
:mod:`pgkit.sweeps` re-exports these functions.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pgkit.files import write_atomically

if TYPE_CHECKING:
    from pgkit.sweep_jobs import Job

__all__ = ["as_history", "load_results", "sweep_report", "write_tables"]

JOBS = "jobs"
RUNS = "runs"
RESULTS = "results.csv"
SUMMARY = "summary.csv"


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
        A finished job's record, as :func:`pgkit.sweeps.run_jobs` and :func:`load_results`
        return it.

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


def sweep_report(out: str | Path) -> list[Path]:
    """Figures of a finished sweep in ``out``: ``heatmap.png`` and ``learning_curves.png``.

    The heat map shows the mean over seeds of the final greedy return over the first two
    grid axes (the mean over any further axes); the learning curves show, for every
    setting, the mean training return over seeds with a 95% band (:mod:`pgkit.plotting`).
    Where the folder holds jobs of several algorithms (several :func:`pgkit.sweeps.run_jobs`
    calls or command-line sweeps into one folder), their settings are not one grid, so the heat map
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
    # The book's style for these figures only: a notebook's own settings stay as they are.
    with plotting.style_context():
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
