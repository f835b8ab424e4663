"""Tests for pgkit.critic: explained variance by hand and its invariances, least-squares fits
against the normal equations and per-state means, and every error path."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pgkit.critic import explained_variance, fit_linear_values

TOL = {"rtol": 1e-12, "atol": 1e-12}


def test_explained_variance_by_hand():
    # residuals (0, 0, 1): Var = 2/9; targets (1, 2, 4): Var = 14/9; EV = 1 - 2/14
    assert explained_variance([1.0, 2.0, 3.0], [1.0, 2.0, 4.0]) == pytest.approx(1 - 2 / 14)


def test_explained_variance_perfect_constant_and_worse():
    g = np.array([1.0, -2.0, 0.5, 3.0])
    assert explained_variance(g, g) == pytest.approx(1.0, abs=1e-15)
    assert explained_variance(np.full(4, 7.0), g) == pytest.approx(0.0, abs=1e-15)
    # predicting the targets backwards is worse than a constant
    assert explained_variance(-g, g) == pytest.approx(1 - 4.0)


def test_explained_variance_blind_to_an_offset():
    g = np.array([1.0, -2.0, 0.5, 3.0])
    v = np.array([0.5, -1.0, 1.0, 2.0])
    assert explained_variance(v + 100.0, g) == pytest.approx(explained_variance(v, g), rel=1e-12)


def test_constant_targets_give_zero_not_nan():
    assert explained_variance([1.0, 2.0], [3.0, 3.0]) == 0.0
    assert explained_variance([0.1, 0.1, 0.1], [0.1, 0.1, 0.1]) == 0.0


def test_mask_keeps_only_selected_entries():
    v = np.array([[1.0, 9.0], [2.0, -9.0], [3.0, 0.0]])
    g = np.array([[1.0, 0.0], [2.0, 0.0], [4.0, 0.0]])
    mask = np.array([[True, False], [True, False], [True, False]])
    assert explained_variance(v, g, mask) == pytest.approx(1 - 2 / 14)


def test_torch_and_float32_inputs():
    v, g = [1.0, 2.0, 3.0], [1.0, 2.0, 4.0]
    assert explained_variance(torch.tensor(v), torch.tensor(g)) == pytest.approx(1 - 2 / 14)
    assert explained_variance(np.float32(v), np.float32(g)) == pytest.approx(1 - 2 / 14)


def test_huge_inputs_do_not_overflow():
    g = np.array([1.0, 2.0, 4.0]) * 1e307
    v = np.array([1.0, 2.0, 3.0]) * 1e307
    assert explained_variance(v, g) == pytest.approx(1 - 2 / 14)


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, (7, 2), elements=st.floats(-10, 10)),
    arrays(np.float64, (7, 2), elements=st.floats(-10, 10)),
    st.floats(-5, 5),
    st.floats(0.1, 10),
)
def test_explained_variance_properties(values, targets, offset, scale):
    ev = explained_variance(values, targets)
    assert np.isfinite(ev) and ev <= 1.0 + 1e-12
    if targets.var() > 1e-6:
        # an offset in V and a common rescaling leave EV unchanged; it is 1 - R / Var
        residual = ((targets - values) - (targets - values).mean()) ** 2
        np.testing.assert_allclose(ev, 1 - residual.mean() / targets.var(), rtol=1e-9, atol=1e-9)
        shifted = explained_variance(scale * (values + offset), scale * targets)
        np.testing.assert_allclose(shifted, ev, rtol=1e-7, atol=1e-7)


def test_fit_table_is_the_mean_per_state():
    states = np.array([[0, 2], [1, 2], [1, 0], [0, 1]])
    targets = np.array([[1.0, 5.0], [2.0, 7.0], [4.0, 3.0], [3.0, 0.0]])
    w = fit_linear_values(np.eye(4)[states], targets)
    # state 3 is never visited: the minimum-norm solution gives it 0
    np.testing.assert_allclose(w, [7 / 3, 2.0, 6.0, 0.0], **TOL)


def test_fit_matches_normal_equations():
    rng = np.random.default_rng(0)
    phi = rng.normal(size=(30, 4, 3))
    g = rng.normal(size=(30, 4))
    mask = rng.random((30, 4)) < 0.7
    X, y = phi[mask], g[mask]
    expected = np.linalg.solve(X.T @ X, X.T @ y)
    np.testing.assert_allclose(fit_linear_values(phi, g, mask), expected, rtol=1e-10, atol=1e-12)


def test_fit_recovers_exact_linear_targets():
    phi = np.stack([np.ones(6), np.arange(6.0)], axis=1)
    np.testing.assert_allclose(fit_linear_values(phi, 2.0 - 0.5 * np.arange(6.0)), [2.0, -0.5])


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shape mismatch"):
        explained_variance(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match="features must have shape"):
        fit_linear_values(np.zeros((4, 2)), np.zeros((4, 1)))
    with pytest.raises(ValueError, match="features must have shape"):
        fit_linear_values(np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match="mask"):
        explained_variance(np.zeros(4), np.arange(4.0), mask=np.ones(3, dtype=bool))


def test_bad_masks_and_inputs():
    with pytest.raises(ValueError, match="mask selects no step"):
        explained_variance(np.zeros(3), np.arange(3.0), mask=np.zeros(3, dtype=bool))
    with pytest.raises(ValueError, match="mask must hold booleans"):
        explained_variance(np.zeros(3), np.arange(3.0), mask=np.full(3, 0.5))
    with pytest.raises(ValueError, match="targets contains a non-finite"):
        explained_variance(np.zeros(2), np.array([1.0, np.nan]))
    with pytest.raises(TypeError, match="values must hold numbers"):
        explained_variance(np.ones(2, dtype=bool), np.arange(2.0))
    with pytest.raises(ValueError, match="time-major"):
        explained_variance(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="empty"):
        explained_variance(np.zeros(0), np.zeros(0))
