"""Classical and modified Gram-Schmidt, re-orthogonalization, MGS least squares (linalg/gram_schmidt.py)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from mathguide.linalg import gram_schmidt, householder_qr, lstsq_mgs, random_matrix, random_orthogonal

EPS64 = np.finfo(np.float64).eps
EPS32 = np.finfo(np.float32).eps
U64 = EPS64 / 2
VARIANTS = [(False, False), (True, False), (False, True), (True, True)]


def _loss(q):
    return np.linalg.norm(np.eye(q.shape[1]) - q.T @ q, 2)


@pytest.mark.parametrize("modified, reorthogonalize", VARIANTS)
@pytest.mark.parametrize("shape", [(1, 1), (5, 5), (40, 12), (200, 1)])
def test_gram_schmidt_matches_lapack_qr_with_positive_diagonal(rng, modified, reorthogonalize, shape) -> None:
    a = random_matrix(*shape, condition=10.0, rng=rng)
    q, r = gram_schmidt(a, modified=modified, reorthogonalize=reorthogonalize)
    q_ref, r_ref = scipy.linalg.qr(a, mode="economic")
    signs = np.sign(np.diagonal(r_ref))
    q_ref, r_ref = q_ref * signs, r_ref * signs[:, None]
    assert np.all(np.diagonal(r) > 0)
    np.testing.assert_array_equal(np.tril(r, -1), 0)
    np.testing.assert_allclose(q, q_ref, rtol=0, atol=100 * shape[0] * EPS64)
    np.testing.assert_allclose(r, r_ref, rtol=0, atol=100 * shape[0] * EPS64)


@pytest.mark.parametrize("kappa", [1e4, 1e6])
def test_loss_of_orthogonality_follows_the_theory(rng, kappa) -> None:
    a = random_matrix(100, 20, condition=kappa, rng=rng)
    cgs = _loss(gram_schmidt(a, modified=False).q)
    mgs = _loss(gram_schmidt(a).q)
    cgs2 = _loss(gram_schmidt(a, modified=False, reorthogonalize=True).q)
    mgs2 = _loss(gram_schmidt(a, reorthogonalize=True).q)
    # CGS ~ kappa^2 u, MGS ~ kappa u (bounds with modest constants, and CGS clearly the worse)
    assert cgs <= 100 * 20 * U64 * kappa**2
    assert cgs >= 1e-3 * U64 * kappa**2
    assert mgs <= 100 * 20 * U64 * kappa
    assert cgs > 100 * mgs
    assert max(cgs2, mgs2) <= 100 * U64
    # the R factor is backward stable whatever Q does
    for modified in (False, True):
        q, r = gram_schmidt(a, modified=modified)
        r_ref = np.abs(np.linalg.qr(a).R)
        assert np.abs(np.abs(r) - r_ref).max() <= 1e3 * EPS64 * kappa * np.abs(r_ref).max()


def test_mgs_equals_householder_on_the_augmented_matrix(rng) -> None:
    # Bjorck-Paige: Householder QR of [0; A] has the same R as MGS of A (to rounding), and its
    # reflector vectors are [e_k; w_k] where the w_k play the part of the MGS columns q_k: unit
    # vectors that are NOT orthogonal, losing orthogonality like MGS does (about kappa u)
    n = 8
    a = random_matrix(40, n, condition=1e10, rng=rng)
    q, r = gram_schmidt(a)
    factors = householder_qr(np.vstack([np.zeros((n, n)), a]), mode="factored")
    signs = np.sign(np.diagonal(factors.r))
    np.testing.assert_allclose(factors.r * signs[:, None], r, rtol=0, atol=100 * EPS64 * np.abs(r).max())
    np.testing.assert_allclose(factors.v[:n], np.eye(n), rtol=0, atol=0)
    w = factors.v[n:]
    np.testing.assert_allclose(np.linalg.norm(w, axis=0), 1.0, rtol=0, atol=100 * EPS64)
    assert _loss(w) > 1e3 * U64 and _loss(q) > 1e3 * U64
    assert _loss(w) <= 100 * U64 * 1e10 and _loss(q) <= 100 * U64 * 1e10
    # while the Householder Q of A itself is orthogonal
    assert _loss(householder_qr(a).q) <= 100 * U64


@pytest.mark.parametrize("kappa", [1e4, 1e8])
@pytest.mark.parametrize("residual", [0.0, 1e-3])
def test_lstsq_mgs_is_accurate_where_naive_q_transpose_b_is_not(rng, kappa, residual) -> None:
    m, n = 80, 10
    u_full, v = random_orthogonal(m, rng=rng), random_orthogonal(n, rng=rng)
    a = (u_full[:, :n] * np.logspace(0, -np.log10(kappa), n)) @ v.T
    x_true = rng.standard_normal(n)
    r = u_full[:, n:] @ rng.standard_normal(m - n)
    b = a @ x_true + residual * r / np.linalg.norm(r) * np.linalg.norm(a @ x_true)
    x = lstsq_mgs(a, b)
    np.testing.assert_allclose(x, scipy.linalg.lstsq(a, b)[0], rtol=0,
                               atol=100 * n * U64 * (kappa + kappa**2 * residual) * np.linalg.norm(x_true))
    if kappa == 1e8 and residual == 0:
        q, r_factor = gram_schmidt(a)
        naive = scipy.linalg.solve_triangular(r_factor, q.T @ b)
        assert np.linalg.norm(naive - x_true) > 1e3 * np.linalg.norm(x - x_true)


def test_gram_schmidt_float32_and_no_mutation(rng) -> None:
    a = random_matrix(30, 6, condition=10.0, dtype=np.float32, rng=rng)
    copy = a.copy()
    q, r = gram_schmidt(a)
    assert q.dtype == r.dtype == np.float32
    np.testing.assert_allclose(q.astype(np.float64) @ r, a, rtol=0, atol=100 * EPS32)
    assert _loss(q.astype(np.float64)) <= 100 * 6 * EPS32 * 10
    np.testing.assert_array_equal(a, copy)
    x = lstsq_mgs(a, np.ones(30, dtype=np.float32))
    assert x.dtype == np.float32


def test_gram_schmidt_bad_input(rng) -> None:
    with pytest.raises(ValueError, match="at least as many rows as columns"):
        gram_schmidt(np.ones((2, 3)))
    with pytest.raises(np.linalg.LinAlgError, match="column 1 of a is linearly dependent"):
        gram_schmidt(np.array([[1.0, 2.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="a must be a 2-D array"):
        gram_schmidt(np.ones(3))
    with pytest.raises(ValueError, match=r"b must have shape \(5,\)"):
        lstsq_mgs(rng.standard_normal((5, 2)), np.ones(4))
    with pytest.raises(ValueError, match="more rows than columns"):
        lstsq_mgs(np.eye(2), np.ones(2))
