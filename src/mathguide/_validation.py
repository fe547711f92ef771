"""Argument checks shared by the library: each raises a message that names the argument."""

from __future__ import annotations

import numbers

import numpy as np


def as_float_array(value, name: str, *, allow_inf: bool = False, allow_nan: bool = False) -> np.ndarray:
    """Return ``value`` as a floating-point array, checked for NaN (and infinities).

    The result may share memory with ``value``: callers must not write into it.

    Integer and boolean input is promoted to float64; float32 and float64 keep their precision.
    NaN is rejected unless ``allow_nan`` (for functions that inspect the encoding of any float);
    infinities unless ``allow_inf``.
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
    if not allow_nan and np.isnan(array).any():
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


def as_matrix_stack(value, name: str, *, square: bool = False) -> np.ndarray:
    """``value`` as a finite float array of shape ``(..., m, n)``: one matrix or a stack of them.

    With ``square=True`` the matrices must be square, ``(..., n, n)``.
    """
    array = as_float_array(value, name)
    if array.ndim < 2:
        raise ValueError(f"{name} must have at least 2 dimensions (..., m, n), got shape {array.shape}")
    if square and array.shape[-1] != array.shape[-2]:
        raise ValueError(f"{name} must be a square matrix or a batch of them, got shape {array.shape}")
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
        if high is None:
            expected = f">= {low}"
        elif low is None:
            expected = f"<= {high}"
        else:
            expected = f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an integer {expected}, got {result}")
    return result


def draw_samples(sample, rng: np.random.Generator, n: int, name: str = "sample") -> np.ndarray:
    """Call a sampler callback as ``sample(rng, n)`` and check that it returned ``n`` draws on axis 0.

    The house order of a sampler's arguments is ``(rng, n)``. A callback written the other way round
    (``sample(n, rng)``) fails inside its own body with an unhelpful message such as "'Generator'
    object cannot be interpreted as an integer"; that ``TypeError`` is re-raised naming the callback
    and the expected signature.
    """
    if not callable(sample):
        raise TypeError(f"{name} must be callable, got {type(sample).__name__}")
    try:
        draws = sample(rng, n)
    except (TypeError, AttributeError) as error:
        raise TypeError(
            f"{name} is called as {name}(rng, n) with a numpy.random.Generator and an int; it raised "
            f"{type(error).__name__}: {error} (is it written as {name}(n, rng)?)"
        ) from error
    draws = np.asarray(draws)
    if draws.ndim == 0 or draws.shape[0] != n:
        raise ValueError(
            f"{name}(rng, n) must return an array whose first axis has length n = {n}, got shape {draws.shape}"
        )
    return draws


def as_result(value) -> float | np.ndarray:
    """A computed result in the house return type: a Python ``float`` for one number, else the array.

    0-d arrays and NumPy scalars become ``float`` (CONTRIBUTING.md, "Return types"); arrays with at
    least one dimension are returned unchanged.
    """
    if np.ndim(value) == 0:
        return float(value)
    return value


def check_bool(value, name: str) -> bool:
    """Return ``value`` as a Python ``bool`` after checking that it is one.

    Only ``bool`` and ``numpy.bool_`` are accepted: a string such as ``"no"`` is truthy, and an
    integer flag hides a swapped argument, so both are refused with a ``TypeError`` naming ``name``.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool (True or False), got {value!r}")
    return bool(value)
