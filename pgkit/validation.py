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
# endless: the loops that wait for whole episodes stop there (within seconds) instead of
# hanging. Gymnasium's own tasks are cut at 200 to 1,600 steps; raise it for longer ones.
MAX_EPISODE_STEPS = 10_000


def endless_episode_error(env: Any, steps: int) -> ValueError:
    """The error for an episode of ``env`` still running after ``steps`` steps."""
    return ValueError(
        f"an episode of {env} ran {steps} steps without terminating or truncating; "
        "give the environment a time limit, e.g. gymnasium.make(env_id, max_episode_steps=1000) "
        "or gymnasium.register(..., max_episode_steps=1000) (gymnasium.wrappers.TimeLimit); "
        "if its episodes really are longer, raise pgkit.validation.MAX_EPISODE_STEPS"
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
    return check_number(name, value, low=0.0, high=1.0)


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


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    strict: bool = False,
    hint: str = "",
) -> float:
    """Return ``value`` as a finite float within the given bounds.

    Python and numpy numbers are accepted alike (``np.float32(0.2)`` is 0.2); booleans and
    anything else that is not a real number raise ``TypeError``; NaN, infinities and values
    outside ``[low, high]`` (``(low, high)`` with ``strict``) raise ``ValueError``. ``hint``
    (e.g. "PPO uses 0.1 to 0.3") ends the message.
    """
    hint = f" ({hint})" if hint else ""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number{hint}, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite{hint}, got {value}")
    below = low is not None and (value <= low if strict else value < low)
    above = high is not None and (value >= high if strict else value > high)
    if below or above:
        if low is not None and high is not None:
            opening, closing = ("(", ")") if strict else ("[", "]")
            bound = f"lie in {opening}{low:g}, {high:g}{closing}"
        elif low is not None:
            bound = f"be {'>' if strict else '>='} {low:g}"
        else:
            bound = f"be {'<' if strict else '<='} {high:g}"
        raise ValueError(f"{name} must {bound}{hint}, got {value:g}")
    return value


def check_int(name: str, value: Any, low: int = 0) -> int:
    """Return ``value`` as a Python int after checking it is an integer >= ``low``.

    numpy integers are accepted (gymnasium and torch then get a Python int); booleans and
    floats such as 2.0 are not: a count or a seed is an integer.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        kinds = {0: "a non-negative integer", 1: "a positive integer"}
        kind = kinds.get(low, f"an integer >= {low}")
        raise TypeError(f"{name} must be {kind}, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def check_seed(name: str, value: Any, *, optional: bool = False) -> int | None:
    """Return a seed as a Python int: an integer >= 0, Python or numpy.

    With ``optional``, None passes through: gymnasium's ``reset(seed=None)`` keeps the
    environment's current random stream.
    """
    if optional and value is None:
        return None
    return check_int(name, value, low=0)


def check_flag(name: str, value: Any) -> bool:
    """Return ``value`` after checking it is ``True`` or ``False``.

    Not 0/1 and not a numpy bool: a flag lands in a run's ``config.json`` as it was passed.
    """
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def check_float_tensor(name: str, x: Any) -> Any:
    """Return ``x`` after checking it is a floating-point torch tensor."""
    if not is_torch(x):
        raise TypeError(
            f"{name} must be a torch.Tensor, got {type(x).__name__}; "
            f"wrap it with torch.as_tensor({name}, dtype=torch.float32)"
        )
    if not x.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor, got dtype {x.dtype}; "
            f"convert it with {name}.float()"
        )
    return x


def check_hidden(hidden: Any) -> tuple[int, ...]:
    """Return the hidden-layer widths as a tuple of ints >= 1: ``(64, 64)``, ``[32]``, ``()``."""
    if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
        raise TypeError(
            f"hidden must be a sequence of layer widths, got the number {hidden}; "
            f"for one hidden layer write hidden=({hidden},)"
        )
    if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
        raise TypeError(
            f"hidden must be a sequence of layer widths such as (64, 64), got {hidden!r}"
        )
    return tuple(check_positive_int("hidden", h) for h in hidden)


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` as a Python int after checking it is an integer >= 1."""
    return check_int(name, value, low=1)
