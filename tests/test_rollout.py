"""Tests for pgkit.rollout: real transitions in both autoreset modes, statistics, episodes.

The counting environment makes every mistake visible: its observation is
[episode id, steps taken in the episode], so a phantom reset transition, a wrong
next_obs at an episode end or a lost truncation breaks a simple identity.
"""

import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from torch.distributions import Categorical, Distribution

from pgkit.policies import CategoricalPolicy, GaussianPolicy, ValueFunction
from pgkit.rollout import (
    Batch,
    RolloutEnv,
    collect,
    collect_episodes,
    evaluate,
    make_vec_env,
    reset_envs,
)

LENGTHS = (3, 5, 4, 7)
TERMINATES = (True, False, True, False)  # the others end by the TimeLimit wrapper
MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP]


class CountingEnv(gym.Env):
    """obs = [episode id, t]; reward = t after the step; episodes last ``length`` steps."""

    def __init__(self, length=5, terminates=True, reward_is_action=False):
        self.observation_space = gym.spaces.Box(0.0, np.inf, shape=(2,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.length, self.terminates, self.reward_is_action = length, terminates, reward_is_action
        self.episode, self.t = -1, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.episode, self.t = self.episode + 1, 0
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        reward = float(action) if self.reward_is_action else float(self.t)
        return self._obs(), reward, self.terminates and self.t == self.length, False, {}

    def _obs(self):
        return np.array([self.episode, self.t], dtype=np.float32)


class EchoEnv(gym.Env):
    """obs = the action the env received, so clipping at the env boundary is visible."""

    observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
    action_space = gym.spaces.Box(-0.5, 0.5, shape=(1,), dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, np.float32), {}

    def step(self, action):
        return np.asarray(action, np.float32), 0.0, False, False, {}


def counting_env(length, terminates):
    env = CountingEnv(length, terminates)
    return env if terminates else gym.wrappers.TimeLimit(env, max_episode_steps=length)


def make_counting_envs(mode, seed=0):
    fns = [lambda L=L, k=k: counting_env(L, k) for L, k in zip(LENGTHS, TERMINATES, strict=True)]
    envs = RolloutEnv(SyncVectorEnv(fns, autoreset_mode=mode))
    reset_envs(envs, seed=seed)
    return envs


def policy_for(obs_dim=2, seed=0):
    torch.manual_seed(seed)
    return CategoricalPolicy(obs_dim, 2)


def concat(*batches):
    return {
        name: torch.cat([getattr(b, name) for b in batches])
        for name in ("obs", "rewards", "terminated", "truncated", "next_obs")
    }


def assert_counting_transitions(b):
    """Every row is a real step of the counting env, with correct flags and successors."""
    obs, next_obs = b["obs"].numpy(), b["next_obs"].numpy()
    lengths, terminates = np.array(LENGTHS), np.array(TERMINATES)
    np.testing.assert_array_equal(next_obs[..., 0], obs[..., 0])  # same episode
    np.testing.assert_array_equal(next_obs[..., 1], obs[..., 1] + 1)  # one step later
    np.testing.assert_array_equal(b["rewards"].numpy(), next_obs[..., 1])
    ended = next_obs[..., 1] == lengths
    np.testing.assert_array_equal(b["terminated"].numpy(), ended & terminates)
    np.testing.assert_array_equal(b["truncated"].numpy(), ended & ~terminates)
    fresh = np.stack([next_obs[:-1, :, 0] + 1, np.zeros_like(next_obs[:-1, :, 1])], -1)
    expected_next = np.where(ended[:-1, :, None], fresh, next_obs[:-1])
    np.testing.assert_array_equal(obs[1:], expected_next)


@pytest.mark.parametrize("mode", MODES)
def test_every_collected_row_is_a_real_transition(mode):
    envs = make_counting_envs(mode)
    batch = collect(envs, policy_for(), steps=20)
    assert batch.obs.shape == (20, 4, 2) and batch.next_obs.shape == (20, 4, 2)
    assert batch.actions.shape == (20, 4) and batch.actions.dtype == torch.long
    assert batch.rewards.dtype == torch.float32 and batch.terminated.dtype == torch.bool
    np.testing.assert_array_equal(batch.obs[0].numpy(), np.zeros((4, 2)))
    assert_counting_transitions(concat(batch))


@pytest.mark.parametrize("mode", MODES)
def test_collection_continues_across_calls(mode):
    envs = make_counting_envs(mode)
    policy = policy_for()
    first, second = collect(envs, policy, 4), collect(envs, policy, 9)
    assert_counting_transitions(concat(first, second))
    # Sub-env 3 (length 7) is mid-episode at the boundary and carries on counting.
    assert first.next_obs[-1, 3].tolist() == [0.0, 4.0]
    assert second.obs[0, 3].tolist() == [0.0, 4.0]


@pytest.mark.parametrize("mode", MODES)
def test_episode_statistics_span_batches(mode):
    envs = make_counting_envs(mode)
    policy = policy_for()
    batches = [collect(envs, policy, 4), collect(envs, policy, 10)]
    # Episodes end at t = L-1, 2L-1, ... (0-based); listed by end time, then sub-env.
    ends = sorted((t, i) for i, L in enumerate(LENGTHS) for t in range(L - 1, 14, L))
    expected_lengths = [LENGTHS[i] for _, i in ends]
    lengths = np.concatenate([b.episode_lengths for b in batches])
    returns = np.concatenate([b.episode_returns for b in batches])
    np.testing.assert_array_equal(lengths, expected_lengths)
    np.testing.assert_array_equal(returns, [L * (L + 1) / 2 for L in expected_lengths])
    assert batches[0].episode_lengths.dtype == np.int64
    assert 7 in batches[1].episode_lengths  # the episode started in the first batch


@pytest.mark.parametrize("mode", MODES)
def test_value_fn_gives_values_and_next_values_of_the_true_successor(mode):
    envs = make_counting_envs(mode)
    batch = collect(envs, policy_for(), 12, value_fn=lambda obs: obs[..., 1] * 10.0)
    torch.testing.assert_close(batch.values, batch.obs[..., 1] * 10.0)
    torch.testing.assert_close(batch.next_values, batch.next_obs[..., 1] * 10.0)
    ends = batch.terminated | batch.truncated
    expected = torch.tensor(LENGTHS, dtype=torch.float32).expand(12, 4)[ends] * 10.0
    torch.testing.assert_close(batch.next_values[ends], expected)  # V(final obs), not V(reset)


def test_without_value_fn_values_are_none():
    batch = collect(make_counting_envs(AutoresetMode.NEXT_STEP), policy_for(), 3)
    assert batch.values is None and batch.next_values is None


def test_log_probs_are_those_of_the_collecting_policy():
    policy = policy_for()
    batch = collect(make_counting_envs(AutoresetMode.SAME_STEP), policy, 6)
    assert batch.log_probs.shape == (6, 4) and not batch.log_probs.requires_grad
    with torch.no_grad():
        expected = policy(batch.obs).log_prob(batch.actions)
    torch.testing.assert_close(batch.log_probs, expected)


def test_native_cartpole_next_obs_at_ends_and_fresh_resets():
    envs = RolloutEnv(
        gym.make_vec(
            "CartPole-v1", 4, vectorization_mode="vector_entry_point", max_episode_steps=15
        )
    )
    reset_envs(envs, seed=1)
    batch = collect(envs, policy_for(obs_dim=4), 120)
    obs, next_obs = batch.obs.numpy(), batch.next_obs.numpy()
    # Euler dynamics: x' = x + tau x_dot, theta' = theta + tau theta_dot, on every row,
    # which fails for a phantom reset row or a reset state standing in for the final one.
    np.testing.assert_allclose(next_obs[..., 0], obs[..., 0] + 0.02 * obs[..., 1], atol=1e-6)
    np.testing.assert_allclose(next_obs[..., 2], obs[..., 2] + 0.02 * obs[..., 3], atol=1e-6)
    done = (batch.terminated | batch.truncated).numpy()
    assert batch.terminated.any() and batch.truncated.any()
    np.testing.assert_array_equal(obs[1:][~done[:-1]], next_obs[:-1][~done[:-1]])
    assert np.all(np.abs(obs[1:][done[:-1]]) <= 0.05)  # a fresh reset state after each end
    failed = (np.abs(next_obs[..., 0]) > 2.4) | (np.abs(next_obs[..., 2]) > 12 * math.pi / 180)
    np.testing.assert_array_equal(batch.terminated.numpy(), failed)
    # Steps since the last end (the env was reset at t = 0): 15 exactly where truncated.
    since_end = np.zeros_like(done, dtype=int)
    for t in range(len(done)):
        since_end[t] = 1 + (since_end[t - 1] * ~done[t - 1] if t else 0)
    np.testing.assert_array_equal(batch.episode_lengths, since_end[done])
    np.testing.assert_array_equal(batch.truncated.numpy(), since_end == 15)


def test_make_vec_env_uses_native_cartpole_and_sync_otherwise():
    native = make_vec_env("CartPole-v1", num_envs=3, seed=0)
    assert isinstance(native, RolloutEnv) and type(native.env).__name__ == "CartPoleVectorEnv"
    same_step = make_vec_env("CartPole-v1", num_envs=3, seed=0, autoreset_mode="SameStep")
    assert isinstance(same_step.env, SyncVectorEnv)
    assert same_step.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP


def test_same_seed_gives_identical_batches():
    def run():
        envs = make_vec_env("CartPole-v1", num_envs=4, seed=3)
        policy = policy_for(obs_dim=4, seed=5)
        return [collect(envs, policy, 50, value_fn=ValueFunction(4)) for _ in range(2)]

    for a, b in zip(run(), run(), strict=True):
        for name, value in vars(a).items():
            other = getattr(b, name)
            equal = torch.equal if torch.is_tensor(value) else np.array_equal
            assert equal(value, other), name


def test_box_actions_are_clipped_only_at_the_env():
    envs = RolloutEnv(SyncVectorEnv([EchoEnv, EchoEnv]))
    reset_envs(envs, seed=0)
    torch.manual_seed(0)
    policy = GaussianPolicy(obs_dim=1, act_dim=1, log_std_init=math.log(2.0))
    batch = collect(envs, policy, 40)
    assert batch.actions.shape == (40, 2, 1) and batch.actions.dtype == torch.float32
    assert (batch.actions.abs() > 0.5).any()  # stored unclipped
    torch.testing.assert_close(batch.next_obs, batch.actions.clamp(-0.5, 0.5))
    with torch.no_grad():
        torch.testing.assert_close(batch.log_probs, policy(batch.obs).log_prob(batch.actions))


def test_collect_restores_distribution_validation():
    before = Distribution._validate_args
    collect(make_counting_envs(AutoresetMode.NEXT_STEP), policy_for(), 2)
    assert Distribution._validate_args == before


def test_collect_episodes_returns_whole_episodes_in_fixed_shares():
    envs = make_counting_envs(AutoresetMode.NEXT_STEP)
    policy = policy_for()
    collect(envs, policy, 2)  # every sub-env is now mid-episode: those are not kept
    batch = collect_episodes(envs, policy, 8)
    assert isinstance(batch, Batch)
    assert batch.obs.shape == (sum(LENGTHS) * 2, 1, 2)
    np.testing.assert_array_equal(batch.episode_lengths, [3, 3, 5, 5, 4, 4, 7, 7])
    np.testing.assert_array_equal(
        batch.episode_returns, [L * (L + 1) / 2 for L in [3, 3, 5, 5, 4, 4, 7, 7]]
    )
    steps = batch.obs[:, 0, 1].numpy()
    np.testing.assert_array_equal(
        steps, np.concatenate([np.arange(L) for L in batch.episode_lengths])
    )
    assert batch.obs[0, 0, 0] == 1  # episode 0 of sub-env 0 was already running
    done = (batch.terminated | batch.truncated)[:, 0].numpy()
    np.testing.assert_array_equal(np.flatnonzero(done) + 1, np.cumsum(batch.episode_lengths))
    np.testing.assert_array_equal(batch.next_obs[:, 0, 1], batch.obs[:, 0, 1] + 1)


def test_collect_episodes_from_env_id_with_values():
    batch = collect_episodes("CartPole-v1", policy_for(obs_dim=4), 3, value_fn=ValueFunction(4))
    assert batch.episode_lengths.shape == (3,)
    assert batch.obs.shape == (batch.episode_lengths.sum(), 1, 4)
    assert batch.values.shape == batch.next_values.shape == batch.rewards.shape
    assert np.all(np.abs(batch.obs[0, 0].numpy()) <= 0.05)  # starts at a reset state
    assert batch.episode_returns.sum() == batch.rewards.sum().item()


class PreferOne(torch.nn.Module):
    """pi(1) = 0.6 whatever the observation; its mode is action 1."""

    def forward(self, obs):
        logits = torch.tensor([0.0, math.log(1.5)]).expand(*obs.shape[:-1], 2)
        return Categorical(logits=logits)


gym.register("pgkit_test/ActionReward-v0", lambda: CountingEnv(5, True, reward_is_action=True))


def test_evaluate_deterministic_uses_the_mode():
    returns = evaluate(PreferOne(), "pgkit_test/ActionReward-v0", episodes=6, seed=0)
    np.testing.assert_array_equal(returns, np.full(6, 5.0))


def test_evaluate_stochastic_is_seeded_and_leaves_global_rng_alone():
    state = torch.get_rng_state()
    kwargs = dict(episodes=10, seed=4, deterministic=False)
    first = evaluate(PreferOne(), "pgkit_test/ActionReward-v0", **kwargs)
    assert torch.equal(state, torch.get_rng_state())
    np.testing.assert_array_equal(
        first, evaluate(PreferOne(), "pgkit_test/ActionReward-v0", **kwargs)
    )
    assert first.min() < 5.0


def test_evaluate_cartpole_is_reproducible():
    policy = policy_for(obs_dim=4)
    first = evaluate(policy, "CartPole-v1", episodes=5, seed=2)
    assert first.shape == (5,) and np.all(first >= 1)
    np.testing.assert_array_equal(first, evaluate(policy, "CartPole-v1", episodes=5, seed=2))


def test_disabled_autoreset_is_rejected_by_reset_envs():
    envs = RolloutEnv(SyncVectorEnv([CountingEnv], autoreset_mode=AutoresetMode.DISABLED))
    with pytest.raises(ValueError, match="DISABLED is not supported"):
        reset_envs(envs, seed=0)


def test_disabled_autoreset_is_rejected_by_make_vec_env():
    with pytest.raises(ValueError, match="DISABLED"):
        make_vec_env("CartPole-v1", 2, autoreset_mode=AutoresetMode.DISABLED)


def test_unknown_autoreset_mode_is_rejected():
    with pytest.raises(ValueError, match="autoreset_mode"):
        make_vec_env("CartPole-v1", 2, autoreset_mode="sometimes")


def test_unknown_env_id_is_rejected():
    with pytest.raises(ValueError, match="NoSuchEnv-v0"):
        make_vec_env("NoSuchEnv-v0")


def test_collect_needs_a_rollout_env_that_was_reset():
    raw = SyncVectorEnv([CountingEnv])
    raw.reset(seed=0)
    with pytest.raises(TypeError, match=r"envs = RolloutEnv\(envs\)"):
        collect(raw, policy_for(), 4)
    with pytest.raises(ValueError, match=r"envs.reset\(seed=0\)"):
        collect(RolloutEnv(SyncVectorEnv([CountingEnv])), policy_for(), 4)


def test_a_gymnasium_vector_env_collects_once_wrapped_and_reset_the_gymnasium_way():
    envs = RolloutEnv(gym.make_vec("CartPole-v1", 2, vectorization_mode="sync"))
    obs, _ = envs.reset(seed=5)
    batch = collect(envs, policy_for(obs_dim=4), 3)
    np.testing.assert_array_equal(batch.obs[0].numpy(), obs)


def test_a_direct_reset_between_collects_is_followed():
    envs = make_vec_env("CartPole-v1", 2, seed=0)
    collect(envs, policy_for(obs_dim=4), 7)
    obs, _ = envs.reset(seed=123)
    batch = collect(envs, policy_for(obs_dim=4), 1)
    np.testing.assert_array_equal(batch.obs[0].numpy(), obs)  # not the stale observation
    assert (envs.episode_length == 1).all()  # the episodes restarted with the reset


def test_collect_rejects_non_positive_steps():
    with pytest.raises(ValueError, match="steps must be >= 1"):
        collect(make_counting_envs(AutoresetMode.NEXT_STEP), policy_for(), 0)


def test_env_without_autoreset_metadata_is_rejected():
    inner = SyncVectorEnv([CountingEnv])
    inner.metadata = {}
    envs = RolloutEnv(inner)
    with pytest.raises(ValueError, match="autoreset_mode"):
        reset_envs(envs, seed=0)


def test_env_ignoring_reset_mask_is_detected():
    # A wrapped native CartPole restarts all sub-envs on reset(options={"reset_mask": ...}).
    native = gym.make_vec("CartPole-v1", 4, vectorization_mode="vector_entry_point")
    envs = RolloutEnv(gym.vector.VectorWrapper(native))
    reset_envs(envs, seed=0)
    with pytest.raises(RuntimeError, match="does not support partial resets"):
        collect(envs, policy_for(obs_dim=4), 200)


def test_value_fn_with_wrong_output_shape_is_rejected():
    envs = make_counting_envs(AutoresetMode.NEXT_STEP)
    with pytest.raises(ValueError, match="value_fn must map"):
        collect(envs, policy_for(), 3, value_fn=lambda obs: obs)
