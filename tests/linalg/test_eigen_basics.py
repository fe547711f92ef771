"""Tests for mathguide.linalg.eigen_basics: Gershgorin discs, eigenvalue condition numbers, pseudospectra."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from mathguide.linalg import random_matrix
from mathguide.linalg.eigen_basics import (
    eigenvalue_condition_numbers,
    gershgorin_discs,
    pseudospectrum_grid,
)

EPS = np.finfo(np.float64).eps


@pytest.mark.parametrize("by", ["rows", "columns"])
def test_gershgorin_discs_contain_every_eigenvalue(rng, by):
    for _ in range(20):
        a = rng.standard_normal((8, 8)) * rng.exponential(size=(8, 8))
        centers, radii = gershgorin_discs(a, by=by)
        eigenvalues = np.linalg.eigvals(a)
        inside = np.abs(eigenvalues[:, None] - centers[None, :]) <= radii[None, :] * (1 + 1e-12) + 1e-12
        assert inside.any(axis=1).all()


def test_gershgorin_closed_form_and_isolated_disc_count(rng):
    a = np.array([[10.0, 1.0, -1.0], [0.5, 0.0, 0.2], [0.1, -0.3, 1.0]])
    centers, radii = gershgorin_discs(a)
    np.testing.assert_array_equal(centers, [10.0, 0.0, 1.0])
    np.testing.assert_allclose(radii, [2.0, 0.7, 0.4], rtol=1e-15, atol=0)
    np.testing.assert_allclose(gershgorin_discs(a, by="columns").radii, [0.6, 1.3, 1.2], rtol=1e-15, atol=0)
    # disc 0 (centre 10, radius 2) is disjoint from the others: exactly one eigenvalue in it
    eigenvalues = np.linalg.eigvals(a)
    assert np.sum(np.abs(eigenvalues - 10.0) <= 2.0) == 1


def test_gershgorin_radii_do_not_cancel_against_a_dominant_diagonal():
    # before: "row sum minus |a_ii|" gave radii [0, 1] and [0, 0]. One off-diagonal entry per row, so
    # the radius is that entry, exactly (a sum of one term; the power-of-two scaling is exact).
    centers, radii = gershgorin_discs(np.array([[1e20, 1.0], [1.0, 0.0]]))
    np.testing.assert_array_equal(radii, [1.0, 1.0])
    # eigenvalues of [[t, 1], [1, 0]]: t + 1/t + O(1/t^3) and -1/t + O(1/t^3), for t = 1e20: each
    # within 1e-20 of its centre, inside radius 1
    assert abs(-1 / 1e20 - centers[1]) <= radii[1] and 1 / 1e20 <= radii[0]
    big = 2.0**53
    centers, radii = gershgorin_discs(np.array([[big, 0.9], [0.9, big]]))
    np.testing.assert_array_equal(radii, [0.9, 0.9])
    # the exact eigenvalues are big +- 0.9 (the stored 0.9): on the boundary of both discs
    assert np.all(radii >= 0.9)


@pytest.mark.parametrize("c", [2.0**1000, 2.0**-1000, 1e300])
def test_gershgorin_scales(rng, c):
    a = rng.standard_normal((5, 5))
    centers, radii = gershgorin_discs(a)
    scaled = gershgorin_discs(a * c)
    np.testing.assert_allclose(scaled.centers, centers * c, rtol=1e-15, atol=0)
    np.testing.assert_allclose(scaled.radii, radii * c, rtol=1e-14, atol=0)


def test_gershgorin_diagonal_matrix_has_zero_radii():
    centers, radii = gershgorin_discs(np.diag([1.0, -2.0]))
    np.testing.assert_array_equal(radii, [0.0, 0.0])


def test_gershgorin_rejects_bad_input():
    with pytest.raises(ValueError, match="by must be"):
        gershgorin_discs(np.eye(2), by="diagonal")
    with pytest.raises(ValueError, match="a must be a square"):
        gershgorin_discs(np.ones(3))


def test_condition_numbers_closed_form_two_by_two():
    # [[1, t], [0, 2]]: x = e1 for lambda = 1 and y = (1, -t)/sqrt(1 + t^2), so kappa = sqrt(1 + t^2)
    for t in [0.0, 1.0, 100.0]:
        res = eigenvalue_condition_numbers(np.array([[1.0, t], [0.0, 2.0]]))
        np.testing.assert_allclose(res.condition_numbers, np.sqrt(1 + t * t), rtol=1e-10, atol=0)


def test_condition_numbers_of_normal_matrices_are_one(rng):
    b = rng.standard_normal((10, 10))
    q = scipy.linalg.expm(b - b.T)  # orthogonal: normal, eigenvalues on the unit circle
    res = eigenvalue_condition_numbers(q)
    np.testing.assert_allclose(res.condition_numbers, 1.0, rtol=0, atol=1e-10)


def test_condition_numbers_predict_perturbation_experiments(rng):
    # first-order theory: lambda(A + eps E) - lambda(A) ~ eps y^H E x / y^H x, bounded by kappa eps ||E||_2.
    # Oracle: eigenvalues of perturbed matrices computed from scratch.
    v = rng.standard_normal((6, 6))
    lam = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    a = v @ np.diag(lam) @ np.linalg.inv(v)
    res = eigenvalue_condition_numbers(a)
    order = np.argsort(res.eigenvalues.real)
    kappa = res.condition_numbers[order]
    eps = 1e-8
    worst = np.zeros(6)
    for _ in range(200):
        e = rng.standard_normal((6, 6))
        e /= np.linalg.norm(e, 2)
        moved = np.sort(np.linalg.eigvals(a + eps * e).real)
        worst = np.maximum(worst, np.abs(moved - lam) / eps)
    assert np.all(worst <= kappa * (1 + 1e-3))  # the bound holds (up to second order terms)
    assert np.all(worst >= kappa / 10)  # and random perturbations reach a good fraction of it
    # the worst-case perturbation E = y x^H (unit norm) attains it
    for i in range(6):
        x, y = res.right[:, order[i]], res.left[:, order[i]]
        e = np.outer(y, x.conj())
        moved = np.linalg.eigvals(a + eps * e)
        shift = np.min(np.abs(moved - lam[i]))
        assert shift / eps == pytest.approx(kappa[i], rel=1e-4)


def test_condition_numbers_of_a_jordan_block_are_huge():
    j = np.eye(4, k=1) + 2 * np.eye(4)
    res = eigenvalue_condition_numbers(j)
    assert np.all(res.condition_numbers > 1e3)


@pytest.mark.parametrize("m", [3, 4, 5])
def test_jordan_block_overlap_is_about_eps_to_the_one_minus_one_over_m(rng, m):
    # Rounding splits a Jordan block's eigenvalue by about eps^(1/m); the computed eigenvalues then
    # have sensitivity ~ eps^(1/m - 1), so |y^H x| ~ eps^(1 - 1/m) (not eps^(1/m), which the two
    # coincide for only at m = 2). Orthogonal similarity keeps the block from being triangular.
    eps = np.finfo(np.float64).eps
    q = np.linalg.qr(rng.standard_normal((m, m)))[0]
    overlap = 1 / eigenvalue_condition_numbers(q @ (np.eye(m) + np.eye(m, k=1)) @ q.T).condition_numbers
    assert np.all(overlap > eps ** (1 - 1 / m) / 100)
    assert np.all(overlap < eps ** (1 - 1 / m) * 100)
    assert np.all(overlap < eps ** (1 / m) / 10)


def test_pseudospectrum_of_normal_matrix_is_distance_to_spectrum(rng):
    q = random_matrix(5, singular_values=np.ones(5), rng=rng)  # orthogonal
    d = np.diag([1.0, -1.0, 0.5, 2.0, -0.3])
    a = q @ d @ q.T  # symmetric, normal
    real, imag = np.linspace(-3, 3, 13), np.linspace(-1, 1, 5)
    sigma = pseudospectrum_grid(a, real, imag)
    z = real[None, :] + 1j * imag[:, None]
    distance = np.min(np.abs(z[..., None] - np.diag(d)), axis=-1)
    np.testing.assert_allclose(sigma, distance, rtol=0, atol=1e-13)


def test_pseudospectrum_jordan_block_at_zero():
    # sigma_min(zI - J) for the n x n nilpotent Jordan block at z = 0 is exactly 0 (J singular),
    # and at |z| small it is about |z|^n (the inverse has norm about |z|^-n)
    n = 4
    j = np.eye(n, k=1)
    sigma = pseudospectrum_grid(j, np.array([0.0, 0.1]), np.array([0.0]))
    assert sigma[0, 0] == pytest.approx(0.0, abs=1e-15)
    assert 0.5 * 0.1**n <= sigma[0, 1] <= 2 * 0.1**n


def test_pseudospectrum_rejects_bad_grid():
    with pytest.raises(ValueError, match="real must be one-dimensional"):
        pseudospectrum_grid(np.eye(2), np.zeros((2, 2)), np.zeros(2))


def test_pseudospectrum_rejects_bad_imag_and_matrix():
    with pytest.raises(ValueError, match="imag must be one-dimensional"):
        pseudospectrum_grid(np.eye(2), np.zeros(2), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="a must be a square"):
        pseudospectrum_grid(np.ones((2, 3)), np.zeros(2), np.zeros(2))


def test_condition_numbers_reject_bad_matrix():
    with pytest.raises(TypeError, match="a must be array-like of real"):
        eigenvalue_condition_numbers(np.array([[1j]]))


def test_gershgorin_float32_and_integers():
    centers, radii = gershgorin_discs(np.array([[1, -2], [3, 4]]))
    assert centers.dtype == np.float64
    np.testing.assert_array_equal(radii, [2.0, 3.0])
    centers32, radii32 = gershgorin_discs(np.array([[1, -2], [3, 4]], dtype=np.float32))
    assert radii32.dtype == np.float32


@pytest.mark.parametrize("c", [2.0**500, 2.0**-500, 2.0**1000, 2.0**-1000])
def test_condition_numbers_and_eigenvalues_at_extreme_scales(rng, c):
    # before: geev with both eigenvector sets returned eigenvalues wrong by O(1) relative at 2**500
    a = rng.standard_normal((6, 6))
    base, res = eigenvalue_condition_numbers(a), eigenvalue_condition_numbers(a * c)
    exact = scipy.linalg.eigvals(a)
    np.testing.assert_allclose(np.sort_complex(res.eigenvalues / c), np.sort_complex(exact), rtol=1e-12, atol=0)
    np.testing.assert_allclose(np.sort(res.condition_numbers), np.sort(base.condition_numbers), rtol=1e-10, atol=0)
