"""Importance sampling: plain and self-normalised estimators, effective sample size, Gaussian tails.

To estimate :math:`\\mu = E_p[f(X)]` from samples :math:`X_i \\sim q`, weight each sample by the ratio
:math:`w_i = p(X_i)/q(X_i)` ("target over proposal"). Every weight is handled through its logarithm
:math:`\\log w_i = \\log p(X_i) - \\log q(X_i)`, so that densities far below the smallest positive
double (a rare event, a high-dimensional target) never underflow to ``0/0``.

Calling conventions shared by the samplers of this module (``x`` has ``n`` rows):

- ``sample_q(rng, n)`` returns an array of ``n`` draws from the proposal, shape ``(n,)`` for a scalar
  variable or ``(n, ...)`` for a vector one (the first axis indexes the samples);
- ``log_p(x)``, ``log_q(x)`` and ``f(x)`` are vectorised: they evaluate every row of ``x`` at once and
  return an array of shape ``(n,)``. ``log_p`` and ``log_q`` may return ``-inf`` (zero density).

See the chapter ``chapters/montecarlo/importance-sampling.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy import optimize, special

from mathguide._validation import (
    as_float_array,
    as_generator,
    as_result,
    check_axis,
    check_bool,
    check_positive_int,
    check_real_scalar,
    draw_samples,
)

__all__ = [
    "ImportanceSamplingResult",
    "effective_sample_size",
    "estimate_from_log_weights",
    "importance_sampling",
    "self_normalized_importance_sampling",
    "normal_tail_probability",
    "exponential_tail_second_moment",
    "exponential_tail_rate",
]

TAIL_METHODS = ("naive", "exponential", "shifted_normal")
RATE_CRITERIA = ("second_moment", "max_weight")
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_RATE_SERIES_FROM = 100.0  # exponential_tail_rate: threshold from which the expansion is used
# normal_tail_probability: P(Z > a) falls below the smallest normal double at a = 37.519...
_MAX_TAIL_THRESHOLD = 37.5


class ImportanceSamplingResult(NamedTuple):
    """An importance-sampling estimate with its standard error and effective sample size.

    Each field is a float for a single run, or an array over the batch axes of
    :func:`estimate_from_log_weights`.
    """

    estimate: float | np.ndarray
    std_error: float | np.ndarray
    ess: float | np.ndarray


def _log_weights_last(log_weights, axis) -> np.ndarray:
    """Validate log-weights (``-inf`` allowed, ``+inf``/NaN not) and move ``axis`` last."""
    lw = as_float_array(log_weights, "log_weights", allow_inf=True)
    if lw.ndim == 0:
        raise ValueError("log_weights must have at least one dimension, got a scalar")
    axis = check_axis(axis, lw.ndim)
    if np.isposinf(lw).any():
        raise ValueError("log_weights must not contain +inf (an infinite importance weight)")
    lw = np.moveaxis(lw, axis, -1)
    if lw.shape[-1] == 0:
        raise ValueError(f"log_weights must have at least one sample along axis {axis}, got none")
    return lw


def _scaled_weights(lw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(s, m)`` with ``w = exp(m) * s`` along the last axis and ``max s = 1``.

    Max-subtraction: ``s = exp(log w - max log w)`` lies in ``[0, 1]``, so it neither overflows nor
    underflows to all zeros, whatever the scale of the weights. Rows whose weights are all zero
    (``log w = -inf`` everywhere) get ``m = -inf`` and ``s = 0``.
    """
    m = np.max(lw, axis=-1, keepdims=True)
    shift = np.where(np.isneginf(m), 0.0, m)
    s = np.exp(lw - shift)
    return s, m[..., 0]


def effective_sample_size(log_weights, *, axis: int = -1) -> float | np.ndarray:
    """Kish's effective sample size of importance weights given by their logarithms.

    Computes :math:`\\mathrm{ESS} = (\\sum_i w_i)^2 / \\sum_i w_i^2` with :math:`w_i = \\exp(\\ell_i)`,
    along ``axis`` and independently for every other index (a batch of weight vectors).

    Parameters
    ----------
    log_weights : array_like of shape (..., n, ...)
        Logarithms of non-negative weights; ``-inf`` is a zero weight. The weights need not be
        normalised: the ESS is invariant under ``w -> c w`` for any ``c > 0``.
    axis : int, default -1
        The axis that indexes the ``n`` samples.

    Returns
    -------
    float or ndarray of shape (...)
        The ESS, in ``[1, n]`` when at least one weight is positive: ``n`` exactly when all weights
        are equal, ``1`` when a single weight is positive. A batch entry whose weights are all zero
        gets ``0`` by convention (no sample carries information).

    Raises
    ------
    ValueError
        If ``log_weights`` is a scalar, has an empty ``axis``, or contains ``+inf`` or NaN.
    TypeError
        If ``log_weights`` is not real-valued or ``axis`` is not an integer.

    Notes
    -----
    Cost :math:`O(n)` per batch entry. Stability: the weights are rescaled by
    ``exp(-max log w)`` before squaring (max-subtraction), so the two sums lie in ``[1, n]`` and the
    ratio is exact up to rounding even when the weights themselves would overflow or underflow. The
    result is clipped to ``[1, n]``, bounds the exact ratio satisfies (Cauchy–Schwarz), to remove
    rounding of order ``n`` machine epsilons.

    References
    ----------
    L. Kish, *Survey Sampling*, Wiley, 1965. A. B. Owen, *Monte Carlo Theory, Methods and Examples*,
    2013, chapter 9.

    See the chapter ``chapters/montecarlo/importance-sampling.md``.
    """
    lw = _log_weights_last(log_weights, axis)
    n = lw.shape[-1]
    s, m = _scaled_weights(lw)
    total = np.sum(s, axis=-1)
    total_sq = np.sum(s * s, axis=-1)
    all_zero = np.isneginf(m)
    with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 only in all-zero rows, replaced below
        ess = total * total / total_sq
    ess = np.where(all_zero, 0.0, np.clip(ess, 1.0, float(n)))
    return as_result(ess)


def estimate_from_log_weights(
    log_weights, values, *, self_normalized: bool = False, axis: int = -1
) -> ImportanceSamplingResult:
    """Importance-sampling estimate from precomputed log-weights and function values.

    With :math:`w_i = \\exp(\\ell_i)` and :math:`f_i` the values along ``axis``:

    - plain (``self_normalized=False``): :math:`\\hat\\mu = \\frac1n \\sum_i w_i f_i`, standard error
      :math:`s/\\sqrt n` with :math:`s` the sample standard deviation of the :math:`w_i f_i`;
    - self-normalised: :math:`\\tilde\\mu = \\sum_i \\bar w_i f_i` with
      :math:`\\bar w_i = w_i / \\sum_j w_j`, delta-method standard error
      :math:`\\sqrt{\\sum_i \\bar w_i^2 (f_i - \\tilde\\mu)^2}`.

    The plain estimator needs weights :math:`p/q` of *normalised* densities; the self-normalised one
    accepts weights known up to a constant factor.

    Parameters
    ----------
    log_weights : array_like of shape (..., n, ...)
        Log-weights, ``-inf`` for a zero weight; no ``+inf`` or NaN.
    values : array_like of the same shape
        The values :math:`f(X_i)`; finite.
    self_normalized : bool, default False
        Which estimator to compute.
    axis : int, default -1
        The axis that indexes the samples; the others are batch axes, estimated independently.

    Returns
    -------
    ImportanceSamplingResult
        ``estimate``, ``std_error`` and ``ess`` (see :func:`effective_sample_size`), floats for 1-d
        input and arrays of the batch shape otherwise. With ``n = 1`` the standard error is NaN (one
        sample carries no information about the spread).

    Raises
    ------
    ValueError
        Shapes differ, an empty sample axis, ``+inf``/NaN log-weights, non-finite values, or (self-
        normalised only) a batch entry whose weights are all zero, where the estimator is undefined.
    TypeError
        Non-real input, a non-integer ``axis``, or a ``self_normalized`` that is not a bool.

    Notes
    -----
    Cost :math:`O(n)` per batch entry. Stability: the weights are rescaled by ``exp(-max log w)``
    (max-subtraction) before any sum, and the values by a power of two near their largest magnitude;
    the plain estimate multiplies both scales back at the end (as ``2**k`` times a factor
    ``exp(r)``, ``|r| <= ln(2)/2``, so that it overflows only when the estimate itself does), the
    self-normalised one needs only the values' scale. Scaling the values by ``c`` scales the
    estimate and the standard error by ``c``, exactly for a power of two, at any magnitude.

    References
    ----------
    A. B. Owen, *Monte Carlo Theory, Methods and Examples*, 2013, sections 9.1-9.3.

    See the chapter ``chapters/montecarlo/importance-sampling.md``.
    """
    self_normalized = check_bool(self_normalized, "self_normalized")
    lw_in = as_float_array(log_weights, "log_weights", allow_inf=True)
    fx_in = as_float_array(values, "values")
    if lw_in.shape != fx_in.shape:
        raise ValueError(
            f"log_weights and values must have the same shape, got {lw_in.shape} and {fx_in.shape}"
        )
    lw = _log_weights_last(lw_in, axis)
    fx = np.moveaxis(fx_in, check_axis(axis, fx_in.ndim), -1)
    n = lw.shape[-1]
    s, m = _scaled_weights(lw)
    ess = effective_sample_size(lw, axis=-1)
    # The values in units of a power of two near their largest magnitude, per batch entry (an exact
    # rescaling): sums of squares of values of size 2**1000 would overflow, of size 2**-1000
    # underflow, and the estimate and its standard error scale exactly with the values.
    fx_unit = np.frexp(np.max(np.abs(fx), axis=-1))[1]  # exponent e with max |f| < 2**e
    fx = np.ldexp(fx, -fx_unit[..., None])
    if self_normalized:
        total = np.sum(s, axis=-1, keepdims=True)
        if np.any(total == 0):
            raise ValueError(
                "all importance weights are zero in a batch entry: the self-normalised estimate is "
                "undefined (the proposal drew no sample where the target is positive)"
            )
        wbar = s / total
        estimate = np.sum(wbar * fx, axis=-1)
        resid = fx - estimate[..., None]
        std_error = np.sqrt(np.sum(wbar * wbar * resid * resid, axis=-1))
    else:
        g = s * fx  # w_i f_i / (exp(m) 2**fx_unit), with |g| <= 1
        # The mean and the spread in units of their own power of two (exact), so that a spread far
        # below the mean's scale is not lost to underflow of its squares.
        g_unit = np.frexp(np.max(np.abs(g), axis=-1))[1]
        g = np.ldexp(g, -g_unit[..., None])
        estimate = _times_exp(np.mean(g, axis=-1), m, g_unit + fx_unit)
        if n > 1:
            std_error = _times_exp(np.std(g, axis=-1, ddof=1) / math.sqrt(n), m, g_unit + fx_unit)
    if self_normalized:
        estimate, std_error = np.ldexp(estimate, fx_unit), np.ldexp(std_error, fx_unit)
    if n == 1:  # one sample says nothing about the spread (and ddof=1 would divide by zero)
        std_error = np.full(np.shape(estimate), np.nan)
    return ImportanceSamplingResult(
        as_result(estimate), as_result(std_error), as_result(np.asarray(ess))
    )


_LN2_HI = 0.693147180369123816490  # ln 2 split in two (Cody and Waite): k * _LN2_HI is exact for |k| < 2**20
_LN2_LO = 1.90821492927058770002e-10


def _times_exp(x: np.ndarray, m: np.ndarray, e: np.ndarray) -> np.ndarray:
    """``x * exp(m) * 2**e`` without spurious overflow or underflow of ``exp(m)`` or ``2**e`` alone.

    ``m = k ln 2 + r`` with an integer ``k`` and ``|r| <= ln(2)/2``; then the product is
    ``ldexp(x exp(r), k + e)``, which overflows to ``inf`` or underflows (gradually) only when the
    product itself does. ``m = -inf`` (all weights zero) gives 0.
    """
    m = np.asarray(m, dtype=np.float64)
    zero = np.isneginf(m)
    m = np.where(zero, 0.0, m)
    # Beyond |k| = 4000 the product is out of range whatever x and e are: clipping k leaves r large,
    # and exp(r) saturates to inf or 0 as the product does.
    k = np.clip(np.rint(m / math.log(2.0)), -4000, 4000)
    r = (m - k * _LN2_HI) - k * _LN2_LO
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        out = np.ldexp(x * np.exp(r), (k + e).astype(np.int64))  # saturates exactly when the value does
    return np.where(zero | (x == 0), 0.0 * x, out)


def _check_callable(func, name: str) -> None:
    if not callable(func):
        raise TypeError(f"{name} must be callable, got {type(func).__name__}")


def _evaluate(func: Callable, x: np.ndarray, name: str, n: int, *, allow_inf: bool) -> np.ndarray:
    """Call ``func(x)`` and check that it returned ``n`` real numbers, shape ``(n,)``."""
    out = as_float_array(func(x), f"{name}(x)", allow_inf=allow_inf)
    if out.shape != (n,):
        raise ValueError(
            f"{name}(x) must return an array of shape (n,) = ({n},), one value per sample, "
            f"got shape {out.shape}"
        )
    return out


def _draw_and_weigh(f, log_p, log_q, sample_q, n, rng) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` samples from the proposal; return their log-weights and values of ``f``."""
    for func, name in ((f, "f"), (log_p, "log_p"), (log_q, "log_q"), (sample_q, "sample_q")):
        _check_callable(func, name)
    n = check_positive_int(n, "n")
    rng = as_generator(rng)
    x = draw_samples(sample_q, rng, n, "sample_q")
    lp = _evaluate(log_p, x, "log_p", n, allow_inf=True)
    lq = _evaluate(log_q, x, "log_q", n, allow_inf=True)
    fx = _evaluate(f, x, "f", n, allow_inf=False)
    if np.isposinf(lp).any() or np.isposinf(lq).any():
        raise ValueError("log_p(x) and log_q(x) must not return +inf (an infinite density)")
    zero_q = np.isneginf(lq)
    if zero_q.any():
        bad = int(np.argmax(zero_q))
        where = " where the target is positive (log_p finite)" if np.isfinite(lp[bad]) else ""
        raise ValueError(
            f"log_q(x) is -inf (zero proposal density) at {int(zero_q.sum())} of the {n} samples "
            f"drawn by sample_q, first at sample {bad}{where}: log_q does not match sample_q, or "
            "the proposal does not cover the target's support"
        )
    return lp - lq, fx


def importance_sampling(
    f: Callable, log_p: Callable, log_q: Callable, sample_q: Callable, n: int, *, rng
) -> ImportanceSamplingResult:
    """Plain importance-sampling estimate of :math:`E_p[f(X)]` with samples from ``q``.

    Draws :math:`X_1, \\dots, X_n \\sim q` and returns
    :math:`\\hat\\mu = \\frac1n \\sum_i w_i f(X_i)`, :math:`w_i = p(X_i)/q(X_i)`, which is unbiased when
    :math:`q > 0` wherever :math:`f p \\neq 0`. Both densities must be normalised.

    Parameters
    ----------
    f : callable
        ``f(x)`` returns the integrand at every sample, an array of shape ``(n,)``, finite.
    log_p : callable
        ``log_p(x)`` returns the log-density of the target, shape ``(n,)`` (``-inf`` allowed).
    log_q : callable
        ``log_q(x)`` returns the log-density of the proposal, shape ``(n,)``.
    sample_q : callable
        ``sample_q(rng, n)`` returns ``n`` draws from the proposal, shape ``(n,)`` or ``(n, ...)``.
    n : int
        Number of samples, positive.
    rng : numpy.random.Generator or int
        Source of randomness (keyword-only), passed to ``sample_q``.

    Returns
    -------
    ImportanceSamplingResult
        ``estimate``, ``std_error`` (sample standard deviation of :math:`w_i f(X_i)` over
        :math:`\\sqrt n`; NaN for ``n = 1``) and ``ess`` (Kish's ESS of the weights).

    Raises
    ------
    ValueError
        Non-positive ``n``; ``sample_q`` returning a first axis of the wrong length; ``f``, ``log_p``
        or ``log_q`` returning a shape other than ``(n,)``, NaN or ``+inf`` (or a non-finite ``f``);
        ``log_q = -inf`` at a drawn sample (the proposal claims zero density where it just sampled,
        so weights there would be infinite or undefined).
    TypeError
        A non-callable argument, non-integer ``n``, or an invalid ``rng``.

    Notes
    -----
    Cost: ``n`` evaluations of each callable plus :math:`O(n)`. Weights are formed as
    ``exp(log_p - log_q)`` after max-subtraction (see :func:`estimate_from_log_weights`), never as a
    ratio of densities. The standard error is itself a Monte-Carlo estimate: when
    :math:`E_q[w^2 f^2] = \\infty` it is meaningless, whatever its value (see the chapter).

    References
    ----------
    A. B. Owen, *Monte Carlo Theory, Methods and Examples*, 2013, chapter 9.

    See the chapter ``chapters/montecarlo/importance-sampling.md``.
    """
    log_w, fx = _draw_and_weigh(f, log_p, log_q, sample_q, n, rng)
    return estimate_from_log_weights(log_w, fx, self_normalized=False)


def self_normalized_importance_sampling(
    f: Callable, log_p_tilde: Callable, log_q: Callable, sample_q: Callable, n: int, *, rng
) -> ImportanceSamplingResult:
    """Self-normalised importance-sampling estimate of :math:`E_p[f(X)]`, target known up to a constant.

    With :math:`\\tilde p = Z p` (``Z`` unknown) and :math:`\\tilde w_i = \\tilde p(X_i)/q(X_i)`,
    :math:`X_i \\sim q`, returns :math:`\\tilde\\mu = \\sum_i \\tilde w_i f(X_i) / \\sum_j \\tilde w_j`:
    consistent, with a bias of order :math:`1/n`.

    Parameters
    ----------
    f, log_q, sample_q, n, rng
        As in :func:`importance_sampling` (``sample_q(rng, n)`` draws from the proposal).
    log_p_tilde : callable
        ``log_p_tilde(x)`` returns :math:`\\log \\tilde p` at every sample, shape ``(n,)``; any
        additive constant (the log-normaliser) cancels.

    Returns
    -------
    ImportanceSamplingResult
        ``estimate``; ``std_error``, the delta-method estimate
        :math:`\\sqrt{\\sum_i \\bar w_i^2 (f(X_i) - \\tilde\\mu)^2}` (NaN for ``n = 1``); ``ess``.

    Raises
    ------
    ValueError
        As :func:`importance_sampling`, and when all drawn weights are zero (the ratio is ``0/0``).
    TypeError
        As :func:`importance_sampling`.

    Notes
    -----
    Cost as :func:`importance_sampling`. The normalised weights are a softmax of the log-weights,
    computed with max-subtraction.

    References
    ----------
    A. B. Owen, *Monte Carlo Theory, Methods and Examples*, 2013, section 9.2. A. Kong, *A note on
    importance sampling using standardized weights*, 1992.

    See the chapter ``chapters/montecarlo/importance-sampling.md``.
    """
    log_w, fx = _draw_and_weigh(f, log_p_tilde, log_q, sample_q, n, rng)
    return estimate_from_log_weights(log_w, fx, self_normalized=True)


def _normal_logpdf(x: np.ndarray) -> np.ndarray:
    return -0.5 * x * x - _LOG_SQRT_2PI


def exponential_tail_second_moment(a, rate) -> float | np.ndarray:
    """Second moment of the importance weight for :math:`P(Z > a)` with an exponential proposal.

    For the proposal :math:`q(x) = \\lambda e^{-\\lambda (x - a)}` on :math:`(a, \\infty)` and the
    weight :math:`w = \\varphi/q` (:math:`\\varphi` the standard normal density), returns

    .. math::

        E_q[w^2] = \\int_a^\\infty \\frac{\\varphi(x)^2}{q(x)}\\,dx
                 = \\frac{e^{\\lambda^2/4 - \\lambda a}\\, \\operatorname{erfc}(a - \\lambda/2)}
                        {4 \\sqrt{\\pi}\\, \\lambda}.

    The estimator's variance per sample is this minus :math:`P(Z > a)^2`.

    Parameters
    ----------
    a : array_like
        Threshold(s), finite.
    rate : array_like
        Rate(s) :math:`\\lambda > 0`, broadcast against ``a``.

    Returns
    -------
    float or ndarray
        :math:`E_q[w^2]`, broadcast shape of ``a`` and ``rate``.

    Raises
    ------
    ValueError
        Non-finite ``a`` or ``rate``, or a non-positive ``rate``.

    Notes
    -----
    Evaluated in log space with ``log erfc(u) = log 2 + log_ndtr(-sqrt(2) u)``, which stays accurate
    when ``erfc`` underflows (large thresholds). The result itself is about :math:`P(Z > a)^2` near the
    optimal rate, so it underflows to ``0`` once that is below the smallest double (``a`` above about
    27 at the optimal rate).

    See the chapter ``chapters/montecarlo/importance-sampling.md``.
    """
    a = as_float_array(a, "a")
    lam = as_float_array(rate, "rate")
    if np.any(lam <= 0):
        raise ValueError("rate must be positive")
    u = a - lam / 2
    log_erfc = math.log(2.0) + special.log_ndtr(-math.sqrt(2.0) * u)
    # lam (lam/4 - a) rather than lam^2/4 - lam a: no inf - inf when lam^2 overflows. If the product
    # itself overflows, log E_q[w^2] is +-inf and exp gives the right limit (inf or 0); the two
    # infinite terms never have opposite signs (lam > 4a > 0 forces u < 0, so log erfc(u) ~ log 2).
    with np.errstate(over="ignore"):  # log_m, or its exponential, beyond the range: the value is 0 or inf
        log_m = lam * (lam / 4 - a) + log_erfc - np.log(4.0 * math.sqrt(math.pi) * lam)
        return as_result(np.exp(log_m))


def _d_log_second_moment(lam: float, a: float) -> float:
    """Derivative in ``lam`` of ``log exponential_tail_second_moment(a, lam)``.

    ``d/dlam log erfc(a - lam/2) = exp(-u^2) / (sqrt(pi) erfc(u))`` with ``u = a - lam/2``; written
    with the scaled ``erfcx(u) = exp(u^2) erfc(u)`` so that neither factor under- or overflows.
    """
    u = a - lam / 2
    return lam / 2 - a - 1 / lam + 1 / (math.sqrt(math.pi) * special.erfcx(u))


def exponential_tail_rate(a: float, *, criterion: str = "second_moment") -> float:
    """Rate of the exponential proposal on :math:`(a, \\infty)` for estimating :math:`P(Z > a)`.

    - ``"second_moment"``: the minimiser of :math:`E_q[w^2]` (so of the estimator's variance), the
      root of :math:`\\frac{d}{d\\lambda} \\log E_q[w^2] = \\frac\\lambda2 - a - \\frac1\\lambda +
      \\frac{e^{-u^2}}{\\sqrt\\pi \\operatorname{erfc}(u)} = 0`, :math:`u = a - \\lambda/2`, found by
      Brent's method (about :math:`a + 2/a` for large ``a``);
    - ``"max_weight"``: the minimiser of :math:`\\sup_{x > a} w(x)`, in closed form
      :math:`\\lambda^\\dagger = (a + \\sqrt{a^2 + 4})/2`; it minimises the bound
      :math:`E_q[w^2] \\le P(Z > a) \\sup w`.

    Parameters
    ----------
    a : float
        The threshold, finite.
    criterion : {"second_moment", "max_weight"}
        Which rate.

    Returns
    -------
    float
        The rate, positive.

    Raises
    ------
    ValueError
        Non-finite ``a`` or an unknown ``criterion``.
    TypeError
        Non-real ``a``.

    Notes
    -----
    :math:`\\lambda^\\dagger` is evaluated without cancellation or overflow for every finite ``a``:
    as :math:`1 / (h/2 - a/2)` with :math:`h = \\sqrt{a^2 + 4}` (``math.hypot``) when :math:`a < 0`.
    For large positive ``a`` the terms of the equation for :math:`\\lambda^\\star` cancel (each is of
    order ``a``, their sum of order :math:`1/a^3`), so a root found numerically has a relative error of
    order :math:`\\varepsilon a^2`. From ``a = 100`` on, the asymptotic expansion
    :math:`\\lambda^\\star = a + 2/a - 8/a^3 + 88/a^5 + O(a^{-7})` is returned instead; its next term is
    about :math:`-1500/a^7`, a relative error below ``2e-13``.

    See the chapter ``chapters/montecarlo/importance-sampling.md``.
    """
    a = check_real_scalar(a, "a")
    if criterion not in RATE_CRITERIA:
        raise ValueError(f"criterion must be one of {RATE_CRITERIA}, got {criterion!r}")
    # The positive root of lam^2 - a lam - 1 = 0. hypot(a, 2) = sqrt(a^2 + 4) without overflow of a^2;
    # for a < 0 the textbook form (a + h)/2 cancels, its rationalised form 2/(h - a) does not.
    h = math.hypot(a, 2.0)
    lam_dagger = a / 2 + h / 2 if a >= 0 else 1 / (h / 2 - a / 2)
    if criterion == "max_weight":
        return lam_dagger
    if a >= _RATE_SERIES_FROM:
        # Asymptotic expansion of the root (see the Notes), in powers of 1/a so that nothing overflows.
        inv = 1 / a
        return a + inv * (2.0 - inv * inv * (8.0 - 88.0 * inv * inv))
    # The derivative tends to -inf as lam -> 0+ and to +inf as lam -> inf: bracket a sign change
    # (lam_star / lam_dagger lies in [1/2, 2] in practice; the loops are a safeguard, bounded so that
    # they cannot run away).
    lo, hi = lam_dagger / 2, 2 * lam_dagger
    for _ in range(2200):
        if _d_log_second_moment(lo, a) <= 0:  # -1/lam dominates for small lam: ends quickly
            break
        lo /= 2
    for _ in range(2200):
        if _d_log_second_moment(hi, a) >= 0:
            break
        hi *= 2
    # xtol is absolute: it must be far below lam itself, which is about 1/|a| for very negative a
    # (down to ~1e-308): a fixed 1e-300 stopped at a = -2**1000 with lam off by a factor 2.
    xtol = min(1e-300, lo * 1e-3 * np.finfo(float).eps)
    return float(optimize.brentq(_d_log_second_moment, lo, hi, args=(a,), xtol=xtol, rtol=4 * np.finfo(float).eps))


def normal_tail_probability(
    a: float, n: int, *, rng, method: str = "exponential", rate: float | None = None
) -> ImportanceSamplingResult:
    """Monte-Carlo estimate of the Gaussian tail probability :math:`P(Z > a)`, :math:`Z \\sim N(0, 1)`.

    Methods (all estimate :math:`E_\\varphi[1\\{x > a\\}]` with :func:`importance_sampling`):

    - ``"naive"``: :math:`Z_i \\sim N(0, 1)`, the fraction above ``a``;
    - ``"exponential"``: :math:`X_i = a + E_i/\\lambda`, :math:`E_i \\sim \\mathrm{Exp}(1)`, weight
      :math:`\\varphi(X_i) / (\\lambda e^{-\\lambda (X_i - a)})`;
    - ``"shifted_normal"``: exponential tilting, :math:`X_i \\sim N(a, 1)`, weight
      :math:`e^{-a X_i + a^2/2}`.

    Parameters
    ----------
    a : float
        The threshold, finite.
    n : int
        Number of samples, positive.
    rng : numpy.random.Generator or int
        Source of randomness (keyword-only).
    method : {"naive", "exponential", "shifted_normal"}, default "exponential"
        The proposal.
    rate : float, optional
        Rate :math:`\\lambda > 0` of the exponential proposal; by default the variance-optimal one,
        ``exponential_tail_rate(a)``. Only for ``method="exponential"``.

    Returns
    -------
    ImportanceSamplingResult
        ``estimate``, ``std_error``, ``ess``. For ``"naive"`` the standard error is
        :math:`\\sqrt{\\hat p (1 - \\hat p)/(n - 1)}`, which is 0 when no sample exceeds ``a``.

    Raises
    ------
    ValueError
        Non-finite ``a``, ``a > 37.5`` (see the Notes), non-positive ``n`` or ``rate``, an unknown
        ``method``, or a ``rate`` given with a method other than ``"exponential"``.
    TypeError
        Non-real ``a`` or ``rate``, non-integer ``n``, invalid ``rng``.

    Notes
    -----
    Cost :math:`O(n)`. The relative standard error per sample is
    :math:`\\sqrt{E_q[w^2]/p^2 - 1}`. As ``a`` grows it is about :math:`1/\\sqrt{p}` for ``"naive"``
    (exponential growth), :math:`(\\pi/2)^{1/4} \\sqrt{a}` for ``"shifted_normal"`` (slow growth:
    :math:`e^{a^2} \\bar\\Phi(2a) / \\bar\\Phi(a)^2 \\sim \\sqrt{\\pi/2}\\, a`) and about :math:`1/a^2` for
    ``"exponential"`` at the optimal rate. For ``a`` well below 0 both proposals are poor (the
    shifted normal's relative variance grows like :math:`e^{a^2}`, the exponential's like
    ``|a|``) and ``"naive"`` is the right method.

    Above ``a = 37.5`` the probability (about ``4.5e-309`` there) is below the smallest normal
    double: the weights underflow to subnormals and then to 0, so the estimate would lose its digits
    and end as 0 with a standard error of 0. Such ``a`` are refused with a ``ValueError``; work with
    logarithms instead (``scipy.special.log_ndtr(-a)`` is the exact log-probability).

    References
    ----------
    A. B. Owen, *Monte Carlo Theory, Methods and Examples*, 2013, chapter 9. C. P. Robert, G.
    Casella, *Monte Carlo Statistical Methods*, 2004, section 3.3.

    See the chapter ``chapters/montecarlo/importance-sampling.md``.
    """
    a = check_real_scalar(a, "a")
    n = check_positive_int(n, "n")
    if method not in TAIL_METHODS:
        raise ValueError(f"method must be one of {TAIL_METHODS}, got {method!r}")
    if rate is not None and method != "exponential":
        raise ValueError(f"rate applies only to method='exponential', got method={method!r}")
    if a > _MAX_TAIL_THRESHOLD:
        raise ValueError(
            f"a must be at most {_MAX_TAIL_THRESHOLD}: P(Z > a) = exp({float(special.log_ndtr(-a)):.1f}) is "
            "below the smallest normal double, where the weights underflow and the estimate (0, with a "
            "standard error of 0) would be meaningless; its logarithm is scipy.special.log_ndtr(-a)"
        )

    def above(x):
        return (x > a).astype(np.float64)

    if method == "naive":
        log_q = _normal_logpdf

        def sample_q(g, size):
            return g.standard_normal(size)

    elif method == "shifted_normal":

        def log_q(x):
            return _normal_logpdf(x - a)

        def sample_q(g, size):
            return a + g.standard_normal(size)

    else:
        lam = exponential_tail_rate(a) if rate is None else check_real_scalar(rate, "rate", positive=True)
        log_lam = math.log(lam)

        def log_q(x):
            # Density of a + Exp(lam): zero (log = -inf) below a.
            return np.where(x >= a, log_lam - lam * (x - a), -np.inf)

        def sample_q(g, size):
            return a + g.standard_exponential(size) / lam

    return importance_sampling(above, _normal_logpdf, log_q, sample_q, n, rng=rng)
