"""Jacobi's method for the symmetric eigenvalue problem: classical and cyclic orderings.

Chapter: ``chapters/linalg/jacobi.md``. Each step zeroes one off-diagonal pair by a plane rotation
(the symmetric Schur decomposition of a 2-by-2 principal submatrix); the off-diagonal norm falls
monotonically and, after a few sweeps, quadratically. With a relative stopping test the method finds
the eigenvalues of graded positive definite matrices to high relative accuracy (Demmel and Veselić).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from mathguide._validation import check_bool, check_int, check_real_scalar
from mathguide.linalg.symmetric_eigen import _power_of_two_scale, _symmetric_matrix, _unscaled

__all__ = ["JacobiEigen", "jacobi_eigh", "jacobi_rotation"]


class JacobiEigen(NamedTuple):
    """Eigenvalues (ascending), eigenvectors (columns) and the convergence record.

    ``off_norms[0]`` is the off-diagonal Frobenius norm of the input and ``off_norms[k]`` that after
    sweep ``k``; ``rotations`` counts the rotations applied.
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    converged: bool
    iterations: int
    off_norms: np.ndarray
    rotations: int


def jacobi_rotation(app: float, apq: float, aqq: float) -> tuple[float, float, float]:
    r"""The rotation that diagonalizes :math:`\begin{bmatrix} a_{pp} & a_{pq} \\ a_{pq} & a_{qq}\end{bmatrix}`.

    Returns ``(c, s, t)`` with :math:`t = s/c` the smaller root of :math:`t^2 + 2\tau t - 1 = 0`,
    :math:`\tau = (a_{qq} - a_{pp}) / (2a_{pq})`, so that with
    :math:`\mathbf{J} = \begin{bmatrix} c & s \\ -s & c\end{bmatrix}` the matrix
    :math:`\mathbf{J}^\top\mathbf{A}\mathbf{J}` is diagonal, with diagonal
    :math:`(a_{pp} - t a_{pq},\ a_{qq} + t a_{pq})`. The smaller root gives a rotation angle
    :math:`|\theta| \le \pi/4`, which is what makes the method converge.

    Parameters
    ----------
    app, apq, aqq : float
        The entries of the symmetric 2-by-2 matrix.

    Returns
    -------
    tuple of float
        ``(c, s, t)``; ``(1, 0, 0)`` when ``apq == 0``.

    Notes
    -----
    Golub and Van Loan, Algorithm 8.5.1 (written with ``hypot`` so that a huge :math:`\tau` does not
    overflow). See :ref:`chap-jacobi`.
    """
    app, apq, aqq = (check_real_scalar(x, name) for x, name in ((app, "app"), (apq, "apq"), (aqq, "aqq")))
    return _rotation(app, apq, aqq)


def _rotation(app: float, apq: float, aqq: float) -> tuple[float, float, float]:
    if apq == 0.0:
        return 1.0, 0.0, 0.0
    tau = (aqq - app) / (2.0 * apq)
    if math.isinf(tau):
        t = 0.0  # t ~ 1 / (2 tau) underflows: the rotation is the identity to working precision
    elif tau >= 0:
        t = 1.0 / (tau + math.hypot(1.0, tau))
    else:
        t = -1.0 / (-tau + math.hypot(1.0, tau))
    c = 1.0 / math.hypot(1.0, t)
    return c, t * c, t


def _off(a: np.ndarray, scale: float = 1.0) -> float:
    """Frobenius norm of the off-diagonal part of ``a / scale`` (summed directly: no cancellation).

    ``inf`` when it exceeds the largest double (possible only for entries near it).
    """
    with np.errstate(over="ignore"):
        return float(np.linalg.norm(a - np.diag(np.diagonal(a))) / scale)


def _rotate(a: np.ndarray, v: np.ndarray, p: int, q: int) -> bool:
    """Apply the Jacobi rotation of the pair ``(p, q)`` to ``a`` (both sides) and ``v`` in place."""
    apq = float(a[p, q])
    if apq == 0.0:
        return False
    app, aqq = float(a[p, p]), float(a[q, q])
    c, s, t = _rotation(app, apq, aqq)
    col_p, col_q = a[:, p].copy(), a[:, q].copy()
    a[:, p] = c * col_p - s * col_q
    a[:, q] = s * col_p + c * col_q
    row_p, row_q = a[p].copy(), a[q].copy()
    a[p] = c * row_p - s * row_q
    a[q] = s * row_p + c * row_q
    a[p, p], a[q, q] = app - t * apq, aqq + t * apq  # the exact diagonal of the rotated block
    a[p, q] = a[q, p] = 0.0
    vp, vq = v[:, p].copy(), v[:, q].copy()
    v[:, p] = c * vp - s * vq
    v[:, q] = s * vp + c * vq
    return True


def jacobi_eigh(
    a,
    *,
    cyclic: bool = True,
    tol: float | None = None,
    maxsweeps: int = 30,
) -> JacobiEigen:
    r"""Eigen-decomposition of a symmetric matrix by Jacobi rotations.

    Repeatedly picks a pair :math:`(p, q)` and applies the rotation of :func:`jacobi_rotation`,
    which zeroes :math:`a_{pq}` and lowers :math:`\mathrm{off}(\mathbf{A})^2` by :math:`2a_{pq}^2`.
    The *cyclic* method visits the pairs row by row, :math:`(1,2), (1,3), \dots, (n-1,n)`; the
    *classical* method always picks the largest :math:`|a_{pq}|`. A pair is skipped, and the method
    stops when every pair is, if :math:`|a_{pq}| \le \mathrm{tol}\sqrt{|a_{pp}a_{qq}|}`: this
    relative test is what preserves high relative accuracy on graded matrices.

    Parameters
    ----------
    a : array_like of shape (n, n)
        Symmetric matrix (symmetric up to rounding).
    cyclic : bool, optional
        Row-cyclic ordering (default) or, if False, the classical largest-entry ordering.
    tol : float, optional
        Relative threshold; default the machine epsilon of the input's dtype.
    maxsweeps : int, optional
        Maximum number of sweeps of :math:`n(n-1)/2` rotations (default 30).

    Returns
    -------
    JacobiEigen
        ``eigenvalues`` ascending, of shape (n,); ``eigenvectors`` of shape (n, n), orthogonal;
        ``converged`` (the relative test holds for every pair), ``iterations`` (sweeps),
        ``off_norms`` of shape (iterations + 1,), ``rotations``. If not converged, the current
        diagonal and rotation product are returned.

    Raises
    ------
    ValueError
        If ``a`` is not square, finite and symmetric, ``tol <= 0`` or ``maxsweeps < 0``.

    Notes
    -----
    A sweep is :math:`n(n-1)/2` rotations of :math:`12n` flops each on the matrix (rows and columns,
    symmetry not exploited) and :math:`6n` on the eigenvectors: about :math:`9n^3` flops (classical:
    plus an :math:`O(n^2)` search per rotation). 5 to 10 sweeps are typical. Convergence is
    quadratic once the eigenvalues are separated (Schönhage; Wilkinson). Rotations are applied with
    Python loops over pairs, so this is meant for matrices up to a few hundred rows. See
    :ref:`chap-jacobi`; Golub and Van Loan 8.5; Demmel and Veselić (1992). The matrix is first
    scaled by a power of two (exactly), so that the threshold's products cannot overflow.
    """
    a = _symmetric_matrix(a)
    cyclic = check_bool(cyclic, "cyclic")
    n = a.shape[0]
    dtype = a.dtype
    tol = float(np.finfo(dtype).eps) if tol is None else check_real_scalar(tol, "tol", positive=True)
    maxsweeps = check_int(maxsweeps, "maxsweeps", low=0)
    # scale by a power of two (exact) so that the products in the threshold cannot overflow
    scale = _power_of_two_scale(a)
    work = (np.tril(a) + np.tril(a, -1).T) * dtype.type(scale)
    v = np.eye(n, dtype=dtype)
    off_norms = [_off(work, scale)]
    pairs = [(p, q) for p in range(n - 1) for q in range(p + 1, n)]
    rows, cols = np.triu_indices(n, 1)
    sweeps = rotations = 0

    def small() -> np.ndarray:
        diag = np.abs(np.diagonal(work))
        return np.abs(work[rows, cols]) <= tol * np.sqrt(diag[rows]) * np.sqrt(diag[cols])

    converged = bool(np.all(small()))
    while not converged and sweeps < maxsweeps:
        if cyclic:
            for p, q in pairs:
                if abs(work[p, q]) > tol * math.sqrt(abs(work[p, p])) * math.sqrt(abs(work[q, q])):
                    rotations += _rotate(work, v, p, q)
        else:
            for _ in range(len(pairs)):
                diag = np.abs(np.diagonal(work))
                ratio = np.abs(work[rows, cols]) - tol * np.sqrt(diag[rows]) * np.sqrt(diag[cols])
                k = int(np.argmax(ratio))
                if ratio[k] <= 0:
                    break
                rotations += _rotate(work, v, int(rows[k]), int(cols[k]))
        sweeps += 1
        off_norms.append(_off(work, scale))
        converged = bool(np.all(small()))
    values = _unscaled(np.diagonal(work), scale, dtype)
    order = np.argsort(values, kind="stable")
    return JacobiEigen(values[order], v[:, order], converged, sweeps, np.array(off_norms), rotations)
