import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from pgkit import plotting


def _history(steps, values):
    return {"steps": np.asarray(steps, float), "episode_return": np.asarray(values, float)}


def test_confidence_band_matches_t_interval_by_hand():
    curves = np.array([[1.0, 2.0], [3.0, 2.0], [5.0, 2.0]])
    mean, low, high = plotting.confidence_band(curves)
    # seed std at point 0 is 2, so the half-width is 4.303 * 2 / sqrt(3)
    half = 4.303 * 2.0 / np.sqrt(3)
    np.testing.assert_allclose(mean, [3.0, 2.0])
    np.testing.assert_allclose(low, [3.0 - half, 2.0])
    np.testing.assert_allclose(high, [3.0 + half, 2.0])


def test_confidence_band_single_seed_is_the_curve():
    mean, low, high = plotting.confidence_band([[1.0, 4.0]])
    np.testing.assert_array_equal(mean, low)
    np.testing.assert_array_equal(mean, high)


def test_confidence_band_covers_true_mean_about_95_percent():
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(2000, 5, 1))  # 2000 experiments of 5 seeds
    covered = [
        low[0] <= 0.0 <= high[0] for low, high in (plotting.confidence_band(s)[1:] for s in samples)
    ]
    assert abs(np.mean(covered) - 0.95) < 0.02


def test_t_quantile_large_df_is_normal_and_rejects_zero():
    assert plotting.t_quantile_975(100) == 1.96
    with pytest.raises(ValueError, match="at least two seeds"):
        plotting.t_quantile_975(0)


def test_resample_interpolates_on_common_step_grid_and_skips_nan():
    a = _history([0, 10, 20], [np.nan, 1.0, 3.0])
    b = _history([5, 15, 25], [0.0, 2.0, 4.0])
    grid, curves = plotting.resample_curves([a, b], points=3)
    np.testing.assert_allclose(grid, [10, 15, 20])
    np.testing.assert_allclose(curves[0], [1.0, 2.0, 3.0])
    np.testing.assert_allclose(curves[1], [1.0, 2.0, 3.0])


def test_resample_errors():
    with pytest.raises(ValueError, match="empty"):
        plotting.resample_curves([])
    with pytest.raises(TypeError, match="history"):
        plotting.resample_curves([object()])
    with pytest.raises(KeyError, match="entropy"):
        plotting.resample_curves([_history([0, 1], [1, 2])], key="entropy")
    with pytest.raises(ValueError, match="no finite"):
        plotting.resample_curves([_history([0, 1], [np.nan, np.nan])])


def test_compare_methods_draws_one_line_and_band_per_method():
    plotting.use_style()
    fig, ax = plt.subplots()
    runs = [_history([0, 10], [0, s]) for s in (1.0, 2.0, 3.0)]
    plotting.compare_methods({"a": runs, "b": runs[:2]}, ax=ax, title="t")
    curves = [line for line in ax.lines if not line.get_label().startswith("_")]
    edges = [line for line in ax.lines if line.get_label().startswith("_")]
    assert len(curves) == 2 and len(ax.collections) == 2
    # Each band is outlined in its curve's colour and dash, so overlapping bands stay legible.
    for curve in curves:
        outline = [e for e in edges if e.get_color() == curve.get_color()]
        assert len(outline) == 2
        assert all(e.get_linestyle() == curve.get_linestyle() for e in outline)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a (3 seeds)", "b (2 seeds)"]
    assert ax.get_xlabel() == "environment steps"
    plt.close(fig)


def test_compare_methods_rejects_empty():
    with pytest.raises(ValueError, match="empty"):
        plotting.compare_methods({})


def test_sweep_heatmap_annotates_every_cell_and_checks_shape():
    fig, ax = plt.subplots()
    scores = np.arange(6.0).reshape(2, 3)
    plotting.sweep_heatmap(
        scores, row_values=[0.9, 0.99], col_values=[0, 0.5, 1], row_label="g", col_label="l"
    )
    assert [t.get_text() for t in ax.texts] == ["0", "1", "2", "3", "4", "5"]
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        plotting.sweep_heatmap(
            scores, row_values=[1, 2], col_values=[1, 2], row_label="", col_label=""
        )
    plt.close("all")
