"""Command line: ``python -m pgkit train|evaluate|workbook|check|exercises``.

Examples::

    python -m pgkit train ppo --env CartPole-v1 --steps 100000 --seed 0 --out runs/ppo
    python -m pgkit train a2c --env CartPole-v1 --steps 200000 --set lr=0.0007 --set gamma=0.99
    python -m pgkit evaluate runs/ppo --episodes 20
    python -m pgkit workbook
    python -m pgkit exercises --solutions my_solutions.py
    python -m pgkit check gae my_solutions.py:gae
    python -m pgkit sweep a2c --env CartPole-v1 --steps 50000 --grid gamma=0.9,0.99 --seeds 3 --out runs/gae
    python -m pgkit sweep-report runs/gae

train checks --out before it starts and saves the run only as a whole. Stopped with
Ctrl-C or SIGTERM, it saves the iterations trained so far (config.json then says
"interrupted": true and gives "steps_done") and exits with 130 or 143; a partial run never
replaces a complete one, so with --force over a complete run it goes to OUT-interrupted (or
OUT-interrupted-2, ...) beside it. A second Ctrl-C or SIGTERM stops at once, saving nothing
more (the half-written folder is removed, an earlier run is left whole). A signal while a
finished run is being saved lets the save finish first. When --out cannot be written at the
end (a full disk, say), the run is saved to a fresh folder in the temporary directory instead
and the error says where.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

ALGOS = ("reinforce", "vpg", "a2c", "ppo")
# Settings that have their own option (or none), so --set must not pass them.
RESERVED = {
    "env_id": "use --env",
    "total_steps": "use --steps",
    "seed": "use --seed",
    "progress": "use --no-progress",
    "on_iteration": "use --checkpoint-every STEPS",
}


def _parse_setting(text: str) -> tuple[str, Any]:
    """Parse ``key=value``; the value is read as JSON when it can be (numbers, lists, true)."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--set expects key=value, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.replace("-", "_"), value


def _parse_grid(text: str) -> tuple[str, list[Any]]:
    """Parse ``key=v1,v2,...`` into a name and a list of values (JSON where possible)."""
    key, sep, raw = text.partition("=")
    if not sep or not key or not raw:
        raise argparse.ArgumentTypeError(f"--grid expects key=v1,v2,..., got {text!r}")
    values = []
    for item in raw.split(","):
        try:
            values.append(json.loads(item))
        except json.JSONDecodeError:
            values.append(item)
    return key.replace("-", "_"), values


def _sweep(args: argparse.Namespace) -> int:
    from pgkit.sweeps import run_sweep

    records = run_sweep(
        args.algo, args.env, total_steps=args.steps, out=args.out, grid=dict(args.grid),
        seeds=args.seeds, eval_episodes=args.eval_episodes, backend=args.backend,
        workers=args.workers, address=args.address, progress=not args.no_progress,
    )  # fmt: skip
    failed = [r for r in records.values() if "error" in r]
    print(f"{len(records) - len(failed)} of {len(records)} jobs finished in {args.out}/")
    for record in failed:
        print(f"failed: {record['id']}: {record['error']} (run the sweep again to retry)")
    return 1 if failed else 0


def _sweep_report(args: argparse.Namespace) -> int:
    from pgkit.sweeps import sweep_report

    for path in sweep_report(args.out):
        print(f"wrote {path}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pgkit",
        description="Train, evaluate and check policy-gradient agents from the book.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `python -m pgkit COMMAND --help` for a command's options.\n\nExamples:\n"
        + __doc__.split("Examples::", 1)[1],
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train",
        help="train an agent and save the run to a folder",
        description="Train one of the book's algorithms and write checkpoint.pt, config.json, "
        "history.csv and learning_curve.png into --out.",
    )
    train.add_argument("algo", choices=ALGOS, help="which algorithm (see pgkit.algos)")
    train.add_argument(
        "--env",
        default="CartPole-v1",
        help="gymnasium environment id, or one of pgkit's (e.g. pgkit/PointMass-v0); "
        "default CartPole-v1",
    )
    train.add_argument(
        "--steps", type=int, required=True, help="environment steps to train for (>= 1)"
    )
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument(
        "--out",
        required=True,
        help="folder to write the run into; checked before training starts. It must be new or "
        "empty, or hold an earlier run and --force be given. A symbolic link to a folder is "
        "written through (the run goes into the folder it points to)",
    )
    train.add_argument(
        "--force", action="store_true", help="replace the earlier run in --out, if there is one"
    )
    train.add_argument(
        "--checkpoint-every",
        type=int,
        default=None,
        metavar="STEPS",
        help="also save the run so far to OUT-checkpoint every STEPS environment steps "
        "(marked interrupted, with its steps_done), so a crash loses at most STEPS steps",
    )
    train.add_argument(
        "--set",
        dest="settings",
        type=_parse_setting,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a hyperparameter: any keyword argument of pgkit.algos.ALGO, e.g. "
        "--set lr=3e-4 --set hidden=[32,32]; values are read as JSON (true, null, lists) "
        "or else as text; repeatable",
    )
    train.add_argument(
        "--no-progress", action="store_true", help="hide the progress bar (shown on stderr)"
    )

    evaluate = commands.add_parser(
        "evaluate",
        help="evaluate a saved run",
        description="Load a run folder written by `train` and print the mean and standard "
        "deviation of the return over evaluation episodes (one fresh environment per episode, "
        "acting with the policy's mode unless --stochastic).",
    )
    evaluate.add_argument("run", help="folder written by `train`")
    evaluate.add_argument(
        "--episodes", type=int, default=10, help="number of episodes (default 10)"
    )
    evaluate.add_argument("--seed", type=int, default=0, help="evaluation seed (default 0)")
    evaluate.add_argument(
        "--stochastic", action="store_true", help="sample actions instead of taking the mode"
    )

    check = commands.add_parser(
        "check",
        help="run an exercise checker on your function",
        description="Run the checker of one exercise on a function in your own file.",
    )
    check.add_argument("exercise", help="exercise name, e.g. gae (see `exercises`)")
    check.add_argument("target", help="FILE.py:FUNCTION, e.g. my_solutions.py:gae")

    workbook = commands.add_parser(
        "workbook",
        help="write the self-study workbook",
        description="Copy every chapter into a workbook folder with each exercise's solution "
        "replaced by a stub to fill in. Notebooks you edited are kept unless --force.",
    )
    workbook.add_argument("--chapters", default="chapters", help="chapter notebooks folder")
    workbook.add_argument("--out", default="workbook", help="folder to write (default workbook)")
    workbook.add_argument("--force", action="store_true", help="overwrite edited notebooks too")

    sweep = commands.add_parser(
        "sweep",
        help="train over a grid of settings x seeds (resumable; local processes or Ray)",
        description="Run one algorithm over every combination of the --grid values and every "
        "seed, writing one file per finished job into --out. Re-running skips finished jobs "
        "and retries failed ones (pgkit.sweeps).",
    )
    sweep.add_argument(
        "algo", help="a pgkit.algos function (reinforce, vpg, a2c, ppo) or module:function"
    )
    sweep.add_argument("--env", default="CartPole-v1", help="gymnasium environment id")
    sweep.add_argument("--steps", type=int, required=True, help="environment steps per job")
    sweep.add_argument(
        "--grid",
        dest="grid",
        type=_parse_grid,
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        help="values of one hyperparameter to try, read as JSON where they can be; repeatable",
    )
    sweep.add_argument(
        "--seeds", type=int, default=3, help="seeds 0 .. N-1 per setting (default 3)"
    )
    sweep.add_argument("--eval-episodes", type=int, default=10, help="greedy evaluation episodes")
    sweep.add_argument("--out", required=True, help="folder of the sweep (created; resumable)")
    sweep.add_argument("--backend", choices=("local", "ray"), default="local", help="default local")
    sweep.add_argument(
        "--workers", type=int, default=None, help="parallel jobs (default: all cores)"
    )
    sweep.add_argument(
        "--address", default=None, help="Ray cluster address HOST:PORT (backend ray)"
    )
    sweep.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    report = commands.add_parser(
        "sweep-report",
        help="figures of a sweep: heat map and learning curves",
        description="Write heatmap.png (final return over the first two grid axes) and "
        "learning_curves.png (mean over seeds with 95% bands) into a sweep folder.",
    )
    report.add_argument("out", help="folder written by `sweep`")

    exercises = commands.add_parser(
        "exercises",
        help="list the exercises",
        description="List every exercise with its chapter, and your status when --solutions is given.",
    )
    exercises.add_argument(
        "--solutions", help="a .py file whose functions are named after the exercises"
    )
    return parser


# Exit codes of a run stopped by a signal, as a shell reports them (128 + the signal's number).
EXIT_SIGINT, EXIT_SIGTERM = 130, 143


class _Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interruption so that training stops the same way as on Ctrl-C."""


class _Abort(BaseException):
    """A second Ctrl-C or SIGTERM: stop at once. Not a KeyboardInterrupt, so that training
    does not turn it into a partial run to save, and no ``except Exception`` swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _exit_code(signum: int | None) -> int:
    import signal

    return EXIT_SIGTERM if signum == signal.SIGTERM else EXIT_SIGINT


class _Signals:
    """SIGINT and SIGTERM during ``train``: the first stops the work, the second abandons it.

    ``phase`` says what the command is doing. In ``"training"`` the first signal raises
    KeyboardInterrupt (``_Terminated`` for SIGTERM), which the training functions turn into
    their partial run. In ``"setup"`` (imports) and ``"saving"`` it is only noted: the import or
    the save finishes first. The second signal raises ``_Abort``, except during setup, where an
    exception inside the import of a compiled module can crash the interpreter. Nothing is
    raised after that, so the clean-up that ``_Abort`` starts (removing the half-written
    folder) cannot itself be cut short by yet another signal.
    """

    def __init__(self) -> None:
        self.phase = "setup"
        self.first: int | None = None  # the signal that stopped the work, once one has
        self.stopped = False
        self.aborted = False

    def __enter__(self) -> _Signals:
        import signal

        self._previous = {
            signum: signal.signal(signum, self._handle)
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        return self

    def __exit__(self, *exc_info) -> None:
        import signal

        for signum, handler in self._previous.items():
            if handler is not None:  # None: installed from C, which Python cannot restore
                signal.signal(signum, handler)

    def stop(self) -> None:
        """Note a stop that came as a KeyboardInterrupt from elsewhere than this handler."""
        self.stopped = True

    def _handle(self, signum: int, frame: Any) -> None:
        import signal

        if not self.stopped:
            self.stopped, self.first = True, signum
            if self.phase == "training":
                if signum == signal.SIGTERM:
                    raise _Terminated("terminated (SIGTERM)")
                raise KeyboardInterrupt
        elif not self.aborted and self.phase != "setup":
            self.aborted = True
            raise _Abort(signum)


def _train(args: argparse.Namespace) -> int:
    if args.steps < 1:
        raise ValueError(
            f"--steps must be a positive number of environment steps, got {args.steps}"
        )
    settings = dict(args.settings)
    for key, option in RESERVED.items():
        if key in settings:
            raise ValueError(f"--set {key}=... is not allowed: {option}")
    with _Signals() as signals:
        import numpy as np

        from pgkit import algos, checkpoints

        # Now, so that saving imports nothing a second signal could land in.
        checkpoints._import_writer()
        # Before training, not after it: a run that cannot be saved is a run lost.
        checkpoints.check_run_folder(args.out, overwrite=args.force)
        fn = getattr(algos, args.algo)
        if args.checkpoint_every is not None:
            settings["on_iteration"] = _checkpointer(args.out, args.checkpoint_every)
        if signals.stopped:
            print("interrupted before training started; nothing was written", file=sys.stderr)
            return _exit_code(signals.first)
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
            return _exit_code(signals.first)
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
            return _exit_code(signals.first)
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


def _evaluate(args: argparse.Namespace) -> int:
    from pgkit.checkpoints import load_run
    from pgkit.rollout import evaluate

    run = load_run(args.run, history=False)  # evaluating needs the networks only
    returns = evaluate(
        run.policy,
        run.config["env_id"],
        episodes=args.episodes,
        seed=args.seed,
        deterministic=not args.stochastic,
    )
    print(
        f"{run.config.get('algo', 'policy')} on {run.config['env_id']}: mean return "
        f"{returns.mean():.2f} +/- {returns.std():.2f} (std over {len(returns)} episodes)"
    )
    return 0


def _is_user_error(error: Exception) -> bool:
    """Errors that get one line, not a traceback: bad input, files, divergence, gymnasium's.

    FloatingPointError covers pgkit.algos.TrainingDivergedError. gymnasium is only looked up
    if loaded: an error cannot be one of its own before it is imported, and importing it here
    would slow every command.
    """
    if isinstance(error, ValueError | TypeError | OSError | FloatingPointError):
        return True
    gymnasium = sys.modules.get("gymnasium")
    return gymnasium is not None and isinstance(error, gymnasium.error.Error)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handlers = {
        "train": _train,
        "evaluate": _evaluate,
        "sweep": _sweep,
        "sweep-report": _sweep_report,
    }
    if args.command in ("workbook", "check", "exercises"):
        from pgkit.exercises import commands as workbook

        handlers.update(
            workbook=workbook.workbook_command,
            check=workbook.check_command,
            exercises=workbook.exercises_command,
        )
    try:
        return handlers[args.command](args)
    except Exception as e:
        if not _is_user_error(e):
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except _Abort as abort:
        print(
            "stopped at once by a second signal: nothing more was saved (an earlier run in "
            "--out is untouched)",
            file=sys.stderr,
        )
        return _exit_code(abort.signum)
    except KeyboardInterrupt as e:
        print("interrupted", file=sys.stderr)
        return EXIT_SIGTERM if isinstance(e, _Terminated) else EXIT_SIGINT


if __name__ == "__main__":
    sys.exit(main())
