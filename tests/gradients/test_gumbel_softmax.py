"""Tests of mathguide.gradients.gumbel_softmax (chapter chapters/gradients/gumbel-softmax.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
from scipy import stats

from mathguide.gradients import (
    concrete_log_density,
    gumbel_softmax,
    gumbel_softmax_vjp,
    sample_gumbel,
)
from mathguide.seeding import seeded_rng

EPS64 = np.finfo(np.float64).eps
EPS32 = np.finfo(np.float32).eps
Z_BOUND = 4.0
P_FLOOR = 1e-4  # a seeded goodness-of-fit test of a correct sampler fails with this probability


class _ExtremeUniforms(np.random.Generator):
    """A Generator whose uniforms are the extreme values Generator.random can return: 0 and 1 - 2^-53."""

    def random(self, size=None, dtype=np.float64, out=None):
        return np.resize(np.array([0.0, 1.0 - 2.0**-53, 0.5]), size)


def test_sample_gumbel_has_the_gumbel_law(rng):
    g = sample_gumbel(50_000, rng=rng)
    assert g.shape == (50_000,) and g.dtype == np.float64
    assert stats.kstest(g, stats.gumbel_r.cdf).pvalue > P_FLOOR


def test_sample_gumbel_is_finite_at_extreme_uniforms():
    g = sample_gumbel((2, 3), rng=_ExtremeUniforms(np.random.PCG64(0)))
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g[0, 0], -math.log(-math.log(np.finfo(np.float64).tiny)), rtol=1e-15, atol=0)
    np.testing.assert_allclose(g[0, 1], -math.log(2.0**-53), rtol=1e-12, atol=0)  # -log(-log(1-u)) ~ -log u


def test_sample_gumbel_dtype_and_reproducibility():
    assert sample_gumbel(4, rng=seeded_rng(1), dtype=np.float32).dtype == np.float32
    np.testing.assert_array_equal(sample_gumbel(4, rng=seeded_rng(1)), sample_gumbel(4, rng=seeded_rng(1)))
    assert not np.array_equal(sample_gumbel(4, rng=seeded_rng(1)), sample_gumbel(4, rng=seeded_rng(2)))


@pytest.mark.parametrize("tau", [0.1, 1.0, 5.0])
def test_rounding_property_argmax_has_the_softmax_law(tau, rng):
    logits = np.array([1.0, -0.5, 0.3, 2.0, -3.0])
    n = 40_000
    draw = gumbel_softmax(logits, tau, rng=rng, hard=True, size=n)
    index = draw.sample.argmax(axis=-1)
    np.testing.assert_array_equal(index, draw.relaxed.argmax(axis=-1))  # argmax of y = the hard sample
    counts = np.bincount(index, minlength=5)
    expected = n * scipy.special.softmax(logits)
    assert stats.chisquare(counts, expected).pvalue > P_FLOOR


def test_relaxed_sample_is_on_the_simplex_and_axis_is_respected():
    logits = np.array([[0.0, 1.0, 2.0], [3.0, -1.0, 0.5]])
    row = gumbel_softmax(logits, 0.5, rng=seeded_rng(3), size=(4,))
    col = gumbel_softmax(logits.T, 0.5, rng=seeded_rng(3), size=(4,), axis=0)
    assert row.relaxed.shape == (4, 2, 3) and col.relaxed.shape == (4, 3, 2)
    assert np.all(row.relaxed >= 0)
    np.testing.assert_allclose(row.relaxed.sum(axis=-1), 1.0, rtol=0, atol=4 * EPS64)
    # The noise is drawn in the (draws, vectors, categories) layout whatever the axis, so the same
    # seed gives the transposed result.
    np.testing.assert_array_equal(col.relaxed, np.swapaxes(row.relaxed, 1, 2))


def test_matches_a_direct_computation_with_the_same_noise():
    logits = np.array([0.2, -1.0, 1.5])
    tau = 0.3
    g = sample_gumbel((6, 3), rng=seeded_rng(11))
    expected = scipy.special.softmax((logits + g) / tau, axis=-1)
    out = gumbel_softmax(logits, tau, rng=seeded_rng(11), size=6)
    np.testing.assert_allclose(out.relaxed, expected, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("tau", [1e-3, 1.0, 1e3])
def test_stable_for_huge_logits_and_small_tau(dtype, tau):
    logits = np.array([1e4, -1e4, 0.0, 1e4 - 1.0, -np.inf], dtype=dtype)
    out = gumbel_softmax(logits, tau, rng=seeded_rng(5), hard=True, size=200)
    assert out.relaxed.dtype == dtype and out.sample.dtype == dtype
    assert np.all(np.isfinite(out.relaxed))
    atol = 8 * np.finfo(dtype).eps
    np.testing.assert_allclose(out.relaxed.sum(axis=-1), 1.0, rtol=0, atol=atol)
    if tau <= 1:  # -1e4, 0 and -inf never win, and underflow to exactly 0
        assert np.all(out.relaxed[:, [1, 2, 4]] == 0)
    else:  # at tau = 1e3 they are positive but keep the order of the logits (gaps >> noise)
        r = out.relaxed
        assert np.all((0 < r[:, 1]) & (r[:, 1] < r[:, 2]) & (r[:, 2] < r[:, [0, 3]].min(axis=1)))
    assert np.all(out.relaxed[:, 4] == 0)  # -inf always gets exactly 0
    assert set(out.sample.argmax(axis=-1)) <= {0, 3}
    np.testing.assert_array_equal(out.relaxed.argmax(axis=-1), out.sample.argmax(axis=-1))


def test_tau_to_infinity_gives_the_uniform_point():
    out = gumbel_softmax(np.array([3.0, -2.0, 0.0, 1.0]), 1e8, rng=seeded_rng(0), size=10)
    np.testing.assert_allclose(out.relaxed, 0.25, rtol=0, atol=1e-6)


def _central_differences(fn, x, h=1e-6):
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        grad[idx] = (fn(x + e) - fn(x - e)) / (2 * h)
    return grad


def test_vjp_matches_finite_differences():
    logits = np.array([[0.3, -0.2, 1.1, 0.0], [1.0, 2.0, -1.0, 0.5]])
    tau = 0.7
    w = seeded_rng(1).standard_normal((3, 2, 4))

    def loss(x):  # the same noise at every call: a fixed integer seed
        return float((w * gumbel_softmax(x, tau, rng=seeded_rng(99), size=3).relaxed).sum())

    out = gumbel_softmax(logits, tau, rng=seeded_rng(99), size=3)
    grad = gumbel_softmax_vjp(out.relaxed, w, tau).sum(axis=0)
    np.testing.assert_allclose(grad, _central_differences(loss, logits), rtol=1e-6, atol=1e-9)


def test_straight_through_forward_is_one_hot_and_backward_is_the_relaxed_jacobian():
    logits = np.array([[0.3, -0.2, 1.1, 0.0], [1.0, 2.0, -1.0, 0.5]])
    tau, seed = 0.7, 99
    target = np.array([0.1, 0.2, 0.3, 0.4])

    def f(y):  # nonlinear: its gradient 2 (y - t) depends on where it is taken
        return float(((y - target) ** 2).sum())

    hard = gumbel_softmax(logits, tau, rng=seeded_rng(seed), size=3, hard=True)
    soft = gumbel_softmax(logits, tau, rng=seeded_rng(seed), size=3)
    # Forward: hard=True draws the same noise, and its sample is the one-hot Gumbel-max sample
    # onehot(argmax(logits + G)), computed here from the noise drawn again.
    np.testing.assert_array_equal(hard.relaxed, soft.relaxed)
    g = sample_gumbel((3, 2, 4), rng=seeded_rng(seed))
    np.testing.assert_array_equal(hard.sample, np.eye(4)[np.argmax(logits + g, axis=-1)])
    assert not np.array_equal(hard.sample, hard.relaxed)
    # The forward value is piecewise constant in the logits: f(hard sample) has zero finite differences.
    fd_hard = _central_differences(
        lambda x: f(gumbel_softmax(x, tau, rng=seeded_rng(seed), size=3, hard=True).sample), logits
    )
    np.testing.assert_array_equal(fd_hard, 0.0)
    # Backward: the relaxed Jacobian applied to the upstream gradient taken at the one-hot value.
    upstream = 2 * (hard.sample - target)
    st = gumbel_softmax_vjp(hard.relaxed, upstream, tau).sum(axis=0)
    fd_st = _central_differences(
        lambda x: float((upstream * gumbel_softmax(x, tau, rng=seeded_rng(seed), size=3).relaxed).sum()), logits
    )
    np.testing.assert_allclose(st, fd_st, rtol=1e-6, atol=1e-9)
    # ...which is not the gradient of the relaxed objective f(relaxed sample).
    fd_relaxed = _central_differences(lambda x: f(gumbel_softmax(x, tau, rng=seeded_rng(seed), size=3).relaxed), logits)
    assert np.max(np.abs(st - fd_relaxed)) > 1e-3 * np.max(np.abs(fd_relaxed))


def test_hard_must_be_a_bool():
    gumbel_softmax([0.0, 1.0], 1.0, rng=seeded_rng(0), hard=np.bool_(True))  # numpy.bool_ is a bool
    for flag in (1, "yes", None, np.int64(0)):
        with pytest.raises(TypeError, match="hard must be a bool"):
            gumbel_softmax([0.0, 1.0], 1.0, rng=seeded_rng(0), hard=flag)


def test_vjp_along_another_axis():
    relaxed = gumbel_softmax(np.array([0.1, 0.5, -0.3]), 0.4, rng=seeded_rng(2), size=5).relaxed
    g = np.arange(15.0).reshape(5, 3)
    np.testing.assert_allclose(
        gumbel_softmax_vjp(relaxed.T, g.T, 0.4, axis=0), gumbel_softmax_vjp(relaxed, g, 0.4).T, rtol=1e-15, atol=0
    )


def _binary_log_density(s, delta, tau):
    """log density of X_1 for n = 2 from the CDF P(X_1 <= s) = sigmoid(tau logit(s) - delta)."""
    u = tau * scipy.special.logit(s) - delta
    log_sigmoid_prime = -np.logaddexp(0.0, -u) - np.logaddexp(0.0, u)
    return log_sigmoid_prime + math.log(tau) - np.log(s) - np.log1p(-s)


@pytest.mark.parametrize("tau", [0.05, 0.5, 1.0, 3.0])
@pytest.mark.parametrize("logits", [(0.0, 0.0), (1.5, -0.5), (1e4, -1e4)])
def test_binary_concrete_density_closed_form(tau, logits):
    s = np.array([1e-6, 0.01, 0.3, 0.5, 0.9, 1 - 1e-6])
    x = np.stack([s, 1 - s], axis=-1)
    ours = concrete_log_density(x, np.array(logits), tau)
    expected = _binary_log_density(s, logits[0] - logits[1], tau)
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-9)


def test_binary_concrete_cdf_against_samples(rng):
    tau, logits = 0.6, np.array([0.7, -0.2])
    x1 = gumbel_softmax(logits, tau, rng=rng, size=40_000).relaxed[:, 0]
    for c in (0.1, 0.5, 0.8):
        p = scipy.special.expit(tau * scipy.special.logit(c) - (logits[0] - logits[1]))
        se = math.sqrt(p * (1 - p) / x1.size)
        assert abs((x1 <= c).mean() - p) < Z_BOUND * se


def _integrate_simplex3(logits, tau, lo=0.0, m=200):
    """Integral of the n = 3 Concrete density over {x_1 > lo} by tensor Gauss-Legendre quadrature.

    The triangle is the image of the unit square under x = (u, (1 - u) v, (1 - u)(1 - v)) (Jacobian
    1 - u); each side of the square is graded by the smoothstep map t^3 (10 - 15 t + 6 t^2), flat at
    both ends, which tames the algebraic behaviour x^((n-1) tau - 1) of the density at the edges.
    """
    t, w = np.polynomial.legendre.leggauss(m)
    t, w = (t + 1) / 2, w / 2
    phi = t**3 * (10 - 15 * t + 6 * t**2)
    dphi = 30 * t**2 * (1 - t) ** 2
    u, wu = lo + (1 - lo) * phi, w * dphi * (1 - lo)
    v, wv = phi, w * dphi
    x = np.stack(
        np.broadcast_arrays(u[:, None], (1 - u)[:, None] * v[None, :], (1 - u)[:, None] * (1 - v)[None, :]), axis=-1
    )
    density = np.exp(concrete_log_density(x, logits, tau))
    return float((wu[:, None] * wv[None, :] * (1 - u)[:, None] * density).sum())


def test_quadrature_rule_integrates_a_dirichlet_density():
    # The oracle of the next tests, checked on a density with a known integral: Dirichlet(2, 3, 1.5).
    alpha = np.array([2.0, 3.0, 1.5])
    m = 200
    t, w = np.polynomial.legendre.leggauss(m)
    t, w = (t + 1) / 2, w / 2
    phi, dphi = t**3 * (10 - 15 * t + 6 * t**2), 30 * t**2 * (1 - t) ** 2
    u, v = np.meshgrid(phi, phi, indexing="ij")
    x = np.stack([u, (1 - u) * v, (1 - u) * (1 - v)], axis=-1)
    pdf = stats.dirichlet.pdf(x.reshape(-1, 3).T, alpha).reshape(m, m)
    total = (np.outer(w * dphi, w * dphi) * (1 - u) * pdf).sum()
    np.testing.assert_allclose(total, 1.0, rtol=1e-10, atol=0)


@pytest.mark.parametrize("tau", [0.7, 1.0, 2.0])
def test_concrete_density_integrates_to_one_on_the_simplex(tau):
    total = _integrate_simplex3(np.array([0.5, -0.3, 0.0]), tau)
    np.testing.assert_allclose(total, 1.0, rtol=1e-7, atol=0)


def test_concrete_density_matches_sample_frequency_of_a_region(rng):
    logits, tau = np.array([0.5, -0.3, 0.0]), 1.0
    mass = _integrate_simplex3(logits, tau, lo=0.5)
    y = gumbel_softmax(logits, tau, rng=rng, size=40_000).relaxed
    freq = (y[:, 0] > 0.5).mean()
    assert abs(freq - mass) < Z_BOUND * math.sqrt(mass * (1 - mass) / y.shape[0])


def test_concrete_density_batches_and_float32():
    x = np.array([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])
    logits = np.array([0.1, 0.0, -0.4])
    batch = concrete_log_density(x, logits, 0.8)
    assert batch.shape == (2,)
    np.testing.assert_allclose(batch, [concrete_log_density(row, logits, 0.8) for row in x], rtol=1e-15, atol=0)
    np.testing.assert_allclose(concrete_log_density(x.T, logits[:, None], 0.8, axis=0), batch, rtol=1e-14, atol=0)
    single = concrete_log_density(x.astype(np.float32), logits.astype(np.float32), 0.8)
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, batch, rtol=50 * EPS32, atol=50 * EPS32)
    # Shift invariance in the logits: the law depends on logit differences only.
    np.testing.assert_allclose(concrete_log_density(x, logits + 7.0, 0.8), batch, rtol=1e-13, atol=1e-13)


def test_inputs_are_not_mutated():
    logits = np.array([0.0, 1.0])
    x = np.array([0.4, 0.6])
    gumbel_softmax(logits, 0.5, rng=seeded_rng(0), hard=True)
    concrete_log_density(x, logits, 0.5)
    np.testing.assert_array_equal(logits, [0.0, 1.0])
    np.testing.assert_array_equal(x, [0.4, 0.6])


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: gumbel_softmax([0.0, 1.0], 0.0, rng=seeded_rng(0)), ValueError, "tau must be positive"),
        (lambda: gumbel_softmax([0.0, 1.0], -1.0, rng=seeded_rng(0)), ValueError, "tau must be positive"),
        (lambda: gumbel_softmax([0.0, 1.0], float("nan"), rng=seeded_rng(0)), ValueError, "tau must not be NaN"),
        (lambda: gumbel_softmax([0.0, 1.0], float("inf"), rng=seeded_rng(0)), ValueError, "tau must be finite"),
        (lambda: gumbel_softmax([0.0, 1.0], "1", rng=seeded_rng(0)), TypeError, "tau must be a real number"),
        (lambda: gumbel_softmax([0.0, np.nan], 1.0, rng=seeded_rng(0)), ValueError, "logits must not contain NaN"),
        (lambda: gumbel_softmax([0.0, np.inf], 1.0, rng=seeded_rng(0)), ValueError, r"logits must not contain \+inf"),
        (lambda: gumbel_softmax(np.zeros((2, 0)), 1.0, rng=seeded_rng(0)), ValueError, "at least one entry"),
        (lambda: gumbel_softmax(1.0, 1.0, rng=seeded_rng(0)), ValueError, "at least one dimension"),
        (lambda: gumbel_softmax([0.0, 1.0], 1.0, rng=seeded_rng(0), hard="yes"), TypeError, "hard must be a bool"),
        (lambda: gumbel_softmax([0.0, 1.0], 1.0, rng=None), TypeError, "rng"),
        (lambda: gumbel_softmax([0.0, 1.0], 1.0, rng=seeded_rng(0), size=0), ValueError, "size"),
        (lambda: gumbel_softmax([0.0, 1.0], 1.0, rng=seeded_rng(0), axis=1), ValueError, "axis 1 is out of range"),
        (lambda: sample_gumbel(3, rng=seeded_rng(0), dtype=np.int64), TypeError, "dtype must be float32 or float64"),
        (lambda: sample_gumbel(-2, rng=seeded_rng(0)), ValueError, "size must be a positive integer"),
        (lambda: gumbel_softmax_vjp(np.ones(3) / 3, np.ones(2), 1.0), ValueError, "grad must have the shape"),
        (lambda: gumbel_softmax_vjp(np.ones(3) / 3, np.ones(3), 0.0), ValueError, "tau must be positive"),
        (lambda: concrete_log_density([0.5, 0.6], [0.0, 0.0], 1.0), ValueError, "must sum to 1"),
        (lambda: concrete_log_density([0.0, 1.0], [0.0, 0.0], 1.0), ValueError, r"entries in \(0, 1\]"),
        (lambda: concrete_log_density([1.0], [0.0], 1.0), ValueError, "n >= 2"),
        (lambda: concrete_log_density([0.5, 0.5], [0.0, -np.inf], 1.0), ValueError, "logits must be finite"),
        (lambda: concrete_log_density([0.5, 0.5], [0.0, 0.0, 1.0], 1.0), ValueError, "must broadcast"),
        (lambda: concrete_log_density([0.5, 0.5], [0.0, 0.0], -2.0), ValueError, "tau must be positive"),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
