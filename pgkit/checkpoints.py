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

The next save to a folder tidies what saves killed outright left beside it; see
:mod:`pgkit.staging` for the hidden folders' names and what is removed or put back.

An interrupted run (``config["interrupted"]``) never replaces a complete run, even with
``overwrite=True``. ``out`` may be a symbolic link to a folder: the run is written into the
folder it points to, and the link stays as it is.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pgkit.staging import _hidden_name, _replace, _through_link, _tidy, _write_run

if TYPE_CHECKING:
    from pgkit.algos import TrainResult

# Format 2 stores the configuration inside the checkpoint; format 1 files still load.
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
CHECKPOINT = "checkpoint.pt"
CONFIG = "config.json"
HISTORY = "history.csv"
CURVE = "learning_curve.png"


def __getattr__(name: str) -> Any:
    # Run was the loaded run's own type; load_run now returns pgkit.algos.TrainResult, which
    # holds the same fields. The name is kept for one release, looked up lazily so that
    # importing this module does not import torch.
    if name == "Run":
        from pgkit.algos import TrainResult

        return TrainResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def save_run(result: Any, out: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``result`` (a :class:`pgkit.algos.TrainResult`) into the folder ``out``; return it.

    The files are written into a temporary folder next to ``out`` and renamed into place at
    the end, so ``out`` is never a mixture of two runs; if writing fails, or the process is
    stopped, ``out`` is left as it was and the temporary folder is removed. The new folder gets
    the usual permissions (``0o777`` less the umask).

    Parameters
    ----------
    result : pgkit.algos.TrainResult
        The run to save.
    out : str or Path
        Must not exist yet, or be empty, or (with ``overwrite=True``) hold an earlier run,
        which is then replaced as a whole. A folder holding anything else is never touched,
        and neither is a complete run when ``result`` is an interrupted one. A symbolic link
        to a folder is written through: the run goes into the folder it points to.
    overwrite : bool
        Whether an earlier run in ``out`` may be replaced.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    ValueError, PermissionError
        As :func:`check_run_folder` raises them, and ValueError for an interrupted run that
        would replace a complete one.
    OSError
        When writing fails (a full disk, say); the message names ``out``.
    """
    out = check_run_folder(out, overwrite=overwrite)
    target = _through_link(out)
    if result.config.get("interrupted") and is_complete_run(target):
        raise ValueError(
            f"{out} holds a complete run, which an interrupted run never replaces; save the "
            "partial run to another folder"
        )
    config = json.loads(json.dumps(result.config, sort_keys=True, default=_plain))
    # Named before it exists, so that whatever stops the save after the folder is made (an
    # error, Ctrl-C, a second signal) finds it in the `finally` and removes it.
    staging = _hidden_name(target, "partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()  # not tempfile.mkdtemp, whose folders are private to their owner
        _write_run(result, config, staging)
        _replace(staging, target)
    except OSError as e:
        raise OSError(e.errno, f"could not save the run to {out}: {e.strerror or e}") from e
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out


def check_run_folder(out: str | Path, *, overwrite: bool = False) -> Path:
    """Check, before any training, that a run can be saved to ``out``; return it as a Path.

    First it tidies what saves killed outright left beside ``out`` (see :mod:`pgkit.staging`),
    so that the check sees the folder as the next save will.

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
        For an empty path, a path that is (or lies under) a file, a link to nothing, a folder
        that holds something other than a pgkit run, or an existing run without ``overwrite``.
    PermissionError
        When the parent folder cannot be written.
    """
    if not isinstance(out, str | os.PathLike):
        raise TypeError(f"out must be a folder path, got {type(out).__name__}")
    if not str(out).strip():
        raise ValueError("out is empty; give the folder to write the run into, e.g. runs/ppo")
    out = Path(out)
    target = _through_link(out)
    _tidy(target)
    for folder in (out, *out.parents):
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"cannot write a run to {out}: {folder} is a file, not a folder")
    if target.is_dir() and any(target.iterdir()):
        if not is_run_folder(target):
            raise ValueError(
                f"{out} already exists and does not hold a pgkit run; choose a new folder "
                "(nothing was written)"
            )
        if not overwrite:
            raise ValueError(
                f"{out} already holds a run; choose another folder, or overwrite it "
                "(--force on the command line, overwrite=True in Python)"
            )
    parent = next(folder for folder in (target.parent, *target.parent.parents) if folder.exists())
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


def is_complete_run(path: str | Path) -> bool:
    """True when ``path`` holds a run that was not interrupted.

    A run folder whose ``config.json`` cannot be read counts as complete: it is kept rather
    than replaced by a partial run.

    Parameters
    ----------
    path : str or Path
        The folder to look at.
    """
    if not is_run_folder(path):
        return False
    try:
        config = json.loads((Path(path) / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return True
    return not (isinstance(config, dict) and config.get("interrupted") is True)


def _plain(value: Any) -> Any:
    """JSON for numpy scalars and arrays in a config (e.g. ``seed=np.int64(3)``)."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"config value {value!r} of type {type(value).__name__} is not JSON")


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
        Naming the file (and the row) when it is empty, not text, or not a table of numbers
        under one header of distinct names.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(
            f"{path}: not a text file (byte {e.start} is not UTF-8); expected the CSV table "
            "that save_run writes"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if row:  # a blank line holds no iteration
                rows.append((reader.line_num, row))
    except csv.Error as e:
        raise ValueError(f"{path}: row {reader.line_num} is not CSV ({e})") from None
    if not rows:
        raise ValueError(f"{path} is empty; expected a header row of history columns")
    (_, header), body = rows[0], rows[1:]
    if "" in header or len(set(header)) != len(header):
        raise ValueError(
            f"{path}: the header row must name each column once, got {','.join(header)!r}"
        )
    columns: dict[str, list[float]] = {name: [] for name in header}
    for line, row in body:
        if len(row) != len(header):
            raise ValueError(
                f"{path}: row {line} has {len(row)} fields, expected {len(header)} "
                f"({', '.join(header)})"
            )
        for name, cell in zip(header, row, strict=True):
            try:
                columns[name].append(float(cell) if cell else math.nan)
            except ValueError:
                raise ValueError(
                    f"{path}: row {line}, column {name!r}: {cell!r} is not a number"
                ) from None
    return {name: np.array(values, dtype=np.float64) for name, values in columns.items()}


def load_run(path: str | Path, *, history: bool = True) -> TrainResult:
    """Rebuild the policy and value function of the run folder ``path`` and load their weights.

    Parameters
    ----------
    path : str or Path
        A folder written by :func:`save_run`.
    history : bool
        Read ``history.csv`` too. False leaves it unread (the result's ``history`` is then
        empty), so a damaged history never stops a policy from being evaluated.

    Returns
    -------
    pgkit.algos.TrainResult
        The rebuilt networks with their weights, the configuration (``config.json``) and
        the history (``history.csv``; empty where the folder has none). The same type a
        training run returns (``checkpoints.Run`` is kept as its alias for one release).

    Raises
    ------
    FileNotFoundError
        When a file is missing.
    ValueError
        Naming the file, when ``config.json``, the checkpoint or (with ``history``)
        ``history.csv`` is corrupt, or the checkpoint does not fit the networks its
        configuration describes.
    """
    import gymnasium as gym
    import torch

    import pgkit.envs  # noqa: F401  (registers the "pgkit/..." environment ids)
    from pgkit.algos import TrainResult
    from pgkit.policies import ValueFunction, make_policy, observation_dim

    path = Path(path)
    for name in (CHECKPOINT, CONFIG):
        if not (path / name).is_file():
            raise FileNotFoundError(
                f"{path / name} not found: is {path} a folder written by "
                "`python -m pgkit train ... --out FOLDER`?"
            )
    config = _read_config(path / CONFIG)
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
    except (gym.error.Error, ImportError) as e:
        raise ValueError(
            f"{path / CONFIG}: names the environment {config['env_id']!r}, which gymnasium "
            f"cannot make: {e}"
        ) from e
    spaces = env.observation_space, env.action_space
    env.close()
    hidden = tuple(config["hidden"])
    policy = _rebuild(lambda: make_policy(*spaces, hidden=hidden), state["policy"], "policy", path)
    value_fn = None
    if state["value_fn"] is not None:
        value_fn = _rebuild(
            lambda: ValueFunction(observation_dim(spaces[0]), hidden=hidden),
            state["value_fn"], "value function", path,
        )  # fmt: skip
    read = history and (path / HISTORY).is_file()
    return TrainResult(
        policy=policy,
        value_fn=value_fn,
        config=config,
        history=read_history(path / HISTORY) if read else {},
    )


def _read_config(file: Path) -> dict[str, Any]:
    """``config.json`` as a dict, with the two entries loading needs checked."""
    try:
        config = json.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise ValueError(
            f"{file}: not a text file (byte {e.start} is not UTF-8); expected the JSON that "
            "save_run writes"
        ) from None
    except (ValueError, RecursionError) as e:  # JSONDecodeError, and numbers too long to read
        raise ValueError(f"{file}: not valid JSON ({e})") from e
    if not isinstance(config, dict):
        raise ValueError(f"{file}: must hold a JSON object, got {type(config).__name__}")
    for key in ("env_id", "hidden"):
        if key not in config:
            raise ValueError(f"{file}: has no {key!r}; it is not a pgkit run configuration")
    env_id, hidden = config["env_id"], config["hidden"]
    if not isinstance(env_id, str) or not env_id.strip():
        raise ValueError(
            f"{file}: 'env_id' must be a gymnasium environment id such as \"CartPole-v1\", "
            f"got {env_id!r}"
        )
    # type() rather than isinstance: JSON true is a bool, which isinstance counts as an int
    if not isinstance(hidden, list) or not all(type(h) is int and h >= 1 for h in hidden):
        raise ValueError(
            f"{file}: 'hidden' must be a list of positive whole layer widths such as [64, 64], "
            f"got {hidden!r}"
        )
    return config


def _rebuild(make: Any, weights: Any, what: str, path: Path) -> Any:
    """The network ``make()`` builds, holding ``weights``.

    It is first built on torch's meta device, which allocates nothing, and checked against
    the weights: a config.json asking for absurd widths is then refused by the checkpoint's
    shapes instead of exhausting memory.
    """
    import torch

    try:
        with torch.device("meta"):
            skeleton = make()
    except ValueError as e:
        raise ValueError(f"{path / CONFIG}: cannot build the {what} it describes: {e}") from e
    _load_weights(skeleton, weights, what, path, assign=True)
    module = make()
    _load_weights(module, weights, what, path)
    return module


def _load_weights(module: Any, weights: Any, what: str, path: Path, assign: bool = False) -> None:
    try:
        module.load_state_dict(weights, assign=assign)
    except (RuntimeError, TypeError, AttributeError, ValueError) as e:
        raise ValueError(
            f"the {what} weights in {path / CHECKPOINT} do not match the network that "
            f"{path / CONFIG} describes (was config.json edited?): {e}"
        ) from e
