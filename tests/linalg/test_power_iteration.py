"""Tests for mathguide.linalg.power_iteration: power, inverse, Rayleigh-quotient and subspace iteration, PageRank."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from mathguide.linalg import random_symmetric
from mathguide.linalg.power_iteration import (
    inverse_iteration,
    pagerank,
    power_iteration,
    rayleigh_quotient_iteration,
    subspace_iteration,
)

EPS = np.finfo(np.float64).eps




def fitted_rate(errors: np.ndarray, low: float = 1e-12, high: float = 1e-2) -> float:
    """Geometric mean of successive error ratios over the middle of a linearly converging history."""
    e = errors[(errors > low) & (errors < high)]
    return float(np.exp(np.mean(np.diff(np.log(e)))))


# ---------------------------------------------------------------------------------------------
# Power iteration


def test_power_iteration_finds_dominant_pair_at_the_predicted_rate(rng):
    lam = np.array([10.0, 8.0, 3.0, 1.0, -2.0, 0.5])
    a = random_symmetric(lam, rng=rng)
    res = power_iteration(a, rng.standard_normal(6), tol=1e-14, maxiter=500)
    assert res.converged
    assert res.eigenvalue == pytest.approx(10.0, rel=1e-12)
    w, v = np.linalg.eigh(a)
    assert abs(abs(res.eigenvector @ v[:, -1]) - 1) <= 1e-12
    # symmetric: the eigenvalue error of the Rayleigh quotient decays like (lambda2/lambda1)^(2k)
    rate = fitted_rate(np.abs(res.eigenvalue_history - 10.0))
    assert rate == pytest.approx((8 / 10) ** 2, rel=0.05)
    assert len(res.eigenvalue_history) == len(res.residual_norms) == res.iterations + 1


def test_power_iteration_nonsymmetric_rate(rng):
    v = rng.standard_normal((5, 5))
    a = v @ np.diag([5.0, 4.0, 1.0, 0.5, 0.1]) @ np.linalg.inv(v)
    res = power_iteration(a, rng.standard_normal(5), tol=1e-13, maxiter=1000)
    assert res.converged
    assert res.eigenvalue == pytest.approx(5.0, rel=1e-10)
    # nonsymmetric: the residual decays like |lambda2/lambda1|^k (no squaring)
    assert fitted_rate(res.residual_norms) == pytest.approx(0.8, rel=0.05)


def test_power_iteration_flags_a_complex_dominant_pair(rng):
    a = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.5]])  # +-i dominate
    res = power_iteration(a, rng.standard_normal(3), maxiter=200)
    assert not res.converged and res.iterations == 200
    assert res.residual_norms[-1] > 0.1


def test_power_iteration_float32_and_no_mutation(rng):
    a = random_symmetric(np.array([4.0, 1.0, 0.5]), rng=rng).astype(np.float32)
    x0 = rng.standard_normal(3).astype(np.float32)
    a_copy, x_copy = a.copy(), x0.copy()
    res = power_iteration(a, x0)
    assert res.converged and res.eigenvector.dtype == np.float32
    assert res.eigenvalue == pytest.approx(4.0, rel=1e-5)
    np.testing.assert_array_equal(a, a_copy)
    np.testing.assert_array_equal(x0, x_copy)


# ---------------------------------------------------------------------------------------------
# Inverse and Rayleigh-quotient iteration


def test_inverse_iteration_finds_the_eigenvalue_nearest_the_shift(rng):
    lam = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    a = random_symmetric(lam, rng=rng)
    res = inverse_iteration(a, 2.6, rng.standard_normal(5), tol=1e-14)
    assert res.converged
    assert res.eigenvalue == pytest.approx(3.0, rel=1e-13)
    # rate |3 - 2.6| / |2 - 2.6| for the eigenvector, squared for the Rayleigh quotient. (A shift
    # closer to 3 gives a rate ~0.01: two or three steps in the fitting window, too few to fit; at
    # 0.44 the window holds ~25 steps, and the next ratio (0.4/1.4)^2 = 0.08 dies out fast.)
    assert fitted_rate(np.abs(res.eigenvalue_history - 3.0)) == pytest.approx((0.4 / 0.6) ** 2, rel=0.2)


def test_inverse_iteration_with_an_exact_eigenvalue_as_shift():
    a = np.diag([1.0, 2.0, 3.0])
    res = inverse_iteration(a, 2.0, np.ones(3))
    assert res.converged and res.iterations <= 2
    np.testing.assert_allclose(np.abs(res.eigenvector), [0, 1, 0], rtol=0, atol=1e-14)


def sine_of_angle(x: np.ndarray, y: np.ndarray) -> float:
    """sin of the angle between two lines, accurate when tiny (not sqrt(1 - cos^2), which stops at 1e-8)."""
    x, y = x / np.linalg.norm(x), y / np.linalg.norm(y)
    return float(np.linalg.norm(x - (x @ y) * y))


def test_rayleigh_quotient_iteration_is_cubic_for_symmetric(rng):
    a = random_symmetric(np.linspace(1, 10, 10), rng=rng)
    w, v = np.linalg.eigh(a)
    x0 = v[:, 4] + 0.01 * rng.standard_normal(10)  # near the eigenvector of lambda = 5 (angle ~ 0.03)
    res = rayleigh_quotient_iteration(a, x0, tol=1e-15)
    assert res.converged and res.iterations <= 4
    assert res.eigenvalue == pytest.approx(w[4], rel=1e-14)
    # the angle after each step (the routine is deterministic: rerun with maxiter = k)
    angles = np.array([
        sine_of_angle(rayleigh_quotient_iteration(a, x0, tol=1e-15, maxiter=k).eigenvector, v[:, 4])
        for k in range(res.iterations + 1)
    ])
    assert angles[-1] < 1e-13
    # cubic: theta_{k+1} <= C theta_k^3 with C ~ 1/gap^2 (gap 1 here), on every step above the rounding
    # floor. Quadratic convergence theta_{k+1} = C' theta_k^2 fails it once theta_k < C' / 10, and the
    # first step starts at theta_0 ~ 0.03; linear convergence fails it at once.
    pairs = (angles[1:] > 1e-13) & (angles[:-1] < 0.1)
    assert pairs.sum() >= 1
    assert np.all(angles[1:][pairs] <= 10 * angles[:-1][pairs] ** 3)


def test_rayleigh_quotient_iteration_nonsymmetric_quadratic(rng):
    v = rng.standard_normal((6, 6))
    lam = np.array([1.0, 2.0, 4.0, 7.0, 11.0, 16.0])
    a = v @ np.diag(lam) @ np.linalg.inv(v)
    x0 = v[:, 2] + 0.01 * rng.standard_normal(6)  # near the eigenvector of lambda = 4
    res = rayleigh_quotient_iteration(a, x0, tol=1e-13)
    assert res.converged
    assert res.eigenvalue == pytest.approx(4.0, rel=1e-10)


def test_rayleigh_quotient_iteration_flags_non_convergence(rng):
    a = random_symmetric(np.linspace(1, 10, 10), rng=rng)
    res = rayleigh_quotient_iteration(a, rng.standard_normal(10), tol=1e-15, maxiter=1)
    assert not res.converged and res.iterations == 1


# ---------------------------------------------------------------------------------------------
# Subspace iteration


def test_subspace_iteration_dominant_subspace_and_rate(rng):
    # |lambda_4 / lambda_i| = 0.2, 0.25, 0.5 for i = 1, 2, 3: the rate 0.5 dominates the residual
    # quickly (with 10, -9, 8 the rates 0.4, 0.44, 0.5 stay mixed, and a fit lands 11 % off)
    lam = np.array([20.0, -16.0, 8.0, 4.0, 2.0, 1.0, 0.5, 0.1])
    a = random_symmetric(lam, rng=rng)
    res = subspace_iteration(a, rng.standard_normal((8, 3)), tol=1e-13)
    assert res.converged
    np.testing.assert_allclose(res.eigenvalues.real, [20.0, -16.0, 8.0], rtol=1e-12, atol=0)
    # the basis spans the dominant eigenvectors: principal angles to scipy's eigenvectors vanish
    w, v = np.linalg.eigh(a)
    dominant = v[:, np.argsort(-np.abs(w))[:3]]
    angles = scipy.linalg.subspace_angles(res.basis, dominant)
    assert angles.max() <= 1e-12
    assert fitted_rate(res.residual_norms, high=1e-6) == pytest.approx(4 / 8, rel=0.05)
    np.testing.assert_allclose(res.basis.T @ res.basis, np.eye(3), rtol=0, atol=1e-14)


def test_subspace_iteration_finds_a_complex_pair(rng):
    d = scipy.linalg.block_diag(3 * np.array([[0.6, -0.8], [0.8, 0.6]]), np.diag([1.0, 0.5, 0.2]))
    v = rng.standard_normal((5, 5))
    a = v @ d @ np.linalg.inv(v)
    res = subspace_iteration(a, rng.standard_normal((5, 2)), tol=1e-12)
    assert res.converged
    np.testing.assert_allclose(np.sort_complex(res.eigenvalues), [1.8 - 2.4j, 1.8 + 2.4j], rtol=1e-9, atol=0)


def test_subspace_iteration_rejects_rank_deficient_start():
    with pytest.raises(ValueError, match="x0 must have full column rank"):
        subspace_iteration(np.eye(4), np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"x0 must have shape \(4, p\)"):
        subspace_iteration(np.eye(4), np.ones((3, 2)))


# ---------------------------------------------------------------------------------------------
# PageRank


def google_matrix_scores(w: np.ndarray, d: float) -> np.ndarray:
    """Oracle: the stationary vector of the dense Google matrix, from its eigendecomposition."""
    n = len(w)
    out = w.sum(axis=1)
    p = np.where(out[:, None] > 0, w / np.where(out > 0, out, 1)[:, None], 1 / n)
    g = d * p + (1 - d) / n
    vals, vecs = scipy.linalg.eig(g.T)
    x = np.real(vecs[:, np.argmin(np.abs(vals - 1))])
    return x / x.sum()


def test_pagerank_matches_the_google_matrix_eigenvector(rng):
    n = 30
    w = (rng.random((n, n)) < 0.1).astype(float)
    np.fill_diagonal(w, 0)
    w[[3, 7]] = 0  # dangling pages
    res = pagerank(w, damping=0.85, tol=1e-13)
    assert res.converged
    np.testing.assert_allclose(res.scores, google_matrix_scores(w, 0.85), rtol=1e-10, atol=0)
    assert res.scores.sum() == pytest.approx(1.0, abs=1e-14)
    # the change contracts by at most the damping factor per iteration
    ratios = res.residual_norms[1:] / res.residual_norms[:-1]
    assert ratios.max() <= 0.85 + 1e-6


def test_pagerank_closed_forms():
    # no links at all: every page dangling, uniform scores
    np.testing.assert_allclose(pagerank(np.zeros((4, 4))).scores, 0.25, rtol=1e-14, atol=0)
    # a directed cycle: symmetric under rotation, uniform scores
    cycle = np.roll(np.eye(5), 1, axis=1)
    np.testing.assert_allclose(pagerank(cycle).scores, 0.2, rtol=1e-12, atol=0)
    # damping 0: uniform after one step
    res = pagerank(cycle + np.eye(5)[::-1], damping=0.0)
    np.testing.assert_allclose(res.scores, 0.2, rtol=1e-15, atol=0)


def test_pagerank_star_graph_closed_form():
    # pages 1..m all link to page 0, which links to nobody (dangling, spread as x0 / n). By hand,
    # with n = m + 1: x0 = d (m y + x0 / n) + (1 - d) / n and y = d x0 / n + (1 - d) / n, so
    # x0 = (1 - d)(d m + 1) / (n - d - d^2 m).
    m, d = 4, 0.85
    n = m + 1
    w = np.zeros((n, n))
    w[1:, 0] = 1
    res = pagerank(w, damping=d, tol=1e-14)
    x0 = (1 - d) * (d * m + 1) / (n - d - d * d * m)
    y = (d * x0 + 1 - d) / n
    np.testing.assert_allclose(res.scores, np.r_[x0, np.full(m, y)], rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"damping": 1.0}, r"damping must be in \[0, 1\)"), ({"tol": 0.0}, "tol must be positive")],
)
def test_pagerank_rejects_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pagerank(np.ones((3, 3)), **kwargs)


def test_pagerank_rejects_negative_links():
    with pytest.raises(ValueError, match="adjacency must be non-negative"):
        pagerank(-np.ones((3, 3)))


@pytest.mark.parametrize("function", [power_iteration, rayleigh_quotient_iteration])
def test_eigenpair_routines_reject_bad_start(function):
    with pytest.raises(ValueError, match=r"x0 must have shape \(3,\)"):
        function(np.eye(3), np.ones(2))
    with pytest.raises(ValueError, match="x0 must be nonzero"):
        function(np.eye(3), np.zeros(3))
    with pytest.raises(ValueError, match="a must be a square"):
        function(np.ones((3, 2)), np.ones(3))


def test_inverse_iteration_rejects_bad_shift():
    with pytest.raises(TypeError, match="shift must be a real number"):
        inverse_iteration(np.eye(3), 1j, np.ones(3))
    with pytest.raises(ValueError, match="maxiter must be"):
        inverse_iteration(np.eye(3), 0.5, np.ones(3), maxiter=-1)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"tol": 0.0}, ValueError, "tol must be positive"),
        ({"tol": "small"}, TypeError, "tol must be a real number"),
        ({"maxiter": -1}, ValueError, "maxiter must be"),
        ({"maxiter": 2.0}, TypeError, "maxiter must be an integer"),
    ],
)
@pytest.mark.parametrize("function", [power_iteration, rayleigh_quotient_iteration])
def test_eigenpair_routines_reject_bad_options(function, kwargs, error, message):
    with pytest.raises(error, match=message):
        function(np.eye(3), np.ones(3), **kwargs)


def test_subspace_iteration_and_pagerank_reject_bad_shapes():
    with pytest.raises(ValueError, match="tol must be positive"):
        subspace_iteration(np.eye(3), np.eye(3)[:, :2], tol=-1.0)
    with pytest.raises(ValueError, match="adjacency must be a square"):
        pagerank(np.ones((2, 3)))


# ---------------------------------------------------------------------------------------------
# Scale: the routines scale a by a power of two inside (issue 26)


ROUTINES = {
    "power": lambda a, x0, c: power_iteration(a * c, x0),
    "inverse": lambda a, x0, c: inverse_iteration(a * c, -4.6 * c, x0),
    "rayleigh": lambda a, x0, c: rayleigh_quotient_iteration(a * c, x0),
}


@pytest.mark.parametrize("c", [1e-300, 1e-160, 1e160, 1e300, 2.0**1000, 2.0**-1000])
@pytest.mark.parametrize("name", sorted(ROUTINES))
def test_eigenpair_routines_at_extreme_scales(rng, name, c):
    # before: converged=True after 0 iterations at 1e-300 (the squares in the norms underflowed),
    # relative error 2.9e-6 with converged=True at 1e-160, converged=False and a RuntimeWarning at 1e160
    lam = np.array([-5.0, 3.0, 2.0, 1.0, 0.5, 0.1])
    a = random_symmetric(lam, rng=rng)
    x0 = rng.standard_normal(6)
    reference, res = ROUTINES[name](a, x0, 1.0), ROUTINES[name](a, x0, c)
    assert reference.converged and res.converged
    assert res.iterations == reference.iterations and res.iterations > 0
    exact = w_of(a, reference.eigenvalue)
    assert abs(res.eigenvalue / c - exact) <= 1e-12 * 5
    assert sine_of_angle(res.eigenvector, reference.eigenvector) <= 1e-10
    # the reported residuals are relative: the same at every scale, and below the tolerance
    assert res.residual_norms[-1] <= 1e3 * EPS


def w_of(a: np.ndarray, estimate: float) -> float:
    """The eigenvalue of the symmetric a (LAPACK) nearest an estimate."""
    w = np.linalg.eigvalsh(a)
    return float(w[np.argmin(np.abs(w - estimate))])


@pytest.mark.parametrize("c", [1e-300, 1e160, 2.0**1000, 2.0**-1000])
def test_subspace_iteration_at_extreme_scales(rng, c):
    lam = np.array([-5.0, 3.0, 2.0, 1.0, 0.5, 0.1])
    a = random_symmetric(lam, rng=rng)
    x0 = rng.standard_normal((6, 2))
    reference, res = subspace_iteration(a, x0), subspace_iteration(a * c, x0 * c)
    assert reference.converged and res.converged and res.iterations == reference.iterations
    np.testing.assert_allclose(res.eigenvalues / c, [-5.0, 3.0], rtol=1e-12, atol=0)


def test_inverse_iteration_refuses_a_shift_beyond_the_range_of_the_scaled_matrix():
    with pytest.raises(ValueError, match="shift"):
        inverse_iteration(np.eye(3) * 1e-300, 1e300, np.ones(3))


@pytest.mark.parametrize("c", [2.0**1000, 2.0**-1000, 2.0**-1060])
def test_pagerank_is_invariant_under_scaling_of_the_links(c):
    w = np.zeros((5, 5))
    w[1:, 0] = 1
    w[0, 2] = 3
    reference = pagerank(w, tol=1e-13)
    res = pagerank(w * c, tol=1e-13)
    np.testing.assert_array_equal(res.scores, reference.scores)
    assert res.iterations == reference.iterations


def test_pagerank_of_no_pages_is_empty():
    res = pagerank(np.zeros((0, 0)))
    assert res.converged and res.scores.shape == (0,) and res.iterations == 0


def test_power_iteration_zero_matrix_is_an_exact_eigenpair():
    res = power_iteration(np.zeros((3, 3)), np.ones(3))
    assert res.converged and res.eigenvalue == 0.0 and res.iterations == 0
