"""Householder reflectors and Givens rotations: the orthogonal building blocks of QR.

Chapter: ``chapters/linalg/qr.md`` (Householder and Givens QR). The same two kernels reduce a matrix
to Hessenberg, tridiagonal and bidiagonal form in the eigenvalue and SVD chapters.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mathguide._validation import as_float_array

__all__ = ["Givens", "Householder", "givens_rotation", "householder_vector"]


class Householder(NamedTuple):
    """A reflector ``H = I - beta v v^T`` with ``v[0] = 1`` and ``H x = alpha e_1``."""

    v: np.ndarray
    beta: np.ndarray
    alpha: np.ndarray


class Givens(NamedTuple):
    """A rotation ``G = [[c, s], [-s, c]]`` with ``G [a, b]^T = [r, 0]^T``."""

    c: np.ndarray
    s: np.ndarray
    r: np.ndarray


def householder_vector(x) -> Householder:
    r"""The Householder reflector that maps ``x`` to a multiple of the first unit vector.

    Finds :math:`\mathbf{v}` with :math:`v_1 = 1` and :math:`\beta = 2/\mathbf{v}^\top\mathbf{v}` such that
    :math:`(\mathbf{I} - \beta\mathbf{v}\mathbf{v}^\top)\mathbf{x} = \alpha\mathbf{e}_1` with
    :math:`|\alpha| = \|\mathbf{x}\|_2`. The sign is :math:`\alpha = -\operatorname{sign}(x_1)\|\mathbf{x}\|_2`,
    so that :math:`v_1 = x_1 - \alpha` adds two numbers of the same sign: no cancellation.

    Parameters
    ----------
    x : array_like of shape (..., n)
        One vector, or a batch of vectors along the last axis; finite; ``n >= 1``.

    Returns
    -------
    Householder
        ``v`` of shape (..., n) with ``v[..., 0] = 1``; ``beta`` and ``alpha`` of shape (...,).
        When ``x[1:]`` is already zero, ``beta = 0`` (``H = I``) and ``alpha = x[0]``, as LAPACK's
        ``xLARFG`` does.

    Notes
    -----
    The norm is computed after scaling by ``max |x_i|``, so it neither overflows nor underflows.
    Cost: :math:`3n` flops per vector. See :ref:`chap-qr`; Golub and Van Loan, Algorithm 5.1.1.
    """
    x = as_float_array(x, "x")
    if x.ndim < 1 or x.shape[-1] == 0:
        raise ValueError(f"x must have a non-empty last axis, got shape {x.shape}")
    scale = np.max(np.abs(x), axis=-1, keepdims=True)
    safe_scale = np.where(scale > 0, scale, 1).astype(x.dtype)
    y = x / safe_scale
    tail_norm2 = np.sum(y[..., 1:] ** 2, axis=-1)
    norm = np.sqrt(y[..., 0] ** 2 + tail_norm2)
    sign = np.where(y[..., 0] >= 0, 1, -1).astype(x.dtype)
    trivial = tail_norm2 == 0
    alpha_scaled = np.where(trivial, y[..., 0], -sign * norm)
    v1 = y[..., 0] - alpha_scaled  # |x_1| + ||x||: same signs, no cancellation
    safe_v1 = np.where(trivial, 1, v1).astype(x.dtype)
    v = y / safe_v1[..., None]
    v[..., 0] = 1
    # beta = 2 / v^T v = 2 v1^2 / (v1^2 + ||x_2:n||^2), in the scaled variables.
    denominator = np.where(trivial, 1, v1**2 + tail_norm2)
    beta = np.where(trivial, 0, 2 * v1**2 / denominator).astype(x.dtype)
    alpha = (alpha_scaled * scale[..., 0]).astype(x.dtype)
    return Householder(v, beta, alpha)


def givens_rotation(a, b) -> Givens:
    r"""The plane rotation that zeroes ``b`` against ``a``.

    Returns :math:`c = \cos\theta`, :math:`s = \sin\theta` and :math:`r = \sqrt{a^2 + b^2} \ge 0` with

    .. math:: \begin{bmatrix} c & s \\ -s & c \end{bmatrix} \begin{bmatrix} a \\ b \end{bmatrix}
              = \begin{bmatrix} r \\ 0 \end{bmatrix}.

    Parameters
    ----------
    a, b : array_like
        Finite real numbers of broadcastable shapes.

    Returns
    -------
    Givens
        ``c``, ``s``, ``r`` of the broadcast shape. For ``a = b = 0``: ``c = 1``, ``s = 0``, ``r = 0``.

    Notes
    -----
    ``r`` comes from ``numpy.hypot``, which neither overflows nor underflows. See :ref:`chap-qr`.
    """
    a = as_float_array(a, "a")
    b = as_float_array(b, "b")
    a, b = np.broadcast_arrays(a, b)
    r = np.hypot(a, b)
    zero = r == 0
    safe_r = np.where(zero, 1, r)
    c = np.where(zero, 1, a / safe_r).astype(r.dtype)
    s = np.where(zero, 0, b / safe_r).astype(r.dtype)
    return Givens(c, s, r)
