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
    w = factors.v[n:]
    # the lower halves are MGS's q_j up to sign (a CGS q would differ by O(1) at kappa = 1e10; the top
    # halves e_j hold for any Householder code on [0; A] and prove nothing)
    np.testing.assert_allclose(w * -signs, q, rtol=0, atol=100 * U64 * 1e10)
    np.testing.assert_allclose(np.linalg.norm(w, axis=0), 1.0, rtol=0, atol=100 * EPS64)
    assert _loss(w) > 1e3 * U64 and _loss(q) > 1e3 * U64
    assert _loss(w) <= 100 * U64 * 1e10 and _loss(q) <= 100 * U64 * 1e10
    # while the Householder Q of A itself is orthogonal
    assert _loss(householder_qr(a).q) <= 100 * U64


@pytest.mark.parametrize(("kappa", "residual"), [(1e4, 0.0), (1e4, 1e-3), (1e8, 0.0), (1e8, 1e-10)])
def test_lstsq_mgs_is_accurate_where_naive_q_transpose_b_is_not(rng, kappa, residual) -> None:
    m, n = 80, 10
    u_full, v = random_orthogonal(m, rng=rng), random_orthogonal(n, rng=rng)
    a = (u_full[:, :n] * np.logspace(0, -np.log10(kappa), n)) @ v.T
    x_true = rng.standard_normal(n)
    r = u_full[:, n:] @ rng.standard_normal(m - n)
    b = a @ x_true + residual * r / np.linalg.norm(r) * np.linalg.norm(a @ x_true)
    x = lstsq_mgs(a, b)
    # Wedin's bound with a modest constant; the grid keeps it far below 1, so x = 0 cannot pass
    bound = 10 * n * U64 * (2 * kappa + kappa**2 * residual)
    assert bound < 1e-3
    assert np.linalg.norm(x - x_true) <= bound * np.linalg.norm(x_true)
    assert np.linalg.norm(x - scipy.linalg.lstsq(a, b)[0]) <= 2 * bound * np.linalg.norm(x_true)
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


@pytest.mark.parametrize("c", [1e-170, 1e-160, 1e160, 2.0**1000, 2.0**-1000])
@pytest.mark.parametrize("modified, reorthogonalize", VARIANTS)
def test_gram_schmidt_is_scale_invariant(rng, c, modified, reorthogonalize) -> None:
    # issue 26: LinAlgError "dependent" at 1e-170, orthogonality lost to 1e-4 at 1e-160, NaN at 1e160
    a = rng.standard_normal((20, 5))
    q0, r0 = gram_schmidt(a, modified=modified, reorthogonalize=reorthogonalize)
    q, r = gram_schmidt(a * c, modified=modified, reorthogonalize=reorthogonalize)
    assert _loss(q) <= 100 * U64
    np.testing.assert_allclose(q, q0, rtol=0, atol=1e-13)
    np.testing.assert_allclose(r / c, r0, rtol=0, atol=1e-13 * np.abs(r0).max())


@pytest.mark.parametrize("modified, reorthogonalize", VARIANTS)
def test_gram_schmidt_refuses_dependent_columns(rng, modified, reorthogonalize) -> None:
    # issue 26: np.ones((3, 2)) gave a Q with ||Q^T Q - I|| = 1; LinAlgError in 18 of 400 trials
    with pytest.raises(np.linalg.LinAlgError, match="column 1 of a is linearly dependent"):
        gram_schmidt(np.ones((3, 2)), modified=modified, reorthogonalize=reorthogonalize)
    for _ in range(100):
        m = int(rng.integers(3, 30))
        n = int(rng.integers(2, min(m, 8) + 1))
        a = rng.standard_normal((m, n)) * 10.0 ** rng.uniform(-200, 200)
        j = int(rng.integers(1, n))
        a[:, j] = a[:, :j] @ rng.standard_normal(j)
        with pytest.raises(np.linalg.LinAlgError, match=f"column {j} of a is linearly dependent"):
            gram_schmidt(a, modified=modified, reorthogonalize=reorthogonalize)


def test_gram_schmidt_flags_must_be_bool() -> None:
    with pytest.raises(TypeError, match="modified must be a bool"):
        gram_schmidt(np.eye(3), modified="no")
    with pytest.raises(TypeError, match="reorthogonalize must be a bool"):
        gram_schmidt(np.eye(3), reorthogonalize=1)
