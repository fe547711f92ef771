"""Scale laws and degenerate inputs of mathguide.gradients (score-function, pathwise, Gumbel-softmax).

Loaded by ``test_scale_registry.py``; see its docstring for the four dictionaries.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
from _support import obeys_or_refuses, relative_error

from mathguide.gradients import (
    binary_vectors,
    concrete_log_density,
    exact_bernoulli_grad,
    exact_categorical_grad,
    gaussian_mu_grad_moments,
    gaussian_score,
    gumbel_softmax,
    gumbel_softmax_vjp,
    pathwise_grad_gaussian,
    sample_gumbel,
    score_function_grad,
    score_function_grad_gaussian,
)

P = "mathguide.gradients."
EPS = np.finfo(np.float64).eps
MAX_EXP2 = 1024  # 2^1024 overflows float64
MIN_EXP2 = -1022  # below 2^-1022 a float64 is subnormal: only absolute accuracy 2^-1074


def _close(got, want, rtol=64 * EPS):
    assert relative_error(got, want) <= rtol, f"{got} != {want}"


def _scaled_value(value: float, power: int, c: float) -> float:
    """``value * c^power`` for a power of two ``c``, overflowing to inf as the exact product would."""
    if value == 0.0:
        return 0.0
    m, e = math.frexp(value)
    exponent = e + power * int(round(math.log2(c)))
    if exponent > MAX_EXP2:
        return math.copysign(math.inf, value)
    if exponent < -1080:
        return 0.0
    return math.ldexp(m, exponent)


def _obeys_scaled(got: float, want: float, rtol: float) -> None:
    """``got`` matches ``want`` (already scaled): inf where ``want`` overflows, absolute 2^-1074 below 2^-1022."""
    if math.isinf(want):
        assert got == want, f"{got} should overflow to {want}"
    elif abs(want) < 2.0**MIN_EXP2:
        assert abs(got - want) <= 2.0**-1070, f"{got} != {want} (subnormal range)"
    else:
        assert abs(got - want) <= rtol * abs(want), f"{got} != {want}"


# --- gaussian_mu_grad_moments: z = mu + sigma eps has units of length, so (mu, sigma) -> c (mu, sigma)
# with the rate/frequency a -> a / c (exp, cos), the threshold a -> c a (step), the slope a fixed
# (linear) multiplies grad by c^p and both variances by c^(2p): p = 0 (linear), 1 (quadratic), -1 (others).
_MOMENT_CASES = {
    "linear": ((0.3, 0.7, -1.5), (1, 1, 0), 0),
    "quadratic": ((0.3, 0.7, 1.0), (1, 1, 0), 1),
    "exp": ((0.3, 0.7, 0.5), (1, 1, -1), -1),
    "step": ((0.3, 0.7, 0.5), (1, 1, 1), -1),
    "cos": ((0.3, 0.7, 2.0), (1, 1, -1), -1),
}


def _law_gaussian_mu_grad_moments(c, rng):
    for kind, (args, powers, p) in _MOMENT_CASES.items():
        base = gaussian_mu_grad_moments(kind, *args)
        scaled_args = [x * c**k for x, k in zip(args, powers, strict=True)]

        def check(result, base=base, p=p):
            for got, want, power in zip(result, base, (p, 2 * p, 2 * p), strict=True):
                _obeys_scaled(got, _scaled_value(want, power, c), rtol=1e-13)

        obeys_or_refuses(lambda kind=kind, sa=scaled_args: gaussian_mu_grad_moments(kind, *sa), "mu", check)


def _degenerate_gaussian_mu_grad_moments(rng):
    # a = 0: f = 0 (linear) or f = 1 (exp, cos): zero gradient; the score estimator of a constant
    # f = 1 has variance 1 / sigma^2, the pathwise estimator 0.
    assert gaussian_mu_grad_moments("linear", 0.5, 2.0, 0.0) == (0.0, 0.0, 0.0)
    for kind in ("exp", "cos"):
        m = gaussian_mu_grad_moments(kind, 0.5, 2.0, 0.0)
        assert m.grad == 0.0 and m.var_pathwise == 0.0
        _close(m.var_score, 0.25)
    # mu = 0 for the quadratic: grad 0, Var S = 15 sigma^2, Var P = 4 sigma^2.
    m = gaussian_mu_grad_moments("quadratic", 0.0, 2.0)
    assert m.grad == 0.0
    _close(m.var_score, 60.0)
    _close(m.var_pathwise, 16.0)
    # The threshold at the mean (t = 0): grad phi(0) / sigma, Var S = (1/2 - 1/(2 pi)) / sigma^2.
    m = gaussian_mu_grad_moments("step", 1.0, 2.0, 1.0)
    _close(m.grad, 1 / math.sqrt(2 * math.pi) / 2)
    _close(m.var_score, (0.5 - 1 / (2 * math.pi)) / 4)
    # A threshold far in either tail: f is constant almost surely.
    far_right = gaussian_mu_grad_moments("step", 0.0, 1.0, 1e300)
    assert far_right == (0.0, 0.0, 0.0)
    far_left = gaussian_mu_grad_moments("step", 0.0, 1.0, -1e300)
    assert far_left.grad == 0.0 and far_left.var_pathwise == 0.0
    _close(far_left.var_score, 1.0)
    # The issue-26 row: the variances exceed the float range, so inf is the correctly rounded answer.
    big = gaussian_mu_grad_moments("exp", 400.0, 1.0, 1.0)
    _close(big.grad, math.exp(400.5))
    assert big.var_score == math.inf and big.var_pathwise == math.inf
    with pytest.raises(ValueError, match="a \\* mu"):
        gaussian_mu_grad_moments("cos", 1e300, 1.0, 1e300)


# --- Monte Carlo estimators: exact power-of-two scalings of their inputs scale every per-sample term,
# hence the mean and the standard error, by the same power of two (the seed fixes the draws).


def _estimate_scales(got, base, factor):
    """mean and std_error of ``got`` are those of ``base`` times the power of two ``factor`` (exact)."""
    for field in ("mean", "std_error"):
        np.testing.assert_allclose(
            np.asarray(getattr(got, field)) / factor, np.asarray(getattr(base, field)), rtol=64 * EPS, atol=0
        )


def _law_score_function_grad(c, rng):
    f = rng.standard_normal(50)
    s = rng.standard_normal((50, 3))
    for baseline in (None, "leave-one-out", 0.25):
        base = score_function_grad(f, s, baseline=baseline)
        b = baseline if not isinstance(baseline, float) else baseline * c
        obeys_or_refuses(
            lambda b=b: score_function_grad(f * c, s, baseline=b),
            "f_values",
            lambda got, base=base: _estimate_scales(got, base, c),
        )


def _degenerate_score_function_grad(rng):
    one = score_function_grad([2.0], [[1.0, -1.0]])
    np.testing.assert_array_equal(one.mean, [2.0, -2.0])
    assert np.all(np.isnan(one.std_error))  # one draw: no spread, said so by NaN
    const = score_function_grad(np.full(6, 3.0), rng.standard_normal((6, 2)), baseline="leave-one-out")
    np.testing.assert_array_equal(const.mean, 0.0)  # a constant f minus its leave-one-out mean is exactly 0
    zero = score_function_grad(rng.standard_normal(4), np.zeros((4, 2)))
    np.testing.assert_array_equal(zero.mean, 0.0)
    with pytest.raises(ValueError, match="f_values must be a non-empty"):
        score_function_grad(np.zeros(0), np.zeros((0, 2)))
    with pytest.raises(ValueError, match="overflow"):
        score_function_grad([1e300, -1e300], [[1e10], [1e10]])


def _law_gaussian_score(c, rng):
    mu, sigma = np.array([0.5, -1.0]), np.array([0.7, 2.0])
    z = mu + sigma * rng.standard_normal((20, 2))
    base = gaussian_score(z, mu, sigma)

    def check(got):
        _estimate_scales(got.mu, base.mu, 1 / c)
        _estimate_scales(got.sigma, base.sigma, 1 / c)

    obeys_or_refuses(lambda: gaussian_score(z * c, mu * c, sigma * c), "z", check)


def _degenerate_gaussian_score(rng):
    at_mean = gaussian_score(np.array([[1.0]]), np.array([1.0]), np.array([2.0]))
    np.testing.assert_array_equal(at_mean.mu.per_sample, [[0.0]])
    np.testing.assert_array_equal(at_mean.sigma.per_sample, [[-0.5]])  # (0 - 1) / sigma
    with pytest.raises(ValueError, match="z must hold at least one draw"):
        gaussian_score(np.zeros((0, 1)), np.zeros(1), np.ones(1))
    with pytest.raises(ValueError, match="sigma must be positive"):
        gaussian_score(np.zeros((2, 1)), np.zeros(1), np.zeros(1))


def _law_pathwise_grad_gaussian(c, rng):
    seed = int(rng.integers(2**32))
    mu, sigma = np.array([0.3, -1.0]), np.array([0.8, 1.5])
    base = pathwise_grad_gaussian(lambda z: 2 * z, mu, sigma, n_samples=64, rng=seed)  # f = z^2

    def check(got):  # d/dmu E z^2 = 2 mu and d/dsigma = 2 sigma: both scale by c, draw by draw
        _estimate_scales(got.mu, base.mu, c)
        _estimate_scales(got.sigma, base.sigma, c)

    obeys_or_refuses(
        lambda: pathwise_grad_gaussian(lambda z: 2 * z, mu * c, sigma * c, n_samples=64, rng=seed), "mu", check
    )


def _degenerate_pathwise_grad_gaussian(rng):
    one = pathwise_grad_gaussian(lambda z: 0 * z + 3.0, np.zeros(2), np.ones(2), n_samples=1, rng=rng)
    np.testing.assert_array_equal(one.mu.mean, [3.0, 3.0])
    assert np.all(np.isnan(one.mu.std_error))
    empty = pathwise_grad_gaussian(lambda z: z, np.zeros(0), np.ones(0), n_samples=5, rng=rng)
    assert empty.mu.mean.shape == (0,) and empty.sigma.per_sample.shape == (5, 0)
    with pytest.raises(ValueError, match="sigma must be positive"):
        pathwise_grad_gaussian(lambda z: z, np.zeros(1), np.zeros(1), n_samples=3, rng=rng)
    with pytest.raises(ValueError, match="mu \\+ sigma \\* eps overflows"):
        pathwise_grad_gaussian(lambda z: z, np.array([1.7e308]), np.array([1e308]), n_samples=50, rng=rng)


def _law_score_function_grad_gaussian(c, rng):
    seed = int(rng.integers(2**32))
    mu, sigma = np.array([0.3, -1.0]), np.array([0.8, 1.5])

    def f(z):
        return np.cos(z) + z

    base = score_function_grad_gaussian(f, mu, sigma, n_samples=64, rng=seed)

    def check(got):  # f(z / c) at N(c mu, c^2 sigma^2): the same f values, scores divided by c
        _estimate_scales(got.mu, base.mu, 1 / c)
        _estimate_scales(got.sigma, base.sigma, 1 / c)

    obeys_or_refuses(
        lambda: score_function_grad_gaussian(lambda z: f(z / c), mu * c, sigma * c, n_samples=64, rng=seed), "mu", check
    )


def _degenerate_score_function_grad_gaussian(rng):
    const = score_function_grad_gaussian(
        lambda z: 0 * z + 5.0, np.zeros(2), np.ones(2), n_samples=8, rng=rng, baseline="leave-one-out"
    )
    np.testing.assert_array_equal(const.mu.mean, 0.0)  # constant f: the baseline removes it exactly
    with pytest.raises(ValueError, match="f\\(z\\) must return an array of the shape of z"):
        score_function_grad_gaussian(lambda z: z[:, :1], np.zeros(2), np.ones(2), n_samples=4, rng=rng)


def _law_exact_categorical_grad(c, rng):
    logits = np.array([0.5, -np.inf, 1.5, 0.0])
    f = rng.standard_normal(4)
    base = exact_categorical_grad(logits, f)

    def check(got):  # linear in f
        _close(got.value / c, base.value)
        np.testing.assert_allclose(got.grad / c, base.grad, rtol=64 * EPS, atol=0)

    obeys_or_refuses(lambda: exact_categorical_grad(logits, f * c), "f_values", check)


def _degenerate_exact_categorical_grad(rng):
    single = exact_categorical_grad([3.0], [7.0])
    assert single.value == 7.0 and single.grad.tolist() == [0.0]
    masked = exact_categorical_grad([0.0, -np.inf, 0.0], [1.0, 100.0, 3.0])
    _close(masked.value, 2.0)
    assert masked.grad[1] == 0.0  # a category of probability 0 has zero gradient
    np.testing.assert_allclose(masked.grad, [-0.5, 0.0, 0.5], rtol=4 * EPS, atol=0)
    empty = exact_categorical_grad(np.zeros((0, 3)), np.zeros((0, 3)))
    assert empty.value.shape == (0,) and empty.grad.shape == (0, 3)
    with pytest.raises(ValueError, match="f_values must have the shape"):
        exact_categorical_grad(np.zeros(3), np.zeros(2))


def _law_exact_bernoulli_grad(c, rng):
    theta = rng.standard_normal(4)
    w = rng.standard_normal(4)
    base = exact_bernoulli_grad(theta, lambda y: np.sin(y @ w))

    def check(got):  # linear in f
        _close(got.value / c, base.value)
        np.testing.assert_allclose(got.grad / c, base.grad, rtol=64 * EPS, atol=16 * EPS * np.abs(base.grad).max())

    obeys_or_refuses(lambda: exact_bernoulli_grad(theta, lambda y: c * np.sin(y @ w)), "f", check)


def _degenerate_exact_bernoulli_grad(rng):
    one = exact_bernoulli_grad([0.0], lambda y: y[:, 0])  # one fair bit, f = y: E = 1/2, gradient 1/4
    assert one.value == 0.5 and one.grad.tolist() == [0.25]
    saturated = exact_bernoulli_grad([1e308, -1e308], lambda y: y.sum(axis=1))
    assert saturated.value == 1.0 and saturated.grad.tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="logits must have between 1 and 24 entries"):
        exact_bernoulli_grad(np.zeros(0), lambda y: y.sum(axis=1))


def _degenerate_binary_vectors(rng):
    np.testing.assert_array_equal(binary_vectors(1), [[0.0], [1.0]])
    with pytest.raises(ValueError, match="d must be an integer"):
        binary_vectors(0)


def _law_gumbel_softmax(c, rng):
    # (logits, tau) -> (c logits, c tau): y = softmax(logits / tau + G / (c tau)) with the same noise G.
    logits, tau, seed = np.array([0.4, -1.0, 2.0, -np.inf]), 0.7, int(rng.integers(2**32))
    g = sample_gumbel((5, 4), rng=seed)
    with np.errstate(invalid="ignore"):
        want = scipy.special.softmax(logits / tau + g / (c * tau), axis=-1)

    def check(got):
        np.testing.assert_allclose(got.relaxed, want, rtol=1e-12, atol=1e-300)
        assert np.all(got.sample.sum(axis=-1) == 1) and np.all((got.sample == 0) | (got.sample == 1))
        np.testing.assert_array_equal(got.sample.argmax(axis=-1), want.argmax(axis=-1))

    obeys_or_refuses(lambda: gumbel_softmax(logits * c, tau * c, rng=seed, size=5, hard=True), "tau", check)


def _degenerate_gumbel_softmax(rng):
    one = gumbel_softmax([5.0], 0.3, rng=rng, size=3, hard=True)
    np.testing.assert_array_equal(one.relaxed, 1.0)
    np.testing.assert_array_equal(one.sample, 1.0)
    tied = gumbel_softmax(np.zeros(3), 1.0, rng=rng, size=2000, hard=True)
    assert set(np.unique(tied.sample.argmax(axis=-1))) == {0, 1, 2}  # ties broken by the noise
    masked = gumbel_softmax([0.0, -np.inf], 1.0, rng=rng, size=4, hard=True)
    np.testing.assert_array_equal(masked.relaxed, [[1.0, 0.0]] * 4)
    empty = gumbel_softmax(np.zeros((0, 3)), 1.0, rng=rng)
    assert empty.relaxed.shape == (0, 3)
    with pytest.raises(ValueError, match="all -inf"):
        gumbel_softmax([-np.inf, -np.inf], 1.0, rng=rng)
    with pytest.raises(TypeError, match="hard must be a bool"):
        gumbel_softmax([0.0, 1.0], 1.0, rng=rng, hard=1)


def _law_gumbel_softmax_vjp(c, rng):
    y = scipy.special.softmax(rng.standard_normal((3, 4)), axis=-1)
    g = rng.standard_normal((3, 4))
    base = gumbel_softmax_vjp(y, g, 0.6)

    def check(got):  # linear in the upstream gradient, proportional to 1 / tau: c g and c tau cancel
        np.testing.assert_allclose(got, base, rtol=64 * EPS, atol=64 * EPS * np.abs(base).max())

    obeys_or_refuses(lambda: gumbel_softmax_vjp(y, g * c, 0.6 * c), "tau", check)


def _degenerate_gumbel_softmax_vjp(rng):
    vertex = gumbel_softmax_vjp(np.array([0.0, 1.0, 0.0]), rng.standard_normal(3), 0.5)
    np.testing.assert_array_equal(vertex, 0.0)  # the softmax Jacobian vanishes at a vertex
    np.testing.assert_array_equal(gumbel_softmax_vjp(np.array([1.0]), np.array([2.0]), 0.5), [0.0])


def _law_concrete_log_density(c, rng):
    # At the centre of the simplex log x_i is the same for every i, so tau -> c tau adds (n - 1) log c.
    n = 4
    x = np.full(n, 1 / n)
    logits = rng.standard_normal(n)
    base = concrete_log_density(x, logits, 0.8)

    def check(got):
        want = base + (n - 1) * math.log(c)
        assert abs(got - want) <= 64 * EPS * max(abs(base), abs(want)), f"{got} != {want}"

    obeys_or_refuses(lambda: concrete_log_density(x, logits, 0.8 * c), "tau", check)


def _degenerate_concrete_log_density(rng):
    # Equal logits, n = 2, at the centre: tau s^(-tau-1) (1-s)^(-tau-1) / (s^-tau + (1-s)^-tau)^2 = tau
    # at s = 1/2 (first exercise of the chapter).
    _close(concrete_log_density([0.5, 0.5], [0.0, 0.0], 0.5), math.log(0.5))
    with pytest.raises(ValueError, match="n >= 2"):
        concrete_log_density([1.0], [0.0], 1.0)
    with pytest.raises(ValueError, match="entries in \\(0, 1\\]"):
        concrete_log_density([0.0, 1.0], [0.0, 0.0], 1.0)


def _degenerate_sample_gumbel(rng):
    assert sample_gumbel((), rng=rng).shape == ()
    with pytest.raises(ValueError, match="size"):
        sample_gumbel(0, rng=rng)


LAWS = {
    P + "gaussian_mu_grad_moments": _law_gaussian_mu_grad_moments,
    P + "score_function_grad": _law_score_function_grad,
    P + "gaussian_score": _law_gaussian_score,
    P + "pathwise_grad_gaussian": _law_pathwise_grad_gaussian,
    P + "score_function_grad_gaussian": _law_score_function_grad_gaussian,
    P + "exact_categorical_grad": _law_exact_categorical_grad,
    P + "exact_bernoulli_grad": _law_exact_bernoulli_grad,
    P + "gumbel_softmax": _law_gumbel_softmax,
    P + "gumbel_softmax_vjp": _law_gumbel_softmax_vjp,
    P + "concrete_log_density": _law_concrete_log_density,
}

NO_LAW = {
    P + "binary_vectors": "takes an integer length d and returns a constant table of 0/1 vectors: nothing to scale",
    P + "sample_gumbel": "a random generator: its only inputs are a shape, a generator and a dtype",
}

DEGENERATE = {
    P + "gaussian_mu_grad_moments": _degenerate_gaussian_mu_grad_moments,
    P + "score_function_grad": _degenerate_score_function_grad,
    P + "gaussian_score": _degenerate_gaussian_score,
    P + "pathwise_grad_gaussian": _degenerate_pathwise_grad_gaussian,
    P + "score_function_grad_gaussian": _degenerate_score_function_grad_gaussian,
    P + "exact_categorical_grad": _degenerate_exact_categorical_grad,
    P + "exact_bernoulli_grad": _degenerate_exact_bernoulli_grad,
    P + "binary_vectors": _degenerate_binary_vectors,
    P + "gumbel_softmax": _degenerate_gumbel_softmax,
    P + "gumbel_softmax_vjp": _degenerate_gumbel_softmax_vjp,
    P + "concrete_log_density": _degenerate_concrete_log_density,
    P + "sample_gumbel": _degenerate_sample_gumbel,
}

NOT_DEGENERATE: dict[str, str] = {}
