"""Scale laws and degenerate inputs for QR, Gram-Schmidt, least squares and condition estimation.

Modules: ``qr``, ``gram_schmidt``, ``least_squares``, ``condition_estimation`` (chapters qr.md,
gram-schmidt.md, least-squares.md, condition-estimation.md). Each law is checked against the unscaled
problem solved by the same routine (scaling by a power of two is exact). See ``test_scale_registry.py``.
"""

# ruff: noqa: B023  (each lambda is called at once, inside obeys_or_refuses or pytest.raises)
from __future__ import annotations

import numpy as np
import pytest
from _support import obeys_or_refuses, relative_error

import mathguide.linalg as la

EPS = float(np.finfo(np.float64).eps)
P = "mathguide.linalg."


def _close(got, want, rtol: float = 1e3 * EPS) -> None:
    err = relative_error(got, want)
    assert err <= rtol, f"relative error {err:.3g} > {rtol:.3g}"


def _a(rng, m=8, n=5):
    return la.random_matrix(m, n, singular_values=np.linspace(2.0, 1.0, min(m, n)), rng=rng)




# ------------------------------------------------------------------------------------------------
# scale laws: (c a) has the same Q and c R; x(c A, c b) = x(A, b); norms of inverses scale by 1/c


def _law_householder_vector(c, rng):
    x = rng.standard_normal(6)
    v, beta, alpha = la.householder_vector(x)

    def check(h):
        _close(h.v, v), _close(h.beta, beta), _close(h.alpha, c * alpha)
    obeys_or_refuses(lambda: la.householder_vector(c * x), "x", check)


def _law_givens_rotation(c, rng):
    a, b = rng.standard_normal(2)
    g = la.givens_rotation(a, b)
    obeys_or_refuses(lambda: la.givens_rotation(c * a, c * b), "a",
                     lambda h: (_close(h.c, g.c), _close(h.s, g.s), _close(h.r, c * g.r)))


def _qr_law(function, c, rng, **options):
    a = _a(rng)
    q, r = function(a, **options)[:2]
    obeys_or_refuses(lambda: function(c * a, **options), "a",
                     lambda res: (_close(res[0], q), _close(res[1], c * r)))


def _law_apply(function, c, rng, **options):
    a = _a(rng)
    factors = la.householder_qr(a, mode="factored")
    y = rng.standard_normal((8, 2))
    want = function(factors, y, **options)
    obeys_or_refuses(lambda: function(factors, c * y, **options), "c", lambda got: _close(got, c * want))


def _law_compact_wy(c, rng):
    factors = la.householder_qr(_a(rng), mode="factored")
    t = la.compact_wy(factors.v, factors.beta)
    # V -> s V, beta -> beta / s^2 describe the same reflectors: T -> T / s^2 (s = sqrt(c), so
    # that T stays in range)
    s = float(np.sqrt(c))
    obeys_or_refuses(lambda: la.compact_wy(s * factors.v, factors.beta / c), "v",
                     lambda got: _close(got, t / c))


def _law_qr_column_pivoting(c, rng):
    a = _a(rng)
    q, r, perm, rank = la.qr_column_pivoting(a)

    def check(res):
        assert res.rank == rank and np.array_equal(res.perm, perm)
        _close(res.q, q), _close(res.r, c * r)
    obeys_or_refuses(lambda: la.qr_column_pivoting(c * a), "a", check)


def _law_lstsq(c, rng):
    a, b = _a(rng, 12, 4), rng.standard_normal(12)
    for method in ("qr", "normal", "svd"):
        x = la.lstsq(a, b, method=method)
        obeys_or_refuses(lambda: la.lstsq(c * a, c * b, method=method), "a", lambda got: _close(got, x))
        obeys_or_refuses(lambda: la.lstsq(a, c * b, method=method), "b", lambda got: _close(got, c * x))


def _law_lstsq_mgs(c, rng):
    a, b = _a(rng, 12, 4), rng.standard_normal(12)
    x = la.lstsq_mgs(a, b)
    obeys_or_refuses(lambda: la.lstsq_mgs(c * a, c * b), "a", lambda got: _close(got, x))


def _law_lstsq_weighted(c, rng):
    a, b, w = _a(rng, 12, 4), rng.standard_normal(12), rng.uniform(0.5, 2, 12)
    for method in ("qr", "svd"):
        x = la.lstsq_weighted(a, b, w, method=method)
        obeys_or_refuses(lambda: la.lstsq_weighted(c * a, c * b, w, method=method), "a",
                         lambda got: _close(got, x))
        obeys_or_refuses(lambda: la.lstsq_weighted(a, b, c * w, method=method), "weights",
                         lambda got: _close(got, x))


def _law_lstsq_equality_constrained(c, rng):
    a, b = _a(rng, 12, 4), rng.standard_normal(12)
    cc, d = rng.standard_normal((2, 4)), rng.standard_normal(2)
    x = la.lstsq_equality_constrained(a, b, cc, d)
    obeys_or_refuses(lambda: la.lstsq_equality_constrained(c * a, c * b, cc, d), "a", lambda got: _close(got, x))
    obeys_or_refuses(lambda: la.lstsq_equality_constrained(a, b, c * cc, c * d), "c", lambda got: _close(got, x))


def _law_append_row(c, rng):
    a = _a(rng)
    q, r = la.householder_qr(a)
    row = rng.standard_normal(5)
    q1, r1 = la.qr_update_append_row(q, r, row)
    obeys_or_refuses(lambda: la.qr_update_append_row(q, c * r, c * row), "r",
                     lambda res: (_close(res[0], q1), _close(res[1], c * r1)))


def _law_delete_row(c, rng):
    q, r = la.householder_qr(_a(rng), mode="complete")
    q1, r1 = la.qr_update_delete_row(q, r, 3)
    obeys_or_refuses(lambda: la.qr_update_delete_row(q, c * r, 3), "r",
                     lambda res: (_close(res[0], q1), _close(res[1], c * r1)))


def _law_backward_error(c, rng):
    a, b = rng.standard_normal((6, 6)), rng.standard_normal(6)
    x = np.linalg.solve(a, b) + 1e-6 * rng.standard_normal(6)
    omega = la.componentwise_backward_error(a, x, b)
    obeys_or_refuses(lambda: la.componentwise_backward_error(c * a, x, c * b), "a",
                     lambda got: _close(got, omega, 1e-8))
    obeys_or_refuses(lambda: la.componentwise_backward_error(a, c * x, c * b), "x",
                     lambda got: _close(got, omega, 1e-8))


def _law_condition_estimate_1(c, rng):
    a = _a(rng, 6, 6)
    kappa = la.condition_estimate_1(a)
    obeys_or_refuses(lambda: la.condition_estimate_1(c * a), "a", lambda got: _close(got, kappa, 1e-10))


def _law_inverse_norm1_estimate(c, rng):
    a = _a(rng, 6, 6)
    est = la.inverse_norm1_estimate(a).estimate
    obeys_or_refuses(lambda: la.inverse_norm1_estimate(c * a), "a",
                     lambda got: _close(got.estimate, est / c, 1e-10))


def _law_norm1_estimate(c, rng):
    b = rng.standard_normal((6, 6))
    est = la.norm1_estimate(lambda v: b @ v, lambda v: b.T @ v, 6).estimate
    obeys_or_refuses(lambda: la.norm1_estimate(lambda v: (c * b) @ v, lambda v: (c * b).T @ v, 6), "matvec",
                     lambda got: _close(got.estimate, c * est, 1e-12))


def _law_skeel_condition(c, rng):
    a, x = _a(rng, 6, 6), rng.standard_normal(6)
    want = la.skeel_condition(a, x)
    obeys_or_refuses(lambda: la.skeel_condition(c * a, x), "a", lambda got: _close(got, want, 1e-10))
    obeys_or_refuses(lambda: la.skeel_condition(a, c * x), "x", lambda got: _close(got, want, 1e-10))


LAWS = {
    P + "householder_vector": _law_householder_vector,
    P + "givens_rotation": _law_givens_rotation,
    P + "householder_qr": lambda c, rng: _qr_law(la.householder_qr, c, rng),
    P + "qr_blocked": lambda c, rng: _qr_law(la.qr_blocked, c, rng, block_size=2),
    P + "givens_qr": lambda c, rng: _qr_law(la.givens_qr, c, rng),
    P + "gram_schmidt": lambda c, rng: _qr_law(la.gram_schmidt, c, rng),
    P + "apply_householder_q": lambda c, rng: _law_apply(la.apply_householder_q, c, rng),
    P + "apply_householder_qt": lambda c, rng: _law_apply(la.apply_householder_qt, c, rng),
    P + "apply_householder_qt_blocked": lambda c, rng: _law_apply(la.apply_householder_qt_blocked, c, rng,
                                                                  block_size=2),
    P + "compact_wy": _law_compact_wy,
    P + "qr_column_pivoting": _law_qr_column_pivoting,
    P + "lstsq": _law_lstsq,
    P + "lstsq_mgs": _law_lstsq_mgs,
    P + "lstsq_weighted": _law_lstsq_weighted,
    P + "lstsq_equality_constrained": _law_lstsq_equality_constrained,
    P + "qr_update_append_row": _law_append_row,
    P + "qr_update_delete_row": _law_delete_row,
    P + "componentwise_backward_error": _law_backward_error,
    P + "condition_estimate_1": _law_condition_estimate_1,
    P + "inverse_norm1_estimate": _law_inverse_norm1_estimate,
    P + "norm1_estimate": _law_norm1_estimate,
    P + "skeel_condition": _law_skeel_condition,
}
NO_LAW: dict[str, str] = {}

# ------------------------------------------------------------------------------------------------
# degenerate inputs


def _deg_qr(function, **options):
    def check(rng):
        zero = function(np.zeros((4, 3)), **options)
        np.testing.assert_array_equal(zero[1], 0)
        np.testing.assert_allclose(zero[0] @ zero[1], 0, rtol=0, atol=0)  # Q @ 0 is exactly 0
        q, r = function(np.array([[-3.0]]), **options)[:2]
        np.testing.assert_allclose(q @ r, [[-3.0]], rtol=1e-15, atol=0)
        a = np.outer(rng.standard_normal(4), rng.standard_normal(3))  # rank 1
        q, r = function(a, **options)[:2]
        np.testing.assert_allclose(q @ r, a, rtol=0, atol=1e-14 * np.abs(a).max())
    return check


def _deg_gram_schmidt(rng):
    for a in (np.zeros((4, 3)), np.ones((3, 2))):
        with pytest.raises(np.linalg.LinAlgError, match="linearly dependent"):
            la.gram_schmidt(a)
    q, r = la.gram_schmidt(np.array([[-3.0]]))
    assert q[0, 0] == -1.0 and r[0, 0] == 3.0


def _deg_lstsq(rng):
    a = np.outer(rng.standard_normal(6), [1.0, 2.0])  # exactly rank 1
    b = rng.standard_normal(6)
    for method in ("qr", "normal"):
        with pytest.raises(la.RankDeficientError, match="use method='svd'"):
            la.lstsq(a, b, method=method)
    np.testing.assert_allclose(la.lstsq(a, b, method="svd"), np.linalg.pinv(a) @ b, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(la.lstsq(np.zeros((3, 2)), np.ones(3), method="svd"), 0)
    assert la.lstsq(np.array([[2.0]]), np.array([3.0]))[0] == 1.5


def _deg_householder_vector(rng):
    h = la.householder_vector(np.zeros(3))
    assert h.beta == 0 and h.alpha == 0
    h = la.householder_vector(np.array([-2.0]))
    assert h.beta == 0 and h.alpha == -2.0


def _deg_givens(rng):
    g = la.givens_rotation(0.0, 0.0)
    assert (g.c, g.s, g.r) == (1.0, 0.0, 0.0)


def _deg_pivoting(rng):
    res = la.qr_column_pivoting(np.zeros((4, 3)))
    assert res.rank == 0
    a = np.outer(rng.standard_normal(5), rng.standard_normal(4))
    assert la.qr_column_pivoting(a).rank == 1


def _deg_apply(function):
    def check(rng):
        factors = la.householder_qr(np.zeros((4, 2)), mode="factored")  # beta = 0: Q = I
        y = rng.standard_normal(4)
        np.testing.assert_array_equal(function(factors, y), y)
    return check


def _deg_backward_error(rng):
    assert la.componentwise_backward_error(np.zeros((2, 2)), np.ones(2), np.zeros(2)) == 0.0
    assert la.componentwise_backward_error(np.zeros((2, 2)), np.ones(2), np.ones(2)) == 1.0


def _deg_singular(function):
    def check(rng):
        with pytest.raises(la.SingularMatrixError):
            function(np.ones((3, 3)))
    return check


def _deg_norm1(rng):
    res = la.norm1_estimate(lambda v: 0 * v, lambda v: 0 * v, 3)
    assert res.estimate == 0.0
    assert la.norm1_estimate(lambda v: -2 * v, lambda v: -2 * v, 1).estimate == 2.0


def _deg_append(rng):
    q, r = la.householder_qr(np.zeros((3, 2)))
    q1, r1 = la.qr_update_append_row(q, r, np.zeros(2))
    np.testing.assert_array_equal(q1 @ r1, 0)


def _deg_delete(rng):
    q, r = la.householder_qr(np.zeros((3, 2)), mode="complete")
    q1, r1 = la.qr_update_delete_row(q, r, 1)
    np.testing.assert_array_equal(r1, 0)
    with pytest.raises(ValueError, match="cannot delete the only row"):
        la.qr_update_delete_row(np.eye(1), np.ones((1, 1)), 0)


def _deg_weighted(rng):
    with pytest.raises(la.RankDeficientError, match="rank deficient"):
        la.lstsq_weighted(np.ones((4, 2)), np.ones(4), np.ones(4))


def _deg_constrained(rng):
    with pytest.raises(la.RankDeficientError, match="c is numerically rank deficient"):
        la.lstsq_equality_constrained(rng.standard_normal((5, 3)), np.ones(5), np.zeros((1, 3)), np.ones(1))


def _deg_compact_wy(rng):
    assert la.compact_wy(np.zeros((3, 0)), np.zeros(0)).shape == (0, 0)
    np.testing.assert_array_equal(la.compact_wy(np.eye(3, 2), np.zeros(2)), 0)


def _deg_mgs(rng):
    with pytest.raises(np.linalg.LinAlgError, match="linearly dependent"):
        la.lstsq_mgs(np.ones((4, 2)), np.ones(4))


DEGENERATE = {
    P + "householder_vector": _deg_householder_vector,
    P + "givens_rotation": _deg_givens,
    P + "householder_qr": _deg_qr(la.householder_qr),
    P + "qr_blocked": _deg_qr(la.qr_blocked, block_size=2),
    P + "givens_qr": _deg_qr(la.givens_qr),
    P + "gram_schmidt": _deg_gram_schmidt,
    P + "apply_householder_q": _deg_apply(la.apply_householder_q),
    P + "apply_householder_qt": _deg_apply(la.apply_householder_qt),
    P + "apply_householder_qt_blocked": _deg_apply(la.apply_householder_qt_blocked),
    P + "compact_wy": _deg_compact_wy,
    P + "qr_column_pivoting": _deg_pivoting,
    P + "lstsq": _deg_lstsq,
    P + "lstsq_mgs": _deg_mgs,
    P + "lstsq_weighted": _deg_weighted,
    P + "lstsq_equality_constrained": _deg_constrained,
    P + "qr_update_append_row": _deg_append,
    P + "qr_update_delete_row": _deg_delete,
    P + "componentwise_backward_error": _deg_backward_error,
    P + "condition_estimate_1": _deg_singular(la.condition_estimate_1),
    P + "inverse_norm1_estimate": _deg_singular(la.inverse_norm1_estimate),
    P + "norm1_estimate": _deg_norm1,
    P + "skeel_condition": _deg_singular(la.skeel_condition),
}
NOT_DEGENERATE: dict[str, str] = {}
