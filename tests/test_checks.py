"""mupbook._checks: one rule per kind of argument, the same everywhere in the library."""

import math

import numpy as np
import pytest
import torch

from mupbook import _checks


@pytest.mark.parametrize("value", [1, 7, np.int64(8), np.int32(3)])
def test_positive_int_accepts_python_and_numpy_integers(value):
    out = _checks.positive_int(value, "width")
    assert out == int(value) and type(out) is int


@pytest.mark.parametrize(
    "value", [0, -1, True, False, 8.0, "8", None, np.float64(8), [8]]
)
def test_positive_int_refuses_zero_negatives_bools_floats_and_strings(value):
    with pytest.raises(ValueError, match="width must be a positive integer"):
        _checks.positive_int(value, "width")


def test_nonnegative_int_and_bounded_integer():
    assert _checks.nonnegative_int(0, "depth") == 0
    with pytest.raises(ValueError, match="non-negative"):
        _checks.nonnegative_int(-1, "depth")
    assert _checks.integer(3, "num", minimum=3) == 3
    with pytest.raises(ValueError, match=">= 3"):
        _checks.integer(2, "num", minimum=3)
    with pytest.raises(ValueError, match="<= 5"):
        _checks.integer(6, "num", maximum=5)


@pytest.mark.parametrize(
    "value", [0.5, 1, np.float32(0.25), np.float64(2.0), np.int64(3)]
)
def test_positive_float_accepts_finite_positive_reals(value):
    assert _checks.positive_float(value, "lr") == pytest.approx(float(value))


@pytest.mark.parametrize(
    "value, match",
    [
        (0, "> 0"),
        (-1.0, "> 0"),
        (math.nan, "finite"),
        (math.inf, "finite"),
        (-math.inf, "finite"),
        (True, "finite number"),
        ("0.1", "finite number"),
        (None, "finite number"),
        (torch.tensor(0.1), "finite number"),
    ],
)
def test_positive_float_refuses_zero_negative_nan_inf_bools_and_strings(value, match):
    with pytest.raises(ValueError, match=match):
        _checks.positive_float(value, "lr")


def test_nonnegative_float_and_probability():
    assert _checks.nonnegative_float(0.0, "wd") == 0.0
    with pytest.raises(ValueError, match=">= 0"):
        _checks.nonnegative_float(-1e-9, "wd")
    assert _checks.probability(0.0, "sample") == 0.0
    for bad in (1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match=r"\[0, 1\)"):
            _checks.probability(bad, "sample")
    assert _checks.probability(1.0, "p", open_right=False) == 1.0


def test_choice_is_exact():
    assert _checks.choice("sgd", ("sgd", "adam"), "optimizer") == "sgd"
    for bad in ("adagrad", "SGD", None, 1):
        with pytest.raises(
            ValueError, match="optimizer must be one of 'sgd', 'adam'"
        ):
            _checks.choice(bad, ("sgd", "adam"), "optimizer")


def test_seeds_are_distinct_non_negative_integers():
    assert _checks.seeds(range(3)) == (0, 1, 2)
    assert _checks.seeds([np.int64(4)]) == (4,)
    with pytest.raises(ValueError, match="distinct"):
        _checks.seeds([1, 1])
    with pytest.raises(ValueError, match="at least one"):
        _checks.seeds([])
    with pytest.raises(ValueError, match=r"\[0, 2\*\*63\)"):
        _checks.seeds([-1])
    with pytest.raises(ValueError, match="sequence"):
        _checks.seeds(3)
    with pytest.raises(ValueError, match="must be an integer"):
        _checks.seed(1.0)


def test_widths_are_strictly_increasing_positive_integers():
    assert _checks.widths([64, np.int64(128)]).tolist() == [64, 128]
    assert _checks.widths([8], minimum_count=1).dtype == np.int64
    with pytest.raises(ValueError, match="strictly increasing"):
        _checks.widths([64, 64])
    with pytest.raises(ValueError, match="strictly increasing"):
        _checks.widths([128, 64])
    with pytest.raises(ValueError, match="at least 2 widths"):
        _checks.widths([64])
    with pytest.raises(ValueError, match="positive integer"):
        _checks.widths([64, 0])
    with pytest.raises(ValueError, match="sequence"):
        _checks.widths("64")


def test_messages_never_echo_a_huge_value():
    with pytest.raises(ValueError) as err:
        _checks.positive_int(np.zeros(10**6), "width")
    assert len(str(err.value)) < 200


def test_float64_tensor_checks_type_dtype_shape_and_values():
    out = _checks.float64_tensor(np.ones((2, 3), dtype=np.float32), "x", ndim=2)
    assert out.dtype == torch.float64 and out.shape == (2, 3)
    with pytest.raises(ValueError, match="floating dtype"):
        _checks.float64_tensor(torch.ones(2, dtype=torch.int64), "x")
    with pytest.raises(ValueError, match="2-D"):
        _checks.float64_tensor(torch.ones(2), "x", ndim=2)
    with pytest.raises(ValueError, match="non-finite"):
        _checks.float64_tensor(torch.tensor([1.0, math.nan]), "x")
    with pytest.raises(ValueError, match="torch.Tensor or numpy array"):
        _checks.float64_tensor([1.0], "x")
