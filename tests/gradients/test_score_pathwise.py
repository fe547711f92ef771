"""Tests of mathguide.gradients.score_pathwise (chapter chapters/gradients/score-and-pathwise.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
from scipy import integrate, stats

from mathguide.gradients import (
    binary_vectors,
    exact_bernoulli_grad,
    exact_categorical_grad,
    gaussian_mu_grad_moments,
    gaussian_score,
    pathwise_grad_gaussian,
    score_function_grad,
    score_function_grad_gaussian,
)
from mathguide.seeding import seeded_rng

# A "few standard errors": a correct estimator fails a 4-SE bound with probability about 6e-5.
Z_BOUND = 4.0
N_DRAWS = 200_000

F = {
    "linear": (lambda z, a: a * z, lambda z, a: a + 0 * z),
    "quadratic": (lambda z, a: z**2, lambda z, a: 2 * z),
    "exp": (lambda z, a: np.exp(a * z), lambda z, a: a * np.exp(a * z)),
    "step": (lambda z, a: np.where(z > a, 1.0, 0.0), lambda z, a: 0 * z),
    "cos": (lambda z, a: np.cos(a * z), lambda z, a: -a * np.sin(a * z)),
}
CASES = [
    ("linear", 0.7, 1.3, 2.0),
    ("linear", -1.0, 0.5, -0.5),
    ("quadratic", 0.5, 1.0, 1.0),
    ("quadratic", -2.0, 0.3, 1.0),
    ("exp", 0.2, 0.5, 1.0),
    ("exp", -0.5, 0.8, -0.7),
    ("step", 0.0, 1.0, 0.5),
    ("step", 1.0, 2.0, -1.0),
    ("cos", 0.0, 1.0, 3.0),
    ("cos", 0.4, 0.7, 1.5),
]


def _gauss_expect(g, mu, sigma, kink=0.0):
    """E[g(z)] for z ~ N(mu, sigma^2) by adaptive quadrature over eps (an independent oracle).

    ``kink`` is a point z where g jumps (the step), passed to the quadrature as a breakpoint.
    """
    points = sorted({0.0, (kink - mu) / sigma})
    value, _ = integrate.quad(lambda e: g(mu + sigma * e, e) * stats.norm.pdf(e), -40, 40, limit=400, points=points)
    return value


@pytest.mark.parametrize("kind, mu, sigma, a", CASES)
def test_closed_forms_match_quadrature(kind, mu, sigma, a):
    f, df = F[kind]
    moments = gaussian_mu_grad_moments(kind, mu, sigma, a)
    # The exact gradient by differentiating E f numerically in mu (central difference of quadratures).
    h = 1e-4
    k = a if kind == "step" else 0.0
    grad_fd = (
        _gauss_expect(lambda z, e: f(z, a), mu + h, sigma, k) - _gauss_expect(lambda z, e: f(z, a), mu - h, sigma, k)
    ) / (2 * h)
    np.testing.assert_allclose(moments.grad, grad_fd, rtol=1e-6, atol=1e-7)
    second_score = _gauss_expect(lambda z, e: (f(z, a) * e / sigma) ** 2, mu, sigma, k)
    np.testing.assert_allclose(moments.var_score, second_score - grad_fd**2, rtol=1e-6, atol=1e-7)
    if kind != "step":
        second_path = _gauss_expect(lambda z, e: df(z, a) ** 2, mu, sigma)
        np.testing.assert_allclose(moments.var_pathwise, second_path - grad_fd**2, rtol=1e-6, atol=1e-7)
    else:
        assert moments.var_pathwise == 0.0


def _var_bound(per_sample):
    """Standard error of the sample variance, from the sample fourth central moment."""
    d = per_sample - per_sample.mean()
    return math.sqrt(np.var(d**2) / d.size)


class _Recorder:
    """Wrap a callback and keep the points z it was evaluated at."""

    def __init__(self, fn):
        self.fn, self.z = fn, None

    def __call__(self, z):
        self.z = z.copy()
        return self.fn(z)


@pytest.mark.parametrize("kind, mu, sigma, a", CASES)
def test_estimators_mean_and_variance_against_closed_forms(kind, mu, sigma, a, rng):
    f, df = F[kind]
    moments = gaussian_mu_grad_moments(kind, mu, sigma, a)
    sf = score_function_grad_gaussian(lambda z: f(z, a), np.array([mu]), np.array([sigma]), n_samples=N_DRAWS, rng=rng)
    spy = _Recorder(lambda z: df(z, a))
    pw = pathwise_grad_gaussian(spy, np.array([mu]), np.array([sigma]), n_samples=N_DRAWS, rng=rng)
    assert abs(sf.mu.mean[0] - moments.grad) < Z_BOUND * sf.mu.std_error[0]
    per = sf.mu.per_sample[:, 0]
    assert abs(np.var(per, ddof=1) - moments.var_score) < Z_BOUND * _var_bound(per)
    # The pathwise terms are grad_f at draws z ~ N(mu, sigma^2) (checked on the recorded points,
    # which a version evaluating grad_f at eps or at mu fails) and the sigma terms grad_f(z) * eps.
    z = spy.z[:, 0]
    assert abs(z.mean() - mu) < Z_BOUND * sigma / math.sqrt(N_DRAWS)
    assert abs(np.var(z, ddof=1) - sigma**2) < Z_BOUND * _var_bound(z)
    per = pw.mu.per_sample[:, 0]
    np.testing.assert_array_equal(per, df(z, a))
    np.testing.assert_allclose(pw.sigma.per_sample[:, 0], df(z, a) * (z - mu) / sigma, rtol=1e-12, atol=1e-12)
    if kind == "linear":  # f' = a: zero variance
        assert np.all(per == a) and moments.var_pathwise == 0.0
    elif kind == "step":  # f' = 0 almost everywhere: biased, while the score estimate resolves the gradient
        assert np.all(per == 0) and moments.grad > Z_BOUND * sf.mu.std_error[0]
    else:
        assert abs(pw.mu.mean[0] - moments.grad) < Z_BOUND * pw.mu.std_error[0]
        assert abs(np.var(per, ddof=1) - moments.var_pathwise) < Z_BOUND * _var_bound(per)


def test_moments_overflow_to_inf_not_an_error():
    # Issue 26: gaussian_mu_grad_moments("exp", 400, 1, 1) raised a bare OverflowError. The gradient
    # e^400.5 is representable; the variances (about e^802) are not: inf, the correctly rounded value.
    m = gaussian_mu_grad_moments("exp", 400.0, 1.0, 1.0)
    np.testing.assert_allclose(m.grad, math.exp(400.5), rtol=1e-13, atol=0)
    assert m.var_score == math.inf and m.var_pathwise == math.inf
    # Extreme arguments: the dimensional law (mu, sigma, 1/a) -> c (mu, sigma, 1/a) multiplies the
    # gradient by 1/c and the variances by 1/c^2; beyond the float range the answer is inf or 0.
    ref = gaussian_mu_grad_moments("cos", 0.2, 1.0, 3.0)
    for c, k in ((2.0**-300, 300), (2.0**300, -300)):
        got = gaussian_mu_grad_moments("cos", 0.2 * c, c, 3.0 / c)
        np.testing.assert_allclose(got.grad, math.ldexp(ref.grad, k), rtol=1e-14, atol=0)
        np.testing.assert_allclose(got.var_score, math.ldexp(ref.var_score, 2 * k), rtol=1e-14, atol=0)
        np.testing.assert_allclose(got.var_pathwise, math.ldexp(ref.var_pathwise, 2 * k), rtol=1e-14, atol=0)
    got = gaussian_mu_grad_moments("cos", 0.2 * 2.0**-600, 2.0**-600, 3.0 * 2.0**600)  # sigma^2 underflows
    np.testing.assert_allclose(got.grad, math.ldexp(ref.grad, 600), rtol=1e-14, atol=0)
    assert got.var_score == math.inf and got.var_pathwise == math.inf  # 2^1200 times the reference
    q = gaussian_mu_grad_moments("quadratic", 2.0**600, 2.0**600)
    assert q.grad == 2.0**601 and q.var_score == math.inf and q.var_pathwise == math.inf
    tiny = gaussian_mu_grad_moments("linear", 3.0 * 2.0**-600, 2.0**-600, 2.0**-600)  # 11 * 2^-1200
    assert tiny.var_score == 0.0 and tiny.grad == 2.0**-600


def test_estimates_keep_their_spread_at_extreme_scales():
    # The standard error is computed after a power-of-two scaling: at 2^600 the squares of the
    # terms overflow, at 2^-600 they underflow, and a plain np.std gives inf or 0.
    base = pathwise_grad_gaussian(lambda z: 2 * z, np.array([0.3]), np.array([0.8]), n_samples=50, rng=seeded_rng(4))
    for c in (2.0**600, 2.0**-600):
        big = pathwise_grad_gaussian(
            lambda z: 2 * z, np.array([0.3 * c]), np.array([0.8 * c]), n_samples=50, rng=seeded_rng(4)
        )
        np.testing.assert_allclose(big.mu.std_error / c, base.mu.std_error, rtol=1e-15, atol=0)
        np.testing.assert_allclose(big.sigma.mean / c, base.sigma.mean, rtol=1e-15, atol=0)


def test_overflowing_terms_are_refused_by_name():
    with pytest.raises(ValueError, match="overflow"):
        score_function_grad([1e300, -1e300], [[1e10], [1e10]])
    with pytest.raises(ValueError, match="mu \\+ sigma \\* eps overflows"):
        pathwise_grad_gaussian(lambda z: z, np.array([1.7e308]), np.array([1e308]), n_samples=50, rng=seeded_rng(0))


@pytest.mark.parametrize(
    "kind, a, grad_sigma",
    [
        ("quadratic", 1.0, lambda m, s, a: 2 * s),  # E z^2 = m^2 + s^2
        ("exp", 0.6, lambda m, s, a: a * a * s * math.exp(a * m + (a * s) ** 2 / 2)),
        ("cos", 2.0, lambda m, s, a: -a * a * s * math.cos(a * m) * math.exp(-((a * s) ** 2) / 2)),
    ],
)
def test_sigma_gradients_are_unbiased(kind, a, grad_sigma, rng):
    f, df = F[kind]
    mu, sigma = np.array([0.3, -0.4]), np.array([0.8, 1.2])
    exact = np.array([grad_sigma(m, s, a) for m, s in zip(mu, sigma, strict=True)])
    loo = "leave-one-out"
    # The sigma score (eps^2 - 1) / sigma is chi-square-like (skewness 2 sqrt 2), and the normal
    # approximation behind "4 standard errors" is optimistic in the tail for such sums: with the
    # shared seed the mean of eps^2 over the first 200,000 draws is already 3.1 SE below 1. A
    # 5-SE bound keeps the false-alarm rate small and still catches a bias: a sigma score missing
    # its 1/sigma factor would be off by about 8 SE for the exp case at this n.
    for result in (
        score_function_grad_gaussian(lambda z: f(z, a), mu, sigma, n_samples=N_DRAWS, rng=rng),
        score_function_grad_gaussian(lambda z: f(z, a), mu, sigma, n_samples=N_DRAWS, rng=rng, baseline=loo),
        pathwise_grad_gaussian(lambda z: df(z, a), mu, sigma, n_samples=N_DRAWS, rng=rng),
    ):
        assert np.all(np.abs(result.sigma.mean - exact) < 5.0 * result.sigma.std_error)


def test_gaussian_score_matches_scipy_logpdf_derivative(rng):
    mu, sigma = np.array([0.5, -1.0]), np.array([0.7, 2.0])
    z = mu + sigma * rng.standard_normal((5, 2))
    score = gaussian_score(z, mu, sigma)
    h = 1e-6
    d_mu = (stats.norm.logpdf(z, mu + h, sigma) - stats.norm.logpdf(z, mu - h, sigma)) / (2 * h)
    d_sigma = (stats.norm.logpdf(z, mu, sigma + h) - stats.norm.logpdf(z, mu, sigma - h)) / (2 * h)
    np.testing.assert_allclose(score.mu.per_sample, d_mu, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(score.sigma.per_sample, d_sigma, rtol=1e-7, atol=1e-8)


def test_constant_baseline_keeps_mean_and_optimal_one_minimises_variance(rng):
    # Categorical with known probabilities: the per-sample estimator (f - b) * (e_i - p).
    logits = np.array([0.5, -1.0, 1.5, 0.0])
    f_vals = np.array([3.0, -1.0, 2.0, 5.0])
    p = scipy.special.softmax(logits)
    exact = exact_categorical_grad(logits, f_vals).grad
    idx = rng.choice(4, size=N_DRAWS, p=p)
    scores = np.eye(4)[idx] - p
    # Optimal constant baseline for the total variance: E[f |s|^2] / E[|s|^2], computed exactly.
    norms = ((np.eye(4) - p) ** 2).sum(axis=1)
    b_star = float((p * f_vals * norms).sum() / (p * norms).sum())
    variances = {}
    for b in (None, 0.5 * b_star, b_star, 2.0 * b_star):
        est = score_function_grad(f_vals[idx], scores, baseline=b)
        assert np.all(np.abs(est.mean - exact) < Z_BOUND * est.std_error)
        variances[b] = float(est.per_sample.var(axis=0).sum())
    # Total variance is a quadratic in b with its minimum at b_star: exact values by enumeration.
    exact_var = {
        b: float((p[:, None] * ((f_vals - (b or 0.0))[:, None] * (np.eye(4) - p) - exact) ** 2).sum())
        for b in variances
    }
    for b in variances:
        np.testing.assert_allclose(variances[b], exact_var[b], rtol=0.02, atol=0)
    assert min(exact_var, key=exact_var.get) == b_star


@pytest.mark.slow
def test_leave_one_out_is_unbiased_with_small_batches(rng):
    logits = np.array([0.0, 1.0, -0.5])
    f_vals = np.array([1.0, 4.0, -2.0])
    p = scipy.special.softmax(logits)
    exact = exact_categorical_grad(logits, f_vals).grad
    n_batches, k = 40_000, 3
    idx = rng.choice(3, size=(n_batches, k), p=p)
    means = np.array(
        [score_function_grad(f_vals[row], np.eye(3)[row] - p, baseline="leave-one-out").mean for row in idx]
    )
    se = means.std(axis=0, ddof=1) / math.sqrt(n_batches)
    assert np.all(np.abs(means.mean(axis=0) - exact) < Z_BOUND * se)


def test_exact_categorical_grad_matches_finite_differences(rng):
    logits = rng.standard_normal((3, 6))
    f_vals = rng.standard_normal((3, 6))
    result = exact_categorical_grad(logits, f_vals)
    h = 1e-6
    fd = np.zeros_like(logits)
    for j in range(6):
        e = np.zeros(6)
        e[j] = h
        dp = scipy.special.softmax(logits + e, axis=1) - scipy.special.softmax(logits - e, axis=1)
        fd[:, j] = (dp * f_vals).sum(1) / (2 * h)
    np.testing.assert_allclose(result.grad, fd, rtol=1e-6, atol=1e-9)
    expected_value = (scipy.special.softmax(logits, axis=1) * f_vals).sum(1)
    np.testing.assert_allclose(result.value, expected_value, rtol=1e-14, atol=0)
    col = exact_categorical_grad(logits.T, f_vals.T, axis=0)
    np.testing.assert_allclose(col.grad, result.grad.T, rtol=1e-14, atol=1e-16)
    assert isinstance(exact_categorical_grad(logits[0], f_vals[0]).value, float)


def test_binary_vectors():
    ys = binary_vectors(5)
    assert ys.shape == (32, 5)
    assert len({tuple(row) for row in ys}) == 32
    np.testing.assert_array_equal(ys @ (2 ** np.arange(4, -1, -1)), np.arange(32))


def test_exact_bernoulli_grad_against_separable_closed_form_and_finite_differences():
    theta = np.array([0.3, -1.2, 2.0, 0.0])
    t = np.array([0.45, 0.1, 0.9, 0.6])

    def f(y):
        return ((y - t) ** 2).sum(axis=1)

    result = exact_bernoulli_grad(theta, f)
    s = scipy.special.expit(theta)
    # Separable f: E f = sum_j [s_j (1 - t_j)^2 + (1 - s_j) t_j^2], d/dtheta_j = s_j (1 - s_j) (1 - 2 t_j).
    np.testing.assert_allclose(result.value, (s * (1 - t) ** 2 + (1 - s) * t**2).sum(), rtol=1e-14, atol=0)
    np.testing.assert_allclose(result.grad, s * (1 - s) * (1 - 2 * t), rtol=1e-12, atol=1e-15)

    def g(y):  # a non-separable f: the finite-difference oracle
        return np.sin(y @ np.array([1.0, -2.0, 0.5, 3.0])) + y[:, 0] * y[:, 3]

    h = 1e-6
    fd = [
        (exact_bernoulli_grad(theta + h * e, g).value - exact_bernoulli_grad(theta - h * e, g).value) / (2 * h)
        for e in np.eye(4)
    ]
    np.testing.assert_allclose(exact_bernoulli_grad(theta, g).grad, fd, rtol=1e-7, atol=1e-9)


def test_exact_bernoulli_grad_is_stable_for_huge_logits():
    result = exact_bernoulli_grad(np.array([1e4, -1e4, 0.0]), lambda y: y.sum(axis=1))
    np.testing.assert_allclose(result.value, 1.5, rtol=1e-15, atol=0)
    np.testing.assert_allclose(result.grad, [0.0, 0.0, 0.25], rtol=1e-15, atol=0)


def test_reproducible_and_seed_dependent():
    def run(seed):
        return pathwise_grad_gaussian(np.cos, np.zeros(2), np.ones(2), n_samples=10, rng=seed).mu.mean

    np.testing.assert_array_equal(run(1), run(1))
    assert not np.array_equal(run(1), run(2))


def test_float32_is_kept(rng):
    mu, sigma = np.zeros(3, np.float32), np.ones(3, np.float32)
    out = pathwise_grad_gaussian(lambda z: 2 * z, mu, sigma, n_samples=4, rng=rng)
    assert out.mu.mean.dtype == np.float32
    out = score_function_grad_gaussian(lambda z: z**2, mu, sigma, n_samples=4, rng=rng)
    assert out.sigma.mean.dtype == np.float32


def test_does_not_mutate_inputs(rng):
    f_vals, scores = rng.standard_normal(5), rng.standard_normal((5, 2))
    f0, s0 = f_vals.copy(), scores.copy()
    score_function_grad(f_vals, scores, baseline="leave-one-out")
    np.testing.assert_array_equal(f_vals, f0)
    np.testing.assert_array_equal(scores, s0)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: score_function_grad(np.ones((2, 2)), np.ones((2, 2))), ValueError, "f_values must be a non-empty 1-D"),
        (lambda: score_function_grad(np.ones(3), np.ones((2, 2))), ValueError, "scores must have shape"),
        (lambda: score_function_grad(np.ones(3), np.ones(3), baseline="mean"), ValueError, "baseline must be"),
        (lambda: score_function_grad(np.ones(1), np.ones(1), baseline="leave-one-out"), ValueError, "at least 2"),
        (lambda: score_function_grad(np.ones(3), np.ones(3), baseline=[1.0]), TypeError, "baseline"),
        (lambda: score_function_grad([1.0, np.nan], np.ones(2)), ValueError, "f_values must not contain NaN"),
        (lambda: pathwise_grad_gaussian(np.cos, 0.0, -1.0, n_samples=3, rng=0), ValueError, "sigma must be positive"),
        (lambda: pathwise_grad_gaussian(np.cos, [0.0], [1.0, 2.0], n_samples=3, rng=0), ValueError, "same shape"),
        (lambda: pathwise_grad_gaussian(np.cos, 0.0, 1.0, n_samples=0, rng=seeded_rng(0)), ValueError, "n_samples"),
        (lambda: pathwise_grad_gaussian(np.cos, 0.0, 1.0, n_samples=3, rng=None), TypeError, "rng"),
        (lambda: pathwise_grad_gaussian("cos", 0.0, 1.0, n_samples=3, rng=0), TypeError, "grad_f must be callable"),
        (lambda: pathwise_grad_gaussian(np.sum, 0.0, 1.0, n_samples=3, rng=0), ValueError, "grad_f.z. must return"),
        (
            lambda: score_function_grad_gaussian(np.cos, 0.0, 1.0, n_samples=3, rng=seeded_rng(0), baseline="x"),
            ValueError,
            "baseline",
        ),
        (lambda: gaussian_mu_grad_moments("sin", 0.0, 1.0), ValueError, "kind must be one of"),
        (lambda: gaussian_mu_grad_moments("exp", 0.0, 0.0), ValueError, "sigma must be positive"),
        (lambda: gaussian_score(np.ones(3), np.zeros(2), np.ones(2)), ValueError, "z must have shape"),
        (lambda: exact_categorical_grad(np.zeros(3), np.zeros(4)), ValueError, "f_values must have the shape"),
        (lambda: binary_vectors(0), ValueError, r"d must be an integer in \[1, 24\]"),
        (lambda: binary_vectors(25), ValueError, r"d must be an integer in \[1, 24\]"),
        (lambda: exact_bernoulli_grad(np.zeros((2, 2)), np.sum), ValueError, "logits must be 1-D"),
        (lambda: exact_bernoulli_grad(np.zeros(2), 3), TypeError, "f must be callable"),
        (lambda: exact_bernoulli_grad(np.zeros(2), lambda y: y), ValueError, r"f\(Y\) must have shape"),
        (lambda: exact_bernoulli_grad(np.zeros(2), lambda y: y[:, :1]), ValueError, r"f\(Y\) must have shape"),
        (lambda: exact_bernoulli_grad(np.zeros(2), lambda y: y.sum(1) + 0j), TypeError, r"f\(Y\) must be array-like"),
        (lambda: exact_bernoulli_grad(np.zeros(0), np.sum), ValueError, "logits must have between 1 and 24"),
        # callbacks returning the wrong shape or kind of values: a clear error naming the callback
        (
            lambda: pathwise_grad_gaussian(lambda z: z + 0j, np.zeros(2), np.ones(2), n_samples=3, rng=0),
            TypeError,
            r"grad_f\(z\) must be array-like of real numbers",
        ),
        (
            lambda: pathwise_grad_gaussian(lambda z: z[:, 0], np.zeros(2), np.ones(2), n_samples=3, rng=0),
            ValueError,
            r"grad_f\(z\) must return an array of the shape of z",
        ),
        (
            lambda: score_function_grad_gaussian(lambda z: z.astype(str), np.zeros(2), np.ones(2), n_samples=3, rng=0),
            TypeError,
            r"f\(z\) must be array-like of real numbers",
        ),
        (
            lambda: score_function_grad_gaussian(
                lambda z: np.full_like(z, np.inf), np.ones(2), np.ones(2), n_samples=3, rng=0
            ),
            ValueError,
            r"f\(z\) must be finite",
        ),
        (lambda: gaussian_score(np.zeros((0, 2)), np.zeros(2), np.ones(2)), ValueError, "at least one draw"),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
