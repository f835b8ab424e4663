"""Input checks shared by pgkit's public functions.

Every public function validates its arguments at the boundary so that a
mistake surfaces as a ``ValueError``/``TypeError`` that names the argument and
says what to do, instead of a silent broadcast or a NaN policy later on.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# An episode that runs this many steps without terminating or truncating is taken to be
# endless: the loops that wait for whole episodes stop there instead of hanging.
MAX_EPISODE_STEPS = 100_000


def endless_episode_error(env: Any, steps: int) -> ValueError:
    """The error for an episode of ``env`` still running after ``steps`` steps."""
    return ValueError(
        f"an episode of {env} ran {steps} steps without terminating or truncating; "
        "give the environment a time limit, e.g. gymnasium.make(env_id, max_episode_steps=1000) "
        "or gymnasium.register(..., max_episode_steps=1000) (gymnasium.wrappers.TimeLimit)"
    )


def is_torch(x: Any) -> bool:
    """True when ``x`` is a torch tensor (without importing torch if it is not loaded)."""
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def to_numpy(x: Any, name: str, dtype: Any = None) -> np.ndarray:
    """Return ``x`` as a numpy array (a copy is never needed: callers do not mutate it).

    Accepts numpy arrays, torch tensors (bfloat16 too), Python scalars and (nested) lists of
    real numbers or booleans. Complex numbers are refused rather than losing their imaginary
    part, and so are booleans where ``dtype`` asks for floats: flags passed where rewards or
    values belong are a swapped argument, not numbers.
    """
    if is_torch(x):
        x = x.detach().cpu()
        if str(x.dtype) == "torch.bfloat16":  # numpy has no bfloat16
            x = x.float()
        x = x.numpy()
    try:
        source = np.asarray(x)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}: {e}") from e
    if np.issubdtype(source.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers, got complex dtype {source.dtype}")
    if not (np.issubdtype(source.dtype, np.number) or source.dtype == bool):
        kind = "must be an array of numbers" if dtype is not None else "must hold numbers"
        raise TypeError(f"{name} {kind}, got dtype {source.dtype}")
    if dtype is not None and np.issubdtype(np.dtype(dtype), np.floating):
        check_not_flags(name, source)
    return source if dtype is None else source.astype(dtype, copy=False)


def check_not_flags(name: str, arr: np.ndarray) -> None:
    """Refuse booleans where numbers belong: an episode flag passed as rewards or values."""
    if arr.dtype == bool:
        raise TypeError(
            f"{name} must hold numbers, got booleans: is an episode flag (terminated, "
            "truncated, dones) in its place? Check the order of the arguments"
        )


def check_time_major(name: str, arr: np.ndarray) -> None:
    """Require shape ``(T,)`` or ``(T, N)`` with T >= 1."""
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"{name} must be time-major with shape (T,) or (T, N), got shape {tuple(arr.shape)}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (T = 0); pass at least one time step")


def check_same_shape(**arrays: np.ndarray) -> None:
    """Raise ``ValueError`` naming every argument and its shape unless all shapes are equal.

    numpy would broadcast e.g. values of shape (T, 1) against rewards of shape (T,)
    into a (T, T) matrix without complaint; we refuse instead.
    """
    shapes = {name: tuple(np.shape(a)) for name, a in arrays.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(
            f"shape mismatch: {listed}. These arrays must have identical time-major shapes "
            "(T,) or (T, N); reshape explicitly (e.g. values.squeeze(-1)) instead of relying "
            "on broadcasting"
        )


def check_finite(name: str, arr: np.ndarray) -> None:
    """Raise ``ValueError`` giving the index of the first NaN or infinite entry."""
    bad = ~np.isfinite(arr)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = index[0] if len(index) == 1 else index
        raise ValueError(f"{name} contains a non-finite value ({arr[index]}) at index {where}")


def check_no_overflow(
    result: Any, *names: str, fix: str = "rescale them, e.g. divide the rewards by a constant"
) -> Any:
    """Return ``result`` after checking that it is finite (for a function whose inputs are).

    Finite inputs can still overflow: a discounted sum of rewards near the float maximum, or
    ``exp`` of a large log-ratio. The IEEE answer (``inf``, or ``inf - inf = NaN`` once signs
    mix) would be returned silently, so this raises ``ValueError`` naming ``names``, the
    arguments whose size caused it, and ``fix``. ``result`` is a number, a numpy array or a
    torch tensor.
    """
    if is_torch(result):
        finite = bool(result.detach().isfinite().all())
        dtype = str(result.dtype).removeprefix("torch.")
    else:
        arr = np.asarray(result)
        finite = bool(np.isfinite(arr).all())
        dtype = str(arr.dtype)
    if not finite:
        listed = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 2 else names)
        raise ValueError(
            f"the result overflows {dtype} although every input is finite: {listed} "
            f"{'hold' if len(names) > 1 else 'holds'} values too large for this computation; {fix}"
        )
    return result


def check_unit_interval(name: str, value: Any) -> float:
    """Return ``value`` as a float after checking it lies in [0, 1] (NaN rejected)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number in [0, 1], got {type(value).__name__}")
    value = float(value)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return value


def check_bool_flags(name: str, arr: np.ndarray) -> np.ndarray:
    """Return ``arr`` as bool, accepting bools or 0/1 numbers and rejecting anything else."""
    if arr.dtype == bool:
        return arr
    if np.issubdtype(arr.dtype, np.number) and np.isin(arr, (0, 1)).all():
        return arr.astype(bool)
    raise ValueError(f"{name} must hold booleans (or 0/1), got dtype {arr.dtype} with other values")


def check_callable(name: str, value: Any) -> Any:
    """Return ``value`` after checking it can be called (a function passed where one belongs)."""
    if not callable(value):
        raise TypeError(f"{name} must be a function, got {type(value).__name__}")
    return value


def as_tensor_list(name: str, tensors: Any) -> list:
    """Return ``tensors`` (one tensor or an iterable of them, e.g. ``policy.parameters()``) as a list."""
    if is_torch(tensors):
        return [tensors]
    if isinstance(tensors, (str, bytes)) or not hasattr(tensors, "__iter__"):
        raise TypeError(
            f"{name} must be a tensor or an iterable of tensors such as policy.parameters(), "
            f"got {type(tensors).__name__}"
        )
    items = list(tensors)
    if not items:
        raise ValueError(f"{name} is empty; pass e.g. policy.parameters()")
    for i, item in enumerate(items):
        if not is_torch(item):
            raise TypeError(f"{name}[{i}] must be a torch.Tensor, got {type(item).__name__}")
    return items


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` after checking it is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)
