"""Chapter 4's checker (pgkit/exercises/ch04_gaussian_policies.py) names typical mistakes."""

import math

import pytest
import torch
from exercise_helpers import assert_names_mistake, correct_gaussian, run

from pgkit.exercises import ch04_gaussian_policies
from pgkit.policies import GaussianPolicy

LOG_2PI = math.log(2 * math.pi)

MISTAKES = [
    (
        lambda a, mu, ls: (-0.5 * ((a - mu) / ls.exp()) ** 2 - ls).sum(-1),
        "missing the -0.5 log(2 pi) constant",
    ),
    (
        lambda a, mu, ls: (-0.5 * (a - mu) ** 2 / ls.exp() - ls - 0.5 * LOG_2PI).sum(-1),
        "sigma vs sigma^2",
    ),
    (
        lambda a, mu, ls: -0.5 * ((a - mu) / ls.exp()) ** 2 - ls - 0.5 * LOG_2PI,
        "forgot to sum over action dimensions",
    ),
    (
        lambda a, mu, ls: (-0.5 * ((a - mu) / ls) ** 2 - ls.log() - 0.5 * LOG_2PI).sum(-1),
        "used log_std as the standard deviation",
    ),
]


@pytest.mark.parametrize(("fn", "hint"), MISTAKES, ids=[m[1][:30] for m in MISTAKES])
def test_checker_names_typical_mistake(fn, hint, capsys):
    assert_names_mistake("gaussian_log_likelihood", fn, hint, capsys)


def test_one_column_per_sample_fails(capsys):
    result, out = run(
        "gaussian_log_likelihood", lambda a, mu, ls: correct_gaussian(a, mu, ls)[:, None], capsys
    )
    assert result is False
    assert "shape" in out


def test_the_reference_is_the_distribution_of_pgkits_gaussian_policy():
    torch.manual_seed(0)
    policy = GaussianPolicy(3, 2, log_std_init=-0.3).double()
    obs = torch.randn(5, 3, dtype=torch.float64)
    dist = policy(obs)
    actions = dist.sample()
    ours = ch04_gaussian_policies._gaussian_log_likelihood(
        actions, dist.mean, policy.log_std.detach()
    )
    torch.testing.assert_close(ours, dist.log_prob(actions), rtol=0, atol=0)
