"""Chapter 9's checkers (pgkit/exercises/ch09_trust_regions_ppo.py): PPO's clipped loss, its
gradient, and gradients that must not reach old_log_probs or advantages; the Fisher matrix of a
Gaussian policy, with the mistakes a reader makes deriving it."""

import numpy as np
import pytest
import torch
from exercise_helpers import assert_names_mistake, correct_gaussian_fisher, run

from pgkit.exercises import check_gaussian_fisher


def make_ppo_loss(*, combine="min", clip_what="ratio", sign=-1.0, detach=True):
    def ppo_loss(log_probs, old_log_probs, advantages, clip):
        if detach:
            old_log_probs, advantages = old_log_probs.detach(), advantages.detach()
        ratio = torch.exp(log_probs - old_log_probs)
        unclipped = ratio * advantages
        if clip_what == "ratio":
            clipped = torch.clamp(ratio, 1 - clip, 1 + clip) * advantages
        else:
            clipped = ratio * torch.clamp(advantages, 1 - clip, 1 + clip)
        objective = (
            torch.min(unclipped, clipped) if combine == "min" else torch.max(unclipped, clipped)
        )
        return sign * objective.mean()

    return ppo_loss


MISTAKES = [
    (make_ppo_loss(combine="max"), "took max instead of min"),
    (make_ppo_loss(clip_what="advantage"), "clipped the advantage instead of the ratio"),
    (make_ppo_loss(sign=1.0), "forgot the minus sign"),
    (make_ppo_loss(detach=False), "must be a constant"),
]


@pytest.mark.parametrize(("fn", "hint"), MISTAKES, ids=[m[1][:30] for m in MISTAKES])
def test_checker_names_typical_mistake(fn, hint, capsys):
    assert_names_mistake("ppo_clip_loss", fn, hint, capsys)


def test_the_reader_loss_without_mistakes_passes(capsys):
    assert run("ppo_clip_loss", make_ppo_loss(), capsys)[0] is True


def fisher_with(*, mean_power=-2.0, last=lambda sigma: 2.0, sign=1.0, total=False):
    def gaussian_fisher(features, log_std):
        sigma = np.exp(log_std)
        fisher = correct_gaussian_fisher(features, log_std) * sigma ** (2.0 + mean_power)
        fisher[-1, -1] = last(sigma)
        if total:
            fisher[:-1, :-1] *= len(features)
        return sign * fisher

    return gaussian_fisher


def fisher_outer_of_means(features, log_std):
    return correct_gaussian_fisher(features.mean(axis=0, keepdims=True), log_std)


FISHER_MISTAKES = [
    (fisher_with(mean_power=2.0), "sigma^2 vs 1 / sigma^2"),
    (fisher_with(mean_power=-1.0), "not / sigma"),
    (fisher_with(last=lambda sigma: 1.0), "the log sigma entry is E[(eps^2 - 1)^2]"),
    (fisher_with(last=lambda sigma: 2.0 / sigma**2), "Fisher information of sigma itself"),
    (fisher_with(sign=-1.0), "positive semi-definite"),
    (fisher_with(total=True), "summed over the batch"),
    (fisher_outer_of_means, "averaged the features before the outer product"),
]


@pytest.mark.parametrize(("fn", "hint"), FISHER_MISTAKES, ids=[m[1][:30] for m in FISHER_MISTAKES])
def test_fisher_checker_names_typical_mistake(fn, hint, capsys):
    assert_names_mistake("gaussian_fisher", fn, hint, capsys)


def test_fisher_checker_refuses_what_is_not_a_function(capsys):
    assert check_gaussian_fisher([[1.0, 0.0], [0.0, 2.0]]) is False
    assert "expected your function, got list" in capsys.readouterr().out


def test_a_fisher_matrix_without_the_log_std_row_fails_on_its_shape(capsys):
    result, out = run(
        "gaussian_fisher", lambda x, log_std: correct_gaussian_fisher(x, log_std)[:-1, :-1], capsys
    )
    assert result is False
    assert "the k weights w first, then log sigma" in out


def test_the_fisher_matrix_is_the_covariance_of_the_autograd_score():
    """E[score score^T] from autograd scores of sampled actions agrees with the closed form."""
    gen = torch.Generator().manual_seed(1)
    features = torch.randn(4, 2, generator=gen, dtype=torch.float64)
    params = torch.tensor([0.3, -0.5, -0.4], dtype=torch.float64)  # w, then log sigma
    n = 20000
    states = torch.randint(0, 4, (n,), generator=gen)
    noise = torch.randn(n, generator=gen, dtype=torch.float64)
    actions = features[states] @ params[:2] + params[2].exp() * noise

    def log_probs(theta):
        normal = torch.distributions.Normal(features[states] @ theta[:2], theta[2].exp())
        return normal.log_prob(actions)

    scores = torch.autograd.functional.jacobian(
        log_probs, params, vectorize=True, strategy="forward-mode"
    )  # (n, 3)
    empirical = (scores.T @ scores / n).numpy()
    expected = correct_gaussian_fisher(features[states].numpy(), float(params[2]))
    # stated tolerance: about 4 standard errors of the log sigma entry, whose variance is 56 / n
    np.testing.assert_allclose(empirical, expected, rtol=0.1, atol=0.05)
    assert abs(empirical[2, 2] - 1.0) > 0.5  # the factor 2 is resolved
