"""Argument checks shared by the library: each raises a message that names the argument."""

from __future__ import annotations

import numbers

import numpy as np


def as_float_array(value, name: str, *, allow_inf: bool = False) -> np.ndarray:
    """Return ``value`` as a floating-point array, checked for NaN (and infinities).

    The result may share memory with ``value``: callers must not write into it.

    Integer and boolean input is promoted to float64; float32 and float64 keep their precision.
    NaN is always rejected; infinities only when ``allow_inf`` is false.
    """
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be array-like of real numbers, got {type(value).__name__}")
    array = np.asarray(value)
    if array.dtype == object or np.iscomplexobj(array) or not (
        np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.bool_)
    ):
        raise TypeError(f"{name} must be array-like of real numbers, got dtype {array.dtype}")
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
    if np.isnan(array).any():
        raise ValueError(f"{name} must not contain NaN")
    if not allow_inf and np.isinf(array).any():
        raise ValueError(f"{name} must be finite, got an infinite entry")
    return array


def check_positive_int(value, name: str) -> int:
    """Return ``value`` as an ``int`` after checking that it is a positive whole number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return int(value)


def as_generator(rng) -> np.random.Generator:
    """Normalise ``rng`` (a ``numpy.random.Generator`` or an integer seed) to a Generator.

    ``None`` is refused: every random function of the book is reproducible by construction.
    """
    if rng is None:
        raise TypeError("rng must be a numpy.random.Generator or an integer seed, got None")
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, bool) or not isinstance(rng, (numbers.Integral, np.random.SeedSequence)):
        raise TypeError(f"rng must be a numpy.random.Generator or an integer seed, got {rng!r}")
    return np.random.default_rng(rng)


def check_axis(axis, ndim: int) -> int:
    """Return ``axis`` as a non-negative index into an array of ``ndim`` dimensions."""
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"axis must be an integer, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for an input with {ndim} dimension(s)")
    return int(axis) % ndim


def as_matrix_stack(value, name: str) -> np.ndarray:
    """``value`` as a finite float array of shape ``(..., m, n)``: one matrix or a stack of them."""
    array = as_float_array(value, name)
    if array.ndim < 2:
        raise ValueError(f"{name} must have at least 2 dimensions (..., m, n), got shape {array.shape}")
    return array


def as_square_matrix(value, name: str) -> np.ndarray:
    """``value`` as a finite float array of shape ``(n, n)``."""
    array = as_float_array(value, name)
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise ValueError(f"{name} must be a square 2-D array, got shape {array.shape}")
    return array


def check_real_scalar(
    value,
    name: str,
    *,
    positive: bool = False,
    nonnegative: bool = False,
    allow_inf: bool = False,
) -> float:
    """Return ``value`` as a Python ``float`` after checking that it is one real number.

    Booleans, strings, complex numbers and arrays of more than one element are refused with a
    ``TypeError``; NaN always, infinities unless ``allow_inf``, and values outside the requested sign
    with a ``ValueError``.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    result = float(value)
    if np.isnan(result):
        raise ValueError(f"{name} must not be NaN")
    if not allow_inf and np.isinf(result):
        raise ValueError(f"{name} must be finite, got {result}")
    if positive and not result > 0:
        raise ValueError(f"{name} must be positive, got {result}")
    if nonnegative and not result >= 0:
        raise ValueError(f"{name} must be non-negative, got {result}")
    return result


def check_int(value, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an ``int`` after checking that it is a whole number in ``[low, high]``.

    Either bound may be ``None`` (no bound). Booleans and floats are refused with a ``TypeError``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    result = int(value)
    if (low is not None and result < low) or (high is not None and result > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {result}")
    return result
