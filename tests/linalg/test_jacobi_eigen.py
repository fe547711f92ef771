"""Tests for mathguide.linalg.jacobi_eigen: classical and cyclic Jacobi, relative accuracy."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import scipy.linalg

from mathguide.linalg import random_matrix, symmetric_qr_eigen
from mathguide.linalg.jacobi_eigen import jacobi_eigh, jacobi_rotation

EPS = np.finfo(np.float64).eps


def random_symmetric(rng, n, dtype=np.float64):
    b = rng.standard_normal((n, n))
    return ((b + b.T) / 2).astype(dtype)


def graded_spd(rng, n, grading):
    """D A D with A SPD, unit diagonal, eigenvalues of A in [0.5, 2] before scaling; D = grading."""
    q = random_matrix(n, singular_values=np.ones(n), rng=rng)
    a = q @ np.diag(np.linspace(0.5, 2.0, n)) @ q.T
    scale = np.sqrt(np.diagonal(a))
    a = a / np.outer(scale, scale)
    h = a * np.outer(grading, grading)
    return (h + h.T) / 2


def mp_eigenvalues(h, dps=80):
    with mpmath.workdps(dps):
        values = mpmath.eigsy(mpmath.matrix(h.tolist()), eigvals_only=True)
        return np.sort([float(x) for x in values])


@pytest.mark.parametrize(
    ("app", "apq", "aqq"), [(1.0, 2.0, 3.0), (3.0, -1e-3, -2.0), (1.0, 1.0, 1.0), (0.0, 1e-200, 1e200)]
)
def test_rotation_diagonalizes_two_by_two(app, apq, aqq):
    c, s, t = jacobi_rotation(app, apq, aqq)
    j = np.array([[c, s], [-s, c]])
    b = j.T @ np.array([[app, apq], [apq, aqq]]) @ j
    scale = max(abs(app), abs(apq), abs(aqq))
    assert abs(b[0, 1]) <= 4 * EPS * scale
    np.testing.assert_allclose(np.diagonal(b), [app - t * apq, aqq + t * apq], rtol=4 * EPS, atol=4 * EPS * scale)
    assert abs(t) <= 1  # the inner rotation, |theta| <= pi/4
    assert jacobi_rotation(1.0, 0.0, 2.0) == (1.0, 0.0, 0.0)


@pytest.mark.parametrize("cyclic", [True, False])
@pytest.mark.parametrize("n", [1, 2, 7, 40])
def test_jacobi_matches_scipy(rng, n, cyclic):
    a = random_symmetric(rng, n)
    before = a.copy()
    result = jacobi_eigh(a, cyclic=cyclic)
    np.testing.assert_array_equal(a, before)
    assert result.converged and len(result.off_norms) == result.iterations + 1
    norm = max(np.linalg.norm(a, 2), 1.0)
    np.testing.assert_allclose(result.eigenvalues, scipy.linalg.eigvalsh(a), rtol=0, atol=10 * n * EPS * norm)
    v = result.eigenvectors
    np.testing.assert_allclose(v.T @ v, np.eye(n), rtol=0, atol=10 * n * EPS)
    np.testing.assert_allclose(a @ v, v * result.eigenvalues, rtol=0, atol=10 * n * EPS * norm)


def test_off_norm_decreases_and_converges_quadratically(rng):
    a = random_symmetric(rng, 30)
    result = jacobi_eigh(a)
    # each rotation removes 2 a_pq^2 from off(A)^2: off never increases, up to the rounding of the norm
    assert np.all(np.diff(result.off_norms) <= 10 * EPS * np.linalg.norm(a))
    # quadratic convergence (Schonhage; van Kempen): once off(A) is far below the gaps, one sweep
    # maps off to about C off^2. Measured as an order, which C cannot bias: start from
    # diag(0..n-1) (gaps >= 1) plus eps E with off(E) = 1, one sweep, slope of log off_+ in log eps.
    # A linearly convergent sweep (one that skips some rotations, say) gives 1.
    n = 30
    diagonal = np.diag(rng.permutation(n).astype(float))
    e = random_symmetric(rng, n)
    np.fill_diagonal(e, 0.0)
    e /= np.linalg.norm(e)
    sizes = np.array([1e-4, 1e-5])
    for cyclic in (True, False):
        after = [jacobi_eigh(diagonal + size * e, cyclic=cyclic, maxsweeps=1).off_norms[1] for size in sizes]
        order = np.log(after[1] / after[0]) / np.log(sizes[1] / sizes[0])
        assert 1.5 < order < 2.5


def test_classical_sweep_count_and_rotations(rng):
    result = jacobi_eigh(random_symmetric(rng, 20), cyclic=False)
    assert result.converged and result.rotations >= 20 * 19 // 2
    assert result.iterations <= 10


def test_graded_matrix_relative_accuracy_against_mpmath(rng):
    n = 8
    grading = 10.0 ** (-2.5 * np.arange(n))[::-1]  # increasing: the order that defeats tridiagonal QR
    h = graded_spd(rng, n, grading)
    exact = mp_eigenvalues(h)
    jacobi = jacobi_eigh(h).eigenvalues
    assert np.max(np.abs(jacobi - exact) / exact) < 1e-13  # Demmel-Veselic: eps * kappa(A), kappa(A) <= 4
    qr = symmetric_qr_eigen(h, compute_vectors=False).eigenvalues
    assert np.max(np.abs(qr - exact) / np.abs(exact)) > 1e-3  # only absolute accuracy eps * ||H||


def test_float32_and_errors(rng):
    a = random_symmetric(rng, 10, np.float32)
    result = jacobi_eigh(a)
    assert result.eigenvalues.dtype == np.float32 and result.eigenvectors.dtype == np.float32
    ref = scipy.linalg.eigvalsh(a.astype(np.float64))
    np.testing.assert_allclose(result.eigenvalues, ref, rtol=0, atol=100 * np.finfo(np.float32).eps * np.abs(ref).max())
    with pytest.raises(ValueError, match="a must be symmetric"):
        jacobi_eigh(rng.standard_normal((3, 3)))
    with pytest.raises(ValueError, match="tol must be positive"):
        jacobi_eigh(np.eye(2), tol=0)
    with pytest.raises(ValueError, match="maxsweeps must be an integer"):
        jacobi_eigh(np.eye(2), maxsweeps=-1)
    stopped = jacobi_eigh(random_symmetric(rng, 10), maxsweeps=1)
    assert not stopped.converged and stopped.iterations == 1


@pytest.mark.parametrize("factor", [1e-300, 1e300])
def test_jacobi_near_the_ends_of_the_float_range(rng, factor):
    # the products a_pp a_qq in the threshold used to overflow to inf: at 1e300 no rotation was
    # done and the diagonal was returned, flagged as converged
    h = graded_spd(rng, 6, np.ones(6))
    result = jacobi_eigh(h * factor)
    assert result.converged
    np.testing.assert_allclose(result.eigenvalues / factor, scipy.linalg.eigvalsh(h), rtol=1e-13, atol=0)
    off = np.linalg.norm(h - np.diag(np.diag(h)))
    np.testing.assert_allclose(result.off_norms[0] / factor, off, rtol=1e-14, atol=0)


@pytest.mark.parametrize("flag", ["no", 0, 1, None])
def test_cyclic_accepts_only_booleans(flag):
    # cyclic="no" is truthy: it used to run the cyclic method when the classical was meant
    with pytest.raises(TypeError, match="cyclic must be a bool"):
        jacobi_eigh(np.eye(2), cyclic=flag)
    assert jacobi_eigh(np.diag([2.0, 1.0]), cyclic=np.False_).converged


def test_jacobi_refuses_eigenvalues_beyond_the_float_range_and_takes_subnormals():
    with pytest.raises(OverflowError, match="eigenvalue of a exceeds"):
        jacobi_eigh(np.full((3, 3), 1e308))
    big = jacobi_eigh(np.array([[0.0, 1e308], [1e308, 0.0]]))  # eigenvalues +-1e308: representable
    np.testing.assert_allclose(big.eigenvalues, [-1e308, 1e308], rtol=4 * EPS, atol=0)
    a = np.array([[3e-320, 1e-320], [1e-320, 1e-320]])
    ref = scipy.linalg.eigvalsh(a * 2.0**1000) / 2.0**1000
    np.testing.assert_allclose(jacobi_eigh(a).eigenvalues, ref, rtol=0, atol=2 * 5e-324)
