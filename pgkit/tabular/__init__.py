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
be run on the episodes and compared with the exact gradient. When a time limit :math:`H` is part
of the task, :func:`finite_horizon_values` and :func:`finite_horizon_optimal` give the
time-dependent values :math:`V_t(s)` and :math:`V^*_t(s)` by backward recursion (Chapter 6).
"""

from pgkit.tabular.episodes import Episodes, sample_episodes, scores
from pgkit.tabular.horizon import finite_horizon_optimal, finite_horizon_values
from pgkit.tabular.mdp import (
    TabularMDP,
    chain_mdp,
    gradient,
    objective,
    policy,
    q_values,
    two_state_mdp,
    values,
    visitation,
)

__all__ = [
    "Episodes",
    "TabularMDP",
    "chain_mdp",
    "finite_horizon_optimal",
    "finite_horizon_values",
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
