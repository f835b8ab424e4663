"""Chapter 3's exercise: the REINFORCE surrogate loss, :func:`pgkit.estimators.surrogate_loss`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pgkit.exercises._cases import _np64
from pgkit.exercises._framework import _SEED, _Case, _check, _fmt, _Problem
from pgkit.exercises._torch_run import run_loss

__all__ = ["check_surrogate_loss"]


def _surrogate_run(fn: Callable[..., Any], case: _Case) -> np.ndarray:
    """[loss, d loss / d log_probs..., 1 if a gradient reached weights else 0]."""
    return run_loss(fn, case, constants=("weights",))


def _surrogate_reference(case: _Case) -> np.ndarray:
    from pgkit.estimators import surrogate_loss

    return _surrogate_run(surrogate_loss, case)


def _surrogate(case: _Case, sign: float = -1.0, summed: bool = False) -> np.ndarray:
    log_probs, weights = _np64(case.inputs["log_probs"]), _np64(case.inputs["weights"])
    scale = 1.0 if summed else 1.0 / len(log_probs)
    value = sign * scale * float(np.sum(log_probs * weights))
    return np.concatenate([[value], sign * scale * weights, [0.0]])


def _surrogate_leaky(case: _Case) -> np.ndarray | None:
    if "weights" not in case.settings.get("require_grad", ()):
        return None
    answer = _surrogate(case)
    answer[-1] = 1.0
    return answer


def _surrogate_probs(case: _Case) -> np.ndarray:
    probs, weights = np.exp(_np64(case.inputs["log_probs"])), _np64(case.inputs["weights"])
    b = len(probs)
    return np.concatenate([[-np.mean(probs * weights)], -probs * weights / b, [0.0]])


def _surrogate_product_of_means(case: _Case) -> np.ndarray:
    log_probs, weights = _np64(case.inputs["log_probs"]), _np64(case.inputs["weights"])
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
    description="REINFORCE surrogate loss -(log_probs * weights).mean(), weights held constant",
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
            lambda case: _surrogate(case, sign=1.0),
        ),
        (
            "used sum instead of mean: average over the batch so the step size "
            "does not depend on B",
            lambda case: _surrogate(case, summed=True),
        ),
        (
            "sign of the loss: we minimise the negative objective (and average with .mean(), "
            "not .sum())",
            lambda case: _surrogate(case, sign=1.0, summed=True),
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
    fallback=lambda got, expected, case: (
        "no gradient reached log_probs: build the loss from log_probs itself"
        if got is not None and not got[1:-1].any() and expected[1:-1].any()
        else "loss = -(log_probs * weights.detach()).mean()"
    ),
    run=_surrogate_run,
    show=_surrogate_show,
)


def _negative(weights: np.ndarray) -> np.ndarray:
    return -np.abs(weights) - 0.1


def _second_zero(weights: np.ndarray) -> np.ndarray:
    weights[1] = 0.0
    return weights


_CRITIC = "weights that require grad (as if computed by a critic)"


def _surrogate_cases() -> list[_Case]:
    import torch

    rng = np.random.default_rng(_SEED + 3)
    cases = []
    # (batch size B, what to do to the weights, whether they require grad, label)
    for b, adjust, require_grad, label in (
        (1, None, False, "B = 1"),
        (2, None, False, "B = 2"),
        (3, _negative, False, "B = 3, negative weights"),
        (3, None, True, f"B = 3, {_CRITIC}"),
        (5, _second_zero, False, "B = 5, one weight 0"),
        (8, None, True, f"B = 8, {_CRITIC}"),
        (32, None, False, "B = 32"),
    ):
        log_probs = np.round(-rng.exponential(1.0, size=b), 2)
        weights = np.round(rng.normal(0.5, 1.0, size=b), 1)
        if adjust is not None:
            weights = adjust(weights)
        cases.append(
            _Case(
                label,
                {
                    "log_probs": torch.tensor(log_probs, dtype=torch.float64),
                    "weights": torch.tensor(weights, dtype=torch.float64),
                },
                {"require_grad": ("weights",) if require_grad else ()},
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
    :func:`pgkit.estimators.surrogate_loss`, which this exercise reproduces (the algorithms
    call it under its alias :func:`pgkit.losses.policy_gradient_loss`).

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


PROBLEMS = (_SURROGATE,)


def __getattr__(name: str) -> Any:
    # REFERENCE imports pgkit.estimators, and with it torch, only when asked for: importing the
    # checkers stays fast.
    if name == "REFERENCE":
        from pgkit.estimators import surrogate_loss

        # pgkit's function that each exercise reproduces, called as the reader's function is.
        return {"surrogate_loss": surrogate_loss}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
