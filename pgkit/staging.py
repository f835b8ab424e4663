"""Write a run folder as a whole: staged in a hidden folder beside it, then renamed into place.

:func:`pgkit.checkpoints.save_run` writes every file of a run into a hidden staging folder next
to ``out`` and renames it to ``out`` only when all of them are written, so ``out`` is at every
moment either the earlier run or the new one, never a mixture. This module holds that
machinery: where a save writes (through a symbolic link), the hidden folders' names, tidying
what killed saves left, the final rename, and the writing of the run's files.

The hidden folders are named ``.NAME.partial-HOST-PID-RANDOM`` (the run being written) and
``.NAME.old-HOST-PID-RANDOM`` (an earlier run moved aside while it is replaced). A process that
is killed outright (SIGKILL, a power cut) cannot remove them, so the next save to the same
folder does: it deletes the staging folders and puts back an earlier run whose process, on this
machine, no longer exists. Folders of a live process, or of another machine sharing the disk,
are never touched.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import secrets
import shutil
import socket
from pathlib import Path
from typing import Any

import numpy as np

# Which machine made a hidden staging folder: on a disk shared between machines, a process id
# only says something about processes of the machine that wrote it.
_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


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
    import torch
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from pgkit import plotting
    from pgkit.checkpoints import CHECKPOINT, CONFIG, CURVE, FORMAT_VERSION, HISTORY

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
    with plotting.style_context():
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


def _write_history(history: dict[str, Any], path: Path) -> None:
    columns = list(history)
    rows = zip(*(np.asarray(history[c]).tolist() for c in columns), strict=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(rows)
