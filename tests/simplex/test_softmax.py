"""Tests of mathguide.simplex.softmax: softmax, log-softmax, its VJP, margin, Taylor, top-k, Gumbel-max."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mathguide.seeding import seeded_rng
from mathguide.simplex.softmax import (
    gumbel_max_sample,
    log_softmax,
    margin_logits,
    margin_softmax,
    perturb_max_sample,
    softmax,
    softmax_vjp,
    taylor_softmax,
    topk_softmax,
)

EPS64 = np.finfo(np.float64).eps
EPS32 = np.finfo(np.float32).eps
SHAPES = [(1,), (1, 1), (5,), (3, 7), (2, 3, 4)]
DENSE_MAPS = {
    "softmax": lambda x, axis=-1: softmax(x, axis=axis),
    "taylor2": lambda x, axis=-1: taylor_softmax(x, 2, axis=axis),
    "taylor6": lambda x, axis=-1: taylor_softmax(x, 6, axis=axis),
    "topk1": lambda x, axis=-1: topk_softmax(x, 1, axis=axis),
    "margin": lambda x, axis=-1: margin_softmax(
        x, np.zeros(np.delete(np.shape(x), axis % np.ndim(x)), dtype=int), margin=0.5, axis=axis
    ),
}

finite_rows = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6),
    elements=st.floats(-50, 50, allow_nan=False, allow_infinity=False),
)



def _on_simplex(p: np.ndarray, axis: int, tol: float) -> None:
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=axis), 1.0, rtol=0, atol=tol)


# --- softmax and log_softmax -------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_and_log_softmax_match_scipy(rng, shape, axis):
    x = 5 * rng.standard_normal(shape)
    n = shape[axis]
    np.testing.assert_allclose(softmax(x, axis=axis), scipy.special.softmax(x, axis=axis), rtol=8 * n * EPS64, atol=0)
    np.testing.assert_allclose(
        log_softmax(x, axis=axis), scipy.special.log_softmax(x, axis=axis), rtol=8 * n * EPS64, atol=8 * n * EPS64
    )


@pytest.mark.parametrize("name", sorted(DENSE_MAPS))
@pytest.mark.parametrize("shape", SHAPES)
def test_outputs_are_on_the_simplex(rng, name, shape):
    x = 3 * rng.standard_normal(shape)
    for axis in range(-len(shape), 0):
        _on_simplex(DENSE_MAPS[name](x, axis=axis), axis, 8 * shape[axis] * EPS64)


@pytest.mark.parametrize("name", sorted(DENSE_MAPS))
def test_float32_in_float32_out_and_ints_give_float64(rng, name):
    x = rng.standard_normal((4, 5))
    p32 = DENSE_MAPS[name](x.astype(np.float32))
    assert p32.dtype == np.float32
    np.testing.assert_allclose(p32, DENSE_MAPS[name](x), rtol=40 * EPS32, atol=10 * EPS32)
    assert DENSE_MAPS[name](np.arange(5)).dtype == np.float64


def test_log_softmax_float32_and_vjp_dtype(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    assert log_softmax(x).dtype == np.float32
    y = softmax(x)
    assert softmax_vjp(y, np.ones_like(y)).dtype == np.float32


@given(finite_rows, st.floats(-1e3, 1e3))
def test_softmax_is_shift_invariant(x, c):
    # Adding c rounds x + c with relative error eps * |c|, which moves each exponent by at most that.
    tol = 4 * EPS64 * (abs(c) + np.abs(x).max() + 1) * x.shape[-1]
    np.testing.assert_allclose(softmax(x + c), softmax(x), rtol=0, atol=tol)
    np.testing.assert_allclose(log_softmax(x + c), log_softmax(x), rtol=0, atol=tol)


@given(finite_rows)
def test_log_softmax_is_the_log_of_softmax(x):
    p = softmax(x)
    # Both are rounded shifted scores x - max (absolute error ~ eps * |x|) plus a log-sum of n terms.
    tol = 8 * EPS64 * (np.abs(x).max() + x.shape[-1])
    np.testing.assert_allclose(np.exp(log_softmax(x)), p, rtol=tol, atol=0)
    mask = p > 0
    np.testing.assert_allclose(log_softmax(x)[mask], np.log(p[mask]), rtol=0, atol=tol)


def test_huge_values_do_not_overflow_or_warn():
    # pytest turns warnings (including NumPy overflow RuntimeWarnings) into errors.
    x = np.array([[1e4, -1e4, 0.0], [1e4, 1e4, -1e4]])
    np.testing.assert_array_equal(softmax(x), [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    np.testing.assert_allclose(log_softmax(x), [[0.0, -2e4, -1e4], [-math.log(2), -math.log(2), -2e4 - math.log(2)]],
        rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(softmax(x.astype(np.float32)), np.array([[1, 0, 0], [0.5, 0.5, 0]], np.float32))
    lp32 = log_softmax(x.astype(np.float32))
    assert lp32.dtype == np.float32
    np.testing.assert_allclose(lp32, log_softmax(x), rtol=4 * EPS32, atol=0)
    np.testing.assert_array_equal(topk_softmax(x, 2), [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    assert np.all(np.isin(gumbel_max_sample(x, rng=seeded_rng(0), size=50), [0, 1]))
    assert np.all(np.isfinite(taylor_softmax(x, order=10)))
    assert np.all(np.isfinite(taylor_softmax(x.astype(np.float32), order=10)))


def test_ties_are_exact():
    x = np.array([2.0, 2.0, 2.0, 2.0])
    np.testing.assert_array_equal(softmax(x), np.full(4, 0.25))
    np.testing.assert_array_equal(taylor_softmax(x, 4), np.full(4, 0.25))
    np.testing.assert_array_equal(topk_softmax(x, 1), np.full(4, 0.25))


def test_minus_inf_entries_get_zero_probability(rng):
    x = rng.standard_normal((3, 5))
    x[:, 1] = -np.inf
    x[2, 3] = -np.inf
    finite = np.where(np.isinf(x), -1e300, x)  # same result from a huge negative finite score
    p = softmax(x)
    assert np.all(p[:, 1] == 0) and p[2, 3] == 0
    np.testing.assert_allclose(p, softmax(finite), rtol=8 * EPS64, atol=0)
    lp = log_softmax(x)
    assert np.all(np.isneginf(lp[:, 1]))
    finite = np.isfinite(x)
    np.testing.assert_allclose(lp[finite], scipy.special.log_softmax(x, axis=-1)[finite], rtol=8 * EPS64, atol=0)


def test_all_minus_inf_slice_raises():
    x = np.array([[0.0, 1.0], [-np.inf, -np.inf]])
    for f in (softmax, log_softmax, lambda v: topk_softmax(v, 1), lambda v: gumbel_max_sample(v, rng=seeded_rng(0))):
        with pytest.raises(ValueError, match="all -inf"):
            f(x)


@pytest.mark.parametrize("f", [softmax, log_softmax, lambda v: taylor_softmax(v), lambda v: topk_softmax(v, 1)])
def test_bad_inputs_raise_naming_the_argument(f):
    with pytest.raises(ValueError, match="x must not contain NaN"):
        f(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match=r"x must .*\+inf|x must be finite"):
        f(np.array([0.0, np.inf]))
    with pytest.raises(ValueError, match="x must have at least one entry along axis"):
        f(np.zeros((3, 0)))
    with pytest.raises(ValueError, match="x must have at least one dimension"):
        f(np.float64(1.0))
    with pytest.raises(TypeError, match="x must be array-like of real numbers"):
        f(np.array([1j, 2.0]))


def test_empty_batch_axis_is_fine():
    assert softmax(np.zeros((0, 3))).shape == (0, 3)
    assert topk_softmax(np.zeros((0, 3)), 2).shape == (0, 3)


def test_axis_and_temperature_validation():
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        softmax(np.zeros((2, 2)), axis=2)
    with pytest.raises(TypeError, match="axis must be an integer"):
        softmax(np.zeros((2, 2)), axis=1.0)
    for bad, message in ((0.0, "must be positive"), (-1.0, "must be positive"), (math.inf, "must be finite"),
                         (math.nan, "must not be NaN")):
        with pytest.raises(ValueError, match=f"temperature {message}"):
            softmax(np.zeros(2), temperature=bad)
    for bad in (True, "1", np.ones(2)):
        with pytest.raises(TypeError, match="temperature must be a real number"):
            softmax(np.zeros(2), temperature=bad)


def test_temperature_limits_and_closed_form(rng):
    x = np.array([1.0, 3.0, -2.0, 3.0, 0.5])
    np.testing.assert_allclose(softmax(x, temperature=0.3), scipy.special.softmax(x / 0.3), rtol=8 * EPS64 * 5, atol=0)
    # T -> 0: uniform over the two maximisers (exactly: the other exponents underflow to 0).
    np.testing.assert_array_equal(softmax(x, temperature=1e-3), [0, 0.5, 0, 0.5, 0])
    expected32 = np.array([0, 0.5, 0, 0.5, 0], np.float32)
    np.testing.assert_array_equal(softmax(x.astype(np.float32), temperature=1e-60), expected32)
    # T -> inf: uniform, with error bounded by (max - min) / T.
    np.testing.assert_allclose(softmax(x, temperature=1e9), np.full(5, 0.2), rtol=0, atol=(5 / 1e9))


def test_inputs_are_not_mutated(rng):
    x = rng.standard_normal((3, 4))
    x[0, 0] = -np.inf
    g = rng.standard_normal((3, 4))
    x0, g0 = x.copy(), g.copy()
    softmax(x)
    log_softmax(x, temperature=0.5)
    topk_softmax(x, 2)
    margin_softmax(x, np.array([1, 2, 3]), margin=1.0)
    gumbel_max_sample(x, rng=rng, size=3)
    y = softmax(x)
    y0 = y.copy()
    softmax_vjp(y, g)
    taylor_softmax(g)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(g, g0)
    np.testing.assert_array_equal(y, y0)


# --- softmax_vjp ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape, axis", [((1,), -1), ((4,), -1), ((3, 5), -1), ((5, 3), 0), ((2, 3, 4), 1)])
def test_softmax_vjp_matches_central_differences(rng, shape, axis):
    x = rng.standard_normal(shape)
    g = rng.standard_normal(shape)
    h = 1e-6
    fd = np.empty(shape)
    # Directional derivative of L(x) = <g, softmax(x)> along each basis vector (loop over the few
    # coordinates of a small test array, not over a batch).
    for index in np.ndindex(shape):
        e = np.zeros(shape)
        e[index] = h
        fd[index] = (np.sum(g * softmax(x + e, axis=axis)) - np.sum(g * softmax(x - e, axis=axis))) / (2 * h)
    # Central differences: truncation O(h^2) ~ 1e-12, rounding O(eps / h) ~ 1e-10 times |g|.
    np.testing.assert_allclose(softmax_vjp(softmax(x, axis=axis), g, axis=axis), fd, rtol=0, atol=1e-8)


def test_softmax_vjp_is_the_jacobian_product(rng):
    x = rng.standard_normal(6)
    g = rng.standard_normal(6)
    p = softmax(x)
    jac = np.diag(p) - np.outer(p, p)
    np.testing.assert_allclose(softmax_vjp(p, g), jac.T @ g, rtol=0, atol=16 * EPS64)
    np.testing.assert_allclose(softmax_vjp(p, g).sum(), 0.0, atol=16 * EPS64, rtol=0)


def test_softmax_vjp_validation():
    with pytest.raises(ValueError, match="grad must have the shape of y"):
        softmax_vjp(np.ones(3) / 3, np.ones(4))
    with pytest.raises(ValueError, match="y must be finite"):
        softmax_vjp(np.array([np.inf, 0.0]), np.ones(2))


# --- margin softmax ------------------------------------------------------------------------------


def test_margin_softmax_closed_form(rng):
    x = rng.standard_normal((6, 4))
    t = rng.integers(0, 4, size=6)
    m, s = 0.7, 3.0
    p = margin_softmax(x, t, margin=m, scale=s)
    rows = np.arange(6)
    num = np.exp(s * (x[rows, t] - m))
    den = num + (np.exp(s * x).sum(axis=1) - np.exp(s * x[rows, t]))
    np.testing.assert_allclose(p[rows, t], num / den, rtol=32 * EPS64, atol=0)
    # Zero margin and unit scale is plain softmax; a margin lowers the target probability.
    np.testing.assert_allclose(margin_softmax(x, t, margin=0.0), softmax(x), rtol=8 * EPS64, atol=0)
    assert np.all(p[rows, t] < softmax(s * x)[rows, t])


def test_margin_logits_along_axis_0(rng):
    x = rng.standard_normal((4, 3))
    t = np.array([0, 3, 1])
    z = margin_logits(x, t, margin=1.0, axis=0)
    expected = x.copy()
    expected[t, np.arange(3)] -= 1.0
    np.testing.assert_array_equal(z, expected)


def test_margin_validation():
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match="labels must have shape"):
        margin_softmax(x, np.array([0, 1, 2]), margin=0.1)
    with pytest.raises(ValueError, match="labels entries must lie in"):
        margin_softmax(x, np.array([0, 3]), margin=0.1)
    with pytest.raises(TypeError, match="labels must be an integer array"):
        margin_softmax(x, np.array([0.0, 1.0]), margin=0.1)
    with pytest.raises(ValueError, match="margin must be non-negative"):
        margin_softmax(x, np.array([0, 1]), margin=-0.1)
    with pytest.raises(ValueError, match="margin must be finite"):
        margin_softmax(x, np.array([0, 1]), margin=math.inf)
    with pytest.raises(TypeError, match="margin must be a real number"):
        margin_softmax(x, np.array([0, 1]), margin=True)
    with pytest.raises(ValueError, match="scale must be positive"):
        margin_softmax(x, np.array([0, 1]), margin=0.1, scale=0.0)
    with pytest.raises(TypeError, match="scale must be a real number"):
        margin_softmax(x, np.array([0, 1]), margin=0.1, scale="2")


# --- Taylor softmax ------------------------------------------------------------------------------


def _taylor_reference(x: np.ndarray, order: int) -> np.ndarray:
    """Direct evaluation of sum_k x^k / k!, normalised (fine for moderate |x|)."""
    f = sum(x**k / math.factorial(k) for k in range(order + 1))
    return f / f.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("order", [2, 4, 6, 10])
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5)])
def test_taylor_softmax_matches_direct_formula(rng, order, shape):
    x = 4 * rng.standard_normal(shape)
    # Both evaluations of the alternating sum lose the factor kappa = sum |x|^k / k! / f(x) (its
    # condition number), amplified by the order + 1 rounding steps and by the normalisation.
    f = sum(x**k / math.factorial(k) for k in range(order + 1))
    kappa = sum(np.abs(x) ** k / math.factorial(k) for k in range(order + 1)) / f
    tol = 4 * (order + 1) * kappa.max() * shape[-1] * EPS64
    np.testing.assert_allclose(taylor_softmax(x, order), _taylor_reference(x, order), rtol=tol, atol=0)


@given(
    hnp.arrays(np.float64, st.integers(1, 8), elements=st.floats(-1e4, 1e4, allow_nan=False)),
    st.sampled_from([2, 4, 6, 8, 10]),
)
def test_taylor_softmax_is_strictly_positive(x, order):
    p = taylor_softmax(x, order)
    assert np.all(p > 0)
    np.testing.assert_allclose(p.sum(), 1.0, atol=8 * x.size * EPS64, rtol=0)


def test_taylor_polynomial_has_no_real_zero_on_a_grid():
    # The minimum of f_2m over a fine grid is positive (and is attained where f = x^2m / (2m)!).
    u = np.linspace(-12, 4, 160001)
    for order in (2, 4, 6, 8, 10):
        p = taylor_softmax(u, order)
        assert np.all(p > 0)
        f = sum(u**k / math.factorial(k) for k in range(order + 1))
        i = np.argmin(f)
        np.testing.assert_allclose(f[i], u[i] ** order / math.factorial(order), rtol=1e-3, atol=0)


def test_taylor_order_validation():
    for bad in (1, 3, 0, -2):
        with pytest.raises(ValueError, match="order must be an even integer >= 2"):
            taylor_softmax(np.zeros(3), order=bad)
    with pytest.raises(TypeError, match="order must be an even positive integer"):
        taylor_softmax(np.zeros(3), order=2.0)
    with pytest.raises(ValueError, match="x must be finite"):
        taylor_softmax(np.array([0.0, -np.inf]))


# --- top-k softmax -------------------------------------------------------------------------------


def test_topk_with_k_equal_n_is_softmax_and_k_one_is_argmax(rng):
    x = rng.standard_normal((6, 5))
    np.testing.assert_allclose(topk_softmax(x, 5), softmax(x), rtol=8 * EPS64, atol=0)
    np.testing.assert_array_equal(topk_softmax(x, 1), np.eye(5)[np.argmax(x, axis=-1)])
    np.testing.assert_array_equal(topk_softmax(x.T, 1, axis=0), np.eye(5)[np.argmax(x, axis=-1)].T)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_topk_is_renormalised_softmax_on_the_k_largest(rng, k):
    x = rng.standard_normal((8, 6))
    keep = np.argsort(-x, axis=-1)[:, :k]  # independent oracle: full sort (no ties in random data)
    mask = np.zeros_like(x, dtype=bool)
    np.put_along_axis(mask, keep, True, axis=-1)
    p = softmax(x)
    expected = np.where(mask, p, 0.0) / np.where(mask, p, 0.0).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(topk_softmax(x, k), expected, rtol=16 * EPS64, atol=0)
    # Total variation to softmax equals the softmax mass outside the top k.
    tv = 0.5 * np.abs(topk_softmax(x, k) - p).sum(axis=-1)
    np.testing.assert_allclose(tv, np.where(mask, 0.0, p).sum(axis=-1), rtol=64 * EPS64, atol=8 * EPS64)


def test_topk_keeps_all_ties_at_the_kth_value():
    x = np.array([3.0, 1.0, 2.0, 2.0, 0.0])
    expected = softmax(np.array([3.0, -np.inf, 2.0, 2.0, -np.inf]))
    np.testing.assert_array_equal(topk_softmax(x, 2), expected)
    np.testing.assert_array_equal(topk_softmax(x, 3), expected)
    np.testing.assert_array_equal(topk_softmax(np.array([1.0, 5.0, 5.0]), 1), [0.0, 0.5, 0.5])


@given(finite_rows, st.data())
def test_topk_is_permutation_equivariant(x, data):
    k = data.draw(st.integers(1, x.shape[-1]))
    perm = data.draw(st.permutations(range(x.shape[-1])))
    permuted, reference = topk_softmax(x[..., perm], k), topk_softmax(x, k)[..., perm]
    np.testing.assert_array_equal(permuted > 0, reference > 0)  # the same support, exactly
    # Values agree up to the summation order of the normaliser.
    np.testing.assert_allclose(permuted, reference, rtol=4 * x.shape[-1] * EPS64, atol=0)


def test_topk_with_minus_inf_and_k_validation():
    x = np.array([[0.0, -np.inf, 1.0], [-np.inf, -np.inf, 2.0]])
    np.testing.assert_allclose(topk_softmax(x, 3), softmax(x), rtol=8 * EPS64, atol=0)
    np.testing.assert_array_equal(topk_softmax(x, 2)[1], [0.0, 0.0, 1.0])
    with pytest.raises(ValueError, match=r"k must satisfy 1 <= k <= n = 3"):
        topk_softmax(x, 4)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        topk_softmax(x, 0)
    with pytest.raises(TypeError, match="k must be a positive integer"):
        topk_softmax(x, 1.5)


# --- Gumbel-max and perturb-and-max --------------------------------------------------------------


def test_gumbel_max_frequencies_match_softmax(rng):
    logits = np.array([1.0, 0.0, -1.0, 2.0, -np.inf, 0.5])
    n_draws = 40_000
    draws = gumbel_max_sample(logits, rng=rng, size=n_draws)
    assert draws.shape == (n_draws,) and draws.dtype == np.int64
    counts = np.bincount(draws, minlength=6)
    assert counts[4] == 0  # a -inf logit is never chosen
    finite = np.isfinite(logits)
    expected = n_draws * softmax(logits)[finite]
    # Seeded chi-square goodness of fit: under the claim p is uniform on (0, 1); fail only below 1e-3.
    assert scipy.stats.chisquare(counts[finite], expected).pvalue > 1e-3


def test_gumbel_max_batches_and_axis(rng):
    logits = np.array([[0.0, 2.0, 1.0], [3.0, 0.0, 0.0]])  # shape (batch=2, n=3)
    draws = gumbel_max_sample(logits, rng=rng, size=(5000, 2))
    assert draws.shape == (5000, 2, 2)
    draws_t = gumbel_max_sample(logits.T, rng=rng, size=10_000, axis=0)
    assert draws_t.shape == (10_000, 2)
    for row in range(2):
        counts = np.bincount(draws_t[:, row], minlength=3)
        assert scipy.stats.chisquare(counts, 10_000 * softmax(logits[row])).pvalue > 1e-3


def test_gaussian_perturb_max_is_not_softmax(rng):
    logits = np.array([2.0, 0.0, 0.0])
    n_draws = 40_000
    counts = np.bincount(perturb_max_sample(logits, rng=rng, noise="normal", size=n_draws), minlength=3)
    # The Gaussian choice probability of index 0 from one-dimensional quadrature (independent oracle):
    # P = int phi(z - 2) Phi(z)^2 dz.
    z = np.linspace(-10, 12, 20001)
    p0 = np.trapezoid(scipy.stats.norm.pdf(z - 2) * scipy.stats.norm.cdf(z) ** 2, z)
    se = math.sqrt(p0 * (1 - p0) / n_draws)
    assert abs(counts[0] / n_draws - p0) < 4 * se
    assert abs(p0 - softmax(logits)[0]) > 20 * se  # and it is far from the softmax probability


def test_sampler_validation(rng):
    with pytest.raises(TypeError, match="rng must be"):
        gumbel_max_sample(np.zeros(3), rng=None)
    with pytest.raises(ValueError, match="noise must be one of"):
        perturb_max_sample(np.zeros(3), rng=rng, noise="uniform")
    with pytest.raises(ValueError, match="size must be a positive integer"):
        gumbel_max_sample(np.zeros(3), rng=rng, size=0)
    with pytest.raises(TypeError, match="size must be None"):
        gumbel_max_sample(np.zeros(3), rng=rng, size=2.5)
    with pytest.raises(ValueError, match="logits must have at least one entry"):
        gumbel_max_sample(np.zeros((2, 0)), rng=rng)
    assert gumbel_max_sample(np.zeros((2, 3)), rng=seeded_rng(1)).shape == (2,)
    # Same seed, same draws.
    np.testing.assert_array_equal(
        gumbel_max_sample(np.zeros(4), rng=7, size=20), gumbel_max_sample(np.zeros(4), rng=7, size=20)
    )
    # ... and another seed, other draws (a constant function would pass the line above).
    assert not np.array_equal(
        gumbel_max_sample(np.zeros(4), rng=8, size=20), gumbel_max_sample(np.zeros(4), rng=7, size=20)
    )


def test_taylor_softmax_high_order_in_float32_and_order_cap(rng):
    # In float32, 1/k! underflows from k = 34 on: the polynomial must still be evaluated correctly
    # (in double precision), giving the float64 result rounded to float32.
    x = rng.uniform(-3, 3, size=(4, 6))
    for order in (40, 100):
        p64 = taylor_softmax(x, order)
        p32 = taylor_softmax(x.astype(np.float32), order)
        assert p32.dtype == np.float32 and np.isfinite(p32).all()
        # float32 input rounding (relative eps32 on x) moves f(x) by at most order * eps32 relatively.
        np.testing.assert_allclose(p32, p64, rtol=4 * order * EPS32, atol=0)
        # For |x| <= 3 the order-40 polynomial equals exp to double precision (remainder 3^41/41! ~ 1e-30),
        # so what remains is rounding. Horner's rule evaluates f(x_i) with an absolute error of at most
        # gamma_2k f(|x_i|) (Higham, Accuracy and Stability, eq. 5.3), gamma_2k ~ 2k u: relative to f(x_i)
        # ~ e^{x_i} that is gamma e^{|x_i| - x_i}, large for negative x_i (the alternating series
        # cancels), and the normaliser sum_j f(x_j) adds gamma sum_j e^{|x_j|} / sum_j e^{x_j}.
        gamma = 2 * order * EPS64 / 2
        row_term = np.exp(np.abs(x)).sum(axis=-1, keepdims=True) / np.exp(x).sum(axis=-1, keepdims=True)
        bound = gamma * (np.exp(np.abs(x) - x) + row_term)
        reference = softmax(x)
        assert (np.abs(p64 - reference) <= bound * reference).all()
    with pytest.raises(ValueError, match="order must be at most 170"):
        taylor_softmax(x, 172)


def test_gumbel_max_float32_huge_logits_equal_float64_draws():
    # The argmax is shift invariant and the noise is added in float64 to the shifted logits, so
    # float32 logits near 1e4 (where float32 spacing is 2^-10) give exactly the float64 draws.
    x32 = np.array([1e4, 1e4 - 0.5, 1e4 - 1.25, -1e4], dtype=np.float32)
    x64 = x32.astype(np.float64) - 1e4  # the same logits, shifted (exact)
    np.testing.assert_array_equal(
        gumbel_max_sample(x32, rng=seeded_rng(3), size=100_000), gumbel_max_sample(x64, rng=seeded_rng(3), size=100_000)
    )


@pytest.mark.parametrize("order", [2, 80, 120])
def test_taylor_softmax_widely_spread_scores_against_exact_rationals(order):
    """[1e4, 0, -3]: f(0) / f(1e4) is about 6.6e-282 at order 120, representable, so not 0."""
    from fractions import Fraction
    from math import factorial

    x = np.array([1e4, 0.0, -3.0])
    f = [sum(Fraction(float(v)) ** k / factorial(k) for k in range(order + 1)) for v in x]
    exact = np.array([float(v / sum(f)) for v in f])
    assert exact.min() > 0
    np.testing.assert_allclose(taylor_softmax(x, order), exact, rtol=1e-12, atol=0)


def test_softmax_vjp_rejects_y_off_the_simplex():
    g = np.ones(3)
    for bad in ([0.5, 0.5, 0.5], [1.2, -0.1, -0.1], [0.2, 0.2, 0.2]):
        with pytest.raises(ValueError, match="y must be a probability vector"):
            softmax_vjp(np.array(bad), g)
    y = softmax(np.array([1.0, 2.0, 3.0]))
    assert np.isfinite(softmax_vjp(y, g)).all()


def test_softmax_scores_spanning_more_than_the_float_range():
    """Differences beyond the largest float become -inf after the shift: probability exactly 0."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(softmax(np.array([1e308, -1e308, 0.0])), [1.0, 0.0, 0.0])
        assert np.isneginf(log_softmax(np.array([1e308, -1e308]))[1])
