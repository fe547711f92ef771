"""Gumbel-softmax (Concrete) relaxation of a categorical sample, its backward pass and its density.

A categorical sample is ``onehot(argmax_i (x_i + G_i))`` with i.i.d. standard Gumbel ``G_i`` (the
Gumbel-max trick, :func:`mathguide.simplex.gumbel_max_sample`). Replacing the one-hot argmax by a
softmax at temperature ``tau`` gives a differentiable point of the simplex, the Gumbel-softmax or
Concrete sample; ``hard=True`` returns the one-hot vector while the backward pass
(:func:`gumbel_softmax_vjp`) uses the relaxed one (the straight-through estimator).

See the chapter ``chapters/gradients/gumbel-softmax.md``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from mathguide._validation import as_float_array, as_generator, check_axis, check_bool, check_real_scalar
from mathguide.simplex import log_softmax, softmax, softmax_vjp
from mathguide.simplex._scores import scores_last
from mathguide.simplex.softmax import _sample_shape

__all__ = [
    "GumbelSoftmaxSample",
    "concrete_log_density",
    "gumbel_softmax",
    "gumbel_softmax_vjp",
    "sample_gumbel",
]


class GumbelSoftmaxSample(NamedTuple):
    """A Gumbel-softmax draw: the forward value and the relaxed sample its backward pass uses."""

    sample: np.ndarray  # one-hot if hard=True, else equal to `relaxed`
    relaxed: np.ndarray  # softmax((logits + G) / tau): the input of gumbel_softmax_vjp


def sample_gumbel(shape, *, rng, dtype=np.float64) -> np.ndarray:
    r"""I.i.d. standard Gumbel draws ``G = -log(-log U)``, ``U`` uniform, clipped away from 0 and 1.

    Parameters
    ----------
    shape : int or tuple of int
        Output shape (positive sizes); ``()`` or ``None`` gives a 0-d array.
    rng : numpy.random.Generator or int
        Source of randomness (keyword-only).
    dtype : float32 or float64, default float64
        Output dtype; the transform is computed in float64 and cast.

    Returns
    -------
    g : ndarray of shape ``shape``
        Finite values in ``[-log(-log tiny), -log(-log(1 - 2^-53))] = [-6.56, 36.7]`` (float64).

    Raises
    ------
    TypeError, ValueError
        Bad ``shape``, ``rng`` or ``dtype``.

    Notes
    -----
    ``Generator.random`` returns multiples of ``2^-53`` in ``[0, 1)``, so ``U = 0`` happens (with
    probability ``2^-53``) and would give ``G = -inf``: in a Gumbel-max or Gumbel-softmax draw that
    category would get weight 0, silently removed from that draw. The clip to ``[tiny, 1 - 2^-53]``
    maps ``U = 0`` to ``G = -6.56`` instead. ``U = 1`` cannot come out of ``Generator.random``; the
    upper clip only guards a generator that returns it (``G = +inf`` would make every other category
    lose). The clip changes the law only on an event of probability ``2^-53`` per entry.

    See the chapter ``chapters/gradients/gumbel-softmax.md``.
    """
    size = _sample_shape(shape)
    out_dtype = np.dtype(dtype)
    if out_dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be float32 or float64, got {out_dtype}")
    u = as_generator(rng).random(size)
    # Keep U inside (0, 1): U = 0 (probability 2^-53) gives G = -inf; U = 1 (not produced by
    # Generator.random, guarded for other generators) gives G = +inf.
    u = np.clip(u, np.finfo(np.float64).tiny, np.nextafter(1.0, 0.0))
    return (-np.log(-np.log(u))).astype(out_dtype, copy=False)


def _check_tau(tau) -> float:
    return check_real_scalar(tau, "tau", positive=True)


def gumbel_softmax(logits, tau: float, *, rng, hard: bool = False, size=None, axis: int = -1) -> GumbelSoftmaxSample:
    r"""Gumbel-softmax (Concrete) sample ``y = softmax((logits + G) / tau)`` along ``axis``.

    With ``hard=True`` the forward value is ``onehot(argmax_i (logits_i + G_i))``, an exact sample
    of ``Categorical(softmax(logits))`` for any ``tau``, and the relaxed ``y`` is returned alongside
    for the straight-through backward pass.

    Parameters
    ----------
    logits : array_like of shape (..., n, ...)
        Unnormalised log-probabilities; ``-inf`` entries get 0. ``+inf``/NaN refused.
    tau : float
        Temperature, ``tau > 0``. Small ``tau``: ``y`` near a vertex; large ``tau``: near uniform.
    rng : numpy.random.Generator or int
        Source of randomness (keyword-only).
    hard : bool, default False
        Return the one-hot rounding as ``sample`` (straight-through forward pass).
    size : int or tuple of int, optional
        Shape of independent draws per logit vector, prepended to the output.
    axis : int, default -1
        Axis of ``logits`` holding the ``n`` scores.

    Returns
    -------
    GumbelSoftmaxSample
        ``sample`` and ``relaxed``, both of shape ``size + logits.shape`` and the float dtype of
        ``logits``, the category axis at ``len(size) + axis``.

    Raises
    ------
    ValueError
        ``tau <= 0`` or not finite, NaN or ``+inf`` logits, empty axis, bad ``size``.
    TypeError
        Non-numeric ``tau``, ``hard`` not a bool, bad ``rng``.

    Notes
    -----
    Stable for logits of +-1e4 and ``tau`` down to 1e-3: the logits are shifted by their maximum in
    float64, the noise is finite (:func:`sample_gumbel`), and the temperature softmax of
    :func:`mathguide.simplex.softmax` subtracts the maximum before dividing by ``tau``. Cost: one
    Gumbel draw per entry and one softmax.

    References
    ----------
    Jang, Gu and Poole (ICLR 2017); Maddison, Mnih and Teh (ICLR 2017).

    See the chapter ``chapters/gradients/gumbel-softmax.md``.
    """
    z, axis = scores_last(logits, axis, "logits")
    tau = _check_tau(tau)
    hard = check_bool(hard, "hard")
    lead = _sample_shape(size)
    if z.size:
        g = sample_gumbel(lead + z.shape, rng=rng)
    else:  # an empty batch of logit vectors: nothing to draw, an empty answer
        as_generator(rng)
        g = np.empty(lead + z.shape)
    # Shift by the maximum in float64, then add the noise: in float32 the noise would be rounded to
    # the spacing of 1e4 (2^-10); -inf logits stay -inf and get probability 0.
    wide = np.promote_types(z.dtype, np.float64)
    perturbed = (z - z.max(axis=-1, keepdims=True)).astype(wide) + g
    relaxed = softmax(perturbed, axis=-1, temperature=tau).astype(z.dtype, copy=False)
    if hard:
        index = np.argmax(perturbed, axis=-1)  # the Gumbel-max sample, not argmax of a rounded y
        sample = (np.arange(z.shape[-1]) == index[..., None]).astype(z.dtype)
    else:
        sample = relaxed
    out_axis = len(lead) + axis
    return GumbelSoftmaxSample(sample=np.moveaxis(sample, -1, out_axis), relaxed=np.moveaxis(relaxed, -1, out_axis))


def gumbel_softmax_vjp(relaxed, grad, tau: float, *, axis: int = -1) -> np.ndarray:
    r"""Backward pass of Gumbel-softmax: ``dL/dlogits = (1/tau) * y * (g - <y, g>)``.

    ``y = softmax((x + G) / tau)`` has Jacobian ``(1/tau) (diag(y) - y y^T)`` with respect to ``x``
    (the noise ``G`` is held fixed). For the straight-through estimator pass the relaxed sample and
    the upstream gradient taken at the one-hot forward value.

    Parameters
    ----------
    relaxed : array_like of shape (..., n, ...)
        The ``relaxed`` field of :func:`gumbel_softmax`.
    grad : array_like, same shape
        Upstream gradient ``dL/dy`` (or ``dL/d onehot`` for straight-through).
    tau : float
        The temperature used in the forward pass.
    axis : int, default -1
        Axis holding the ``n`` entries (``len(size) + axis`` of the forward call).

    Returns
    -------
    grad_logits : ndarray, same shape as ``relaxed``
        Per draw; sum over the leading ``size`` axes for the gradient of a sum over draws.

    Raises
    ------
    ValueError
        Shapes that differ, ``tau <= 0``, non-finite input.

    See the chapter ``chapters/gradients/gumbel-softmax.md``.
    """
    tau = _check_tau(tau)
    vjp = softmax_vjp(relaxed, grad, axis=axis)
    return vjp / np.asarray(tau, dtype=vjp.dtype)


def concrete_log_density(x, logits, tau: float, *, axis: int = -1) -> float | np.ndarray:
    r"""Log-density of the Concrete (Gumbel-softmax) distribution at a point ``x`` of the open simplex.

    .. math::

        \log p(x) = \log (n-1)! + (n-1)\log\tau
                    + \sum_i \big[\log\operatorname{softmax}(v)_i - \log x_i\big],
        \qquad v_i = \mathrm{logits}_i - \tau\log x_i,

    the density with respect to Lebesgue measure on ``(x_1, ..., x_{n-1})`` (``x_n = 1 - sum``).

    Parameters
    ----------
    x : array_like of shape (..., n, ...)
        Points with positive entries summing to 1 along ``axis``.
    logits : array_like, broadcastable against ``x``
        Finite logits (``-inf`` is refused: the law would live on a face).
    tau : float
        ``tau > 0``.
    axis : int, default -1
        Axis holding the ``n >= 2`` coordinates (of the broadcast shape).

    Returns
    -------
    log_p : float or ndarray
        A float for one point, else an array of the broadcast shape without ``axis``.

    Raises
    ------
    ValueError
        ``n < 2``, an entry of ``x`` not in ``(0, 1]``, rows not summing to 1 (tolerance
        ``64 n eps``), non-finite logits, ``tau <= 0``, shapes that do not broadcast.

    Notes
    -----
    The rearrangement ``sum_i (logits_i - (tau+1) log x_i) - n logsumexp(v) = sum_i (log softmax(v)_i
    - log x_i)`` needs only one stable log-softmax. Cost O(n) per point.

    References
    ----------
    Maddison, Mnih and Teh (ICLR 2017), definition 1; Jang, Gu and Poole (ICLR 2017), eq. (2).

    See the chapter ``chapters/gradients/gumbel-softmax.md``.
    """
    x_arr = as_float_array(x, "x")
    a_arr = as_float_array(logits, "logits")
    tau = _check_tau(tau)
    try:
        shape = np.broadcast_shapes(x_arr.shape, a_arr.shape)
    except ValueError as error:
        raise ValueError(f"x and logits must broadcast, got shapes {x_arr.shape} and {a_arr.shape}") from error
    if len(shape) == 0:
        raise ValueError("x must have at least one dimension (the simplex coordinates)")
    axis = check_axis(axis, len(shape))
    dtype = np.result_type(x_arr.dtype, a_arr.dtype)
    xb = np.moveaxis(np.broadcast_to(x_arr, shape), axis, -1).astype(dtype, copy=False)
    ab = np.moveaxis(np.broadcast_to(a_arr, shape), axis, -1).astype(dtype, copy=False)
    n = xb.shape[-1]
    if n < 2:
        raise ValueError(f"x must have n >= 2 coordinates along axis {axis}, got {n}")
    if np.any(xb <= 0) or np.any(xb > 1):
        raise ValueError("x must have entries in (0, 1] (a point of the open simplex)")
    tol = 64 * n * np.finfo(dtype).eps
    if np.any(np.abs(xb.sum(axis=-1) - 1) > tol):
        raise ValueError(f"x must sum to 1 along axis {axis} (tolerance {tol:.1e})")
    log_x = np.log(xb)
    # softmax(v) ignores a common shift of v: subtract tau * max_j log x_j (shift log x before the
    # product), so that a huge tau does not bury the logits under a common term tau * log x.
    v = ab - np.asarray(tau, dtype=dtype) * (log_x - log_x.max(axis=-1, keepdims=True))
    out = math.lgamma(n) + (n - 1) * math.log(tau) + (log_softmax(v, axis=-1) - log_x).sum(axis=-1)
    out = out.astype(dtype, copy=False)
    return float(out) if out.ndim == 0 else out
