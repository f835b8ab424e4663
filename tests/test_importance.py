"""Tests for pgkit.importance: ratios against their definition, running products in log space
against the naive product, the link to the on-policy gradient, and the error paths."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pgkit import importance, returns
from pgkit.analytic_problems import SoftmaxBandit
from pgkit.estimators import score_function_gradient
from pgkit.importance import (
    importance_weighted_loss,
    importance_weighted_objective,
    importance_weights,
    trajectory_importance_weights,
)
from pgkit.variance import flat_grad

BANDIT = SoftmaxBandit(mu=(1.0, 0.0, 2.0, -0.5), reward_std=0.7)
THETA = np.array([0.2, -0.3, 0.1, 0.5])


def _t(x):
    return torch.tensor(x, dtype=torch.float64)


def _naive_trajectory_weights(log_probs, old_log_probs, dones):
    ratios = np.exp(log_probs - old_log_probs)
    weights = np.empty_like(ratios)
    running = np.ones_like(ratios[0])
    for t in range(len(ratios)):
        running = running * ratios[t]
        weights[t] = running
        running = np.where(dones[t], 1.0, running)
    return weights


def test_importance_weights_are_probability_ratios():
    log_probs, old = np.log([0.5, 0.2, 0.9]), np.log([0.25, 0.4, 0.9])
    np.testing.assert_allclose(importance_weights(log_probs, old), [2.0, 0.5, 1.0])


def test_importance_weights_keep_autograd_through_log_probs_only():
    log_probs = torch.tensor([-1.0, -0.5], requires_grad=True)
    old = torch.tensor([-1.5, -0.5], requires_grad=True)
    rho = importance_weights(log_probs, old)
    rho.sum().backward()
    torch.testing.assert_close(log_probs.grad, rho.detach())  # d rho / d log pi = rho
    assert old.grad is None


@settings(max_examples=40, deadline=None)
@given(
    shape=st.sampled_from([(7,), (6, 3)]),
    seed=st.integers(0, 2**16),
    done_rate=st.floats(0.0, 0.6),
)
def test_trajectory_weights_equal_naive_product_when_it_does_not_overflow(shape, seed, done_rate):
    rng = np.random.default_rng(seed)
    log_probs, old = rng.normal(size=shape), rng.normal(size=shape)
    dones = rng.random(shape) < done_rate
    np.testing.assert_allclose(
        trajectory_importance_weights(log_probs, old, dones),
        _naive_trajectory_weights(log_probs, old, dones),
        rtol=1e-10,
    )


def test_trajectory_weights_reset_after_each_episode_end():
    log_ratios = np.log([2.0, 3.0, 0.5, 4.0, 0.25])
    dones = [False, True, False, True, False]
    weights = trajectory_importance_weights(log_ratios, np.zeros(5), dones)
    np.testing.assert_allclose(weights, [2.0, 6.0, 0.5, 2.0, 0.25])


def test_trajectory_weights_reset_per_environment_column():
    log_ratios = np.log([[2.0, 2.0], [2.0, 2.0], [2.0, 2.0]])
    dones = np.array([[0, 1], [0, 0], [0, 0]])
    weights = trajectory_importance_weights(log_ratios, np.zeros((3, 2)), dones)
    np.testing.assert_allclose(weights, [[2.0, 2.0], [4.0, 2.0], [8.0, 4.0]])


def test_trajectory_weights_recover_where_the_naive_product_underflows():
    # the running product passes through e^-800, below float64's smallest number, and back
    down = np.array([-400.0, -400.0, 400.0, 400.0])
    dones = np.zeros(4, dtype=bool)
    naive = _naive_trajectory_weights(down, np.zeros(4), dones)
    assert (naive[2:] == 0).all()
    weights = trajectory_importance_weights(down, np.zeros(4), dones)
    np.testing.assert_allclose(weights, [math.exp(-400), 0.0, math.exp(-400), 1.0])


def test_trajectory_weights_beyond_the_float_range_are_an_error():
    # w_1 = e^800 has no float64 value: an inf weight would poison any estimate silently
    up = np.array([400.0, 400.0, -400.0, -400.0])
    with pytest.raises(ValueError, match="log_probs and old_log_probs"):
        trajectory_importance_weights(up, np.zeros(4), np.zeros(4, dtype=bool))
    with pytest.raises(ValueError, match="too far apart"):
        importance_weights(torch.tensor([100.0]), torch.tensor([0.0]))


def test_trajectory_weights_torch_in_torch_out_with_gradient():
    log_probs = torch.tensor([[-1.0], [-0.5], [-2.0]], requires_grad=True)
    old = np.array([[-1.2], [-0.4], [-2.5]])
    dones = torch.tensor([[False], [True], [False]])
    weights = trajectory_importance_weights(log_probs, old, dones)
    assert isinstance(weights, torch.Tensor) and weights.dtype == torch.float32
    expected = _naive_trajectory_weights(log_probs.detach().numpy(), old, dones.numpy())
    np.testing.assert_allclose(weights.detach().numpy(), expected, rtol=1e-6)
    weights.sum().backward()
    # d/d log pi_k of sum_t w_t = sum of w_t over later steps t of the same episode
    w = weights.detach()[:, 0]
    torch.testing.assert_close(log_probs.grad[:, 0], torch.stack([w[0] + w[1], w[1], w[2]]))


def test_trajectory_weights_numpy_in_numpy_out():
    weights = trajectory_importance_weights(np.zeros(3, np.float32), np.zeros(3), [0, 0, 1])
    assert isinstance(weights, np.ndarray) and weights.dtype == np.float64


def test_importance_weighted_objective_and_loss_values():
    log_probs = torch.log(torch.tensor([0.5, 0.2]))
    old = torch.log(torch.tensor([0.25, 0.4]))
    advantages = torch.tensor([1.0, -3.0])
    expected = (2.0 * 1.0 + 0.5 * -3.0) / 2
    assert importance_weighted_objective(log_probs, old, advantages).item() == pytest.approx(
        expected
    )
    assert importance_weighted_loss(log_probs, old, advantages).item() == pytest.approx(-expected)
    numpy_value = importance_weighted_objective(log_probs.numpy(), old.numpy(), advantages.numpy())
    assert isinstance(numpy_value, float) and numpy_value == pytest.approx(expected)


def test_importance_weighted_gradient_at_old_policy_is_the_policy_gradient():
    # at theta = theta_old, grad mean(rho A) = mean(A grad log pi): Chapter 8's link to Chapter 3
    dist_fn, params = BANDIT.distribution, _t(THETA).requires_grad_()
    actions, rewards = BANDIT.sample(THETA, 50, seed=2)
    log_probs = dist_fn(params).log_prob(actions)
    loss = importance_weighted_loss(log_probs, log_probs.detach(), rewards.numpy())
    on_policy = score_function_gradient(dist_fn, params, actions, rewards)
    torch.testing.assert_close(-flat_grad(loss, [params]), on_policy, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "args, error, match",
    [
        ((np.zeros(3), np.zeros(2)), ValueError, "old_log_probs"),
        ((np.array([0.0, math.nan]), np.zeros(2)), ValueError, "log_probs contains"),
        ((np.zeros(2), np.array([-math.inf, 0.0])), ValueError, "old_log_probs contains"),
        ((np.zeros(0), np.zeros(0)), ValueError, "log_probs is empty"),
        ((torch.zeros(2, dtype=torch.long), np.zeros(2)), TypeError, "floating-point"),
        ((["a", "b"], np.zeros(2)), TypeError, "log_probs must be an array of numbers"),
    ],
    ids=["shape", "nan", "old-inf", "empty", "integer-tensor", "strings"],
)
def test_importance_weights_errors(args, error, match):
    with pytest.raises(error, match=match):
        importance_weights(*args)


@pytest.mark.parametrize(
    "args, error, match",
    [
        ((np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), np.zeros((2, 2, 2))), ValueError, "time-major"),
        ((np.zeros(3), np.zeros(3), [0, 1]), ValueError, "dones"),
        ((np.zeros(2), np.zeros(2), [0, 2]), ValueError, "dones must hold booleans"),
        ((np.zeros(3), np.zeros((3, 1)), np.zeros(3)), ValueError, "shape mismatch"),
    ],
    ids=["3d", "dones-shape", "dones-values", "old-shape"],
)
def test_trajectory_importance_weights_errors(args, error, match):
    with pytest.raises(error, match=match):
        trajectory_importance_weights(*args)


@pytest.mark.parametrize(
    "advantages, match",
    [(np.zeros(3), "advantages"), (np.array([1.0, math.nan]), "advantages contains")],
    ids=["shape", "nan"],
)
def test_importance_weighted_objective_errors(advantages, match):
    with pytest.raises(ValueError, match=match):
        importance_weighted_objective(torch.zeros(2), torch.zeros(2), advantages)


# ------------------------------------------------------------------ per-decision returns


def _per_decision_loop(rewards, log_probs, old_log_probs, dones, gamma):
    """G_t = sum over t' >= t in t's episode of gamma^(t'-t) prod_{k=t+1}^{t'} rho_k r_t'."""
    rho = np.exp(log_probs - old_log_probs)
    out = np.zeros_like(rewards)
    for t in range(len(rewards)):
        total, weight = 0.0, 1.0
        for u in range(t, len(rewards)):
            if u > t:
                weight *= gamma * rho[u]
            total += weight * rewards[u]
            if dones[u]:
                break
        out[t] = total
    return out


def test_per_decision_returns_match_a_loop():
    rng = np.random.default_rng(0)
    rewards = rng.normal(size=12)
    log_probs, old = np.log(rng.uniform(0.2, 0.9, size=(2, 12)))
    dones = np.zeros(12, dtype=bool)
    dones[[3, 7]] = True
    got = importance.per_decision_returns(rewards, log_probs, old, dones, 0.9)
    np.testing.assert_allclose(got, _per_decision_loop(rewards, log_probs, old, dones, 0.9))


def test_per_decision_returns_are_discounted_returns_on_policy():
    rng = np.random.default_rng(1)
    rewards = rng.normal(size=(9, 3))
    log_probs = np.log(rng.uniform(0.2, 0.9, size=(9, 3)))
    dones = rng.random((9, 3)) < 0.3
    np.testing.assert_allclose(
        importance.per_decision_returns(rewards, log_probs, log_probs, dones, 0.95),
        returns.discounted_returns(rewards, dones, 0.95),
    )


def test_per_decision_returns_follow_the_rewards_kind_and_carry_no_gradient():
    log_probs = torch.log(torch.tensor([0.5, 0.6, 0.3], dtype=torch.float64)).requires_grad_()
    old = torch.log(torch.tensor([0.5, 0.5, 0.5], dtype=torch.float64))
    rewards = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64)
    got = importance.per_decision_returns(rewards, log_probs, old, np.zeros(3, bool), 1.0)
    assert isinstance(got, torch.Tensor) and not got.requires_grad
    torch.testing.assert_close(got, torch.tensor([1 + 1.2 * (1 + 0.6), 1 + 0.6, 1.0]).double())


def test_per_decision_returns_refuse_ratios_beyond_the_float_range():
    with pytest.raises(ValueError, match="log_probs"):
        importance.per_decision_returns(
            np.ones(2), np.array([0.0, 800.0]), np.zeros(2), np.zeros(2, bool), 0.9
        )
