"""Scale laws and degenerate inputs of mathguide.montecarlo and mathguide.optimization.

Loaded by ``test_scale_registry.py``; see its docstring for the four dictionaries. ``c`` is always an
exact power of two, so a law "scales by c" is checked to a few ulps (``np.ldexp`` gives the exactly
scaled reference, overflowing to inf and underflowing gradually as the exact product would).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _support import obeys_or_refuses, relative_error

from mathguide.montecarlo import (
    bregman_estimator,
    effective_sample_size,
    estimate_from_log_weights,
    estimator_bias_std,
    exponential_tail_rate,
    exponential_tail_second_moment,
    importance_sampling,
    k1,
    k2,
    k3,
    k_kl_pq,
    k_lambda,
    kl_gaussian,
    normal_tail_probability,
    optimal_lambda,
    self_normalized_importance_sampling,
)
from mathguide.optimization import (
    ConstrainedProblem,
    estimate_multipliers,
    kkt_residuals,
    licq_holds,
    mfcq_holds,
    project_to_simplex,
    quadratic_program,
    scipy_constraints,
    solve_by_active_sets,
    water_filling,
)

MC = "mathguide.montecarlo."
OPT = "mathguide.optimization."
EPS = np.finfo(np.float64).eps
SMALLEST_NORMAL = np.finfo(np.float64).tiny


def _exponent(c: float) -> int:
    return int(round(math.log2(c)))


def _scaled(value, power: int, c: float) -> np.ndarray:
    """``value * c**power`` exactly (to inf or a subnormal as the exact product rounds)."""
    with np.errstate(over="ignore", under="ignore"):
        return np.ldexp(np.asarray(value, dtype=np.float64), power * _exponent(c))


def _matches(got, want, rtol: float) -> None:
    """Entrywise: equal infinities; a few ulps of the smallest normal in the subnormal range; else rtol."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert got.shape == want.shape, (got.shape, want.shape)
    inf = np.isinf(want)
    assert np.array_equal(got[inf], want[inf]), f"{got[inf]} != {want[inf]}"
    tiny = ~inf & (np.abs(want) < SMALLEST_NORMAL)
    assert np.all(np.abs(got[tiny] - want[tiny]) <= 4 * SMALLEST_NORMAL * EPS), f"{got[tiny]} != {want[tiny]}"
    rest = ~inf & ~tiny
    assert np.all(np.abs(got[rest] - want[rest]) <= rtol * np.abs(want[rest])), f"{got[rest]} != {want[rest]}"


def _log_ratios(rng, n: int = 12) -> np.ndarray:
    u = rng.normal(size=n)
    u[0], u[1] = abs(u[0]) + 0.5, -abs(u[1]) - 0.5  # both signs present
    return u


# --- KL estimators: the per-sample functions of the log-ratio u ------------------------------------------


def _law_k1(c, rng):
    u = _log_ratios(rng)
    _matches(k1(c * u), _scaled(k1(u), 1, c), rtol=0.0)  # a negation: exact


def _law_k2(c, rng):
    u = _log_ratios(rng)
    _matches(k2(c * u), _scaled(k2(u), 2, c), rtol=4 * EPS)  # (c u)^2 / 2 = c^2 k2(u)


def _large_or_small_limit(got, u, c, *, large_negative, small) -> None:
    """The limit laws of k3, k_kl_pq, k_lambda for |c u| far from 1 (relative error <= 2**-400)."""
    if c > 1:
        _matches(got[u > 0], np.full(int((u > 0).sum()), np.inf), rtol=0.0)
        _matches(got[u < 0], large_negative(u[u < 0]), rtol=4 * EPS)
    else:
        _matches(got, small(u), rtol=4 * EPS)


def _law_k3(c, rng):
    # k3 = e^u - 1 - u: for c u -> -inf it is -c u - 1 ~ c |u|; for c u -> +inf it overflows;
    # for c u -> 0 it is (c u)^2 / 2 (1 + c u / 3 + ...).
    u = _log_ratios(rng)
    _large_or_small_limit(
        k3(c * u), u, c, large_negative=lambda v: _scaled(-v, 1, c), small=lambda v: _scaled(v * v / 2, 2, c)
    )


def _law_k_kl_pq(c, rng):
    # r log r - (r - 1): for c u -> -inf it tends to 1; for c u -> 0 it is (c u)^2 / 2 (1 + 2 c u / 3 + ...).
    u = _log_ratios(rng)
    _large_or_small_limit(
        k_kl_pq(c * u), u, c, large_negative=lambda v: np.ones_like(v), small=lambda v: _scaled(v * v / 2, 2, c)
    )


def _law_k_lambda(c, rng):
    # -u + lam (e^u - 1): lam = 1 is k3; otherwise (lam - 1) c u to first order for small c, and
    # -c u - lam ~ c |u| for c u -> -inf (+inf for c u -> +inf when lam > 0).
    u = _log_ratios(rng)
    for lam in (0.25, 1.0, 3.0):
        got = k_lambda(c * u, lam)
        if lam == 1.0:
            _matches(got, k3(c * u), rtol=0.0)
            continue
        _large_or_small_limit(
            got, u, c, large_negative=lambda v: _scaled(-v, 1, c), small=lambda v, lam=lam: _scaled((lam - 1) * v, 1, c)
        )


def _law_optimal_lambda(c, rng):
    u = 0.3 * _log_ratios(rng, 200)
    base = optimal_lambda(u)
    # r -> c r (u -> u + log c): the optimal coefficient of r - 1 scales by 1/c. Rounding u + log c
    # (|log c| <= 694) costs ~700 ulps of the log-ratios.
    _matches(optimal_lambda(u + math.log(c)), _scaled(base, -1, c), rtol=1e-11)
    # u -> c u: for c -> 0, r = 1 + c u + ..., Cov(u, r) / Var(r) -> 1 (error O(c)); for c -> inf the
    # largest ratio dominates and lambda = e^(-c max u) (...) -> 0 (max u > 0 here).
    got = optimal_lambda(c * u)
    if c < 1:
        _matches(got, 1.0, rtol=1e-13)
    else:
        assert got == 0.0, got


def _law_bregman_estimator(c, rng):
    # f = -log gives k3; at c = 2**500 the ratios overflow and at 2**-500 they round to 1: both are
    # refused, naming log_ratio (before: 0 for every sample at c = 2**-500).
    u = _log_ratios(rng)
    obeys_or_refuses(
        lambda: bregman_estimator(c * u, lambda r: -np.log(r), -1.0),
        "log_ratio",
        lambda got: _matches(got, k3(c * u), rtol=1e-10),
    )


def _law_kl_gaussian(c, rng):
    # A location-scale family: scaling every mean and deviation by c leaves the KL unchanged.
    mu_q, mu_p = rng.normal(size=5), rng.normal(size=5)
    s_q, s_p = rng.uniform(0.5, 2.0, size=5), rng.uniform(0.5, 2.0, size=5)
    base = kl_gaussian(mu_q, s_q, mu_p, s_p)
    _matches(kl_gaussian(c * mu_q, c * s_q, c * mu_p, s_p * c), base, rtol=8 * EPS)
    _matches(kl_gaussian(c * mu_q, c * s_q, c * mu_p, c * s_p, axis=-1), base.sum(), rtol=16 * EPS)


def _law_estimator_bias_std(c, rng):
    # x -> c x with the densities transformed (q_c(x) = q(x / c) / c): the log-ratios, hence every
    # statistic, are unchanged; the subtraction of log c (|log c| <= 694) costs ~1e-13 absolute.
    seed = int(rng.integers(2**31))

    def log_normal(x, mean, sd):
        return -0.5 * ((x - mean) / sd) ** 2 - math.log(sd) - 0.5 * math.log(2 * math.pi)

    def run(scale):
        return estimator_bias_std(
            lambda g, n: scale * g.normal(0.0, 1.0, n),
            lambda x: log_normal(x / scale, 0.0, 1.0) - math.log(scale),
            lambda x: log_normal(x / scale, 0.4, 1.1) - math.log(scale),
            400,
            rng=seed,
            true_kl=float(kl_gaussian(0.0, 1.0, 0.4, 1.1)),
        )

    base, got = run(1.0), run(c)
    for field in ("k1", "k2", "k3"):
        _matches(np.array(getattr(got, field)), np.array(getattr(base, field)), rtol=1e-9)


# --- importance sampling --------------------------------------------------------------------------------


def _law_effective_sample_size(c, rng):
    lw = rng.normal(size=(3, 50))
    _matches(effective_sample_size(lw + math.log(c)), effective_sample_size(lw), rtol=1e-11)  # w -> c w


def _law_estimate_from_log_weights(c, rng):
    lw, values = rng.normal(size=(2, 40)), rng.normal(size=(2, 40))
    for self_normalized in (False, True):
        base = estimate_from_log_weights(lw, values, self_normalized=self_normalized)
        # values -> c values: estimate and standard error scale by c, exactly (before: the squares
        # overflowed at 2**1000 and the standard error underflowed to 0 at 2**-1000).
        got = estimate_from_log_weights(lw, c * values, self_normalized=self_normalized)
        _matches(got.estimate, _scaled(base.estimate, 1, c), rtol=0.0)
        _matches(got.std_error, _scaled(base.std_error, 1, c), rtol=0.0)
        _matches(got.ess, base.ess, rtol=0.0)
        # w -> c w: the plain estimate scales by c, the self-normalised one does not move.
        got = estimate_from_log_weights(lw + math.log(c), values, self_normalized=self_normalized)
        power = 0 if self_normalized else 1
        _matches(got.estimate, _scaled(base.estimate, power, c), rtol=1e-11)
        _matches(got.std_error, _scaled(base.std_error, power, c), rtol=1e-11)


def _normal_logpdf(x):
    return -0.5 * x * x - 0.5 * math.log(2 * math.pi)


def _wide_sampler(g, n):
    return 2.0 * g.standard_normal(n)


def _wide_logpdf(x):
    return _normal_logpdf(x / 2.0) - math.log(2.0)


def _law_importance_sampling(c, rng):
    seed = int(rng.integers(2**31))

    def run(scale):
        return importance_sampling(lambda x: scale * x * x, _normal_logpdf, _wide_logpdf, _wide_sampler, 300, rng=seed)

    base, got = run(1.0), run(c)  # f -> c f: same draws, estimate and standard error times c
    _matches(got.estimate, _scaled(base.estimate, 1, c), rtol=0.0)
    _matches(got.std_error, _scaled(base.std_error, 1, c), rtol=0.0)


def _law_self_normalized_importance_sampling(c, rng):
    seed = int(rng.integers(2**31))

    def run(scale, shift):
        return self_normalized_importance_sampling(
            lambda x: scale * x * x, lambda x: _normal_logpdf(x) + shift, _wide_logpdf, _wide_sampler, 300, rng=seed
        )

    base = run(1.0, 0.0)
    got = run(c, 0.0)  # f -> c f
    _matches(got.estimate, _scaled(base.estimate, 1, c), rtol=0.0)
    _matches(got.std_error, _scaled(base.std_error, 1, c), rtol=0.0)
    got = run(1.0, math.log(c))  # p~ -> c p~: the unknown constant cancels
    _matches(got.estimate, base.estimate, rtol=1e-11)


def _law_exponential_tail_rate(c, rng):
    # lambda*(a) = a + 2/a + ... for a -> +inf; ~ 1/|a| for a -> -inf (the equation becomes
    # lam/2 + |a| - 1/lam = 0); continuous at 0 (error O(a)). The same limits hold for lambda-dagger.
    for criterion in ("second_moment", "max_weight"):
        if c > 1:
            _matches(exponential_tail_rate(c, criterion=criterion), c, rtol=4 * EPS)
            _matches(exponential_tail_rate(-c, criterion=criterion), 1 / c, rtol=1e-12)
        else:
            at_zero = exponential_tail_rate(0.0, criterion=criterion)
            _matches(exponential_tail_rate(c, criterion=criterion), at_zero, rtol=1e-12)
            _matches(exponential_tail_rate(-c, criterion=criterion), at_zero, rtol=1e-12)


# --- optimisation ---------------------------------------------------------------------------------------


def _law_water_filling(c, rng):
    alpha, total = rng.uniform(0.5, 2.0, size=(3, 6)), rng.uniform(0.5, 3.0, size=3)
    base = water_filling(alpha, total)
    got = water_filling(c * alpha, c * total)  # a problem in other units: x and the level scale by c
    _matches(got.x, _scaled(base.x, 1, c), rtol=0.0)
    _matches(got.level, _scaled(base.level, 1, c), rtol=0.0)


def _law_project_to_simplex(c, rng):
    v = rng.normal(size=(4, 7))
    got = project_to_simplex(c * v)
    if c > 1:  # gaps of c |v_i - v_j| >> 1: the vertex of the largest entry
        _matches(got, (v == v.max(axis=-1, keepdims=True)).astype(float), rtol=0.0)
    else:  # 1/n + c (v - mean v), which rounds to 1/n
        want = 1 / 7 + c * (v - v.mean(axis=-1, keepdims=True))
        _matches(got, want, rtol=4 * EPS)
    shift = 0.5 * c  # adding a constant (exactly representable next to v, or absorbed) changes nothing
    if c < 1:
        _matches(project_to_simplex(v + shift), project_to_simplex(v), rtol=64 * EPS)


def _qp(scale_objective=1.0, scale_rows=1.0):
    q = np.array([[2.0, 0.5], [0.5, 1.0]])
    a = np.array([[1.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    b = np.array([2.0, 0.0, 0.0])
    # The KKT point: x = (0, 2), both of the first two constraints active, lambda = (3, 2, 0).
    return quadratic_program(
        scale_objective * q, scale_objective * np.array([-2.0, -5.0]), scale_rows * a, scale_rows * b
    )


X_STAR, LAM_STAR = np.array([0.0, 2.0]), np.array([3.0, 2.0, 0.0])


def _law_quadratic_program(c, rng):
    x = rng.normal(size=2)
    base, scaled = _qp().evaluate(x), _qp(c).evaluate(x)
    _matches(scaled.f, _scaled(base.f, 1, c), rtol=0.0)
    _matches(scaled.grad, _scaled(base.grad, 1, c), rtol=0.0)
    # Symmetry is judged relative to the size of q: an asymmetric q is refused at every scale
    # (before, 2**-500 times [[1, 1], [0, 1]] passed the absolute test and was accepted).
    with pytest.raises(ValueError, match=r"\bq\b"):
        quadratic_program(c * np.array([[1.0, 1.0], [0.0, 1.0]]), [0.0, 0.0])


def _law_kkt_residuals(c, rng):
    x = X_STAR + 0.1 * rng.normal(size=2)
    lam = LAM_STAR - 0.5  # a negative multiplier too: every residual is nonzero
    base = kkt_residuals(_qp(), x, lam)
    got = kkt_residuals(_qp(c, c), x, lam)  # f and g both times c: lambda is unchanged
    want = [
        _scaled(base.stationarity, 1, c),
        _scaled(base.primal_feasibility, 1, c),
        base.dual_feasibility,
        _scaled(base.complementary_slackness, 1, c),
    ]
    _matches(np.array(got), np.array(want, dtype=float), rtol=0.0)


def _law_estimate_multipliers(c, rng):
    got = estimate_multipliers(_qp(c), X_STAR)  # f times c: the multipliers times c
    _matches(got.ineq, _scaled(LAM_STAR, 1, c), rtol=1e-12)
    assert got.stationarity <= 64 * EPS * c * 10, got.stationarity
    got = estimate_multipliers(_qp(1.0, c), X_STAR, tol=1e-8 * c)  # rows times c: the multipliers over c
    _matches(got.ineq, _scaled(LAM_STAR, -1, c), rtol=1e-12)


def _cusp(scale):
    # x2 <= x1^3 and -x2 <= 0 at the origin: the gradients (0, 1) and (0, -1) are dependent, and no
    # direction makes both strictly negative: LICQ and MFCQ fail. At (1, 0) only -x2 <= 0 is active.
    return ConstrainedProblem(
        objective=lambda x: float(x[0]),
        gradient=lambda x: np.array([1.0, 0.0]),
        n_vars=2,
        ineq=lambda x: scale * np.array([x[1] - x[0] ** 3, -x[1]]),
        ineq_jacobian=lambda x: scale * np.array([[-3 * x[0] ** 2, 1.0], [0.0, -1.0]]),
    )


def _law_licq_holds(c, rng):
    # The activity tolerance is absolute, in the units of g: scaling g by c scales it by c.
    for x, want in (([0.0, 0.0], False), ([1.0, 0.0], True)):
        assert licq_holds(_cusp(c), x, tol=1e-8 * c) is want
        assert licq_holds(_cusp(1.0), x) is want


def _law_mfcq_holds(c, rng):
    for x, want in (([0.0, 0.0], False), ([1.0, 0.0], True)):
        assert mfcq_holds(_cusp(c), x, tol=1e-8 * c) is want
        assert mfcq_holds(_cusp(1.0), x) is want


def _law_scipy_constraints(c, rng):
    x = rng.normal(size=2)
    (base,), (got,) = scipy_constraints(_qp()), scipy_constraints(_qp(1.0, c))
    _matches(got["fun"](x), _scaled(base["fun"](x), 1, c), rtol=0.0)
    _matches(got["jac"](x), _scaled(base["jac"](x), 1, c), rtol=0.0)


def _law_solve_by_active_sets(c, rng):
    # f times c: the same single KKT point, multipliers times c; constraint rows times c: multipliers
    # over c. Before, at 2**500 the unconstrained (infeasible) minimiser was returned, and at 2**-500
    # four "KKT points" with negative multipliers.
    base = solve_by_active_sets(_qp())
    assert len(base) == 1 and base[0].active == (0, 1)
    for problem, power in ((_qp(c), 1), (_qp(1.0, c), -1)):
        got = solve_by_active_sets(problem)
        assert [point.active for point in got] == [(0, 1)]
        _matches(got[0].x[1], 2.0, rtol=8 * EPS)
        assert abs(got[0].x[0]) <= 8 * EPS
        _matches(got[0].ineq_multipliers, _scaled(base[0].ineq_multipliers, power, c), rtol=0.0)


LAWS = {
    MC + "k1": _law_k1,
    MC + "k2": _law_k2,
    MC + "k3": _law_k3,
    MC + "k_kl_pq": _law_k_kl_pq,
    MC + "k_lambda": _law_k_lambda,
    MC + "optimal_lambda": _law_optimal_lambda,
    MC + "bregman_estimator": _law_bregman_estimator,
    MC + "kl_gaussian": _law_kl_gaussian,
    MC + "estimator_bias_std": _law_estimator_bias_std,
    MC + "effective_sample_size": _law_effective_sample_size,
    MC + "estimate_from_log_weights": _law_estimate_from_log_weights,
    MC + "importance_sampling": _law_importance_sampling,
    MC + "self_normalized_importance_sampling": _law_self_normalized_importance_sampling,
    MC + "exponential_tail_rate": _law_exponential_tail_rate,
    OPT + "water_filling": _law_water_filling,
    OPT + "project_to_simplex": _law_project_to_simplex,
    OPT + "quadratic_program": _law_quadratic_program,
    OPT + "kkt_residuals": _law_kkt_residuals,
    OPT + "estimate_multipliers": _law_estimate_multipliers,
    OPT + "licq_holds": _law_licq_holds,
    OPT + "mfcq_holds": _law_mfcq_holds,
    OPT + "scipy_constraints": _law_scipy_constraints,
    OPT + "solve_by_active_sets": _law_solve_by_active_sets,
}

NO_LAW = {
    MC + "normal_tail_probability": (
        "P(Z > a) for a standard normal Z: the threshold a has no unit to scale, and the probability "
        "has no simple law in a (a > 37.5, where it leaves the normal range, is refused: see DEGENERATE)"
    ),
    MC + "exponential_tail_second_moment": (
        "E_q[w^2] = exp(lam^2/4 - lam a) erfc(a - lam/2) / (4 sqrt(pi) lam) mixes a and lam with the "
        "standard normal's unit scale: no simple law; its extremes (0 and inf, without warnings) are "
        "checked in DEGENERATE"
    ),
}


# --- degenerate inputs ----------------------------------------------------------------------------------


def _deg_per_sample(function):
    def check(rng):
        assert function(np.zeros(0)).shape == (0,)  # an empty batch
        zero = function(np.zeros(3))
        assert np.all(zero == 0.0)  # r = 1: every estimator is 0
        with pytest.raises(ValueError, match="log_ratio"):
            function([0.0, np.nan])

    return check


def _deg_infinities(rng):
    # -inf (p(x) = 0) and +inf: the documented limits.
    u = np.array([-np.inf, np.inf])
    assert np.array_equal(k1(u), [np.inf, -np.inf])
    assert np.array_equal(k2(u), [np.inf, np.inf])
    assert np.array_equal(k3(u), [np.inf, np.inf])
    assert np.array_equal(k_kl_pq(u), [1.0, np.inf])
    assert np.array_equal(k_lambda(u, 0.0), [np.inf, -np.inf])


def _deg_k_lambda(rng):
    assert k_lambda(np.zeros(0), 0.5).shape == (0,)
    assert np.all(k_lambda(np.zeros(3), 0.5) == 0.0)
    with pytest.raises(ValueError, match="lam"):
        k_lambda([0.0, 1.0], np.inf)


def _deg_optimal_lambda(rng):
    for bad in ([0.3, 0.3, 0.3], [0.3]):  # ties everywhere (Var r = 0), one sample
        with pytest.raises(ValueError, match="log_ratio"):
            optimal_lambda(bad)


def _deg_bregman_estimator(rng):
    f = lambda r: -np.log(r)  # noqa: E731
    assert bregman_estimator(np.zeros(0), f, -1.0).shape == (0,)
    assert np.all(bregman_estimator(np.zeros(3), f, -1.0) == 0.0)  # u = 0 exactly: the exact 0
    with pytest.raises(ValueError, match="log_ratio"):
        bregman_estimator([1e-17, 1.0], f, -1.0)  # r rounds to 1: no digit of ~5e-35 is left


def _deg_kl_gaussian(rng):
    assert kl_gaussian(0.3, 2.0, 0.3, 2.0) == 0.0  # identical distributions
    assert kl_gaussian(np.zeros((0, 3)), 1.0, 0.0, 1.0, axis=-1).shape == (0,)
    with pytest.raises(ValueError, match="sigma_q"):
        kl_gaussian(0.0, 0.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="mu_p"):
        kl_gaussian(0.0, 1.0, np.inf, 1.0)


def _deg_estimator_bias_std(rng):
    def sample(g, n):
        return g.standard_normal(n)

    with pytest.raises(ValueError, match=r"\bn\b"):
        estimator_bias_std(sample, _normal_logpdf, _normal_logpdf, 1, rng=0, true_kl=1.0)
    with pytest.raises(ValueError, match="sample_q"):
        estimator_bias_std(lambda g, n: np.zeros(n + 1), _normal_logpdf, _normal_logpdf, 5, rng=0, true_kl=1.0)
    with pytest.raises(TypeError, match="log_q"):
        estimator_bias_std(sample, lambda x: x + 0j, _normal_logpdf, 5, rng=0, true_kl=1.0)


def _deg_effective_sample_size(rng):
    assert effective_sample_size(np.full(5, -np.inf)) == 0.0  # all weights zero
    assert effective_sample_size([0.3]) == 1.0  # one sample
    assert effective_sample_size(np.full(5, 2.0)) == 5.0  # ties: n exactly
    assert effective_sample_size([0.0, -np.inf, -np.inf]) == 1.0
    assert effective_sample_size(np.zeros((0, 4))).shape == (0,)  # an empty batch
    with pytest.raises(ValueError, match="log_weights"):
        effective_sample_size(np.zeros(0))


def _deg_estimate_from_log_weights(rng):
    zero = estimate_from_log_weights(np.full(3, -np.inf), np.ones(3))
    assert zero.estimate == 0.0 and zero.ess == 0.0
    with pytest.raises(ValueError, match="weights are zero"):
        estimate_from_log_weights(np.full(3, -np.inf), np.ones(3), self_normalized=True)
    one = estimate_from_log_weights([0.0], [2.0])
    assert one.estimate == 2.0 and math.isnan(one.std_error)
    assert estimate_from_log_weights(np.zeros(3), np.zeros(3)) == (0.0, 0.0, 3.0)  # values all zero
    with pytest.raises(TypeError, match="self_normalized"):
        estimate_from_log_weights(np.zeros(3), np.zeros(3), self_normalized="no")


def _deg_importance_sampling(rng):
    one = importance_sampling(lambda x: x * x, _normal_logpdf, _wide_logpdf, _wide_sampler, 1, rng=0)
    assert math.isnan(one.std_error)
    with pytest.raises(ValueError, match="sample_q"):
        importance_sampling(lambda x: x, _normal_logpdf, _wide_logpdf, lambda g, n: np.zeros((n + 1,)), 4, rng=0)
    with pytest.raises(ValueError, match=r"\bf\(x\)"):
        importance_sampling(lambda x: np.ones(2), _normal_logpdf, _wide_logpdf, _wide_sampler, 4, rng=0)


def _deg_self_normalized_importance_sampling(rng):
    with pytest.raises(ValueError, match="weights are zero"):
        self_normalized_importance_sampling(
            lambda x: x, lambda x: np.full(x.shape, -np.inf), _wide_logpdf, _wide_sampler, 4, rng=0
        )


def _deg_exponential_tail_rate(rng):
    assert exponential_tail_rate(0.0, criterion="max_weight") == 1.0  # (0 + sqrt(4)) / 2
    assert exponential_tail_rate(0.0) > 0
    with pytest.raises(ValueError, match=r"\ba\b"):
        exponential_tail_rate(np.inf)


def _deg_exponential_tail_second_moment(rng):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the overflow to inf is the answer, not a warning
        assert exponential_tail_second_moment(2.0**500, 1.0) == 0.0
        assert exponential_tail_second_moment(-(2.0**500), 1.0) == np.inf
        assert exponential_tail_second_moment(1.0, 2.0**500) == np.inf
    assert exponential_tail_second_moment(np.zeros(0), 1.0).shape == (0,)
    with pytest.raises(ValueError, match="rate"):
        exponential_tail_second_moment(1.0, 0.0)


def _deg_normal_tail_probability(rng):
    with pytest.raises(ValueError, match=r"\ba\b"):
        normal_tail_probability(38.0, 10, rng=0)
    assert math.isnan(normal_tail_probability(1.0, 1, rng=0).std_error)


def _deg_water_filling(rng):
    zero = water_filling([1.0, 2.0], 0.0)  # no budget: nothing allocated, the level is min alpha
    assert np.array_equal(zero.x, [0.0, 0.0]) and zero.level == 1.0
    assert water_filling([3.0], 2.0).x.tolist() == [2.0]  # 1 channel takes it all
    assert water_filling([1.0, 1.0, 1.0, 1.0], 2.0).x.tolist() == [0.5] * 4  # ties: an even split
    assert water_filling(np.ones((0, 3)), 1.0).x.shape == (0, 3)  # an empty batch
    with pytest.raises(ValueError, match="alpha"):
        water_filling(np.zeros(0), 1.0)


def _deg_project_to_simplex(rng):
    assert project_to_simplex([5.0]).tolist() == [1.0]
    assert project_to_simplex([2.0, 2.0, 2.0, 2.0]).tolist() == [0.25] * 4  # ties
    assert project_to_simplex(np.zeros(4)).tolist() == [0.25] * 4
    assert project_to_simplex(np.zeros((0, 3))).shape == (0, 3)
    with pytest.raises(ValueError, match=r"\bv\b"):
        project_to_simplex([1.0, np.inf])
    with pytest.raises(ValueError, match=r"\bv\b"):
        project_to_simplex(np.zeros(0))


def _deg_quadratic_program(rng):
    lp = quadratic_program(np.zeros((2, 2)), [1.0, 1.0])  # q = 0: a linear program
    assert lp.evaluate([1.0, 2.0]).f == 3.0
    assert quadratic_program([[2.0]], [0.0]).evaluate([3.0]).f == 9.0  # 1 x 1
    with pytest.raises(ValueError, match=r"\bq\b"):
        quadratic_program(np.zeros((0, 0)), np.zeros(0))


def _deg_kkt_residuals(rng):
    free = quadratic_program(np.eye(2), [1.0, -1.0])  # no constraints: only stationarity
    assert kkt_residuals(free, [0.0, 0.0]) == (1.0, 0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="ineq_multipliers"):
        kkt_residuals(_qp(), X_STAR, [1.0])


def _deg_licq_holds(rng):
    assert licq_holds(quadratic_program(np.eye(2), [0.0, 0.0]), [0.0, 0.0])  # nothing active
    square = ConstrainedProblem(  # x^2 <= 0 at 0: an active constraint with a zero gradient
        lambda x: float(x[0]), lambda x: np.ones(1), 1, lambda x: x**2, lambda x: 2 * x[None, :]
    )
    assert not licq_holds(square, [0.0])


def _deg_mfcq_holds(rng):
    square = ConstrainedProblem(
        lambda x: float(x[0]), lambda x: np.ones(1), 1, lambda x: x**2, lambda x: 2 * x[None, :]
    )
    assert not mfcq_holds(square, [0.0])
    assert mfcq_holds(quadratic_program(np.eye(2), [0.0, 0.0]), [0.0, 0.0])


def _deg_estimate_multipliers(rng):
    free = estimate_multipliers(quadratic_program(np.eye(2), [1.0, -1.0]), [0.0, 0.0])
    assert free.ineq.shape == (0,) and free.eq.shape == (0,) and free.stationarity == 1.0
    # Two copies of one active constraint (rank deficiency): the best stationarity residual is still 0.
    twice = quadratic_program(np.eye(1), [-2.0], [[1.0], [1.0]], [1.0, 1.0])
    got = estimate_multipliers(twice, [1.0])
    assert got.stationarity <= 8 * EPS and abs(got.ineq.sum() - 1.0) <= 8 * EPS and np.all(got.ineq >= 0)


def _deg_scipy_constraints(rng):
    assert scipy_constraints(quadratic_program(np.eye(1), [0.0])) == []
    with pytest.raises(TypeError, match="problem"):
        scipy_constraints("not a problem")


def _deg_solve_by_active_sets(rng):
    free = solve_by_active_sets(quadratic_program([[2.0]], [0.0]))  # 1 x 1, no constraints
    assert len(free) == 1 and free[0].x.tolist() == [0.0]
    # A duplicated active constraint: the KKT system of the active set {0, 1} is singular; the point
    # x = 1 is found (once).
    twice = solve_by_active_sets(quadratic_program(np.eye(1), [-2.0], [[1.0], [1.0]], [1.0, 1.0]))
    assert len(twice) == 1 and abs(twice[0].x[0] - 1.0) <= 8 * EPS
    assert solve_by_active_sets(quadratic_program([[1.0]], [0.0], [[0.0]], [-1.0])) == []  # 0 <= -1: infeasible


DEGENERATE = {
    MC + "k1": _deg_infinities,
    MC + "k2": _deg_per_sample(k2),
    MC + "k3": _deg_per_sample(k3),
    MC + "k_kl_pq": _deg_per_sample(k_kl_pq),
    MC + "k_lambda": _deg_k_lambda,
    MC + "optimal_lambda": _deg_optimal_lambda,
    MC + "bregman_estimator": _deg_bregman_estimator,
    MC + "kl_gaussian": _deg_kl_gaussian,
    MC + "estimator_bias_std": _deg_estimator_bias_std,
    MC + "effective_sample_size": _deg_effective_sample_size,
    MC + "estimate_from_log_weights": _deg_estimate_from_log_weights,
    MC + "importance_sampling": _deg_importance_sampling,
    MC + "self_normalized_importance_sampling": _deg_self_normalized_importance_sampling,
    MC + "exponential_tail_rate": _deg_exponential_tail_rate,
    MC + "exponential_tail_second_moment": _deg_exponential_tail_second_moment,
    MC + "normal_tail_probability": _deg_normal_tail_probability,
    OPT + "water_filling": _deg_water_filling,
    OPT + "project_to_simplex": _deg_project_to_simplex,
    OPT + "quadratic_program": _deg_quadratic_program,
    OPT + "kkt_residuals": _deg_kkt_residuals,
    OPT + "licq_holds": _deg_licq_holds,
    OPT + "mfcq_holds": _deg_mfcq_holds,
    OPT + "estimate_multipliers": _deg_estimate_multipliers,
    OPT + "scipy_constraints": _deg_scipy_constraints,
    OPT + "solve_by_active_sets": _deg_solve_by_active_sets,
}

NOT_DEGENERATE: dict[str, str] = {}

__all__ = ["DEGENERATE", "LAWS", "NOT_DEGENERATE", "NO_LAW", "relative_error"]
