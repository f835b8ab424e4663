"""Chapter 5's checkers (pgkit/exercises/ch05_variance_reduction.py): reward-to-go and
discounted returns, with the mistakes a reader makes at episode ends and with gamma."""

import numpy as np
import pytest
from exercise_helpers import assert_names_mistake, backward, run

from pgkit import returns


def rtg_no_reset(rewards, dones):
    return backward(rewards, np.ones(rewards.shape))


def rtg_off_by_one(rewards, dones):
    out, carry = np.zeros(rewards.shape), np.zeros(rewards.shape[1:])
    for t in reversed(range(len(rewards))):
        carry = rewards[t] + carry
        out[t] = carry
        carry = np.where(dones[t], 0.0, carry)
    return out


def rtg_whole_episode(rewards, dones):
    return returns.trajectory_returns(rewards, dones, 1.0)


def discounted_gamma_t(rewards, dones, gamma):
    steps = np.arange(len(rewards)).reshape(-1, *[1] * (rewards.ndim - 1))
    return backward(gamma**steps * rewards, 1.0 - dones)


def discounted_no_reset(rewards, dones, gamma):
    return backward(rewards, gamma * np.ones(rewards.shape))


def discounted_no_gamma(rewards, dones, gamma):
    return backward(rewards, 1.0 - dones)


def discounted_first_reward_discounted(rewards, dones, gamma):
    return gamma * backward(rewards, gamma * (1.0 - dones))


def discounted_rows_only(rewards, dones, gamma):
    out, carry = [0.0] * len(rewards), 0.0
    for t in reversed(range(len(rewards))):
        carry = float(rewards[t]) + gamma * (0.0 if dones[t] else carry)
        out[t] = carry
    return out


def discounted_in_place(rewards, dones, gamma):
    for t in reversed(range(len(rewards) - 1)):
        rewards[t] += gamma * (1.0 - dones[t]) * rewards[t + 1]
    return rewards


MISTAKES = [
    ("reward_to_go", rtg_no_reset, "did not reset at the episode end"),
    ("reward_to_go", rtg_off_by_one, "off by one at the episode end"),
    ("reward_to_go", rtg_whole_episode, "whole episode's return"),
    ("discounted_returns", discounted_gamma_t, "gamma ** t' instead of gamma ** (t' - t)"),
    ("discounted_returns", discounted_no_reset, "did not reset at the episode end"),
    ("discounted_returns", discounted_no_gamma, "gamma was ignored"),
    ("discounted_returns", discounted_first_reward_discounted, "first reward is not discounted"),
]


@pytest.mark.parametrize(
    ("name", "fn", "hint"), MISTAKES, ids=[f"{m[0]}-{m[2][:30]}" for m in MISTAKES]
)
def test_checker_names_typical_mistake(name, fn, hint, capsys):
    assert_names_mistake(name, fn, hint, capsys)


def test_each_exercise_has_at_least_two_named_mistakes():
    for name in ("reward_to_go", "discounted_returns"):
        assert sum(m[0] == name for m in MISTAKES) >= 2


def test_smallest_failing_case_is_shown_and_batch_hint_given(capsys):
    result, out = run("discounted_returns", discounted_rows_only, capsys)
    assert result is False
    assert "(T, N) = (5, 2)" in out  # every (T,) case passed; the smallest batch failed
    assert "work on a whole row of N" in out


def test_first_failure_is_the_smallest_case(capsys):
    result, out = run("reward_to_go", rtg_no_reset, capsys)
    assert result is False
    assert "T = 4, episode ends at t = 1\n" in out


def test_inputs_changed_in_place_do_not_spoil_later_cases(capsys):
    result, _ = run("discounted_returns", discounted_in_place, capsys)
    assert result is True


def test_an_extra_axis_fails(capsys):
    fn = lambda r, d, g: returns.discounted_returns(r, d, g)[..., None]  # noqa: E731
    result, out = run("discounted_returns", fn, capsys)
    assert result is False
    assert "shape" in out
