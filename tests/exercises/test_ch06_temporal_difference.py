"""Chapter 6's checker (pgkit/exercises/ch06_temporal_difference.py): n-step returns and the
mistakes a reader makes with termination, truncation and the bootstrap's power of gamma."""

import numpy as np
import pytest
from exercise_helpers import assert_names_mistake, per_column


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


MISTAKES = [
    (make_n_step(boot_terminated=True), "terminated steps must not bootstrap"),
    (make_n_step(boot_truncated=False), "truncated steps must be bootstrapped with next_values"),
    (make_n_step(stop=False), "did not stop at the episode end"),
    (make_n_step(fixed_power=True), "bootstrap with gamma ** m"),
]


@pytest.mark.parametrize(("fn", "hint"), MISTAKES, ids=[m[1][:30] for m in MISTAKES])
def test_checker_names_typical_mistake(fn, hint, capsys):
    assert_names_mistake("n_step_returns", fn, hint, capsys)


def test_the_reader_loop_without_mistakes_passes(capsys):
    from exercise_helpers import run

    assert run("n_step_returns", make_n_step(), capsys)[0] is True
