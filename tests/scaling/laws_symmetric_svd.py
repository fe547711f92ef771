"""Scale laws and degenerate inputs of the symmetric eigensolvers, the Jacobi methods and the SVDs.

Modules: ``mathguide.linalg.symmetric_eigen``, ``mathguide.linalg.jacobi_eigen``, ``mathguide.linalg.svd``
(chapters ``symmetric-eigen.md``, ``jacobi.md``, ``svd.md``). Every routine here scales its input by a
power of two internally, so each law is expected to be obeyed, not refused; ``obeys_or_refuses`` still
accepts a clear refusal, and the tests in ``tests/linalg`` pin the exact behaviour.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from _support import obeys_or_refuses, relative_error

from mathguide import linalg

EPS = np.finfo(np.float64).eps
P = "mathguide.linalg."


def _symmetric(rng, n):
    b = rng.standard_normal((n, n))
    return (b + b.T) / 2


def _tridiagonal(d, e):
    return np.diag(d) + np.diag(e, 1) + np.diag(e, -1)


def _orthonormal_columns(q, tol=1e-12):
    k = q.shape[1]
    np.testing.assert_allclose(q.T @ q, np.eye(k), rtol=0, atol=tol)


# ---------------------------------------------------------------------------------------------
# scale laws: check(c, rng)


def _law_tridiagonalize(c, rng):
    a = _symmetric(rng, 7)
    ref = scipy.linalg.eigvalsh(a)

    def check(tri):
        _orthonormal_columns(tri.q)
        t = _tridiagonal(tri.d / c, tri.e / c)  # exact: c is a power of two
        np.testing.assert_allclose(tri.q @ t @ tri.q.T, a, rtol=0, atol=1e-13)
        assert relative_error(scipy.linalg.eigvalsh_tridiagonal(tri.d / c, tri.e / c), ref) < 1e-13

    obeys_or_refuses(lambda: linalg.tridiagonalize(a * c), "a", check)


def _law_symmetric_qr_eigen(c, rng):
    a = _symmetric(rng, 8)
    ref = scipy.linalg.eigvalsh(a)

    def check(result):
        assert result.converged
        assert relative_error(result.eigenvalues / c, ref) < 1e-13
        v = result.eigenvectors
        _orthonormal_columns(v)
        np.testing.assert_allclose(a @ v, v * (result.eigenvalues / c), rtol=0, atol=1e-12)

    obeys_or_refuses(lambda: linalg.symmetric_qr_eigen(a * c), "a", check)


def _law_bisection_eigenvalues(c, rng):
    d, e = rng.standard_normal(9), rng.standard_normal(8)
    ref = scipy.linalg.eigvalsh_tridiagonal(d, e)

    def check(result):
        assert result.converged
        assert relative_error(result.eigenvalues / c, ref) < 1e-13

    obeys_or_refuses(lambda: linalg.bisection_eigenvalues(d * c, e * c), "d", check)


def _law_sturm_count(c, rng):
    d, e = rng.standard_normal(9), rng.standard_normal(8)
    ref = scipy.linalg.eigvalsh_tridiagonal(d, e)
    x = (ref[:-1] + ref[1:]) / 2  # between consecutive eigenvalues: unambiguous counts

    def check(counts):
        np.testing.assert_array_equal(counts, np.arange(1, 9))

    obeys_or_refuses(lambda: linalg.sturm_count(d * c, e * c, x * c), "d", check)


def _law_secular_equation_roots(c, rng):
    d = np.sort(rng.standard_normal(10))
    z = rng.standard_normal(10)
    ref = scipy.linalg.eigvalsh(np.diag(d) + 0.5 * np.outer(z, z))

    def check(result):
        assert result.converged
        assert relative_error(result.roots / c, ref) < 1e-13

    obeys_or_refuses(lambda: linalg.secular_equation_roots(d * c, z, 0.5 * c), "d", check)


def _law_jacobi_eigh(c, rng):
    a = _symmetric(rng, 7)
    ref = scipy.linalg.eigvalsh(a)
    for cyclic in (True, False):

        def check(result):
            assert result.converged
            assert relative_error(result.eigenvalues / c, ref) < 1e-13
            _orthonormal_columns(result.eigenvectors)

        obeys_or_refuses(lambda cyclic=cyclic: linalg.jacobi_eigh(a * c, cyclic=cyclic), "a", check)


def _law_jacobi_rotation(c, rng):
    app, apq, aqq = rng.standard_normal(3)
    want = linalg.jacobi_rotation(app, apq, aqq)

    def check(got):
        np.testing.assert_allclose(got, want, rtol=4 * EPS, atol=0)

    obeys_or_refuses(lambda: linalg.jacobi_rotation(app * c, apq * c, aqq * c), "app", check)


def _law_bidiagonalize(c, rng):
    a = rng.standard_normal((9, 6))
    ref = scipy.linalg.svd(a, compute_uv=False)

    def check(bd):
        _orthonormal_columns(bd.u)
        _orthonormal_columns(bd.v)
        b = np.diag(bd.d / c) + np.diag(bd.e / c, 1)
        np.testing.assert_allclose(bd.u @ b @ bd.v.T, a, rtol=0, atol=1e-13)
        assert relative_error(scipy.linalg.svd(b, compute_uv=False), ref) < 1e-13

    obeys_or_refuses(lambda: linalg.bidiagonalize(a * c), "a", check)


def _svd_law(method):
    def law(c, rng):
        a = rng.standard_normal((9, 6))
        ref = scipy.linalg.svd(a, compute_uv=False)

        def check(result):
            assert result.converged
            assert relative_error(result.s / c, ref) < 1e-13
            _orthonormal_columns(result.u)
            _orthonormal_columns(result.vt.T)
            np.testing.assert_allclose((result.u * (result.s / c)) @ result.vt, a, rtol=0, atol=1e-12)

        def check_wide(result):  # the SVD of a.T is that of a, transposed
            check(result._replace(u=result.vt.T, vt=result.u.T))

        obeys_or_refuses(lambda: method(a * c), "a", check)
        obeys_or_refuses(lambda: method(a.T * c), "a", check_wide)

    return law


LAWS = {
    P + "tridiagonalize": _law_tridiagonalize,
    P + "symmetric_qr_eigen": _law_symmetric_qr_eigen,
    P + "bisection_eigenvalues": _law_bisection_eigenvalues,
    P + "sturm_count": _law_sturm_count,
    P + "secular_equation_roots": _law_secular_equation_roots,
    P + "jacobi_eigh": _law_jacobi_eigh,
    P + "jacobi_rotation": _law_jacobi_rotation,
    P + "bidiagonalize": _law_bidiagonalize,
    P + "svd_golub_kahan": _svd_law(linalg.svd_golub_kahan),
    P + "svd_jacobi": _svd_law(linalg.svd_jacobi),
}

NO_LAW = {
    P + "round_robin_pairs": "its argument is a count of indices, not data: nothing to scale",
}


# ---------------------------------------------------------------------------------------------
# degenerate inputs: check(rng)


def _degenerate_tridiagonalize(rng):
    for a in (np.zeros((4, 4)), np.ones((4, 4)), np.eye(3), np.array([[-2.5]])):
        tri = linalg.tridiagonalize(a)
        n = a.shape[0]
        _orthonormal_columns(tri.q)
        np.testing.assert_allclose(tri.q @ _tridiagonal(tri.d, tri.e) @ tri.q.T, a, rtol=0, atol=10 * n * EPS)
    empty = linalg.tridiagonalize(np.zeros((0, 0)))
    assert empty.d.shape == (0,) and empty.e.shape == (0,) and empty.q.shape == (0, 0)
    with pytest.raises(ValueError, match=r"\ba\b.*finite"):
        linalg.tridiagonalize(np.array([[np.inf, 0.0], [0.0, 1.0]]))
    with pytest.raises(TypeError, match="compute_q"):
        linalg.tridiagonalize(np.eye(2), compute_q="no")


def _degenerate_symmetric_qr_eigen(rng):
    cases = {
        "zero": (np.zeros((4, 4)), np.zeros(4)),
        "rank one": (np.ones((4, 4)), np.array([0.0, 0.0, 0.0, 4.0])),
        "ties": (2 * np.eye(3), np.full(3, 2.0)),
        "1x1": (np.array([[-2.5]]), np.array([-2.5])),
    }
    for a, want in cases.values():
        result = linalg.symmetric_qr_eigen(a)
        assert result.converged
        np.testing.assert_allclose(result.eigenvalues, want, rtol=0, atol=10 * EPS * max(1, np.abs(want).max()))
        _orthonormal_columns(result.eigenvectors)
    empty = linalg.symmetric_qr_eigen(np.zeros((0, 0)))
    assert empty.converged and empty.eigenvalues.shape == (0,) and empty.eigenvectors.shape == (0, 0)
    with pytest.raises(ValueError, match=r"\ba\b.*finite"):
        linalg.symmetric_qr_eigen(np.full((2, 2), np.inf))
    with pytest.raises(TypeError, match="compute_vectors"):
        linalg.symmetric_qr_eigen(np.eye(2), compute_vectors=1)


def _degenerate_bisection_eigenvalues(rng):
    cases = [
        (np.zeros(4), np.zeros(3), np.zeros(4)),  # the zero matrix
        (np.full(3, 2.0), np.zeros(2), np.full(3, 2.0)),  # exact ties
        (np.zeros(2), np.ones(1), np.array([-1.0, 1.0])),
        (np.array([3.0]), np.zeros(0), np.array([3.0])),  # 1x1
    ]
    for d, e, want in cases:
        result = linalg.bisection_eigenvalues(d, e)
        assert result.converged
        np.testing.assert_allclose(result.eigenvalues, want, rtol=0, atol=8 * EPS * max(1, np.abs(want).max()))
    with pytest.raises(ValueError, match=r"\bd\b"):
        linalg.bisection_eigenvalues(np.zeros(0), np.zeros(0))
    with pytest.raises(ValueError, match=r"\bd\b"):
        linalg.bisection_eigenvalues([np.inf, 1.0], [0.0])


def _degenerate_sturm_count(rng):
    d, e = np.zeros(4), np.zeros(3)
    # every eigenvalue is 0: a tie at x = 0 counts them all (the count of eigenvalues <= x)
    assert linalg.sturm_count(d, e, 0.0) == 4
    assert linalg.sturm_count(d, e, -1e-300) == 0 and linalg.sturm_count(d, e, 1e-300) == 4
    assert linalg.sturm_count(d, e, -np.inf) == 0 and linalg.sturm_count(d, e, np.inf) == 4
    assert linalg.sturm_count([5.0], [], [4.0, 6.0]).tolist() == [0, 1]
    assert linalg.sturm_count(d, e, np.zeros((0,))).shape == (0,)  # an empty batch of shifts
    with pytest.raises(ValueError, match=r"\bx\b"):
        linalg.sturm_count(d, e, np.nan)


def _degenerate_secular_equation_roots(rng):
    result = linalg.secular_equation_roots([0.0], [1.0], 2.0)  # 1x1: 0 + 2 * 1 * 1
    np.testing.assert_allclose(result.roots, [2.0], rtol=4 * EPS, atol=0)
    with pytest.raises(ValueError, match=r"\bz\b.*zero"):
        linalg.secular_equation_roots([0.0, 1.0], [1.0, 0.0], 1.0)
    with pytest.raises(ValueError, match=r"\bd\b.*increasing"):  # a tie in d is deflated first
        linalg.secular_equation_roots([1.0, 1.0], [1.0, 1.0], 1.0)
    with pytest.raises(ValueError, match=r"\brho\b"):
        linalg.secular_equation_roots([0.0, 1.0], [1.0, 1.0], 0.0)
    with pytest.raises(ValueError, match=r"\bd\b"):
        linalg.secular_equation_roots(np.zeros(0), np.zeros(0), 1.0)


def _degenerate_jacobi_eigh(rng):
    cases = [
        (np.zeros((4, 4)), np.zeros(4)),
        (np.ones((4, 4)), np.array([0.0, 0.0, 0.0, 4.0])),
        (2 * np.eye(3), np.full(3, 2.0)),
        (np.array([[-2.5]]), np.array([-2.5])),
    ]
    for cyclic in (True, False):
        for a, want in cases:
            result = linalg.jacobi_eigh(a, cyclic=cyclic)
            assert result.converged
            np.testing.assert_allclose(result.eigenvalues, want, rtol=0, atol=10 * EPS * max(1, np.abs(want).max()))
            _orthonormal_columns(result.eigenvectors)
        empty = linalg.jacobi_eigh(np.zeros((0, 0)), cyclic=cyclic)
        assert empty.converged and empty.eigenvalues.shape == (0,)
    with pytest.raises(TypeError, match="cyclic"):
        linalg.jacobi_eigh(np.eye(2), cyclic="no")


def _degenerate_jacobi_rotation(rng):
    assert linalg.jacobi_rotation(1.0, 0.0, 2.0) == (1.0, 0.0, 0.0)  # already diagonal
    c, s, t = linalg.jacobi_rotation(0.0, 0.0, 0.0)  # the zero matrix
    assert (c, s, t) == (1.0, 0.0, 0.0)
    c, s, t = linalg.jacobi_rotation(2.0, 1.0, 2.0)  # a tie on the diagonal: 45 degrees
    np.testing.assert_allclose([c, s, t], [np.sqrt(0.5), np.sqrt(0.5), 1.0], rtol=2 * EPS, atol=0)
    with pytest.raises(ValueError, match=r"\bapq\b"):
        linalg.jacobi_rotation(1.0, np.inf, 1.0)


def _degenerate_bidiagonalize(rng):
    for a in (np.zeros((5, 3)), np.ones((5, 3)), np.array([[-2.0]]), np.eye(3)):
        bd = linalg.bidiagonalize(a)
        b = np.diag(bd.d) + np.diag(bd.e, 1)
        np.testing.assert_allclose(bd.u @ b @ bd.v.T, a, rtol=0, atol=10 * EPS * max(1, np.abs(a).max()) * 5)
        _orthonormal_columns(bd.u)
        _orthonormal_columns(bd.v)
    empty = linalg.bidiagonalize(np.zeros((4, 0)))
    assert empty.d.shape == (0,) and empty.e.shape == (0,) and empty.u.shape == (4, 0)
    with pytest.raises(ValueError, match=r"\ba\b.*finite"):
        linalg.bidiagonalize(np.array([[np.inf], [1.0]]))


def _svd_degenerate(method):
    def check(rng):
        cases = [
            (np.zeros((5, 3)), np.zeros(3)),
            (np.ones((5, 3)), np.array([np.sqrt(15.0), 0.0, 0.0])),
            (np.eye(3)[:, ::-1] * 2, np.full(3, 2.0)),  # exact ties
            (np.array([[-2.0]]), np.array([2.0])),
        ]
        for a, want in cases:
            for matrix in (a, a.T):
                result = method(matrix)
                assert result.converged
                np.testing.assert_allclose(result.s, want, rtol=0, atol=20 * EPS * max(1, want.max()))
                _orthonormal_columns(result.u)
                _orthonormal_columns(result.vt.T)
                np.testing.assert_allclose((result.u * result.s) @ result.vt, matrix, rtol=0, atol=20 * EPS * 4)
        for shape in ((4, 0), (0, 4), (0, 0)):
            result = method(np.zeros(shape))
            assert result.s.shape == (0,) and result.u.shape == (shape[0], 0) and result.vt.shape == (0, shape[1])
        with pytest.raises(ValueError, match=r"\ba\b.*finite"):
            method(np.array([[np.inf, 1.0]]))

    return check


def _degenerate_round_robin_pairs(rng):
    assert linalg.round_robin_pairs(0) == []
    assert all(p.size == q.size == 0 for p, q in linalg.round_robin_pairs(1))  # one index: no pair
    ((p, q),) = linalg.round_robin_pairs(2)
    assert p.tolist() == [0] and q.tolist() == [1]
    with pytest.raises(ValueError, match=r"\bn\b"):
        linalg.round_robin_pairs(-1)


DEGENERATE = {
    P + "tridiagonalize": _degenerate_tridiagonalize,
    P + "symmetric_qr_eigen": _degenerate_symmetric_qr_eigen,
    P + "bisection_eigenvalues": _degenerate_bisection_eigenvalues,
    P + "sturm_count": _degenerate_sturm_count,
    P + "secular_equation_roots": _degenerate_secular_equation_roots,
    P + "jacobi_eigh": _degenerate_jacobi_eigh,
    P + "jacobi_rotation": _degenerate_jacobi_rotation,
    P + "bidiagonalize": _degenerate_bidiagonalize,
    P + "svd_golub_kahan": _svd_degenerate(linalg.svd_golub_kahan),
    P + "svd_jacobi": _svd_degenerate(linalg.svd_jacobi),
    P + "round_robin_pairs": _degenerate_round_robin_pairs,
}

NOT_DEGENERATE: dict[str, str] = {}
