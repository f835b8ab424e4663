"""Tests for pgkit.returns: plain loop references, identities between estimators, analytic
cases and every error path.

pgkit.td.td_errors is tested here too: it follows the same array conventions, and GAE with
lam = 0 is the TD error, so the shared tables below cover it with the returns."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pgkit.returns import (
    discounted_returns,
    gae,
    lambda_returns,
    n_step_returns,
    normalize_advantages,
    trajectory_returns,
)
from pgkit.td import td_errors

TOL = {"rtol": 1e-9, "atol": 1e-9}

# ---------------------------------------------------------------------------------------------
# Plain references: one environment, one episode at a time, written as loops.


def episode_pieces(dones):
    """(start, end) of each episode piece, end inclusive; the end of the data closes the last."""
    pieces, start = [], 0
    for t in range(len(dones)):
        if dones[t] or t == len(dones) - 1:
            pieces.append((start, t))
            start = t + 1
    return pieces


def ref_discounted_returns(rewards, dones, gamma):
    returns = np.zeros(len(rewards))
    for start, end in episode_pieces(dones):
        g = 0.0
        for t in range(end, start - 1, -1):
            g = rewards[t] + gamma * g
            returns[t] = g
    return returns


def ref_trajectory_returns(rewards, dones, gamma):
    returns = np.zeros(len(rewards))
    for start, end in episode_pieces(dones):
        returns[start : end + 1] = sum(
            gamma**k * rewards[start + k] for k in range(end - start + 1)
        )
    return returns


def ref_td_errors(rewards, values, next_values, terminated, gamma):
    deltas = np.zeros(len(rewards))
    for t in range(len(rewards)):
        future = 0.0 if terminated[t] else next_values[t]
        deltas[t] = rewards[t] + gamma * future - values[t]
    return deltas


def ref_n_step_returns(rewards, next_values, terminated, truncated, gamma, n):
    T = len(rewards)
    returns = np.zeros(T)
    for t in range(T):
        g, discount = 0.0, 1.0
        for k in range(t, T):
            g += discount * rewards[k]
            discount *= gamma
            if terminated[k]:
                break
            if truncated[k] or k == T - 1 or k - t + 1 == n:
                g += discount * next_values[k]
                break
        returns[t] = g
    return returns


def ref_gae(rewards, values, next_values, terminated, truncated, gamma, lam):
    advantages = np.zeros(len(rewards))
    dones = [a or b for a, b in zip(terminated, truncated, strict=True)]
    for start, end in episode_pieces(dones):
        a = 0.0
        for t in range(end, start - 1, -1):
            future = 0.0 if terminated[t] else next_values[t]
            a = rewards[t] + gamma * future - values[t] + gamma * lam * a
            advantages[t] = a
    return advantages


def per_column(ref, *arrays, **params):
    """Apply a 1-D reference to each environment's column."""
    if arrays[0].ndim == 1:
        return ref(*arrays, **params)
    columns = [ref(*(a[:, j] for a in arrays), **params) for j in range(arrays[0].shape[1])]
    return np.stack(columns, axis=1)


def random_batch(rng, shape, consistent=False):
    """Random rewards/values with episode ends of both kinds (sometimes both flags at once)."""
    batch = {
        "rewards": rng.normal(size=shape),
        "values": rng.normal(size=shape),
        "next_values": rng.normal(size=shape),
        "terminated": rng.random(shape) < 0.1,
        "truncated": rng.random(shape) < 0.1,
    }
    if consistent:
        make_consistent(batch)
    return batch


def make_consistent(batch):
    """next_values[t] = values[t+1] inside episodes; across an episode end it stays arbitrary."""
    done = batch["terminated"] | batch["truncated"]
    nv = batch["next_values"]
    nv[:-1] = np.where(done[:-1], nv[:-1], batch["values"][1:])


# Each public function called on a batch dict, so a test can run them all alike.
CALLS = {
    "discounted_returns": lambda b, gamma, lam, n: discounted_returns(
        rewards=b["rewards"], dones=b["terminated"] | b["truncated"], gamma=gamma
    ),
    "trajectory_returns": lambda b, gamma, lam, n: trajectory_returns(
        rewards=b["rewards"], dones=b["terminated"] | b["truncated"], gamma=gamma
    ),
    "td_errors": lambda b, gamma, lam, n: td_errors(
        rewards=b["rewards"],
        values=b["values"],
        next_values=b["next_values"],
        terminated=b["terminated"],
        gamma=gamma,
    ),
    "n_step_returns": lambda b, gamma, lam, n: n_step_returns(
        rewards=b["rewards"],
        next_values=b["next_values"],
        terminated=b["terminated"],
        truncated=b["truncated"],
        gamma=gamma,
        n=n,
    ),
    "gae": lambda b, gamma, lam, n: gae(
        rewards=b["rewards"],
        values=b["values"],
        next_values=b["next_values"],
        terminated=b["terminated"],
        truncated=b["truncated"],
        gamma=gamma,
        lam=lam,
    ),
    "lambda_returns": lambda b, gamma, lam, n: lambda_returns(
        rewards=b["rewards"],
        values=b["values"],
        next_values=b["next_values"],
        terminated=b["terminated"],
        truncated=b["truncated"],
        gamma=gamma,
        lam=lam,
    ),
}


def reference(name, b, gamma, lam, n):
    r, v, nv, term, trunc = (
        b[k] for k in ("rewards", "values", "next_values", "terminated", "truncated")
    )
    dones = term | trunc
    if name == "discounted_returns":
        return per_column(ref_discounted_returns, r, dones, gamma=gamma)
    if name == "trajectory_returns":
        return per_column(ref_trajectory_returns, r, dones, gamma=gamma)
    if name == "td_errors":
        return per_column(ref_td_errors, r, v, nv, term, gamma=gamma)
    if name == "n_step_returns":
        return per_column(ref_n_step_returns, r, nv, term, trunc, gamma=gamma, n=n)
    advantages = per_column(ref_gae, r, v, nv, term, trunc, gamma=gamma, lam=lam)
    return advantages if name == "gae" else advantages + v


# ---------------------------------------------------------------------------------------------
# Against the loop references on random data.


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize("shape", [(1,), (2,), (60,), (1, 3), (45, 4)])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_loop_reference(name, shape, seed):
    rng = np.random.default_rng(seed)
    b = random_batch(rng, shape)
    gamma, lam, n = rng.uniform(0.5, 1.0), rng.uniform(0.0, 1.0), int(rng.integers(1, 8))
    out = CALLS[name](b, gamma, lam, n)
    assert isinstance(out, np.ndarray) and out.shape == shape and out.dtype == np.float64
    np.testing.assert_allclose(out, reference(name, b, gamma, lam, n), **TOL)


@pytest.mark.parametrize("gamma", [0.0, 1.0])
@pytest.mark.parametrize("name", CALLS)
def test_matches_loop_reference_at_gamma_edges(name, gamma):
    b = random_batch(np.random.default_rng(2), (30, 2))
    out = CALLS[name](b, gamma, 0.9, 4)
    np.testing.assert_allclose(out, reference(name, b, gamma, 0.9, 4), **TOL)


def test_discounted_and_trajectory_returns_by_hand():
    rewards, dones = [1.0, 2.0, 3.0, 4.0], [False, True, False, False]
    np.testing.assert_allclose(discounted_returns(rewards, dones, gamma=0.5), [2.0, 2.0, 5.0, 4.0])
    np.testing.assert_allclose(trajectory_returns(rewards, dones, gamma=0.5), [2.0, 2.0, 5.0, 5.0])
    np.testing.assert_allclose(trajectory_returns(rewards, dones), [3.0, 3.0, 7.0, 7.0])


def test_n_step_returns_by_hand():
    # 1 + 0.5 + 0.25 * 10 = 4; the last row bootstraps after one step: 1 + 0.5 * 10 = 6.
    out = n_step_returns(np.ones(5), np.full(5, 10.0), [0] * 5, [0] * 5, gamma=0.5, n=2)
    np.testing.assert_allclose(out, [4.0, 4.0, 4.0, 4.0, 6.0])


# ---------------------------------------------------------------------------------------------
# Identities (hypothesis).

finite = st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False)
unit = st.floats(0.0, 1.0)


@st.composite
def batches(draw, consistent=False, min_T=1):
    T = draw(st.integers(min_T, 25))
    shape = draw(st.sampled_from([(T,), (T, 1), (T, 3)]))
    b = {
        k: draw(hnp.arrays(np.float64, shape, elements=finite))
        for k in ("rewards", "values", "next_values")
    }
    for k in ("terminated", "truncated"):
        b[k] = draw(hnp.arrays(bool, shape, elements=st.booleans()))
    if consistent:
        make_consistent(b)
    return b


@settings(max_examples=60, deadline=None)
@given(b=batches(), gamma=unit)
def test_gae_with_lam_zero_is_td_errors(b, gamma):
    advantages = CALLS["gae"](b, gamma, 0.0, 1)
    np.testing.assert_allclose(advantages, CALLS["td_errors"](b, gamma, 0.0, 1), **TOL)


@settings(max_examples=60, deadline=None)
@given(b=batches(consistent=True), gamma=unit)
def test_gae_with_lam_one_is_bootstrapped_monte_carlo_minus_values(b, gamma):
    T = len(b["rewards"])
    mc = per_column(
        ref_n_step_returns,
        b["rewards"],
        b["next_values"],
        b["terminated"],
        b["truncated"],
        gamma=gamma,
        n=T,
    )
    np.testing.assert_allclose(CALLS["gae"](b, gamma, 1.0, 1), mc - b["values"], **TOL)


@settings(max_examples=60, deadline=None)
@given(b=batches(consistent=True), gamma=unit, extra=st.integers(0, 5))
def test_n_step_with_n_at_least_T_is_the_lam_one_lambda_return(b, gamma, extra):
    n = len(b["rewards"]) + extra
    np.testing.assert_allclose(
        CALLS["n_step_returns"](b, gamma, 1.0, n), CALLS["lambda_returns"](b, gamma, 1.0, 1), **TOL
    )


@settings(max_examples=60, deadline=None)
@given(b=batches(consistent=True), gamma=unit, lam=unit)
def test_lambda_return_is_the_lambda_weighted_average_of_n_step_returns(b, gamma, lam):
    # G^lam = (1 - lam) sum_{n<T} lam^{n-1} G^(n) + lam^{T-1} G^(T); G^(n) stops changing at the
    # episode end, so the weights past it add up to the lam^{L-1} of the textbook form.
    r, nv, term, trunc = b["rewards"], b["next_values"], b["terminated"], b["truncated"]
    T = len(r)
    expected = lam ** (T - 1) * per_column(ref_n_step_returns, r, nv, term, trunc, gamma=gamma, n=T)
    for n in range(1, T):
        g_n = per_column(ref_n_step_returns, r, nv, term, trunc, gamma=gamma, n=n)
        expected = expected + (1 - lam) * lam ** (n - 1) * g_n
    np.testing.assert_allclose(
        CALLS["lambda_returns"](b, gamma, lam, 1), expected, rtol=1e-8, atol=1e-8
    )


@settings(max_examples=40, deadline=None)
@given(
    b=batches(min_T=2),
    data=st.data(),
    gamma=unit,
    lam=unit,
    n=st.integers(1, 6),
    end_kind=st.sampled_from(["terminated", "truncated"]),
)
def test_splitting_a_batch_at_an_episode_end_changes_nothing(b, data, gamma, lam, n, end_kind):
    T = len(b["rewards"])
    split = data.draw(st.integers(1, T - 1))
    b[end_kind][split - 1] = True
    first = {k: a[:split] for k, a in b.items()}
    second = {k: a[split:] for k, a in b.items()}
    for name, call in CALLS.items():
        whole = call(b, gamma, lam, n)
        parts = np.concatenate([call(first, gamma, lam, n), call(second, gamma, lam, n)])
        np.testing.assert_allclose(whole, parts, err_msg=name, **TOL)


@settings(max_examples=40, deadline=None)
@given(b=batches(), gamma=unit, lam=unit, n=st.integers(1, 30))
def test_a_T_by_N_call_equals_N_single_environment_calls(b, gamma, lam, n):
    if b["rewards"].ndim == 1:
        b = {k: np.stack([a, a[::-1]], axis=1) for k, a in b.items()}
    for name, call in CALLS.items():
        columns = [
            call({k: a[:, j] for k, a in b.items()}, gamma, lam, n)
            for j in range(b["rewards"].shape[1])
        ]
        np.testing.assert_array_equal(
            call(b, gamma, lam, n), np.stack(columns, axis=1), err_msg=name
        )


@settings(max_examples=25, deadline=None)
@given(b=batches(), gamma=unit, lam=unit, n=st.integers(1, 30))
def test_torch_in_gives_torch_out_with_the_numpy_values(b, gamma, lam, n):
    for name, call in CALLS.items():
        expected = call(b, gamma, lam, n)
        as64 = call({k: torch.from_numpy(a) for k, a in b.items()}, gamma, lam, n)
        assert isinstance(as64, torch.Tensor) and as64.dtype == torch.float64, name
        np.testing.assert_array_equal(as64.numpy(), expected, err_msg=name)
        b32 = {
            k: torch.from_numpy(a.astype(np.float32) if a.dtype != bool else a)
            for k, a in b.items()
        }
        as32 = call(b32, gamma, lam, n)
        assert as32.dtype == torch.float32 and as32.device == b32["rewards"].device, name
        np.testing.assert_allclose(as32.numpy(), expected, rtol=1e-4, atol=1e-4, err_msg=name)


@settings(max_examples=25, deadline=None)
@given(b=batches(), gamma=unit, lam=unit, n=st.integers(1, 30))
def test_inputs_are_not_mutated(b, gamma, lam, n):
    with_int_flags = {k: a.astype(np.int64) if a.dtype == bool else a for k, a in b.items()}
    as_torch = {k: torch.from_numpy(a.copy()) for k, a in b.items()}
    for batch in (b, with_int_flags, as_torch):
        before = {
            k: a.clone() if isinstance(a, torch.Tensor) else a.copy() for k, a in batch.items()
        }
        for call in CALLS.values():
            call(batch, gamma, lam, n)
        for k, a in batch.items():
            np.testing.assert_array_equal(np.asarray(a), np.asarray(before[k]), err_msg=k)


# ---------------------------------------------------------------------------------------------
# Types and dtypes.


def test_float32_numpy_stays_float32_and_integers_become_float64():
    b = random_batch(np.random.default_rng(3), (10, 2))
    b32 = {k: a.astype(np.float32) if a.dtype != bool else a for k, a in b.items()}
    for name, call in CALLS.items():
        assert call(b32, 0.9, 0.9, 3).dtype == np.float32, name
    assert discounted_returns(np.arange(4), np.zeros(4, bool), gamma=0.5).dtype == np.float64


def test_torch_output_is_detached():
    values = torch.zeros(5, requires_grad=True)
    out = gae(
        torch.ones(5),
        values,
        torch.zeros(5),
        torch.zeros(5, dtype=torch.bool),
        torch.zeros(5),
        0.9,
        0.9,
    )
    assert not out.requires_grad


def test_importing_returns_does_not_import_torch():
    code = "import sys, pgkit.returns; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_td_errors_still_imports_from_returns():
    # kept for one release: the old path gives the function of pgkit.td, documented there only
    import pgkit.returns
    from pgkit.returns import td_errors as old_path

    assert old_path is td_errors
    assert "td_errors" not in pgkit.returns.__all__
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        pgkit.returns.nope  # noqa: B018


def test_normalize_advantages_has_zero_mean_and_unit_std():
    advantages = np.random.default_rng(4).normal(3.0, 5.0, size=(50, 4))
    out = normalize_advantages(advantages)
    assert out.shape == (50, 4)
    np.testing.assert_allclose([out.mean(), out.std()], [0.0, 1.0], atol=1e-7)
    as_torch = normalize_advantages(advantages=torch.from_numpy(advantages).float(), eps=0.0)
    assert as_torch.dtype == torch.float32
    np.testing.assert_allclose(as_torch.numpy(), out, rtol=1e-5, atol=1e-5)


def test_normalize_advantages_of_a_constant_batch_is_zero():
    np.testing.assert_array_equal(normalize_advantages(np.full(6, 2.5)), np.zeros(6))


# ---------------------------------------------------------------------------------------------
# Analytic cases.


@pytest.mark.parametrize("gamma, lam, c", [(0.9, 0.8, 0.0), (0.99, 0.95, 0.5), (1.0, 1.0, 2.0)])
def test_reward_only_on_the_last_step_with_constant_values(gamma, lam, c):
    # delta = gamma c - c before the last step and 1 - c on it (terminal), so
    # A_t = (gamma - 1) c sum_{k=0}^{T-2-t} (gamma lam)^k + (gamma lam)^{T-1-t} (1 - c).
    T = 6
    rewards = np.zeros(T)
    rewards[-1] = 1.0
    terminated = np.zeros(T, bool)
    terminated[-1] = True
    values = np.full(T, c)
    advantages = gae(rewards, values, values, terminated, np.zeros(T, bool), gamma, lam)
    gl = gamma * lam
    for t in range(T):
        expected = (gamma - 1) * c * sum(gl**k for k in range(T - 1 - t)) + gl ** (T - 1 - t) * (
            1 - c
        )
        assert advantages[t] == pytest.approx(expected, abs=1e-12)
    assert advantages[-1] == pytest.approx(1 - c)


def test_time_limit_bootstrapping_recovers_the_value_of_a_never_ending_task():
    # Reward 1 forever, cut by a time limit every 20 steps: the true value is 1 / (1 - gamma) = 100.
    # Repeatedly fitting a constant V to its own targets converges there only if the time-outs
    # are bootstrapped; treating them as terminal stays far below.
    gamma, lam, H, T = 0.99, 0.95, 20, 200
    rewards = np.ones(T)
    time_outs = (np.arange(T) % H) == H - 1
    never = np.zeros(T, bool)
    v_boot, v_lambda_terminal, v_n_step = 0.0, 0.0, 0.0
    for _ in range(400):
        v = np.full(T, v_boot)
        v_boot = lambda_returns(rewards, v, v, never, time_outs, gamma, lam).mean()
        v = np.full(T, v_n_step)
        v_n_step = n_step_returns(rewards, v, never, time_outs, gamma, n=5).mean()
        v = np.full(T, v_lambda_terminal)
        v_lambda_terminal = lambda_returns(rewards, v, v, time_outs, never, gamma, lam).mean()
    assert v_boot == pytest.approx(1 / (1 - gamma), rel=1e-6)
    assert v_n_step == pytest.approx(1 / (1 - gamma), rel=1e-6)
    assert v_lambda_terminal < 0.2 / (1 - gamma)
    assert discounted_returns(rewards, time_outs, gamma).mean() < 0.2 / (1 - gamma)


# ---------------------------------------------------------------------------------------------
# Error paths: one test each.

T5 = np.zeros(5)
F5 = np.zeros(5, bool)


def test_shape_mismatch_names_both_arguments_and_shapes():
    with pytest.raises(ValueError, match=r"rewards \(5,\).*values \(5, 1\)"):
        gae(T5, np.zeros((5, 1)), T5, F5, F5, gamma=0.9, lam=0.9)


def test_flag_shape_mismatch_names_the_flag():
    with pytest.raises(ValueError, match=r"rewards \(5,\).*terminated \(4,\)"):
        td_errors(T5, T5, T5, np.zeros(4, bool), gamma=0.9)


@pytest.mark.parametrize("gamma", [float("nan"), 1.5, -0.1])
def test_gamma_nan_or_outside_the_unit_interval(gamma):
    with pytest.raises(ValueError, match="gamma"):
        discounted_returns(T5, F5, gamma=gamma)


def test_gamma_that_is_not_a_number():
    with pytest.raises(TypeError, match="gamma"):
        n_step_returns(T5, T5, F5, F5, gamma="0.99", n=1)


@pytest.mark.parametrize("fn", [gae, lambda_returns])
@pytest.mark.parametrize("lam", [float("nan"), 1.01, -1.0])
def test_lam_nan_or_outside_the_unit_interval(fn, lam):
    with pytest.raises(ValueError, match="lam"):
        fn(T5, T5, T5, F5, F5, gamma=0.9, lam=lam)


def test_non_finite_reward_reports_its_index():
    rewards = np.zeros((5, 2))
    rewards[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"rewards .*index \(3, 1\)"):
        trajectory_returns(rewards, np.zeros((5, 2), bool))


def test_non_finite_value_reports_its_index():
    values = T5.copy()
    values[2] = np.inf
    with pytest.raises(ValueError, match="values .*index 2"):
        lambda_returns(T5, values, T5, F5, F5, gamma=0.9, lam=0.9)


def test_non_finite_next_value_reports_its_index():
    next_values = T5.copy()
    next_values[4] = -np.inf
    with pytest.raises(ValueError, match="next_values .*index 4"):
        n_step_returns(T5, next_values, F5, F5, gamma=0.9, n=2)


@pytest.mark.parametrize("flags", [np.array([0, 1, 2, 0, 0]), np.full(5, 0.5)])
def test_flags_other_than_bool_or_zero_one(flags):
    with pytest.raises(ValueError, match="truncated"):
        gae(T5, T5, T5, F5, flags, gamma=0.9, lam=0.9)


def test_zero_one_flags_are_accepted():
    as_ints = discounted_returns(np.ones(3), [0, 1, 0], gamma=1.0)
    np.testing.assert_array_equal(
        as_ints, discounted_returns(np.ones(3), [False, True, False], gamma=1.0)
    )


@pytest.mark.parametrize("n", [0, -3])
def test_n_below_one(n):
    with pytest.raises(ValueError, match="n must be >= 1"):
        n_step_returns(T5, T5, F5, F5, gamma=0.9, n=n)


@pytest.mark.parametrize("n", [2.0, True])
def test_n_that_is_not_an_int(n):
    with pytest.raises(TypeError, match="n must be a positive integer"):
        n_step_returns(T5, T5, F5, F5, gamma=0.9, n=n)


def test_three_dimensional_input():
    with pytest.raises(ValueError, match=r"rewards must be time-major .*\(5, 2, 1\)"):
        discounted_returns(np.zeros((5, 2, 1)), np.zeros((5, 2, 1), bool), gamma=0.9)


def test_empty_input():
    with pytest.raises(ValueError, match="rewards is empty"):
        discounted_returns(np.zeros(0), np.zeros(0, bool), gamma=0.9)


def test_non_numeric_input():
    with pytest.raises(TypeError, match="values must hold numbers"):
        td_errors(T5, np.array(["a"] * 5), T5, F5, gamma=0.9)


@pytest.mark.parametrize("eps", [-1e-8, float("nan")])
def test_normalize_advantages_rejects_a_bad_eps(eps):
    with pytest.raises(ValueError, match="eps"):
        normalize_advantages(T5, eps=eps)


def test_normalize_advantages_rejects_a_non_number_eps():
    with pytest.raises(TypeError, match="eps"):
        normalize_advantages(T5, eps="small")


def test_swapped_flags_and_values_are_refused():
    rewards = np.ones(3)
    flags = np.array([False, False, True])
    with pytest.raises(TypeError, match="values must hold numbers, got booleans"):
        td_errors(rewards, flags, flags, flags, gamma=0.9)


def test_complex_rewards_are_refused():
    with pytest.raises(TypeError, match="rewards must hold real numbers"):
        discounted_returns(np.ones(3) + 1j, np.zeros(3, bool), 0.9)


def test_normalize_advantages_of_a_constant_batch_with_eps_0_is_zero():
    out = normalize_advantages(np.full(4, 3.0), eps=0.0)
    np.testing.assert_array_equal(out, np.zeros(4))
