"""The exact-gradient oracle: its closed forms against independent computations, its sampler against
its closed forms, and its errors for bad inputs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

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


def _continuing(mdp, pi):
    """P_pi, written out with loops: nothing continues out of or into a terminal state."""
    n = mdp.n_states
    p = np.zeros((n, n))
    for s in range(n):
        for s2 in range(n):
            if not (mdp.terminal[s] or mdp.terminal[s2]):
                p[s, s2] = sum(pi[s, a] * mdp.transitions[s, a, s2] for a in range(mdp.n_actions))
    return p


def test_values_equal_iterative_policy_evaluation(mdp):
    theta = _theta(mdp)
    pi = tabular.policy(mdp, theta)
    p_pi, r_pi = _continuing(mdp, pi), (pi * mdp.rewards).sum(1)
    v = np.zeros(mdp.n_states)
    for _ in range(3000):
        v = r_pi + mdp.gamma * p_pi @ v
    np.testing.assert_allclose(tabular.values(mdp, theta), v, rtol=0, atol=1e-10)
    q = tabular.q_values(mdp, theta)
    np.testing.assert_allclose((pi * q).sum(1), v, atol=1e-10)  # V = sum_a pi Q
    assert tabular.objective(mdp, theta) == pytest.approx(mdp.initial @ v, abs=1e-10)


def _torch_objective(mdp, theta: torch.Tensor) -> torch.Tensor:
    """J_gamma computed independently in torch: solve (I - gamma P_pi) V = r_pi."""
    pi = torch.softmax(theta, dim=1)
    keep = torch.as_tensor(~mdp.terminal, dtype=torch.float64)
    p = torch.tensor(np.array(mdp.transitions)) * keep[None, None, :] * keep[:, None, None]
    p_pi = (pi[:, :, None] * p).sum(1)
    r_pi = (pi * torch.tensor(np.array(mdp.rewards))).sum(1)
    eye = torch.eye(mdp.n_states, dtype=torch.float64)
    v = torch.linalg.solve(eye - mdp.gamma * p_pi, r_pi)
    return torch.tensor(np.array(mdp.initial)) @ v


def test_gradient_equals_autograd(mdp):
    for seed in range(3):
        theta = torch.tensor(_theta(mdp, seed), requires_grad=True)
        j = _torch_objective(mdp, theta)
        (autograd,) = torch.autograd.grad(j, theta)
        assert float(j.detach()) == pytest.approx(tabular.objective(mdp, theta.detach()), abs=1e-12)
        np.testing.assert_allclose(
            tabular.gradient(mdp, theta.detach()), autograd.numpy(), rtol=1e-10, atol=1e-12
        )


def test_gradient_equals_finite_differences(mdp):
    theta = _theta(mdp, 1)
    h = 1e-6
    fd = np.zeros_like(theta)
    for index in np.ndindex(theta.shape):
        step = np.zeros_like(theta)
        step[index] = h
        fd[index] = (
            tabular.objective(mdp, theta + step) - tabular.objective(mdp, theta - step)
        ) / (2 * h)
    np.testing.assert_allclose(tabular.gradient(mdp, theta), fd, rtol=1e-6, atol=1e-8)


def test_visitation_sums_to_the_discounted_length_without_termination():
    for gamma in (0.0, 0.5, 0.9, 0.99):
        mdp = tabular.two_state_mdp(gamma=gamma)
        d = tabular.visitation(mdp, _theta(mdp))
        assert d.sum() == pytest.approx(1 / (1 - gamma), rel=1e-12)
    # with termination 0.1 after every step: sum_t (0.9 gamma)^t
    mdp = tabular.two_state_mdp(gamma=0.5, termination=0.1)
    assert tabular.visitation(mdp, _theta(mdp)).sum() == pytest.approx(1 / (1 - 0.45))


def test_gradient_is_visitation_times_policy_times_advantage(mdp):
    theta = _theta(mdp, 2)
    pi = tabular.policy(mdp, theta)
    a = tabular.q_values(mdp, theta) - tabular.values(mdp, theta)[:, None]
    expected = tabular.visitation(mdp, theta)[:, None] * pi * a
    np.testing.assert_allclose(tabular.gradient(mdp, theta), expected, atol=1e-14)
    np.testing.assert_allclose(tabular.gradient(mdp, theta).sum(1), 0, atol=1e-12)
    assert (tabular.visitation(mdp, theta)[mdp.terminal] == 0).all()


def test_scores_equal_autograd_of_log_softmax(mdp):
    theta = _theta(mdp, 3)
    states = np.array([[0, 1], [1, 0]])
    actions = np.array([[1, 0], [1, 1]])
    got = tabular.scores(mdp, theta, states, actions)
    assert got.shape == (2, 2, mdp.n_states, mdp.n_actions)
    for index in np.ndindex(states.shape):
        t = torch.tensor(theta, requires_grad=True)
        log_prob = torch.log_softmax(t, dim=1)[states[index], actions[index]]
        (expected,) = torch.autograd.grad(log_prob, t)
        np.testing.assert_allclose(got[index], expected.numpy(), atol=1e-12)


def _z(samples: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """z-scores of the sample mean of each coordinate against its exact value."""
    se = samples.std(axis=0, ddof=1) / np.sqrt(len(samples))
    return (samples.mean(axis=0) - exact) / np.where(se > 0, se, np.inf)


def test_sampled_episodes_match_the_objective_and_the_visitation(mdp):
    theta = _theta(mdp, 4)
    ep = tabular.sample_episodes(mdp, theta, 4000, 400, seed=5)
    discount = mdp.gamma ** np.arange(len(ep.rewards))[:, None]
    returns = (discount * ep.rewards).sum(0)
    visits = np.stack([(discount * ep.mask * (ep.states == s)).sum(0) for s in range(mdp.n_states)])
    z = _z(
        np.column_stack([returns, visits.T]),
        np.r_[tabular.objective(mdp, theta), tabular.visitation(mdp, theta)],
    )
    assert np.abs(z).max() < 4.5, f"largest |z| {np.abs(z).max():.2f} >= 4.5: {np.round(z, 2)}"
    # the endless MDP is cut at 400 steps, where gamma^400 < 1e-18 leaves nothing to see
    assert not ep.truncated.any() or mdp.gamma**400 < 1e-18


def test_episode_arrays_are_consistent(mdp):
    ep = tabular.sample_episodes(mdp, _theta(mdp), 300, 6, seed=0)
    assert ep.states.shape == ep.mask.shape == (ep.lengths.max(), 300)
    assert (ep.mask.sum(0) == ep.lengths).all()
    ends = ep.terminated | ep.truncated
    assert (ends.sum(0) == 1).all(), "every episode ends exactly once"
    last = ep.lengths - 1
    assert ends[last, np.arange(300)].all()
    assert not (ep.truncated & ep.terminated).any()
    assert ep.truncated[last, np.arange(300)].sum() == (~ep.terminated.any(0)).sum()
    assert (ep.lengths[ep.truncated.any(0)] == 6).all()
    pad = ~ep.mask
    assert (ep.rewards[pad] == 0).all() and not ends[pad].any()
    assert not mdp.terminal[ep.states[ep.mask]].any()
    np.testing.assert_array_equal(ep.rewards[ep.mask], mdp.rewards[ep.states, ep.actions][ep.mask])
    # within an episode the next state is the following step's state
    inside = ep.mask[1:] & ep.mask[:-1]
    np.testing.assert_array_equal(ep.next_states[:-1][inside], ep.states[1:][inside])


def test_sampling_is_reproducible():
    mdp = tabular.chain_mdp()
    theta = _theta(mdp)
    a, b = (tabular.sample_episodes(mdp, theta, 50, 100, seed=7) for _ in range(2))
    for field in dataclasses.fields(a):
        np.testing.assert_array_equal(getattr(a, field.name), getattr(b, field.name))
    c = tabular.sample_episodes(mdp, theta, 50, 100, seed=8)
    assert not np.array_equal(a.actions, c.actions) or a.actions.shape != c.actions.shape


def test_the_mdp_is_immutable():
    mdp = tabular.chain_mdp()
    with pytest.raises(ValueError):
        mdp.rewards[0, 0] = 5.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        mdp.gamma = 0.5


def test_torch_theta_is_accepted():
    mdp = tabular.chain_mdp()
    theta = _theta(mdp)
    np.testing.assert_array_equal(
        tabular.gradient(mdp, torch.tensor(theta)), tabular.gradient(mdp, theta)
    )


def _args():
    p = np.zeros((2, 2, 2))
    p[:, 0, 0] = p[:, 1, 1] = 1.0
    return {
        "transitions": p,
        "rewards": np.zeros((2, 2)),
        "initial": np.array([1.0, 0.0]),
        "gamma": 0.9,
    }


@pytest.mark.parametrize(
    ("change", "name", "message"),
    [
        ({"transitions": -np.ones((2, 2, 2))}, "transitions", "probabilities"),
        ({"transitions": np.ones((2, 2, 2))}, "transitions", "at most 1"),
        ({"transitions": np.ones((2, 2, 3)) / 3}, "transitions", "(S, A, S)"),
        ({"transitions": np.zeros((2, 2))}, "transitions", "3-D"),
        ({"rewards": np.zeros((2, 3))}, "rewards", "shape"),
        ({"rewards": np.array([[0.0, np.nan], [0, 0]])}, "rewards", "non-finite"),
        ({"initial": np.array([0.5, 0.4])}, "initial", "probability vector"),
        ({"initial": np.array([1.0, 0.0, 0.0])}, "initial", "probability vector"),
        ({"gamma": 1.5}, "gamma", "[0, 1]"),
        ({"gamma": 1.0}, "gamma", "never"),
        ({"terminal": np.array([True])}, "terminal", "shape"),
        ({"terminal": np.array([0.5, 0.0])}, "terminal", "booleans"),
        (
            {
                "transitions": np.ones((2, 2, 1)) * [[[0.0, 1.0]]],  # everything goes to 1
                "initial": np.array([0.0, 1.0]),
                "terminal": np.array([False, True]),
            },
            "initial",
            "terminal state",
        ),
    ],
)
def test_bad_mdps_raise_clear_errors(change, name, message):
    with pytest.raises((ValueError, TypeError)) as error:
        tabular.TabularMDP(**{**_args(), **change})
    assert name in str(error.value) and message in str(error.value), str(error.value)


def test_terminal_states_must_be_absorbing_with_reward_zero():
    args = _args()
    rewards = np.array([[0.0, 0.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="absorbing"):
        tabular.TabularMDP(
            **{
                **args,
                "initial": np.array([1.0, 0.0]),
                "rewards": rewards,
                "terminal": np.array([False, True]),
            }
        )
    with pytest.raises(ValueError, match="absorbing"):
        tabular.TabularMDP(**{**args, "terminal": np.array([False, True])})  # state 1 leaves


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda m: tabular.gradient(m, np.zeros((3, 2))), "theta"),
        (lambda m: tabular.values(m, np.full((4, 2), np.inf)), "theta"),
        (lambda m: tabular.policy(m, np.zeros((4, 2), dtype=bool)), "theta"),
        (lambda m: tabular.objective("chain", np.zeros((4, 2))), "mdp"),
        (lambda m: tabular.scores(m, np.zeros((4, 2)), [4], [0]), "states"),
        (lambda m: tabular.scores(m, np.zeros((4, 2)), [0], [0.5]), "actions"),
        (lambda m: tabular.scores(m, np.zeros((4, 2)), [0, 1], [0]), "states"),
        (lambda m: tabular.sample_episodes(m, np.zeros((4, 2)), 0, 5, 0), "episodes"),
        (lambda m: tabular.sample_episodes(m, np.zeros((4, 2)), 5, 2.0, 0), "max_length"),
        (lambda m: tabular.sample_episodes(m, np.zeros((4, 2)), 5, 5, -1), "seed"),
        (lambda m: tabular.chain_mdp(n_states=1), "n_states"),
        (lambda m: tabular.chain_mdp(slip=1.5), "slip"),
        (lambda m: tabular.two_state_mdp(termination=-0.1), "termination"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, name):
    with pytest.raises((ValueError, TypeError)) as error:
        call(tabular.chain_mdp())
    assert name in str(error.value), str(error.value)


def test_a_policy_that_never_ends_an_undiscounted_episode_is_refused():
    mdp = tabular.chain_mdp(n_states=3, gamma=1.0, slip=0.0)
    always_left = np.array([[0.0, -np.finfo(float).max], [0.0, -np.finfo(float).max], [0.0, 0.0]])
    with pytest.raises(ValueError, match="theta"):
        tabular.values(mdp, always_left)
