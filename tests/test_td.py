"""Tests for pgkit.td: the online n-step TD algorithm written as Sutton and Barto's loop,
hand-computable driving cases, convergence on the random walk, and every error path. td_errors
shares the array conventions of pgkit.returns and is tested with them in test_returns; here it
gets a case by hand."""

import gymnasium
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pgkit.envs import DrivingEnv, RandomWalkEnv
from pgkit.td import n_step_td_episode, tabular_episodes, td_errors

TOL = {"rtol": 1e-12, "atol": 1e-12}


def test_td_errors_by_hand():
    # delta_t = r_t + gamma (1 - terminated_t) V(s_{t+1}) - V(s_t); a truncation still bootstraps
    rewards = np.array([1.0, 0.0, 2.0])
    values = np.array([0.5, 1.0, 1.5])
    next_values = np.array([1.0, 1.5, 4.0])
    terminated = np.array([False, True, False])
    deltas = td_errors(rewards, values, next_values, terminated, gamma=0.5)
    np.testing.assert_allclose(deltas, [1.0, -1.0, 2.5], **TOL)


def ref_n_step_td(values, states, rewards, gamma, n, alpha, length):
    """Sutton and Barto (2018), section 7.1: at time t the state visited at tau = t - n + 1 is
    updated, with rewards up to t and the value of s_{tau+n} as the table stands then."""
    V = np.array(values, dtype=float)
    t = 0
    while True:
        tau = t - n + 1
        if tau >= 0:
            G = sum(gamma ** (i - tau) * rewards[i] for i in range(tau, min(tau + n, length)))
            if tau + n < length:
                G += gamma**n * V[states[tau + n]]
            V[states[tau]] += alpha * (G - V[states[tau]])
        if tau == length - 1:
            return V
        t += 1


@st.composite
def episodes(draw):
    n_states = draw(st.integers(2, 6))
    T = draw(st.integers(1, 12))
    states = np.array(draw(st.lists(st.integers(0, n_states - 1), min_size=T + 1, max_size=T + 1)))
    rewards = np.array(draw(st.lists(st.floats(-5, 5), min_size=T, max_size=T)))
    values = np.array(draw(st.lists(st.floats(-5, 5), min_size=n_states, max_size=n_states)))
    return values, states, rewards, draw(st.integers(1, T))


@settings(max_examples=150, deadline=None)
@given(
    episodes(),
    st.integers(1, 14),
    st.sampled_from([0.0, 0.5, 0.9, 1.0]),
    st.sampled_from([0.0, 0.1, 0.7, 1.0]),
)
def test_matches_sutton_barto_loop(episode, n, gamma, alpha):
    values, states, rewards, length = episode
    expected = ref_n_step_td(values, states, rewards, gamma, n, alpha, length)
    got = n_step_td_episode(values, states, rewards, gamma, n, alpha, lengths=length)
    np.testing.assert_allclose(got, expected, **TOL)


def test_whole_episode_is_the_default_length():
    rng = np.random.default_rng(0)
    values, states, rewards = rng.normal(size=4), rng.integers(0, 4, size=8), rng.normal(size=7)
    np.testing.assert_allclose(
        n_step_td_episode(values, states, rewards, 0.9, 3, 0.5),
        ref_n_step_td(values, states, rewards, 0.9, 3, 0.5, 7),
        **TOL,
    )


def test_runs_are_independent_columns_with_their_own_step_sizes():
    rng = np.random.default_rng(1)
    runs, n_states, T = 5, 6, 9
    values = rng.normal(size=(runs, n_states))
    states = rng.integers(0, n_states, size=(T + 1, runs))
    rewards = rng.normal(size=(T, runs))
    lengths = np.array([9, 1, 4, 7, 2])
    alphas = np.array([0.0, 0.2, 0.5, 0.9, 1.0])
    got = n_step_td_episode(values, states, rewards, 0.95, 2, alphas, lengths)
    for i in range(runs):
        expected = n_step_td_episode(
            values[i], states[:, i], rewards[:, i], 0.95, 2, alphas[i], lengths[i]
        )
        np.testing.assert_allclose(got[i], expected, **TOL)


def test_padding_after_the_episode_is_ignored():
    rng = np.random.default_rng(2)
    values, states, rewards = rng.normal(size=5), rng.integers(0, 5, size=11), rng.normal(size=10)
    garbage_states, garbage_rewards = states.copy(), rewards.copy()
    garbage_states[5:] = 4
    garbage_rewards[4:] = 1e6
    for n in (1, 3, 20):
        np.testing.assert_allclose(
            n_step_td_episode(values, garbage_states, garbage_rewards, 1.0, n, 0.5, lengths=4),
            n_step_td_episode(values, states[:5], rewards[:4], 1.0, n, 0.5),
            **TOL,
        )


@pytest.mark.parametrize(
    ("n", "expected"),
    [(1, [1.0, 6.0, 1.0, 0.0]), (2, [7.0, 7.0, 1.0, 0.0]), (3, [8.0, 7.0, 1.0, 0.0])],
)
def test_driving_with_alpha_one_copies_the_targets(n, expected):
    # From V = 0, alpha = 1 sets each V(s_tau) to its target: r_tau + ... + V(s_{tau+n}), where
    # V(s_{tau+n}) is still 0 (it is updated later in the same trip).
    states, rewards, lengths = tabular_episodes(DrivingEnv(noise_std=0.0), 1, seed=0)
    got = n_step_td_episode(np.zeros(4), states[:, 0], rewards[:, 0], 1.0, n, 1.0, lengths[0])
    np.testing.assert_allclose(got, expected)


def test_alpha_zero_changes_nothing_and_input_is_not_modified():
    values = np.array([1.0, 2.0, 3.0])
    states, rewards = np.array([0, 1, 2, 1]), np.array([1.0, 1.0, 1.0])
    got = n_step_td_episode(values, states, rewards, 1.0, 2, 0.0)
    np.testing.assert_array_equal(got, values)
    updated = n_step_td_episode(values, states, rewards, 1.0, 2, 0.5)
    np.testing.assert_array_equal(values, [1.0, 2.0, 3.0])
    assert updated.dtype == np.float64 and updated.shape == values.shape


WALK5 = RandomWalkEnv(n_states=5, left_reward=0.0, right_reward=1.0)


@pytest.fixture(scope="module")
def walk5_episodes():
    return tabular_episodes(WALK5, 100 * 150, seed=0)


@pytest.mark.parametrize("n", [1, 3, 1000])
def test_converges_to_the_random_walk_values(walk5_episodes, n):
    # 5-state walk with rewards 0 / 1: V = (1, ..., 5) / 6. From V = 0.5, the mean of 100 runs'
    # tables after 150 episodes at alpha = 0.05 is within about 0.015 of V (seeds 0-5 measured);
    # a constant step size keeps some noise, so the tolerance is 0.04.
    states, rewards, lengths = walk5_episodes
    runs, per_run = 100, 150
    V = np.full((runs, 6), 0.5)
    V[:, 5] = 0.0
    for k in range(per_run):
        cols = slice(k, None, per_run)  # episode k of every run
        T = lengths[cols].max()
        V = n_step_td_episode(
            V, states[: T + 1, cols], rewards[:T, cols], 1.0, n, 0.05, lengths[cols]
        )
    np.testing.assert_allclose(V[:, :5].mean(axis=0), WALK5.state_values(), atol=0.04)
    assert np.all(V[:, 5] == 0.0)


# ---------------------------------------------------------------------------------------------
# tabular_episodes


def test_tabular_episodes_driving_without_noise():
    states, rewards, lengths = tabular_episodes(DrivingEnv(noise_std=0.0), 2, seed=0)
    np.testing.assert_array_equal(states, [[0, 0], [1, 1], [2, 2], [3, 3]])
    np.testing.assert_array_equal(rewards, [[1.0, 1.0], [6.0, 6.0], [1.0, 1.0]])
    np.testing.assert_array_equal(lengths, [3, 3])
    assert states.dtype == np.int64 and rewards.dtype == np.float64


def test_tabular_episodes_random_walk_layout():
    states, rewards, lengths = tabular_episodes("pgkit/RandomWalk-v0", 30, seed=3)
    assert states.shape == (lengths.max() + 1, 30) and rewards.shape == (lengths.max(), 30)
    assert np.all(states[0] == 9)
    for i, L in enumerate(lengths):
        assert np.all(np.abs(np.diff(states[:L, i])) == 1)
        assert np.all(states[L:, i] == 19)
        assert np.all(rewards[: L - 1, i] == 0) and np.all(rewards[L:, i] == 0)
        assert rewards[L - 1, i] == (1.0 if states[L - 1, i] == 18 else -1.0)
        assert states[L - 1, i] in (0, 18)


def test_tabular_episodes_is_seeded_and_prefix_stable():
    a = tabular_episodes("pgkit/RandomWalk-v0", 5, seed=7)
    b = tabular_episodes("pgkit/RandomWalk-v0", 3, seed=7)
    c = tabular_episodes("pgkit/RandomWalk-v0", 3, seed=8)
    T = b[2].max()
    np.testing.assert_array_equal(a[0][: T + 1, :3], b[0])
    np.testing.assert_array_equal(a[1][:T, :3], b[1])
    np.testing.assert_array_equal(a[2][:3], b[2])
    assert not np.array_equal(b[2], c[2]) or not np.array_equal(b[0], c[0])


class _TruncatingEnv(gymnasium.Env):
    observation_space = gymnasium.spaces.Discrete(2)
    action_space = gymnasium.spaces.Discrete(1)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        return 1, 0.0, False, True, {}


def test_tabular_episodes_rejects_truncated_episodes():
    with pytest.raises(ValueError, match="truncated"):
        tabular_episodes(_TruncatingEnv(), 1, seed=0)


def test_tabular_episodes_rejects_continuous_states():
    with pytest.raises(ValueError, match="Discrete observation space"):
        tabular_episodes("pgkit/Bandit-v0", 1, seed=0)


def test_tabular_episodes_rejects_several_actions():
    with pytest.raises(ValueError, match="single action"):
        tabular_episodes(gymnasium.make("FrozenLake-v1"), 1, seed=0)


def test_tabular_episodes_rejects_zero_episodes():
    with pytest.raises(ValueError, match="episodes"):
        tabular_episodes("pgkit/Driving-v0", 0, seed=0)


# ---------------------------------------------------------------------------------------------
# n_step_td_episode error paths

V4, S4, R3 = np.zeros(4), np.array([0, 1, 2, 3]), np.array([1.0, 6.0, 1.0])


def test_rejects_float_states():
    with pytest.raises(TypeError, match="states must be integer"):
        n_step_td_episode(V4, S4.astype(float), R3, 1.0, 1, 0.5)


@pytest.mark.parametrize("states", [np.zeros((4, 1, 1), dtype=int), np.array([0])])
def test_rejects_badly_shaped_states(states):
    with pytest.raises(ValueError, match="states must be time-major"):
        n_step_td_episode(V4, states, R3, 1.0, 1, 0.5)


def test_rejects_value_table_not_matching_runs():
    with pytest.raises(ValueError, match="values must be a value table of shape \\(2, S\\)"):
        n_step_td_episode(V4, np.stack([S4, S4], 1), np.stack([R3, R3], 1), 1.0, 1, 0.5)


def test_rejects_rewards_of_the_wrong_length():
    with pytest.raises(ValueError, match="rewards must have one row fewer"):
        n_step_td_episode(V4, S4, np.ones(4), 1.0, 1, 0.5)


@pytest.mark.parametrize("name", ["values", "rewards"])
def test_rejects_non_finite_inputs(name):
    args = {"values": V4.copy(), "rewards": R3.copy()}
    args[name][1] = np.nan
    with pytest.raises(ValueError, match=f"{name} contains a non-finite value"):
        n_step_td_episode(args["values"], S4, args["rewards"], 1.0, 1, 0.5)


def test_rejects_states_outside_the_table():
    with pytest.raises(ValueError, match="states must index the value table"):
        n_step_td_episode(V4, np.array([0, 1, 2, 4]), R3, 1.0, 1, 0.5)


def test_rejects_float_lengths():
    with pytest.raises(TypeError, match="lengths must be integers"):
        n_step_td_episode(V4, S4, R3, 1.0, 1, 0.5, lengths=2.0)


def test_rejects_lengths_of_the_wrong_shape():
    with pytest.raises(ValueError, match="lengths must be one integer"):
        n_step_td_episode(V4, S4, R3, 1.0, 1, 0.5, lengths=[2, 3])


@pytest.mark.parametrize("lengths", [0, 4])
def test_rejects_lengths_out_of_range(lengths):
    with pytest.raises(ValueError, match="lengths must lie in 1 .. 3"):
        n_step_td_episode(V4, S4, R3, 1.0, 1, 0.5, lengths=lengths)


def test_rejects_alpha_above_one():
    with pytest.raises(ValueError, match="alpha must lie in \\[0, 1\\]"):
        n_step_td_episode(V4, S4, R3, 1.0, 1, 1.5)


def test_rejects_alpha_that_is_not_a_number():
    with pytest.raises(TypeError, match="alpha must be a real number"):
        n_step_td_episode(V4, S4, R3, 1.0, 1, "0.1")


def test_rejects_alpha_array_of_the_wrong_shape():
    with pytest.raises(ValueError, match="one step size per run, shape \\(1,\\)"):
        n_step_td_episode(V4, S4, R3, 1.0, 1, np.array([0.1, 0.2]))


def test_rejects_alpha_array_out_of_range():
    with pytest.raises(ValueError, match="every alpha must lie in \\[0, 1\\]"):
        n_step_td_episode(V4, S4, R3, 1.0, 1, np.array([-0.1]))


def test_rejects_boolean_alpha_array():
    with pytest.raises(TypeError, match="got booleans"):
        n_step_td_episode(V4, S4, R3, 1.0, 1, np.array([True]))


def test_rejects_n_below_one():
    with pytest.raises(ValueError, match="n must be >= 1"):
        n_step_td_episode(V4, S4, R3, 1.0, 0, 0.5)


def test_rejects_gamma_above_one():
    with pytest.raises(ValueError, match="gamma must lie in \\[0, 1\\]"):
        n_step_td_episode(V4, S4, R3, 1.5, 1, 0.5)
