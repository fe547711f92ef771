"""Householder reflectors and Givens rotations (src/mathguide/linalg/qr.py)."""

from __future__ import annotations

import numpy as np
import pytest

from mathguide.linalg import givens_rotation, householder_vector

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
    np.testing.assert_allclose(h, h.T, rtol=0, atol=0)
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
