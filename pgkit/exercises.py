"""Checkers for the chapters' exercises: call your function, compare with pgkit, explain.

Every chapter ends with exercises that ask you to write one of pgkit's functions
yourself. ``check_<name>(fn)`` calls your ``fn`` on a fixed list of cases, from the
smallest (:math:`T = 1`) to larger (T, N) batches with episodes ending in the middle and on
the last step, compares each answer with pgkit's own implementation
(``np.allclose`` with rtol 1e-5, atol 1e-6) and prints a short verdict. When a
case fails it shows the smallest failing input, the expected and the returned
values, and a hint found by comparing your answer with the answers of known
mistakes (no reset at an episode end, ``gamma ** t`` for ``gamma ** (t' - t)``, a
missing ``lam``, ...). A checker returns True when every case passes.

Your function may return a numpy array, a torch tensor or a list. It is called
with positional arguments in the documented order; array inputs are numpy arrays
(torch tensors for the Chapter 3 and 4 exercises) and episode flags are booleans.
The cases come from a fixed seed, so the output is the same on every run.

Where the operating system can fork (Linux, macOS) your function runs in a child process
that receives only each case's inputs; what it prints is shown as usual. The expected
answers are computed, and compared, in the checker's own process afterwards, so nothing your
function reads or replaces can change a verdict. A case that takes longer than
``CASE_TIME_LIMIT`` seconds (10) is stopped by killing the child, and a function that ends
the process (``os._exit``, a crash) fails the case it was running.

    >>> from pgkit.exercises import check_discounted_returns
    >>> check_discounted_returns(my_discounted_returns)   # doctest: +SKIP

``EXERCISES`` lists every exercise with its chapter and signature, for the command
line and the workbook.
"""

from __future__ import annotations

import base64
import contextlib
import inspect
import io
import json
import math
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from pgkit.validation import is_torch

__all__ = [
    "EXERCISES",
    "Exercise",
    "check_bandit_gradient",
    "check_discounted_returns",
    "check_gae",
    "check_gaussian_log_likelihood",
    "check_importance_weights",
    "check_mc_estimate",
    "check_n_step_returns",
    "check_ppo_clip_loss",
    "check_reward_to_go",
    "check_surrogate_loss",
]

RTOL = 1e-5
ATOL = 1e-6
_SEED = 20240611
# Seconds the reader's function may take on one case before the checker stops it.
CASE_TIME_LIMIT = 10.0
# Run the reader's function in a forked child process (POSIX). Without fork (Windows) it runs
# in the checker's own process, where a time-out needs SIGALRM and the function can reach the
# checker's state.
ISOLATE = hasattr(os, "fork")
_PGKIT_DIR = str(Path(__file__).resolve().parent) + os.sep

Inputs = dict[str, Any]


# --------------------------------------------------------------------------- framework


class _BadOutput(Exception):
    """The reader's function returned something that is not an answer of the right kind."""


@dataclass(frozen=True)
class _Case:
    label: str
    inputs: Inputs  # passed positionally, in this order; keys starting with "_" are settings


@dataclass(frozen=True)
class _Problem:
    name: str
    signature: str
    covers: str
    reference: Callable[[Inputs], np.ndarray]
    # Known mistakes, most specific first: (hint, the mistaken answer or None if it
    # does not apply to this case).
    mistakes: tuple[tuple[str, Callable[[Inputs], np.ndarray | None]], ...]
    fallback: Callable[[np.ndarray | None, np.ndarray, Inputs], str]
    run: Callable[[Callable[..., Any], Inputs], np.ndarray] | None = None
    show: Callable[[np.ndarray], str] | None = None
    time_major: bool = False  # cases go from (T,) arrays to (T, N) batches


@dataclass(frozen=True)
class _Failure:
    case: _Case
    expected: np.ndarray
    got: np.ndarray | None  # None when the function raised or returned junk
    problem: str | None  # what went wrong when got is None (or the shapes differ)


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
        if module == __name__:
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
# An outcome is a dict that crosses the pipe from the child as JSON: "got" (the answer as a
# float array, or None), "error" (a verdict for the case), "raised" ([exception type, message,
# is a TypeError]), "stop" (no later case is run; the text says why for those cases), and the
# names this case added to the notes, "mutated" and "pgkit_calls".

# Answers with more values are not sent back whole: every case's answer is far smaller.
_MAX_SENT = 1_000_000


def _run_case(
    run: Callable[..., np.ndarray], watched: _Watched, inputs: Inputs, *, in_child: bool
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
                outcome["got"] = run(watched, inputs)
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
    run: Callable[..., np.ndarray], fn: Callable[..., Any], inputs: list[Inputs]
) -> list[dict[str, Any]]:
    """The outcomes of the cases, run in this process (where fork is not available)."""
    watched = _Watched(fn)
    outcomes = []
    for case_inputs in inputs:
        outcomes.append(_run_case(run, watched, case_inputs, in_child=False))
        if outcomes[-1]["stop"]:
            break
    return outcomes


class _PipeWriter(io.TextIOBase):
    """The child's sys.stdout or sys.stderr: each write goes to the parent, which prints it."""

    def __init__(self, send: Any, stream: str) -> None:
        self._send, self._stream = send, stream

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        for start in range(0, len(text), 1 << 16):  # bounded messages, however long the text
            message = {"kind": self._stream, "text": text[start : start + (1 << 16)]}
            self._send.send_bytes(json.dumps(message).encode())
        return len(text)


def _encode(outcome: dict[str, Any]) -> bytes:
    got = outcome["got"]
    if got is not None:
        got = np.asarray(got, dtype=np.float64)
        data = None if got.size > _MAX_SENT else base64.b64encode(got.tobytes()).decode()
        outcome = {**outcome, "got": {"shape": list(got.shape), "data": data}}
    return json.dumps({"kind": "outcome", **outcome}).encode()


def _decode(message: dict[str, Any]) -> dict[str, Any]:
    """An outcome sent by the child, checked field by field; ValueError if it is not one.

    Only JSON comes from the child, never a pickle: unpickling runs code, and code sent by
    the reader's function must not run in the process that judges it.
    """
    outcome = {
        "got": None,
        "error": message.get("error"),
        "raised": message.get("raised"),
        "stop": message.get("stop"),
        "mutated": [str(name) for name in message.get("mutated", [])],
        "pgkit_calls": [str(name) for name in message.get("pgkit_calls", [])],
    }
    for key in ("error", "stop"):
        if not isinstance(outcome[key], (str, type(None))):
            raise ValueError(f"{key} is not text")
    raised = outcome["raised"]
    if raised is not None:
        kind, text, is_type_error = raised
        outcome["raised"] = [str(kind), str(text), bool(is_type_error)]
    got = message.get("got")
    if got is None and outcome["error"] is None and outcome["raised"] is None:
        raise ValueError("no answer, no error")
    if got is not None:
        shape = tuple(int(n) for n in got["shape"])
        if got["data"] is None:
            outcome["error"] = f"your function returned {math.prod(shape)} values, shape {shape}"
        else:
            data = base64.b64decode(got["data"], validate=True)
            outcome["got"] = np.frombuffer(data, np.float64).reshape(shape).copy()
    return outcome


def _child(
    send: Any,
    run: Callable[..., np.ndarray],
    fn: Callable[..., Any],
    inputs: list[Inputs],
    parent: int,
) -> NoReturn:
    """The forked process: run every case, send each outcome; never returns to the caller."""
    status = 0
    try:
        # Ctrl-C is the parent's to handle (it stops this process); a KeyboardInterrupt in
        # here is then one the reader's function raised, a verdict like any other error.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _end_with(parent)
        if "torch" in sys.modules:
            # torch's thread pool does not survive fork (the OpenMP runtime can hang in a
            # forked child); the cases are small, so one thread loses nothing.
            sys.modules["torch"].set_num_threads(1)
        sys.stdout, sys.stderr = _PipeWriter(send, "out"), _PipeWriter(send, "err")
        watched = _Watched(fn)
        for case_inputs in inputs:
            send.send_bytes(_encode(_run_case(run, watched, case_inputs, in_child=True)))
    except BaseException:  # the parent reports the missing outcome; nothing may escape
        status = 1
    finally:
        # os._exit: the parent's atexit handlers, finalizers and buffered output are the
        # parent's, and must not run or be flushed a second time from this copy of it.
        os._exit(status)


def _end_with(parent: int) -> None:
    """End this process when the parent ends, so that a killed checker leaves no loop behind."""
    try:
        import ctypes

        # Linux's PR_SET_PDEATHSIG (1): the kernel sends SIGKILL, whatever this process runs.
        if ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL) != 0:
            raise OSError
    except (OSError, AttributeError):

        def watch() -> None:
            while True:
                time.sleep(0.5)
                if os.getppid() != parent:
                    os._exit(1)

        threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:  # the parent ended before the watch began
        os._exit(1)


def _ended_verdict(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        how = f"killed by signal {signal.Signals(-code).name}"
    else:
        how = f"exit code {code}"
    return (
        f"your function ended the process running it ({how}) before returning: it must "
        "return its answer for the checker to judge it (does it call os._exit, or crash Python?)"
    )


def _run_in_child(
    run: Callable[..., np.ndarray], fn: Callable[..., Any], inputs: list[Inputs]
) -> list[dict[str, Any]]:
    """The outcomes of the cases, run one after another in a forked child process.

    The child gets only the cases' inputs; the answers they are judged against are computed
    by the caller afterwards, in this process, so nothing the reader's function reads or
    replaces in the child can reach them. The time limit is kept here, by the clock: a
    function that swallows every exception or ignores signals is killed all the same.
    """
    from multiprocessing.connection import Pipe

    receive, send = Pipe(duplex=False)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or missing stream has nothing to copy
            stream.flush()  # else the child starts with a copy of the unwritten text
    parent = os.getpid()
    with warnings.catch_warnings():
        # Python 3.12 warns on fork in a process with threads (a notebook kernel has some);
        # the child takes no lock another thread could hold: it writes only to the pipe.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        receive.close()
        _child(send, run, fn, inputs, parent)
    send.close()
    child = _Child(pid)
    outcomes: list[dict[str, Any]] = []
    try:
        while len(outcomes) < len(inputs):
            outcomes.append(_next_outcome(receive, child, time.monotonic() + CASE_TIME_LIMIT))
            if outcomes[-1]["stop"]:
                break
    finally:
        receive.close()
        child.end()
    return outcomes


class _Child:
    """The forked process, reaped exactly once (a reaped pid may already be another process's)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.status = pid, None

    def wait(self, deadline: float) -> int | None:
        """Its wait status once it has ended, or None if it still runs at ``deadline``."""
        while self.status is None:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.status = status
            elif time.monotonic() >= deadline:
                return None
            else:
                time.sleep(0.005)
        return self.status

    def end(self) -> None:
        if self.status is None:  # done or not, it has nothing left to do for the checker
            os.kill(self.pid, signal.SIGKILL)
            _, self.status = os.waitpid(self.pid, 0)


_TIMED_OUT = "not run after the time-out above"


def _next_outcome(receive: Any, child: _Child, deadline: float) -> dict[str, Any]:
    """The child's next outcome, printing what the reader's function printed meanwhile."""
    nothing = {"got": None, "raised": None, "mutated": [], "pgkit_calls": []}
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not receive.poll(remaining):
            return {**nothing, "error": _timed_out_verdict(), "stop": _TIMED_OUT}
        try:
            message = json.loads(receive.recv_bytes())
            kind = message.pop("kind")
            if kind in ("out", "err"):
                print(str(message["text"]), end="", file=getattr(sys, "std" + kind))
                continue
            if kind != "outcome":
                raise ValueError(f"unknown message {kind!r}")
            return _decode(message)
        except EOFError:  # the child ended, or closed its end of the pipe, without an outcome
            status = child.wait(deadline)
            if status is None:
                return {**nothing, "error": _timed_out_verdict(), "stop": _TIMED_OUT}
            return {
                **nothing,
                "error": _ended_verdict(status),
                "stop": "not run after the process ended above",
            }
        except (ValueError, TypeError, KeyError, AttributeError, OSError) as e:
            return {
                **nothing,
                "error": "the process running your function sent back something the checker "
                f"could not read ({type(e).__name__}: {e})",
                "stop": "not run after the unreadable answer above",
            }


def _as_array(out: Any) -> np.ndarray:
    """The reader's answer as a float array; _BadOutput if it is not numbers."""
    if out is None:
        raise _BadOutput("your function returned None: did you forget the `return` statement?")
    if is_torch(out):
        out = out.detach().cpu()
        out = (out.double() if out.is_floating_point() else out).numpy()
    elif isinstance(out, (list, tuple)):
        try:
            out = np.asarray([_as_array(x) for x in out])
        except ValueError as e:
            raise _BadOutput(f"your function returned a ragged {type(out).__name__}: {e}") from e
    elif not isinstance(out, (np.ndarray, np.generic, int, float)):
        raise _BadOutput(
            f"your function returned a {type(out).__name__}; return a numpy array, "
            "a torch tensor or a list of numbers"
        )
    arr = np.asarray(out)
    if arr.dtype == bool or np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.float64)
    if not np.issubdtype(arr.dtype, np.floating):
        raise _BadOutput(f"your function returned values of dtype {arr.dtype}; expected numbers")
    return arr.astype(np.float64)


def _fresh(value: Any) -> Any:
    """A copy, so a function that edits its inputs in place cannot spoil later cases."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if is_torch(value):
        return value.detach().clone()
    return value


def _arguments(inputs: Inputs) -> Inputs:
    return {k: v for k, v in inputs.items() if not k.startswith("_")}


def _call_positionally(fn: Callable[..., Any], inputs: Inputs) -> np.ndarray:
    return _as_array(fn(*(_fresh(v) for v in _arguments(inputs).values())))


def _describe(out: Any) -> str:
    if isinstance(out, (tuple, list)):
        return f"a {type(out).__name__} of {len(out)} values"
    shape = getattr(out, "shape", None)
    return type(out).__name__ + ("" if shape is None else f" of shape {tuple(shape)}")


def _matches(got: np.ndarray, answer: np.ndarray) -> bool:
    return got.shape == answer.shape and bool(
        np.allclose(got, answer, rtol=RTOL, atol=ATOL, equal_nan=True)
    )


def _fmt(value: Any) -> str:
    if is_torch(value):
        value = value.detach().cpu().numpy()
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    arr = np.asarray(value)
    if arr.dtype == bool:
        arr = arr.astype(int)  # 0/1 keeps (T, N) flag tables narrow
    elif np.issubdtype(arr.dtype, np.floating):
        arr = np.round(arr, 4) + 0.0  # + 0.0 turns -0.0 into 0.0
    with np.printoptions(
        precision=4, suppress=True, threshold=24, edgeitems=3, linewidth=90, floatmode="maxprec"
    ):
        return np.array2string(arr, separator=", ")


def _lines(name: str, text: str, width: int) -> list[str]:
    head = f"    {name:<{width}} = "
    rows = text.splitlines()
    return [head + rows[0]] + [" " * len(head) + row for row in rows[1:]]


def _first_difference(got: np.ndarray, expected: np.ndarray) -> str | None:
    if got.shape != expected.shape or expected.size <= 4:
        return None
    close = np.isclose(got, expected, rtol=RTOL, atol=ATOL)
    index = tuple(int(i) for i in np.argwhere(~close)[0])
    where = index[0] if len(index) == 1 else index
    return (
        f"first difference at index {where}: expected {expected[index]:.6g}, got {got[index]:.6g}"
    )


def _hint(problem: _Problem, failures: list[_Failure]) -> str:
    """Name the known mistake that reproduces the reader's answer.

    The mistake must reproduce the displayed (smallest) failing case; among those,
    the one that reproduces the most failing cases wins, since small cases can
    make two different mistakes look alike.
    """
    first = failures[0]
    if first.got is None:
        return first.problem or ""
    best, best_count = None, 0
    for hint, mistaken in problem.mistakes:
        count = 0
        for failure in failures:
            if failure.got is None:
                continue
            answer = mistaken(failure.case.inputs)
            if answer is not None and _matches(failure.got, np.asarray(answer, float)):
                count += 1
            elif failure is first:
                break
        else:
            if count > best_count:
                best, best_count = hint, count
    if best is not None:
        return best
    return problem.fallback(first.got, first.expected, first.case.inputs)


def _check(problem: _Problem, cases: list[_Case], fn: Any) -> bool:
    title = f"check_{problem.name}"
    if not callable(fn):
        print(f"{title}: expected your function, got {type(fn).__name__} {fn!r:.40}")
        return False
    run_cases = _run_in_child if ISOLATE else _run_in_process
    outcomes = run_cases(problem.run or _call_positionally, fn, [case.inputs for case in cases])
    mutated = list(dict.fromkeys(name for o in outcomes for name in o["mutated"]))
    pgkit_calls = list(dict.fromkeys(name for o in outcomes for name in o["pgkit_calls"]))
    failures: list[_Failure] = []
    for i, case in enumerate(cases):
        # The expected answer exists only from here on, in this process: while the reader's
        # function ran, no frame held it, and in a child process nothing could reach it.
        expected = np.asarray(problem.reference(case.inputs), dtype=np.float64)
        if i >= len(outcomes):  # one time-out (or exit) is verdict enough: the rest waits not
            failures.append(_Failure(case, expected, None, outcomes[-1]["stop"]))
            continue
        outcome = outcomes[i]
        got = outcome["got"]
        if outcome["error"] is not None:
            failures.append(_Failure(case, expected, None, outcome["error"]))
            continue
        if outcome["raised"] is not None:
            failures.append(
                _Failure(case, expected, None, _raised(problem, case, failures, outcome["raised"]))
            )
            continue
        if got.shape != expected.shape:
            failures.append(
                _Failure(
                    case,
                    expected,
                    got,
                    f"your function returned shape {got.shape}, expected {expected.shape}",
                )
            )
        elif not np.allclose(got, expected, rtol=RTOL, atol=ATOL):
            failures.append(_Failure(case, expected, got, None))

    passed = len(cases) - len(failures)
    if not failures:
        print(f"{title}: all {len(cases)} cases passed. Well done!")
        print(f"  covered: {problem.covers}")
        _print_notes(mutated, pgkit_calls)
        return True

    first = failures[0]
    show = problem.show or _fmt
    print(f"{title}: {passed} of {len(cases)} cases passed. Smallest failing case:")
    print(f"  {first.case.label}")
    arguments = _arguments(first.case.inputs)
    width = max(len(name) for name in arguments)
    for name, value in arguments.items():
        print("\n".join(_lines(name, _fmt(value), width)))
    width = max(width, len("expected"))
    print("\n".join(_lines("expected", show(first.expected), width)))
    if first.got is not None:
        print("\n".join(_lines("got", show(first.got), width)))
        if first.problem:
            print(f"  {first.problem}")
        elif problem.show is None:
            where = _first_difference(first.got, first.expected)
            if where:
                print(f"  {where}")
    with np.errstate(all="ignore"):  # some mistakes produce NaN (log of a negative sigma)
        hint = _hint(problem, failures)
    if hint:
        print(("  hint: " if first.got is not None else "  ") + hint)
    _print_notes(mutated, pgkit_calls)
    return False


def _raised(problem: _Problem, case: _Case, failures: list[_Failure], raised: list[Any]) -> str:
    """The verdict on an exception the reader's function raised, with what usually causes it."""
    kind, text, is_type_error = raised
    message = f"your function raised {kind}: {text}"
    batched = any(np.ndim(v) == 2 for v in _arguments(case.inputs).values())
    if problem.time_major and batched and not failures:
        message += (
            "\n  the smaller (T,) cases passed: make each step work on a whole row of N "
            "environments, e.g. np.where(dones[t], 0.0, G) instead of `if dones[t]:`"
        )
    if is_type_error:
        message += f"\n  expected signature: {problem.signature}"
    if "bool" in text and "operator" in text:
        message += (
            "\n  episode flags arrive as booleans: use `~flags`, or convert with "
            "flags.astype(float) (numpy) / flags.float() (torch) before `1 - flags`"
        )
    return message


def _print_notes(mutated: list[str], pgkit_calls: list[str]) -> None:
    if mutated:
        print(
            f"  note: your function changed its input {', '.join(mutated)} in place; "
            "callers reuse their arrays, so compute into a new array instead"
        )
    if pgkit_calls:
        print(
            f"  note: your function calls {', '.join(pgkit_calls)} from pgkit; the "
            "check compares pgkit with itself there, so write that part yourself to learn it"
        )


# --------------------------------------------------------------------------- array helpers


def _backward(x: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """y_t = x_t + coef_t * y_{t+1} along time (axis 0), with y_T = 0."""
    y = np.zeros(x.shape)
    carry = np.zeros(x.shape[1:])
    for t in reversed(range(x.shape[0])):
        carry = x[t] + coef[t] * carry
        y[t] = carry
    return y


def _forward(x: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """y_t = x_t + coef_t * y_{t-1} along time (axis 0), with y_{-1} = 0."""
    y = np.zeros(x.shape)
    carry = np.zeros(x.shape[1:])
    for t in range(x.shape[0]):
        carry = x[t] + coef[t] * carry
        y[t] = carry
    return y


def _shift_up(flags: np.ndarray) -> np.ndarray:
    """flags_{t+1}, with 0 after the last row."""
    out = np.zeros(flags.shape)
    out[:-1] = flags[1:]
    return out


def _shift_down(flags: np.ndarray) -> np.ndarray:
    """flags_{t-1}, with 0 before the first row."""
    out = np.zeros(flags.shape)
    out[1:] = flags[:-1]
    return out


def _steps_since_start(dones: np.ndarray) -> np.ndarray:
    """k_t = number of steps since the first step of t's episode within the batch."""
    ones = np.ones(dones.shape)
    return _forward(ones, 1.0 - _shift_down(dones)) - 1.0


def _transposed(compute: Callable[[Inputs], np.ndarray]) -> Callable[[Inputs], np.ndarray | None]:
    """The mistake of running a time recursion along axis 1 of a (T, N) batch."""

    def mistaken(inputs: Inputs) -> np.ndarray | None:
        arrays = [v for v in inputs.values() if isinstance(v, np.ndarray)]
        if arrays[0].ndim != 2:
            return None
        swapped = {k: v.T if isinstance(v, np.ndarray) else v for k, v in inputs.items()}
        return compute(swapped).T

    return mistaken


_AXIS_HINT = (
    "(T, N) arrays are time-major: run the recursion along axis 0 (time), separately "
    "for each of the N columns"
)
_NONFINITE_HINT = "your answer contains NaN or inf; "
_SHAPE_HINT = "return one value per time step: the same shape as rewards, (T,) or (T, N)"


def _float(flags: np.ndarray) -> np.ndarray:
    return np.asarray(flags, dtype=np.float64)


def _r(rng: np.random.Generator, shape: Any) -> np.ndarray:
    """Rewards or values with one decimal, so printed cases stay readable."""
    return np.round(rng.normal(0.0, 1.0, size=shape), 1)


def _flags(shape: tuple[int, ...], where: dict[Any, str]) -> tuple[np.ndarray, np.ndarray]:
    """terminated, truncated with the given entries set ("term", "trunc" or "both")."""
    terminated = np.zeros(shape, dtype=bool)
    truncated = np.zeros(shape, dtype=bool)
    for index, kind in where.items():
        terminated[index] = kind in ("term", "both")
        truncated[index] = kind in ("trunc", "both")
    return terminated, truncated


def _random_flags(
    rng: np.random.Generator, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    ends = rng.random(shape) < 0.25
    truncated = ends & (rng.random(shape) < 0.4)
    terminated = ends & ~truncated
    # Make sure every (T, N) case has both kinds of episode end.
    terminated[1, 0], truncated[1, 0] = True, False
    truncated[2, 1], terminated[2, 1] = True, False
    return terminated, truncated


def _values_pair(
    rng: np.random.Generator, terminated: np.ndarray, truncated: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """values V(s_t) and next_values V(s_{t+1}) as a rollout would produce them.

    Inside an episode next_values[t] = values[t + 1] (the same state); after an
    episode end s_{t+1} is the final observation, whose value is unrelated to the
    next episode's first state, and the last row looks one step past the data.
    """
    values = _r(rng, terminated.shape)
    other = _r(rng, terminated.shape)
    next_values = np.empty(terminated.shape)
    next_values[:-1] = values[1:]
    next_values[-1] = other[-1]
    next_values = np.where(terminated | truncated, other, next_values)
    return values, next_values


def _describe_ends(terminated: np.ndarray, truncated: np.ndarray) -> str:
    parts = []
    for t in range(len(terminated)):
        if terminated[t] and truncated[t]:
            parts.append(f"terminated and truncated at t = {t}")
        elif terminated[t]:
            parts.append(f"terminated at t = {t}")
        elif truncated[t]:
            parts.append(f"truncated at t = {t}")
    return ", ".join(parts) if parts else "no episode end"


# --------------------------------------------------------------------------- Chapter 1


def _mc_reference(inputs: Inputs) -> np.ndarray:
    from pgkit.objective import mc_estimate

    return np.array(mc_estimate(inputs["returns"]))


def _mc_mistake(se: Callable[[np.ndarray], float]) -> Callable[[Inputs], np.ndarray]:
    def mistaken(inputs: Inputs) -> np.ndarray:
        returns = inputs["returns"]
        return np.array([returns.mean(), se(returns)])

    return mistaken


def _mc_run(fn: Callable[..., Any], inputs: Inputs) -> np.ndarray:
    out = fn(inputs["returns"].copy())
    pair = _as_array(list(out) if isinstance(out, tuple) else out)
    if pair.shape != (2,):
        raise _BadOutput(
            f"your function returned {_describe(out)}; return the pair (mean, standard_error), "
            "e.g. `return mean, standard_error`, both single numbers"
        )
    return pair


def _mc_show(pair: np.ndarray) -> str:
    return f"(mean, standard_error) = ({pair[0]:.6g}, {pair[1]:.6g})"


def _mc_fallback(got: np.ndarray | None, expected: np.ndarray, inputs: Inputs) -> str:
    if got is not None and not np.isclose(got[0], expected[0], rtol=RTOL, atol=ATOL):
        return "the estimate of J is the plain average of the returns: np.mean(returns)"
    return "the standard error is np.std(returns, ddof=1) / np.sqrt(len(returns))"


_MC = _Problem(
    name="mc_estimate",
    signature="mc_estimate(returns) -> (mean, standard_error)",
    covers="N = 2 to 500 returns, constant returns (SE = 0), large offsets",
    reference=_mc_reference,
    mistakes=(
        (
            "looks like ddof=0 (dividing by N): the sample standard deviation divides by "
            "N - 1, np.std(returns, ddof=1)",
            _mc_mistake(lambda x: x.std(ddof=0) / math.sqrt(len(x))),
        ),
        (
            "looks like you divided s by N; the standard error is s / sqrt(N)",
            _mc_mistake(lambda x: x.std(ddof=1) / len(x)),
        ),
        (
            "forgot the square root: s^2 / N is the variance of the mean, "
            "its standard error is sqrt(s^2 / N) = s / sqrt(N)",
            _mc_mistake(lambda x: x.var(ddof=1) / len(x)),
        ),
        (
            "forgot to divide by sqrt(N): s is the spread of single returns, "
            "s / sqrt(N) the spread of their average",
            _mc_mistake(lambda x: x.std(ddof=1)),
        ),
        (
            "used the variance s^2 where the standard deviation s belongs",
            _mc_mistake(lambda x: x.var(ddof=1) / math.sqrt(len(x))),
        ),
    ),
    fallback=_mc_fallback,
    run=_mc_run,
    show=_mc_show,
)


def _mc_cases() -> list[_Case]:
    rng = np.random.default_rng(_SEED + 1)
    cases = [
        _Case("N = 2 returns", {"returns": np.array([3.0, 5.0])}),
        _Case("N = 3 returns", {"returns": np.array([1.0, 4.0, 10.0])}),
        _Case("N = 4 equal returns (the standard error is 0)", {"returns": np.full(4, 7.5)}),
    ]
    for n, loc, scale in ((5, 0.0, 1.0), (10, -3.0, 2.0), (50, 20.0, 5.0), (500, 480.0, 30.0)):
        returns = np.round(rng.normal(loc, scale, size=n), 2)
        cases.append(_Case(f"N = {n} returns", {"returns": returns}))
    return cases


def check_mc_estimate(fn: Callable[..., Any]) -> bool:
    r"""Exercise: the Monte Carlo estimate of :math:`J(\theta)` and its standard error (Chapter 1).

    ``fn(returns) -> (mean, standard_error)`` with ``returns`` a 1-D numpy array of
    :math:`N` episode returns:

    .. math::

        \hat J = \frac{1}{N} \sum_{i=1}^{N} R(\tau_i), \qquad \text{SE} = \frac{s}{\sqrt{N}},

    with :math:`s` the sample standard deviation (``ddof = 1``). Compared with
    :func:`pgkit.objective.mc_estimate`.

    Parameters
    ----------
    fn : callable
        Your function, called as ``fn(returns)``.

    Returns
    -------
    bool
        True when every case passes; a verdict is printed.
    """
    return _check(_MC, _mc_cases(), fn)


# --------------------------------------------------------------------------- Chapter 2


def _softmax(theta: np.ndarray) -> np.ndarray:
    z = np.exp(theta - theta.max())
    return z / z.sum()


def _bandit_gradient(
    inputs: Inputs,
    *,
    pi: Callable[[np.ndarray], np.ndarray] = _softmax,
    score: str = "log",
    reduce: str = "mean",
) -> np.ndarray:
    theta, actions, rewards = inputs["theta"], inputs["actions"], inputs["rewards"]
    probs = pi(theta)
    onehot = np.eye(len(theta))[actions]
    scores = {
        "log": onehot - probs,
        "no_minus_pi": onehot,
        "chosen_only": onehot * (1.0 - probs),
        "grad_pi": probs[actions][:, None] * (onehot - probs),
        "divided": (onehot - probs) / probs[actions][:, None],
    }[score]
    terms = rewards[:, None] * scores
    return terms.sum(axis=0) if reduce == "sum" else terms.mean(axis=0)


def _bandit_reference(inputs: Inputs) -> np.ndarray:
    from pgkit.estimators import SoftmaxBandit

    # Only the scores e_a - pi are used; the arm means play no part in the estimate.
    bandit = SoftmaxBandit(mu=(0.0,) * len(inputs["theta"]))
    scores = bandit.scores(inputs["theta"], inputs["actions"])
    return (inputs["rewards"][:, None] * scores).mean(axis=0)


_BANDIT = _Problem(
    name="bandit_gradient",
    signature="bandit_gradient(theta, actions, rewards) -> grad J estimate, shape (K,)",
    covers="K = 2 to 5 arms, batches of 1 to 50 pulls, negative and zero rewards",
    reference=_bandit_reference,
    mistakes=(
        (
            "d log pi(a) / d theta = onehot(a) - pi: the - pi term is missing",
            lambda inputs: _bandit_gradient(inputs, score="no_minus_pi"),
        ),
        (
            "for every arm b != a, d log pi(a) / d theta_b = -pi_b (not 0): "
            "the score is onehot(a) - pi for the whole vector",
            lambda inputs: _bandit_gradient(inputs, score="chosen_only"),
        ),
        (
            "that is the gradient of pi(a), not of log pi(a): drop the factor pi(a)",
            lambda inputs: _bandit_gradient(inputs, score="grad_pi"),
        ),
        (
            "do not divide by pi(a): the log-derivative trick already did "
            "(grad log pi = grad pi / pi)",
            lambda inputs: _bandit_gradient(inputs, score="divided"),
        ),
        (
            "summed over the samples; the estimate averages: mean_i r_i (onehot(a_i) - pi)",
            lambda inputs: _bandit_gradient(inputs, reduce="sum"),
        ),
        (
            "the sign is flipped: the estimate is + mean_i r_i (onehot(a_i) - pi)",
            lambda inputs: -_bandit_gradient(inputs),
        ),
        (
            "pi must be normalised: softmax(theta) = exp(theta) / sum(exp(theta))",
            lambda inputs: _bandit_gradient(inputs, pi=np.exp),
        ),
    ),
    fallback=lambda got, expected, inputs: (
        "return one entry per arm, shape (K,)"
        if got is not None and got.shape != expected.shape
        else "compute pi = softmax(theta), then average r_i (onehot(a_i) - pi) over the samples"
    ),
)


def _bandit_cases() -> list[_Case]:
    rng = np.random.default_rng(_SEED + 2)
    cases = []
    for k, b, scale, label in (
        (2, 1, 0.0, "K = 2 arms, theta = 0, one pull"),
        (3, 1, 1.0, "K = 3 arms, one pull"),
        (2, 3, 1.0, "K = 2 arms, 3 pulls"),
        (3, 4, 1.0, "K = 3 arms, 4 pulls with negative rewards"),
        (4, 6, 1.0, "K = 4 arms, 6 pulls, one reward 0"),
        (5, 20, 2.0, "K = 5 arms, 20 pulls"),
        (3, 50, 3.0, "K = 3 arms, 50 pulls, peaked policy"),
    ):
        theta = np.round(rng.normal(0.0, scale, size=k), 1) if scale else np.zeros(k)
        actions = rng.integers(0, k, size=b)
        rewards = np.round(rng.normal(0.5, 1.0, size=b), 1)
        if "negative" in label:
            rewards = -np.abs(rewards) - 0.1
        if "reward 0" in label:
            rewards[0] = 0.0
        cases.append(_Case(label, {"theta": theta, "actions": actions, "rewards": rewards}))
    return cases


def check_bandit_gradient(fn: Callable[..., Any]) -> bool:
    r"""Exercise: the score-function gradient estimate for a softmax bandit (Chapter 2).

    ``fn(theta, actions, rewards) -> (K,)`` with :math:`\pi = \operatorname{softmax}(\theta)`,
    ``actions`` an integer array of :math:`B` pulled arms and ``rewards`` their :math:`B`
    rewards:

    .. math::

        \nabla_\theta J(\theta) \approx \frac{1}{B} \sum_{i=1}^{B} r_i
        \bigl(\operatorname{onehot}(a_i) - \pi\bigr).

    Parameters
    ----------
    fn : callable
        Your function, called as ``fn(theta, actions, rewards)``.

    Returns
    -------
    bool
        True when every case passes; a verdict is printed.
    """
    return _check(_BANDIT, _bandit_cases(), fn)


# --------------------------------------------------------------------------- Chapter 3


def _surrogate_run(fn: Callable[..., Any], inputs: Inputs) -> np.ndarray:
    """[loss, d loss / d log_probs..., 1 if a gradient reached weights else 0]."""
    import torch

    log_probs = inputs["log_probs"].detach().clone().requires_grad_(True)
    weights = inputs["weights"].detach().clone()
    weights.requires_grad_(inputs["_weights_require_grad"])
    loss = fn(log_probs, weights)
    if not isinstance(loss, torch.Tensor):
        raise _BadOutput(
            f"your function returned a {type(loss).__name__}; return a torch tensor so that "
            "loss.backward() can reach log_probs (no .item(), no numpy)"
        )
    if loss.dim() != 0:
        raise _BadOutput(
            f"your function returned a tensor of shape {tuple(loss.shape)}; the loss must be "
            "a scalar: average over the batch with .mean()"
        )
    if not loss.requires_grad:
        raise _BadOutput(
            "the loss does not depend on log_probs through autograd: "
            "did you call .detach(), .item() or .numpy() on log_probs?"
        )
    loss.backward()
    grad = log_probs.grad if log_probs.grad is not None else torch.zeros_like(log_probs)
    leaked = weights.grad is not None and bool(weights.grad.abs().sum() > 0)
    return np.concatenate([[loss.item()], grad.numpy(), [float(leaked)]])


def _surrogate_reference(inputs: Inputs) -> np.ndarray:
    from pgkit.estimators import surrogate_loss

    return _surrogate_run(surrogate_loss, inputs)


def _surrogate(inputs: Inputs, sign: float = -1.0, reduce: str = "mean") -> np.ndarray:
    log_probs, weights = _np64(inputs["log_probs"]), _np64(inputs["weights"])
    scale = 1.0 if reduce == "sum" else 1.0 / len(log_probs)
    value = sign * scale * float(np.sum(log_probs * weights))
    return np.concatenate([[value], sign * scale * weights, [0.0]])


def _surrogate_leaky(inputs: Inputs) -> np.ndarray | None:
    if not inputs["_weights_require_grad"]:
        return None
    answer = _surrogate(inputs)
    answer[-1] = 1.0
    return answer


def _surrogate_probs(inputs: Inputs) -> np.ndarray:
    probs, weights = np.exp(_np64(inputs["log_probs"])), _np64(inputs["weights"])
    b = len(probs)
    return np.concatenate([[-np.mean(probs * weights)], -probs * weights / b, [0.0]])


def _surrogate_product_of_means(inputs: Inputs) -> np.ndarray:
    log_probs, weights = _np64(inputs["log_probs"]), _np64(inputs["weights"])
    b = len(log_probs)
    value = -log_probs.mean() * weights.mean()
    return np.concatenate([[value], np.full(b, -weights.mean() / b), [0.0]])


def _surrogate_show(answer: np.ndarray) -> str:
    grad = _fmt(answer[1:-1])
    leaked = "yes" if answer[-1] else "no"
    return f"loss {answer[0]:.6g}, d loss / d log_probs {grad}, gradient reaches weights: {leaked}"


_SURROGATE = _Problem(
    name="surrogate_loss",
    signature="surrogate_loss(log_probs, weights) -> torch scalar",
    covers="B = 1 to 32, negative and zero weights, weights that carry gradients",
    reference=_surrogate_reference,
    mistakes=(
        (
            "weights must be treated as constants: a gradient flowed into weights; "
            "use weights.detach() inside the loss",
            _surrogate_leaky,
        ),
        (
            "sign of the loss: we minimise the negative objective, "
            "loss = -(log_probs * weights).mean()",
            lambda inputs: _surrogate(inputs, sign=1.0),
        ),
        (
            "used sum instead of mean: average over the batch so the step size "
            "does not depend on B",
            lambda inputs: _surrogate(inputs, reduce="sum"),
        ),
        (
            "sign of the loss: we minimise the negative objective (and average with .mean(), "
            "not .sum())",
            lambda inputs: _surrogate(inputs, sign=1.0, reduce="sum"),
        ),
        (
            "multiply each log-probability by its own weight, then average: "
            "mean(log_probs * weights), not mean(log_probs) * mean(weights)",
            _surrogate_product_of_means,
        ),
        (
            "used probabilities exp(log_probs); the surrogate uses the log-probabilities",
            _surrogate_probs,
        ),
    ),
    fallback=lambda got, expected, inputs: (
        "no gradient reached log_probs: build the loss from log_probs itself"
        if got is not None and not got[1:-1].any() and expected[1:-1].any()
        else "loss = -(log_probs * weights.detach()).mean()"
    ),
    run=_surrogate_run,
    show=_surrogate_show,
)


def _surrogate_cases() -> list[_Case]:
    import torch

    rng = np.random.default_rng(_SEED + 3)
    cases = []
    for b, label in (
        (1, "B = 1"),
        (2, "B = 2"),
        (3, "B = 3, negative weights"),
        (3, "B = 3, weights that require grad (as if computed by a critic)"),
        (5, "B = 5, one weight 0"),
        (8, "B = 8, weights that require grad (as if computed by a critic)"),
        (32, "B = 32"),
    ):
        log_probs = np.round(-rng.exponential(1.0, size=b), 2)
        weights = np.round(rng.normal(0.5, 1.0, size=b), 1)
        if "negative" in label:
            weights = -np.abs(weights) - 0.1
        if "weight 0" in label:
            weights[1] = 0.0
        cases.append(
            _Case(
                label,
                {
                    "log_probs": torch.tensor(log_probs, dtype=torch.float64),
                    "weights": torch.tensor(weights, dtype=torch.float64),
                    "_weights_require_grad": "require grad" in label,
                },
            )
        )
    return cases


def check_surrogate_loss(fn: Callable[..., Any]) -> bool:
    r"""Exercise: the REINFORCE surrogate loss (Chapter 3).

    ``fn(log_probs, weights) -> torch scalar`` with ``log_probs`` and ``weights``
    float64 torch tensors of shape (B,):

    .. math::

        L = -\frac{1}{B} \sum_{i=1}^{B} \log \pi_\theta(a_i \mid s_i)\, w_i,

    with the weights treated as constants. Checks the loss value, its gradient with
    respect to ``log_probs`` (:math:`-w_i / B`) and that no gradient reaches ``weights``
    (some cases pass weights that require grad). Compared with
    :func:`pgkit.estimators.surrogate_loss`.

    Parameters
    ----------
    fn : callable
        Your function, called as ``fn(log_probs, weights)``.

    Returns
    -------
    bool
        True when every case passes; a verdict is printed.
    """
    return _check(_SURROGATE, _surrogate_cases(), fn)


# --------------------------------------------------------------------------- Chapter 4

_LOG_2PI = math.log(2.0 * math.pi)


def _gaussian(
    inputs: Inputs,
    *,
    square_std: bool = True,
    constant: str = "per_dim",
    normaliser: float = 1.0,
    half: float = 0.5,
    reduce: str = "sum",
    std_is_log_std: bool = False,
) -> np.ndarray:
    actions, mu, log_std = (_np64(inputs[k]) for k in ("actions", "mu", "log_std"))
    std = log_std if std_is_log_std else np.exp(log_std)
    log_sigma = np.log(std)
    scale = std**2 if square_std else std
    per_dim = -half * (actions - mu) ** 2 / scale - normaliser * log_sigma
    if constant == "per_dim":
        per_dim = per_dim - 0.5 * _LOG_2PI
    if reduce == "none":
        return per_dim
    total = per_dim.mean(axis=-1) if reduce == "mean" else per_dim.sum(axis=-1)
    if constant == "once":
        total = total - 0.5 * _LOG_2PI
    return total


def _np64(x: Any) -> np.ndarray:
    if is_torch(x):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _gaussian_fallback(got: np.ndarray | None, expected: np.ndarray, inputs: Inputs) -> str:
    if got is not None and not np.isfinite(got).all():
        return _NONFINITE_HINT + "sigma = exp(log_std) is always positive; log_std itself is not"
    if got is not None and got.shape != expected.shape:
        return "return one log-likelihood per sample: shape (B,)"
    return (
        "log N(a | mu, sigma) = sum_j [ -(a_j - mu_j)^2 / (2 sigma_j^2) - log sigma_j "
        "- 0.5 log(2 pi) ]"
    )


_GAUSSIAN = _Problem(
    name="gaussian_log_likelihood",
    signature="gaussian_log_likelihood(actions, mu, log_std) -> (B,)",
    covers="B = 1 to 8, d = 1 to 6 action dimensions, log_std = 0, positive and negative",
    reference=_gaussian,
    mistakes=(
        (
            "forgot to sum over action dimensions: the log-likelihood of a diagonal "
            "Gaussian is the sum of the per-dimension terms, shape (B,)",
            lambda inputs: _gaussian(inputs, reduce="none"),
        ),
        (
            "averaged over action dimensions; the log-likelihood sums them",
            lambda inputs: _gaussian(inputs, reduce="mean"),
        ),
        (
            "log-likelihood is missing the -0.5 log(2 pi) constant (once per action dimension)",
            lambda inputs: _gaussian(inputs, constant="none"),
        ),
        (
            "the -0.5 log(2 pi) constant appears once per action dimension, not once per sample",
            lambda inputs: _gaussian(inputs, constant="once"),
        ),
        (
            "sigma vs sigma^2: divide the squared error by the variance sigma^2 = "
            "exp(2 log_std), not by sigma",
            lambda inputs: _gaussian(inputs, square_std=False),
        ),
        (
            "used log_std as the standard deviation: sigma = exp(log_std)",
            lambda inputs: _gaussian(inputs, std_is_log_std=True),
        ),
        (
            "the normaliser is -log sigma = -log_std per dimension; it looks like you used "
            "-log sigma^2",
            lambda inputs: _gaussian(inputs, normaliser=2.0),
        ),
        (
            "missing the -log sigma term (-log_std per dimension)",
            lambda inputs: _gaussian(inputs, normaliser=0.0),
        ),
        (
            "missing the 1/2 in front of the squared error: -(a - mu)^2 / (2 sigma^2)",
            lambda inputs: _gaussian(inputs, half=1.0),
        ),
    ),
    fallback=_gaussian_fallback,
)


def _gaussian_cases() -> list[_Case]:
    import torch

    rng = np.random.default_rng(_SEED + 4)
    cases = []
    for b, d, log_std, label in (
        (1, 1, [0.0], "B = 1, d = 1, log_std = 0 (sigma = 1)"),
        (1, 1, [0.5], "B = 1, d = 1, log_std > 0"),
        (2, 1, [-0.7], "B = 2, d = 1, log_std < 0"),
        (1, 2, [0.3, 0.6], "B = 1, d = 2"),
        (3, 2, [-0.4, 0.2], "B = 3, d = 2"),
        (4, 3, None, "B = 4, d = 3"),
        (8, 6, None, "B = 8, d = 6"),
    ):
        mu = np.round(rng.normal(0.0, 1.0, size=(b, d)), 1)
        actions = np.round(mu + rng.normal(0.0, 1.0, size=(b, d)), 1)
        log_std = np.round(rng.normal(0.0, 0.5, size=d), 1) if log_std is None else log_std
        cases.append(
            _Case(
                label,
                {
                    "actions": torch.tensor(actions, dtype=torch.float64),
                    "mu": torch.tensor(mu, dtype=torch.float64),
                    "log_std": torch.tensor(log_std, dtype=torch.float64),
                },
            )
        )
    return cases


def check_gaussian_log_likelihood(fn: Callable[..., Any]) -> bool:
    r"""Exercise: the log-likelihood of a diagonal Gaussian policy (Chapter 4).

    ``fn(actions, mu, log_std) -> (B,)`` with float64 torch tensors ``actions`` and
    ``mu`` of shape (B, d) and ``log_std`` of shape (d,), :math:`\sigma` = ``exp(log_std)``:

    .. math::

        \log \pi_\theta(a \mid s) = \sum_{j=1}^{d} \Bigl[ -\frac{(a_j - \mu_j)^2}{2 \sigma_j^2}
        - \log \sigma_j - \tfrac{1}{2} \log(2 \pi) \Bigr],

    which is ``Independent(Normal(mu, sigma), 1).log_prob(actions)``.

    Parameters
    ----------
    fn : callable
        Your function, called as ``fn(actions, mu, log_std)``.

    Returns
    -------
    bool
        True when every case passes; a verdict is printed.
    """
    return _check(_GAUSSIAN, _gaussian_cases(), fn)


# --------------------------------------------------------------------------- Chapter 5


def _discounted(rewards: np.ndarray, dones: np.ndarray, gamma: float) -> np.ndarray:
    return _backward(rewards, gamma * (1.0 - _float(dones)))


def _episode_totals(rewards: np.ndarray, dones: np.ndarray, gamma: float) -> np.ndarray:
    """R(tau) of each step's episode, discounted from the episode's first step."""
    dones = _float(dones)
    from_start = _backward(gamma ** _steps_since_start(dones) * rewards, 1.0 - dones)
    starts = _forward(np.ones(dones.shape), 1.0 - _shift_down(dones)) == 1.0
    totals = np.zeros(rewards.shape)
    current = np.zeros(rewards.shape[1:])
    for t in range(rewards.shape[0]):
        current = np.where(starts[t], from_start[t], current)
        totals[t] = current
    return totals


def _returns_mistakes(with_gamma: bool) -> tuple[tuple[str, Callable[[Inputs], Any]], ...]:
    def g(inputs: Inputs) -> float:
        return inputs["gamma"] if with_gamma else 1.0

    def correct(inputs: Inputs) -> np.ndarray:
        return _discounted(inputs["rewards"], inputs["dones"], g(inputs))

    mistakes: list[tuple[str, Callable[[Inputs], Any]]] = [
        (
            "returns did not reset at the episode end: multiply the future part by "
            "(1 - done_t), so nothing flows back across an episode boundary",
            lambda inputs: _backward(
                inputs["rewards"], g(inputs) * np.ones(inputs["rewards"].shape)
            ),
        ),
        (
            "off by one at the episode end: done_t = True marks the LAST step of an episode, "
            "so G_t = r_t there (reset before adding r_t, not after)",
            lambda inputs: _backward(
                inputs["rewards"], g(inputs) * (1.0 - _shift_up(_float(inputs["dones"])))
            ),
        ),
        (
            "that is the whole episode's return R(tau) at every step; the return from t "
            "only sums the rewards from t to the episode's end",
            lambda inputs: _episode_totals(inputs["rewards"], inputs["dones"], g(inputs)),
        ),
        (
            "summed the rewards up to t (a forward cumulative sum); G_t sums the rewards "
            "from t to the end of the episode",
            lambda inputs: _forward(
                inputs["rewards"], g(inputs) * (1.0 - _shift_down(_float(inputs["dones"])))
            ),
        ),
    ]
    if with_gamma:
        mistakes += [
            (
                "looks like you used gamma ** t' instead of gamma ** (t' - t): "
                "discounting restarts from the step whose return you compute",
                lambda inputs: _backward(
                    inputs["gamma"] ** _time_index(inputs["rewards"]) * inputs["rewards"],
                    1.0 - _float(inputs["dones"]),
                ),
            ),
            (
                "looks like you used gamma ** t' instead of gamma ** (t' - t), with t' "
                "counted from the episode's start: discounting restarts at t",
                lambda inputs: _backward(
                    inputs["gamma"] ** _steps_since_start(_float(inputs["dones"]))
                    * inputs["rewards"],
                    1.0 - _float(inputs["dones"]),
                ),
            ),
            (
                "the first reward is not discounted: G_t = r_t + gamma G_{t+1}",
                lambda inputs: inputs["gamma"] * correct(inputs),
            ),
            (
                "gamma was ignored: G_t = r_t + gamma (1 - done_t) G_{t+1}",
                lambda inputs: _discounted(inputs["rewards"], inputs["dones"], 1.0),
            ),
        ]
    mistakes.append((_AXIS_HINT, _transposed(correct)))
    return tuple(mistakes)


def _time_index(x: np.ndarray) -> np.ndarray:
    """t at every entry of a (T,) or (T, N) array."""
    column = np.arange(x.shape[0], dtype=np.float64).reshape((-1,) + (1,) * (x.ndim - 1))
    return np.broadcast_to(column, x.shape)


def _returns_fallback(advice: str) -> Callable[[np.ndarray | None, np.ndarray, Inputs], str]:
    def fallback(got: np.ndarray | None, expected: np.ndarray, inputs: Inputs) -> str:
        if got is not None and got.shape != expected.shape:
            return _SHAPE_HINT
        if got is not None and not np.isfinite(got).all():
            return _NONFINITE_HINT + "check for division by zero or overflow"
        return advice

    return fallback


def _reward_to_go_reference(inputs: Inputs) -> np.ndarray:
    from pgkit.returns import discounted_returns

    return np.asarray(discounted_returns(inputs["rewards"], inputs["dones"], gamma=1.0))


def _discounted_reference(inputs: Inputs) -> np.ndarray:
    from pgkit.returns import discounted_returns

    return np.asarray(discounted_returns(inputs["rewards"], inputs["dones"], gamma=inputs["gamma"]))


_REWARD_TO_GO = _Problem(
    name="reward_to_go",
    signature="reward_to_go(rewards, dones) -> (T,) or (T, N)",
    covers="T = 1, episodes ending mid-batch and on the last step, (T, N) batches",
    reference=_reward_to_go_reference,
    mistakes=_returns_mistakes(with_gamma=False),
    fallback=_returns_fallback(
        "compare with G_t = r_t + (1 - done_t) G_{t+1}, computed backwards from t = T - 1"
    ),
    time_major=True,
)

_DISCOUNTED = _Problem(
    name="discounted_returns",
    signature="discounted_returns(rewards, dones, gamma) -> (T,) or (T, N)",
    covers=(
        "T = 1, episodes ending mid-batch and on the last step, (T, N) batches, gamma = 0 and 1"
    ),
    reference=_discounted_reference,
    mistakes=_returns_mistakes(with_gamma=True),
    fallback=_returns_fallback(
        "compare with G_t = r_t + gamma (1 - done_t) G_{t+1}, computed backwards from t = T - 1"
    ),
    time_major=True,
)


def _dones_cases(with_gamma: bool) -> list[_Case]:
    rng = np.random.default_rng(_SEED + (6 if with_gamma else 5))
    specs: list[tuple[Any, dict[Any, str], float]] = [
        (1, {}, 0.9),
        (1, {0: "term"}, 0.9),
        (3, {}, 0.5),
        (3, {}, 0.0),
        (3, {}, 1.0),
        (4, {1: "term"}, 0.9),
        (4, {3: "term"}, 0.9),
        (5, {0: "term", 1: "term", 2: "term", 3: "term", 4: "term"}, 0.8),
        (6, {1: "term", 3: "trunc"}, 0.8),
        ((5, 2), None, 0.9),
        ((8, 3), None, 0.99),
        ((12, 4), None, 1.0),
    ]
    if not with_gamma:
        specs = [s for s in specs if not (s[0] == 3 and s[2] in (0.0, 1.0))]
    cases = []
    for shape, where, gamma in specs:
        if isinstance(shape, tuple):
            terminated, truncated = _random_flags(rng, shape)
            label = f"(T, N) = {shape}, random episode ends"
        else:
            terminated, truncated = _flags((shape,), where)
            ends = [t for t in range(shape) if terminated[t] or truncated[t]]
            if len(ends) == shape and shape > 1:
                episodes = "every step ends an episode"
            elif ends and ends[-1] == shape - 1:
                episodes = f"episode ends at t = {', '.join(map(str, ends))} (the last step)"
            elif ends:
                episodes = f"episode ends at t = {', '.join(map(str, ends))}"
            else:
                episodes = "no episode end"
            label = f"T = {shape}, {episodes}"
        rewards = _r(rng, terminated.shape)
        inputs: Inputs = {"rewards": rewards, "dones": terminated | truncated}
        if with_gamma:
            inputs["gamma"] = gamma
            label += f", gamma = {gamma:g}"
        cases.append(_Case(label, inputs))
    return cases


def check_reward_to_go(fn: Callable[..., Any]) -> bool:
    r"""Exercise: the reward-to-go, undiscounted and time-major (Chapter 5).

    ``fn(rewards, dones) -> same shape`` with ``rewards`` a float array and ``dones``
    a boolean array (episode ended after step :math:`t`), both (T,) or (T, N):

    .. math::

        G_t = \sum_{t'=t}^{e_t} r_{t'} = r_t + (1 - \text{done}_t) G_{t+1},

    with :math:`e_t` the last step of :math:`t`'s episode. Compared with
    :func:`pgkit.returns.discounted_returns` with :math:`\gamma = 1`.

    Parameters
    ----------
    fn : callable
        Your function, called as ``fn(rewards, dones)``.

    Returns
    -------
    bool
        True when every case passes; a verdict is printed.
    """
    return _check(_REWARD_TO_GO, _dones_cases(with_gamma=False), fn)


def check_discounted_returns(fn: Callable[..., Any]) -> bool:
    r"""Exercise: discounted returns from each step, resetting at episode ends (Chapter 5).

    ``fn(rewards, dones, gamma) -> same shape`` (the arguments of
    :func:`pgkit.returns.discounted_returns`), arrays (T,) or (T, N):

    .. math::

        G_t = \sum_{t'=t}^{e_t} \gamma^{t' - t} r_{t'} = r_t + \gamma (1 - \text{done}_t) G_{t+1},

    with :math:`e_t` the last step of :math:`t`'s episode and no bootstrap at the end of
    the data.

    Parameters
    ----------
    fn : callable
        Your function, called as ``fn(rewards, dones, gamma)``.

    Returns
    -------
    bool
        True when every case passes; a verdict is printed.
    """
    return _check(_DISCOUNTED, _dones_cases(with_gamma=True), fn)


# --------------------------------------------------------------------------- Chapter 6


def _n_step(
    inputs: Inputs,
    *,
    n: int | None = None,
    stop_at_ends: bool = True,
    bootstrap_terminated: bool = False,
    bootstrap_truncated: bool = True,
    bootstrap_data_end: bool = True,
    truncation_first: bool = False,
    fixed_power: bool = False,
    absolute_power: bool = False,
) -> np.ndarray | None:
    rewards, next_values = inputs["rewards"], inputs["next_values"]
    terminated, truncated = inputs["terminated"], inputs["truncated"]
    gamma = inputs["gamma"]
    n = inputs["n"] if n is None else n
    if n < 1:
        return None
    horizon = rewards.shape[0]
    out = np.zeros(rewards.shape)
    for column in np.ndindex(rewards.shape[1:]):
        r, v = rewards[(slice(None), *column)], next_values[(slice(None), *column)]
        term, trunc = terminated[(slice(None), *column)], truncated[(slice(None), *column)]
        for t in range(horizon):
            offset = t if absolute_power else 0
            total, m, k = 0.0, 0, t
            while True:
                total += gamma ** (m + offset) * r[k]
                m += 1
                power = (n if fixed_power else m) + offset
                if stop_at_ends and term[k] and not (truncation_first and trunc[k]):
                    total += gamma**power * v[k] if bootstrap_terminated else 0.0
                    break
                if stop_at_ends and trunc[k]:
                    total += gamma**power * v[k] if bootstrap_truncated else 0.0
                    break
                if k == horizon - 1:
                    total += gamma**power * v[k] if bootstrap_data_end else 0.0
                    break
                if m == n:
                    total += gamma**power * v[k]
                    break
                k += 1
            out[(t, *column)] = total
    return out


def _n_step_reference(inputs: Inputs) -> np.ndarray:
    from pgkit.returns import n_step_returns

    return np.asarray(n_step_returns(**inputs))


_N_STEP = _Problem(
    name="n_step_returns",
    signature="n_step_returns(rewards, next_values, terminated, truncated, gamma, n) -> (T,) or (T, N)",
    covers=(
        "T = 1, n = 1 and n > T, terminated, truncated and both at once, episodes ending on "
        "the last step, (T, N) batches, gamma = 0 and 1"
    ),
    reference=_n_step_reference,
    mistakes=(
        (
            "terminated steps must not bootstrap: after a terminal state there are no "
            "more rewards, so add nothing for V(s_{t+1})",
            lambda inputs: _n_step(inputs, bootstrap_terminated=True),
        ),
        (
            "truncated steps must be bootstrapped with next_values: the episode was cut "
            "short, so gamma^m next_values[k] stands in for the missing rewards",
            lambda inputs: _n_step(inputs, bootstrap_truncated=False),
        ),
        (
            "returns did not stop at the episode end: never sum rewards past a "
            "terminated or truncated step",
            lambda inputs: _n_step(inputs, stop_at_ends=False),
        ),
        (
            "the end of the data counts as truncation: the last row t = T - 1 "
            "bootstraps with next_values[T - 1] (unless terminated)",
            lambda inputs: _n_step(inputs, bootstrap_data_end=False),
        ),
        (
            "a step that is both terminated and truncated is terminal: termination wins, "
            "no bootstrap",
            lambda inputs: _n_step(inputs, truncation_first=True),
        ),
        (
            "bootstrap with gamma ** m, where m <= n is the number of rewards actually "
            "summed (fewer than n near an episode end)",
            lambda inputs: _n_step(inputs, fixed_power=True),
        ),
        (
            "summed n - 1 rewards: G^(n)_t adds r_t, ..., r_{t+n-1}, then "
            "gamma^n next_values[t+n-1]",
            lambda inputs: _n_step(inputs, n=inputs["n"] - 1),
        ),
        (
            "summed n + 1 rewards: G^(n)_t adds r_t, ..., r_{t+n-1}, then "
            "gamma^n next_values[t+n-1]",
            lambda inputs: _n_step(inputs, n=inputs["n"] + 1),
        ),
        (
            "looks like you used gamma ** t' instead of gamma ** (t' - t): "
            "discounting restarts from the step whose return you compute",
            lambda inputs: _n_step(inputs, absolute_power=True),
        ),
        (_AXIS_HINT, _transposed(lambda inputs: _n_step(inputs))),
    ),
    fallback=_returns_fallback(
        "compare with G_t = sum_{k<m} gamma^k r_{t+k} + gamma^m (1 - terminated) "
        "next_values[t+m-1], where m <= n stops at the episode's end"
    ),
    time_major=True,
)


def _td_cases(seed: int, with_lam: bool) -> list[_Case]:
    """Cases for n-step returns (with n) and GAE (with values and lam)."""
    rng = np.random.default_rng(seed)
    # (shape, episode ends, gamma, n or lam)
    specs: list[tuple[Any, dict[Any, str] | None, float, float]] = [
        (1, {}, 0.9, 1 if not with_lam else 0.95),
        (1, {0: "term"}, 0.9, 1 if not with_lam else 0.95),
        (1, {0: "trunc"}, 0.9, 3 if not with_lam else 0.95),
        (3, {}, 0.9, 1 if not with_lam else 0.8),
        (3, {}, 0.9, 2 if not with_lam else 0.5),
        (3, {}, 0.0, 2 if not with_lam else 0.9),
        (4, {1: "term"}, 0.9, 2 if not with_lam else 0.8),
        (4, {1: "trunc"}, 0.9, 2 if not with_lam else 0.8),
        (4, {3: "term"}, 0.9, 3 if not with_lam else 0.8),
        (5, {}, 1.0, 10 if not with_lam else 1.0),
        (5, {1: "term"}, 0.9, 3 if not with_lam else 0.0),
        (5, {2: "both"}, 0.9, 3 if not with_lam else 0.9),
        (6, {1: "term", 3: "trunc"}, 0.8, 3 if not with_lam else 0.9),
        ((5, 2), None, 0.9, 2 if not with_lam else 0.9),
        ((8, 3), None, 0.95, 3 if not with_lam else 0.95),
        ((12, 4), None, 0.99, 5 if not with_lam else 0.95),
    ]
    cases = []
    for shape, where, gamma, last in specs:
        if isinstance(shape, tuple):
            terminated, truncated = _random_flags(rng, shape)
            label = f"(T, N) = {shape}, random episode ends"
        else:
            terminated, truncated = _flags((shape,), where or {})
            label = f"T = {shape}, {_describe_ends(terminated, truncated)}"
            if terminated[-1] or truncated[-1]:
                label += " (the last step)" if shape > 1 else ""
        values, next_values = _values_pair(rng, terminated, truncated)
        rewards = _r(rng, terminated.shape)
        if with_lam:
            inputs: Inputs = {
                "rewards": rewards,
                "values": values,
                "next_values": next_values,
                "terminated": terminated,
                "truncated": truncated,
                "gamma": gamma,
                "lam": last,
            }
            label += f", gamma = {gamma:g}, lam = {last:g}"
        else:
            inputs = {
                "rewards": rewards,
                "next_values": next_values,
                "terminated": terminated,
                "truncated": truncated,
                "gamma": gamma,
                "n": int(last),
            }
            label += f", gamma = {gamma:g}, n = {int(last)}"
        cases.append(_Case(label, inputs))
    return cases


def check_n_step_returns(fn: Callable[..., Any]) -> bool:
    r"""Exercise: n-step returns with bootstrapping (Chapter 6).

    ``fn(rewards, next_values, terminated, truncated, gamma, n)`` (the arguments of
    :func:`pgkit.returns.n_step_returns`), arrays (T,) or (T, N), flags boolean:

    .. math::

        G^{(n)}_t = \sum_{k=0}^{m-1} \gamma^k r_{t+k}
        + \gamma^m (1 - \text{terminated}_{t+m-1}) V(s_{t+m}),

    with :math:`V(s_{t+m})` = ``next_values[t+m-1]``, where :math:`m \le n` stops early at
    the episode's end (terminated or truncated) and at the end of the data (treated as
    truncation).

    Parameters
    ----------
    fn : callable
        Your function, called as ``fn(rewards, next_values, terminated, truncated, gamma, n)``.

    Returns
    -------
    bool
        True when every case passes; a verdict is printed.
    """
    return _check(_N_STEP, _td_cases(_SEED + 7, with_lam=False), fn)


# --------------------------------------------------------------------------- Chapter 7


def _gae(
    inputs: Inputs,
    *,
    lam: float | None = None,
    recursion_gamma: bool = True,
    bootstrap_terminated: bool = False,
    bootstrap_truncated: bool = True,
    bootstrap_data_end: bool = True,
    reset: str = "done",
    next_from_values: bool = False,
) -> np.ndarray:
    rewards, values = inputs["rewards"], inputs["values"]
    next_values = inputs["next_values"]
    terminated, truncated = _float(inputs["terminated"]), _float(inputs["truncated"])
    gamma = inputs["gamma"]
    lam = inputs["lam"] if lam is None else lam
    done = np.maximum(terminated, truncated)
    if next_from_values:
        next_values = np.concatenate([values[1:], next_values[-1:]])
    bootstrap = np.ones(rewards.shape)
    if not bootstrap_terminated:
        bootstrap = bootstrap * (1.0 - terminated)
    if not bootstrap_truncated:
        bootstrap = bootstrap * (1.0 - truncated)
    if not bootstrap_data_end:
        bootstrap[-1] = 0.0
    deltas = rewards + gamma * bootstrap * next_values - values
    keep = {"done": 1.0 - done, "terminated": 1.0 - terminated, "never": np.ones(done.shape)}
    return _backward(deltas, (gamma if recursion_gamma else 1.0) * lam * keep[reset])


def _gae_reference(inputs: Inputs) -> np.ndarray:
    from pgkit.returns import gae

    return np.asarray(gae(**inputs))


_GAE = _Problem(
    name="gae",
    signature="gae(rewards, values, next_values, terminated, truncated, gamma, lam) -> advantages",
    covers=(
        "T = 1, terminated, truncated and both at once, episodes ending on the last step, "
        "(T, N) batches, gamma = 0 and 1, lam = 0 and 1"
    ),
    reference=_gae_reference,
    mistakes=(
        (
            "did you forget lam in the recursion? A_t = delta_t + gamma lam (1 - done_t) A_{t+1}",
            lambda inputs: _gae(inputs, lam=1.0),
        ),
        (
            "the recursion multiplies A_{t+1} by gamma * lam; gamma seems to be missing there",
            lambda inputs: _gae(inputs, recursion_gamma=False),
        ),
        (
            "terminated steps must not bootstrap: delta_t = r_t - V(s_t) when terminated_t",
            lambda inputs: _gae(inputs, bootstrap_terminated=True),
        ),
        (
            "truncated steps must be bootstrapped with next_values: "
            "delta_t = r_t + gamma next_values[t] - V(s_t) when only truncated_t",
            lambda inputs: _gae(inputs, bootstrap_truncated=False),
        ),
        (
            "advantages did not reset at the episode end: multiply gamma lam A_{t+1} by "
            "(1 - done_t), with done = terminated or truncated",
            lambda inputs: _gae(inputs, reset="never"),
        ),
        (
            "the recursion must also stop at truncated steps: done_t = terminated_t or "
            "truncated_t, not terminated_t alone",
            lambda inputs: _gae(inputs, reset="terminated"),
        ),
        (
            "use next_values[t] for V(s_{t+1}): after an episode end values[t + 1] is the "
            "value of the NEXT episode's first state",
            lambda inputs: _gae(inputs, next_from_values=True),
        ),
        (
            "the end of the data counts as truncation: delta_{T-1} bootstraps with "
            "next_values[T - 1] (unless terminated)",
            lambda inputs: _gae(inputs, bootstrap_data_end=False),
        ),
        (
            "these are lambda-returns A_t + V(s_t); gae returns the advantages A_t",
            lambda inputs: _gae(inputs) + inputs["values"],
        ),
        (
            "these are the one-step TD errors delta_t; GAE adds gamma lam (1 - done_t) A_{t+1}",
            lambda inputs: _gae(inputs, lam=0.0),
        ),
        (_AXIS_HINT, _transposed(lambda inputs: _gae(inputs))),
    ),
    fallback=_returns_fallback(
        "compare with delta_t = r_t + gamma (1 - terminated_t) next_values[t] - values[t] and "
        "A_t = delta_t + gamma lam (1 - done_t) A_{t+1}, computed backwards from t = T - 1"
    ),
    time_major=True,
)


def check_gae(fn: Callable[..., Any]) -> bool:
    r"""Exercise: generalised advantage estimation (Chapter 7).

    ``fn(rewards, values, next_values, terminated, truncated, gamma, lam)`` (the
    arguments of :func:`pgkit.returns.gae`), arrays (T,) or (T, N), flags boolean:

    .. math::

        \begin{aligned}
        \delta_t &= r_t + \gamma (1 - \text{terminated}_t) V(s_{t+1}) - V(s_t), \\
        \hat A_t &= \delta_t + \gamma \lambda (1 - \text{done}_t) \hat A_{t+1},
        \qquad \text{done}_t = \text{terminated}_t \lor \text{truncated}_t,
        \end{aligned}

    with :math:`V(s_{t+1})` = ``next_values[t]``, :math:`V(s_t)` = ``values[t]``,
    :math:`\lambda` = ``lam``, and the end of the data treated as truncation.

    Parameters
    ----------
    fn : callable
        Your function, called as
        ``fn(rewards, values, next_values, terminated, truncated, gamma, lam)``.

    Returns
    -------
    bool
        True when every case passes; a verdict is printed.
    """
    return _check(_GAE, _td_cases(_SEED + 8, with_lam=True), fn)


# --------------------------------------------------------------------------- Chapter 8


def _log_weights(inputs: Inputs, *, reset: str = "after_done") -> np.ndarray:
    log_ratios = inputs["log_probs"] - inputs["old_log_probs"]
    dones = _float(inputs["dones"])
    keep = {
        "after_done": 1.0 - _shift_down(dones),
        "at_done": 1.0 - dones,
        "never": np.ones(dones.shape),
    }[reset]
    return _forward(log_ratios, keep)


def _naive_weights(inputs: Inputs) -> np.ndarray:
    ratios = np.exp(inputs["log_probs"] - inputs["old_log_probs"])
    keep = 1.0 - _shift_down(_float(inputs["dones"]))
    out = np.zeros(ratios.shape)
    current = np.ones(ratios.shape[1:])
    with np.errstate(all="ignore"):
        for t in range(ratios.shape[0]):
            current = np.where(keep[t] > 0, current, 1.0) * ratios[t]
            out[t] = current
    return out


def _whole_episode_weights(inputs: Inputs) -> np.ndarray:
    log_ratios = inputs["log_probs"] - inputs["old_log_probs"]
    dones = _float(inputs["dones"])
    total = _forward(log_ratios, 1.0 - _shift_down(dones)) + _backward(log_ratios, 1.0 - dones)
    return np.exp(total - log_ratios)


def _importance_reference(inputs: Inputs) -> np.ndarray:
    from pgkit.estimators import trajectory_importance_weights

    return np.asarray(trajectory_importance_weights(**inputs))


_IMPORTANCE = _Problem(
    name="importance_weights",
    signature="importance_weights(log_probs, old_log_probs, dones) -> (T,) or (T, N)",
    covers=(
        "T = 1, episodes ending mid-batch and on the last step, (T, N) batches, "
        "a 700-step episode that needs log space"
    ),
    reference=_importance_reference,
    mistakes=(
        (
            "weights did not reset at the episode end: each episode's product starts "
            "again at its first step",
            lambda inputs: np.exp(_log_weights(inputs, reset="never")),
        ),
        (
            "off by one at the episode end: done_t = True marks the LAST step of an episode; "
            "the product restarts at step t + 1",
            lambda inputs: np.exp(_log_weights(inputs, reset="at_done")),
        ),
        (
            "these are per-step ratios; the weight at t multiplies the ratios of every step "
            "from the episode's first step up to t",
            lambda inputs: np.exp(inputs["log_probs"] - inputs["old_log_probs"]),
        ),
        (
            "the ratio is inverted: pi_theta / pi_old = exp(log_probs - old_log_probs)",
            lambda inputs: np.exp(-_log_weights(inputs)),
        ),
        (
            "the weight at t multiplies the ratios up to t only, not the whole episode's",
            _whole_episode_weights,
        ),
        (
            "the product includes step t itself: prod_{k=start}^{t}, not up to t - 1",
            lambda inputs: np.exp(
                _log_weights(inputs) - (inputs["log_probs"] - inputs["old_log_probs"])
            ),
        ),
        (
            "did not use log space: a product of hundreds of ratios underflows to 0 (or "
            "overflows); add the log-ratios (a cumulative sum) and exponentiate once",
            _naive_weights,
        ),
        (_AXIS_HINT, _transposed(lambda inputs: np.exp(_log_weights(inputs)))),
    ),
    fallback=_returns_fallback(
        "compare with log w_t = (log_probs_t - old_log_probs_t) + (1 - done_{t-1}) log w_{t-1}, "
        "then w_t = exp(log w_t)"
    ),
    time_major=True,
)


def _importance_cases() -> list[_Case]:
    rng = np.random.default_rng(_SEED + 9)
    cases = []
    for shape, where in (
        (1, {}),
        (1, {0: "term"}),
        (3, {}),
        (4, {1: "term"}),
        (4, {3: "term"}),
        (6, {1: "term", 3: "trunc"}),
        ((5, 2), None),
        ((8, 3), None),
    ):
        if isinstance(shape, tuple):
            terminated, truncated = _random_flags(rng, shape)
            label = f"(T, N) = {shape}, random episode ends"
        else:
            terminated, truncated = _flags((shape,), where)
            ends = [str(t) for t in range(shape) if terminated[t] or truncated[t]]
            label = f"T = {shape}, " + (
                f"episode ends at t = {', '.join(ends)}" if ends else "no episode end"
            )
            if ends and int(ends[-1]) == shape - 1 and shape > 1:
                label += " (the last step)"
        old_log_probs = np.round(-rng.exponential(1.0, size=terminated.shape), 2)
        log_probs = np.round(old_log_probs + rng.normal(0.0, 0.3, size=terminated.shape), 2)
        inputs = {
            "log_probs": log_probs,
            "old_log_probs": old_log_probs,
            "dones": terminated | truncated,
        }
        cases.append(_Case(label, inputs))

    # The weight falls to ~exp(-875) (0 in float64) and climbs back to ~1: a running
    # product gets stuck at 0, a sum of log-ratios does not.
    half = 350
    drift = np.concatenate([np.full(half, -2.5), np.full(half, 2.5)])
    old_log_probs = np.round(-rng.exponential(1.0, size=2 * half), 2)
    noise = np.round(rng.normal(0.0, 0.05, size=2 * half), 2)
    log_probs = old_log_probs + drift + noise
    dones = np.zeros(2 * half, dtype=bool)
    cases.append(
        _Case(
            "T = 700, one long episode whose weight falls below 1e-320 and recovers",
            {"log_probs": log_probs, "old_log_probs": old_log_probs, "dones": dones},
        )
    )
    return cases


def check_importance_weights(fn: Callable[..., Any]) -> bool:
    r"""Exercise: cumulative importance weights within each episode (Chapter 8).

    ``fn(log_probs, old_log_probs, dones)`` (the arguments of
    :func:`pgkit.estimators.trajectory_importance_weights`), arrays (T,) or (T, N):

    .. math::

        \begin{aligned}
        w_t &= \prod_{k=b_t}^{t}
        \frac{\pi_\theta(a_k \mid s_k)}{\pi_{\theta_\text{old}}(a_k \mid s_k)} \\
        &= \exp\Bigl( \sum_{k=b_t}^{t} \bigl(\log \pi_\theta(a_k \mid s_k)
        - \log \pi_{\theta_\text{old}}(a_k \mid s_k)\bigr) \Bigr),
        \end{aligned}

    with :math:`b_t` the first step of :math:`t`'s episode and the log-probabilities
    ``log_probs`` and ``old_log_probs``, computed in log space so long episodes neither
    underflow nor overflow.

    Parameters
    ----------
    fn : callable
        Your function, called as ``fn(log_probs, old_log_probs, dones)``.

    Returns
    -------
    bool
        True when every case passes; a verdict is printed.
    """
    return _check(_IMPORTANCE, _importance_cases(), fn)


# --------------------------------------------------------------------------- Chapter 9


def _ppo_run(fn: Callable[..., Any], inputs: Inputs) -> np.ndarray:
    """[loss, d loss / d log_probs..., gradient reached old_log_probs, reached advantages]."""
    import torch

    log_probs = inputs["log_probs"].detach().clone().requires_grad_(True)
    old_log_probs = inputs["old_log_probs"].detach().clone()
    advantages = inputs["advantages"].detach().clone()
    old_log_probs.requires_grad_(inputs["_old_require_grad"])
    advantages.requires_grad_(inputs["_advantages_require_grad"])
    loss = fn(log_probs, old_log_probs, advantages, inputs["clip"])
    if not isinstance(loss, torch.Tensor):
        raise _BadOutput(
            f"your function returned a {type(loss).__name__}; return a torch tensor so that "
            "loss.backward() can reach log_probs (no .item(), no numpy)"
        )
    if loss.dim() != 0:
        raise _BadOutput(
            f"your function returned a tensor of shape {tuple(loss.shape)}; the loss must be "
            "a scalar: average over the batch with .mean()"
        )
    if not loss.requires_grad:
        raise _BadOutput(
            "the loss does not depend on log_probs through autograd: "
            "did you call .detach(), .item() or .numpy() on log_probs?"
        )
    loss.backward()
    grad = log_probs.grad if log_probs.grad is not None else torch.zeros_like(log_probs)

    def leaked(x: torch.Tensor) -> float:
        return float(x.grad is not None and bool(x.grad.abs().sum() > 0))

    return np.concatenate(
        [[loss.item()], grad.numpy(), [leaked(old_log_probs), leaked(advantages)]]
    )


def _ppo_reference(inputs: Inputs) -> np.ndarray:
    from pgkit.losses import ppo_clip_loss

    return _ppo_run(ppo_clip_loss, inputs)


def _ppo_variant(
    inputs: Inputs,
    *,
    combine: str = "min",
    clip_what: str = "ratio",
    ratio: str = "exp",
    sign: float = -1.0,
    reduce: str = "mean",
    leak: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """A (possibly mistaken) clipped surrogate, as [loss, d loss / d log_probs, leak flags].

    Each term is (value, derivative with respect to log_probs); ``combine`` picks the
    unclipped term, the clipped term or their min/max per sample.
    """
    log_probs, old_log_probs = _np64(inputs["log_probs"]), _np64(inputs["old_log_probs"])
    advantages, eps = _np64(inputs["advantages"]), float(inputs["clip"])
    low, high = 1.0 - eps, 1.0 + eps
    if ratio == "exp":
        rho = np.exp(log_probs - old_log_probs)
        drho = rho
    elif ratio == "inverted":
        rho = np.exp(old_log_probs - log_probs)
        drho = -rho
    else:  # the log-ratio used as if it were the ratio
        rho = log_probs - old_log_probs
        drho = np.ones_like(rho)
    unclipped, d_unclipped = rho * advantages, drho * advantages
    if clip_what == "ratio":
        inside = (rho > low) & (rho < high)
        clipped = np.clip(rho, low, high) * advantages
        d_clipped = np.where(inside, drho * advantages, 0.0)
    elif clip_what == "product":
        inside = (unclipped > low) & (unclipped < high)
        clipped = np.clip(unclipped, low, high)
        d_clipped = np.where(inside, d_unclipped, 0.0)
    else:  # the advantage clipped to [1 - eps, 1 + eps]
        clipped_adv = np.clip(advantages, low, high)
        clipped, d_clipped = rho * clipped_adv, drho * clipped_adv
    if combine == "unclipped":
        values, grads = unclipped, d_unclipped
    elif combine == "clipped":
        values, grads = clipped, d_clipped
    else:
        pick = unclipped <= clipped if combine == "min" else unclipped >= clipped
        values = np.where(pick, unclipped, clipped)
        grads = np.where(pick, d_unclipped, d_clipped)
    scale = 1.0 if reduce == "sum" else 1.0 / len(values)
    return np.concatenate([[sign * scale * values.sum()], sign * scale * grads, leak])


def _ppo_leaky(which: int) -> Callable[[Inputs], np.ndarray | None]:
    key = ("_old_require_grad", "_advantages_require_grad")[which]

    def mistaken(inputs: Inputs) -> np.ndarray | None:
        if not inputs[key]:
            return None
        leak = (1.0, 0.0) if which == 0 else (0.0, 1.0)
        return _ppo_variant(inputs, leak=leak)

    return mistaken


def _ppo_show(answer: np.ndarray) -> str:
    grad = _fmt(answer[1:-2])
    leaks = [
        name
        for name, flag in zip(("old_log_probs", "advantages"), answer[-2:], strict=True)
        if flag
    ]
    reached = ", ".join(leaks) if leaks else "neither"
    return (
        f"loss {answer[0] + 0.0:.6g}, d loss / d log_probs {grad}, "
        f"gradient reaches old_log_probs or advantages: {reached}"
    )


_PPO = _Problem(
    name="ppo_clip_loss",
    signature="ppo_clip_loss(log_probs, old_log_probs, advantages, clip) -> torch scalar",
    covers=(
        "B = 1 to 32, ratios inside and outside [1 - clip, 1 + clip] on both sides, "
        "advantages of both signs and 0, clip 0.1 to 0.3, inputs that carry gradients"
    ),
    reference=_ppo_reference,
    mistakes=(
        (
            "old_log_probs must be a constant: a gradient flowed into old_log_probs; "
            "use old_log_probs.detach() in the ratio",
            _ppo_leaky(0),
        ),
        (
            "advantages must be constants: a gradient flowed into advantages; "
            "use advantages.detach()",
            _ppo_leaky(1),
        ),
        (
            "forgot the minus sign: the loss is the NEGATIVE clipped objective, "
            "-min(ratio * A, clip(ratio) * A).mean()",
            lambda inputs: _ppo_variant(inputs, sign=1.0),
        ),
        (
            "took max instead of min: the min keeps the objective pessimistic, so moving the "
            "ratio past the clip range never looks better than it is",
            lambda inputs: _ppo_variant(inputs, combine="max"),
        ),
        (
            "clipped the advantage instead of the ratio: clip(ratio, 1 - clip, 1 + clip) * A",
            lambda inputs: _ppo_variant(inputs, clip_what="advantage"),
        ),
        (
            "clipped the product ratio * A instead of the ratio: clip(ratio, 1 - clip, 1 + clip) "
            "* A",
            lambda inputs: _ppo_variant(inputs, clip_what="product"),
        ),
        (
            "used only the clipped term: take the min with the unclipped ratio * A, so a move "
            "that makes the objective worse is not hidden by the clip",
            lambda inputs: _ppo_variant(inputs, combine="clipped"),
        ),
        (
            "did not clip at all: this is the plain importance-weighted surrogate; "
            "take min(ratio * A, clip(ratio, 1 - clip, 1 + clip) * A)",
            lambda inputs: _ppo_variant(inputs, combine="unclipped"),
        ),
        (
            "the ratio is inverted: pi_theta / pi_old = exp(log_probs - old_log_probs)",
            lambda inputs: _ppo_variant(inputs, ratio="inverted"),
        ),
        (
            "used the log-ratio log_probs - old_log_probs as the ratio; exponentiate it",
            lambda inputs: _ppo_variant(inputs, ratio="log"),
        ),
        (
            "used sum instead of mean: average over the batch so the step size does not "
            "depend on B",
            lambda inputs: _ppo_variant(inputs, reduce="sum"),
        ),
    ),
    fallback=lambda got, expected, inputs: (
        "no gradient reached log_probs: build the ratio from log_probs itself"
        if got is not None and not got[1:-2].any() and expected[1:-2].any()
        else "ratio = exp(log_probs - old_log_probs); "
        "loss = -min(ratio * A, clip(ratio, 1 - clip, 1 + clip) * A).mean()"
    ),
    run=_ppo_run,
    show=_ppo_show,
)


def _ppo_cases() -> list[_Case]:
    import torch

    rng = np.random.default_rng(_SEED + 10)
    # log-ratios that put the ratio well inside or well outside the clip range (never on
    # its edge, where the gradient of clip is a matter of convention)
    above, below, inside = 0.4, -0.4, 0.05
    specs = (
        ("B = 1, ratio 1 (the first minibatch after collecting)", [0.0], [0.7], 0.2),
        ("B = 1, ratio above 1 + clip with a positive advantage", [above], [0.7], 0.2),
        (
            "B = 2, ratios below 1 - clip and above 1 + clip, negative advantages",
            [below, above],
            [-0.5, -1.2],
            0.2,
        ),
        (
            "B = 4, ratios inside and outside the clip range, advantages of both signs",
            [below, above, inside, above],
            [0.8, -0.6, 1.1, 0.9],
            0.2,
        ),
        ("B = 5, one advantage 0, clip 0.1", [0.3, -0.2, 0.02, below, 0.15], None, 0.1),
        ("B = 6, old_log_probs that require grad (not detached)", None, None, 0.2),
        (
            "B = 8, advantages that require grad (as if computed by a critic), clip 0.3",
            None,
            None,
            0.3,
        ),
        ("B = 32, random ratios and advantages", None, None, 0.2),
    )
    cases = []
    for label, log_ratios, advantages, clip in specs:
        b = int(label.split(",")[0].split("=")[1])
        if log_ratios is None:
            log_ratios = np.round(rng.normal(0.0, 0.3, size=b), 2)
        if advantages is None:
            advantages = np.round(rng.normal(0.0, 1.0, size=b), 1)
            advantages[advantages == 0.0] = 0.3
            if "advantage 0" in label:
                advantages[1] = 0.0
        old_log_probs = np.round(-rng.exponential(1.0, size=b) - 0.1, 2)
        log_probs = old_log_probs + np.asarray(log_ratios, dtype=np.float64)
        cases.append(
            _Case(
                label,
                {
                    "log_probs": torch.tensor(log_probs, dtype=torch.float64),
                    "old_log_probs": torch.tensor(old_log_probs, dtype=torch.float64),
                    "advantages": torch.tensor(advantages, dtype=torch.float64),
                    "clip": clip,
                    "_old_require_grad": "old_log_probs that require grad" in label,
                    "_advantages_require_grad": "advantages that require grad" in label,
                },
            )
        )
    return cases


def check_ppo_clip_loss(fn: Callable[..., Any]) -> bool:
    r"""Exercise: PPO's clipped surrogate loss (Chapter 9).

    ``fn(log_probs, old_log_probs, advantages, clip) -> torch scalar`` with float64 torch
    tensors of shape (B,) and a float ``clip`` (:math:`\epsilon`):

    .. math::

        \begin{aligned}
        \rho_i &= \exp\bigl(\log \pi_\theta(a_i \mid s_i)
        - \log \pi_{\theta_\text{old}}(a_i \mid s_i)\bigr), \\
        L &= -\frac{1}{B} \sum_{i=1}^{B} \min\bigl(\rho_i \hat A_i,
        \operatorname{clip}(\rho_i, 1 - \epsilon, 1 + \epsilon) \hat A_i\bigr),
        \end{aligned}

    with the log-probabilities ``log_probs`` and ``old_log_probs`` and :math:`\hat A_i` =
    ``advantages``, the last two treated as constants. Checks the loss value, its gradient
    with respect to ``log_probs`` (zero for samples whose ratio is clipped) and that no
    gradient reaches ``old_log_probs`` or ``advantages`` (some cases pass tensors that
    require grad). Compared with :func:`pgkit.losses.ppo_clip_loss`.

    Parameters
    ----------
    fn : callable
        Your function, called as ``fn(log_probs, old_log_probs, advantages, clip)``.

    Returns
    -------
    bool
        True when every case passes; a verdict is printed.
    """
    return _check(_PPO, _ppo_cases(), fn)


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Exercise:
    """One exercise: where the book sets it, what to write, and its checker.

    Parameters
    ----------
    name : str
        The exercise's name (``gae``), the key in ``EXERCISES``.
    chapter : int
        The chapter that sets it.
    checker : callable
        Its checker, ``checker(fn) -> bool``, e.g. :func:`check_gae`.
    signature : str
        What to write: the function's name, arguments and result.
    description : str
        One line saying what the function computes.
    chapter_name : str
        The name the chapter has the reader write. Where the chapter imports pgkit's function
        of the exercise's own name it differs (``my_gae``), so that the reader's does not
        shadow it.
    """

    name: str
    chapter: int
    checker: Callable[[Callable[..., Any]], bool]
    signature: str
    description: str
    # The name the chapter has the reader write. Where the chapter imports pgkit's function of
    # the exercise's own name it differs (``my_gae``), so that the reader's does not shadow it.
    chapter_name: str

    @property
    def names(self) -> tuple[str, ...]:
        """The names a solutions file may give this exercise, its own first, then the chapter's."""
        return tuple(dict.fromkeys((self.name, self.chapter_name)))


def _exercise(
    problem: _Problem,
    chapter: int,
    checker: Callable[..., bool],
    text: str,
    chapter_name: str | None = None,
) -> Exercise:
    return Exercise(
        problem.name, chapter, checker, problem.signature, text, chapter_name or problem.name
    )


EXERCISES: dict[str, Exercise] = {
    exercise.name: exercise
    for exercise in (
        _exercise(
            _MC,
            1,
            check_mc_estimate,
            "Monte Carlo estimate of J(theta) and its standard error",
            "mc_from_returns",
        ),
        _exercise(
            _BANDIT,
            2,
            check_bandit_gradient,
            "score-function estimate of grad J for a softmax bandit policy",
            "bandit_gradient_estimate",
        ),
        _exercise(
            _SURROGATE,
            3,
            check_surrogate_loss,
            "REINFORCE surrogate loss -(log_probs * weights).mean(), weights held constant",
        ),
        _exercise(
            _GAUSSIAN,
            4,
            check_gaussian_log_likelihood,
            "log-likelihood of a diagonal Gaussian policy, summed over action dimensions",
        ),
        _exercise(
            _REWARD_TO_GO,
            5,
            check_reward_to_go,
            "undiscounted reward-to-go, resetting at episode ends",
        ),
        _exercise(
            _DISCOUNTED,
            5,
            check_discounted_returns,
            "discounted returns G_t = r_t + gamma (1 - done_t) G_{t+1}",
            "discounted",
        ),
        _exercise(
            _N_STEP,
            6,
            check_n_step_returns,
            "n-step returns, bootstrapping at truncation and at the end of the data",
            "my_n_step_returns",
        ),
        _exercise(_GAE, 7, check_gae, "generalised advantage estimates A_t", "my_gae"),
        _exercise(
            _IMPORTANCE,
            8,
            check_importance_weights,
            "per-episode cumulative importance weights, in log space",
            "my_importance_weights",
        ),
        _exercise(
            _PPO,
            9,
            check_ppo_clip_loss,
            "PPO's clipped surrogate loss -min(ratio * A, clip(ratio) * A).mean()",
            "my_ppo_clip_loss",
        ),
    )
}
