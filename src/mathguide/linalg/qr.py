"""Householder reflectors and Givens rotations: the orthogonal building blocks of QR.

Chapter: ``chapters/linalg/qr.md`` (Householder and Givens QR). The same two kernels reduce a matrix
to Hessenberg, tridiagonal and bidiagonal form in the eigenvalue and SVD chapters.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import scipy.linalg.blas

from mathguide._validation import as_float_array, check_positive_int, check_real_scalar

__all__ = [
    "QR",
    "Givens",
    "Householder",
    "HouseholderQR",
    "PivotedQR",
    "apply_householder_q",
    "apply_householder_qt",
    "apply_householder_qt_blocked",
    "compact_wy",
    "givens_qr",
    "givens_rotation",
    "householder_qr",
    "householder_vector",
    "qr_blocked",
    "qr_column_pivoting",
]


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


# ----------------------------------------------------------------------------------------------
# QR factorisations built on the two kernels


class QR(NamedTuple):
    """``a == q @ r``: orthonormal columns ``q`` and upper triangular (trapezoidal) ``r``."""

    q: np.ndarray
    r: np.ndarray


class HouseholderQR(NamedTuple):
    """Householder QR in factored form: ``a == H_1 H_2 ... H_k [r; 0]`` with ``k = min(m, n)``.

    ``v`` is ``m``-by-``k`` unit lower trapezoidal (column ``j`` is the vector of ``H_j``, zero above
    row ``j``, one on it), ``beta`` has shape ``(k,)`` and ``r`` is ``k``-by-``n`` upper trapezoidal.
    ``Q = H_1 ... H_k`` is never formed: :func:`apply_householder_q` and :func:`apply_householder_qt`
    multiply by it.
    """

    v: np.ndarray
    beta: np.ndarray
    r: np.ndarray


class PivotedQR(NamedTuple):
    """``a[:, perm] == q @ r`` with ``|r[0, 0]| >= |r[1, 1]| >= ...``; ``rank`` is the numerical rank."""

    q: np.ndarray
    r: np.ndarray
    perm: np.ndarray
    rank: int


_MODES = ("reduced", "complete", "r", "factored")
# Width below which a panel is factored by rank-1 updates rather than split (as in lu.py).
_PANEL_LEAF = 8


def _power_of_two_scale(*arrays: np.ndarray) -> float:
    """A power of two ``s`` with ``s * max |entry|`` in ``[0.5, 1)`` over ``arrays`` (1 for zero or empty data).

    Multiplying by ``s`` is exact (barring subnormals), so relative accuracy is kept, while sums of
    squares (column norms, Gram matrices) can neither overflow nor underflow for data near the ends of
    the floating-point range (the idiom of ``symmetric_eigen`` and ``svd``).
    """
    largest = max((float(np.max(np.abs(x), initial=0.0)) for x in arrays), default=0.0)
    if largest == 0.0:
        return 1.0
    return math.ldexp(1.0, -math.frexp(largest)[1])


def _work_dtype(a: np.ndarray) -> np.dtype:
    """float32 stays float32; every other float type is computed in float64 (BLAS precisions)."""
    return np.dtype(np.float32) if a.dtype == np.float32 else np.dtype(np.float64)


def _as_matrix(a, name: str = "a") -> np.ndarray:
    a = as_float_array(a, name)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (m, n), got shape {a.shape}")
    return a


def _reflector(x: np.ndarray) -> tuple[np.ndarray, float, float]:
    """:func:`householder_vector` for one vector, without its checks and batching (the hot loop of
    the panel factorisation). Falls back to the scaled computation when ``x[1:] @ x[1:]`` could have
    overflowed or underflowed, or is zero."""
    info = np.finfo(x.dtype)
    with np.errstate(over="ignore", under="ignore"):  # detected just below, then done carefully
        sigma = float(x[1:] @ x[1:])
    if not (float(info.tiny) / float(info.eps) < sigma < float(info.max) * float(info.eps)):
        v, b, alpha = householder_vector(x)
        return v, float(b), float(alpha)
    x1 = float(x[0])
    norm = np.sqrt(x1 * x1 + sigma)
    alpha = -norm if x1 >= 0 else norm  # the sign that avoids cancellation in v1 = x1 - alpha
    v1 = x1 - alpha
    v = x / v1
    v[0] = 1
    return v, 2 * v1 * v1 / (v1 * v1 + sigma), alpha


def _householder_panel(w: np.ndarray, beta: np.ndarray) -> None:
    """Unblocked Householder QR of ``w`` in place (LAPACK ``xGEQR2``): ``R`` on and above the diagonal,
    the vectors ``v`` (without their unit first entries) below it, ``beta[j]`` for column ``j``."""
    m, n = w.shape
    for j in range(min(m, n)):
        v, b, alpha = _reflector(w[j:, j])
        beta[j] = b
        w[j, j] = alpha
        w[j + 1 :, j] = v[1:]
        if j + 1 < n and b != 0:
            # apply H_j = I - beta v v^T to the columns on the right: a rank-1 update
            block = w[j:, j + 1 :]
            block -= np.outer(b * v, v @ block)


def _split_factored(w: np.ndarray, beta: np.ndarray) -> HouseholderQR:
    k = min(w.shape)
    v = np.tril(w[:, :k], -1)
    v[np.arange(k), np.arange(k)] = 1
    return HouseholderQR(v, beta, np.triu(w[:k]))


def _finish(factors: HouseholderQR, m: int, mode: str):
    if mode == "factored":
        return factors
    if mode == "r":
        return factors.r
    k = factors.v.shape[1]
    columns = k if mode == "reduced" else m
    q = apply_householder_q(factors, np.eye(m, columns, dtype=factors.v.dtype))
    r = factors.r
    if mode == "complete":
        r = np.vstack([r, np.zeros((m - k, r.shape[1]), dtype=r.dtype)])
    return QR(q, r)


def _check_mode(mode: str) -> str:
    if not isinstance(mode, str) or mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    return mode


def householder_qr(a, *, mode: str = "reduced"):
    r"""Householder QR factorisation :math:`\mathbf{A} = \mathbf{Q}\mathbf{R}` of an ``m``-by-``n`` matrix.

    Column :math:`j` is reduced by the reflector :math:`\mathbf{H}_j` (from :func:`householder_vector`)
    that zeroes its entries below the diagonal; then
    :math:`\mathbf{H}_k\cdots\mathbf{H}_1\mathbf{A} = \mathbf{R}` and
    :math:`\mathbf{Q} = \mathbf{H}_1\cdots\mathbf{H}_k`, :math:`k = \min(m, n)`.

    Parameters
    ----------
    a : array_like of shape (m, n)
        Any finite real matrix: tall, square or wide, of any rank.
    mode : {"reduced", "complete", "r", "factored"}
        ``"reduced"``: ``QR(q, r)`` with ``q`` m-by-k, ``r`` k-by-n. ``"complete"``: ``q`` m-by-m,
        ``r`` m-by-n. ``"r"``: only ``r`` (k-by-n). ``"factored"``: :class:`HouseholderQR` (the
        reflectors, ``Q`` never formed).

    Returns
    -------
    QR, ndarray or HouseholderQR
        As chosen by ``mode``; float32 input gives float32 factors, other input float64. The diagonal
        of ``r`` may have either sign (the reflectors' sign choice avoids cancellation).

    Raises
    ------
    ValueError
        If ``a`` is not 2-D and finite, or ``mode`` is unknown.

    Notes
    -----
    :math:`2mn^2 - 2n^3/3` flops for the factored form (``m >= n``). Backward stable: the computed
    ``r`` is the exact R factor of :math:`\mathbf{A} + \Delta\mathbf{A}` with
    :math:`\|\Delta\mathbf{a}_j\|_2 \le \tilde\gamma_{mn}\|\mathbf{a}_j\|_2` for every column
    (Higham 2002, Theorem 19.4). Unblocked (level-2 BLAS): :func:`qr_blocked` is the fast version.

    References
    ----------
    Golub & Van Loan (2013), Algorithm 5.2.1. See the chapter ``chapters/linalg/qr.md``.
    """
    a = _as_matrix(a)
    mode = _check_mode(mode)
    w = np.array(a, dtype=_work_dtype(a), order="F", copy=True)
    beta = np.zeros(min(a.shape), dtype=w.dtype)
    _householder_panel(w, beta)
    return _finish(_split_factored(w, beta), a.shape[0], mode)


def _check_factors(factors, c, name: str = "c") -> tuple[np.ndarray, np.ndarray, bool]:
    if not isinstance(factors, HouseholderQR):
        raise TypeError(f"factors must be a HouseholderQR (householder_qr(..., mode='factored')), "
                        f"got {type(factors).__name__}")
    c = as_float_array(c, name)
    m = factors.v.shape[0]
    vector = c.ndim == 1
    if c.ndim not in (1, 2) or c.shape[0] != m:
        raise ValueError(f"{name} must have shape ({m},) or ({m}, p), got {c.shape}")
    out = np.array(c[:, None] if vector else c, dtype=np.result_type(c, factors.v), copy=True)
    return factors.v, out, vector


def apply_householder_q(factors: HouseholderQR, c) -> np.ndarray:
    r"""Multiply by the implicit :math:`\mathbf{Q} = \mathbf{H}_1\cdots\mathbf{H}_k` without forming it.

    Returns :math:`\mathbf{Q}\mathbf{C}`.

    Parameters
    ----------
    factors : HouseholderQR
        From ``householder_qr(a, mode="factored")`` or ``qr_blocked(a, mode="factored")``.
    c : array_like of shape (m,) or (m, p)

    Returns
    -------
    ndarray of the shape of ``c``
        :math:`\mathbf{Q}` is the full m-by-m orthogonal factor.

    Raises
    ------
    TypeError
        If ``factors`` is not a :class:`HouseholderQR`.
    ValueError
        If ``c`` does not have ``m`` rows or is not finite.

    Notes
    -----
    :math:`4mkp - 2k^2p` flops, against :math:`2m^2p` for a product with a formed ``Q``; the reflectors
    are applied in reverse order, :math:`\mathbf{H}_k` first. See the chapter ``chapters/linalg/qr.md``.
    """
    v, out, vector = _check_factors(factors, c)
    for j in reversed(range(v.shape[1])):
        if factors.beta[j] != 0:
            vj = v[j:, j]
            out[j:] -= np.outer(factors.beta[j] * vj, vj @ out[j:])
    return out[:, 0] if vector else out


def apply_householder_qt(factors: HouseholderQR, c) -> np.ndarray:
    r"""Multiply by :math:`\mathbf{Q}^\top = \mathbf{H}_k\cdots\mathbf{H}_1` without forming it.

    Same parameters, shapes and cost as :func:`apply_householder_q`; the reflectors are applied in
    order, :math:`\mathbf{H}_1` first. This is how least squares uses QR:
    :math:`\mathbf{Q}^\top\mathbf{b}` costs :math:`O(mn)`, forming :math:`\mathbf{Q}` costs
    :math:`O(m^2 n)`. See the chapter ``chapters/linalg/qr.md``.
    """
    v, out, vector = _check_factors(factors, c)
    for j in range(v.shape[1]):
        if factors.beta[j] != 0:
            vj = v[j:, j]
            out[j:] -= np.outer(factors.beta[j] * vj, vj @ out[j:])
    return out[:, 0] if vector else out


def _apply_rotation(x: np.ndarray, i: int, k: int, c, s) -> None:
    """Rows ``i`` and ``k`` of ``x`` become ``c x_i + s x_k`` and ``-s x_i + c x_k`` (in place)."""
    xi, xk = x[i].copy(), x[k]
    x[i] = c * xi + s * xk
    x[k] = -s * xi + c * xk


def givens_qr(a) -> QR:
    r"""QR factorisation by Givens rotations, zeroing each column from the bottom up.

    The entry :math:`a_{ij}` (:math:`i > j`) is zeroed against :math:`a_{i-1,j}` by a rotation of rows
    :math:`i-1` and :math:`i`; entries that are already zero are skipped, so an upper Hessenberg
    matrix costs :math:`n - 1` rotations (:math:`O(n^2)` flops) instead of :math:`O(n^2)` rotations.

    Parameters
    ----------
    a : array_like of shape (m, n)

    Returns
    -------
    QR(q, r)
        ``q`` m-by-m orthogonal (the product of the transposed rotations), ``r`` m-by-n upper
        trapezoidal, ``a == q @ r``.

    Raises
    ------
    ValueError
        If ``a`` is not 2-D and finite.

    Notes
    -----
    :math:`3mn^2 - n^3` flops for ``r`` of a dense ``m >= n`` matrix, 1.5 times Householder's, plus
    about :math:`6m^2n - 3mn^2` for the m-by-m ``q``, which is always formed (each of the
    :math:`mn - n^2/2` rotations also updates two rows of length :math:`m`); rotations win
    when the matrix is already almost triangular (Hessenberg matrices, a row appended to a
    triangular factor), because each one touches only two rows. Backward stable, like Householder
    QR (Higham 2002, section 19.6). See the chapter ``chapters/linalg/qr.md``.
    """
    a = _as_matrix(a)
    m, n = a.shape
    r = np.array(a, dtype=_work_dtype(a), copy=True)
    qt = np.eye(m, dtype=r.dtype)  # accumulates G_N ... G_1, so that qt @ a = r
    for j in range(min(m - 1, n)):
        for i in range(m - 1, j, -1):
            if r[i, j] == 0:
                continue
            c, s, rr = givens_rotation(r[i - 1, j], r[i, j])
            _apply_rotation(r[:, j:], i - 1, i, c, s)
            r[i - 1, j], r[i, j] = rr, 0  # exact zero, not a rounding residue
            _apply_rotation(qt, i - 1, i, c, s)
    return QR(qt.T.copy(), r)


# ----------------------------------------------------------------------------------------------
# blocked Householder QR (compact WY)


def _gemm(alpha, a: np.ndarray, b: np.ndarray, beta=0.0, c=None, *, trans_a: bool = False) -> np.ndarray:
    """``alpha op(a) @ b + beta c`` through SciPy's BLAS (one BLAS thread pool, see ``lu._gemm_update``)."""
    (gemm,) = scipy.linalg.blas.get_blas_funcs(("gemm",), (a, b))
    if c is None:
        return gemm(alpha, a, b, trans_a=int(trans_a))
    return gemm(alpha, a, b, beta=beta, c=c, trans_a=int(trans_a), overwrite_c=1)


def compact_wy(v, beta) -> np.ndarray:
    r"""The triangular factor :math:`\mathbf{T}` of the compact WY form
    :math:`\mathbf{H}_1\cdots\mathbf{H}_b = \mathbf{I} - \mathbf{V}\mathbf{T}\mathbf{V}^\top`.

    Built one reflector at a time (Schreiber and Van Loan, 1989): appending
    :math:`\mathbf{H}_{j} = \mathbf{I} - \beta_j\mathbf{v}_j\mathbf{v}_j^\top` gives

    .. math:: \mathbf{T}_{j} = \begin{bmatrix} \mathbf{T}_{j-1} & -\beta_j\mathbf{T}_{j-1}
              \mathbf{V}_{j-1}^\top\mathbf{v}_j \\ 0 & \beta_j \end{bmatrix}.

    Parameters
    ----------
    v : array_like of shape (m, b)
        The reflector vectors as columns.
    beta : array_like of shape (b,)

    Returns
    -------
    t : ndarray of shape (b, b)
        Upper triangular.

    Raises
    ------
    ValueError
        If the shapes do not match.

    Notes
    -----
    :math:`2mb^2 + b^3/3` flops: :math:`2mb^2` for the Gram matrix :math:`\mathbf{V}^\top\mathbf{V}`,
    formed by one general matrix product (``gemm``, which does not exploit its symmetry; ``syrk``
    would halve it), and :math:`b^3/3` for the triangular recurrence. See the chapter
    ``chapters/linalg/qr.md``.
    """
    v = _as_matrix(v, "v")
    beta = as_float_array(beta, "beta")
    b = v.shape[1]
    if beta.shape != (b,):
        raise ValueError(f"beta must have shape ({b},) to match v, got {beta.shape}")
    dtype = np.result_type(v, beta)
    gram = _gemm(1.0, v, v, trans_a=True) if b else np.zeros((0, 0), dtype)
    t = np.zeros((b, b), dtype=dtype)
    for j in range(b):
        t[j, j] = beta[j]
        if j:
            t[:j, j] = -beta[j] * (t[:j, :j] @ gram[:j, j])
    return t


def _unit_lower(w: np.ndarray) -> np.ndarray:
    """The reflector vectors stored below the diagonal of ``w``, with their unit first entries."""
    k = min(w.shape)
    v = np.tril(w[:, :k], -1)
    v[np.arange(k), np.arange(k)] = 1
    return np.asfortranarray(v)


def _panel_recursive(w: np.ndarray, beta: np.ndarray) -> None:
    """Householder QR of the panel ``w`` in place, splitting its columns in halves (Elmroth and
    Gustavson, 2000): factor the left half, apply its reflectors to the right half in compact WY form
    (matrix products), factor the bottom of the right half. Narrow leaves use rank-1 updates."""
    m, n = w.shape
    h = n // 2
    if n <= _PANEL_LEAF or h >= m:
        _householder_panel(w, beta)
        return
    left, right = w[:, :h], w[:, h:]
    _panel_recursive(left, beta[:h])
    v = _unit_lower(left)
    t = compact_wy(v, beta[:h])
    y = _gemm(1.0, v, right, trans_a=True)
    y = _gemm(1.0, t, y, trans_a=True)
    right[...] = _gemm(-1.0, v, y, 1.0, right)
    _panel_recursive(w[h:, h:], beta[h:])


def qr_blocked(a, *, block_size: int = 64, mode: str = "reduced"):
    r"""Blocked Householder QR: panels of ``block_size`` reflectors applied at once in compact WY form.

    For each panel of :math:`b` columns: factor it with :math:`b` reflectors (recursively, so that this
    too runs mostly in matrix products), build the
    :math:`b\times b` triangular :math:`\mathbf{T}` with :math:`\mathbf{H}_1\cdots\mathbf{H}_b =
    \mathbf{I} - \mathbf{V}\mathbf{T}\mathbf{V}^\top` (:func:`compact_wy`), and update the trailing
    columns with three matrix products,
    :math:`\mathbf{A}_2 \leftarrow \mathbf{A}_2 - \mathbf{V}\,(\mathbf{T}^\top(\mathbf{V}^\top\mathbf{A}_2))`.

    Parameters
    ----------
    a : array_like of shape (m, n)
    block_size : int
        Panel width :math:`b`, positive (keyword-only).
    mode : {"reduced", "complete", "r", "factored"}
        As in :func:`householder_qr`.

    Returns
    -------
    QR, ndarray or HouseholderQR
        The same factors as :func:`householder_qr` up to rounding (the same reflectors, applied in a
        different order of operations).

    Raises
    ------
    ValueError
        If ``a`` is not 2-D and finite, or ``mode`` is unknown.
    TypeError, ValueError
        If ``block_size`` is not a positive integer.

    Notes
    -----
    The same :math:`2mn^2 - 2n^3/3` flops as :func:`householder_qr` plus :math:`O(mnb)` for the
    :math:`\mathbf{T}` factors and products; all but :math:`O(mnb)` of them in matrix products. The
    default block size 64 comes from ``benchmarks/qr.py --tune`` at 2000 x 1000 on 2 cores, where
    48 to 128 performed alike within the noise of a shared machine. Forming ``Q`` (modes
    ``"reduced"``, ``"complete"``) uses the blocked reflectors too.

    References
    ----------
    Schreiber & Van Loan (1989); Golub & Van Loan (2013), section 5.2.3. See the chapter
    ``chapters/linalg/qr.md``.
    """
    a = _as_matrix(a)
    b = check_positive_int(block_size, "block_size")
    mode = _check_mode(mode)
    m, n = a.shape
    k = min(m, n)
    w = np.array(a, dtype=_work_dtype(a), order="F", copy=True)
    beta = np.zeros(k, dtype=w.dtype)
    for s in range(0, k, b):
        e = min(s + b, k)
        _panel_recursive(w[s:, s:e], beta[s:e])
        if e < n:
            v = _unit_lower(w[s:, s:e])
            t = compact_wy(v, beta[s:e])
            # A2 <- (I - V T V^T)^T A2 = A2 - V (T^T (V^T A2)): three matrix products
            y = _gemm(1.0, v, w[s:, e:], trans_a=True)
            y = _gemm(1.0, t, y, trans_a=True)
            w[s:, e:] = _gemm(-1.0, v, y, 1.0, w[s:, e:])
    factors = _split_factored(w, beta)
    if mode in ("factored", "r"):
        return _finish(factors, m, mode)
    columns = k if mode == "reduced" else m
    q = _apply_q_blocked(factors, np.eye(m, columns, dtype=w.dtype, order="F"), b, identity=True)
    r = factors.r
    if mode == "complete":
        r = np.vstack([r, np.zeros((m - k, n), dtype=r.dtype)])
    return QR(q, r)


def _apply_q_blocked(factors: HouseholderQR, c: np.ndarray, b: int, *, transpose: bool = False,
                     identity: bool = False) -> np.ndarray:
    """``Q c`` (or ``Q^T c``) with the reflectors grouped in blocks of ``b`` (compact WY), in place.

    ``identity=True`` says that ``c`` holds the first columns of the identity and ``Q c`` is wanted
    (forming ``Q``, as LAPACK ``xORGQR``): block ``s`` then touches only columns ``s:``, because the
    blocks applied before it (those after it in ``Q``) leave the first ``s`` columns equal to unit vectors.
    """
    v_all, beta = factors.v, factors.beta
    k = v_all.shape[1]
    starts = list(range(0, k, b))
    for s in (starts if transpose else reversed(starts)):
        e = min(s + b, k)
        v = np.asfortranarray(v_all[s:, s:e])
        t = compact_wy(v, beta[s:e])
        cols = slice(s, None) if identity else slice(None)
        y = _gemm(1.0, v, c[s:, cols], trans_a=True)
        y = _gemm(1.0, t, y, trans_a=transpose)
        c[s:, cols] = _gemm(-1.0, v, y, 1.0, c[s:, cols])
    return c


def apply_householder_qt_blocked(factors: HouseholderQR, c, *, block_size: int = 64) -> np.ndarray:
    r""":math:`\mathbf{Q}^\top\mathbf{C}` like :func:`apply_householder_qt`, with the reflectors applied
    ``block_size`` at a time in compact WY form (matrix products instead of rank-1 updates).

    Same parameters, shapes, errors and result as :func:`apply_householder_qt` up to rounding.
    See the chapter ``chapters/linalg/qr.md``.
    """
    _, out, vector = _check_factors(factors, c)
    b = check_positive_int(block_size, "block_size")
    out = _apply_q_blocked(factors, np.asfortranarray(out), b, transpose=True)
    return out[:, 0] if vector else out


# ----------------------------------------------------------------------------------------------
# QR with column pivoting


def qr_column_pivoting(a, *, rtol: float | None = None) -> PivotedQR:
    r"""Householder QR with column pivoting (Businger and Golub): :math:`\mathbf{A}\mathbf{P} = \mathbf{Q}\mathbf{R}`.

    At step :math:`j` the remaining column of largest norm (in rows :math:`j..m`) is swapped to
    position :math:`j` before it is reduced, so that
    :math:`|r_{11}| \ge |r_{22}| \ge \cdots` and each :math:`|r_{jj}|` is the largest column norm of
    the trailing block :math:`\mathbf{R}_{jj:,jj:}`. A small trailing block reveals a numerical rank.

    Parameters
    ----------
    a : array_like of shape (m, n)
    rtol : float, optional
        Relative threshold of the numerical rank: ``rank`` counts the :math:`|r_{jj}|` above
        ``rtol * |r_11|``. Default ``max(m, n) * eps`` of the working precision.

    Returns
    -------
    PivotedQR(q, r, perm, rank)
        ``a[:, perm] == q @ r`` with ``q`` m-by-k, ``r`` k-by-n, ``k = min(m, n)``.

    Raises
    ------
    ValueError
        If ``a`` is not 2-D and finite or ``rtol`` is negative.

    Notes
    -----
    The column norms are downdated, :math:`\nu_l^2 \leftarrow \nu_l^2 - r_{jl}^2`, at :math:`O(n)`
    per step, and recomputed from scratch when cancellation has eaten most of their digits (the
    safeguard of LAPACK ``xGEQP3``, Drmač and Bujanović 2008), on the matrix scaled by a power of two
    so that no norm overflows or underflows (``1e300 * a`` gives the same ``perm`` and ``rank`` as
    ``a``, and ``1e300`` times its ``r``). Rank revealing in practice, though
    not in the worst case (Kahan's matrix, in the chapter's pitfalls). Unblocked:
    :math:`4mnk - 2k^2(m + n) + 4k^3/3` flops.

    References
    ----------
    Businger & Golub (1965); Golub & Van Loan (2013), section 5.4.2. See the chapter
    ``chapters/linalg/qr.md``.
    """
    a = _as_matrix(a)
    factors, perm, rank, scale = _pivoted_factored(a, rtol)
    m, k = factors.v.shape
    q = apply_householder_q(factors, np.eye(m, k, dtype=factors.v.dtype))
    return PivotedQR(q, factors.r / scale, perm, rank)  # exact: undo the power-of-two scaling


def _pivoted_factored(a: np.ndarray, rtol) -> tuple[HouseholderQR, np.ndarray, int, float]:
    """:func:`qr_column_pivoting` in factored form: the factors of ``scale * a[:, perm]``, ``perm``,
    ``rank`` and the power of two ``scale`` (least squares applies the reflectors to ``b``)."""
    m, n = a.shape
    k = min(m, n)
    w = np.array(a, dtype=_work_dtype(a), order="F", copy=True)
    scale = _power_of_two_scale(w)
    w *= scale  # exact; the column norms and their downdates then neither overflow nor underflow
    eps = float(np.finfo(w.dtype).eps)
    if rtol is None:
        rtol = max(m, n) * eps
    rtol = check_real_scalar(rtol, "rtol")
    if rtol < 0:
        raise ValueError(f"rtol must be non-negative, got {rtol}")
    perm = np.arange(n)
    beta = np.zeros(k, dtype=w.dtype)
    norms = np.linalg.norm(w, axis=0)  # current norms of the trailing parts of the columns
    reference = norms.copy()  # norms when last computed exactly
    for j in range(k):
        p = j + int(np.argmax(norms[j:]))
        if p != j:
            w[:, [j, p]] = w[:, [p, j]]
            perm[[j, p]] = perm[[p, j]]
            norms[[j, p]] = norms[[p, j]]
            reference[[j, p]] = reference[[p, j]]
        v, bj, alpha = householder_vector(w[j:, j])
        beta[j] = bj
        w[j, j] = alpha
        w[j + 1 :, j] = v[1:]
        if j + 1 < n:
            block = w[j:, j + 1 :]
            if bj != 0:
                block -= np.outer(bj * v, v @ block)
            # downdate the norms: the entry of row j leaves the trailing part
            rest = norms[j + 1 :]
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(rest > 0, np.abs(w[j, j + 1 :]) / rest, 0.0)
            factor = np.maximum(0.0, 1.0 - ratio**2)
            # recompute where the downdated norm is no longer trustworthy
            with np.errstate(divide="ignore", invalid="ignore"):
                drift = factor * np.where(reference[j + 1 :] > 0, (rest / reference[j + 1 :]) ** 2, 0.0)
            stale = drift <= np.sqrt(eps)
            rest *= np.sqrt(factor)
            if j + 1 < m and np.any(stale):
                cols = np.flatnonzero(stale) + j + 1
                fresh = np.linalg.norm(w[j + 1 :, cols], axis=0)
                norms[cols] = fresh
                reference[cols] = fresh
            elif j + 1 >= m:
                rest[:] = 0
    factors = _split_factored(w, beta)
    diag = np.abs(np.diagonal(factors.r))
    rank = int(np.count_nonzero(diag > rtol * diag[0])) if k and diag[0] > 0 else 0
    return factors, perm, rank, scale
