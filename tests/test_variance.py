"""Tests for pgkit.variance: episode_gradients against per-episode autograd and the shape
bookkeeping of episodes in a time-major batch; gradient_variance against analytic variances with
fixed seeds; flat_grad against autograd; and the error paths of all three."""

import math

import numpy as np
import pytest
import torch

from pgkit.analytic_problems import GaussianQuadratic
from pgkit.estimators import score_function_gradient
from pgkit.policies import CategoricalPolicy, GaussianPolicy
from pgkit.variance import episode_gradients, flat_grad, gradient_variance


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


# ------------------------------------------------- gradient_variance and flat_grad
#
# The sample variance of M estimates has relative standard error about sqrt((kurtosis - 1) / M),
# and an N-sample mean has kurtosis 3 + (kurtosis_1 - 3) / N. For the Gaussian problem used below
# the one-sample kurtoses are 12.9 (mu) and 102 (log sigma), found by Gauss-Hermite quadrature; at
# N = 32 and 128 with M = 2000 that gives relative SEs of at most 0.050 per variance and 0.063 per
# variance ratio, so the 20% and 25% tolerances are about 4 standard errors.


def _t(x):
    return torch.tensor(x, dtype=torch.float64)


VAR_PROBLEM = GaussianQuadratic(c=2.0)
VAR_MU, VAR_LOG_SIGMA = 0.0, math.log(0.5)
VAR_REPEATS = 2000
VAR_N = 32


def _gaussian_estimate(n):
    def estimate(seed):
        actions, rewards = VAR_PROBLEM.sample(VAR_MU, VAR_LOG_SIGMA, n, seed=seed)
        params = [_t(VAR_MU), _t(VAR_LOG_SIGMA)]
        return list(score_function_gradient(VAR_PROBLEM.distribution, params, actions, rewards))

    return estimate


@pytest.fixture(scope="module")
def gaussian_variances():
    return {
        n: gradient_variance(_gaussian_estimate(n), VAR_REPEATS, seed=11, reduction="per_parameter")
        for n in (VAR_N, 4 * VAR_N)
    }


def test_gradient_variance_matches_analytic_per_sample_variance_over_n(gaussian_variances):
    per_sample = VAR_PROBLEM.estimate_variance(VAR_MU, VAR_LOG_SIGMA)
    for n, measured in gaussian_variances.items():
        np.testing.assert_allclose(measured, per_sample / n, rtol=0.2)


def test_estimator_variance_falls_as_one_over_n(gaussian_variances):
    ratios = gaussian_variances[VAR_N] / gaussian_variances[4 * VAR_N]
    assert np.all(np.abs(ratios - 4.0) < 1.0)


def test_gradient_variance_on_sample_means_is_one_over_n_per_entry():
    n, p = 10, 3

    def estimate(seed):
        return np.random.default_rng(seed).normal(size=(n, p)).mean(axis=0)

    total, mean = gradient_variance(estimate, 3000, seed=0, return_mean=True)
    # var of a sample variance of Gaussians: relative SE sqrt(2 / (M - 1)) ~ 0.026 per entry
    assert total == pytest.approx(p / n, rel=0.08)
    assert np.all(np.abs(mean) < 4 / math.sqrt(n * 3000))


def test_gradient_variance_flattens_lists_and_is_reproducible():
    def estimate(seed):
        g = torch.Generator().manual_seed(seed)
        return [torch.randn(2, 2, generator=g), torch.randn(3, generator=g)]

    per_parameter = gradient_variance(estimate, 5, seed=3, reduction="per_parameter")
    assert per_parameter.shape == (7,)
    assert gradient_variance(estimate, 5, seed=3) == pytest.approx(per_parameter.sum())
    assert gradient_variance(estimate, 5, seed=4) != pytest.approx(per_parameter.sum())


def test_gradient_variance_passes_distinct_seeds():
    seen = []

    def estimate(seed):
        seen.append(seed)
        return np.array([float(seed)])

    gradient_variance(estimate, 20, seed=0)
    assert len(set(seen)) == 20


def test_flat_grad_matches_autograd_and_leaves_grad_untouched():
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2)
    unused = torch.zeros(4, requires_grad=True)
    x = torch.randn(5, 3)
    loss = net(x).pow(2).mean()
    params = [*net.parameters(), unused]
    flat = flat_grad(loss, params, retain_graph=True)
    weight_grad, bias_grad = torch.autograd.grad(loss, list(net.parameters()))
    torch.testing.assert_close(
        flat, torch.cat([weight_grad.reshape(-1), bias_grad, torch.zeros(4)])
    )
    assert all(p.grad is None for p in params)


def _constant(seed):
    return np.zeros(2)


@pytest.mark.parametrize(
    "estimate_fn, kwargs, error, match",
    [
        ("nope", {}, TypeError, "estimate_fn must be callable"),
        (_constant, {"repeats": 1}, ValueError, "repeats must be >= 2"),
        (_constant, {"repeats": 0}, ValueError, "repeats must be >= 1"),
        (_constant, {"repeats": 3.0}, TypeError, "repeats must be a positive integer"),
        (_constant, {"seed": -2}, ValueError, "seed must be >= 0"),
        (_constant, {"seed": 0.5}, TypeError, "seed must be a non-negative int"),
        (_constant, {"reduction": "mean"}, ValueError, "reduction must be"),
        (_constant, {"return_mean": 1}, TypeError, "return_mean must be a bool"),
        (lambda s: {"g": 1.0}, {}, TypeError, "must return a tensor"),
        (lambda s: [], {}, ValueError, "empty sequence"),
        (lambda s: np.zeros(0), {}, ValueError, "empty gradient"),
        (lambda s: np.zeros(1 + s % 2), {}, ValueError, "same size"),
        (lambda s: torch.tensor([math.nan]), {}, ValueError, "non-finite"),
    ],
    ids=[
        "not-callable",
        "one-repeat",
        "zero-repeats",
        "float-repeats",
        "seed-negative",
        "seed-float",
        "reduction",
        "return-mean",
        "estimate-type",
        "estimate-empty-list",
        "estimate-empty",
        "estimate-sizes",
        "estimate-nan",
    ],
)
def test_gradient_variance_errors(estimate_fn, kwargs, error, match):
    kwargs = {"repeats": 4, **kwargs}
    repeats = kwargs.pop("repeats")
    with pytest.raises(error, match=match):
        gradient_variance(estimate_fn, repeats, **kwargs)


_W = torch.zeros(2, requires_grad=True)


@pytest.mark.parametrize(
    "loss, params, error, match",
    [
        (1.0, [_W], TypeError, "loss must be a scalar torch.Tensor"),
        (lambda: _W * 2, [_W], ValueError, r"loss must be a scalar, got shape \(2,\)"),
        (lambda: torch.tensor(1.0), [_W], ValueError, "does not require grad"),
        (lambda: _W.sum(), [], ValueError, "params is empty"),
        (lambda: _W.sum(), [_W, np.zeros(2)], TypeError, r"params\[1\] must be a torch.Tensor"),
        (lambda: _W.sum(), [torch.zeros(2)], ValueError, r"params\[0\] does not require grad"),
    ],
    ids=["loss-type", "loss-shape", "loss-no-grad", "params-empty", "param-type", "param-no-grad"],
)
def test_flat_grad_errors(loss, params, error, match):
    loss = loss() if callable(loss) else loss
    with pytest.raises(error, match=match):
        flat_grad(loss, params)
