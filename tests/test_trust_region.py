"""Tests for pgkit.trust_region: Fisher matrices, KL-sized steps, line search."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Categorical, kl_divergence

from pgkit.trust_region import (
    backtracking_line_search,
    categorical_fisher,
    fisher_vector_product,
    kl_step_scale,
    natural_step,
)


def random_spd(n: int, seed: int, condition: float = 100.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    eigenvalues = torch.logspace(0, math.log10(condition), n, dtype=torch.float64)
    return q @ torch.diag(eigenvalues) @ q.T


# ------------------------------------------------------------------ Fisher matrices


def test_softmax_fisher_matches_expected_outer_product_of_scores():
    probs = torch.softmax(torch.tensor([0.5, -1.0, 0.2, 1.5], dtype=torch.float64), 0)
    scores = torch.eye(4, dtype=torch.float64) - probs  # row a: e_a - pi
    expected = (probs[:, None, None] * scores[:, :, None] * scores[:, None, :]).sum(0)
    torch.testing.assert_close(categorical_fisher(probs), expected)


def test_softmax_fisher_matches_empirical_outer_product_of_sampled_scores():
    logits = torch.tensor([0.3, -0.2, 0.8], dtype=torch.float64)
    probs = torch.softmax(logits, 0)
    g = torch.Generator().manual_seed(0)
    actions = torch.multinomial(probs, 200_000, replacement=True, generator=g)
    scores = torch.eye(3, dtype=torch.float64)[actions] - probs
    empirical = scores.T @ scores / len(actions)
    # entries are at most 0.25; the Monte Carlo error of each is below 0.25 / sqrt(2e5) ~ 6e-4
    torch.testing.assert_close(empirical, categorical_fisher(probs), rtol=0, atol=3e-3)


def test_softmax_fisher_is_singular_along_ones_and_batched():
    probs = torch.softmax(torch.randn(5, 4, generator=torch.Generator().manual_seed(1)), -1)
    fisher = categorical_fisher(probs)
    assert fisher.shape == (5, 4, 4)
    torch.testing.assert_close(fisher @ torch.ones(4), torch.zeros(5, 4), atol=1e-6, rtol=0)
    torch.testing.assert_close(fisher, fisher.transpose(-1, -2))


def test_softmax_fisher_rejects_non_probabilities():
    with pytest.raises(ValueError, match="probabilities"):
        categorical_fisher(torch.tensor([0.5, 0.6]))
    with pytest.raises(ValueError, match="shape"):
        categorical_fisher(torch.tensor([1.0]))
    with pytest.raises(TypeError):
        categorical_fisher([0.5, 0.5])


def test_fisher_vector_product_equals_closed_form_fisher():
    logits = torch.tensor([0.5, -1.0, 0.2, 1.5], dtype=torch.float64, requires_grad=True)
    old = Categorical(logits=logits.detach())
    fvp = fisher_vector_product(
        lambda: kl_divergence(old, Categorical(logits=logits)), [logits], damping=0.1
    )
    v = torch.tensor([1.0, 2.0, -1.0, 0.5], dtype=torch.float64)
    expected = categorical_fisher(torch.softmax(logits.detach(), 0)) @ v + 0.1 * v
    torch.testing.assert_close(fvp(v), expected)


def test_fisher_vector_product_of_a_network_matches_mean_score_outer_product():
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 4).double()
    obs = torch.randn(6, 3, dtype=torch.float64)
    with torch.no_grad():
        old = Categorical(logits=net(obs))
    fvp = fisher_vector_product(
        lambda: kl_divergence(old, Categorical(logits=net(obs))).mean(), net.parameters()
    )
    # F = mean over states of E_a[score score^T], scores by autograd for every (s, a)
    params = list(net.parameters())
    rows = []
    for i in range(6):
        probs = torch.softmax(net(obs[i]), 0).detach()
        for a in range(4):
            log_prob = torch.log_softmax(net(obs[i]), 0)[a]
            grads = torch.autograd.grad(log_prob, params)
            score = torch.cat([g.reshape(-1) for g in grads])
            rows.append((probs[a], score))
    fisher = sum(p * torch.outer(s, s) for p, s in rows) / 6
    v = torch.randn(fisher.shape[0], dtype=torch.float64)
    torch.testing.assert_close(fvp(v), fisher @ v, rtol=1e-8, atol=1e-10)


def test_fisher_vector_product_checks_its_inputs():
    logits = torch.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="params is empty"):
        fisher_vector_product(lambda: logits.sum(), [])
    with pytest.raises(ValueError, match="scalar"):
        fisher_vector_product(lambda: logits * 1.0, [logits])
    with pytest.raises(ValueError, match="damping"):
        fisher_vector_product(lambda: logits.sum(), [logits], damping=-1.0)
    fvp = fisher_vector_product(lambda: (logits**2).sum(), [logits])
    with pytest.raises(ValueError, match="entries"):
        fvp(torch.ones(4))


# ------------------------------------------------------------------ KL-sized steps


def test_kl_step_scale_gives_exact_quadratic_kl():
    fisher = random_spd(5, 4)
    d = torch.linspace(-1, 1, 5, dtype=torch.float64)
    beta = kl_step_scale(d, fisher @ d, max_kl=0.02)
    assert 0.5 * float((beta * d) @ fisher @ (beta * d)) == pytest.approx(0.02, rel=1e-12)


def test_kl_step_scale_rejects_flat_directions_and_bad_kl():
    d = torch.ones(3, dtype=torch.float64)
    with pytest.raises(ValueError, match="must be > 0"):
        kl_step_scale(d, torch.zeros(3, dtype=torch.float64), 0.01)
    with pytest.raises(ValueError, match="max_kl"):
        kl_step_scale(d, d, 0.0)
    with pytest.raises(TypeError, match="max_kl"):
        kl_step_scale(d, d, None)
    with pytest.raises(ValueError, match="same shape"):
        kl_step_scale(d, torch.ones(2, dtype=torch.float64), 0.01)


@pytest.mark.parametrize("max_kl", [1e-2, 1e-3, 1e-4])
def test_natural_step_has_requested_kl_to_second_order(max_kl):
    logits = torch.tensor([0.5, -1.0, 0.2, 1.5], dtype=torch.float64)
    probs = torch.softmax(logits, 0)
    mu = torch.tensor([1.0, -0.5, 0.25, 2.0], dtype=torch.float64)
    grad = probs * (mu - probs @ mu)
    fisher = categorical_fisher(probs)
    step = natural_step(grad, lambda v: fisher @ v, max_kl, cg_iters=10)
    kl = float(kl_divergence(Categorical(logits=logits), Categorical(logits=logits + step)))
    # the third-order remainder makes the relative error O(sqrt(max_kl))
    assert abs(kl / max_kl - 1) < 3 * math.sqrt(max_kl)


def test_natural_step_points_along_natural_gradient():
    fisher = random_spd(4, 5)
    grad = torch.tensor([1.0, 0.0, -2.0, 0.5], dtype=torch.float64)
    step = natural_step(grad, lambda v: fisher @ v, 0.05, cg_iters=20)
    direction = torch.linalg.solve(fisher, grad)
    cosine = float(step @ direction / (step.norm() * direction.norm()))
    assert cosine == pytest.approx(1.0, abs=1e-10)


def test_natural_step_is_zero_for_zero_gradient():
    fisher = random_spd(3, 6)
    step = natural_step(torch.zeros(3, dtype=torch.float64), lambda v: fisher @ v, 0.01)
    torch.testing.assert_close(step, torch.zeros(3, dtype=torch.float64))


# ------------------------------------------------------------------ line search


def test_line_search_accepts_full_step_when_safe():
    step = torch.tensor([1.0, 0.0], dtype=torch.float64)
    result = backtracking_line_search(lambda s: (float(s[0]), 0.5 * float(s @ s)), step, 1.0)
    assert result.accepted and result.fraction == 1.0 and result.backtracks == 0
    torch.testing.assert_close(result.step, step)


def test_line_search_halves_until_kl_is_within_limit():
    step = torch.tensor([2.0], dtype=torch.float64)
    # exact KL 0.5 * s^2 must be <= 0.1: 2 -> 1 -> 0.5 (KL 0.125) -> 0.25 (KL 0.03125)
    result = backtracking_line_search(lambda s: (float(s[0]), 0.5 * float(s[0]) ** 2), step, 0.1)
    assert result.fraction == 0.125 and result.backtracks == 3
    assert result.kl == pytest.approx(0.03125)


def test_line_search_rejects_steps_that_do_not_improve():
    step = torch.tensor([1.0], dtype=torch.float64)
    result = backtracking_line_search(lambda s: (-1.0, 0.0), step, 0.1, max_backtracks=3)
    assert not result.accepted and result.backtracks == 4
    torch.testing.assert_close(result.step, torch.zeros(1, dtype=torch.float64))


def test_line_search_checks_its_settings():
    step = torch.ones(1)
    with pytest.raises(ValueError, match="shrink"):
        backtracking_line_search(lambda s: (1.0, 0.0), step, 0.1, shrink=1.0)
    with pytest.raises(ValueError, match="max_backtracks"):
        backtracking_line_search(lambda s: (1.0, 0.0), step, 0.1, max_backtracks=-1)
