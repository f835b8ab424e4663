"""The command line: ``python -m pgkit train|evaluate|workbook|check|exercises``.

The commands live here, except ``train``, which is :mod:`pgkit.cli_train`, with the signal
handling of :mod:`pgkit.signals`; ``workbook``, ``check`` and ``exercises`` are those of
:mod:`pgkit.exercises.commands`. ``python -m pgkit`` runs :func:`main`.

Examples::

    python -m pgkit train ppo --env CartPole-v1 --steps 100000 --out runs/ppo
    python -m pgkit train a2c --env CartPole-v1 --set lr=0.0007 --set gamma=0.99
    python -m pgkit evaluate runs/ppo --episodes 20
    python -m pgkit workbook
    python -m pgkit exercises --solutions my_solutions.py
    python -m pgkit check gae my_solutions.py:gae
    python -m pgkit sweep a2c --env CartPole-v1 --grid gamma=0.9,0.99 --out runs/gae
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
import json
import sys
from typing import Any

from pgkit.cli_train import train_command
from pgkit.signals import EXIT_SIGINT, EXIT_SIGTERM, Abort, Terminated, exit_code

__all__ = ["ALGOS", "main"]

ALGOS = ("reinforce", "vpg", "a2c", "ppo")


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
    """Run the command line with the arguments ``argv``; return the exit code.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after ``python -m pgkit``; those of the process by default.

    Returns
    -------
    int
        0 on success; 1 when some jobs of a sweep failed; 2 for a mistake reported in one
        line (bad input, a file that cannot be read or written, a diverged run); 130 or 143
        when Ctrl-C or SIGTERM stopped the command.
    """
    args = _parser().parse_args(argv)
    handlers = {
        "train": train_command,
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
    except Abort as abort:
        print(
            "stopped at once by a second signal: nothing more was saved (an earlier run in "
            "--out is untouched)",
            file=sys.stderr,
        )
        return exit_code(abort.signum)
    except KeyboardInterrupt as e:
        print("interrupted", file=sys.stderr)
        return EXIT_SIGTERM if isinstance(e, Terminated) else EXIT_SIGINT
