"""Tests for mathguide.linalg.floating_point (chapter chapters/linalg/floating-point.md)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mathguide.linalg import (
    condition_number,
    float64_fields,
    matrix_norm,
    norm_equivalence_constant,
    normwise_backward_error,
    one_minus_cos_ratio_naive,
    one_minus_cos_ratio_stable,
    perturbation_bound,
    random_matrix,
    relative_condition_number,
    relative_forward_error,
    solve_exact_rational,
    unit_roundoff,
    vector_norm,
)
from mathguide.seeding import seeded_rng

U64 = 2.0**-53
EPS64 = np.finfo(np.float64).eps
TINY = float(np.finfo(np.float64).smallest_subnormal)  # 2**-1074, the spacing of the subnormals
ORDS = [1, 2, np.inf, "fro"]



# ---------------------------------------------------------------------------------------------------
# unit roundoff and the bits of a double


@pytest.mark.parametrize(
    "dtype, expected", [(np.float16, 2.0**-11), (np.float32, 2.0**-24), (np.float64, 2.0**-53), (float, 2.0**-53)]
)
def test_unit_roundoff_known_formats(dtype, expected):
    assert unit_roundoff(dtype) == expected
    # The convention: numpy's eps is the gap after 1, which is twice the unit roundoff.
    assert np.finfo(dtype).eps == 2 * expected


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.longdouble])
def test_unit_roundoff_is_the_largest_relative_rounding_error(dtype):
    # 1 + u is a tie between 1 and 1 + 2u and rounds (to even) down to 1; anything above u rounds up.
    one = dtype(1)
    u = dtype(unit_roundoff(dtype))
    assert one + u == one
    assert one + dtype(2) * u > one
    assert one + u * (one + dtype(2) * u) > one


def test_unit_roundoff_default_is_double():
    assert unit_roundoff() == 2.0**-53


@pytest.mark.parametrize("dtype", [np.int64, np.complex128, bool, "not a dtype"])
def test_unit_roundoff_rejects_non_float(dtype):
    with pytest.raises(TypeError, match="dtype"):
        unit_roundoff(dtype)


def _value_from_fields(sign: int, exponent: int, fraction: int) -> Fraction:
    """Independent decoder of IEEE binary64 fields (finite numbers only)."""
    if exponent == 0:
        magnitude = Fraction(fraction, 2**52) * Fraction(1, 2**1022)
    else:
        magnitude = (1 + Fraction(fraction, 2**52)) * Fraction(2) ** (exponent - 1023)
    return -magnitude if sign else magnitude


def test_float64_fields_reconstruct_exactly(rng):
    tiny = np.finfo(np.float64).smallest_subnormal
    values = np.concatenate(
        [
            rng.standard_normal(50) * 10.0 ** rng.integers(-300, 300, 50),
            np.array([0.0, -0.0, 1.0, -2.0, 0.1, tiny, -3 * tiny, np.finfo(float).tiny, np.finfo(float).max]),
            rng.integers(1, 2**40, 10) * tiny,  # subnormals
        ]
    )
    fields = float64_fields(values)
    assert fields.sign.shape == values.shape
    for value, s, e, f in zip(values, fields.sign, fields.exponent, fields.fraction, strict=True):
        assert _value_from_fields(int(s), int(e), int(f)) == Fraction(float(value))
        assert int(s) == int(math.copysign(1.0, value) < 0)


def test_float64_fields_special_values():
    fields = float64_fields(np.array([[np.inf, -np.inf], [np.nan, 1.0]]))
    assert fields.exponent.tolist() == [[2047, 2047], [2047, 1023]]
    assert fields.sign.tolist() == [[0, 1], [0, 0]]
    assert fields.fraction[0, 0] == 0 and fields.fraction[0, 1] == 0 and fields.fraction[1, 0] > 0
    # One: exponent bias 1023, no fraction bits; 1 + eps: last fraction bit set.
    assert float64_fields(1.0 + EPS64).fraction == 1
    assert float64_fields(5e-324).exponent == 0 and float64_fields(5e-324).fraction == 1


def test_float64_fields_rejects_non_numbers():
    with pytest.raises(TypeError, match="x must be"):
        float64_fields("1.0")
    with pytest.raises(TypeError, match="x must be"):
        float64_fields(np.array([1 + 2j]))


# ---------------------------------------------------------------------------------------------------
# norms


@pytest.mark.parametrize("ord", [1, 2, np.inf])
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (2, 3, 4)])
def test_vector_norm_matches_numpy(rng, ord, shape):
    x = rng.standard_normal(shape)
    expected = np.linalg.norm(x, ord=ord, axis=-1)
    np.testing.assert_allclose(vector_norm(x, ord), expected, rtol=4 * shape[-1] * EPS64, atol=0)
    expected_0 = np.linalg.norm(x, ord=ord, axis=0)
    np.testing.assert_allclose(vector_norm(x, ord, axis=0), expected_0, rtol=4 * shape[0] * EPS64, atol=0)


def test_vector_norm_no_overflow_no_underflow():
    for scale in (1e200, 1e-200, 5e-324):
        x = np.array([3.0, 4.0]) * scale
        np.testing.assert_allclose(vector_norm(x), 5 * scale, rtol=4 * EPS64, atol=0)
    assert vector_norm(np.zeros(3)) == 0
    assert vector_norm(np.zeros((2, 0))).tolist() == [0.0, 0.0]


@pytest.mark.parametrize("ord", ORDS)
@pytest.mark.parametrize("shape", [(1, 1), (4, 4), (3, 6), (6, 3), (2, 3, 5, 5)])
def test_matrix_norm_matches_numpy(rng, ord, shape):
    a = rng.standard_normal(shape)
    expected = np.linalg.norm(a, ord=ord, axis=(-2, -1))
    np.testing.assert_allclose(matrix_norm(a, ord), expected, rtol=8 * max(shape[-2:]) * EPS64, atol=0)


@pytest.mark.parametrize("ord", ORDS)
def test_matrix_norm_empty_and_huge(ord):
    assert matrix_norm(np.zeros((3, 0)), ord) == 0
    assert matrix_norm(np.zeros((0, 3)), ord) == 0
    huge = np.array([[1e300, 1e300], [0.0, 1e300]])
    # Closed forms for [[1, 1], [0, 1]]: column and row sums 2, Frobenius sqrt(3), and sigma_max the
    # golden ratio (the eigenvalues of A^T A are (3 +- sqrt 5) / 2). NumPy's Frobenius norm overflows here.
    expected = {1: 2.0, 2: (1 + 5**0.5) / 2, np.inf: 2.0, "fro": 3**0.5}[ord]
    np.testing.assert_allclose(matrix_norm(huge, ord), expected * 1e300, rtol=8 * EPS64, atol=0)


def test_norms_reject_bad_input():
    with pytest.raises(ValueError, match="ord"):
        vector_norm([1.0, 2.0], 3)
    with pytest.raises(ValueError, match="ord"):
        matrix_norm(np.eye(2), "nuc")
    with pytest.raises(ValueError, match="a must be a matrix"):
        matrix_norm([1.0, 2.0])
    with pytest.raises(ValueError, match="x must not contain NaN"):
        vector_norm([1.0, np.nan])
    with pytest.raises(ValueError, match="axis"):
        vector_norm([1.0, 2.0], axis=1)
    with pytest.raises(ValueError, match="x must have at least one dimension"):
        vector_norm(3.0)


VECTOR_PAIRS = [(p, q) for p in (1, 2, np.inf) for q in (1, 2, np.inf)]
MATRIX_PAIRS = [(p, q) for p in ORDS for q in ORDS]


@pytest.mark.parametrize("p, q", VECTOR_PAIRS)
@pytest.mark.parametrize("n", [1, 2, 9])
def test_vector_equivalence_constant_is_attained(p, q, n):
    # The constant is sharp: one of e_1 (all norms equal) or the ones vector attains it.
    witnesses = [np.eye(n)[0], np.ones(n)]
    ratios = [vector_norm(x, p) / vector_norm(x, q) for x in witnesses]
    np.testing.assert_allclose(max(ratios), norm_equivalence_constant(p, q, (n,)), rtol=4 * EPS64, atol=0)


@pytest.mark.parametrize("p, q", MATRIX_PAIRS)
@pytest.mark.parametrize("m, n", [(1, 1), (3, 3), (2, 5), (5, 2)])
def test_matrix_equivalence_constant_is_attained(p, q, m, n):
    # Witnesses from the proofs: a row of ones, a column of ones, the identity, a single 1.
    row = np.zeros((m, n))
    row[0] = 1
    column = np.zeros((m, n))
    column[:, 0] = 1
    witnesses = [row, column, np.eye(m, n)]
    ratios = [matrix_norm(a, p) / matrix_norm(a, q) for a in witnesses]
    np.testing.assert_allclose(max(ratios), norm_equivalence_constant(p, q, (m, n)), rtol=8 * EPS64, atol=0)


def test_equivalence_constant_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        norm_equivalence_constant(1, 2, (0,))
    with pytest.raises(ValueError, match="shape"):
        norm_equivalence_constant(1, 2, (2, 3, 4))
    with pytest.raises(ValueError, match="p must be"):
        norm_equivalence_constant("fro", 2, (3,))
    with pytest.raises(ValueError, match="q must be"):
        norm_equivalence_constant(2, 7, (3, 3))


finite_floats = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=1, max_side=12), elements=finite_floats))
def test_vector_norm_equivalence_property(x):
    n = x.shape[0]
    for p, q in VECTOR_PAIRS:
        # Rounding in the two norms: relative slack of a few n*eps, plus, for subnormal entries, an
        # absolute 2**-1075 per operation (the relative model fails below the normal range).
        slack = 1 + 4 * n * EPS64
        c = norm_equivalence_constant(p, q, (n,))
        assert vector_norm(x, p) <= c * vector_norm(x, q) * slack + 8 * n * c * TINY


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6), elements=finite_floats))
def test_matrix_norm_equivalence_property(a):
    m, n = a.shape
    for p, q in MATRIX_PAIRS:
        slack = 1 + 16 * max(m, n) * EPS64  # the SVD behind the 2-norm is accurate to O(n eps)
        c = norm_equivalence_constant(p, q, (m, n))
        # + an absolute 2**-1075 per operation for subnormal entries, where the relative model fails
        assert matrix_norm(a, p) <= c * matrix_norm(a, q) * slack + 8 * m * n * c * TINY
    # Also ||A||_2 <= sqrt(||A||_1 ||A||_inf) (Hoelder's inequality for the induced norms); the
    # square roots are taken separately so that the product cannot underflow.
    hoelder = np.sqrt(matrix_norm(a, 1)) * np.sqrt(matrix_norm(a, np.inf))
    assert matrix_norm(a, 2) <= hoelder * (1 + 16 * max(m, n) * EPS64) + 8 * m * n * TINY


# ---------------------------------------------------------------------------------------------------
# condition numbers


def _random_with_condition(rng, n, kappa, batch=()):
    """U diag(sigma) V^T with singular values log-spaced from 1 to 1/kappa."""
    return random_matrix(n, condition=kappa, batch=batch, rng=rng)


@pytest.mark.parametrize("ord", ORDS)
@pytest.mark.parametrize("shape", [(1, 1), (2, 2), (5, 5), (3, 4, 4), (2, 2, 3, 3), (0, 3, 3)])
def test_condition_number_matches_numpy_cond(rng, ord, shape):
    a = rng.standard_normal(shape)
    ours = condition_number(a, ord)
    assert np.shape(ours) == shape[:-2]
    assert isinstance(ours, float) == (len(shape) == 2)  # one matrix: a Python float (house rule)
    kappa = np.linalg.cond(a, ord) if shape[0] else np.zeros(shape[:-2])
    # Both sides carry a relative error of order n * kappa * eps (the inverse is that accurate).
    n = shape[-1]
    np.testing.assert_allclose(ours, kappa, rtol=10 * n * np.max(kappa, initial=1) * EPS64, atol=0)


@pytest.mark.parametrize("ord", ORDS)
@pytest.mark.parametrize("log_kappa", [0, 3, 6, 9])
def test_condition_number_ill_conditioned(rng, ord, log_kappa):
    n = 6
    a = _random_with_condition(rng, n, 10.0**log_kappa, batch=(3,))
    kappa = np.linalg.cond(a, ord)
    np.testing.assert_allclose(condition_number(a, ord), kappa, rtol=10 * n * 10.0**log_kappa * EPS64, atol=0)
    if ord == 2:  # constructed with known singular values
        np.testing.assert_allclose(condition_number(a, 2), 10.0**log_kappa, rtol=10 * n * 10.0**log_kappa * EPS64,
            atol=0)


def test_condition_number_float32(rng):
    a = rng.standard_normal((4, 5, 5)).astype(np.float32)
    kappa = np.linalg.cond(a.astype(np.float64))
    eps32 = float(np.finfo(np.float32).eps)
    np.testing.assert_allclose(condition_number(a), kappa, rtol=10 * 5 * kappa.max() * eps32, atol=0)


@pytest.mark.parametrize("ord", ORDS)
def test_condition_number_singular_is_inf(ord):
    singular = np.array(
        [
            np.zeros((3, 3)),
            np.diag([1.0, 0.0, 2.0]),
            [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [4.0, 5.0, 6.0]],  # a zero row
            [[1.0, 0.0, 3.0], [2.0, 0.0, 0.0], [4.0, 0.0, 6.0]],  # a zero column
        ]
    )
    # A zero row or column forces an exactly zero pivot in LU with partial pivoting (IEEE arithmetic on
    # exact zeros), on every kernel; the SVD promises no exact zero singular value (the zero row gave
    # sigma_min = 1e-17 under OpenBLAS's Haswell kernel, and kappa = 1.49e17).
    assert np.all(condition_number(singular, ord) == np.inf)
    if ord != 2:  # the oracle: numpy.linalg.cond detects singularity through inv (LU) only for p != 2
        assert np.all(np.linalg.cond(singular, ord) == np.inf)
    mixed = np.stack([np.eye(3), singular[1]])
    np.testing.assert_allclose(condition_number(mixed, ord), [1.0 if ord != "fro" else 3.0, np.inf], rtol=8 * EPS64,
        atol=0)


@pytest.mark.parametrize("ord", ORDS)
def test_condition_number_of_singular_matrix_without_zero_pivot_is_huge(ord):
    # Exactly singular, but the pivots of LU and sigma_min come out rounded rather than zero: the docstring
    # promises inf or a huge finite number. A backward stable SVD has sigma_min <= c n u sigma_max, so
    # kappa_2 >= 1 / (c n u); the other norms are within a factor n of kappa_2 (norm equivalence).
    n = 3
    a = np.arange(1.0, 10.0).reshape(3, 3)  # rows in arithmetic progression: rank 2
    assert np.linalg.matrix_rank(a) == 2
    assert condition_number(a, ord) >= 1 / (100 * n * n * EPS64)


@pytest.mark.parametrize("ord", ORDS)
def test_condition_number_of_tiny_and_huge_matrices(rng, ord):
    # kappa is scale invariant, and scaling by a power of 2 is exact (entries pushed into the subnormal
    # range move by <= 2**-1075, ~1e-23 relative to ||A|| here). Regression: forming 1 / sigma_min
    # without scaling first overflowed, and a tiny but well-conditioned matrix came out with kappa = inf.
    n, target = 4, 1e10
    a = _random_with_condition(rng, n, target)
    kappa = condition_number(a, ord)
    for scale in (2.0**-1000, 2.0**900):
        np.testing.assert_allclose(condition_number(scale * a, ord), kappa, rtol=10 * n * target * EPS64, atol=0)
    expected_one = 1.0  # 1 x 1: ||a|| ||1/a|| = 1 in every norm
    assert condition_number(np.array([[2.2250738585072014e-309]]), ord) == expected_one
    assert condition_number(np.array([[5e-324]]), ord) == expected_one


def test_condition_number_numerically_singular_is_huge():
    # Rank one in exact arithmetic; the computed sigma_min is O(u), so kappa is O(1/u), not inf.
    a = np.outer([1.0, 2.0, 3.0], [1.0, 0.3, 7.0])
    assert condition_number(a) > 0.01 / U64


def _exact_hilbert_condition(n: int, ord) -> float:
    """kappa(H_n) from the exact integer inverse (SciPy's invhilbert with exact=True)."""
    h = scipy.linalg.hilbert(n)
    inverse = np.array(scipy.linalg.invhilbert(n, exact=True), dtype=float)  # integers < 2**53 for n <= 10
    if ord == 1 or ord == np.inf:  # H is symmetric; ||H||_1 is the harmonic number H_n, exactly
        norm_h = float(sum(Fraction(1, k) for k in range(1, n + 1)))
        return norm_h * float(np.abs(inverse).sum(axis=0).max())
    return float(np.linalg.norm(h, ord)) * float(np.linalg.norm(inverse, ord))


@pytest.mark.parametrize("ord", ORDS)
@pytest.mark.parametrize("n", [1, 2, 4, 6, 8, 10])
def test_condition_number_hilbert_against_exact_inverse(n, ord):
    exact = _exact_hilbert_condition(n, ord)
    # Our kappa is computed from the stored (rounded) Hilbert matrix: relative error O(n kappa u).
    rtol = max(10 * n * exact * U64, 8 * EPS64)
    np.testing.assert_allclose(condition_number(scipy.linalg.hilbert(n), ord), exact, rtol=rtol, atol=0)


def test_condition_number_hilbert_growth():
    # kappa_2(H_n) grows like exp(3.5 n) (Todd 1954): successive ratios between e^3 and e^4.
    kappas = np.array([condition_number(scipy.linalg.hilbert(n)) for n in range(3, 12)])
    ratios = kappas[1:] / kappas[:-1]
    assert np.all(ratios > np.exp(3)) and np.all(ratios < np.exp(4))
    # closed form for n = 2: eigenvalues of [[1, 1/2], [1/2, 1/3]] are (4 +- sqrt 13) / 6.
    assert condition_number(scipy.linalg.hilbert(2)) == pytest.approx((4 + 13**0.5) / (4 - 13**0.5), rel=8 * EPS64)


@pytest.mark.parametrize("ord", ORDS)
def test_condition_number_of_orthogonal_and_diagonal(rng, ord):
    q = np.linalg.qr(rng.standard_normal((5, 5)))[0]
    if ord == 2:
        assert condition_number(q) == pytest.approx(1.0, abs=20 * EPS64)
    d = np.diag([2.0, -8.0, 0.5])
    expected = {1: 16.0, 2: 16.0, np.inf: 16.0, "fro": np.sqrt(4 + 64 + 0.25) * np.sqrt(0.25 + 1 / 64 + 4)}[ord]
    assert condition_number(d, ord) == pytest.approx(expected, rel=8 * EPS64)


@given(
    hnp.arrays(np.float64, st.integers(1, 6).map(lambda n: (n, n)), elements=st.floats(-10, 10, allow_nan=False)),
    st.sampled_from([1e-3, -0.5, 3.0, 2.0**40]),
)
def test_condition_number_properties(a, alpha):
    for ord in ORDS:
        kappa = condition_number(a, ord)
        # kappa >= 1: ||I|| <= ||A|| ||A^-1|| for induced norms, and ||I||_F = sqrt(n) >= 1.
        assert kappa >= 1 - 16 * a.shape[0] * EPS64
        scaled = condition_number(alpha * a, ord)
        if kappa < 1e8:
            # Scale invariance; both sides are computed with relative error O(n kappa eps).
            assert scaled == pytest.approx(kappa, rel=32 * a.shape[0] * kappa * EPS64)
        else:
            # Numerically singular (kappa may be inf for one scaling and ~1/u for another, as
            # sigma_min is then pure rounding): the scaled matrix is at least very ill conditioned.
            assert scaled > 1e6


@pytest.mark.parametrize("ord", ORDS)
def test_condition_number_rejects_bad_input(ord):
    with pytest.raises(ValueError, match="square"):
        condition_number(np.ones((2, 3)), ord)
    with pytest.raises(ValueError, match=r"a must have at least 2 dimensions \(\.\.\., m, n\)"):
        condition_number(np.ones(3), ord)
    with pytest.raises(ValueError, match="at least one row"):
        condition_number(np.ones((0, 0)), ord)
    with pytest.raises(ValueError, match="finite"):
        condition_number(np.array([[1.0, np.inf], [0.0, 1.0]]), ord)
    with pytest.raises(ValueError, match="ord"):
        condition_number(np.eye(2), -1)
    with pytest.raises(TypeError, match="real numbers"):
        condition_number(np.eye(2) * 1j, ord)


def test_condition_number_does_not_mutate(rng):
    a = rng.standard_normal((3, 4, 4))
    copy = a.copy()
    for ord in ORDS:
        condition_number(a, ord)
    np.testing.assert_array_equal(a, copy)


def test_relative_condition_number_closed_forms():
    x = np.array([0.5, 1.0 + 1e-6, 2.0, 10.0])
    # log: kappa = 1/|log x|, huge near 1; sqrt: 1/2; x - 1: |x/(x - 1)|; exp: |x|.
    kappa_log = relative_condition_number(np.log, lambda t: 1 / t, x)
    np.testing.assert_allclose(kappa_log, 1 / np.abs(np.log(x)), rtol=4 * EPS64, atol=0)
    kappa_sqrt = relative_condition_number(np.sqrt, lambda t: 0.5 / np.sqrt(t), x)
    np.testing.assert_allclose(kappa_sqrt, 0.5, rtol=4 * EPS64, atol=0)
    kappa_shift = relative_condition_number(lambda t: t - 1, np.ones_like, x)
    np.testing.assert_allclose(kappa_shift, np.abs(x / (x - 1)), rtol=4 * EPS64, atol=0)
    np.testing.assert_allclose(relative_condition_number(np.exp, np.exp, x), x, rtol=4 * EPS64, atol=0)
    # At a zero of f the problem is infinitely ill conditioned; at x = 0 the numerator vanishes. Both
    # are exact in IEEE arithmetic (1.0 - 1 == 0 and sin(0.0) == 0.0 are exactly rounded), on any machine.
    assert relative_condition_number(lambda t: t - 1, np.ones_like, 1.0) == np.inf
    assert relative_condition_number(np.sin, np.cos, 0.0) == 0.0
    with pytest.raises(TypeError, match="callable"):
        relative_condition_number(1.0, np.cos, 0.0)


def test_relative_condition_number_checks_what_the_callbacks_return():
    # Issue 26 (callbacks): a derivative written for scalars, returning one number for an array, was broadcast
    # silently (kappa = |x * 1 / f(x)| for every x instead of the true values).
    x = np.array([0.5, 2.0, 10.0])
    with pytest.raises(ValueError, match=r"df must return an array of the shape of x, \(3,\), got shape \(\)"):
        relative_condition_number(np.log, lambda t: 1.0, x)
    with pytest.raises(ValueError, match="f must return an array of the shape of x"):
        relative_condition_number(lambda t: np.log(t)[:2], lambda t: 1 / t, x)
    with pytest.raises(TypeError, match="df must return real numbers"):
        relative_condition_number(np.log, lambda t: 1j / t, x)


# ---------------------------------------------------------------------------------------------------
# forward and backward error


def test_relative_forward_error_basic(rng):
    x = rng.standard_normal((4, 6))
    x_hat = x + 1e-8 * rng.standard_normal((4, 6))
    for ord in (1, 2, np.inf):
        expected = np.linalg.norm(x_hat - x, ord, axis=-1) / np.linalg.norm(x, ord, axis=-1)
        # Same differences x_hat - x on both sides; only the norms' summation orders differ.
        np.testing.assert_allclose(relative_forward_error(x_hat, x, ord), expected, rtol=8 * 6 * EPS64, atol=0)
    assert relative_forward_error([1.0, 2.0], [1.0, 2.0]) == 0
    assert relative_forward_error([0.0, 0.0], [0.0, 0.0]) == 0
    assert relative_forward_error([1e-300, 0.0], [0.0, 0.0]) == np.inf
    assert relative_forward_error([2.0, 0.0], [1.0, 0.0], np.inf) == 1.0
    # Broadcasting one exact vector against a batch of approximations.
    assert relative_forward_error(np.ones((3, 2)), np.array([1.0, 1.0])).shape == (3,)
    with pytest.raises(ValueError, match="same length"):
        relative_forward_error([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="x_hat must not contain NaN"):
        relative_forward_error([np.nan], [1.0])


@pytest.mark.parametrize("n", [1, 5, 20])
def test_backward_error_rigal_gaches_perturbation_attains_it(rng, n):
    # Oracle: Rigal and Gaches' explicit perturbation (2-norm) dA = (||A|| ||x|| / alpha) r z^T,
    # db = -(||b|| / alpha) r with z = x / ||x||^2 satisfies (A + dA) x = b + db exactly, with
    # ||dA|| / ||A|| = ||db|| / ||b|| = eta. So eta is achieved; we check both facts numerically.
    a = rng.standard_normal((n, n))
    b = rng.standard_normal(n)
    x_hat = np.linalg.solve(a, b) + 1e-6 * rng.standard_normal(n)
    eta = normwise_backward_error(a, x_hat, b)
    r = b - a @ x_hat
    norm_a, norm_x, norm_b = np.linalg.norm(a, 2), np.linalg.norm(x_hat), np.linalg.norm(b)
    alpha = norm_a * norm_x + norm_b
    delta_a = (norm_a * norm_x / alpha) * np.outer(r, x_hat / norm_x**2)
    delta_b = -(norm_b / alpha) * r
    # The residual is itself computed with an absolute error of about n u alpha (in another summation
    # order inside the library), so eta agrees up to an absolute 10 n eps.
    tolerance = {"rtol": 20 * n * EPS64, "atol": 10 * n * EPS64}
    np.testing.assert_allclose(np.linalg.norm(delta_a, 2) / norm_a, eta, **tolerance)
    np.testing.assert_allclose(np.linalg.norm(delta_b) / norm_b, eta, **tolerance)
    np.testing.assert_allclose((a + delta_a) @ x_hat, b + delta_b, atol=10 * n * EPS64 * alpha, rtol=0)
    np.testing.assert_allclose(eta, np.linalg.norm(r) / alpha, **tolerance)
    assert eta > 1e3 * n * EPS64  # the perturbed x_hat is far from backward stable: the test has teeth


@pytest.mark.parametrize("n", [2, 10, 50, 100])
def test_backward_error_of_numpy_solve_is_tiny(rng, n):
    # LU with partial pivoting is backward stable: (A + dA) x_hat = b with
    # |dA| <= gamma_3n |L||U| ~ 3 n u |L||U| (Higham, Thm 9.4), and for random Gaussian matrices
    # || |L||U| ||_inf is about ||A||_inf (small growth factor). Computing the residual adds about
    # (n + 1) u. So c = 3 is the worst-case constant with growth ~ 1; in practice eta ~ 0.1 u.
    a = rng.standard_normal((30, n, n))
    b = rng.standard_normal((30, n))
    x_hat = np.linalg.solve(a, b[..., None])[..., 0]
    eta = normwise_backward_error(a, x_hat, b, np.inf)
    assert eta.shape == (30,)
    assert np.all(eta <= 3 * n * U64)


def test_backward_error_edge_cases():
    a = np.array([[2.0, 0.0], [0.0, 4.0]])
    assert normwise_backward_error(a, [0.5, 0.25], [1.0, 1.0]) == 0.0  # exact solution
    assert normwise_backward_error(np.zeros((2, 2)), [0.0, 0.0], [0.0, 0.0]) == 0.0
    # x_hat = 0: residual b, denominator ||b||: backward error 1 (change b to 0).
    assert normwise_backward_error(a, [0.0, 0.0], [1.0, 1.0], 1) == 1.0
    # Closed form in the inf-norm: r = b - A x_hat = (1, 0), ||A|| = 4, ||x_hat|| = 1/4, ||b|| = 1.
    assert normwise_backward_error(a, [0.0, 0.25], [1.0, 1.0], np.inf) == pytest.approx(1 / 2, rel=EPS64)
    # ... and in the 1-norm: ||r|| = 1, ||A|| = 4, ||x_hat|| = 1/4, ||b|| = 2.
    assert normwise_backward_error(a, [0.0, 0.25], [1.0, 1.0], 1) == pytest.approx(1 / 3, rel=EPS64)
    # Broadcasting a batch of right-hand sides against one matrix.
    assert normwise_backward_error(a, np.ones((4, 2)), np.ones((4, 2))).shape == (4,)


def test_backward_error_exact_residual():
    # 3 * fl(1/3) = 1 - 2**-54 exactly, which rounds to 1: the float residual of x_hat = 3 is 0,
    # the true one is 2**-54 (Fraction oracle).
    third = 1 / 3
    exact_residual = abs(1 - 3 * Fraction(third))
    assert exact_residual > 0
    expected = float(exact_residual / (Fraction(third) * 3 + 1))
    assert normwise_backward_error([[third]], [3.0], [1.0]) == 0.0
    assert normwise_backward_error([[third]], [3.0], [1.0], exact=True) == pytest.approx(expected, rel=4 * EPS64)


@pytest.mark.parametrize("ord", [1, 2, np.inf])
def test_backward_error_exact_agrees_with_float_up_to_rounding(rng, ord):
    n = 6
    a = rng.standard_normal((2, 3, n, n))
    b = rng.standard_normal((3, n))
    x_hat = np.linalg.solve(a, b[..., None])[..., 0]
    floating = normwise_backward_error(a, x_hat, b, ord)
    exact = normwise_backward_error(a, x_hat, b, ord, exact=True)
    assert exact.shape == (2, 3)
    # The float residual carries an error of at most gamma_(n+1) (|b| + |A||x_hat|), i.e. an absolute
    # error in eta of at most (n + 1) u times sqrt(n) (|| |A| ||_2 <= sqrt(n) ||A||_2).
    np.testing.assert_allclose(floating, exact, rtol=0, atol=(n + 1) * np.sqrt(n) * U64)
    assert np.all(exact <= 3 * n * U64)
    with pytest.raises(TypeError, match="exact must be a bool"):
        normwise_backward_error(a, x_hat, b, exact=1)
    with pytest.raises(TypeError, match="exact must be a bool"):
        normwise_backward_error(a, x_hat, b, exact="no")  # truthy: silently exact before check_bool
    np.testing.assert_array_equal(normwise_backward_error(a, x_hat, b, ord, exact=np.bool_(True)), exact)


def test_backward_error_rejects_bad_input():
    with pytest.raises(ValueError, match="x_hat must have shape"):
        normwise_backward_error(np.eye(2), [1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="b must have shape"):
        normwise_backward_error(np.eye(2), [1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="square"):
        normwise_backward_error(np.ones((2, 3)), [1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="ord"):
        normwise_backward_error(np.eye(2), [1.0, 2.0], [1.0, 2.0], "fro")
    with pytest.raises(ValueError, match="b must be finite"):
        normwise_backward_error(np.eye(2), [1.0, 2.0], [np.inf, 2.0])
    for exact in (False, True):  # a @ x_hat = 1e600 overflows: a clear error, not a NaN
        with pytest.raises(ValueError, match="residual b - a @ x_hat overflows"):
            normwise_backward_error([[1e300]], [1e300], [1.0], exact=exact)


def test_backward_error_is_scale_invariant():
    # eta(alpha A, beta x_hat, alpha beta b) = eta(A, x_hat, b); powers of 2 keep the scaling exact.
    a, x_hat, b = np.array([[2.0, 1.0], [1.0, 3.0]]), np.array([1.0, -1.0]), np.array([1.5, -2.5])
    eta = normwise_backward_error(a, x_hat, b, 1)
    # Closed form: r = b - A x_hat = (0.5, -0.5), ||r||_1 = 1, ||A||_1 = 4, ||x_hat||_1 = 2, ||b||_1 = 4.
    assert eta == pytest.approx(1 / 12, rel=4 * EPS64)
    alpha, beta = 2.0**500, 2.0**480  # alpha beta = 2**980: near the top of the float64 range
    assert normwise_backward_error(alpha * a, beta * x_hat, alpha * beta * b, 1) == pytest.approx(eta, rel=4 * EPS64)


def test_error_functions_do_not_mutate(rng):
    a, x, b = rng.standard_normal((3, 3)), rng.standard_normal(3), rng.standard_normal(3)
    copies = a.copy(), x.copy(), b.copy()
    normwise_backward_error(a, x, b)
    relative_forward_error(x, b)
    solve_exact_rational(a, b)
    for before, after in zip(copies, (a, x, b), strict=True):
        np.testing.assert_array_equal(before, after)


@given(
    st.integers(1, 5),
    st.floats(1e-12, 1e-4),
    st.floats(0, 1e-4),
    st.floats(0, 6),
    st.integers(0, 2**32 - 1),
)
def test_perturbation_bound_holds(n, eps_a, eps_b, log_kappa, seed):
    rng = seeded_rng(seed)
    a = _random_with_condition(rng, n, 10.0**log_kappa) if n > 1 else np.array([[1.5]])
    b = a @ rng.standard_normal(n)
    delta_a = rng.standard_normal((n, n))
    delta_a *= eps_a * np.linalg.norm(a, 2) / np.linalg.norm(delta_a, 2)
    delta_b = rng.standard_normal(n)
    delta_b *= eps_b * np.linalg.norm(b) / np.linalg.norm(delta_b)
    a_new, b_new = a + delta_a, b + delta_b
    # Independent references: both systems, as stored, solved exactly (rounded once, <= u relative).
    x_exact = solve_exact_rational(a, b)
    x_new = solve_exact_rational(a_new, b_new)
    # Storing a + delta_a moves each entry by <= u |a + delta_a|, i.e. by <= sqrt(n) u ||a_new||_2 in
    # the 2-norm (||E||_2 <= ||E||_F): the stored perturbation is at most that much larger.
    stored_eps_a = eps_a + np.sqrt(n) * U64 * np.linalg.norm(a_new, 2) / np.linalg.norm(a, 2)
    stored_eps_b = eps_b + U64 * np.linalg.norm(b_new) / np.linalg.norm(b)
    kappa = condition_number(a) * (1 + 10 * n * 1e6 * U64)  # the SVD's relative error O(n kappa u)
    bound = perturbation_bound(kappa, stored_eps_a, stored_eps_b)
    # The rounding of the two exact solutions adds at most about 2u to the measured error.
    assert relative_forward_error(x_new, x_exact) <= (bound + 2 * U64) * (1 + 8 * n * U64)


@pytest.mark.parametrize("n", [2, 5])
@pytest.mark.parametrize("log_kappa", [0, 4, 8])
def test_perturbation_bound_is_attained(rng, n, log_kappa):
    # Sharpness oracle (eps_A = 0): with A = U diag(sigma) V^T, x = v_1 gives b = sigma_1 u_1, and
    # db = eps ||b|| u_n moves x by eps sigma_1 / sigma_n v_n: relative change exactly kappa * eps.
    q1 = np.linalg.qr(rng.standard_normal((n, n)))[0]
    q2 = np.linalg.qr(rng.standard_normal((n, n)))[0]
    sigma = np.logspace(0, -log_kappa, n)
    a = (q1 * sigma) @ q2.T
    eps_b = 1e-6
    x = q2[:, 0]
    x_new = x + eps_b * sigma[0] / sigma[-1] * q2[:, -1]
    bound = perturbation_bound(10.0**log_kappa, 0.0, eps_b)
    # Measuring ||x_new - x|| cancels: absolute error ~ n u ||x_new||, against ||dx|| = kappa eps_b.
    change = 10.0**log_kappa * eps_b
    np.testing.assert_allclose(relative_forward_error(x_new, x), bound, rtol=8 * n * EPS64 * (1 + change) / change,
        atol=0)
    # and (A + 0)(x + dx) = b + db holds, up to rounding of order ||A|| ||x_new|| u
    b_new = sigma[0] * q1[:, 0] + eps_b * sigma[0] * q1[:, -1]
    np.testing.assert_allclose(a @ x_new, b_new, atol=8 * n * EPS64 * (1 + 1e-6 * 10.0**log_kappa), rtol=0)


def test_perturbation_bound_values():
    assert perturbation_bound(10.0, 0.01, 0.02) == pytest.approx(10 * 0.03 / 0.9, rel=4 * EPS64)
    assert perturbation_bound(100.0, 0.01, 0.0) == np.inf  # kappa eps_A = 1: A + dA may be singular
    assert perturbation_bound(np.inf, 0.0, 0.0) == 0.0
    assert perturbation_bound(np.inf, 0.0, 1e-9) == np.inf
    np.testing.assert_allclose(perturbation_bound([1.0, 2.0], 0.1, 0.1), [0.2 / 0.9, 0.4 / 0.8], rtol=4 * EPS64, atol=0)
    with pytest.raises(ValueError, match="kappa must be at least 1"):
        perturbation_bound(0.5, 0.1, 0.1)
    with pytest.raises(ValueError, match="nonnegative"):
        perturbation_bound(2.0, -0.1, 0.1)


# ---------------------------------------------------------------------------------------------------
# the exact rational solver


def _det3(m) -> Fraction:
    return (
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    )


def test_solve_exact_rational_known_solution():
    # Oracle: Cramer's rule in Fractions; the answer is the correctly rounded exact solution, bit for bit.
    a = np.array([[3.0, 0.0, 1.0], [0.0, 7.0, 2.0], [1.0, 0.1, 1.0]])
    b = np.array([1.0, 2.0, 3.0])
    exact_a = [[Fraction(float(v)) for v in row] for row in a]
    det = _det3(exact_a)
    x = []
    for j in range(3):
        replaced = [[Fraction(float(b[i])) if k == j else exact_a[i][k] for k in range(3)] for i in range(3)]
        x.append(_det3(replaced) / det)
    np.testing.assert_array_equal(solve_exact_rational(a, b), [float(v) for v in x])
    # numpy's solve is only accurate to a few ulps, so the two differ in the last bits somewhere.
    np.testing.assert_allclose(np.linalg.solve(a, b), [float(v) for v in x], rtol=8 * condition_number(a) * U64, atol=0)


def test_solve_exact_rational_hilbert_beats_float_solve():
    # For the stored H_8 (kappa ~ 1.5e10) with b = H 1 computed in floats, the exact solution's
    # residual in exact arithmetic is 0; numpy's solve is off by ~ kappa u, the rational one by <= u.
    h = scipy.linalg.hilbert(8)
    b = h @ np.ones(8)
    exact = solve_exact_rational(h, b)
    residual = [sum(Fraction(h[i, j]) * Fraction(exact[j]) for j in range(8)) - Fraction(b[i]) for i in range(8)]
    # Rounding the exact solution to doubles moves each entry by <= u relative: residual <= ||H|| ||x|| u.
    assert max(abs(float(r)) for r in residual) <= 4 * np.abs(h).sum(axis=1).max() * np.abs(exact).max() * U64
    np.testing.assert_allclose(exact, np.linalg.solve(h, b), rtol=8 * condition_number(h) * U64, atol=0)


def test_solve_exact_rational_rejects_bad_input():
    with pytest.raises(ValueError, match="exactly singular"):
        solve_exact_rational([[1.0, 2.0], [2.0, 4.0]], [1.0, 1.0])
    with pytest.raises(ValueError, match="single square matrix"):
        solve_exact_rational(np.ones((2, 2, 2)), [1.0, 1.0])
    with pytest.raises(ValueError, match="b must have shape"):
        solve_exact_rational(np.eye(2), [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="b must have shape"):
        solve_exact_rational(np.eye(2), np.ones((3, 2)))
    assert solve_exact_rational([[4.0]], [2.0]).tolist() == [0.5]


@pytest.mark.parametrize("n", [1, 4, 9])
def test_solve_exact_rational_several_right_hand_sides(n):
    # Oracle: the Pascal matrix is an integer matrix with an integer inverse, known in closed form
    # (scipy.linalg.invpascal); with b = I the solver must return it exactly.
    a = scipy.linalg.pascal(n).astype(float)
    np.testing.assert_array_equal(solve_exact_rational(a, np.eye(n)), scipy.linalg.invpascal(n).astype(float))
    b = np.arange(2.0 * n).reshape(n, 2)
    np.testing.assert_array_equal(solve_exact_rational(a, b), scipy.linalg.invpascal(n) @ b)


# ---------------------------------------------------------------------------------------------------
# cancellation: (1 - cos x) / x^2


def _ratio_reference(x: float) -> float:
    """(1 - cos x) / x^2 = sum_k (-1)^k x^(2k) / (2k + 2)!, summed exactly in Fractions, then rounded.

    Alternating series with decreasing terms for |x| <= pi: the truncation error is below the first
    omitted term, which we drive below 2^-80 times the sum (f >= 2 / pi^2 on the grid).
    """
    t = Fraction(x) ** 2
    total, term, k = Fraction(0), Fraction(1, 2), 0
    while abs(term) > Fraction(1, 2**90):
        total += term
        k += 1
        term = -term * t / ((2 * k + 1) * (2 * k + 2))
    return float(total)


GRID = np.concatenate(
    [
        [5e-324, 1e-300, 1e-200, 1e-100, 1e-20, 1e-9],
        np.logspace(-8, 0, 17),
        np.linspace(1.1, np.pi, 9),
    ]
)


def test_stable_ratio_is_accurate_everywhere():
    reference = np.array([_ratio_reference(float(x)) for x in GRID])
    for signs in (1.0, -1.0):  # f is even
        computed = one_minus_cos_ratio_stable(signs * GRID)
        # Error analysis: sin (<= 1 ulp in the C library), one division, one square, one halving: a
        # handful of roundings, each <= u, amplified by at most kappa_f <= 2 on |x| <= pi.
        np.testing.assert_allclose(computed, reference, rtol=8 * U64, atol=0)
    assert one_minus_cos_ratio_stable(0.0) == 0.5


def test_naive_ratio_fails_for_small_arguments():
    small = np.array([1e-9, 1e-10, 1e-12, 1e-15])
    # cos x ~ 1 - x^2/2 rounds to exactly 1 for |x| < sqrt(u) ~ 1.05e-8: 100% relative error.
    np.testing.assert_array_equal(one_minus_cos_ratio_naive(small), 0.0)
    # For 1e-7 < x < 1e-4 the subtraction 1 - cos x keeps only a few significant digits: absolute
    # error ~ u in 1 - cos x ~ x^2/2, relative error ~ 2u / x^2 >> u.
    medium = np.array([3e-8, 1e-7, 1e-6, 1e-5])
    reference = np.array([_ratio_reference(float(x)) for x in medium])
    relative = np.abs(one_minus_cos_ratio_naive(medium) - reference) / reference
    assert np.all(relative > 1e4 * U64)
    assert np.isnan(one_minus_cos_ratio_naive(0.0))
    # Where there is no cancellation (|x| ~ 1) the naive formula is fine.
    np.testing.assert_allclose(one_minus_cos_ratio_naive(np.pi), 2 / np.pi**2, rtol=8 * U64, atol=0)


def test_cancellation_kernels_validate_and_do_not_mutate():
    x = np.array([1e-8, 1.0])
    copy = x.copy()
    one_minus_cos_ratio_stable(x)
    one_minus_cos_ratio_naive(x)
    np.testing.assert_array_equal(x, copy)
    with pytest.raises(ValueError, match="x must be finite"):
        one_minus_cos_ratio_stable([np.inf])
    with pytest.raises(TypeError, match="x must be"):
        one_minus_cos_ratio_naive("0.1")
