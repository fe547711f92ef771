"""Tests of mathguide.simplex.topk (chapter chapters/simplex/soft-topk.md)."""

from __future__ import annotations

import itertools
from decimal import Decimal, getcontext

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import expit, logsumexp
from scipy.special import softmax as scipy_softmax

from mathguide.simplex import sparsemax
from mathguide.simplex.topk import (
    grad_topk,
    grad_topk_vjp,
    hard_topk_mask,
    log_elementary_symmetric,
    soft_topk_iterative,
    threshold_topk,
    threshold_topk_lambda,
    threshold_topk_vjp,
)

EPS = np.finfo(np.float64).eps
FUNCTIONS = ("sigmoid", "exp", "piecewise_exp", "linear")
EXAMPLE = np.array([3.0, 2.0, 1.0, 4.0])


# ----------------------------------------------------------------------------- oracles


def subset_distribution(x: np.ndarray, k: int):
    """All k-subsets of range(n) as an indicator matrix and their probabilities ∝ exp(sum x_S)."""
    n = x.size
    subsets = np.array([np.isin(np.arange(n), s) for s in itertools.combinations(range(n), k)], float)
    logw = subsets @ np.where(np.isfinite(x), x, 0.0)
    logw = np.where((subsets * np.isneginf(x)).any(axis=1), -np.inf, logw)
    w = np.exp(logw - logw.max())
    return subsets, w / w.sum(), logsumexp(logw)


def f_scalar(name: str, a: float) -> float:
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-a)) if a >= 0 else np.exp(a) / (1.0 + np.exp(a))
    if name == "exp":
        return min(1.0, np.exp(a)) if a < 0 else 1.0
    if name == "piecewise_exp":
        return 1.0 - np.exp(-a) / 2 if a >= 0 else np.exp(a) / 2
    return min(1.0, max(0.0, a))


def brent_threshold(z: np.ndarray, k: int, name: str) -> float:
    """Independent root: scipy's Brent method on sum f(z - lam) - k over a wide bracket."""
    zf = z[np.isfinite(z)]

    def excess(lam):
        return sum(f_scalar(name, float(v - lam)) for v in zf) - k

    return brentq(excess, zf.min() - 50.0, zf.max() + 50.0, xtol=1e-14, rtol=4 * EPS, maxiter=500)


def central_differences(fun, x: np.ndarray, g: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """(d/dx <g, fun(x)>) by central differences, one coordinate at a time."""
    out = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        out[idx] = (np.sum(g * fun(x + e)) - np.sum(g * fun(x - e))) / (2 * h)
    return out


# ----------------------------------------------------------------------------- hard top-k


def test_hard_topk_example():
    np.testing.assert_array_equal(hard_topk_mask(EXAMPLE, 2), [1, 0, 0, 1])


def test_hard_topk_matches_stable_argsort(rng):
    x = rng.integers(0, 4, size=(50, 9)).astype(float)  # many ties
    for k in range(1, 10):
        order = np.argsort(-x, axis=-1, kind="stable")[:, :k]
        expected = np.zeros_like(x)
        np.put_along_axis(expected, order, 1.0, axis=-1)
        np.testing.assert_array_equal(hard_topk_mask(x, k), expected)


def test_hard_topk_axis_and_neg_inf(rng):
    x = rng.normal(size=(6, 5, 4))
    np.testing.assert_array_equal(
        hard_topk_mask(x, 2, axis=1), np.moveaxis(hard_topk_mask(np.moveaxis(x, 1, -1), 2), -1, 1)
    )
    y = np.array([-np.inf, 0.0, -np.inf, 1.0])
    np.testing.assert_array_equal(hard_topk_mask(y, 2), [0, 1, 0, 1])
    np.testing.assert_array_equal(hard_topk_mask(y, 3), [1, 1, 0, 1])


# ----------------------------------------------------------------------------- GradTopK


@pytest.mark.parametrize("n", [1, 2, 5, 7])
def test_log_elementary_symmetric_brute_force(rng, n):
    x = rng.normal(size=n) * 3
    for k in range(0, n + 1):
        _, _, expected = subset_distribution(x, k) if k > 0 else (None, None, 0.0)
        np.testing.assert_allclose(log_elementary_symmetric(x, k), expected, rtol=8 * n * EPS, atol=8 * n * EPS)


def test_log_elementary_symmetric_polynomial_coefficients(rng):
    # e_k are the coefficients of prod_i (t + e^{x_i}) (numpy.poly: roots -e^{x_i})
    x = rng.normal(size=(3, 8))
    for row in x:
        coeffs = np.poly(-np.exp(row))
        for k in range(9):
            np.testing.assert_allclose(log_elementary_symmetric(row, k), np.log(coeffs[k]), rtol=1e-12, atol=1e-12)


def test_log_elementary_symmetric_large_scores_and_neg_inf():
    x = np.array([1e4, -1e4, 1e4 - 1.0, -np.inf])
    # k = 2: the pair {0, 2} (sum 2e4 - 1) beats {0, 1} and {1, 2} by e^{-2e4}: invisible in float64
    np.testing.assert_allclose(log_elementary_symmetric(x, 2), 2e4 - 1.0, rtol=4 * EPS, atol=0)
    # k = 3: the only finite triple {0, 1, 2} has sum 1e4 - 1
    np.testing.assert_allclose(log_elementary_symmetric(x, 3), 1e4 - 1.0, rtol=4 * EPS, atol=0)
    assert log_elementary_symmetric(x, 4) == -np.inf


@pytest.mark.parametrize("n,k", [(4, 1), (4, 2), (5, 3), (6, 2), (6, 5), (7, 4)])
def test_grad_topk_brute_force_values_and_jacobian(rng, n, k):
    x = rng.normal(size=n) * 2
    tau = 0.7
    subsets, prob, _ = subset_distribution(x / tau, k)
    p_expected = prob @ subsets
    np.testing.assert_allclose(grad_topk(x, k, tau), p_expected, rtol=1e-13, atol=1e-14)
    cov = (subsets * prob[:, None]).T @ subsets - np.outer(p_expected, p_expected)
    jac = np.array([grad_topk_vjp(x, k, e, tau) for e in np.eye(n)])
    np.testing.assert_allclose(jac, cov / tau, rtol=1e-12, atol=1e-13)


def test_grad_topk_example_and_k1_softmax(rng):
    subsets, prob, _ = subset_distribution(EXAMPLE, 2)
    np.testing.assert_allclose(grad_topk(EXAMPLE, 2), prob @ subsets, rtol=1e-14, atol=1e-15)
    x = rng.normal(size=(5, 9)) * 4
    np.testing.assert_allclose(grad_topk(x, 1, 0.3), scipy_softmax(x / 0.3, axis=-1), rtol=1e-13, atol=1e-15)


def test_grad_topk_vjp_finite_differences(rng):
    x = rng.normal(size=(2, 6))
    g = rng.normal(size=(2, 6))
    got = grad_topk_vjp(x, 3, g, 0.8)
    fd = central_differences(lambda v: grad_topk(v, 3, 0.8), x, g)
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got.sum(axis=-1), 0, rtol=0, atol=1e-14)


def test_grad_topk_is_stable_for_spread_scores(rng):
    # the subtracting recursion of the original post returns NaN here; the DP must not
    x = rng.normal(size=(3, 100)) * 30
    p = grad_topk(x, 10)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=-1), 10, rtol=0, atol=1e-11)
    # oracle: the post's subtracting recursion in 400-digit decimal arithmetic, where its
    # cancellation is harmless; relative accuracy holds even for entries of order 1e-50
    np.testing.assert_allclose(p, [_grad_topk_decimal(row, 10) for row in x], rtol=1e-11, atol=1e-300)


def _grad_topk_decimal(x, k, digits=400):
    """GradTopK by Z_{j,i} = e^{x_i} (Z_{j-1} - Z_{j-1,i}), Z_j = sum_i Z_{j,i} / j, in Decimal."""
    getcontext().prec = digits
    u = [Decimal(float(v)).exp() for v in x]
    z_i, z = list(u), sum(u)
    for j in range(2, k + 1):
        z_i = [ui * (z - zi) for ui, zi in zip(u, z_i, strict=True)]
        z = sum(z_i) / j
    return np.array([float(zi / z) for zi in z_i])


def test_grad_topk_edge_cases():
    np.testing.assert_allclose(grad_topk(np.zeros((2, 5)), 2), np.full((2, 5), 0.4), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(grad_topk(np.arange(4.0), 4), np.ones(4), rtol=1e-14, atol=1e-14)
    x = np.array([0.5, -np.inf, 2.0, -np.inf, 1.0])
    p = grad_topk(x, 2)
    assert p[1] == 0 and p[3] == 0
    np.testing.assert_allclose(grad_topk(x, 3), [1, 0, 1, 0, 1], rtol=1e-14, atol=1e-14)
    big = np.array([1e4, -1e4, 1e4 - 2.0, 0.0])
    subsets, prob, _ = subset_distribution(big - 1e4, 2)
    np.testing.assert_allclose(grad_topk(big, 2), prob @ subsets, rtol=1e-12, atol=1e-12)


def test_grad_topk_float32_and_axis(rng):
    x = rng.normal(size=(4, 6, 3))
    p64 = grad_topk(x, 2, axis=1)
    p32 = grad_topk(x.astype(np.float32), 2, axis=1)
    assert p32.dtype == np.float32 and p64.shape == x.shape
    np.testing.assert_allclose(p32, p64, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p64, np.moveaxis(grad_topk(np.moveaxis(x, 1, -1), 2), -1, 1), rtol=0, atol=0)


# ----------------------------------------------------------------------------- threshold maps


@pytest.mark.parametrize("f", FUNCTIONS)
def test_threshold_matches_brent(rng, f):
    x = rng.normal(size=(6, 7)) * 2
    x[0, 2] = -np.inf
    for k in (1, 2, 4):
        sol = threshold_topk_lambda(x, k, 0.5, f=f)
        assert sol.converged
        z = (x - x.max(axis=-1, keepdims=True)) / 0.5
        expected = np.array([brent_threshold(row, k, f) for row in z])
        if f == "linear":  # lambda may be non-unique on a plateau: compare the outputs
            p = threshold_topk(x, k, 0.5, f=f)
            p_ref = np.clip(z - expected[:, None], 0, 1)
            np.testing.assert_allclose(p, p_ref, rtol=0, atol=1e-12)
        else:
            lam_rel = sol.lam - x.max(axis=-1) / 0.5  # sol.lam is in units of x / tau
            np.testing.assert_allclose(lam_rel, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("f", FUNCTIONS)
def test_threshold_sums_to_k_and_in_unit_interval(rng, f):
    x = rng.normal(size=(40, 300)) * rng.choice([0.1, 3.0, 100.0], size=(40, 1))
    for k in (1, 7, 150, 299):
        p = threshold_topk(x, k, f=f)
        assert (p >= 0).all() and (p <= 1).all()
        # rounding bound: the differences x_i - lam carry a few ulps of |x_i| + |lam|, and lam (a
        # log of a running sum of n terms, for the closed forms) up to n ulps; each moves p_i by f'_i
        # times that (the one-sided slope, read off p); plus n roundings of the sum itself
        n = x.shape[-1]
        lam = threshold_topk_lambda(x, k, f=f).lam
        slope = {"sigmoid": p * (1 - p), "exp": p, "piecewise_exp": np.minimum(p, 1 - p), "linear": np.ones_like(p)}[f]
        tol = 8 * EPS * (n + np.sum(slope * (np.abs(x) + np.abs(lam)[:, None] + n), axis=-1))
        if f == "sigmoid":  # Newton stops at |sum - k| <= rtol n (default rtol = 2e-15)
            tol = tol + 2e-15 * x.shape[-1]
        assert (np.abs(p.sum(axis=-1) - k) <= tol).all()


def test_sigmoid_residual_history(rng):
    x = rng.normal(size=(20, 500)) * 5
    sol = threshold_topk_lambda(x, 25, f="sigmoid")
    assert sol.converged and sol.iterations == sol.residuals.size
    assert sol.residuals[-1] <= 1e-12
    assert np.max(np.abs(expit(x - sol.lam[:, None]).sum(axis=-1) - 25)) <= 1e-12


def test_sigmoid_maxiter_reports_not_converged(rng):
    sol = threshold_topk_lambda(rng.normal(size=(3, 50)), 5, f="sigmoid", maxiter=1)
    assert not sol.converged and sol.iterations == 1


@pytest.mark.parametrize("f", FUNCTIONS)
def test_threshold_properties(rng, f):
    x = rng.normal(size=(10, 12))
    k = 4
    p = threshold_topk(x, k, 0.8, f=f)
    # monotone: sorting x sorts p the same way (weakly for the saturating maps)
    order = np.argsort(x, axis=-1)
    assert (np.diff(np.take_along_axis(p, order, axis=-1), axis=-1) >= -1e-15).all()
    # shift invariance
    np.testing.assert_allclose(threshold_topk(x + 123.25, k, 0.8, f=f), p, rtol=1e-12, atol=1e-12)
    # limit at a tau where the k-th/(k+1)-th gap is 40 tau: within e^{-20}-ish of hard top-k
    xs = np.sort(x, axis=-1)
    gap = (xs[:, -k] - xs[:, -k - 1]).min()
    tau = gap / 40
    np.testing.assert_allclose(threshold_topk(x, k, tau, f=f), hard_topk_mask(x, k), rtol=0, atol=1e-8)


def test_grad_topk_properties(rng):
    x = rng.normal(size=(10, 12))
    k = 4
    p = grad_topk(x, k, 0.8)
    order = np.argsort(x, axis=-1)
    assert (np.diff(np.take_along_axis(p, order, axis=-1), axis=-1) > 0).all()  # strict for k < n
    np.testing.assert_allclose(grad_topk(x + 123.25, k, 0.8), p, rtol=1e-12, atol=1e-12)
    xs = np.sort(x, axis=-1)
    tau = (xs[:, -k] - xs[:, -k - 1]).min() / 40
    np.testing.assert_allclose(grad_topk(x, k, tau), hard_topk_mask(x, k), rtol=0, atol=1e-6)


def test_k1_reductions(rng):
    x = rng.normal(size=(200, 6)) * 2
    sm = scipy_softmax(x, axis=-1)
    np.testing.assert_allclose(threshold_topk(x, 1, f="exp"), sm, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(threshold_topk(x, 1, f="linear"), sparsemax(x, axis=-1), rtol=1e-13, atol=1e-14)
    pw = threshold_topk(x, 1, f="piecewise_exp")
    small = sm.max(axis=-1) <= 0.5
    assert small.any() and (~small).any()
    np.testing.assert_allclose(pw[small], sm[small], rtol=1e-12, atol=1e-15)
    # above 1/2 the top entry is 1 - sqrt((1 - s) / s) / 2 instead of s (closed form for k = 1)
    s = sm[~small].max(axis=-1)
    np.testing.assert_allclose(pw[~small].max(axis=-1), 1 - np.sqrt((1 - s) / s) / 2, rtol=1e-12, atol=1e-14)
    assert (pw[~small].max(axis=-1) < s).all()


def test_linear_matches_bisection_and_is_sparse(rng):
    x = rng.normal(size=(30, 40)) * 2
    for k in (1, 5, 20):
        p = threshold_topk(x, k, 0.5, f="linear")
        z = x / 0.5
        lo, hi = z.min(axis=-1) - 1.0, z.max(axis=-1)
        for _ in range(200):  # plain bisection on sum clip(z - lam, 0, 1) = k
            mid = 0.5 * (lo + hi)
            big = np.clip(z - mid[:, None], 0, 1).sum(axis=-1) > k
            lo, hi = np.where(big, mid, lo), np.where(big, hi, mid)
        np.testing.assert_allclose(p, np.clip(z - lo[:, None], 0, 1), rtol=0, atol=1e-12)
        assert (p == 0).any() and ((p == 0) | (p == 1)).sum() > p.size // 2


def test_linear_is_projection_onto_capped_simplex(rng):
    # brute force over the patterns (ones, free, zeros): the closest feasible point
    x = rng.normal(size=5) * 1.5
    k = 2
    best = None
    for labels in itertools.product(range(3), repeat=5):
        lab = np.array(labels)
        free = lab == 1
        if not free.any():
            cand = (lab == 2).astype(float)
        else:
            lam = (x[free].sum() + (lab == 2).sum() - k) / free.sum()
            cand = np.where(lab == 2, 1.0, np.where(free, x - lam, 0.0))
        if abs(cand.sum() - k) < 1e-12 and (cand >= -1e-12).all() and (cand <= 1 + 1e-12).all():
            d = np.sum((cand - x) ** 2)
            if best is None or d < best[0]:
                best = (d, cand)
    np.testing.assert_allclose(threshold_topk(x, k, f="linear"), best[1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("f", ["sigmoid", "exp", "piecewise_exp", "linear"])
def test_threshold_vjp_finite_differences(rng, f):
    x = rng.normal(size=(3, 7))
    g = rng.normal(size=(3, 7))
    tau = 0.6
    p = threshold_topk(x, 3, tau, f=f)
    got = threshold_topk_vjp(p, g, tau, f=f)
    fd = central_differences(lambda v: threshold_topk(v, 3, tau, f=f), x, g, h=1e-7)
    np.testing.assert_allclose(got, fd, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got.sum(axis=-1), 0, rtol=0, atol=1e-14)


def test_threshold_edge_cases():
    for f in FUNCTIONS:
        np.testing.assert_allclose(threshold_topk(np.zeros(5), 2, f=f), np.full(5, 0.4), rtol=1e-14, atol=1e-14)
        np.testing.assert_array_equal(threshold_topk(np.arange(4.0), 4, f=f), np.ones(4))
        x = np.array([1.0, -np.inf, 2.0, 0.0, -np.inf])
        np.testing.assert_array_equal(threshold_topk(x, 3, f=f), [1, 0, 1, 1, 0])
        p = threshold_topk(x, 2, f=f)
        assert p[1] == 0 and p[4] == 0
        big = np.array([1e4, -1e4, 1e4 - 0.5, 0.0])
        np.testing.assert_allclose(threshold_topk(big, 2, f=f), threshold_topk(big - 1e4, 2, f=f), rtol=0, atol=1e-12)
        p32 = threshold_topk(np.float32([3, 2, 1, 4]), 2, f=f)
        assert p32.dtype == np.float32
        np.testing.assert_allclose(p32, threshold_topk(EXAMPLE, 2, f=f), rtol=1e-6, atol=1e-7)


# ----------------------------------------------------------------------------- iterative maps


def test_iterative_sums_to_k_and_k1_softmax(rng):
    x = rng.normal(size=(8, 6))
    for variant in ("scaled", "weighted"):
        for k in (1, 3, 6):
            np.testing.assert_allclose(soft_topk_iterative(x, k, variant=variant).sum(axis=-1), k, rtol=0, atol=1e-13)
    np.testing.assert_allclose(
        soft_topk_iterative(x, 1, variant="weighted"), scipy_softmax(x, axis=-1), rtol=1e-13, atol=1e-15
    )


def test_iterative_failures():
    # scaled, k = n = 2: the first entry exceeds 1 (sigma(a) + sigma((1 - sigma(a)) a) > 1)
    p = soft_topk_iterative(np.array([1.0, 0.0]), 2, variant="scaled")
    assert p[0] > 1
    # weighted, k = 2: the limit is [0.5, 0, 0, 1.5], visible at a moderate tau
    p = soft_topk_iterative(EXAMPLE, 2, 0.05, variant="weighted")
    np.testing.assert_allclose(p, [0.5, 0, 0, 1.5], rtol=0, atol=1e-6)
    # ... while at tau = 0.01 1 - p rounds to 0 and the float64 result looks like hard top-k
    p = soft_topk_iterative(EXAMPLE, 2, 0.01, variant="weighted")
    np.testing.assert_allclose(p, [1, 0, 0, 1], rtol=0, atol=1e-12)


def test_iterative_scaled_limit_for_k_below_n():
    p = soft_topk_iterative(EXAMPLE, 2, 0.02, variant="scaled")
    np.testing.assert_allclose(p, [1, 0, 0, 1], rtol=0, atol=1e-8)
    # ... but not with a tie among the top k: [5/6, 5/6, 1/3, 0] (derivation in the chapter)
    p = soft_topk_iterative(np.array([1.0, 1.0, 0.0, -1.0]), 2, 0.01, variant="scaled")
    np.testing.assert_allclose(p, [5 / 6, 5 / 6, 1 / 3, 0], rtol=0, atol=1e-12)
    # monotonicity fails: x = [7, 5, 2, 0], k = 3
    p = soft_topk_iterative(np.array([7.0, 5.0, 2.0, 0.0]), 3, variant="scaled")
    assert p[1] > p[0] > 1


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: grad_topk(EXAMPLE, 0), ValueError, "k must be an integer in"),
        (lambda: grad_topk(EXAMPLE, 5), ValueError, "k must be an integer in"),
        (lambda: threshold_topk(EXAMPLE, 1.5), TypeError, "k must be an integer"),
        (lambda: grad_topk(EXAMPLE, 2, 0.0), ValueError, "tau must be positive"),
        (lambda: threshold_topk(EXAMPLE, 2, -1.0), ValueError, "tau must be positive"),
        (lambda: soft_topk_iterative([1.0, np.nan], 1), ValueError, "x must not contain NaN"),
        (lambda: hard_topk_mask(np.zeros((3, 0)), 1), ValueError, "empty axis"),
        (lambda: threshold_topk(EXAMPLE, 2, f="cubic"), ValueError, "f must be one of"),
        (lambda: soft_topk_iterative(EXAMPLE, 2, variant="other"), ValueError, "variant must be one of"),
        (lambda: grad_topk([0.0, -np.inf, -np.inf], 2), ValueError, "at least k = 2 finite"),
        (lambda: grad_topk_vjp(EXAMPLE, 2, np.ones(3)), ValueError, "grad must have the shape"),
        (lambda: threshold_topk_vjp([0.5, 1.5], [1.0, 1.0]), ValueError, r"p must lie in \[0, 1\]"),
        (lambda: threshold_topk(EXAMPLE, 2, 1e-310), ValueError, r"x / tau overflows"),
        (lambda: soft_topk_iterative([1e308, -1e308, 0.0, 1.0], 2), ValueError, r"x: the range of the scores"),
        (lambda: log_elementary_symmetric([1e308, 1e308, 0.0], 2), OverflowError, "exceeds the float range"),
        (lambda: log_elementary_symmetric(EXAMPLE, 5), ValueError, "k must be an integer in"),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ------------------------------------------------------------ scores of any range (issue 26)

# Error of the clipped dynamic program: its log tables have entries of size up to about k T, T = 760
# the clipping width (_clip_width), each rounded a few times.
CLIP_RTOL = 4 * 2 * 760 * EPS


@pytest.mark.parametrize("big", [1e15, 1e16, 1e300, 1.7e308])
@pytest.mark.parametrize("tau", [1e-3, 1.0, 1e3])
def test_grad_topk_one_huge_score(big, tau):
    # x = [M, 0, tau], k = 2: M is in the subset with probability 1 - O(e^{-M/tau}); the other slot
    # is a softmax over [0, 1]. Was [1, 0.2528, 0.6873] (sum 1.94) at M = 1e15 and [1, 1, 1] at 1e16.
    p = grad_topk(np.array([big, 0.0, tau]), 2, tau)
    np.testing.assert_allclose(p, [1.0, *scipy_softmax([0.0, 1.0])], rtol=CLIP_RTOL, atol=CLIP_RTOL)
    jac = np.array([grad_topk_vjp(np.array([big, 0.0, tau]), 2, e, tau) for e in np.eye(3)])
    s = scipy_softmax([0.0, 1.0])
    cov = np.diag(s) - np.outer(s, s)  # the covariance of the free slot, over tau
    np.testing.assert_allclose(jac[1:, 1:] * tau, cov, rtol=CLIP_RTOL, atol=CLIP_RTOL)
    np.testing.assert_allclose(jac[0], 0.0, rtol=0, atol=CLIP_RTOL / tau)


@pytest.mark.parametrize("top", [1e300, 1e308])
def test_grad_topk_range_beyond_the_float_range(top, rng):
    # [top, -top, 0, 1]: was [1, 0, 1, 1] at 1e300 (sum 3 for k = 2) and an error blaming tau at 1e308
    x = np.array([top, -top, 0.0, 1.0])
    np.testing.assert_allclose(grad_topk(x, 2), [1, 0, *scipy_softmax([0.0, 1.0])], rtol=CLIP_RTOL, atol=CLIP_RTOL)
    # more sure entries and a moderate middle: the oracle is brute force over the middle alone
    middle = rng.normal(size=5)
    x = np.concatenate([[top, top / 2], middle, [-top, -top / 3]])
    for k in (3, 4, 5):
        subsets, prob, _ = subset_distribution(middle, k - 2)
        want = np.concatenate([[1.0, 1.0], prob @ subsets, [0.0, 0.0]])
        np.testing.assert_allclose(grad_topk(x, k), want, rtol=CLIP_RTOL, atol=CLIP_RTOL)
        np.testing.assert_allclose(
            log_elementary_symmetric(x[2:-2], k - 2) + (top + top / 2),
            log_elementary_symmetric(x, k),
            rtol=4 * EPS,
            atol=0,
        )


def test_iterative_scores_of_any_range():
    half = list(scipy_softmax([0.0, 1.0]))
    # weighted: round one takes the huge score, round two is a softmax over [0, 1] (needs x_i - x_m from x)
    for top in (1e300, 1e308):
        got = soft_topk_iterative(np.array([top, -top, 0.0, 1.0]), 2, variant="weighted")
        np.testing.assert_allclose(got, [1, 0, *half], rtol=8 * EPS, atol=8 * EPS)
    # scaled: same answer at 1e300 (was [1, 0, 0.5, 0.5]: x - max x rounded 0 and 1 together)
    got = soft_topk_iterative(np.array([1e300, -1e300, 0.0, 1.0]), 2, variant="scaled")
    np.testing.assert_allclose(got, [1, 0, *half], rtol=8 * EPS, atol=8 * EPS)
    # scaled on [-1e308, 0, 1]: round one softmax([0, 1]) on the two finite-range entries, round two
    # ((1 - p) x) picks entry 1 outright; was [0, 1, 1]
    got = soft_topk_iterative(np.array([-1e308, 0.0, 1.0]), 2, variant="scaled")
    np.testing.assert_allclose(got, [0, 1 + half[0], half[1]], rtol=8 * EPS, atol=8 * EPS)


def test_log_elementary_symmetric_beyond_the_float_range():
    x = np.array([1e300, -1e300, 0.0, 1.0])
    assert log_elementary_symmetric(x, 4) == 1.0  # the sum of all four, exactly (was 0)
    assert log_elementary_symmetric(np.array([1e308, -1e308]), 2) == 0.0
    wide = np.array([1e308, -1e308, 0.0, 1.0])
    np.testing.assert_allclose(log_elementary_symmetric(wide, 2), 1e308, rtol=EPS, atol=0)


def test_inputs_not_mutated(rng):
    x = rng.normal(size=(3, 5))
    x[0, 1] = -np.inf
    copy = x.copy()
    grad_topk(x, 2)
    threshold_topk(x, 2, f="linear")
    soft_topk_iterative(x, 2, variant="weighted")
    hard_topk_mask(x, 2)
    np.testing.assert_array_equal(x, copy)


def test_linear_exact_zeros_and_ones_on_plateaus(rng):
    # clip(z - lam, 0, 1) is exactly hard top-k whenever the boundary gap is at least tau
    x = rng.normal(size=(500, 20))
    xs = np.sort(x, axis=-1)
    gap = xs[:, -5] - xs[:, -6]
    for tau in (0.01, 0.1, 1.0):
        exact = (threshold_topk(x, 5, tau, f="linear") == hard_topk_mask(x, 5)).all(axis=-1)
        np.testing.assert_array_equal(exact, gap >= tau)


def test_sigmoid_converges_at_large_scaled_scores(rng):
    # scores / tau of order 1e3-1e4: the residual is limited by the spacing of lam, still flagged converged
    x = rng.normal(size=(50, 20))
    sol = threshold_topk_lambda(x, 5, 1e-4, f="sigmoid")
    assert sol.converged
    np.testing.assert_allclose(threshold_topk(x, 5, 1e-4).sum(axis=-1), 5, rtol=0, atol=1e-11)


@pytest.mark.parametrize("f", FUNCTIONS)
def test_threshold_huge_range_keeps_the_sum(f):
    # a range of 6e38: x - max x rounds 0 and 1 together; centring on the k-th largest does not
    x = np.array([3e38, -3e38, 0.0, 1.0])
    p = threshold_topk(x, 2, f=f)
    np.testing.assert_allclose(p.sum(), 2, rtol=0, atol=1e-14)
    rest = threshold_topk(np.array([-np.inf, 0.0, 1.0]), 1, f=f)  # entry 0 is saturated: k - 1 left
    np.testing.assert_allclose(p[[1, 2, 3]], rest, rtol=1e-14, atol=1e-15)


def permutahedron_projection(z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Projection onto the convex hull of the permutations of w (Blondel et al. 2020), by PAV."""
    order = np.argsort(-z, kind="stable")
    y = z[order] - np.sort(w)[::-1]
    means, sizes = [], []
    for value in y:  # decreasing isotonic regression by pool-adjacent-violators
        means.append(float(value))
        sizes.append(1)
        while len(means) > 1 and means[-2] < means[-1]:
            size = sizes[-2] + sizes[-1]
            means[-2] = (sizes[-2] * means[-2] + sizes[-1] * means[-1]) / size
            sizes[-2] = size
            means.pop()
            sizes.pop()
    out = np.empty_like(z)
    out[order] = z[order] - np.repeat(means, sizes)
    return out


def test_linear_equals_permutahedron_projection(rng):
    # the permutahedron of (1,...,1,0,...,0) is the capped simplex: a second algorithm for linear f
    for _ in range(30):
        n = int(rng.integers(2, 15))
        k = int(rng.integers(1, n + 1))
        x = rng.normal(size=n) * rng.choice([0.3, 1.0, 10.0])
        w = np.r_[np.ones(k), np.zeros(n - k)]
        np.testing.assert_allclose(
            threshold_topk(x, k, 0.7, f="linear"), permutahedron_projection(x / 0.7, w), rtol=0, atol=1e-12
        )
