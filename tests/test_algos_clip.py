"""ppo(clip=None): the unclipped importance-weighted surrogate of Chapter 8."""

import math

import numpy as np
import pytest
import torch

from pgkit.algos import ppo, ppo_update
from pgkit.estimators import importance_weighted_loss
from pgkit.losses import ppo_clip_loss
from pgkit.policies import CategoricalPolicy

SMALL = dict(num_envs=4, n_steps=32, minibatch_size=64, progress=False)


def _parameters(result) -> list[torch.Tensor]:
    return [p.detach().clone() for p in result.policy.parameters()]


@pytest.mark.parametrize("clip", [0, 0.0, -0.2, math.inf, math.nan])
def test_clip_must_be_positive_or_none(clip):
    with pytest.raises(ValueError, match="clip"):
        ppo("CartPole-v1", total_steps=128, clip=clip, **SMALL)


@pytest.mark.parametrize("clip", ["0.2", True])
def test_clip_must_be_a_number_or_none(clip):
    with pytest.raises(TypeError, match="clip"):
        ppo("CartPole-v1", total_steps=128, clip=clip, **SMALL)


def _moved_batch(seed=1):
    """A policy moved away from the one that sampled the batch, so ratios leave [0.8, 1.2]."""
    torch.manual_seed(seed)
    policy = CategoricalPolicy(obs_dim=4, n_actions=2)
    obs = torch.randn(128, 4)
    with torch.no_grad():
        old_dist = policy(obs)
        actions = old_dist.sample()
        old_log_probs = old_dist.log_prob(actions)
    advantages = torch.randn(128)
    optimizer = torch.optim.SGD(policy.parameters(), lr=5.0)
    ppo_update(policy, optimizer, obs, actions, old_log_probs, advantages, clip=None, epochs=3)
    return policy, optimizer, obs, actions, old_log_probs, advantages


def test_clip_none_uses_the_importance_weighted_loss():
    """ppo(clip=None)'s update minimises -mean(rho_t A_t), not the clipped loss."""
    policy, optimizer, obs, actions, old_log_probs, advantages = _moved_batch()
    with torch.no_grad():
        log_probs = policy(obs).log_prob(actions)
    unclipped = importance_weighted_loss(log_probs, old_log_probs, advantages)
    clipped = ppo_clip_loss(log_probs, old_log_probs, advantages, 0.2)
    assert abs(float(unclipped - clipped)) > 1e-3  # the two losses tell the paths apart
    stats = ppo_update(policy, optimizer, obs, actions, old_log_probs, advantages, clip=None)
    assert float(stats.policy_loss) == pytest.approx(float(unclipped), rel=1e-6)
    assert math.isnan(float(stats.clip_fraction[0]))


def test_clip_none_in_ppo_records_finite_kl_and_no_clip():
    result = ppo("CartPole-v1", total_steps=1024, epochs=3, clip=None, seed=1, **SMALL)
    assert len(result.history["steps"]) == 1024 // 128
    assert result.config["clip"] is None
    assert np.isfinite(result.history["approx_kl"]).all()


def test_one_step_from_theta_old_matches_the_clipped_loss():
    """At theta = theta_old every ratio is 1, inside any clip range: the same first step."""
    batch = dict(num_envs=4, n_steps=32, minibatch_size=128, epochs=1, progress=False)
    unclipped = ppo("CartPole-v1", total_steps=128, clip=None, seed=3, **batch)
    clipped = ppo("CartPole-v1", total_steps=128, clip=0.2, seed=3, **batch)
    for a, b in zip(_parameters(unclipped), _parameters(clipped), strict=True):
        torch.testing.assert_close(a, b)


def test_unclipped_reuse_moves_the_policy_further_than_clipped():
    """Many epochs of the unclipped surrogate move pi further (KL) than PPO's clipped one."""
    settings = dict(total_steps=1024, epochs=20, lr=3e-3, anneal_lr=False, seed=0, **SMALL)
    unclipped = ppo("CartPole-v1", clip=None, **settings)
    clipped = ppo("CartPole-v1", clip=0.2, **settings)
    kl_unclipped = np.median(unclipped.history["approx_kl"])
    kl_clipped = np.median(clipped.history["approx_kl"])
    assert kl_unclipped > 3 * kl_clipped


def test_target_kl_stops_the_unclipped_epochs_early():
    """A tiny target_kl stops after the second epoch: the first starts at KL = 0."""
    batch = dict(num_envs=4, n_steps=32, minibatch_size=128, progress=False)
    stopped = ppo("CartPole-v1", total_steps=512, clip=None, epochs=10, target_kl=1e-9, **batch)
    two_epochs = ppo("CartPole-v1", total_steps=512, clip=None, epochs=2, **batch)
    for a, b in zip(_parameters(stopped), _parameters(two_epochs), strict=True):
        torch.testing.assert_close(a, b)
