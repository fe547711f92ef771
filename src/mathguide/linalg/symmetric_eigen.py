"""The symmetric eigenvalue problem: tridiagonalization, implicit symmetric QR, Sturm bisection.

Chapter: ``chapters/linalg/symmetric-eigen.md``. A symmetric matrix is first reduced to tridiagonal
form by Householder similarity transformations (``tridiagonalize``); the eigenvalues of the
tridiagonal matrix are then found either all at once by the implicit QR algorithm with the Wilkinson
shift (``symmetric_qr_eigen``, Givens bulge chasing) or one at a time by bisection on Sturm counts
(``sturm_count``, ``bisection_eigenvalues``). ``secular_equation_roots`` solves the secular equation
of the divide-and-conquer method.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from mathguide._validation import as_float_array, as_square_matrix, check_bool, check_int, check_real_scalar
from mathguide.linalg.qr import householder_vector

__all__ = [
    "BisectionResult",
    "SymmetricEigen",
    "Tridiagonal",
    "bisection_eigenvalues",
    "SecularRoots",
    "secular_equation_roots",
    "sturm_count",
    "symmetric_qr_eigen",
    "tridiagonalize",
]


class Tridiagonal(NamedTuple):
    """``a == q @ T @ q.T`` with ``T`` tridiagonal: diagonal ``d``, off-diagonal ``e``."""

    d: np.ndarray
    e: np.ndarray
    q: np.ndarray | None


class SymmetricEigen(NamedTuple):
    """Eigenvalues (ascending), eigenvectors (columns, or None) and the convergence record.

    ``offdiag_history[k]`` is the off-diagonal entry at the bottom of the active block right after
    QR step ``k``: its decay shows the convergence of the shifted QR iteration.
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray | None
    converged: bool
    iterations: int
    offdiag_history: np.ndarray


class BisectionResult(NamedTuple):
    """Eigenvalues found by bisection, with the final bracket widths and the number of halvings."""

    eigenvalues: np.ndarray
    converged: bool
    iterations: int
    widths: np.ndarray


def _power_of_two_scale(*arrays: np.ndarray) -> float:
    """A power of two that brings the largest ``|entry|`` of ``arrays`` into ``[0.5, 1)``.

    Multiplying by it is exact (barring subnormals), so every relative accuracy is kept, and the
    squares formed by the iterations (``e**2`` in Sturm counts, column norms, shifts) neither
    overflow nor underflow for data near the ends of the floating-point range. 1 for zero data.
    When the largest entry is subnormal, the power of two needed exceeds the largest double: the
    scale is then ``2**1023`` (exact as well), which leaves the largest entry above ``2**-51``.
    """
    largest = max((float(np.max(np.abs(x), initial=0.0)) for x in arrays), default=0.0)
    if largest == 0.0:
        return 1.0
    return math.ldexp(1.0, min(-math.frexp(largest)[1], 1023))


def _unscaled(values, scale: float, dtype, name: str = "a", what: str = "an eigenvalue") -> np.ndarray:
    """``values / scale`` in ``dtype``; an ``OverflowError`` naming ``name`` if a value is not representable."""
    with np.errstate(over="ignore"):  # checked just below
        out = (np.asarray(values, dtype=np.float64) / scale).astype(dtype)
    if not np.all(np.isfinite(out)):
        raise OverflowError(f"{what} of {name} exceeds the largest {np.dtype(dtype)} ({np.finfo(dtype).max:.3g})")
    return out


def _symmetric_matrix(a, name: str = "a") -> np.ndarray:
    """``a`` as a square finite float matrix, refused if it is not symmetric up to rounding."""
    a = as_square_matrix(a, name)
    n = a.shape[0]
    scale = float(np.max(np.abs(a), initial=0.0))
    if np.max(np.abs(a - a.T), initial=0.0) > 16 * np.finfo(a.dtype).eps * scale * max(n, 1):
        raise ValueError(f"{name} must be symmetric")
    return a


def tridiagonalize(a, *, compute_q: bool = True) -> Tridiagonal:
    r"""Householder tridiagonalization :math:`\mathbf{A} = \mathbf{Q}\mathbf{T}\mathbf{Q}^\top` of a symmetric matrix.

    Step :math:`k` applies the reflector :math:`\mathbf{H}_k` that zeroes
    :math:`a_{k+2:n,k}` from both sides; by symmetry the two-sided update is the rank-two update
    :math:`\mathbf{A} \leftarrow \mathbf{A} - \mathbf{v}\mathbf{w}^\top - \mathbf{w}\mathbf{v}^\top`
    with :math:`\mathbf{p} = \beta\mathbf{A}\mathbf{v}` and
    :math:`\mathbf{w} = \mathbf{p} - \tfrac{\beta}{2}(\mathbf{p}^\top\mathbf{v})\mathbf{v}`.

    Parameters
    ----------
    a : array_like of shape (n, n)
        Symmetric matrix (symmetric up to rounding; its lower triangle is what is reduced).
    compute_q : bool, optional
        Accumulate the orthogonal factor ``q`` (default True); otherwise ``q`` is None.

    Returns
    -------
    Tridiagonal
        ``d`` of shape (n,), ``e`` of shape (n - 1,) and ``q`` of shape (n, n) with
        ``a = q @ (diag(d) + diag(e, 1) + diag(e, -1)) @ q.T``; the dtype of ``a`` (integers give
        float64).

    Raises
    ------
    ValueError
        If ``a`` is not square, finite and symmetric.

    Notes
    -----
    Cost :math:`4n^3/3` flops, plus :math:`4n^3/3` for ``q``; backward stable. Golub and Van Loan,
    Algorithm 8.3.1. See :ref:`chap-symmetric-eigen`.
    """
    a = _symmetric_matrix(a)
    compute_q = check_bool(compute_q, "compute_q")
    n = a.shape[0]
    work = np.tril(a) + np.tril(a, -1).T  # symmetric copy built from the lower triangle
    q = np.eye(n, dtype=a.dtype) if compute_q else None
    for k in range(n - 2):
        v, beta, alpha = householder_vector(work[k + 1 :, k])
        if beta == 0:
            continue  # the column is already reduced
        sub = work[k + 1 :, k + 1 :]  # a view: updated in place
        p = beta * (sub @ v)
        w = p - (beta * (p @ v) / 2) * v
        sub -= np.outer(v, w) + np.outer(w, v)
        work[k + 1 :, k] = 0  # H x = alpha e_1 for the column below the diagonal
        work[k, k + 1 :] = 0
        work[k + 1, k] = work[k, k + 1] = alpha
        if q is not None:
            block = q[:, k + 1 :]
            block -= np.outer(beta * (block @ v), v)
    d = np.diagonal(work).copy()
    e = np.diagonal(work, 1).copy()
    return Tridiagonal(d, e, q)


def _wilkinson_shift(a: float, b: float, c: float) -> float:
    """The eigenvalue of ``[[a, b], [b, c]]`` closer to ``c``, computed without cancellation."""
    delta = (a - c) / 2
    if b == 0:
        return c
    sign = 1.0 if delta >= 0 else -1.0
    return c - b * b / (delta + sign * math.hypot(delta, b))


def _givens(a: float, b: float) -> tuple[float, float, float]:
    """Scalar :func:`mathguide.linalg.givens_rotation` (same convention) for the bulge chase.

    The array version costs about 75 microseconds per call (validation and broadcasting), which a
    chase of ``n`` sequential rotations per QR step cannot afford; this one costs well under one.
    """
    r = math.hypot(a, b)
    if r == 0.0:
        return 1.0, 0.0, 0.0
    return a / r, b / r, r


def _qr_step(d: list, e: list, lo: int, hi: int, qt: np.ndarray | None) -> None:
    """One implicit symmetric QR step with the Wilkinson shift on the block ``lo..hi`` (in place).

    The first rotation is that of an explicit shifted QR step; it creates a bulge below the
    subdiagonal, which the next rotations chase down and off the matrix (Golub and Van Loan,
    Algorithm 8.3.2). ``qt`` holds the transposed eigenvector matrix; its rows ``k, k+1`` rotate.
    """
    mu = _wilkinson_shift(d[hi - 1], e[hi - 1], d[hi])
    x = d[lo] - mu
    z = e[lo]
    for k in range(lo, hi):
        c, s, r = _givens(x, z)
        if k > lo:
            e[k - 1] = r  # the bulge of the previous step is zeroed
        a, b, cc = d[k], e[k], d[k + 1]
        d[k] = c * c * a + 2 * c * s * b + s * s * cc
        d[k + 1] = s * s * a - 2 * c * s * b + c * c * cc
        e[k] = (c * c - s * s) * b + c * s * (cc - a)
        if k + 1 < hi:
            z = s * e[k + 1]  # the new bulge at (k, k + 2)
            e[k + 1] = c * e[k + 1]
            x = e[k]
        if qt is not None:
            row_k = qt[k].copy()
            qt[k] = c * row_k + s * qt[k + 1]
            qt[k + 1] = c * qt[k + 1] - s * row_k


def symmetric_qr_eigen(
    a,
    *,
    compute_vectors: bool = True,
    tol: float | None = None,
    maxiter: int | None = None,
) -> SymmetricEigen:
    r"""Eigenvalues (and eigenvectors) of a symmetric matrix by the implicit QR algorithm.

    The matrix is tridiagonalized (:func:`tridiagonalize`), then implicit QR steps with the
    Wilkinson shift are applied to the lowest unreduced block until every off-diagonal entry is
    negligible, :math:`|e_i| \le \mathrm{tol}\,(|d_i| + |d_{i+1}|)`, when it is set to zero.

    Parameters
    ----------
    a : array_like of shape (n, n)
        Symmetric matrix (symmetric up to rounding).
    compute_vectors : bool, optional
        Also return the orthonormal eigenvectors (default True).
    tol : float, optional
        Relative deflation threshold; default the float64 machine epsilon.
    maxiter : int, optional
        Maximum number of QR steps in total; default ``30 n``.

    Returns
    -------
    SymmetricEigen
        ``eigenvalues`` ascending, of shape (n,); ``eigenvectors`` of shape (n, n) with
        ``a @ V = V @ diag(eigenvalues)`` (or None); ``converged``; ``iterations`` (QR steps);
        ``offdiag_history`` of shape (iterations,). When ``converged`` is False the current
        diagonal is returned, which is not an accurate set of eigenvalues.

    Raises
    ------
    ValueError
        If ``a`` is not square, finite and symmetric, or ``tol`` is not positive.

    Notes
    -----
    The Givens rotations work in float64 on Python floats (one bulge chase is a sequential
    recurrence); float32 input gives float32 output. About :math:`2n` QR steps in total are typical
    (the Wilkinson shift converges cubically in practice and globally; Golub and Van Loan, 8.3).
    Eigenvalues are backward stable: each is within :math:`O(n\epsilon)\|\mathbf{A}\|_2` of exact.
    See :ref:`chap-symmetric-eigen`.
    """
    a = _symmetric_matrix(a)
    compute_vectors = check_bool(compute_vectors, "compute_vectors")
    n = a.shape[0]
    tol = float(np.finfo(np.float64).eps) if tol is None else check_real_scalar(tol, "tol", positive=True)
    maxiter = 30 * max(n, 1) if maxiter is None else check_int(maxiter, "maxiter", low=0)
    scale = _power_of_two_scale(a)  # exact; undone on the eigenvalues below
    tri = tridiagonalize(a.astype(np.float64) * scale, compute_q=compute_vectors)
    d, e = tri.d.tolist(), tri.e.tolist()
    qt = tri.q.T.copy() if compute_vectors else None
    history: list[float] = []
    iterations = 0
    converged = True
    hi = n - 1
    while hi > 0:
        for i in range(hi):  # deflate negligible couplings
            if abs(e[i]) <= tol * (abs(d[i]) + abs(d[i + 1])):
                e[i] = 0.0
        while hi > 0 and e[hi - 1] == 0.0:
            hi -= 1
        if hi == 0:
            break
        lo = hi - 1
        while lo > 0 and e[lo - 1] != 0.0:
            lo -= 1
        if iterations == maxiter:
            converged = False
            break
        _qr_step(d, e, lo, hi, qt)
        iterations += 1
        history.append(abs(e[hi - 1]) / scale)
    values = _unscaled(d, scale, a.dtype)
    order = np.argsort(values, kind="stable")
    vectors = None if qt is None else qt[order].T.astype(a.dtype)
    return SymmetricEigen(values[order], vectors, converged, iterations, np.array(history))


def _tridiagonal_arrays(d, e) -> tuple[np.ndarray, np.ndarray]:
    d = as_float_array(d, "d")
    e = as_float_array(e, "e")
    if d.ndim != 1 or d.shape[0] == 0:
        raise ValueError(f"d must be a non-empty 1-D array, got shape {d.shape}")
    if e.shape != (d.shape[0] - 1,):
        raise ValueError(f"e must have shape ({d.shape[0] - 1},) for len(d) = {d.shape[0]}, got {e.shape}")
    return d.astype(np.float64), e.astype(np.float64)


def _sturm(d: np.ndarray, e2: np.ndarray, x: np.ndarray, pivmin: float) -> np.ndarray:
    """Number of negative pivots of ``T - x I`` (``e2`` holds the squared off-diagonal)."""
    count = np.zeros(x.shape, dtype=np.int64)
    q = d[0] - x
    q = np.where(np.abs(q) < pivmin, -pivmin, q)
    count += q < 0
    for i in range(1, d.shape[0]):
        q = d[i] - x - e2[i - 1] / q
        q = np.where(np.abs(q) < pivmin, -pivmin, q)  # a zero pivot is perturbed, as in LAPACK
        count += q < 0
    return count


def _pivmin(d: np.ndarray, e: np.ndarray) -> float:
    tiny = np.finfo(np.float64).tiny
    return tiny * max(1.0, float(np.max(e * e, initial=0.0)))


def sturm_count(d, e, x):
    r"""Number of eigenvalues of the symmetric tridiagonal :math:`\mathbf{T}` that are less than ``x``.

    By Sylvester's law of inertia it is the number of negative pivots :math:`q_i` of the
    :math:`\mathbf{L}\mathbf{D}\mathbf{L}^\top` factorisation of :math:`\mathbf{T} - x\mathbf{I}`:
    :math:`q_1 = d_1 - x`, :math:`q_i = d_i - x - e_{i-1}^2 / q_{i-1}`. At a tie, when ``x`` is
    exactly an eigenvalue and a pivot comes out exactly zero, that eigenvalue is counted as well (the
    zero pivot is made negative, as in LAPACK): the count is then that of eigenvalues ``<= x``.

    Parameters
    ----------
    d : array_like of shape (n,)
        Diagonal, ``n >= 1``.
    e : array_like of shape (n - 1,)
        Off-diagonal.
    x : float or array_like
        Shift, or any array of shifts (the recurrence is vectorised over them).

    Returns
    -------
    int or ndarray of int
        A Python ``int`` for a scalar ``x``, otherwise an array of the shape of ``x``.

    Raises
    ------
    ValueError
        If ``d``, ``e`` have inconsistent shapes or non-finite entries, or ``x`` is NaN.

    Notes
    -----
    :math:`O(n)` per shift, in float64. A pivot that is exactly zero (or tinier than a safe minimum)
    is replaced by minus that minimum, as LAPACK's ``xLAEBZ`` does; this lowers :math:`d_i` by a
    negligible amount, which moves an eigenvalue sitting exactly at ``x`` below it (hence the count
    of eigenvalues ``<= x`` at ties), and bisection is unaffected. The computed count is exact for a
    matrix within a few ulps (relatively, entry by entry) of :math:`\mathbf{T}` (Demmel, 5.3.4).
    See :ref:`chap-symmetric-eigen`.
    """
    d, e = _tridiagonal_arrays(d, e)
    x_array = as_float_array(x, "x", allow_inf=True).astype(np.float64)
    scale = _power_of_two_scale(d, e)  # the count of T - x I equals that of sT - sx I
    d, e = d * scale, e * scale
    with np.errstate(over="ignore"):  # a huge x may become +-inf: the count is then 0 or n
        x_array = x_array * scale
    counts = _sturm(d, e * e, x_array, _pivmin(d, e))
    if x_array.ndim == 0:
        return int(counts)
    return counts


def bisection_eigenvalues(
    d, e, indices=None, *, tol: float | None = None, maxiter: int = 200
) -> BisectionResult:
    r"""Selected eigenvalues of a symmetric tridiagonal matrix by bisection on Sturm counts.

    The ``k``-th smallest eigenvalue (0-based) is the point where :func:`sturm_count` passes from
    ``k`` to ``k + 1``. All requested eigenvalues are bracketed by the Gershgorin interval and
    halved simultaneously (one vectorised Sturm count per step) until every bracket is narrower than
    ``tol``.

    Parameters
    ----------
    d : array_like of shape (n,)
        Diagonal.
    e : array_like of shape (n - 1,)
        Off-diagonal.
    indices : int or array_like of int, optional
        Which eigenvalues, 0-based in ascending order; default all of them.
    tol : float, optional
        Absolute bracket width; default :math:`2\epsilon\max(|\lambda_{\min}|, |\lambda_{\max}|)`
        estimated from the Gershgorin interval.
    maxiter : int, optional
        Maximum number of halvings (default 200).

    Returns
    -------
    BisectionResult
        ``eigenvalues`` (midpoints of the final brackets, in the order of ``indices``),
        ``converged`` (every bracket narrower than ``tol``), ``iterations`` (halvings),
        ``widths`` (final bracket widths).

    Raises
    ------
    ValueError
        For inconsistent or non-finite ``d``, ``e``, an index outside ``[0, n)``, or ``tol <= 0``.

    Notes
    -----
    Each halving costs :math:`O(n)` per requested eigenvalue; about 50 halvings reach full accuracy.
    The eigenvalues are found to an absolute accuracy of :math:`O(\epsilon)\|\mathbf{T}\|`
    (better for some graded matrices). See :ref:`chap-symmetric-eigen`.
    """
    d, e = _tridiagonal_arrays(d, e)
    n = d.shape[0]
    if indices is None:
        index_array = np.arange(n)
    else:
        index_array = np.asarray(indices)
        if index_array.dtype == bool or not np.issubdtype(index_array.dtype, np.integer):
            raise TypeError(f"indices must be integers, got dtype {index_array.dtype}")
        if np.any((index_array < 0) | (index_array >= n)):
            raise ValueError(f"indices must lie in [0, {n}), got {index_array}")
    maxiter = check_int(maxiter, "maxiter", low=0)
    scale = _power_of_two_scale(d, e)  # exact; e * e can then neither overflow nor underflow
    d, e = d * scale, e * scale
    radius = np.abs(np.r_[e, 0.0]) + np.abs(np.r_[0.0, e])
    lower, upper = float(np.min(d - radius)), float(np.max(d + radius))
    eps = float(np.finfo(np.float64).eps)
    if tol is None:
        tol = 2 * eps * max(abs(lower), abs(upper), float(np.finfo(np.float64).tiny))
    else:
        tol = check_real_scalar(tol, "tol", positive=True) * scale
    # widen the Gershgorin interval slightly so that rounding in the counts cannot exclude an end
    pad = 2 * n * eps * max(abs(lower), abs(upper)) + _pivmin(d, e)
    lo = np.full(index_array.shape, lower - pad)
    hi = np.full(index_array.shape, upper + pad)
    e2, pivmin = e * e, _pivmin(d, e)
    iterations = 0
    while iterations < maxiter and np.any(hi - lo > tol):
        mid = lo + (hi - lo) / 2
        above = _sturm(d, e2, mid, pivmin) > index_array  # eigenvalue k lies below mid
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
        iterations += 1
    widths = hi - lo
    converged = bool(np.all(widths <= tol))
    values = _unscaled(lo + widths / 2, scale, np.float64, "the tridiagonal matrix (d, e)")
    return BisectionResult(values, converged, iterations, _unscaled(widths, scale, np.float64, "d", "a bracket"))


class SecularRoots(NamedTuple):
    """Roots of the secular equation, ascending, and whether bisection resolved every bracket."""

    roots: np.ndarray
    converged: bool
    iterations: int


def secular_equation_roots(d, z, rho: float, *, maxiter: int = 200) -> SecularRoots:
    r"""The eigenvalues of :math:`\mathbf{D} + \rho\mathbf{z}\mathbf{z}^\top` from the secular equation.

    With distinct sorted :math:`d_1 < \dots < d_n`, all :math:`z_i \ne 0` and :math:`\rho > 0`, the
    eigenvalues are the roots of
    :math:`f(\lambda) = 1 + \rho\sum_i z_i^2 / (d_i - \lambda)`, one in each interval
    :math:`(d_i, d_{i+1})` and one in :math:`(d_n, d_n + \rho\|\mathbf{z}\|^2)`: the heart of the
    divide-and-conquer method. Solved here by bisection on all intervals at once (LAPACK's
    ``xLAED4`` uses a faster rational interpolation instead).

    Parameters
    ----------
    d : array_like of shape (n,)
        Strictly increasing diagonal.
    z : array_like of shape (n,)
        Update vector with no zero entry.
    rho : float
        Positive weight.
    maxiter : int, optional
        Largest number of halvings (default 200).

    Returns
    -------
    SecularRoots
        ``roots`` of shape (n,), ascending; ``converged`` is true when every bracket is down to a
        relative width of about the unit roundoff of its root (``2 eps |root|``) or to adjacent
        floating-point numbers; ``iterations`` is the number of halvings done.

    Raises
    ------
    ValueError
        If ``d`` is not strictly increasing, ``z`` has a zero entry or the wrong shape, or
        ``rho <= 0``.

    Notes
    -----
    The root in :math:`(d_i, d_{i+1})` is found in the variable :math:`\lambda - d_i`, so that the
    differences :math:`d_j - \lambda` are formed accurately near the pole. See
    :ref:`chap-symmetric-eigen`; Demmel, section 5.3.3.
    """
    d = as_float_array(d, "d").astype(np.float64)
    z = as_float_array(z, "z").astype(np.float64)
    rho = check_real_scalar(rho, "rho", positive=True)
    maxiter = check_int(maxiter, "maxiter", low=1)
    if d.ndim != 1 or d.shape[0] == 0:
        raise ValueError(f"d must be a non-empty 1-D array, got shape {d.shape}")
    if z.shape != d.shape:
        raise ValueError(f"z must have the shape of d, {d.shape}, got {z.shape}")
    if np.any(np.diff(d) <= 0):
        raise ValueError("d must be strictly increasing")
    if np.any(z == 0):
        raise ValueError("z must have no zero entry (deflate those components first)")
    n = d.shape[0]
    z2 = z * z
    width = np.r_[np.diff(d), rho * float(np.sum(z2))]  # bracket (d_i, d_i + width_i)
    lo, hi = np.zeros(n), width.copy()
    # delta[i, j] = d_j - d_i: the poles seen from the left end of bracket i, computed once
    delta = d[None, :] - d[:, None]
    eps = np.finfo(np.float64).eps

    def resolved(lo, hi):
        # adjacent floats, or a bracket narrower than the rounding error of the root d_i + lo
        mid = lo + (hi - lo) / 2
        return (mid == lo) | (mid == hi) | (hi - lo <= 2 * eps * np.abs(d + mid))

    iterations = 0
    while iterations < maxiter and not np.all(resolved(lo, hi)):
        mid = lo + (hi - lo) / 2
        f = 1 + rho * np.sum(z2 / (delta - mid[:, None]), axis=1)
        # f increases from -inf to +inf on each bracket: a positive value means the root is left
        hi, lo = np.where(f > 0, mid, hi), np.where(f > 0, lo, mid)
        iterations += 1
    return SecularRoots(d + (lo + (hi - lo) / 2), bool(np.all(resolved(lo, hi))), iterations)
