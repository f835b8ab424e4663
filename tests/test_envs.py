"""Tests for pgkit.envs: each documented exact answer is recomputed independently.

Statistical checks use fixed seeds and accept a Monte Carlo mean within 4 standard errors of the
exact value (a false alarm about once in 16,000 runs if the seed were redrawn).
"""

import subprocess
import sys
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import pgkit.envs as envs

IDS = ["pgkit/Bandit-v0", "pgkit/Driving-v0", "pgkit/RandomWalk-v0", "pgkit/PointMass-v0"]
PHI = (1 + np.sqrt(5)) / 2


def assert_within_4_se(samples, exact):
    samples = np.asarray(samples, dtype=np.float64)
    se = samples.std(ddof=1) / np.sqrt(len(samples))
    assert abs(samples.mean() - exact) <= 4 * se + 1e-12, (samples.mean(), exact, se)


def run_episode(env, seed, policy=None):
    """Roll out one episode; returns lists of observations and rewards."""
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    observations, rewards = [obs], []
    while True:
        action = env.action_space.sample() if policy is None else policy(obs)
        obs, reward, terminated, truncated, _ = env.step(action)
        observations.append(obs)
        rewards.append(reward)
        if terminated or truncated:
            return observations, rewards


# ---------------------------------------------------------------------------------------------
# Registration and the Gymnasium API
# ---------------------------------------------------------------------------------------------


def test_importing_twice_registers_each_id_once_without_warnings():
    code = (
        "import importlib, gymnasium, pgkit.envs\n"
        "importlib.reload(pgkit.envs)\n"
        "pgkit.envs.register_envs()\n"
        f"ids = {IDS!r}\n"
        "assert all(i in gymnasium.registry for i in ids)\n"
        "assert sum(k.startswith('pgkit/') for k in gymnasium.registry) == 4\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("env_id", IDS)
def test_check_env_passes_without_warnings(env_id):
    env = gymnasium.make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)


@pytest.mark.parametrize("env_id", IDS)
def test_reset_seed_reproduces_the_episode(env_id):
    def trace(seed):
        observations, rewards = run_episode(gymnasium.make(env_id), seed)
        return np.concatenate([np.ravel(observations).astype(float), rewards])

    np.testing.assert_array_equal(trace(7), trace(7))
    assert not np.array_equal(trace(7), trace(8))


def test_make_vec_point_mass_sync_runs_whole_episodes():
    vec = gymnasium.make_vec("pgkit/PointMass-v0", num_envs=8, vectorization_mode="sync")
    obs, _ = vec.reset(seed=0)
    assert obs.shape == (8, 1) and obs.dtype == np.float32
    assert len(np.unique(obs)) == 8
    for t in range(20):
        obs, rewards, terminated, truncated, _ = vec.step(np.zeros((8, 1), dtype=np.float32))
        assert rewards.shape == (8,) and not terminated.any()
        assert truncated.all() == (t == 19)
    vec.close()


@pytest.mark.parametrize("env_id", IDS)
def test_step_before_reset_raises(env_id):
    env = gymnasium.make(env_id).unwrapped
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(env.action_space.sample())


@pytest.mark.parametrize("env_id", IDS)
def test_step_after_episode_end_raises(env_id):
    env = gymnasium.make(env_id).unwrapped
    run_episode(env, seed=0)
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(env.action_space.sample())


@pytest.mark.parametrize("env_id", IDS[:3])
def test_discrete_action_out_of_range_raises(env_id):
    env = gymnasium.make(env_id).unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action must be an integer"):
        env.step(env.action_space.n)


@pytest.mark.parametrize("action", [np.zeros(2), np.array([np.nan])])
def test_point_mass_bad_action_raises(action):
    env = envs.PointMassEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action must be one finite number"):
        env.step(action)


# ---------------------------------------------------------------------------------------------
# Bandit (Chapter 2)
# ---------------------------------------------------------------------------------------------


def test_bandit_rewards_have_the_documented_means():
    env = gymnasium.make("pgkit/Bandit-v0").unwrapped
    assert env.best_arm == 1 and env.optimal_value == 0.8
    env.reset(seed=0)
    for arm, mean in enumerate(env.means):
        rewards = []
        for _ in range(2000):
            obs, reward, terminated, truncated, info = env.step(arm)
            assert terminated and not truncated and info["arm_mean"] == mean
            assert info["regret"] == pytest.approx(0.8 - mean)
            np.testing.assert_array_equal(obs, [0.0])
            rewards.append(reward)
            env.reset()
        assert_within_4_se(rewards, mean)
        assert np.std(rewards) == pytest.approx(1.0, rel=0.1)


def test_bandit_custom_means_and_noiseless_rewards():
    env = gymnasium.make("pgkit/Bandit-v0", means=[3.0, -1.0, 3.0], noise_std=0.0).unwrapped
    assert env.best_arm == 0 and env.optimal_value == 3.0
    env.reset(seed=0)
    assert env.step(1)[1] == -1.0


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"means": [[0.0, 1.0]]}, ValueError, "1-D sequence"),
        ({"means": [1.0]}, ValueError, "at least two arms"),
        ({"means": [0.0, np.nan]}, ValueError, "non-finite"),
        ({"means": ["a", "b"]}, TypeError, "array of numbers"),
        ({"noise_std": -1.0}, ValueError, "noise_std must be >= 0"),
        ({"noise_std": "1"}, TypeError, "noise_std must be a real number"),
    ],
)
def test_bandit_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        envs.BanditEnv(**kwargs)


# ---------------------------------------------------------------------------------------------
# Driving (Chapter 6)
# ---------------------------------------------------------------------------------------------


def test_driving_state_values_match_monte_carlo_returns():
    env = gymnasium.make("pgkit/Driving-v0").unwrapped
    np.testing.assert_array_equal(env.state_values(), [8.0, 7.0, 1.0, 0.0])
    returns_by_city = [[] for _ in range(3)]
    for episode in range(3000):
        observations, rewards = run_episode(env, seed=episode)
        for city in range(3):
            returns_by_city[city].append(sum(rewards[city:]))
        assert observations == [0, 1, 2, 3]
    for city in range(3):
        assert_within_4_se(returns_by_city[city], env.state_values()[city])


def test_driving_replays_the_sampled_trip_2_6_2():
    env = gymnasium.make("pgkit/Driving-v0")
    obs, info = env.reset(seed=0, options={"leg_hours": [2, 6, 2]})
    assert (obs, info["city"]) == (0, "SF")
    rewards, cities = [], []
    for _ in range(3):
        obs, reward, terminated, truncated, info = env.step(0)
        rewards.append(reward)
        cities.append(info["city"])
    assert rewards == [2.0, 6.0, 2.0] and sum(rewards) == 10.0
    assert cities == ["SJ", "LA", "SD"] and terminated and not truncated


def test_driving_leg_hours_are_nonnegative_with_the_stated_moments():
    env = envs.DrivingEnv(noise_std=[0.5, 2.0, 0.8])
    hours = env.sample_leg_hours(20_000, seed=0)
    assert hours.shape == (20_000, 3) and (hours >= 0).all()
    dist = env.leg_hours_distribution()
    np.testing.assert_allclose(dist["shape"] * dist["scale"], [1.0, 6.0, 1.0])
    np.testing.assert_allclose(np.sqrt(dist["shape"]) * dist["scale"], [0.5, 2.0, 0.8])
    for leg in range(3):
        assert_within_4_se(hours[:, leg], dist["mean"][leg])
    np.testing.assert_allclose(hours.std(axis=0), dist["std"], rtol=0.05)
    np.testing.assert_array_equal(env.sample_leg_hours(5, seed=1), env.sample_leg_hours(5, seed=1))


def test_driving_without_noise_every_trip_takes_8_hours():
    env = envs.DrivingEnv(noise_std=0.0)
    _, rewards = run_episode(env, seed=3)
    assert rewards == [1.0, 6.0, 1.0]


def test_driving_custom_route_values():
    env = envs.DrivingEnv(expected_hours=[2.0, 3.0], noise_std=0.0, cities=["A", "B", "C"])
    np.testing.assert_array_equal(env.state_values(), [5.0, 3.0, 0.0])
    assert env.observation_space.n == 3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"expected_hours": [[1.0, 6.0, 1.0]]}, "expected_hours must be a 1-D"),
        ({"expected_hours": [1.0, 0.0, 1.0]}, "expected_hours must all be > 0"),
        ({"expected_hours": [1.0, np.inf, 1.0]}, "non-finite"),
        ({"noise_std": -0.1}, "noise_std must be >= 0"),
        ({"noise_std": [0.5, 0.5]}, "one entry per leg"),
        ({"cities": ("SF", "SJ", "SD")}, "cities must be 4 names"),
        ({"cities": ("SF", "SJ", "SJ", "SD")}, "distinct names"),
    ],
)
def test_driving_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        envs.DrivingEnv(**kwargs)


@pytest.mark.parametrize(
    "leg_hours, match", [([2.0, 6.0], "one time per leg"), ([2.0, -1.0, 2.0], ">= 0 hours")]
)
def test_driving_rejects_bad_replayed_trip(leg_hours, match):
    with pytest.raises(ValueError, match=match):
        envs.DrivingEnv().reset(seed=0, options={"leg_hours": leg_hours})


def test_driving_sample_leg_hours_rejects_zero_trips():
    with pytest.raises(ValueError, match="n_trips must be >= 1"):
        envs.DrivingEnv().sample_leg_hours(0)


# ---------------------------------------------------------------------------------------------
# Random walk (Chapter 6)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_states, left, right", [(19, -1.0, 1.0), (5, 0.0, 1.0), (7, 2.0, -3.0)])
def test_random_walk_values_solve_the_bellman_linear_system(n_states, left, right):
    # V = r + P V over non-terminal states, with P the 1/2-left, 1/2-right transition matrix.
    P = np.zeros((n_states, n_states))
    r = np.zeros(n_states)
    for s in range(n_states):
        for step in (-1, 1):
            if 0 <= s + step < n_states:
                P[s, s + step] += 0.5
        r[s] = 0.5 * left * (s == 0) + 0.5 * right * (s == n_states - 1)
    V = np.linalg.solve(np.eye(n_states) - P, r)
    env = envs.RandomWalkEnv(n_states=n_states, left_reward=left, right_reward=right)
    np.testing.assert_allclose(env.state_values(), V, atol=1e-12)


def test_random_walk_default_values_are_minus_0_9_to_0_9():
    values = gymnasium.make("pgkit/RandomWalk-v0").unwrapped.state_values()
    np.testing.assert_allclose(values, (np.arange(19) + 1) / 10 - 1, atol=1e-15)
    assert values[9] == 0.0


def test_random_walk_monte_carlo_return_and_length_from_the_middle():
    env = envs.RandomWalkEnv(n_states=5, left_reward=0.0, right_reward=1.0)
    returns, lengths = [], []
    for episode in range(2000):
        observations, rewards = run_episode(env, seed=episode)
        assert np.all(np.abs(np.diff(observations[:-1])) == 1)
        assert observations[0] == 2 and observations[-1] == 5
        returns.append(sum(rewards))
        lengths.append(len(rewards))
    assert_within_4_se(returns, env.state_values()[2])  # 1/2
    assert_within_4_se(lengths, 3 * 3)  # expected exit time from s is (s + 1)(n - s)


def test_random_walk_ends_report_their_side():
    env = envs.RandomWalkEnv(n_states=3)
    sides = set()
    for seed in range(20):
        env.reset(seed=seed)
        while True:
            obs, reward, terminated, _, info = env.step(0)
            if terminated:
                sides.add((info["side"], reward, obs))
                break
            assert info["side"] is None and reward == 0.0
    assert sides == {("left", -1.0, 3), ("right", 1.0, 3)}


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_states": 18}, ValueError, "must be odd and >= 3"),
        ({"n_states": 1}, ValueError, "must be odd and >= 3"),
        ({"n_states": 19.0}, TypeError, "n_states must be a positive integer"),
        ({"left_reward": np.nan}, ValueError, "left_reward must be finite"),
    ],
)
def test_random_walk_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        envs.RandomWalkEnv(**kwargs)


# ---------------------------------------------------------------------------------------------
# Point mass LQR (Chapter 4)
# ---------------------------------------------------------------------------------------------


def geometric_return(K, rho, horizon, gamma=1.0):
    """Independent scalar formula: x_t = (1 - K)^t x_0, E[x_0^2] = 1/3, cost (1 + rho K^2) x_t^2."""
    ratio = gamma * (1 - K) ** 2
    steps = horizon if ratio == 1 else (1 - ratio**horizon) / (1 - ratio)
    return -(1 + rho * K**2) / 3 * steps


@pytest.mark.parametrize("rho", [0.1, 1.0, 10.0])
def test_point_mass_gain_solves_the_scalar_riccati_equation(rho):
    env = envs.PointMassEnv(action_cost=rho)
    p = (1 + np.sqrt(1 + 4 * rho)) / 2
    assert env.optimal_gain == pytest.approx(p / (rho + p), abs=1e-12)
    for K in (0.0, 0.3, env.optimal_gain, 1.5):
        assert env.expected_return(K) == pytest.approx(geometric_return(K, rho, 20), rel=1e-12)


def test_point_mass_default_optimum_is_the_golden_ratio():
    env = gymnasium.make("pgkit/PointMass-v0").unwrapped
    assert env.optimal_gain == pytest.approx(1 / PHI, abs=1e-12)
    assert env.optimal_return == pytest.approx(-PHI / 3, abs=1e-12)
    assert env.finite_horizon_optimal_return == pytest.approx(env.optimal_return, abs=1e-12)


@pytest.mark.parametrize("rho, horizon", [(1.0, 20), (0.2, 50), (5.0, 20)])
def test_point_mass_gain_wins_a_brute_force_grid_search(rho, horizon):
    env = envs.PointMassEnv(horizon=horizon, action_cost=rho)
    grid = np.arange(0.0, 2.0, 1e-4)
    best = grid[np.argmax([geometric_return(K, rho, horizon) for K in grid])]
    assert abs(best - env.optimal_gain) <= 1e-4
    assert env.optimal_return >= max(geometric_return(K, rho, horizon) for K in grid) - 1e-12


def test_point_mass_short_horizon_optimum_is_time_varying():
    # With one step left, acting only costs: the best last action is u = 0, so P_0 = Q = 1.
    env = envs.PointMassEnv(horizon=1)
    assert env.finite_horizon_optimal_return == pytest.approx(-1 / 3, abs=1e-15)
    gains, _ = envs.finite_horizon_lqr(1.0, 1.0, 1.0, 1.0, horizon=2)
    np.testing.assert_allclose(gains[:, 0, 0], [0.5, 0.0], atol=1e-15)
    assert envs.PointMassEnv(horizon=2).optimal_return < -0.5 + 1e-12  # stationary is worse


@pytest.mark.parametrize("gain, action_std", [(1 / PHI, 0.0), (1 / PHI, 0.1), (0.3, 0.1)])
def test_point_mass_exact_return_matches_monte_carlo_rollouts(gain, action_std):
    env = gymnasium.make("pgkit/PointMass-v0")
    rng = np.random.default_rng(0)
    returns, clipped = [], 0
    for episode in range(2000):
        obs, _ = env.reset(seed=episode)
        total, done = 0.0, False
        while not done:
            action = -gain * obs + action_std * rng.standard_normal(1)
            obs, reward, terminated, truncated, info = env.step(action.astype(np.float32))
            total += reward
            clipped += info["clipped"]
            done = terminated or truncated
        returns.append(total)
    assert clipped == 0
    assert_within_4_se(returns, env.unwrapped.expected_return(gain, action_std=action_std))


def test_point_mass_clips_actions_and_charges_the_clipped_action():
    env = envs.PointMassEnv()
    env.reset(seed=0, options={"x0": 0.5})
    obs, reward, _, _, info = env.step(np.array([5.0]))
    assert obs[0] == pytest.approx(1.5) and reward == pytest.approx(-(0.25 + 1.0))
    assert info["clipped"]


def test_lqr_gain_on_a_double_integrator():
    dt = 0.1
    A = np.array([[1.0, dt], [0.0, 1.0]])
    B = np.array([[0.0], [dt]])
    Q, R = np.diag([1.0, 0.1]), np.array([[0.01]])
    S0 = np.eye(2)

    def J(gain, gamma):
        return envs.linear_policy_return(gain, A, B, Q, R, 600, S0, gamma=gamma)

    for gamma in (1.0, 0.95):
        K, P = envs.lqr_gain(A, B, Q, R, gamma=gamma)
        residual = Q + gamma * A.T @ P @ A - (gamma * A.T @ P @ B) @ K - P
        assert np.abs(residual).max() < 1e-8
        assert J(K, gamma) == pytest.approx(-np.trace(P @ S0), rel=1e-8)
        rng = np.random.default_rng(1)
        assert all(
            J(K + 0.05 * rng.standard_normal(K.shape), gamma) < J(K, gamma) for _ in range(20)
        )
    gains, P0 = envs.finite_horizon_lqr(A, B, Q, R, horizon=600)
    K, P = envs.lqr_gain(A, B, Q, R)
    np.testing.assert_allclose(gains[0], K, rtol=1e-8)
    np.testing.assert_allclose(P0, P, rtol=1e-8)


def test_linear_policy_return_with_noise_matches_simulation_of_the_recursion():
    # Simulate x' = (A - BK) x + B sigma eps directly, independent of the env.
    A, B, Q, R = np.eye(2), np.array([[1.0], [0.5]]), np.diag([1.0, 2.0]), np.array([[0.5]])
    K, sigma, horizon = np.array([[0.4, 0.2]]), 0.3, 10
    rng = np.random.default_rng(2)
    x = rng.standard_normal((20_000, 2))
    total = np.zeros(20_000)
    for _ in range(horizon):
        u = -x @ K.T + sigma * rng.standard_normal((20_000, 1))
        total -= np.einsum("bi,ij,bj->b", x, Q, x) + np.einsum("bi,ij,bj->b", u, R, u)
        x = x @ A.T + u @ B.T
    exact = envs.linear_policy_return(K, A, B, Q, R, horizon, np.eye(2), action_std=sigma)
    assert_within_4_se(total, exact)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"horizon": 0}, ValueError, "horizon must be >= 1"),
        ({"horizon": 2.5}, TypeError, "horizon must be a positive integer"),
        ({"action_cost": 0.0}, ValueError, "action_cost must be > 0"),
        ({"action_cost": -1.0}, ValueError, "action_cost must be > 0"),
    ],
)
def test_point_mass_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        envs.PointMassEnv(**kwargs)


def test_point_mass_rejects_start_outside_the_support():
    with pytest.raises(ValueError, match=r"options\['x0'\] must lie in \[-1, 1\]"):
        envs.PointMassEnv().reset(seed=0, options={"x0": 2.0})


def test_point_mass_expected_return_rejects_non_number_gain():
    with pytest.raises(TypeError, match="gain must be a real number"):
        envs.PointMassEnv().expected_return([0.5, 0.5])


def test_lqr_gain_rejects_an_uncontrollable_unstable_system():
    with pytest.raises(ValueError, match="did not converge"):
        envs.lqr_gain(2.0, 0.0, 1.0, 1.0)


def test_lqr_functions_reject_mismatched_matrices():
    with pytest.raises(ValueError, match=r"A must have shape \(2, 2\)"):
        envs.lqr_gain(np.eye(3), np.ones((2, 1)), np.eye(2), np.eye(1))


@pytest.mark.parametrize("fn", [envs.lqr_gain, envs.finite_horizon_lqr])
def test_lqr_functions_reject_gamma_above_one(fn):
    kwargs = {"horizon": 5} if fn is envs.finite_horizon_lqr else {}
    with pytest.raises(ValueError, match=r"gamma must lie in \[0, 1\]"):
        fn(1.0, 1.0, 1.0, 1.0, gamma=1.5, **kwargs)


def test_linear_policy_return_rejects_wrong_gain_shape():
    with pytest.raises(ValueError, match=r"K must have shape \(1, 2\)"):
        envs.linear_policy_return(
            np.ones((2, 1)), np.eye(2), np.ones((2, 1)), np.eye(2), 1.0, 5, np.eye(2)
        )


# --------------------------------------------------------------- PointMass, vectorised


def test_make_vec_point_mass_uses_the_array_env():
    vec = gymnasium.make_vec("pgkit/PointMass-v0", num_envs=4)
    assert isinstance(vec.unwrapped, envs.PointMassVectorEnv)
    assert vec.observation_space.shape == (4, 1) and vec.action_space.shape == (4, 1)
    assert vec.single_action_space == envs.PointMassEnv().action_space


@pytest.mark.parametrize("gain, action_std", [(1 / PHI, 0.0), (0.3, 0.1)])
def test_point_mass_vector_env_returns_match_the_exact_return(gain, action_std):
    # Same law as the single env: 2000 episodes (100 sub-envs x 20 resets) against the formula.
    vec = envs.PointMassVectorEnv(num_envs=100)
    rng = np.random.default_rng(0)
    returns = []
    for episode in range(20):
        obs, _ = vec.reset(seed=episode)
        total = np.zeros(100)
        for t in range(vec.horizon):
            action = -gain * obs + action_std * rng.standard_normal((100, 1))
            obs, reward, terminated, truncated, info = vec.step(action)
            total += reward
            assert not terminated.any() and not info["clipped"].any()
            assert truncated.all() == (t == vec.horizon - 1)
        returns.extend(total)
    assert_within_4_se(returns, envs.PointMassEnv().expected_return(gain, action_std=action_std))


def test_point_mass_vector_env_autoresets_on_the_next_step():
    vec = envs.PointMassVectorEnv(num_envs=3, horizon=2)
    vec.reset(seed=0)
    push = np.ones((3, 1))
    vec.step(push)
    _, _, _, truncated, _ = vec.step(push)
    assert truncated.all()
    obs, reward, _, truncated, info = vec.step(push)  # the action is ignored: a fresh start
    assert np.all(np.abs(obs) <= 1.0) and np.all(reward == 0.0) and not truncated.any()
    assert not info["clipped"].any()
    _, reward, _, truncated, _ = vec.step(push)
    assert np.all(reward < 0.0) and not truncated.any()


def test_point_mass_vector_env_masked_reset_restarts_only_the_masked_sub_envs():
    vec = envs.PointMassVectorEnv(num_envs=4)
    vec.reset(seed=1, options={"reset_mask": np.ones(4, bool)})  # all-True first: a full reset
    moved, *_ = vec.step(np.full((4, 1), 0.5))
    obs, _ = vec.reset(options={"reset_mask": np.array([True, False, True, False])})
    np.testing.assert_array_equal(obs[[1, 3]], moved[[1, 3]])
    assert np.all(np.abs(obs[[0, 2]]) <= 1.0)
    _, reward, _, _, _ = vec.step(np.zeros((4, 1)))
    np.testing.assert_allclose(reward, -(obs[:, 0].astype(np.float64) ** 2), rtol=1e-6)


def test_point_mass_vector_env_same_seed_same_episodes():
    def episode(seed):
        vec = envs.PointMassVectorEnv(num_envs=5)
        obs, _ = vec.reset(seed=seed)
        rewards = [vec.step(-0.5 * obs)[1] for _ in range(25)]  # past one autoreset
        return np.array(rewards)

    np.testing.assert_array_equal(episode(3), episode(3))
    assert not np.array_equal(episode(3), episode(4))


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda v: v.step(np.zeros((2, 1))), RuntimeError, "before reset"),
        (lambda v: (v.reset(seed=0), v.step(np.zeros(2))), ValueError, r"shape \(2, 1\)"),
        (lambda v: (v.reset(seed=0), v.step(np.full((2, 1), np.nan))), ValueError, "finite"),
        (lambda v: v.reset(options={"reset_mask": np.ones(3, bool)}), ValueError, "reset_mask"),
        (lambda v: v.reset(options={"reset_mask": [1, 0]}), ValueError, "boolean"),
        (lambda v: v.reset(options={"reset_mask": np.array([True, False])}), RuntimeError, "once"),
    ],
)
def test_point_mass_vector_env_rejects_misuse(call, error, match):
    vec = envs.PointMassVectorEnv(num_envs=2)
    with pytest.raises(error, match=match):
        call(vec)


def test_point_mass_vector_env_validates_its_arguments():
    with pytest.raises(ValueError, match="num_envs"):
        envs.PointMassVectorEnv(num_envs=0)
    with pytest.raises(ValueError, match="action_cost"):
        envs.PointMassVectorEnv(action_cost=-1.0)
