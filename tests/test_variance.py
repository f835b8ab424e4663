"""Tests for pgkit.variance.episode_gradients: exact agreement with per-episode autograd,
the shape bookkeeping of episodes in a time-major batch, and the error paths."""

import numpy as np
import pytest
import torch

from pgkit.estimators import flat_grad
from pgkit.policies import CategoricalPolicy, GaussianPolicy
from pgkit.variance import episode_gradients


def _batch(policy, shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    obs = torch.randn(*shape, policy.obs_dim, generator=g)
    with torch.no_grad():
        dist = policy(obs)
    torch.manual_seed(seed)
    actions = dist.sample()
    weights = torch.randn(*shape, generator=g)
    return obs, actions, weights


def _reference(policy, obs, actions, weights, dones):
    """Loop over columns and episodes, one backward pass each."""
    obs, actions = obs.reshape(len(dones), -1, obs.shape[-1]), actions.reshape(len(dones), -1)
    weights, dones = weights.reshape(len(dones), -1), np.asarray(dones).reshape(len(dones), -1)
    rows = []
    for column in range(dones.shape[1]):
        start = 0
        for t in range(len(dones)):
            if dones[t, column] or t == len(dones) - 1:
                piece = slice(start, t + 1)
                log_probs = policy(obs[piece, column]).log_prob(actions[piece, column])
                rows.append(
                    flat_grad((log_probs * weights[piece, column]).sum(), policy.parameters())
                )
                start = t + 1
    return torch.stack(rows)


@pytest.mark.parametrize("columns", [None, 3])
def test_matches_one_backward_pass_per_episode(columns):
    torch.manual_seed(0)
    policy = CategoricalPolicy(4, 2, hidden=(8,))
    shape = (12,) if columns is None else (12, columns)
    obs, actions, weights = _batch(policy, shape)
    rng = np.random.default_rng(1)
    dones = rng.random(shape) < 0.25
    rows = episode_gradients(policy(obs).log_prob(actions), weights, dones, policy.parameters())
    expected = _reference(policy, obs, actions, weights, dones)
    assert rows.shape == expected.shape
    torch.testing.assert_close(rows, expected, rtol=1e-5, atol=1e-6)


def test_episode_count_and_sum_of_rows():
    torch.manual_seed(0)
    policy = GaussianPolicy(3, 2, hidden=(8,))
    obs, actions, weights = _batch(policy, (10, 2))
    dones = np.zeros((10, 2), bool)
    dones[[2, 9], 0] = True  # column 0: episodes of 3 and 7 steps
    dones[4, 1] = True  # column 1: 5 steps, then 5 steps cut off by the end of the data
    log_probs = policy(obs).log_prob(actions)
    rows = episode_gradients(
        log_probs, weights, dones, list(policy.parameters()), retain_graph=True
    )
    n_params = sum(p.numel() for p in policy.parameters())
    assert rows.shape == (4, n_params)
    total = flat_grad((log_probs * weights).sum(), policy.parameters())
    torch.testing.assert_close(rows.sum(0), total, rtol=1e-5, atol=1e-5)


def test_constant_weight_on_a_single_step_is_the_weighted_score():
    theta = torch.tensor([0.3, -0.2, 0.5], requires_grad=True)
    actions = torch.tensor([2, 0])
    log_probs = torch.distributions.Categorical(logits=theta.expand(2, 3)).log_prob(actions)
    rows = episode_gradients(log_probs, np.array([2.0, -1.0]), np.array([True, True]), theta)
    pi = torch.softmax(theta.detach(), 0)
    expected = torch.stack([2.0 * (torch.eye(3)[2] - pi), -1.0 * (torch.eye(3)[0] - pi)])
    torch.testing.assert_close(rows, expected)


def test_unused_parameter_gets_zero_columns():
    theta = torch.tensor([0.1, 0.2], requires_grad=True)
    unused = torch.zeros(3, requires_grad=True)
    log_probs = torch.distributions.Categorical(logits=theta.expand(4, 2)).log_prob(
        torch.tensor([0, 1, 1, 0])
    )
    rows = episode_gradients(log_probs, np.ones(4), np.array([0, 1, 0, 1], bool), [theta, unused])
    assert rows.shape == (2, 5)
    assert torch.all(rows[:, 2:] == 0)


def test_rejects_shape_mismatch():
    theta = torch.zeros(2, requires_grad=True)
    log_probs = theta[0] + torch.zeros(5)
    with pytest.raises(ValueError, match="shape mismatch"):
        episode_gradients(log_probs, np.ones((5, 1)), np.zeros(5, bool), theta)


def test_rejects_log_probs_without_grad():
    with pytest.raises(ValueError, match="does not require grad"):
        episode_gradients(torch.zeros(3), np.ones(3), np.zeros(3, bool), torch.zeros(1))


def test_rejects_non_tensor_log_probs():
    with pytest.raises(TypeError, match="torch.Tensor"):
        episode_gradients(np.zeros(3), np.ones(3), np.zeros(3, bool), torch.zeros(1))


def test_rejects_non_finite_weights():
    theta = torch.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match="non-finite"):
        episode_gradients(
            theta * torch.ones(3), np.array([1.0, np.nan, 0.0]), np.zeros(3, bool), theta
        )


def test_rejects_empty_params_and_frozen_params():
    theta = torch.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match="params is empty"):
        episode_gradients(theta * torch.ones(3), np.ones(3), np.zeros(3, bool), [])
    with pytest.raises(ValueError, match="requires grad"):
        episode_gradients(theta * torch.ones(3), np.ones(3), np.zeros(3, bool), [torch.zeros(1)])


def test_rejects_non_boolean_dones():
    theta = torch.zeros(1, requires_grad=True)
    with pytest.raises(ValueError):
        episode_gradients(theta * torch.ones(3), np.ones(3), np.array([0.0, 0.5, 1.0]), theta)
