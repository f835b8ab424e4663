r"""The finite MDP of :mod:`pgkit.tabular` and its closed forms: values, the objective, the
discounted state visitation and the exact policy gradient (Chapter 5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pgkit.validation import (
    check_bool_flags,
    check_finite,
    check_int,
    check_no_overflow,
    check_unit_interval,
    to_numpy,
)

__all__ = [
    "TabularMDP",
    "chain_mdp",
    "gradient",
    "objective",
    "policy",
    "q_values",
    "two_state_mdp",
    "values",
    "visitation",
]

_TOL = 1e-9  # rounding allowed in probabilities that must sum to 1


def _float_array(name: str, x: Any, ndim: int) -> np.ndarray:
    arr = to_numpy(x, name, dtype=np.float64)
    if arr.ndim != ndim or 0 in arr.shape:
        raise ValueError(f"{name} must be a non-empty {ndim}-D array, got shape {arr.shape}")
    check_finite(name, arr)
    return arr


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr = np.array(arr)  # a private copy the caller cannot change
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class TabularMDP:
    r"""A finite MDP with absorbing terminal states or a termination probability (Chapter 5).

    Parameters
    ----------
    transitions : array_like, shape (S, A, S)
        :math:`P(s' \mid s, a)`, non-negative; each row sums to at most 1, the rest being the
        probability that the episode ends after :math:`(s, a)`.
    rewards : array_like, shape (S, A)
        :math:`r(s, a)`, the reward of taking :math:`a` in :math:`s`.
    initial : array_like, shape (S,)
        :math:`\rho_0`, a probability vector with no mass on terminal states.
    gamma : float in [0, 1]
        Discount :math:`\gamma`. With :math:`\gamma = 1` every state must reach the end of the
        episode (a terminal state or a termination probability) under a policy that tries every
        action.
    terminal : array_like of bool, shape (S,), optional
        Terminal states; each must be absorbing (:math:`P(s \mid s, a) = 1`) with reward 0.
        Entering one ends the episode. Default: none.

    Raises
    ------
    TypeError, ValueError
        Naming the argument that is not of this form.
    """

    transitions: np.ndarray
    rewards: np.ndarray
    initial: np.ndarray
    gamma: float
    terminal: np.ndarray | None = None

    def __post_init__(self) -> None:
        p = _float_array("transitions", self.transitions, 3)
        n_states, n_actions = p.shape[:2]
        if p.shape[2] != n_states:
            raise ValueError(f"transitions must have shape (S, A, S), got shape {p.shape}")
        with np.errstate(over="ignore"):  # a sum that overflows is > 1, refused below
            row_sums = p.sum(-1)
        if (p < 0).any() or (row_sums > 1 + _TOL).any():
            raise ValueError(
                "transitions must be probabilities: non-negative, each row P(. | s, a) summing "
                "to at most 1 (the rest is the probability that the episode ends)"
            )
        r = _float_array("rewards", self.rewards, 2)
        if r.shape != (n_states, n_actions):
            raise ValueError(f"rewards must have shape {(n_states, n_actions)}, got {r.shape}")
        mu = _float_array("initial", self.initial, 1)
        with np.errstate(over="ignore"):
            mu_sum = mu.sum()
        if mu.shape != (n_states,) or (mu < 0).any() or abs(mu_sum - 1) > _TOL:
            raise ValueError(f"initial must be a probability vector of length {n_states}, got {mu}")
        gamma = check_unit_interval("gamma", self.gamma)
        if self.terminal is None:
            term = np.zeros(n_states, dtype=bool)
        else:
            term = check_bool_flags("terminal", to_numpy(self.terminal, "terminal"))
            if term.shape != (n_states,):
                raise ValueError(f"terminal must have shape ({n_states},), got {term.shape}")
        stays = p[term, :, term] if term.any() else np.ones(1)
        if (np.abs(stays - 1) > _TOL).any() or (r[term] != 0).any():
            raise ValueError("terminal states must be absorbing (P(s | s, a) = 1) with reward 0")
        if (mu[term] > 0).any():
            raise ValueError("initial puts probability on a terminal state")
        for name, value in [("transitions", p), ("rewards", r), ("initial", mu)]:
            object.__setattr__(self, name, _frozen(value))
        object.__setattr__(self, "terminal", _frozen(term))
        object.__setattr__(self, "gamma", gamma)
        if gamma == 1:
            uniform = _continuing(self, np.full((n_states, n_actions), 1 / n_actions))
            if np.abs(np.linalg.eigvals(uniform)).max() > 1 - 1e-9:
                raise ValueError(
                    "gamma = 1 needs every episode to end, but from some state the chain never "
                    "reaches a terminal state or a termination probability; use gamma < 1"
                )

    @property
    def n_states(self) -> int:
        """S, the number of states."""
        return self.rewards.shape[0]

    @property
    def n_actions(self) -> int:
        """A, the number of actions."""
        return self.rewards.shape[1]


def _continuing(mdp: TabularMDP, pi: np.ndarray) -> np.ndarray:
    """P_pi: transitions that continue the episode (nothing out of or into a terminal state)."""
    keep = ~mdp.terminal
    return np.einsum("sa,sat->st", pi, mdp.transitions) * keep[:, None] * keep[None, :]


def _check_mdp(mdp: Any) -> TabularMDP:
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp must be a pgkit.tabular.TabularMDP, got {type(mdp).__name__}")
    return mdp


def policy(mdp: TabularMDP, theta: Any) -> np.ndarray:
    r"""The tabular softmax policy :math:`\pi_\theta(a \mid s)` (Chapter 3).

    .. math::

        \pi_\theta(a \mid s) = \frac{e^{\theta_{s,a}}}{\sum_b e^{\theta_{s,b}}}.

    Parameters
    ----------
    mdp, theta : TabularMDP, and array_like or torch.Tensor of shape (S, A)
        The MDP and the (finite) logits :math:`\theta` of the softmax policy.

    Returns
    -------
    probs : numpy.ndarray, shape (S, A), float64
        Each row sums to 1.
    """
    mdp = _check_mdp(mdp)
    theta = to_numpy(theta, "theta", dtype=np.float64)
    if theta.shape != (mdp.n_states, mdp.n_actions):
        raise ValueError(
            f"theta must have shape {(mdp.n_states, mdp.n_actions)}, got shape {theta.shape}"
        )
    check_finite("theta", theta)
    with np.errstate(over="ignore"):  # logits a float-range apart: exp(-inf) = 0 is right
        z = np.exp(theta - theta.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def _solve(mdp: TabularMDP, pi: np.ndarray, b: np.ndarray, transpose: bool = False) -> np.ndarray:
    m = np.eye(mdp.n_states) - mdp.gamma * _continuing(mdp, pi)
    try:
        x = np.linalg.solve(m.T if transpose else m, b)
    except np.linalg.LinAlgError:
        raise ValueError(
            "under this theta some episodes never end and gamma = 1: the values are infinite; "
            "use gamma < 1 or logits that keep every action possible"
        ) from None
    return check_no_overflow(x, "rewards", "theta")


def values(mdp: TabularMDP, theta: Any) -> np.ndarray:
    r"""State values :math:`V^\pi` of the discounted return, by one linear solve (Chapter 5).

    .. math::

        (I - \gamma P_\pi)\, V^\pi = r_\pi, \qquad
        V^\pi(s) = \mathbb{E}\Big[\sum_{t \ge 0} \gamma^t r_t \,\Big|\, s_0 = s\Big],

    the first equation of :eq:`ch5-values` with :math:`Q` substituted, and 0 at terminal states.

    Parameters
    ----------
    mdp, theta : TabularMDP, and array_like or torch.Tensor of shape (S, A)
        The MDP and the (finite) logits :math:`\theta` of the softmax policy.

    Returns
    -------
    values : numpy.ndarray, shape (S,), float64
        :math:`V^\pi`.
    """
    pi = policy(mdp, theta)
    return _solve(mdp, pi, (pi * mdp.rewards).sum(axis=1))


def q_values(mdp: TabularMDP, theta: Any) -> np.ndarray:
    r"""Action values :math:`Q^\pi(s, a)` of the discounted return (Chapter 5).

    .. math::

        Q^\pi(s, a) = r(s, a) + \gamma \sum_{s' \text{ not terminal}} P(s' \mid s, a)\, V^\pi(s').

    the second equation of :eq:`ch5-values`.

    Parameters
    ----------
    mdp, theta : TabularMDP, and array_like or torch.Tensor of shape (S, A)
        The MDP and the (finite) logits :math:`\theta` of the softmax policy.

    Returns
    -------
    q : numpy.ndarray, shape (S, A), float64
        :math:`Q^\pi`; the advantage is ``q - values(mdp, theta)[:, None]``.
    """
    v = values(mdp, theta)
    q = mdp.rewards + mdp.gamma * mdp.transitions @ np.where(mdp.terminal, 0.0, v)
    return check_no_overflow(q, "rewards", "theta")


def objective(mdp: TabularMDP, theta: Any) -> float:
    r"""The exact discounted objective :math:`J_\gamma(\theta) = \rho_0^\top V^\pi` (Chapter 5).

    .. math::

        J_\gamma(\theta) = \mathbb{E}\big[R_\gamma(\tau)\big]
        = \mathbb{E}\Big[\sum_t \gamma^t r_t\Big] = \sum_s \rho_0(s)\, V^\pi(s).

    Parameters
    ----------
    mdp, theta : TabularMDP, and array_like or torch.Tensor of shape (S, A)
        The MDP and the (finite) logits :math:`\theta` of the softmax policy.

    Returns
    -------
    objective : float
        :math:`J_\gamma(\theta)`.
    """
    v = values(mdp, theta)
    return float(mdp.initial @ v)


def visitation(mdp: TabularMDP, theta: Any) -> np.ndarray:
    r"""The discounted state visitation :math:`d^\pi_\gamma`, unnormalised (Chapter 5).

    .. math::

        d^\pi_\gamma(s) = \sum_{t \ge 0} \gamma^t\, \Pr(s_t = s), \qquad
        d^\pi_\gamma{}^\top = \rho_0^\top (I - \gamma P_\pi)^{-1},

    the expected discounted number of visits to :math:`s` (:eq:`ch5-visitation`), 0 at terminal
    states. It is not a
    distribution: its entries sum to the expected discounted length
    :math:`\mathbb{E}[\sum_t \gamma^t]`, which is :math:`1/(1-\gamma)` when episodes never end, so
    there :math:`(1-\gamma)\, d^\pi_\gamma` is the normalised distribution. With
    :math:`\gamma = 1` it is the expected number of visits.

    Parameters
    ----------
    mdp, theta : TabularMDP, and array_like or torch.Tensor of shape (S, A)
        The MDP and the (finite) logits :math:`\theta` of the softmax policy.

    Returns
    -------
    visits : numpy.ndarray, shape (S,), float64
        :math:`d^\pi_\gamma`.
    """
    return _solve(mdp, policy(mdp, theta), mdp.initial, transpose=True)


def gradient(mdp: TabularMDP, theta: Any) -> np.ndarray:
    r"""The exact policy gradient :math:`\nabla_\theta J_\gamma`, by the policy-gradient theorem (Chapter 5).

    .. math::

        \begin{aligned}
        \nabla_\theta J_\gamma
        &= \sum_s d^\pi_\gamma(s) \sum_a \pi_\theta(a \mid s)\, A^\pi(s, a)\,
          \nabla_\theta \log \pi_\theta(a \mid s) \\
        &= \mathbb{E}\Big[\sum_t \gamma^t A^\pi(s_t, a_t)\,
          \nabla_\theta \log \pi_\theta(a_t \mid s_t)\Big],
        \end{aligned}

    the policy-gradient theorem :eq:`ch5-pg-theorem`, which for the tabular softmax is
    :math:`\partial J_\gamma / \partial \theta_{s,a} = d^\pi_\gamma(s)\, \pi_\theta(a \mid s)\,
    A^\pi(s, a)` :eq:`ch5-tabular-gradient`. The factor :math:`\gamma^t` (the weights of :math:`d^\pi_\gamma`) is the one
    that practical estimators drop, :eq:`ch5-g-gamma`.

    Parameters
    ----------
    mdp, theta : TabularMDP, and array_like or torch.Tensor of shape (S, A)
        The MDP and the (finite) logits :math:`\theta` of the softmax policy.

    Returns
    -------
    grad : numpy.ndarray, shape (S, A), float64
        :math:`\nabla_\theta J_\gamma`; each row sums to 0.
    """
    pi = policy(mdp, theta)
    advantages = q_values(mdp, theta) - values(mdp, theta)[:, None]
    return check_no_overflow(visitation(mdp, theta)[:, None] * pi * advantages, "rewards")


def two_state_mdp(gamma: float = 0.9, termination: float = 0.0) -> TabularMDP:
    r"""Two states where discounting changes the answer: the MDP of the :math:`\gamma^t` bias (Chapter 5).

    In either state, action :math:`a` moves to state :math:`a`. Staying in state 0 pays 1, staying
    in state 1 pays 2, and moving pays 0; episodes start in state 0. After every step the episode
    ends with probability ``termination``.

    Parameters
    ----------
    gamma : float in [0, 1], default 0.9
        Discount :math:`\gamma` (1 only with ``termination > 0``).
    termination : float in [0, 1], default 0
        Probability that the episode ends after a step.

    Returns
    -------
    mdp : TabularMDP
        S = 2, A = 2.
    """
    keep = 1 - check_unit_interval("termination", termination)
    moves = np.zeros((2, 2, 2))
    moves[:, 0, 0] = moves[:, 1, 1] = keep
    return TabularMDP(moves, np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([1.0, 0.0]), gamma)


def chain_mdp(n_states: int = 4, gamma: float = 0.9, slip: float = 0.1) -> TabularMDP:
    r"""A chain walked left or right to a terminal goal, reward :math:`-1` per step (Chapter 5).

    States :math:`0, \dots, n-1`; the last is terminal. Action 1 moves right and action 0 left
    (state 0 stays put), each going the other way with probability ``slip``; episodes start in
    state 0, so :math:`J_\gamma` is minus the expected discounted time to the goal.

    Parameters
    ----------
    n_states : int, at least 2
        Number of states, the goal included.
    gamma : float in [0, 1], default 0.9
        Discount :math:`\gamma`.
    slip : float in [0, 1], default 0.1
        Probability that a move goes the other way.

    Returns
    -------
    mdp : TabularMDP
        S = ``n_states``, A = 2.
    """
    n = check_int("n_states", n_states, low=2)
    slip = check_unit_interval("slip", slip)
    p = np.zeros((n, 2, n))
    for s in range(n - 1):
        left, right = max(s - 1, 0), s + 1
        p[s, 0, left] += 1 - slip
        p[s, 0, right] += slip
        p[s, 1, right] += 1 - slip
        p[s, 1, left] += slip
    p[n - 1, :, n - 1] = 1.0
    rewards = np.full((n, 2), -1.0)
    rewards[n - 1] = 0.0
    initial = np.eye(n)[0]
    return TabularMDP(p, rewards, initial, gamma, terminal=np.eye(n, dtype=bool)[n - 1])
