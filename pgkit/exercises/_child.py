"""Running the cases in a forked child process, which receives only the cases and sends back
JSON: the answers are computed and compared in the checker's own process afterwards.

An outcome is a dict that crosses the pipe from the child as JSON: "got" (the answer as a
float array, or None), "error" (a verdict for the case), "raised" ([exception type, message,
is a TypeError]), "stop" (no later case is run; the text says why for those cases), and the
names this case added to the notes, "mutated" and "pgkit_calls".
"""

from __future__ import annotations

import base64
import contextlib
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
from typing import Any, NoReturn

import numpy as np

from pgkit.exercises import _running
from pgkit.exercises._running import _TIMED_OUT, _run_case, _timed_out_verdict, _Watched

# Answers with more values are not sent back whole: every case's answer is far smaller.
_MAX_SENT = 1_000_000


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
    cases: list[Any],
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
        for case in cases:
            send.send_bytes(_encode(_run_case(run, watched, case, in_child=True)))
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
    run: Callable[..., np.ndarray], fn: Callable[..., Any], cases: list[Any]
) -> list[dict[str, Any]]:
    """The outcomes of the cases, run one after another in a forked child process.

    The child gets only the cases; the answers they are judged against are computed
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
        _child(send, run, fn, cases, parent)
    send.close()
    child = _Child(pid)
    outcomes: list[dict[str, Any]] = []
    try:
        while len(outcomes) < len(cases):
            deadline = time.monotonic() + _running.CASE_TIME_LIMIT
            outcomes.append(_next_outcome(receive, child, deadline))
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
