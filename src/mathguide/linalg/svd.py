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

__all__ = ["Bidiagonal", "JacobiSVD", "bidiagonalize", "round_robin_pairs", "svd_jacobi"]


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
    (Demmel and Veselić 1992). See :ref:`chap-svd`.
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
    work = a.copy()
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
    sigma = np.linalg.norm(work, axis=0)
    order = np.argsort(-sigma, kind="stable")
    sigma, work, v = sigma[order], work[:, order], v[:, order]
    positive = sigma > 0
    u = np.zeros((m, n), dtype=dtype)
    u[:, positive] = work[:, positive] / sigma[positive]
    if not np.all(positive):  # complete an orthonormal set for the zero singular values
        rank = int(np.sum(positive))
        q, _ = np.linalg.qr(np.hstack([u[:, :rank], np.eye(m, dtype=dtype)]))
        u[:, rank:] = q[:, rank:n]
    return JacobiSVD(u, sigma.astype(dtype), v.T.copy(), bool(converged), sweeps, np.array(cosines))
