"""Chapter 8's exercises: :func:`pgkit.importance.trajectory_importance_weights` by hand, and
the performance-difference lemma on a tabular MDP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pgkit.exercises._cases import (
    _AXIS_HINT,
    _backward,
    _flags,
    _float,
    _forward,
    _random_flags,
    _returns_fallback,
    _shift_down,
    _transposed,
)
from pgkit.exercises._framework import _SEED, _Case, _check, _Problem

__all__ = [
    "check_importance_weights",
    "check_performance_difference",
    "check_trajectory_importance_weights",
]


def _restart_after_done(dones: np.ndarray) -> np.ndarray:
    """1 where the running sum carries on, 0 on the first step of an episode."""
    return 1.0 - _shift_down(dones)


def _restart_at_done(dones: np.ndarray) -> np.ndarray:
    return 1.0 - dones


def _never_restart(dones: np.ndarray) -> np.ndarray:
    return np.ones(dones.shape)


def _log_weights(
    case: _Case, *, keep: Callable[[np.ndarray], np.ndarray] = _restart_after_done
) -> np.ndarray:
    log_ratios = case.inputs["log_probs"] - case.inputs["old_log_probs"]
    return _forward(log_ratios, keep(_float(case.inputs["dones"])))


def _naive_weights(case: _Case) -> np.ndarray:
    ratios = np.exp(case.inputs["log_probs"] - case.inputs["old_log_probs"])
    keep = 1.0 - _shift_down(_float(case.inputs["dones"]))
    out = np.zeros(ratios.shape)
    current = np.ones(ratios.shape[1:])
    with np.errstate(all="ignore"):
        for t in range(ratios.shape[0]):
            current = np.where(keep[t] > 0, current, 1.0) * ratios[t]
            out[t] = current
    return out


def _whole_episode_weights(case: _Case) -> np.ndarray:
    log_ratios = case.inputs["log_probs"] - case.inputs["old_log_probs"]
    dones = _float(case.inputs["dones"])
    total = _forward(log_ratios, 1.0 - _shift_down(dones)) + _backward(log_ratios, 1.0 - dones)
    return np.exp(total - log_ratios)


def _importance_reference(case: _Case) -> np.ndarray:
    from pgkit.importance import trajectory_importance_weights

    return np.asarray(trajectory_importance_weights(**case.inputs))


_IMPORTANCE = _Problem(
    name="trajectory_importance_weights",
    signature="trajectory_importance_weights(log_probs, old_log_probs, dones) -> (T,) or (T, N)",
    covers=(
        "T = 1, episodes ending mid-batch and on the last step, (T, N) batches, "
        "a 700-step episode that needs log space"
    ),
    description="per-episode cumulative importance weights, in log space",
    reference=_importance_reference,
    mistakes=(
        (
            "weights did not reset at the episode end: each episode's product starts "
            "again at its first step",
            lambda case: np.exp(_log_weights(case, keep=_never_restart)),
        ),
        (
            "off by one at the episode end: done_t = True marks the LAST step of an episode; "
            "the product restarts at step t + 1",
            lambda case: np.exp(_log_weights(case, keep=_restart_at_done)),
        ),
        (
            "these are per-step ratios; the weight at t multiplies the ratios of every step "
            "from the episode's first step up to t",
            lambda case: np.exp(case.inputs["log_probs"] - case.inputs["old_log_probs"]),
        ),
        (
            "the ratio is inverted: pi_theta / pi_old = exp(log_probs - old_log_probs)",
            lambda case: np.exp(-_log_weights(case)),
        ),
        (
            "the weight at t multiplies the ratios up to t only, not the whole episode's",
            _whole_episode_weights,
        ),
        (
            "the product includes step t itself: prod_{k=start}^{t}, not up to t - 1",
            lambda case: np.exp(
                _log_weights(case) - (case.inputs["log_probs"] - case.inputs["old_log_probs"])
            ),
        ),
        (
            "did not use log space: a product of hundreds of ratios underflows to 0 (or "
            "overflows); add the log-ratios (a cumulative sum) and exponentiate once",
            _naive_weights,
        ),
        (_AXIS_HINT, _transposed(lambda case: np.exp(_log_weights(case)))),
    ),
    fallback=_returns_fallback(
        "compare with log w_t = (log_probs_t - old_log_probs_t) + (1 - done_{t-1}) log w_{t-1}, "
        "then w_t = exp(log w_t)"
    ),
    time_major=True,
    chapter_name="my_trajectory_importance_weights",
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
        inputs: dict[str, Any] = {
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


def check_trajectory_importance_weights(fn: Callable[..., Any]) -> bool:
    r"""Exercise: cumulative importance weights within each episode (Chapter 8).

    ``fn(log_probs, old_log_probs, dones)``, your own
    :func:`pgkit.importance.trajectory_importance_weights` (not
    :func:`pgkit.importance.importance_weights`, the per-step ratio), arrays (T,) or (T, N):

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


def check_importance_weights(fn: Callable[..., Any]) -> bool:
    r"""The former name of :func:`check_trajectory_importance_weights`, kept for one release (Chapter 8).

    The exercise reproduces :func:`pgkit.importance.trajectory_importance_weights`, so its
    checker now carries that name; this one runs the same check.

    Parameters
    ----------
    fn : callable
        Your function, called as ``fn(log_probs, old_log_probs, dones)``.

    Returns
    -------
    bool
        True when every case passes; a verdict is printed.
    """
    return check_trajectory_importance_weights(fn)


# ----------------------------------------------------- the performance-difference lemma
def _improvement(case: _Case, visits: str = "new_visitation", probs: str = "new_probs") -> float:
    """sum_s visits(s) sum_a probs(a | s) A(s, a) / (1 - gamma): the lemma, or a mistake."""
    inputs = case.inputs
    per_state = (inputs[probs] * inputs["advantages"]).sum(axis=1)
    return float(inputs[visits] @ per_state / (1.0 - inputs["gamma"]))


def _difference_reference(case: _Case) -> np.ndarray:
    from pgkit.tabular import objective

    return np.asarray(
        objective(case.settings["mdp"], case.settings["new_theta"]) - case.settings["old_objective"]
    )


_DIFFERENCE = _Problem(
    name="performance_difference",
    signature=(
        "performance_difference(advantages, old_probs, new_probs, old_visitation, "
        "new_visitation, gamma) -> float"
    ),
    covers="S = 2 to 5 states, A = 2 or 3 actions, gamma = 0 to 0.99, small and large changes",
    description="J(pi') - J(pi) from the old advantages and the new policy's visitation",
    reference=_difference_reference,
    mistakes=(
        (
            "that is the surrogate L_old(theta), which weights the states by the OLD policy's "
            "visitation; the lemma needs the new policy's, and the surrogate agrees with it only "
            "to first order",
            lambda case: np.asarray(_improvement(case, visits="old_visitation")),
        ),
        (
            "under the old policy the advantages average to zero in every state: the actions "
            "must come from the new policy, new_probs",
            lambda case: np.zeros(()),
        ),
        (
            "the visitation given is normalised, (1 - gamma) sum_t gamma^t Pr(s_t = s), a "
            "distribution: divide the sum by (1 - gamma) to count the discounted visits",
            lambda case: np.asarray(_improvement(case) * (1.0 - case.inputs["gamma"])),
        ),
        (
            "divide by (1 - gamma), do not multiply: the normalised visitation undercounts the "
            "discounted visits by that factor",
            lambda case: np.asarray(_improvement(case) * (1.0 - case.inputs["gamma"]) ** 2),
        ),
        (
            "the sign is reversed: the OLD policy's advantages averaged under the NEW policy give "
            "J(pi') - J(pi), how much better the new policy is",
            lambda case: np.asarray(-_improvement(case)),
        ),
    ),
    fallback=lambda got, expected, case: (
        "return one number, J(pi') - J(pi)"
        if got is not None and got.shape != expected.shape
        else "J(pi') - J(pi) = sum_s new_visitation(s) sum_a new_probs(a | s) A(s, a) / (1 - gamma)"
    ),
)


def _difference_cases() -> list[_Case]:
    from pgkit import tabular

    rng = np.random.default_rng(_SEED + 81)
    cases = []
    for label, n_states, n_actions, gamma, step in (
        ("S = 2, A = 2, gamma = 0: one decision", 2, 2, 0.0, 1.0),
        ("S = 2, A = 2, gamma = 0.5", 2, 2, 0.5, 1.0),
        ("S = 3, A = 2, gamma = 0.9, a small change of policy", 3, 2, 0.9, 0.1),
        ("S = 3, A = 3, gamma = 0.9, a large change of policy", 3, 3, 0.9, 2.0),
        ("S = 5, A = 3, gamma = 0.99", 5, 3, 0.99, 1.0),
    ):
        transitions = rng.dirichlet(np.ones(n_states), size=(n_states, n_actions))
        rewards = np.round(rng.normal(0.0, 1.0, (n_states, n_actions)), 1)
        mdp = tabular.TabularMDP(transitions, rewards, rng.dirichlet(np.ones(n_states)), gamma)
        old_theta = np.round(rng.normal(0.0, 1.0, (n_states, n_actions)), 1)
        new_theta = old_theta + step * np.round(rng.normal(0.0, 1.0, (n_states, n_actions)), 1)
        advantages = tabular.q_values(mdp, old_theta) - tabular.values(mdp, old_theta)[:, None]
        inputs: dict[str, Any] = {
            "advantages": advantages,
            "old_probs": tabular.policy(mdp, old_theta),
            "new_probs": tabular.policy(mdp, new_theta),
            # No episode ends, so (1 - gamma) d_gamma sums to 1: a distribution over states.
            "old_visitation": (1.0 - gamma) * tabular.visitation(mdp, old_theta),
            "new_visitation": (1.0 - gamma) * tabular.visitation(mdp, new_theta),
            "gamma": gamma,
        }
        settings = {
            "mdp": mdp,
            "new_theta": new_theta,
            "old_objective": tabular.objective(mdp, old_theta),
        }
        cases.append(_Case(label, inputs, settings))
    return cases


def check_performance_difference(fn: Callable[..., Any]) -> bool:
    r"""Exercise: the performance-difference lemma on a tabular MDP (Chapter 8).

    ``fn(advantages, old_probs, new_probs, old_visitation, new_visitation, gamma) -> float``
    on a random MDP whose episodes never end: the old policy's advantages
    :math:`A^{\pi}(s, a)` (S, A), both policies' action probabilities (S, A), both policies'
    normalised discounted state distributions
    :math:`(1 - \gamma) \sum_t \gamma^t \Pr(s_t = s)` (S,), and :math:`\gamma < 1`. The
    answer is :eq:`ch8-performance-difference` with the visitation in place of the sum over
    steps,

    .. math::

        J_\gamma(\pi') - J_\gamma(\pi) = \frac{1}{1 - \gamma} \sum_s d^{\pi'}(s)
        \sum_a \pi'(a \mid s)\, A^{\pi}(s, a),

    compared with the exact difference of :func:`pgkit.tabular.objective`.

    Parameters
    ----------
    fn : callable
        Your function, called as
        ``fn(advantages, old_probs, new_probs, old_visitation, new_visitation, gamma)``.

    Returns
    -------
    bool
        True when every case passes; a verdict is printed.
    """
    return _check(_DIFFERENCE, _difference_cases(), fn)


PROBLEMS = (_IMPORTANCE, _DIFFERENCE)
# Names the exercises had in earlier releases, still accepted by ``python -m pgkit check``.
FORMER_NAMES = {"trajectory_importance_weights": ("importance_weights",)}


def __getattr__(name: str) -> Any:
    # REFERENCE imports pgkit.importance, and with it torch, only when asked for: importing the
    # checkers stays fast.
    if name == "REFERENCE":
        from pgkit.importance import trajectory_importance_weights

        # pgkit's function that each exercise reproduces, called as the reader's function is.
        return {"trajectory_importance_weights": trajectory_importance_weights}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
