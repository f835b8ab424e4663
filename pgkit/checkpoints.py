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

The hidden folders are named ``.NAME.partial-HOST-PID-RANDOM`` (the run being written) and
``.NAME.old-HOST-PID-RANDOM`` (an earlier run moved aside while it is replaced). A process that
is killed outright (SIGKILL, a power cut) cannot remove them, so the next save to the same
folder does: it deletes the staging folders and puts back an earlier run whose process, on this
machine, no longer exists. Folders of a live process, or of another machine sharing the disk,
are never touched.

An interrupted run (``config["interrupted"]``) never replaces a complete run, even with
``overwrite=True``. ``out`` may be a symbolic link to a folder: the run is written into the
folder it points to, and the link stays as it is.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import secrets
import shutil
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from pgkit.algos import TrainResult

# Format 2 stores the configuration inside the checkpoint; format 1 files still load.
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
CHECKPOINT = "checkpoint.pt"
CONFIG = "config.json"
HISTORY = "history.csv"
CURVE = "learning_curve.png"
# Which machine made a hidden staging folder: on a disk shared between machines, a process id
# only says something about processes of the machine that wrote it.
_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


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

    First it tidies what saves killed outright left beside ``out`` (see :mod:`pgkit.checkpoints`),
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


def _through_link(out: Path) -> Path:
    """The folder a save to ``out`` writes: ``out`` itself, or where the link ``out`` points.

    Renaming a new folder over a link would replace the link, not the run it leads to, and
    leave the old target behind; writing into the target is what a reader of ``ls`` expects.
    """
    if not out.is_symlink():
        return out
    try:
        target = out.resolve(strict=True)
    except (OSError, RuntimeError) as e:  # a link to nothing, or a loop of links
        raise ValueError(
            f"cannot write a run to {out}: it is a symbolic link to a folder that does not "
            f"exist ({e}); create the folder it points to, or choose another folder"
        ) from None
    return target


def _hidden_name(out: Path, kind: str) -> Path:
    return out.with_name(f".{out.name}.{kind}-{_HOST}-{os.getpid()}-{secrets.token_hex(4)}")


def _owner_pid(name: str, out: Path) -> tuple[str, int] | None:
    """(kind, pid) of a hidden folder that a save of ``out`` on this machine made, else None."""
    prefix = f".{out.name}."
    if not name.startswith(prefix):
        return None
    kind, _, rest = name[len(prefix) :].partition("-")
    parts = rest.split("-")
    if kind not in ("partial", "old") or len(parts) != 3 or parts[0] != _HOST:
        return None
    return (kind, int(parts[1])) if parts[1].isdigit() else None


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to someone else
        return True
    return True


def _tidy(out: Path) -> None:
    """Remove the staging folders of killed saves of ``out``; put back a run one moved aside."""
    if os.name != "posix":  # on Windows os.kill(pid, 0) would end the process, not probe it
        return
    try:
        entries = sorted(out.parent.iterdir())
    except OSError:
        return
    for entry in entries:
        owner = _owner_pid(entry.name, out)
        if owner is None or _is_alive(owner[1]):
            continue
        kind, _ = owner
        if kind == "old" and not os.path.lexists(out):
            # Killed between moving the earlier run aside and renaming the new one in.
            try:
                entry.rename(out)
            except OSError:
                pass
        else:
            shutil.rmtree(entry, ignore_errors=True)


# Every module _write_run imports. `python -m pgkit train` imports them before training starts:
# a second Ctrl-C that lands inside the first import of a compiled module (matplotlib's) can
# crash the interpreter ("Fatal Python error") instead of stopping the save.
_WRITER_MODULES = (
    "torch",
    "torch.utils.serialization",
    "cycler",
    "matplotlib.backends.backend_agg",
    "matplotlib.figure",
    "matplotlib.pyplot",
    "pgkit.plotting",
)


def _import_writer() -> None:
    import importlib

    for name in _WRITER_MODULES:
        importlib.import_module(name)
    from PIL import Image

    Image.preinit()  # the image plugins Pillow would otherwise import at the first savefig


def _write_run(result: Any, config: dict[str, Any], folder: Path) -> None:
    import matplotlib as mpl
    import torch
    from cycler import cycler
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from pgkit import plotting

    state = {
        "format": FORMAT_VERSION,
        "config": config,
        "policy": result.policy.state_dict(),
        "value_fn": None if result.value_fn is None else result.value_fn.state_dict(),
    }
    torch.save(state, folder / CHECKPOINT)
    (folder / CONFIG).write_text(
        json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    _write_history(result.history, folder / HISTORY)

    # The book's style for this figure only: saving a run leaves a notebook's own settings
    # alone. A Figure of its own, not pyplot's, so no GUI backend is picked or kept open.
    style = {**plotting.STYLE, "axes.prop_cycle": cycler(color=plotting.PALETTE)}
    with mpl.rc_context(style):
        fig = Figure()
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        if np.isfinite(result.history["episode_return"]).any():
            plotting.learning_curve([result.history], ax=ax, label=config.get("algo"))
            ax.legend()
        else:  # a run too short for any episode to end still gets its (empty) figure
            ax.text(0.5, 0.5, "no episode ended during training", ha="center",
                    transform=ax.transAxes)  # fmt: skip
            ax.set_xlabel("environment steps")
            ax.set_ylabel("episode return")
        interrupted = " (interrupted)" if config.get("interrupted") else ""
        ax.set_title(f"{config.get('algo', 'run')} on {config.get('env_id', '?')}{interrupted}")
        fig.tight_layout()
        fig.savefig(folder / CURVE)


def _replace(staging: Path, out: Path) -> None:
    """Rename ``staging`` to ``out``; an earlier run at ``out`` is moved aside, then deleted."""
    if not out.exists():
        staging.rename(out)
        return
    # An empty folder or an earlier run: move it aside first, so that at every moment `out`
    # is either the old run or the new one, never a mixture.
    old = _hidden_name(out, "old")
    out.rename(old)
    try:
        staging.rename(out)
    finally:
        # Decided by what is on disk, not by whether an exception came: a signal can arrive
        # just after the rename succeeded.
        if staging.exists():
            old.rename(out)
        else:
            shutil.rmtree(old, ignore_errors=True)


def _plain(value: Any) -> Any:
    """JSON for numpy scalars and arrays in a config (e.g. ``seed=np.int64(3)``)."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"config value {value!r} of type {type(value).__name__} is not JSON")


def _write_history(history: dict[str, Any], path: Path) -> None:
    columns = list(history)
    rows = zip(*(np.asarray(history[c]).tolist() for c in columns), strict=True)
    with path.open("w", newline="", encoding="utf-8") as f:
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
