"""The argument checks shared by the whole library (src/mathguide/_validation.py)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from mathguide._exports import reexport
from mathguide._validation import (
    as_float_array,
    as_generator,
    as_matrix_stack,
    as_result,
    as_square_matrix,
    check_axis,
    check_bool,
    check_int,
    check_positive_int,
    check_real_scalar,
    draw_samples,
)


def test_as_float_array_promotes_integers_and_keeps_float_precision() -> None:
    assert as_float_array([1, 2], "x").dtype == np.float64
    assert as_float_array(np.array([True]), "x").dtype == np.float64
    assert as_float_array(np.ones(2, np.float32), "x").dtype == np.float32


@pytest.mark.parametrize(
    "value, error, message",
    [
        ("abc", TypeError, "x must be array-like of real numbers"),
        ([1 + 2j], TypeError, "x must be array-like of real numbers"),
        ([None, 1.0], TypeError, "x must be array-like of real numbers"),
        ([np.nan], ValueError, "x must not contain NaN"),
        ([np.inf], ValueError, "x must be finite"),
    ],
)
def test_as_float_array_rejects(value, error, message) -> None:
    with pytest.raises(error, match=message):
        as_float_array(value, "x")


def test_as_float_array_allows_infinities_on_request() -> None:
    assert np.isneginf(as_float_array([-np.inf, 0.0], "x", allow_inf=True)[0])


@pytest.mark.parametrize("value", [0, -3, 1.5, True, "2"])
def test_check_positive_int_rejects(value) -> None:
    with pytest.raises((TypeError, ValueError), match="n must be a positive integer"):
        check_positive_int(value, "n")


def test_check_positive_int_accepts_numpy_integers() -> None:
    assert check_positive_int(np.int64(7), "n") == 7


def test_as_generator_is_reproducible_and_refuses_none() -> None:
    assert as_generator(5).random() == np.random.default_rng(5).random()
    generator = np.random.default_rng(1)
    assert as_generator(generator) is generator
    with pytest.raises(TypeError, match="rng must be"):
        as_generator(None)
    with pytest.raises(TypeError, match="rng must be"):
        as_generator(1.5)


@pytest.mark.parametrize("axis, ndim, expected", [(-1, 3, 2), (0, 1, 0), (2, 3, 2), (-3, 3, 0)])
def test_check_axis_normalises(axis, ndim, expected) -> None:
    assert check_axis(axis, ndim) == expected


def test_check_axis_rejects() -> None:
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        check_axis(3, 3)
    with pytest.raises(TypeError, match="axis must be an integer"):
        check_axis(1.0, 3)
    with pytest.raises(TypeError, match="axis must be an integer"):
        check_axis(True, 3)


def test_as_matrix_stack() -> None:
    assert as_matrix_stack(np.zeros((2, 3, 4)), "a").shape == (2, 3, 4)
    with pytest.raises(ValueError, match="a must have at least 2 dimensions"):
        as_matrix_stack([1.0, 2.0], "a")


def test_as_square_matrix() -> None:
    assert as_square_matrix(np.eye(3), "a").shape == (3, 3)
    for bad in (np.zeros((2, 3)), np.zeros(3), np.zeros((2, 2, 2))):
        with pytest.raises(ValueError, match="a must be a square 2-D array"):
            as_square_matrix(bad, "a")


# --- real scalars, bounded integers, and the generated package namespaces ---------------------------


def test_check_real_scalar_accepts_numbers_and_0d_arrays() -> None:
    assert check_real_scalar(2, "t") == 2.0
    assert isinstance(check_real_scalar(np.float32(1.5), "t"), float)
    assert check_real_scalar(np.array(3.0), "t") == 3.0
    assert check_real_scalar(np.inf, "t", allow_inf=True) == np.inf
    assert check_real_scalar(0.0, "t", nonnegative=True) == 0.0


@pytest.mark.parametrize(
    "value, kwargs, error, message",
    [
        (True, {}, TypeError, "tau must be a real number"),
        ("1", {}, TypeError, "tau must be a real number"),
        (1j, {}, TypeError, "tau must be a real number"),
        (np.ones(2), {}, TypeError, "tau must be a real number"),
        (np.nan, {}, ValueError, "tau must not be NaN"),
        (np.inf, {}, ValueError, "tau must be finite"),
        (0.0, {"positive": True}, ValueError, "tau must be positive"),
        (-1e-300, {"nonnegative": True}, ValueError, "tau must be non-negative"),
    ],
)
def test_check_real_scalar_rejects(value, kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        check_real_scalar(value, "tau", **kwargs)


def test_check_int_bounds() -> None:
    assert check_int(np.int64(3), "k", low=1, high=3) == 3
    with pytest.raises(ValueError, match=r"k must be an integer in \[1, 3\], got 4"):
        check_int(4, "k", low=1, high=3)
    with pytest.raises(ValueError, match=r"k must be an integer <= 0, got 1"):
        check_int(1, "k", high=0)
    with pytest.raises(ValueError, match=r"n must be an integer >= 2, got 1"):
        check_int(1, "n", low=2)
    for bad in (True, 2.0, "2", None):
        with pytest.raises(TypeError, match="k must be an integer"):
            check_int(bad, "k")


def test_reexport_builds_the_union_and_refuses_clashes() -> None:
    namespace: dict = {}
    names = reexport("mathguide.simplex", ("softmax", "sparsemax"), namespace)
    # `import mathguide.simplex.softmax as m` would give the function that shadows its module.
    softmax_module = importlib.import_module("mathguide.simplex.softmax")
    sparsemax_module = importlib.import_module("mathguide.simplex.sparsemax")

    assert names == sorted(set(softmax_module.__all__) | set(sparsemax_module.__all__))
    assert namespace["sparsemax"] is sparsemax_module.sparsemax
    with pytest.raises(ImportError, match="exported by both"):
        reexport("mathguide.simplex", ("softmax", "softmax"), {})


def test_as_float_array_allow_nan() -> None:
    assert np.isnan(as_float_array([np.nan, 1.0], "x", allow_nan=True)).sum() == 1
    with pytest.raises(ValueError, match="x must not contain NaN"):
        as_float_array([np.nan], "x", allow_inf=True)


def test_as_matrix_stack_square() -> None:
    assert as_matrix_stack(np.zeros((4, 2, 2)), "a", square=True).shape == (4, 2, 2)
    with pytest.raises(ValueError, match=r"a must be a square matrix or a batch of them, got shape \(2, 3\)"):
        as_matrix_stack(np.zeros((2, 3)), "a", square=True)


def test_as_result_gives_python_floats_for_one_number() -> None:
    for value in (np.float64(1.5), np.array(1.5), np.float32(1.5), 1.5):
        result = as_result(value)
        assert type(result) is float and result == 1.5
    batch = np.array([1.0, 2.0])
    assert as_result(batch) is batch


def test_draw_samples_calls_rng_first_and_names_a_wrong_order() -> None:
    rng = np.random.default_rng(0)
    draws = draw_samples(lambda g, n: g.normal(size=(n, 2)), rng, 3, "sample_q")
    assert draws.shape == (3, 2)
    with pytest.raises(TypeError, match=r"sample_q is called as sample_q\(rng, n\).*written as sample_q\(n, rng\)"):
        draw_samples(lambda n, g: g.normal(size=n), rng, 3, "sample_q")
    with pytest.raises(ValueError, match=r"sample_q\(rng, n\) must return an array whose first axis has length n = 3"):
        draw_samples(lambda g, n: np.zeros(n - 1), rng, 3, "sample_q")
    with pytest.raises(TypeError, match="sample_q must be callable"):
        draw_samples(3, rng, 3, "sample_q")


@pytest.mark.parametrize("value", [True, False, np.True_, np.False_])
def test_check_bool_accepts_booleans(value) -> None:
    assert check_bool(value, "flag") is bool(value)


@pytest.mark.parametrize("value", ["no", "", 0, 1, 1.0, None, np.array([True]), np.int64(1)])
def test_check_bool_refuses_everything_else(value) -> None:
    with pytest.raises(TypeError, match="flag must be a bool"):
        check_bool(value, "flag")
