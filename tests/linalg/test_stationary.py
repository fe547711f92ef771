"""Jacobi, Gauss-Seidel, SOR and SSOR (src/mathguide/linalg/stationary.py)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

from mathguide.linalg import gauss_seidel, jacobi, poisson_matrix, random_matrix, sor, ssor

EPS64 = np.finfo(np.float64).eps


def diagonally_dominant(n, rng, margin=1.0):
    """A random non-symmetric matrix whose diagonal exceeds each row's off-diagonal sum by ``margin``."""
    a = random_matrix(n, condition=10.0, rng=rng)
    np.fill_diagonal(a, 0.0)
    np.fill_diagonal(a, np.abs(a).sum(axis=1) + margin)
    return a


SOLVERS = [
    ("jacobi", lambda a, b, **kw: jacobi(a, b, **kw)),
    ("gauss_seidel", lambda a, b, **kw: gauss_seidel(a, b, **kw)),
    ("sor", lambda a, b, **kw: sor(a, b, 1.2, **kw)),
    ("ssor", lambda a, b, **kw: ssor(a, b, 1.2, **kw)),
]


@pytest.mark.parametrize("name, solve", SOLVERS)
@pytest.mark.parametrize("form", ["dense", "sparse"])
def test_solvers_match_a_direct_solve_on_diagonally_dominant_systems(rng, name, solve, form) -> None:
    a = diagonally_dominant(30, rng)
    b = rng.standard_normal(30)
    matrix = a if form == "dense" else scipy.sparse.csr_matrix(a)
    result = solve(matrix, b, rtol=1e-12)
    assert result.converged
    assert result.iterations == result.residual_norms.size - 1
    np.testing.assert_allclose(result.x, np.linalg.solve(a, b), rtol=1e-10, atol=1e-10 * np.abs(b).max())
    # The history is the true residual of the returned iterate.
    assert result.residual_norms[-1] == pytest.approx(np.linalg.norm(b - a @ result.x), rel=1e-6, abs=1e-14)
    assert result.residual_norms[-1] <= 1e-12 * np.linalg.norm(b)


@pytest.mark.parametrize("name, solve", SOLVERS)
def test_spd_poisson_against_spsolve(name, solve) -> None:
    a = poisson_matrix(8, dim=2)
    b = np.arange(64.0)
    result = solve(a, b, rtol=1e-10)
    assert result.converged
    exact = scipy.sparse.linalg.spsolve(a.tocsc(), b)
    np.testing.assert_allclose(result.x, exact, rtol=0, atol=1e-8 * np.abs(exact).max())


def test_jacobi_error_contracts_by_the_spectral_radius(rng) -> None:
    # On the 1-D model problem, the Jacobi iteration matrix has spectral radius cos(pi h): the error
    # ratio over many steps approaches it (closed form as oracle, not the code's own splitting).
    n = 15
    a = poisson_matrix(n)
    b = rng.standard_normal(n)
    exact = scipy.sparse.linalg.spsolve(a.tocsc(), b)
    steps = 200
    first = jacobi(a, b, rtol=1e-300, atol=1e-300, maxiter=steps)
    second = jacobi(a, b, rtol=1e-300, atol=1e-300, maxiter=steps + 40)
    ratio = (np.linalg.norm(second.x - exact) / np.linalg.norm(first.x - exact)) ** (1 / 40)
    assert ratio == pytest.approx(np.cos(np.pi / (n + 1)), rel=1e-3)
    assert not first.converged and first.iterations == steps


def test_gauss_seidel_equals_sor_with_omega_one_and_the_explicit_sweep(rng) -> None:
    a = diagonally_dominant(6, rng)
    b = rng.standard_normal(6)
    # One Gauss-Seidel sweep written out componentwise (the textbook loop) as the oracle.
    x = np.zeros(6)
    for i in range(6):
        x[i] = (b[i] - a[i, :i] @ x[:i] - a[i, i + 1 :] @ x[i + 1 :]) / a[i, i]
    one = gauss_seidel(a, b, maxiter=1, rtol=1e-300, atol=1e-300)
    np.testing.assert_allclose(one.x, x, rtol=1e-14, atol=1e-14)
    np.testing.assert_array_equal(
        sor(a, b, 1.0, maxiter=3, atol=1e-300, rtol=0).x, gauss_seidel(a, b, maxiter=3, atol=1e-300, rtol=0).x
    )


@pytest.mark.parametrize("omega", [0.6, 1.0, 1.5])
@pytest.mark.parametrize("form", ["dense", "sparse"])
def test_ssor_step_is_a_forward_then_a_backward_sor_sweep(rng, omega, form) -> None:
    # Oracle: the textbook componentwise sweeps, forward (i = 0..n-1) then backward (i = n-1..0),
    # each x_i <- (1 - omega) x_i + omega (b_i - sum_{j != i} a_ij x_j) / a_ii. A splitting matrix
    # off by a factor (for instance (D/omega)^{-1} in the middle instead of D^{-1}) fails for omega != 1.
    n = 7
    a = diagonally_dominant(n, rng)
    b = rng.standard_normal(n)
    x0 = rng.standard_normal(n)
    x = x0.copy()
    for order in (range(n), range(n - 1, -1, -1)):
        for i in order:
            gs = (b[i] - a[i, :i] @ x[:i] - a[i, i + 1 :] @ x[i + 1 :]) / a[i, i]
            x[i] = (1 - omega) * x[i] + omega * gs
    matrix = a if form == "dense" else scipy.sparse.csr_matrix(a)
    one = ssor(matrix, b, omega, x0=x0, maxiter=1, rtol=0, atol=1e-300)
    np.testing.assert_allclose(one.x, x, rtol=1e-13, atol=1e-13)


def test_optimal_sor_parameter_on_the_model_problem() -> None:
    # omega* = 2 / (1 + sin(pi h)) minimises the iteration count; measured over a grid of omega.
    n = 30
    a = poisson_matrix(n)
    b = np.ones(n)
    omegas = np.linspace(1.0, 1.95, 39)
    counts = np.array([sor(a, b, w, rtol=1e-8).iterations for w in omegas])
    omega_star = 2 / (1 + np.sin(np.pi / (n + 1)))
    best = omegas[np.argmin(counts)]
    assert abs(best - omega_star) <= 0.05
    assert counts.min() < counts[0] / 5  # far fewer iterations than Gauss-Seidel


def test_jacobi_diverges_without_diagonal_dominance_and_reports_it() -> None:
    # Jacobi matrix with spectral radius 2: the residual grows, and the result says so.
    a = np.array([[1.0, 2.0], [2.0, 1.0]])
    result = jacobi(a, np.ones(2), maxiter=50)
    assert not result.converged
    assert result.residual_norms[-1] > 1e10 * result.residual_norms[0]


def test_float32_and_no_mutation(rng) -> None:
    a = diagonally_dominant(10, rng).astype(np.float32)
    b = rng.standard_normal(10).astype(np.float32)
    a_copy, b_copy = a.copy(), b.copy()
    x0 = np.ones(10, dtype=np.float32)
    result = sor(a, b, 1.1, x0=x0, rtol=1e-5)
    assert result.x.dtype == np.float32 and result.converged
    np.testing.assert_array_equal(a, a_copy)
    np.testing.assert_array_equal(b, b_copy)
    np.testing.assert_array_equal(x0, np.ones(10, dtype=np.float32))


def test_zero_rhs_converges_immediately() -> None:
    result = gauss_seidel(poisson_matrix(4), np.zeros(4), atol=1e-12)
    assert result.converged and result.iterations == 0
    np.testing.assert_array_equal(result.x, np.zeros(4))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: sor(np.eye(2), np.ones(2), 2.0), ValueError, "omega must lie in the open interval"),
        (lambda: sor(np.eye(2), np.ones(2), 0.0), ValueError, "omega must lie in the open interval"),
        (lambda: ssor(np.eye(2), np.ones(2), -0.5), ValueError, "omega"),
        (lambda: sor(np.eye(2), np.ones(2), "1"), TypeError, "omega must be a real number"),
        (lambda: jacobi(np.ones((2, 3)), np.ones(2)), ValueError, "a must be a square"),
        (lambda: jacobi(np.eye(3), np.ones(2)), ValueError, "b must have shape \\(3,\\)"),
        (lambda: jacobi(np.eye(2), np.ones(2), x0=np.ones(3)), ValueError, "x0 must have shape"),
        (lambda: jacobi(np.eye(2), np.array([1.0, np.nan])), ValueError, "b must not contain NaN"),
        (lambda: jacobi(np.array([[1.0, np.nan], [0, 1]]), np.ones(2)), ValueError, "a must not contain NaN"),
        (lambda: jacobi(np.array([[0.0, 1.0], [1.0, 1.0]]), np.ones(2)), ValueError, "zero diagonal entry"),
        (
            lambda: jacobi(scipy.sparse.linalg.aslinearoperator(np.eye(2)), np.ones(2)),
            TypeError,
            "a must be a dense array or a scipy.sparse matrix",
        ),
        (lambda: jacobi(np.eye(2), np.ones(2), rtol=-1.0), ValueError, "rtol must be non-negative"),
        (lambda: jacobi(np.eye(2), np.ones(2), rtol=0.0, atol=0.0), ValueError, "must not both be zero"),
        (lambda: jacobi(np.eye(2), np.ones(2), maxiter=-1), ValueError, "maxiter"),
    ],
)
def test_bad_input(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()


def relative_true_residual(a, b, x) -> float:
    """||b - A x|| / ||b||, computed after scaling b and x by one power of two (exact), so that the squares
    neither underflow (b ~ 1e-300) nor overflow (b ~ 1e160): an oracle independent of the solvers."""
    shift = -np.frexp(np.abs(b).max())[1]
    b_s, x_s = np.ldexp(b, shift), np.ldexp(x, shift)
    return float(np.linalg.norm(b_s - a @ x_s) / np.linalg.norm(b_s))


@pytest.mark.parametrize("scale", [1e-170, 1e-300, 1e160])
@pytest.mark.parametrize("name, solve", SOLVERS)
def test_tiny_and_huge_right_hand_sides_are_solved(rng, name, solve, scale) -> None:
    # Issue 26: with ||b|| underflowing to 0 (or overflowing to inf) the old stopping test accepted x = 0
    # after 0 iterations as converged. The run must be that of the unscaled b, x scaled along.
    a = diagonally_dominant(20, rng)
    b = rng.standard_normal(20)
    base = solve(a, b, rtol=1e-10)
    result = solve(a, scale * b, rtol=1e-10)
    assert base.converged and result.converged and result.iterations == base.iterations > 2
    np.testing.assert_allclose(result.x / scale, base.x, rtol=1e-13, atol=0)
    assert relative_true_residual(a, scale * b, result.x) <= 1e-10


@pytest.mark.parametrize("name, solve", SOLVERS)
def test_converged_means_the_returned_x_meets_the_tolerance(rng, name, solve) -> None:
    # Over many systems and tolerances (some unreachable, some stopped by maxiter), converged=True only
    # when the true residual of the returned x meets max(rtol ||b||, atol).
    for _ in range(20):
        a = diagonally_dominant(15, rng, margin=rng.uniform(0.01, 2.0))
        b = rng.standard_normal(15) * 2.0 ** rng.integers(-600, 600)
        rtol = 10.0 ** rng.uniform(-17, -4)
        result = solve(a, b, rtol=rtol, maxiter=int(rng.integers(1, 200)))
        if result.converged:
            assert relative_true_residual(a, b, result.x) <= rtol


def test_jacobi_diverging_to_overflow_is_reported_not_converged() -> None:
    a = np.array([[1.0, 2.0], [2.0, 1.0]])  # rho(G_J) = 2
    result = jacobi(a, np.ones(2), maxiter=5000)
    assert not result.converged and result.iterations < 5000
    assert not np.isfinite(result.residual_norms[-1])
