"""Test matrices with prescribed singular values (src/mathguide/linalg/matrices.py)."""

from __future__ import annotations

import numpy as np
import pytest

from mathguide.linalg import random_matrix, random_orthogonal, random_symmetric
from mathguide.seeding import seeded_rng

EPS64 = np.finfo(np.float64).eps


@pytest.mark.parametrize("n, batch", [(1, ()), (4, ()), (7, (3,)), (5, (2, 2))])
def test_random_orthogonal_is_orthogonal(rng, n, batch) -> None:
    q = random_orthogonal(n, batch=batch, rng=rng)
    assert q.shape == (*batch, n, n)
    gram = np.swapaxes(q, -1, -2) @ q
    np.testing.assert_allclose(gram, np.broadcast_to(np.eye(n), gram.shape), rtol=0, atol=20 * n * EPS64)


def test_random_orthogonal_is_haar_by_its_mean_trace(rng) -> None:
    # For Haar-distributed Q in O(n), E[tr Q] = 0 and Var[tr Q] = 1 (Diaconis and Shahshahani). QR
    # without the sign fix gives E[tr Q] > 0; the mean over 4000 draws has standard error 1/sqrt(4000).
    traces = np.trace(random_orthogonal(6, batch=(4000,), rng=rng), axis1=-2, axis2=-1)
    assert abs(traces.mean()) < 4 / np.sqrt(traces.size)
    assert abs(traces.var() - 1.0) < 0.15


@pytest.mark.parametrize("m, n", [(5, 5), (8, 3), (3, 8), (1, 1)])
def test_random_matrix_has_the_requested_singular_values(rng, m, n) -> None:
    k = min(m, n)
    sigma = np.sort(rng.uniform(0.1, 10.0, k))[::-1]
    a = random_matrix(m, n, singular_values=sigma, rng=rng)
    assert a.shape == (m, n)
    np.testing.assert_allclose(np.linalg.svd(a, compute_uv=False), sigma, rtol=50 * EPS64 * 10 / 0.1, atol=0)


def test_random_matrix_condition_and_batch(rng) -> None:
    a = random_matrix(6, 4, condition=1e6, batch=(3,), rng=rng)
    assert a.shape == (3, 6, 4)
    np.testing.assert_allclose(np.linalg.cond(a), 1e6, rtol=1e-8, atol=0)


def test_random_matrix_rank_deficient_and_float32(rng) -> None:
    a = random_matrix(5, 4, singular_values=[3.0, 2.0, 0.0, 0.0], rng=rng)
    assert np.linalg.matrix_rank(a) == 2
    assert random_matrix(3, condition=10, dtype=np.float32, rng=rng).dtype == np.float32


def test_random_matrix_is_seeded(rng) -> None:
    first = random_matrix(4, condition=10, rng=seeded_rng(1))
    np.testing.assert_array_equal(first, random_matrix(4, condition=10, rng=seeded_rng(1)))
    assert not np.allclose(first, random_matrix(4, condition=10, rng=seeded_rng(2)), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({}, ValueError, "exactly one of singular_values and condition"),
        ({"condition": 10, "singular_values": [1, 1, 1]}, ValueError, "exactly one"),
        ({"condition": 0.5}, ValueError, "condition must be >= 1"),
        ({"singular_values": [1.0, 2.0]}, ValueError, "singular_values must have shape"),
        ({"singular_values": [1.0, -2.0, 1.0]}, ValueError, "non-negative"),
        ({"condition": 10, "dtype": np.int64}, TypeError, "dtype must be float32 or float64"),
        ({"condition": 10, "rng": None}, TypeError, "rng must be"),
    ],
)
def test_random_matrix_rejects_bad_arguments(kwargs, error, message) -> None:
    kwargs.setdefault("rng", 0)
    with pytest.raises(error, match=message):
        random_matrix(3, **kwargs)


def test_random_matrix_rejects_bad_shape() -> None:
    with pytest.raises(ValueError, match="m must be an integer >= 1, got 0"):
        random_matrix(0, condition=2, rng=seeded_rng(0))
    with pytest.raises(TypeError, match="n must be an integer"):
        random_matrix(3, 2.0, condition=2, rng=seeded_rng(0))


# --- poisson_matrix ---------------------------------------------------------------------------------

from mathguide.linalg import poisson_matrix  # noqa: E402


@pytest.mark.parametrize("n", [1, 2, 7, 20])
def test_poisson_matrix_1d_eigenvalues_match_the_closed_form(n) -> None:
    a = poisson_matrix(n)
    assert a.shape == (n, n) and a.format == "csr"
    j = np.arange(1, n + 1)
    expected = 4 * np.sin(j * np.pi / (2 * (n + 1))) ** 2
    np.testing.assert_allclose(np.linalg.eigvalsh(a.toarray()), expected, rtol=0, atol=50 * n * EPS64)


@pytest.mark.parametrize("n", [1, 3, 6])
def test_poisson_matrix_2d_is_the_five_point_stencil(n) -> None:
    a = poisson_matrix(n, dim=2).toarray()
    assert a.shape == (n * n, n * n)
    # Brute force: the stencil 4u_ij - u_{i-1,j} - u_{i+1,j} - u_{i,j-1} - u_{i,j+1}, row-by-row numbering.
    brute = np.zeros((n * n, n * n))
    for i in range(n):
        for j in range(n):
            brute[i * n + j, i * n + j] = 4.0
            for di, dj in [(-1, 0), (1, 0), (0, -1), (0, 1)]:
                if 0 <= i + di < n and 0 <= j + dj < n:
                    brute[i * n + j, (i + di) * n + j + dj] = -1.0
    np.testing.assert_array_equal(a, brute)
    theta = np.arange(1, n + 1) * np.pi / (2 * (n + 1))
    expected = np.sort((4 * np.sin(theta)[:, None] ** 2 + 4 * np.sin(theta)[None, :] ** 2).ravel())
    np.testing.assert_allclose(np.linalg.eigvalsh(a), expected, rtol=0, atol=100 * n * EPS64)


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        ((0,), {}, ValueError, "n must be an integer"),
        ((2.5,), {}, TypeError, "n must be an integer"),
        ((3,), {"dim": 3}, ValueError, "dim must be an integer in \\[1, 2\\]"),
    ],
)
def test_poisson_matrix_rejects_bad_input(args, kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        poisson_matrix(*args, **kwargs)


def test_random_symmetric_has_the_requested_eigenvalues(rng) -> None:
    lam = np.array([5.0, -2.0, 1e-3, 0.0, 3.0])
    a = random_symmetric(lam, rng=rng)
    np.testing.assert_array_equal(a, a.T)
    np.testing.assert_allclose(np.linalg.eigvalsh(a), np.sort(lam), rtol=0, atol=20 * EPS64 * 5.0)
    assert not np.allclose(a, random_symmetric(lam, rng=rng), rtol=1e-3, atol=1e-3)  # fresh draws
    with pytest.raises(ValueError, match="eigenvalues must be a non-empty 1-D array"):
        random_symmetric(np.ones((2, 2)), rng=rng)
    with pytest.raises(TypeError, match="rng must be"):
        random_symmetric(lam, rng=None)
