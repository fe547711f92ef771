"""Conjugate gradients, steepest descent and the preconditioners (src/mathguide/linalg/conjugate_gradient.py)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from mathguide.linalg import (
    conjugate_gradient,
    ichol0,
    ichol0_preconditioner,
    jacobi_preconditioner,
    poisson_matrix,
    random_matrix,
    random_symmetric,
    ssor_preconditioner,
    steepest_descent,
)

EPS64 = np.finfo(np.float64).eps




@pytest.mark.parametrize("form", ["dense", "sparse", "operator"])
def test_cg_matches_a_direct_solve_for_every_input_type(rng, form) -> None:
    a = random_symmetric(np.linspace(1.0, 100.0, 40), rng=rng)
    a = (a + a.T) / 2
    b = rng.standard_normal(40)
    matrix = {
        "dense": a,
        "sparse": scipy.sparse.csr_matrix(a),
        "operator": scipy.sparse.linalg.aslinearoperator(a),
    }[form]
    result = conjugate_gradient(matrix, b, rtol=1e-12)
    assert result.converged and result.iterations <= 40
    exact = scipy.linalg.solve(a, b, assume_a="pos")
    np.testing.assert_allclose(result.x, exact, rtol=0, atol=1e-10 * np.abs(exact).max())


def test_cg_has_the_iteration_count_and_residuals_of_scipy() -> None:
    a = poisson_matrix(30, dim=2)
    b = np.ones(a.shape[0])
    iterates = []
    scipy_x, info = scipy.sparse.linalg.cg(a, b, rtol=1e-10, atol=0.0, callback=lambda x: iterates.append(x.copy()))
    result = conjugate_gradient(a, b, rtol=1e-10)
    assert info == 0 and result.converged
    assert result.iterations == len(iterates)
    # Same Krylov iterates in exact arithmetic; in floating point the recurrences agree to a few ulps per step.
    true_residuals = [np.linalg.norm(b - a @ x) for x in iterates]
    np.testing.assert_allclose(result.residual_norms[1:], true_residuals, rtol=1e-4, atol=1e-9 * np.linalg.norm(b))
    np.testing.assert_allclose(result.x, scipy_x, rtol=0, atol=1e-8 * np.abs(scipy_x).max())


def test_cg_error_in_the_a_norm_decreases_monotonically_and_obeys_the_kappa_bound(rng) -> None:
    kappa = 1e3
    eigenvalues = np.geomspace(1.0, kappa, 200)
    a = random_symmetric(eigenvalues, rng=rng)
    a = (a + a.T) / 2
    b = rng.standard_normal(200)
    exact = np.linalg.solve(a, b)
    iterates = []
    conjugate_gradient(a, b, rtol=1e-10, callback=lambda x: iterates.append(x.copy()))
    errors = np.array([np.sqrt((exact - x) @ a @ (exact - x)) for x in [np.zeros(200), *iterates]])
    # Monotone in exact arithmetic; allow rounding-level increases relative to the starting error.
    assert np.all(np.diff(errors) <= 1e-10 * errors[0])
    k = np.arange(errors.size)
    rate = (np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)
    assert np.all(errors <= 2 * rate**k * errors[0] * (1 + 1e-8))


def test_cg_terminates_in_as_many_steps_as_distinct_eigenvalues(rng) -> None:
    a = random_symmetric(np.repeat([1.0, 3.0, 10.0, 50.0], 25), rng=rng)
    result = conjugate_gradient((a + a.T) / 2, rng.standard_normal(100), rtol=1e-10)
    assert result.converged and result.iterations <= 5  # 4 in exact arithmetic


def test_preconditioners_reduce_iterations_and_give_the_same_solution() -> None:
    a = poisson_matrix(24, dim=2)
    b = np.ones(a.shape[0])
    exact = scipy.sparse.linalg.spsolve(a.tocsc(), b)
    plain = conjugate_gradient(a, b, rtol=1e-10)
    counts = {}
    for name, m in [
        ("jacobi", jacobi_preconditioner(a)),
        ("ssor", ssor_preconditioner(a, 1.5)),
        ("ic0", ichol0_preconditioner(a)),
    ]:
        result = conjugate_gradient(a, b, rtol=1e-10, preconditioner=m)
        assert result.converged
        np.testing.assert_allclose(result.x, exact, rtol=0, atol=1e-8 * np.abs(exact).max())
        counts[name] = result.iterations
        # Against SciPy's preconditioned CG with the same M (counted by callback).
        scipy_count = []
        scipy.sparse.linalg.cg(a, b, rtol=1e-10, atol=0.0, M=m, callback=lambda x, c=scipy_count: c.append(1))
        assert abs(result.iterations - len(scipy_count)) <= 1
    # Jacobi = diag scaling of a constant diagonal: same count as plain CG; SSOR and IC(0) fewer.
    assert abs(counts["jacobi"] - plain.iterations) <= 1
    assert counts["ssor"] < 0.7 * plain.iterations and counts["ic0"] < 0.7 * plain.iterations


def test_ichol0_is_exact_cholesky_without_fill_and_matches_a_on_the_pattern() -> None:
    t = poisson_matrix(12)  # tridiagonal: no fill, IC(0) = Cholesky
    np.testing.assert_allclose(ichol0(t).toarray(), np.linalg.cholesky(t.toarray()), rtol=0, atol=10 * EPS64)
    a = poisson_matrix(7, dim=2)
    factor = ichol0(a)
    assert scipy.sparse.tril(factor).nnz == factor.nnz  # lower triangular
    pattern = scipy.sparse.tril(a).toarray() != 0
    product = (factor @ factor.T).toarray()
    np.testing.assert_allclose(product[pattern], a.toarray()[pattern], rtol=0, atol=20 * EPS64)
    assert np.any(np.abs(product[~pattern & np.tri(49, dtype=bool)]) > 1e-3)  # fill that IC(0) dropped


def test_steepest_descent_converges_and_is_slower_than_cg(rng) -> None:
    a = random_symmetric(np.linspace(1.0, 50.0, 30), rng=rng)
    a = (a + a.T) / 2
    b = rng.standard_normal(30)
    sd = steepest_descent(a, b, rtol=1e-8)
    cg = conjugate_gradient(a, b, rtol=1e-8)
    assert sd.converged and sd.iterations > 3 * cg.iterations
    np.testing.assert_allclose(sd.x, np.linalg.solve(a, b), rtol=0, atol=1e-6 * np.abs(np.linalg.solve(a, b)).max())


def test_maxiter_gives_an_unconverged_result() -> None:
    a = poisson_matrix(50)
    result = conjugate_gradient(a, np.ones(50), rtol=1e-12, maxiter=5)
    assert not result.converged and result.iterations == 5 and result.residual_norms.size == 6


def test_float32_x0_and_no_mutation(rng) -> None:
    a = random_matrix(20, condition=20.0, rng=rng)
    a = (a @ a.T).astype(np.float32)
    b = rng.standard_normal(20).astype(np.float32)
    x0 = np.full(20, 0.5, dtype=np.float32)
    copies = a.copy(), b.copy(), x0.copy()
    result = conjugate_gradient(a, b, x0=x0, rtol=1e-4)
    assert result.x.dtype == np.float32 and result.converged
    for original, copy in zip((a, b, x0), copies, strict=True):
        np.testing.assert_array_equal(original, copy)


def test_indefinite_and_nonsymmetric_matrices_are_refused(rng) -> None:
    indefinite = np.diag([1.0, -1.0, 2.0])
    with pytest.raises(ValueError, match="a is not positive definite"):
        conjugate_gradient(indefinite, np.ones(3))
    with pytest.raises(ValueError, match="a is not positive definite"):
        conjugate_gradient(scipy.sparse.linalg.aslinearoperator(indefinite), np.ones(3))
    with pytest.raises(ValueError, match="a must be symmetric"):
        conjugate_gradient(np.array([[2.0, 1.0], [0.0, 2.0]]), np.ones(2))
    with pytest.raises(ValueError, match="preconditioner is not positive definite"):
        conjugate_gradient(np.eye(3), np.ones(3), preconditioner=lambda r: -r)
    with pytest.raises(ValueError, match="ichol0 breaks down"):
        ichol0(np.array([[1.0, 2.0], [2.0, 1.0]]))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: conjugate_gradient(np.eye(3), np.ones(2)), ValueError, "b must have shape"),
        (lambda: conjugate_gradient(np.ones((2, 3)), np.ones(2)), ValueError, "a must be a square"),
        (lambda: conjugate_gradient(np.eye(2), np.array([np.nan, 1.0])), ValueError, "b must not contain NaN"),
        (lambda: conjugate_gradient(np.eye(2), np.ones(2), preconditioner=np.eye(3)), ValueError, "preconditioner"),
        (lambda: conjugate_gradient(np.eye(2), np.ones(2), rtol="x"), TypeError, "rtol must be a real number"),
        (lambda: conjugate_gradient("abc", np.ones(2)), TypeError, "a must be array-like"),
        (lambda: ssor_preconditioner(np.eye(2), 2.5), ValueError, "omega must lie"),
        (lambda: jacobi_preconditioner(-np.eye(2)), ValueError, "positive diagonal"),
    ],
)
def test_bad_input(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()


def test_a_tolerance_below_attainable_accuracy_is_not_reported_as_converged() -> None:
    # The updated residual keeps shrinking below u ||A|| ||x||; the true residual cannot.
    a = poisson_matrix(30, dim=2)
    b = a @ np.linspace(0.0, 1.0, 900)
    result = conjugate_gradient(a, b, rtol=1e-17, maxiter=400)
    # Oracle: the residual of the returned x in extended precision (A has small integer entries, so
    # A x is nearly exact there), not the float64 formula the library uses. At this level the float64
    # residual carries rounding of its own; a factor 2 leaves room for that, while the updated
    # residual (what a library that skipped the recomputation would report) is hundreds of times smaller.
    wide = np.longdouble
    true_residual = float(np.linalg.norm(b.astype(wide) - a.toarray().astype(wide) @ result.x.astype(wide)))
    assert 0.5 < result.residual_norms[-1] / true_residual < 2
    assert not result.converged
    # It stopped because the updated residual met the tolerance (not at maxiter); the true one
    # stagnates near u ||A|| ||x||, far above the 1e-17 asked for.
    assert result.iterations < 400 and true_residual > 1e-15 * np.linalg.norm(b)


@pytest.mark.parametrize("omega", [0.7, 1.0, 1.6])
def test_ssor_preconditioner_is_the_inverse_of_the_ssor_matrix(rng, omega) -> None:
    # Oracle: Saad's form M = (D + omega L) D^{-1} (D + omega U) / (omega (2 - omega)), built densely
    # (the product of a forward and a backward SOR sweep; (D/omega)^{-1} in the middle would be wrong).
    a = random_matrix(12, condition=10.0, rng=rng)
    a = a @ a.T + np.eye(12)
    d = np.diag(np.diag(a))
    lower, upper = np.tril(a, -1), np.triu(a, 1)
    m = (d + omega * lower) @ np.linalg.solve(d, d + omega * upper) / (omega * (2 - omega))
    applied = np.column_stack([ssor_preconditioner(a, omega).matvec(e) for e in np.eye(12)])
    np.testing.assert_allclose(applied, np.linalg.inv(m), rtol=1e-10, atol=1e-12)
    applied_sparse = ssor_preconditioner(scipy.sparse.csr_matrix(a), omega).matvec(np.ones(12))
    np.testing.assert_allclose(applied_sparse, np.linalg.solve(m, np.ones(12)), rtol=1e-10, atol=1e-12)


def relative_true_residual(a, b, x) -> float:
    """||b - A x|| / ||b|| after scaling b and x by one power of two (exact): no underflow or overflow."""
    shift = -np.frexp(np.abs(b).max())[1]
    b_s, x_s = np.ldexp(b, shift), np.ldexp(x, shift)
    return float(np.linalg.norm(b_s - a @ x_s) / np.linalg.norm(b_s))


SPD_SOLVERS = {
    "cg": lambda a, b, **kw: conjugate_gradient(a, b, **kw),
    "pcg-ic0": lambda a, b, **kw: conjugate_gradient(a, b, preconditioner=ichol0_preconditioner(a), **kw),
    "steepest_descent": lambda a, b, **kw: steepest_descent(a, b, **kw),
}


@pytest.mark.parametrize("scale", [1e-170, 1e-300, 1e160])
@pytest.mark.parametrize("name", SPD_SOLVERS)
def test_tiny_and_huge_right_hand_sides_are_solved(rng, name, scale) -> None:
    # Issue 26: ||b|| underflowed to 0 (or overflowed to inf), and x = 0 after 0 iterations was
    # reported as converged. Now the run is that of the unscaled b, with x scaled along.
    solve = SPD_SOLVERS[name]
    a = poisson_matrix(6, dim=2)
    b = rng.standard_normal(36)
    base = solve(a, b, rtol=1e-10)
    result = solve(a, scale * b, rtol=1e-10)
    assert base.converged and result.converged and result.iterations == base.iterations > 2
    np.testing.assert_allclose(result.x / scale, base.x, rtol=1e-12, atol=0)
    assert relative_true_residual(a, scale * b, result.x) <= 1e-10


@pytest.mark.parametrize("name", SPD_SOLVERS)
def test_converged_means_the_returned_x_meets_the_tolerance(rng, name) -> None:
    solve = SPD_SOLVERS[name]
    for _ in range(15):
        a = random_symmetric(np.geomspace(1.0, 10.0 ** rng.uniform(1, 8), 30), rng=rng)
        a = scipy.sparse.csr_matrix((a + a.T) / 2)
        b = rng.standard_normal(30) * 2.0 ** rng.integers(-600, 600)
        rtol = 10.0 ** rng.uniform(-17, -4)
        try:
            result = solve(a, b, rtol=rtol, maxiter=int(rng.integers(1, 300)))
        except ValueError as error:  # IC(0) may break down on a matrix that is not an M-matrix
            assert "ichol0 breaks down" in str(error)
            continue
        if result.converged:
            assert relative_true_residual(a, b, result.x) <= rtol


@pytest.mark.parametrize(
    "preconditioner, error, message",
    [
        (lambda r: np.outer(r, r), ValueError, r"preconditioner must return a vector of shape \(4,\)"),
        (lambda r: 1.0, ValueError, r"preconditioner must return a vector of shape \(4,\)"),
        (lambda r: r[:3], ValueError, r"preconditioner must return a vector of shape \(4,\)"),
        (lambda r: r + 1j * r, TypeError, "preconditioner must return real numbers"),
        (lambda r: np.full(4, np.nan), ValueError, "preconditioner returned a non-finite vector"),
        (
            scipy.sparse.linalg.LinearOperator((4, 4), matvec=lambda r: np.ones(5), dtype=float),
            ValueError,
            "preconditioner must map a vector of shape",
        ),
    ],
)
def test_a_preconditioner_returning_the_wrong_thing_is_named(preconditioner, error, message) -> None:
    with pytest.raises(error, match=message):
        conjugate_gradient(poisson_matrix(4), np.ones(4), preconditioner=preconditioner)


@pytest.mark.parametrize("solve", [conjugate_gradient, steepest_descent])
def test_an_operator_returning_the_wrong_thing_is_named(solve) -> None:
    wrong_shape = scipy.sparse.linalg.LinearOperator((4, 4), matvec=lambda v: np.ones(5), dtype=float)
    with pytest.raises(ValueError, match=r"^a must map a vector of shape \(4,\)"):
        solve(wrong_shape, np.ones(4))
    complex_valued = scipy.sparse.linalg.LinearOperator((4, 4), matvec=lambda v: (1 + 1j) * v, dtype=float)
    with pytest.raises(TypeError, match="^a must return real numbers"):
        solve(complex_valued, np.ones(4))
