"""Tests for mathguide.linalg.svd: Golub-Kahan bidiagonalization and the one-sided Jacobi SVD."""

from __future__ import annotations

import itertools

import mpmath
import numpy as np
import pytest
import scipy.linalg

from mathguide.linalg import random_matrix
from mathguide.linalg.svd import bidiagonalize, round_robin_pairs, svd_golub_kahan, svd_jacobi

EPS = np.finfo(np.float64).eps


def mp_singular_values(a, dps=80):
    with mpmath.workdps(dps):
        values = mpmath.svd_r(mpmath.matrix(a.tolist()), compute_uv=False)
        return np.sort([float(x) for x in values])[::-1]


def _check_thin_svd(result, a) -> None:
    """Shapes, singular values against LAPACK, orthonormal factors and reconstruction."""
    m, n = a.shape
    k = min(m, n)
    assert result.u.shape == (m, k) and result.s.shape == (k,) and result.vt.shape == (k, n)
    ref = scipy.linalg.svd(a, compute_uv=False)
    np.testing.assert_allclose(result.s, ref, rtol=0, atol=1e-12 * ref[0])
    np.testing.assert_allclose(result.u.T @ result.u, np.eye(k), rtol=0, atol=10 * max(m, n) * EPS)
    np.testing.assert_allclose(result.vt @ result.vt.T, np.eye(k), rtol=0, atol=10 * max(m, n) * EPS)
    np.testing.assert_allclose((result.u * result.s) @ result.vt, a, rtol=0, atol=10 * max(m, n) * EPS * ref[0])


@pytest.mark.parametrize(("m", "n"), [(1, 1), (5, 1), (5, 2), (6, 6), (30, 12), (200, 100)])
def test_bidiagonalize(rng, m, n):
    a = rng.standard_normal((m, n))
    before = a.copy()
    result = bidiagonalize(a)
    np.testing.assert_array_equal(a, before)
    b = np.diag(result.d) + np.diag(result.e, 1)
    scale = np.linalg.norm(a, 2)
    np.testing.assert_allclose(result.u @ b @ result.v.T, a, rtol=0, atol=10 * m * EPS * scale)
    np.testing.assert_allclose(result.u.T @ result.u, np.eye(n), rtol=0, atol=10 * m * EPS)
    np.testing.assert_allclose(result.v.T @ result.v, np.eye(n), rtol=0, atol=10 * m * EPS)
    np.testing.assert_allclose(
        scipy.linalg.svd(b, compute_uv=False), scipy.linalg.svd(a, compute_uv=False), rtol=0, atol=10 * m * EPS * scale
    )


def test_bidiagonalize_rejects_wide_and_bad_input():
    with pytest.raises(ValueError, match="at least as many rows as columns"):
        bidiagonalize(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="a must be a 2-D array"):
        bidiagonalize(np.zeros(3))


@pytest.mark.parametrize("n", [0, 1, 2, 5, 8, 11])
def test_round_robin_covers_every_pair_once(n):
    rounds = round_robin_pairs(n)
    pairs = [(int(p), int(q)) for ps, qs in rounds for p, q in zip(ps, qs, strict=True)]
    assert sorted(pairs) == list(itertools.combinations(range(n), 2))
    for ps, qs in rounds:  # pairs in one round are disjoint
        touched = np.r_[ps, qs]
        assert len(set(touched.tolist())) == touched.size


@pytest.mark.parametrize(("m", "n"), [(1, 1), (4, 1), (1, 4), (7, 7), (30, 12), (12, 30), (200, 100)])
def test_svd_jacobi_matches_scipy(rng, m, n):
    a = random_matrix(m, n, condition=1e6, rng=rng)
    before = a.copy()
    result = svd_jacobi(a)
    np.testing.assert_array_equal(a, before)
    assert result.converged
    _check_thin_svd(result, a)


def test_svd_jacobi_rank_deficient(rng):
    a = random_matrix(9, 5, singular_values=[3.0, 2.0, 1.0, 0.0, 0.0], rng=rng)
    result = svd_jacobi(a)
    np.testing.assert_allclose(result.s[:3], [3.0, 2.0, 1.0], rtol=0, atol=100 * EPS)
    assert np.all(result.s[3:] < 100 * EPS)
    np.testing.assert_allclose(result.u.T @ result.u, np.eye(5), rtol=0, atol=100 * EPS)
    zero = svd_jacobi(np.zeros((4, 3)))
    np.testing.assert_array_equal(zero.s, 0)
    np.testing.assert_allclose(zero.u.T @ zero.u, np.eye(3), rtol=0, atol=10 * EPS)


@pytest.mark.parametrize("order", ["random", "increasing"])
def test_svd_jacobi_relative_accuracy_on_graded_matrix(rng, order):
    # A = B D with well-conditioned B and columns scaled over 17 orders of magnitude
    n = 8
    b = rng.standard_normal((10, n))
    exponents = rng.permutation(n) if order == "random" else np.arange(n)[::-1]
    a = b * 10.0 ** (-2.5 * exponents)
    exact = mp_singular_values(a)
    jacobi = svd_jacobi(a).s
    # Demmel-Veselic: relative error O(eps kappa(B_c)); kappa of the unit-column B is modest here
    kappa_b = np.linalg.cond(b / np.linalg.norm(b, axis=0))
    assert np.max(np.abs(jacobi - exact) / exact) <= 10 * EPS * kappa_b
    assert np.max(np.abs(jacobi - exact) / exact) <= 1e-12
    if order == "increasing":
        # bidiagonal route: with norms increasing left to right the right reflectors smear errors
        # of the large columns into the small ones (>= 3e-3 over 60 seeds); a random order is not
        # asserted: some orders are harmless for gesvd (worst error 2.9e-15 for one of 60 seeds)
        gesvd = scipy.linalg.svd(a, compute_uv=False, lapack_driver="gesvd")
        assert np.max(np.abs(gesvd - exact) / exact) > 1e-6
        # so are the normal equations (>= 1.7e4 over 60 seeds; a random order can give 7.5e-13:
        # A^T A is graded too, and eigvalsh's accuracy on it depends on the order as well)
        normal = np.sqrt(np.abs(np.linalg.eigvalsh(a.T @ a)))[::-1]
        assert np.max(np.abs(normal - exact) / exact) > 1.0


def test_svd_jacobi_float32_and_errors(rng):
    a = random_matrix(20, 8, condition=10.0, dtype=np.float32, rng=rng)
    result = svd_jacobi(a)
    assert result.s.dtype == np.float32 and result.u.dtype == np.float32
    ref = scipy.linalg.svd(a.astype(np.float64), compute_uv=False)
    np.testing.assert_allclose(result.s, ref, rtol=0, atol=50 * np.finfo(np.float32).eps * ref[0])
    with pytest.raises(ValueError, match="tol must be positive"):
        svd_jacobi(a, tol=0.0)
    with pytest.raises(ValueError, match="maxsweeps must be an integer"):
        svd_jacobi(a, maxsweeps=-2)
    with pytest.raises(ValueError, match="a must be a 2-D array"):
        svd_jacobi(np.ones((2, 2, 2)))
    stopped = svd_jacobi(random_matrix(30, 20, condition=1e3, rng=rng), maxsweeps=1)
    assert not stopped.converged and stopped.iterations == 1


# ---------------------------------------------------------------------------------------------
# Golub-Kahan SVD


@pytest.mark.parametrize(("m", "n"), [(1, 1), (4, 1), (1, 4), (2, 2), (7, 7), (30, 12), (12, 30), (200, 100)])
def test_svd_golub_kahan_matches_scipy(rng, m, n):
    a = random_matrix(m, n, condition=1e8, rng=rng)
    before = a.copy()
    result = svd_golub_kahan(a)
    np.testing.assert_array_equal(a, before)
    assert result.converged and result.iterations <= 3 * min(m, n)
    _check_thin_svd(result, a)


@pytest.mark.parametrize(
    "b",
    [
        np.diag([1.0, 0.0, 2.0, 3.0]) + np.diag([1.0, 1.0, 1.0], 1),  # zero in the middle
        np.diag([1.0, 2.0, 3.0, 0.0]) + np.diag([1.0, 1.0, 1.0], 1),  # zero at the bottom
        np.diag([0.0, 2.0, 3.0, 4.0]) + np.diag([1.0, 1.0, 1.0], 1),  # zero at the top
        np.zeros((4, 3)),
    ],
)
def test_svd_golub_kahan_zero_diagonal_entries(b):
    result = svd_golub_kahan(b)
    assert result.converged
    ref = scipy.linalg.svd(b, compute_uv=False)
    np.testing.assert_allclose(result.s, ref, rtol=0, atol=10 * EPS * max(ref[0], 1))
    np.testing.assert_allclose((result.u * result.s) @ result.vt, b, rtol=0, atol=10 * EPS * max(ref[0], 1))
    assert np.all(result.s >= 0) and not np.any(np.signbit(result.s))


def test_svd_golub_kahan_rank_deficient_float32_and_errors(rng):
    a = random_matrix(9, 5, singular_values=[3.0, 2.0, 1.0, 0.0, 0.0], rng=rng)
    result = svd_golub_kahan(a)
    np.testing.assert_allclose(result.s, [3.0, 2.0, 1.0, 0.0, 0.0], rtol=0, atol=100 * EPS)
    np.testing.assert_allclose(result.u.T @ result.u, np.eye(5), rtol=0, atol=100 * EPS)
    a32 = random_matrix(20, 8, condition=10.0, dtype=np.float32, rng=rng)
    r32 = svd_golub_kahan(a32)
    assert r32.s.dtype == np.float32 and r32.u.dtype == np.float32
    np.testing.assert_allclose(r32.s, scipy.linalg.svd(a32.astype(np.float64), compute_uv=False), rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="tol must be positive"):
        svd_golub_kahan(a, tol=0.0)
    with pytest.raises(ValueError, match="maxiter must be an integer"):
        svd_golub_kahan(a, maxiter=-1)
    stopped = svd_golub_kahan(random_matrix(30, 20, condition=1e3, rng=rng), maxiter=2)
    assert not stopped.converged and stopped.iterations == 2


def test_golub_kahan_and_jacobi_agree_and_differ_on_graded(rng):
    # on a column-graded matrix the bidiagonal route has only absolute accuracy, like LAPACK gesvd
    n = 8
    a = rng.standard_normal((10, n)) * 10.0 ** (-2.5 * np.arange(n)[::-1])
    exact = mp_singular_values(a)
    gk = svd_golub_kahan(a).s
    np.testing.assert_allclose(gk, exact, rtol=0, atol=100 * EPS * exact[0])  # normwise accurate
    assert np.max(np.abs(gk - exact) / exact) > 1e-8
    assert np.max(np.abs(svd_jacobi(a).s - exact) / exact) < 1e-12


@pytest.mark.parametrize("factor", [1e-300, 1e-170, 1e170, 1e300])
def test_svds_near_the_ends_of_the_float_range(rng, factor):
    # the squared column norms and the shift used to overflow or underflow: svd_jacobi returned
    # zeros (1e-170) or infinities (1e170) flagged as converged; Golub-Kahan did not converge
    a = rng.standard_normal((7, 4))
    ref = scipy.linalg.svd(a, compute_uv=False)
    for method in (svd_jacobi, svd_golub_kahan):
        result = method(a * factor)
        assert result.converged
        np.testing.assert_allclose(result.s / factor, ref, rtol=1e-13, atol=0)
        recon = (result.u * result.s) @ result.vt / factor
        np.testing.assert_allclose(recon, a, rtol=0, atol=1e-13 * ref[0])


def test_golub_kahan_history_is_in_the_units_of_the_input(rng):
    a = rng.standard_normal((6, 4))
    small, big = svd_golub_kahan(a), svd_golub_kahan(a * 2.0**40)
    np.testing.assert_allclose(big.offdiag_history, small.offdiag_history * 2.0**40, rtol=1e-12, atol=0)


# ---------------------------------------------------------------------------------------------
# issue 26: relative accuracy for columns of any size, loud overflow


@pytest.mark.parametrize(
    "a",
    [
        np.diag([1.0, 1e-200]),  # used to give [1, 0]: the squared norm 1e-400 underflowed
        np.array([[1.0, 0.0], [0.3, 1e-170]]),  # used to give sigma_2 = 0 (true 9.58e-171)
        np.array([[1e300, 0.0], [3e299, 1e-300]]),  # a range of 1e600, beyond any single scaling
        np.diag([1.0, 3e-310]),  # a subnormal entry: kept exactly
    ],
)
def test_svd_jacobi_tiny_columns_keep_relative_accuracy(a):
    exact = mp_singular_values(a, dps=640)  # mpmath is normwise accurate: digits for a 1e600 range
    result = svd_jacobi(a)
    assert result.converged
    np.testing.assert_allclose(result.s, exact, rtol=8 * EPS, atol=0)
    np.testing.assert_allclose(result.u.T @ result.u, np.eye(2), rtol=0, atol=8 * EPS)
    np.testing.assert_allclose(result.vt @ result.vt.T, np.eye(2), rtol=0, atol=8 * EPS)


def test_svd_jacobi_graded_beyond_the_squared_norm_range(rng):
    # columns scaled from 1e150 down to 1e-300: their squares span 1e300 .. 1e-600, far outside
    # float64; Demmel-Veselic still apply, with kappa of B with unit columns
    n = 7
    b = rng.standard_normal((9, n))
    a = b * 10.0 ** (150 - 75 * rng.permutation(n))
    exact = mp_singular_values(a, dps=480)  # mpmath is normwise accurate: 450 digits for the range
    result = svd_jacobi(a)
    kappa_b = np.linalg.cond(b / np.linalg.norm(b, axis=0))
    assert result.converged
    assert np.max(np.abs(result.s - exact) / exact) <= 10 * EPS * kappa_b
    # the factors: orthonormal, and a normwise backward stable reconstruction
    np.testing.assert_allclose(result.u.T @ result.u, np.eye(n), rtol=0, atol=100 * EPS)
    np.testing.assert_allclose(result.vt @ result.vt.T, np.eye(n), rtol=0, atol=100 * EPS)
    recon = (result.u * (result.s / exact[0])) @ result.vt
    np.testing.assert_allclose(recon, a / exact[0], rtol=0, atol=100 * EPS)


def test_svds_refuse_singular_values_beyond_the_float_range():
    a = np.full((3, 3), 1.5e308)  # sigma_1 = 4.5e308 is not a float64
    for method in (svd_jacobi, svd_golub_kahan):
        with pytest.raises(OverflowError, match=r"singular value of a exceeds"):
            method(a)
    # just inside the range: no overflow anywhere on the way
    np.testing.assert_allclose(svd_jacobi(np.full((3, 3), 5e307)).s, [1.5e308, 0, 0], rtol=4 * EPS, atol=1e293)
    np.testing.assert_allclose(svd_golub_kahan(np.full((3, 3), 5e307)).s, [1.5e308, 0, 0], rtol=4 * EPS, atol=1e293)


def test_svds_on_subnormal_input():
    # the largest entry is subnormal: a power of two that scales it up to 1 is not a float64
    a = np.array([[3e-320, 1e-320], [0.0, 2e-320]])
    ref = scipy.linalg.svd(a * 2.0**1000, compute_uv=False) / 2.0**1000
    for method in (svd_jacobi, svd_golub_kahan):
        # the input has only a few significant bits; the answer is right to the subnormal spacing
        np.testing.assert_allclose(method(a).s, ref, rtol=0, atol=2 * 5e-324)
