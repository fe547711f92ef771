"""1-norm estimation, condition estimates, componentwise backward error, Skeel (linalg/condition_estimation.py)."""

from __future__ import annotations

import numpy as np
import pytest
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


def test_condition_estimate_equals_lapack_gecon(rng) -> None:
    # the same algorithm as LAPACK's xGECON (xLACN2) on the same partial-pivoting LU: same numbers
    for _ in range(30):
        a = rng.standard_normal((25, 25))
        lu_lapack, _, _ = dgetrf(a)
        rcond, _ = dgecon(lu_lapack, np.abs(a).sum(axis=0).max(), norm="1")
        assert condition_estimate_1(a) * rcond == pytest.approx(1.0, rel=1e-8, abs=0)


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
    factors = lu(a)
    assert condition_estimate_1(a, factors) == condition_estimate_1(a)
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
    # and no smaller epsilon works in the worst row: the bound |r_i| <= eps * scale_i is tight
    assert np.max(np.abs(r) / scale) == pytest.approx(omega, rel=1e-12, abs=0)


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
