"""Chapter 5's exercises: the reward-to-go and discounted returns, resetting at episode ends;
the optimal constant baseline of a bandit; the size of the gamma^t bias on the two-state MDP."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from pgkit.exercises._cases import (
    _AXIS_HINT,
    _backward,
    _flags,
    _float,
    _forward,
    _r,
    _random_flags,
    _returns_fallback,
    _shift_down,
    _shift_up,
    _steps_since_start,
    _time_index,
    _transposed,
)
from pgkit.exercises._derivations import (
    _baseline,
    _baseline_cases,
    _gamma_bias_cases,
    _gap,
    _squared_score,
    _weighted_advantages,
    _weighted_policy,
)
from pgkit.exercises._framework import _SEED, _Case, _check, _Problem
from pgkit.returns import discounted_returns

__all__ = [
    "check_discounted_returns",
    "check_gamma_bias",
    "check_optimal_baseline",
    "check_reward_to_go",
]


def _discounted(rewards: np.ndarray, dones: np.ndarray, gamma: float) -> np.ndarray:
    return _backward(rewards, gamma * (1.0 - _float(dones)))


def _episode_totals(rewards: np.ndarray, dones: np.ndarray, gamma: float) -> np.ndarray:
    """R(tau) of each step's episode, discounted from the episode's first step."""
    dones = _float(dones)
    from_start = _backward(gamma ** _steps_since_start(dones) * rewards, 1.0 - dones)
    starts = _forward(np.ones(dones.shape), 1.0 - _shift_down(dones)) == 1.0
    totals = np.zeros(rewards.shape)
    current = np.zeros(rewards.shape[1:])
    for t in range(rewards.shape[0]):
        current = np.where(starts[t], from_start[t], current)
        totals[t] = current
    return totals


def _returns_mistakes(with_gamma: bool) -> tuple[tuple[str, Callable[[_Case], Any]], ...]:
    def g(case: _Case) -> float:
        return case.inputs["gamma"] if with_gamma else 1.0

    def correct(case: _Case) -> np.ndarray:
        return _discounted(case.inputs["rewards"], case.inputs["dones"], g(case))

    mistakes: list[tuple[str, Callable[[_Case], Any]]] = [
        (
            "returns did not reset at the episode end: multiply the future part by "
            "(1 - done_t), so nothing flows back across an episode boundary",
            lambda case: _backward(
                case.inputs["rewards"], g(case) * np.ones(case.inputs["rewards"].shape)
            ),
        ),
        (
            "off by one at the episode end: done_t = True marks the LAST step of an episode, "
            "so G_t = r_t there (reset before adding r_t, not after)",
            lambda case: _backward(
                case.inputs["rewards"], g(case) * (1.0 - _shift_up(_float(case.inputs["dones"])))
            ),
        ),
        (
            "that is the whole episode's return R(tau) at every step; the return from t "
            "only sums the rewards from t to the episode's end",
            lambda case: _episode_totals(case.inputs["rewards"], case.inputs["dones"], g(case)),
        ),
        (
            "summed the rewards up to t (a forward cumulative sum); G_t sums the rewards "
            "from t to the end of the episode",
            lambda case: _forward(
                case.inputs["rewards"], g(case) * (1.0 - _shift_down(_float(case.inputs["dones"])))
            ),
        ),
    ]
    if with_gamma:
        mistakes += [
            (
                "looks like you used gamma ** t' instead of gamma ** (t' - t): "
                "discounting restarts from the step whose return you compute",
                lambda case: _backward(
                    case.inputs["gamma"] ** _time_index(case.inputs["rewards"])
                    * case.inputs["rewards"],
                    1.0 - _float(case.inputs["dones"]),
                ),
            ),
            (
                "looks like you used gamma ** t' instead of gamma ** (t' - t), with t' "
                "counted from the episode's start: discounting restarts at t",
                lambda case: _backward(
                    case.inputs["gamma"] ** _steps_since_start(_float(case.inputs["dones"]))
                    * case.inputs["rewards"],
                    1.0 - _float(case.inputs["dones"]),
                ),
            ),
            (
                "the first reward is not discounted: G_t = r_t + gamma G_{t+1}",
                lambda case: case.inputs["gamma"] * correct(case),
            ),
            (
                "gamma was ignored: G_t = r_t + gamma (1 - done_t) G_{t+1}",
                lambda case: _discounted(case.inputs["rewards"], case.inputs["dones"], 1.0),
            ),
        ]
    mistakes.append((_AXIS_HINT, _transposed(correct)))
    return tuple(mistakes)


def _reward_to_go_reference(case: _Case) -> np.ndarray:
    return np.asarray(discounted_returns(case.inputs["rewards"], case.inputs["dones"], gamma=1.0))


def _discounted_reference(case: _Case) -> np.ndarray:
    return np.asarray(
        discounted_returns(case.inputs["rewards"], case.inputs["dones"], gamma=case.inputs["gamma"])
    )


_REWARD_TO_GO = _Problem(
    name="reward_to_go",
    signature="reward_to_go(rewards, dones) -> (T,) or (T, N)",
    covers="T = 1, episodes ending mid-batch and on the last step, (T, N) batches",
    description="undiscounted reward-to-go, resetting at episode ends",
    reference=_reward_to_go_reference,
    mistakes=_returns_mistakes(with_gamma=False),
    fallback=_returns_fallback(
        "compare with G_t = r_t + (1 - done_t) G_{t+1}, computed backwards from t = T - 1"
    ),
    time_major=True,
)

_DISCOUNTED = _Problem(
    name="discounted_returns",
    signature="discounted_returns(rewards, dones, gamma) -> (T,) or (T, N)",
    covers=(
        "T = 1, episodes ending mid-batch and on the last step, (T, N) batches, gamma = 0 and 1"
    ),
    description="discounted returns G_t = r_t + gamma (1 - done_t) G_{t+1}",
    reference=_discounted_reference,
    mistakes=_returns_mistakes(with_gamma=True),
    fallback=_returns_fallback(
        "compare with G_t = r_t + gamma (1 - done_t) G_{t+1}, computed backwards from t = T - 1"
    ),
    time_major=True,
    chapter_name="discounted",
)


def _dones_cases(with_gamma: bool) -> list[_Case]:
    rng = np.random.default_rng(_SEED + (6 if with_gamma else 5))
    specs: list[tuple[Any, dict[Any, str], float]] = [
        (1, {}, 0.9),
        (1, {0: "term"}, 0.9),
        (3, {}, 0.5),
        (3, {}, 0.0),
        (3, {}, 1.0),
        (4, {1: "term"}, 0.9),
        (4, {3: "term"}, 0.9),
        (5, {0: "term", 1: "term", 2: "term", 3: "term", 4: "term"}, 0.8),
        (6, {1: "term", 3: "trunc"}, 0.8),
        ((5, 2), None, 0.9),
        ((8, 3), None, 0.99),
        ((12, 4), None, 1.0),
    ]
    if not with_gamma:
        specs = [s for s in specs if not (s[0] == 3 and s[2] in (0.0, 1.0))]
    cases = []
    for shape, where, gamma in specs:
        if isinstance(shape, tuple):
            terminated, truncated = _random_flags(rng, shape)
            label = f"(T, N) = {shape}, random episode ends"
        else:
            terminated, truncated = _flags((shape,), where)
            ends = [t for t in range(shape) if terminated[t] or truncated[t]]
            if len(ends) == shape and shape > 1:
                episodes = "every step ends an episode"
            elif ends and ends[-1] == shape - 1:
                episodes = f"episode ends at t = {', '.join(map(str, ends))} (the last step)"
            elif ends:
                episodes = f"episode ends at t = {', '.join(map(str, ends))}"
            else:
                episodes = "no episode end"
            label = f"T = {shape}, {episodes}"
        rewards = _r(rng, terminated.shape)
        inputs: dict[str, Any] = {"rewards": rewards, "dones": terminated | truncated}
        if with_gamma:
            inputs["gamma"] = gamma
            label += f", gamma = {gamma:g}"
        cases.append(_Case(label, inputs))
    return cases


def check_reward_to_go(fn: Callable[..., Any]) -> bool:
    r"""Exercise: the reward-to-go, undiscounted and time-major (Chapter 5).

    ``fn(rewards, dones) -> same shape`` with ``rewards`` a float array and ``dones``
    a boolean array (episode ended after step :math:`t`), both (T,) or (T, N):

    .. math::

        G_t = \sum_{t'=t}^{e_t} r_{t'} = r_t + (1 - \text{done}_t) G_{t+1},

    with :math:`e_t` the last step of :math:`t`'s episode. Compared with
    :func:`pgkit.returns.discounted_returns` with :math:`\gamma = 1`.

    Parameters
    ----------
    fn : callable
        Your function, called as ``fn(rewards, dones)``.

    Returns
    -------
    bool
        True when every case passes; a verdict is printed.
    """
    return _check(_REWARD_TO_GO, _dones_cases(with_gamma=False), fn)


def check_discounted_returns(fn: Callable[..., Any]) -> bool:
    r"""Exercise: discounted returns from each step, resetting at episode ends (Chapter 5).

    ``fn(rewards, dones, gamma) -> same shape`` (the arguments of
    :func:`pgkit.returns.discounted_returns`), arrays (T,) or (T, N):

    .. math::

        G_t = \sum_{t'=t}^{e_t} \gamma^{t' - t} r_{t'} = r_t + \gamma (1 - \text{done}_t) G_{t+1},

    with :math:`e_t` the last step of :math:`t`'s episode and no bootstrap at the end of
    the data.

    Parameters
    ----------
    fn : callable
        Your function, called as ``fn(rewards, dones, gamma)``.

    Returns
    -------
    bool
        True when every case passes; a verdict is printed.
    """
    return _check(_DISCOUNTED, _dones_cases(with_gamma=True), fn)


# --------------------------------------------------------------------- the optimal baseline


_BASELINE = _Problem(
    name="optimal_baseline",
    signature="optimal_baseline(probs, rewards) -> float",
    covers="K = 2 to 6 actions, a uniform policy, nearly greedy ones, rewards of both signs",
    description="the variance-minimising constant baseline of a softmax bandit",
    reference=lambda case: np.asarray(_baseline(case, _squared_score)),
    mistakes=(
        (
            "that is the average reward E[r]: it is b* only when every action's score has the "
            "same length; weight each reward by the squared length ||e_a - pi||^2 as well",
            lambda case: np.asarray(case.inputs["probs"] @ case.inputs["rewards"]),
        ),
        (
            "the weight is the SQUARED length of the score, ||grad log pi(a)||^2, not its length",
            lambda case: np.asarray(_baseline(case, lambda p, g: np.sqrt((g**2).sum(axis=1)))),
        ),
        (
            "the score of a softmax is the whole vector e_a - pi: its squared length is "
            "(1 - pi_a)^2 + sum_{b != a} pi_b^2, not (1 - pi_a)^2 alone",
            lambda case: np.asarray(_baseline(case, lambda p, g: (1.0 - p) ** 2)),
        ),
        (
            "the expectations are over the policy's actions, a ~ pi: weight each action's "
            "term by pi_a as well as by ||e_a - pi||^2",
            lambda case: np.asarray(
                _baseline(case, lambda p, g: _squared_score(p, g) / np.maximum(p, 1e-300))
            ),
        ),
        (
            "that is the plain mean of the rewards over actions; b* averages them under the "
            "policy, weighted by the squared score ||e_a - pi||^2",
            lambda case: np.asarray(case.inputs["rewards"].mean()),
        ),
    ),
    fallback=lambda got, expected, case: (
        "return one number, b*"
        if got is not None and got.shape != expected.shape
        else "b* = sum_a pi_a r_a ||e_a - pi||^2 / sum_a pi_a ||e_a - pi||^2, with e_a the "
        "one-hot vector of action a"
    ),
)


def check_optimal_baseline(fn: Callable[..., Any]) -> bool:
    r"""Exercise: the optimal constant baseline of a softmax bandit, derived (Chapter 5).

    ``fn(probs, rewards) -> float`` with ``probs`` the softmax policy :math:`\pi` over
    :math:`K` actions, shape (K,), and ``rewards`` the reward :math:`r_a` of each action, shape
    (K,). The answer is :eq:`ch5-optimal-baseline` for one decision, whose score with respect
    to the logits is :math:`e_a - \pi`:

    .. math::

        b^\ast = \frac{\sum_a \pi_a\, r_a\, \|e_a - \pi\|^2}{\sum_a \pi_a\, \|e_a - \pi\|^2}.

    Parameters
    ----------
    fn : callable
        Your function, called as ``fn(probs, rewards)``.

    Returns
    -------
    bool
        True when every case passes; a verdict is printed.
    """
    return _check(_BASELINE, _baseline_cases(), fn)


# ----------------------------------------------------------- the gamma^t bias, two states


_GAMMA_BIAS = _Problem(
    name="gamma_bias",
    signature="gamma_bias(theta, gamma, termination) -> (2, 2)",
    covers=(
        "gamma = 0 to 1, termination 0.05 to 1, the uniform policy and policies that favour "
        "either state"
    ),
    description="g^gamma - grad J_gamma on the two-state MDP, exactly",
    reference=_gap,
    mistakes=(
        (
            "the sign is reversed: the bias is what the estimator's expectation g^gamma exceeds "
            "the true gradient by, g^gamma - grad J_gamma",
            lambda case: -_gap(case),
        ),
        (
            "your gap is zero: without gamma^t the steps are weighted by the undiscounted "
            "expected visits eta(s) = sum_t Pr(s_t = s), not by d_gamma(s)",
            lambda case: np.zeros((2, 2)),
        ),
        (
            "g^gamma keeps the DISCOUNTED advantage A^{pi,gamma}: only the weights of the states "
            "lose gamma^t; with the undiscounted advantage eta pi A is grad J, not g^gamma",
            lambda case: _weighted_advantages(case, "eta", 1.0) - _weighted_advantages(case, "d"),
        ),
        (
            "the tabular-softmax gradient is visits(s) pi(a | s) A(s, a): the factor pi(a | s) "
            "is missing",
            lambda case: _gap(case) / _weighted_policy(case),
        ),
        (
            "that is g^gamma itself; the exercise asks for the bias g^gamma - grad J_gamma",
            lambda case: _weighted_advantages(case, "eta"),
        ),
    ),
    fallback=lambda got, expected, case: (
        "return one entry per state and action: shape (2, 2), like theta"
        if got is not None and got.shape != expected.shape
        else "g^gamma - grad J_gamma = (eta(s) - d_gamma(s)) pi(a | s) A^{pi,gamma}(s, a), "
        "with eta(s) = sum_t Pr(s_t = s) the undiscounted expected visits"
    ),
)


def check_gamma_bias(fn: Callable[..., Any]) -> bool:
    r"""Exercise: the size of the :math:`\gamma^t` bias on the two-state MDP (Chapter 5).

    ``fn(theta, gamma, termination) -> (2, 2)``: for
    :func:`pgkit.tabular.two_state_mdp` with this ``gamma`` and ``termination`` and the
    tabular softmax policy with logits ``theta`` (2, 2), the gap between the expectation
    :math:`g^\gamma` :eq:`ch5-g-gamma` of the estimator that drops :math:`\gamma^t` and the
    gradient :math:`\nabla_\theta J_\gamma` :eq:`ch5-pg-theorem`:

    .. math::

        \bigl(g^\gamma - \nabla_\theta J_\gamma\bigr)_{s,a}
        = \bigl(\eta(s) - d^\pi_\gamma(s)\bigr)\, \pi_\theta(a \mid s)\, A^{\pi,\gamma}(s, a),

    with :math:`\eta(s) = \sum_t \Pr(s_t = s)` the undiscounted expected number of visits.
    Compared with :func:`pgkit.tabular.gradient` and :func:`pgkit.tabular.visitation`.

    Parameters
    ----------
    fn : callable
        Your function, called as ``fn(theta, gamma, termination)``.

    Returns
    -------
    bool
        True when every case passes; a verdict is printed.
    """
    return _check(_GAMMA_BIAS, _gamma_bias_cases(), fn)


PROBLEMS = (_REWARD_TO_GO, _DISCOUNTED, _BASELINE, _GAMMA_BIAS)
# pgkit's function that each exercise reproduces, called as the reader's function is.
# The reward-to-go is discounted_returns with gamma = 1.
REFERENCE = {
    "reward_to_go": functools.partial(discounted_returns, gamma=1.0),
    "discounted_returns": discounted_returns,
}
