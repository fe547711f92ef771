"""Monte-Carlo estimators of the KL divergence from samples of q: k1, k2, k3 and their relatives.

For ``x ~ q`` and the ratio ``r(x) = p(x) / q(x)``, every estimator here is a function of the
log-ratio ``log_ratio = log p(x) - log q(x)`` (the quantity RL code already has, as a difference of
log-probabilities), so that nothing overflows before it has to. The per-sample estimators act
elementwise and return an array of the shape of their input, or a Python ``float`` for a scalar input.

See the chapter ``chapters/montecarlo/kl-estimators.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from mathguide._validation import (
    as_float_array,
    as_generator,
    as_result,
    check_axis,
    check_int,
    check_real_scalar,
    draw_samples,
)

__all__ = [
    "k1",
    "k2",
    "k3",
    "k_lambda",
    "optimal_lambda",
    "k_kl_pq",
    "bregman_estimator",
    "kl_gaussian",
    "EstimatorStats",
    "KLExperiment",
    "estimator_bias_std",
]

# Below this |log r| the estimators that cancel (e^u - 1 - u, u e^u - (e^u - 1)) are evaluated by
# their Taylor series; above it the direct formula loses at most a factor ~20 to cancellation.
_SERIES_CUTOFF = 0.1
# Taylor coefficients, highest degree first (for Horner), of
#   e^u - 1 - u        = sum_{j>=2} u^j / j!            (k3)
#   u e^u - (e^u - 1)  = sum_{j>=2} (j - 1) u^j / j!    (k_kl_pq)
# up to degree 13: for |u| < 0.1 the first omitted term is below 1e-17 of the sum.
_DEGREE = 13
_FACTORIALS = np.cumprod(np.arange(1, _DEGREE + 1, dtype=np.float64))  # 1!, 2!, ..., 13!
_K3_COEFFS = tuple(float(1 / _FACTORIALS[j - 1]) for j in range(_DEGREE, 1, -1))
_REVERSE_COEFFS = tuple(float((j - 1) / _FACTORIALS[j - 1]) for j in range(_DEGREE, 1, -1))


def _log_ratio(log_ratio) -> np.ndarray:
    """Validate a log-ratio array: real, no NaN; infinities allowed (``-inf`` means p(x) = 0)."""
    return as_float_array(log_ratio, "log_ratio", allow_inf=True)


def _horner_times_square(u: np.ndarray, coeffs: tuple[float, ...]) -> np.ndarray:
    """``u**2 * (c_n u^(n-2) + ... + c_2)`` by Horner's rule; ``coeffs`` highest degree first."""
    acc = np.zeros_like(u)
    for c in coeffs:
        acc = acc * u + c
    return acc * u * u


def _expm1_minus(u: np.ndarray) -> np.ndarray:
    """``e^u - 1 - u`` for finite ``u``, accurate to a few ulps relative, never negative.

    Near 0 the direct ``expm1(u) - u`` cancels (its result is ~u^2/2 while both terms are ~u): the
    series takes over there. For large ``u`` the value exceeds the largest float and is ``inf``
    (the overflow is the right answer, so its warning is silenced).
    """
    small = np.abs(u) < _SERIES_CUTOFF
    series = _horner_times_square(np.where(small, u, 0), _K3_COEFFS)
    with np.errstate(over="ignore"):  # e^u > max float <=> the value itself is > max float
        direct = np.expm1(u) - u
    return np.where(small, series, direct)


def k1(log_ratio) -> float | np.ndarray:
    r"""Naive per-sample KL estimator :math:`k_1 = -\log r = \log q(x) - \log p(x)`.

    For ``x ~ q``, :math:`\E_q[k_1] = \KL(q \Vert p)`: unbiased, but negative whenever
    :math:`p(x) > q(x)` and therefore of high variance.

    Parameters
    ----------
    log_ratio : array_like of any shape
        :math:`\log r = \log p(x) - \log q(x)` at samples ``x ~ q``. May contain ``-inf``
        (``p(x) = 0``) and ``+inf``; not NaN.

    Returns
    -------
    ndarray of the same shape as ``log_ratio``
        The per-sample estimates; average them to estimate the KL divergence.

    Raises
    ------
    ValueError
        If ``log_ratio`` contains NaN.
    TypeError
        If ``log_ratio`` is not real-valued.

    Notes
    -----
    One negation per entry; exact in floating point.

    References
    ----------
    Schulman, "Approximating KL Divergence" (2020).

    See the chapter ``chapters/montecarlo/kl-estimators.md``.
    """
    return as_result(np.negative(_log_ratio(log_ratio)))


def k2(log_ratio) -> float | np.ndarray:
    r"""Squared-log per-sample estimator :math:`k_2 = \tfrac12 (\log r)^2`.

    :math:`\E_q[k_2]` is the f-divergence with :math:`f(r) = \tfrac12 (\log r)^2`, which agrees with
    :math:`\KL(q \Vert p)` to second order when :math:`p \approx q`: biased (upwards for two normals
    of equal variance, by :math:`d^4/8` for a mean gap :math:`d`), never negative, low variance.

    Parameters
    ----------
    log_ratio : array_like of any shape
        :math:`\log p(x) - \log q(x)` at samples ``x ~ q``; infinities allowed, NaN not.

    Returns
    -------
    ndarray of the same shape as ``log_ratio``
        Non-negative per-sample values (``inf`` for infinite log-ratios and for
        ``|log_ratio| > ~1.9e154``, whose square exceeds the largest float).

    Raises
    ------
    ValueError
        If ``log_ratio`` contains NaN.
    TypeError
        If ``log_ratio`` is not real-valued.

    Notes
    -----
    Two multiplications per entry; the overflow of the square to ``inf`` is the correctly rounded
    answer and is not reported as a warning.

    References
    ----------
    Schulman, "Approximating KL Divergence" (2020).

    See the chapter ``chapters/montecarlo/kl-estimators.md``.
    """
    u = _log_ratio(log_ratio)
    with np.errstate(over="ignore"):  # (log r)^2 > max float: inf is the right value
        return as_result(0.5 * (u * u))


def k3(log_ratio) -> float | np.ndarray:
    r"""Control-variate per-sample estimator :math:`k_3 = (r - 1) - \log r`.

    Unbiased for :math:`\KL(q \Vert p)` because :math:`\E_q[r - 1] = 0`, and never negative because
    :math:`\log r \le r - 1`; it is the Bregman divergence of :math:`-\log` between :math:`r` and 1.

    Parameters
    ----------
    log_ratio : array_like of any shape
        :math:`\log p(x) - \log q(x)` at samples ``x ~ q``; infinities allowed, NaN not.

    Returns
    -------
    ndarray of the same shape as ``log_ratio``
        Non-negative per-sample values. ``log_ratio = -inf`` (``p(x) = 0``) gives ``inf``, as does
        ``+inf``; ``log_ratio > log(max float) ~ 709.78`` gives ``inf`` too, the correctly rounded
        value of :math:`e^{\log r} - 1 - \log r`, without an overflow warning.

    Raises
    ------
    ValueError
        If ``log_ratio`` contains NaN.
    TypeError
        If ``log_ratio`` is not real-valued.

    Notes
    -----
    Computed as ``expm1(u) - u`` with ``u = log_ratio``, never as ``exp(u) - 1 - u``: ``exp(u) - 1``
    loses all digits of :math:`r - 1` when :math:`r \approx 1`. For ``|u| < 0.1`` even
    ``expm1(u) - u`` cancels (the result is :math:`\approx u^2/2`), so a degree-13 Taylor series is
    used there; the relative error is a few ulps wherever the value is a normal float (for
    ``|u| < ~2e-154`` it is subnormal and accurate to about one unit of the smallest subnormal).
    At ``u = -700`` the value is ``699 + e^{-700}``, i.e. ``699.0`` in double precision. The result is exactly 0 only at
    ``u = 0`` and for ``|u| < ~2e-162``, where :math:`u^2/2` underflows.

    References
    ----------
    Schulman, "Approximating KL Divergence" (2020).

    See the chapter ``chapters/montecarlo/kl-estimators.md``.
    """
    u = _log_ratio(log_ratio)
    finite = np.isfinite(u)
    # Infinite log-ratios are evaluated at a harmless 0 and patched afterwards: expm1(inf) - inf
    # would be NaN, while the limit of (r - 1) - log r at both ends is +inf.
    out = _expm1_minus(np.where(finite, u, 0))
    return as_result(np.where(finite, out, np.inf).astype(out.dtype, copy=False))


def k_lambda(log_ratio, lam) -> float | np.ndarray:
    r"""The control-variate family :math:`-\log r + \lambda (r - 1)`, unbiased for every λ.

    :math:`\lambda = 0` is :math:`k_1`, :math:`\lambda = 1` is :math:`k_3` (and the only λ for which
    the estimator is non-negative for every :math:`r`); the λ of least variance is
    :math:`\operatorname{Cov}_q(\log r, r) / \Var_q(r)` (see :func:`optimal_lambda`).

    Parameters
    ----------
    log_ratio : array_like of any shape
        :math:`\log p(x) - \log q(x)` at samples ``x ~ q``; infinities allowed, NaN not.
    lam : float or array_like broadcastable against ``log_ratio``
        The coefficient of the control variate :math:`r - 1`; finite.

    Returns
    -------
    ndarray of the broadcast shape
        Per-sample values, of the dtype of ``log_ratio`` when ``lam`` is a scalar (else the
        promoted dtype of the two). With a scalar ``lam == 1`` the result equals :func:`k3` bit
        for bit, in float32 as in float64.
        ``log_ratio = -inf`` gives ``+inf``; ``log_ratio = +inf`` gives ``+inf`` for ``lam > 0`` and
        ``-inf`` for ``lam <= 0`` (the limits).

    Raises
    ------
    ValueError
        If ``log_ratio`` or ``lam`` contains NaN, or ``lam`` is infinite, or the shapes do not
        broadcast.
    TypeError
        If an argument is not real-valued.

    Notes
    -----
    Written as :math:`\lambda k_3 + (1 - \lambda) k_1` for ``|log_ratio| < 0.1`` (no cancellation in
    :math:`k_3`'s series) and as ``-u + lam * expm1(u)`` elsewhere; the overflow of ``expm1`` for
    ``u > 709.78`` yields ``±inf`` (or ``-u`` when ``lam == 0``) without a warning.

    References
    ----------
    Schulman, "Approximating KL Divergence" (2020); Owen, *Monte Carlo Theory, Methods and
    Examples* (2013), ch. 8 (control variates).

    See the chapter ``chapters/montecarlo/kl-estimators.md``.
    """
    u = _log_ratio(log_ratio)
    lam = as_float_array(lam, "lam")
    if lam.ndim == 0:  # a scalar lam does not promote the computation: float32 stays float32
        lam = lam.astype(u.dtype, copy=False)
    dtype = np.result_type(u, lam)
    try:
        u, lam = np.broadcast_arrays(u, lam)
    except ValueError:
        raise ValueError(
            f"lam of shape {lam.shape} does not broadcast against log_ratio of shape {u.shape}"
        ) from None
    finite = np.isfinite(u)
    v = np.where(finite, u, 0)
    small = np.abs(v) < _SERIES_CUTOFF
    vs = np.where(small, v, 0)
    near_zero = lam * _horner_times_square(vs, _K3_COEFFS) + (1 - lam) * (-vs)
    with np.errstate(over="ignore", invalid="ignore"):
        # expm1 overflows only when the value itself is infinite; 0 * inf (lam == 0) is repaired below.
        far = -v + lam * np.expm1(v)
    far = np.where(lam == 0, -v, far)
    out = np.where(small, near_zero, far)
    out = np.where(u == -np.inf, np.inf, out)
    out = np.where(u == np.inf, np.where(lam > 0, np.inf, -np.inf), out)
    return as_result(out.astype(dtype, copy=False))


def optimal_lambda(log_ratio) -> float:
    r"""Plug-in estimate of the variance-optimal λ of :func:`k_lambda` from a sample of log-ratios.

    The variance :math:`\Var(\log r) - 2\lambda \operatorname{Cov}(\log r, r) + \lambda^2 \Var(r)` of
    :math:`-\log r + \lambda (r - 1)` is smallest at
    :math:`\lambda^\star = \operatorname{Cov}_q(\log r, r) / \Var_q(r)`; this returns the same ratio
    with sample moments.

    Parameters
    ----------
    log_ratio : array_like of any shape, at least 2 entries
        Finite log-ratios :math:`\log p(x_i) - \log q(x_i)` of samples ``x_i ~ q`` (all entries used).

    Returns
    -------
    float
        :math:`\hat\lambda = \widehat{\operatorname{Cov}}(\log r, r) / \widehat{\Var}(r)`; it is
        :math:`\ge 0` because :math:`\log r` and :math:`r` are increasing functions of each other
        (``inf`` if it exceeds the largest float, which needs all log-ratios below ~ -709).

    Raises
    ------
    ValueError
        If ``log_ratio`` has fewer than 2 entries, contains NaN or infinities, or is constant (then
        :math:`\Var(r) = 0` and λ is undefined).

    Notes
    -----
    The ratios are rescaled by :math:`e^{-\max \log r}` before the moments are taken, so that
    :math:`r` never overflows; the scale comes back in log space. Using :math:`\hat\lambda` from the
    same sample makes the estimator slightly biased (by :math:`O(1/n)`): estimate λ on a separate
    batch when that matters. Cost :math:`O(n)`.

    References
    ----------
    Owen, *Monte Carlo Theory, Methods and Examples* (2013), sec. 8.9 (control variates).

    See the chapter ``chapters/montecarlo/kl-estimators.md``.
    """
    u = as_float_array(log_ratio, "log_ratio").astype(np.float64, copy=False).ravel()
    if u.size < 2:
        raise ValueError(f"log_ratio must have at least 2 entries, got {u.size}")
    shift = u.max()
    # r / e^shift - 1 = expm1(u - shift) in [-1, 0], kept to full relative accuracy: exp(u - shift)
    # would round to 1 for log-ratios within ~1e-16 of each other (at 2**-500 times ordinary
    # log-ratios every r is 1 + 2**-500 x) and make the spread of r vanish.
    with np.errstate(over="ignore"):  # u - shift = -inf only for log-ratios ~1e308 apart: expm1 gives -1
        rho = np.expm1(u - shift)
    rho_c = _unit_scaled(rho - rho.mean())
    u_unit, e_u = _unit_scaled(u)  # centred after scaling: the sum of huge log-ratios cannot overflow
    u_c, e_c = _unit_scaled(u_unit - u_unit.mean())
    u_c = (u_c, e_u + e_c)
    var_rho = np.mean(rho_c[0] * rho_c[0])
    if not var_rho > 0:
        raise ValueError("log_ratio is constant: Var(r) = 0 and the optimal lambda is undefined")
    cov = np.mean(u_c[0] * rho_c[0])
    if cov <= 0:  # only through rounding; the population covariance is >= 0
        return 0.0
    # lambda = e^{-shift} 2^(e_u - e_rho) cov / var (the two spreads were scaled by 2^-e_u and
    # 2^-e_rho), assembled in log space; it exceeds the largest float only when the log-ratios are
    # all below ~ -709, and then inf is the right answer.
    log_lambda = np.log(cov) - np.log(var_rho) - shift + (u_c[1] - rho_c[1]) * np.log(2.0)
    with np.errstate(over="ignore"):
        return float(np.exp(log_lambda))


def _unit_scaled(x: np.ndarray) -> tuple[np.ndarray, int]:
    """``(x / 2**e, e)`` with ``max |x| / 2**e`` in [1/2, 1): an exact rescaling (``e = 0`` for x = 0)."""
    e = int(np.frexp(np.abs(x).max())[1])
    return np.ldexp(x, -e), e


def k_kl_pq(log_ratio) -> float | np.ndarray:
    r"""Per-sample estimator of :math:`\KL(p \Vert q)` (p first) from samples of q.

    The name gives the order of the arguments: :func:`k1`, :func:`k2`, :func:`k3` estimate
    :math:`\KL(q \Vert p)`, this one :math:`\KL(p \Vert q)` (with ``q`` the sampling policy, RL papers
    call it the *forward* KL).

    :math:`\KL(p \Vert q) = \E_q[r \log r]`; adding the zero-mean control variate :math:`-(r - 1)`
    gives :math:`r \log r - (r - 1)`, the Bregman divergence of :math:`f(r) = r \log r` between
    :math:`r` and 1: unbiased and never negative.

    Parameters
    ----------
    log_ratio : array_like of any shape
        :math:`\log p(x) - \log q(x)` at samples ``x ~ q``; infinities allowed, NaN not.

    Returns
    -------
    ndarray of the same shape as ``log_ratio``
        Non-negative per-sample values; ``-inf`` gives 1 (the limit :math:`r \to 0`), ``+inf`` gives
        ``inf``, and so do log-ratios above ~703 (the value exceeds the largest float).

    Raises
    ------
    ValueError
        If ``log_ratio`` contains NaN.
    TypeError
        If ``log_ratio`` is not real-valued.

    Notes
    -----
    Three regimes, each free of overflow and cancellation: a Taylor series
    :math:`\sum_{j\ge2} (j-1) u^j / j!` for ``|u| < 0.1``; ``u e^u - expm1(u)`` for
    ``0.1 <= |u| <= 1`` and for ``u < -1``; ``e^u (u - 1) + 1`` for ``u > 1`` (a sum of positive
    terms, which overflows to ``inf`` only when the value does).

    References
    ----------
    Schulman, "Approximating KL Divergence" (2020).

    See the chapter ``chapters/montecarlo/kl-estimators.md``.
    """
    u = _log_ratio(log_ratio)
    finite = np.isfinite(u)
    v = np.where(finite, u, 0)
    small = np.abs(v) < _SERIES_CUTOFF
    large = v > 1
    series = _horner_times_square(np.where(small, v, 0), _REVERSE_COEFFS)
    w = np.where(small | large, -1, v)  # the middle regime; -1 is a harmless placeholder
    middle = w * np.exp(w) - np.expm1(w)
    b = np.where(large, v, 2)
    with np.errstate(over="ignore"):  # e^u (u - 1) > max float only when the value is
        big = np.exp(b) * (b - 1) + 1
    out = np.where(small, series, np.where(large, big, middle))
    out = np.where(u == -np.inf, 1.0, out)
    out = np.where(u == np.inf, np.inf, out)
    return as_result(out.astype(u.dtype, copy=False))


def bregman_estimator(log_ratio, f: Callable[[np.ndarray], np.ndarray], f_prime_at_1: float) -> float | np.ndarray:
    r"""Non-negative unbiased per-sample estimator of an f-divergence :math:`\E_q[f(r)]`.

    For convex :math:`f` with :math:`f(1) = 0`, the f-divergence :math:`D_f(p \Vert q) = \E_q[f(r)]`
    is estimated without bias by :math:`f(r) - f'(1)(r - 1)` (the control variate has mean 0), and
    this is the Bregman divergence of :math:`f` between :math:`r` and 1, hence :math:`\ge 0`.
    :math:`f = -\log` gives :func:`k3`; :math:`f(r) = r \log r` gives :func:`k_kl_pq`.

    Parameters
    ----------
    log_ratio : array_like of any shape
        Finite :math:`\log p(x) - \log q(x)` at samples ``x ~ q``.
    f : callable
        The generator, applied elementwise to the ratios ``r = exp(log_ratio)`` (an ndarray);
        convex with ``f(1) == 0``.
    f_prime_at_1 : float
        :math:`f'(1)`.

    Returns
    -------
    ndarray of the same shape as ``log_ratio``

    Raises
    ------
    ValueError
        If ``log_ratio`` has NaN or infinities or an entry above ``log`` of the largest float (the
        ratio would overflow), ``f_prime_at_1`` is not finite, ``f(1) != 0``, or ``f`` does not
        return an array of the shape of its input; or if a nonzero log-ratio is so close to 0 (about
        ``|log_ratio| < 1e-15``) that the result would keep no correct digit (see the Notes).
    TypeError
        If ``f`` is not callable or ``f_prime_at_1`` is not a real number.

    Notes
    -----
    Generic and therefore not stabilised: ``r`` is formed explicitly (so log-ratios above ~709.78
    in float64, ~88.72 in float32, are refused) and ``f(r) - f'(1)(r - 1)`` cancels near ``r = 1``:
    its relative error is about :math:`\varepsilon / |\log r|`. Where that leaves no correct digit
    (``r`` rounds to 1 while ``log_ratio`` is not 0, as for any log-ratio times ``2**-500``) the
    call is refused instead of returning 0 or noise. Use the dedicated functions for KL in either
    direction: they are accurate at every scale.

    References
    ----------
    Schulman, "Approximating KL Divergence" (2020).

    See the chapter ``chapters/montecarlo/kl-estimators.md``.
    """
    u = as_float_array(log_ratio, "log_ratio")
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    f_prime_at_1 = check_real_scalar(f_prime_at_1, "f_prime_at_1")
    f1 = _apply_elementwise(f, np.ones(1))[0]
    if abs(f1) > 1e-12:
        raise ValueError(f"f must satisfy f(1) = 0, got f(1) = {f1!r}")
    log_max = float(np.log(np.finfo(u.dtype).max))
    if u.size and u.max() > log_max:
        raise ValueError(
            f"log_ratio must be at most log(largest float) = {log_max:.2f} "
            f"(the ratio r = exp(log_ratio) would overflow), got {u.max()}; use k3 or k_kl_pq, which "
            "work from the log-ratio"
        )
    r = np.exp(u)
    f_r = _apply_elementwise(f, r)
    out = f_r - f_prime_at_1 * (r - 1)
    # Refuse rather than return a value without a correct digit. Near r = 1 the value is about
    # f''(1) (r - 1)^2 / 2, computed from the rounded r: when r - 1 differs from the exact
    # expm1(log_ratio) by more than half of it (|log_ratio| below ~1e-15; 2**-500 times any
    # log-ratio gives r = 1 exactly and the value 0), or when the subtraction cancels to below the
    # rounding of its terms, nothing of the value is left.
    with np.errstate(invalid="ignore", divide="ignore"):
        exact = np.expm1(u)
        lost = (u != 0) & (
            (np.abs((r - 1) - exact) > 0.5 * np.abs(exact))
            | (np.abs(out) < 2 * np.finfo(u.dtype).eps * (np.abs(f_r) + np.abs(f_prime_at_1 * (r - 1))))
        )
    if np.any(lost):
        worst = float(np.abs(u[lost]).max())
        raise ValueError(
            f"log_ratio has {int(lost.sum())} nonzero entries (up to |log_ratio| = {worst:.3g}) so close to 0 "
            "that the generic f(r) - f'(1)(r - 1) keeps no correct digit (r = exp(log_ratio) rounds to "
            "1, or the subtraction cancels); use k3 or k_kl_pq, which work from the log-ratio"
        )
    return as_result(out)


def _apply_elementwise(f: Callable[[np.ndarray], np.ndarray], r: np.ndarray) -> np.ndarray:
    """``f(r)`` as a float array, checked to have the shape of ``r`` (``f`` acts elementwise)."""
    values = as_float_array(f(r), "f(r)", allow_inf=True)
    if values.shape != r.shape:
        raise ValueError(
            f"f must act elementwise and return an array of the shape of its input {r.shape}, "
            f"got shape {values.shape}"
        )
    return values


def kl_gaussian(mu_q, sigma_q, mu_p, sigma_p, *, axis: int | None = None) -> float | np.ndarray:
    r"""Closed-form :math:`\KL(q \Vert p)` between normal distributions (scalar or diagonal).

    For :math:`q = \Normal(\mu_q, \sigma_q^2)` and :math:`p = \Normal(\mu_p, \sigma_p^2)`,

    .. math::
        \KL(q \Vert p) = \log\frac{\sigma_p}{\sigma_q}
        + \frac{\sigma_q^2 + (\mu_q - \mu_p)^2}{2 \sigma_p^2} - \frac12
        = \tfrac12 \bigl[(t - 1 - \log t) + (\mu_q - \mu_p)^2 / \sigma_p^2\bigr],
        \quad t = \sigma_q^2 / \sigma_p^2 .

    A normal with diagonal covariance is a product of independent coordinates, and KL adds over
    independent coordinates: ``axis`` says which axis indexes them.

    Parameters
    ----------
    mu_q, sigma_q, mu_p, sigma_p : array_like, mutually broadcastable
        Means and **standard deviations** (not variances). Means finite, deviations finite and > 0.
    axis : int or None, default None
        ``None``: every entry of the broadcast shape is its own univariate pair and the result has
        the broadcast shape. An integer: that axis of the broadcast shape indexes the coordinates of
        diagonal multivariate normals and is summed over (e.g. ``axis=-1`` for parameters of shape
        ``(batch, dim)``).

    Returns
    -------
    ndarray
        :math:`\KL(q \Vert p) \ge 0`, of the broadcast shape (without ``axis`` if given).

    Raises
    ------
    ValueError
        If a mean is NaN or infinite, a deviation is NaN, infinite, zero or negative (the message
        names the argument), the shapes do not broadcast, or ``axis`` is out of range.
    TypeError
        If an argument is not real-valued or ``axis`` is not an integer.

    Notes
    -----
    The term :math:`t - 1 - \log t` is :math:`k_3` at :math:`\log t = 2 \log(\sigma_q/\sigma_p)` and
    is evaluated the same stable way, so nearly equal deviations lose no digits (the naive formula
    cancels to :math:`\sim \emach / (\sigma_q/\sigma_p - 1)^2` relative error). Extreme ratios give
    ``inf`` without warnings when the value exceeds the largest float. Cost: a few operations per entry.

    References
    ----------
    Cover and Thomas, *Elements of Information Theory* (2006), ch. 8.

    See the chapter ``chapters/montecarlo/kl-estimators.md``.
    """
    mq = as_float_array(mu_q, "mu_q")
    mp = as_float_array(mu_p, "mu_p")
    sigmas = []
    for value, name in ((sigma_q, "sigma_q"), (sigma_p, "sigma_p")):
        s = as_float_array(value, name)
        if (s <= 0).any():
            raise ValueError(f"{name} must be positive (a standard deviation), got a value <= 0")
        sigmas.append(s)
    sq, sp = sigmas
    try:
        mq, sq, mp, sp = np.broadcast_arrays(mq, sq, mp, sp)
    except ValueError:
        raise ValueError(
            "mu_q, sigma_q, mu_p, sigma_p do not broadcast together: shapes "
            f"{np.shape(mu_q)}, {np.shape(sigma_q)}, {np.shape(mu_p)}, {np.shape(sigma_p)}"
        ) from None
    if axis is not None:
        axis = check_axis(axis, mq.ndim)
    # log of the variance ratio, without forming it (it may overflow) and without subtracting two
    # logarithms of the deviations themselves (at sigma ~ 2**1000 each is ~693 and their difference
    # would lose 10 bits): sigma = m 2**e with m in [1/2, 1), so log(sq/sp) = log(mq/mp) + (eq - ep) log 2.
    (m_q, e_q), (m_p, e_p) = np.frexp(sq), np.frexp(sp)
    log_t = 2 * (np.log(m_q / m_p) + (e_q - e_p) * np.log(2.0))
    with np.errstate(over="ignore"):  # a gap or a ratio beyond the float range: the value is inf
        gap = (mq - mp) / sp
        out = 0.5 * (_expm1_minus(log_t) + gap * gap)
    if axis is not None:
        out = out.sum(axis=axis)
    return as_result(out)


class EstimatorStats(NamedTuple):
    """Sample statistics of one per-sample estimator over ``n`` draws.

    ``mean``, ``std`` (ddof=1), ``bias = mean - true_kl``, ``relative_bias = bias / true_kl``,
    ``relative_std = std / true_kl``, and the standard errors ``mean_se = std / sqrt(n)`` of the mean
    and ``std_se`` of the standard deviation (delta method, from the fourth central moment).
    """

    mean: float
    std: float
    bias: float
    relative_bias: float
    relative_std: float
    mean_se: float
    std_se: float


class KLExperiment(NamedTuple):
    """Statistics of :func:`k1`, :func:`k2` and :func:`k3` on the same samples."""

    k1: EstimatorStats
    k2: EstimatorStats
    k3: EstimatorStats


def _stats(values: np.ndarray, true_kl: float) -> EstimatorStats:
    n = values.size
    mean = float(values.mean())
    centred = values - mean
    m2 = float(np.mean(centred**2))
    m4 = float(np.mean(centred**4))
    std = float(np.sqrt(m2 * n / (n - 1)))
    # Var(s^2) ~ (m4 - m2^2) / n, and d s = d s^2 / (2 s): the delta-method standard error of s.
    std_se = float(np.sqrt(max(m4 - m2 * m2, 0.0) / n) / (2 * np.sqrt(m2))) if m2 > 0 else 0.0
    return EstimatorStats(
        mean=mean,
        std=std,
        bias=mean - true_kl,
        relative_bias=(mean - true_kl) / true_kl,
        relative_std=std / true_kl,
        mean_se=std / float(np.sqrt(n)),
        std_se=std_se,
    )


def estimator_bias_std(
    sample_q: Callable[[np.random.Generator, int], np.ndarray],
    log_q: Callable[[np.ndarray], np.ndarray],
    log_p: Callable[[np.ndarray], np.ndarray],
    n: int,
    *,
    rng,
    true_kl: float,
) -> KLExperiment:
    r"""Run the bias/standard-deviation experiment of :func:`k1`, :func:`k2`, :func:`k3`.

    Draws ``x_1, ..., x_n ~ q`` once, forms ``log_ratio = log_p(x) - log_q(x)`` and reports, for each
    estimator, its sample mean and standard deviation, absolute and relative to ``true_kl``
    (the quantities of Schulman's table), with their standard errors.

    Parameters
    ----------
    sample_q : callable ``(rng, n) -> ndarray of shape (n, ...)``
        Draws ``n`` samples of q with the generator it is given (the house order: ``rng`` first).
    log_q, log_p : callable ``ndarray of shape (n, ...) -> ndarray of shape (n,)``
        Log-densities (or log-probabilities) of q and p at the samples.
    n : int
        Number of samples, at least 2.
    rng : numpy.random.Generator or int
        The source of randomness (keyword-only).
    true_kl : float
        The exact :math:`\KL(q \Vert p) > 0` the estimates are compared with.

    Returns
    -------
    KLExperiment
        ``KLExperiment(k1, k2, k3)``, each an :class:`EstimatorStats`.

    Raises
    ------
    ValueError
        If ``n < 2``, ``true_kl`` is not finite and positive, ``sample_q`` does not return ``n`` draws
        along axis 0, or the log-densities do not return ``n`` finite-or-``-inf`` values.
    TypeError
        If ``n`` is not an integer, ``rng`` is not a generator or seed, a callable is missing, or
        ``sample_q`` fails when called as ``sample_q(rng, n)`` (e.g. written as ``(n, rng)``), or a
        log-density returns something other than real numbers (complex, strings).

    Notes
    -----
    Memory and time :math:`O(n)`, fully vectorised (the callables must be too). The three
    estimators share the samples, so their errors are correlated.

    References
    ----------
    Schulman, "Approximating KL Divergence" (2020).

    See the chapter ``chapters/montecarlo/kl-estimators.md``.
    """
    for fn, name in ((sample_q, "sample_q"), (log_q, "log_q"), (log_p, "log_p")):
        if not callable(fn):
            raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    n = check_int(n, "n", low=2)
    true_kl = check_real_scalar(true_kl, "true_kl", positive=True)
    rng = as_generator(rng)
    x = draw_samples(sample_q, rng, n, "sample_q")
    logs = []
    for fn, name in ((log_p, "log_p"), (log_q, "log_q")):
        values = as_float_array(fn(x), f"{name}(x)", allow_inf=True, allow_nan=True).astype(np.float64)
        if values.shape != (n,):
            raise ValueError(f"{name}(x) must have shape ({n},), got {values.shape}")
        logs.append(values)
    with np.errstate(invalid="ignore"):  # -inf - (-inf) is NaN, refused just below
        log_ratio = _log_ratio(logs[0] - logs[1])
    return KLExperiment(
        k1=_stats(k1(log_ratio), true_kl),
        k2=_stats(k2(log_ratio), true_kl),
        k3=_stats(k3(log_ratio), true_kl),
    )
