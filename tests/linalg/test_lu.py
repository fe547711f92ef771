"""Tests for mathguide.linalg.lu: triangular solves, LU (unblocked and blocked), solves, growth factor."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mathguide.linalg.lu import (
    LU,
    LUComplete,
    SingularMatrixError,
    back_substitution,
    determinant,
    forward_substitution,
    growth_factor,
    iterative_refinement,
    lu,
    lu_blocked,
    lu_solve,
    solve,
)
from mathguide.linalg.matrices import random_matrix
from mathguide.seeding import seeded_rng

EPS = np.finfo(np.float64).eps
PIVOTINGS = ["none", "partial", "complete"]



def wilkinson(n: int) -> np.ndarray:
    """1 on the diagonal, -1 below it, 1 in the last column."""
    w = np.eye(n) - np.tril(np.ones((n, n)), -1)
    w[:, -1] = 1
    return w


def reconstruction_error(a: np.ndarray, f) -> float:
    """||P A (Q) - L U||_1 / (||A||_1 n eps): of order 1 (times the growth factor) for a stable LU."""
    lhs = a[f.perm][:, f.col_perm] if isinstance(f, LUComplete) else a[f.perm]
    n = max(a.shape)
    return np.linalg.norm(lhs - f.l @ f.u, 1) / (np.linalg.norm(a, 1) * n * EPS)


def is_permutation(p: np.ndarray, n: int) -> bool:
    return p.shape == (n,) and np.array_equal(np.sort(p), np.arange(n))


# ---------------------------------------------------------------------------------------------
# triangular solves


def assert_triangular_solve_close(t: np.ndarray, x: np.ndarray, reference: np.ndarray, **kwargs) -> None:
    """``x`` and ``reference`` (two computed solutions of ``T x = b``) agree to the forward error bound.

    A triangular solve is componentwise backward stable, ``(T + dT) x_hat = b`` with ``|dT| <= gamma_n |T|``
    (Higham 2002, Thm 8.5), so each solution has ``||x_hat - x||_inf <= cond(T) gamma_n / (1 - cond(T) gamma_n)
    ||x||_inf`` with Skeel's ``cond(T) = || |T^-1| |T| ||_inf``; two of them differ by at most twice that.
    ``cond(T)`` is computed from an inverse that is itself rounded: a factor 2 covers it while
    ``cond(T) gamma_n`` is small, which the function asserts (the hypothesis of the bound).
    """
    n = t.shape[0]
    if kwargs.get("unit_diagonal"):
        t = np.tril(t, -1) + np.eye(n) if kwargs.get("lower") else np.triu(t, 1) + np.eye(n)
    else:
        t = np.tril(t) if kwargs.get("lower") else np.triu(t)
    inverse = scipy.linalg.solve_triangular(t, np.eye(n), lower=bool(kwargs.get("lower")))
    skeel = 2 * np.linalg.norm(np.abs(inverse) @ np.abs(t), np.inf)
    gamma = n * (EPS / 2) / (1 - n * (EPS / 2))
    assert skeel * gamma < 0.25  # the hypothesis of the bound: asserted, not assumed
    relative = skeel * gamma / (1 - skeel * gamma)
    x, reference = np.reshape(x, (n, -1)), np.reshape(reference, (n, -1))
    size = np.max(np.abs(reference), axis=0) / (1 - relative)  # bounds ||x_exact||_inf from above
    assert np.all(np.max(np.abs(x - reference), axis=0) <= 2 * relative * size)


@pytest.mark.parametrize("n", [1, 2, 7, 50])
@pytest.mark.parametrize("rhs_shape", [(), (3,)])
def test_triangular_solves_match_scipy(rng, n, rhs_shape):
    # Tolerances from the forward error bound (condition number times n u), not a fixed multiple of n eps:
    # the unit lower triangle of this matrix has cond(T) near 1e7, and its solution differs from SciPy's by
    # 1.1e-13 under OpenBLAS's Haswell kernel.
    lower = np.tril(rng.standard_normal((n, n))) + n * np.eye(n)
    upper = lower.T.copy()
    b = rng.standard_normal((n, *rhs_shape))
    assert_triangular_solve_close(
        lower, forward_substitution(lower, b), scipy.linalg.solve_triangular(lower, b, lower=True), lower=True
    )
    assert_triangular_solve_close(upper, back_substitution(upper, b), scipy.linalg.solve_triangular(upper, b))
    for unit in (True, False):  # a lower unit diagonal, and the upper one too: the flag must be obeyed
        assert_triangular_solve_close(
            lower,
            forward_substitution(lower, b, unit_diagonal=unit),
            scipy.linalg.solve_triangular(lower, b, lower=True, unit_diagonal=unit),
            lower=True,
            unit_diagonal=unit,
        )
        assert_triangular_solve_close(
            upper,
            back_substitution(upper, b, unit_diagonal=unit),
            scipy.linalg.solve_triangular(upper, b, unit_diagonal=unit),
            unit_diagonal=unit,
        )


def test_triangular_solves_read_only_their_triangle(rng):
    a = rng.standard_normal((6, 6)) + 6 * np.eye(6)
    b = rng.standard_normal(6)
    np.testing.assert_allclose(forward_substitution(a, b), forward_substitution(np.tril(a), b), rtol=0, atol=0)
    np.testing.assert_allclose(back_substitution(a, b), back_substitution(np.triu(a), b), rtol=0, atol=0)


@pytest.mark.parametrize("solver", [forward_substitution, back_substitution])
def test_triangular_solve_flag_must_be_a_bool(solver):
    # Issue 26: unit_diagonal="no" was truthy and gave [-1, 2] instead of the solution [0.083, 0.667].
    t = np.array([[2.0, 0.0], [0.0, 3.0]]) + (np.eye(2, k=-1) if solver is forward_substitution else np.eye(2, k=1))
    b = np.array([1.0, 2.0])
    for flag in ("no", "False", 0, 1, None):
        with pytest.raises(TypeError, match="unit_diagonal must be a bool"):
            solver(t, b, unit_diagonal=flag)
    x = solver(t, b, unit_diagonal=np.bool_(False))  # numpy booleans are booleans
    np.testing.assert_allclose(t @ x, b, rtol=4 * EPS, atol=0)
    np.testing.assert_array_equal(solver(t, b, unit_diagonal=np.bool_(True)), solver(t, b, unit_diagonal=True))


def test_triangular_solve_zero_diagonal_names_index():
    u = np.triu(np.ones((4, 4)))
    u[2, 2] = 0
    with pytest.raises(SingularMatrixError, match="index 2") as info:
        back_substitution(u, np.ones(4))
    assert info.value.index == 2
    with pytest.raises(SingularMatrixError, match="index 2"):
        forward_substitution(u.T, np.ones(4))


def test_triangular_solves_bad_input():
    with pytest.raises(ValueError, match="l must be a square"):
        forward_substitution(np.ones((2, 3)), np.ones(2))
    with pytest.raises(ValueError, match="b must have shape"):
        back_substitution(np.eye(3), np.ones(4))
    with pytest.raises(ValueError, match="u must be finite"):
        back_substitution(np.diag([1.0, np.inf]), np.ones(2))


# ---------------------------------------------------------------------------------------------
# LU: reconstruction and agreement with SciPy


@pytest.mark.parametrize("pivoting", PIVOTINGS)
@pytest.mark.parametrize("shape", [(1, 1), (2, 2), (5, 5), (40, 40), (200, 200), (7, 4), (4, 7)])
def test_lu_reconstructs(rng, pivoting, shape):
    a = rng.standard_normal(shape)
    if pivoting == "none":
        # no pivoting is only safe when the pivots are large: make it diagonally dominant
        a[np.arange(min(shape)), np.arange(min(shape))] += max(shape) * 2
    f = lu(a, pivoting=pivoting)
    m, n = shape
    r = min(m, n)
    assert f.l.shape == (m, r) and f.u.shape == (r, n)
    assert is_permutation(f.perm, m)
    np.testing.assert_array_equal(np.triu(f.l, 1), 0)
    np.testing.assert_array_equal(np.diagonal(f.l), 1)
    np.testing.assert_array_equal(np.tril(f.u, -1), 0)
    if pivoting != "none":
        assert np.all(np.abs(f.l) <= 1)  # the pivot is the largest entry of its column
    if pivoting == "complete":
        assert isinstance(f, LUComplete) and is_permutation(f.col_perm, n)
    else:
        assert isinstance(f, LU)
        if pivoting == "none":
            np.testing.assert_array_equal(f.perm, np.arange(m))
    # Higham's bound |PA - LU| <= gamma_n |L||U|, with |L||U| <= n rho max|a|: a few units of n eps
    assert reconstruction_error(a, f) <= 4 * max(1.0, growth_factor(a, pivoting=pivoting)) * min(m, n)


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (30, 30), (120, 120), (9, 5), (5, 9)])
def test_partial_pivoting_matches_scipy(rng, shape):
    a = rng.standard_normal(shape)
    p, l_ref, u_ref = scipy.linalg.lu(a)  # a = p @ l @ u
    f = lu(a)
    # same pivot choices (largest entry, first on ties): same row order and same factors
    np.testing.assert_array_equal(f.perm, np.argmax(p, axis=0))
    n = max(shape)
    np.testing.assert_allclose(f.l, l_ref, rtol=0, atol=100 * n * EPS)
    np.testing.assert_allclose(f.u, u_ref, rtol=0, atol=100 * n * EPS * np.abs(a).max() * n)


@pytest.mark.parametrize("n", [1, 2, 10, 65, 130, 200])
@pytest.mark.parametrize("block_size", [1, 3, 16, 64, 256])
def test_lu_blocked_matches_lu_factor(rng, n, block_size):
    a = rng.standard_normal((n, n))
    f = lu_blocked(a, block_size=block_size)
    lu_ref, piv = scipy.linalg.lu_factor(a)
    # LAPACK's pivot sequence (swap row k with piv[k]) as a permutation
    perm = np.arange(n)
    for k, pk in enumerate(piv):
        perm[[k, pk]] = perm[[pk, k]]
    np.testing.assert_array_equal(f.perm, perm)
    tol = 100 * n * EPS
    np.testing.assert_allclose(np.tril(f.l, -1), np.tril(lu_ref, -1), rtol=0, atol=tol)
    np.testing.assert_allclose(f.u, np.triu(lu_ref), rtol=0, atol=tol * np.abs(lu_ref).max())
    assert reconstruction_error(a, f) <= 4 * n


@pytest.mark.parametrize("n", [5, 10, 12])
def test_hilbert_factorises_stably(n):
    a = scipy.linalg.hilbert(n)  # kappa up to 1e16: the factorisation is still backward stable
    for f in (lu(a), lu_blocked(a, block_size=4), lu(a, pivoting="complete")):
        assert reconstruction_error(a, f) <= 4 * n
    p, l_ref, u_ref = scipy.linalg.lu(a)
    np.testing.assert_array_equal(lu(a).perm, np.argmax(p, axis=0))
    np.testing.assert_allclose(lu(a).u, u_ref, rtol=0, atol=100 * n * EPS)


def test_complete_pivoting_picks_the_largest_entry():
    a = np.array([[1.0, 2.0], [3.0, 10.0]])
    f = lu(a, pivoting="complete")
    assert f.perm[0] == 1 and f.col_perm[0] == 1 and f.u[0, 0] == 10.0
    np.testing.assert_allclose(a[f.perm][:, f.col_perm], f.l @ f.u, rtol=0, atol=4 * EPS * 10)


def test_no_pivoting_on_a_tiny_pivot_loses_accuracy_and_partial_pivoting_does_not():
    eps = 1e-20
    a = np.array([[eps, 1.0], [1.0, 1.0]])
    b = np.array([1.0, 2.0])
    x_exact = np.array([1 / (1 - eps), (1 - 2 * eps) / (1 - eps)])  # both 1 to double precision
    assert np.abs(solve(a, b, pivoting="none") - x_exact).max() > 0.5
    np.testing.assert_allclose(solve(a, b), x_exact, rtol=2 * EPS, atol=0)


@pytest.mark.parametrize("n", [2, 5, 10, 30, 60])
def test_wilkinson_growth_factor_is_two_to_the_n_minus_one(n):
    w = wilkinson(n)
    assert growth_factor(w) == 2.0 ** (n - 1)
    # complete pivoting keeps it small
    assert growth_factor(w, pivoting="complete") <= 2.0


@pytest.mark.parametrize("shape", [(1, 1), (8, 8), (50, 50), (9, 4)])
def test_growth_factor_matches_scipy_factors(rng, shape):
    # independent oracle: the U of LAPACK's getrf (same pivots), max|U| / max|A|
    a = rng.standard_normal(shape)
    _, _, u_ref = scipy.linalg.lu(a)
    expected = np.abs(u_ref).max() / np.abs(a).max()
    np.testing.assert_allclose(growth_factor(a), expected, rtol=100 * max(shape) * EPS, atol=0)


def test_growth_factor_bad_input():
    with pytest.raises(ValueError, match="nonzero entry"):
        growth_factor(np.zeros((3, 3)))


# ---------------------------------------------------------------------------------------------
# errors and input handling


@pytest.mark.parametrize(
    "func", [lambda a: lu(a), lambda a: lu(a, pivoting="complete"), lambda a: lu_blocked(a, block_size=2)]
)
def test_singular_matrix_names_the_pivot(func):
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])  # row 2 = 2 row 1: rank 2
    with pytest.raises(SingularMatrixError, match="zero pivot at index 2") as info:
        func(a)
    assert info.value.index == 2
    assert isinstance(info.value, np.linalg.LinAlgError)


def test_zero_pivot_without_pivoting_names_index_zero():
    with pytest.raises(SingularMatrixError, match="index 0.*needs pivoting"):
        lu(np.array([[0.0, 1.0], [1.0, 0.0]]), pivoting="none")


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: lu(np.ones(3)), ValueError, "a must be a 2-D"),
        (lambda: lu(np.eye(2), pivoting="rook"), ValueError, "pivoting must be one of"),
        (lambda: lu(np.array([[1.0, np.nan], [0.0, 1.0]])), ValueError, "a must not contain NaN"),
        (lambda: lu(np.array([[1.0, np.inf], [0.0, 1.0]])), ValueError, "a must be finite"),
        (lambda: lu("abc"), TypeError, "a must be array-like"),
        (lambda: lu_blocked(np.ones((2, 3))), ValueError, "a must be a square"),
        (lambda: lu_blocked(np.eye(3), block_size=0), ValueError, "block_size must be a positive"),
        (lambda: lu_blocked(np.eye(3), block_size=2.5), TypeError, "block_size must be a positive"),
        (lambda: solve(np.eye(3), np.ones(2)), ValueError, "b must have shape"),
        (lambda: solve(np.eye(3), np.ones((3, 2, 1))), ValueError, "b must have shape"),
        (lambda: solve(np.ones((3, 2)), np.ones(3)), ValueError, "a must be a square"),
        (lambda: lu_solve((np.arange(2), np.eye(2), np.eye(2)), np.ones(2)), TypeError, "factors must be"),
        (lambda: iterative_refinement(np.eye(2), np.ones(2), maxiter=0), ValueError, "maxiter must be a positive"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_inputs_are_not_mutated(rng):
    a = rng.standard_normal((20, 20))
    b = rng.standard_normal((20, 3))
    a0, b0 = a.copy(), b.copy()
    lu(a)
    lu(a, pivoting="complete")
    lu_blocked(a, block_size=4)
    f = lu(a)
    solve(a, b)
    lu_solve(f, b)
    forward_substitution(a, b)
    back_substitution(a, b)
    iterative_refinement(a, b, f)
    determinant(a)
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)


@pytest.mark.parametrize("func", [lambda a: lu(a), lambda a: lu_blocked(a, block_size=8)])
def test_float32_stays_float32(rng, func):
    a = rng.standard_normal((40, 40)).astype(np.float32)
    f = func(a)
    assert f.l.dtype == np.float32 and f.u.dtype == np.float32
    p, l_ref, u_ref = scipy.linalg.lu(a)
    np.testing.assert_array_equal(f.perm, np.argmax(p, axis=0))
    eps32 = np.finfo(np.float32).eps
    assert np.abs(a[f.perm] - f.l @ f.u).max() <= 4 * 40 * eps32 * (np.abs(f.l) @ np.abs(f.u)).max()


@pytest.mark.parametrize("exponent", [1000, -1000])
def test_huge_and_tiny_entries_scale_exactly(rng, exponent):
    # scaling by a power of two commutes with every rounding (no overflow, no subnormals here):
    # the multipliers and pivots are the same, U is scaled exactly
    a = rng.standard_normal((30, 30))
    scale = 2.0**exponent
    for factor in (lambda m: lu(m), lambda m: lu(m, pivoting="complete"), lambda m: lu_blocked(m, block_size=4)):
        f, g = factor(a), factor(scale * a)
        np.testing.assert_array_equal(g.perm, f.perm)
        np.testing.assert_array_equal(g.l, f.l)
        np.testing.assert_array_equal(g.u, scale * f.u)
    b = rng.standard_normal(30)
    np.testing.assert_array_equal(solve(scale * a, b), solve(a, b) / scale)


def test_empty_matrix():
    f = lu_blocked(np.zeros((0, 0)))
    assert f.perm.shape == (0,) and f.l.shape == (0, 0) and f.u.shape == (0, 0)
    assert lu(np.zeros((0, 0))).u.shape == (0, 0)


def test_integer_input_is_promoted():
    f = lu(np.array([[2, 1], [4, 3]]))
    assert f.u.dtype == np.float64
    np.testing.assert_allclose(f.l @ f.u, np.array([[4.0, 3.0], [2.0, 1.0]]), rtol=0, atol=4 * EPS)


# ---------------------------------------------------------------------------------------------
# solving, determinant, refinement


@pytest.mark.parametrize("pivoting", PIVOTINGS)
@pytest.mark.parametrize("rhs_shape", [(), (1,), (4,)])
@pytest.mark.parametrize("n", [1, 3, 60])
def test_solve_matches_scipy(rng, pivoting, rhs_shape, n):
    a = rng.standard_normal((n, n)) + (3 * n * np.eye(n) if pivoting == "none" else 0)
    b = rng.standard_normal((n, *rhs_shape))
    x = solve(a, b, pivoting=pivoting)
    assert x.shape == b.shape
    kappa = np.linalg.cond(a, 1)
    # forward error <= kappa * backward error, backward error a few units of n eps
    np.testing.assert_allclose(x, scipy.linalg.solve(a, b), rtol=0, atol=10 * n * kappa * EPS * np.abs(x).max())
    # the residual is small relative to |A||x|: backward stability
    assert np.abs(a @ x - b).max() <= 10 * n * EPS * (np.abs(a) @ np.abs(x)).max()


def test_lu_solve_with_blocked_factors(rng):
    a = rng.standard_normal((100, 100))
    b = rng.standard_normal((100, 2))
    x = lu_solve(lu_blocked(a, block_size=32), b)
    np.testing.assert_allclose(x, scipy.linalg.lu_solve(scipy.linalg.lu_factor(a), b), rtol=0,
                               atol=100 * 100 * np.linalg.cond(a, 1) * EPS * np.abs(x).max())


@pytest.mark.parametrize("n", [1, 2, 5, 30])
def test_determinant_matches_numpy(rng, n):
    a = rng.standard_normal((n, n))
    np.testing.assert_allclose(determinant(a), np.linalg.det(a), rtol=100 * n * EPS, atol=0)
    # a permutation matrix of known sign: an n-cycle, the product of n - 1 transpositions
    p = np.eye(n)[np.r_[1:n, 0]] if n > 1 else np.eye(1)
    assert determinant(p) == (-1.0) ** (n - 1)


def test_determinant_of_singular_is_zero():
    assert determinant(np.ones((3, 3))) == 0.0


def test_determinant_has_no_intermediate_overflow_or_underflow():
    # Issue 26 (scale): the product of the pivots overflowed (2**1200) before the last pivot brought it back.
    assert determinant(np.diag([2.0**600, 2.0**600, 2.0**-700])) == 2.0**500
    assert determinant(np.diag([2.0**-600, 2.0**-600, 2.0**700])) == 2.0**-500
    assert determinant(np.diag([2.0**600, -(2.0**600), 2.0**-700])[[1, 0, 2]]) == 2.0**500  # signs: - and -
    assert determinant(np.diag([2.0**-1000, 2.0**-74])) == 2.0**-1074  # the smallest subnormal, exactly


def test_determinant_overflow_and_underflow_are_documented_values():
    """A well-conditioned matrix whose determinant is beyond the float range: +-inf or 0, no warning."""
    n = 40
    big = np.diag(np.full(n, 1e10))  # det = 1e400
    assert determinant(big) == np.inf
    swapped = big[[1, 0, *range(2, n)]]  # one transposition: det = -1e400
    assert determinant(swapped) == -np.inf
    assert determinant(np.diag(np.full(n, 1e-10))) == 0.0  # det = 1e-400
    sign, logdet = np.linalg.slogdet(swapped)  # the remedy the docstring names
    assert sign == -1.0 and logdet == pytest.approx(400 * np.log(10), rel=1e-14)


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (np.ones((2, 3)), ValueError, "a must be a square 2-D array"),
        (np.ones(3), ValueError, "a must be a square 2-D array"),
        ([[1.0, np.nan], [0.0, 1.0]], ValueError, "a must not contain NaN"),
        ([[1.0, np.inf], [0.0, 1.0]], ValueError, "a must be finite"),
        ([["a", "b"], ["c", "d"]], TypeError, "a must be array-like of real numbers"),
        ([[1j, 0], [0, 1]], TypeError, "a must be array-like of real numbers"),
    ],
)
def test_determinant_rejects_bad_input(bad, error, message):
    with pytest.raises(error, match=message):
        determinant(bad)


def test_iterative_refinement_float32_factors_reach_float64_accuracy(rng):
    n = 50
    a = random_matrix(n, condition=1e3, rng=rng)  # kappa_2 = 1e3: kappa * eps32 ~ 1e-4 < 1
    x_true = rng.standard_normal(n)
    b = a @ x_true
    f32 = lu(a.astype(np.float32))
    x0 = lu_solve(f32, b)
    result = iterative_refinement(a, b, f32)
    err0 = np.abs(x0 - x_true).max() / np.abs(x_true).max()
    err = np.abs(result.x - x_true).max() / np.abs(x_true).max()
    kappa = np.linalg.cond(a, np.inf)
    assert err0 > 10 * kappa * EPS  # the float32 factors alone are far from double accuracy
    assert err <= 10 * n * kappa * EPS  # refined: the accuracy of a float64 backward-stable solve
    assert result.x.dtype == np.float64
    assert result.corrections[-1] < result.corrections[0]
    assert result.converged and result.iterations == len(result.corrections) >= 2
    # The criterion, checked independently: a backward error of a few unit roundoffs (LAPACK dsgesv).
    backward = np.abs(b - a @ result.x).max() / (np.abs(a).sum(axis=1).max() * np.abs(result.x).max())
    assert backward <= np.sqrt(n) * EPS / 2


def test_iterative_refinement_reports_failure_when_kappa_times_u_exceeds_one(rng):
    """kappa_2 = 1e9 with float32 factors (kappa u_32 ~ 60): the corrections never reach rounding level."""
    n = 50
    a = random_matrix(n, condition=1e9, rng=rng)
    b = a @ rng.standard_normal(n)
    result = iterative_refinement(a, b, lu(a.astype(np.float32)), maxiter=30)
    assert not result.converged
    backward = np.abs(b - a @ result.x).max() / (np.abs(a).sum(axis=1).max() * np.abs(result.x).max())
    assert backward > np.sqrt(n) * EPS / 2
    assert result.iterations == len(result.corrections) <= 30


def test_iterative_refinement_with_its_own_factors(rng):
    # factors omitted: a float64 LU; the first correction is already at the level of kappa * eps
    n = 40
    a = rng.standard_normal((n, n))
    x_true = rng.standard_normal((n, 2))
    b = a @ x_true
    result = iterative_refinement(a, b)
    kappa = np.linalg.cond(a, np.inf)
    assert result.x.shape == b.shape
    assert result.corrections[0] <= 10 * n * kappa * EPS
    np.testing.assert_allclose(result.x, x_true, rtol=0, atol=10 * n * kappa * EPS * np.abs(x_true).max())


# ---------------------------------------------------------------------------------------------
# property tests


@given(
    arrays(np.float64, st.tuples(st.integers(1, 12), st.integers(1, 12)),
           elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)),
    st.sampled_from(["partial", "complete"]),
)
def test_property_pivoted_lu_reconstructs_or_reports_singular(a, pivoting):
    try:
        f = lu(a, pivoting=pivoting)
    except SingularMatrixError as error:
        # a zero pivot at step k: under partial pivoting the first k + 1 columns are dependent,
        # under complete pivoting the whole trailing block is zero, so rank(a) <= k
        k = error.index
        assert 0 <= k < min(a.shape)
        assert np.linalg.matrix_rank(a[:, : k + 1] if pivoting == "partial" else a) <= k
        return
    assert np.all(np.abs(f.l) <= 1)
    lhs = a[f.perm][:, f.col_perm] if pivoting == "complete" else a[f.perm]
    scale = np.abs(f.l) @ np.abs(f.u)
    n = min(a.shape)
    # componentwise: |PA - LU| <= gamma_n |L||U| (Higham 2002, Thm 9.3), gamma_n ~ n eps, plus
    # the absolute error of underflow (hypothesis likes subnormal entries): at most half the smallest
    # subnormal per operation, carried into L U by factors of size at most max|U| (|L| <= 1)
    underflow = 2 * (n + 1) * np.finfo(np.float64).smallest_subnormal * (1 + np.abs(f.u).max())
    assert np.all(np.abs(lhs - f.l @ f.u) <= 2 * n * EPS * scale + underflow)


@given(st.integers(1, 40), st.integers(1, 20), st.integers(0, 2**32 - 1))
def test_property_blocked_equals_unblocked_pivots(n, block_size, seed):
    a = seeded_rng(seed).standard_normal((n, n))
    f1, f2 = lu(a), lu_blocked(a, block_size=block_size)
    np.testing.assert_array_equal(f1.perm, f2.perm)
    np.testing.assert_allclose(f1.u, f2.u, rtol=0, atol=100 * n * EPS * np.abs(f1.u).max())
