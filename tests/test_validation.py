"""The argument checks shared by the whole library (src/mathguide/_validation.py)."""

from __future__ import annotations

import numpy as np
import pytest

from mathguide._validation import (
    as_float_array,
    as_generator,
    as_matrix_stack,
    as_square_matrix,
    check_axis,
    check_positive_int,
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
