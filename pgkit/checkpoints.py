"""Save a training run to a folder and load it back.

A run folder holds everything needed to reproduce or reuse a result:

- ``checkpoint.pt``: the policy's (and value function's) weights, as plain tensors
- ``config.json``: the exact configuration, which is also how the networks are rebuilt
- ``history.csv``: one row per training iteration
- ``learning_curve.png``: mean episode return against environment steps

Loading uses ``torch.load(..., weights_only=True)``, which refuses arbitrary pickled
objects, so opening a checkpoint from somewhere else cannot run code.

A run folder is always one whole run: :func:`save_run` writes every file into a hidden
temporary folder beside ``out`` and renames it into place only when all of them are
written, so a kill or a full disk in the middle never leaves the weights of one run beside
the configuration of another. The checkpoint also carries the configuration, and
:func:`load_run` refuses a folder whose ``config.json`` disagrees with it.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# Format 2 stores the configuration inside the checkpoint; format 1 files still load.
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
CHECKPOINT = "checkpoint.pt"
CONFIG = "config.json"
HISTORY = "history.csv"
CURVE = "learning_curve.png"


@dataclass(frozen=True)
class Run:
    """A loaded run: the rebuilt networks, the configuration and the training history.

    Parameters
    ----------
    policy : torch.nn.Module
        The policy, as :func:`pgkit.policies.make_policy` builds it, with its trained weights.
    value_fn : pgkit.policies.ValueFunction or None
        The value function, None where the run trained none.
    config : dict
        The run's configuration (``config.json``).
    history : dict of str to numpy.ndarray
        The training history (``history.csv``); empty where the folder has none.
    """

    policy: Any
    value_fn: Any
    config: dict[str, Any]
    history: dict[str, np.ndarray]


def save_run(result: Any, out: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``result`` (a :class:`pgkit.algos.TrainResult`) into the folder ``out``; return it.

    The files are written into a temporary folder next to ``out`` and renamed into place at
    the end, so ``out`` is never a mixture of two runs; if writing fails, ``out`` is left as
    it was.

    Parameters
    ----------
    result : pgkit.algos.TrainResult
        The run to save.
    out : str or Path
        Must not exist yet, or be empty, or (with ``overwrite=True``) hold an earlier run,
        which is then replaced as a whole. A folder holding anything else is never touched.
    overwrite : bool
        Whether an earlier run in ``out`` may be replaced.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    ValueError, PermissionError
        As :func:`check_run_folder` raises them.
    """
    out = check_run_folder(out, overwrite=overwrite)
    config = json.loads(json.dumps(result.config, sort_keys=True, default=_plain))
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        _write_run(result, config, staging)
        _replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def check_run_folder(out: str | Path, *, overwrite: bool = False) -> Path:
    """Check, before any training, that a run can be saved to ``out``; return it as a Path.

    Parameters
    ----------
    out : str or Path
        The folder :func:`save_run` is to write.
    overwrite : bool
        Whether an earlier run in ``out`` may be replaced.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        For an empty path, a path that is (or lies under) a file, a folder that holds
        something other than a pgkit run, or an existing run without ``overwrite``.
    PermissionError
        When the parent folder cannot be written.
    """
    if not isinstance(out, str | os.PathLike):
        raise TypeError(f"out must be a folder path, got {type(out).__name__}")
    if not str(out).strip():
        raise ValueError("out is empty; give the folder to write the run into, e.g. runs/ppo")
    out = Path(out)
    for folder in (out, *out.parents):
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"cannot write a run to {out}: {folder} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not is_run_folder(out):
            raise ValueError(
                f"{out} already exists and does not hold a pgkit run; choose a new folder "
                "(nothing was written)"
            )
        if not overwrite:
            raise ValueError(
                f"{out} already holds a run; choose another folder, or overwrite it "
                "(--force on the command line, overwrite=True in Python)"
            )
    parent = next(folder for folder in (out.parent, *out.parent.parents) if folder.exists())
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write a run to {out}: {parent} is not writable")
    return out


def is_run_folder(path: str | Path) -> bool:
    """True when ``path`` is a folder holding only the files :func:`save_run` writes.

    Parameters
    ----------
    path : str or Path
        The folder to look at.
    """
    path = Path(path)
    names = {entry.name for entry in path.iterdir()} if path.is_dir() else set()
    return CONFIG in names and names <= {CHECKPOINT, CONFIG, HISTORY, CURVE}


def _write_run(result: Any, config: dict[str, Any], folder: Path) -> None:
    import matplotlib.pyplot as plt
    import torch

    from pgkit import plotting

    state = {
        "format": FORMAT_VERSION,
        "config": config,
        "policy": result.policy.state_dict(),
        "value_fn": None if result.value_fn is None else result.value_fn.state_dict(),
    }
    torch.save(state, folder / CHECKPOINT)
    (folder / CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    _write_history(result.history, folder / HISTORY)

    plotting.use_style()
    fig, ax = plt.subplots()
    if np.isfinite(result.history["episode_return"]).any():
        plotting.learning_curve([result.history], ax=ax, label=config.get("algo"))
        ax.legend()
    else:  # a run too short for any episode to end still gets its (empty) figure
        ax.text(0.5, 0.5, "no episode ended during training", ha="center", transform=ax.transAxes)
        ax.set_xlabel("environment steps")
        ax.set_ylabel("episode return")
    interrupted = " (interrupted)" if config.get("interrupted") else ""
    ax.set_title(f"{config.get('algo', 'run')} on {config.get('env_id', '?')}{interrupted}")
    fig.tight_layout()
    fig.savefig(folder / CURVE)
    plt.close(fig)


def _replace(staging: Path, out: Path) -> None:
    """Rename ``staging`` to ``out``; an earlier run at ``out`` is moved aside, then deleted."""
    if not out.exists():
        staging.rename(out)
        return
    # An empty folder or an earlier run: move it aside first, so that at every moment `out`
    # is either the old run or the new one, never a mixture.
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    old.rmdir()
    out.rename(old)
    try:
        staging.rename(out)
    except BaseException:
        old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _plain(value: Any) -> Any:
    """JSON for numpy scalars and arrays in a config (e.g. ``seed=np.int64(3)``)."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"config value {value!r} of type {type(value).__name__} is not JSON")


def _write_history(history: dict[str, Any], path: Path) -> None:
    columns = list(history)
    rows = zip(*(np.asarray(history[c]).tolist() for c in columns), strict=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(rows)


def read_history(path: str | Path) -> dict[str, np.ndarray]:
    """Read ``history.csv`` back into a dict of float arrays (empty cells become NaN).

    Parameters
    ----------
    path : str or Path
        The file, with a header row of column names.

    Returns
    -------
    dict of str to numpy.ndarray
        One array per column.

    Raises
    ------
    ValueError
        When the file is empty.
    """
    with Path(path).open(newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise ValueError(f"{path} is empty; expected a header row of history columns")
    header, body = rows[0], rows[1:]

    def number(text: str) -> float:
        return float(text) if text else math.nan

    return {name: np.array([number(r[i]) for r in body]) for i, name in enumerate(header)}


def load_run(path: str | Path) -> Run:
    """Rebuild the policy and value function of the run folder ``path`` and load their weights.

    Parameters
    ----------
    path : str or Path
        A folder written by :func:`save_run`.

    Returns
    -------
    Run

    Raises
    ------
    FileNotFoundError
        When a file is missing.
    ValueError
        When the checkpoint is corrupt or does not fit the networks its configuration
        describes.
    """
    import gymnasium as gym
    import torch

    import pgkit.envs  # noqa: F401  (registers the "pgkit/..." environment ids)
    from pgkit.policies import ValueFunction, make_policy

    path = Path(path)
    for name in (CHECKPOINT, CONFIG):
        if not (path / name).is_file():
            raise FileNotFoundError(
                f"{path / name} not found: is {path} a folder written by "
                "`python -m pgkit train ... --out FOLDER`?"
            )
    try:
        config = json.loads((path / CONFIG).read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path / CONFIG} is not valid JSON ({e})") from e
    if not isinstance(config, dict):
        raise ValueError(f"{path / CONFIG} must hold a JSON object, got {type(config).__name__}")
    for key in ("env_id", "hidden"):
        if key not in config:
            raise ValueError(f"{path / CONFIG} has no {key!r}; it is not a pgkit run configuration")
    try:
        state = torch.load(path / CHECKPOINT, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ValueError(
            f"{path / CHECKPOINT} could not be read as a pgkit checkpoint (corrupt or "
            f"not saved by pgkit): {e}"
        ) from e
    if (
        not isinstance(state, dict)
        or state.get("format") not in READABLE_FORMATS
        or not {"policy", "value_fn"} <= state.keys()
    ):
        raise ValueError(
            f"{path / CHECKPOINT} is not a pgkit checkpoint of format "
            f"{' or '.join(map(str, READABLE_FORMATS))} (a dict with 'format', 'policy' and "
            "'value_fn')"
        )
    if "config" in state and state["config"] != config:
        raise ValueError(
            f"{path / CONFIG} does not match the configuration stored in {path / CHECKPOINT}: "
            "the two files come from different runs (or config.json was edited); save the "
            "run again"
        )

    try:
        env = gym.make(config["env_id"])
    except gym.error.Error as e:
        raise ValueError(
            f"{path / CONFIG} names the environment {config['env_id']!r}, which gymnasium "
            f"cannot make: {e}"
        ) from e
    hidden = tuple(config["hidden"])
    policy = make_policy(env.observation_space, env.action_space, hidden=hidden)
    _load_weights(policy, state["policy"], "policy", path)
    value_fn = None
    if state["value_fn"] is not None:
        value_fn = ValueFunction(int(np.prod(env.observation_space.shape)), hidden=hidden)
        _load_weights(value_fn, state["value_fn"], "value function", path)
    env.close()
    history = read_history(path / HISTORY) if (path / HISTORY).is_file() else {}
    return Run(policy=policy, value_fn=value_fn, config=config, history=history)


def _load_weights(module: Any, weights: Any, what: str, path: Path) -> None:
    try:
        module.load_state_dict(weights)
    except (RuntimeError, TypeError, AttributeError) as e:
        raise ValueError(
            f"the {what} weights in {path / CHECKPOINT} do not match the network that "
            f"{path / CONFIG} describes (was config.json edited?): {e}"
        ) from e
