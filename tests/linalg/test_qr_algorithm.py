"""Tests for mathguide.linalg.qr_algorithm: Hessenberg reduction, Francis steps, the real Schur form."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import scipy.linalg
from scipy.optimize import linear_sum_assignment

from mathguide.linalg import random_matrix
from mathguide.linalg.qr_algorithm import (
    francis_step,
    hessenberg,
    qr_algorithm,
    schur_eigenvalues,
)
from mathguide.seeding import seeded_rng

EPS = np.finfo(np.float64).eps


def matching_error(computed: np.ndarray, reference: np.ndarray) -> float:
    """Largest distance between two multisets of complex numbers, optimally matched."""
    cost = np.abs(computed[:, None] - reference[None, :])
    rows, cols = linear_sum_assignment(cost)
    assert len(rows) == len(computed) == len(reference)
    return float(cost[rows, cols].max())


def assert_quasi_triangular(t: np.ndarray) -> None:
    assert not np.any(np.tril(t, -2))
    sub = np.diagonal(t, -1)
    assert not np.any((sub[:-1] != 0) & (sub[1:] != 0))  # 2-by-2 blocks do not overlap
    for k in np.flatnonzero(sub):  # every 2-by-2 block holds a complex pair
        a, b, c, d = t[k, k], t[k, k + 1], t[k + 1, k], t[k + 1, k + 1]
        assert ((a - d) / 2) ** 2 + b * c < 0


# ---------------------------------------------------------------------------------------------
# Hessenberg


@pytest.mark.parametrize("n", [1, 2, 3, 10, 60])
def test_hessenberg_reconstructs_and_matches_scipy(rng, n):
    a = rng.standard_normal((n, n))
    h, q = hessenberg(a)
    assert not np.any(np.tril(h, -2))  # exactly zero below the subdiagonal
    norm = np.linalg.norm(a, 2)
    assert np.linalg.norm(a - q @ h @ q.T, 2) <= 10 * n * EPS * norm
    assert np.linalg.norm(q.T @ q - np.eye(n), 2) <= 10 * n * EPS
    # implicit-Q: same first column e_1 => same H up to the signs of Q's columns
    h_ref = scipy.linalg.hessenberg(a)
    signs = np.sign(np.diagonal(h, -1) * np.diagonal(h_ref, -1))
    d = np.r_[1.0, np.cumprod(signs)]
    # H and D H_ref D agree to a tolerance governed by the conditioning of the reduction; for random
    # Gaussian matrices of these sizes a generous multiple of eps n ||A|| holds
    np.testing.assert_allclose(h, d[:, None] * h_ref * d[None, :], rtol=0, atol=1e3 * n * EPS * norm)


def test_hessenberg_without_q_gives_same_h(rng):
    a = rng.standard_normal((12, 12))
    full, only = hessenberg(a), hessenberg(a, calc_q=False)
    assert only.q is None
    np.testing.assert_array_equal(only.h, full.h)


def test_hessenberg_does_not_mutate_and_keeps_float32(rng):
    a = rng.standard_normal((8, 8)).astype(np.float32)
    copy = a.copy()
    h, q = hessenberg(a)
    np.testing.assert_array_equal(a, copy)
    assert h.dtype == q.dtype == np.float32
    eps32 = np.finfo(np.float32).eps
    assert np.linalg.norm(a - q @ h @ q.T, 2) <= 10 * 8 * eps32 * np.linalg.norm(a, 2)


def test_hessenberg_of_hessenberg_input_is_unchanged(rng):
    h0 = np.triu(rng.standard_normal((6, 6)), -1)
    h0[3, 2] = 0.0
    h, q = hessenberg(h0)
    # every reflector is trivial (beta = 0) or a sign flip; |H| must equal |H0|
    np.testing.assert_allclose(np.abs(h), np.abs(h0), rtol=1e-14, atol=1e-14)


# ---------------------------------------------------------------------------------------------
# Francis step and implicit Q


def test_francis_step_equals_explicit_double_shift_qr_step(rng):
    n = 8
    h = np.triu(rng.standard_normal((n, n)), -1)
    h_new, q = francis_step(h)
    # explicit step: M = H^2 - s H + t I = Q R, H' = Q^T H Q (exact arithmetic oracle, second algorithm)
    s = h[-2, -2] + h[-1, -1]
    t = h[-2, -2] * h[-1, -1] - h[-2, -1] * h[-1, -2]
    m = h @ h - s * h + t * np.eye(n)
    q_ref, r_ref = np.linalg.qr(m)
    signs = np.sign(np.diagonal(q.T @ q_ref))  # implicit Q theorem: equal up to column signs
    np.testing.assert_allclose(q, q_ref * signs, rtol=0, atol=1e-10)
    np.testing.assert_allclose(h_new, signs[:, None] * (q_ref.T @ h @ q_ref) * signs, rtol=0, atol=1e-10)
    assert not np.any(np.tril(h_new, -2))


def test_francis_step_rejects_non_hessenberg(rng):
    with pytest.raises(ValueError, match="h must be upper Hessenberg"):
        francis_step(rng.standard_normal((4, 4)))
    with pytest.raises(ValueError, match="at least 3-by-3"):
        francis_step(np.eye(2))


# ---------------------------------------------------------------------------------------------
# The QR algorithm


@pytest.mark.parametrize("n", [1, 2, 3, 7, 40])
@pytest.mark.parametrize("shift", ["francis", "wilkinson"])
def test_qr_algorithm_real_spectrum_matches_scipy(rng, n, shift):
    # real eigenvalues, distinct: both shifts converge
    v = rng.standard_normal((n, n))
    a = v @ np.diag(np.arange(1.0, n + 1) * rng.choice([-1, 1], n)) @ np.linalg.inv(v)
    res = qr_algorithm(a, shift=shift, calc_q=True)
    assert res.converged
    norm = np.linalg.norm(a, 2)
    assert matching_error(res.eigenvalues, scipy.linalg.eigvals(a)) <= 1e-10 * norm
    assert np.linalg.norm(a - res.q @ res.t @ res.q.T, 2) <= 1e-12 * norm
    assert np.linalg.norm(res.q.T @ res.q - np.eye(n), 2) <= 1e-13 * n
    assert_quasi_triangular(res.t)
    assert not np.any(np.diagonal(res.t, -1))  # real spectrum: T triangular
    assert res.iterations_per_eigenvalue.sum() == pytest.approx(res.iterations)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_qr_algorithm_200_by_200_quality_bar(seed):
    rng = seeded_rng(seed)
    n = 200
    a = rng.standard_normal((n, n))
    res = qr_algorithm(a, calc_q=True)
    assert res.converged
    norm = np.linalg.norm(a, 2)
    assert matching_error(res.eigenvalues, scipy.linalg.eigvals(a)) <= 1e-10 * norm
    assert np.linalg.norm(a - res.q @ res.t @ res.q.T, 2) <= 1e-12 * norm
    assert np.linalg.norm(res.q.T @ res.q - np.eye(n), 2) <= 1e-13 * n
    assert_quasi_triangular(res.t)
    # eigenvalues of T's diagonal blocks and of scipy's real Schur form agree as multisets
    t_ref = scipy.linalg.schur(a, output="real")[0]
    assert np.count_nonzero(np.diagonal(res.t, -1)) == np.count_nonzero(np.diagonal(t_ref, -1))
    assert matching_error(schur_eigenvalues(res.t), schur_eigenvalues(t_ref)) <= 1e-10 * norm
    # a few Francis steps per deflation (Golub-Van Loan: about 2 on average); generous bound
    assert res.iterations <= 4 * n
    assert n / 2 <= res.deflations <= n  # each deflation removes one or two eigenvalues


def test_qr_algorithm_with_given_singular_values(rng):
    a = random_matrix(50, singular_values=np.logspace(0, -8, 50), rng=rng)
    res = qr_algorithm(a, calc_q=True)
    assert res.converged
    assert np.linalg.norm(a - res.q @ res.t @ res.q.T, 2) <= 1e-12
    # the product of the eigenvalues is the determinant: |det| = prod(singular values)
    log_abs_det = np.sum(np.log(np.abs(res.eigenvalues)))
    assert log_abs_det == pytest.approx(np.sum(np.log(np.logspace(0, -8, 50))), rel=0, abs=1e-6)


def test_qr_algorithm_complex_pairs_from_rotation_blocks(rng):
    # block diagonal of rotations scaled: eigenvalues r_k exp(+-i theta_k), known in closed form
    radii, angles = np.array([1.0, 2.0, 3.0]), np.array([0.3, 1.0, 2.5])
    blocks = [
        r * np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]) for r, t in zip(radii, angles, strict=True)
    ]
    d = scipy.linalg.block_diag(*blocks, np.array([[0.5]]))
    v = rng.standard_normal((7, 7))
    a = v @ d @ np.linalg.inv(v)
    res = qr_algorithm(a)
    exact = np.r_[radii * np.exp(1j * angles), radii * np.exp(-1j * angles), 0.5]
    assert res.converged
    assert matching_error(res.eigenvalues, exact) <= 1e-9 * np.linalg.cond(v)
    assert np.count_nonzero(np.diagonal(res.t, -1)) == 3  # three 2-by-2 blocks


def test_qr_algorithm_symmetric_is_diagonal(rng):
    b = rng.standard_normal((30, 30))
    a = b + b.T
    res = qr_algorithm(a, calc_q=True, shift="wilkinson")
    assert res.converged
    norm = np.linalg.norm(a, 2)
    np.testing.assert_allclose(np.sort(res.eigenvalues.real), np.linalg.eigvalsh(a), rtol=0, atol=1e-12 * norm)
    assert np.abs(np.triu(res.t, 1)).max() <= 1e-10 * norm  # Schur form of a symmetric matrix is diagonal


def test_unshifted_converges_on_separated_moduli_and_fails_on_equal_ones(rng):
    n = 6
    v = rng.standard_normal((n, n))
    a = v @ np.diag(2.0 ** -np.arange(n)) @ np.linalg.inv(v)  # rates 1/2
    res = qr_algorithm(a, shift=None)
    assert res.converged
    assert matching_error(res.eigenvalues, 2.0 ** -np.arange(n)) <= 1e-10 * np.linalg.cond(v)
    # the cyclic shift: eigenvalues the 5th roots of unity, all of modulus 1; A = Q R with Q = A,
    # R = I, so unshifted QR returns A itself at every step
    b = np.roll(np.eye(5), 1, axis=0)
    stuck = qr_algorithm(b, shift=None, maxiter=200)
    assert not stuck.converged
    assert stuck.iterations == 200
    assert np.isnan(stuck.eigenvalues).all() and np.isnan(stuck.iterations_per_eigenvalue).all()
    np.testing.assert_allclose(np.abs(stuck.t), b, rtol=0, atol=1e-14)  # nothing moved
    # the Francis shifts are both 0 here too; the exceptional shift breaks the cycle
    res = qr_algorithm(b, calc_q=True)
    assert res.converged
    assert matching_error(res.eigenvalues, np.exp(2j * np.pi * np.arange(5) / 5)) <= 1e-13
    assert 10 <= res.iterations <= 40


def test_wilkinson_converges_faster_than_unshifted_and_history_is_quadratic(rng):
    n = 20
    v = rng.standard_normal((n, n))
    a = v @ np.diag(np.linspace(1, 2, n)) @ np.linalg.inv(v)  # close moduli: unshifted is slow
    slow, fast = qr_algorithm(a, shift=None), qr_algorithm(a, shift="wilkinson")
    assert fast.converged and 3 * fast.iterations < slow.iterations
    # superlinear convergence of the last subdiagonal entry during the first deflation. Linear
    # convergence at a rate rho >= 1e-2 gives, on the step that deflates (e_k above eps), an order
    # log e_{k+1} / log e_k = 1 + log(rho) / log(e_k) <= 1 + 4.6 / 36 < 1.13; quadratic gives about 2
    # (at least 1.4 in 60 random draws). And it takes a handful of steps, where a linear rate of 1/2
    # would need dozens.
    first = int(fast.iterations_per_eigenvalue[-1])
    errors = fast.history[:first, 0]
    assert 2 <= first <= 20
    assert np.log(errors[-1]) / np.log(errors[-2]) > 1.25


def test_qr_algorithm_float32(rng):
    a = rng.standard_normal((30, 30)).astype(np.float32)
    res = qr_algorithm(a, calc_q=True)
    assert res.converged
    assert res.t.dtype == res.q.dtype == np.float32 and res.eigenvalues.dtype == np.complex64
    eps32 = np.finfo(np.float32).eps
    norm = np.linalg.norm(a, 2)
    assert np.linalg.norm(a - res.q @ res.t @ res.q.T, 2) <= 30 * 30 * eps32 * norm
    ref = scipy.linalg.eigvals(a.astype(np.float64))
    assert matching_error(res.eigenvalues.astype(np.complex128), ref) <= 1e-3 * norm


def test_qr_algorithm_edge_cases():
    res = qr_algorithm(np.zeros((4, 4)))
    assert res.converged and np.all(res.eigenvalues == 0) and res.iterations == 0
    res = qr_algorithm([[3]])
    assert res.converged and res.eigenvalues[0] == 3 and res.t.dtype == np.float64
    # a rotation by 90 degrees: eigenvalues +-i, already a 2-by-2 block
    res = qr_algorithm([[0.0, -1.0], [1.0, 0.0]])
    np.testing.assert_allclose(res.eigenvalues, [1j, -1j], rtol=0, atol=1e-15)
    # a 2-by-2 with real eigenvalues is triangularised
    res = qr_algorithm([[1.0, 2.0], [3.0, 4.0]], calc_q=True)
    assert res.t[1, 0] == 0
    closed_form = (5 + np.array([-1.0, 1.0]) * np.sqrt(33)) / 2  # roots of z^2 - 5 z - 2
    np.testing.assert_allclose(np.sort(res.eigenvalues.real), closed_form, rtol=1e-14, atol=1e-14)
    res = qr_algorithm(np.zeros((0, 0)))
    assert res.converged and res.eigenvalues.shape == (0,)


def test_qr_algorithm_does_not_mutate(rng):
    a = rng.standard_normal((10, 10))
    copy = a.copy()
    qr_algorithm(a, calc_q=True)
    np.testing.assert_array_equal(a, copy)


def test_schur_eigenvalues_closed_form():
    t = np.array([[1.0, 2.0, 5.0], [-2.0, 1.0, 1.0], [0.0, 0.0, 3.0]])  # 1 +- 2i and 3
    np.testing.assert_allclose(schur_eigenvalues(t), [1 + 2j, 1 - 2j, 3], rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="quasi-upper-triangular"):
        schur_eigenvalues(np.ones((3, 3)))
    with pytest.raises(ValueError, match="cannot overlap"):
        schur_eigenvalues(np.triu(np.ones((3, 3)), -1))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"shift": "rayleigh"}, ValueError, "shift must be"),
        ({"tol": 2.0}, ValueError, r"tol must be in \(0, 1\)"),
        ({"tol": -1.0}, ValueError, "tol must be positive"),
        ({"maxiter": -1}, ValueError, "maxiter must be"),
        ({"maxiter": 1.5}, TypeError, "maxiter must be an integer"),
        ({"calc_q": "yes"}, TypeError, "calc_q must be a bool"),
        ({"calc_q": 1}, TypeError, "calc_q must be a bool"),
        ({"balance": "no"}, TypeError, "balance must be a bool"),
        ({"balance": 0}, TypeError, "balance must be a bool"),
    ],
)
def test_qr_algorithm_rejects_bad_options(kwargs, error, message):
    with pytest.raises(error, match=message):
        qr_algorithm(np.eye(3), **kwargs)


@pytest.mark.parametrize(
    "a, error, message",
    [
        (np.ones((2, 3)), ValueError, "a must be a square"),
        (np.array([[np.nan]]), ValueError, "a must not contain NaN"),
        (np.array([[1j]]), TypeError, "a must be array-like of real"),
    ],
)
def test_qr_algorithm_and_hessenberg_reject_bad_matrices(a, error, message):
    with pytest.raises(error, match=message):
        qr_algorithm(a)
    with pytest.raises(error, match=message):
        hessenberg(a)


def test_hessenberg_rejects_non_bool_calc_q():
    with pytest.raises(TypeError, match="calc_q must be a bool"):
        hessenberg(np.eye(3), calc_q=1)
    with pytest.raises(TypeError, match="calc_q must be a bool"):
        francis_step(np.triu(np.ones((4, 4)), -1), calc_q="no")
    assert francis_step(np.triu(np.ones((4, 4)), -1), calc_q=np.bool_(False)).q is None


# ---------------------------------------------------------------------------------------------
# Scale: exact power-of-two scaling inside, at any magnitude (issue 26)


@pytest.mark.parametrize("c", [1e154, 1e155, 1e-155, 2.0**1000, 2.0**-1000, 1e-300])
@pytest.mark.parametrize("shift", ["francis", "wilkinson"])
def test_qr_algorithm_at_extreme_scales(rng, c, shift):
    # before: "x must be finite" from an internal argument (1e154), "a must not contain NaN" for a
    # finite a (1e155), no convergence in 30 n steps (1e-155)
    b = rng.standard_normal((8, 8))
    if shift == "wilkinson":  # a real shift needs real eigenvalues to converge (see the docstring)
        b = b @ np.diag(np.arange(1.0, 9.0) * rng.choice([-1, 1], 8)) @ np.linalg.inv(b)
    reference = qr_algorithm(b, shift=shift)
    res = qr_algorithm(b * c, shift=shift)
    assert res.converged and reference.converged
    exact = scipy.linalg.eigvals(b)
    assert matching_error(res.eigenvalues / c, exact) <= 1e-10 * np.linalg.norm(b, 2)
    if np.frexp(c)[0] == 0.5:  # a power of two: b * c is exact, and so is the whole computation
        assert res.iterations == reference.iterations
        np.testing.assert_array_equal(res.t, reference.t * c)


@pytest.mark.parametrize("c", [2.0**1000, 2.0**-1000])
def test_francis_step_and_schur_eigenvalues_scale(rng, c):
    h = np.triu(rng.standard_normal((6, 6)), -1)
    step = francis_step(h)
    scaled = francis_step(h * c)
    np.testing.assert_array_equal(scaled.h, step.h * c)
    np.testing.assert_array_equal(scaled.q, step.q)
    # a 2-by-2 block 1 +- 2i times c: the discriminant (a - d)^2/4 + b c would overflow or underflow
    t = np.array([[1.0, 2.0, 5.0], [-2.0, 1.0, 1.0], [0.0, 0.0, 3.0]])
    got = schur_eigenvalues(t * c) / c
    np.testing.assert_allclose(got, [1 + 2j, 1 - 2j, 3], rtol=1e-15, atol=0)


def graded_matrix(rng, n=8):
    """D B D^{-1} with D = diag(10^0, 10^2, ..., 10^14) and B Gaussian: eigenvalues of B, ||A|| ~ 1e14."""
    b = rng.standard_normal((n, n))
    d = 10.0 ** (2 * np.arange(n))
    return b, b * d[:, None] / d[None, :]


def test_balancing_recovers_the_eigenvalues_of_a_badly_scaled_matrix(rng):
    b, a = graded_matrix(rng)
    exact = scipy.linalg.eigvals(b)  # D B D^{-1} has the eigenvalues of B
    norm_b = np.linalg.norm(b, 2)
    balanced = qr_algorithm(a)
    plain = qr_algorithm(a, balance=False)
    assert balanced.converged and plain.converged
    # balanced: backward error eps ||D^{-1} A D||, about eps ||B||
    assert matching_error(balanced.eigenvalues, exact) <= 1e-12 * norm_b
    # unbalanced: the backward error is eps ||A|| ~ 1e-2, and the eigenvalues are far worse
    assert matching_error(plain.eigenvalues, exact) > 1e-6 * norm_b
    # the scaling: powers of two, and t is the Schur form of D^{-1} A D (same eigenvalues, small norm)
    d = balanced.balance_scaling
    assert np.all(np.frexp(d)[0] == 0.5)
    assert np.all(plain.balance_scaling == 1)
    assert np.linalg.norm(a * d / d[:, None], 2) <= 1e3 * norm_b
    np.testing.assert_allclose(np.sort_complex(schur_eigenvalues(balanced.t)), np.sort_complex(balanced.eigenvalues),
                               rtol=0, atol=1e-13 * norm_b)


def test_balancing_is_skipped_when_schur_vectors_are_wanted(rng):
    _, a = graded_matrix(rng)
    res = qr_algorithm(a, calc_q=True)  # balance=True by default, but D^{-1} A D is not orthogonal
    assert np.all(res.balance_scaling == 1)
    norm = np.linalg.norm(a, 2)
    assert np.linalg.norm(a - res.q @ res.t @ res.q.T, 2) <= 1e-12 * norm


def test_francis_step_flop_count(monkeypatch, rng):
    # count the flops of the reflector applications the step really performs: (4k - 1) L for a
    # k-by-L block (v^T B: (2k - 1) L, rank-one update: 2 k L); 11 L for k = 3
    module = sys.modules["mathguide.linalg.qr_algorithm"]  # the package re-exports a function of that name

    counted = {"flops": 0}

    def counting(original):
        def wrapper(block, v, beta):
            k = len(v)
            counted["flops"] += (4 * k - 1) * (block.size // k)
            return original(block, v, beta)

        return wrapper

    monkeypatch.setattr(module, "_reflect_rows", counting(module._reflect_rows))
    monkeypatch.setattr(module, "_reflect_columns", counting(module._reflect_columns))
    n = 60
    h = np.triu(rng.standard_normal((n, n)), -1)
    francis_step(h, calc_q=False)
    without_q = counted["flops"]
    counted["flops"] = 0
    francis_step(h, calc_q=True)
    for_q = counted["flops"] - without_q
    # the docstring's counts: about 11 n^2 for the step and about 11 n^2 more for Q
    assert abs(without_q / (11 * n * n) - 1) < 0.1
    assert abs(for_q / (11 * n * n) - 1) < 0.1
