"""1-norm estimation, condition estimates, componentwise backward error, Skeel (linalg/condition_estimation.py)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.optimize
from scipy.linalg.lapack import dgecon, dgetrf

from mathguide.linalg import (
    SingularMatrixError,
    componentwise_backward_error,
    condition_estimate_1,
    inverse_norm1_estimate,
    lu,
    norm1_estimate,
    random_matrix,
    skeel_condition,
)

EPS64 = np.finfo(np.float64).eps


def _true_inverse_norm1(a):
    return np.abs(np.linalg.inv(a)).sum(axis=0).max()


def _lapack_operator(lu_packed):
    """Products with (L U)^{-1} and its transpose, from dgetrf's packed factors: what dgecon estimates."""
    n = lu_packed.shape[0]
    lower, upper = np.tril(lu_packed, -1) + np.eye(n), np.triu(lu_packed)
    solve = scipy.linalg.solve_triangular
    return (lambda v: solve(upper, solve(lower, v, lower=True, unit_diagonal=True)),
            lambda v: solve(lower, solve(upper, v, trans="T"), lower=True, trans="T", unit_diagonal=True))


def test_estimator_equals_lapack_gecon_on_its_operator(rng) -> None:
    # xGECON runs xLACN2 on (L U)^{-1} = A^{-1} P^T, not on A^{-1}: Higham's extra vector is not
    # permutation invariant, so condition_estimate_1 may differ from dgecon (~0.8 % of small matrices).
    # On dgecon's own operator the library's estimator must reproduce it: the same algorithm
    for _ in range(300):
        n = int(rng.integers(2, 7)) if _ % 10 else 25
        a = rng.standard_normal((n, n))
        lu_lapack, _, _ = dgetrf(a)
        norm_a = np.abs(a).sum(axis=0).max()
        rcond, _ = dgecon(lu_lapack, norm_a, norm="1")
        estimate = norm1_estimate(*_lapack_operator(lu_lapack), n).estimate
        assert estimate * norm_a * rcond == pytest.approx(1.0, rel=1e-8, abs=0)
        # and condition_estimate_1 is a lower bound on the true kappa_1, like dgecon's
        assert condition_estimate_1(a) <= norm_a * _true_inverse_norm1(a) * (1 + 1e-10)


@pytest.mark.parametrize("family", ["gaussian", "ill", "triangular"])
def test_estimate_is_a_lower_bound_and_usually_close(rng, family) -> None:
    ratios = []
    for _ in range(40):
        if family == "gaussian":
            a = rng.standard_normal((30, 30))
        elif family == "ill":
            a = random_matrix(30, condition=1e10, rng=rng)
        else:
            a = np.triu(rng.choice([-1.0, 1.0], (30, 30)))
        true = _true_inverse_norm1(a)
        result = inverse_norm1_estimate(a)
        ratios.append(result.estimate / true)
        # a lower bound, attained by the returned vector
        assert result.estimate <= true * (1 + 1e3 * EPS64 * np.linalg.cond(a, 1))
        attained = np.abs(np.linalg.solve(a, result.x)).sum() / np.abs(result.x).sum()
        assert attained == pytest.approx(result.estimate, rel=1e-6 + 1e3 * EPS64 * np.linalg.cond(a, 1))
        assert result.iterations <= 5 and len(result.estimates) == result.iterations
    ratios = np.array(ratios)
    assert ratios.min() > 0.1
    assert np.all(ratios <= 1 + 1e-4)
    assert np.mean(ratios > 1 - 1e-4) >= 0.5  # exact (to the accuracy of inv) in most cases
    assert np.mean(ratios > 1 / 3) >= 0.9


def test_norm1_estimate_is_exact_on_simple_matrices(rng) -> None:
    d = rng.uniform(0.5, 5.0, 12)
    result = norm1_estimate(lambda x: d * x, lambda x: d * x, 12)
    assert result.estimate == pytest.approx(d.max(), rel=1e-14, abs=0)
    assert result.converged
    b = rng.standard_normal((7, 7))
    result = norm1_estimate(lambda x: b @ x, lambda x: b.T @ x, 7, maxiter=20)
    assert result.estimate <= np.abs(b).sum(axis=0).max() * (1 + 1e-14)
    one = norm1_estimate(lambda x: 3.0 * x, lambda x: 3.0 * x, 1)
    assert one.estimate == pytest.approx(3.0, rel=1e-15, abs=0)


def test_factors_are_reused_and_checked(rng) -> None:
    a = rng.standard_normal((10, 10))
    # the factors are used, not recomputed: the factors of another matrix give ||a||_1 times the
    # estimate of *its* inverse (an implementation that ignored them would return a's estimate)
    other = rng.standard_normal((10, 10)) + 10 * np.eye(10)
    norm_a = np.abs(a).sum(axis=0).max()
    mixed = condition_estimate_1(a, lu(other))
    assert mixed == pytest.approx(norm_a * inverse_norm1_estimate(other).estimate, rel=1e-12, abs=0)
    assert abs(mixed / condition_estimate_1(a) - 1) > 1e-3
    # complete pivoting: different factors, still a lower bound attained by the returned vector
    result = inverse_norm1_estimate(a, lu(a, pivoting="complete"))
    assert result.estimate <= _true_inverse_norm1(a) * (1 + 1e-10)
    attained = np.abs(np.linalg.solve(a, result.x)).sum() / np.abs(result.x).sum()
    assert attained == pytest.approx(result.estimate, rel=1e-10, abs=0)
    with pytest.raises(ValueError, match="factors are of order 3"):
        condition_estimate_1(a, lu(np.eye(3)))
    with pytest.raises(TypeError, match="factors must be the result of lu"):
        condition_estimate_1(a, (1, 2, 3))
    with pytest.raises(SingularMatrixError):
        condition_estimate_1(np.ones((3, 3)))


def test_norm1_estimate_bad_input() -> None:
    with pytest.raises(TypeError, match="matvec and rmatvec must be callables"):
        norm1_estimate(None, lambda x: x, 3)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        norm1_estimate(lambda x: x, lambda x: x, 0)
    with pytest.raises(ValueError, match="maxiter must be a positive integer"):
        norm1_estimate(lambda x: x, lambda x: x, 3, maxiter=0)


def test_componentwise_backward_error_definition(rng) -> None:
    a = rng.standard_normal((6, 6))
    b = rng.standard_normal(6)
    x = np.linalg.solve(a, b) + 1e-6 * rng.standard_normal(6)
    omega = componentwise_backward_error(a, x, b)
    # the Oettli-Prager perturbation realises omega: dA = D |A| diag(sign x), db = -D |b|
    r = b - a @ x
    scale = np.abs(a) @ np.abs(x) + np.abs(b)
    d = r / scale
    delta_a = d[:, None] * np.abs(a) * np.sign(x)[None, :]
    delta_b = -d * np.abs(b)
    np.testing.assert_allclose((a + delta_a) @ x, b + delta_b, rtol=0, atol=1e-13)
    assert np.max(np.abs(d)) == pytest.approx(omega, rel=1e-12, abs=0)
    # minimality, by an independent oracle: the linear program min eps subject to
    # (A + dA) x = b + db, |dA| <= eps |A|, |db| <= eps |b| (variables eps, dA, db)
    n = 6
    cost = np.zeros(1 + n * n + n)
    cost[0] = 1.0
    equality = np.zeros((n, cost.size))
    for i in range(n):
        equality[i, 1 + i * n: 1 + (i + 1) * n] = x  # (dA x)_i
        equality[i, 1 + n * n + i] = -1.0  # - db_i
    bounds_rows = []
    for k, size in enumerate(np.concatenate([np.abs(a).ravel(), np.abs(b)])):
        for sign in (1.0, -1.0):  # +-delta_k - eps * size_k <= 0
            row = np.zeros(cost.size)
            row[0], row[1 + k] = -size, sign
            bounds_rows.append(row)
    lp = scipy.optimize.linprog(cost, A_ub=np.array(bounds_rows), b_ub=np.zeros(len(bounds_rows)),
                                A_eq=equality, b_eq=r / np.abs(r).max(),  # units: the LP's tolerances are absolute
                                bounds=[(0, None)] + [(None, None)] * (cost.size - 1))
    assert lp.status == 0
    assert omega == pytest.approx(lp.fun * np.abs(r).max(), rel=1e-6, abs=0)


def test_componentwise_backward_error_zero_rows_and_small_cases() -> None:
    a = np.array([[1.0, 0.0], [0.0, 0.0]])
    # row 1 of A is zero and b_1 = 0: 0/0 counts as 0, the solution is exact
    assert componentwise_backward_error(a, np.array([2.0, 5.0]), np.array([2.0, 0.0])) == 0.0
    # row 1: residual 1 against |A||x| + |b| = 1: only a 100% change of b_1 explains it
    assert componentwise_backward_error(a, np.array([2.0, 5.0]), np.array([2.0, 1.0])) == 1.0
    # 2 x = 1 with x = 1: |r| = 1 against |a||x| + |b| = 3
    assert componentwise_backward_error(np.array([[2.0]]), np.array([1.0]), np.array([1.0])) == pytest.approx(
        1 / 3, rel=1e-15, abs=0)
    with pytest.raises(ValueError, match=r"x must have shape \(2,\)"):
        componentwise_backward_error(a, np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match=r"b must have shape \(2,\)"):
        componentwise_backward_error(a, np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="a must be a 2-D array"):
        componentwise_backward_error(np.ones(2), np.ones(2), np.ones(2))


def test_skeel_condition_against_definition_and_row_scaling(rng) -> None:
    a = rng.standard_normal((8, 8))
    x = rng.standard_normal(8)
    inverse = np.linalg.inv(a)
    expected = np.max(np.abs(inverse) @ np.abs(a) @ np.ones(8))
    assert skeel_condition(a) == pytest.approx(expected, rel=1e-10, abs=0)
    expected_x = np.max(np.abs(inverse) @ np.abs(a) @ np.abs(x)) / np.max(np.abs(x))
    assert skeel_condition(a, x) == pytest.approx(expected_x, rel=1e-10, abs=0)
    # invariant under row scaling, while kappa_inf is not
    d = np.logspace(0, 8, 8)
    assert skeel_condition(d[:, None] * a) == pytest.approx(skeel_condition(a), rel=1e-6, abs=0)
    assert np.linalg.cond(d[:, None] * a, np.inf) > 1e4 * np.linalg.cond(a, np.inf)
    # cond(A) <= kappa_inf(A)
    assert skeel_condition(a) <= np.linalg.cond(a, np.inf) * (1 + 1e-12)
    # the estimate is a lower bound, usually equal
    estimate = skeel_condition(a, x, method="estimate")
    assert estimate <= expected_x * (1 + 1e-10) and estimate >= expected_x / 3


def test_skeel_condition_bad_input(rng) -> None:
    a = rng.standard_normal((3, 3))
    with pytest.raises(ValueError, match="method must be 'exact' or 'estimate'"):
        skeel_condition(a, method="power")
    with pytest.raises(ValueError, match="x must not be zero"):
        skeel_condition(a, np.zeros(3))
    with pytest.raises(ValueError, match=r"x must have shape \(3,\)"):
        skeel_condition(a, np.ones(2))
    with pytest.raises(ValueError, match="a must be a square 2-D array"):
        skeel_condition(np.ones((2, 3)))


@pytest.mark.parametrize("c", [1e200, 1e-200, 2.0**1000, 2.0**-1000])
def test_componentwise_backward_error_is_scale_safe(rng, c) -> None:
    # issue 26: entries near 1e200 made |A||x| + |b| overflow and omega NaN (true value 0 for exact data)
    a = rng.standard_normal((6, 6))
    b = rng.standard_normal(6)
    x = np.linalg.solve(a, b) + 1e-6 * rng.standard_normal(6)
    omega = componentwise_backward_error(a, x, b)
    for args in ((a * c, x, b * c), (a, x * c, b * c), (a * c, x / c, b)):
        assert componentwise_backward_error(*args) == pytest.approx(omega, rel=1e-8, abs=0)
    exact = np.array([[2.0**600, 0.0], [0.0, 2.0**-600]])
    assert componentwise_backward_error(exact, np.array([2.0**400, 1.0]), np.array([2.0**1000, 2.0**-600])) == 0.0


def test_norm1_estimate_checks_its_callbacks() -> None:
    # issue 26: a matvec of the wrong shape broadcast into converged=True, estimate=1.0
    with pytest.raises(ValueError, match=r"matvec must return a vector of shape \(5,\)"):
        norm1_estimate(lambda v: np.ones(3), lambda v: v, 5)
    with pytest.raises(ValueError, match=r"rmatvec must return a vector of shape \(5,\)"):
        norm1_estimate(lambda v: v, lambda v: np.ones((5, 1)), 5)
    with pytest.raises(ValueError, match="matvec returned a vector with non-finite entries"):
        norm1_estimate(lambda v: v * np.nan, lambda v: v, 5)
    with pytest.raises(TypeError, match="matvec must return a real vector"):
        norm1_estimate(lambda v: "abc", lambda v: v, 5)
