"""Steepest descent, the conjugate gradient method and its preconditioners (Jacobi, SSOR, IC(0)).

Chapter: ``chapters/linalg/conjugate-gradient.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import scipy.linalg.blas
import scipy.sparse
import scipy.sparse.linalg

from mathguide._validation import as_float_array
from mathguide.linalg.stationary import (
    IterativeSolution,
    _as_system_matrix,
    _as_vector,
    _check_omega,
    _checked_matvec,
    _matvec,
    _max_exponent,
    _maxiter,
    _norm,
    _result_dtype,
    _ScaledSystem,
    _sparse_triangular_solver,
    _Splitting,
    _tolerances,
)

__all__ = [
    "conjugate_gradient",
    "ichol0",
    "ichol0_preconditioner",
    "jacobi_preconditioner",
    "ssor_preconditioner",
    "steepest_descent",
]


def _check_symmetric(matrix, kind: str) -> None:
    """Raise if a dense or sparse matrix is visibly non-symmetric (relative to its largest entry)."""
    if kind == "operator":
        return
    if kind == "dense":
        scale = float(np.max(np.abs(matrix), initial=0.0))
        gap = float(np.max(np.abs(matrix - matrix.T), initial=0.0))
    else:
        scale = float(np.max(np.abs(matrix.data), initial=0.0))
        difference = (matrix - matrix.T).tocsr()
        gap = float(np.max(np.abs(difference.data), initial=0.0))
    if gap > 100 * np.finfo(matrix.dtype).eps * scale:
        raise ValueError(f"a must be symmetric, but max|a - a.T| = {gap:.3g} (max|a| = {scale:.3g})")


def _as_preconditioner(preconditioner, n: int, dtype) -> Callable[[np.ndarray], np.ndarray] | None:
    """Normalise a preconditioner (the action of M^{-1}) to a function ``r -> z``.

    A callable or LinearOperator is checked at every call: a result of the wrong shape or dtype, or a
    non-finite one, is an error that names ``preconditioner``.
    """
    if preconditioner is None:
        return None
    what = "the action of M^-1 on a residual"
    if isinstance(preconditioner, scipy.sparse.linalg.LinearOperator) or scipy.sparse.issparse(preconditioner):
        if preconditioner.shape != (n, n):
            raise ValueError(f"preconditioner must have shape ({n}, {n}), got {preconditioner.shape}")
        if np.dtype(preconditioner.dtype).kind not in "biuf":
            raise TypeError(f"preconditioner must be real, got dtype {preconditioner.dtype}")
        if isinstance(preconditioner, scipy.sparse.linalg.LinearOperator):
            return _checked_matvec(preconditioner.matvec, n, dtype, "preconditioner", what)
        return preconditioner.__matmul__
    if callable(preconditioner):
        return _checked_matvec(preconditioner, n, dtype, "preconditioner", what)
    matrix = as_float_array(preconditioner, "preconditioner")
    if matrix.shape != (n, n):
        raise ValueError(f"preconditioner must have shape ({n}, {n}) or be callable, got {matrix.shape}")
    return matrix.__matmul__


def _normalised_preconditioner(apply_m, r: np.ndarray, window: int):
    """``apply_m`` times a power of two that brings ``M^{-1} r`` to the scale of ``r`` when the two are far
    apart. PCG's iterates do not change when ``M`` is multiplied by a positive constant, so this is
    exact; it keeps ``r @ z`` inside the float range for a preconditioner of any scale."""
    z = np.asarray(apply_m(r))
    z_exponent, r_exponent = _max_exponent(z), _max_exponent(r)
    if z_exponent is None or r_exponent is None or abs(z_exponent - r_exponent) <= window:
        return apply_m, z
    shift = r_exponent - z_exponent
    return (lambda v: np.ldexp(apply_m(v), shift).astype(z.dtype, copy=False)), np.ldexp(z, shift).astype(z.dtype)


def conjugate_gradient(
    a,
    b,
    *,
    x0=None,
    preconditioner=None,
    rtol: float = 1e-8,
    atol: float = 0.0,
    maxiter: int | None = None,
    callback: Callable[[np.ndarray], None] | None = None,
) -> IterativeSolution:
    r"""Solve :math:`\mathbf{A}\mathbf{x} = \mathbf{b}`, ``a`` symmetric positive definite, by (preconditioned) CG.

    Iterate :math:`k` minimises the A-norm of the error over :math:`\mathbf{x}_0 +
    \mathcal{K}_k(\mathbf{M}^{-1}\mathbf{A}, \mathbf{M}^{-1}\mathbf{r}_0)`.

    Parameters
    ----------
    a : ndarray, scipy.sparse matrix or LinearOperator of shape (n, n)
        Symmetric positive definite. Dense and sparse input is checked for symmetry.
    b : array_like of shape (n,)
        Right-hand side.
    x0 : array_like of shape (n,), optional
        Starting vector (default zero).
    preconditioner : callable, LinearOperator or matrix of shape (n, n), optional
        The action of :math:`\mathbf{M}^{-1}` for a symmetric positive definite :math:`\mathbf{M}
        \approx \mathbf{A}` (SciPy's convention for ``M``): ``z = preconditioner(r)`` or ``M @ r``.
        See :func:`jacobi_preconditioner`, :func:`ssor_preconditioner`, :func:`ichol0_preconditioner`.
    rtol, atol : float, optional
        Stop when :math:`\|\mathbf{r}_k\|_2 \le \max(\mathrm{rtol}\,\|\mathbf{b}\|_2, \mathrm{atol})`
        for the recursively updated residual, as ``scipy.sparse.linalg.cg`` does (one extra product
        with ``a`` at the end checks the true residual).
    maxiter : int, optional
        Maximum number of iterations (default ``10 n``).
    callback : callable, optional
        Called as ``callback(x_k)`` after every iteration; ``x_k`` must not be modified.

    Returns
    -------
    IterativeSolution
        ``(x, converged, iterations, residual_norms)``: the norms of the recursively updated residuals
        :math:`\|\mathbf{r}_k\|_2` (which decide when to stop), except the last entry, which is the
        recomputed true residual :math:`\|\mathbf{b} - \mathbf{A}\mathbf{x}\|_2`; ``converged`` is
        decided on that true residual, so a tolerance below the attainable accuracy (about
        :math:`u\|\mathbf{A}\|\|\mathbf{x}\|`) gives ``converged=False``. If the tolerance is not met
        after ``maxiter`` iterations, ``converged`` is false and ``x`` is the last iterate.

    Raises
    ------
    TypeError
        If ``a`` is not a real matrix or LinearOperator, or a LinearOperator ``a`` or a callable
        ``preconditioner`` returns complex or non-numeric values.
    ValueError
        If shapes disagree, an input contains NaN or inf, dense/sparse ``a`` is not symmetric, a
        LinearOperator ``a`` or a callable ``preconditioner`` returns a vector of the wrong shape or a
        non-finite one, or a direction :math:`\mathbf{p}` with
        :math:`\mathbf{p}^\top\mathbf{A}\mathbf{p} \le 0` (``a`` not positive definite) or a residual
        with :math:`\mathbf{r}^\top\mathbf{M}^{-1}\mathbf{r} \le 0` (preconditioner not positive
        definite) is met.
    OverflowError
        If the solution itself lies beyond the float range.

    Notes
    -----
    Per iteration: one product with ``a``, one preconditioner application, two inner products and three
    vector updates, done in place. In exact arithmetic CG ends in at most ``n`` steps; in floating
    point the directions lose conjugacy and convergence is delayed, not lost. float32 input gives
    float32 output. Data far out in the exponent range are rescaled by powers of two first (exact; see
    :func:`mathguide.linalg.jacobi`), and the preconditioner by a power of two when its output is far
    from the scale of the residual (PCG is invariant under ``M -> cM``): the iteration count does not
    change when ``b`` or ``a`` is multiplied by a power of two. See
    ``chapters/linalg/conjugate-gradient.md``.

    References
    ----------
    M. R. Hestenes and E. Stiefel (1952); Y. Saad, *Iterative Methods for Sparse Linear Systems*,
    2nd ed., algorithms 6.18 and 9.1.
    """
    matrix, kind = _as_system_matrix(a, allow_operator=True)
    n = matrix.shape[0]
    rhs = _as_vector(b, n, "b")
    rtol, atol = _tolerances(rtol, atol)
    maxiter = _maxiter(maxiter, 10 * n)
    _check_symmetric(matrix, kind)
    dtype = _result_dtype(matrix.dtype, rhs.dtype)
    if kind != "operator":
        matrix = matrix.astype(dtype, copy=False)
    start = None if x0 is None else _as_vector(x0, n, "x0").astype(dtype, copy=False)
    # Exact power-of-two scaling of data far out in the exponent range: CG runs on A_s y = b_s.
    system = _ScaledSystem(matrix, kind, rhs.astype(dtype, copy=False), start, dtype)
    matvec = _matvec(system.matrix, kind, n, dtype)
    apply_m = _as_preconditioner(preconditioner, n, dtype)
    y = np.zeros(n, dtype=dtype) if system.y0 is None else system.y0
    r = system.rhs.copy()
    if system.y0 is not None and np.any(y):
        r -= matvec(y)
    threshold = system.threshold(rtol, atol)
    # Below this, r @ r underflows and the recurrences lose their meaning: stop, the true residual decides.
    tiny = float(np.finfo(dtype).tiny / np.finfo(dtype).eps)
    # x += alpha p and r -= alpha q in one pass each, without temporaries (BLAS axpy, in place).
    axpy = scipy.linalg.blas.get_blas_funcs("axpy", dtype=dtype)
    if apply_m is None:
        z = r
    else:
        apply_m, z = _normalised_preconditioner(apply_m, r, np.finfo(dtype).maxexp // 8)
        z = np.asarray(z, dtype=dtype)
    rho = float(r @ z)  # r^T M^{-1} r
    norms = [_norm(r)]
    p = z.copy()
    k = 0
    while norms[k] > threshold and k < maxiter:
        if apply_m is not None and not rho > 0:
            raise ValueError(f"preconditioner is not positive definite: r^T M^-1 r = {rho:.3g} at iteration {k}")
        q = matvec(p)
        curvature = float(p @ q)
        if not curvature > 0:
            raise ValueError(f"a is not positive definite: p^T A p = {curvature:.3g} at iteration {k}")
        alpha = rho / curvature
        y = axpy(p, y, a=alpha)
        r = axpy(q, r, a=-alpha)
        if apply_m is None:
            rho_next = float(r @ r)
            norms.append(math.sqrt(rho_next) if rho_next >= tiny else _norm(r))
            z = r
        else:
            z = np.asarray(apply_m(r), dtype=dtype)
            rho_next = float(r @ z)
            norms.append(_norm(r))
        beta = rho_next / rho
        p *= beta  # p_{k+1} = z_{k+1} + beta_k p_k, in place
        p += z
        rho = rho_next
        k += 1
        if callback is not None:
            callback(system.solution(y))
        if not np.isfinite(norms[k]) or not abs(rho) >= tiny:
            break
    if k > 0:
        # The updated residual drifts from b - A x in floating point and can keep decreasing after the
        # true one has stagnated near u ||A|| ||x||: judge convergence on the true residual.
        norms[-1] = _norm(system.rhs - matvec(y))
    return IterativeSolution(system.solution(y), bool(norms[-1] <= threshold), k, system.norms(norms))


def steepest_descent(
    a, b, *, x0=None, rtol: float = 1e-8, atol: float = 0.0, maxiter: int | None = None
) -> IterativeSolution:
    r"""Steepest descent with exact line searches on the quadratic of an SPD system.

    ``x_{k+1} = x_k + (r_k^T r_k / r_k^T A r_k) r_k``; the A-norm of the error shrinks at least by
    :math:`(\kappa - 1)/(\kappa + 1)` per step. Parameters, return value and errors as for
    :func:`conjugate_gradient` (without preconditioner and callback); the default ``maxiter`` is
    ``100 n``. See ``chapters/linalg/conjugate-gradient.md``.
    """
    matrix, kind = _as_system_matrix(a, allow_operator=True)
    n = matrix.shape[0]
    rhs = _as_vector(b, n, "b")
    rtol, atol = _tolerances(rtol, atol)
    maxiter = _maxiter(maxiter, 100 * n)
    _check_symmetric(matrix, kind)
    dtype = _result_dtype(matrix.dtype, rhs.dtype)
    if kind != "operator":
        matrix = matrix.astype(dtype, copy=False)
    start = None if x0 is None else _as_vector(x0, n, "x0").astype(dtype, copy=False)
    system = _ScaledSystem(matrix, kind, rhs.astype(dtype, copy=False), start, dtype)  # exact scaling
    matvec = _matvec(system.matrix, kind, n, dtype)
    y = np.zeros(n, dtype=dtype) if system.y0 is None else system.y0
    r = system.rhs - matvec(y)
    threshold = system.threshold(rtol, atol)
    tiny = float(np.finfo(dtype).tiny / np.finfo(dtype).eps)
    norms = [_norm(r)]
    while norms[-1] > threshold and len(norms) <= maxiter:
        q = matvec(r)
        curvature = float(r @ q)
        rr = float(r @ r)
        if not rr >= tiny:  # r @ r underflows: no meaningful step is left; the residual decides
            break
        if not curvature > 0:
            raise ValueError(f"a is not positive definite: r^T A r = {curvature:.3g}")
        alpha = rr / curvature
        y = y + alpha * r
        r = r - alpha * q
        norms.append(_norm(r))
    # r is updated by recurrence: converged is judged on the true residual of the returned x.
    if len(norms) > 1:
        norms[-1] = _norm(system.rhs - matvec(y))
    return IterativeSolution(system.solution(y), bool(norms[-1] <= threshold), len(norms) - 1, system.norms(norms))


def jacobi_preconditioner(a) -> scipy.sparse.linalg.LinearOperator:
    r"""The Jacobi (diagonal) preconditioner: the action of :math:`\mathbf{D}^{-1}`, ``D = diag(a)``.

    ``a`` is a dense array or scipy.sparse matrix with a positive diagonal (``ValueError`` otherwise).
    See ``chapters/linalg/conjugate-gradient.md``.
    """
    matrix, _ = _as_system_matrix(a, allow_operator=False)
    diagonal = np.asarray(matrix.diagonal(), dtype=matrix.dtype)
    if not np.all(diagonal > 0):
        raise ValueError("a must have a positive diagonal for the Jacobi preconditioner")
    inverse = 1.0 / diagonal
    n = diagonal.size
    return scipy.sparse.linalg.LinearOperator((n, n), matvec=lambda r: inverse * np.ravel(r), dtype=matrix.dtype)


def ssor_preconditioner(a, omega: float = 1.0) -> scipy.sparse.linalg.LinearOperator:
    r"""The SSOR preconditioner: the action of :math:`\mathbf{M}_{\mathrm{SSOR}}^{-1}` (see ``ssor``).

    ``a`` is a dense array or scipy.sparse matrix with a positive diagonal; ``0 < omega < 2``.
    Each application costs two triangular solves. See ``chapters/linalg/conjugate-gradient.md``.
    """
    omega = _check_omega(omega)
    matrix, kind = _as_system_matrix(a, allow_operator=False)
    if not np.all(np.asarray(matrix.diagonal()) > 0):
        raise ValueError("a must have a positive diagonal for the SSOR preconditioner")
    splitting = _Splitting(matrix, kind, omega)
    n = matrix.shape[0]
    return scipy.sparse.linalg.LinearOperator(
        (n, n), matvec=lambda r: splitting.ssor_step(np.ravel(r)), dtype=matrix.dtype
    )


def ichol0(a) -> scipy.sparse.csr_matrix:
    r"""Incomplete Cholesky with zero fill-in, IC(0): lower-triangular ``L`` with the sparsity of ``tril(a)``.

    ``L`` is defined by :math:`(\mathbf{L}\mathbf{L}^\top)_{ij} = a_{ij}` for every :math:`(i, j)` in the
    pattern of the lower triangle of ``a``; entries outside that pattern are dropped. For a tridiagonal
    (or any "no fill") matrix it is the exact Cholesky factor.

    Parameters
    ----------
    a : ndarray or scipy.sparse matrix of shape (n, n)
        Symmetric with positive diagonal; only the lower triangle is read (after a symmetry check).

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n, n), float64
        The factor, with sorted indices.

    Raises
    ------
    ValueError
        If ``a`` is not square or symmetric, or the factorisation breaks down (a non-positive pivot,
        which can happen for SPD matrices that are not M-matrices; the message names the row).

    Notes
    -----
    Row-by-row (left-looking) algorithm in Python loops: cost :math:`O(\sum_i m_i^2)` with :math:`m_i` the
    number of entries in row ``i`` of ``tril(a)``, meant for the chapter's small grids, not for speed.
    Existence for M-matrices: Meijerink and van der Vorst (1977). See
    ``chapters/linalg/conjugate-gradient.md``.
    """
    matrix, kind = _as_system_matrix(a, allow_operator=False)
    _check_symmetric(matrix, kind)
    lower = scipy.sparse.tril(scipy.sparse.csr_matrix(matrix, dtype=np.float64), format="csr")
    lower.sum_duplicates()
    lower.sort_indices()
    n = lower.shape[0]
    indptr, indices = lower.indptr, lower.indices
    values = lower.data.copy()
    rows: list[dict[int, float]] = []  # row i of L as {column: value}
    for i in range(n):
        start, end = indptr[i], indptr[i + 1]
        columns = indices[start:end]
        if columns.size == 0 or columns[-1] != i:
            raise ValueError(f"ichol0 breaks down: a[{i}, {i}] is not stored (zero diagonal)")
        row: dict[int, float] = {}
        for position in range(start, end - 1):  # off-diagonal entries, left to right
            k = int(indices[position])
            row_k = rows[k]
            total = values[position]
            for j, l_ij in row.items():  # j < k, in the pattern of both rows
                l_kj = row_k.get(j)
                if l_kj is not None:
                    total -= l_ij * l_kj
            value = total / row_k[k]
            row[k] = value
            values[position] = value
        pivot = values[end - 1] - sum(v * v for v in row.values())
        if not pivot > 0:
            raise ValueError(f"ichol0 breaks down: non-positive pivot {pivot:.3g} in row {i}")
        row[i] = np.sqrt(pivot)
        values[end - 1] = row[i]
        rows.append(row)
    return scipy.sparse.csr_matrix((values, indices.copy(), indptr.copy()), shape=(n, n))


def ichol0_preconditioner(a) -> scipy.sparse.linalg.LinearOperator:
    r"""The IC(0) preconditioner: the action of :math:`(\mathbf{L}\mathbf{L}^\top)^{-1}`, ``L = ichol0(a)``.

    Each application costs two sparse triangular solves. Errors as for :func:`ichol0`.
    See ``chapters/linalg/conjugate-gradient.md``.
    """
    factor = ichol0(a)
    solve_lower = _sparse_triangular_solver(factor)
    solve_upper = _sparse_triangular_solver(factor.T)
    n = factor.shape[0]

    def apply(r: np.ndarray) -> np.ndarray:
        return solve_upper(solve_lower(np.ravel(r)))

    return scipy.sparse.linalg.LinearOperator((n, n), matvec=apply, dtype=np.float64)
