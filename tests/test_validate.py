"""gan_course.validate: every rule accepts NumPy numbers where Python ones are, refuses bools and
strings, returns a plain Python value, and says what it wanted in its one message."""

import math
import re

import numpy as np
import pytest
import torch

from gan_course.validate import (binary_rows, data_matrix, float_data, require_binary, require_budget,
                                 require_choice, require_finite, require_in_range, require_int, require_nonnegative_number,
                                 require_positive_int, require_positive_number, require_seed, require_tensor)

NOT_NUMBERS = [True, False, np.bool_(True), "3", None, [3], torch.tensor(3)]


# ---- integers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [3, np.int64(3), np.int32(3), np.uint8(3)])
def test_require_int_accepts_python_and_numpy_ints_and_returns_a_python_int(value):
    out = require_int("n", value)
    assert out == 3 and type(out) is int
    assert type(require_positive_int("n", value)) is int


@pytest.mark.parametrize("value", NOT_NUMBERS + [2.0, np.float64(2.0), 2.5])
def test_require_int_refuses_bools_strings_and_floats(value):
    with pytest.raises(ValueError, match=r"n must be a positive int, got "):
        require_int("n", value)


@pytest.mark.parametrize("kwargs, value, message", [
    ({}, 0, "steps must be a positive int, got 0"),
    ({"minimum": 1}, -4, "steps must be a positive int, got -4"),
    ({"minimum": 0}, -1, "steps must be a non-negative int, got -1"),
    ({"minimum": 2}, 1, "steps must be an int >= 2, got 1"),
    ({"minimum": -3}, -4, "steps must be an int >= -3, got -4"),
    ({"minimum": 1, "maximum": 10}, 11, r"steps must be an int in \[1, 10\], got 11"),
    ({"minimum": 1, "maximum": 10}, 0, r"steps must be an int in \[1, 10\], got 0"),
    ({"minimum": 1, "maximum": 10}, True, r"steps must be an int in \[1, 10\], got True"),
])
def test_require_int_has_one_message_per_kind_of_bound(kwargs, value, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        require_int("steps", value, **kwargs)


def test_require_int_bounds_are_inclusive():
    assert require_int("k", 0, minimum=0) == 0
    assert require_int("k", 1, minimum=1, maximum=1) == 1
    assert require_int("k", np.int64(10), minimum=1, maximum=10) == 10
    assert require_positive_int("k", 1) == 1


def test_require_seed_is_a_non_negative_int_named_seed_by_default():
    assert require_seed(0) == 0 and type(require_seed(np.int64(7))) is int
    with pytest.raises(ValueError, match="^seed must be a non-negative int, got -1$"):
        require_seed(-1)
    with pytest.raises(ValueError, match="^start must be a non-negative int, got 1.5$"):
        require_seed(1.5, name="start")


# ---- real numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0.5, np.float64(0.5), np.float32(0.5), np.float16(0.5)])
def test_number_rules_accept_numpy_floats_and_return_python_floats(value):
    for rule in (require_positive_number, require_nonnegative_number):
        out = rule("lr", value)
        assert out == 0.5 and type(out) is float
    out = require_in_range("ema", value, 0, 1)
    assert out == 0.5 and type(out) is float


def test_number_rules_accept_ints_and_give_floats():
    assert type(require_positive_number("lr", 2)) is float and require_positive_number("lr", np.int64(2)) == 2.0
    assert require_nonnegative_number("w", 0) == 0.0
    assert require_in_range("p", np.int32(1), 0, 1) == 1.0


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_number_rules_refuse_bools_and_strings(value):
    with pytest.raises(ValueError, match="^lr must be a positive number, got "):
        require_positive_number("lr", value)
    with pytest.raises(ValueError, match="^w must be a finite number >= 0, got "):
        require_nonnegative_number("w", value)
    with pytest.raises(ValueError, match=r"^p must be a number in \[0, 1\], got "):
        require_in_range("p", value, 0, 1)


@pytest.mark.parametrize("value", [0, 0.0, -1e-300, -2, math.inf, np.float64(np.inf), math.nan])
def test_require_positive_number_refuses_zero_negatives_inf_and_nan(value):
    with pytest.raises(ValueError, match=f"^{re.escape(f'lr must be a positive number, got {value!r}')}$"):
        require_positive_number("lr", value)


@pytest.mark.parametrize("value", [-1e-12, -3, math.inf, math.nan])
def test_require_nonnegative_number_refuses_negatives_inf_and_nan(value):
    with pytest.raises(ValueError, match=f"^{re.escape(f'gp_weight must be a finite number >= 0, got {value!r}')}$"):
        require_nonnegative_number("gp_weight", value)
    assert require_nonnegative_number("gp_weight", 0.0) == 0.0


def test_require_in_range_closed_and_half_open():
    assert require_in_range("p", 0, 0, 1) == 0.0 and require_in_range("p", 1, 0, 1) == 1.0
    assert require_in_range("ema", 0.999, 0, 1, include_high=False) == 0.999
    with pytest.raises(ValueError, match=r"^ema must be a number in \[0, 1\), got 1$"):
        require_in_range("ema", 1, 0, 1, include_high=False)
    with pytest.raises(ValueError, match=r"^p must be a number in \[0, 1\], got 1.5$"):
        require_in_range("p", 1.5, 0, 1)
    with pytest.raises(ValueError, match=r"^p must be a number in \[0.25, 0.5\], got 0.2$"):
        require_in_range("p", 0.2, 0.25, 0.5)
    with pytest.raises(ValueError, match=r"^p must be a number in \[0, 1\], got nan$"):
        require_in_range("p", math.nan, 0, 1)


# ---- names ---------------------------------------------------------------------------------------


def test_require_choice_returns_the_value_and_lists_the_allowed_names():
    assert require_choice("loss", "hinge", ("hinge", "wgan_gp")) == "hinge"
    with pytest.raises(ValueError, match="^loss must be one of 'hinge', 'wgan_gp'; got 'Hinge'$"):
        require_choice("loss", "Hinge", ("hinge", "wgan_gp"))
    for value in (None, 3, True, ["hinge"]):
        message = f"loss must be one of 'hinge', 'wgan_gp'; got {value!r}"
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            require_choice("loss", value, ("hinge", "wgan_gp"))


# ---- tensors -------------------------------------------------------------------------------------


def test_require_tensor_names_the_type_given():
    t = torch.zeros(2)
    assert require_tensor(t) is t
    with pytest.raises(ValueError, match="^samples must be a torch.Tensor, got ndarray$"):
        require_tensor(np.zeros(2), "samples")
    with pytest.raises(ValueError, match="^x must be a torch.Tensor, got list$"):
        require_tensor([0.0])


def test_require_finite_counts_and_locates_the_bad_entries():
    require_finite(torch.randn(4, 3))  # nothing to say
    x = torch.zeros(4, 3)
    x[1, 2] = math.nan
    x[3, 0] = -math.inf
    with pytest.raises(ValueError, match=r"^data contains 2 NaN/inf value\(s\) out of 12, e\.g\. at index "
                                         r"\(1, 2\), \(3, 0\); clean or drop those samples first$"):
        require_finite(x, "data")
    many = torch.full((10,), math.nan)
    with pytest.raises(ValueError, match=r"10 NaN/inf value\(s\) out of 10, .*\(4,\) \.\.\.;"):
        require_finite(many)


def test_require_finite_accepts_large_values_whose_sum_overflows():
    assert require_finite(torch.full((4,), 3e38)) is None  # the sum is inf in float32; every entry is finite


def test_require_binary_names_the_range_and_an_example():
    require_binary(torch.tensor([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"^x must be binary \(every value 0 or 1\) for a Bernoulli model, got "
                                         r"values in \[0, 0\.7\] with 2 non-binary value\(s\) such as 0\.3; "
                                         r"binarize it first"):
        require_binary(torch.tensor([0.0, 0.3, 0.7, 1.0]) * torch.tensor([1.0, 1.0, 1.0, 0.0]))


# ---- data --------------------------------------------------------------------------------------


def test_float_data_converts_integer_tensors_and_keeps_float64():
    x = float_data(torch.tensor([[1, 2], [3, 4]]))
    assert x.dtype == torch.float32 and x.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    d = torch.ones(3, dtype=torch.float64)
    assert float_data(d) is d
    with pytest.raises(ValueError, match="^y must be a torch.Tensor, got list$"):
        float_data([1.0], "y")
    with pytest.raises(ValueError, match=r"y contains 1 NaN/inf"):
        float_data(torch.tensor([1.0, math.inf]), "y")


def test_data_matrix_makes_columns_of_vectors_and_refuses_other_shapes():
    assert data_matrix(torch.arange(3.0)).shape == (3, 1)
    assert data_matrix(torch.ones(5, 2)).shape == (5, 2)
    for bad in (torch.ones(2, 3, 4), torch.ones(0, 2), torch.tensor(1.0)):
        message = f"x must have shape (N,) or (N, D) with N > 0, got {tuple(bad.shape)}"
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            data_matrix(bad)


def test_data_matrix_names_the_shape_given_for_an_empty_vector():
    with pytest.raises(ValueError, match=re.escape("x must have shape (N,) or (N, D) with N > 0, got (0,)")):
        data_matrix(torch.ones(0))


def test_binary_rows_flattens_trailing_dims_and_checks_binary():
    x = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 0.0], [1.0, 1.0]]])  # (2, 2, 2)
    rows = binary_rows(x)
    assert rows.shape == (2, 4) and rows.tolist() == [[1, 0, 0, 1], [0, 0, 1, 1]]
    with pytest.raises(ValueError, match=r"^images must have shape \(N, \.\.\.\) with N > 0, got \(4,\)$"):
        binary_rows(torch.ones(4), "images")
    with pytest.raises(ValueError, match=r"images must be binary .* such as 0\.5"):
        binary_rows(torch.full((2, 3), 0.5), "images")


def test_a_budget_is_steps_or_a_time_or_both_each_checked():
    assert require_budget(10, None) == (10, None)
    assert require_budget(None, 2, "minutes") == (None, 2.0)
    assert require_budget(np.int64(3), 1.5) == (3, 1.5)
    with pytest.raises(ValueError, match=r"^give steps or minutes \(or both\), got neither$"):
        require_budget(None, None, "minutes")
    with pytest.raises(ValueError, match="steps must be a positive int, got 0"):
        require_budget(0, 5)
    with pytest.raises(ValueError, match="seconds must be a positive number, got -1"):
        require_budget(None, -1)
