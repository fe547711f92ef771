"""Arnoldi, Lanczos and restarted GMRES (src/mathguide/linalg/krylov.py)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from mathguide.linalg import arnoldi, gmres, lanczos, random_matrix, random_orthogonal

EPS64 = np.finfo(np.float64).eps


@pytest.mark.parametrize("form", ["dense", "sparse", "operator"])
def test_arnoldi_relation_and_orthonormality(rng, form) -> None:
    n, k = 60, 25
    a = random_matrix(n, condition=100.0, rng=rng) + 2 * np.eye(n)
    matrix = {"dense": a, "sparse": scipy.sparse.csr_matrix(a), "operator": scipy.sparse.linalg.aslinearoperator(a)}[
        form
    ]
    q, h = arnoldi(matrix, rng.standard_normal(n), k)
    assert q.shape == (n, k + 1) and h.shape == (k + 1, k)
    assert np.all(np.tril(h, -2) == 0)  # upper Hessenberg
    norm_a = np.linalg.norm(a, 2)
    assert np.linalg.norm(a @ q[:, :k] - q @ h, 2) <= 10 * k * EPS64 * norm_a
    assert np.linalg.norm(q.T @ q - np.eye(k + 1), 2) <= 10 * k * EPS64


def test_arnoldi_spans_the_krylov_space(rng) -> None:
    # Oracle: the Krylov matrix [v, Av, A^2 v, ...] built by repeated products, orthonormalised by QR.
    n, k = 12, 5
    a = rng.standard_normal((n, n))
    v = rng.standard_normal(n)
    krylov = np.column_stack([np.linalg.matrix_power(a, j) @ v for j in range(k + 1)])
    basis, _ = np.linalg.qr(krylov)
    q, _ = arnoldi(a, v, k)
    # The same subspace: projecting q onto the QR basis loses nothing.
    np.testing.assert_allclose(basis @ (basis.T @ q), q, rtol=0, atol=1e-8)


def test_arnoldi_stops_on_an_invariant_subspace(rng) -> None:
    a = np.diag([1.0, 2.0, 3.0, 4.0, 5.0])
    v = np.array([1.0, 1.0, 0.0, 0.0, 0.0])  # lies in a 2-dimensional invariant subspace
    q, h = arnoldi(a, v, 4)
    assert q.shape == (5, 2) and h.shape == (2, 2)
    np.testing.assert_allclose(np.sort(np.linalg.eigvals(h).real), [1.0, 2.0], rtol=0, atol=1e-12)


def test_lanczos_matches_arnoldi_and_its_relation_holds(rng) -> None:
    n, k = 50, 12
    eigenvalues = np.linspace(-3.0, 7.0, n)
    q0 = random_orthogonal(n, rng=rng)
    a = (q0 * eigenvalues) @ q0.T
    a = (a + a.T) / 2
    v = rng.standard_normal(n)
    q, alpha, beta = lanczos(a, v, k)
    t = np.diag(alpha) + np.diag(beta[:-1], 1) + np.diag(beta[:-1], -1)
    residual = a @ q[:, :k] - q[:, :k] @ t
    residual[:, -1] -= beta[-1] * q[:, k]
    assert np.linalg.norm(residual, 2) <= 10 * k * EPS64 * 7.0
    # Second algorithm as oracle: Arnoldi's Hessenberg matrix is this tridiagonal one.
    _, h = arnoldi(a, v, k)
    np.testing.assert_allclose(h[:k, :k], t, rtol=0, atol=1e-10)


def test_ritz_values_interlace_and_approach_the_extreme_eigenvalues(rng) -> None:
    n = 200
    eigenvalues = np.concatenate([np.linspace(0.0, 1.0, n - 1), [2.0]])  # gap ratio (2 - 1) / (1 - 0) = 1
    q0 = random_orthogonal(n, rng=rng)
    a = (q0 * eigenvalues) @ q0.T
    a = (a + a.T) / 2
    q, alpha, beta = lanczos(a, rng.standard_normal(n), 30, reorthogonalize=True)
    largest = []
    for k in range(1, 31):
        ritz = scipy.linalg.eigvalsh_tridiagonal(alpha[:k], beta[: k - 1]) if k > 1 else alpha[:1]
        # Oracle: the eigenvalues of the projection Q_k^T A Q_k, computed densely.
        projected = np.linalg.eigvalsh(q[:, :k].T @ a @ q[:, :k])
        np.testing.assert_allclose(np.sort(ritz), projected, rtol=0, atol=100 * EPS64 * 2.0)
        largest.append(ritz.max())
    # Cauchy interlacing: the largest Ritz value increases with k and stays below lambda_max.
    assert np.all(np.diff(largest) >= -1e-13) and largest[-1] <= 2.0 + 1e-13
    # Kaniel-Paige: the error decays like T_{k-1}(1 + 2 * gap ratio)^(-2) = T_29(3)^(-2), about 1e-44.
    assert 2.0 - largest[-1] < 1e-10


def test_plain_lanczos_loses_orthogonality_and_reorthogonalisation_keeps_it(rng) -> None:
    n, k = 100, 80
    eigenvalues = np.concatenate([np.linspace(0.0, 1.0, n - 1), [10.0]])  # an isolated eigenvalue converges fast
    q0 = random_orthogonal(n, rng=rng)
    a = (q0 * eigenvalues) @ q0.T
    a = (a + a.T) / 2
    v = rng.standard_normal(n)
    plain = lanczos(a, v, k)
    full = lanczos(a, v, k, reorthogonalize=True)
    loss_plain = np.abs(plain.q.T @ plain.q - np.eye(k + 1)).max()
    loss_full = np.abs(full.q.T @ full.q - np.eye(k + 1)).max()
    assert loss_plain > 0.1 and loss_full < 1e-12
    # Ghosts: plain Lanczos finds the eigenvalue 10 more than once.
    ritz = scipy.linalg.eigvalsh_tridiagonal(plain.alpha, plain.beta[:-1])
    assert np.sum(np.abs(ritz - 10.0) < 1e-8) >= 2
    ritz_full = scipy.linalg.eigvalsh_tridiagonal(full.alpha, full.beta[:-1])
    assert np.sum(np.abs(ritz_full - 10.0) < 1e-8) == 1


@pytest.mark.parametrize("form", ["dense", "sparse", "operator"])
def test_gmres_solves_a_nonsymmetric_system(rng, form) -> None:
    n = 80
    a = random_matrix(n, condition=50.0, rng=rng) + 3 * np.eye(n)
    b = rng.standard_normal(n)
    matrix = {"dense": a, "sparse": scipy.sparse.csr_matrix(a), "operator": scipy.sparse.linalg.aslinearoperator(a)}[
        form
    ]
    result = gmres(matrix, b, restart=n, rtol=1e-12)
    assert result.converged
    exact = np.linalg.solve(a, b)
    np.testing.assert_allclose(result.x, exact, rtol=0, atol=1e-9 * np.abs(exact).max())


def test_full_gmres_residuals_are_monotone_and_match_scipy(rng) -> None:
    n = 60
    a = random_matrix(n, condition=30.0, rng=rng) + 1.5 * np.eye(n)
    b = rng.standard_normal(n)
    ours = gmres(a, b, restart=n, rtol=1e-10)
    assert np.all(np.diff(ours.residual_norms) <= 1e-12 * ours.residual_norms[0])
    # SciPy's GMRES with the same restart reports the residual norm after each inner step.
    scipy_norms = []
    scipy.sparse.linalg.gmres(
        a, b, restart=n, rtol=1e-10, atol=0.0, callback=scipy_norms.append, callback_type="pr_norm"
    )
    m = min(len(scipy_norms), ours.iterations) - 1
    np.testing.assert_allclose(
        ours.residual_norms[1 : m + 1] / np.linalg.norm(b), scipy_norms[:m], rtol=1e-6, atol=1e-12
    )
    assert abs(ours.iterations - len(scipy_norms)) <= 1


def test_gmres_minimises_the_residual_over_the_krylov_space(rng) -> None:
    # Brute-force oracle: least squares over the explicit Krylov basis after k steps.
    n, k = 30, 6
    a = rng.standard_normal((n, n)) + 8 * np.eye(n)
    b = rng.standard_normal(n)
    result = gmres(a, b, restart=n, rtol=1e-300, atol=1e-300, maxiter=k)
    krylov = np.column_stack([np.linalg.matrix_power(a, j) @ b for j in range(k)])
    basis, _ = np.linalg.qr(krylov)
    coefficients, *_ = np.linalg.lstsq(a @ basis, b, rcond=None)
    best = np.linalg.norm(b - a @ basis @ coefficients)
    assert not result.converged and result.iterations == k
    assert result.residual_norms[-1] == pytest.approx(best, rel=1e-8)


def test_restarted_gmres_stagnates_on_a_nonnormal_example() -> None:
    # The cyclic shift: GMRES(m) with m < n makes no progress at all from x0 = 0, b = e_1.
    n = 20
    a = np.roll(np.eye(n), 1, axis=0)
    b = np.zeros(n)
    b[0] = 1.0
    restarted = gmres(a, b, restart=5, maxiter=100, rtol=1e-8)
    assert not restarted.converged
    np.testing.assert_allclose(restarted.residual_norms, 1.0, rtol=1e-12, atol=0)
    full = gmres(a, b, restart=n, rtol=1e-8)
    assert full.converged and full.iterations == n


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: arnoldi(np.eye(3), np.zeros(3), 2), ValueError, "v must be non-zero"),
        (lambda: arnoldi(np.eye(3), np.ones(3), 4), ValueError, "k must be an integer in"),
        (lambda: arnoldi(np.eye(3), np.ones(2), 2), ValueError, "v must have shape"),
        (lambda: lanczos(np.triu(np.ones((3, 3))), np.ones(3), 2), ValueError, "a must be symmetric"),
        (lambda: gmres(np.eye(3), np.ones(3), restart=0), ValueError, "restart"),
        (lambda: gmres(np.eye(3), np.ones(4)), ValueError, "b must have shape"),
        (lambda: gmres(np.eye(3), np.array([1.0, np.inf, 0.0])), ValueError, "b must be finite"),
    ],
)
def test_bad_input(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()


def test_float32_input_gives_float32_output_and_is_not_modified(rng) -> None:
    a = (random_matrix(30, condition=10.0, rng=rng) + 2 * np.eye(30)).astype(np.float32)
    b = rng.standard_normal(30).astype(np.float32)
    a_copy, b_copy = a.copy(), b.copy()
    result = gmres(a, b, restart=30, rtol=1e-5)
    assert result.x.dtype == np.float32 and result.converged
    exact = np.linalg.solve(a.astype(np.float64), b.astype(np.float64))
    np.testing.assert_allclose(result.x, exact, rtol=0, atol=1e-4 * np.abs(exact).max())
    q, h = arnoldi(a, b, 10)
    assert q.dtype == np.float32 and h.dtype == np.float32
    np.testing.assert_array_equal(a, a_copy)
    np.testing.assert_array_equal(b, b_copy)


E1 = np.eye(3)[0]


@pytest.mark.parametrize(
    "a, b",
    [
        (np.zeros((3, 3)), E1),
        (np.array([[0.0, 1.0], [0.0, 0.0]]), E1[:2]),
        (np.diag([0.0, 1.0, 2.0]), E1),
        (np.diag([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])),  # singular after one step
    ],
    ids=["zero", "nilpotent", "diag-0-1-2", "diag-0-1-2-later"],
)
@pytest.mark.parametrize("restart", [1, None])
def test_gmres_breakdown_on_a_singular_krylov_space_is_not_convergence(a, b, restart) -> None:
    # Issue 26: A r0 = 0 gave converged=True and residual 0.0 while the true residual is ||b||. The
    # Krylov space is invariant and A is singular on it: the minimal residual over it (here b minus its
    # component in range(A), oracle by hand: ||e_1|| = 1) is what is left, and no restart can lower it.
    result = gmres(a, b, restart=restart)
    assert not result.converged
    assert np.linalg.norm(b - a @ result.x) == pytest.approx(1.0, rel=1e-15, abs=0)
    assert result.residual_norms[-1] == pytest.approx(1.0, rel=1e-15, abs=0)
    assert result.iterations <= 4  # stops at the breakdown instead of restarting until maxiter = 30


def test_gmres_lucky_breakdown_is_an_exact_solve() -> None:
    # b lies in a 2-dimensional invariant subspace on which A is non-singular: exact after 2 steps.
    a = np.diag([1.0, 2.0, 3.0, 4.0])
    b = np.array([1.0, 1.0, 0.0, 0.0])
    result = gmres(a, b, rtol=1e-14)
    assert result.converged and result.iterations == 2
    np.testing.assert_allclose(result.x, [1.0, 0.5, 0.0, 0.0], rtol=1e-15, atol=1e-16)


@pytest.mark.parametrize("scale", [1e-170, 1e-300, 1e160])
@pytest.mark.parametrize("form", ["dense", "operator"])
def test_gmres_tiny_and_huge_right_hand_sides_are_solved(rng, scale, form) -> None:
    # Issue 26: ||b|| underflowed to 0 or overflowed to inf and x = 0 was "converged" after 0 steps.
    n = 30
    a = random_matrix(n, condition=20.0, rng=rng) + 2 * np.eye(n)
    b = rng.standard_normal(n)
    matrix = a if form == "dense" else scipy.sparse.linalg.aslinearoperator(a)
    base = gmres(matrix, b, restart=10, rtol=1e-10)
    result = gmres(matrix, scale * b, restart=10, rtol=1e-10)
    assert base.converged and result.converged and result.iterations == base.iterations > 2
    np.testing.assert_allclose(result.x / scale, base.x, rtol=1e-12, atol=0)
    shift = -np.frexp(np.abs(scale * b).max())[1]  # the true residual, scaled exactly by 2**shift
    b_s, x_s = np.ldexp(scale * b, shift), np.ldexp(result.x, shift)
    assert np.linalg.norm(b_s - a @ x_s) <= 1e-10 * np.linalg.norm(b_s)


def test_gmres_converged_means_the_returned_x_meets_the_tolerance(rng) -> None:
    for _ in range(20):
        n = 20
        a = random_matrix(n, condition=10.0 ** rng.uniform(0, 10), rng=rng)
        a[:, int(rng.integers(n))] *= float(rng.integers(0, 2))  # sometimes exactly singular
        b = rng.standard_normal(n)
        rtol = 10.0 ** rng.uniform(-16, -4)
        result = gmres(a, b, restart=int(rng.integers(1, n + 1)), rtol=rtol, maxiter=int(rng.integers(1, 200)))
        if result.converged:
            assert np.linalg.norm(b - a @ result.x) <= rtol * np.linalg.norm(b)


@pytest.mark.parametrize("process", [arnoldi, lanczos])
def test_flags_are_booleans(process) -> None:
    with pytest.raises(TypeError, match="reorthogonalize must be a bool"):
        process(np.eye(3), np.ones(3), 2, reorthogonalize="no")
    with pytest.raises(TypeError, match="reorthogonalize must be a bool"):
        process(np.eye(3), np.ones(3), 2, reorthogonalize=0)
    assert process(np.eye(3), np.ones(3), 1, reorthogonalize=np.bool_(True)).q.shape[1] == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda op: gmres(op, np.ones(4)),
        lambda op: arnoldi(op, np.ones(4), 2),
    ],
)
def test_an_operator_returning_the_wrong_thing_is_named(call) -> None:
    wrong_shape = scipy.sparse.linalg.LinearOperator((4, 4), matvec=lambda v: np.ones(3), dtype=float)
    with pytest.raises(ValueError, match=r"^a must map a vector of shape \(4,\)"):
        call(wrong_shape)
    complex_valued = scipy.sparse.linalg.LinearOperator((4, 4), matvec=lambda v: 1j * v, dtype=float)
    with pytest.raises(TypeError, match="^a must return real numbers"):
        call(complex_valued)
    not_finite = scipy.sparse.linalg.LinearOperator((4, 4), matvec=lambda v: v / 0.0, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"), pytest.raises(ValueError, match="^a returned a non-finite"):
        call(not_finite)
