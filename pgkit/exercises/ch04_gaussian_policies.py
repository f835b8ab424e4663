"""Chapter 4's exercise: the log-likelihood of a diagonal Gaussian policy."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from pgkit.exercises._cases import _NONFINITE_HINT, _np64
from pgkit.exercises._framework import _SEED, _Case, _check, _Problem

__all__ = ["check_gaussian_log_likelihood"]

_LOG_2PI = math.log(2.0 * math.pi)


def _gaussian_log_likelihood(actions: Any, mu: Any, log_std: Any) -> Any:
    """log pi(a | s) from the distribution :class:`pgkit.policies.GaussianPolicy` returns."""
    from torch.distributions import Independent, Normal

    return Independent(Normal(mu, log_std.exp()), 1).log_prob(actions)


def _gaussian_reference(case: _Case) -> np.ndarray:
    return _np64(_gaussian_log_likelihood(**case.inputs))


def _gaussian(
    case: _Case,
    *,
    square_std: bool = True,
    constant_per_dim: bool = True,
    constant_once: bool = False,
    normaliser: float = 1.0,
    half: float = 0.5,
    reduce: Callable[..., np.ndarray] | None = np.sum,
    std_is_log_std: bool = False,
) -> np.ndarray:
    """The log-likelihood computed in numpy, with the known mistakes switched on."""
    actions, mu, log_std = (_np64(case.inputs[k]) for k in ("actions", "mu", "log_std"))
    std = log_std if std_is_log_std else np.exp(log_std)
    log_sigma = np.log(std)
    scale = std**2 if square_std else std
    per_dim = -half * (actions - mu) ** 2 / scale - normaliser * log_sigma
    if constant_per_dim:
        per_dim = per_dim - 0.5 * _LOG_2PI
    if reduce is None:
        return per_dim
    total = reduce(per_dim, axis=-1)
    if constant_once:
        total = total - 0.5 * _LOG_2PI
    return total


def _gaussian_fallback(got: np.ndarray | None, expected: np.ndarray, case: _Case) -> str:
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
    description="log-likelihood of a diagonal Gaussian policy, summed over action dimensions",
    reference=_gaussian_reference,
    mistakes=(
        (
            "forgot to sum over action dimensions: the log-likelihood of a diagonal "
            "Gaussian is the sum of the per-dimension terms, shape (B,)",
            lambda case: _gaussian(case, reduce=None),
        ),
        (
            "averaged over action dimensions; the log-likelihood sums them",
            lambda case: _gaussian(case, reduce=np.mean),
        ),
        (
            "log-likelihood is missing the -0.5 log(2 pi) constant (once per action dimension)",
            lambda case: _gaussian(case, constant_per_dim=False),
        ),
        (
            "the -0.5 log(2 pi) constant appears once per action dimension, not once per sample",
            lambda case: _gaussian(case, constant_per_dim=False, constant_once=True),
        ),
        (
            "sigma vs sigma^2: divide the squared error by the variance sigma^2 = "
            "exp(2 log_std), not by sigma",
            lambda case: _gaussian(case, square_std=False),
        ),
        (
            "used log_std as the standard deviation: sigma = exp(log_std)",
            lambda case: _gaussian(case, std_is_log_std=True),
        ),
        (
            "the normaliser is -log sigma = -log_std per dimension; it looks like you used "
            "-log sigma^2",
            lambda case: _gaussian(case, normaliser=2.0),
        ),
        (
            "missing the -log sigma term (-log_std per dimension)",
            lambda case: _gaussian(case, normaliser=0.0),
        ),
        (
            "missing the 1/2 in front of the squared error: -(a - mu)^2 / (2 sigma^2)",
            lambda case: _gaussian(case, half=1.0),
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

    which is ``Independent(Normal(mu, sigma), 1).log_prob(actions)``, the distribution
    :class:`pgkit.policies.GaussianPolicy` returns.

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


PROBLEMS = (_GAUSSIAN,)
# The answer is the log_prob of GaussianPolicy's distribution; pgkit has no function of this
# exercise's signature to list as the one it reproduces.
REFERENCE: dict[str, Callable[..., Any]] = {}
