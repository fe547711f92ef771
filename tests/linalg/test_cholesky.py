"""Tests for mathguide.linalg.cholesky: Cholesky, LDL^T, Cholesky solves, the Thomas algorithm."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mathguide.linalg.cholesky import (
    NotPositiveDefiniteError,
    cholesky,
    cholesky_solve,
    ldl,
    solve_tridiagonal,
)
from mathguide.linalg.lu import SingularMatrixError

EPS = np.finfo(np.float64).eps



def random_spd(rng: np.random.Generator, n: int) -> np.ndarray:
    b = rng.standard_normal((n, n))
    return b @ b.T + n * np.eye(n)


# ---------------------------------------------------------------------------------------------
# Cholesky


@pytest.mark.parametrize("n", [1, 2, 5, 40, 200])
def test_cholesky_matches_scipy(rng, n):
    a = random_spd(rng, n)
    l = cholesky(a)
    np.testing.assert_array_equal(np.triu(l, 1), 0)
    assert np.all(np.diagonal(l) > 0)  # the factor with positive diagonal is unique
    scale = np.sqrt(np.abs(a).max())
    np.testing.assert_allclose(l, scipy.linalg.cholesky(a, lower=True), rtol=0, atol=10 * n * EPS * scale)
    # backward error |A - L L^T| <= gamma_{n+1} |L||L|^T (Higham 2002, Thm 10.3)
    assert np.all(np.abs(a - l @ l.T) <= 2 * (n + 1) * EPS * (np.abs(l) @ np.abs(l).T))


@pytest.mark.parametrize("exponent", [500, -500])
def test_cholesky_huge_and_tiny_entries_scale_exactly(rng, exponent):
    # chol(4^k A) = 2^k chol(A) exactly: scaling by powers of two commutes with rounding
    a = random_spd(rng, 20)
    np.testing.assert_array_equal(cholesky(4.0**exponent * a), 2.0**exponent * cholesky(a))
    f, g = ldl(a), ldl(4.0**exponent * a)
    np.testing.assert_array_equal(g.l, f.l)
    np.testing.assert_array_equal(g.d, 4.0**exponent * f.d)


def test_cholesky_one_by_one():
    np.testing.assert_array_equal(cholesky([[4.0]]), [[2.0]])


@pytest.mark.parametrize("n", [4, 8, 12])
def test_cholesky_of_hilbert(n):
    a = scipy.linalg.hilbert(n)  # SPD, kappa up to 1e16: still factors, and stably
    l = cholesky(a)
    # backward error at roundoff level whatever the conditioning
    assert np.abs(a - l @ l.T).max() <= 2 * (n + 1) * EPS
    # forward error of the factor (Higham 2002, Thm 10.8): if A + dA = L L^T exactly with
    # ||dA||_2 <= eta ||A||_2 and kappa eta < 1, then ||dL||_F / ||L||_2 <= kappa eta / (sqrt(2) (1 - kappa eta)).
    # Backward error: |dA| <= gamma_{n+1} |L||L^T| <= gamma_{n+1} sqrt(a_ii a_jj) entrywise, so
    # ||dA||_2 <= gamma_{n+1} n max_i a_ii. Two such factors (ours, LAPACK's) differ by at most twice the bound.
    kappa = np.linalg.cond(a)
    eta = (n + 1) * EPS * n * np.diagonal(a).max() / np.linalg.norm(a, 2)  # gamma_{n+1} <= (n+1) eps
    if kappa * eta < 0.5:  # n = 4, 8; for n = 12 (kappa ~ 1e16) the factor is not determined to any digit
        l_ref = scipy.linalg.cholesky(a, lower=True)
        bound = 2 * kappa * eta / (np.sqrt(2) * (1 - kappa * eta))
        assert np.linalg.norm(l - l_ref) / np.linalg.norm(l_ref, 2) <= bound


def test_cholesky_entries_bounded_by_sqrt_of_diagonal(rng):
    a = random_spd(rng, 30) * np.logspace(-3, 3, 30)[:, None] * np.logspace(-3, 3, 30)[None, :]
    l = cholesky(a)
    # a_ii = sum_k l_ik^2, so |l_ij| <= sqrt(a_ii): no growth, hence no need to pivot
    assert np.all(np.abs(l) <= np.sqrt(np.diagonal(a))[:, None] * (1 + 4 * EPS))


@pytest.mark.parametrize(
    "a, index",
    [
        (np.array([[-1.0]]), 0),
        (np.array([[1.0, 2.0], [2.0, 1.0]]), 1),  # eigenvalues 3 and -1
        (np.diag([1.0, 2.0, 0.0, 4.0]), 2),  # semidefinite: a zero pivot is refused too
        (np.array([[2.0, -1.0, 0.0], [-1.0, 2.0, -1.0], [0.0, -1.0, -2.0]]), 2),
    ],
)
def test_cholesky_rejects_non_spd_naming_the_pivot(a, index):
    with pytest.raises(NotPositiveDefiniteError, match=f"pivot {index} is") as info:
        cholesky(a)
    assert info.value.index == index
    assert isinstance(info.value, np.linalg.LinAlgError)
    # the leading block of order index + 1 is indeed not positive definite, the one before is
    assert np.linalg.eigvalsh(a[: index + 1, : index + 1]).min() <= 0
    if index:
        assert np.linalg.eigvalsh(a[:index, :index]).min() > 0


def test_cholesky_rejects_random_indefinite(rng):
    n = 50
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    a = (q * np.r_[np.ones(n - 1), -1.0]) @ q.T  # one negative eigenvalue
    a = (a + a.T) / 2
    with pytest.raises(NotPositiveDefiniteError):
        cholesky(a)
    with pytest.raises(np.linalg.LinAlgError):
        scipy.linalg.cholesky(a)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: cholesky(np.ones((2, 3))), ValueError, "a must be a square"),
        (lambda: cholesky(np.array([[1.0, 0.5], [0.0, 1.0]])), ValueError, "a must be symmetric"),
        (lambda: cholesky(np.array([[1.0, np.nan], [np.nan, 1.0]])), ValueError, "a must not contain NaN"),
        (lambda: ldl(np.array([[1.0, 2.0], [0.0, 1.0]])), ValueError, "a must be symmetric"),
        (lambda: cholesky_solve(np.ones((2, 3)), np.ones(2)), ValueError, "l must be a square"),
        (lambda: cholesky_solve(np.eye(3), np.ones(2)), ValueError, "b must have shape"),
        (lambda: solve_tridiagonal(np.ones(2), np.ones(3), np.ones(3), np.ones(3)), ValueError, "upper must"),
        (lambda: solve_tridiagonal(np.ones(1), np.ones(3), np.ones(2), np.ones(3)), ValueError, "lower must"),
        (lambda: solve_tridiagonal(np.ones(2), np.ones((3, 1)), np.ones(2), np.ones(3)), ValueError, "diag must"),
        (lambda: solve_tridiagonal(np.ones(2), np.ones(3), np.ones(2), np.ones(4)), ValueError, "b must have"),
        (
            lambda: solve_tridiagonal(np.ones(2), [1, np.inf, 1], np.ones(2), np.ones(3)),
            ValueError,
            "diag must be finite",
        ),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------------------------------------
# LDL^T


@pytest.mark.parametrize("n", [1, 3, 30, 120])
def test_ldl_of_spd_is_cholesky_rescaled(rng, n):
    a = random_spd(rng, n)
    f = ldl(a)
    np.testing.assert_array_equal(np.diagonal(f.l), 1)
    assert np.all(f.d > 0)
    l_chol = scipy.linalg.cholesky(a, lower=True)
    # L D^{1/2} is the Cholesky factor, and d = (diagonal of the Cholesky factor)^2
    np.testing.assert_allclose(f.l * np.sqrt(f.d), l_chol, rtol=0, atol=10 * n * EPS * np.sqrt(np.abs(a).max()))
    np.testing.assert_allclose(f.d, np.diagonal(l_chol) ** 2, rtol=10 * n * EPS, atol=0)


def test_ldl_of_indefinite_matches_ratios_of_leading_minors(rng):
    n = 6
    a = rng.standard_normal((n, n))
    a = a + a.T  # symmetric, indefinite, leading minors nonzero with probability one
    f = ldl(a)
    minors = np.array([1.0] + [np.linalg.det(a[:k, :k]) for k in range(1, n + 1)])
    np.testing.assert_allclose(f.d, minors[1:] / minors[:-1], rtol=1e3 * EPS * np.linalg.cond(a), atol=0)
    assert (f.d < 0).any()
    np.testing.assert_allclose(f.l @ np.diag(f.d) @ f.l.T, a, rtol=0, atol=100 * n * EPS * np.abs(a).max())


def test_ldl_zero_pivot_names_it():
    with pytest.raises(SingularMatrixError, match=r"d\[1\]"):
        ldl(np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]]))


# ---------------------------------------------------------------------------------------------
# solves


@pytest.mark.parametrize("rhs_shape", [(), (1,), (5,)])
@pytest.mark.parametrize("n", [1, 4, 100])
def test_cholesky_solve_matches_scipy(rng, n, rhs_shape):
    a = random_spd(rng, n)
    b = rng.standard_normal((n, *rhs_shape))
    x = cholesky_solve(cholesky(a), b)
    assert x.shape == b.shape
    np.testing.assert_allclose(
        x, scipy.linalg.cho_solve(scipy.linalg.cho_factor(a), b), rtol=0,
        atol=10 * n * np.linalg.cond(a, 1) * EPS * np.abs(x).max(),
    )


def tridiagonal(lower, diag, upper) -> np.ndarray:
    return np.diag(diag) + np.diag(lower, -1) + np.diag(upper, 1)


@pytest.mark.parametrize("rhs_shape", [(), (1,), (3,)])
@pytest.mark.parametrize("n", [1, 2, 3, 50, 200])
def test_thomas_matches_dense_and_banded_solvers(rng, n, rhs_shape):
    # diagonally dominant: the Thomas algorithm needs no pivoting
    lower, upper = rng.standard_normal(n - 1), rng.standard_normal(n - 1)
    diag = 3 + rng.random(n)
    b = rng.standard_normal((n, *rhs_shape))
    x = solve_tridiagonal(lower, diag, upper, b)
    t = tridiagonal(lower, diag, upper)
    assert x.shape == b.shape
    tol = 10 * n * np.linalg.cond(t, 1) * EPS * max(np.abs(x).max(), 1)
    np.testing.assert_allclose(x, np.linalg.solve(t, b), rtol=0, atol=tol)
    ab = np.zeros((3, n))
    ab[0, 1:], ab[1], ab[2, :-1] = upper, diag, lower
    np.testing.assert_allclose(x, scipy.linalg.solve_banded((1, 1), ab, b), rtol=0, atol=tol)


def test_thomas_on_the_second_difference_matrix():
    # -u'' = 1 on (0, 1), u(0) = u(1) = 0: the discrete solution equals u(x) = x(1 - x)/2 at the nodes
    n = 99
    h = 1 / (n + 1)
    x_nodes = h * np.arange(1, n + 1)
    u = solve_tridiagonal(-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1), h**2 * np.ones(n))
    np.testing.assert_allclose(u, x_nodes * (1 - x_nodes) / 2, rtol=100 * n * EPS, atol=0)


@pytest.mark.parametrize("n", [2, 10, 100])
def test_thomas_is_componentwise_backward_stable_on_spd(rng, n):
    # SPD tridiagonal T = B B^T (B lower bidiagonal), not diagonally dominant in general. Elimination
    # gives (T + dT) x = b with |dT| <= f(u) |L||U|, f(u) = 4u + O(u^2) (Higham 2002, Thm 9.11), and
    # |L||U| = |T| for SPD T: the residual is below 2 eps |T||x|, plus gamma_3 (|T||x| + |b|) <= 3 eps |T||x|
    # for evaluating it in floating point (|b| <= |T||x| up to the same rounding)
    sub_b = rng.standard_normal(n - 1) * np.exp(rng.uniform(-1, 1, n - 1))
    bidiag = np.diag(np.exp(rng.uniform(-1, 1, n))) + np.diag(sub_b, -1)
    t = bidiag @ bidiag.T
    assert np.linalg.cond(t) * EPS < 1e-3  # SPD also in floating point, by a wide margin
    sub = np.diagonal(t, -1).copy()
    assert np.any(np.abs(np.diagonal(t)) < np.abs(np.r_[sub, 0]) + np.abs(np.r_[0, sub])) or n == 2
    b = rng.standard_normal(n)
    x = solve_tridiagonal(sub, np.diagonal(t).copy(), sub, b)
    assert np.all(np.abs(b - t @ x) <= 5 * EPS * (np.abs(t) @ np.abs(x)))


@pytest.mark.parametrize("by", ["rows", "columns"])
def test_thomas_is_componentwise_backward_stable_when_diagonally_dominant(rng, by):
    # diagonal dominance gives |L||U| <= 3|T| (the chapter's exercise), so |dT| <= f(u) 3|T| ~ 6 eps |T|,
    # plus at most 3 eps |T||x| for evaluating the residual: below 9 eps |T||x|
    n = 200
    lower = rng.standard_normal(n - 1) * np.exp(rng.uniform(-3, 3, n - 1))
    upper = rng.standard_normal(n - 1) * np.exp(rng.uniform(-3, 3, n - 1))
    if by == "rows":  # |d_i| > |t_{i,i-1}| + |t_{i,i+1}|
        off = np.r_[0, np.abs(lower)] + np.r_[np.abs(upper), 0]
    else:  # |d_i| > |t_{i-1,i}| + |t_{i+1,i}|
        off = np.r_[0, np.abs(upper)] + np.r_[np.abs(lower), 0]
    diag = off * (1 + 1e-3 * rng.random(n)) * rng.choice([-1.0, 1.0], n)  # barely dominant, mixed signs
    b = rng.standard_normal(n)
    x = solve_tridiagonal(lower, diag, upper, b)
    t = tridiagonal(lower, diag, upper)
    assert np.all(np.abs(b - t @ x) <= 9 * EPS * (np.abs(t) @ np.abs(x)))


def test_thomas_zero_pivot_names_it():
    with pytest.raises(SingularMatrixError, match="index 0"):
        solve_tridiagonal([1.0], [0.0, 1.0], [1.0], [1.0, 1.0])
    with pytest.raises(SingularMatrixError, match="index 1"):
        solve_tridiagonal([1.0], [1.0, 1.0], [1.0], [1.0, 1.0])  # [[1, 1], [1, 1]]


def test_thomas_empty_system():
    assert solve_tridiagonal(np.ones(0), np.ones(0), np.ones(0), np.ones(0)).shape == (0,)


def test_inputs_are_not_mutated(rng):
    a = random_spd(rng, 10)
    b = rng.standard_normal((10, 2))
    lower, diag, upper = rng.standard_normal(9), 4 + rng.random(10), rng.standard_normal(9)
    copies = [x.copy() for x in (a, b, lower, diag, upper)]
    l = cholesky(a)
    l0 = l.copy()
    ldl(a)
    cholesky_solve(l, b)
    solve_tridiagonal(lower, diag, upper, b)
    for x, x0 in zip((a, b, lower, diag, upper), copies, strict=True):
        np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(l, l0)


# ---------------------------------------------------------------------------------------------
# property tests


@given(arrays(np.float64, st.tuples(st.integers(1, 10), st.integers(1, 10)),
              elements=st.floats(-10, 10, allow_nan=False, allow_infinity=False)))
def test_property_spd_factor_and_reconstruct(b):
    n = b.shape[0]
    a = b @ b.T + n * np.eye(n)  # SPD for every b, with lambda_min >= n
    l = cholesky(a)
    assert np.all(np.diagonal(l) > 0)
    # Higham's bound, plus the absolute error of underflow (hypothesis likes subnormal entries)
    # (at most half the smallest subnormal per operation, carried into L L^T by factors <= max|L|)
    underflow = 2 * (n + 1) * np.finfo(np.float64).smallest_subnormal * (1 + np.abs(l).max())
    assert np.all(np.abs(a - l @ l.T) <= 2 * (n + 1) * EPS * (np.abs(l) @ np.abs(l).T) + underflow)
    f = ldl(a)
    assert np.all(f.d > 0)
    np.testing.assert_allclose(f.l * np.sqrt(f.d), l, rtol=0, atol=20 * n * EPS * np.sqrt(np.abs(a).max()))


@given(arrays(np.float64, st.integers(1, 8), elements=st.floats(-5, 5, allow_nan=False)))
def test_property_negative_diagonal_entry_is_the_reported_pivot(d):
    # a diagonal matrix is SPD iff all entries are positive; the first non-positive one fails
    a = np.diag(d)
    bad = np.flatnonzero(d <= 0)
    if bad.size == 0:
        np.testing.assert_allclose(cholesky(a), np.diag(np.sqrt(d)), rtol=EPS, atol=0)
    else:
        with pytest.raises(NotPositiveDefiniteError) as info:
            cholesky(a)
        assert info.value.index == bad[0]


@pytest.mark.parametrize("n", [2, 5, 30])
def test_breakdown_of_an_spd_matrix_stored_singular_matches_lapack(n):
    """SPD in exact arithmetic (all ones plus 2**-60 I), stored as all ones: both codes stop.

    Every operation is exact (1 - 1 * 1 = 0), so the zero pivot appears on every machine. (The Hilbert
    matrix of order 14 used to be the example: it breaks down under some BLAS kernels and not under
    others, e.g. not under OpenBLAS's Sandybridge kernel.)
    """
    a = np.ones((n, n)) + 2.0**-60 * np.eye(n)
    assert np.all(a == 1.0)  # rounded away when stored
    with pytest.raises(NotPositiveDefiniteError) as info:
        cholesky(a)
    assert info.value.index == 1 and info.value.pivot == 0.0
    with pytest.raises(np.linalg.LinAlgError):
        scipy.linalg.cholesky(a, lower=True)


def test_nearly_singular_hilbert_completes_stably_or_breaks_down_honestly():
    """Beyond Higham's completion condition either outcome is possible; each is checked for what it promises."""
    for n in range(10, 17):
        h = scipy.linalg.hilbert(n)
        try:
            l = cholesky(h)
        except NotPositiveDefiniteError as error:
            assert error.pivot <= 0 and 1 <= error.index < n
            assert 20 * n**1.5 * np.linalg.cond(h) * EPS / 2 >= 1  # only where completion is not guaranteed
        else:  # completed: backward stable (Higham 2002, Thm 10.3)
            assert np.all(np.abs(h - l @ l.T) <= 2 * (n + 1) * EPS * (np.abs(l) @ np.abs(l).T))


@pytest.mark.parametrize("factor", [cholesky, ldl])
def test_upper_triangle_is_checked_not_ignored(factor):
    """The docstrings: symmetry is checked, so a different upper triangle raises."""
    a = np.array([[4.0, 1.0], [0.0, 3.0]])
    with pytest.raises(ValueError, match="a must be symmetric"):
        factor(a)
