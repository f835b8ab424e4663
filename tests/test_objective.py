"""Tests for pgkit.objective: Monte Carlo returns and the estimate of J(theta) (Chapter 1)."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pgkit.objective import _env_seed_and_rng, episode_returns, mc_estimate


def random_policy(obs, rng):
    return rng.integers(0, 2, size=len(obs))


def lean_policy(obs, rng):
    """Push towards the side the pole is falling to: a = 1 if theta + 0.5 theta_dot > 0."""
    return (obs[:, 2] + 0.5 * obs[:, 3] > 0).astype(np.int64)


def reference_returns(act, env_id, episodes, seed, gamma=1.0):
    """The plain loop a reader would write: one environment, one episode at a time."""
    env_seed, rng = _env_seed_and_rng(seed)
    env = gym.make(env_id)
    returns = []
    obs, _ = env.reset(seed=env_seed)
    for _ in range(episodes):
        episode_return, discount, done = 0.0, 1.0, False
        while not done:
            action = act(obs[None], rng)[0]
            obs, reward, terminated, truncated, _ = env.step(action)
            episode_return += discount * reward
            discount *= gamma
            done = terminated or truncated
        returns.append(episode_return)
        obs, _ = env.reset()
    env.close()
    return np.array(returns)


# --- episode_returns against the single-environment loop -------------------------


@pytest.mark.parametrize("gamma", [1.0, 0.9])
@pytest.mark.parametrize("seed", [0, 1, 7])
@pytest.mark.parametrize("act", [random_policy, lean_policy], ids=["random", "lean"])
def test_one_copy_equals_single_env_loop_exactly(act, seed, gamma):
    expected = reference_returns(act, "CartPole-v1", episodes=12, seed=seed, gamma=gamma)
    got = episode_returns(act, "CartPole-v1", episodes=12, seed=seed, gamma=gamma, num_envs=1)
    np.testing.assert_array_equal(got, expected)


def test_environment_without_native_vector_version_equals_single_env_loop():
    # Acrobot has no vectorised implementation, so this exercises the fallback path.
    expected = reference_returns(random_policy, "Acrobot-v1", episodes=2, seed=3)
    got = episode_returns(random_policy, "Acrobot-v1", episodes=2, seed=3, num_envs=1)
    np.testing.assert_array_equal(got, expected)


def test_many_copies_sample_the_same_distribution_as_the_single_env_loop():
    # Random policy on CartPole: returns have std ~12, so with 1500 episodes each the
    # difference of means has a standard error of ~0.45; allow 4 standard errors.
    expected = reference_returns(random_policy, "CartPole-v1", episodes=1500, seed=11)
    got = episode_returns(random_policy, "CartPole-v1", episodes=1500, seed=12, num_envs=32)
    (mean_a, se_a), (mean_b, se_b) = mc_estimate(got), mc_estimate(expected)
    assert abs(mean_a - mean_b) < 4 * math.hypot(se_a, se_b)
    assert abs(got.std() - expected.std()) < 0.1 * expected.std()


# --- analytic returns: every episode of the lean policy reaches the 500-step limit ---


@pytest.mark.parametrize("gamma", [1.0, 0.99, 0.9, 0.0])
def test_lean_policy_discounted_return_matches_geometric_series(gamma):
    returns = episode_returns(lean_policy, episodes=40, seed=5, gamma=gamma, num_envs=8)
    # sum_{t=0}^{499} gamma^t; an included reset step would shift or shorten the series.
    expected = 500.0 if gamma == 1.0 else (1 - gamma**500) / (1 - gamma)
    np.testing.assert_allclose(returns, expected, rtol=1e-12)


def test_undiscounted_cartpole_returns_are_episode_lengths():
    returns = episode_returns(random_policy, episodes=300, seed=2, num_envs=16)
    assert np.all(returns == np.round(returns))
    # An episode cannot end before the pole passes 12 degrees, which takes several steps.
    assert returns.min() >= 5 and returns.max() <= 500


# --- counting and seeding -----------------------------------------------------------


@pytest.mark.parametrize(("episodes", "num_envs"), [(1, 1), (7, 3), (5, 16), (64, 64), (100, 7)])
def test_returns_exactly_the_requested_number_of_episodes(episodes, num_envs):
    returns = episode_returns(random_policy, episodes=episodes, seed=0, num_envs=num_envs)
    assert returns.shape == (episodes,)
    assert returns.dtype == np.float64


def test_same_seed_same_returns_and_different_seeds_differ():
    a = episode_returns(random_policy, episodes=50, seed=21)
    b = episode_returns(random_policy, episodes=50, seed=21)
    c = episode_returns(random_policy, episodes=50, seed=22)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_policy_and_environment_random_streams_are_independent():
    env_seed, rng = _env_seed_and_rng(0)
    env_rng = np.random.default_rng(env_seed)
    assert not np.array_equal(rng.random(8), env_rng.random(8))
    assert not np.array_equal(np.random.default_rng(0).random(8), _env_seed_and_rng(0)[1].random(8))


# --- episode_returns error paths ------------------------------------------------------


def test_episodes_below_one_is_rejected():
    with pytest.raises(ValueError, match="episodes must be >= 1"):
        episode_returns(random_policy, episodes=0)


def test_non_integer_episodes_is_rejected():
    with pytest.raises(TypeError, match="episodes must be a positive integer"):
        episode_returns(random_policy, episodes=2.5)


def test_num_envs_below_one_is_rejected():
    with pytest.raises(ValueError, match="num_envs must be >= 1"):
        episode_returns(random_policy, episodes=3, num_envs=0)


def test_gamma_outside_unit_interval_is_rejected():
    with pytest.raises(ValueError, match="gamma must lie in"):
        episode_returns(random_policy, episodes=3, gamma=1.5)


def test_unknown_env_id_is_rejected():
    with pytest.raises(ValueError, match="'CartPole-v99' is not a registered"):
        episode_returns(random_policy, "CartPole-v99", episodes=3)


def test_non_string_env_id_is_rejected():
    with pytest.raises(TypeError, match="env_id must be a string"):
        episode_returns(random_policy, 42, episodes=3)


def test_non_callable_policy_is_rejected():
    with pytest.raises(TypeError, match="act must be a function"):
        episode_returns("left", episodes=3)


def test_policy_returning_one_action_for_a_batch_is_rejected():
    with pytest.raises(ValueError, match="one action per observation"):
        episode_returns(lambda obs, rng: 1, episodes=3, num_envs=2)


def test_policy_returning_actions_outside_the_space_is_rejected():
    with pytest.raises(ValueError, match="outside the action space"):
        episode_returns(lambda obs, rng: np.full(len(obs), 2), episodes=3)


def test_policy_returning_float_actions_for_discrete_space_is_rejected():
    with pytest.raises(ValueError, match="outside the action space"):
        episode_returns(lambda obs, rng: np.full(len(obs), 0.5), episodes=3)


def test_boolean_actions_are_accepted():
    returns = episode_returns(lambda obs, rng: obs[:, 2] + 0.5 * obs[:, 3] > 0, episodes=4)
    np.testing.assert_array_equal(returns, 500.0)


# --- mc_estimate ----------------------------------------------------------------------


def test_mc_estimate_matches_hand_computation():
    # mean 2.5; s^2 = (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5/3; SE = sqrt(5/3) / 2
    mean, se = mc_estimate(np.array([1.0, 2.0, 3.0, 4.0]))
    assert mean == pytest.approx(2.5, abs=1e-15)
    assert se == pytest.approx(math.sqrt(5 / 3) / 2, rel=1e-14)


def test_mc_estimate_of_identical_returns_has_zero_standard_error():
    assert mc_estimate([500.0, 500.0, 500.0]) == (500.0, 0.0)


def test_mc_estimate_accepts_torch_and_returns_python_floats():
    mean, se = mc_estimate(torch.tensor([0.0, 2.0]))
    assert (type(mean), type(se)) == (float, float)
    assert (mean, se) == pytest.approx((1.0, 1.0))  # s = sqrt(2), SE = sqrt(2)/sqrt(2)


def test_mc_estimate_standard_error_predicts_spread_of_batch_means():
    # Exponential(1) returns: the mean of N = 25 has standard deviation 1/5.
    rng = np.random.default_rng(0)
    batches = rng.exponential(size=(4000, 25))
    means = batches.mean(axis=1)
    ses = np.array([mc_estimate(b)[1] for b in batches[:400]])
    assert means.std(ddof=1) == pytest.approx(0.2, rel=0.05)
    assert ses.mean() == pytest.approx(0.2, rel=0.05)


@settings(max_examples=40, deadline=None)
@given(
    returns=st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=30),
    scale=st.floats(-10, 10),
    shift=st.floats(-100, 100),
)
def test_mc_estimate_is_affine_equivariant(returns, scale, shift):
    mean, se = mc_estimate(returns)
    new_mean, new_se = mc_estimate(scale * np.array(returns) + shift)
    assert new_mean == pytest.approx(scale * mean + shift, rel=1e-9, abs=1e-6)
    assert new_se == pytest.approx(abs(scale) * se, rel=1e-9, abs=1e-6)


def test_mc_estimate_rejects_empty_returns():
    with pytest.raises(ValueError, match="holds 0 episode return"):
        mc_estimate(np.array([]))


def test_mc_estimate_rejects_a_single_return():
    with pytest.raises(ValueError, match="needs at least 2"):
        mc_estimate([3.0])


def test_mc_estimate_rejects_two_dimensional_returns():
    with pytest.raises(ValueError, match=r"one-dimensional, shape \(N,\)"):
        mc_estimate(np.ones((3, 2)))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_mc_estimate_rejects_non_finite_returns(bad):
    with pytest.raises(ValueError, match="non-finite value"):
        mc_estimate([1.0, bad, 3.0])


def test_mc_estimate_rejects_non_numeric_returns():
    with pytest.raises(TypeError, match="returns must be an array of numbers"):
        mc_estimate(["a", "b"])
