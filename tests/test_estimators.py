"""Tests for pgkit.estimators: analytic answers, statistical checks with fixed seeds, error paths.

Statistical tolerances (all seeds fixed, so each test is deterministic; the tolerances say how
unlucky a seed would have to be for a correct implementation to fail):

* unbiasedness: the mean of M independent estimates lies within 4 standard errors of the
  closed-form gradient, SE = sample std / sqrt(M) (a correct estimator fails with probability
  about 6e-5 per component);
* variances: the sample variance of M estimates has relative standard error about
  sqrt((kurtosis - 1) / M), and an N-sample mean has kurtosis 3 + (kurtosis_1 - 3) / N. For the
  Gaussian problem used below the one-sample kurtoses are 12.9 (mu) and 102 (log sigma), found by
  Gauss-Hermite quadrature; at N = 32 and 128 with M = 2000 that gives relative SEs of at most
  0.050 per variance and 0.063 per variance ratio, so the 20% and 25% tolerances are about
  4 standard errors.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.distributions import Categorical, Independent, Normal, Uniform

from pgkit.estimators import (
    GaussianQuadratic,
    SoftmaxBandit,
    flat_grad,
    gradient_variance,
    importance_weighted_loss,
    importance_weighted_objective,
    importance_weights,
    per_sample_scores,
    score_function_gradient,
    surrogate_loss,
    trajectory_importance_weights,
)

BANDIT = SoftmaxBandit(mu=(1.0, 0.0, 2.0, -0.5), reward_std=0.7)
THETA = np.array([0.2, -0.3, 0.1, 0.5])
GAUSS = GaussianQuadratic(c=1.5)
MU, LOG_SIGMA = 0.5, math.log(0.8)


def _t(x):
    return torch.tensor(x, dtype=torch.float64)


def _gauss_params():
    return [_t(MU), _t(LOG_SIGMA)]


def _within_4_se(estimates, truth):
    estimates = np.asarray(estimates)
    se = estimates.std(axis=0, ddof=1) / math.sqrt(len(estimates))
    return np.abs(estimates.mean(axis=0) - truth) < 4 * se


# ------------------------------------------------------------------ closed forms


@settings(max_examples=30, deadline=None)
@given(
    theta=st.lists(st.floats(-4, 4), min_size=2, max_size=6),
    seed=st.integers(0, 2**16),
)
def test_bandit_gradient_equals_autograd_of_objective(theta, seed):
    mu = np.random.default_rng(seed).normal(size=len(theta))
    bandit = SoftmaxBandit(mu=mu)
    theta_t = _t(theta).requires_grad_()
    (torch.softmax(theta_t, 0) @ _t(mu)).backward()
    np.testing.assert_allclose(bandit.gradient(theta), theta_t.grad.numpy(), atol=1e-12)
    assert bandit.objective(theta) == pytest.approx(float(torch.softmax(_t(theta), 0) @ _t(mu)))


@settings(max_examples=30, deadline=None)
@given(mu=st.floats(-3, 3), log_sigma=st.floats(-2, 1), c=st.floats(-3, 3))
def test_gaussian_gradient_equals_autograd_of_objective(mu, log_sigma, c):
    problem = GaussianQuadratic(c=c)
    mu_t, ls_t = _t(mu).requires_grad_(), _t(log_sigma).requires_grad_()
    objective = -((mu_t - c) ** 2 + torch.exp(2 * ls_t))
    objective.backward()
    np.testing.assert_allclose(
        problem.gradient(mu, log_sigma), [mu_t.grad.item(), ls_t.grad.item()], rtol=1e-12
    )
    assert problem.objective(mu, log_sigma) == pytest.approx(objective.item(), rel=1e-12)


def test_bandit_score_identity_holds_exactly_by_enumeration():
    # grad J = sum_a pi_a mu_a (e_a - pi): the log-derivative trick with the expectation done exactly
    arms = np.arange(BANDIT.n_arms)
    pi = BANDIT.policy(THETA)
    expected = (pi * np.asarray(BANDIT.mu)) @ BANDIT.scores(THETA, arms)
    np.testing.assert_allclose(expected, BANDIT.gradient(THETA), atol=1e-15)


def test_bandit_estimate_variance_matches_exact_expectation():
    # enumerate arms, integrate the Gaussian reward noise with Gauss-Hermite (exact for polynomials)
    z, w = np.polynomial.hermite_e.hermegauss(10)
    w = w / w.sum()
    pi, scores = BANDIT.policy(THETA), BANDIT.scores(THETA, np.arange(BANDIT.n_arms))
    second = sum(
        pi[a] * w[j] * ((BANDIT.mu[a] + BANDIT.reward_std * z[j]) * scores[a]) ** 2
        for a in range(BANDIT.n_arms)
        for j in range(len(z))
    )
    np.testing.assert_allclose(
        BANDIT.estimate_variance(THETA), second - BANDIT.gradient(THETA) ** 2, rtol=1e-12
    )


@pytest.mark.parametrize("mu, log_sigma, c", [(0.5, math.log(0.8), 1.5), (-1.0, 0.7, 2.0)])
def test_gaussian_estimate_variance_and_mean_match_exact_expectation(mu, log_sigma, c):
    # r(a) * score(a) is a polynomial of degree <= 4 in z: 10-node Gauss-Hermite is exact
    problem = GaussianQuadratic(c=c)
    z, w = np.polynomial.hermite_e.hermegauss(10)
    w = w / w.sum()
    actions = mu + math.exp(log_sigma) * z
    per_sample = problem.reward(actions)[:, None] * problem.scores(mu, log_sigma, actions)
    mean = w @ per_sample
    np.testing.assert_allclose(mean, problem.gradient(mu, log_sigma), rtol=1e-12)
    np.testing.assert_allclose(
        problem.estimate_variance(mu, log_sigma), w @ per_sample**2 - mean**2, rtol=1e-10
    )


def test_bandit_sampler_frequencies_and_rewards():
    n = 40_000
    actions, rewards = BANDIT.sample(THETA, n, seed=3)
    pi = BANDIT.policy(THETA)
    freq = np.bincount(actions.numpy(), minlength=BANDIT.n_arms) / n
    assert np.all(np.abs(freq - pi) < 4 * np.sqrt(pi * (1 - pi) / n))
    assert rewards.dtype == torch.float64 and actions.dtype == torch.long
    noise = rewards.numpy() - np.asarray(BANDIT.mu)[actions.numpy()]
    assert abs(noise.std() - BANDIT.reward_std) < 4 * BANDIT.reward_std / math.sqrt(2 * n)


def test_gaussian_sampler_moments_and_reward():
    n = 40_000
    actions, rewards = GAUSS.sample(MU, LOG_SIGMA, n, seed=4)
    sigma = math.exp(LOG_SIGMA)
    assert abs(actions.mean().item() - MU) < 4 * sigma / math.sqrt(n)
    assert abs(actions.std().item() - sigma) < 4 * sigma / math.sqrt(2 * n)
    torch.testing.assert_close(rewards, -((actions - GAUSS.c) ** 2))


def test_samplers_are_reproducible_and_keep_float_dtype():
    a1, r1 = BANDIT.sample(THETA, 50, seed=7)
    a2, r2 = BANDIT.sample(THETA, 50, seed=7)
    assert torch.equal(a1, a2) and torch.equal(r1, r2)
    g = torch.Generator().manual_seed(7)
    first, _ = GAUSS.sample(MU, LOG_SIGMA, 50, seed=g)
    second, _ = GAUSS.sample(MU, LOG_SIGMA, 50, seed=g)  # the generator advanced
    assert not torch.equal(first, second)
    _, rewards32 = BANDIT.sample(torch.zeros(4), 5, seed=0)
    actions32, _ = GAUSS.sample(torch.tensor(0.0), torch.tensor(0.0), 5, seed=0)
    assert rewards32.dtype == torch.float32 and actions32.dtype == torch.float32


def test_gaussian_reward_keeps_array_family():
    assert isinstance(GAUSS.reward(np.array([1.5, 0.5])), np.ndarray)
    torch.testing.assert_close(GAUSS.reward(torch.tensor([1.5, 0.5])), torch.tensor([0.0, -1.0]))


# ------------------------------------------------------------- score function


def test_per_sample_scores_equal_closed_form_scores():
    actions, _ = BANDIT.sample(THETA, 64, seed=0)
    scores = per_sample_scores(BANDIT.distribution, _t(THETA), actions)
    np.testing.assert_allclose(scores.numpy(), BANDIT.scores(THETA, actions), atol=1e-14)
    actions, _ = GAUSS.sample(MU, LOG_SIGMA, 64, seed=0)
    d_mu, d_log_sigma = per_sample_scores(GAUSS.distribution, _gauss_params(), actions)
    np.testing.assert_allclose(
        np.stack([d_mu.numpy(), d_log_sigma.numpy()], 1),
        GAUSS.scores(MU, LOG_SIGMA, actions),
        rtol=1e-12,
    )


def _surrogate_gradient(dist_fn, params, samples, weights):
    params = [p.detach().clone().requires_grad_() for p in params]
    loss = surrogate_loss(dist_fn(*params).log_prob(samples), weights)
    return [-g for g in torch.autograd.grad(loss, params)]


def _vector_gaussian(weight, log_std):
    # a 3-D action whose mean is a fixed linear map of the parameters
    features = torch.tensor([[1.0, 0.5], [-0.3, 2.0], [0.0, 1.0]], dtype=torch.float64)
    return Independent(Normal(features @ weight, log_std.exp()), 1)


@pytest.mark.parametrize("problem", ["bandit", "gaussian", "vector_gaussian"])
def test_surrogate_gradient_equals_explicit_score_function_gradient(problem):
    if problem == "bandit":
        dist_fn, params = BANDIT.distribution, [_t(THETA)]
        samples, weights = BANDIT.sample(THETA, 200, seed=1)
    elif problem == "gaussian":
        dist_fn, params = GAUSS.distribution, _gauss_params()
        samples, weights = GAUSS.sample(MU, LOG_SIGMA, 200, seed=1)
    else:
        dist_fn, params = _vector_gaussian, [_t([0.3, -0.2]), _t([0.1, -0.4, 0.0])]
        samples = dist_fn(*params).sample((200,))
        weights = -(samples**2).sum(1)
    explicit = score_function_gradient(dist_fn, params, samples, weights)
    for e, s in zip(explicit, _surrogate_gradient(dist_fn, params, samples, weights), strict=True):
        torch.testing.assert_close(e, s, rtol=1e-12, atol=1e-12)


def test_score_function_gradient_mirrors_params_structure():
    actions, rewards = BANDIT.sample(THETA, 10, seed=0)
    single = score_function_gradient(BANDIT.distribution, _t(THETA), actions, rewards.numpy())
    as_list = score_function_gradient(BANDIT.distribution, [_t(THETA)], actions, rewards)
    assert isinstance(single, torch.Tensor) and single.shape == (4,)
    assert isinstance(as_list, tuple) and torch.equal(as_list[0], single)


def test_score_function_gradient_cuts_reparameterised_samples():
    params = _gauss_params()
    samples = GAUSS.distribution(*[p.requires_grad_() for p in params]).rsample((5,))
    gradient = score_function_gradient(GAUSS.distribution, params, samples, GAUSS.reward(samples))
    assert not any(g.requires_grad for g in gradient)


def test_score_function_gradient_is_unbiased_on_the_gaussian_problem():
    estimates = []
    for seed in range(400):
        actions, rewards = GAUSS.sample(MU, LOG_SIGMA, 16, seed=seed)
        grads = score_function_gradient(GAUSS.distribution, _gauss_params(), actions, rewards)
        estimates.append([g.item() for g in grads])
    assert _within_4_se(estimates, GAUSS.gradient(MU, LOG_SIGMA)).all()


def test_score_function_gradient_is_unbiased_on_the_bandit():
    estimates = []
    for seed in range(400):
        actions, rewards = BANDIT.sample(THETA, 16, seed=seed)
        estimates.append(
            score_function_gradient(BANDIT.distribution, _t(THETA), actions, rewards).numpy()
        )
    assert _within_4_se(estimates, BANDIT.gradient(THETA)).all()


# ------------------------------------------------------------- variance (Ch 5)

# mu - c large against sigma keeps the estimates' tails light (see the module docstring)
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


# ------------------------------------------------------------ importance weights


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


# ------------------------------------------------------------------- error paths


def test_surrogate_loss_value_and_detached_weights():
    log_probs = torch.tensor([-1.0, -2.0], requires_grad=True)
    weights = torch.tensor([3.0, 5.0], requires_grad=True)
    loss = surrogate_loss(log_probs, weights)
    assert loss.item() == pytest.approx((3.0 + 10.0) / 2)
    loss.backward()
    assert weights.grad is None
    assert surrogate_loss(log_probs, np.array([3.0, 5.0])).item() == pytest.approx(loss.item())


@pytest.mark.parametrize(
    "log_probs, weights, error, match",
    [
        (np.zeros(3), torch.zeros(3), TypeError, "log_probs must be a torch.Tensor"),
        (torch.zeros(3, dtype=torch.long), torch.zeros(3), TypeError, "floating-point"),
        (torch.zeros(3), torch.zeros(3, 1), ValueError, "shape mismatch"),
        (torch.tensor([0.0, math.nan]), torch.zeros(2), ValueError, "log_probs contains"),
        (torch.zeros(2), torch.tensor([math.inf, 0.0]), ValueError, "weights contains"),
        (torch.zeros(0), torch.zeros(0), ValueError, "log_probs is empty"),
    ],
    ids=["numpy-log-probs", "integer", "shape", "nan-log-probs", "inf-weights", "empty"],
)
def test_surrogate_loss_errors(log_probs, weights, error, match):
    with pytest.raises(error, match=match):
        surrogate_loss(log_probs, weights)


def _uniform(low):
    return Uniform(low, low + 1.0, validate_args=False)


@pytest.mark.parametrize(
    "dist_fn, params, samples, weights, error, match",
    [
        ("nope", _t(THETA), torch.zeros(2, dtype=torch.long), np.zeros(2), TypeError, "callable"),
        (BANDIT.distribution, THETA, torch.zeros(2), np.zeros(2), TypeError, "params must be"),
        (BANDIT.distribution, [], torch.zeros(2), np.zeros(2), ValueError, "params is empty"),
        (
            BANDIT.distribution,
            torch.zeros(4, dtype=torch.long),
            torch.zeros(2),
            np.zeros(2),
            TypeError,
            r"params\[0\] must be a floating-point",
        ),
        (BANDIT.distribution, _t(THETA), [0, 1], np.zeros(2), TypeError, "samples must be"),
        (BANDIT.distribution, _t(THETA), torch.tensor(1), 0.0, ValueError, "leading sample"),
        (BANDIT.distribution, _t(THETA), torch.zeros(2), np.zeros(3), ValueError, r"shape \(2,\)"),
        (
            BANDIT.distribution,
            _t(THETA),
            torch.zeros(2),
            np.array([0.0, math.nan]),
            ValueError,
            "weights contains",
        ),
        (lambda t: t, _t(THETA), torch.zeros(2), np.zeros(2), TypeError, "must return a torch"),
        (
            lambda m: Normal(m, 1.0),
            _t([0.0, 0.0]),
            torch.zeros(5, 2),
            np.zeros(5),
            ValueError,
            "Independent",
        ),
        (_uniform, _t(0.0), _t([0.5, 2.0]), np.zeros(2), ValueError, "non-finite"),
    ],
    ids=[
        "dist-fn",
        "params-type",
        "params-empty",
        "params-integer",
        "samples-type",
        "samples-0d",
        "weights-shape",
        "weights-nan",
        "not-distribution",
        "log-prob-shape",
        "log-prob-inf",
    ],
)
def test_score_function_gradient_errors(dist_fn, params, samples, weights, error, match):
    with pytest.raises(error, match=match):
        score_function_gradient(dist_fn, params, samples, weights)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"mu": (1.0,)}, ValueError, "at least two arm means"),
        ({"mu": [[1.0, 2.0]]}, ValueError, "1-D"),
        ({"mu": (1.0, math.nan)}, ValueError, "mu contains"),
        ({"mu": (1.0, 2.0), "reward_std": -1.0}, ValueError, "reward_std must be >= 0"),
        ({"mu": (1.0, 2.0), "reward_std": "1"}, TypeError, "reward_std must be a real number"),
    ],
    ids=["one-arm", "2d", "nan", "negative-std", "std-type"],
)
def test_softmax_bandit_construction_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        SoftmaxBandit(**kwargs)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: BANDIT.gradient(np.zeros(3)), ValueError, r"theta must have shape \(4,\)"),
        (lambda: BANDIT.objective([0, 0, 0, math.inf]), ValueError, "theta contains"),
        (lambda: BANDIT.distribution(torch.zeros(2)), ValueError, "theta must have shape"),
        (lambda: BANDIT.sample(THETA, 0, seed=0), ValueError, "n must be >= 1"),
        (lambda: BANDIT.sample(THETA, 2.5, seed=0), TypeError, "n must be a positive integer"),
        (lambda: BANDIT.sample(THETA, 3, seed=-1), ValueError, "seed must be >= 0"),
        (lambda: BANDIT.sample(THETA, 3, seed=1.0), TypeError, "seed must be a non-negative"),
        (lambda: BANDIT.scores(THETA, [0, 4]), ValueError, r"actions must lie in \[0, 3\]"),
        (lambda: BANDIT.scores(THETA, [0.0, 1.0]), ValueError, "integer arm indices"),
    ],
    ids=[
        "theta-shape",
        "theta-inf",
        "dist-theta-shape",
        "n-zero",
        "n-float",
        "seed-negative",
        "seed-float",
        "action-range",
        "action-float",
    ],
)
def test_softmax_bandit_method_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: GaussianQuadratic(c=math.inf), ValueError, "c must be finite"),
        (lambda: GaussianQuadratic(c="1"), TypeError, "c must be a real number"),
        (lambda: GAUSS.gradient([0.0, 1.0], 0.0), ValueError, r"mu must have shape \(\)"),
        (lambda: GAUSS.objective(0.0, math.nan), ValueError, "log_sigma contains"),
        (lambda: GAUSS.distribution(torch.zeros(2), _t(0.0)), ValueError, "mu must be a scalar"),
        (lambda: GAUSS.scores(0.0, 0.0, np.zeros((2, 2))), ValueError, "actions must be 1-D"),
        (lambda: GAUSS.sample(0.0, 0.0, -3, seed=0), ValueError, "n must be >= 1"),
    ],
    ids=["c-inf", "c-type", "mu-shape", "log-sigma-nan", "dist-shape", "actions-2d", "n-negative"],
)
def test_gaussian_quadratic_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


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


def test_per_sample_scores_in_chunks_equal_one_jacobian_of_all_samples():
    # N above the chunk size: the chunked scores are those of one jacrev over all N samples
    from pgkit import estimators

    torch.manual_seed(0)
    theta = torch.randn(4)
    x = Categorical(logits=theta).sample((estimators._SCORE_CHUNK * 2 + 37,))
    whole = torch.func.jacrev(lambda t: Categorical(logits=t).log_prob(x))(theta)
    chunked = per_sample_scores(lambda t: Categorical(logits=t), theta, x)
    assert torch.equal(chunked, whole)
