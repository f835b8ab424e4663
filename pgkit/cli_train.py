"""The ``train`` command of ``python -m pgkit``: train, then save the run as a whole.

The command checks ``--out`` before it trains, so a run that could not be saved is never
trained; it saves the run with :func:`pgkit.checkpoints.save_run`, which writes it whole or
not at all. Stopped by a signal (:mod:`pgkit.signals`), it saves the iterations trained so
far as a partial run, which never replaces a complete one: with ``--force`` over a complete
run it goes to ``OUT-interrupted`` (or ``OUT-interrupted-2``, ...) beside it. When ``--out``
cannot be written at the end, the run goes to a fresh folder in the temporary directory and
the error says where. :mod:`pgkit.cli` parses the arguments and calls
:func:`train_command`.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import sys
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pgkit.signals import Signals, exit_code

__all__ = ["RESERVED", "train_command"]

# Settings that have their own option (or none), so --set must not pass them. Read-only.
RESERVED = MappingProxyType(
    {
        "env_id": "use --env",
        "total_steps": "use --steps",
        "seed": "use --seed",
        "progress": "use --no-progress",
        "on_iteration": "use --checkpoint-every STEPS",
    }
)


def train_command(args: argparse.Namespace) -> int:
    """Run ``python -m pgkit train`` with the parsed ``args``; return the exit code.

    Parameters
    ----------
    args : argparse.Namespace
        The arguments of the ``train`` command, as :mod:`pgkit.cli` parses them.

    Returns
    -------
    int
        0 when the run was trained and saved to ``--out``; 2 when it was saved elsewhere
        because ``--out`` could not be written; 130 or 143 when a signal stopped it.

    Raises
    ------
    ValueError, TypeError, OSError, FloatingPointError
        For bad arguments, a folder that cannot hold the run, or a diverged training run;
        :func:`pgkit.cli.main` prints them as one line and exits with 2.
    """
    if args.steps < 1:
        raise ValueError(
            f"--steps must be a positive number of environment steps, got {args.steps}"
        )
    settings = dict(args.settings)
    for key, option in RESERVED.items():
        if key in settings:
            raise ValueError(f"--set {key}=... is not allowed: {option}")
    with Signals() as signals:
        import numpy as np

        from pgkit import algos, checkpoints, staging

        # Now, so that saving imports nothing a second signal could land in.
        staging._import_writer()
        # Before training, not after it: a run that cannot be saved is a run lost.
        checkpoints.check_run_folder(args.out, overwrite=args.force)
        fn = getattr(algos, args.algo)
        if args.checkpoint_every is not None:
            settings["on_iteration"] = _checkpointer(args.out, args.checkpoint_every)
        if signals.stopped:
            print("interrupted before training started; nothing was written", file=sys.stderr)
            return exit_code(signals.first)
        signals.phase = "training"
        result = partial = None
        try:
            result = fn(
                args.env, total_steps=args.steps, seed=args.seed,
                progress=not args.no_progress, **settings,
            )  # fmt: skip
        except algos.TrainingInterrupted as stop:
            signals.stop()
            partial = stop.result
        except KeyboardInterrupt:
            if result is None:  # stopped before any network existed: nothing to save
                raise
            # The signal came just after training returned: the run is complete.
        signals.phase = "saving"
        if partial is not None:
            out, rescued_from = _save(partial, _partial_folder(args.out), args.force)
            steps = partial.config["steps_done"]
            what = f"the partial {args.algo} run ({steps} of {args.steps} steps)"
            if rescued_from is not None:
                print(f"error: {rescued_from}; saved {what} to {out}/ instead", file=sys.stderr)
                return 2
            print(
                f"interrupted: saved {what} to {out}/; config.json says interrupted: true",
                file=sys.stderr,
            )
            return exit_code(signals.first)
        out, rescued_from = _save(result, args.out, args.force)
        if rescued_from is not None:
            print(f"error: {rescued_from}; saved the run to {out}/ instead", file=sys.stderr)
            return 2
        # The last iterations may have ended no episode (NaN): report the latest that did.
        returns = result.history["episode_return"]
        finished = returns[~np.isnan(returns)]
        last = f"{finished[-1]:.1f}" if len(finished) else "n/a, no episode ended"
        print(f"saved {args.algo} run to {out}/ (last mean episode return {last})")
        if signals.stopped:
            print("stopped while the finished run was saved; it is complete", file=sys.stderr)
            return exit_code(signals.first)
        return 0


def _checkpointer(out: str, every: int):
    """The training hook that saves the run so far to ``OUT-checkpoint`` every ``every`` steps."""
    from pgkit.checkpoints import save_run

    if every < 1:
        raise ValueError(f"--checkpoint-every must be a positive number of steps, got {every}")
    path = Path(out)
    path = (path if path.name else path.resolve()).with_name(
        f"{Path(out).resolve().name}-checkpoint"
    )
    due = every

    def save(result: Any) -> None:
        nonlocal due
        if result.config["steps_done"] >= due:
            save_run(result, path, overwrite=True)  # one whole run at a time: staged, renamed
            due = (result.config["steps_done"] // every + 1) * every

    return save


def _partial_folder(out: str) -> Path:
    """Where an interrupted run goes: ``out``, unless that holds a complete run (kept)."""
    from pgkit.checkpoints import is_complete_run

    path = Path(out)
    if not is_complete_run(path):
        return path
    path = path if path.name else path.resolve()  # "." has no name to add a suffix to
    for n in itertools.count(1):
        beside = path.with_name(f"{path.name}-interrupted" + (f"-{n}" if n > 1 else ""))
        if not os.path.lexists(beside):
            return beside
    raise AssertionError("unreachable")


def _save(result: Any, out: str | Path, overwrite: bool) -> tuple[Path, str | None]:
    """Save ``result`` to ``out``; return the folder it went to and, if not ``out``, why.

    Finished work is not dropped because ``out`` cannot be written at the end (a full disk,
    a folder someone created meanwhile): the run then goes to a fresh folder in the temporary
    directory, which is usually on another disk.
    """
    import tempfile

    from pgkit.checkpoints import save_run

    try:
        return save_run(result, out, overwrite=overwrite), None
    except (OSError, ValueError) as e:
        failure = str(e)
    rescue = None
    try:
        rescue = tempfile.mkdtemp(prefix=f"pgkit-{result.config.get('algo', 'run')}-")
        return save_run(result, rescue), failure
    except (OSError, ValueError) as e:
        if rescue is not None:
            shutil.rmtree(rescue, ignore_errors=True)
        raise OSError(
            f"{failure}; saving it under {tempfile.gettempdir()} instead failed too ({e}), "
            "so the trained run could not be kept"
        ) from None
