"""Chapter 5's checkers (pgkit/exercises/ch05_variance_reduction.py): reward-to-go and
discounted returns, with the mistakes a reader makes at episode ends and with gamma; the optimal
baseline and the size of the gamma^t bias, with the mistakes a reader makes deriving them."""

import numpy as np
import pytest
from exercise_helpers import (
    assert_names_mistake,
    backward,
    correct_gamma_bias,
    correct_optimal_baseline,
    run,
)

from pgkit import exercises, returns, tabular


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


def _score_weights(probs, power):
    return probs * (((np.eye(len(probs)) - probs) ** 2).sum(axis=1)) ** power


def baseline_unsquared(probs, rewards):
    weights = _score_weights(probs, 0.5)
    return weights @ rewards / weights.sum()


def baseline_own_coordinate(probs, rewards):
    weights = probs * (1.0 - probs) ** 2
    return weights @ rewards / weights.sum()


def baseline_without_pi(probs, rewards):
    weights = _score_weights(probs, 1.0) / probs
    return weights @ rewards / weights.sum()


def gamma_bias_reversed(theta, gamma, termination):
    return -correct_gamma_bias(theta, gamma, termination)


def gamma_bias_zero(theta, gamma, termination):
    return np.zeros((2, 2))


def gamma_bias_undiscounted_advantage(theta, gamma, termination):
    mdp, undiscounted = (tabular.two_state_mdp(g, termination) for g in (gamma, 1.0))
    return tabular.gradient(undiscounted, theta) - tabular.gradient(mdp, theta)


def gamma_bias_without_pi(theta, gamma, termination):
    return correct_gamma_bias(theta, gamma, termination) / tabular.policy(
        tabular.two_state_mdp(gamma, termination), theta
    )


def g_gamma_itself(theta, gamma, termination):
    mdp = tabular.two_state_mdp(gamma, termination)
    return correct_gamma_bias(theta, gamma, termination) + tabular.gradient(mdp, theta)


DERIVATION_MISTAKES = [
    ("optimal_baseline", lambda probs, rewards: probs @ rewards, "average reward E[r]"),
    ("optimal_baseline", baseline_unsquared, "SQUARED length of the score"),
    ("optimal_baseline", baseline_own_coordinate, "not (1 - pi_a)^2 alone"),
    ("optimal_baseline", baseline_without_pi, "weight each action's term by pi_a"),
    ("optimal_baseline", lambda probs, rewards: rewards.mean(), "plain mean of the rewards"),
    ("gamma_bias", gamma_bias_reversed, "the sign is reversed"),
    ("gamma_bias", gamma_bias_zero, "your gap is zero"),
    ("gamma_bias", gamma_bias_undiscounted_advantage, "keeps the DISCOUNTED advantage"),
    ("gamma_bias", gamma_bias_without_pi, "the factor pi(a | s) is missing"),
    ("gamma_bias", g_gamma_itself, "that is g^gamma itself"),
]


@pytest.mark.parametrize(
    ("name", "fn", "hint"),
    DERIVATION_MISTAKES,
    ids=[f"{m[0]}-{m[2][:30]}" for m in DERIVATION_MISTAKES],
)
def test_derivation_checker_names_typical_mistake(name, fn, hint, capsys):
    assert_names_mistake(name, fn, hint, capsys)


@pytest.mark.parametrize("name", ["optimal_baseline", "gamma_bias"])
def test_derivation_checkers_refuse_what_is_not_a_function(name, capsys):
    assert getattr(exercises, f"check_{name}")(3.0) is False
    assert "expected your function, got float" in capsys.readouterr().out


def test_a_baseline_of_the_wrong_shape_fails(capsys):
    result, out = run("optimal_baseline", lambda p, r: np.full(len(p), 1.0), capsys)
    assert result is False
    assert "your function returned shape" in out and "return one number, b*" in out


def test_a_gap_of_the_wrong_shape_fails(capsys):
    result, out = run("gamma_bias", lambda theta, g, t: correct_gamma_bias(theta, g, t)[0], capsys)
    assert result is False
    assert "shape (2, 2), like theta" in out


def test_the_optimal_baseline_minimises_the_exact_variance():
    probs = np.array([0.6, 0.3, 0.1])
    rewards = np.array([1.0, -2.0, 4.0])
    scores = np.eye(3) - probs
    squared = (scores**2).sum(axis=1)

    def second_moment(b):
        return probs @ ((rewards - b) ** 2 * squared)

    b_star = correct_optimal_baseline(probs, rewards)
    grid = np.linspace(-5.0, 5.0, 2001)
    assert all(second_moment(b_star) <= second_moment(b) for b in grid)


def test_the_gamma_bias_is_the_mean_of_the_estimator_without_gamma_t():
    """Sampled sum_t score_t A(s_t, a_t) agrees with g^gamma (|z| < 4 per coordinate)
    and not with grad J_gamma, on the two-state MDP."""
    theta, gamma, termination = np.array([[0.3, -0.2], [0.0, 0.5]]), 0.9, 0.1
    mdp = tabular.two_state_mdp(gamma, termination)
    episodes = tabular.sample_episodes(mdp, theta, episodes=20000, max_length=400, seed=5)
    advantages = tabular.q_values(mdp, theta) - tabular.values(mdp, theta)[:, None]
    weights = advantages[episodes.states, episodes.actions] * episodes.mask
    scores = tabular.scores(mdp, theta, episodes.states, episodes.actions)
    per_episode = (weights[..., None, None] * scores).sum(axis=0).reshape(20000, -1)
    mean = per_episode.mean(axis=0)
    stderr = per_episode.std(axis=0, ddof=1) / np.sqrt(20000)
    exact = tabular.gradient(mdp, theta).ravel()
    g_gamma = exact + correct_gamma_bias(theta, gamma, termination).ravel()
    assert np.abs((mean - g_gamma) / stderr).max() < 4
    assert np.abs((mean - exact) / stderr).max() > 8
