"""Tests of mathguide.optimization.water_filling against SciPy's constrained solver and the KKT conditions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import lsq_linear, minimize

from mathguide.optimization.water_filling import water_filling

EPS = np.finfo(np.float64).eps



def slsqp_water_filling(alpha: np.ndarray, total: float) -> np.ndarray:
    """Independent oracle: the same problem handed to SciPy's SLSQP."""
    n = alpha.size
    result = minimize(
        lambda x: -np.sum(np.log(alpha + x)),
        np.full(n, total / n),
        jac=lambda x: -1.0 / (alpha + x),
        bounds=[(0.0, None)] * n,
        constraints=[{"type": "eq", "fun": lambda x: x.sum() - total, "jac": lambda x: np.ones((1, n))}],
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 500},
    )
    assert result.success, result.message
    return result.x


def sort_based_water_filling(alpha: np.ndarray, total: float) -> np.ndarray:
    """Second algorithm: sort alpha, grow the filled set while the level stays above the next floor."""
    order = np.sort(alpha)
    levels = (total + np.cumsum(order)) / np.arange(1, alpha.size + 1)
    k = np.max(np.nonzero(levels > order)[0], initial=0) + 1  # filled channels: those with alpha below the level
    return np.maximum(levels[k - 1] - alpha, 0.0)


@pytest.mark.parametrize("n", [1, 2, 4, 8])
def test_against_slsqp(rng, n):
    for _ in range(5):
        alpha = rng.uniform(0.1, 3.0, size=n)
        total = float(rng.uniform(0.1, 4.0))
        x = water_filling(alpha, total).x
        # SLSQP's solution is accurate to about sqrt(ftol) ~ 3e-8 (relative to the scale of x).
        np.testing.assert_allclose(x, slsqp_water_filling(alpha, total), rtol=0, atol=1e-6)


def test_against_the_sort_based_solution(rng):
    alpha = rng.uniform(0.01, 10.0, size=(50, 6))
    total = rng.uniform(0.01, 20.0, size=50)
    x = water_filling(alpha, total).x
    expected = np.array([sort_based_water_filling(a, t) for a, t in zip(alpha, total, strict=False)])
    np.testing.assert_allclose(x, expected, rtol=0, atol=64 * EPS * (alpha.max() + total.max()))


def kkt_multipliers(alpha: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, float]:
    """Multipliers fitted at x alone: min ||grad f - lam + nu 1|| over lam >= 0 on {x = 0}, nu free."""
    n = alpha.size
    grad = -1.0 / (alpha + x)
    active = np.flatnonzero(x <= 0.0)
    matrix = np.hstack([-np.eye(n)[:, active], np.ones((n, 1))])
    lower = np.r_[np.zeros(active.size), -np.inf]
    sol = lsq_linear(matrix, -grad, bounds=(lower, np.inf), method="bvls", tol=1e-15).x
    lam = np.zeros(n)
    lam[active] = sol[:-1]
    return lam, float(sol[-1])


def kkt_residuals(alpha, total, x, lam, nu) -> np.ndarray:
    """Stationarity, primal feasibility, dual feasibility, complementary slackness (max-norms)."""
    stationarity = np.abs(-1.0 / (alpha + x) - lam + nu).max()
    primal = max(np.maximum(-x, 0.0).max(), abs(x.sum() - total))
    return np.array([stationarity, primal, np.maximum(-lam, 0.0).max(), np.abs(lam * x).max()])


def test_kkt_conditions_hold(rng):
    """Multipliers computed from x by bounded least squares, not from the level; all four residuals."""
    for _ in range(20):
        alpha = rng.uniform(0.1, 3.0, size=5)
        total = float(rng.uniform(0.5, 5.0))
        x, level = water_filling(alpha, total)
        lam, nu = kkt_multipliers(alpha, x)
        scale = 64 * EPS * (1 + 1 / alpha.min() ** 2) * (alpha.max() + total)
        assert kkt_residuals(alpha, total, x, lam, nu).max() <= scale
        np.testing.assert_allclose(nu, 1.0 / level, rtol=64 * EPS, atol=0)


def test_kkt_check_rejects_a_wrong_level(rng):
    """The check above can fail: a level off by 1% leaves a residual."""
    alpha = rng.uniform(0.1, 3.0, size=5)
    total = 2.0
    level = water_filling(alpha, total).level
    for wrong in (0.99 * level, 1.01 * level):
        x = np.maximum(wrong - alpha, 0.0)
        lam, nu = kkt_multipliers(alpha, x)
        assert kkt_residuals(alpha, total, x, lam, nu).max() > 1e-3


@pytest.mark.parametrize("batch", [(), (1,), (4,), (2, 3)])
@pytest.mark.parametrize("n", [1, 3])
def test_batches_equal_rows_solved_alone(rng, batch, n):
    alpha = rng.uniform(0.1, 2.0, size=batch + (n,))
    total = rng.uniform(0.1, 2.0, size=batch)
    result = water_filling(alpha, total)
    assert result.x.shape == batch + (n,) and np.shape(result.level) == batch
    assert isinstance(result.level, float) == (batch == ())  # one problem: a Python float
    flat_alpha, flat_total = alpha.reshape(-1, n), total.reshape(-1)
    for i in range(flat_alpha.shape[0]):
        single = water_filling(flat_alpha[i], flat_total[i])
        np.testing.assert_array_equal(result.x.reshape(-1, n)[i], single.x)
        np.testing.assert_array_equal(np.reshape(result.level, -1)[i], single.level)


def test_scalar_total_broadcasts(rng):
    alpha = rng.uniform(0.1, 2.0, size=(3, 4))
    np.testing.assert_array_equal(water_filling(alpha, 2.0).x, water_filling(alpha, np.full(3, 2.0)).x)


def test_edge_cases():
    # No budget: nothing is allocated, and the level is the lowest floor.
    x, level = water_filling([0.5, 1.0], 0.0)
    np.testing.assert_array_equal(x, [0.0, 0.0])
    assert level == 0.5
    # Equal floors (ties): the budget is split evenly.
    x, level = water_filling(np.full(5, 2.0), 1.0)
    np.testing.assert_allclose(x, np.full(5, 0.2), rtol=4 * EPS, atol=0)
    np.testing.assert_allclose(level, 2.2, rtol=4 * EPS, atol=0)
    # One channel takes everything.
    x, level = water_filling([3.0], 7.0)
    assert x[0] == 7.0 and level == 10.0
    # A huge budget fills every channel: x_i = (P + sum alpha)/n - alpha_i.
    alpha = np.array([1.0, 2.0, 3.0])
    x, _ = water_filling(alpha, 1e12)
    np.testing.assert_allclose(x, (1e12 + 6.0) / 3 - alpha, rtol=4 * EPS, atol=0)
    np.testing.assert_allclose(x.sum(), 1e12, rtol=4 * EPS, atol=0)
    # A floor far above the others stays dry.
    x, _ = water_filling([1e-3, 1e6], 1.0)
    assert x[1] == 0.0
    np.testing.assert_allclose(x[0], 1.0, rtol=0, atol=4 * EPS)  # level 1.001 minus 0.001, rounded


def test_huge_inputs_do_not_overflow():
    # alpha_1 + total and sum(alpha) exceed the largest float, the answer does not: w = 1.5e308.
    x, level = water_filling([1e308, 1e308], 1e308)
    np.testing.assert_allclose(x, [5e307, 5e307], rtol=4 * EPS, atol=0)
    np.testing.assert_allclose(level, 1.5e308, rtol=4 * EPS, atol=0)
    # A level beyond the largest float is reported as inf; the allocation stays exact.
    with np.errstate(over="raise"):
        x, level = water_filling([1e308], 1e308)
    assert x[0] == 1e308 and level == np.inf
    # Tiny (subnormal) inputs: the rescaling by a power of two keeps them exact.
    x, level = water_filling([5e-324, 1e-323], 5e-324)
    np.testing.assert_array_equal(x, [5e-324, 0.0])
    assert level == 1e-323


def test_arguments():
    with pytest.raises(ValueError, match="alpha must be positive"):
        water_filling([1.0, 0.0], 1.0)
    with pytest.raises(ValueError, match="alpha must not contain NaN"):
        water_filling([1.0, np.nan], 1.0)
    with pytest.raises(ValueError, match="alpha must be finite"):
        water_filling([1.0, np.inf], 1.0)
    with pytest.raises(ValueError, match="alpha must have a non-empty last axis"):
        water_filling(np.zeros((2, 0)), 1.0)
    with pytest.raises(ValueError, match="alpha must have a non-empty last axis"):
        water_filling(1.0, 1.0)
    with pytest.raises(ValueError, match="total must be non-negative"):
        water_filling([1.0, 2.0], -1.0)
    with pytest.raises(ValueError, match="total must be finite"):
        water_filling([1.0, 2.0], np.inf)
    with pytest.raises(ValueError, match="does not broadcast"):
        water_filling(np.ones((3, 2)), [1.0, 2.0])
    with pytest.raises(TypeError, match="total must be array-like"):
        water_filling([1.0, 2.0], "1")


def test_does_not_mutate(rng):
    alpha, total = rng.uniform(0.1, 1.0, size=(2, 3)), np.array([1.0, 2.0])
    alpha0, total0 = alpha.copy(), total.copy()
    water_filling(alpha, total)
    np.testing.assert_array_equal(alpha, alpha0)
    np.testing.assert_array_equal(total, total0)


@given(
    arrays(np.float64, st.integers(1, 8), elements=st.floats(1e-3, 1e3)),
    st.floats(0.0, 1e4),
)
def test_allocation_is_feasible_and_has_the_kkt_form(alpha, total):
    x, level = water_filling(alpha, total)
    assert np.all(x >= 0)
    np.testing.assert_allclose(x.sum(), total, rtol=0, atol=16 * alpha.size * EPS * (total + alpha.sum()))
    # Against the sort-based algorithm (not the function's own return formula).
    if total == 0.0:
        np.testing.assert_array_equal(x, 0.0)
        return
    expected = sort_based_water_filling(alpha, total)
    atol = 64 * alpha.size * EPS * (total + alpha.max())
    np.testing.assert_allclose(x, expected, rtol=0, atol=atol)
    if total >= 1e-6 * alpha.max():  # otherwise x rounds to 0 and nu is not determined
        np.testing.assert_allclose(1.0 / level, kkt_multipliers(alpha, x)[1], rtol=1e-9, atol=0)
