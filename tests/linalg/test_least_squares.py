"""Least squares by QR, normal equations and SVD; weighted, constrained, updating (linalg/least_squares.py)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from mathguide.linalg import (
    RankDeficientError,
    householder_qr,
    lstsq,
    lstsq_equality_constrained,
    lstsq_weighted,
    qr_update_append_row,
    qr_update_delete_row,
    random_matrix,
)

EPS64 = np.finfo(np.float64).eps
EPS32 = np.finfo(np.float32).eps
METHODS = ["qr", "normal", "svd"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape", [(1, 1), (6, 6), (30, 7), (200, 40)])
@pytest.mark.parametrize("rhs", [(), (3,)])
def test_lstsq_matches_scipy_well_conditioned(rng, method, shape, rhs) -> None:
    a = random_matrix(*shape, condition=10.0, rng=rng)
    b = rng.standard_normal((shape[0], *rhs))
    x = lstsq(a, b, method=method)
    reference = scipy.linalg.lstsq(a, b)[0]
    assert x.shape == reference.shape
    np.testing.assert_allclose(x, reference, rtol=0, atol=1e3 * EPS64 * max(1.0, np.abs(reference).max()))


@pytest.mark.parametrize("method", ["qr", "svd"])
def test_lstsq_wide_gives_minimum_norm_solution(rng, method) -> None:
    a = rng.standard_normal((5, 12))
    b = rng.standard_normal((5, 2))
    x = lstsq(a, b, method=method)
    np.testing.assert_allclose(a @ x, b, rtol=0, atol=1e-12)  # consistent system
    np.testing.assert_allclose(x, np.linalg.pinv(a) @ b, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("kappa", "residual"),
                         [(1e4, 0.0), (1e4, 1e-3), (1e4, 1.0), (1e8, 0.0), (1e8, 1e-10)])
def test_lstsq_ill_conditioned_errors_follow_wedin(rng, kappa, residual) -> None:
    # x_true known; b = A x + r with r orthogonal to range(A): the error of QR and SVD is bounded by
    # a modest multiple of u (kappa + kappa^2 tan(theta)), the normal equations' by u kappa^2
    m, n = 60, 12
    u_full = scipy.linalg.qr(rng.standard_normal((m, m)))[0]
    v = scipy.linalg.qr(rng.standard_normal((n, n)))[0]
    sigma = np.logspace(0, -np.log10(kappa), n)
    a = (u_full[:, :n] * sigma) @ v.T
    x_true = rng.standard_normal(n)
    ax = a @ x_true
    r = u_full[:, n:] @ rng.standard_normal(m - n)
    r *= residual * np.linalg.norm(ax) / max(np.linalg.norm(r), 1e-300)
    b = ax + r
    tan_theta = np.linalg.norm(r) / np.linalg.norm(ax)
    bound = 10 * n * EPS64 * (kappa + kappa**2 * tan_theta)
    assert bound < 1e-3  # the grid keeps the bound informative: x = 0 cannot pass
    for method in ("qr", "svd"):
        x = lstsq(a, b, method=method)
        error = np.linalg.norm(x - x_true) / np.linalg.norm(x_true)
        assert error <= bound, (method, error, bound)
        x_ref = scipy.linalg.lstsq(a, b)[0]
        # agree with LAPACK to the same accuracy
        assert np.linalg.norm(x - x_ref) / np.linalg.norm(x_true) <= 2 * bound
    if kappa == 1e4:
        x = lstsq(a, b, method="normal")
        error = np.linalg.norm(x - x_true) / np.linalg.norm(x_true)
        assert error <= 10 * n * EPS64 * kappa**2 * (1 + tan_theta)


def test_normal_equations_lose_digits_that_qr_keeps_at_zero_residual(rng) -> None:
    a = random_matrix(80, 10, condition=1e6, rng=rng)
    x_true = rng.standard_normal(10)
    b = a @ x_true
    errors = {m: np.linalg.norm(lstsq(a, b, method=m) - x_true) / np.linalg.norm(x_true) for m in METHODS}
    # QR: ~ u kappa = 2e-10; normal equations ~ u kappa^2 = 2e-4: far apart
    assert errors["qr"] < 1e-8
    assert errors["normal"] > 100 * errors["qr"]


def test_lstsq_rank_deficient(rng) -> None:
    a = random_matrix(30, 8, singular_values=[1, 1, 0.5, 0.5, 0.1, 0, 0, 0], rng=rng)
    b = rng.standard_normal(30)
    x = lstsq(a, b, method="svd")
    np.testing.assert_allclose(x, np.linalg.pinv(a, rcond=1e-10) @ b, rtol=0, atol=1e-10)
    with pytest.raises(RankDeficientError, match="use method='svd'"):
        lstsq(a, b, method="qr")
    # the normal equations detect rank deficiency only when Cholesky breaks down, which rounding can
    # prevent (seed 8 of the sweep); an exactly zero column makes A^T A exactly singular
    a_zero = a.copy()
    a_zero[:, 3] = 0.0
    with pytest.raises(RankDeficientError, match="use method='svd'"):
        lstsq(a_zero, b, method="normal")
    with pytest.raises(RankDeficientError, match="rank deficient"):
        lstsq(a.T, b[:8], method="qr")
    # a larger rtol truncates more: dropping sigma = 0.1 gives a smaller solution
    x_truncated = lstsq(a, b, method="svd", rtol=0.2)
    assert np.linalg.norm(x_truncated) < np.linalg.norm(x)


@pytest.mark.parametrize("method", METHODS)
def test_lstsq_float32_and_no_mutation(rng, method) -> None:
    a = random_matrix(40, 6, condition=10.0, dtype=np.float32, rng=rng)
    b = rng.standard_normal(40).astype(np.float32)
    copies = a.copy(), b.copy()
    x = lstsq(a, b, method=method)
    assert x.dtype == np.float32
    reference = scipy.linalg.lstsq(a.astype(np.float64), b.astype(np.float64))[0]
    np.testing.assert_allclose(x, reference, rtol=0, atol=100 * 6 * EPS32 * np.abs(reference).max())
    np.testing.assert_array_equal(a, copies[0])
    np.testing.assert_array_equal(b, copies[1])


def test_lstsq_bad_input(rng) -> None:
    a = rng.standard_normal((5, 3))
    with pytest.raises(ValueError, match="method must be one of"):
        lstsq(a, np.ones(5), method="cholesky")
    with pytest.raises(ValueError, match=r"b must have shape \(5,\)"):
        lstsq(a, np.ones(4))
    with pytest.raises(ValueError, match="rtol must be non-negative"):
        lstsq(a, np.ones(5), rtol=-1.0)
    with pytest.raises(ValueError, match="method='normal' needs m >= n"):
        lstsq(a.T, np.ones(3), method="normal")
    with pytest.raises(ValueError, match="a must be a 2-D array"):
        lstsq(np.ones(5), np.ones(5))
    with pytest.raises(ValueError, match="b must not contain NaN"):
        lstsq(a, np.full(5, np.nan))


def test_weighted_least_squares_against_weighted_normal_equations(rng) -> None:
    a = rng.standard_normal((25, 4))
    b = rng.standard_normal(25)
    w = rng.uniform(0.1, 10.0, 25)
    reference = np.linalg.solve(a.T @ (w[:, None] * a), a.T @ (w * b))
    for method in METHODS:
        np.testing.assert_allclose(lstsq_weighted(a, b, w, method=method), reference, rtol=1e-10, atol=1e-12)
    # integer weights = repeated rows
    counts = rng.integers(1, 4, 25)
    repeated = lstsq(np.repeat(a, counts, axis=0), np.repeat(b, counts))
    np.testing.assert_allclose(lstsq_weighted(a, b, counts), repeated, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="weights must be positive"):
        lstsq_weighted(a, b, np.zeros(25))
    with pytest.raises(ValueError, match=r"weights must have shape \(25,\)"):
        lstsq_weighted(a, b, np.ones(3))


def test_equality_constrained_against_kkt_system(rng) -> None:
    m, n, p = 20, 6, 2
    a, b = rng.standard_normal((m, n)), rng.standard_normal(m)
    c, d = rng.standard_normal((p, n)), rng.standard_normal(p)
    x = lstsq_equality_constrained(a, b, c, d)
    kkt = np.block([[a.T @ a, c.T], [c, np.zeros((p, p))]])
    reference = np.linalg.solve(kkt, np.concatenate([a.T @ b, d]))[:n]
    np.testing.assert_allclose(x, reference, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c @ x, d, rtol=0, atol=1e-12)
    # p = n: the constraints alone fix x
    c_square = rng.standard_normal((n, n))
    np.testing.assert_allclose(lstsq_equality_constrained(a, b, c_square, np.ones(n)),
                               np.linalg.solve(c_square, np.ones(n)), rtol=1e-10, atol=1e-12)
    with pytest.raises(RankDeficientError, match="c is numerically rank deficient"):
        lstsq_equality_constrained(a, b, np.ones((2, n)), d)
    with pytest.raises(ValueError, match="c must have at most n"):
        lstsq_equality_constrained(a, b, rng.standard_normal((n + 1, n)), np.ones(n + 1))


@pytest.mark.parametrize("mode", ["reduced", "complete"])
def test_append_row_equals_refactorisation(rng, mode) -> None:
    a = rng.standard_normal((15, 6))
    q, r = householder_qr(a, mode=mode)
    for _ in range(3):  # several appends in a row
        row = rng.standard_normal(6)
        q, r = qr_update_append_row(q, r, row)
        a = np.vstack([a, row])
    k = q.shape[1]
    np.testing.assert_allclose(q.T @ q, np.eye(k), rtol=0, atol=100 * EPS64)
    np.testing.assert_array_equal(np.tril(r, -1), 0)
    np.testing.assert_allclose(q @ r, a, rtol=0, atol=100 * EPS64 * np.abs(a).max())
    # R of the refactorised matrix, up to row signs
    r_ref = scipy.linalg.qr(a, mode="r")[0][:6]
    np.testing.assert_allclose(np.abs(r[:6]), np.abs(r_ref), rtol=0, atol=100 * EPS64 * np.abs(a).max())


def test_recursive_least_squares_by_appending_rows(rng) -> None:
    # update [R, Q^T b] with the augmented row [a_i, b_i]: the solution tracks lstsq of all rows so far
    a, b = rng.standard_normal((30, 4)), rng.standard_normal(30)
    q, r = householder_qr(np.column_stack([a[:5], b[:5]]))
    for i in range(5, 30):
        q, r = qr_update_append_row(q, r, np.append(a[i], b[i]))
    x = scipy.linalg.solve_triangular(r[:4, :4], r[:4, 4])
    np.testing.assert_allclose(x, scipy.linalg.lstsq(a, b)[0], rtol=1e-10, atol=1e-12)
    # |r_55| is the residual norm
    assert abs(r[4, 4]) == pytest.approx(np.linalg.norm(a @ x - b), rel=1e-10)


@pytest.mark.parametrize("index", [0, 4, 11])
def test_delete_row_equals_refactorisation(rng, index) -> None:
    a = rng.standard_normal((12, 5))
    q, r = householder_qr(a, mode="complete")
    q2, r2 = qr_update_delete_row(q, r, index)
    reduced = np.delete(a, index, axis=0)
    assert q2.shape == (11, 11) and r2.shape == (11, 5)
    np.testing.assert_allclose(q2.T @ q2, np.eye(11), rtol=0, atol=100 * EPS64)
    np.testing.assert_array_equal(np.tril(r2, -1), 0)
    np.testing.assert_allclose(q2 @ r2, reduced, rtol=0, atol=100 * EPS64 * np.abs(a).max())
    r_ref = scipy.linalg.qr(reduced, mode="r")[0]
    np.testing.assert_allclose(np.abs(r2), np.abs(r_ref), rtol=0, atol=100 * EPS64 * np.abs(a).max())


def test_updates_reject_bad_input(rng) -> None:
    a = rng.standard_normal((6, 3))
    q, r = householder_qr(a)
    with pytest.raises(ValueError, match=r"row must have shape \(3,\)"):
        qr_update_append_row(q, r, np.ones(4))
    with pytest.raises(ValueError, match="p = n \\(reduced\\) or p = m \\(complete\\)"):
        qr_update_append_row(q[:, :2], r[:2], np.ones(3))
    with pytest.raises(ValueError, match="q must be square"):
        qr_update_delete_row(q, r, 0)
    qc, rc = householder_qr(a, mode="complete")
    with pytest.raises(ValueError, match=r"index must be an integer in \[0, 5\]"):
        qr_update_delete_row(qc, rc, 6)
    with pytest.raises(TypeError, match="index must be an integer"):
        qr_update_delete_row(qc, rc, 1.0)


def test_lstsq_qr_refuses_rank_one_with_graded_columns(rng) -> None:
    # issue 26: [1e-3 q, 1e3 q] passed the old test min|r_jj| / max|r_jj| and gave x ~ (3.7e18, -3.7e12)
    for _ in range(50):
        q = rng.standard_normal(int(rng.integers(2, 60)))
        with pytest.raises(RankDeficientError, match="rank deficient"):
            lstsq(np.column_stack([1e-3 * q, 1e3 * q]), rng.standard_normal(q.size), method="qr")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("c", [1e200, 1e-200, 2.0**1000, 2.0**-1000])
def test_lstsq_is_scale_safe(rng, method, c) -> None:
    # A^T A overflowed or underflowed for the normal equations; x(cA, b) = x(A, b) / c for every method
    a = random_matrix(30, 5, condition=10.0, rng=rng)
    b = rng.standard_normal(30)
    x = lstsq(a, b, method=method)
    np.testing.assert_allclose(lstsq(a * c, b, method=method) * c, x, rtol=1e-12, atol=0)
    np.testing.assert_allclose(lstsq(a, b * c, method=method) / c, x, rtol=1e-12, atol=0)


def test_weighted_needs_sorting_and_pivoting(rng) -> None:
    # issue 27 item 10: row sorting alone gave errors 1e-7 at w = 1e20 and 1e-3 at 1e28 when the heavy
    # rows do not involve the first column; sorting plus column pivoting is row-wise stable (Cox-Higham)
    a, b = rng.standard_normal((30, 5)), rng.standard_normal(30)
    c, d = rng.standard_normal((2, 5)), rng.standard_normal(2)
    c[:, 0] = 0.0
    x_exact = lstsq_equality_constrained(a, b, c, d)
    for w in (1e20, 1e28, 1e30, 1e100):
        weights = np.concatenate([np.ones(30), np.full(2, w)])
        x = lstsq_weighted(np.vstack([a, c]), np.concatenate([b, d]), weights)
        assert np.linalg.norm(x - x_exact) <= 1e3 * EPS64 * np.linalg.norm(x_exact)
    with pytest.raises(RankDeficientError, match="weighted"):
        lstsq_weighted(np.ones((6, 2)), np.ones(6), np.arange(1.0, 7.0))
