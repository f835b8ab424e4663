r"""A small finite MDP whose objective and policy gradient are known exactly: the oracle the
estimators are tested against (Chapters 3, 5 and 7).

A :class:`TabularMDP` has states :math:`s \in \{0, \dots, S-1\}`, actions
:math:`a \in \{0, \dots, A-1\}`, transition probabilities :math:`P(s' \mid s, a)`, rewards
:math:`r(s, a)`, a start distribution :math:`\rho_0` and a discount :math:`\gamma`. An episode ends
when it enters a terminal state (absorbing, reward 0) or, with probability
:math:`1 - \sum_{s'} P(s' \mid s, a)`, after step :math:`(s, a)`. The policy is the tabular
softmax :math:`\pi_\theta(a \mid s) = e^{\theta_{s,a}} / \sum_b e^{\theta_{s,b}}`, with
:math:`\theta` of shape ``(S, A)``.

With :math:`P_\pi(s, s') = \sum_a \pi_\theta(a \mid s) P(s' \mid s, a)` over the transitions that
continue the episode and :math:`r_\pi(s) = \sum_a \pi_\theta(a \mid s) r(s, a)`, everything
follows from linear solves in :math:`I - \gamma P_\pi`: :func:`values`, :func:`q_values`,
:func:`objective`, :func:`visitation` and :func:`gradient` (the policy-gradient theorem).
:func:`sample_episodes` draws episodes of the same MDP as time-major arrays, and :func:`scores`
gives :math:`\nabla_\theta \log \pi_\theta(a_t \mid s_t)` in closed form, so any estimator can
be run on the episodes and compared with the exact gradient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pgkit.validation import (
    check_bool_flags,
    check_finite,
    check_int,
    check_no_overflow,
    check_positive_int,
    check_seed,
    check_unit_interval,
    to_numpy,
)

__all__ = [
    "Episodes",
    "TabularMDP",
    "chain_mdp",
    "gradient",
    "objective",
    "policy",
    "q_values",
    "sample_episodes",
    "scores",
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

    0 at terminal states.

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

    the expected discounted number of visits to :math:`s`, 0 at terminal states. It is not a
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

        \nabla_\theta J_\gamma
        = \sum_s d^\pi_\gamma(s) \sum_a \pi_\theta(a \mid s)\, A^\pi(s, a)\,
          \nabla_\theta \log \pi_\theta(a \mid s)
        = \mathbb{E}\Big[\sum_t \gamma^t A^\pi(s_t, a_t)\,
          \nabla_\theta \log \pi_\theta(a_t \mid s_t)\Big],

    which for the tabular softmax is
    :math:`\partial J_\gamma / \partial \theta_{s,a} = d^\pi_\gamma(s)\, \pi_\theta(a \mid s)\,
    A^\pi(s, a)`. The factor :math:`\gamma^t` (the weights of :math:`d^\pi_\gamma`) is the one
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


@dataclass(frozen=True, eq=False)
class Episodes:
    r"""Time-major episodes from :func:`sample_episodes`: column n is episode n, then padding.

    Row t of column n is step t of episode n while ``mask[t, n]``; after the episode's last step
    the column is padded with state 0, action 0, reward 0 and both flags False.

    Parameters
    ----------
    states, next_states : numpy.ndarray of int64, shape (T, N)
        :math:`s_t` and :math:`s_{t+1}`. When the episode ended by the termination probability
        there is no next state; ``next_states`` repeats :math:`s_t` and ``terminated`` is set.
    actions : numpy.ndarray of int64, shape (T, N)
        :math:`a_t`.
    rewards : numpy.ndarray of float64, shape (T, N)
        :math:`r_t = r(s_t, a_t)`.
    terminated, truncated : numpy.ndarray of bool, shape (T, N)
        The episode terminated after step t, or was cut off there by ``max_length``.
    mask : numpy.ndarray of bool, shape (T, N)
        Step t belongs to episode n.
    lengths : numpy.ndarray of int64, shape (N,)
        Number of steps of each episode; T is the longest.
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_states: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray


def _draw(cumulative: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One index per row of cumulative probabilities (last column exactly 1)."""
    u = rng.random(len(cumulative))
    return (u[:, None] >= cumulative[:, :-1]).sum(axis=1)


def sample_episodes(
    mdp: TabularMDP, theta: Any, episodes: int, max_length: int, seed: int
) -> Episodes:
    r"""Draw episodes :math:`\tau_1, \dots, \tau_N \sim p_\theta`, all at once (Chapter 3).

    :math:`s_0 \sim \rho_0`, :math:`a_t \sim \pi_\theta(\cdot \mid s_t)`,
    :math:`r_t = r(s_t, a_t)`, :math:`s_{t+1} \sim P(\cdot \mid s_t, a_t)`, until the episode
    terminates (enters a terminal state, or ends by the termination probability) or reaches
    ``max_length`` steps, where it is truncated.

    Parameters
    ----------
    mdp, theta : TabularMDP, and array_like or torch.Tensor of shape (S, A)
        The MDP and the (finite) logits :math:`\theta` of the softmax policy.
    episodes : int, at least 1
        N, the number of episodes.
    max_length : int, at least 1
        The time limit: longer episodes are truncated after this many steps.
    seed : int, at least 0
        Seed of the ``numpy.random.Generator`` that draws everything.

    Returns
    -------
    episodes : Episodes
        Time-major arrays of shape (T, N), T the longest episode's length.
    """
    pi = policy(mdp, theta)
    n = check_positive_int("episodes", episodes)
    horizon = check_positive_int("max_length", max_length)
    rng = np.random.default_rng(check_seed("seed", seed))
    n_states = mdp.n_states
    # Outcome n_states stands for "the episode ends here" (the termination probability).
    outcomes = np.concatenate([mdp.transitions, 1 - mdp.transitions.sum(-1, keepdims=True)], -1)
    outcomes = np.cumsum(np.clip(outcomes, 0, None), axis=-1)
    outcomes[..., -1] = 1.0
    policy_cumulative = np.cumsum(pi, axis=1)
    policy_cumulative[:, -1] = 1.0
    ints, flags = ("states", "actions", "next_states"), ("terminated", "truncated", "mask")
    arrays = {name: np.zeros((horizon, n), dtype=np.int64) for name in ints}
    arrays |= {name: np.zeros((horizon, n), dtype=bool) for name in flags}
    arrays["rewards"] = np.zeros((horizon, n))
    state = _draw(np.cumsum(mdp.initial)[None].repeat(n, 0), rng)
    running, t = np.arange(n), 0
    while running.size and t < horizon:
        s = state[running]
        a = _draw(policy_cumulative[s], rng)
        following = _draw(outcomes[s, a], rng)
        ended = following == n_states
        following = np.where(ended, s, following)
        term = ended | mdp.terminal[following]
        step = {"states": s, "actions": a, "rewards": mdp.rewards[s, a], "mask": True,
                "next_states": following, "terminated": term,
                "truncated": ~term & (t == horizon - 1)}  # fmt: skip
        for name, value in step.items():
            arrays[name][t, running] = value
        state[running] = following
        running, t = running[~term], t + 1
    lengths = arrays["mask"].sum(axis=0).astype(np.int64)
    return Episodes(**{name: x[:t] for name, x in arrays.items()}, lengths=lengths)


def _indices(name: str, x: Any, size: int) -> np.ndarray:
    arr = to_numpy(x, name)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integer indices, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= size):
        raise ValueError(f"{name} must lie in [0, {size - 1}], got {arr.min()}..{arr.max()}")
    return arr


def scores(mdp: TabularMDP, theta: Any, states: Any, actions: Any) -> np.ndarray:
    r"""Closed-form scores :math:`\nabla_\theta \log \pi_\theta(a_t \mid s_t)` of the tabular softmax (Chapter 3).

    .. math::

        \frac{\partial \log \pi_\theta(a \mid s)}{\partial \theta_{s',b}}
        = \mathbb{1}[s' = s]\, \big(\mathbb{1}[b = a] - \pi_\theta(b \mid s)\big),

    one-hot minus :math:`\pi`, in row :math:`s` only. Padding rows of :class:`Episodes` get the
    score of state 0 and action 0: weight them by ``mask`` (or by weights that are 0 there).

    Parameters
    ----------
    mdp, theta : TabularMDP, and array_like or torch.Tensor of shape (S, A)
        The MDP and the (finite) logits :math:`\theta` of the softmax policy.
    states, actions : array_like of int, same shape, e.g. (T, N)
        :math:`s_t` and :math:`a_t`.

    Returns
    -------
    scores : numpy.ndarray, shape ``states.shape + (S, A)``, float64
        The gradient of :math:`\log \pi_\theta(a_t \mid s_t)` for every entry.
    """
    pi = policy(mdp, theta)
    s = _indices("states", states, mdp.n_states)
    a = _indices("actions", actions, mdp.n_actions)
    if s.shape != a.shape:
        raise ValueError(f"states {s.shape} and actions {a.shape} must have the same shape")
    local = np.eye(mdp.n_actions)[a] - pi[s]  # (..., A)
    return np.eye(mdp.n_states)[s][..., :, None] * local[..., None, :]


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
