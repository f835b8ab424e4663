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
(torch tensors for the Chapter 3, 4 and 9 exercises) and episode flags are booleans.
The cases come from a fixed seed, so the output is the same on every run.

Where the operating system can fork (Linux, macOS) your function runs in a child process
that receives only the cases; what it prints is shown as usual. The expected answers are
computed, and compared, in the checker's own process afterwards, so nothing your function
reads or replaces can change a verdict. A case that takes longer than 10 seconds is stopped
by killing the child, and a function that ends the process (``os._exit``, a crash) fails the
case it was running.

    >>> from pgkit.exercises import check_discounted_returns
    >>> check_discounted_returns(my_discounted_returns)   # doctest: +SKIP

``EXERCISES`` lists every exercise with its chapter and signature, for the command
line and the workbook. Each chapter's exercises live in one module named like its
notebook (``ch07_gae.py`` for ``chapters/07_gae.ipynb``), which the chapter number is read
from; adding a chapter's exercise means adding one such file.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from typing import Any

from pgkit.exercises._framework import Exercise

# ch07_gae: the exercises of Chapter 7.
_CHAPTER_MODULE = re.compile(r"ch(?P<chapter>\d{2})_\w+")


def _chapter_modules() -> list[tuple[int, Any]]:
    """(chapter number, module) for every chNN_*.py beside this file, in chapter order."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        match = _CHAPTER_MODULE.fullmatch(info.name)
        if match:
            module = importlib.import_module(f"{__name__}.{info.name}")
            found.append((int(match["chapter"]), module))
    return sorted(found, key=lambda pair: (pair[0], pair[1].__name__))


def _registry() -> tuple[dict[str, Exercise], dict[str, Any]]:
    """EXERCISES, and every checker of every chapter module by name."""
    exercises: dict[str, Exercise] = {}
    checkers: dict[str, Any] = {}
    for chapter, module in _chapter_modules():
        checkers.update({name: getattr(module, name) for name in module.__all__})
        former = getattr(module, "FORMER_NAMES", {})
        for problem in module.PROBLEMS:
            exercises[problem.name] = Exercise(
                problem.name,
                chapter,
                getattr(module, f"check_{problem.name}"),
                problem.signature,
                problem.description,
                problem.chapter_name or problem.name,
                former.get(problem.name, ()),
            )
    return exercises, checkers


EXERCISES, _CHECKERS = _registry()
globals().update(_CHECKERS)

__all__ = ["EXERCISES", "Exercise", *sorted(_CHECKERS)]
