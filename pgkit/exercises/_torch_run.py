"""Running a loss exercise written in torch: the loss, its gradient, and where gradients went.

A loss exercise (Chapters 3 and 9) is judged on more than its value: the gradient with respect
to ``log_probs`` must be right, and no gradient may reach the tensors the loss must treat as
constants. :func:`run_loss` turns one call into an array of those numbers, so that the
framework compares it like any other answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pgkit.exercises._framework import _Case
from pgkit.exercises._running import _BadOutput
from pgkit.validation import is_torch


def run_loss(fn: Callable[..., Any], case: _Case, *, constants: tuple[str, ...]) -> np.ndarray:
    """[loss, d loss / d log_probs..., then per name in ``constants`` 1 if a gradient reached it].

    ``log_probs`` requires grad; a tensor named in ``constants`` requires grad only where the
    case's ``settings["require_grad"]`` lists it (as if a critic had computed it). The other
    arguments are passed as they are, all positionally in the case's order.
    """
    import torch

    require_grad = case.settings.get("require_grad", ())
    arguments = {}
    for name, value in case.inputs.items():
        if is_torch(value):
            value = value.detach().clone()
            value.requires_grad_(name == "log_probs" or name in require_grad)
        arguments[name] = value
    loss = fn(*arguments.values())
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
    log_probs = arguments["log_probs"]
    grad = log_probs.grad if log_probs.grad is not None else torch.zeros_like(log_probs)

    def leaked(x: torch.Tensor) -> float:
        return float(x.grad is not None and bool(x.grad.abs().sum() > 0))

    flags = [leaked(arguments[name]) for name in constants]
    return np.concatenate([[loss.item()], grad.numpy(), flags])
