"""Tests for mathguide.linalg.symmetric_eigen: tridiagonalization, symmetric QR, Sturm bisection."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import scipy.linalg
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mathguide.linalg import random_matrix
from mathguide.linalg.qr import givens_rotation
from mathguide.linalg.symmetric_eigen import (
    _givens,
    bisection_eigenvalues,
    secular_equation_roots,
    sturm_count,
    symmetric_qr_eigen,
    tridiagonalize,
)

EPS = np.finfo(np.float64).eps


def random_symmetric(rng, n, dtype=np.float64):
    b = rng.standard_normal((n, n))
    return ((b + b.T) / 2).astype(dtype)


def tridiagonal_matrix(d, e):
    return np.diag(d) + np.diag(e, 1) + np.diag(e, -1)


# ---------------------------------------------------------------------------------------------
# tridiagonalize


@pytest.mark.parametrize("n", [1, 2, 3, 10, 60])
def test_tridiagonalize_reconstructs_and_keeps_spectrum(rng, n):
    a = random_symmetric(rng, n)
    before = a.copy()
    tri = tridiagonalize(a)
    np.testing.assert_array_equal(a, before)  # input not mutated
    t = tridiagonal_matrix(tri.d, tri.e)
    scale = max(np.linalg.norm(a, 2), 1.0)
    np.testing.assert_allclose(tri.q @ t @ tri.q.T, a, rtol=0, atol=10 * n * EPS * scale)
    np.testing.assert_allclose(tri.q.T @ tri.q, np.eye(n), rtol=0, atol=10 * n * EPS)
    np.testing.assert_allclose(
        scipy.linalg.eigvalsh_tridiagonal(tri.d, tri.e), scipy.linalg.eigvalsh(a), rtol=0, atol=10 * n * EPS * scale
    )
    assert tri.e.shape == (max(n - 1, 0),)


def test_tridiagonalize_without_q_and_float32(rng):
    a = random_symmetric(rng, 20, np.float32)
    tri = tridiagonalize(a, compute_q=False)
    assert tri.q is None and tri.d.dtype == np.float32
    ref = scipy.linalg.eigvalsh(a.astype(np.float64))
    got = scipy.linalg.eigvalsh_tridiagonal(tri.d.astype(np.float64), tri.e.astype(np.float64))
    np.testing.assert_allclose(got, ref, rtol=0, atol=200 * np.finfo(np.float32).eps * np.abs(ref).max())


def test_tridiagonalize_rejects_non_symmetric_and_non_square(rng):
    with pytest.raises(ValueError, match="a must be symmetric"):
        tridiagonalize(rng.standard_normal((4, 4)))
    with pytest.raises(ValueError, match="a must be a square"):
        tridiagonalize(np.zeros((3, 4)))
    with pytest.raises(TypeError, match="a must be array-like"):
        tridiagonalize("abc")


# ---------------------------------------------------------------------------------------------
# symmetric_qr_eigen


def test_scalar_givens_matches_library_kernel(rng):
    for a, b in [*rng.standard_normal((20, 2)), (0.0, 0.0), (0.0, 3.0), (-2.0, 0.0), (1e300, 1e300)]:
        np.testing.assert_allclose(_givens(float(a), float(b)), givens_rotation(a, b), rtol=2 * EPS, atol=0)


@pytest.mark.parametrize("n", [1, 2, 5, 40, 300])
def test_symmetric_qr_matches_scipy(rng, n):
    a = random_symmetric(rng, n)
    result = symmetric_qr_eigen(a)
    assert result.converged and result.iterations == len(result.offdiag_history)
    norm = np.linalg.norm(a, 2)
    np.testing.assert_allclose(result.eigenvalues, scipy.linalg.eigvalsh(a), rtol=0, atol=1e-12 * norm)
    v = result.eigenvectors
    np.testing.assert_allclose(v.T @ v, np.eye(n), rtol=0, atol=1e-13 * n)
    np.testing.assert_allclose(a @ v, v * result.eigenvalues, rtol=0, atol=1e-12 * norm)


def test_symmetric_qr_takes_about_two_steps_per_eigenvalue(rng):
    # the Wilkinson shift converges fast: far fewer than the default 30 n steps (GVL 8.3: ~2n)
    n = 100
    result = symmetric_qr_eigen(random_symmetric(rng, n), compute_vectors=False)
    assert result.eigenvectors is None
    assert n - 1 <= result.iterations <= 3 * n


def test_symmetric_qr_repeated_eigenvalues_and_diagonal(rng):
    q = random_matrix(12, singular_values=np.ones(12), rng=rng)
    values = np.repeat([-1.0, 2.0, 5.0], 4)
    a = q @ np.diag(values) @ q.T
    a = (a + a.T) / 2
    result = symmetric_qr_eigen(a)
    np.testing.assert_allclose(result.eigenvalues, values, rtol=0, atol=50 * EPS * 5)
    np.testing.assert_allclose(result.eigenvectors.T @ result.eigenvectors, np.eye(12), rtol=0, atol=50 * EPS)
    diag = np.diag([3.0, -1.0, 2.0])
    result = symmetric_qr_eigen(diag)
    assert result.iterations == 0
    np.testing.assert_array_equal(result.eigenvalues, [-1.0, 2.0, 3.0])


def test_symmetric_qr_float32_and_maxiter(rng):
    a = random_symmetric(rng, 30, np.float32)
    result = symmetric_qr_eigen(a)
    assert result.eigenvalues.dtype == np.float32 and result.eigenvectors.dtype == np.float32
    ref = scipy.linalg.eigvalsh(a.astype(np.float64))
    np.testing.assert_allclose(result.eigenvalues, ref, rtol=0, atol=30 * np.finfo(np.float32).eps * np.abs(ref).max())
    stopped = symmetric_qr_eigen(random_symmetric(rng, 30), maxiter=3)
    assert not stopped.converged and stopped.iterations == 3


def test_symmetric_qr_bad_arguments(rng):
    a = random_symmetric(rng, 4)
    with pytest.raises(ValueError, match="tol must be positive"):
        symmetric_qr_eigen(a, tol=0.0)
    with pytest.raises(ValueError, match="maxiter must be an integer"):
        symmetric_qr_eigen(a, maxiter=-1)
    with pytest.raises(ValueError, match="a must be symmetric"):
        symmetric_qr_eigen(np.triu(a) + 1)
    with pytest.raises(ValueError, match="a must not contain NaN"):
        symmetric_qr_eigen(np.full((2, 2), np.nan))


# ---------------------------------------------------------------------------------------------
# Sturm counts and bisection


def exact_negative_pivots(d, e, x):
    """Number of negative pivots of T - x I in exact rational arithmetic (x not an eigenvalue)."""
    count, q = 0, None
    for i, di in enumerate(d):
        q = Fraction(di) - Fraction(x) if i == 0 else Fraction(di) - Fraction(x) - Fraction(e[i - 1]) ** 2 / q
        count += q < 0
    return count


def test_sturm_count_against_sorted_eigenvalues_and_exact_rationals(rng):
    d, e = rng.standard_normal(25), rng.standard_normal(24)
    eigenvalues = scipy.linalg.eigvalsh_tridiagonal(d, e)
    gaps = np.diff(eigenvalues)
    shifts = eigenvalues[:-1] + gaps / 2  # between consecutive eigenvalues: unambiguous counts
    counts = sturm_count(d, e, shifts)
    np.testing.assert_array_equal(counts, np.arange(1, 25))
    for x in shifts[::5]:
        assert sturm_count(d, e, float(x)) == exact_negative_pivots(d, e, float(x))
    assert sturm_count(d, e, -np.inf) == 0 and sturm_count(d, e, np.inf) == 25
    assert isinstance(sturm_count(d, e, 0.0), int)


def test_sturm_count_zero_pivot():
    # T = [[0, 1], [1, 0]] at x = 0: the first pivot is exactly zero; eigenvalues -1 and 1
    assert sturm_count([0.0, 0.0], [1.0], 0.0) == 1
    # a zero off-diagonal splits the matrix: the count is that of the diagonal blocks
    assert sturm_count([1.0, 2.0, 3.0], [0.0, 0.0], 2.5) == 2


def test_sturm_count_at_exact_eigenvalues_counts_the_tie():
    # x exactly an eigenvalue: a pivot vanishes, is made negative (LAPACK's convention), and the
    # eigenvalue at x is counted, so the count is #{lambda <= x}, not #{lambda < x}
    assert sturm_count([1.0, 2.0, 3.0], [0.0, 0.0], 2.0) == 2
    assert sturm_count([2.0, 2.0], [1.0], [1.0, 3.0]).tolist() == [1, 2]  # eigenvalues 1, 3
    assert sturm_count([0.0, 0.0], [1.0], [-1.0, 1.0]).tolist() == [1, 2]  # eigenvalues -1, 1
    # path-graph Laplacian of order 5: eigenvalues 2 - 2 cos(k pi / 6), among them 1, 2 and 3
    d, e = np.full(5, 2.0), np.full(4, -1.0)
    exact = 2 - 2 * np.cos(np.arange(1, 6) * np.pi / 6)
    ties = np.array([1.0, 2.0, 3.0])
    below = np.sum(exact[None, :] < ties[:, None] - 1e-12, axis=1)
    np.testing.assert_array_equal(sturm_count(d, e, ties), below + 1)
    # bisection still converges onto the tied eigenvalues
    np.testing.assert_allclose(bisection_eigenvalues(d, e).eigenvalues, exact, rtol=0, atol=8 * EPS)


def test_bisection_matches_scipy_on_all_and_selected(rng):
    n = 300
    d, e = rng.standard_normal(n), rng.standard_normal(n - 1)
    ref = scipy.linalg.eigvalsh_tridiagonal(d, e)
    norm = np.abs(ref).max()
    result = bisection_eigenvalues(d, e)
    assert result.converged and result.iterations <= 64
    np.testing.assert_allclose(result.eigenvalues, ref, rtol=0, atol=1e-12 * norm)
    chosen = bisection_eigenvalues(d, e, [0, 150, n - 1])
    np.testing.assert_allclose(chosen.eigenvalues, ref[[0, 150, n - 1]], rtol=0, atol=1e-12 * norm)
    assert np.all(chosen.widths <= 2 * EPS * 2 * norm + 1e-300)


def test_bisection_one_by_one_and_errors():
    result = bisection_eigenvalues([2.5], [])
    np.testing.assert_allclose(result.eigenvalues, [2.5], rtol=2 * EPS, atol=0)
    with pytest.raises(ValueError, match=r"e must have shape \(2,\)"):
        bisection_eigenvalues([1.0, 2.0, 3.0], [1.0])
    with pytest.raises(ValueError, match="indices must lie in"):
        bisection_eigenvalues([1.0, 2.0], [1.0], [2])
    with pytest.raises(TypeError, match="indices must be integers"):
        bisection_eigenvalues([1.0, 2.0], [1.0], [0.5])
    with pytest.raises(ValueError, match="tol must be positive"):
        bisection_eigenvalues([1.0, 2.0], [1.0], tol=-1.0)
    not_done = bisection_eigenvalues([1.0, 2.0], [1.0], maxiter=3)
    assert not not_done.converged and not_done.iterations == 3


# ---------------------------------------------------------------------------------------------
# secular equation


def test_secular_roots_are_eigenvalues_of_rank_one_update(rng):
    d = np.sort(rng.standard_normal(40))
    z = rng.standard_normal(40)
    rho = 0.7
    ref = scipy.linalg.eigvalsh(np.diag(d) + rho * np.outer(z, z))
    result = secular_equation_roots(d, z, rho)
    assert result.converged and 0 < result.iterations < 200
    roots = result.roots
    np.testing.assert_allclose(roots, ref, rtol=0, atol=100 * EPS * np.abs(ref).max())
    # Too few halvings: the flag says so.
    assert not secular_equation_roots(d, z, rho, maxiter=5).converged
    assert np.all((roots[:-1] > d[:-1]) & (roots[:-1] < d[1:]))  # interlacing


def test_secular_roots_errors():
    with pytest.raises(ValueError, match="d must be strictly increasing"):
        secular_equation_roots([1.0, 1.0], [1.0, 1.0], 1.0)
    with pytest.raises(ValueError, match="z must have no zero entry"):
        secular_equation_roots([1.0, 2.0], [1.0, 0.0], 1.0)
    with pytest.raises(ValueError, match="rho must be positive"):
        secular_equation_roots([1.0, 2.0], [1.0, 1.0], 0.0)
    with pytest.raises(ValueError, match="z must have the shape of d"):
        secular_equation_roots([1.0, 2.0], [1.0], 1.0)


def test_symmetric_qr_eigenvectors_match_scipy_eigh(rng):
    # well-separated eigenvalues: each eigenvector is determined up to sign, to about eps ||A|| / gap
    n = 40
    values = np.arange(n, dtype=float)  # gap 1
    q = random_matrix(n, singular_values=np.ones(n), rng=rng)
    a = (q * values) @ q.T
    a = (a + a.T) / 2
    ours = symmetric_qr_eigen(a).eigenvectors
    _, theirs = scipy.linalg.eigh(a)
    signs = np.sign(np.sum(ours * theirs, axis=0))
    norm, gap = n - 1.0, 1.0  # backward errors O(n eps ||A||) on both sides, divided by the gap
    np.testing.assert_allclose(ours * signs, theirs, rtol=0, atol=10 * n * EPS * norm / gap)


@given(
    d=arrays(np.float64, 6, elements=st.floats(-10, 10)),
    e=arrays(np.float64, 5, elements=st.floats(-10, 10)),
    x=st.floats(-40, 40),
)
def test_sturm_count_property(d, e, x):
    eigenvalues = scipy.linalg.eigvalsh_tridiagonal(d, e)
    assume(np.min(np.abs(eigenvalues - x)) > 1e-8 * (1 + np.abs(eigenvalues).max()))
    assert sturm_count(d, e, x) == int(np.sum(eigenvalues < x))


@pytest.mark.parametrize("factor", [1e-300, 1e300])
def test_symmetric_eigen_near_the_ends_of_the_float_range(rng, factor):
    # e**2 used to underflow (1e-300: bisection saw a diagonal matrix and returned wrong values
    # flagged as converged) or overflow (1e300: NaN from bisection and from symmetric QR)
    a = random_symmetric(rng, 8)
    ref = scipy.linalg.eigvalsh(a)
    tri = tridiagonalize(a)
    qr = symmetric_qr_eigen(a * factor)
    assert qr.converged
    np.testing.assert_allclose(qr.eigenvalues / factor, ref, rtol=0, atol=1e-13 * np.abs(ref).max())
    bis = bisection_eigenvalues(tri.d * factor, tri.e * factor)
    assert bis.converged
    np.testing.assert_allclose(bis.eigenvalues / factor, ref, rtol=0, atol=1e-13 * np.abs(ref).max())
    midpoints = (ref[:-1] + ref[1:]) / 2 * factor
    np.testing.assert_array_equal(sturm_count(tri.d * factor, tri.e * factor, midpoints), np.arange(1, 8))
    # a user tolerance is absolute, in the units of the data
    coarse = bisection_eigenvalues(tri.d * factor, tri.e * factor, [0], tol=1e-6 * factor)
    assert coarse.converged and coarse.widths[0] <= 1e-6 * factor and coarse.iterations < 40


def test_qr_history_is_in_the_units_of_the_input(rng):
    a = random_symmetric(rng, 6)
    small, big = symmetric_qr_eigen(a), symmetric_qr_eigen(a * 2.0**40)
    np.testing.assert_allclose(big.offdiag_history, small.offdiag_history * 2.0**40, rtol=1e-12, atol=0)


@pytest.mark.parametrize("flag", ["no", 0, 1, None, np.array([True])])
def test_flags_accept_only_booleans(flag):
    # a string such as "no" is truthy: it used to compute the vectors (or q) silently
    with pytest.raises(TypeError, match="compute_vectors must be a bool"):
        symmetric_qr_eigen(np.eye(2), compute_vectors=flag)
    with pytest.raises(TypeError, match="compute_q must be a bool"):
        tridiagonalize(np.eye(2), compute_q=flag)
    assert symmetric_qr_eigen(np.eye(2), compute_vectors=np.bool_(False)).eigenvectors is None
    assert tridiagonalize(np.eye(3), compute_q=np.False_).q is None


def test_eigenvalues_beyond_the_float_range_are_refused():
    a = np.full((3, 3), 1e308)  # eigenvalue 3e308 is not a float64; it used to come back as inf
    with pytest.raises(OverflowError, match="eigenvalue of a exceeds"):
        symmetric_qr_eigen(a)
    with pytest.raises(OverflowError, match=r"\(d, e\)"):  # eigenvalues 0 and 2e308
        bisection_eigenvalues([1e308, 1e308], [1e308])


def test_subnormal_input():
    # the largest entry is subnormal: the power of two that would bring it to 1 overflows
    a = np.array([[3e-320, 1e-320], [1e-320, 1e-320]])
    ref = scipy.linalg.eigvalsh(a * 2.0**1000) / 2.0**1000
    np.testing.assert_allclose(symmetric_qr_eigen(a).eigenvalues, ref, rtol=0, atol=2 * 5e-324)
    bis = bisection_eigenvalues(np.diagonal(a), [1e-320])
    np.testing.assert_allclose(bis.eigenvalues, ref, rtol=0, atol=2 * 5e-324)
