"""Softmax and its dense alternatives: maps from a score vector to a probability vector.

Every map acts along ``axis`` (default: the last axis) of an array of any shape, so a batch of score
vectors is an array whose other axes index the batch. Inputs may contain ``-inf`` (a score that can
never be chosen); ``+inf`` and NaN are refused, and so is a slice whose scores are all ``-inf``
(no probability vector is singled out by it). Output dtype is the input float dtype (integers give
float64).

See the chapter ``chapters/simplex/softmax-alternatives.md``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from mathguide._validation import as_float_array, as_generator, check_positive_int, check_real_scalar
from mathguide.simplex._scores import scores_last

__all__ = [
    "gumbel_max_sample",
    "log_softmax",
    "margin_logits",
    "margin_softmax",
    "perturb_max_sample",
    "softmax",
    "softmax_vjp",
    "taylor_softmax",
    "topk_softmax",
]

_NOISES = ("gumbel", "normal")
_MAX_TAYLOR_ORDER = 170  # 170! is the largest factorial below the float64 maximum


def _check_temperature(temperature) -> float:
    return check_real_scalar(temperature, "temperature", positive=True)


def _shifted(z: np.ndarray, temperature: float) -> np.ndarray:
    """(z - max z) / T along the last axis: entries <= 0, and exactly 0 at every maximiser."""
    # Max-subtraction: softmax is shift invariant, and after the shift exp never overflows.
    # Subtracting BEFORE dividing by T keeps ties exact for any T (0 / T = 0), and a tiny T turns
    # the other entries into -inf (intended overflow, silenced), whose exp is exactly 0.
    # Scores more than the largest float apart overflow to -inf here: the exact limit (probability
    # 0), so the overflow is silenced.
    with np.errstate(over="ignore"):
        shifted = z - z.max(axis=-1, keepdims=True)
    if temperature != 1.0:
        # Divide in (at least) double precision: T itself may underflow in float32 (T = 1e-50).
        wide = np.promote_types(z.dtype, np.float64)
        with np.errstate(over="ignore"):
            shifted = (shifted.astype(wide) / temperature).astype(z.dtype)
    return shifted


def softmax(x, *, axis: int = -1, temperature: float = 1.0) -> np.ndarray:
    r"""Softmax with temperature along ``axis``: ``p_i = exp(x_i / T) / sum_j exp(x_j / T)``.

    Parameters
    ----------
    x : array_like of shape (..., n, ...)
        Scores. ``-inf`` entries get probability exactly 0; ``+inf`` and NaN are refused.
    axis : int, default -1
        Axis holding the ``n`` scores of one vector.
    temperature : float, default 1.0
        ``T > 0``. As ``T -> 0`` the output tends to the uniform distribution over the maximisers,
        as ``T -> inf`` to the uniform distribution over the finite scores.

    Returns
    -------
    p : ndarray, same shape and float dtype as ``x``
        Nonnegative, summing to 1 along ``axis``.

    Raises
    ------
    ValueError
        If the axis is empty, ``x`` contains NaN or ``+inf``, a slice is all ``-inf``, or ``T <= 0``.

    Notes
    -----
    Cost O(size of x). Stable for any finite scores (e.g. +-1e4, or entries more than the largest
    float apart, whose difference becomes -inf and whose probability exactly 0, without a
    warning): the maximum is subtracted first,
    so every exponent is <= 0 and the denominator is >= 1.

    References
    ----------
    Goodfellow, Bengio and Courville, *Deep Learning* (2016), section 6.2.2.3.

    See the chapter ``chapters/simplex/softmax-alternatives.md``.
    """
    z, axis = scores_last(x, axis, "x")
    temperature = _check_temperature(temperature)
    e = np.exp(_shifted(z, temperature))  # in [0, 1], equal to 1 at the maximisers
    p = e / e.sum(axis=-1, keepdims=True)  # denominator >= 1: no division by zero
    return np.moveaxis(p, -1, axis)


def log_softmax(x, *, axis: int = -1, temperature: float = 1.0) -> np.ndarray:
    r"""Logarithm of :func:`softmax`: ``x_i / T - logsumexp(x / T)``, computed without exp overflow.

    Parameters
    ----------
    x : array_like of shape (..., n, ...)
        Scores; ``-inf`` entries give ``-inf``.
    axis : int, default -1
        Axis holding the scores of one vector.
    temperature : float, default 1.0
        ``T > 0``.

    Returns
    -------
    log_p : ndarray, same shape and float dtype as ``x``
        Entries <= 0 (or ``-inf``).

    Raises
    ------
    ValueError
        As :func:`softmax`.

    Notes
    -----
    ``log_softmax(x) = (x - m) - log sum exp(x - m)`` with ``m = max x``: the sum lies in ``[1, n]``,
    so its logarithm is safe, and no ``log(0)`` is ever taken for small probabilities.

    See the chapter ``chapters/simplex/softmax-alternatives.md``.
    """
    z, axis = scores_last(x, axis, "x")
    temperature = _check_temperature(temperature)
    shifted = _shifted(z, temperature)
    # log-sum-exp of shifted scores: the sum is in [1, n] because the largest term is exp(0) = 1.
    out = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return np.moveaxis(out, -1, axis)


def softmax_vjp(y, grad, *, axis: int = -1) -> np.ndarray:
    r"""Backward pass of softmax: ``J(x)^T g = y * (g - <y, g>)`` with ``y = softmax(x)``.

    The Jacobian of softmax is ``J = diag(y) - y y^T`` (symmetric), so the vector-Jacobian product
    needs only the forward output ``y``.

    Parameters
    ----------
    y : array_like of shape (..., n, ...)
        Output of :func:`softmax` (temperature 1).
    grad : array_like, same shape as ``y``
        Upstream gradient ``dL/dy``.
    axis : int, default -1
        Axis holding the ``n`` entries.

    Returns
    -------
    grad_x : ndarray, same shape as ``y``, dtype the promotion of the inputs' float dtypes
        ``dL/dx``; it sums to 0 along ``axis`` (softmax is shift invariant).

    Raises
    ------
    ValueError
        If shapes differ, the axis is empty, an input is not finite, or ``y`` is not on the
        simplex along ``axis`` (a negative entry, or a sum off 1 by more than
        ``8 sqrt(n) eps``), as the other VJPs of the book reject outputs no forward map produces.

    Notes
    -----
    Cost O(n) per vector, never forming the n x n Jacobian.

    References
    ----------
    Goodfellow, Bengio and Courville, *Deep Learning* (2016), section 6.2.2.3.

    See the chapter ``chapters/simplex/softmax-alternatives.md``.
    """
    y_arr = as_float_array(y, "y")
    g_arr = as_float_array(grad, "grad")
    if y_arr.shape != g_arr.shape:
        raise ValueError(f"grad must have the shape of y, got {g_arr.shape} and {y_arr.shape}")
    y_last, axis = scores_last(y_arr, axis, "y")
    tol = 8 * np.sqrt(y_last.shape[-1]) * np.finfo(np.result_type(y_last.dtype, np.float32)).eps
    if (y_last < 0).any() or (np.abs(y_last.sum(axis=-1) - 1) > tol).any():
        raise ValueError("y must be a probability vector along axis (non-negative, sum 1): an output of softmax")
    g_last = np.moveaxis(g_arr, axis, -1)
    inner = (y_last * g_last).sum(axis=-1, keepdims=True)  # <y, g> per vector
    return np.moveaxis(y_last * (g_last - inner), -1, axis)


def margin_logits(x, labels, *, margin: float, scale: float = 1.0, axis: int = -1) -> np.ndarray:
    r"""Additive-margin logits: ``s * (x - m * onehot(labels))`` along ``axis``.

    With cosine scores ``x_j = cos(theta_j)`` this is the AM-softmax / CosFace logit; with plain
    scores and ``s = 1`` it is softmax with the true-class logit lowered by ``m``.

    Parameters
    ----------
    x : array_like of shape (..., n, ...)
        Scores (``-inf`` allowed except that a slice must keep one finite entry).
    labels : array_like of int, shape of ``x`` without ``axis``
        The index in ``[0, n)`` of the true class of each vector.
    margin : float
        ``m >= 0``, subtracted from the score of the true class.
    scale : float, default 1.0
        ``s > 0``, multiplies all scores after the margin is applied.
    axis : int, default -1
        Axis holding the scores.

    Returns
    -------
    logits : ndarray, same shape and float dtype as ``x``

    Raises
    ------
    ValueError
        Bad ``x`` (as :func:`softmax`), ``labels`` of the wrong shape or out of range, ``margin < 0``,
        ``scale <= 0`` or either not finite.
    TypeError
        If ``labels`` is not integer, or ``margin``/``scale`` is not a real number.

    See the chapter ``chapters/simplex/softmax-alternatives.md``.
    """
    z, axis = scores_last(x, axis, "x")
    margin = check_real_scalar(margin, "margin", nonnegative=True)
    scale = check_real_scalar(scale, "scale", positive=True)
    t = np.asarray(labels)
    if not np.issubdtype(t.dtype, np.integer):
        raise TypeError(f"labels must be an integer array, got dtype {t.dtype}")
    if t.shape != z.shape[:-1]:
        raise ValueError(f"labels must have shape {z.shape[:-1]} (x without axis), got {t.shape}")
    n = z.shape[-1]
    if t.size and (t.min() < 0 or t.max() >= n):
        raise ValueError(f"labels entries must lie in [0, {n}), got range [{t.min()}, {t.max()}]")
    onehot = np.arange(n) == t[..., None]
    shifted = np.where(onehot, z - np.asarray(margin, dtype=z.dtype), z)
    out = shifted * np.asarray(scale, dtype=z.dtype)
    return np.moveaxis(out, -1, axis)


def margin_softmax(x, labels, *, margin: float, scale: float = 1.0, axis: int = -1) -> np.ndarray:
    r"""Additive-margin softmax: ``softmax(s * (x - m * onehot(labels)))`` along ``axis``.

    The true-class probability is ``exp(s(x_t - m)) / (exp(s(x_t - m)) + sum_{j != t} exp(s x_j))``; the
    cross-entropy ``-log p_t`` is small only when ``x_t`` beats every other score by about ``m``.

    Parameters
    ----------
    x : array_like of shape (..., n, ...)
        Scores, e.g. cosines between a normalised feature and normalised class vectors.
    labels : array_like of int, shape of ``x`` without ``axis``
        The index in ``[0, n)`` of the true class of each vector.
    margin : float
        ``m >= 0``, subtracted from the score of the true class.
    scale : float, default 1.0
        ``s > 0``, multiplies all scores after the margin is applied.
    axis : int, default -1
        Axis holding the scores.

    Returns
    -------
    p : ndarray, same shape and float dtype as ``x``
        On the simplex along ``axis``. The margin loss is ``-log p[labels]``; compute it as
        ``-log_softmax(margin_logits(...))`` to avoid ``log(0)``.

    Raises
    ------
    ValueError, TypeError
        As :func:`margin_logits`.

    Notes
    -----
    Cost O(size of x); stable for any finite scores (see :func:`softmax`).

    References
    ----------
    Wang et al., CosFace (CVPR 2018); Wang et al., Additive margin softmax (IEEE SPL 2018).

    See the chapter ``chapters/simplex/softmax-alternatives.md``.
    """
    return softmax(margin_logits(x, labels, margin=margin, scale=scale, axis=axis), axis=axis)


def _check_order(order) -> int:
    if isinstance(order, (bool, np.bool_)) or not isinstance(order, numbers.Integral):
        raise TypeError(f"order must be an even positive integer, got {order!r}")
    if order < 2 or order % 2:
        # Odd-degree Taylor polynomials of exp have a real zero: they cannot define probabilities.
        raise ValueError(f"order must be an even integer >= 2, got {order}")
    if order > _MAX_TAYLOR_ORDER:
        # The coefficients 1/k! are evaluated in double precision, where 171! overflows.
        raise ValueError(f"order must be at most {_MAX_TAYLOR_ORDER}, got {order}")
    return int(order)


def taylor_softmax(x, order: int = 2, *, axis: int = -1) -> np.ndarray:
    r"""Taylor softmax: ``p_i = f(x_i) / sum_j f(x_j)`` with ``f(u) = sum_{k=0}^{order} u^k / k!``.

    For an even ``order`` the polynomial ``f`` has no real zero (it is >= a positive minimum), so
    ``p`` lies in the open simplex. Its tails are polynomial: ``p_i ~ x_i^order`` rather than
    ``exp(x_i)``.

    Parameters
    ----------
    x : array_like of shape (..., n, ...)
        Finite scores (``-inf`` is refused: ``f(-inf) = +inf``).
    order : int, default 2
        Even degree ``2m``, ``2 <= 2m <= 170``, of the Taylor polynomial.
    axis : int, default -1
        Axis holding the scores.

    Returns
    -------
    p : ndarray, same shape and float dtype as ``x``

    Raises
    ------
    ValueError
        Odd, non-positive or too large (> 170) ``order``, empty axis, non-finite ``x``.

    Notes
    -----
    Not shift invariant, so the max-subtraction trick does not apply. Instead every vector is scaled
    by ``s = max(1, max_i |x_i|)``: ``f(x) / s^order = sum_k (x/s)^k s^(k - order) / k!`` has terms
    bounded by ``1 / k!``, so nothing overflows even for ``|x| = 1e4``. When some scaled value
    leaves the normal range (entries of very different sizes at a high order), that vector is
    redone with one scale per entry, ``s_i = max(1, |x_i|)`` (scaled values then at least about
    ``1 / order!``), combined in log space; so tiny probabilities such as ``6.6e-282`` for the 0
    in ``[1e4, 0, -3]`` at order 120 are kept instead of underflowing to 0. The
    polynomial is evaluated in (at least) double precision and the result cast back: in float32,
    ``1 / k!`` is subnormal from ``k = 34``. Probabilities below the smallest positive number of
    the dtype underflow to 0.
    Cost O(order * size of x) (Horner's rule).

    References
    ----------
    de Brebisson and Vincent, An exploration of softmax alternatives belonging to the spherical loss
    family (ICLR 2016).

    See the chapter ``chapters/simplex/softmax-alternatives.md``.
    """
    order = _check_order(order)
    z_in, axis = scores_last(x, axis, "x", allow_neg_inf=False)  # finite only
    # Work in (at least) float64: in float32, 1/k! is subnormal for k >= 34 and 0 for k >= 39.
    z = z_in.astype(np.promote_types(z_in.dtype, np.float64))

    def scaled_value(scale):
        # Horner's rule for f(z) / scale^order = sum_k c_k u^k, u = z / scale in [-1, 1], with
        # c_k = r^(order - k) / k!, r = 1 / scale; the r-powers may underflow to 0 for a huge
        # scale, harmlessly when they multiply terms negligible next to u^order / order!.
        u, r = z / scale, 1.0 / scale
        value = np.full_like(z, 1.0 / math.factorial(order))
        for k in range(order - 1, -1, -1):
            value = value * u + r ** (order - k) / math.factorial(k)
        return value

    # One scale per vector, s = max(1, max |z|): accurate unless some f(z_i) / s^order leaves the
    # normal range (entries of very different sizes, high order) ...
    e = scaled_value(np.maximum(np.abs(z).max(axis=-1, keepdims=True), 1.0))
    lost = (e < np.finfo(np.float64).tiny * 2.0**53).any(axis=-1)
    if lost.any():
        # ... then one scale per entry, s_i = max(1, |z_i|), and log f(z_i) = order log s_i +
        # log(f(z_i) / s_i^order); the ratios to the largest f_j come from ratios of s and of the
        # scaled values (each rounded once), so tiny probabilities such as 6.6e-282 survive.
        s_e = np.maximum(np.abs(z), 1.0)
        v_e = scaled_value(s_e)
        j = np.argmax(order * np.log(s_e) + np.log(v_e), axis=-1)[..., None]
        s_j, v_j = np.take_along_axis(s_e, j, axis=-1), np.take_along_axis(v_e, j, axis=-1)
        e = np.where(lost[..., None], np.exp(order * np.log(s_e / s_j) + np.log(v_e / v_j)), e)
    p = (e / e.sum(axis=-1, keepdims=True)).astype(z_in.dtype, copy=False)
    return np.moveaxis(p, -1, axis)


def topk_softmax(x, k: int, *, axis: int = -1) -> np.ndarray:
    r"""Softmax restricted to the ``k`` largest scores; every other entry is exactly 0.

    ``p_i = exp(x_i) / sum_{j in K} exp(x_j)`` for ``i in K``, 0 otherwise, where ``K`` is the set of
    indices whose score is **at least the k-th largest score**. Ties at the k-th value are all kept
    (so ``|K|`` may exceed ``k``): the map is then symmetric under permuting the entries, and for
    ``k = 1`` it is the ``T -> 0`` limit of softmax (uniform over the maximisers).

    Parameters
    ----------
    x : array_like of shape (..., n, ...)
        Scores (``-inf`` allowed; it is never kept with positive mass).
    k : int
        Number of scores kept, ``1 <= k <= n``.
    axis : int, default -1
        Axis holding the scores.

    Returns
    -------
    p : ndarray, same shape and float dtype as ``x``

    Raises
    ------
    ValueError
        ``k`` out of ``[1, n]``, and the errors of :func:`softmax`.

    Notes
    -----
    Cost O(size of x): ``np.partition`` finds the k-th largest value without a full sort.

    See the chapter ``chapters/simplex/softmax-alternatives.md``.
    """
    z, axis = scores_last(x, axis, "x")
    k = check_positive_int(k, "k")
    n = z.shape[-1]
    if k > n:
        raise ValueError(f"k must satisfy 1 <= k <= n = {n}, got {k}")
    kth = np.partition(z, n - k, axis=-1)[..., n - k : n - k + 1]  # the k-th largest value
    masked = np.where(z >= kth, z, -np.inf)  # keeps every score tied with the k-th largest
    return softmax(np.moveaxis(masked, -1, axis), axis=axis)


def _sample_shape(size) -> tuple[int, ...]:
    if size is None:
        return ()
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (size,)
    try:
        shape = tuple(int(check_positive_int(s, "size")) for s in size)
    except TypeError as error:
        message = f"size must be None, a positive int or a tuple of positive ints, got {size!r}"
        raise TypeError(message) from error
    return shape


def perturb_max_sample(
    logits, *, rng, noise: str = "gumbel", size=None, axis: int = -1
) -> int | np.ndarray:
    r"""Perturb-and-max: the index ``argmax_i (x_i + eps_i)`` with ``eps_i`` i.i.d. noise.

    With standard Gumbel noise the index is an exact sample from ``softmax(x)`` (the Gumbel-max
    trick); with standard normal noise it is the multinomial probit choice, whose probabilities
    differ from softmax.

    Parameters
    ----------
    logits : array_like of shape (..., n, ...)
        Scores; ``-inf`` entries are never chosen.
    rng : numpy.random.Generator or int
        Source of randomness (keyword-only).
    noise : {"gumbel", "normal"}, default "gumbel"
        Distribution of the i.i.d. perturbations.
    size : int or tuple of int, optional
        Shape of independent draws per score vector, prepended to the output.
    axis : int, default -1
        Axis holding the scores.

    Returns
    -------
    index : int or ndarray of int64, shape ``size + shape(logits without axis)``
        A Python ``int`` for one draw (``size=None`` and one score vector).

    Raises
    ------
    ValueError
        Unknown ``noise``, bad ``size``, and the errors of :func:`softmax`.

    Notes
    -----
    Cost: ``prod(size) * logits.size`` noise draws and one argmax; ties between perturbed scores have
    probability 0 and are broken towards the lower index by ``np.argmax``. The noise is drawn and
    added in float64 to the max-shifted logits, so it is never rounded to the float32 spacing of
    large logits (``2^-10`` near ``1e4``).

    See the chapter ``chapters/simplex/softmax-alternatives.md``.
    """
    z, _ = scores_last(logits, axis, "logits")
    if noise not in _NOISES:
        raise ValueError(f"noise must be one of {_NOISES}, got {noise!r}")
    generator = as_generator(rng)
    shape = _sample_shape(size) + z.shape
    if noise == "gumbel":
        eps = generator.gumbel(size=shape)
    else:
        eps = generator.standard_normal(size=shape)
    # Shift by the maximum (the argmax is shift invariant) and add the float64 noise in float64:
    # in float32, x + eps near |x| = 1e4 would round the noise to multiples of 2^-10 and bias the draw.
    shifted = (z - z.max(axis=-1, keepdims=True)).astype(np.promote_types(z.dtype, np.float64))
    index = np.argmax(shifted + eps, axis=-1)
    return int(index) if index.ndim == 0 else index


def gumbel_max_sample(logits, *, rng, size=None, axis: int = -1) -> int | np.ndarray:
    r"""Exact sample of ``i ~ softmax(logits)`` by the Gumbel-max trick: ``argmax_i (x_i + G_i)``.

    ``G_i = -log(-log U_i)`` are i.i.d. standard Gumbel variables.

    Parameters
    ----------
    logits : array_like of shape (..., n, ...)
        Unnormalised log-probabilities; ``-inf`` entries are never chosen.
    rng : numpy.random.Generator or int
        Source of randomness (keyword-only).
    size : int or tuple of int, optional
        Shape of independent draws per score vector, prepended to the output.
    axis : int, default -1
        Axis holding the scores.

    Returns
    -------
    index : int or ndarray of int64, shape ``size + shape(logits without axis)``
        A Python ``int`` for one draw (``size=None`` and one score vector).

    Raises
    ------
    ValueError
        Bad ``size`` and the errors of :func:`softmax`.

    References
    ----------
    Gumbel (1954); Papandreou and Yuille, Perturb-and-MAP random fields (ICCV 2011).

    See the chapter ``chapters/simplex/softmax-alternatives.md``.
    """
    return perturb_max_sample(logits, rng=rng, noise="gumbel", size=size, axis=axis)
