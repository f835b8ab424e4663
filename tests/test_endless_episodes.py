"""Loops that wait for whole episodes stop with a clear error on an environment that never
ends, instead of hanging (pgkit.objective.episode_returns, pgkit.rollout, REINFORCE)."""

import gymnasium as gym
import numpy as np
import pytest

from pgkit import algos, validation
from pgkit.objective import episode_returns
from pgkit.policies import CategoricalPolicy
from pgkit.rollout import collect_episodes, evaluate, make_vec_env


class Endless(gym.Env):
    """Reward 1 for ever: it never terminates and has no time limit."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.zeros(2, np.float32), 1.0, False, False, {}


ENDLESS = "pgkit-test/Endless-v0"
if ENDLESS not in gym.registry:
    gym.register(ENDLESS, entry_point=Endless, disable_env_checker=True)


@pytest.fixture(autouse=True)
def small_limit(monkeypatch):
    monkeypatch.setattr(validation, "MAX_EPISODE_STEPS", 300)


def test_episode_returns_stops(monkeypatch):
    with pytest.raises(ValueError, match="ran 300 steps without terminating.*max_episode_steps"):
        episode_returns(lambda obs, rng: np.zeros(len(obs), int), ENDLESS, episodes=2, seed=0)


def test_evaluate_and_collect_episodes_stop():
    policy = CategoricalPolicy(2, 2, hidden=(4,))
    with pytest.raises(ValueError, match="without terminating"):
        evaluate(policy, ENDLESS, episodes=2, seed=0)
    with pytest.raises(ValueError, match="without terminating"):
        collect_episodes(make_vec_env(ENDLESS, num_envs=2, seed=0), policy, 2)


def test_reinforce_stops():
    with pytest.raises(ValueError, match="without terminating"):
        algos.reinforce(ENDLESS, total_steps=100, seed=0, episodes_per_batch=2, progress=False)


def test_a_time_limit_is_the_fix():
    limited = "pgkit-test/EndlessLimited-v0"
    if limited not in gym.registry:
        gym.register(limited, entry_point=Endless, max_episode_steps=50, disable_env_checker=True)
    returns = episode_returns(lambda obs, rng: np.zeros(len(obs), int), limited, episodes=3)
    assert returns.tolist() == [50.0, 50.0, 50.0]


class EndlessChain(gym.Env):
    """One state, one action, reward 0 for ever: a tabular chain that never terminates."""

    observation_space = gym.spaces.Discrete(1)
    action_space = gym.spaces.Discrete(1)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        return 0, 0.0, False, False, {}


def test_tabular_episodes_stops():
    from pgkit.td import tabular_episodes

    with pytest.raises(ValueError, match="ran 300 steps without terminating"):
        tabular_episodes(EndlessChain(), 1, seed=0)


def test_the_real_limit_stops_within_seconds(monkeypatch):
    monkeypatch.undo()  # the limit pgkit ships with, not the small one of the fixture
    assert validation.MAX_EPISODE_STEPS == 10_000
    with pytest.raises(ValueError, match="10000 steps without terminating"):
        episode_returns(lambda obs, rng: np.zeros(len(obs), int), ENDLESS, episodes=1, seed=0)


def test_a_policy_that_does_not_fit_the_actions_is_refused_before_a_step():
    envs = make_vec_env("CartPole-v1", num_envs=1, seed=0)
    with pytest.raises(
        ValueError, match=r"does not fit the environment's action space Discrete\(2\)"
    ):
        collect_episodes(envs, CategoricalPolicy(4, 3, hidden=(4,)), 1)
    with pytest.raises(ValueError, match="make_policy"):
        evaluate(CategoricalPolicy(1, 2, hidden=(4,)), "pgkit/PointMass-v0", episodes=1)
