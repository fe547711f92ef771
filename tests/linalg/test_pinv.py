"""Tests of mathguide.linalg.pinv: the pseudo-inverse by three routes, Penrose residuals, min-norm least squares."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.linalg import hadamard

from mathguide.linalg.matrices import random_matrix
from mathguide.linalg.pinv import (
    PenroseResiduals,
    lstsq_min_norm,
    penrose_residuals,
    pinv_eigh,
    pinv_normal_equations,
    pinv_svd,
    pinv_tikhonov,
)

U_ROUND = np.finfo(np.float64).eps / 2  # unit roundoff u = 2^-53
EPS = np.finfo(np.float64).eps



def _random_rank(rng: np.random.Generator, shape: tuple[int, ...], rank: int, cond: float = 10.0) -> np.ndarray:
    """Stack of matrices of exact rank ``rank`` (up to rounding) with singular values in [1/cond, 1]."""
    *batch, m, n = shape
    if min(m, n) == 0:  # random_matrix builds non-empty matrices only
        return np.zeros(shape)
    s = np.geomspace(1.0, 1.0 / cond, rank) if rank else np.zeros(0)
    return random_matrix(m, n, singular_values=np.r_[s, np.zeros(min(m, n) - rank)], batch=tuple(batch), rng=rng)


def _exact_pair(rng: np.random.Generator, m: int, n: int, exponents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A = U diag(2^-e) V^T with exactly orthonormal (signed Hadamard) U, V: A and A^+ are exact in float64."""
    u = hadamard(m)[rng.permutation(m)][:, : len(exponents)] / np.sqrt(m) * rng.choice([-1.0, 1.0], size=(m, 1))
    v = hadamard(n)[rng.permutation(n)][:, : len(exponents)] / np.sqrt(n) * rng.choice([-1.0, 1.0], size=(n, 1))
    s = 2.0 ** (-np.asarray(exponents, dtype=float))
    return (u * s) @ v.T, (v / s) @ u.T


SHAPES = [(1, 1), (1, 5), (5, 1), (4, 4), (7, 3), (3, 7), (2, 6, 4), (3, 2, 4, 5)]
EMPTY_SHAPES = [(0, 3), (3, 0), (0, 0), (2, 0, 3), (2, 3, 0)]


# ---------------------------------------------------------------- pinv_svd


@pytest.mark.parametrize("shape", SHAPES)
def test_pinv_svd_matches_numpy(rng, shape):
    a = rng.standard_normal(shape)
    m, n = shape[-2:]
    # Both are V Sigma^+ U^T of backward-stable SVDs: they differ by ~ kappa * u * size.
    kappa = np.linalg.cond(a).max()
    np.testing.assert_allclose(
        pinv_svd(a),
        np.linalg.pinv(a, rtol=None),
        rtol=0,
        atol=50 * max(m, n) * EPS * kappa * np.abs(np.linalg.pinv(a)).max(),
    )


@pytest.mark.parametrize(
    "shape, rank", [((6, 4), 2), ((4, 6), 3), ((8, 8), 5), ((3, 5, 7), 2), ((10, 1), 1), ((1, 10), 0)]
)
def test_penrose_conditions_on_rank_deficient(rng, shape, rank):
    a = _random_rank(rng, shape, rank, cond=10.0)
    x = pinv_svd(a)
    res = penrose_residuals(a, x)
    # Residuals of a backward-stable SVD route: a small multiple of kappa * size * u (kappa = 10 here).
    tol = 10 * 10.0 * max(shape[-2:]) * EPS
    for name, value in res._asdict().items():
        assert np.all(np.asarray(value) <= tol), (name, value)
    # and x agrees with NumPy's pseudo-inverse with the same cutoff
    np.testing.assert_allclose(x, np.linalg.pinv(a, rtol=None), rtol=0, atol=100 * max(shape[-2:]) * EPS * 10)


@pytest.mark.parametrize("shape", EMPTY_SHAPES)
def test_empty_matrices(shape):
    a = np.zeros(shape)
    expected_shape = (*shape[:-2], shape[-1], shape[-2])
    for x in (pinv_svd(a), pinv_tikhonov(a, 1e-3), np.linalg.pinv(a)):
        assert x.shape == expected_shape
    res = penrose_residuals(a, pinv_svd(a))
    assert all(np.all(np.asarray(r) == 0) for r in res)
    assert lstsq_min_norm(a, np.zeros(shape[-2])).shape == (*shape[:-2], shape[-1])


def test_normal_equations_on_empty_full_rank_shapes():
    # an m x 0 matrix has full column rank 0 = n; a 0 x n has full row rank 0 = m
    assert pinv_normal_equations(np.zeros((3, 0))).shape == (0, 3)
    assert pinv_normal_equations(np.zeros((0, 3))).shape == (3, 0)


def test_zero_matrix_pseudo_inverse_is_zero_transpose_shape():
    a = np.zeros((3, 5))
    np.testing.assert_array_equal(pinv_svd(a), np.zeros((5, 3)))


def test_rtol_cutoff_semantics(rng):
    # singular values 1, 1e-6, 1e-12: rtol decides which are inverted
    qu = np.linalg.qr(rng.standard_normal((5, 3))).Q
    qv = np.linalg.qr(rng.standard_normal((4, 3))).Q
    s = np.array([1.0, 1e-6, 1e-12])
    a = (qu * s) @ qv.T
    for rtol, kept in [(1e-3, 1), (1e-9, 2), (1e-14, 3)]:
        expected = (qv[:, :kept] / s[:kept]) @ qu[:, :kept].T
        # a is rounded when formed: both results are accurate to ~ kappa_kept * u relative
        atol = np.abs(expected).max() * 100 * (1 / s[kept - 1]) * EPS
        np.testing.assert_allclose(pinv_svd(a, rtol=rtol), expected, rtol=0, atol=atol)
        np.testing.assert_allclose(pinv_svd(a, rtol=rtol), np.linalg.pinv(a, rtol=rtol), rtol=0, atol=atol)
    # the default rtol = max(m, n) * eps keeps 1e-12 (> 5 * 2.2e-16)
    assert np.abs(pinv_svd(a)).max() > 1e11


def test_rtol_broadcasts_over_batch(rng):
    a = np.stack([np.diag([1.0, 1e-4]), np.diag([1.0, 1e-4])])
    x = pinv_svd(a, rtol=np.array([1e-3, 1e-5]))
    np.testing.assert_allclose(x[0], np.diag([1.0, 0.0]), rtol=4 * EPS, atol=0)
    np.testing.assert_allclose(x[1], np.diag([1.0, 1e4]), rtol=4 * EPS, atol=0)


def test_pinv_svd_accuracy_on_exact_graded_matrix(rng):
    # A and A^+ exact in float64; kappa = 2^20: the SVD route keeps error ~ kappa * u
    a, x_exact = _exact_pair(rng, 16, 8, np.linspace(0, 20, 8).round())
    kappa = 2.0**20
    err = np.linalg.norm(pinv_svd(a) - x_exact, 2) / np.linalg.norm(x_exact, 2)
    assert err <= 10 * 16 * kappa * U_ROUND


# ---------------------------------------------------------------- normal equations


@pytest.mark.parametrize("shape", [(1, 1), (5, 1), (1, 5), (6, 4), (4, 6), (3, 7, 5)])
def test_normal_equations_full_rank_matches_svd(rng, shape):
    a = rng.standard_normal(shape)
    kappa = np.linalg.cond(a).max()
    x = pinv_normal_equations(a)
    ref = np.linalg.pinv(a)
    # error grows like kappa^2 * u
    np.testing.assert_allclose(x, ref, rtol=0, atol=50 * max(shape[-2:]) * kappa**2 * EPS * np.abs(ref).max())


def test_normal_equations_left_and_right_inverses(rng):
    tall = rng.standard_normal((7, 3))
    wide = tall.T
    atol = 100 * EPS * np.linalg.cond(tall) ** 2
    np.testing.assert_allclose(pinv_normal_equations(tall) @ tall, np.eye(3), atol=atol, rtol=0)
    np.testing.assert_allclose(wide @ pinv_normal_equations(wide), np.eye(3), atol=atol, rtol=0)


def test_normal_equations_error_grows_like_kappa_squared(rng):
    # On exact graded matrices the normal equations lose ~ kappa^2 u, the SVD ~ kappa u.
    a, x_exact = _exact_pair(rng, 16, 8, np.linspace(0, 20, 8).round())
    kappa = 2.0**20
    err_ne = np.linalg.norm(pinv_normal_equations(a) - x_exact, 2) / np.linalg.norm(x_exact, 2)
    err_svd = np.linalg.norm(pinv_svd(a) - x_exact, 2) / np.linalg.norm(x_exact, 2)
    assert err_ne <= 10 * 16 * kappa**2 * U_ROUND
    assert err_ne > 100 * err_svd  # the kappa-squared loss is visible: kappa^2 u ~ 1e-4 vs kappa u ~ 1e-10


@pytest.mark.parametrize("c", [2.0**600, 2.0**-600, 1e200, 1e-200])
def test_huge_and_tiny_entries(rng, c):
    # (cA)^+ = A^+ / c; the Gram matrix of cA would overflow (c = 2^600) or underflow (c = 2^-600)
    # without the power-of-two rescaling.
    a = rng.standard_normal((6, 4))
    x = np.linalg.pinv(a)  # independent oracle, on the unscaled matrix
    kappa = np.linalg.cond(a)
    tol_svd = 50 * 6 * kappa * EPS
    tol_ne = 50 * 6 * kappa**2 * EPS
    np.testing.assert_allclose(pinv_svd(c * a) * c, x, rtol=0, atol=tol_svd * np.abs(x).max())
    np.testing.assert_allclose(pinv_normal_equations(c * a) * c, x, rtol=0, atol=tol_ne * np.abs(x).max())
    np.testing.assert_allclose(pinv_normal_equations(c * a.T) * c, x.T, rtol=0, atol=tol_ne * np.abs(x).max())
    if c > 1:  # eps negligible next to sigma_min^2 c^2: the regularised formula is A^+ to rounding
        np.testing.assert_allclose(pinv_tikhonov(c * a, 1.0) * c, x, rtol=0, atol=tol_ne * np.abs(x).max())
    res = penrose_residuals(c * a, pinv_svd(c * a))
    assert max(float(r) for r in res) <= tol_svd


def test_normal_equations_singular_raises():
    with pytest.raises(np.linalg.LinAlgError):
        pinv_normal_equations(np.zeros((4, 2)))


# ---------------------------------------------------------------- Tikhonov


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (2, 5, 3)])
def test_tikhonov_error_proportional_to_eps_full_rank(rng, shape):
    a = rng.standard_normal(shape)
    s = np.linalg.svd(a, compute_uv=False)
    x = np.linalg.pinv(a)
    for eps in (1e-4, 1e-6):
        # exact: sigma/(sigma^2+eps) - 1/sigma = -eps / (sigma (sigma^2+eps)); the largest is at sigma_min
        predicted = eps / (s[..., -1] * (s[..., -1] ** 2 + eps))
        err = np.linalg.norm(pinv_tikhonov(a, eps) - x, ord=2, axis=(-2, -1))
        np.testing.assert_allclose(err, predicted, rtol=1e-3, atol=0)


def test_tikhonov_matches_svd_formula_rank_deficient(rng):
    a = _random_rank(rng, (8, 6), 3)
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    eps = 1e-3
    # zero singular values map to 0/(0 + eps) = 0 exactly: the formula V diag(s/(s^2+eps)) U^T
    expected = (vt.T * (s / (s**2 + eps))) @ u.T
    # the regularised Gram matrix has condition number <= (sigma_1^2 + eps) / eps = (1 + eps) / eps
    atol = 10 * 8 * (1 + eps) / eps * EPS * np.abs(expected).max()
    np.testing.assert_allclose(pinv_tikhonov(a, eps), expected, rtol=0, atol=atol)
    # and it converges to A^+ as eps -> 0, at rate eps / sigma_r^3
    x = pinv_svd(a)
    for eps in (1e-5, 1e-6):
        err = np.linalg.norm(pinv_tikhonov(a, eps) - x, 2)
        np.testing.assert_allclose(err, eps / (s[2] * (s[2] ** 2 + eps)), rtol=1e-2, atol=0)


@pytest.mark.parametrize("eps", [0.0, -1.0, np.inf, np.nan])
def test_tikhonov_bad_eps(eps):
    with pytest.raises(ValueError, match="eps"):
        pinv_tikhonov(np.eye(2), eps)


def test_tikhonov_eps_type():
    with pytest.raises(TypeError, match="eps"):
        pinv_tikhonov(np.eye(2), "1e-3")
    with pytest.raises(TypeError, match="eps"):
        pinv_tikhonov(np.eye(2), True)


# ---------------------------------------------------------------- lstsq_min_norm


@pytest.mark.parametrize("shape, rank", [((8, 5), 5), ((8, 5), 3), ((5, 8), 5), ((5, 8), 2), ((1, 4), 1), ((4, 1), 1)])
def test_lstsq_min_norm_matches_numpy(rng, shape, rank):
    a = _random_rank(rng, shape, rank)
    b = rng.standard_normal(shape[0])
    x = lstsq_min_norm(a, b)
    ref = np.linalg.lstsq(a, b, rcond=None)[0]
    np.testing.assert_allclose(x, ref, rtol=0, atol=100 * max(shape) * 10 * EPS * np.linalg.norm(ref))
    # several right-hand sides at once
    bb = rng.standard_normal((shape[0], 3))
    np.testing.assert_allclose(
        lstsq_min_norm(a, bb),
        np.linalg.lstsq(a, bb, rcond=None)[0],
        rtol=0,
        atol=1e3 * max(shape) * EPS * np.abs(bb).max(),
    )


def test_lstsq_min_norm_is_minimum_norm(rng):
    a = _random_rank(rng, (6, 8), 4)
    b = rng.standard_normal(6)
    x = lstsq_min_norm(a, b)
    # x lies in range(A^T) (orthogonal to the null space) ...
    null = np.linalg.svd(a)[2][4:].T
    np.testing.assert_allclose(null.T @ x, 0, atol=100 * EPS * np.linalg.norm(x), rtol=0)
    # ... so adding any null-space vector keeps the residual and increases the norm
    z = null @ rng.standard_normal(4)
    np.testing.assert_allclose(np.linalg.norm(a @ (x + z) - b), np.linalg.norm(a @ x - b), rtol=1e-12, atol=0)
    assert np.linalg.norm(x + z) > np.linalg.norm(x)


def test_lstsq_min_norm_batched(rng):
    a = rng.standard_normal((4, 6, 3))
    b = rng.standard_normal((4, 6, 2))
    x = lstsq_min_norm(a, b)
    for i in range(4):
        np.testing.assert_allclose(x[i], np.linalg.lstsq(a[i], b[i], rcond=None)[0], rtol=0, atol=1e-12)


def test_lstsq_bad_shapes():
    with pytest.raises(ValueError, match="b must have shape"):
        lstsq_min_norm(np.eye(3), np.ones(4))
    with pytest.raises(ValueError, match="b must have shape"):
        lstsq_min_norm(np.eye(3), np.ones((4, 2)))


# ---------------------------------------------------------------- penrose_residuals


def test_penrose_residuals_detect_a_wrong_inverse(rng):
    a = rng.standard_normal((5, 3))
    good = penrose_residuals(a, pinv_svd(a))
    bad = penrose_residuals(a, pinv_svd(a) + 1e-3 * rng.standard_normal((3, 5)))
    assert isinstance(good, PenroseResiduals)
    assert max(good) < 1e-14
    assert min(bad) > 1e-6


def test_penrose_residuals_generalized_inverse_fails_symmetry():
    # X = [1 1] is a {1,2}-inverse of A = [[1],[0]] ... check which conditions it violates
    a = np.array([[1.0], [0.0]])
    x = np.array([[1.0, 1.0]])
    res = penrose_residuals(a, x)
    assert res.axa == 0 and res.xax == 0 and res.xa_symmetric == 0
    # A X = [[1, 1], [0, 0]] is not symmetric: ||AX^T - AX||_F / ||AX||_F = sqrt(2)/sqrt(2) = 1
    np.testing.assert_allclose(res.ax_symmetric, 1.0, rtol=4 * EPS, atol=0)


def test_penrose_residuals_shape_mismatch():
    with pytest.raises(ValueError, match="x must have shape"):
        penrose_residuals(np.ones((3, 2)), np.ones((3, 2)))


# ---------------------------------------------------------------- validation, purity


@pytest.mark.parametrize("fn", [pinv_svd, pinv_normal_equations, lambda a: pinv_tikhonov(a, 1e-3)])
def test_bad_input(fn):
    with pytest.raises(ValueError, match="a must not contain NaN"):
        fn(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="a must be finite"):
        fn(np.array([[1.0, np.inf]]))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        fn(np.ones(3))
    with pytest.raises(TypeError, match="a must be array-like"):
        fn(np.array([[1 + 1j]]))


def test_bad_rtol():
    with pytest.raises(ValueError, match="rtol must be non-negative"):
        pinv_svd(np.eye(2), rtol=-1.0)
    with pytest.raises(ValueError, match="rtol must not contain NaN"):
        pinv_svd(np.eye(2), rtol=np.nan)


def test_inputs_not_mutated_and_int_input(rng):
    a = rng.standard_normal((5, 3))
    b = rng.standard_normal(5)
    a0, b0 = a.copy(), b.copy()
    pinv_svd(a), pinv_tikhonov(a, 1e-2), pinv_normal_equations(a), lstsq_min_norm(a, b), penrose_residuals(a, a.T)
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)
    np.testing.assert_allclose(pinv_svd(np.array([[2, 0], [0, 4]])), np.diag([0.5, 0.25]), rtol=4 * EPS, atol=0)


def test_float32_keeps_precision(rng):
    a = rng.standard_normal((6, 4)).astype(np.float32)
    x = pinv_svd(a)
    assert x.dtype == np.float32
    np.testing.assert_allclose(x, np.linalg.pinv(a.astype(np.float64)), rtol=0, atol=1e3 * np.finfo(np.float32).eps)


# ---------------------------------------------------------------- properties


# Entries 0 or of magnitude in [1e-3, 100]: far from underflow, where relative precision is lost.
entries = st.one_of(st.just(0.0), st.floats(1e-3, 100), st.floats(-100, -1e-3))
matrices = hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6), elements=entries)


def _kept_condition(a: np.ndarray, rtol: float) -> tuple[int, float]:
    """Number of singular values above rtol * sigma_1, and their condition number."""
    s = np.linalg.svd(a, compute_uv=False)
    kept = s[s > rtol * s[0]] if s[0] > 0 else s[:0]
    return kept.size, (kept[0] / kept[-1] if kept.size else 1.0)


# A cutoff far above rounding level (1e-8) so that a computed "zero" singular value (~ u sigma_1) is
# never kept; on the kept part kappa <= 1e8 and the laws hold to ~ size * kappa * u.
PROPERTY_RTOL = 1e-8


@given(matrices)
def test_property_projections_and_transpose(a):
    x = pinv_svd(a, rtol=PROPERTY_RTOL)
    rank, kappa = _kept_condition(a, PROPERTY_RTOL)
    tol = 100 * max(a.shape) * kappa * EPS
    # A A^+ and A^+ A are orthogonal projections: symmetric, idempotent, trace = rank
    for p in (a @ x, x @ a):
        np.testing.assert_allclose(p, p.T, rtol=0, atol=tol)
        np.testing.assert_allclose(p @ p, p, rtol=0, atol=tol)
        np.testing.assert_allclose(np.trace(p), rank, rtol=0, atol=tol * max(a.shape))
    # (A^T)^+ = (A^+)^T
    scale = max(np.abs(x).max(), np.finfo(float).tiny)
    np.testing.assert_allclose(pinv_svd(a.T, rtol=PROPERTY_RTOL), x.T, rtol=0, atol=tol * scale)


@given(matrices, st.integers(-20, 20))
def test_property_scaling_by_powers_of_two(a, j):
    # (c A)^+ = A^+ / c; c = 2^j scales A exactly, so only the SVD's own rounding differs
    c = 2.0**j
    x = pinv_svd(a, rtol=PROPERTY_RTOL)
    _, kappa = _kept_condition(a, PROPERTY_RTOL)
    scale = max(np.abs(x).max(), np.finfo(float).tiny)
    atol = 100 * max(a.shape) * kappa * EPS * scale
    np.testing.assert_allclose(pinv_svd(c * a, rtol=PROPERTY_RTOL) * c, x, rtol=0, atol=atol)


# ---------------------------------------------------------------- pinv_eigh


@pytest.mark.parametrize("shape", SHAPES)
def test_pinv_eigh_matches_numpy(rng, shape):
    a = _random_rank(rng, shape, min(shape[-2:]), cond=10.0)
    np.testing.assert_allclose(pinv_eigh(a), np.linalg.pinv(a), rtol=0, atol=1e-12)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6)])
def test_pinv_eigh_rank_deficient_and_scaled(rng, shape):
    a = _random_rank(rng, shape, 2, cond=10.0)
    for scale in (1e-150, 1.0, 1e150):
        x = pinv_eigh(scale * a, rtol=1e-6)
        expected = np.linalg.pinv(scale * a, rtol=1e-6)
        np.testing.assert_allclose(x, expected, rtol=0, atol=1e-10 * np.abs(expected).max())


def test_pinv_eigh_error_grows_like_kappa_squared(rng):
    """Forming the Gram matrix squares the condition number: slope 2, against 1 for the SVD."""
    kappas, errors = [], []
    for lk in range(3, 22, 3):
        a, x = _exact_pair(rng, 32, 8, np.round(np.linspace(0, lk, 8)))
        kappas.append(2.0**lk)
        errors.append(np.linalg.norm(pinv_eigh(a) - x, 2) / np.linalg.norm(x, 2))
    slope = np.polyfit(np.log(kappas), np.log(errors), 1)[0]
    assert 1.5 < slope < 2.5
    assert errors[-1] > 100 * kappas[-1] * U_ROUND  # far worse than the SVD's kappa u


@pytest.mark.parametrize("shape", EMPTY_SHAPES)
def test_pinv_eigh_empty(shape):
    a = np.zeros(shape)
    assert pinv_eigh(a).shape == (*shape[:-2], shape[-1], shape[-2])


def test_pinv_eigh_rejects_bad_input():
    with pytest.raises(ValueError):
        pinv_eigh(np.array([1.0, 2.0]))
    with pytest.raises(ValueError):
        pinv_eigh(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="rtol"):
        pinv_eigh(np.eye(2), rtol=-1.0)


def test_pinv_eigh_default_cutoff_drops_rounding_noise(rng):
    """Rank 2 in a 6 x 4 matrix: the zero singular values come out of the Gram matrix as noise
    of size about sqrt(eps); the default cutoff drops them, as pinv_svd drops its own."""
    a = _random_rank(rng, (6, 4), 2, cond=10.0)
    np.testing.assert_allclose(pinv_eigh(a), pinv_svd(a), rtol=0, atol=1e-10)
