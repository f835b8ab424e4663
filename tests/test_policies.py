"""Tests for pgkit.policies: distributions, shapes, initialisation, make_policy."""

import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.distributions import Categorical, Independent, Normal

from pgkit.policies import CategoricalPolicy, GaussianPolicy, ValueFunction, make_policy, mlp


def test_categorical_policy_returns_categorical_with_batch_shape():
    torch.manual_seed(0)
    policy = CategoricalPolicy(obs_dim=3, n_actions=4)
    dist = policy(torch.randn(5, 3))
    assert isinstance(dist, Categorical)
    assert dist.probs.shape == (5, 4)
    actions = dist.sample()
    assert actions.shape == (5,) and actions.dtype == torch.long
    assert dist.log_prob(actions).shape == (5,)
    assert dist.entropy().shape == (5,)
    assert torch.equal(dist.mode, dist.probs.argmax(-1))


def test_categorical_policy_is_near_uniform_at_initialisation():
    # Policy head gain 0.01: every action starts almost equally likely.
    torch.manual_seed(0)
    policy = CategoricalPolicy(obs_dim=4, n_actions=3)
    probs = policy(torch.randn(100, 4)).probs
    assert torch.allclose(probs, torch.full_like(probs, 1 / 3), atol=0.02)


def test_policies_accept_time_major_batches_and_numpy():
    torch.manual_seed(0)
    policy = CategoricalPolicy(obs_dim=2, n_actions=2)
    obs = np.random.default_rng(0).normal(size=(7, 3, 2))
    dist = policy(obs)
    assert dist.log_prob(dist.sample()).shape == (7, 3)
    assert ValueFunction(obs_dim=2)(obs).shape == (7, 3)


@settings(max_examples=20, deadline=None)
@given(act_dim=st.integers(1, 4), batch=st.integers(1, 6), seed=st.integers(0, 1000))
def test_gaussian_log_prob_is_sum_of_per_dimension_normal_log_probs(act_dim, batch, seed):
    torch.manual_seed(seed)
    policy = GaussianPolicy(obs_dim=3, act_dim=act_dim, log_std_init=-0.3)
    obs = torch.randn(batch, 3)
    dist = policy(obs)
    assert isinstance(dist, Independent)
    actions = dist.sample()
    assert actions.shape == (batch, act_dim)
    mu = policy.mean_net(obs)
    sigma = torch.full((act_dim,), -0.3).exp()
    expected = Normal(mu, sigma).log_prob(actions).sum(-1)
    assert dist.log_prob(actions).shape == (batch,)
    torch.testing.assert_close(dist.log_prob(actions), expected)
    assert dist.entropy().shape == (batch,)


def test_gaussian_log_prob_matches_closed_form():
    # log pi(a|s) = sum_j -(a_j - mu_j)^2 / (2 sigma^2) - log sigma - log(2 pi) / 2
    policy = GaussianPolicy(obs_dim=1, act_dim=2, log_std_init=math.log(2.0))
    obs = torch.zeros(1, 1)
    mu = policy(obs).mean
    action = mu + torch.tensor([[2.0, -4.0]])
    z2 = (1.0**2) + (2.0**2)
    expected = -z2 / 2 - 2 * math.log(2.0) - math.log(2 * math.pi)
    assert policy(obs).log_prob(action).item() == pytest.approx(expected, rel=1e-6)


def test_gaussian_std_is_learned_and_state_independent_mode_is_mean():
    torch.manual_seed(0)
    policy = GaussianPolicy(obs_dim=2, act_dim=3, log_std_init=0.5)
    assert policy.log_std.requires_grad and policy.log_std.shape == (3,)
    dist = policy(torch.randn(4, 2))
    torch.testing.assert_close(dist.stddev, torch.full((4, 3), math.exp(0.5)))
    torch.testing.assert_close(dist.mode, dist.mean)
    dist.log_prob(dist.sample()).sum().backward()
    assert policy.log_std.grad is not None


def test_value_function_shape_and_value_head_gain():
    torch.manual_seed(0)
    value_fn = ValueFunction(obs_dim=4, hidden=(32,))
    assert value_fn(torch.randn(6, 4)).shape == (6,)
    head = value_fn.value_net[-1]
    # Orthogonal with gain 1 on a single output row: unit norm.
    assert head.weight.norm().item() == pytest.approx(1.0, rel=1e-5)


def test_mlp_uses_orthogonal_init_with_literature_gains_and_zero_bias():
    torch.manual_seed(0)
    net = mlp(8, 2, hidden=(16, 16), output_gain=0.01)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert [layer.out_features for layer in linears] == [16, 16, 2]
    assert sum(isinstance(m, nn.Tanh) for m in net) == 2
    for layer, gain in zip(linears, (math.sqrt(2), math.sqrt(2), 0.01), strict=True):
        w = layer.weight.detach()
        rows_or_cols = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        torch.testing.assert_close(rows_or_cols, gain**2 * torch.eye(len(rows_or_cols)))
        assert torch.all(layer.bias == 0)


def test_hidden_sizes_and_activation_are_configurable():
    policy = CategoricalPolicy(obs_dim=2, n_actions=2, hidden=(8, 8, 8), activation=nn.ReLU)
    assert sum(isinstance(m, nn.ReLU) for m in policy.logits_net) == 3
    assert ValueFunction(2, hidden=()).value_net[0].in_features == 2


def test_wrong_observation_dimension_is_rejected():
    policy = CategoricalPolicy(obs_dim=4, n_actions=2)
    with pytest.raises(ValueError, match=r"obs must have shape \(\.\.\., 4\)"):
        policy(torch.zeros(5, 3))


def test_scalar_observation_is_rejected():
    with pytest.raises(ValueError, match="obs must have shape"):
        GaussianPolicy(obs_dim=1, act_dim=1)(torch.tensor(0.0))


def test_value_function_checks_observation_dimension():
    with pytest.raises(ValueError, match="last dimension"):
        ValueFunction(obs_dim=2)(torch.zeros(3, 5))


def test_non_positive_sizes_are_rejected():
    with pytest.raises(ValueError, match="n_actions must be >= 1"):
        CategoricalPolicy(obs_dim=2, n_actions=0)


def test_non_integer_hidden_size_is_rejected():
    with pytest.raises(TypeError, match="hidden must be a positive integer"):
        ValueFunction(obs_dim=2, hidden=(32.5,))


def test_non_finite_log_std_init_is_rejected():
    with pytest.raises(ValueError, match="log_std_init"):
        GaussianPolicy(obs_dim=2, act_dim=1, log_std_init=float("nan"))


def test_make_policy_picks_categorical_for_discrete_actions():
    obs_space = gym.spaces.Box(-1.0, 1.0, shape=(4,))
    policy = make_policy(obs_space, gym.spaces.Discrete(3), hidden=(16,))
    assert isinstance(policy, CategoricalPolicy)
    assert policy.n_actions == 3 and policy.obs_dim == 4


def test_make_policy_picks_gaussian_for_box_actions_and_passes_options():
    obs_space = gym.spaces.Box(-1.0, 1.0, shape=(3,))
    action_space = gym.spaces.Box(-2.0, 2.0, shape=(2,))
    policy = make_policy(obs_space, action_space, log_std_init=-1.0)
    assert isinstance(policy, GaussianPolicy) and policy.act_dim == 2
    torch.testing.assert_close(policy.log_std.detach(), torch.full((2,), -1.0))


def test_make_policy_rejects_unsupported_action_space():
    obs_space = gym.spaces.Box(-1.0, 1.0, shape=(3,))
    with pytest.raises(ValueError, match=r"Discrete\(n\).*1-D Box"):
        make_policy(obs_space, gym.spaces.MultiDiscrete([2, 2]))


def test_make_policy_rejects_multi_dimensional_box_actions():
    obs_space = gym.spaces.Box(-1.0, 1.0, shape=(3,))
    with pytest.raises(ValueError, match="action_space"):
        make_policy(obs_space, gym.spaces.Box(-1.0, 1.0, shape=(2, 2)))


def test_make_policy_rejects_unsupported_observation_space():
    with pytest.raises(ValueError, match="observation_space .* not supported"):
        make_policy(gym.spaces.Discrete(5), gym.spaces.Discrete(2))


def test_a_float64_policy_takes_observations_in_float64():
    torch.manual_seed(0)
    for net in (CategoricalPolicy(3, 2, (8,)), GaussianPolicy(3, 2, (8,)), ValueFunction(3, (8,))):
        net = net.double()
        out = net(np.ones((4, 3)))  # a float64 array stays float64 instead of being cut down
        value = out if isinstance(out, torch.Tensor) else out.log_prob(out.sample())
        assert value.dtype == torch.float64


@pytest.mark.parametrize(
    ("obs", "error", "match"),
    [
        (None, TypeError, "obs must"),
        ("abc", TypeError, "obs must"),
        (np.array([[1 + 5j, 2.0, 0.0]]), TypeError, "obs must hold real numbers"),
        (torch.ones(1, 3, dtype=torch.complex64), TypeError, "obs must hold real numbers"),
        (np.ones((1, 3), dtype=bool), TypeError, "obs must hold numbers, got booleans"),
        (torch.ones(1, 3, dtype=torch.bool), TypeError, "obs must hold real numbers"),
    ],
)
def test_observations_that_are_not_real_numbers_are_refused_by_name(obs, error, match):
    for net in (CategoricalPolicy(3, 2, (8,)), GaussianPolicy(3, 2, (8,)), ValueFunction(3, (8,))):
        with pytest.raises(error, match=match):
            net(obs)


def test_hidden_given_as_a_number_says_how_to_write_one_layer():
    with pytest.raises(TypeError, match=r"hidden=\(64,\)"):
        CategoricalPolicy(4, 2, 64)


def test_an_activation_instance_is_refused_with_the_fix():
    with pytest.raises(TypeError, match=r"nn.ReLU, not nn.ReLU\(\)"):
        ValueFunction(4, (8,), activation=torch.nn.ReLU())


@pytest.mark.parametrize("default", [True, False])
def test_unchecked_distributions_restores_the_callers_default(default):
    from pgkit.policies import unchecked_distributions

    Distribution = torch.distributions.Distribution
    before = Distribution._validate_args
    Distribution.set_default_validate_args(default)
    try:
        with unchecked_distributions():
            assert Distribution._validate_args is False
        assert Distribution._validate_args is default
    finally:
        Distribution.set_default_validate_args(before)
