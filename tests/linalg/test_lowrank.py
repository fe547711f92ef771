"""Tests of mathguide.linalg.lowrank: truncated SVD (Eckart–Young–Mirsky) and the randomized SVD."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mathguide.linalg.lowrank import TruncatedSVD, randomized_range_finder, randomized_svd, truncated_svd
from mathguide.linalg.matrices import random_matrix
from mathguide.seeding import seeded_rng

EPS = np.finfo(np.float64).eps



def _with_spectrum(rng: np.random.Generator, m: int, n: int, s: np.ndarray) -> np.ndarray:
    """An m x n matrix with singular values ``s`` (len(s) = min(m, n)) and random singular vectors."""
    return random_matrix(m, n, singular_values=s, rng=rng)


def _reconstruct(t: TruncatedSVD) -> np.ndarray:
    return (t.u * t.s[..., np.newaxis, :]) @ t.vt


# ---------------------------------------------------------------- truncated_svd


@pytest.mark.parametrize(
    "shape, k", [((1, 1), 1), ((5, 1), 1), ((1, 5), 0), ((6, 4), 2), ((4, 6), 4), ((3, 7, 5), 3), ((0, 3), 0)]
)
def test_truncated_svd_shapes_and_factors(rng, shape, k):
    a = rng.standard_normal(shape)
    t = truncated_svd(a, k)
    *batch, m, n = shape
    assert t.u.shape == (*batch, m, k) and t.s.shape == (*batch, k) and t.vt.shape == (*batch, k, n)
    # orthonormal factors, non-increasing non-negative values
    eye = np.broadcast_to(np.eye(k), (*batch, k, k))
    np.testing.assert_allclose(np.swapaxes(t.u, -1, -2) @ t.u, eye, atol=10 * max(m, n) * EPS, rtol=0)
    np.testing.assert_allclose(t.vt @ np.swapaxes(t.vt, -1, -2), eye, atol=10 * max(m, n) * EPS, rtol=0)
    assert np.all(np.diff(t.s, axis=-1) <= 0) and np.all(t.s >= 0)


@pytest.mark.parametrize("m, n, k", [(8, 6, 1), (8, 6, 3), (6, 8, 5), (10, 10, 9)])
def test_eckart_young_errors_exact(rng, m, n, k):
    a = rng.standard_normal((m, n))
    # Independent oracle: singular values from the symmetric eigensolver on the Gram matrix
    # (a second algorithm; truncated_svd itself uses the SVD).
    gram = a.T @ a if m >= n else a @ a.T
    s = np.sqrt(np.maximum(np.linalg.eigvalsh(gram)[::-1], 0.0))
    ak = _reconstruct(truncated_svd(a, k))
    # Gram-matrix singular values are accurate to about EPS * s[0]^2 / s_i in absolute terms.
    scale = s[0] * 10 * max(m, n) * EPS * (1 + s[0] / s[min(m, n) - 1])
    np.testing.assert_allclose(np.linalg.norm(a - ak, 2), s[k], rtol=0, atol=scale)
    np.testing.assert_allclose(np.linalg.norm(a - ak, "fro"), np.sqrt(np.sum(s[k:] ** 2)), rtol=0, atol=scale)
    assert np.linalg.matrix_rank(ak) == k


def test_eckart_young_no_random_rank_k_matrix_beats_it(rng):
    m, n, k = 9, 7, 3
    a = rng.standard_normal((m, n))
    s = np.linalg.svd(a, compute_uv=False)
    best2, bestf = s[k], np.sqrt(np.sum(s[k:] ** 2))
    # 500 competitors of rank <= k: random products, and perturbations of the optimum itself
    ak = _reconstruct(truncated_svd(a, k))
    random_products = rng.standard_normal((250, m, k)) @ rng.standard_normal((250, k, n))
    t = truncated_svd(ak + 0.05 * rng.standard_normal((250, m, n)), k)  # rank-k matrices near A_k
    competitors = np.concatenate([random_products, _reconstruct(t)])
    err2 = np.linalg.norm(a - competitors, ord=2, axis=(-2, -1))
    errf = np.linalg.norm(a - competitors, ord="fro", axis=(-2, -1))
    assert err2.min() >= best2 * (1 - 10 * EPS)
    assert errf.min() >= bestf * (1 - 10 * EPS)


def test_eckart_young_competitors_near_the_optimum(rng):
    """Perturbed optimal factors never beat A_k; alternating least squares from there returns to it."""
    m, n, k = 9, 7, 3
    a = rng.standard_normal((m, n))
    t = truncated_svd(a, k)
    best = np.linalg.norm(a - _reconstruct(t))
    for delta in (1e-2, 1e-5):
        b = t.u * t.s + delta * rng.standard_normal((200, m, k))
        c = t.vt + delta * rng.standard_normal((200, k, n))
        assert np.linalg.norm(a - b @ c, axis=(-2, -1)).min() >= best * (1 - 1e-12)
    b, c = t.u * t.s + 0.1 * rng.standard_normal((m, k)), t.vt + 0.1 * rng.standard_normal((k, n))
    for _ in range(200):
        b = np.linalg.lstsq(c.T, a.T, rcond=None)[0].T
        c = np.linalg.lstsq(b, a, rcond=None)[0]
    np.testing.assert_allclose(np.linalg.norm(a - b @ c), best, rtol=1e-9, atol=0)


def test_eckart_young_check_detects_a_suboptimal_truncation(rng):
    """The check above can fail: dropping the k-th triplet for the (k+1)-th is beaten by A_k."""
    a = rng.standard_normal((9, 7))
    t = truncated_svd(a, 4)
    keep = [0, 1, 3]
    wrong = (t.u[:, keep] * t.s[keep]) @ t.vt[keep]
    assert np.linalg.norm(a - wrong) > np.linalg.norm(a - _reconstruct(truncated_svd(a, 3))) * (1 + 1e-6)


def test_truncated_svd_ties_keep_optimal_error():
    a = np.diag([3.0, 2.0, 2.0, 1.0])
    ak = _reconstruct(truncated_svd(a, 2))
    np.testing.assert_allclose(np.linalg.norm(a - ak, 2), 2.0, rtol=4 * EPS, atol=0)
    np.testing.assert_allclose(np.linalg.norm(a - ak, "fro"), np.sqrt(5.0), rtol=4 * EPS, atol=0)


def test_truncated_svd_full_rank_k_reconstructs(rng):
    a = rng.standard_normal((2, 5, 4))
    np.testing.assert_allclose(_reconstruct(truncated_svd(a, 4)), a, rtol=0, atol=20 * EPS * np.abs(a).max())


# ---------------------------------------------------------------- randomized SVD


def test_randomized_svd_exact_on_low_rank(rng):
    # rank-5 matrix, k = 5: the range finder captures range(A) with probability 1
    m, n, r = 60, 40, 5
    a = rng.standard_normal((m, r)) @ rng.standard_normal((r, n))
    t = randomized_svd(a, r, oversample=5, power_iterations=0, rng=rng)
    s = np.linalg.svd(a, compute_uv=False)
    np.testing.assert_allclose(t.s, s[:r], rtol=1e3 * EPS * s[0] / s[r - 1], atol=0)
    np.testing.assert_allclose(_reconstruct(t), a, rtol=0, atol=1e3 * EPS * s[0] * s[0] / s[r - 1])


def test_randomized_range_finder_average_error_within_halko_bound(rng):
    # Halko, Martinsson and Tropp (2011), Theorem 10.6, q = 0, k >= 2, p >= 2, k + p <= min(m, n):
    # E ||A - Q Q^T A|| <= (1 + sqrt(k/(p-1))) sigma_{k+1} + e sqrt(k+p)/p * sqrt(sum_{j>k} sigma_j^2).
    m, n, k, p = 80, 60, 10, 5
    s = 1.0 / np.arange(1, n + 1)  # slowly decaying: a hard case for the range finder
    a = _with_spectrum(rng, m, n, s)
    bound = (1 + np.sqrt(k / (p - 1))) * s[k] + np.e * np.sqrt(k + p) / p * np.sqrt(np.sum(s[k:] ** 2))
    trials = 200
    q = randomized_range_finder(np.broadcast_to(a, (trials, m, n)), k + p, power_iterations=0, rng=rng)
    errors = np.linalg.norm(a - q @ (np.swapaxes(q, -1, -2) @ a), ord=2, axis=(-2, -1))
    # sample mean + 3 standard errors stays below the bound on the expectation
    mean, se = errors.mean(), errors.std(ddof=1) / np.sqrt(trials)
    assert mean + 3 * se <= bound
    # and no draw beats the optimum sigma_{k+1} (Eckart–Young: rank(QQ^T A) <= k + p, so >= sigma_{k+p+1})
    assert errors.min() >= s[k + p] * (1 - 1e-12)


def test_range_finder_within_halko_bounds_on_flat_tail(rng):
    # A spectrum with a gap and a flat tail (sigma_j = 1 for j <= k, delta after), where the Frobenius
    # bound is nearly attained, so the check is sharp. Halko, Martinsson and Tropp (2011), q = 0:
    # Theorem 10.5: E ||A - QQ^T A||_F <= (1 + k/(p-1))^{1/2} (sum_{j>k} sigma_j^2)^{1/2},
    # Theorem 10.6: E ||A - QQ^T A||_2 <= (1 + sqrt(k/(p-1))) sigma_{k+1} + e sqrt(k+p)/p (sum ...)^{1/2}.
    m, n, k, p, delta, trials = 80, 60, 10, 5, 1e-3, 200
    s = np.r_[np.ones(k), np.full(n - k, delta)]
    a = _with_spectrum(rng, m, n, s)
    tail = np.sqrt(np.sum(s[k:] ** 2))
    bound_f = np.sqrt(1 + k / (p - 1)) * tail
    bound_2 = (1 + np.sqrt(k / (p - 1))) * s[k] + np.e * np.sqrt(k + p) / p * tail
    stack = np.broadcast_to(a, (trials, m, n))

    def errors(size):
        q = randomized_range_finder(stack, size, power_iterations=0, rng=rng)
        r = a - q @ (np.swapaxes(q, -1, -2) @ a)
        return np.linalg.norm(r, "fro", axis=(-2, -1)), np.linalg.norm(r, 2, axis=(-2, -1))

    err_f, err_2 = errors(k + p)
    # a bound on the expectation is contradicted only by a sample mean above it by > 3 standard errors
    for err, bound in ((err_f, bound_f), (err_2, bound_2)):
        assert err.mean() - 3 * err.std(ddof=1) / np.sqrt(trials) <= bound
    # Eckart-Young: rank(QQ^T A) <= k + p, so every draw is at least the rank-(k+p) optimum
    assert err_f.min() >= np.sqrt(np.sum(s[k + p :] ** 2)) * (1 - 1e-12)
    # negative control: the check can fail. With one extra column (p = 1, outside the theorem), the tail
    # leaks in through the pseudo-inverse of an ill-conditioned k x (k+1) Gaussian block, and the mean
    # error exceeds the p = 5 Frobenius bound by far (about 2.4 times here).
    err_f_short, _ = errors(k + 1)
    assert err_f_short.mean() - 3 * err_f_short.std(ddof=1) / np.sqrt(trials) > bound_f


def test_randomized_svd_rank_k_error_bound(rng):
    # ||A - U_k S_k V_k^T|| <= sigma_{k+1} + ||A - Q Q^T A|| for every draw
    m, n, k = 50, 40, 6
    s = 0.7 ** np.arange(n)
    a = _with_spectrum(rng, m, n, s)
    for q_iter in (0, 1, 3):
        draw = seeded_rng(q_iter)
        t = randomized_svd(a, k, oversample=4, power_iterations=q_iter, rng=draw)
        q = randomized_range_finder(a, k + 4, power_iterations=q_iter, rng=seeded_rng(q_iter))
        err_k = np.linalg.norm(a - _reconstruct(t), 2)
        err_q = np.linalg.norm(a - q @ (q.T @ a), 2)
        assert s[k] * (1 - 1e-12) <= err_k <= s[k] + err_q + 100 * EPS


def test_power_iterations_reduce_error(rng):
    m, n, k = 80, 60, 5
    s = 1.0 / np.sqrt(np.arange(1, n + 1))  # flat tail: power iterations matter
    a = _with_spectrum(rng, m, n, s)
    trials = 50
    stack = np.broadcast_to(a, (trials, m, n))
    mean_error = []
    for q_iter in (0, 2):
        t = randomized_svd(stack, k, oversample=5, power_iterations=q_iter, rng=rng)
        mean_error.append(np.linalg.norm(a - _reconstruct(t), ord=2, axis=(-2, -1)).mean())
    assert mean_error[1] < mean_error[0]


def test_randomized_svd_reproducible_and_batched(rng):
    a = rng.standard_normal((3, 20, 15))
    t1 = randomized_svd(a, 4, rng=seeded_rng(7))
    t2 = randomized_svd(a, 4, rng=seeded_rng(7))
    np.testing.assert_array_equal(t1.s, t2.s)
    # another seed, another sketch: the approximate singular values differ (in the last digits)
    assert not np.array_equal(randomized_svd(a, 4, rng=seeded_rng(8), power_iterations=0).s,
                              randomized_svd(a, 4, rng=seeded_rng(7), power_iterations=0).s)
    assert t1.u.shape == (3, 20, 4) and t1.s.shape == (3, 4) and t1.vt.shape == (3, 4, 15)
    # k + oversample >= min(m, n): the range finder spans everything and the result is the exact SVD
    t = randomized_svd(a, 4, oversample=50, power_iterations=0, rng=seeded_rng(0))
    np.testing.assert_allclose(t.s, truncated_svd(a, 4).s, rtol=1e3 * EPS, atol=0)


def test_randomized_svd_edge_shapes(rng):
    t = randomized_svd(np.zeros((0, 4)), 0, rng=seeded_rng(0))
    assert t.u.shape == (0, 0) and t.s.shape == (0,) and t.vt.shape == (0, 4)
    col = rng.standard_normal((5, 1))
    t = randomized_svd(col, 1, rng=seeded_rng(0))
    # independent oracle: a column's only singular value is its norm, and rank 1 reconstructs it
    np.testing.assert_allclose(t.s, [np.linalg.norm(col)], rtol=10 * EPS, atol=0)
    np.testing.assert_allclose(_reconstruct(t), col, rtol=0, atol=10 * EPS * np.linalg.norm(col))
    row = rng.standard_normal((1, 5))
    t = randomized_svd(row, 1, oversample=3, power_iterations=1, rng=seeded_rng(0))
    np.testing.assert_allclose(t.s, [np.linalg.norm(row)], rtol=10 * EPS, atol=0)
    np.testing.assert_allclose(_reconstruct(t), row, rtol=0, atol=10 * EPS * np.linalg.norm(row))


# ---------------------------------------------------------------- validation, purity


@pytest.mark.parametrize("k", [-1, 5])
def test_bad_k(k):
    a = np.ones((4, 6))
    with pytest.raises(ValueError, match=r"k must be an integer in \[0, 4\]"):
        truncated_svd(a, k)
    with pytest.raises(ValueError, match=r"k must be an integer in \[0, 4\]"):
        randomized_svd(a, k, rng=seeded_rng(0))


@pytest.mark.parametrize(
    "size, error, message",
    [
        (-1, ValueError, r"size must be an integer in \[0, 4\], got -1"),
        (5, ValueError, r"size must be an integer in \[0, 4\], got 5"),
        (2.0, TypeError, "size must be an integer, got 2.0"),
        (True, TypeError, "size must be an integer, got True"),
        (None, TypeError, "size must be an integer, got None"),
    ],
)
def test_range_finder_bad_size(size, error, message):
    with pytest.raises(error, match=message):
        randomized_range_finder(np.ones((4, 6)), size, rng=seeded_rng(0))


def test_range_finder_bad_power_iterations_and_rng():
    with pytest.raises(ValueError, match="power_iterations must be an integer >= 0"):
        randomized_range_finder(np.ones((4, 6)), 2, power_iterations=-1, rng=seeded_rng(0))
    with pytest.raises(TypeError, match="rng"):
        randomized_range_finder(np.ones((4, 6)), 2, rng=None)


def test_bad_types():
    a = np.ones((4, 6))
    with pytest.raises(TypeError, match="k must be an integer"):
        truncated_svd(a, 2.0)
    with pytest.raises(TypeError, match="k must be an integer"):
        truncated_svd(a, True)
    with pytest.raises(TypeError, match="rng"):
        randomized_svd(a, 2, rng=None)
    with pytest.raises(ValueError, match="oversample must be an integer >= 0"):
        randomized_svd(a, 2, oversample=-1, rng=seeded_rng(0))
    with pytest.raises(ValueError, match="power_iterations must be an integer >= 0"):
        randomized_svd(a, 2, power_iterations=-1, rng=seeded_rng(0))
    with pytest.raises(ValueError, match="a must be finite"):
        truncated_svd(np.array([[np.inf, 1.0]]), 1)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        randomized_svd(np.ones(3), 1, rng=seeded_rng(0))


def test_inputs_not_mutated(rng):
    a = rng.standard_normal((7, 5))
    a0 = a.copy()
    truncated_svd(a, 2), randomized_svd(a, 2, rng=seeded_rng(0)), randomized_range_finder(a, 3, rng=seeded_rng(0))
    np.testing.assert_array_equal(a, a0)


@given(
    # entries 0 or of magnitude in [1e-3, 10]: far from underflow, where relative precision is lost
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=7),
        elements=st.one_of(st.just(0.0), st.floats(1e-3, 10), st.floats(-10, -1e-3)),
    ),
    st.data(),
)
def test_property_truncation_error_is_tail_of_spectrum(a, data):
    k = data.draw(st.integers(0, min(a.shape)))
    s = np.linalg.svd(a, compute_uv=False)
    ak = _reconstruct(truncated_svd(a, k))
    tol = 20 * max(a.shape) * EPS * max(s[0], np.finfo(float).tiny)
    tail2 = s[k] if k < s.size else 0.0
    np.testing.assert_allclose(np.linalg.norm(a - ak, 2), tail2, rtol=0, atol=tol)
    np.testing.assert_allclose(np.linalg.norm(a - ak, "fro"), np.sqrt(np.sum(s[k:] ** 2)), rtol=0, atol=tol)
