"""ppo(clip=None): the unclipped importance-weighted surrogate of Chapter 8."""

import math

import numpy as np
import pytest
import torch

import pgkit.algos
from pgkit.algos import ppo
from pgkit.estimators import importance_weighted_loss

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


def test_clip_none_uses_the_importance_weighted_loss(monkeypatch):
    """Every minibatch loss is -mean(rho_t A_t); the clipped loss is never called."""
    calls = []

    def spy(log_probs, old_log_probs, advantages):
        loss = importance_weighted_loss(log_probs, old_log_probs, advantages)
        calls.append((log_probs.detach(), old_log_probs.detach(), advantages.detach(), loss))
        return loss

    def forbidden(*args, **kwargs):
        raise AssertionError("ppo(clip=None) must not use the clipped loss")

    # the training loop calls the losses' unchecked kernels (it checks its tensors itself)
    monkeypatch.setattr(pgkit.algos, "_ratio_weighted_loss", spy)
    monkeypatch.setattr(pgkit.algos, "_clipped_surrogate", forbidden)
    result = ppo("CartPole-v1", total_steps=1024, epochs=3, clip=None, seed=1, **SMALL)

    iterations = len(result.history["steps"])
    assert iterations == 1024 // 128
    assert len(calls) == iterations * 3 * (128 // 64)
    for log_probs, old_log_probs, advantages, loss in calls:
        expected = -(torch.exp(log_probs - old_log_probs) * advantages).mean()
        torch.testing.assert_close(loss.detach(), expected)
    assert result.history["policy_loss"][-1] == pytest.approx(float(calls[-1][3].detach()))
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
