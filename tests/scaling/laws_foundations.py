"""Scale laws and degenerate inputs for the foundations of the matrix computations part.

Modules: ``floating_point``, ``matrices``, ``lu``, ``cholesky``, ``pinv``, ``lowrank`` (chapters
floating-point.md, lu.md, cholesky.md, pseudo-inverse.md). See ``test_scale_registry.py`` for the four
dictionaries. Every law is checked against the unscaled problem, solved by the same routine: scaling by
a power of two is exact, so a routine that scales correctly gives the same answer up to its usual
rounding (and usually bit for bit).
"""

# ruff: noqa: B023  (every lambda below is called at once, inside obeys_or_refuses or pytest.raises, while
# the loop variables it reads still hold the values of its own iteration)
from __future__ import annotations

import math

import numpy as np
import pytest
from _support import obeys_or_refuses, relative_error

import mathguide.linalg as la

EPS = float(np.finfo(np.float64).eps)
U = EPS / 2
P = "mathguide.linalg."


def _close(got, want, rtol: float) -> None:
    err = relative_error(got, want)
    assert err <= rtol, f"relative error {err:.3g} > {rtol:.3g}"


def _well_conditioned(rng, n: int, m: int | None = None) -> np.ndarray:
    """A matrix with singular values in [1, 2] (Gaussian singular vectors): kappa <= 2."""
    m = n if m is None else m
    return la.random_matrix(m, n, singular_values=np.linspace(2.0, 1.0, min(m, n)), rng=rng)


def _spd(rng, n: int) -> np.ndarray:
    return la.random_symmetric(np.linspace(1.0, 4.0, n), rng=rng)


def _lower(rng, n: int) -> np.ndarray:
    return np.tril(rng.uniform(-1, 1, (n, n)), -1) + np.diag(rng.uniform(2, 3, n) * rng.choice([-1, 1], n))


# ------------------------------------------------------------------------------------------------
# scale laws


def _law_condition_number(c, rng):
    a = _well_conditioned(rng, 5)
    for ord in (1, 2, np.inf, "fro"):
        want = la.condition_number(a, ord)
        obeys_or_refuses(lambda: la.condition_number(c * a, ord), "a", lambda got: _close(got, want, 50 * EPS))


def _law_float64_fields(c, rng):
    x = rng.uniform(1, 2, 7) * rng.choice([-1, 1], 7)  # c x stays normal for every c in SCALES
    base = la.float64_fields(x)

    def check(got):
        np.testing.assert_array_equal(got.sign, base.sign)
        np.testing.assert_array_equal(got.fraction, base.fraction)
        np.testing.assert_array_equal(got.exponent, base.exponent + int(math.log2(c)))

    obeys_or_refuses(lambda: la.float64_fields(c * x), "x", check)


def _law_matrix_norm(c, rng):
    a = rng.standard_normal((2, 4, 3))
    for ord in (1, 2, np.inf, "fro"):
        want = c * la.matrix_norm(a, ord)
        obeys_or_refuses(lambda: la.matrix_norm(c * a, ord), "a", lambda got: _close(got, want, 4 * EPS))


def _law_vector_norm(c, rng):
    x = rng.standard_normal((3, 6))
    for ord in (1, 2, np.inf):
        want = c * la.vector_norm(x, ord)
        obeys_or_refuses(lambda: la.vector_norm(c * x, ord), "x", lambda got: _close(got, want, 4 * EPS))


def _law_normwise_backward_error(c, rng):
    # eta is invariant under (A, x_hat, b) -> (c A, x_hat, c b) and (A, c x_hat, c b).
    n = 5
    a = _well_conditioned(rng, n)
    b = rng.standard_normal(n)
    x_hat = np.linalg.solve(a, b) + 1e-8 * rng.standard_normal(n)
    for exact in (False, True):
        want = la.normwise_backward_error(a, x_hat, b, exact=exact)
        for args in ((c * a, x_hat, c * b), (a, c * x_hat, c * b)):
            obeys_or_refuses(
                lambda args=args: la.normwise_backward_error(*args, exact=exact),
                "a",
                lambda got: _close(got, want, 1e-6),  # eta ~ 1e-8 measured from a residual with error ~ n u
            )


def _law_one_minus_cos_ratio_stable(c, rng):
    # f(x) = (1 - cos x) / x^2 = 1/2 - x^2/24 + ...: f(c x) -> 1/2 for small c; 0 <= f <= 2 / x^2 always.
    x = rng.uniform(0.5, 2.0, 8) * rng.choice([-1, 1], 8)

    def check(got):
        got = np.asarray(got)
        if c < 1:
            _close(got, np.full_like(got, 0.5), 2 * EPS)
        else:
            assert np.all(got >= 0) and np.all(got <= 2 / (c * x) / (c * x) * (1 + 8 * EPS))  # 0 past the range

    obeys_or_refuses(lambda: la.one_minus_cos_ratio_stable(c * x), "x", check)


def _law_perturbation_bound(c, rng):
    # kappa (eps_A + eps_b) / (1 - kappa eps_A) is invariant under (kappa, eps) -> (s kappa, eps / s), s >= 1.
    s = max(c, 1 / c)
    kappa, eps_a, eps_b = 10.0, rng.uniform(0, 0.05, 4), rng.uniform(0, 0.05, 4)
    want = la.perturbation_bound(kappa, eps_a, eps_b)
    obeys_or_refuses(
        lambda: la.perturbation_bound(s * kappa, eps_a / s, eps_b / s), "kappa", lambda got: _close(got, want, 8 * EPS)
    )


def _law_relative_condition_number(c, rng):
    # f = sqrt has kappa_f(x) = 1/2 at every x > 0.
    x = rng.uniform(1, 2, 5)
    obeys_or_refuses(
        lambda: la.relative_condition_number(np.sqrt, lambda t: 0.5 / np.sqrt(t), c * x),
        "x",
        lambda got: _close(got, np.full(5, 0.5), 4 * EPS),
    )


def _law_relative_forward_error(c, rng):
    x = rng.standard_normal(6)
    x_hat = x * (1 + 1e-6 * rng.standard_normal(6))
    for ord in (1, 2, np.inf):
        want = la.relative_forward_error(x_hat, x, ord)
        obeys_or_refuses(
            lambda: la.relative_forward_error(c * x_hat, c * x, ord), "x", lambda got: _close(got, want, 1e-9)
        )


def _law_solve_exact_rational(c, rng):
    # exact arithmetic, rounded once: scaling by a power of two commutes with the rounding (normal range)
    a = _well_conditioned(rng, 4)
    b = rng.standard_normal(4)
    want = la.solve_exact_rational(a, b) / c

    def check(got):
        np.testing.assert_array_equal(got, want)

    obeys_or_refuses(lambda: la.solve_exact_rational(c * a, b), "a", check)


def _law_triangular(solver, lower):
    def law(c, rng):
        n = 8
        t = _lower(rng, n)
        t = t if lower else t.T.copy()
        b = rng.standard_normal((n, 2))
        want = solver(t, b)
        # x(cT, b) = x(T, b) / c, and x(T, cb) = c x(T, b); kappa(T) is modest, so is the rounding
        obeys_or_refuses(lambda: solver(c * t, b), "l" if lower else "u", lambda got: _close(got, want / c, 64 * EPS))
        obeys_or_refuses(lambda: solver(t, c * b), "b", lambda got: _close(got, want * c, 64 * EPS))
        unit = solver(t, b, unit_diagonal=True)
        obeys_or_refuses(lambda: solver(t, c * b, unit_diagonal=True), "b", lambda got: _close(got, unit * c, 1e-12))

    return law


def _law_determinant(c, rng):
    # det(c A) = c^n det(A): representable for n = 2 at c = 2**+-500, beyond the range at 2**+-1000, where
    # the documented answer is +-inf (overflow) or +-0.0 (underflow) with the sign of det(A).
    for n in (2, 3):
        a = _well_conditioned(rng, n)
        d = la.determinant(a)
        with np.errstate(over="ignore", under="ignore"):
            want = np.ldexp(d, n * int(math.log2(c)))

        def check(got, want=want, d=d):
            assert math.copysign(1.0, got) == math.copysign(1.0, d)
            if np.isfinite(want) and want != 0 and abs(want) >= np.finfo(float).tiny:
                _close(got, want, 16 * n * EPS)
            else:
                assert got == want, f"{got} != {want}"

        obeys_or_refuses(lambda a=a: la.determinant(c * a), "a", check)
    # an intermediate overflow must not spoil a representable determinant: diag(2**600, 2**600, 2**-700)
    diag = np.diag([2.0**600, 2.0**600, 2.0**-700])
    obeys_or_refuses(lambda: la.determinant(diag), "a", lambda got: _close(got, 2.0**500, 0.0))


def _law_growth_factor(c, rng):
    a = rng.standard_normal((6, 6))
    for pivoting in ("none", "partial", "complete"):
        want = la.growth_factor(a, pivoting=pivoting)
        obeys_or_refuses(
            lambda: la.growth_factor(c * a, pivoting=pivoting), "a", lambda got: _close(got, want, 1e-12)
        )


def _law_lu(c, rng):
    a = rng.standard_normal((6, 5))
    for pivoting in ("none", "partial", "complete"):
        base = la.lu(a, pivoting=pivoting)

        def check(got, base=base):
            np.testing.assert_array_equal(got.perm, base.perm)
            _close(got.l, base.l, 1e-12)
            _close(got.u / c, base.u, 1e-12)

        obeys_or_refuses(lambda: la.lu(c * a, pivoting=pivoting), "a", check)


def _law_lu_blocked(c, rng):
    a = rng.standard_normal((12, 12))
    base = la.lu_blocked(a, block_size=4)

    def check(got):
        np.testing.assert_array_equal(got.perm, base.perm)
        _close(got.l, base.l, 1e-12)
        _close(got.u / c, base.u, 1e-12)

    obeys_or_refuses(lambda: la.lu_blocked(c * a, block_size=4), "a", check)


def _law_lu_solve(c, rng):
    a, b = _well_conditioned(rng, 6), rng.standard_normal(6)
    want = la.lu_solve(la.lu(a), b)
    obeys_or_refuses(lambda: la.lu_solve(la.lu(c * a), b), "a", lambda got: _close(got, want / c, 1e-13))
    obeys_or_refuses(lambda: la.lu_solve(la.lu(a), c * b), "b", lambda got: _close(got, want * c, 1e-13))


def _law_solve(c, rng):
    a, b = _well_conditioned(rng, 6), rng.standard_normal((6, 2))
    for pivoting in ("partial", "complete"):
        want = la.solve(a, b, pivoting=pivoting)
        obeys_or_refuses(lambda: la.solve(c * a, b, pivoting=pivoting), "a", lambda got: _close(got, want / c, 1e-13))
        obeys_or_refuses(lambda: la.solve(a, c * b, pivoting=pivoting), "b", lambda got: _close(got, want * c, 1e-13))


def _law_iterative_refinement(c, rng):
    n = 8
    a = la.random_matrix(n, condition=1e4, rng=rng)
    b = a @ rng.standard_normal(n)
    single = la.lu(a.astype(np.float32))  # float32 factors: float32 cannot hold c a, so the law on b uses them

    def check(base, scale):
        def inner(got):
            assert got.converged == base.converged, "converged changed under an exact scaling"
            _close(got.x, base.x * scale, 1e-12)

        return inner

    # x(cA, b) = x / c (factors computed by the routine); x(A, cb) = c x with the same float32 factors.
    base = la.iterative_refinement(a, b)
    obeys_or_refuses(lambda: la.iterative_refinement(c * a, b), "a", check(base, 1 / c))
    base = la.iterative_refinement(a, b, single)
    assert base.converged
    obeys_or_refuses(lambda: la.iterative_refinement(a, c * b, single), "b", check(base, c))


def _law_cholesky(c, rng):
    a = _spd(rng, 6)
    want = la.cholesky(a) * math.sqrt(c)  # sqrt of an even power of two: exact
    obeys_or_refuses(lambda: la.cholesky(c * a), "a", lambda got: _close(got, want, 1e-13))


def _law_cholesky_solve(c, rng):
    # (cL)(cL)^T x = c b  <=>  x = x(L, b) / c
    l, b = la.cholesky(_spd(rng, 6)), rng.standard_normal(6)
    want = la.cholesky_solve(l, b)
    obeys_or_refuses(lambda: la.cholesky_solve(c * l, c * b), "l", lambda got: _close(got, want / c, 1e-13))


def _law_ldl(c, rng):
    a = la.random_symmetric(np.array([3.0, 2.0, -1.0, 1.5, -2.5]), rng=rng)  # indefinite
    base = la.ldl(a)

    def check(got):
        _close(got.l, base.l, 1e-12)
        _close(got.d / c, base.d, 1e-12)

    obeys_or_refuses(lambda: la.ldl(c * a), "a", check)


def _law_solve_tridiagonal(c, rng):
    n = 9
    lower, upper = rng.uniform(-1, 1, n - 1), rng.uniform(-1, 1, n - 1)
    diag = rng.uniform(3, 4, n)
    b = rng.standard_normal(n)
    want = la.solve_tridiagonal(lower, diag, upper, b)
    obeys_or_refuses(
        lambda: la.solve_tridiagonal(c * lower, c * diag, c * upper, b),
        "diag",
        lambda got: _close(got, want / c, 1e-13),
    )
    obeys_or_refuses(
        lambda: la.solve_tridiagonal(lower, diag, upper, c * b), "b", lambda got: _close(got, want * c, 1e-13)
    )


def _law_pinv(function):
    def law(c, rng):
        for shape in ((7, 4), (3, 6)):
            a = _well_conditioned(rng, shape[1], shape[0])
            want = function(a)
            obeys_or_refuses(lambda a=a: function(c * a), "a", lambda got: _close(got, want / c, 1e-10))

    return law


def _law_pinv_tikhonov(c, rng):
    # X(sA, s^2 eps) = X(A, eps) / s; s = sqrt(c) keeps s^2 eps = c eps in range at every c of SCALES.
    s = math.sqrt(c)
    for shape in ((7, 4), (3, 6)):
        a = rng.standard_normal(shape)
        want = la.pinv_tikhonov(a, 0.25)
        obeys_or_refuses(lambda a=a: la.pinv_tikhonov(s * a, 0.25 * c), "a", lambda got: _close(got, want / s, 1e-12))


def _law_lstsq_min_norm(c, rng):
    a = la.random_matrix(8, 5, singular_values=np.array([2.0, 1.5, 1.0, 0.0, 0.0]), rng=rng)  # rank 3
    b = rng.standard_normal(8)
    want = la.lstsq_min_norm(a, b)
    obeys_or_refuses(lambda: la.lstsq_min_norm(c * a, b), "a", lambda got: _close(got, want / c, 1e-12))
    obeys_or_refuses(lambda: la.lstsq_min_norm(a, c * b), "b", lambda got: _close(got, want * c, 1e-12))


def _law_penrose_residuals(c, rng):
    # invariant under (A, X) -> (cA, X / c); X a perturbed pseudo-inverse so that the residuals are not 0
    a = _well_conditioned(rng, 4, 6)
    x = np.linalg.pinv(a) + 1e-6 * rng.standard_normal((4, 6))
    want = la.penrose_residuals(a, x)

    def check(got):
        for g, w in zip(got, want, strict=True):
            _close(g, w, 1e-6)

    obeys_or_refuses(lambda: la.penrose_residuals(c * a, x / c), "a", check)


def _law_truncated_svd(c, rng):
    a = rng.standard_normal((7, 5))
    base = la.truncated_svd(a, 3)

    def check(got):
        _close(got.s, c * base.s, 1e-13)
        _close(np.abs(got.u.T @ base.u), np.eye(3), 1e-10)  # the same singular vectors, up to sign
        _close(np.abs(got.vt @ base.vt.T), np.eye(3), 1e-10)

    obeys_or_refuses(lambda: la.truncated_svd(c * a, 3), "a", check)


def _law_randomized_range_finder(c, rng):
    a = rng.standard_normal((9, 6))
    base = la.randomized_range_finder(a, 4, rng=7)

    def check(got):
        _close(np.abs(got.T @ base), np.eye(4), 1e-10)  # same seed: the same basis, up to signs

    obeys_or_refuses(lambda: la.randomized_range_finder(c * a, 4, rng=7), "a", check)


def _law_randomized_svd(c, rng):
    a = rng.standard_normal((9, 6))
    base = la.randomized_svd(a, 3, rng=7)
    obeys_or_refuses(lambda: la.randomized_svd(c * a, 3, rng=7), "a", lambda got: _close(got.s, c * base.s, 1e-12))


def _law_random_matrix(c, rng):
    sigma = np.array([3.0, 2.0, 1.0])
    base = la.random_matrix(5, 3, singular_values=sigma, rng=11)
    obeys_or_refuses(
        lambda: la.random_matrix(5, 3, singular_values=c * sigma, rng=11),
        "singular_values",
        lambda got: _close(got, c * base, 8 * EPS),
    )


def _law_random_symmetric(c, rng):
    lam = np.array([3.0, -2.0, 1.0, 0.5])
    base = la.random_symmetric(lam, rng=11)
    obeys_or_refuses(
        lambda: la.random_symmetric(c * lam, rng=11), "eigenvalues", lambda got: _close(got, c * base, 8 * EPS)
    )


LAWS = {
    P + "condition_number": _law_condition_number,
    P + "float64_fields": _law_float64_fields,
    P + "matrix_norm": _law_matrix_norm,
    P + "vector_norm": _law_vector_norm,
    P + "normwise_backward_error": _law_normwise_backward_error,
    P + "one_minus_cos_ratio_stable": _law_one_minus_cos_ratio_stable,
    P + "perturbation_bound": _law_perturbation_bound,
    P + "relative_condition_number": _law_relative_condition_number,
    P + "relative_forward_error": _law_relative_forward_error,
    P + "solve_exact_rational": _law_solve_exact_rational,
    P + "forward_substitution": _law_triangular(la.forward_substitution, lower=True),
    P + "back_substitution": _law_triangular(la.back_substitution, lower=False),
    P + "determinant": _law_determinant,
    P + "growth_factor": _law_growth_factor,
    P + "lu": _law_lu,
    P + "lu_blocked": _law_lu_blocked,
    P + "lu_solve": _law_lu_solve,
    P + "solve": _law_solve,
    P + "iterative_refinement": _law_iterative_refinement,
    P + "cholesky": _law_cholesky,
    P + "cholesky_solve": _law_cholesky_solve,
    P + "ldl": _law_ldl,
    P + "solve_tridiagonal": _law_solve_tridiagonal,
    P + "pinv_svd": _law_pinv(la.pinv_svd),
    P + "pinv_eigh": _law_pinv(la.pinv_eigh),
    P + "pinv_normal_equations": _law_pinv(la.pinv_normal_equations),
    P + "pinv_tikhonov": _law_pinv_tikhonov,
    P + "lstsq_min_norm": _law_lstsq_min_norm,
    P + "penrose_residuals": _law_penrose_residuals,
    P + "truncated_svd": _law_truncated_svd,
    P + "randomized_range_finder": _law_randomized_range_finder,
    P + "randomized_svd": _law_randomized_svd,
    P + "random_matrix": _law_random_matrix,
    P + "random_symmetric": _law_random_symmetric,
}

NO_LAW = {
    P + "unit_roundoff": "a constant of the floating-point format: its argument is a dtype, not data",
    P + "norm_equivalence_constant": "a constant of the shape (sizes and norm orders), no data to scale",
    P + "one_minus_cos_ratio_naive": (
        "the unstable formula, kept to show cancellation: (1 - cos x) / x^2 has no law under x -> c x, and "
        "its failure for small |x| (0, or NaN where x^2 underflows) is what the chapter demonstrates; the "
        "stable version has the law"
    ),
    P + "random_orthogonal": "a random generator whose only inputs are a size and a seed: nothing to scale",
    P + "poisson_matrix": "a fixed integer matrix of the grid size n: nothing to scale",
}


# ------------------------------------------------------------------------------------------------
# degenerate inputs


def _refuses(call, error, match):
    with pytest.raises(error, match=match):
        call()


def _deg_condition_number(rng):
    zero_row = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [4.0, 5.0, 6.0]])
    for ord in (1, 2, np.inf, "fro"):
        assert np.all(la.condition_number(np.stack([np.zeros((3, 3)), zero_row, zero_row.T]), ord) == np.inf)
        assert la.condition_number(np.array([[-3.0]]), ord) == 1.0
        assert la.condition_number(np.zeros((0, 2, 2)), ord).shape == (0,)
        assert la.condition_number(np.diag([1.0, 2.0**-1074]), ord) == np.inf  # 2**1074 overflows: inf is right
        kappa = la.condition_number(np.diag([2.0**-1074, 2.0**-1073]), ord)  # subnormal, exactly 2 (2.5 in fro)
        assert abs(kappa - (2.0 if ord != "fro" else 2.5)) <= 4 * EPS
    _refuses(lambda: la.condition_number(np.zeros((0, 0))), ValueError, "a must have at least one row")
    _refuses(lambda: la.condition_number(np.array([[np.inf]])), ValueError, "a must be finite")


def _deg_float64_fields(rng):
    f = la.float64_fields([0.0, -0.0, np.inf, -np.inf, np.nan, 2.0**-1074, 1.0])
    np.testing.assert_array_equal(f.sign, [0, 1, 0, 1, 0, 0, 0])
    np.testing.assert_array_equal(f.exponent, [0, 0, 2047, 2047, 2047, 0, 1023])
    np.testing.assert_array_equal(f.fraction, [0, 0, 0, 0, 2**51, 1, 0])
    assert la.float64_fields(np.zeros((0, 3))).sign.shape == (0, 3)


def _deg_matrix_norm(rng):
    for ord in (1, 2, np.inf, "fro"):
        assert la.matrix_norm(np.zeros((3, 2)), ord) == 0.0
        assert la.matrix_norm(np.zeros((0, 3)), ord) == 0.0
        assert la.matrix_norm(np.array([[-2.5]]), ord) == 2.5
        assert la.matrix_norm(np.zeros((0, 2, 2)), ord).shape == (0,)
    _refuses(lambda: la.matrix_norm(np.array([[np.inf]])), ValueError, "a must be finite")


def _deg_vector_norm(rng):
    for ord in (1, 2, np.inf):
        assert la.vector_norm(np.zeros(3), ord) == 0.0
        assert la.vector_norm(np.zeros(0), ord) == 0.0
        assert la.vector_norm(np.array([-2.0**-1074]), ord) == 2.0**-1074
        assert la.vector_norm(np.full(4, 2.0**1020), ord) == {1: 2.0**1022, 2: 2.0**1021, np.inf: 2.0**1020}[ord]
    _refuses(lambda: la.vector_norm([1.0, np.inf]), ValueError, "x must be finite")


def _deg_norm_equivalence_constant(rng):
    assert la.norm_equivalence_constant(1, np.inf, (1,)) == 1.0
    assert la.norm_equivalence_constant("fro", 2, (1, 1)) == 1.0
    _refuses(lambda: la.norm_equivalence_constant(1, 2, (0,)), ValueError, "shape")


def _deg_normwise_backward_error(rng):
    assert la.normwise_backward_error(np.zeros((2, 2)), np.zeros(2), np.zeros(2)) == 0.0
    assert la.normwise_backward_error(np.eye(2), np.zeros(2), np.ones(2)) == 1.0  # x_hat = 0 != b
    assert la.normwise_backward_error([[2.0]], [0.5], [1.0], exact=True) == 0.0
    assert la.normwise_backward_error(np.zeros((0, 3, 3)), np.zeros(3), np.zeros(3)).shape == (0,)


def _deg_one_minus_cos_ratio_naive(rng):
    # documented: NaN at 0 and wherever x^2 underflows; 0 where cos x rounds to 1
    got = la.one_minus_cos_ratio_naive(np.array([0.0, 1e-170, 1e-9]))
    assert np.isnan(got[0]) and np.isnan(got[1]) and got[2] == 0.0


def _deg_one_minus_cos_ratio_stable(rng):
    got = la.one_minus_cos_ratio_stable(np.array([0.0, -0.0, 2.0**-1074, -1e-170]))
    np.testing.assert_array_equal(got, 0.5)
    assert la.one_minus_cos_ratio_stable(np.zeros(0)).shape == (0,)


def _deg_perturbation_bound(rng):
    assert la.perturbation_bound(np.inf, 0.0, 0.0) == 0.0
    assert la.perturbation_bound(np.inf, 1e-16, 0.0) == np.inf
    assert la.perturbation_bound(1.0, 1.0, 0.0) == np.inf  # kappa eps_A = 1: possibly singular
    assert la.perturbation_bound(1.0, 0.0, 1e-3) == 1e-3


def _deg_relative_condition_number(rng):
    got = la.relative_condition_number(np.sin, np.cos, np.array([0.0, np.pi / 2]))
    assert got[0] == 0.0 and abs(got[1]) <= 1e-15
    assert la.relative_condition_number(lambda x: x - 1, lambda x: np.ones_like(x), 1.0) == np.inf


def _deg_relative_forward_error(rng):
    assert la.relative_forward_error(np.zeros(3), np.zeros(3)) == 0.0
    assert la.relative_forward_error(np.ones(3), np.zeros(3)) == np.inf
    assert la.relative_forward_error(np.zeros(3), np.ones(3)) == 1.0


def _deg_solve_exact_rational(rng):
    np.testing.assert_array_equal(la.solve_exact_rational([[3.0]], [1.0]), [1 / 3])
    _refuses(lambda: la.solve_exact_rational(np.ones((2, 2)), np.ones(2)), ValueError, "a is exactly singular")
    # rank deficient in exact arithmetic although no pivot is zero in floating point
    _refuses(
        lambda: la.solve_exact_rational(np.arange(1.0, 10.0).reshape(3, 3), np.ones(3)), ValueError, "exactly singular"
    )


def _deg_triangular(solver, name):
    def check(rng):
        assert solver(np.zeros((0, 0)), np.zeros(0)).shape == (0,)
        np.testing.assert_array_equal(solver([[4.0]], [2.0]), [0.5])
        np.testing.assert_array_equal(solver(np.eye(3) * 2, np.zeros((3, 2))), np.zeros((3, 2)))
        np.testing.assert_array_equal(solver(np.zeros((2, 2)), [1.0, 2.0], unit_diagonal=True), [1.0, 2.0])
        _refuses(lambda: solver(np.zeros((2, 2)), np.ones(2)), np.linalg.LinAlgError, f"zero on the diagonal of {name}")

    return check


def _deg_determinant(rng):
    assert la.determinant(np.zeros((3, 3))) == 0.0
    assert la.determinant(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [4.0, 5.0, 6.0]])) == 0.0
    assert la.determinant([[-2.0]]) == -2.0
    assert la.determinant(np.zeros((0, 0))) == 1.0  # the empty product
    assert la.determinant(np.diag([2.0**-600, 2.0**-600, 2.0**700])) == 2.0**-500  # no intermediate underflow


def _deg_growth_factor(rng):
    assert la.growth_factor([[-7.0]]) == 1.0
    _refuses(lambda: la.growth_factor(np.zeros((2, 2))), ValueError, "a must have a nonzero entry")
    _refuses(lambda: la.growth_factor(np.ones((2, 2))), np.linalg.LinAlgError, "zero pivot at index 1")


def _deg_lu(rng):
    for pivoting in ("none", "partial", "complete"):
        f = la.lu([[3.0]], pivoting=pivoting)
        assert f.l.tolist() == [[1.0]] and f.u.tolist() == [[3.0]]
        f = la.lu(np.zeros((0, 3)), pivoting=pivoting)
        assert f.l.shape == (0, 0) and f.u.shape == (0, 3)
        _refuses(lambda: la.lu(np.zeros((2, 2)), pivoting=pivoting), np.linalg.LinAlgError, "zero pivot at index 0")
    _refuses(lambda: la.lu(np.ones((3, 3))), np.linalg.LinAlgError, "zero pivot at index 1")  # rank one


def _deg_lu_blocked(rng):
    f = la.lu_blocked([[3.0]])
    assert f.l.tolist() == [[1.0]] and f.u.tolist() == [[3.0]]
    assert la.lu_blocked(np.zeros((0, 0))).u.shape == (0, 0)
    _refuses(lambda: la.lu_blocked(np.zeros((2, 2))), np.linalg.LinAlgError, "zero pivot at index 0")
    _refuses(lambda: la.lu_blocked(np.ones((20, 20)), block_size=4), np.linalg.LinAlgError, "zero pivot at index 1")


def _deg_lu_solve(rng):
    np.testing.assert_array_equal(la.lu_solve(la.lu([[4.0]]), [2.0]), [0.5])
    np.testing.assert_array_equal(la.lu_solve(la.lu(np.eye(3) * 3), np.zeros(3)), np.zeros(3))
    assert la.lu_solve(la.lu(np.zeros((0, 0))), np.zeros(0)).shape == (0,)


def _deg_solve(rng):
    np.testing.assert_array_equal(la.solve([[4.0]], [2.0]), [0.5])
    _refuses(lambda: la.solve(np.zeros((3, 3)), np.ones(3)), np.linalg.LinAlgError, "zero pivot")
    np.testing.assert_array_equal(la.solve(np.eye(2) * 2, np.zeros(2)), np.zeros(2))


def _deg_iterative_refinement(rng):
    r = la.iterative_refinement(np.eye(3) * 2, np.zeros(3))
    assert r.converged and np.all(r.x == 0)
    r = la.iterative_refinement([[4.0]], [2.0])
    assert r.converged and r.x.tolist() == [0.5]
    _refuses(lambda: la.iterative_refinement(np.ones((2, 2)), np.ones(2)), np.linalg.LinAlgError, "zero pivot")


def _deg_cholesky(rng):
    np.testing.assert_array_equal(la.cholesky([[4.0]]), [[2.0]])
    assert la.cholesky(np.zeros((0, 0))).shape == (0, 0)
    _refuses(lambda: la.cholesky(np.zeros((2, 2))), np.linalg.LinAlgError, "pivot 0 is 0")
    _refuses(lambda: la.cholesky(np.ones((2, 2))), np.linalg.LinAlgError, "pivot 1 is 0")  # semidefinite


def _deg_cholesky_solve(rng):
    np.testing.assert_array_equal(la.cholesky_solve([[2.0]], [8.0]), [2.0])
    _refuses(lambda: la.cholesky_solve(np.zeros((2, 2)), np.ones(2)), np.linalg.LinAlgError, "zero on the diagonal")


def _deg_ldl(rng):
    f = la.ldl([[-3.0]])
    assert f.l.tolist() == [[1.0]] and f.d.tolist() == [-3.0]
    _refuses(lambda: la.ldl(np.zeros((2, 2))), np.linalg.LinAlgError, r"zero pivot d\[0\]")
    _refuses(lambda: la.ldl(np.ones((2, 2))), np.linalg.LinAlgError, r"zero pivot d\[1\]")


def _deg_solve_tridiagonal(rng):
    assert la.solve_tridiagonal([], [], [], []).shape == (0,)
    np.testing.assert_array_equal(la.solve_tridiagonal([], [4.0], [], [2.0]), [0.5])
    _refuses(lambda: la.solve_tridiagonal([1.0], [1.0, 1.0], [1.0], [1.0, 2.0]), np.linalg.LinAlgError, "zero pivot")


def _deg_pinv(function, zero_ok=True):
    def check(rng):
        rank_one = np.outer([1.0, 2.0, 2.0], [2.0, 1.0])  # exactly rank one: A^+ = A^T / ||A||_F^2 = A^T / 45
        if zero_ok:
            np.testing.assert_array_equal(function(np.zeros((3, 2))), np.zeros((2, 3)))
            np.testing.assert_allclose(function(rank_one), rank_one.T / 45, rtol=1e-12, atol=0)
        else:
            _refuses(lambda: function(np.zeros((3, 2))), np.linalg.LinAlgError, "a does not have full rank")
            _refuses(lambda: function(np.ones((3, 2))), np.linalg.LinAlgError, "a does not have full rank")
        np.testing.assert_allclose(function([[4.0]]), [[0.25]], rtol=1e-15, atol=0)
        assert function(np.zeros((0, 3))).shape == (3, 0)
        assert function(np.zeros((0, 2, 3))).shape == (0, 3, 2)

    return check


def _deg_pinv_tikhonov(rng):
    np.testing.assert_array_equal(la.pinv_tikhonov(np.zeros((3, 2)), 1.0), np.zeros((2, 3)))
    np.testing.assert_allclose(la.pinv_tikhonov([[2.0]], 1.0), [[0.4]], rtol=1e-15, atol=0)  # 2 / (4 + 1)
    assert la.pinv_tikhonov(np.zeros((0, 2, 3)), 1.0).shape == (0, 3, 2)
    _refuses(lambda: la.pinv_tikhonov(np.eye(2), 0.0), ValueError, "eps")


def _deg_lstsq_min_norm(rng):
    np.testing.assert_array_equal(la.lstsq_min_norm(np.zeros((3, 2)), np.ones(3)), np.zeros(2))
    # rank one: the minimum-norm solution lies in the row space
    a = np.outer([1.0, 2.0, 2.0], [2.0, 1.0])
    np.testing.assert_allclose(la.lstsq_min_norm(a, [1.0, 2.0, 2.0]), [0.4, 0.2], rtol=1e-12, atol=0)
    assert la.lstsq_min_norm(np.zeros((0, 3, 2)), np.zeros((0, 3, 1))).shape == (0, 2, 1)


def _deg_penrose_residuals(rng):
    r = la.penrose_residuals(np.zeros((3, 2)), np.zeros((2, 3)))
    assert all(float(v) == 0.0 for v in r)
    r = la.penrose_residuals(np.zeros((3, 2)), np.ones((2, 3)))  # X != 0 = A^+: XAX = 0 != X
    assert float(r.xax) == 1.0


def _deg_truncated_svd(rng):
    t = la.truncated_svd(np.zeros((4, 3)), 2)
    assert np.all(t.s == 0) and t.u.shape == (4, 2)
    assert la.truncated_svd(np.eye(3), 0).s.shape == (0,)
    np.testing.assert_allclose(la.truncated_svd(np.eye(3), 2).s, [1.0, 1.0], rtol=EPS, atol=0)  # ties
    _refuses(lambda: la.truncated_svd(np.eye(3), 4), ValueError, "k")


def _deg_randomized_range_finder(rng):
    q = la.randomized_range_finder(np.zeros((5, 4)), 2, rng=rng)
    np.testing.assert_allclose(q.T @ q, np.eye(2), rtol=0, atol=10 * EPS)
    assert la.randomized_range_finder(np.eye(3), 0, rng=rng).shape == (3, 0)


def _deg_randomized_svd(rng):
    assert np.all(la.randomized_svd(np.zeros((5, 4)), 2, rng=rng).s == 0)
    assert la.randomized_svd(np.eye(3), 0, rng=rng).s.shape == (0,)
    a = np.outer(np.arange(1.0, 6.0), np.arange(1.0, 5.0))  # exactly rank one
    np.testing.assert_allclose(
        la.randomized_svd(a, 2, rng=rng).s, [np.linalg.norm(a), 0.0], rtol=1e-14, atol=1e-13 * np.linalg.norm(a)
    )


def _deg_random_matrix(rng):
    a = la.random_matrix(4, 3, singular_values=np.array([2.0, 0.0, 0.0]), rng=rng)
    s = np.linalg.svd(a, compute_uv=False)
    assert abs(s[0] - 2.0) <= 8 * EPS and s[1] <= 8 * EPS
    assert np.all(la.random_matrix(2, singular_values=np.zeros(2), rng=rng) == 0)
    assert la.random_matrix(3, condition=1.0, batch=(0,), rng=rng).shape == (0, 3, 3)
    assert abs(abs(la.random_matrix(1, condition=1.0, rng=rng)[0, 0]) - 1.0) <= EPS


def _deg_random_orthogonal(rng):
    assert abs(la.random_orthogonal(1, rng=rng)[0, 0]) == 1.0
    assert la.random_orthogonal(3, batch=(0,), rng=rng).shape == (0, 3, 3)


def _deg_random_symmetric(rng):
    assert np.all(la.random_symmetric(np.zeros(3), rng=rng) == 0)
    assert la.random_symmetric([5.0], rng=rng).tolist() == [[5.0]]
    _refuses(lambda: la.random_symmetric([], rng=rng), ValueError, "eigenvalues must be a non-empty")


def _deg_poisson_matrix(rng):
    assert la.poisson_matrix(1).toarray().tolist() == [[2.0]]
    assert la.poisson_matrix(1, dim=2).toarray().tolist() == [[4.0]]


DEGENERATE = {
    P + "condition_number": _deg_condition_number,
    P + "float64_fields": _deg_float64_fields,
    P + "matrix_norm": _deg_matrix_norm,
    P + "vector_norm": _deg_vector_norm,
    P + "norm_equivalence_constant": _deg_norm_equivalence_constant,
    P + "normwise_backward_error": _deg_normwise_backward_error,
    P + "one_minus_cos_ratio_naive": _deg_one_minus_cos_ratio_naive,
    P + "one_minus_cos_ratio_stable": _deg_one_minus_cos_ratio_stable,
    P + "perturbation_bound": _deg_perturbation_bound,
    P + "relative_condition_number": _deg_relative_condition_number,
    P + "relative_forward_error": _deg_relative_forward_error,
    P + "solve_exact_rational": _deg_solve_exact_rational,
    P + "forward_substitution": _deg_triangular(la.forward_substitution, "l"),
    P + "back_substitution": _deg_triangular(la.back_substitution, "u"),
    P + "determinant": _deg_determinant,
    P + "growth_factor": _deg_growth_factor,
    P + "lu": _deg_lu,
    P + "lu_blocked": _deg_lu_blocked,
    P + "lu_solve": _deg_lu_solve,
    P + "solve": _deg_solve,
    P + "iterative_refinement": _deg_iterative_refinement,
    P + "cholesky": _deg_cholesky,
    P + "cholesky_solve": _deg_cholesky_solve,
    P + "ldl": _deg_ldl,
    P + "solve_tridiagonal": _deg_solve_tridiagonal,
    P + "pinv_svd": _deg_pinv(la.pinv_svd),
    P + "pinv_eigh": _deg_pinv(la.pinv_eigh),
    P + "pinv_normal_equations": _deg_pinv(la.pinv_normal_equations, zero_ok=False),
    P + "pinv_tikhonov": _deg_pinv_tikhonov,
    P + "lstsq_min_norm": _deg_lstsq_min_norm,
    P + "penrose_residuals": _deg_penrose_residuals,
    P + "truncated_svd": _deg_truncated_svd,
    P + "randomized_range_finder": _deg_randomized_range_finder,
    P + "randomized_svd": _deg_randomized_svd,
    P + "random_matrix": _deg_random_matrix,
    P + "random_orthogonal": _deg_random_orthogonal,
    P + "random_symmetric": _deg_random_symmetric,
    P + "poisson_matrix": _deg_poisson_matrix,
}

NOT_DEGENERATE = {
    P + "unit_roundoff": "its argument is a dtype: no matrix or vector, nothing degenerate to pass",
}
