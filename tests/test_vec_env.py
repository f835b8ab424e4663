"""Tests for pgkit.vec_env: the one factory, its autoreset guarantee and the episode quota.

RolloutEnv's bookkeeping and the partial resets are exercised through collection in
test_rollout; here are the parts of the module that need no policy.
"""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import pgkit.rollout
import pgkit.vec_env
from pgkit.objective import episode_returns
from pgkit.vec_env import RolloutEnv, episode_quota, make_vec_env

SAME_STEP_NATIVE = "pgkit-test/SameStepVector-v0"


def _same_step_vector(num_envs, **kwargs):
    """A 'native' vector entry point that resets in SAME_STEP mode."""
    return SyncVectorEnv(
        [lambda: gym.make("CartPole-v1")] * num_envs, autoreset_mode=AutoresetMode.SAME_STEP
    )


if SAME_STEP_NATIVE not in gym.registry:
    gym.register(
        SAME_STEP_NATIVE,
        entry_point="gymnasium.envs.classic_control.cartpole:CartPoleEnv",
        vector_entry_point=_same_step_vector,
    )


@pytest.mark.parametrize("episodes", [1, 7, 8, 9, 100])
@pytest.mark.parametrize("num_envs", [1, 3, 8])
def test_quota_adds_up_and_differs_by_at_most_one_first_envs_first(episodes, num_envs):
    quota = episode_quota(episodes, num_envs)
    assert quota.shape == (num_envs,) and quota.dtype == np.int64
    assert quota.sum() == episodes
    assert quota.max() - quota.min() <= 1
    assert (np.diff(quota) <= 0).all()  # the extra episodes go to the first sub-envs


def test_quota_refuses_non_positive_counts():
    with pytest.raises(ValueError, match="episodes must be >= 1"):
        episode_quota(0, 2)
    with pytest.raises(ValueError, match="num_envs must be >= 1"):
        episode_quota(3, 0)


def test_seed_none_builds_an_env_that_is_not_reset_yet():
    envs = make_vec_env("CartPole-v1", 2, seed=None)
    assert isinstance(envs, RolloutEnv) and envs.obs is None
    obs, _ = envs.reset(seed=3)
    np.testing.assert_array_equal(envs.obs, obs)
    np.testing.assert_array_equal(obs, make_vec_env("CartPole-v1", 2, seed=3).obs)


def test_native_and_sync_envs_are_chosen_as_before():
    assert type(make_vec_env("CartPole-v1", 2).env).__name__ == "CartPoleVectorEnv"
    assert type(make_vec_env("pgkit/PointMass-v0", 2).env).__name__ == "PointMassVectorEnv"
    same = make_vec_env("CartPole-v1", 2, autoreset_mode=AutoresetMode.SAME_STEP)
    assert isinstance(same.env, SyncVectorEnv)
    assert isinstance(make_vec_env("Pendulum-v1", 2).env, SyncVectorEnv)


def test_a_vector_env_in_another_autoreset_mode_than_asked_is_refused():
    with pytest.raises(ValueError, match="autoreset mode .*SAME_STEP, not the .*NEXT_STEP"):
        make_vec_env(SAME_STEP_NATIVE, 2)
    with pytest.raises(ValueError, match="autoreset mode"):
        episode_returns(lambda obs, rng: np.zeros(len(obs), int), SAME_STEP_NATIVE, episodes=2)


def test_env_id_must_be_a_registered_string():
    with pytest.raises(TypeError, match="env_id must be a string"):
        make_vec_env(42)
    with pytest.raises(ValueError, match="'CartPole-v99' is not a registered"):
        make_vec_env("CartPole-v99")


def test_rollout_keeps_the_old_import_paths():
    for name in ("RolloutEnv", "make_vec_env", "reset_envs"):
        assert getattr(pgkit.rollout, name) is getattr(pgkit.vec_env, name)


def test_a_cartpole_without_the_fields_restarted_says_what_to_use_instead():
    envs = make_vec_env("CartPole-v1", 2, seed=0)
    del envs.env.prev_done  # as a gymnasium that renamed it would look
    with pytest.raises(RuntimeError, match="SAME_STEP"):
        pgkit.vec_env._reset_finished(envs, envs.obs, np.array([True, False]))
