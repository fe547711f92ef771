"""Scale laws and degenerate inputs of the eigenvalue chapters: eigen-basics, power-iteration, qr-algorithm.

Loaded by ``test_scale_registry.py`` (see its docstring). Each law scales the input by ``c`` (a power of
two, see ``_support.SCALES``) and checks the answer against the unscaled one: eigenvalues scale by ``c``,
eigenvectors, condition numbers, PageRank scores and iteration counts do not change.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from _support import obeys_or_refuses, relative_error
from scipy.optimize import linear_sum_assignment

from mathguide.linalg import (
    eigenvalue_condition_numbers,
    francis_step,
    gershgorin_discs,
    hessenberg,
    inverse_iteration,
    pagerank,
    power_iteration,
    pseudospectrum_grid,
    qr_algorithm,
    random_symmetric,
    rayleigh_quotient_iteration,
    schur_eigenvalues,
    subspace_iteration,
)

P = "mathguide.linalg."
EPS = np.finfo(np.float64).eps


def _matched(got, want) -> float:
    """Largest distance between two multisets of complex numbers, optimally matched, relative to max |want|."""
    got, want = np.asarray(got, dtype=complex), np.asarray(want, dtype=complex)
    scale = np.max(np.abs(want), initial=0.0) or 1.0
    cost = np.abs(got[:, None] / scale - want[None, :] / scale)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].max(initial=0.0))


def _symmetric(rng):
    return random_symmetric(np.array([-5.0, 3.0, 2.0, 1.0, 0.5, 0.1]), rng=rng)


# ---------------------------------------------------------------------------------------------
# Scale laws


def _law_gershgorin(c, rng):
    a = rng.standard_normal((6, 6))
    base = gershgorin_discs(a)

    def check(res):
        assert relative_error(res.centers / c, base.centers) <= 0
        assert relative_error(res.radii / c, base.radii) <= 4 * EPS

    obeys_or_refuses(lambda: gershgorin_discs(a * c), "a", check)


def _law_condition(c, rng):
    a = rng.standard_normal((6, 6))
    base = eigenvalue_condition_numbers(a)

    def check(res):
        assert _matched(res.eigenvalues / c, base.eigenvalues) <= 1e-13
        assert relative_error(np.sort(res.condition_numbers), np.sort(base.condition_numbers)) <= 1e-10

    obeys_or_refuses(lambda: eigenvalue_condition_numbers(a * c), "a", check)


def _law_pseudospectrum(c, rng):
    a = rng.standard_normal((5, 5))
    real, imag = np.linspace(-3, 3, 7), np.linspace(-2, 2, 5)
    base = pseudospectrum_grid(a, real, imag)

    def check(sigma):
        assert relative_error(sigma / c, base) <= 1e-13

    obeys_or_refuses(lambda: pseudospectrum_grid(a * c, real * c, imag * c), "a", check)


def _law_hessenberg(c, rng):
    a = rng.standard_normal((7, 7))
    base = hessenberg(a)

    def check(res):
        assert relative_error(res.h / c, base.h) <= 1e-14
        assert relative_error(res.q, base.q) <= 1e-14

    obeys_or_refuses(lambda: hessenberg(a * c), "a", check)


def _law_francis(c, rng):
    h = np.triu(rng.standard_normal((7, 7)), -1)
    base = francis_step(h)

    def check(res):
        assert relative_error(res.h / c, base.h) <= 1e-14
        assert relative_error(res.q, base.q) <= 1e-14

    obeys_or_refuses(lambda: francis_step(h * c), "h", check)


def _law_qr_algorithm(c, rng):
    a = rng.standard_normal((8, 8))
    base = qr_algorithm(a)
    exact = scipy.linalg.eigvals(a)

    def check(res):
        assert res.converged and res.iterations == base.iterations
        assert _matched(res.eigenvalues / c, exact) <= 1e-12

    obeys_or_refuses(lambda: qr_algorithm(a * c), "a", check)


def _law_schur_eigenvalues(c, rng):
    t = np.triu(rng.standard_normal((5, 5)))
    t[1, 0], t[0, 1] = -abs(t[0, 1]) - 1, abs(t[0, 1]) + 1  # a 2-by-2 block with a complex pair
    base = schur_eigenvalues(t)

    def check(eigenvalues):
        assert _matched(eigenvalues / c, base) <= 4 * EPS

    obeys_or_refuses(lambda: schur_eigenvalues(t * c), "t", check)


def _eigenpair_law(run):
    def law(c, rng):
        a = _symmetric(rng)
        x0 = rng.standard_normal(6)
        base = run(a, x0, 1.0)
        assert base.converged

        def check(res):
            assert res.converged and res.iterations == base.iterations
            assert abs(res.eigenvalue / c - base.eigenvalue) <= 1e-12 * abs(base.eigenvalue)
            assert relative_error(np.abs(res.eigenvector), np.abs(base.eigenvector)) <= 1e-12

        obeys_or_refuses(lambda: run(a, x0, c), "a", check)

    return law


def _law_subspace(c, rng):
    a = _symmetric(rng)
    x0 = rng.standard_normal((6, 2))
    base = subspace_iteration(a, x0)

    def check(res):
        assert res.converged and res.iterations == base.iterations
        assert _matched(res.eigenvalues / c, base.eigenvalues) <= 1e-12

    obeys_or_refuses(lambda: subspace_iteration(a * c, x0), "a", check)


def _law_pagerank(c, rng):
    w = (rng.random((8, 8)) < 0.4) * rng.random((8, 8))
    w[3] = 0  # a dangling page
    base = pagerank(w, tol=1e-13)

    def check(res):
        assert res.converged and res.iterations == base.iterations
        assert relative_error(res.scores, base.scores) <= 1e-14

    obeys_or_refuses(lambda: pagerank(w * c, tol=1e-13), "adjacency", check)


LAWS = {
    P + "gershgorin_discs": _law_gershgorin,
    P + "eigenvalue_condition_numbers": _law_condition,
    P + "pseudospectrum_grid": _law_pseudospectrum,
    P + "hessenberg": _law_hessenberg,
    P + "francis_step": _law_francis,
    P + "qr_algorithm": _law_qr_algorithm,
    P + "schur_eigenvalues": _law_schur_eigenvalues,
    P + "power_iteration": _eigenpair_law(lambda a, x0, c: power_iteration(a * c, x0)),
    P + "inverse_iteration": _eigenpair_law(lambda a, x0, c: inverse_iteration(a * c, -4.6 * c, x0)),
    P + "rayleigh_quotient_iteration": _eigenpair_law(lambda a, x0, c: rayleigh_quotient_iteration(a * c, x0)),
    P + "subspace_iteration": _law_subspace,
    P + "pagerank": _law_pagerank,
}
NO_LAW: dict[str, str] = {}


# ---------------------------------------------------------------------------------------------
# Degenerate inputs: zero matrix, 1x1, 0x0, exact ties


def _degenerate_gershgorin(rng):
    centers, radii = gershgorin_discs(np.zeros((3, 3)))
    assert np.all(centers == 0) and np.all(radii == 0)
    centers, radii = gershgorin_discs([[7.0]])
    assert centers.tolist() == [7.0] and radii.tolist() == [0.0]
    assert gershgorin_discs(np.zeros((0, 0))).radii.shape == (0,)


def _degenerate_condition(rng):
    for a in (np.zeros((3, 3)), np.eye(3), np.array([[2.0]])):  # normal: every kappa is 1
        res = eigenvalue_condition_numbers(a)
        np.testing.assert_allclose(res.condition_numbers, 1.0, rtol=0, atol=1e-12)
        np.testing.assert_allclose(np.sort(res.eigenvalues.real), np.sort(np.diagonal(a)), rtol=0, atol=0)


def _degenerate_pseudospectrum(rng):
    real, imag = np.array([-1.0, 0.0, 2.0]), np.array([0.0, 1.0])
    z = real[None, :] + 1j * imag[:, None]
    np.testing.assert_allclose(pseudospectrum_grid(np.zeros((3, 3)), real, imag), np.abs(z), rtol=0, atol=1e-15)
    np.testing.assert_allclose(pseudospectrum_grid([[2.0]], real, imag), np.abs(z - 2), rtol=0, atol=1e-15)
    assert pseudospectrum_grid(np.eye(2), np.zeros(0), imag).shape == (2, 0)


def _degenerate_hessenberg(rng):
    for a in (np.zeros((4, 4)), np.array([[3.0]]), np.zeros((0, 0)), np.ones((4, 4))):
        h, q = hessenberg(a)
        assert not np.any(np.tril(h, -2))
        np.testing.assert_allclose(q @ h @ q.T, a, rtol=0, atol=1e-14 * max(1, a.size))


def _degenerate_francis(rng):
    h, q = francis_step(np.zeros((4, 4)))  # shifts 0, first column 0: the identity step
    assert np.all(h == 0) and np.all(q == np.eye(4))
    h0 = np.triu(np.ones((4, 4)), -1)
    h0[2, 1] = 0.0  # reduced: a zero on the subdiagonal
    h, q = francis_step(h0)
    np.testing.assert_allclose(q @ h @ q.T, h0, rtol=0, atol=1e-14)


def _degenerate_qr_algorithm(rng):
    res = qr_algorithm(np.zeros((4, 4)))
    assert res.converged and np.all(res.eigenvalues == 0)
    assert qr_algorithm([[5.0]]).eigenvalues.tolist() == [5.0]
    assert qr_algorithm(np.zeros((0, 0))).eigenvalues.shape == (0,)
    # exact ties: a multiple eigenvalue, and the rank-one ones((4, 4)) (eigenvalues 4, 0, 0, 0)
    assert np.all(qr_algorithm(2 * np.eye(5)).eigenvalues == 2)
    np.testing.assert_allclose(np.sort(qr_algorithm(np.ones((4, 4))).eigenvalues.real), [0, 0, 0, 4], rtol=0,
                               atol=1e-14)


def _degenerate_schur(rng):
    assert np.all(schur_eigenvalues(np.zeros((3, 3))) == 0)
    assert schur_eigenvalues([[1.5]]).tolist() == [1.5]
    assert schur_eigenvalues(np.zeros((0, 0))).shape == (0,)


def _degenerate_eigenpair(run, name):
    def check(rng):
        x0 = np.array([1.0, 2.0, 3.0])
        # zero matrix: every vector is an eigenvector for 0; identity: every vector for 1 (a tie)
        for a, value in ((np.zeros((3, 3)), 0.0), (np.eye(3), 1.0), (np.array([[4.0]]), 4.0)):
            res = run(a, x0[: a.shape[0]])
            assert res.converged and abs(res.eigenvalue - value) <= 1e-15, name

    return check


def _degenerate_subspace(rng):
    res = subspace_iteration(np.zeros((3, 3)), np.eye(3)[:, :2])
    assert res.converged and np.all(res.eigenvalues == 0)
    res = subspace_iteration(np.array([[2.0]]), np.ones((1, 1)))
    assert res.converged and res.eigenvalues.tolist() == [2.0]


def _degenerate_pagerank(rng):
    np.testing.assert_allclose(pagerank(np.zeros((4, 4))).scores, 0.25, rtol=1e-15, atol=0)
    assert pagerank([[0.0]]).scores.tolist() == [1.0]
    assert pagerank(np.zeros((0, 0))).scores.shape == (0,)


DEGENERATE = {
    P + "gershgorin_discs": _degenerate_gershgorin,
    P + "eigenvalue_condition_numbers": _degenerate_condition,
    P + "pseudospectrum_grid": _degenerate_pseudospectrum,
    P + "hessenberg": _degenerate_hessenberg,
    P + "francis_step": _degenerate_francis,
    P + "qr_algorithm": _degenerate_qr_algorithm,
    P + "schur_eigenvalues": _degenerate_schur,
    P + "power_iteration": _degenerate_eigenpair(power_iteration, "power_iteration"),
    P + "inverse_iteration": _degenerate_eigenpair(
        lambda a, x0: inverse_iteration(a, float(a[0, 0]), x0), "inverse_iteration"
    ),
    P + "rayleigh_quotient_iteration": _degenerate_eigenpair(rayleigh_quotient_iteration, "rayleigh"),
    P + "subspace_iteration": _degenerate_subspace,
    P + "pagerank": _degenerate_pagerank,
}
NOT_DEGENERATE: dict[str, str] = {}
