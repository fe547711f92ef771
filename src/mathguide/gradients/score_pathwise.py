"""Gradients of an expectation: the score-function (REINFORCE) and pathwise (reparameterized) estimators.

The problem is ``d/dtheta E_{z ~ p_theta}[f(z)]``. The score-function estimator averages
``(f(z) - b) * d/dtheta log p_theta(z)`` over draws of ``z``; the pathwise estimator writes
``z = g_theta(eps)`` with parameter-free noise ``eps`` and averages ``d/dtheta f(g_theta(eps))``.
For a Gaussian ``z = mu + sigma * eps`` both have closed-form means and variances for simple ``f``
(:func:`gaussian_mu_grad_moments`), and discrete expectations have an exact gradient by enumeration
(:func:`exact_categorical_grad`, :func:`exact_bernoulli_grad`), the oracles of the chapter.

See the chapter ``chapters/gradients/score-and-pathwise.md``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import scipy.special

from mathguide._validation import as_float_array, as_generator, check_int, check_positive_int, check_real_scalar
from mathguide.simplex import softmax

__all__ = [
    "EstimatorMoments",
    "ExactGradient",
    "GaussianGradient",
    "GradientEstimate",
    "binary_vectors",
    "exact_bernoulli_grad",
    "exact_categorical_grad",
    "gaussian_mu_grad_moments",
    "gaussian_score",
    "pathwise_grad_gaussian",
    "score_function_grad",
    "score_function_grad_gaussian",
]

_BASELINES = ("leave-one-out",)
_TEST_FUNCTIONS = ("linear", "quadratic", "exp", "step", "cos")
_MAX_ENUMERATION_DIM = 24  # 2^24 binary vectors of length 24 already take 400 MB as float64


class GradientEstimate(NamedTuple):
    """A Monte Carlo gradient estimate: the sample mean, its standard error, the per-sample terms."""

    mean: np.ndarray  # shape of the parameter
    std_error: np.ndarray  # sample standard deviation / sqrt(n), same shape
    per_sample: np.ndarray  # shape (n, *parameter shape): the n single-sample estimates


class GaussianGradient(NamedTuple):
    """Gradient estimates with respect to the mean and the standard deviation of a Gaussian."""

    mu: GradientEstimate
    sigma: GradientEstimate


class ExactGradient(NamedTuple):
    """An expectation and its exact gradient with respect to the logits."""

    value: float | np.ndarray
    grad: np.ndarray


class EstimatorMoments(NamedTuple):
    """Exact gradient ``d/dmu E f(z)`` and the variances of the two single-sample estimators."""

    grad: float
    var_score: float
    var_pathwise: float


def _estimate(per_sample: np.ndarray, name: str = "the per-sample terms") -> GradientEstimate:
    n = per_sample.shape[0]
    if n == 0:
        raise ValueError("an estimate needs at least one draw, got 0")
    if not np.all(np.isfinite(per_sample)):
        raise ValueError(f"{name} overflow the float range (an entry is infinite): rescale the problem")
    # Power-of-two scaling per coordinate before the mean and the spread: exact, and it keeps the
    # squares of the standard deviation from overflowing at 2^600 or underflowing at 2^-600.
    exponent = np.frexp(np.max(np.abs(per_sample), axis=0))[1]
    scaled = np.ldexp(per_sample, -exponent)
    mean = np.ldexp(scaled.mean(axis=0), exponent)
    if n > 1:
        std_error = np.ldexp(scaled.std(axis=0, ddof=1) / math.sqrt(n), exponent)
    else:
        std_error = np.full_like(mean, np.nan)  # one draw: no estimate of the spread
    return GradientEstimate(mean=mean, std_error=std_error, per_sample=per_sample)


def _leave_one_out(f: np.ndarray) -> np.ndarray:
    """``f_k - mean of the other n - 1 values`` along axis 0, without overflow in the sum."""
    n = f.shape[0]
    exponent = np.frexp(np.max(np.abs(f), axis=0))[1]  # exact power-of-two scaling
    fs = np.ldexp(f, -exponent)
    with np.errstate(over="ignore"):  # a difference of two values near the float maximum: _estimate refuses it
        return np.ldexp(fs - (fs.sum(axis=0) - fs) / (n - 1), exponent)


def score_function_grad(f_values, scores, *, baseline=None) -> GradientEstimate:
    r"""Score-function (REINFORCE) estimate of ``grad_theta E[f(z)]`` from ``n`` draws ``z_k ~ p_theta``.

    ``mean = (1/n) sum_k (f(z_k) - b_k) * s_k`` with the scores ``s_k = grad_theta log p_theta(z_k)``.

    Parameters
    ----------
    f_values : array_like of shape (n,)
        ``f(z_k)`` for the ``n`` draws.
    scores : array_like of shape (n, *param_shape)
        ``grad_theta log p_theta(z_k)`` for the same draws.
    baseline : None, float or "leave-one-out", default None
        ``None`` means ``b = 0``; a number is a constant baseline (unbiased whatever its value, since
        ``E[s] = 0``); ``"leave-one-out"`` uses ``b_k = mean of f over the other n - 1 draws``, which is
        independent of draw ``k`` and so keeps the estimate unbiased (needs ``n >= 2``).

    Returns
    -------
    GradientEstimate
        ``mean`` (shape ``param_shape``), ``std_error`` and the ``per_sample`` terms. With the
        leave-one-out baseline the per-sample terms are not independent; their standard error is
        then only indicative.

    Raises
    ------
    ValueError
        Non-finite input, ``f_values`` not 1-D, mismatched first dimensions, unknown baseline, or
        ``"leave-one-out"`` with one draw.
    TypeError
        Non-numeric input or baseline.

    Notes
    -----
    Cost O(n * param size). The estimator needs no derivative of ``f``: ``f`` may be a step, a
    reward, a black box.

    References
    ----------
    Williams, Simple statistical gradient-following algorithms for connectionist reinforcement
    learning (Machine Learning, 1992).

    See the chapter ``chapters/gradients/score-and-pathwise.md``.
    """
    f = as_float_array(f_values, "f_values")
    s = as_float_array(scores, "scores")
    if f.ndim != 1 or f.shape[0] == 0:
        raise ValueError(f"f_values must be a non-empty 1-D array (one value per draw), got shape {f.shape}")
    if s.ndim == 0 or s.shape[0] != f.shape[0]:
        raise ValueError(f"scores must have shape (n, ...) with n = {f.shape[0]} draws, got {s.shape}")
    n = f.shape[0]
    if baseline is None:
        centred = f
    elif isinstance(baseline, str):
        if baseline not in _BASELINES:
            raise ValueError(f"baseline must be None, a number or one of {_BASELINES}, got {baseline!r}")
        if n < 2:
            raise ValueError("baseline='leave-one-out' needs at least 2 draws")
        centred = _leave_one_out(f)  # b_k = mean of the other draws
    else:
        centred = f - check_real_scalar(baseline, "baseline")
    dtype = np.result_type(f.dtype, s.dtype)
    with np.errstate(over="ignore"):  # an overflowing product is refused by _estimate, by name
        per_sample = (centred.reshape((n,) + (1,) * (s.ndim - 1)) * s).astype(dtype, copy=False)
    return _estimate(per_sample, "the per-sample terms (f_values - baseline) * scores")


def _gaussian_args(mu, sigma) -> tuple[np.ndarray, np.ndarray]:
    mu_arr = as_float_array(mu, "mu")
    sigma_arr = as_float_array(sigma, "sigma")
    if mu_arr.shape != sigma_arr.shape:
        raise ValueError(f"mu and sigma must have the same shape, got {mu_arr.shape} and {sigma_arr.shape}")
    if not np.all(sigma_arr > 0):
        raise ValueError("sigma must be positive")
    dtype = np.result_type(mu_arr.dtype, sigma_arr.dtype)
    return mu_arr.astype(dtype, copy=False), sigma_arr.astype(dtype, copy=False)


def gaussian_score(z, mu, sigma) -> GaussianGradient:
    r"""Score of ``N(mu, diag(sigma^2))`` at ``z``: ``((z - mu) / sigma^2, ((z - mu)^2 - sigma^2) / sigma^3)``.

    Parameters
    ----------
    z : array_like of shape (n, *shape)
        Draws.
    mu, sigma : array_like of shape ``shape``
        Mean and standard deviation (``sigma > 0``) of independent coordinates.

    Returns
    -------
    GaussianGradient
        Its ``mu`` and ``sigma`` fields hold a :class:`GradientEstimate` whose ``per_sample`` entries
        are the scores ``d log p / d mu`` and ``d log p / d sigma`` at each draw (mean and standard
        error over the draws are filled in too: both have expectation 0).

    Raises
    ------
    ValueError
        Shapes that disagree, ``sigma <= 0``, non-finite input.

    See the chapter ``chapters/gradients/score-and-pathwise.md``.
    """
    mu_arr, sigma_arr = _gaussian_args(mu, sigma)
    z_arr = as_float_array(z, "z")
    if z_arr.shape[1:] != mu_arr.shape or z_arr.ndim != mu_arr.ndim + 1:
        raise ValueError(f"z must have shape (n, *{mu_arr.shape}), got {z_arr.shape}")
    if z_arr.shape[0] == 0:
        raise ValueError("z must hold at least one draw, got shape " + str(z_arr.shape))
    with np.errstate(over="ignore"):  # an infinite score is refused by _estimate
        eps = (z_arr - mu_arr) / sigma_arr
        mu_score, sigma_score = eps / sigma_arr, (eps**2 - 1) / sigma_arr
    return GaussianGradient(mu=_estimate(mu_score, "the mu scores"), sigma=_estimate(sigma_score, "the sigma scores"))


def _gaussian_draws(mu, sigma, n_samples, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    mu_arr, sigma_arr = _gaussian_args(mu, sigma)
    n = check_positive_int(n_samples, "n_samples")
    eps = as_generator(rng).standard_normal((n,) + mu_arr.shape).astype(mu_arr.dtype, copy=False)
    with np.errstate(over="ignore"):
        z = mu_arr + sigma_arr * eps
    if not np.all(np.isfinite(z)):
        raise ValueError("mu + sigma * eps overflows the float range: mu or sigma is too large")
    return mu_arr, sigma_arr, eps, z


def _call(fn: Callable, z: np.ndarray, name: str) -> np.ndarray:
    if not callable(fn):
        raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    out = np.asarray(fn(z))
    if out.shape != z.shape:
        raise ValueError(f"{name}(z) must return an array of the shape of z {z.shape}, got {out.shape}")
    return as_float_array(out, f"{name}(z)")


def score_function_grad_gaussian(f: Callable, mu, sigma, *, n_samples: int, rng, baseline=None) -> GaussianGradient:
    r"""Score-function estimate of ``d/dmu`` and ``d/dsigma`` of ``E[sum_j f(z)_j]``, ``z ~ N(mu, sigma^2)``.

    ``f`` acts elementwise on independent coordinates: ``f(z)`` has the shape of ``z`` and the
    objective is the sum of its coordinates' expectations, so each coordinate's gradient involves its
    own score only.

    Parameters
    ----------
    f : callable
        ``f(z)`` for ``z`` of shape ``(n_samples, *mu.shape)``, returning the same shape.
    mu, sigma : array_like
        Mean and standard deviation (``sigma > 0``), same shape.
    n_samples : int
        Number of draws (keyword-only).
    rng : numpy.random.Generator or int
        Source of randomness (keyword-only).
    baseline : None, float or "leave-one-out"
        As in :func:`score_function_grad`, applied per coordinate.

    Returns
    -------
    GaussianGradient
        Estimates for ``mu`` and ``sigma``, each of shape ``mu.shape``.

    Raises
    ------
    ValueError, TypeError
        Bad parameters, ``f`` not callable or returning the wrong shape.

    See the chapter ``chapters/gradients/score-and-pathwise.md``.
    """
    mu_arr, sigma_arr, eps, z = _gaussian_draws(mu, sigma, n_samples, rng)
    fz = _call(f, z, "f")
    n = fz.shape[0]
    if isinstance(baseline, str) and baseline == "leave-one-out":
        if n < 2:
            raise ValueError("baseline='leave-one-out' needs at least 2 draws")
        fz = _leave_one_out(fz)
    elif baseline is not None:
        if isinstance(baseline, str):
            raise ValueError(f"baseline must be None, a number or one of {_BASELINES}, got {baseline!r}")
        fz = fz - check_real_scalar(baseline, "baseline")
    with np.errstate(over="ignore"):  # an overflowing product is refused by _estimate, by name
        mu_terms, sigma_terms = fz * eps / sigma_arr, fz * (eps**2 - 1) / sigma_arr
    return GaussianGradient(
        mu=_estimate(mu_terms, "the per-sample terms f(z) * score"),
        sigma=_estimate(sigma_terms, "the per-sample terms f(z) * score"),
    )


def pathwise_grad_gaussian(grad_f: Callable, mu, sigma, *, n_samples: int, rng) -> GaussianGradient:
    r"""Pathwise (reparameterization) estimate of ``d/dmu``, ``d/dsigma`` of ``E[sum_j f(z)_j]``.

    With ``z = mu + sigma * eps``, ``eps ~ N(0, I)``: ``d f / d mu = f'(z)`` and
    ``d f / d sigma = f'(z) * eps``, averaged over the draws.

    Parameters
    ----------
    grad_f : callable
        ``f'(z)`` elementwise, for ``z`` of shape ``(n_samples, *mu.shape)``; same shape out.
    mu, sigma : array_like
        Mean and standard deviation (``sigma > 0``), same shape.
    n_samples : int
        Number of draws (keyword-only).
    rng : numpy.random.Generator or int
        Source of randomness (keyword-only).

    Returns
    -------
    GaussianGradient
        Estimates for ``mu`` and ``sigma``.

    Raises
    ------
    ValueError, TypeError
        Bad parameters, ``grad_f`` not callable or returning the wrong shape.

    Notes
    -----
    Unbiased when ``f`` is differentiable (absolutely continuous with integrable derivative); for a
    step function ``f'`` is 0 almost everywhere and the estimate is 0: biased.

    References
    ----------
    Kingma and Welling, Auto-encoding variational Bayes (ICLR 2014).

    See the chapter ``chapters/gradients/score-and-pathwise.md``.
    """
    mu_arr, sigma_arr, eps, z = _gaussian_draws(mu, sigma, n_samples, rng)
    dfz = _call(grad_f, z, "grad_f")
    with np.errstate(over="ignore"):  # an overflowing product is refused by _estimate, by name
        sigma_terms = dfz * eps
    return GaussianGradient(mu=_estimate(dfz, "grad_f(z)"), sigma=_estimate(sigma_terms, "the terms grad_f(z) * eps"))


_LN2_HI = 6.93147180369123816490e-01  # ln 2 in two parts (fdlibm): k * _LN2_HI is exact for |k| < 2^20
_LN2_LO = 1.90821492927058770002e-10
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_EXP_LIMIT = 1.0e5  # e^x beyond e^(+-1e5) times four factors of 2^(+-1075) is out of range either way


def _scaled_product(x: float, num=(), den=()) -> float:
    """``e^x * prod(num) / prod(den)`` for non-negative factors, by power-of-two scaling.

    The exponent of ``e^x`` and of every factor are summed as integers and applied once at the end,
    so the result overflows to ``inf`` or underflows to 0 only when the exact result does.
    """
    if any(factor == 0.0 for factor in num) or x == -math.inf or x < -_EXP_LIMIT:
        return 0.0
    if x == math.inf or x > _EXP_LIMIT or any(math.isinf(factor) for factor in num):
        return math.inf
    k = round(x / math.log(2.0))
    mantissa, exponent = math.exp((x - k * _LN2_HI) - k * _LN2_LO), k  # e^x = mantissa * 2^k
    for factor in num:
        m, e = math.frexp(factor)
        mantissa, exponent = mantissa * m, exponent + e
    for factor in den:
        m, e = math.frexp(factor)
        mantissa, exponent = mantissa / m, exponent - e
    m, e = math.frexp(mantissa)
    try:
        return math.ldexp(m, exponent + e)
    except OverflowError:
        return math.inf


def gaussian_mu_grad_moments(kind: str, mu: float, sigma: float, a: float = 1.0) -> EstimatorMoments:
    r"""Closed forms for ``d/dmu E f(z)``, ``z ~ N(mu, sigma^2)``, and the two estimators' variances.

    The single-sample estimators are ``f(z) (z - mu) / sigma^2`` (score function, no baseline) and
    ``f'(z)`` (pathwise). With ``eps = (z - mu) / sigma`` and ``t = (a - mu) / sigma``:

    ========== ============ ============================================================
    ``kind``   ``f(z)``     derivation in the chapter
    ========== ============ ============================================================
    linear     ``a z``      pathwise variance 0
    quadratic  ``z^2``      Gaussian moments up to order 6 (``a`` unused)
    exp        ``e^{a z}``  moment generating function
    step       ``1{z > a}`` pathwise estimate is 0 (biased); its "variance" is 0
    cos        ``cos(a z)`` characteristic function; the pathwise variance grows like a^2
    ========== ============ ============================================================

    Parameters
    ----------
    kind : {"linear", "quadratic", "exp", "step", "cos"}
    mu : float
    sigma : float
        ``sigma > 0``.
    a : float, default 1.0
        Slope, rate, threshold or frequency of ``f``.

    Returns
    -------
    EstimatorMoments
        ``grad`` (the exact gradient), ``var_score``, ``var_pathwise`` (Python floats). For ``step``,
        ``var_pathwise`` is 0 and the pathwise estimator's mean is 0, not ``grad``. A value beyond
        the float range is returned as ``inf`` (``-inf`` for a negative gradient), one below it as
        0 or a subnormal number: the correctly rounded answer, never a bare ``OverflowError``.

    Raises
    ------
    ValueError
        Unknown ``kind``, ``sigma <= 0`` or non-finite numbers; for ``cos``, ``a * mu`` beyond the
        float range (the argument of the cosine is not representable); for ``exp``, an exponent
        ``a mu + (a sigma)^2 / 2`` of the form ``-inf + inf``.

    Notes
    -----
    Each quantity is a product of powers of ``|a|``, ``|mu|``, ``sigma`` and an exponential; the
    exponents of these factors are added as integers (power-of-two scaling, :func:`math.frexp`), so
    ``mu, sigma, a`` may be as large as ``2^1000`` or as small as ``2^-1000`` whenever the answer is
    representable. The forms are rearranged so that no difference of large terms is taken:
    ``Var S = E[S^2] (1 - g^2 / E[S^2])`` for ``exp``, the Mills ratio ``Q(t) / phi(t)``
    (:func:`scipy.special.erfcx`) for ``step`` at ``t >= 0``, ``1 - e^{-x}`` as ``-expm1(-x)``.

    See the chapter ``chapters/gradients/score-and-pathwise.md``.
    """
    if kind not in _TEST_FUNCTIONS:
        raise ValueError(f"kind must be one of {_TEST_FUNCTIONS}, got {kind!r}")
    m = check_real_scalar(mu, "mu")
    s = check_real_scalar(sigma, "sigma", positive=True)
    a = check_real_scalar(a, "a")
    if kind == "linear":
        # f = a z: E[S^2] = a^2 (m^2 + 3 s^2) / s^2, so Var S = a^2 (m^2 + 2 s^2) / s^2; P = a.
        half_norm = math.hypot(0.5 * m, s * math.sqrt(0.5))  # sqrt(m^2 + 2 s^2) / 2, cannot overflow
        grad = a
        var_score = _scaled_product(0.0, (abs(a), half_norm, abs(a), half_norm, 4.0), (s, s))
        var_path = 0.0
    elif kind == "quadratic":
        # E[(m + s eps)^4 eps^2] = m^4 + 18 m^2 s^2 + 15 s^4: Var S = m^4/s^2 + 14 m^2 + 15 s^2, Var P = 4 s^2.
        am = abs(m)
        grad = 2.0 * m
        var_score = (
            _scaled_product(0.0, (am, am, am, am), (s, s))
            + 14.0 * _scaled_product(0.0, (am, am))
            + 15.0 * _scaled_product(0.0, (s, s))
        )
        var_path = _scaled_product(0.0, (2.0 * s, 2.0 * s))
    elif kind == "exp":
        # E[e^{c eps} eps^2] = (1 + c^2) e^{c^2 / 2} with c = 2 a s: E[S^2] = e^{2am + 2b^2} (1 + 4b^2) / s^2,
        # g^2 = a^2 e^{2am + b^2} = E[S^2] q with q = b^2 e^{-b^2} / (1 + 4 b^2) <= 0.11, b = a s.
        x, b = a * m, a * s
        b2 = b * b
        e_grad, e_second = x + 0.5 * b2, 2.0 * (x + b2)
        if math.isnan(e_grad) or math.isnan(e_second):
            raise ValueError(f"a * mu + (a * sigma)^2 / 2 is -inf + inf for mu = {m}, sigma = {s}, a = {a}")
        q = b2 / (1.0 + 4.0 * b2) * math.exp(-b2) if b2 < 1e3 else 0.0
        grad = math.copysign(_scaled_product(e_grad, (abs(a),)), a) if a != 0 else 0.0
        var_score = _scaled_product(e_second, ((1.0 + 4.0 * b2) * (1.0 - q),), (s, s))
        # Var P = a^2 e^{2am + b^2} (e^{b^2} - 1) = a^2 e^{2am + 2b^2} (1 - e^{-b^2})
        var_path = _scaled_product(e_second, (abs(a), abs(a), -math.expm1(-b2)))
    elif kind == "step":
        # d/dmu P(z > a) = phi(t) / s; E[S^2] = (t phi(t) + Q(t)) / s^2, so Var S = (t phi + Q - phi^2) / s^2.
        t = (a - m) / s if math.isfinite(a - m) else ((0.5 * a - 0.5 * m) / s) * 2.0
        if math.isinf(t):  # the threshold is infinitely far: f is constant almost surely
            grad, var_score = 0.0, (0.0 if t > 0 else _scaled_product(0.0, (), (s, s)))
        else:
            log_phi = -0.5 * t * t + math.log(_INV_SQRT_2PI)  # log phi(t), -inf when t^2 overflows
            grad = _scaled_product(log_phi, (), (s,))
            phi = math.exp(log_phi)
            if t >= 0:  # t phi + Q - phi^2 = phi (t + Q/phi - phi): Mills ratio, no underflow of Q
                mills = math.sqrt(0.5 * math.pi) * float(scipy.special.erfcx(t / math.sqrt(2.0)))
                var_score = _scaled_product(log_phi, (t + mills - phi,), (s, s))
            else:  # Q(t) >= 1/2: no cancellation
                numerator = t * phi + 0.5 * math.erfc(t / math.sqrt(2.0)) - phi * phi
                var_score = _scaled_product(0.0, (numerator,), (s, s))
        var_path = 0.0  # f' = 0 almost everywhere: the pathwise estimate is identically 0
    else:  # cos
        # E[cos(b0 + c eps)] = cos(b0) e^{-c^2/2}; E[cos(b0 + c eps) eps^2] = cos(b0) (1 - c^2) e^{-c^2/2}.
        x = a * m
        if not math.isfinite(x):
            raise ValueError(f"a * mu must be within the float range for kind='cos', got a = {a}, mu = {m}")
        b = a * s
        b2 = b * b
        sin_x, cos_x = math.sin(x), math.cos(x)
        grad = -(a * (sin_x * math.exp(-0.5 * b2)))
        v = math.exp(-b2)
        u = -math.expm1(-b2)  # 1 - e^{-b^2}
        bv = b2 * v if v > 0 else 0.0  # b^2 e^{-b^2}, 0 (not inf * 0) for huge b
        # 2 s^2 Var S = 1 + cos(2x)(1 - 4b^2) v^2 - 2 b^2 sin^2(x) v, regrouped without cancellation:
        two_s2_var = -math.expm1(-2.0 * b2) + 2.0 * bv * (2.0 * v - 1.0) + 2.0 * cos_x**2 * (v * v - 4.0 * bv * v + bv)
        var_score = _scaled_product(0.0, (max(two_s2_var, 0.0) / 2.0,), (s, s))
        # (2 / a^2) Var P = 1 - cos(2x) v^2 - 2 sin^2(x) v = u (u + 2 (1 - u) cos^2 x): no cancellation.
        var_path = _scaled_product(0.0, (abs(a), abs(a), u * (u + 2.0 * (1.0 - u) * cos_x**2) / 2.0))
    return EstimatorMoments(
        grad=float(grad) + 0.0,  # + 0.0 turns -0.0 (e.g. sin 0) into 0.0
        var_score=float(var_score),
        var_pathwise=float(var_path),
    )


def exact_categorical_grad(logits, f_values, *, axis: int = -1) -> ExactGradient:
    r"""``E_{i ~ softmax(logits)}[f_i]`` and its exact gradient ``p * (f - E f)`` along ``axis``.

    Parameters
    ----------
    logits : array_like of shape (..., n, ...)
        Finite or ``-inf`` scores.
    f_values : array_like, same shape
        ``f(i)`` for each category.
    axis : int, default -1

    Returns
    -------
    ExactGradient
        ``value`` (a float for one vector, otherwise an array without ``axis``) and ``grad`` (shape of
        ``logits``).

    Raises
    ------
    ValueError
        Mismatched shapes and the errors of :func:`mathguide.simplex.softmax`.

    Notes
    -----
    Cost O(n): the oracle for every estimator of the chapter's categorical experiments.

    See the chapter ``chapters/gradients/score-and-pathwise.md``.
    """
    p = softmax(logits, axis=axis)
    f = as_float_array(f_values, "f_values")
    if f.shape != p.shape:
        raise ValueError(f"f_values must have the shape of logits {p.shape}, got {f.shape}")
    value = (p * f).sum(axis=axis, keepdims=True)
    grad = p * (f - value)
    value = np.squeeze(value, axis=axis)
    return ExactGradient(value=float(value) if value.ndim == 0 else value, grad=grad)


def binary_vectors(d: int) -> np.ndarray:
    """All ``2^d`` binary vectors of length ``d`` as a float array of shape ``(2^d, d)``, in lexicographic order.

    Raises ``ValueError`` for ``d < 1`` or ``d > 24`` (the enumeration would not fit in memory).

    See the chapter ``chapters/gradients/score-and-pathwise.md``.
    """
    d = check_int(d, "d", low=1, high=_MAX_ENUMERATION_DIM)
    return np.array(list(itertools.product((0.0, 1.0), repeat=d)))


def exact_bernoulli_grad(logits, f: Callable) -> ExactGradient:
    r"""Exact ``E[f(y)]`` and its gradient for ``y_j ~ Bernoulli(sigmoid(logits_j))`` independent.

    Sums over all ``2^d`` vectors: ``log p(y) = sum_j (y_j log s_j + (1 - y_j) log(1 - s_j))`` and
    ``d log p(y) / d logits_j = y_j - s_j``, so ``grad_j = sum_y p(y) f(y) (y_j - s_j)``.

    Parameters
    ----------
    logits : array_like of shape (d,)
        Finite logits, ``1 <= d <= 24``.
    f : callable
        ``f(Y)`` for ``Y`` of shape ``(2^d, d)``, returning shape ``(2^d,)``.

    Returns
    -------
    ExactGradient
        ``value`` (float) and ``grad`` (shape ``(d,)``).

    Raises
    ------
    ValueError, TypeError
        Bad logits or ``f`` output.

    Notes
    -----
    Cost O(d 2^d) time and memory: exponential in ``d``, which is why estimators are needed.

    See the chapter ``chapters/gradients/score-and-pathwise.md``.
    """
    theta = as_float_array(logits, "logits")
    if theta.ndim != 1:
        raise ValueError(f"logits must be 1-D, got shape {theta.shape}")
    if not 1 <= theta.shape[0] <= _MAX_ENUMERATION_DIM:
        raise ValueError(
            f"logits must have between 1 and {_MAX_ENUMERATION_DIM} entries (all 2^d vectors are enumerated), "
            f"got {theta.shape[0]}"
        )
    ys = binary_vectors(theta.shape[0])
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    fy = as_float_array(f(ys), "f(Y)")
    if fy.shape != (ys.shape[0],):
        raise ValueError(f"f(Y) must have shape ({ys.shape[0]},), got {fy.shape}")
    # log sigmoid(x) = -log(1 + e^-x) via logaddexp: no overflow for |x| = 1e4.
    log_s = -np.logaddexp(0.0, -theta)
    log_1ms = -np.logaddexp(0.0, theta)
    with np.errstate(over="ignore"):  # a log-probability below -1.8e308 is -inf: probability exactly 0
        p = np.exp(ys @ log_s + (1 - ys) @ log_1ms)
    s = scipy.special.expit(theta)
    value = float(p @ fy)
    grad = ((p * fy)[:, None] * (ys - s)).sum(axis=0)
    return ExactGradient(value=value, grad=grad.astype(theta.dtype, copy=False))
