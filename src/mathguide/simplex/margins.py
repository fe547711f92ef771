"""Angular margins for softmax over cosine scores: L-softmax / SphereFace and ArcFace.

With a normalised feature and normalised class vectors the scores are cosines
``cos(theta_j)``. CosFace (``margin_logits`` in :mod:`mathguide.simplex.softmax`) subtracts a margin
from the target cosine; the angular variants put the margin on the angle of the target class:

- ArcFace: ``cos(theta_t + m)`` (additive angular margin);
- L-softmax / SphereFace: ``psi(theta_t)`` with ``psi(theta) = (-1)^k cos(m theta) - 2k`` on
  ``[k pi/m, (k+1) pi/m]`` (multiplicative angular margin, integer ``m``), the monotone extension of
  ``cos(m theta)`` to the whole of ``[0, pi]``.

See the chapter ``chapters/simplex/softmax-alternatives.md``.
"""

from __future__ import annotations

import math

import numpy as np

from mathguide._validation import as_float_array, check_int, check_real_scalar
from mathguide.simplex._scores import scores_last

__all__ = ["angular_margin_logits", "sphereface_psi"]

_METHODS = ("arcface", "sphereface")


def sphereface_psi(theta, m: int) -> np.ndarray:
    r"""The L-softmax / SphereFace target function :math:`\psi(\theta) = (-1)^k \cos(m\theta) - 2k`.

    For :math:`\theta \in [k\pi/m, (k+1)\pi/m]`, :math:`k = 0, \dots, m - 1`. It equals
    :math:`\cos(m\theta)` on :math:`[0, \pi/m]`, is continuous and strictly decreasing on
    :math:`[0, \pi]` (from 1 to :math:`1 - 2m`), and :math:`m = 1` gives :math:`\cos\theta`.

    Parameters
    ----------
    theta : array_like
        Angles in ``[0, pi]``.
    m : int
        Integer margin ``m >= 1``.

    Returns
    -------
    ndarray of the shape of ``theta`` (float)

    Raises
    ------
    ValueError
        An angle outside ``[0, pi]`` or not finite, or ``m < 1``.
    TypeError
        Non-numeric ``theta`` or non-integer ``m``.

    References
    ----------
    Liu et al. (2016), Large-margin softmax loss; Liu et al. (2017), SphereFace.

    See the chapter ``chapters/simplex/softmax-alternatives.md``.
    """
    m = check_int(m, "m", low=1)
    theta = as_float_array(theta, "theta")
    if (theta < 0).any() or (theta > math.pi).any():
        raise ValueError("theta must lie in [0, pi]")
    k = np.minimum(np.floor(theta * m / math.pi), m - 1)  # the piece; theta = pi belongs to k = m - 1
    sign = np.where(k % 2 == 0, 1.0, -1.0)
    return sign * np.cos(m * theta) - 2 * k


def angular_margin_logits(
    cos_theta, labels, *, method: str, margin: float, scale: float = 1.0, axis: int = -1
) -> np.ndarray:
    r"""Logits with an angular margin on the target class, from cosine scores.

    Every non-target logit is ``scale * cos(theta_j)``; the target logit is
    ``scale * cos(theta_t + margin)`` for ``method="arcface"`` and
    ``scale * sphereface_psi(theta_t, margin)`` for ``method="sphereface"`` (L-softmax with
    normalised weights and features), where ``theta_t = arccos(cos_theta_t)``.

    Parameters
    ----------
    cos_theta : array_like of shape (..., n, ...)
        Cosines in ``[-1, 1]`` (entries within ``16 eps`` outside are clipped, as rounding of a
        normalised inner product produces).
    labels : array_like of int, shape of ``cos_theta`` without ``axis``
        The index in ``[0, n)`` of the true class of each vector.
    method : {"arcface", "sphereface"}
    margin : float
        ArcFace: an angle ``m >= 0`` (radians). SphereFace: an integer ``m >= 1``.
    scale : float, default 1.0
        ``s > 0``, multiplies every logit.
    axis : int, default -1
        Axis holding the classes.

    Returns
    -------
    ndarray, same shape and float dtype as ``cos_theta``

    Raises
    ------
    ValueError
        Unknown ``method``, cosines outside ``[-1, 1]``, non-finite input, bad ``labels``,
        ``margin`` or ``scale``.
    TypeError
        Non-numeric input, non-integer ``labels`` (or SphereFace ``margin``).

    Notes
    -----
    ArcFace's target logit is *not* monotone in the angle: ``cos(theta + m)`` decreases only while
    ``theta + m <= pi`` and increases again beyond, so a target at angle ``theta > pi - m`` is
    rewarded for moving *away* from its class. Reference implementations switch to
    ``cos(theta) - m sin(m)`` there; this function returns the plain formula, so that the effect
    can be seen. ``sphereface_psi`` is monotone by construction.

    References
    ----------
    Deng et al. (2019), ArcFace; Liu et al. (2016), L-softmax; Liu et al. (2017), SphereFace.

    See the chapter ``chapters/simplex/softmax-alternatives.md``.
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    c, axis = scores_last(cos_theta, axis, "cos_theta", allow_neg_inf=False)
    dtype = c.dtype
    c = c.astype(np.promote_types(c.dtype, np.float64))  # the trigonometry in double precision
    slack = 16 * np.finfo(np.float64).eps
    if (np.abs(c) > 1 + slack).any():
        raise ValueError("cos_theta must lie in [-1, 1]")
    c = np.clip(c, -1.0, 1.0)
    scale = check_real_scalar(scale, "scale", positive=True)
    if method == "arcface":
        margin = check_real_scalar(margin, "margin", nonnegative=True)
    else:
        margin = check_int(margin, "margin", low=1)
    t = np.asarray(labels)
    if not np.issubdtype(t.dtype, np.integer):
        raise TypeError(f"labels must be an integer array, got dtype {t.dtype}")
    if t.shape != c.shape[:-1]:
        raise ValueError(f"labels must have shape {c.shape[:-1]} (cos_theta without axis), got {t.shape}")
    n = c.shape[-1]
    if t.size and (t.min() < 0 or t.max() >= n):
        raise ValueError(f"labels entries must lie in [0, {n}), got range [{t.min()}, {t.max()}]")
    onehot = np.arange(n) == t[..., None]
    theta_t = np.arccos(np.take_along_axis(c, t[..., None], axis=-1))
    if method == "arcface":
        target_logit = np.cos(theta_t + margin)
    else:
        target_logit = sphereface_psi(theta_t, margin)
    out = (scale * np.where(onehot, target_logit, c)).astype(dtype, copy=False)
    return np.moveaxis(out, -1, axis)
