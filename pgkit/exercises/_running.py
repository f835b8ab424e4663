"""Running the reader's function on the cases: watched calls, time limits, in-process runs.

The reader's function is called through :class:`_Watched`, which notes inputs changed in
place and calls into pgkit, and :func:`_run_case` judges everything about one call except
the answer's value. :mod:`pgkit.exercises._child` runs the cases in a forked child process;
:func:`_run_in_process` runs them here, where fork is not available.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from pgkit.validation import is_torch

# Seconds the reader's function may take on one case before the checker stops it.
CASE_TIME_LIMIT = 10.0
# Run the reader's function in a forked child process (POSIX). Without fork (Windows) it runs
# in the checker's own process, where a time-out needs SIGALRM and the function can reach the
# checker's state.
ISOLATE = hasattr(os, "fork")
# pgkit's own folder (this file is in pgkit/exercises/).
_PGKIT_DIR = str(Path(__file__).resolve().parents[1]) + os.sep
# The checker's package: a call into it from the reader's function reads the answer.
_CHECKER = __name__.rpartition(".")[0]
# Said of the cases not run after a time-out.
_TIMED_OUT = "not run after the time-out above"


class _BadOutput(Exception):
    """The reader's function returned something that is not an answer of the right kind."""


class _TimedOut(BaseException):
    """Raised into the reader's function when a case runs past CASE_TIME_LIMIT (in-process only).

    A BaseException, so that an ``except Exception`` in the reader's code cannot swallow it.
    """


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Interrupt the block with _TimedOut after ``seconds`` (main thread only, via SIGALRM)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield
        return

    def stop(signum, frame):
        raise _TimedOut

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _pgkit_functions() -> dict[tuple[str, str], Any]:
    """Every attribute of every loaded pgkit module, to notice one replaced by the reader."""
    return {
        (name, attr): value
        for name, module in list(sys.modules.items())
        if name == "pgkit" or name.startswith("pgkit.")
        for attr, value in list(vars(module).items())
        if not attr.startswith("__")
    }


def _changed(before: Any, after: Any) -> bool:
    if is_torch(after):
        before, after = before.detach().cpu().numpy(), after.detach().cpu().numpy()
    if not isinstance(after, np.ndarray):
        return False
    if after.shape != before.shape:
        return True
    return not np.array_equal(after, before, equal_nan=np.issubdtype(after.dtype, np.floating))


class _Watched:
    """The reader's function, called through: notes inputs changed in place, pgkit calls made.

    ``checker_calls`` and ``unwatched`` concern the current case only (the caller resets them):
    a call into the checker's own module reads the answer the case is judged against, and a
    function that switches the profile off hides which pgkit functions it calls.
    """

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.mutated: list[str] = []
        self.pgkit_calls: list[str] = []
        self.checker_calls: list[str] = []
        self.unwatched = False
        try:
            self.names = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            self.names = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        before = [_fresh(a) for a in args]
        previous = sys.getprofile()
        sys.setprofile(self._profile)
        try:
            out = self.fn(*args, **kwargs)
        finally:
            self.unwatched = self.unwatched or sys.getprofile() != self._profile
            sys.setprofile(previous)
        for i, (old, new) in enumerate(zip(before, args, strict=True)):
            name = self.names[i] if i < len(self.names) else f"argument {i + 1}"
            if _changed(old, new) and name not in self.mutated:
                self.mutated.append(name)
        return out

    def _profile(self, frame, event, arg) -> None:
        # A pgkit function called from the reader's code, or checked itself (the reader's
        # "function" is pgkit's, imported under another name); calls pgkit makes are its own.
        if event != "call" or frame.f_back is None or frame.f_code.co_name == "<module>":
            return
        if not frame.f_code.co_filename.startswith(_PGKIT_DIR):
            return
        caller = frame.f_back.f_code
        if caller.co_filename.startswith(_PGKIT_DIR) and caller is not _WATCHED_CALL:
            return
        module = frame.f_globals.get("__name__", "pgkit")
        name = f"{module}.{frame.f_code.co_qualname}"
        if module == _CHECKER or module.startswith(_CHECKER + "."):
            # Named after the package, whichever of its modules holds the function.
            name = f"{_CHECKER}.{frame.f_code.co_qualname}"
            # The reader's print() on its way to the parent, and the in-process alarm.
            if frame.f_code.co_qualname.startswith(("_PipeWriter.", "_time_limit.")):
                return
            calls = self.checker_calls
        elif module.startswith("pgkit.validation"):
            return
        else:
            calls = self.pgkit_calls
        if name not in calls:
            calls.append(name)


_WATCHED_CALL = _Watched.__call__.__code__


# --------------------------------------------------------------------------- running a case
# An outcome is a dict: "got" (the answer as a float array, or None), "error" (a verdict for
# the case), "raised" ([exception type, message, is a TypeError]), "stop" (no later case is
# run; the text says why for those cases), and the names this case added to the notes,
# "mutated" and "pgkit_calls".


def _run_case(
    run: Callable[..., np.ndarray], watched: _Watched, case: Any, *, in_child: bool
) -> dict[str, Any]:
    """Run the reader's function on one case and judge everything but the answer's value."""
    functions = _pgkit_functions()
    mutated, calls = len(watched.mutated), len(watched.pgkit_calls)
    watched.checker_calls, watched.unwatched = [], False
    outcome: dict[str, Any] = {"got": None, "error": None, "raised": None, "stop": None}
    # In the child the parent keeps the time; in-process only an alarm can interrupt.
    limit = contextlib.nullcontext() if in_child else _time_limit(CASE_TIME_LIMIT)
    try:
        # The reader's numpy may warn (overflow, division by zero); the verdict says what
        # went wrong, so the warnings would only be noise.
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            with limit:
                outcome["got"] = run(watched, case)
    except _TimedOut:
        outcome["error"] = _timed_out_verdict()
        outcome["stop"] = _TIMED_OUT
    except SystemExit as e:
        code = "" if e.code is None else repr(e.code)
        outcome["error"] = (
            f"your function called sys.exit({code}) (or exit()): it must return its answer "
            "for the checker to judge it"
        )
    except _BadOutput as e:
        outcome["error"] = str(e)
    except Exception as e:  # any error in the reader's code is part of the verdict
        outcome["raised"] = [type(e).__name__, _text(e), isinstance(e, TypeError)]
    except BaseException as e:
        # In-process a KeyboardInterrupt is the reader's Ctrl-C and must stop the check; in
        # the child SIGINT is ignored, so whatever arrives here the function raised itself.
        if not in_child:
            raise
        outcome["raised"] = [type(e).__name__, _text(e), False]
    replaced = [
        key
        for key, value in functions.items()
        if vars(sys.modules[key[0]]).get(key[1]) is not value
    ]
    for module, attr in replaced:  # later cases (and, in-process, the caller) get pgkit back
        setattr(sys.modules[module], attr, functions[module, attr])
    if replaced:
        names = ", ".join(f"{module}.{attr}" for module, attr in replaced)
        outcome["error"] = (
            f"your function replaced {names} while it ran; the checker put it back and cannot "
            "trust this answer"
        )
    elif watched.checker_calls:
        outcome["error"] = (
            f"your function called the checker's own {', '.join(watched.checker_calls)}, "
            "which computes the answer it is judged against; write the computation yourself"
        )
    elif watched.unwatched:
        outcome["error"] = (
            "your function switched off the checker's profile (sys.setprofile), which "
            "notices calls into pgkit; the checker cannot trust this answer"
        )
    if outcome["error"] is not None or outcome["raised"] is not None:
        outcome["got"] = None
    outcome["mutated"] = watched.mutated[mutated:]
    outcome["pgkit_calls"] = watched.pgkit_calls[calls:]
    return outcome


def _text(error: BaseException) -> str:
    """str(error), which runs the reader's code when the exception is the reader's own class."""
    try:
        return str(error)
    except Exception:
        return "(its message could not be turned into text)"


def _timed_out_verdict() -> str:
    return (
        f"your function did not return within {CASE_TIME_LIMIT:g} s on this input "
        "(an endless loop, or a loop that never reaches its `return`?)"
    )


def _run_in_process(
    run: Callable[..., np.ndarray], fn: Callable[..., Any], cases: list[Any]
) -> list[dict[str, Any]]:
    """The outcomes of the cases, run in this process (where fork is not available)."""
    watched = _Watched(fn)
    outcomes = []
    for case in cases:
        outcomes.append(_run_case(run, watched, case, in_child=False))
        if outcomes[-1]["stop"]:
            break
    return outcomes


def _fresh(value: Any) -> Any:
    """A copy, so a function that edits its inputs in place cannot spoil later cases."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if is_torch(value):
        return value.detach().clone()
    return value
