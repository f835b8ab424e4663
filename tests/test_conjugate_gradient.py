"""Tests for pgkit.conjugate_gradient: exact solutions of random SPD systems, the minimum-norm
solution of the singular softmax Fisher matrix, the old import path, and the error paths."""

from __future__ import annotations

import math

import pytest
import torch

import pgkit.trust_region
from pgkit.conjugate_gradient import conjugate_gradient
from pgkit.trust_region import categorical_fisher


def random_spd(n: int, seed: int, condition: float = 100.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    eigenvalues = torch.logspace(0, math.log10(condition), n, dtype=torch.float64)
    return q @ torch.diag(eigenvalues) @ q.T


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cg_solves_random_spd_system(seed):
    a = random_spd(20, seed)
    b = torch.randn(20, generator=torch.Generator().manual_seed(seed + 10), dtype=torch.float64)
    x = conjugate_gradient(lambda v: a @ v, b, iters=40, tol=1e-24)
    torch.testing.assert_close(x, torch.linalg.solve(a, b), rtol=1e-8, atol=1e-10)


def test_cg_is_exact_after_p_iterations_on_a_well_conditioned_system():
    a = random_spd(6, 3, condition=3.0)
    b = torch.arange(1.0, 7.0, dtype=torch.float64)
    x = conjugate_gradient(lambda v: a @ v, b, iters=6, tol=0.0)
    torch.testing.assert_close(a @ x, b, rtol=1e-9, atol=1e-9)


def test_cg_finds_minimum_norm_solution_of_singular_softmax_fisher():
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)
    fisher = categorical_fisher(probs)
    mu = torch.tensor([1.0, -0.5, 0.25, 2.0], dtype=torch.float64)
    grad = probs * (mu - probs @ mu)  # the softmax bandit's gradient, orthogonal to 1
    x = conjugate_gradient(lambda v: fisher @ v, grad, iters=20, tol=1e-28)
    torch.testing.assert_close(x, torch.linalg.pinv(fisher) @ grad, rtol=1e-8, atol=1e-10)
    # the natural gradient of a softmax bandit is the arm means minus their average
    torch.testing.assert_close(x, mu - mu.mean(), rtol=1e-8, atol=1e-10)


def test_cg_rejects_indefinite_matrix():
    a = torch.diag(torch.tensor([1.0, -1.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="not positive definite"):
        conjugate_gradient(lambda v: a @ v, torch.tensor([0.0, 1.0], dtype=torch.float64))


def test_cg_rejects_bad_inputs():
    with pytest.raises(ValueError, match="flat vector"):
        conjugate_gradient(lambda v: v, torch.ones(2, 2))
    with pytest.raises(ValueError, match="iters"):
        conjugate_gradient(lambda v: v, torch.ones(2), iters=0)
    with pytest.raises(ValueError, match="matvec returned shape"):
        conjugate_gradient(lambda v: v[:1], torch.ones(2))


def test_trust_region_still_offers_conjugate_gradient():
    # Chapter 9 imports the solver beside the steps that use it; it is documented once, here
    assert pgkit.trust_region.conjugate_gradient is conjugate_gradient
    assert "conjugate_gradient" not in pgkit.trust_region.__all__
