"""Krylov subspace methods: the Arnoldi and Lanczos processes and restarted GMRES.

Chapter: ``chapters/linalg/krylov.md``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg

from mathguide._validation import check_bool, check_int
from mathguide.linalg.conjugate_gradient import _check_symmetric
from mathguide.linalg.stationary import (
    IterativeSolution,
    _as_system_matrix,
    _as_vector,
    _matvec,
    _max_exponent,
    _maxiter,
    _norm,
    _result_dtype,
    _ScaledSystem,
    _tolerances,
)

__all__ = ["Arnoldi", "Lanczos", "arnoldi", "gmres", "lanczos"]


class Arnoldi(NamedTuple):
    """Result of :func:`arnoldi`: ``a @ q[:, :k] = q @ h`` with orthonormal columns of ``q``.

    Attributes
    ----------
    q : ndarray of shape (n, k + 1)
        Orthonormal basis of the Krylov space K_{k+1}(A, v). If the process broke down at step
        ``k`` (an invariant subspace was found), ``q`` has ``k`` columns and ``h`` is ``k``-by-``k``.
    h : ndarray of shape (k + 1, k)
        Upper Hessenberg matrix of the recurrence coefficients.
    """

    q: np.ndarray
    h: np.ndarray


class Lanczos(NamedTuple):
    """Result of :func:`lanczos`: ``a @ q[:, :k] = q[:, :k] @ T_k + beta[k-1] q[:, k] e_k^T``.

    Attributes
    ----------
    q : ndarray of shape (n, k + 1)
        The Lanczos vectors (orthonormal in exact arithmetic; see the chapter for what happens in
        floating point). On breakdown at step ``k``, ``q`` has ``k`` columns.
    alpha : ndarray of shape (k,)
        Diagonal of the tridiagonal matrix ``T_k``.
    beta : ndarray of shape (k,)
        Its off-diagonal (``beta[:-1]``) and the residual norm ``beta[-1]`` of the last step
        (length ``k - 1`` on breakdown).
    """

    q: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray


def _start_vector(v, n: int, dtype) -> np.ndarray:
    v = _as_vector(v, n, "v").astype(dtype)
    exponent = _max_exponent(v)
    if exponent is None:
        raise ValueError("v must be non-zero")
    v = np.ldexp(v, -exponent).astype(dtype, copy=False)  # exact; its norm can then not overflow
    return v / _norm(v)


def _scaled_matrix(a, dtype):
    """``(A_s, ea)`` with ``A_s = 2**-ea A`` exact, for data far out in the exponent range (see
    ``_ScaledSystem``); the Hessenberg or tridiagonal coefficients of ``A`` are ``2**ea`` times those of
    ``A_s``, and the basis is the same."""
    matrix, kind = _as_system_matrix(a, allow_operator=True)
    if kind != "operator":
        matrix = matrix.astype(dtype, copy=False)
    system = _ScaledSystem(matrix, kind, np.zeros(matrix.shape[0], dtype=dtype), None, dtype)
    return system.matrix, kind, system.a_shift


def arnoldi(a, v, k: int, *, reorthogonalize: bool = True) -> Arnoldi:
    r"""``k`` steps of the Arnoldi process: an orthonormal basis of :math:`\mathcal{K}_{k+1}(\mathbf{A}, \mathbf{v})`.

    Computes :math:`\mathbf{A}\mathbf{Q}_k = \mathbf{Q}_{k+1}\tilde{\mathbf{H}}_k` with
    :math:`\tilde{\mathbf{H}}_k` upper Hessenberg, by modified Gram-Schmidt.

    Parameters
    ----------
    a : ndarray, scipy.sparse matrix or LinearOperator of shape (n, n)
    v : array_like of shape (n,)
        Non-zero starting vector (normalised internally).
    k : int
        Number of steps, ``1 <= k <= n``.
    reorthogonalize : bool, optional
        Run Gram-Schmidt twice ("twice is enough"), keeping ``q`` orthonormal to working precision.
        A ``bool`` (or ``numpy.bool_``); anything else is a ``TypeError``.

    Returns
    -------
    Arnoldi
        ``(q, h)``; on breakdown (``h[j+1, j] == 0``, the Krylov space is invariant) the process stops
        early with square ``h``.

    Raises
    ------
    ValueError
        If shapes disagree, ``k`` is out of range, ``v`` is zero or an input contains NaN.

    Notes
    -----
    Cost: ``k`` products with ``a`` and :math:`O(nk^2)` flops for the orthogonalisation.
    See ``chapters/linalg/krylov.md``.
    """
    reorthogonalize = check_bool(reorthogonalize, "reorthogonalize")
    matrix, kind = _as_system_matrix(a, allow_operator=True)
    n = matrix.shape[0]
    k = check_int(k, "k", low=1, high=n)
    dtype = _result_dtype(matrix.dtype, np.asarray(v).dtype)
    matrix, kind, shift = _scaled_matrix(matrix, dtype)  # h is 2**shift times that of the scaled matrix
    matvec = _matvec(matrix, kind, n, dtype)
    q = np.zeros((n, k + 1), dtype=dtype)
    h = np.zeros((k + 1, k), dtype=dtype)
    q[:, 0] = _start_vector(v, n, dtype)
    scale = 0.0
    for j in range(k):
        w = matvec(q[:, j])
        scale = max(scale, _norm(w))
        for _ in range(2 if reorthogonalize else 1):
            for i in range(j + 1):
                coefficient = q[:, i] @ w
                h[i, j] += coefficient
                w = w - coefficient * q[:, i]
        h[j + 1, j] = _norm(w)
        if h[j + 1, j] <= n * np.finfo(dtype).eps * scale:  # invariant subspace: stop
            return Arnoldi(q[:, : j + 1].copy(), np.ldexp(h[: j + 1, : j + 1], shift).astype(dtype))
        q[:, j + 1] = w / h[j + 1, j]
    return Arnoldi(q, np.ldexp(h, shift).astype(dtype) if shift else h)


def lanczos(a, v, k: int, *, reorthogonalize: bool = False) -> Lanczos:
    r"""``k`` steps of the symmetric Lanczos process (three-term recurrence).

    For symmetric ``a`` the Arnoldi matrix is tridiagonal, :math:`\mathbf{T}_k = \mathrm{tridiag}(\beta,
    \alpha, \beta)`, and each step orthogonalises against the last two vectors only. Its eigenvalues
    (Ritz values) approximate the extreme eigenvalues of ``a``.

    Parameters
    ----------
    a : ndarray, scipy.sparse matrix or LinearOperator of shape (n, n)
        Symmetric (checked for dense and sparse input).
    v : array_like of shape (n,)
        Non-zero starting vector.
    k : int
        Number of steps, ``1 <= k <= n``.
    reorthogonalize : bool, optional
        Full reorthogonalisation against all previous vectors (twice). Without it (the default, the
        plain recurrence) the vectors lose orthogonality as Ritz values converge, and converged Ritz
        values reappear as copies ("ghosts"). A ``bool`` (or ``numpy.bool_``); anything else is a
        ``TypeError``.

    Returns
    -------
    Lanczos
        ``(q, alpha, beta)``; stops early on breakdown (``beta_j`` at rounding level).

    Raises
    ------
    ValueError
        If ``a`` is visibly non-symmetric, shapes disagree, ``k`` is out of range or ``v`` is zero.

    Notes
    -----
    Cost: ``k`` products with ``a`` and :math:`O(nk)` flops (:math:`O(nk^2)` with reorthogonalisation).
    See ``chapters/linalg/krylov.md``.
    """
    reorthogonalize = check_bool(reorthogonalize, "reorthogonalize")
    matrix, kind = _as_system_matrix(a, allow_operator=True)
    n = matrix.shape[0]
    k = check_int(k, "k", low=1, high=n)
    _check_symmetric(matrix, kind)
    dtype = _result_dtype(matrix.dtype, np.asarray(v).dtype)
    matrix, kind, shift = _scaled_matrix(matrix, dtype)  # alpha, beta are 2**shift times the scaled ones
    matvec = _matvec(matrix, kind, n, dtype)
    q = np.zeros((n, k + 1), dtype=dtype)
    alpha = np.zeros(k, dtype=dtype)
    beta = np.zeros(k, dtype=dtype)
    q[:, 0] = _start_vector(v, n, dtype)
    scale = 0.0

    def unscaled(values: np.ndarray) -> np.ndarray:
        return np.ldexp(values, shift).astype(dtype) if shift else values

    for j in range(k):
        w = matvec(q[:, j])
        scale = max(scale, _norm(w))
        if j > 0:
            w = w - beta[j - 1] * q[:, j - 1]
        alpha[j] = q[:, j] @ w
        w = w - alpha[j] * q[:, j]
        if reorthogonalize:
            for _ in range(2):
                w = w - q[:, : j + 1] @ (q[:, : j + 1].T @ w)
        beta[j] = _norm(w)
        if beta[j] <= n * np.finfo(dtype).eps * scale:
            return Lanczos(q[:, : j + 1].copy(), unscaled(alpha[: j + 1].copy()), unscaled(beta[:j].copy()))
        q[:, j + 1] = w / beta[j]
    return Lanczos(q, unscaled(alpha), unscaled(beta))


def gmres(
    a,
    b,
    *,
    x0=None,
    restart: int | None = None,
    rtol: float = 1e-8,
    atol: float = 0.0,
    maxiter: int | None = None,
) -> IterativeSolution:
    r"""Restarted GMRES(m): minimise :math:`\|\mathbf{b} - \mathbf{A}\mathbf{x}\|_2` over
    :math:`\mathbf{x}_0 + \mathcal{K}_j(\mathbf{A}, \mathbf{r}_0)`, restarting every ``restart`` steps.

    Parameters
    ----------
    a : ndarray, scipy.sparse matrix or LinearOperator of shape (n, n)
        Any non-singular real matrix.
    b : array_like of shape (n,)
    x0 : array_like of shape (n,), optional
        Starting vector (default zero).
    restart : int, optional
        Krylov dimension ``m`` before a restart (default ``min(n, 30)``); ``restart >= n`` is full GMRES.
    rtol, atol : float, optional
        Stop when :math:`\|\mathbf{r}\|_2 \le \max(\mathrm{rtol}\,\|\mathbf{b}\|_2, \mathrm{atol})`.
    maxiter : int, optional
        Maximum total number of inner steps (default ``10 n``). Each inner step is one product with
        ``a``; every restart and the end add one more, for the true residual.

    Returns
    -------
    IterativeSolution
        ``residual_norms[j]`` is the residual norm after inner step ``j`` (counted over all cycles) as
        given by the Givens-rotated least-squares problem; the final value is the recomputed true
        residual ``||b - A x||``. ``converged`` is decided on that true residual; if false, ``x`` is the
        last iterate.

    Raises
    ------
    TypeError
        If a LinearOperator ``a`` returns complex or non-numeric values.
    ValueError
        If shapes disagree, an input contains NaN, the tolerances or ``restart`` are invalid, or a
        LinearOperator ``a`` returns a vector of the wrong shape or a non-finite one.
    OverflowError
        If the solution itself lies beyond the float range.

    Notes
    -----
    Arnoldi with modified Gram-Schmidt and Givens rotations (Saad and Schultz, 1986). Within a cycle
    the residual norm never increases; a small ``restart`` can stagnate. Cost per inner step ``j``: one
    product with ``a`` and :math:`O(nj)` flops.

    Breakdown: if the Krylov space becomes invariant and ``a`` is non-singular on it, the solve is
    exact (a "lucky" breakdown). If ``a`` is (numerically) singular on it (the rotated diagonal entry is
    at most ``n eps ||A q_j||``; for example ``A r0 = 0``), the run ends with the minimal residual over
    the space and ``converged=False`` unless that residual meets the tolerance: no restart could lower
    it. Data far out in the exponent range are rescaled by powers of two first (exact; see
    :func:`mathguide.linalg.jacobi`). See ``chapters/linalg/krylov.md``.
    """
    matrix, kind = _as_system_matrix(a, allow_operator=True)
    n = matrix.shape[0]
    rhs = _as_vector(b, n, "b")
    rtol, atol = _tolerances(rtol, atol)
    maxiter = _maxiter(maxiter, 10 * n)
    restart = min(n, 30) if restart is None else check_int(restart, "restart", low=1)
    restart = min(restart, n)
    dtype = _result_dtype(matrix.dtype, rhs.dtype)
    if kind != "operator":
        matrix = matrix.astype(dtype, copy=False)
    start = None if x0 is None else _as_vector(x0, n, "x0").astype(dtype, copy=False)
    # Exact power-of-two scaling of data far out in the exponent range: GMRES runs on A_s y = b_s.
    system = _ScaledSystem(matrix, kind, rhs.astype(dtype, copy=False), start, dtype)
    matvec = _matvec(system.matrix, kind, n, dtype)
    negligible = n * float(np.finfo(dtype).eps)
    y = np.zeros(n, dtype=dtype) if system.y0 is None else system.y0
    threshold = system.threshold(rtol, atol)
    r = system.rhs - matvec(y)
    norms = [_norm(r)]
    steps = 0
    singular = False  # A is singular on an invariant Krylov space: no restart can reduce the residual
    while norms[-1] > threshold and steps < maxiter and not singular:
        beta = _norm(r)
        q = np.zeros((n, restart + 1), dtype=dtype)
        h = np.zeros((restart + 1, restart), dtype=dtype)
        cosines = np.zeros(restart, dtype=dtype)
        sines = np.zeros(restart, dtype=dtype)
        g = np.zeros(restart + 1, dtype=dtype)  # Q^T (beta e_1), rotated along
        g[0] = beta
        q[:, 0] = r / beta
        j = 0
        while j < restart and steps < maxiter:
            w = matvec(q[:, j])
            column = _norm(w)
            for i in range(j + 1):
                h[i, j] = q[:, i] @ w
                w = w - h[i, j] * q[:, i]
            h[j + 1, j] = _norm(w)
            # Breakdown: A q_j lies in the Krylov space already built, which is invariant under A.
            invariant = h[j + 1, j] <= negligible * column
            if not invariant:
                q[:, j + 1] = w / h[j + 1, j]
            for i in range(j):  # apply the earlier rotations to the new column
                h[i, j], h[i + 1, j] = (
                    cosines[i] * h[i, j] + sines[i] * h[i + 1, j],
                    -sines[i] * h[i, j] + cosines[i] * h[i + 1, j],
                )
            radius = np.hypot(h[j, j], h[j + 1, j])
            steps += 1
            if radius <= negligible * column:
                # The new column adds nothing (|r_jj| <= n u ||A q_j||, kappa(A) >= 1/(n u) on the
                # space): the least-squares problem is rank deficient, its residual stays |g_j|, and
                # the space is (numerically) invariant, so restarting cannot help. Not a lucky breakdown.
                singular = True
                norms.append(float(abs(g[j])))
                break
            cosines[j], sines[j] = h[j, j] / radius, h[j + 1, j] / radius
            h[j, j], h[j + 1, j] = radius, 0.0
            g[j], g[j + 1] = cosines[j] * g[j], -sines[j] * g[j]
            j += 1
            norms.append(float(abs(g[j])))
            if norms[-1] <= threshold or invariant:  # invariant: a lucky breakdown, solved exactly
                break
        if j > 0:
            coefficients = scipy.linalg.solve_triangular(h[:j, :j], g[:j], lower=False, check_finite=False)
            y = y + q[:, :j] @ coefficients
        r = system.rhs - matvec(y)
        norms[-1] = _norm(r)  # the true residual replaces the estimate at a restart and at the end
    return IterativeSolution(system.solution(y), bool(norms[-1] <= threshold), len(norms) - 1, system.norms(norms))
