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


def test_style_context_applies_the_style_inside_the_block_only():
    import matplotlib as mpl

    with mpl.rc_context({"lines.linewidth": 0.5, "axes.grid": False}):
        with plotting.style_context():
            assert mpl.rcParams["lines.linewidth"] == plotting.STYLE["lines.linewidth"]
            assert mpl.rcParams["axes.prop_cycle"].by_key()["color"] == list(plotting.PALETTE)
        assert mpl.rcParams["lines.linewidth"] == 0.5 and not mpl.rcParams["axes.grid"]
    with pytest.raises(TypeError):
        plotting.STYLE["font.size"] = 20  # read-only: no caller changes every later figure


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


# --- bad inputs: each one a named error, raised before anything is drawn -----------------------


def _runs_0_to_30():
    return _history([0, 10, 20, 30], [1.0, 2.0, 3.0, 4.0])


def test_public_names_are_listed_in_all():
    from pgkit import curves

    # pgkit.plotting re-exports the functions of pgkit.curves, where they moved from.
    for module in (plotting, curves):
        public = {
            name
            for name, obj in vars(module).items()
            if not name.startswith("_") and callable(obj) and obj.__module__ == module.__name__
        }
        assert public and public <= set(module.__all__) <= set(plotting.__all__)
        assert all(getattr(plotting, name) is getattr(module, name) for name in module.__all__)


def test_resample_refuses_unsorted_steps_and_says_how_to_sort():
    # A reversed log would otherwise give a one-point grid; sorting it silently could also
    # interleave two runs joined into one history, so it is refused with the fix.
    with pytest.raises(ValueError, match=r"results\[0\]\['steps'\] must increase.*argsort"):
        plotting.resample_curves([{"steps": [30, 20, 10, 0], "episode_return": [4, 3, 2, 1]}])
    with pytest.raises(ValueError, match="from 10 at index 1 to 10 at index 2"):
        plotting.resample_curves([_history([0, 10, 10, 20], [1, 2, 3, 4])])


def test_resample_refuses_runs_whose_steps_do_not_overlap():
    late = _history([100, 110, 120], [1.0, 2.0, 3.0])
    message = (
        r"do not overlap.*results\[0\] covers steps 0 to 30, results\[1\] covers steps "
        r"100 to 120.*same steps"
    )
    with pytest.raises(ValueError, match=message):
        plotting.resample_curves([_runs_0_to_30(), late])
    with pytest.raises(ValueError, match="share only step 30"):
        plotting.resample_curves([_runs_0_to_30(), _history([30, 40], [1.0, 2.0])])


def test_learning_curve_refuses_runs_without_overlap_and_draws_nothing():
    fig, ax = plt.subplots()
    late = _history([100, 110, 120], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="do not overlap"):
        plotting.learning_curve([_runs_0_to_30(), late], ax=ax)
    assert not ax.lines and not ax.collections
    plt.close(fig)


def test_run_names_carry_the_seed_of_a_train_result():
    from types import SimpleNamespace

    late = SimpleNamespace(history=_history([100, 110], [1.0, 2.0]), config={"seed": 7})
    with pytest.raises(ValueError, match=r"results\[1\] \(seed 7\) covers steps 100 to 110"):
        plotting.resample_curves([_runs_0_to_30(), late])


def test_resample_keeps_nan_values_of_iterations_without_a_finished_episode():
    # As pgkit.algos logs them: int64 steps, NaN where no episode ended.
    history = {
        "steps": np.array([64, 128, 192, 256], dtype=np.int64),
        "episode_return": np.array([np.nan, 10.0, np.nan, 30.0]),
    }
    grid, curves = plotting.resample_curves([history], points=np.int64(3))
    np.testing.assert_allclose(grid, [128, 192, 256])
    np.testing.assert_allclose(curves, [[10.0, 20.0, 30.0]])


def test_a_run_of_one_iteration_is_one_point_drawn_as_a_marker():
    # A run shorter than one batch logs once; saving it (pgkit.checkpoints) still draws it.
    runs = [_history([2000], [21.0]), _history([5, 2000], [np.nan, 23.0])]
    grid, curves = plotting.resample_curves(runs)
    np.testing.assert_array_equal(grid, [2000])
    np.testing.assert_array_equal(curves, [[21.0], [23.0]])
    fig, ax = plt.subplots()
    plotting.learning_curve(runs[:1], ax=ax)
    assert ax.lines[0].get_marker() == "o"
    plt.close(fig)


def test_resample_accepts_any_iterable_of_runs_and_torch_or_float32_arrays():
    import torch

    run = {"steps": torch.tensor([0, 10, 20]), "episode_return": np.float32([1.0, 2.0, 3.0])}
    grid, curves = plotting.resample_curves(iter([run, run]), points=3)
    np.testing.assert_allclose(curves, [[1.0, 2.0, 3.0]] * 2)


def _h(steps, values):
    return {"steps": steps, "episode_return": values}


RESAMPLE_BAD = [
    (
        "points zero",
        dict(results=[_h([0, 1], [1, 2])], points=0),
        ValueError,
        "points must be >= 2",
    ),
    ("points one", dict(results=[_h([0, 1], [1, 2])], points=1), ValueError, "points must be >= 2"),
    ("points float", dict(results=[_h([0, 1], [1, 2])], points=50.0), TypeError, "points"),
    ("points bool", dict(results=[_h([0, 1], [1, 2])], points=True), TypeError, "points"),
    ("key not str", dict(results=[_h([0, 1], [1, 2])], key=0), TypeError, "key"),
    ("nan step", dict(results=[_h([0, np.nan, 2], [1, 2, 3])]), ValueError, r"'steps'\] holds nan"),
    ("inf step", dict(results=[_h([0, 1, np.inf], [1, 2, 3])]), ValueError, r"'steps'\] holds inf"),
    ("lengths differ", dict(results=[_h([0, 1, 2], [1, 2])]), ValueError, "has 3 entries but"),
    ("2-D values", dict(results=[_h([0, 1], [[1, 2], [3, 4]])]), ValueError, "one-dimensional"),
    ("scalar steps", dict(results=[_h(5, [1.0])]), ValueError, "one-dimensional"),
    ("no iteration", dict(results=[_h([], [])]), ValueError, "logs no iteration"),
    ("inf value", dict(results=[_h([0, 1, 2], [1, np.inf, 3])]), ValueError, "an infinity"),
    ("complex values", dict(results=[_h([0, 1], [1 + 1j, 2])]), TypeError, "real numbers"),
    ("bool values", dict(results=[_h([0, 1], [True, False])]), TypeError, "booleans"),
    (
        "bool steps",
        dict(results=[_h([False, True], [1.0, 2.0])]),
        TypeError,
        r"'steps'\].*booleans",
    ),
    ("complex steps", dict(results=[_h([0, 1j], [1.0, 2.0])]), TypeError, r"'steps'\].*real"),
    ("strings", dict(results=[_h([0, 1], ["a", "b"])]), TypeError, "must hold numbers"),
    ("None entries", dict(results=[_h([0, 1], [None, 2.0])]), TypeError, "must hold numbers"),
    ("one dict alone", dict(results=_h([0, 1], [1, 2])), TypeError, r"wrap one run in a list"),
    ("None", dict(results=None), TypeError, "results must be a list"),
    ("a string", dict(results="runs"), TypeError, "results must be a list"),
    ("no steps", dict(results=[{"episode_return": [1]}]), KeyError, "no 'steps' entry"),
    ("sweep record", dict(results=[{"id": 1, "history": {}}]), KeyError, "as_history"),
    (
        "overflow",
        dict(results=[_h([0, 1], [-1.7e308, 1.7e308])], points=3),
        ValueError,
        "overflows",
    ),
]


@pytest.mark.parametrize(
    "kwargs, error, match", [c[1:] for c in RESAMPLE_BAD], ids=[c[0] for c in RESAMPLE_BAD]
)
def test_resample_refuses_bad_input_by_name(kwargs, error, match):
    with pytest.raises(error, match=match):
        plotting.resample_curves(**kwargs)


BAND_BAD = [
    ("complex", np.array([[1 + 1j, 2], [1, 2]]), TypeError, "curves must hold real numbers"),
    ("bool", np.array([[True, False], [False, True]]), TypeError, "curves must hold numbers"),
    ("one curve", [1.0, 2.0, 3.0], ValueError, r"shape \(3,\); .*curves\[None, :\]"),
    ("3-D", np.zeros((2, 2, 2)), ValueError, r"curves must have shape \(seeds, points\)"),
    ("scalar", np.float64(3.0), ValueError, r"got shape \(\)"),
    ("no seed", np.zeros((0, 3)), ValueError, "curves holds no seed"),
    ("no point", np.zeros((3, 0)), ValueError, "curves has no point"),
    ("nan", [[1.0, np.nan], [1.0, 2.0]], ValueError, r"curves holds nan at index \(0, 1\)"),
    ("inf", [[1.0, 2.0], [-np.inf, 2.0]], ValueError, r"curves holds -inf at index \(1, 0\)"),
    ("ragged", [[1.0, 2.0], [1.0]], TypeError, "curves must be an array of numbers"),
    ("strings", [["a", "b"]], TypeError, "curves must hold numbers"),
    ("None", None, TypeError, "curves must hold numbers"),
    ("mean overflows", [[1.7e308], [1.7e308]], ValueError, "curves holds values too large"),
    ("std overflows", [[-1.7e308], [1.7e308]], ValueError, "curves holds values too large"),
]


@pytest.mark.parametrize(
    "curves, error, match", [c[1:] for c in BAND_BAD], ids=[c[0] for c in BAND_BAD]
)
def test_confidence_band_refuses_bad_input_by_name(curves, error, match):
    with pytest.raises(error, match=match):
        plotting.confidence_band(curves)


def test_confidence_band_accepts_tensors_and_integers():
    import torch

    mean, low, high = plotting.confidence_band(torch.tensor([[1, 3], [3, 5]]))
    np.testing.assert_allclose(mean, [2.0, 4.0])
    assert (low < mean).all() and (high > mean).all()


@pytest.mark.parametrize("df", [2.5, True, "3", None])
def test_t_quantile_refuses_non_integers(df):
    with pytest.raises(TypeError, match="df must be an integer"):
        plotting.t_quantile_975(df)


def test_t_quantile_accepts_numpy_integers():
    assert plotting.t_quantile_975(np.int64(2)) == 4.303


CURVE_BAD = [
    ("axes array", dict(ax="array"), TypeError, r"array of 2 axes; pick one, e.g. axes\[0\]"),
    ("a figure", dict(ax="figure"), TypeError, "got a Figure"),
    ("a string ax", dict(ax="top"), TypeError, "ax must be one matplotlib Axes"),
    ("bad colour", dict(color="notacolour"), ValueError, "color='notacolour' is not"),
    ("bad dash", dict(linestyle="~~"), ValueError, "linestyle='~~' is not"),
    ("number label", dict(label=0.5), TypeError, "label must be a str or None"),
    ("key None", dict(key=None), TypeError, "key must be"),
]


@pytest.mark.parametrize(
    "kwargs, error, match", [c[1:] for c in CURVE_BAD], ids=[c[0] for c in CURVE_BAD]
)
def test_learning_curve_refuses_bad_arguments_by_name(kwargs, error, match):
    fig, axes = plt.subplots(2)
    # The figure and its axes exist only here, so the table names them by word.
    stand_ins = {"array": axes, "figure": fig}
    ax = kwargs.get("ax", axes[0])
    kwargs = {**kwargs, "ax": stand_ins.get(ax, ax) if isinstance(ax, str) else ax}
    with pytest.raises(error, match=match):
        plotting.learning_curve([_runs_0_to_30()], **kwargs)
    assert not axes[0].lines
    plt.close(fig)


def test_compare_methods_names_the_method_whose_runs_are_wrong_and_draws_nothing():
    fig, ax = plt.subplots()
    late = _history([100, 110], [1.0, 2.0])
    good = [_runs_0_to_30()]
    with pytest.raises(ValueError, match=r"results_by_method\['late'\]: .*do not overlap"):
        plotting.compare_methods({"fine": good, "late": [good[0], late]}, ax=ax)
    with pytest.raises(KeyError, match=r"results_by_method\['fine'\]: .*no 'kl'"):
        plotting.compare_methods({"fine": good}, key="kl", ax=ax)
    with pytest.raises(ValueError, match=r"results_by_method\['none'\]: results is empty"):
        plotting.compare_methods({"none": []}, ax=ax)
    assert not ax.lines
    plt.close(fig)


def test_compare_methods_refuses_wrong_types_and_too_many_methods():
    run = [_runs_0_to_30()]
    with pytest.raises(TypeError, match="results_by_method must be a dict"):
        plotting.compare_methods([run])
    with pytest.raises(TypeError, match="method name 0.5 must be a str"):
        plotting.compare_methods({0.5: run})
    with pytest.raises(TypeError, match="title must be a str"):
        plotting.compare_methods({"a": run}, title=3)
    # Colour and dash repeat together after len(PALETTE) methods.
    too_many = {str(i): run for i in range(len(plotting.PALETTE) + 1)}
    with pytest.raises(ValueError, match="9 methods but only 8 can be told apart"):
        plotting.compare_methods(too_many)


def _heatmap(scores=((1.0, 2.0), (3.0, 4.0)), **kwargs):
    arguments = dict(row_values=[1, 2], col_values=[1, 2], row_label="r", col_label="c")
    return plotting.sweep_heatmap(np.asarray(scores), **{**arguments, **kwargs})


HEATMAP_BAD = [
    ("1-D scores", dict(scores=[1.0, 2.0]), ValueError, r"scores has shape \(2,\)"),
    (
        "empty",
        dict(scores=np.ones((0, 0)), row_values=[], col_values=[]),
        ValueError,
        "scores is empty",
    ),
    (
        "bool",
        dict(scores=np.ones((2, 2), bool)),
        TypeError,
        "scores must hold numbers, got booleans",
    ),
    ("complex", dict(scores=np.ones((2, 2)) * 1j), TypeError, "scores must hold real numbers"),
    (
        "inf",
        dict(scores=[[1.0, np.inf], [2.0, 3.0]]),
        ValueError,
        r"scores holds inf at index \(0, 1\)",
    ),
    ("all nan", dict(scores=np.full((2, 2), np.nan)), ValueError, "no finite value"),
    ("strings", dict(scores=[["a", "b"], ["c", "d"]]), TypeError, "scores must hold numbers"),
    (
        "scalar rows",
        dict(scores=np.ones((1, 2)), row_values=5),
        TypeError,
        "row_values must be a list",
    ),
    ("string columns", dict(col_values="ab"), TypeError, "col_values must be a list.*per column"),
    ("label None", dict(row_label=None), TypeError, "row_label must be a str"),
    ("fmt for ints", dict(fmt="{:d}"), ValueError, "fmt='{:d}' cannot format a number"),
    ("fmt no field", dict(fmt="score"), ValueError, "no replacement field"),
    ("fmt index", dict(fmt="{1}"), ValueError, "cannot format a number"),
    ("fmt not str", dict(fmt=2), TypeError, "fmt must be a format string"),
]


@pytest.mark.parametrize(
    "kwargs, error, match", [c[1:] for c in HEATMAP_BAD], ids=[c[0] for c in HEATMAP_BAD]
)
def test_sweep_heatmap_refuses_bad_input_by_name(kwargs, error, match):
    fig, ax = plt.subplots()
    with pytest.raises(error, match=match):
        _heatmap(ax=ax, **kwargs)
    assert not ax.images
    plt.close(fig)


def test_sweep_heatmap_shows_a_missing_cell_and_takes_array_ticks():
    # pgkit.sweeps leaves a setting without finished runs as NaN.
    fig, ax = plt.subplots()
    _heatmap(
        [[1.0, np.nan], [2.0, 3.0]], row_values=np.array([0.9, 0.99]), col_values=(0, 1), ax=ax
    )
    assert [t.get_text() for t in ax.texts] == ["1", "nan", "2", "3"]
    plt.close(fig)
