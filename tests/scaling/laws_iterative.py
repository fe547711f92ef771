"""Scale laws and degenerate inputs of the iterative solvers (stationary.py, conjugate_gradient.py, krylov.py).

Laws (issue 26): an iterative solver takes the same number of iterations when ``b`` is scaled, and its
``x`` scales with ``b``; when ``a`` is scaled by ``c``, ``x`` scales by ``1/c`` (with the same count). The
routines scale by powers of two inside, so at ``c = 2**±500`` and ``2**±1000`` the answers agree with the
unscaled ones to rounding (in fact exactly). The Arnoldi and Lanczos coefficients scale with ``a`` and
not with ``v``; the preconditioners ``M^-1`` scale by ``1/c`` and the IC(0) factor by ``sqrt(c)``.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg
from _support import obeys_or_refuses, relative_error

from mathguide.linalg import (
    arnoldi,
    conjugate_gradient,
    gauss_seidel,
    gmres,
    ichol0,
    ichol0_preconditioner,
    jacobi,
    jacobi_preconditioner,
    lanczos,
    poisson_matrix,
    sor,
    ssor,
    ssor_preconditioner,
    steepest_descent,
)

ACCURACY = 1e-12  # the scaled runs repeat the unscaled arithmetic times a power of two


def _system(rng, n: int = 12):
    """A symmetric, strictly diagonally dominant (so SPD) matrix and a right-hand side, both O(1)."""
    a = rng.standard_normal((n, n))
    a = (a + a.T) / 2
    np.fill_diagonal(a, np.abs(a).sum(axis=1) + 1.0)
    return a, rng.standard_normal(n)


SOLVERS = {
    "jacobi": lambda a, b: jacobi(a, b, rtol=1e-10),
    "gauss_seidel": lambda a, b: gauss_seidel(a, b, rtol=1e-10),
    "sor": lambda a, b: sor(a, b, 1.3, rtol=1e-10),
    "ssor": lambda a, b: ssor(a, b, 1.3, rtol=1e-10),
    "steepest_descent": lambda a, b: steepest_descent(a, b, rtol=1e-10),
    "conjugate_gradient": lambda a, b: conjugate_gradient(a, b, rtol=1e-10),
    "gmres": lambda a, b: gmres(a, b, restart=5, rtol=1e-10),
}


def _solver_law(name: str):
    solve = SOLVERS[name]

    def check(c: float, rng) -> None:
        a, b = _system(rng)
        base = solve(a, b)
        assert base.converged and base.iterations > 2

        def same_run(result, x_factor: float, norm_factor: float) -> None:
            assert result.converged and result.iterations == base.iterations
            assert relative_error(result.x, base.x * x_factor) <= ACCURACY
            assert relative_error(result.residual_norms, base.residual_norms * norm_factor) <= ACCURACY

        for form in (np.asarray, scipy.sparse.csr_matrix):
            # b scaled by c: the same count, x and the residuals scale by c
            obeys_or_refuses(lambda f=form: solve(f(a), c * b), "b", lambda r: same_run(r, c, c))
            # a scaled by c: the same count, x scales by 1/c, the residuals do not change
            obeys_or_refuses(lambda f=form: solve(f(c * a), b), "a", lambda r: same_run(r, 1 / c, 1.0))
        if name in ("conjugate_gradient", "gmres", "steepest_descent"):
            # a LinearOperator cannot be rescaled inside: b still can
            operator = scipy.sparse.linalg.aslinearoperator(a)
            obeys_or_refuses(lambda: solve(operator, c * b), "b", lambda r: same_run(r, c, c))

    return check


def _preconditioner_law(make, power: float = -1.0):
    def check(c: float, rng) -> None:
        a = poisson_matrix(5, dim=2)
        v = rng.standard_normal(a.shape[0])
        base = make(a) @ v
        obeys_or_refuses(
            lambda: make((c * a).tocsr()) @ v, "a", lambda got: relative_error(got, base * c**power) <= ACCURACY
        )

    return check


def _ichol0_law(c: float, rng) -> None:
    a = poisson_matrix(5, dim=2)
    base = ichol0(a).toarray()

    def check(factor) -> None:
        assert relative_error(factor.toarray(), base * np.sqrt(c)) <= ACCURACY

    obeys_or_refuses(lambda: ichol0((c * a).tocsr()), "a", check)


def _arnoldi_law(c: float, rng) -> None:
    a = rng.standard_normal((15, 15))
    v = rng.standard_normal(15)
    q, h = arnoldi(a, v, 8)

    def check(result) -> None:
        assert relative_error(result.q, q) <= ACCURACY
        assert relative_error(result.h, h * factor) <= ACCURACY

    factor = c
    obeys_or_refuses(lambda: arnoldi(c * a, v, 8), "a", check)
    factor = 1.0
    obeys_or_refuses(lambda: arnoldi(a, c * v, 8), "v", check)


def _lanczos_law(c: float, rng) -> None:
    a, _ = _system(rng, 15)
    v = rng.standard_normal(15)
    q, alpha, beta = lanczos(a, v, 8)

    def check(result) -> None:
        assert relative_error(result.q, q) <= ACCURACY
        assert relative_error(result.alpha, alpha * factor) <= ACCURACY
        assert relative_error(result.beta, beta * factor) <= ACCURACY

    factor = c
    obeys_or_refuses(lambda: lanczos(c * a, v, 8), "a", check)
    factor = 1.0
    obeys_or_refuses(lambda: lanczos(a, c * v, 8), "v", check)


LAWS = {f"mathguide.linalg.{name}": _solver_law(name) for name in SOLVERS}
LAWS.update(
    {
        "mathguide.linalg.jacobi_preconditioner": _preconditioner_law(jacobi_preconditioner),
        "mathguide.linalg.ssor_preconditioner": _preconditioner_law(lambda a: ssor_preconditioner(a, 1.4)),
        "mathguide.linalg.ichol0_preconditioner": _preconditioner_law(ichol0_preconditioner),
        "mathguide.linalg.ichol0": _ichol0_law,
        "mathguide.linalg.arnoldi": _arnoldi_law,
        "mathguide.linalg.lanczos": _lanczos_law,
    }
)

NO_LAW: dict[str, str] = {}


# Degenerate inputs -------------------------------------------------------------------------------


def _splitting_degenerate(solve):
    def check(rng) -> None:
        # zero right-hand side: x = 0 at once, exactly
        result = solve(poisson_matrix(4).toarray(), np.zeros(4))
        assert result.converged and result.iterations == 0 and not np.any(result.x)
        # 1 x 1 (SOR with omega != 1 over-relaxes: a few steps to rtol 1e-8)
        result = solve(np.array([[4.0]]), np.array([2.0]))
        assert result.converged and abs(result.x[0] - 0.5) <= 1e-8 * 0.5
        # empty system
        result = solve(np.zeros((0, 0)), np.zeros(0))
        assert result.converged and result.x.shape == (0,)
        # the zero matrix: D is not invertible, and the error says so
        with pytest.raises(ValueError, match="zero diagonal entry"):
            solve(np.zeros((3, 3)), np.ones(3))

    return check


def _spd_degenerate(solve):
    def check(rng) -> None:
        result = solve(poisson_matrix(4).toarray(), np.zeros(4))
        assert result.converged and result.iterations == 0 and not np.any(result.x)
        result = solve(np.array([[4.0]]), np.array([2.0]))
        assert result.converged and abs(result.x[0] - 0.5) <= 1e-15
        result = solve(np.zeros((0, 0)), np.zeros(0))
        assert result.converged and result.x.shape == (0,)
        # the zero matrix and an exactly rank-deficient PSD one are not positive definite
        for singular, rhs in ((np.zeros((3, 3)), np.ones(3)), (np.diag([1.0, 0.0]), np.array([0.0, 1.0]))):
            with pytest.raises(ValueError, match="a is not positive definite"):
                solve(singular, rhs)

    return check


def _gmres_degenerate(rng) -> None:
    result = gmres(np.eye(3), np.zeros(3))
    assert result.converged and result.iterations == 0 and not np.any(result.x)
    result = gmres(np.array([[4.0]]), np.array([2.0]))
    assert result.converged and abs(result.x[0] - 0.5) <= 1e-15
    result = gmres(np.zeros((0, 0)), np.zeros(0))
    assert result.converged and result.x.shape == (0,)
    # A r0 = 0: singular on the Krylov space; the residual is ||b||, never reported as 0 or converged
    e1 = np.eye(3)[0]
    nilpotent = np.array([[0.0, 1.0], [0.0, 0.0]])
    for singular, rhs in ((np.zeros((3, 3)), e1), (nilpotent, e1[:2]), (np.diag([0.0, 1, 2]), e1)):
        result = gmres(singular, rhs)
        assert not result.converged
        assert np.linalg.norm(rhs - singular @ result.x) == result.residual_norms[-1] == 1.0
    # rank deficient but consistent: solved
    result = gmres(np.diag([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 1.0]))
    assert result.converged and np.linalg.norm(result.x - [0.0, 1.0, 0.5]) <= 1e-14


def _preconditioner_degenerate(make, message: str):
    def check(rng) -> None:
        np.testing.assert_allclose(make(np.array([[4.0]])) @ np.array([2.0]), [0.5], rtol=1e-15, atol=0)
        with pytest.raises(ValueError, match=message):
            make(np.zeros((3, 3)))

    return check


def _ichol0_degenerate(rng) -> None:
    assert ichol0(np.array([[4.0]])).toarray()[0, 0] == 2.0
    with pytest.raises(ValueError, match="ichol0 breaks down"):
        ichol0(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="ichol0 breaks down"):
        ichol0(np.diag([1.0, 0.0]))  # exactly singular: a zero pivot


def _arnoldi_degenerate(rng) -> None:
    q, h = arnoldi(np.zeros((3, 3)), np.ones(3), 2)  # K_1 is invariant at once
    assert q.shape == (3, 1) and h.shape == (1, 1) and h[0, 0] == 0.0
    q, h = arnoldi(np.array([[3.0]]), np.array([-2.0]), 1)
    assert q[0, 0] == -1.0 and h[0, 0] == 3.0
    with pytest.raises(ValueError, match="v must be non-zero"):
        arnoldi(np.eye(3), np.zeros(3), 2)


def _lanczos_degenerate(rng) -> None:
    q, alpha, beta = lanczos(np.zeros((3, 3)), np.ones(3), 2)
    assert q.shape == (3, 1) and alpha.tolist() == [0.0] and beta.size == 0
    q, alpha, beta = lanczos(np.array([[3.0]]), np.array([-2.0]), 1)
    assert q[0, 0] == -1.0 and alpha[0] == 3.0
    with pytest.raises(ValueError, match="v must be non-zero"):
        lanczos(np.eye(3), np.zeros(3), 2)


DEGENERATE = {
    "mathguide.linalg.jacobi": _splitting_degenerate(lambda a, b: jacobi(a, b)),
    "mathguide.linalg.gauss_seidel": _splitting_degenerate(lambda a, b: gauss_seidel(a, b)),
    "mathguide.linalg.sor": _splitting_degenerate(lambda a, b: sor(a, b, 1.2)),
    "mathguide.linalg.ssor": _splitting_degenerate(lambda a, b: ssor(a, b, 1.2)),
    "mathguide.linalg.steepest_descent": _spd_degenerate(lambda a, b: steepest_descent(a, b)),
    "mathguide.linalg.conjugate_gradient": _spd_degenerate(lambda a, b: conjugate_gradient(a, b)),
    "mathguide.linalg.gmres": _gmres_degenerate,
    "mathguide.linalg.jacobi_preconditioner": _preconditioner_degenerate(jacobi_preconditioner, "positive diagonal"),
    "mathguide.linalg.ssor_preconditioner": _preconditioner_degenerate(ssor_preconditioner, "positive diagonal"),
    "mathguide.linalg.ichol0_preconditioner": _preconditioner_degenerate(ichol0_preconditioner, "ichol0 breaks down"),
    "mathguide.linalg.ichol0": _ichol0_degenerate,
    "mathguide.linalg.arnoldi": _arnoldi_degenerate,
    "mathguide.linalg.lanczos": _lanczos_degenerate,
}

NOT_DEGENERATE: dict[str, str] = {}
