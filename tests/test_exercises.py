"""Tests for pgkit.exercises: the checkers accept pgkit's own answers and explain typical mistakes."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from pgkit import estimators, exercises, losses, objective, returns
from pgkit.exercises import EXERCISES

# ------------------------------------------------------------------ correct solutions


def correct_bandit_gradient(theta, actions, rewards):
    pi = np.exp(theta - theta.max())
    pi /= pi.sum()
    return (rewards[:, None] * (np.eye(len(theta))[actions] - pi)).mean(axis=0)


def correct_gaussian(actions, mu, log_std):
    normal = torch.distributions.Normal(mu, log_std.exp())
    return torch.distributions.Independent(normal, 1).log_prob(actions)


CORRECT = {
    "mc_estimate": objective.mc_estimate,
    "bandit_gradient": correct_bandit_gradient,
    "surrogate_loss": estimators.surrogate_loss,
    "gaussian_log_likelihood": correct_gaussian,
    "reward_to_go": lambda rewards, dones: returns.discounted_returns(rewards, dones, 1.0),
    "discounted_returns": returns.discounted_returns,
    "n_step_returns": returns.n_step_returns,
    "gae": returns.gae,
    "importance_weights": estimators.trajectory_importance_weights,
    "ppo_clip_loss": losses.ppo_clip_loss,
}


def run(name, fn, capsys):
    """(result, printed text) of the checker for exercise ``name``."""
    capsys.readouterr()
    result = EXERCISES[name].checker(fn)
    return result, capsys.readouterr().out


# ------------------------------------------------------------------ typical mistakes
# Written as a reader would, in plain numpy/torch, handling (T,) and (T, N) alike.


def backward(x, coef):
    out, carry = np.zeros(x.shape), np.zeros(x.shape[1:])
    for t in reversed(range(len(x))):
        carry = x[t] + coef[t] * carry
        out[t] = carry
    return out


def per_column(fn):
    """Apply a 1-D reader function to each column of (T, N) inputs."""

    def wrapped(*args):
        arrays = [a for a in args if isinstance(a, np.ndarray)]
        if arrays[0].ndim == 1:
            return fn(*args)
        columns = []
        for j in range(arrays[0].shape[1]):
            columns.append(fn(*(a[:, j] if isinstance(a, np.ndarray) else a for a in args)))
        return np.stack(columns, axis=1)

    return wrapped


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


def make_n_step(*, boot_terminated=False, boot_truncated=True, stop=True, fixed_power=False):
    @per_column
    def n_step(rewards, next_values, terminated, truncated, gamma, n):
        horizon, out = len(rewards), np.zeros(len(rewards))
        for t in range(horizon):
            total, m = 0.0, 0
            for k in range(t, min(t + n, horizon)):
                total += gamma**m * rewards[k]
                m += 1
                if stop and (terminated[k] or truncated[k]):
                    boot = boot_terminated if terminated[k] else boot_truncated
                    total += gamma ** (n if fixed_power else m) * next_values[k] * boot
                    break
            else:
                total += gamma ** (n if fixed_power else m) * next_values[k]
            out[t] = total
        return out

    return n_step


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


def weights_naive(log_probs, old_log_probs, dones):
    ratios = np.exp(log_probs - old_log_probs)
    out, carry = np.zeros(ratios.shape), np.ones(ratios.shape[1:])
    for t in range(len(ratios)):
        carry = carry * ratios[t]
        out[t] = carry
        carry = np.where(dones[t], 1.0, carry)
    return out


def weights_no_reset(log_probs, old_log_probs, dones):
    return np.exp(np.cumsum(log_probs - old_log_probs, axis=0))


def weights_per_step(log_probs, old_log_probs, dones):
    return np.exp(log_probs - old_log_probs)


def weights_inverted(log_probs, old_log_probs, dones):
    return 1.0 / estimators.trajectory_importance_weights(log_probs, old_log_probs, dones)


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


LOG_2PI = math.log(2 * math.pi)

MISTAKES = [
    ("mc_estimate", lambda x: (x.mean(), x.std() / np.sqrt(len(x))), "ddof=0"),
    ("mc_estimate", lambda x: (x.mean(), x.var(ddof=1) / len(x)), "forgot the square root"),
    ("mc_estimate", lambda x: (x.mean(), x.std(ddof=1)), "forgot to divide by sqrt(N)"),
    ("mc_estimate", lambda x: (x.mean(), x.std(ddof=1) / len(x)), "divided s by N"),
    (
        "bandit_gradient",
        lambda theta, a, r: (r[:, None] * np.eye(len(theta))[a]).mean(axis=0),
        "the - pi term is missing",
    ),
    (
        "bandit_gradient",
        lambda theta, a, r: correct_bandit_gradient(theta, a, r) * len(r),
        "summed over the samples",
    ),
    (
        "bandit_gradient",
        lambda theta, a, r: -correct_bandit_gradient(theta, a, r),
        "sign is flipped",
    ),
    ("surrogate_loss", lambda lp, w: -(lp * w).mean(), "weights must be treated as constants"),
    ("surrogate_loss", lambda lp, w: (lp * w.detach()).mean(), "sign of the loss"),
    ("surrogate_loss", lambda lp, w: -(lp * w.detach()).sum(), "sum instead of mean"),
    ("surrogate_loss", lambda lp, w: -(lp * w.detach()).mean().item(), "return a torch tensor"),
    (
        "surrogate_loss",
        lambda lp, w: -(lp.detach() * w.detach()).mean(),
        "does not depend on log_probs",
    ),
    (
        "gaussian_log_likelihood",
        lambda a, mu, ls: (-0.5 * ((a - mu) / ls.exp()) ** 2 - ls).sum(-1),
        "missing the -0.5 log(2 pi) constant",
    ),
    (
        "gaussian_log_likelihood",
        lambda a, mu, ls: (-0.5 * (a - mu) ** 2 / ls.exp() - ls - 0.5 * LOG_2PI).sum(-1),
        "sigma vs sigma^2",
    ),
    (
        "gaussian_log_likelihood",
        lambda a, mu, ls: -0.5 * ((a - mu) / ls.exp()) ** 2 - ls - 0.5 * LOG_2PI,
        "forgot to sum over action dimensions",
    ),
    (
        "gaussian_log_likelihood",
        lambda a, mu, ls: (-0.5 * ((a - mu) / ls) ** 2 - ls.log() - 0.5 * LOG_2PI).sum(-1),
        "used log_std as the standard deviation",
    ),
    ("reward_to_go", rtg_no_reset, "did not reset at the episode end"),
    ("reward_to_go", rtg_off_by_one, "off by one at the episode end"),
    ("reward_to_go", rtg_whole_episode, "whole episode's return"),
    ("discounted_returns", discounted_gamma_t, "gamma ** t' instead of gamma ** (t' - t)"),
    ("discounted_returns", discounted_no_reset, "did not reset at the episode end"),
    ("discounted_returns", discounted_no_gamma, "gamma was ignored"),
    ("discounted_returns", discounted_first_reward_discounted, "first reward is not discounted"),
    ("n_step_returns", make_n_step(boot_terminated=True), "terminated steps must not bootstrap"),
    (
        "n_step_returns",
        make_n_step(boot_truncated=False),
        "truncated steps must be bootstrapped with next_values",
    ),
    ("n_step_returns", make_n_step(stop=False), "did not stop at the episode end"),
    ("n_step_returns", make_n_step(fixed_power=True), "bootstrap with gamma ** m"),
    ("gae", make_gae(lam_in_recursion=False), "did you forget lam in the recursion?"),
    ("gae", make_gae(boot_terminated=True), "terminated steps must not bootstrap"),
    ("gae", make_gae(boot_truncated=False), "truncated steps must be bootstrapped"),
    ("gae", gae_values_shifted, "use next_values[t]"),
    ("gae", lambda_returns_instead, "lambda-returns"),
    ("importance_weights", weights_naive, "did not use log space"),
    ("importance_weights", weights_no_reset, "did not reset at the episode end"),
    ("importance_weights", weights_per_step, "per-step ratios"),
    ("importance_weights", weights_inverted, "ratio is inverted"),
    ("ppo_clip_loss", make_ppo_loss(combine="max"), "took max instead of min"),
    (
        "ppo_clip_loss",
        make_ppo_loss(clip_what="advantage"),
        "clipped the advantage instead of the ratio",
    ),
    ("ppo_clip_loss", make_ppo_loss(sign=1.0), "forgot the minus sign"),
    ("ppo_clip_loss", make_ppo_loss(detach=False), "must be a constant"),
]


# ------------------------------------------------------------------ tests


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_checker_accepts_pgkit_answer(name, capsys):
    result, out = run(name, CORRECT[name], capsys)
    assert result is True
    assert "cases passed" in out and "Smallest failing" not in out
    assert len(out.splitlines()) <= 3


@pytest.mark.parametrize(
    ("name", "fn", "hint"), MISTAKES, ids=[f"{m[0]}-{m[2][:30]}" for m in MISTAKES]
)
def test_checker_names_typical_mistake(name, fn, hint, capsys):
    with np.errstate(all="ignore"):
        result, out = run(name, fn, capsys)
    assert result is False
    assert "Smallest failing case" in out
    assert hint in out, out


def test_every_checker_has_at_least_two_named_mistakes():
    counts = {name: sum(m[0] == name for m in MISTAKES) for name in EXERCISES}
    assert min(counts.values()) >= 2, counts


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_raising_function_is_reported_not_propagated(name, capsys):
    def broken(*args):
        raise RuntimeError("not written yet")

    result, out = run(name, broken, capsys)
    assert result is False
    assert "raised RuntimeError: not written yet" in out
    assert "Traceback" not in out


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_type_error_shows_expected_signature(name, capsys):
    result, out = run(name, lambda a, b, c, d, e, f, g, h: a, capsys)
    assert result is False
    assert "raised TypeError" in out
    assert f"expected signature: {EXERCISES[name].signature}" in out


@pytest.mark.parametrize(
    ("name", "fn"),
    [
        ("discounted_returns", lambda r, d, g: returns.discounted_returns(r, d, g)[..., None]),
        ("gae", lambda *args: returns.gae(*args).reshape(-1)[:1]),
        ("bandit_gradient", lambda theta, a, r: correct_bandit_gradient(theta, a, r)[:-1]),
        ("gaussian_log_likelihood", lambda a, mu, ls: correct_gaussian(a, mu, ls)[:, None]),
        ("surrogate_loss", lambda lp, w: -(lp * w.detach())),
        ("mc_estimate", lambda x: (x.mean(), x.std(ddof=1), 0.0)),
    ],
)
def test_wrong_shape_fails(name, fn, capsys):
    result, out = run(name, fn, capsys)
    assert result is False
    assert "shape" in out or "a tuple of 3 values" in out


def test_none_points_at_missing_return(capsys):
    result, out = run("reward_to_go", lambda rewards, dones: None, capsys)
    assert result is False
    assert "forget the `return` statement" in out


def test_non_numeric_return_fails(capsys):
    result, out = run("reward_to_go", lambda rewards, dones: "G", capsys)
    assert result is False
    assert "returned a str" in out


def test_not_a_function_fails(capsys):
    assert exercises.check_gae(None) is False
    assert "expected your function" in capsys.readouterr().out


def test_smallest_failing_case_is_shown_and_batch_hint_given(capsys):
    result, out = run("discounted_returns", discounted_rows_only, capsys)
    assert result is False
    assert "(T, N) = (5, 2)" in out  # every (T,) case passed; the smallest batch failed
    assert "work on a whole row of N" in out


def test_first_failure_is_the_smallest_case(capsys):
    result, out = run("reward_to_go", rtg_no_reset, capsys)
    assert result is False
    assert "T = 4, episode ends at t = 1\n" in out


@pytest.mark.parametrize(
    "convert",
    [
        lambda x: x.tolist(),
        lambda x: torch.as_tensor(x),
        lambda x: torch.as_tensor(x, dtype=torch.float32),
    ],
    ids=["list", "tensor64", "tensor32"],
)
def test_lists_and_tensors_are_accepted(convert, capsys):
    result, _ = run("gae", lambda *args: convert(returns.gae(*args)), capsys)
    assert result is True


def test_inputs_changed_in_place_do_not_spoil_later_cases(capsys):
    result, _ = run("discounted_returns", discounted_in_place, capsys)
    assert result is True


def test_flags_arrive_as_booleans_with_a_hint_for_subtraction(capsys):
    def subtracts_bools(rewards, dones):
        return backward(rewards, 1 - torch.as_tensor(dones))

    result, out = run("reward_to_go", subtracts_bools, capsys)
    assert result is False
    assert "flags arrive as booleans" in out


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_output_is_deterministic(name, capsys):
    def nearly(*args):
        answer = CORRECT[name](*args)
        if isinstance(answer, tuple):
            return answer[0] + 0.5, answer[1]
        if isinstance(answer, torch.Tensor):
            return answer * 1.5
        return np.asarray(answer) * 1.5

    first = run(name, nearly, capsys)
    second = run(name, nearly, capsys)
    assert first == second
    assert first[0] is False


def test_registry_lists_every_checker_with_chapter_and_signature():
    checkers = {name for name in exercises.__all__ if name.startswith("check_")}
    assert {e.checker.__name__ for e in EXERCISES.values()} == checkers
    chapters = {name: e.chapter for name, e in EXERCISES.items()}
    assert chapters == {
        "mc_estimate": 1,
        "bandit_gradient": 2,
        "surrogate_loss": 3,
        "gaussian_log_likelihood": 4,
        "reward_to_go": 5,
        "discounted_returns": 5,
        "n_step_returns": 6,
        "gae": 7,
        "importance_weights": 8,
        "ppo_clip_loss": 9,
    }
    for name, exercise in EXERCISES.items():
        assert exercise.name == name
        assert exercise.signature.startswith(f"{name}(")
        assert exercise.description
        assert f"Chapter {exercise.chapter}" in exercise.checker.__doc__
    with pytest.raises(dataclasses.FrozenInstanceError):
        EXERCISES["gae"].chapter = 3


def test_signatures_match_pgkit_argument_names():
    import inspect

    for name, fn in [
        ("discounted_returns", returns.discounted_returns),
        ("n_step_returns", returns.n_step_returns),
        ("gae", returns.gae),
        ("importance_weights", estimators.trajectory_importance_weights),
        ("surrogate_loss", estimators.surrogate_loss),
        ("ppo_clip_loss", losses.ppo_clip_loss),
    ]:
        arguments = ", ".join(inspect.signature(fn).parameters)
        assert EXERCISES[name].signature.startswith(f"{name}({arguments})")
