"""Tests for pgkit.analytic_problems: closed forms against autograd and exact expectations,
the samplers' statistics with fixed seeds, and the error paths."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pgkit.analytic_problems import GaussianQuadratic, SoftmaxBandit

BANDIT = SoftmaxBandit(mu=(1.0, 0.0, 2.0, -0.5), reward_std=0.7)
THETA = np.array([0.2, -0.3, 0.1, 0.5])
GAUSS = GaussianQuadratic(c=1.5)
MU, LOG_SIGMA = 0.5, math.log(0.8)


def _t(x):
    return torch.tensor(x, dtype=torch.float64)


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
