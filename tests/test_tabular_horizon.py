"""Finite-horizon values of the tabular oracle: against Monte Carlo returns of sampled episodes,
against the unbounded values as the horizon grows, against brute-force enumeration of
deterministic policies, and their errors for bad inputs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pgkit import tabular

MDPS = {
    "chain": lambda: tabular.chain_mdp(n_states=5, gamma=0.9, slip=0.2),
    "two-state": lambda: tabular.two_state_mdp(gamma=0.8, termination=0.1),
    "two-state-endless": lambda: tabular.two_state_mdp(gamma=0.9),
    "chain-undiscounted": lambda: tabular.chain_mdp(n_states=3, gamma=1.0, slip=0.1),
}


def _theta(mdp: tabular.TabularMDP, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=0.7, size=(mdp.n_states, mdp.n_actions))


@pytest.fixture(params=list(MDPS), ids=list(MDPS))
def mdp(request) -> tabular.TabularMDP:
    return MDPS[request.param]()


def test_values_match_monte_carlo_returns_cut_at_the_horizon(mdp):
    # 40,000 episodes: the standard error of each mean is below 0.02; 5 of them is the tolerance.
    theta, horizon = _theta(mdp), 6
    exact = tabular.finite_horizon_values(mdp, theta, horizon)
    ep = tabular.sample_episodes(mdp, theta, 40_000, horizon, seed=1)
    discounts = mdp.gamma ** np.arange(len(ep.rewards))[:, None]
    returns = (discounts * ep.rewards).sum(axis=0)
    for s in np.flatnonzero(mdp.initial):
        starts = ep.states[0] == s
        se = returns[starts].std() / np.sqrt(starts.sum())
        assert abs(returns[starts].mean() - exact[0, s]) < 5 * se + 1e-12
    # V_t from every state at every time: the returns from step t of episodes still running
    for t in range(1, horizon):
        tail = (discounts[: horizon - t] * ep.rewards[t:]).sum(axis=0)
        for s in range(mdp.n_states):
            here = ep.mask[t] & (ep.states[t] == s)
            if here.sum() > 1000:
                se = tail[here].std() / np.sqrt(here.sum()) + 1e-12
                assert abs(tail[here].mean() - exact[t, s]) < 5 * se


def test_values_tend_to_the_unbounded_values_as_the_horizon_grows(mdp):
    theta = _theta(mdp, seed=2)
    unbounded = tabular.values(mdp, theta)
    gaps = [
        np.abs(tabular.finite_horizon_values(mdp, theta, h)[0] - unbounded).max()
        for h in (1, 5, 20, 80, 400)
    ]
    assert all(a >= b - 1e-12 for a, b in zip(gaps, gaps[1:], strict=False))
    assert gaps[-1] < 1e-8


def test_the_gap_to_the_unbounded_value_is_the_discounted_tail(mdp):
    # V^pi - V_t = gamma^(H - t) E[V^pi(s_H) | s_t]: the value of the steps after the limit.
    theta, horizon = _theta(mdp, seed=3), 7
    v = tabular.finite_horizon_values(mdp, theta, horizon)
    unbounded = tabular.values(mdp, theta)
    pi = tabular.policy(mdp, theta)
    keep = ~mdp.terminal
    p_pi = np.einsum("sa,sat->st", pi, mdp.transitions) * keep[:, None] * keep[None, :]
    for t in range(horizon + 1):
        k = horizon - t
        tail = mdp.gamma**k * np.linalg.matrix_power(p_pi, k) @ unbounded
        np.testing.assert_allclose(unbounded - v[t], tail, atol=1e-10)


def test_shape_rows_and_the_zero_horizon(mdp):
    theta = _theta(mdp)
    v = tabular.finite_horizon_values(mdp, theta, 4)
    assert v.shape == (5, mdp.n_states) and v.dtype == np.float64
    np.testing.assert_array_equal(v[-1], 0.0)
    np.testing.assert_array_equal(v[:, mdp.terminal], 0.0)
    # the rows do not depend on H, only on the steps left: V_t for H is V_{t+1} for H + 1
    np.testing.assert_allclose(tabular.finite_horizon_values(mdp, theta, 5)[1:], v, atol=1e-12)
    assert tabular.finite_horizon_values(mdp, theta, 0).shape == (1, mdp.n_states)


def _deterministic_value(mdp, plan, s, t, horizon):
    """Value of following plan[t][s] (a time-dependent deterministic policy), by recursion."""
    if t == horizon or mdp.terminal[s]:
        return 0.0
    a = plan[t][s]
    follow = sum(
        mdp.transitions[s, a, s2] * _deterministic_value(mdp, plan, s2, t + 1, horizon)
        for s2 in range(mdp.n_states)
        if not mdp.terminal[s2]
    )
    return mdp.rewards[s, a] + mdp.gamma * follow


def test_optimal_values_beat_every_time_dependent_deterministic_policy():
    mdp, horizon = tabular.two_state_mdp(gamma=0.9, termination=0.1), 3
    values, actions = tabular.finite_horizon_optimal(mdp, horizon)
    per_time = list(itertools.product(range(2), repeat=2))  # an action for each of 2 states
    best = np.full(2, -np.inf)
    for plan in itertools.product(per_time, repeat=horizon):
        for s in range(2):
            best[s] = max(best[s], _deterministic_value(mdp, plan, s, 0, horizon))
    np.testing.assert_allclose(values[0], best, atol=1e-12)
    greedy = [tuple(actions[t]) for t in range(horizon)]
    for s in range(2):
        assert _deterministic_value(mdp, greedy, s, 0, horizon) == pytest.approx(best[s])


def test_the_optimal_action_depends_on_the_time_left():
    # In state 0, moving pays 0 now and 2 per step later; staying pays 1 per step.
    _, actions = tabular.finite_horizon_optimal(tabular.two_state_mdp(gamma=0.9), 6)
    np.testing.assert_array_equal(actions[:, 0], [1, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(actions[:, 1], 1)


def test_optimal_values_bound_every_softmax_policy(mdp):
    horizon = 5
    optimal, _ = tabular.finite_horizon_optimal(mdp, horizon)
    for seed in range(5):
        v = tabular.finite_horizon_values(mdp, _theta(mdp, seed), horizon)
        assert (v <= optimal + 1e-10).all()
    # a softmax policy nearly deterministic on the time-0 optimal actions reaches V*_H-1
    _, actions = tabular.finite_horizon_optimal(mdp, 1)
    theta = 30.0 * np.eye(mdp.n_actions)[actions[0]]
    v = tabular.finite_horizon_values(mdp, theta, 1)
    np.testing.assert_allclose(v[0], optimal[-2], atol=1e-9)


@pytest.mark.parametrize(
    "call, name, error",
    [
        (lambda m, th: tabular.finite_horizon_values(m, th, -1), "horizon", ValueError),
        (lambda m, th: tabular.finite_horizon_values(m, th, 2.0), "horizon", TypeError),
        (lambda m, th: tabular.finite_horizon_values(m, th, True), "horizon", TypeError),
        (lambda m, th: tabular.finite_horizon_values(m, th[:1], 2), "theta", ValueError),
        (lambda m, th: tabular.finite_horizon_values("mdp", th, 2), "mdp", TypeError),
        (lambda m, th: tabular.finite_horizon_optimal(m, -3), "horizon", ValueError),
        (lambda m, th: tabular.finite_horizon_optimal(m, None), "horizon", TypeError),
        (lambda m, th: tabular.finite_horizon_optimal(None, 2), "mdp", TypeError),
    ],
)
def test_bad_arguments_raise_clear_errors(call, name, error):
    mdp = tabular.chain_mdp(n_states=3)
    with pytest.raises(error, match=name):
        call(mdp, _theta(mdp))


def test_values_that_overflow_are_refused():
    mdp = tabular.two_state_mdp(gamma=1.0, termination=0.1)
    big = tabular.TabularMDP(
        mdp.transitions, mdp.rewards * 8e307, mdp.initial, mdp.gamma, mdp.terminal
    )
    with pytest.raises(ValueError, match="rewards"):
        tabular.finite_horizon_values(big, np.zeros((2, 2)), 40)
    with pytest.raises(ValueError, match="rewards"):
        tabular.finite_horizon_optimal(big, 40)
