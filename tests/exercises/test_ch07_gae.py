"""Chapter 7's checker (pgkit/exercises/ch07_gae.py): GAE and the mistakes a reader makes with
lam, bootstrapping and next_values."""

import numpy as np
import pytest
from exercise_helpers import assert_names_mistake, backward, run

from pgkit import returns


def make_gae(*, lam_in_recursion=True, boot_terminated=False, boot_truncated=True):
    def gae(rewards, values, next_values, terminated, truncated, gamma, lam):
        done = terminated | truncated
        boot = np.ones(rewards.shape)
        if not boot_terminated:
            boot = boot * ~terminated
        if not boot_truncated:
            boot = boot * ~truncated
        deltas = rewards + gamma * boot * next_values - values
        return backward(deltas, gamma * (lam if lam_in_recursion else 1.0) * ~done)

    return gae


def gae_values_shifted(rewards, values, next_values, terminated, truncated, gamma, lam):
    following = np.concatenate([values[1:], next_values[-1:]])
    deltas = rewards + gamma * ~terminated * following - values
    return backward(deltas, gamma * lam * ~(terminated | truncated))


def lambda_returns_instead(rewards, values, next_values, terminated, truncated, gamma, lam):
    return returns.lambda_returns(
        rewards, values, next_values, terminated, truncated, gamma=gamma, lam=lam
    )


MISTAKES = [
    (make_gae(lam_in_recursion=False), "did you forget lam in the recursion?"),
    (make_gae(boot_terminated=True), "terminated steps must not bootstrap"),
    (make_gae(boot_truncated=False), "truncated steps must be bootstrapped"),
    (gae_values_shifted, "use next_values[t]"),
    (lambda_returns_instead, "lambda-returns"),
]


@pytest.mark.parametrize(("fn", "hint"), MISTAKES, ids=[m[1][:30] for m in MISTAKES])
def test_checker_names_typical_mistake(fn, hint, capsys):
    assert_names_mistake("gae", fn, hint, capsys)


def test_the_reader_loop_without_mistakes_passes(capsys):
    assert run("gae", make_gae(), capsys)[0] is True


def test_a_flattened_answer_fails(capsys):
    result, out = run("gae", lambda *args: returns.gae(*args).reshape(-1)[:1], capsys)
    assert result is False
    assert "shape" in out
