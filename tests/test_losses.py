"""Tests for pgkit.losses: analytic values, PPO clipping behaviour, KL estimator, error paths."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pgkit.estimators import surrogate_loss
from pgkit.losses import (
    approx_kl,
    clip_fraction,
    entropy_bonus,
    policy_gradient_loss,
    ppo_clip_loss,
    value_loss,
)

# ---------------------------------------------------------------- analytic values


def test_policy_gradient_loss_is_minus_mean_weighted_log_prob():
    log_probs = torch.tensor([-1.0, -2.0, -0.5])
    weights = torch.tensor([2.0, -1.0, 4.0])
    expected = -(-2.0 + 2.0 - 2.0) / 3
    assert policy_gradient_loss(log_probs, weights).item() == pytest.approx(expected)


def test_policy_gradient_loss_treats_weights_as_constants():
    log_probs = torch.tensor([-1.0, -2.0], requires_grad=True)
    weights = torch.tensor([3.0, 5.0], requires_grad=True)
    policy_gradient_loss(log_probs, weights).backward()
    assert torch.allclose(log_probs.grad, torch.tensor([-1.5, -2.5]))
    assert weights.grad is None


@pytest.mark.parametrize(
    "log_probs, weights",
    [
        (torch.tensor([-1.0, -2.0, -0.5]), torch.tensor([2.0, -1.0, 4.0])),
        (torch.tensor([[-1.0], [-3.0]], dtype=torch.float64), np.array([[1.5], [-0.5]])),
        (np.zeros(3), torch.zeros(3)),
        (torch.zeros(3, dtype=torch.long), torch.zeros(3)),
        (torch.zeros(3), torch.zeros(2)),
        (torch.tensor([0.0, math.nan]), torch.zeros(2)),
        (torch.zeros(2), torch.tensor([math.inf, 0.0])),
        (torch.zeros(0), torch.zeros(0)),
        (torch.full((2,), -3e38), torch.full((2,), 3e38)),
    ],
    ids=["values", "float64-numpy", "numpy", "integer", "shape", "nan", "inf", "empty", "overflow"],
)
def test_policy_gradient_loss_is_surrogate_loss_results_and_errors(log_probs, weights):
    # one equation under two names: the same value, or the same error with the same message
    def outcome(fn):
        try:
            return fn(log_probs, weights).item()
        except (TypeError, ValueError) as e:
            return type(e), str(e)

    assert outcome(policy_gradient_loss) == outcome(surrogate_loss)


def test_value_loss_is_mean_squared_error():
    values = torch.tensor([[1.0, 2.0], [0.0, -1.0]])
    returns = torch.tensor([[0.0, 2.0], [3.0, 1.0]])
    assert value_loss(values, returns).item() == pytest.approx((1 + 0 + 9 + 4) / 4)


def test_value_loss_gradient_flows_to_values_only():
    values = torch.tensor([1.0, 3.0], requires_grad=True)
    returns = torch.tensor([0.0, 0.0], requires_grad=True)
    value_loss(values, returns).backward()
    assert torch.allclose(values.grad, torch.tensor([1.0, 3.0]))  # 2 (V - G) / B
    assert returns.grad is None


def test_ppo_clip_loss_equals_minus_mean_advantage_at_ratio_one():
    advantages = torch.tensor([1.0, -2.0, 0.5])
    log_probs = torch.tensor([-0.3, -1.2, -2.0])
    loss = ppo_clip_loss(log_probs, log_probs.clone(), advantages, clip=0.2)
    assert loss.item() == pytest.approx(-advantages.mean().item())


def test_ppo_clip_loss_hand_computed_values():
    # ratios 1.5, 0.5, 1.1, 0.7 with eps = 0.2
    ratios = torch.tensor([1.5, 0.5, 1.1, 0.7])
    advantages = torch.tensor([2.0, 2.0, -1.0, -1.0])
    old = torch.zeros(4)
    # per sample min(rho A, clip(rho) A): min(3, 2.4)=2.4; min(1, 1.6)=1; min(-1.1,-1.1)=-1.1;
    # min(-0.7, -0.8) = -0.8
    expected = -(2.4 + 1.0 - 1.1 - 0.8) / 4
    assert ppo_clip_loss(ratios.log(), old, advantages, clip=0.2).item() == pytest.approx(expected)


def _ratio_gradient(ratio: float, advantage: float, clip: float = 0.2) -> float:
    log_prob = torch.tensor([math.log(ratio)], requires_grad=True)
    ppo_clip_loss(log_prob, torch.zeros(1), torch.tensor([advantage]), clip=clip).backward()
    return log_prob.grad.item()


@pytest.mark.parametrize("ratio", [1.25, 2.0, 5.0])
def test_ppo_no_gradient_above_clip_for_positive_advantage(ratio):
    assert _ratio_gradient(ratio, 1.0) == 0.0


@pytest.mark.parametrize("ratio", [0.75, 0.5, 0.1])
def test_ppo_gradient_kept_below_clip_for_positive_advantage(ratio):
    # lowering the probability of a good action is still corrected: d loss / d log pi = -rho A
    assert _ratio_gradient(ratio, 1.0) == pytest.approx(-ratio)


@pytest.mark.parametrize("ratio", [0.75, 0.5, 0.1])
def test_ppo_no_gradient_below_clip_for_negative_advantage(ratio):
    assert _ratio_gradient(ratio, -1.0) == 0.0


@pytest.mark.parametrize("ratio", [1.25, 2.0, 5.0])
def test_ppo_gradient_kept_above_clip_for_negative_advantage(ratio):
    assert _ratio_gradient(ratio, -1.0) == pytest.approx(ratio)


def test_ppo_gradient_inside_clip_region_is_the_policy_gradient():
    assert _ratio_gradient(1.1, 3.0) == pytest.approx(-3.3)
    assert _ratio_gradient(0.9, -3.0) == pytest.approx(2.7)


def test_ppo_advantages_and_old_log_probs_receive_no_gradient():
    log_probs = torch.tensor([-1.0, -0.5], requires_grad=True)
    old = torch.tensor([-1.1, -0.4], requires_grad=True)
    advantages = torch.tensor([1.0, -1.0], requires_grad=True)
    ppo_clip_loss(log_probs, old, advantages).backward()
    assert old.grad is None and advantages.grad is None


def test_entropy_bonus_is_mean_entropy():
    dist = torch.distributions.Categorical(probs=torch.tensor([[0.5, 0.5], [1.0, 0.0]]))
    assert entropy_bonus(dist.entropy()).item() == pytest.approx(math.log(2) / 2)


# ---------------------------------------------------------------- KL estimator


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(min_value=-5.0, max_value=5.0, allow_nan=False), min_size=1, max_size=20),
    st.lists(st.floats(min_value=-5.0, max_value=5.0, allow_nan=False), min_size=1, max_size=20),
)
def test_approx_kl_is_non_negative(a, b):
    n = min(len(a), len(b))
    log_probs = torch.tensor(a[:n], dtype=torch.float64)
    old = torch.tensor(b[:n], dtype=torch.float64)
    assert approx_kl(log_probs, old).item() >= 0.0


def test_approx_kl_is_zero_for_identical_policies():
    log_probs = torch.tensor([-0.2, -1.7, -3.0])
    assert approx_kl(log_probs, log_probs.clone()).item() == 0.0


def test_approx_kl_matches_true_kl_for_close_gaussians():
    torch.manual_seed(0)
    old = torch.distributions.Normal(0.0, 1.0)
    new = torch.distributions.Normal(0.1, 1.05)
    actions = old.sample((200_000,))
    estimate = approx_kl(new.log_prob(actions), old.log_prob(actions)).item()
    exact = torch.distributions.kl_divergence(old, new).item()  # KL(old || new) ~ 0.0069
    assert estimate == pytest.approx(exact, rel=0.05)


def test_approx_kl_is_detached():
    log_probs = torch.tensor([-1.0, -0.5], requires_grad=True)
    assert not approx_kl(log_probs, torch.tensor([-0.9, -0.7])).requires_grad


def test_clip_fraction_counts_ratios_outside_region():
    ratios = torch.tensor([1.0, 1.3, 0.7, 1.1, 0.85])
    assert clip_fraction(ratios.log(), torch.zeros(5), clip=0.2).item() == pytest.approx(2 / 5)


# ---------------------------------------------------------------- error paths


def test_value_loss_refuses_to_broadcast():
    with pytest.raises(ValueError, match=r"values \(4, 1\).*returns \(4,\)"):
        value_loss(torch.zeros(4, 1), torch.zeros(4))


def test_ppo_clip_loss_shape_mismatch_names_arguments():
    with pytest.raises(ValueError, match="advantages"):
        ppo_clip_loss(torch.zeros(3), torch.zeros(3), torch.zeros(3, 1))


def test_policy_gradient_loss_shape_mismatch():
    with pytest.raises(ValueError, match="weights"):
        policy_gradient_loss(torch.zeros(3), torch.zeros(2))


def test_approx_kl_shape_mismatch():
    with pytest.raises(ValueError, match="old_log_probs"):
        approx_kl(torch.zeros(3), torch.zeros(4))


def test_numpy_input_is_rejected_with_hint():
    with pytest.raises(TypeError, match=r"returns must be a torch.Tensor.*torch.as_tensor"):
        value_loss(torch.zeros(2), np.zeros(2))


def test_integer_tensor_is_rejected():
    with pytest.raises(TypeError, match="advantages must be a floating-point tensor"):
        ppo_clip_loss(torch.zeros(2), torch.zeros(2), torch.tensor([1, 0]))


def test_empty_tensor_is_rejected():
    with pytest.raises(ValueError, match="entropy is empty"):
        entropy_bonus(torch.zeros(0))


@pytest.mark.parametrize("clip", [0.0, -0.1, float("nan"), float("inf")])
def test_ppo_clip_must_be_positive_and_finite(clip):
    with pytest.raises(ValueError, match="clip must be (> 0|finite)"):
        ppo_clip_loss(torch.zeros(2), torch.zeros(2), torch.zeros(2), clip=clip)


def test_ppo_clip_must_be_a_number():
    with pytest.raises(TypeError, match="clip must be a real number"):
        ppo_clip_loss(torch.zeros(2), torch.zeros(2), torch.zeros(2), clip="0.2")


def test_clip_fraction_validates_clip():
    with pytest.raises(ValueError, match="clip"):
        clip_fraction(torch.zeros(2), torch.zeros(2), clip=-1.0)
