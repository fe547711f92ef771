"""Floating point and conditioning: unit roundoff, norms, condition numbers, forward and backward error.

The kernels behind the chapter ``chapters/linalg/floating-point.md``: the fields of an IEEE 754 double,
the unit roundoff of a floating-point format, vector and matrix norms (computed without overflow) and
the constants that relate them, the condition number of a matrix and of a scalar function, the
relative forward error and the normwise (Rigal–Gaches) backward error of an approximate solution of
``A x = b``, the perturbation bound that links them, an exact rational solver used as a reference, and
a cancellation-prone formula in an unstable and a stable version.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import NamedTuple

import numpy as np
import scipy.linalg.lapack

from mathguide._validation import as_float_array, as_matrix_stack, as_result, check_bool, check_positive_int

__all__ = [
    "Float64Fields",
    "condition_number",
    "float64_fields",
    "matrix_norm",
    "norm_equivalence_constant",
    "normwise_backward_error",
    "one_minus_cos_ratio_naive",
    "one_minus_cos_ratio_stable",
    "perturbation_bound",
    "relative_condition_number",
    "relative_forward_error",
    "solve_exact_rational",
    "unit_roundoff",
    "vector_norm",
]

_VECTOR_ORDS = (1, 2, np.inf)
_MATRIX_ORDS = (1, 2, np.inf, "fro")


class Float64Fields(NamedTuple):
    """The three bit fields of IEEE 754 binary64 numbers (arrays of ``int64``, same shape as the input)."""

    sign: np.ndarray  # 0 for +, 1 for -
    exponent: np.ndarray  # biased exponent, 0 (zero and subnormals) ... 2047 (inf and NaN)
    fraction: np.ndarray  # the 52 stored fraction bits, 0 ... 2**52 - 1


def _check_ord(ord, allowed: tuple, name: str = "ord"):
    """Return ``ord`` normalised (``'fro'`` or a float/int) after checking it is one of ``allowed``."""
    if isinstance(ord, str):
        if ord in allowed:
            return ord
    elif not isinstance(ord, bool) and isinstance(ord, (int, float, np.integer, np.floating)):
        for value in allowed:
            if not isinstance(value, str) and ord == value:
                return value
    raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}, got {ord!r}")


def _square_stack(a, name: str) -> np.ndarray:
    """A finite float array of shape ``(..., n, n)`` with ``n >= 1``."""
    array = as_matrix_stack(a, name, square=True)
    if array.shape[-1] == 0:
        raise ValueError(f"{name} must have at least one row, got shape {array.shape}")
    return array


def unit_roundoff(dtype=np.float64) -> float:
    r"""Unit roundoff :math:`u = 2^{-p}` of a binary floating-point format with ``p`` significand bits.

    Rounding to nearest gives :math:`\operatorname{fl}(x) = x (1 + \delta)` with
    :math:`|\delta| \le u` for every real ``x`` in the normal range. The machine epsilon, the gap
    between 1 and the next larger float, is :math:`2^{1-p} = 2u` (``np.finfo(dtype).eps``).

    Parameters
    ----------
    dtype : dtype-like, default float64
        A real floating-point type (``float16``, ``float32``, ``float64``, ``longdouble``).

    Returns
    -------
    float
        ``2 ** -(nmant + 1)``: ``2**-11``, ``2**-24``, ``2**-53`` for half, single, double.

    Raises
    ------
    TypeError
        If ``dtype`` is not a real floating-point type.

    Notes
    -----
    Computed from the number of stored fraction bits ``np.finfo(dtype).nmant`` (the leading bit of a
    normal number is implicit, so ``p = nmant + 1``), not from ``eps``.

    References
    ----------
    N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM, 2002, §2.1.

    See the chapter ``chapters/linalg/floating-point.md``.
    """
    try:
        kind = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"dtype must be a real floating-point type, got {dtype!r}") from error
    if not np.issubdtype(kind, np.floating):
        raise TypeError(f"dtype must be a real floating-point type, got {kind}")
    return float(2.0 ** -(np.finfo(kind).nmant + 1))


def float64_fields(x) -> Float64Fields:
    r"""Split IEEE 754 doubles into sign, biased exponent and fraction bits.

    A double with fields ``(s, e, f)`` has the value :math:`(-1)^s\, 2^{e - 1023} (1 + f / 2^{52})`
    when :math:`1 \le e \le 2046` (normal), :math:`(-1)^s\, 2^{-1022} f / 2^{52}` when ``e = 0``
    (zero and subnormals), and is :math:`\pm\infty` (``f = 0``) or NaN (``f > 0``) when ``e = 2047``.

    Parameters
    ----------
    x : array_like of real numbers, any shape
        Converted to float64 (infinities and NaN allowed: they have bit patterns too).

    Returns
    -------
    Float64Fields
        ``(sign, exponent, fraction)``, each an ``int64`` array of the shape of ``x``.

    Raises
    ------
    TypeError
        If ``x`` is not real and numeric.

    Notes
    -----
    Reads the 64 bits with ``view(np.uint64)`` (no arithmetic on the value, so nothing is rounded).

    See the chapter ``chapters/linalg/floating-point.md``.
    """
    array = as_float_array(x, "x", allow_inf=True, allow_nan=True)
    # astype makes a copy in float64: the view below never aliases the caller's memory.
    bits = np.ascontiguousarray(array.astype(np.float64)).view(np.uint64)
    sign = (bits >> np.uint64(63)).astype(np.int64)
    exponent = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64)
    fraction = (bits & np.uint64((1 << 52) - 1)).astype(np.int64)
    return Float64Fields(sign, exponent, fraction)


def vector_norm(x, ord=2, *, axis: int = -1) -> float | np.ndarray:
    r"""The 1-, 2- or :math:`\infty`-norm of vectors along ``axis``, without overflow or underflow.

    :math:`\|\boldsymbol{x}\|_1 = \sum_i |x_i|`, :math:`\|\boldsymbol{x}\|_2 = (\sum_i x_i^2)^{1/2}`,
    :math:`\|\boldsymbol{x}\|_\infty = \max_i |x_i|` (0 for an empty vector).

    Parameters
    ----------
    x : array_like of shape (..., n, ...)
        Finite real entries.
    ord : {1, 2, inf}, default 2
    axis : int, default -1
        The axis holding the entries of each vector.

    Returns
    -------
    ndarray
        The norms, shape of ``x`` without ``axis``.

    Raises
    ------
    ValueError
        If ``x`` has NaN or infinite entries, ``ord`` is not supported, or ``axis`` is out of range.

    Notes
    -----
    The 2-norm divides by :math:`m = \|\boldsymbol{x}\|_\infty` before squaring and multiplies back:
    :math:`m \|\boldsymbol{x}/m\|_2` never overflows when the answer is representable (squaring
    ``1e200`` directly gives ``inf``), and never underflows to 0 for tiny nonzero vectors. Cost
    :math:`O(n)` per vector.

    See the chapter ``chapters/linalg/floating-point.md``.
    """
    array = as_float_array(x, "x")
    ord = _check_ord(ord, _VECTOR_ORDS)
    if array.ndim == 0:
        raise ValueError("x must have at least one dimension, got a scalar")
    if not -array.ndim <= axis < array.ndim:
        raise ValueError(f"axis {axis} is out of range for x of shape {array.shape}")
    magnitude = np.abs(array)
    if ord == 1:
        return as_result(magnitude.sum(axis=axis))
    largest = magnitude.max(axis=axis, initial=0.0)
    if ord == np.inf:
        return as_result(largest)
    # Scale by the largest entry so that the squares are at most 1: no overflow, no total underflow.
    scale = np.expand_dims(np.where(largest > 0, largest, 1.0), axis)
    return as_result(largest * np.sqrt(np.sum((magnitude / scale) ** 2, axis=axis)))


def matrix_norm(a, ord=2) -> float | np.ndarray:
    r"""The 1-, 2-, :math:`\infty`- or Frobenius norm of matrices (batched over leading axes).

    :math:`\|\mat{A}\|_1 = \max_j \sum_i |a_{ij}|` (largest column sum),
    :math:`\|\mat{A}\|_\infty = \max_i \sum_j |a_{ij}|` (largest row sum),
    :math:`\|\mat{A}\|_2 = \sigma_{\max}(\mat{A})`, :math:`\|\mat{A}\|_F = (\sum_{ij} a_{ij}^2)^{1/2}`.

    Parameters
    ----------
    a : array_like of shape (..., m, n)
        Finite real entries; ``m`` or ``n`` may be 0 (the norm is then 0).
    ord : {1, 2, inf, 'fro'}, default 2

    Returns
    -------
    ndarray of shape (...)

    Raises
    ------
    ValueError
        If ``a`` has fewer than two dimensions, non-finite entries, or ``ord`` is not supported.

    Notes
    -----
    The Frobenius norm is the scaled 2-norm of the flattened matrix (see :func:`vector_norm`); the
    2-norm costs an SVD, :math:`O(mn\min(m, n))`; the others :math:`O(mn)`.

    See the chapter ``chapters/linalg/floating-point.md``.
    """
    array = as_float_array(a, "a")
    ord = _check_ord(ord, _MATRIX_ORDS)
    if array.ndim < 2:
        raise ValueError(f"a must be a matrix or a batch of matrices, got shape {array.shape}")
    magnitude = np.abs(array)
    if ord == 1:
        return as_result(magnitude.sum(axis=-2).max(axis=-1, initial=0.0))
    if ord == np.inf:
        return as_result(magnitude.sum(axis=-1).max(axis=-1, initial=0.0))
    if ord == "fro":
        flat = array.reshape(*array.shape[:-2], array.shape[-2] * array.shape[-1])
        return as_result(vector_norm(flat, 2))
    if 0 in array.shape[-2:]:
        return as_result(np.zeros(array.shape[:-2], dtype=array.dtype))
    return as_result(np.linalg.svd(array, compute_uv=False)[..., 0])


def norm_equivalence_constant(p, q, shape: tuple[int, ...]) -> float:
    r"""The smallest ``c`` with :math:`\|\cdot\|_p \le c\, \|\cdot\|_q` on vectors or matrices of ``shape``.

    Vectors of length ``n``: :math:`c = n^{\max(0,\, 1/p - 1/q)}` for ``p, q`` in ``{1, 2, inf}``.
    Matrices of shape ``(m, n)``, ``p, q`` in ``{1, 2, inf, 'fro'}`` (rows ``p``, columns ``q``):

    ======  ========  ==================  ========  ========
    p \\ q  1         2                   inf       fro
    ======  ========  ==================  ========  ========
    1       1         sqrt(m)             m         sqrt(m)
    2       sqrt(n)   1                   sqrt(m)   1
    inf     n         sqrt(n)             1         sqrt(n)
    fro     sqrt(n)   sqrt(min(m, n))     sqrt(m)   1
    ======  ========  ==================  ========  ========

    Parameters
    ----------
    p, q : {1, 2, inf} for vectors, {1, 2, inf, 'fro'} for matrices
    shape : tuple of one or two positive ints
        ``(n,)`` for vectors, ``(m, n)`` for matrices.

    Returns
    -------
    float
        The constant; every entry of the table is attained (it is the best possible).

    Raises
    ------
    ValueError
        If ``shape`` is not one or two positive sizes or ``p``/``q`` is not supported.

    References
    ----------
    G. H. Golub and C. F. Van Loan, *Matrix Computations*, 4th ed., 2013, §2.2.2 and §2.3.2.

    See the chapter ``chapters/linalg/floating-point.md``.
    """
    shape = tuple(shape)
    if len(shape) not in (1, 2):
        raise ValueError(f"shape must be (n,) or (m, n) with positive sizes, got {shape!r}")
    shape = tuple(check_positive_int(size, "shape entries") for size in shape)
    if len(shape) == 1:
        p = _check_ord(p, _VECTOR_ORDS, "p")
        q = _check_ord(q, _VECTOR_ORDS, "q")
        exponent = max(0.0, 1.0 / p - 1.0 / q)
        return float(shape[0] ** exponent)
    p = _check_ord(p, _MATRIX_ORDS, "p")
    q = _check_ord(q, _MATRIX_ORDS, "q")
    m, n = (int(size) for size in shape)
    table = {
        (1, 1): 1, (1, 2): m**0.5, (1, np.inf): m, (1, "fro"): m**0.5,
        (2, 1): n**0.5, (2, 2): 1, (2, np.inf): m**0.5, (2, "fro"): 1,
        (np.inf, 1): n, (np.inf, 2): n**0.5, (np.inf, np.inf): 1, (np.inf, "fro"): n**0.5,
        ("fro", 1): n**0.5, ("fro", 2): min(m, n) ** 0.5, ("fro", np.inf): m**0.5, ("fro", "fro"): 1,
    }  # fmt: skip
    return float(table[(p, q)])


def condition_number(a, ord=2) -> float | np.ndarray:
    r"""Condition number :math:`\kappa(\mat{A}) = \|\mat{A}\| \, \|\mat{A}^{-1}\|` of square matrices.

    For ``ord=2`` this is :math:`\sigma_{\max}/\sigma_{\min}`; for ``ord`` 1, inf and ``'fro'`` the
    norm of the matrix times the norm of its inverse. A matrix is reported singular
    (:math:`\kappa = \infty`) when LU factorisation with partial pivoting (LAPACK ``getrf``) meets
    an exactly zero pivot, or the computed :math:`\sigma_{\min}` is exactly 0.

    Parameters
    ----------
    a : array_like of shape (..., n, n)
        Finite real square matrices, ``n >= 1``; leading axes are a batch.
    ord : {1, 2, inf, 'fro'}, default 2

    Returns
    -------
    ndarray of shape (...)
        :math:`\kappa(\mat{A}) \ge 1`; ``inf`` for the matrices found singular (see Notes).

    Raises
    ------
    ValueError
        If ``a`` is not a (batch of) nonempty square matrices, has non-finite entries, or ``ord`` is
        not supported.

    Notes
    -----
    *Which matrices give* ``inf``. Exact singularity cannot be decided from an SVD: LAPACK does not
    promise an exactly zero singular value even for a matrix with a zero row (its computed
    :math:`\sigma_{\min}` is of order :math:`u\,\sigma_{\max}`, and depends on the BLAS kernel).
    What IEEE arithmetic does promise is a zero pivot in LU with partial pivoting for a matrix with
    a zero row or a zero column (multipliers and updates involving exact zeros are exact zeros), as
    for the zero matrix and for a diagonal matrix with a zero on its diagonal. So ``inf`` is returned
    when ``getrf`` meets a zero pivot (as ``numpy.linalg.cond`` does for ``p != 2``, through ``inv``);
    such a matrix is singular, or within rounding of singular (an exactly zero pivot can also come
    from cancellation, for :math:`\kappa \gtrsim 1/u`). *In between*, a matrix that is singular in
    exact arithmetic but whose pivots all come out nonzero (rounded) gets a huge *finite* number,
    usually of order :math:`1/u \approx 10^{16}` or more: any :math:`\kappa \gtrsim 1/u` means
    "numerically singular", and its digits mean nothing.

    Cost: one LU (:math:`2n^3/3`) and one SVD :math:`\mat{A} = \mat{U}\boldsymbol{\Sigma}\mat{V}^\top`
    per matrix, :math:`O(n^3)`. Both work on the matrix divided by a power of two near its largest
    entry (exact), so that tiny or huge entries neither underflow nor overflow in the updates. For
    ``ord`` other than 2 the matrix is scaled by :math:`1/\sigma_{\max}` (which leaves
    :math:`\kappa` unchanged, and keeps the inverse of a tiny but well-conditioned matrix from
    overflowing) and the inverse is formed from the SVD as
    :math:`\mat{V}\boldsymbol{\Sigma}^{-1}\mat{U}^\top`.

    References
    ----------
    L. N. Trefethen and D. Bau, *Numerical Linear Algebra*, SIAM, 1997, Lecture 12.

    See the chapter ``chapters/linalg/floating-point.md``.
    """
    array = as_float_array(a, "a")
    ord = _check_ord(ord, _MATRIX_ORDS)
    array = _square_stack(array, "a")
    # Divide by a power of two near max |a_ij| (exact): kappa is unchanged, and neither the LU updates
    # nor the SVD meet underflow (entries near 2**-1000) or overflow (near 2**1000).
    array = array / _power_of_two_scale(array)
    zero_pivot = _zero_pivot_in_lu(array)
    if ord == 2:
        singular_values = np.linalg.svd(array, compute_uv=False)
        largest, smallest = singular_values[..., 0], singular_values[..., -1]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # smallest == 0 (also for the zero matrix, where 0/0 would be NaN) means singular.
            result = np.where(smallest > 0, largest / np.where(smallest > 0, smallest, 1.0), np.inf)
        return as_result(np.where(zero_pivot, np.inf, result))
    left, singular_values, right_t = np.linalg.svd(array)
    singular = (singular_values[..., -1] == 0) | zero_pivot
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # Guard the divisions: singular matrices are reported as inf below, not through 1/0.
        safe = np.where(singular[..., None], 1.0, singular_values)
        # kappa(A) = kappa(A / sigma_max): scaling first keeps the inverse's entries below
        # kappa_2(A), so it overflows only when kappa itself does (1/sigma_min alone overflows for
        # a tiny, e.g. subnormal, but well-conditioned matrix).
        largest = safe[..., :1]
        inverse = np.swapaxes(right_t, -1, -2) @ (np.swapaxes(left, -1, -2) * (largest / safe)[..., :, None])
        result = matrix_norm(array / largest[..., None], ord) * _norm_allowing_inf(inverse, ord)
    return as_result(np.where(singular, np.inf, result))


def _power_of_two_scale(a: np.ndarray) -> np.ndarray:
    """Per matrix, the power of two just above ``max |a_ij|`` (1 for a zero matrix), shape (..., 1, 1)."""
    largest = np.max(np.abs(a), axis=(-2, -1), keepdims=True, initial=0.0)
    return np.ldexp(np.ones_like(largest), np.frexp(largest)[1])


def _zero_pivot_in_lu(a: np.ndarray) -> np.ndarray:
    """Per matrix of the stack, whether LAPACK's LU with partial pivoting (``getrf``) meets a zero pivot.

    ``getrf`` reports ``info > 0`` when ``u_ii`` is exactly zero: guaranteed for a zero row or column.
    """
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    (getrf,) = scipy.linalg.lapack.get_lapack_funcs(("getrf",), (a,))
    flags = np.zeros(a.shape[:-2], dtype=bool)
    for index in np.ndindex(*a.shape[:-2]):
        _, _, info = getrf(a[index])
        if info < 0:  # an illegal argument: a bug here, not a property of the matrix
            raise RuntimeError(f"LAPACK getrf rejected argument {-info}")
        flags[index] = info > 0
    return flags


def _norm_allowing_inf(a: np.ndarray, ord) -> np.ndarray:
    """Matrix norm of an inverse that may have overflowed (then the norm is inf)."""
    overflowed = ~np.isfinite(a).all(axis=(-2, -1))
    finite = np.where(overflowed[..., None, None], 0.0, a)
    return np.where(overflowed, np.inf, matrix_norm(finite, ord))


def relative_condition_number(
    f: Callable[[np.ndarray], np.ndarray], df: Callable[[np.ndarray], np.ndarray], x
) -> float | np.ndarray:
    r"""Relative condition number :math:`\kappa_f(x) = |x f'(x) / f(x)|` of a scalar function.

    A relative perturbation :math:`\varepsilon` of the argument changes the value by a relative
    amount :math:`\kappa_f(x)\,\varepsilon + O(\varepsilon^2)`.

    Parameters
    ----------
    f, df : callable
        The function and its derivative, both vectorised (array in, array of the same shape out).
    x : array_like
        Finite real points.

    Returns
    -------
    ndarray, shape of ``x``
        :math:`\kappa_f(x)`; ``inf`` where :math:`f(x) = 0 \ne x f'(x)`, and 0 where
        :math:`x f'(x) = 0` (including ``x = 0``).

    Raises
    ------
    TypeError
        If ``f`` or ``df`` is not callable, or returns values that are not real numbers.
    ValueError
        If ``x`` has non-finite entries, or ``f`` or ``df`` returns an array of another shape than
        ``x`` (it must be vectorised: array in, array of the same shape out).

    See the chapter ``chapters/linalg/floating-point.md``.
    """
    if not callable(f) or not callable(df):
        raise TypeError("f and df must be callables")
    points = as_float_array(x, "x")
    numerator = np.abs(points * _callback_values(df, points, "df"))
    denominator = np.abs(_callback_values(f, points, "f"))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = numerator / denominator
    return as_result(np.where(numerator == 0, 0.0, ratio))


def _callback_values(function, points: np.ndarray, name: str) -> np.ndarray:
    """``function(points)`` as a float array, checked: real, of the shape of ``points`` (no broadcasting)."""
    values = np.asarray(function(points))
    if values.dtype == object or np.iscomplexobj(values) or not (
        np.issubdtype(values.dtype, np.number) or np.issubdtype(values.dtype, np.bool_)
    ):
        raise TypeError(f"{name} must return real numbers, got dtype {values.dtype}")
    if values.shape != points.shape:
        raise ValueError(f"{name} must return an array of the shape of x, {points.shape}, got shape {values.shape}")
    return values.astype(float)


def relative_forward_error(x_hat, x, ord=2) -> float | np.ndarray:
    r"""Normwise relative forward error :math:`\|\hat{\boldsymbol{x}} - \boldsymbol{x}\| / \|\boldsymbol{x}\|`.

    Parameters
    ----------
    x_hat : array_like of shape (..., n)
        Computed vectors (last axis: entries); broadcast against ``x``.
    x : array_like of shape (..., n)
        Exact vectors.
    ord : {1, 2, inf}, default 2
        The vector norm.

    Returns
    -------
    ndarray, the broadcast batch shape
        The relative errors; where :math:`\boldsymbol{x} = 0` the error is 0 if
        :math:`\hat{\boldsymbol{x}} = 0` too and ``inf`` otherwise.

    Raises
    ------
    ValueError
        If an input has non-finite entries or is a scalar, the last axes differ, or ``ord`` is not
        supported.

    See the chapter ``chapters/linalg/floating-point.md``.
    """
    computed = as_float_array(x_hat, "x_hat")
    exact = as_float_array(x, "x")
    if computed.ndim == 0 or exact.ndim == 0:
        raise ValueError("x_hat and x must be vectors (at least one dimension)")
    if computed.shape[-1] != exact.shape[-1]:
        raise ValueError(f"x_hat and x must have the same length, got {computed.shape} and {exact.shape}")
    error = vector_norm(computed - exact, ord)
    size = vector_norm(exact, ord)
    size, error = np.broadcast_arrays(size, error)
    with np.errstate(divide="ignore", invalid="ignore"):
        return as_result(np.where(size > 0, error / np.where(size > 0, size, 1.0), np.where(error > 0, np.inf, 0.0)))


def normwise_backward_error(a, x_hat, b, ord=2, *, exact: bool = False) -> float | np.ndarray:
    r"""Normwise backward error (Rigal–Gaches) of :math:`\hat{\boldsymbol{x}}` for
    :math:`\mat{A}\boldsymbol{x} = \boldsymbol{b}`.

    The smallest :math:`\eta` such that :math:`(\mat{A} + \Delta\mat{A})\hat{\boldsymbol{x}} =
    \boldsymbol{b} + \Delta\boldsymbol{b}` with :math:`\|\Delta\mat{A}\| \le \eta \|\mat{A}\|` and
    :math:`\|\Delta\boldsymbol{b}\| \le \eta \|\boldsymbol{b}\|` is

    .. math:: \eta = \frac{\|\boldsymbol{b} - \mat{A}\hat{\boldsymbol{x}}\|}
                          {\|\mat{A}\|\,\|\hat{\boldsymbol{x}}\| + \|\boldsymbol{b}\|}.

    Parameters
    ----------
    a : array_like of shape (..., n, n)
        Finite square matrices (leading axes: a batch).
    x_hat : array_like of shape (..., n)
        Approximate solutions.
    b : array_like of shape (..., n)
        Right-hand sides; batch axes of the three inputs broadcast.
    ord : {1, 2, inf}, default 2
        Vector norm; the matrix norm is the one it induces.
    exact : bool, default False
        Compute the residual :math:`\boldsymbol{b} - \mat{A}\hat{\boldsymbol{x}}` in exact
        rational arithmetic and round it once (a Python loop: for reference computations with small
        ``n``), so that the result is the true backward error up to a few roundings.

    Returns
    -------
    ndarray, the broadcast batch shape
        :math:`\eta` (0 when the residual is 0, including the all-zero problem).

    Raises
    ------
    TypeError
        If ``exact`` is not a bool (``bool`` or ``numpy.bool_``).
    ValueError
        If shapes do not match, an input is not finite, ``ord`` is not supported, or the residual
        overflows (entries of ``a @ x_hat`` beyond the float64 range).

    Notes
    -----
    :math:`\eta` is invariant under :math:`(\mat{A}, \hat{\boldsymbol{x}}, \boldsymbol{b}) \to
    (\alpha\mat{A}, \beta\hat{\boldsymbol{x}}, \alpha\beta\boldsymbol{b})`: rescale a problem whose
    residual overflows. If only :math:`\|\mat{A}\|\,\|\hat{\boldsymbol{x}}\|` overflows, the
    result underestimates :math:`\eta` (it is 0 when the residual is below the float64 range).
    With ``exact=False`` the residual is computed in the working precision, so the result carries an
    absolute error of up to about :math:`(n + 1) u` (times :math:`\sqrt{n}` for ``ord=2``, since
    :math:`\|\,|\mat{A}|\,\|_2 \le \sqrt{n}\,\|\mat{A}\|_2`): a measured :math:`\eta` of order
    :math:`u` means "as good as the data", and its digits beyond that are noise. ``exact=True``
    removes this error.

    References
    ----------
    J. L. Rigal and J. Gaches, On the compatibility of a given solution with the data of a linear
    system, J. ACM 14 (1967); N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, Thm 7.1.

    See the chapter ``chapters/linalg/floating-point.md``.
    """
    matrix = as_float_array(a, "a")
    computed = as_float_array(x_hat, "x_hat")
    rhs = as_float_array(b, "b")
    ord = _check_ord(ord, _VECTOR_ORDS)
    matrix = _square_stack(matrix, "a")
    n = matrix.shape[-1]
    for name, vector in (("x_hat", computed), ("b", rhs)):
        if vector.ndim == 0 or vector.shape[-1] != n:
            raise ValueError(f"{name} must have shape (..., {n}) to match a, got {vector.shape}")
    exact = check_bool(exact, "exact")
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below, by name
        if exact:
            residual = _exact_residual(matrix, computed, rhs)
        else:
            residual = rhs - np.einsum("...ij,...j->...i", matrix, computed)
    if not np.all(np.isfinite(residual)):
        raise ValueError("the residual b - a @ x_hat overflows float64; rescale a, x_hat or b")
    numerator = vector_norm(residual, ord)
    denominator = matrix_norm(matrix, ord) * vector_norm(computed, ord) + vector_norm(rhs, ord)
    numerator, denominator = np.broadcast_arrays(numerator, denominator)
    # denominator == 0 forces A x_hat = 0 = b, so the residual is 0 and so is the backward error.
    return as_result(np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), 0.0))


def _exact_residual(a: np.ndarray, x: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``b - a @ x`` summed exactly in Fractions and rounded once to float64 (broadcast batches)."""
    n = a.shape[-1]
    batch = np.broadcast_shapes(a.shape[:-2], x.shape[:-1], b.shape[:-1])
    a, x, b = (
        np.broadcast_to(a, (*batch, n, n)),
        np.broadcast_to(x, (*batch, n)),
        np.broadcast_to(b, (*batch, n)),
    )
    residual = np.empty((*batch, n), dtype=np.float64)
    for index in np.ndindex(*batch):
        row_x = [Fraction(float(value)) for value in x[index]]
        for i in range(n):
            exact = Fraction(float(b[index][i])) - sum(
                Fraction(float(a[index][i, j])) * row_x[j] for j in range(n)
            )
            try:
                residual[(*index, i)] = float(exact)
            except OverflowError:  # beyond the float64 range: inf, which the caller reports
                residual[(*index, i)] = np.inf
    return residual


def perturbation_bound(kappa, relative_change_a, relative_change_b) -> float | np.ndarray:
    r"""Bound on :math:`\|\Delta\boldsymbol{x}\|/\|\boldsymbol{x}\|` when :math:`\mat{A}` and
    :math:`\boldsymbol{b}` are perturbed.

    If :math:`\mat{A}\boldsymbol{x} = \boldsymbol{b}`, :math:`(\mat{A} + \Delta\mat{A})(\boldsymbol{x}
    + \Delta\boldsymbol{x}) = \boldsymbol{b} + \Delta\boldsymbol{b}`,
    :math:`\varepsilon_A = \|\Delta\mat{A}\|/\|\mat{A}\|`, :math:`\varepsilon_b =
    \|\Delta\boldsymbol{b}\|/\|\boldsymbol{b}\|` and :math:`\kappa\varepsilon_A < 1`, then

    .. math:: \frac{\|\Delta\boldsymbol{x}\|}{\|\boldsymbol{x}\|} \le
              \frac{\kappa(\varepsilon_A + \varepsilon_b)}{1 - \kappa\varepsilon_A}.

    Parameters
    ----------
    kappa : array_like
        Condition numbers :math:`\kappa(\mat{A}) = \|\mat{A}\|\|\mat{A}^{-1}\| \ge 1` (may be inf).
    relative_change_a, relative_change_b : array_like
        :math:`\varepsilon_A, \varepsilon_b \ge 0`. The three inputs broadcast.

    Returns
    -------
    ndarray
        The bound; ``inf`` where :math:`\kappa\varepsilon_A \ge 1` (the perturbed matrix may be
        singular).

    Raises
    ------
    ValueError
        If ``kappa < 1``, a relative change is negative, or an input is NaN.

    See the chapter ``chapters/linalg/floating-point.md``.
    """
    kappa = as_float_array(kappa, "kappa", allow_inf=True)
    eps_a = as_float_array(relative_change_a, "relative_change_a", allow_inf=True)
    eps_b = as_float_array(relative_change_b, "relative_change_b", allow_inf=True)
    if np.any(kappa < 1):
        raise ValueError("kappa must be at least 1")
    if np.any(eps_a < 0) or np.any(eps_b < 0):
        raise ValueError("relative_change_a and relative_change_b must be nonnegative")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        product = kappa * eps_a
        bound = kappa * (eps_a + eps_b) / (1.0 - product)
        # kappa * 0 with kappa = inf is NaN: no perturbation means no change.
        bound = np.where((eps_a == 0) & (eps_b == 0), 0.0, bound)
    return as_result(np.where((product < 1) | ((eps_a == 0) & (eps_b == 0)), bound, np.inf))


def solve_exact_rational(a, b) -> np.ndarray:
    r"""Exact solution of :math:`\mat{A}\boldsymbol{x} = \boldsymbol{b}` for the stored doubles, rounded once.

    Every double is a rational number, so the system the computer holds has an exact rational
    solution; Gaussian elimination in :class:`fractions.Fraction` arithmetic finds it with no rounding
    at all, and the result is rounded to the nearest double at the end. It is the reference against
    which forward errors are measured.

    Parameters
    ----------
    a : array_like of shape (n, n)
        Finite nonsingular matrix (exactly nonsingular as stored).
    b : array_like of shape (n,) or (n, k)
        Finite right-hand side, or ``k`` right-hand sides as columns (``b = np.eye(n)`` gives the
        exact inverse, rounded once).

    Returns
    -------
    ndarray of the shape of ``b``
        The exact solution, each entry correctly rounded to float64.

    Raises
    ------
    ValueError
        If the shapes are wrong, an entry is not finite, or ``a`` is exactly singular.

    Notes
    -----
    Exact arithmetic cannot be vectorised: this is a Python loop, :math:`O(n^3 + n^2 k)` operations
    on integers that grow with ``n``. Meant for reference solutions with ``n`` up to a few dozen.

    See the chapter ``chapters/linalg/floating-point.md``.
    """
    matrix = as_float_array(a, "a")
    rhs = as_float_array(b, "b")
    if matrix.ndim != 2:
        raise ValueError(f"a must be a single square matrix, got shape {matrix.shape}")
    matrix = _square_stack(matrix, "a")
    n = matrix.shape[0]
    if rhs.ndim not in (1, 2) or rhs.shape[0] != n:
        raise ValueError(f"b must have shape ({n},) or ({n}, k) to match a, got {rhs.shape}")
    columns = rhs.reshape(n, -1)  # the right-hand sides as columns n, n + 1, ... of the augmented rows
    width = columns.shape[1]
    rows = [
        [Fraction(float(value)) for value in row] + [Fraction(float(value)) for value in columns[i]]
        for i, row in enumerate(matrix.astype(np.float64))
    ]
    for k in range(n):
        pivot = next((i for i in range(k, n) if rows[i][k] != 0), None)
        if pivot is None:
            raise ValueError(f"a is exactly singular: no nonzero pivot in column {k}")
        rows[k], rows[pivot] = rows[pivot], rows[k]
        for i in range(k + 1, n):
            if rows[i][k] != 0:
                factor = rows[i][k] / rows[k][k]
                rows[i] = [value - factor * top for value, top in zip(rows[i], rows[k], strict=True)]
    solution = [[Fraction(0)] * width for _ in range(n)]
    for i in range(n - 1, -1, -1):
        for c in range(width):
            total = rows[i][n + c] - sum(rows[i][j] * solution[j][c] for j in range(i + 1, n))
            solution[i][c] = total / rows[i][i]
    return np.array([[float(value) for value in row] for row in solution], dtype=np.float64).reshape(rhs.shape)


def one_minus_cos_ratio_naive(x) -> float | np.ndarray:
    r"""Evaluate :math:`(1 - \cos x)/x^2` as written: catastrophic cancellation for small ``|x|``.

    For :math:`|x| \lesssim 10^{-8}` the computed :math:`\cos x` rounds to 1 and the result is 0
    instead of about 1/2; at ``x = 0``, and wherever :math:`x^2` underflows to 0
    (:math:`|x| \lesssim 10^{-162}`), it is NaN (0/0), without a warning.

    Parameters
    ----------
    x : array_like
        Finite real arguments.

    Returns
    -------
    ndarray, shape of ``x``

    Raises
    ------
    ValueError
        If ``x`` has non-finite entries.

    See the chapter ``chapters/linalg/floating-point.md`` (the unstable version, kept to be shown).
    """
    points = as_float_array(x, "x")
    with np.errstate(divide="ignore", invalid="ignore"):
        return as_result((1.0 - np.cos(points)) / points**2)


def one_minus_cos_ratio_stable(x) -> float | np.ndarray:
    r"""Evaluate :math:`(1 - \cos x)/x^2` stably as :math:`\tfrac12 \big(\sin(x/2) / (x/2)\big)^2`.

    The identity :math:`1 - \cos x = 2\sin^2(x/2)` removes the subtraction; the value at ``x = 0``
    is the limit 1/2.

    Parameters
    ----------
    x : array_like
        Finite real arguments.

    Returns
    -------
    ndarray, shape of ``x``
        Relative error a few :math:`u` for :math:`|x| \le \pi` (where the function itself is well
        conditioned), tiny and subnormal arguments included.

    Raises
    ------
    ValueError
        If ``x`` has non-finite entries.

    Notes
    -----
    No subtraction of nearly equal numbers; ``x/2`` is exact except for subnormal ``x`` with an odd
    last bit (there it rounds, harmlessly: ``sin(h)/h`` is 1 to working precision for
    :math:`|h| < 10^{-8}`); ``sin(h)/h`` rather than ``h**2`` in a denominator, so nothing
    underflows for tiny ``x``.

    See the chapter ``chapters/linalg/floating-point.md``.
    """
    points = as_float_array(x, "x")
    half = points / 2
    nonzero = half != 0
    # sin(h)/h -> 1 as h -> 0; the where keeps 0/0 out of the computation.
    ratio = np.where(nonzero, np.sin(half) / np.where(nonzero, half, 1.0), 1.0)
    return as_result(0.5 * ratio * ratio)
