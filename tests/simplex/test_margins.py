"""Tests of mathguide.simplex.margins (chapter chapters/simplex/softmax-alternatives.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.polynomial import chebyshev

from mathguide.simplex.margins import angular_margin_logits, sphereface_psi


def _cosines_and_angles(rng, batch, n, dim=3):
    """Unit features and class vectors; angles from arctan2 (an independent route to theta)."""
    h = rng.standard_normal((batch, dim))
    w = rng.standard_normal((n, dim))
    h /= np.linalg.norm(h, axis=-1, keepdims=True)
    w /= np.linalg.norm(w, axis=-1, keepdims=True)
    cos = h @ w.T
    sin = np.linalg.norm(np.cross(h[:, None, :], w[None, :, :]), axis=-1)
    return cos, np.arctan2(sin, cos)


@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_psi_is_chebyshev_on_the_first_piece_continuous_and_decreasing(m):
    theta = np.linspace(0, math.pi, 20001)
    psi = sphereface_psi(theta, m)
    first = theta <= math.pi / m
    # cos(m theta) = T_m(cos theta): the L-softmax paper's own formula
    t_m = chebyshev.chebval(np.cos(theta[first]), [0] * m + [1])
    np.testing.assert_allclose(psi[first], t_m, rtol=0, atol=1e-12)
    assert np.all(np.diff(psi) < 0)  # strictly decreasing: no jump up at any piece boundary
    np.testing.assert_allclose([psi[0], psi[-1]], [1.0, 1.0 - 2 * m], rtol=0, atol=1e-12)
    jumps = np.abs(np.diff(psi)).max()
    assert jumps < 2 * m * m * (theta[1] - theta[0])  # continuous: steps bounded by |psi'| dtheta


def test_psi_with_m_1_is_cosine():
    theta = np.linspace(0, math.pi, 101)
    np.testing.assert_allclose(sphereface_psi(theta, 1), np.cos(theta), rtol=0, atol=1e-15)


@pytest.mark.parametrize("method, margin", [("arcface", 0.5), ("sphereface", 4)])
def test_target_logit_against_angles(rng, method, margin):
    cos, theta = _cosines_and_angles(rng, 50, 5)
    target = rng.integers(0, 5, size=50)
    out = angular_margin_logits(cos, target, method=method, margin=margin, scale=16.0)
    rows = np.arange(50)
    theta_t = theta[rows, target]
    expected = np.cos(theta_t + margin) if method == "arcface" else sphereface_psi(theta_t, margin)
    np.testing.assert_allclose(out[rows, target], 16.0 * expected, rtol=0, atol=1e-6)
    others = np.ones_like(cos, dtype=bool)
    others[rows, target] = False
    np.testing.assert_allclose(out[others], 16.0 * cos[others], rtol=1e-15, atol=0)


def test_zero_margin_and_axis(rng):
    cos, _ = _cosines_and_angles(rng, 6, 4)
    target = rng.integers(0, 4, size=6)
    np.testing.assert_allclose(
        angular_margin_logits(cos, target, method="arcface", margin=0.0), cos, rtol=0, atol=1e-15
    )
    moved = angular_margin_logits(cos.T, target, method="sphereface", margin=3, axis=0)
    np.testing.assert_allclose(
        moved.T, angular_margin_logits(cos, target, method="sphereface", margin=3), rtol=0, atol=0
    )


def test_arcface_is_not_monotone_beyond_pi_minus_m():
    m = 0.5
    theta = np.linspace(0, math.pi, 2001)
    target = np.zeros(theta.size, dtype=int)
    logit = angular_margin_logits(np.cos(theta)[:, None], target, method="arcface", margin=m)[:, 0]
    before, after = theta + m <= math.pi, theta + m > math.pi
    assert np.all(np.diff(logit[before]) < 0) and np.all(np.diff(logit[after]) > 0)


def test_input_validation():
    cos = np.array([[0.5, -0.2]])
    with pytest.raises(ValueError, match="method must be one of"):
        angular_margin_logits(cos, np.array([0]), method="cosface", margin=0.1)
    with pytest.raises(ValueError, match="cos_theta must lie in"):
        angular_margin_logits(np.array([[1.5, 0.0]]), np.array([0]), method="arcface", margin=0.1)
    with pytest.raises(TypeError, match="margin"):
        angular_margin_logits(cos, np.array([0]), method="sphereface", margin=1.5)
    with pytest.raises(ValueError, match="margin"):
        angular_margin_logits(cos, np.array([0]), method="arcface", margin=-0.1)
    with pytest.raises(ValueError, match="scale"):
        angular_margin_logits(cos, np.array([0]), method="arcface", margin=0.1, scale=0.0)
    with pytest.raises(ValueError, match="labels entries"):
        angular_margin_logits(cos, np.array([2]), method="arcface", margin=0.1)
    with pytest.raises(TypeError, match="labels must be an integer"):
        angular_margin_logits(cos, np.array([0.0]), method="arcface", margin=0.1)
    with pytest.raises(ValueError, match="theta must lie"):
        sphereface_psi(np.array([4.0]), 2)


def test_inputs_not_mutated_and_float32(rng):
    cos, _ = _cosines_and_angles(rng, 4, 3)
    c32 = cos.astype(np.float32)
    before = c32.copy()
    out = angular_margin_logits(c32, np.zeros(4, dtype=int), method="arcface", margin=0.3)
    np.testing.assert_array_equal(c32, before)
    assert out.dtype == np.float32 and np.isfinite(out).all()
