"""Householder reflectors, Givens rotations and the QR factorisations built on them (src/mathguide/linalg/qr.py)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from mathguide.linalg import (
    apply_householder_q,
    apply_householder_qt,
    apply_householder_qt_blocked,
    compact_wy,
    givens_qr,
    givens_rotation,
    householder_qr,
    householder_vector,
    qr_blocked,
    qr_column_pivoting,
    random_matrix,
)

EPS64 = np.finfo(np.float64).eps
EPS32 = np.finfo(np.float32).eps


def _reflect(v, beta, x):
    return x - beta[..., None] * v * np.sum(v * x, axis=-1, keepdims=True)


@pytest.mark.parametrize("shape", [(1,), (2,), (7,), (4, 5), (2, 3, 6)])
def test_householder_maps_x_to_multiple_of_e1(rng, shape) -> None:
    x = rng.standard_normal(shape)
    v, beta, alpha = householder_vector(x)
    n = shape[-1]
    np.testing.assert_array_equal(v[..., 0], 1.0)
    hx = _reflect(v, beta, x)
    expected = np.zeros_like(x)
    expected[..., 0] = alpha
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    np.testing.assert_allclose(hx, expected, rtol=0, atol=10 * n * EPS64 * np.max(norm))
    # |alpha| = ||x|| (the reflector is orthogonal), checked against numpy's norm.
    np.testing.assert_allclose(np.abs(alpha), norm[..., 0], rtol=4 * n * EPS64, atol=0)


def test_householder_is_an_orthogonal_symmetric_reflector(rng) -> None:
    x = rng.standard_normal(6)
    v, beta, _ = householder_vector(x)
    h = np.eye(6) - beta * np.outer(v, v)
    np.testing.assert_allclose(h @ h.T, np.eye(6), rtol=0, atol=20 * EPS64)
    # beta = 2 / v^T v (a wrong beta gives a non-orthogonal H above too); H v = -v, and H fixes v-perp
    assert beta * (v @ v) == pytest.approx(2.0, rel=8 * EPS64, abs=0)
    np.testing.assert_allclose(h @ v, -v, rtol=0, atol=20 * EPS64 * np.linalg.norm(v))
    # A reflector has determinant -1 (one eigenvalue -1, the rest +1).
    assert np.isclose(np.linalg.det(h), -1.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("x1", [1.0, -1.0, 1e-3, -1e-3])
def test_householder_sign_avoids_cancellation(x1) -> None:
    # x close to a positive (or negative) multiple of e1: the naive choice v1 = x1 - sign(x1)||x||
    # cancels, this one adds. The reflected vector must still be exact to rounding.
    x = np.array([x1, 1e-9, -2e-9])
    v, beta, alpha = householder_vector(x)
    hx = _reflect(v, beta, x)
    assert alpha == pytest.approx(-np.sign(x1) * np.linalg.norm(x), rel=4 * EPS64, abs=0)
    np.testing.assert_allclose(hx[1:], 0.0, rtol=0, atol=4 * EPS64 * abs(x1))


def test_householder_trivial_and_zero_vectors() -> None:
    v, beta, alpha = householder_vector([-3.0, 0.0, 0.0])
    assert beta == 0 and alpha == -3.0
    v, beta, alpha = householder_vector(np.zeros(4))
    assert beta == 0 and alpha == 0 and np.all(np.isfinite(v))


def test_householder_does_not_overflow_or_underflow() -> None:
    for scale in (1e300, 1e-300):
        x = scale * np.array([3.0, 4.0])
        v, beta, alpha = householder_vector(x)
        assert alpha == pytest.approx(-5.0 * scale, rel=4 * EPS64, abs=0)
        hx = _reflect(v, beta, x)
        assert abs(hx[1]) <= 8 * EPS64 * scale


def test_householder_float32_and_no_mutation(rng) -> None:
    x = rng.standard_normal(5).astype(np.float32)
    copy = x.copy()
    v, beta, alpha = householder_vector(x)
    assert v.dtype == beta.dtype == alpha.dtype == np.float32
    np.testing.assert_array_equal(x, copy)
    hx = _reflect(v, beta, x)
    np.testing.assert_allclose(hx[1:], 0.0, rtol=0, atol=20 * EPS32 * np.linalg.norm(x))


@pytest.mark.parametrize("bad, error", [([], ValueError), (3.0, ValueError), ([np.nan], ValueError), ("ab", TypeError)])
def test_householder_rejects_bad_input(bad, error) -> None:
    with pytest.raises(error, match="x must"):
        householder_vector(bad)


def test_givens_zeroes_the_second_entry(rng) -> None:
    a, b = rng.standard_normal((2, 50))
    c, s, r = givens_rotation(a, b)
    np.testing.assert_allclose(c**2 + s**2, 1.0, rtol=0, atol=4 * EPS64)
    np.testing.assert_allclose(c * a + s * b, r, rtol=4 * EPS64, atol=0)
    assert np.all(np.abs(-s * a + c * b) <= 4 * EPS64 * r)
    np.testing.assert_allclose(r, np.sqrt(a**2 + b**2), rtol=4 * EPS64, atol=0)


def test_givens_edge_cases() -> None:
    assert tuple(map(float, givens_rotation(0.0, 0.0))) == (1.0, 0.0, 0.0)
    assert tuple(map(float, givens_rotation(0.0, -2.0))) == (0.0, -1.0, 2.0)
    c, s, r = givens_rotation(1e300, 1e300)
    assert np.isfinite(r) and r == pytest.approx(np.sqrt(2) * 1e300, rel=4 * EPS64, abs=0)
    with pytest.raises(ValueError, match="b must not contain NaN"):
        givens_rotation(1.0, np.nan)


# ----------------------------------------------------------------------------------------------
# QR factorisations

SHAPES = [(1, 1), (1, 4), (4, 1), (5, 5), (9, 4), (4, 9), (70, 33), (33, 70)]


def _blocked3(a, mode="reduced"):
    return qr_blocked(a, block_size=3, mode=mode)


QR_FUNCS = {"householder": householder_qr, "blocked": qr_blocked, "blocked3": _blocked3}


def _check_qr(a, q, r, eps, complete):
    m, n = a.shape
    k = m if complete else min(m, n)
    assert q.shape == (m, k) and r.shape == (k, n)
    tol = 30 * max(m, n) * eps
    np.testing.assert_allclose(q.T @ q, np.eye(k), rtol=0, atol=tol)
    np.testing.assert_array_equal(np.tril(r, -1), 0)
    np.testing.assert_allclose(q @ r, a, rtol=0, atol=tol * np.linalg.norm(a, 2))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", QR_FUNCS)
@pytest.mark.parametrize("mode", ["reduced", "complete"])
def test_qr_is_orthogonal_triangular_and_reconstructs(rng, shape, name, mode) -> None:
    a = rng.standard_normal(shape)
    q, r = QR_FUNCS[name](a, mode=mode)
    _check_qr(a, q, r, EPS64, mode == "complete")
    # R agrees with LAPACK up to the signs of its rows (the QR factorisation is unique up to signs)
    r_ref = scipy.linalg.qr(a, mode="r")[0][: r.shape[0]]
    np.testing.assert_allclose(np.abs(r), np.abs(r_ref), rtol=0, atol=100 * max(shape) * EPS64 * np.abs(a).max())


@pytest.mark.parametrize("name", QR_FUNCS)
def test_qr_float32(rng, name) -> None:
    a = rng.standard_normal((40, 25)).astype(np.float32)
    q, r = QR_FUNCS[name](a)
    assert q.dtype == r.dtype == np.float32
    _check_qr(a.astype(np.float64), q.astype(np.float64), r.astype(np.float64), EPS32, False)


def test_givens_qr_matches_householder_and_skips_zeros(rng) -> None:
    for shape in SHAPES:
        a = rng.standard_normal(shape)
        q, r = givens_qr(a)
        _check_qr(a, q, r, EPS64, True)
    # upper Hessenberg: one rotation per column; with a counting spy on the kernel
    import mathguide.linalg.qr as qr_module

    h = np.triu(rng.standard_normal((8, 8)), -1)
    calls = []
    original = qr_module.givens_rotation
    qr_module.givens_rotation = lambda x, y: calls.append(1) or original(x, y)
    try:
        q, r = givens_qr(h)
    finally:
        qr_module.givens_rotation = original
    assert len(calls) == 7
    _check_qr(h, q, r, EPS64, True)


@pytest.mark.parametrize("shape", [(9, 4), (4, 9), (30, 30)])
def test_apply_q_and_qt_match_the_formed_q(rng, shape) -> None:
    a = rng.standard_normal(shape)
    factors = householder_qr(a, mode="factored")
    q_full = scipy.linalg.qr(a)[0]  # LAPACK's Q: same reflectors up to column signs
    q_ours = householder_qr(a, mode="complete").q
    k = min(shape)
    np.testing.assert_allclose(np.abs(q_ours[:, :k]), np.abs(q_full[:, :k]), rtol=0, atol=1e-12)
    c = rng.standard_normal((shape[0], 3))
    np.testing.assert_allclose(apply_householder_q(factors, c), q_ours @ c, rtol=0, atol=1e-12)
    np.testing.assert_allclose(apply_householder_qt(factors, c), q_ours.T @ c, rtol=0, atol=1e-12)
    np.testing.assert_allclose(apply_householder_qt_blocked(factors, c, block_size=2), q_ours.T @ c,
                               rtol=0, atol=1e-12)
    # one vector, and Q^T Q c = c
    v = c[:, 0]
    np.testing.assert_allclose(apply_householder_qt(factors, apply_householder_q(factors, v)), v,
                               rtol=0, atol=1e-13)


def test_compact_wy_equals_product_of_reflectors(rng) -> None:
    m, b = 12, 5
    v = np.tril(rng.standard_normal((m, b)), -1)
    v[np.arange(b), np.arange(b)] = 1
    beta = 2 / np.sum(v**2, axis=0)
    product = np.eye(m)
    for j in range(b):
        product = product @ (np.eye(m) - beta[j] * np.outer(v[:, j], v[:, j]))
    t = compact_wy(v, beta)
    np.testing.assert_array_equal(np.tril(t, -1), 0)
    np.testing.assert_allclose(np.eye(m) - v @ t @ v.T, product, rtol=0, atol=50 * EPS64)
    with pytest.raises(ValueError, match="beta must have shape"):
        compact_wy(v, beta[:2])


def test_qr_backward_error_on_graded_and_ill_conditioned_matrices(rng) -> None:
    # row and column grading over 12 orders of magnitude: the backward error stays at rounding level
    a = random_matrix(60, 30, condition=1e12, rng=rng) * np.logspace(0, -12, 30)
    for func in (householder_qr, qr_blocked, givens_qr):
        q, r = func(a)
        column_errors = np.linalg.norm(q @ r - a, axis=0) / np.linalg.norm(a, axis=0)
        assert column_errors.max() <= 60 * 30 * EPS64
        np.testing.assert_allclose(q.T @ q, np.eye(q.shape[1]), rtol=0, atol=60 * 30 * EPS64)


def test_qr_rank_deficient_matrix(rng) -> None:
    a = random_matrix(20, 10, singular_values=[1, 1, 1, 0.5, 0.1, 0, 0, 0, 0, 0], rng=rng)
    q, r = qr_blocked(a)
    _check_qr(a, q, r, EPS64, False)


def test_qr_does_not_mutate_input(rng) -> None:
    a = rng.standard_normal((8, 5))
    copy = a.copy()
    for func in (householder_qr, qr_blocked, givens_qr, qr_column_pivoting):
        func(a)
    np.testing.assert_array_equal(a, copy)


def test_qr_modes(rng) -> None:
    a = rng.standard_normal((7, 4))
    r = householder_qr(a, mode="r")
    np.testing.assert_allclose(r, householder_qr(a).r, rtol=0, atol=0)
    np.testing.assert_allclose(qr_blocked(a, mode="r"), r, rtol=0, atol=1e-14)
    factors = qr_blocked(a, mode="factored")
    assert factors.v.shape == (7, 4) and factors.beta.shape == (4,)


@pytest.mark.parametrize("shape", [(30, 12), (12, 30), (15, 15)])
def test_column_pivoting_matches_lapack(rng, shape) -> None:
    a = rng.standard_normal(shape)
    q, r, perm, rank = qr_column_pivoting(a)
    _, r_ref, perm_ref = scipy.linalg.qr(a, pivoting=True, mode="economic")
    np.testing.assert_array_equal(perm, perm_ref)
    np.testing.assert_allclose(np.abs(r), np.abs(r_ref), rtol=0, atol=1e-12)
    np.testing.assert_allclose(q @ r, a[:, perm], rtol=0, atol=1e-12)
    assert rank == min(shape)


def test_column_pivoting_reveals_rank(rng) -> None:
    sigma = [1.0, 0.5, 0.2, 1e-3, 1e-13, 1e-14, 0.0, 0.0]
    a = random_matrix(40, 8, singular_values=sigma, rng=rng)
    q, r, perm, rank = qr_column_pivoting(a)
    assert rank == 6  # the default threshold max(m, n) eps ~ 9e-15 keeps 1e-13 and 1e-14
    assert qr_column_pivoting(a, rtol=1e-10).rank == 4
    diag = np.abs(np.diagonal(r))
    assert np.all(diag[:-1] >= diag[1:])
    # the trailing block is as small as the neglected singular values (up to a modest factor)
    assert np.linalg.norm(r[4:, 4:], 2) <= 10 * 1e-13
    assert qr_column_pivoting(a, rtol=1e-2).rank == 3
    assert qr_column_pivoting(np.zeros((3, 2))).rank == 0


def test_column_pivoting_norm_downdating_is_safeguarded() -> None:
    # columns whose trailing norms shrink by cancellation (the example class of Drmac-Bujanovic):
    # without the recomputation the pivot order goes wrong and |r_jj| stops decreasing
    n = 30
    a = np.triu(np.ones((n, n))) * np.logspace(0, -15, n)[:, None]
    _, r, perm, _ = qr_column_pivoting(a)
    diag = np.abs(np.diagonal(r))
    assert np.all(diag[:-1] >= diag[1:] * (1 - 1e-8))
    for j in range(n - 1):  # |r_jj| dominates the norms of the trailing columns
        assert diag[j] >= np.linalg.norm(r[j:, j + 1 :], axis=0).max() * (1 - 1e-8)


@pytest.mark.parametrize("func", [householder_qr, qr_blocked, givens_qr, qr_column_pivoting])
def test_qr_rejects_bad_input(func) -> None:
    with pytest.raises(ValueError, match="a must be a 2-D array"):
        func(np.ones(3))
    with pytest.raises(ValueError, match="a must not contain NaN"):
        func(np.array([[1.0, np.nan]]))
    with pytest.raises(TypeError, match="a must be array-like"):
        func("abc")


def test_qr_rejects_bad_options(rng) -> None:
    a = rng.standard_normal((4, 3))
    with pytest.raises(ValueError, match="mode must be one of"):
        householder_qr(a, mode="economic")
    with pytest.raises(ValueError, match="block_size must be a positive integer"):
        qr_blocked(a, block_size=0)
    with pytest.raises(TypeError, match="block_size must be a positive integer"):
        qr_blocked(a, block_size=2.0)
    with pytest.raises(ValueError, match="rtol must be non-negative"):
        qr_column_pivoting(a, rtol=-1.0)
    factors = householder_qr(a, mode="factored")
    with pytest.raises(ValueError, match=r"c must have shape \(4,\)"):
        apply_householder_q(factors, np.ones(3))
    with pytest.raises(TypeError, match="factors must be a HouseholderQR"):
        apply_householder_qt((1, 2, 3), np.ones(4))


@pytest.mark.parametrize("scale", [1e-170, 1e170])
@pytest.mark.parametrize("func", [householder_qr, qr_blocked])
def test_qr_of_tiny_and_huge_matrices(rng, scale, func) -> None:
    # x @ x under- or overflows at these scales: the panel must fall back to the scaled reflector
    a = rng.standard_normal((12, 5))
    r = func(a * scale, mode="r")
    r_ref = scipy.linalg.qr(a, mode="r")[0][:5]
    assert np.all(np.isfinite(r))
    np.testing.assert_allclose(np.abs(r) / scale, np.abs(r_ref), rtol=0, atol=100 * EPS64 * np.abs(r_ref).max())


def test_cartan_dieudonne_at_most_m_reflectors(rng) -> None:
    # qr.md, exercise on reflector eigenvalues: with alpha_j = +||x|| every orthogonal Q of order m is
    # a product of at most m reflectors, m - 1 for the columns and one for a final -1
    for m in (1, 2, 5, 9):
        q = scipy.linalg.qr(rng.standard_normal((m, m)))[0]
        work, vectors = q.copy(), []
        for j in range(m - 1):
            x = work[j:, j]
            target = np.zeros_like(x)
            target[0] = np.linalg.norm(x)
            v = x - target
            if np.linalg.norm(v) <= 1e-12:
                continue  # already e_j
            v = np.concatenate([np.zeros(j), v])
            work -= np.outer(2 * v / (v @ v), v @ work)
            vectors.append(v)
        np.testing.assert_allclose(np.diagonal(work)[:-1], 1.0, rtol=0, atol=1e-12)
        np.testing.assert_allclose(np.abs(work), np.eye(m), rtol=0, atol=1e-12)
        if work[-1, -1] < 0:
            vectors.append(np.eye(m)[-1])
        assert len(vectors) <= m
        product = np.eye(m)
        for v in vectors:
            product = product @ (np.eye(m) - 2 * np.outer(v, v) / (v @ v))
        np.testing.assert_allclose(product, q, rtol=0, atol=1e-12)


@pytest.mark.parametrize("c", [1e160, 1e300, 1e-300, 2.0**1000, 2.0**-1000])
def test_column_pivoting_is_scale_safe(rng, c) -> None:
    # issue 26: the column norms overflowed (1e160) or underflowed (1e-300); ||R22|| was 9.0
    a = rng.standard_normal((60, 20)) @ rng.standard_normal((20, 30))
    q0, r0, perm0, rank0 = qr_column_pivoting(a)
    q, r, perm, rank = qr_column_pivoting(a * c)
    assert rank == rank0 == 20
    # the leading part is determined by the data; the trailing one (rank 20) by rounding
    np.testing.assert_array_equal(perm[:20], perm0[:20])
    np.testing.assert_allclose(q[:, :20], q0[:, :20], rtol=0, atol=1e-12)
    np.testing.assert_allclose(r[:20, :20] / c, r0[:20, :20], rtol=0, atol=1e-12 * np.abs(r0).max())
    diag = np.abs(np.diagonal(r)) / c
    assert np.all(np.diff(diag[:21]) <= 0)  # non-increasing into the negligible block
    assert np.linalg.norm(r[20:, 20:] / c) <= 1e3 * EPS64 * np.abs(a).max() * 60


def test_givens_qr_cost_counts_the_q_it_forms(rng, monkeypatch) -> None:
    # qr.py cost note: 3mn^2 - n^3 flops for R, plus about 6m^2 n - 3mn^2 for the m-by-m Q (6 flops per
    # entry pair of the two rotated rows); counted by wrapping the rotation kernel
    import mathguide.linalg.qr as qr_module

    flops = {"r": 0, "q": 0}
    plain = qr_module._apply_rotation
    m, n = 60, 15

    def counting(x, i, k, c, s):
        flops["q" if x.shape == (m, m) else "r"] += 6 * x.shape[1]
        plain(x, i, k, c, s)

    monkeypatch.setattr(qr_module, "_apply_rotation", counting)
    q, r = givens_qr(rng.standard_normal((m, n)))
    np.testing.assert_allclose(q.T @ q, np.eye(m), rtol=0, atol=100 * EPS64)
    assert flops["r"] == pytest.approx(3 * m * n**2 - n**3, rel=0.1)
    assert flops["q"] == pytest.approx(6 * m**2 * n - 3 * m * n**2, rel=0.1)
