"""The checkers' framework: a problem, its cases, and the verdict printed on the reader's function.

A chapter's exercise is a :class:`_Problem` (its reference answer, its known mistakes, how
to call and show it) and a list of :class:`_Case`; :func:`_check` runs the reader's function
on every case (:mod:`pgkit.exercises._running`, :mod:`pgkit.exercises._child`), compares
with the reference and prints the verdict. :class:`Exercise` is the public record of one
exercise in :data:`pgkit.exercises.EXERCISES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pgkit.exercises import _running
from pgkit.exercises._child import _run_in_child
from pgkit.exercises._running import _BadOutput, _fresh, _run_in_process
from pgkit.validation import is_torch

RTOL = 1e-5
ATOL = 1e-6
_SEED = 20240611

Inputs = dict[str, Any]


@dataclass(frozen=True)
class _Case:
    label: str
    inputs: Inputs  # the arguments, passed positionally in this order
    # How the case is run beyond its arguments (which tensors require grad, say).
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Problem:
    name: str
    signature: str
    covers: str
    description: str  # one line, for the exercises command
    reference: Callable[[_Case], np.ndarray]
    # Known mistakes, most specific first: (hint, the mistaken answer or None if it
    # does not apply to this case).
    mistakes: tuple[tuple[str, Callable[[_Case], np.ndarray | None]], ...]
    fallback: Callable[[np.ndarray | None, np.ndarray, _Case], str]
    run: Callable[[Callable[..., Any], _Case], np.ndarray] | None = None
    show: Callable[[np.ndarray], str] | None = None
    time_major: bool = False  # cases go from (T,) arrays to (T, N) batches
    # The name the chapter has the reader write, where it differs from ``name``.
    chapter_name: str | None = None


@dataclass(frozen=True)
class _Failure:
    case: _Case
    expected: np.ndarray
    got: np.ndarray | None  # None when the function raised or returned junk
    problem: str | None  # what went wrong when got is None (or the shapes differ)


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


def _call_positionally(fn: Callable[..., Any], case: _Case) -> np.ndarray:
    return _as_array(fn(*(_fresh(v) for v in case.inputs.values())))


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
            answer = mistaken(failure.case)
            if answer is not None and _matches(failure.got, np.asarray(answer, float)):
                count += 1
            elif failure is first:
                break
        else:
            if count > best_count:
                best, best_count = hint, count
    if best is not None:
        return best
    return problem.fallback(first.got, first.expected, first.case)


def _check(problem: _Problem, cases: list[_Case], fn: Any) -> bool:
    title = f"check_{problem.name}"
    if not callable(fn):
        print(f"{title}: expected your function, got {type(fn).__name__} {fn!r:.40}")
        return False
    run_cases = _run_in_child if _running.ISOLATE else _run_in_process
    outcomes = run_cases(problem.run or _call_positionally, fn, cases)
    mutated = list(dict.fromkeys(name for o in outcomes for name in o["mutated"]))
    pgkit_calls = list(dict.fromkeys(name for o in outcomes for name in o["pgkit_calls"]))
    failures: list[_Failure] = []
    for i, case in enumerate(cases):
        # The expected answer exists only from here on, in this process: while the reader's
        # function ran, no frame held it, and in a child process nothing could reach it.
        expected = np.asarray(problem.reference(case), dtype=np.float64)
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
    arguments = first.case.inputs
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
    batched = any(np.ndim(v) == 2 for v in case.inputs.values())
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
    former_names : tuple of str
        Names the exercise had in earlier releases, still accepted for one release
        (``importance_weights`` for ``trajectory_importance_weights``).
    """

    name: str
    chapter: int
    checker: Callable[[Callable[..., Any]], bool]
    signature: str
    description: str
    # The name the chapter has the reader write. Where the chapter imports pgkit's function of
    # the exercise's own name it differs (``my_gae``), so that the reader's does not shadow it.
    chapter_name: str
    former_names: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Every name a solutions file may give this exercise (its own, the chapter's, former ones)."""
        return tuple(dict.fromkeys((self.name, self.chapter_name, *self.former_names)))
