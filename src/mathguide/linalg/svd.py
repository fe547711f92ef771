"""Computing the SVD: Golub-Kahan bidiagonalization and the one-sided Jacobi SVD.

Chapter: ``chapters/linalg/svd.md``. ``bidiagonalize`` is the first phase of every LAPACK SVD
(``gesvd``, ``gesdd``); ``svd_jacobi`` is the one-sided (Hestenes) Jacobi method, which
orthogonalizes the columns by plane rotations and finds the singular values of column-graded
matrices to high relative accuracy (Demmel and Veselić).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mathguide._validation import as_float_array, check_int, check_real_scalar
from mathguide.linalg.qr import householder_vector
from mathguide.linalg.symmetric_eigen import _givens, _power_of_two_scale, _wilkinson_shift

__all__ = [
    "Bidiagonal",
    "GolubKahanSVD",
    "JacobiSVD",
    "bidiagonalize",
    "round_robin_pairs",
    "svd_golub_kahan",
    "svd_jacobi",
]


class Bidiagonal(NamedTuple):
    """``a == u @ B @ v.T`` with ``B`` upper bidiagonal: diagonal ``d``, superdiagonal ``e``."""

    u: np.ndarray
    d: np.ndarray
    e: np.ndarray
    v: np.ndarray


class JacobiSVD(NamedTuple):
    """Thin SVD ``a == u @ diag(s) @ vt`` (``s`` descending) and the convergence record.

    ``cosines[k]`` is the largest :math:`|\\cos\\angle(\\mathbf{a}_i, \\mathbf{a}_j)|` over column
    pairs at the start of sweep ``k`` (and, last, at the end).
    """

    u: np.ndarray
    s: np.ndarray
    vt: np.ndarray
    converged: bool
    iterations: int
    cosines: np.ndarray


class GolubKahanSVD(NamedTuple):
    """Thin SVD ``a == u @ diag(s) @ vt`` (``s`` descending) and the convergence record.

    ``offdiag_history[k]`` is the superdiagonal entry at the bottom of the active block after step
    ``k`` (zero-diagonal chases record the entry too).
    """

    u: np.ndarray
    s: np.ndarray
    vt: np.ndarray
    converged: bool
    iterations: int
    offdiag_history: np.ndarray


def _matrix(a, name: str = "a") -> np.ndarray:
    a = as_float_array(a, name)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (m, n), got shape {a.shape}")
    return a


def bidiagonalize(a) -> Bidiagonal:
    r"""Golub-Kahan bidiagonalization :math:`\mathbf{A} = \mathbf{U}\mathbf{B}\mathbf{V}^\top` of a tall matrix.

    Householder reflectors are applied alternately from the left (zeroing column :math:`k` below
    the diagonal) and from the right (zeroing row :math:`k` right of the superdiagonal).

    Parameters
    ----------
    a : array_like of shape (m, n), m >= n
        The matrix (for a wide matrix, bidiagonalize ``a.T``).

    Returns
    -------
    Bidiagonal
        ``u`` of shape (m, n) with orthonormal columns, ``d`` of shape (n,), ``e`` of shape
        (n - 1,) (``(0,)`` when ``n == 0``), ``v`` of shape (n, n) orthogonal; the dtype of ``a``.

    Raises
    ------
    ValueError
        If ``a`` is not a finite 2-D array with ``m >= n``.

    Notes
    -----
    Cost :math:`4mn^2 - 4n^3/3` flops without the factors; backward stable, so the singular values
    of ``B`` are those of a matrix within :math:`O(\epsilon)\|\mathbf{A}\|_2` of ``a``: small
    singular values get only absolute accuracy. Golub and Van Loan, Algorithm 5.4.2. See
    :ref:`chap-svd`.
    """
    a = _matrix(a)
    m, n = a.shape
    if m < n:
        raise ValueError(f"a must have at least as many rows as columns, got shape {a.shape}; pass a.T")
    work = a.copy()
    u = np.eye(m, dtype=a.dtype)
    v = np.eye(n, dtype=a.dtype)
    for k in range(n):
        left = householder_vector(work[k:, k])
        if left.beta != 0:
            block = work[k:, k:]
            block -= np.outer(left.v, left.beta * (left.v @ block))
            u[:, k:] -= np.outer(left.beta * (u[:, k:] @ left.v), left.v)
        work[k + 1 :, k] = 0
        if k < n - 2:
            right = householder_vector(work[k, k + 1 :])
            if right.beta != 0:
                block = work[k:, k + 1 :]
                block -= np.outer(right.beta * (block @ right.v), right.v)
                v[:, k + 1 :] -= np.outer(right.beta * (v[:, k + 1 :] @ right.v), right.v)
            work[k, k + 2 :] = 0
    return Bidiagonal(u[:, :n], np.diagonal(work).copy(), np.diagonal(work, 1).copy(), v)


def round_robin_pairs(n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """A round-robin schedule: ``n - 1`` (or ``n``) rounds of disjoint pairs covering all pairs once.

    The circle method: fix one index, rotate the others one place per round, pair the ``i``-th from
    the left with the ``i``-th from the right. Rotations on disjoint pairs commute, so each round is
    applied as one vectorised step.

    Parameters
    ----------
    n : int
        Number of indices, ``n >= 0``.

    Returns
    -------
    list of (ndarray, ndarray)
        For each round, the arrays ``p`` and ``q`` of paired indices (``p < q`` elementwise).
    """
    n = check_int(n, "n", low=0)
    players = list(range(n)) + ([-1] if n % 2 else [])  # -1: a bye when n is odd
    size = len(players)
    rounds = []
    for _ in range(size - 1):
        pairs = [(players[i], players[size - 1 - i]) for i in range(size // 2)]
        pairs = [(min(x, y), max(x, y)) for x, y in pairs if x >= 0 and y >= 0]
        rounds.append((np.array([p for p, _ in pairs], dtype=int), np.array([q for _, q in pairs], dtype=int)))
        players = [players[0], players[-1], *players[1:-1]]
    return rounds


def svd_jacobi(a, *, tol: float | None = None, maxsweeps: int = 30) -> JacobiSVD:
    r"""Thin SVD by the one-sided (Hestenes) Jacobi method.

    Right-multiplies :math:`\mathbf{A}` by plane rotations until its columns are mutually orthogonal
    to working precision: :math:`\mathbf{A}\mathbf{V} = \mathbf{U}\mathbf{\Sigma}`. The rotation of a
    pair of columns :math:`(\mathbf{a}_i, \mathbf{a}_j)` is the Jacobi rotation that diagonalizes
    their :math:`2\times 2` Gram matrix, with entries :math:`\|\mathbf{a}_i\|^2`,
    :math:`\mathbf{a}_i^\top\mathbf{a}_j` and :math:`\|\mathbf{a}_j\|^2` (two-sided Jacobi on
    :math:`\mathbf{A}^\top\mathbf{A}`, never forming it). A pair is rotated
    while :math:`|\mathbf{a}_i^\top\mathbf{a}_j| > \mathrm{tol}\,\|\mathbf{a}_i\|\|\mathbf{a}_j\|`.
    Pairs are visited in round-robin order (:func:`round_robin_pairs`), each round vectorised.

    Parameters
    ----------
    a : array_like of shape (m, n)
        Any real matrix; a wide one is handled through its transpose.
    tol : float, optional
        Threshold on the cosine of the angle between two columns; default
        :math:`\sqrt{m}\,\epsilon` for the dtype of ``a`` (as LAPACK's ``xGESVJ``).
    maxsweeps : int, optional
        Maximum number of sweeps over all pairs (default 30).

    Returns
    -------
    JacobiSVD
        ``u`` (m, k), ``s`` (k,) descending, ``vt`` (k, n) with ``k = min(m, n)``; ``converged``,
        ``iterations`` (sweeps), ``cosines`` (largest column cosine before each sweep and at the
        end). Columns of ``u`` for zero singular values complete an orthonormal set.

    Raises
    ------
    ValueError
        If ``a`` is not a finite 2-D array, ``tol <= 0`` or ``maxsweeps < 0``.

    Notes
    -----
    A sweep is :math:`n(n-1)/2` rotations of about :math:`12m + 6n` flops (three inner products,
    two columns of ``a`` and two of ``V``): :math:`6mn^2 + 3n^3` flops. The number of sweeps depends
    on the matrix (about 10 for a Gaussian matrix, more for a graded spectrum; preconditioning by a
    pivoted QR reduces it, see the chapter). For
    :math:`\mathbf{A} = \mathbf{B}\mathbf{D}` with :math:`\mathbf{D}` diagonal, each singular value
    is found with a relative error of order :math:`\epsilon\,\kappa(\mathbf{B}_c)`, where
    :math:`\mathbf{B}_c` is ``a`` with unit columns, however badly scaled :math:`\mathbf{D}` is
    (Demmel and Veselić 1992). The matrix is first scaled by a power of two (exactly) so that the
    squared column norms cannot overflow or underflow. See :ref:`chap-svd`.
    """
    a = _matrix(a)
    maxsweeps = check_int(maxsweeps, "maxsweeps", low=0)
    if a.shape[0] < a.shape[1]:
        result = svd_jacobi(a.T, tol=tol, maxsweeps=maxsweeps)
        return JacobiSVD(result.vt.T, result.s, result.u.T, result.converged, result.iterations, result.cosines)
    m, n = a.shape
    dtype = a.dtype
    eps = float(np.finfo(dtype).eps)
    tol = np.sqrt(m) * eps if tol is None else check_real_scalar(tol, "tol", positive=True)
    scale = _power_of_two_scale(a)
    work = a * dtype.type(scale)  # a copy, scaled exactly: no overflow in the squared norms
    v = np.eye(n, dtype=dtype)
    schedule = round_robin_pairs(n)

    def largest_cosine() -> float:
        norms = np.linalg.norm(work, axis=0)
        safe = np.where(norms > 0, norms, 1)
        unit = work / safe
        gram = np.abs(unit.T @ unit) - np.eye(n, dtype=dtype)
        return float(np.max(gram, initial=0.0))

    cosines = [largest_cosine()]
    sweeps = 0
    converged = cosines[0] <= tol
    while not converged and sweeps < maxsweeps:
        rotated = False
        for p, q in schedule:
            if p.size == 0:
                continue
            ap, aq = work[:, p], work[:, q]  # copies (fancy indexing)
            alpha = np.einsum("ij,ij->j", ap, ap)
            beta = np.einsum("ij,ij->j", aq, aq)
            gamma = np.einsum("ij,ij->j", ap, aq)
            act = np.abs(gamma) > tol * np.sqrt(alpha) * np.sqrt(beta)
            if not np.any(act):
                continue
            rotated = True
            safe_gamma = np.where(act, gamma, 1)
            with np.errstate(over="ignore"):
                zeta = (beta - alpha) / (2 * safe_gamma)
                t = np.sign(zeta + (zeta == 0)) / (np.abs(zeta) + np.hypot(1, zeta))  # |angle| <= pi/4
            t = np.where(act, t, 0).astype(dtype)
            c = 1 / np.hypot(1, t)
            s = c * t
            work[:, p] = c * ap - s * aq
            work[:, q] = s * ap + c * aq
            vp, vq = v[:, p], v[:, q]
            v[:, p] = c * vp - s * vq
            v[:, q] = s * vp + c * vq
        sweeps += 1
        cosines.append(largest_cosine())
        converged = not rotated or cosines[-1] <= tol
    sigma = np.linalg.norm(work, axis=0)  # of the scaled matrix; unscaled below
    order = np.argsort(-sigma, kind="stable")
    sigma, work, v = sigma[order], work[:, order], v[:, order]
    positive = sigma > 0
    u = np.zeros((m, n), dtype=dtype)
    u[:, positive] = work[:, positive] / sigma[positive]
    if not np.all(positive):  # complete an orthonormal set for the zero singular values
        rank = int(np.sum(positive))
        q, _ = np.linalg.qr(np.hstack([u[:, :rank], np.eye(m, dtype=dtype)]))
        u[:, rank:] = q[:, rank:n]
    sigma = (sigma.astype(np.float64) / scale).astype(dtype)
    return JacobiSVD(u, sigma, v.T.copy(), bool(converged), sweeps, np.array(cosines))


def _rotate_columns(mat: np.ndarray, i: int, j: int, c: float, s: float) -> None:
    """``mat[:, [i, j]] <- mat[:, [i, j]] @ [[c, -s], [s, c]]`` in place."""
    col_i = mat[:, i].copy()
    mat[:, i] = c * col_i + s * mat[:, j]
    mat[:, j] = c * mat[:, j] - s * col_i


def _rotate_rows(mat: np.ndarray, i: int, j: int, c: float, s: float) -> None:
    """``mat[[i, j]] <- [[c, s], [-s, c]] @ mat[[i, j]]`` in place."""
    row_i = mat[i].copy()
    mat[i] = c * row_i + s * mat[j]
    mat[j] = c * mat[j] - s * row_i


def _chase_zero_diagonal(b, u, v, k: int, lo: int, hi: int) -> None:
    """``b[k, k]`` is zero: rotate the coupling entry of row (or column) ``k`` out of the block."""
    b[k, k] = 0.0
    if k < hi:  # zero row k right of the diagonal with rotations from the left
        for j in range(k + 1, hi + 1):
            c, s, _ = _givens(b[j, j], b[k, j])
            _rotate_rows(b, j, k, c, s)
            b[k, j] = 0.0
            _rotate_columns(u, j, k, c, s)
    else:  # k == hi: zero column hi above the diagonal with rotations from the right
        for j in range(hi - 1, lo - 1, -1):
            c, s, _ = _givens(b[j, j], b[j, hi])
            _rotate_columns(b, j, hi, c, s)
            b[j, hi] = 0.0
            _rotate_columns(v, j, hi, c, s)


def _golub_kahan_step(b, u, v, lo: int, hi: int) -> None:
    """One implicit-shift QR step on the unreduced bidiagonal block ``lo..hi`` of ``b`` (in place).

    The shift is the Wilkinson shift of the trailing 2-by-2 block of ``B^T B``; the first right
    rotation is that of the shifted QR step on ``B^T B``, and alternating left and right rotations
    chase the bulge down (Golub and Van Loan, Algorithm 8.6.1).
    """
    d_prev, d_last, e_last = b[hi - 1, hi - 1], b[hi, hi], b[hi - 1, hi]
    e_prev = b[hi - 2, hi - 1] if hi - 1 > lo else 0.0
    mu = _wilkinson_shift(d_prev**2 + e_prev**2, d_prev * e_last, d_last**2 + e_last**2)
    y, z = b[lo, lo] ** 2 - mu, b[lo, lo] * b[lo, lo + 1]
    for k in range(lo, hi):
        c, s, _ = _givens(y, z)
        _rotate_columns(b, k, k + 1, c, s)  # from the right: bulge appears at (k + 1, k)
        if k > lo:
            b[k - 1, k + 1] = 0.0
        _rotate_columns(v, k, k + 1, c, s)
        c, s, _ = _givens(b[k, k], b[k + 1, k])
        _rotate_rows(b, k, k + 1, c, s)  # from the left: bulge moves to (k, k + 2)
        b[k + 1, k] = 0.0
        _rotate_columns(u, k, k + 1, c, s)
        if k < hi - 1:
            y, z = b[k, k + 1], b[k, k + 2]


def svd_golub_kahan(a, *, tol: float | None = None, maxiter: int | None = None) -> GolubKahanSVD:
    r"""Thin SVD by Golub-Kahan bidiagonalization and implicit-shift bidiagonal QR.

    :func:`bidiagonalize` gives :math:`\mathbf{A} = \mathbf{U}\mathbf{B}\mathbf{V}^\top`; implicit QR
    steps with the Wilkinson shift of :math:`\mathbf{B}^\top\mathbf{B}` (never formed) are applied to
    the lowest unreduced block until every superdiagonal entry is negligible,
    :math:`|e_i| \le \mathrm{tol}\,(|d_i| + |d_{i+1}|)`. A diagonal entry below
    :math:`\mathrm{tol}\,\max|b_{ij}|` is set to zero and its row (or column) is rotated out, which
    splits the problem.

    Parameters
    ----------
    a : array_like of shape (m, n)
        Any real matrix; a wide one is handled through its transpose.
    tol : float, optional
        Relative deflation threshold; default the float64 machine epsilon.
    maxiter : int, optional
        Maximum number of QR steps (and zero-diagonal chases) in total; default ``30 min(m, n)``.

    Returns
    -------
    GolubKahanSVD
        ``u`` (m, k), ``s`` (k,) descending and non-negative, ``vt`` (k, n) with ``k = min(m, n)``;
        ``converged``, ``iterations``, ``offdiag_history``. If not converged, the current diagonal
        (with signs removed) is returned.

    Raises
    ------
    ValueError
        If ``a`` is not a finite 2-D array, ``tol <= 0`` or ``maxiter < 0``.

    Notes
    -----
    Works in float64 (float32 input gives float32 output). Each QR step costs :math:`O(k)` flops on
    ``B`` plus :math:`O(mk)` for the singular vectors; one to two steps per singular value are
    typical on random matrices. Backward stable: each singular value is found to within :math:`O(\epsilon)\sigma_1`
    absolutely, not relatively (compare :func:`svd_jacobi`). Golub and Kahan (1965); Golub and Van
    Loan, 8.6. See :ref:`chap-svd`.
    """
    a = _matrix(a)
    if a.shape[0] < a.shape[1]:
        result = svd_golub_kahan(a.T, tol=tol, maxiter=maxiter)
        return GolubKahanSVD(
            result.vt.T, result.s, result.u.T, result.converged, result.iterations, result.offdiag_history
        )
    m, n = a.shape
    tol = float(np.finfo(np.float64).eps) if tol is None else check_real_scalar(tol, "tol", positive=True)
    maxiter = 30 * max(n, 1) if maxiter is None else check_int(maxiter, "maxiter", low=0)
    scale = _power_of_two_scale(a)  # exact; keeps the squares in the shift finite and nonzero
    factors = bidiagonalize(a.astype(np.float64) * scale)
    b = np.diag(factors.d) + np.diag(factors.e, 1)
    u, v = factors.u.copy(), factors.v.copy()
    b_max = float(np.max(np.abs(b), initial=0.0))
    history: list[float] = []
    iterations = 0
    converged = True
    hi = n - 1
    while hi > 0:
        for i in range(hi):  # deflate negligible couplings
            if abs(b[i, i + 1]) <= tol * (abs(b[i, i]) + abs(b[i + 1, i + 1])):
                b[i, i + 1] = 0.0
        while hi > 0 and b[hi - 1, hi] == 0.0:
            hi -= 1
        if hi == 0:
            break
        lo = hi - 1
        while lo > 0 and b[lo - 1, lo] != 0.0:
            lo -= 1
        if iterations == maxiter:
            converged = False
            break
        iterations += 1
        small = [k for k in range(lo, hi + 1) if abs(b[k, k]) <= tol * b_max]
        if small:
            _chase_zero_diagonal(b, u, v, small[0], lo, hi)
        else:
            _golub_kahan_step(b, u, v, lo, hi)
        history.append(abs(b[hi - 1, hi]) / scale)
    sigma = np.diagonal(b).copy()
    v = np.where(np.signbit(sigma), -v, v)  # make every singular value non-negative
    sigma = np.abs(sigma) / scale
    order = np.argsort(-sigma, kind="stable")
    dtype = a.dtype
    return GolubKahanSVD(
        u[:, order].astype(dtype),
        sigma[order].astype(dtype),
        v[:, order].T.astype(dtype),
        converged,
        iterations,
        np.array(history),
    )
