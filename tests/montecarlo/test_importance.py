"""Tests of mathguide.montecarlo.importance (chapter chapters/montecarlo/importance-sampling.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import integrate, optimize, special, stats

from mathguide._validation import as_generator
from mathguide.montecarlo import (
    ImportanceSamplingResult,
    effective_sample_size,
    estimate_from_log_weights,
    exponential_tail_rate,
    exponential_tail_second_moment,
    importance_sampling,
    normal_tail_probability,
    self_normalized_importance_sampling,
)
from mathguide.montecarlo.importance import TAIL_METHODS
from mathguide.seeding import seeded_rng

EPS = np.finfo(np.float64).eps
# A "few standard errors": a correct estimator fails this bound with probability about 6e-5 per check.
Z_BOUND = 4.0
TAIL_A = 4.5
TAIL_P = stats.norm.sf(TAIL_A)



def normal_logpdf(x, mean=0.0, sd=1.0):
    return stats.norm.logpdf(x, loc=mean, scale=sd)


def square(x):
    return x**2


# ---------------------------------------------------------------------------------------------------
# effective_sample_size
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 7, 1000])
@pytest.mark.parametrize("level", [-1000.0, -3.0, 0.0, 5.0, 800.0])
def test_ess_of_equal_weights_is_n(n, level):
    ess = effective_sample_size(np.full(n, level))
    np.testing.assert_allclose(ess, n, rtol=4 * n * EPS, atol=0)


@pytest.mark.parametrize("n", [1, 3, 50])
def test_ess_of_one_positive_weight_is_one(n):
    lw = np.full(n, -np.inf)
    lw[n // 2] = 2.5
    assert effective_sample_size(lw) == 1.0


def test_ess_matches_direct_formula_on_a_batch(rng):
    lw = rng.normal(scale=2.0, size=(4, 3, 25))
    w = np.exp(lw)  # moderate logs: the direct formula is accurate here
    expected = w.sum(-1) ** 2 / (w**2).sum(-1)
    np.testing.assert_allclose(effective_sample_size(lw), expected, rtol=100 * EPS, atol=0)
    # The same along another axis.
    np.testing.assert_allclose(
        effective_sample_size(np.moveaxis(lw, -1, 0), axis=0), expected, rtol=100 * EPS, atol=0
    )


def test_ess_ignores_zero_weights_and_handles_huge_logs():
    # Two equal positive weights and zeros: ESS 2, whatever the scale (exp(1000) overflows).
    lw = np.array([1000.0, -np.inf, 1000.0, -np.inf])
    np.testing.assert_allclose(effective_sample_size(lw), 2.0, rtol=4 * EPS, atol=0)
    # Weights in ratio 1 : 3 (ESS 16/10) far below the double range; the stored log-difference is exact
    # only to the spacing of doubles near 1000, which bounds the relative error of the weight ratio.
    lw = np.array([-1000.0, -1000.0 + math.log(3.0)])
    np.testing.assert_allclose(effective_sample_size(lw), 16.0 / 10.0, rtol=4 * np.spacing(1000.0), atol=0)


def test_ess_of_all_zero_weights_is_zero_by_convention():
    out = effective_sample_size(np.array([[-np.inf, -np.inf], [0.0, -np.inf]]))
    np.testing.assert_array_equal(out, [0.0, 1.0])


def test_ess_does_not_mutate_input(rng):
    lw = rng.normal(size=(3, 5))
    copy = lw.copy()
    effective_sample_size(lw, axis=0)
    np.testing.assert_array_equal(lw, copy)


@pytest.mark.parametrize(
    "bad, exc, match",
    [
        (np.array([0.0, np.inf]), ValueError, r"\+inf"),
        (np.array([0.0, np.nan]), ValueError, "NaN"),
        (np.zeros((2, 0)), ValueError, "at least one sample"),
        (np.float64(1.0), ValueError, "scalar"),
        (np.array(["a", "b"]), TypeError, "log_weights"),
    ],
)
def test_ess_rejects_bad_input(bad, exc, match):
    with pytest.raises(exc, match=match):
        effective_sample_size(bad)


def test_ess_rejects_bad_axis():
    with pytest.raises(ValueError, match="out of range"):
        effective_sample_size(np.zeros((2, 3)), axis=2)
    with pytest.raises(TypeError, match="axis"):
        effective_sample_size(np.zeros((2, 3)), axis=1.0)


log_weight_arrays = hnp.arrays(
    np.float64,
    st.integers(1, 40),
    elements=st.floats(-700, 700, allow_nan=False, allow_infinity=False),
)


@given(lw=log_weight_arrays)
def test_ess_lies_between_one_and_n(lw):
    ess = effective_sample_size(lw)
    assert 1.0 <= ess <= lw.size


@given(lw=log_weight_arrays, shift=st.floats(-300, 300, allow_nan=False))
def test_ess_is_invariant_under_scaling_of_the_weights(lw, shift):
    # w -> exp(shift) w. Each shifted log is rounded to the spacing of doubles near |lw| + |shift|
    # <= 1000, so each weight ratio is exact to ~ spacing(1000), and the ESS (two sums of at most 40
    # terms, a square and a ratio) to a few times that plus the summation error.
    rtol = 8 * np.spacing(1000.0) + 8 * lw.size * EPS
    np.testing.assert_allclose(
        effective_sample_size(lw + shift), effective_sample_size(lw), rtol=rtol, atol=0
    )


@given(lw=log_weight_arrays, data=st.data())
def test_ess_is_permutation_invariant_and_doubles_with_duplicated_samples(lw, data):
    perm = data.draw(st.permutations(range(lw.size)))
    ess = effective_sample_size(lw)
    np.testing.assert_allclose(effective_sample_size(lw[list(perm)]), ess, rtol=4 * lw.size * EPS, atol=0)
    # (sum over w, w)^2 / (sum over w^2, w^2) = 4 S^2 / 2 Q = 2 ESS.
    np.testing.assert_allclose(
        effective_sample_size(np.concatenate([lw, lw])), 2 * ess, rtol=8 * lw.size * EPS, atol=0
    )


# ---------------------------------------------------------------------------------------------------
# estimate_from_log_weights
# ---------------------------------------------------------------------------------------------------


def test_plain_estimate_matches_numpy_oracle(rng):
    lw = rng.normal(size=(3, 200))
    fx = rng.normal(size=(3, 200))
    g = np.exp(lw) * fx
    res = estimate_from_log_weights(lw, fx)
    assert isinstance(res, ImportanceSamplingResult)
    np.testing.assert_allclose(res.estimate, g.mean(-1), rtol=1e3 * EPS, atol=1e3 * EPS)
    np.testing.assert_allclose(res.std_error, g.std(-1, ddof=1) / np.sqrt(200), rtol=1e3 * EPS, atol=0)
    np.testing.assert_allclose(res.ess, effective_sample_size(lw), rtol=0, atol=0)


def test_self_normalized_estimate_matches_numpy_oracle(rng):
    lw = rng.normal(size=(200, 3))
    fx = rng.normal(size=(200, 3))
    w = np.exp(lw)
    wbar = w / w.sum(0)
    mu = (wbar * fx).sum(0)
    se = np.sqrt((wbar**2 * (fx - mu) ** 2).sum(0))
    res = estimate_from_log_weights(lw, fx, self_normalized=True, axis=0)
    np.testing.assert_allclose(res.estimate, mu, rtol=1e3 * EPS, atol=1e3 * EPS)
    np.testing.assert_allclose(res.std_error, se, rtol=1e3 * EPS, atol=0)


def test_self_normalized_estimate_ignores_the_scale_of_the_weights(rng):
    lw = rng.normal(size=50)
    fx = rng.normal(size=50)
    a = estimate_from_log_weights(lw, fx, self_normalized=True)
    b = estimate_from_log_weights(lw + 900.0, fx, self_normalized=True)  # exp(900) overflows
    np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-15)


def test_plain_estimate_scales_with_the_weights(rng):
    # w -> exp(c) w multiplies the plain estimate and its standard error by exp(c); the ESS is unchanged.
    lw = rng.normal(size=40)
    fx = rng.normal(size=40)
    base = estimate_from_log_weights(lw, fx)
    for c in (-700.0, 700.0):  # exp(lw + c) itself would be subnormal-ish / near overflow
        res = estimate_from_log_weights(lw + c, fx)
        np.testing.assert_allclose(res.estimate / math.exp(c), base.estimate, rtol=1e-12, atol=0)
        np.testing.assert_allclose(res.std_error / math.exp(c), base.std_error, rtol=1e-12, atol=0)
        np.testing.assert_allclose(res.ess, base.ess, rtol=1e-12, atol=0)


def test_estimate_with_all_zero_weights():
    lw = np.full(4, -np.inf)
    res = estimate_from_log_weights(lw, np.ones(4))
    assert res == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="all importance weights are zero"):
        estimate_from_log_weights(lw, np.ones(4), self_normalized=True)


def test_single_sample_has_undefined_standard_error():
    for sn in (False, True):
        res = estimate_from_log_weights(np.array([0.3]), np.array([2.0]), self_normalized=sn)
        assert math.isnan(res.std_error) and res.ess == 1.0


def test_estimate_rejects_mismatched_shapes_and_bad_values():
    with pytest.raises(ValueError, match="same shape"):
        estimate_from_log_weights(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="values must be finite"):
        estimate_from_log_weights(np.zeros(2), np.array([0.0, np.inf]))
    with pytest.raises(TypeError, match="self_normalized"):
        estimate_from_log_weights(np.zeros(2), np.zeros(2), self_normalized=1)


def test_standard_error_covers_the_truth_at_the_nominal_rate(rng):
    # p = N(0, 1), q = N(0, 2^2), f(x) = x^2, mu = 1. 400 replications of n = 500; the interval
    # estimate +- 1.96 se should cover mu about 95% of the time (normal approximation; 4 binomial
    # standard errors of slack, plus 2% for the finite-n error of the approximation).
    reps, n = 400, 500
    x = 2.0 * rng.standard_normal((reps, n))
    lw = normal_logpdf(x) - normal_logpdf(x, sd=2.0)
    res = estimate_from_log_weights(lw, x**2)
    coverage = np.mean(np.abs(res.estimate - 1.0) <= 1.96 * res.std_error)
    slack = Z_BOUND * math.sqrt(0.95 * 0.05 / reps) + 0.02
    assert abs(coverage - 0.95) <= slack


# ---------------------------------------------------------------------------------------------------
# importance_sampling and self_normalized_importance_sampling
# ---------------------------------------------------------------------------------------------------


def wide_normal(g, n):
    return 2.0 * g.standard_normal(n)


def log_wide_normal(x):
    return normal_logpdf(x, sd=2.0)


def test_importance_sampling_second_moment_of_normal(rng):
    res = importance_sampling(square, normal_logpdf, log_wide_normal, wide_normal, 20_000, rng=rng)
    assert abs(res.estimate - 1.0) <= Z_BOUND * res.std_error
    # The standard error estimates sqrt(Var/n); Var = E_q[w^2 x^4] - 1 = 6 (4/7)^(5/2) - 1 in closed
    # form (p^2/q is a multiple of the N(0, 4/7) density). Relative error of a sample sd: ~ 1/sqrt(n).
    var = 6 * (4 / 7) ** 2.5 - 1
    np.testing.assert_allclose(res.std_error, math.sqrt(var / 20_000), rtol=0.1, atol=0)
    assert 1.0 <= res.ess <= 20_000


def test_importance_sampling_in_several_dimensions(rng):
    d, n = 5, 20_000

    def sample_q(g, size):
        return 1.3 * g.standard_normal((size, d))

    def log_p(x):
        return stats.norm.logpdf(x).sum(axis=1)

    def log_q(x):
        return stats.norm.logpdf(x, scale=1.3).sum(axis=1)

    res = importance_sampling(lambda x: (x**2).sum(axis=1), log_p, log_q, sample_q, n, rng=rng)
    assert abs(res.estimate - d) <= Z_BOUND * res.std_error


def test_importance_sampling_where_the_densities_underflow(rng):
    # d = 1000: p(x) and q(x) are both below the smallest double, their ratio is not.
    d, n, sd = 1000, 4000, 1.01

    def log_p(x):
        return stats.norm.logpdf(x).sum(axis=1)

    def log_q(x):
        return stats.norm.logpdf(x, scale=sd).sum(axis=1)

    def sample_q(g, size):
        return sd * g.standard_normal((size, d))

    assert np.all(np.exp(log_p(sample_q(seeded_rng(0), 5))) == 0.0)
    res = importance_sampling(lambda x: (x**2).mean(axis=1), log_p, log_q, sample_q, n, rng=rng)
    assert abs(res.estimate - 1.0) <= Z_BOUND * res.std_error


def test_importance_sampling_tail_probability_of_student_t(rng):
    # Target t_3, proposal t_1 (Cauchy, heavier tails): P(T > 2) from scipy.
    truth = stats.t.sf(2.0, 3)
    res = importance_sampling(
        lambda x: (x > 2.0).astype(float),
        lambda x: stats.t.logpdf(x, 3),
        stats.cauchy.logpdf,
        lambda g, n: g.standard_cauchy(n),
        20_000,
        rng=rng,
    )
    assert abs(res.estimate - truth) <= Z_BOUND * res.std_error


def test_importance_sampling_is_reproducible():
    args = (square, normal_logpdf, log_wide_normal, wide_normal, 100)
    assert importance_sampling(*args, rng=seeded_rng(7)) == importance_sampling(*args, rng=seeded_rng(7))
    assert importance_sampling(*args, rng=8).estimate != importance_sampling(*args, rng=7).estimate


def test_self_normalized_with_unnormalized_target(rng):
    # p~(x) = exp(-x^2/2) (no 1/sqrt(2 pi)), q = N(1, 1): E_p[X] = 0, E_p[X^2] = 1.
    def log_p_tilde(x):
        return -0.5 * x**2

    def log_q(x):
        return normal_logpdf(x, mean=1.0)

    def sample_q(g, n):
        return 1.0 + g.standard_normal(n)

    for f, mu in ((lambda x: x, 0.0), (square, 1.0)):
        res = self_normalized_importance_sampling(f, log_p_tilde, log_q, sample_q, 20_000, rng=rng)
        assert abs(res.estimate - mu) <= Z_BOUND * res.std_error
    a = self_normalized_importance_sampling(square, log_p_tilde, log_q, sample_q, 500, rng=seeded_rng(3))
    b = self_normalized_importance_sampling(
        square, lambda x: log_p_tilde(x) + 37.0, log_q, sample_q, 500, rng=seeded_rng(3)
    )
    np.testing.assert_allclose(b, a, rtol=1e-12, atol=0)


def test_self_normalized_bias_is_of_order_one_over_n(rng):
    # p = N(0, 1), q = N(1, 1), f(x) = x: the delta method gives bias ~ -E_q[w^2 (f - mu)]/n = e/n.
    # At n = 100 the next term of the expansion is below the Monte-Carlo error of 20 000 replicates.
    reps, n = 20_000, 100
    x = 1.0 + rng.standard_normal((reps, n))
    lw = normal_logpdf(x) - normal_logpdf(x, mean=1.0)
    est = estimate_from_log_weights(lw, x, self_normalized=True).estimate
    bias, se = est.mean(), est.std(ddof=1) / math.sqrt(reps)
    assert abs(n * bias - math.e) <= Z_BOUND * n * se
    assert bias > Z_BOUND * se  # the bias is really there


@pytest.mark.parametrize("n", [0, -3])
def test_non_positive_n_is_rejected(n):
    with pytest.raises(ValueError, match="n must be a positive integer"):
        importance_sampling(square, normal_logpdf, log_wide_normal, wide_normal, n, rng=seeded_rng(0))


def test_non_integer_n_and_bad_rng_are_rejected():
    with pytest.raises(TypeError, match="n must be a positive integer"):
        importance_sampling(square, normal_logpdf, log_wide_normal, wide_normal, 2.5, rng=seeded_rng(0))
    with pytest.raises(TypeError, match="rng"):
        importance_sampling(square, normal_logpdf, log_wide_normal, wide_normal, 5, rng=None)
    with pytest.raises(TypeError, match="log_q must be callable"):
        importance_sampling(square, normal_logpdf, 3.0, wide_normal, 5, rng=seeded_rng(0))


def test_shape_mismatches_are_rejected():
    with pytest.raises(ValueError, match=r"sample_q\(rng, n\) must return .* n = 5"):
        importance_sampling(square, normal_logpdf, log_wide_normal, lambda g, n: np.zeros(n + 1), 5, rng=seeded_rng(0))
    with pytest.raises(ValueError, match=r"log_q\(x\) must return an array of shape \(n,\) = \(5,\)"):
        importance_sampling(square, normal_logpdf, lambda x: log_wide_normal(x)[:, None], wide_normal, 5, rng=0)
    with pytest.raises(ValueError, match=r"f\(x\) must return"):
        importance_sampling(lambda x: 1.0, normal_logpdf, log_wide_normal, wide_normal, 5, rng=seeded_rng(0))
    with pytest.raises(ValueError, match=r"log_p\(x\) must not contain NaN"):
        importance_sampling(square, lambda x: np.full(x.shape, np.nan), log_wide_normal, wide_normal, 5, rng=0)


def test_zero_proposal_density_at_a_drawn_sample_is_rejected():
    # log_q of a half-normal on (0, inf), but samples from a full normal: some drawn x < 0.
    def log_half(x):
        return np.where(x > 0, math.log(2.0) + normal_logpdf(x), -np.inf)

    with pytest.raises(ValueError, match="zero proposal density.*where the target is positive"):
        importance_sampling(square, normal_logpdf, log_half, lambda g, n: g.standard_normal(n), 50, rng=seeded_rng(0))
    with pytest.raises(ValueError, match=r"must not return \+inf"):
        importance_sampling(square, normal_logpdf, lambda x: np.full(x.shape, np.inf), wide_normal, 5, rng=0)


# ---------------------------------------------------------------------------------------------------
# Gaussian tail probabilities
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_exponential_method_is_within_a_few_theoretical_standard_errors(seed):
    n = 10_000
    res = normal_tail_probability(TAIL_A, n, rng=seed, method="exponential")
    lam = exponential_tail_rate(TAIL_A)
    sd = math.sqrt(exponential_tail_second_moment(TAIL_A, lam) - TAIL_P**2) / math.sqrt(n)
    assert abs(res.estimate - TAIL_P) <= Z_BOUND * sd  # the closed-form standard error
    assert abs(res.estimate - TAIL_P) <= Z_BOUND * res.std_error


def test_exponential_method_standard_error_matches_the_closed_form(rng):
    n = 10_000
    lam = exponential_tail_rate(TAIL_A)
    sd = math.sqrt(exponential_tail_second_moment(TAIL_A, lam) - TAIL_P**2)
    res = normal_tail_probability(TAIL_A, n, rng=rng, rate=lam)
    # Bounded weights: the sample sd is within a few percent of the true one at n = 10^4.
    np.testing.assert_allclose(res.std_error, sd / math.sqrt(n), rtol=0.1, atol=0)


def test_naive_method_returns_zero_most_of_the_time():
    n, reps = 10_000, 300
    zeros = [normal_tail_probability(TAIL_A, n, rng=seed, method="naive").estimate == 0 for seed in range(reps)]
    p_zero = (1 - TAIL_P) ** n  # about 0.967
    frac = np.mean(zeros)
    assert abs(frac - p_zero) <= Z_BOUND * math.sqrt(p_zero * (1 - p_zero) / reps)


@pytest.mark.parametrize("method", ["naive", "exponential", "shifted_normal"])
@pytest.mark.parametrize("a", [-1.0, 0.0, 1.5, 3.0])
def test_every_method_is_within_a_few_standard_errors(method, a, rng):
    res = normal_tail_probability(a, 20_000, rng=rng, method=method)
    truth = stats.norm.sf(a)
    assert abs(res.estimate - truth) <= Z_BOUND * res.std_error


def test_shifted_normal_at_the_rare_event(rng):
    res = normal_tail_probability(TAIL_A, 10_000, rng=rng, method="shifted_normal")
    assert abs(res.estimate - TAIL_P) <= Z_BOUND * res.std_error


def _tail_oracle(a, n, seed, method, rate):
    """Each tail method written out directly (densities, not log-weights), from the same draws."""
    g = as_generator(seed)  # what the library makes of rng=seed
    if method == "naive":
        fw = (g.standard_normal(n) > a).astype(float)
    elif method == "shifted_normal":
        x = a + g.standard_normal(n)
        fw = (x > a) * np.exp(-a * x + a * a / 2)  # phi(x) / phi(x - a)
    else:
        x = a + g.standard_exponential(n) / rate
        fw = (x > a) * stats.norm.pdf(x) / (rate * np.exp(-rate * (x - a)))
    return fw.mean(), fw.std(ddof=1) / math.sqrt(n)


@pytest.mark.parametrize(
    "method, rate",
    [("naive", None), ("shifted_normal", None), ("exponential", 2.0), ("exponential", 3.0),
     ("exponential", None)],
)
def test_tail_methods_match_a_direct_computation(method, rate):
    a, n = 2.0, 1000
    seed = int(seeded_rng(5).integers(2**31))  # an integer seed that MATHGUIDE_SEED re-rolls
    oracle_rate = exponential_tail_rate(a) if (method == "exponential" and rate is None) else rate
    est, se = _tail_oracle(a, n, seed, method, oracle_rate)
    res = normal_tail_probability(a, n, rng=seed, method=method, rate=rate)
    # Same draws; the two computations differ only by rounding (log space vs densities): a few ulps
    # per weight, far below 1e-12 relative for weights of moderate size.
    np.testing.assert_allclose(res.estimate, est, rtol=1e-12, atol=0)
    np.testing.assert_allclose(res.std_error, se, rtol=1e-12, atol=0)
    if method == "naive":  # the docstring's formula sqrt(p (1 - p) / (n - 1))
        np.testing.assert_allclose(res.std_error, math.sqrt(est * (1 - est) / (n - 1)), rtol=1e-12, atol=0)


def test_shifted_normal_standard_error_matches_the_closed_form(rng):
    # E_q[f w^2] = e^{a^2} Phibar(2a) (the chapter). The sample variance of f w has relative standard
    # deviation sqrt((kappa - 1)/n), kappa = E[(fw - p)^4] / Var^2, here computed by quadrature; its
    # square root (the standard error) has half that; allow Z_BOUND of those.
    a, n = 1.0, 20_000
    p = stats.norm.sf(a)
    var = math.exp(a * a) * stats.norm.sf(2 * a) - p * p

    def central_moment4(x):  # E_q[(f w - p)^4] = int over x > a of (w - p)^4 q + p^4 Phi_q(a)
        w = math.exp(-a * x + a * a / 2)
        return (w - p) ** 4 * stats.norm.pdf(x - a)

    m4 = integrate.quad(central_moment4, a, np.inf)[0] + p**4 * 0.5  # q(X < a) = 1/2
    kappa = m4 / var**2
    res = normal_tail_probability(a, n, rng=rng, method="shifted_normal")
    rtol = Z_BOUND * 0.5 * math.sqrt((kappa - 1) / n)
    np.testing.assert_allclose(res.std_error, math.sqrt(var / n), rtol=rtol, atol=0)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"method": "rejection"}, ValueError, "method must be one of"),
        ({"method": "naive", "rate": 2.0}, ValueError, "rate applies only"),
        ({"rate": 0.0}, ValueError, "rate must be positive"),
        ({"rate": "fast"}, TypeError, "rate must be a real number"),
    ],
)
def test_tail_rejects_bad_options(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        normal_tail_probability(4.5, 10, rng=seeded_rng(0), **kwargs)


def test_tail_rejects_bad_threshold_and_n():
    with pytest.raises(ValueError, match="a must be finite"):
        normal_tail_probability(np.inf, 10, rng=seeded_rng(0))
    with pytest.raises(TypeError, match="a must be a real number"):
        normal_tail_probability("4.5", 10, rng=seeded_rng(0))
    with pytest.raises(ValueError, match="n must be a positive integer"):
        normal_tail_probability(4.5, 0, rng=seeded_rng(0))


@pytest.mark.parametrize("method", TAIL_METHODS)
def test_tail_refuses_thresholds_whose_probability_underflows(method):
    """Above a = 37.5, P(Z > a) < smallest normal double: an error, not a silent estimate of 0 +- 0."""
    assert special.log_ndtr(-37.5) > math.log(np.finfo(float).tiny) > special.log_ndtr(-37.6)
    with pytest.raises(ValueError, match=r"a must be at most 37.5: P\(Z > a\) = exp\(-711.4\)"):
        normal_tail_probability(37.6, 10, rng=seeded_rng(0), method=method)


def test_tail_at_the_largest_threshold_is_still_accurate(rng):
    """At a = 37.5 the exponential proposal still gives the tail to its usual relative error."""
    exact = math.exp(special.log_ndtr(-37.5))
    res = normal_tail_probability(37.5, 2_000, rng=rng)
    assert exact > np.finfo(float).tiny
    assert abs(res.estimate - exact) <= Z_BOUND * res.std_error
    assert 0 < res.std_error < 1e-2 * exact


def test_sampler_written_n_first_gets_a_clear_error():
    with pytest.raises(TypeError, match=r"sample_q is called as sample_q\(rng, n\).*written as sample_q\(n, rng\)"):
        importance_sampling(square, normal_logpdf, log_wide_normal, lambda n, g: g.normal(size=n), 5, rng=seeded_rng(0))


# ---------------------------------------------------------------------------------------------------
# The exponential proposal: closed-form second moment and optimal rate
# ---------------------------------------------------------------------------------------------------


def second_moment_by_quadrature(a: float, lam: float) -> float:
    # phi(x)^2 / q(x) written as one exponential, so that neither factor underflows.
    def integrand(x):
        return math.exp(-x * x + lam * (x - a)) / (2 * math.pi * lam)

    value, _ = integrate.quad(integrand, a, np.inf, epsabs=0, epsrel=1e-11, limit=200)
    return value


@pytest.mark.parametrize("a", [-1.0, 0.0, 1.0, 2.5, 4.5])
@pytest.mark.parametrize("rel_rate", [0.3, 1.0, 1.7])
def test_second_moment_matches_quadrature(a, rel_rate):
    lam = rel_rate * exponential_tail_rate(a)
    np.testing.assert_allclose(
        exponential_tail_second_moment(a, lam), second_moment_by_quadrature(a, lam), rtol=1e-8, atol=0
    )


def test_second_moment_broadcasts_and_exceeds_p_squared():
    a = np.array([[0.0], [2.0], [4.5]])
    lam = np.array([0.5, 1.0, 3.0, 5.0])
    m = exponential_tail_second_moment(a, lam)
    assert m.shape == (3, 4)
    assert np.all(m >= stats.norm.sf(a) ** 2)  # Cauchy-Schwarz: E_q[w^2] >= (E_q[w])^2 = p^2
    with pytest.raises(ValueError, match="rate must be positive"):
        exponential_tail_second_moment(1.0, -1.0)


@pytest.mark.parametrize("a", [-2.0, 0.0, 1.0, 4.5, 8.0])
def test_optimal_rate_minimises_the_quadrature_second_moment(a):
    lam = exponential_tail_rate(a)
    ref = optimize.minimize_scalar(
        lambda t: math.log(second_moment_by_quadrature(a, t)),
        bounds=(0.05 * lam, 3.0 * lam),
        method="bounded",
        options={"xatol": 1e-9},
    )
    # Near a minimum, a relative error delta of the objective moves the argmin by ~ sqrt(delta): 1e-11
    # relative quadrature error gives ~ 1e-5.
    np.testing.assert_allclose(lam, ref.x, rtol=1e-4, atol=0)


@pytest.mark.parametrize("a", [-2.0, 0.0, 4.5, 10.0])
def test_max_weight_rate_minimises_the_largest_weight(a):
    lam_dagger = exponential_tail_rate(a, criterion="max_weight")
    lams = np.linspace(0.5 * lam_dagger, 1.5 * lam_dagger, 401)
    h = 0.0025
    x = a + np.arange(0.0, 20.0, h)[:, None]
    log_w = stats.norm.logpdf(x) - (np.log(lams) - lams * (x - a))
    best = lams[np.argmin(log_w.max(axis=0))]
    # The x grid underestimates each sup by at most h^2/8 (curvature 1 in x); sup log w has curvature
    # >= 1 in lambda, so its grid argmin moves by at most sqrt(2 h^2/8) = h/2, plus the lambda spacing.
    assert abs(best - lam_dagger) <= lams[1] - lams[0] + h / 2


def test_rates_order_and_unknown_criterion():
    a = TAIL_A
    p2 = TAIL_P**2
    rel_var = {lam: exponential_tail_second_moment(a, lam) / p2 - 1 for lam in
               (a, exponential_tail_rate(a, criterion="max_weight"), exponential_tail_rate(a))}
    values = list(rel_var.values())
    assert values[0] > values[1] > values[2] > 0
    with pytest.raises(ValueError, match="criterion must be one of"):
        exponential_tail_rate(1.0, criterion="best")


def test_max_weight_rate_is_accurate_for_extreme_thresholds():
    # Oracle: the textbook root (a + sqrt(a^2 + 4))/2 in 1000-digit decimal arithmetic, where its
    # cancellation for a < 0 (about 400 digits at a = -1e200) costs nothing. In doubles that formula
    # cancels for a < 0 and a^2 overflows for |a| > 1e154.
    from decimal import Decimal, localcontext

    for a in (-1e200, -1e8, -1e3, -10.0, -1.0, 0.0, 1.0, 10.0, 1e3, 1e8, 1e200):
        with localcontext() as ctx:
            ctx.prec = 1000
            d = Decimal(a)
            expected = float((d + (d * d + 4).sqrt()) / 2)
        np.testing.assert_allclose(
            exponential_tail_rate(a, criterion="max_weight"), expected, rtol=4 * EPS, atol=0
        )


@pytest.mark.parametrize("a", [-1e200, -1e8, -1e3, -10.0])
def test_optimal_rate_for_very_negative_thresholds(a):
    # For a << 0, u = a - lam/2 is very negative and exp(-u^2)/(sqrt(pi) erfc(u)) < 1e-40 is negligible:
    # the rate equation is lam/2 - a - 1/lam = 0, root 2 / (|a| + sqrt(a^2 + 2)) = about 1/|a|. Brent's
    # absolute tolerance must therefore be far below 1/|a|.
    b = abs(a)
    expected = 2 / (b + b * math.sqrt(1 + 2 / (b * b)))  # no overflow of a^2
    np.testing.assert_allclose(exponential_tail_rate(a), expected, rtol=8 * EPS, atol=0)


def test_optimal_rate_expansion_for_large_thresholds():
    # lam* = a + 2/a - 8/a^3 + 88/a^5 + O(a^-7) (the chapter derives the first terms). Below a = 100 the
    # root is found numerically: there the expansion must agree with it to its truncation error (the
    # next term, about 1500/a^7) plus the root's error (terms of size a cancel: eps a^3 absolute).
    for a in (60.0, 80.0, 99.0):
        series = a + 2 / a - 8 / a**3 + 88 / a**5
        assert abs(exponential_tail_rate(a) - series) <= 2000 / a**7 + 10 * EPS * a**3
    # From 100 on, the expansion is used: finite, increasing, above a, no overflow.
    big = [100.0, 1e3, 1e6, 1e100, 1e200, 1e308]
    rates = [exponential_tail_rate(a) for a in big]
    assert all(math.isfinite(r) and r >= a for r, a in zip(rates, big, strict=False))
    np.testing.assert_allclose(rates[1] - 1e3, 2e-3 - 8e-9, rtol=1e-6, atol=0)
    assert np.all(np.diff(rates) > 0)


def test_second_moment_at_extreme_arguments_does_not_warn():
    # pytest turns warnings into errors: lam^2 overflowing must not produce inf - inf.
    assert exponential_tail_second_moment(1e200, 1e200) == 0.0
    # a << 0, lam = 1/|a|: M = e^{lam^2/4 + 1} erfc(-inf) / (4 sqrt(pi) lam) = e |a| / (2 sqrt(pi)).
    np.testing.assert_allclose(
        exponential_tail_second_moment(-1e200, 1e-200), math.e * 1e200 / (2 * math.sqrt(math.pi)),
        rtol=1e-13,
        atol=0,
    )
