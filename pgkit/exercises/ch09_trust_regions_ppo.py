"""Chapter 9's exercises: PPO's clipped surrogate loss, :func:`pgkit.losses.ppo_clip_loss`, and
the Fisher matrix of a Gaussian policy with a linear mean, derived."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pgkit.exercises._cases import _np64
from pgkit.exercises._derivations import (
    _fisher,
    _gaussian_fisher_cases,
)
from pgkit.exercises._framework import _SEED, _Case, _check, _fmt, _Problem
from pgkit.exercises._torch_run import run_loss

__all__ = ["check_gaussian_fisher", "check_ppo_clip_loss"]


def _ppo_run(fn: Callable[..., Any], case: _Case) -> np.ndarray:
    """[loss, d loss / d log_probs..., gradient reached old_log_probs, reached advantages]."""
    return run_loss(fn, case, constants=("old_log_probs", "advantages"))


def _ppo_reference(case: _Case) -> np.ndarray:
    from pgkit.losses import ppo_clip_loss

    return _ppo_run(ppo_clip_loss, case)


# The pieces of a (possibly mistaken) clipped surrogate, in numpy. Each term is a pair
# (value, derivative with respect to log_probs), one entry per sample.
Term = tuple[np.ndarray, np.ndarray]


def _ratio(log_probs: np.ndarray, old_log_probs: np.ndarray) -> Term:
    rho = np.exp(log_probs - old_log_probs)
    return rho, rho


def _inverted_ratio(log_probs: np.ndarray, old_log_probs: np.ndarray) -> Term:
    rho = np.exp(old_log_probs - log_probs)
    return rho, -rho


def _log_ratio(log_probs: np.ndarray, old_log_probs: np.ndarray) -> Term:
    """The log-ratio used as if it were the ratio."""
    rho = log_probs - old_log_probs
    return rho, np.ones_like(rho)


def _clip_ratio(ratio: Term, advantages: np.ndarray, low: float, high: float) -> Term:
    rho, drho = ratio
    inside = (rho > low) & (rho < high)
    return np.clip(rho, low, high) * advantages, np.where(inside, drho * advantages, 0.0)


def _clip_product(ratio: Term, advantages: np.ndarray, low: float, high: float) -> Term:
    rho, drho = ratio
    product = rho * advantages
    inside = (product > low) & (product < high)
    return np.clip(product, low, high), np.where(inside, drho * advantages, 0.0)


def _clip_advantage(ratio: Term, advantages: np.ndarray, low: float, high: float) -> Term:
    rho, drho = ratio
    clipped_adv = np.clip(advantages, low, high)
    return rho * clipped_adv, drho * clipped_adv


def _minimum(unclipped: Term, clipped: Term) -> Term:
    pick = unclipped[0] <= clipped[0]
    return np.where(pick, unclipped[0], clipped[0]), np.where(pick, unclipped[1], clipped[1])


def _maximum(unclipped: Term, clipped: Term) -> Term:
    pick = unclipped[0] >= clipped[0]
    return np.where(pick, unclipped[0], clipped[0]), np.where(pick, unclipped[1], clipped[1])


def _only_unclipped(unclipped: Term, clipped: Term) -> Term:
    return unclipped


def _only_clipped(unclipped: Term, clipped: Term) -> Term:
    return clipped


def _ppo_variant(
    case: _Case,
    *,
    combine: Callable[[Term, Term], Term] = _minimum,
    clip: Callable[[Term, np.ndarray, float, float], Term] = _clip_ratio,
    ratio: Callable[[np.ndarray, np.ndarray], Term] = _ratio,
    sign: float = -1.0,
    summed: bool = False,
    leak: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """A (possibly mistaken) clipped surrogate, as [loss, d loss / d log_probs, leak flags]."""
    log_probs, old_log_probs = _np64(case.inputs["log_probs"]), _np64(case.inputs["old_log_probs"])
    advantages, eps = _np64(case.inputs["advantages"]), float(case.inputs["clip"])
    rho = ratio(log_probs, old_log_probs)
    unclipped = rho[0] * advantages, rho[1] * advantages
    values, grads = combine(unclipped, clip(rho, advantages, 1.0 - eps, 1.0 + eps))
    scale = 1.0 if summed else 1.0 / len(values)
    return np.concatenate([[sign * scale * values.sum()], sign * scale * grads, leak])


def _ppo_leaky(which: int) -> Callable[[_Case], np.ndarray | None]:
    name = ("old_log_probs", "advantages")[which]

    def mistaken(case: _Case) -> np.ndarray | None:
        if name not in case.settings.get("require_grad", ()):
            return None
        leak = (1.0, 0.0) if which == 0 else (0.0, 1.0)
        return _ppo_variant(case, leak=leak)

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
    description="PPO's clipped surrogate loss -min(ratio * A, clip(ratio) * A).mean()",
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
            lambda case: _ppo_variant(case, sign=1.0),
        ),
        (
            "took max instead of min: the min keeps the objective pessimistic, so moving the "
            "ratio past the clip range never looks better than it is",
            lambda case: _ppo_variant(case, combine=_maximum),
        ),
        (
            "clipped the advantage instead of the ratio: clip(ratio, 1 - clip, 1 + clip) * A",
            lambda case: _ppo_variant(case, clip=_clip_advantage),
        ),
        (
            "clipped the product ratio * A instead of the ratio: clip(ratio, 1 - clip, 1 + clip) "
            "* A",
            lambda case: _ppo_variant(case, clip=_clip_product),
        ),
        (
            "used only the clipped term: take the min with the unclipped ratio * A, so a move "
            "that makes the objective worse is not hidden by the clip",
            lambda case: _ppo_variant(case, combine=_only_clipped),
        ),
        (
            "did not clip at all: this is the plain importance-weighted surrogate; "
            "take min(ratio * A, clip(ratio, 1 - clip, 1 + clip) * A)",
            lambda case: _ppo_variant(case, combine=_only_unclipped),
        ),
        (
            "the ratio is inverted: pi_theta / pi_old = exp(log_probs - old_log_probs)",
            lambda case: _ppo_variant(case, ratio=_inverted_ratio),
        ),
        (
            "used the log-ratio log_probs - old_log_probs as the ratio; exponentiate it",
            lambda case: _ppo_variant(case, ratio=_log_ratio),
        ),
        (
            "used sum instead of mean: average over the batch so the step size does not "
            "depend on B",
            lambda case: _ppo_variant(case, summed=True),
        ),
    ),
    fallback=lambda got, expected, case: (
        "no gradient reached log_probs: build the ratio from log_probs itself"
        if got is not None and not got[1:-2].any() and expected[1:-2].any()
        else "ratio = exp(log_probs - old_log_probs); "
        "loss = -min(ratio * A, clip(ratio, 1 - clip, 1 + clip) * A).mean()"
    ),
    run=_ppo_run,
    show=_ppo_show,
    chapter_name="my_ppo_clip_loss",
)


_CRITIC = "advantages that require grad (as if computed by a critic)"


def _ppo_cases() -> list[_Case]:
    import torch

    rng = np.random.default_rng(_SEED + 10)
    # log-ratios that put the ratio well inside or well outside the clip range (never on
    # its edge, where the gradient of clip is a matter of convention)
    above, below, inside = 0.4, -0.4, 0.05
    # (label, batch size B, log-ratios, advantages (None: random), clip, which inputs
    # besides log_probs require grad, the index of an advantage set to 0)
    specs = (
        ("B = 1, ratio 1 (the first minibatch after collecting)", 1, [0.0], [0.7], 0.2, (), None),
        ("B = 1, ratio above 1 + clip with a positive advantage", 1, [above], [0.7], 0.2, (), None),
        (
            "B = 2, ratios below 1 - clip and above 1 + clip, negative advantages",
            2,
            [below, above],
            [-0.5, -1.2],
            0.2,
            (),
            None,
        ),
        (
            "B = 4, ratios inside and outside the clip range, advantages of both signs",
            4,
            [below, above, inside, above],
            [0.8, -0.6, 1.1, 0.9],
            0.2,
            (),
            None,
        ),
        ("B = 5, one advantage 0, clip 0.1", 5, [0.3, -0.2, 0.02, below, 0.15], None, 0.1, (), 1),
        (
            "B = 6, old_log_probs that require grad (not detached)",
            6,
            None,
            None,
            0.2,
            ("old_log_probs",),
            None,
        ),
        (f"B = 8, {_CRITIC}, clip 0.3", 8, None, None, 0.3, ("advantages",), None),
        ("B = 32, random ratios and advantages", 32, None, None, 0.2, (), None),
    )
    cases = []
    for label, b, log_ratios, advantages, clip, require_grad, zero in specs:
        if log_ratios is None:
            log_ratios = np.round(rng.normal(0.0, 0.3, size=b), 2)
        if advantages is None:
            advantages = np.round(rng.normal(0.0, 1.0, size=b), 1)
            advantages[advantages == 0.0] = 0.3
            if zero is not None:
                advantages[zero] = 0.0
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
                },
                {"require_grad": require_grad},
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


# ------------------------------------------------------- the Fisher matrix of a Gaussian


_GAUSSIAN_FISHER = _Problem(
    name="gaussian_fisher",
    signature="gaussian_fisher(features, log_std) -> (k + 1, k + 1)",
    covers=(
        "B = 1 to 8 states, k = 1 to 3 features, sigma = 1, above and below 1, features of "
        "both signs"
    ),
    description="the Fisher matrix of N(w . phi(s), sigma^2) in (w, log sigma)",
    reference=_fisher,
    mistakes=(
        (
            "sigma^2 vs 1 / sigma^2: the mean's score is (a - mu) phi / sigma^2, whose "
            "covariance is phi phi^T / sigma^2",
            lambda case: _fisher(case, mean_power=2.0),
        ),
        (
            "the mean's block is phi phi^T / sigma^2, not / sigma: the score (a - mu) / sigma^2 "
            "has variance 1 / sigma^2",
            lambda case: _fisher(case, mean_power=-1.0),
        ),
        (
            "the log sigma entry is E[(eps^2 - 1)^2] = E[eps^4] - 2 E[eps^2] + 1 = 3 - 2 + 1 = 2, "
            "not 1 (eps = (a - mu) / sigma)",
            lambda case: _fisher(case, log_std_entry=lambda sigma: 1.0),
        ),
        (
            "2 / sigma^2 is the Fisher information of sigma itself; in log sigma the chain rule "
            "multiplies it by (d sigma / d log sigma)^2 = sigma^2, which leaves 2",
            lambda case: _fisher(case, log_std_entry=lambda sigma: 2.0 / sigma**2),
        ),
        (
            "the Fisher matrix is E[score score^T] = -E[Hessian of log pi]: positive "
            "semi-definite, so the sign is plus",
            lambda case: _fisher(case, sign=-1.0),
        ),
        (
            "summed over the batch: F is the average over the states, E_s[...]",
            lambda case: _fisher(case, reduce="sum"),
        ),
        (
            "averaged the features before the outer product: F averages phi(s) phi(s)^T over "
            "the states, not (mean phi)(mean phi)^T",
            lambda case: _fisher(case, reduce="outer of means"),
        ),
        (
            "the mean's block is the whole matrix phi phi^T / sigma^2, off-diagonal entries "
            "included: features of one state move the mean together",
            lambda case: _fisher(case, reduce="diagonal"),
        ),
    ),
    fallback=lambda got, expected, case: (
        "return a (k + 1, k + 1) matrix: the k weights w first, then log sigma"
        if got is not None and got.shape != expected.shape
        else "F = [[mean_s phi phi^T / sigma^2, 0], [0, 2]], from the scores (a - mu) phi / "
        "sigma^2 and (a - mu)^2 / sigma^2 - 1"
    ),
)


def check_gaussian_fisher(fn: Callable[..., Any]) -> bool:
    r"""Exercise: the Fisher matrix of a Gaussian policy with a linear mean, derived (Chapter 9).

    ``fn(features, log_std) -> (k + 1, k + 1)`` for the policy
    :math:`a \sim \mathcal N(w^\top \phi(s), \sigma^2)` with a scalar action, parameters
    :math:`(w_1, \dots, w_k, \log \sigma)` in that order, ``features`` the
    :math:`\phi(s_i)` of a batch of :math:`B` states, shape (B, k), and ``log_std`` a float.
    The answer is :eq:`ch9-kl-quadratic` averaged over the batch:

    .. math::

        F = \begin{pmatrix} \frac{1}{B} \sum_i \phi(s_i) \phi(s_i)^\top / \sigma^2 & 0 \\
        0 & 2 \end{pmatrix}.

    Parameters
    ----------
    fn : callable
        Your function, called as ``fn(features, log_std)``.

    Returns
    -------
    bool
        True when every case passes; a verdict is printed.
    """
    return _check(_GAUSSIAN_FISHER, _gaussian_fisher_cases(), fn)


PROBLEMS = (_PPO, _GAUSSIAN_FISHER)


def __getattr__(name: str) -> Any:
    # REFERENCE imports pgkit.losses, and with it torch, only when asked for: importing the
    # checkers stays fast.
    if name == "REFERENCE":
        from pgkit.losses import ppo_clip_loss

        # pgkit's function that each exercise reproduces, called as the reader's function is.
        return {"ppo_clip_loss": ppo_clip_loss}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
