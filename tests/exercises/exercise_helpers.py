"""What the exercise tests share: running a checker, and loops written as a reader would."""

from __future__ import annotations

import sys

import numpy as np
import torch

from pgkit.exercises import EXERCISES


def run(name, fn, capsys):
    """(result, printed text) of the checker for exercise ``name``."""
    capsys.readouterr()
    result = EXERCISES[name].checker(fn)
    return result, capsys.readouterr().out


def correct_bandit_gradient(theta, actions, rewards):
    pi = np.exp(theta - theta.max())
    pi /= pi.sum()
    return (rewards[:, None] * (np.eye(len(theta))[actions] - pi)).mean(axis=0)


def correct_gaussian(actions, mu, log_std):
    normal = torch.distributions.Normal(mu, log_std.exp())
    return torch.distributions.Independent(normal, 1).log_prob(actions)


def correct_optimal_baseline(probs, rewards):
    weights = probs * ((np.eye(len(probs)) - probs) ** 2).sum(axis=1)
    return weights @ rewards / weights.sum()


def correct_gamma_bias(theta, gamma, termination):
    """(eta - d_gamma)(s) pi(a | s) A(s, a), by 2 x 2 solves as a reader would."""
    pi = np.exp(theta - theta.max(axis=1, keepdims=True))
    pi /= pi.sum(axis=1, keepdims=True)
    rewards, keep, start = np.array([[1.0, 0.0], [0.0, 2.0]]), 1.0 - termination, np.eye(2)[0]
    steps = keep * pi  # action a leads to state a
    v = np.linalg.solve(np.eye(2) - gamma * steps, (pi * rewards).sum(axis=1))
    advantages = rewards + gamma * keep * v[None, :] - v[:, None]
    d = np.linalg.solve((np.eye(2) - gamma * steps).T, start)
    eta = np.linalg.solve((np.eye(2) - steps).T, start)
    return (eta - d)[:, None] * pi * advantages


def correct_performance_difference(
    advantages, old_probs, new_probs, old_visitation, new_visitation, gamma
):
    return new_visitation @ (new_probs * advantages).sum(axis=1) / (1.0 - gamma)


def correct_gaussian_fisher(features, log_std):
    batch, k = features.shape
    fisher = np.zeros((k + 1, k + 1))
    fisher[:k, :k] = features.T @ features / (batch * np.exp(2.0 * log_std))
    fisher[k, k] = 2.0
    return fisher


# The exercises that pgkit has no function of the same signature for, solved here.
SOLVED_HERE = {
    "bandit_gradient": correct_bandit_gradient,
    "gaussian_log_likelihood": correct_gaussian,
    "optimal_baseline": correct_optimal_baseline,
    "gamma_bias": correct_gamma_bias,
    "performance_difference": correct_performance_difference,
    "gaussian_fisher": correct_gaussian_fisher,
}


def reference(name):
    """A correct answer to exercise ``name``: pgkit's function, from its chapter module's
    REFERENCE, where pgkit has one."""
    chapter = sys.modules[EXERCISES[name].checker.__module__]
    return chapter.REFERENCE.get(name) or SOLVED_HERE[name]


def nearly(fn):
    """A wrong answer close to ``fn``'s: the mean shifted, or every value scaled by 1.5."""

    def wrong(*args):
        answer = fn(*args)
        if isinstance(answer, tuple):
            return answer[0] + 0.5, answer[1]
        if isinstance(answer, torch.Tensor):
            return answer * 1.5
        return np.asarray(answer) * 1.5

    return wrong


def backward(x, coef):
    """y_t = x_t + coef_t y_{t+1}, y_T = 0, as a reader's loop."""
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


def assert_names_mistake(name, fn, hint, capsys):
    with np.errstate(all="ignore"):
        result, out = run(name, fn, capsys)
    assert result is False
    assert "Smallest failing case" in out
    assert hint in out, out
