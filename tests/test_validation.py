import numpy as np
import pytest
import torch

from pgkit import validation as v


def test_to_numpy_accepts_tensors_lists_and_rejects_objects():
    np.testing.assert_array_equal(v.to_numpy(torch.tensor([1.0, 2.0]), "x"), [1.0, 2.0])
    np.testing.assert_array_equal(v.to_numpy([1, 2], "x"), [1, 2])
    with pytest.raises(TypeError, match="x must hold numbers, got dtype object"):
        v.to_numpy([{"a": 1}], "x")
    with pytest.raises(TypeError, match="x must hold numbers, got dtype <U1"):
        v.to_numpy(["a"], "x")


def test_is_torch():
    assert v.is_torch(torch.zeros(1)) and not v.is_torch(np.zeros(1))


def test_check_time_major():
    v.check_time_major("r", np.zeros(3))
    v.check_time_major("r", np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"r must be time-major.*\(2, 2, 2\)"):
        v.check_time_major("r", np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="r is empty"):
        v.check_time_major("r", np.zeros(0))


def test_check_same_shape_names_every_argument():
    v.check_same_shape(a=np.zeros(3), b=np.zeros(3))
    with pytest.raises(ValueError, match=r"rewards \(4,\), values \(4, 1\)"):
        v.check_same_shape(rewards=np.zeros(4), values=np.zeros((4, 1)))


def test_check_finite_reports_first_bad_index():
    v.check_finite("r", np.ones(3))
    with pytest.raises(ValueError, match="r contains a non-finite value \\(nan\\) at index 2"):
        v.check_finite("r", np.array([0.0, 1.0, np.nan, np.inf]))
    with pytest.raises(ValueError, match=r"at index \(1, 0\)"):
        v.check_finite("r", np.array([[0.0, 1.0], [np.inf, 0.0]]))


@pytest.mark.parametrize("value", [0, 0.5, 1, np.float32(0.9)])
def test_check_unit_interval_accepts(value):
    assert v.check_unit_interval("gamma", value) == float(value)


@pytest.mark.parametrize(
    "value, error", [(-0.1, ValueError), (1.01, ValueError), (float("nan"), ValueError),
                     ("0.9", TypeError), (True, TypeError)]
)  # fmt: skip
def test_check_unit_interval_rejects(value, error):
    with pytest.raises(error, match="gamma"):
        v.check_unit_interval("gamma", value)


def test_check_bool_flags():
    assert v.check_bool_flags("d", np.array([0, 1])).dtype == bool
    with pytest.raises(ValueError, match="d must hold booleans"):
        v.check_bool_flags("d", np.array([0.0, 0.5]))


def test_check_positive_int():
    assert v.check_positive_int("n", np.int64(3)) == 3
    with pytest.raises(ValueError, match="n must be >= 1"):
        v.check_positive_int("n", 0)
    with pytest.raises(TypeError, match="n must be a positive integer"):
        v.check_positive_int("n", 2.0)


def test_to_numpy_refuses_complex_numbers():
    with pytest.raises(TypeError, match="x must hold real numbers, got complex"):
        v.to_numpy(np.array([1 + 2j]), "x")
    with pytest.raises(TypeError, match="real numbers"):
        v.to_numpy(torch.tensor([1 + 0j]), "x", dtype=np.float64)


def test_to_numpy_refuses_flags_where_floats_belong():
    with pytest.raises(TypeError, match="rewards must hold numbers, got booleans"):
        v.to_numpy(np.array([True, False]), "rewards", dtype=np.float64)
    assert v.to_numpy(np.array([True]), "dones").dtype == bool


def test_to_numpy_reads_bfloat16_and_float16_tensors():
    for dtype in (torch.bfloat16, torch.float16):
        np.testing.assert_array_equal(v.to_numpy(torch.tensor([1.5], dtype=dtype), "x"), [1.5])
