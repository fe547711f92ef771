"""Power methods: power, inverse and Rayleigh-quotient iteration, subspace iteration, PageRank.

Chapter: ``chapters/linalg/power-iteration.md``. Each routine is iterative and returns a NamedTuple
with its answer, a ``converged`` flag, the number of ``iterations`` and the history of the quantity
it monitors; an unconverged answer is returned with ``converged=False``.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np
import scipy.linalg

from mathguide._validation import (
    as_float_array,
    as_square_matrix,
    check_int,
    check_real_scalar,
)

__all__ = [
    "EigenpairResult",
    "PageRankResult",
    "SubspaceIterationResult",
    "inverse_iteration",
    "pagerank",
    "power_iteration",
    "rayleigh_quotient_iteration",
    "subspace_iteration",
]


class EigenpairResult(NamedTuple):
    """One eigenpair estimate and its convergence record.

    ``eigenvalue`` (float), ``eigenvector`` (unit 2-norm), ``converged``, ``iterations``,
    ``eigenvalue_history`` (the Rayleigh quotient after each iteration) and ``residual_norms``
    (:math:`\\|A x - \\lambda x\\|_2 / \\|A\\|_F` after each iteration).
    """

    eigenvalue: float
    eigenvector: np.ndarray
    converged: bool
    iterations: int
    eigenvalue_history: np.ndarray
    residual_norms: np.ndarray


class SubspaceIterationResult(NamedTuple):
    """Result of :func:`subspace_iteration` (see its docstring)."""

    eigenvalues: np.ndarray
    basis: np.ndarray
    converged: bool
    iterations: int
    residual_norms: np.ndarray


class PageRankResult(NamedTuple):
    """Result of :func:`pagerank` (see its docstring)."""

    scores: np.ndarray
    converged: bool
    iterations: int
    residual_norms: np.ndarray


def _power_of_two_exponent(array: np.ndarray) -> int:
    """The ``e`` for which ``ldexp(max|entry|, e)`` is in ``[0.5, 1)``; 0 for zero data.

    Multiplying by :math:`2^e` (``numpy.ldexp``) is exact, barring subnormals: the iterations then run on
    a matrix of norm near 1, where squares (norms, Rayleigh quotients) neither overflow nor underflow,
    and the eigenvalues are scaled back exactly. (The idiom of ``symmetric_eigen._power_of_two_scale``,
    as an exponent so that subnormal data can be scaled up by more than the largest float.)
    """
    largest = float(np.max(np.abs(array), initial=0.0))
    if largest == 0.0 or not np.isfinite(largest):
        return 0
    return -math.frexp(largest)[1]


def _unscale(values: np.ndarray, exponent: int) -> np.ndarray:
    """``values * 2**-exponent``, exactly, for real or complex arrays."""
    if np.iscomplexobj(values):
        return np.ldexp(values.real, -exponent) + 1j * np.ldexp(values.imag, -exponent)
    return np.ldexp(values, -exponent)


def _norm2(v: np.ndarray) -> float:
    """The 2-norm (Frobenius for a matrix) without overflow or underflow of the squares."""
    largest = float(np.max(np.abs(v), initial=0.0))
    if largest == 0.0 or not np.isfinite(largest):
        return largest
    return largest * float(np.linalg.norm(v / largest))


def _setup(a, x0, tol, maxiter):
    """Validate the common arguments; return (scaled a, x unit vector, norm of scaled a, tol, maxiter, scale).

    ``a`` is multiplied by ``2**scale`` (exact) so that its largest entry is in [0.5, 1): eigenvalues
    of the scaled matrix are ``2**scale`` times those of ``a``, with the same eigenvectors and
    the same relative residuals, at any magnitude of the input.
    """
    a = as_square_matrix(a, "a")
    n = a.shape[0]
    x = as_float_array(x0, "x0")
    if x.shape != (n,):
        raise ValueError(f"x0 must have shape ({n},) to match a, got {x.shape}")
    dtype = np.result_type(a, x)
    scale = _power_of_two_exponent(a)
    a = np.ldexp(a.astype(dtype), scale)
    x = np.ldexp(x.astype(dtype), _power_of_two_exponent(x))
    norm_x = _norm2(x)
    if norm_x == 0:
        raise ValueError("x0 must be nonzero")
    eps = float(np.finfo(dtype).eps)
    tol = 1e3 * eps if tol is None else check_real_scalar(tol, "tol", positive=True)
    maxiter = check_int(maxiter, "maxiter", low=0)
    norm_a = _norm2(a)
    return a, x / dtype.type(norm_x), (norm_a if norm_a > 0 else 1.0), tol, maxiter, scale


def _rayleigh_residual(a, x, norm_a):
    """Rayleigh quotient x^T A x of a unit vector and the relative residual ||A x - rho x|| / ||A||_F."""
    ax = a @ x
    rho = float(x @ ax)
    return rho, _norm2(ax - rho * x) / norm_a


def _result(rhos, x, residuals, tol, iterations, scale) -> EigenpairResult:
    """The eigenpair result, with the eigenvalues of the scaled matrix scaled back (exactly)."""
    rhos = _unscale(np.array(rhos), scale)
    residuals = np.array(residuals)
    return EigenpairResult(float(rhos[-1]), x, bool(residuals[-1] <= tol), iterations, rhos, residuals)


def _shifted_lu(a, shift):
    """LU factors of ``A - shift I``; exactly zero pivots are replaced by ``eps ||A||``.

    A shift that is an eigenvalue to working precision is the *goal* of inverse iteration, not an
    error: the solve then returns a huge vector in the eigenvector's direction, which is what we want.
    """
    n = a.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        lu, piv = scipy.linalg.lu_factor(a - shift * np.eye(n, dtype=a.dtype), check_finite=False)
    diag = np.diagonal(lu).copy()
    tiny = np.finfo(a.dtype).eps * max(float(np.linalg.norm(a)), np.finfo(a.dtype).tiny)
    diag[diag == 0] = tiny
    np.fill_diagonal(lu, diag)
    return lu, piv


def _solve_normalised(factors, x):
    with np.errstate(over="ignore", invalid="ignore"):
        y = scipy.linalg.lu_solve(factors, x, check_finite=False)
    norm_y = _norm2(y)
    if not np.isfinite(norm_y):  # overflow in a nearly singular solve: rescale and retry
        y = scipy.linalg.lu_solve(factors, x * np.finfo(x.dtype).eps, check_finite=False)
        norm_y = _norm2(y)
    return y / norm_y


def power_iteration(a, x0, *, tol: float | None = None, maxiter: int = 1000) -> EigenpairResult:
    r"""Dominant eigenpair by the power method, :math:`\mathbf{x}_{k+1} \propto \mathbf{A}\mathbf{x}_k`.

    If :math:`|\lambda_1| > |\lambda_2| \ge \dots` and ``x0`` has a component along the dominant
    eigenvector, the direction of :math:`\mathbf{x}_k` converges to it linearly with rate
    :math:`|\lambda_2/\lambda_1|`. The eigenvalue estimate is the Rayleigh quotient
    :math:`\mathbf{x}_k^\top\mathbf{A}\mathbf{x}_k`.

    Parameters
    ----------
    a : array_like of shape (n, n)
        Real square matrix.
    x0 : array_like of shape (n,)
        Nonzero starting vector.
    tol : float, optional
        Stop when :math:`\|\mathbf{A}\mathbf{x} - \rho\mathbf{x}\|_2 \le \mathrm{tol}\,\|\mathbf{A}\|_F`;
        default :math:`10^3\epsilon_{\text{mach}}` of the working precision.
    maxiter : int, optional
        Maximum number of iterations (matrix-vector products), default 1000.

    Returns
    -------
    EigenpairResult
        ``eigenvalue``, ``eigenvector`` (unit norm), ``converged``, ``iterations``,
        ``eigenvalue_history`` and ``residual_norms`` (one entry per iteration, starting with ``x0``).
        When the tolerance is not met the last iterate is returned with ``converged=False`` (as
        happens when the dominant eigenvalues are a complex pair or :math:`\pm\lambda`).

    Raises
    ------
    ValueError
        If ``a`` is not square, ``x0`` has the wrong shape or is zero, ``tol`` is not positive or
        ``maxiter`` is negative.

    Notes
    -----
    Cost :math:`2n^2` flops per iteration. ``a`` is first multiplied by a power of two (exact) that
    brings its largest entry into [0.5, 1), and the eigenvalues are scaled back: the norms and
    Rayleigh quotients neither overflow nor underflow, so the same iterations and the same relative
    residuals result at any magnitude of ``a`` (also in the other routines of this module).
    Golub and Van Loan, section 7.3.1.
    Chapter: ``chapters/linalg/power-iteration.md``.
    """
    a, x, norm_a, tol, maxiter, scale = _setup(a, x0, tol, maxiter)
    rho, res = _rayleigh_residual(a, x, norm_a)
    rhos, residuals = [rho], [res]
    iterations = 0
    while res > tol and iterations < maxiter:
        y = a @ x
        norm_y = _norm2(y)
        if norm_y == 0:  # x is in the null space: eigenvalue 0 (residual below is zero)
            break
        x = y / norm_y
        rho, res = _rayleigh_residual(a, x, norm_a)
        rhos.append(rho)
        residuals.append(res)
        iterations += 1
    return _result(rhos, x, residuals, tol, iterations, scale)


def inverse_iteration(
    a, shift, x0, *, tol: float | None = None, maxiter: int = 1000
) -> EigenpairResult:
    r"""The eigenpair nearest a shift :math:`\sigma` by inverse iteration.

    Iterates :math:`\mathbf{x}_{k+1} \propto (\mathbf{A} - \sigma\mathbf{I})^{-1}\mathbf{x}_k`.

    This is the power method on :math:`(\mathbf{A} - \sigma\mathbf{I})^{-1}`, whose dominant eigenvalue
    is :math:`1/(\lambda_j - \sigma)` for the eigenvalue :math:`\lambda_j` closest to :math:`\sigma`:
    linear convergence with rate :math:`|\lambda_j - \sigma| / |\lambda_k - \sigma|`,
    :math:`\lambda_k` the second closest.

    Parameters
    ----------
    a : array_like of shape (n, n)
        Real square matrix.
    shift : float
        The shift :math:`\sigma`; it may equal an eigenvalue (then one step suffices).
    x0 : array_like of shape (n,)
        Nonzero starting vector.
    tol, maxiter
        As in :func:`power_iteration`.

    Returns
    -------
    EigenpairResult
        As in :func:`power_iteration`; ``eigenvalue`` is the Rayleigh quotient of the iterate.

    Raises
    ------
    ValueError
        As in :func:`power_iteration`, or if ``shift`` is not finite, or so large against the entries
        of ``a`` that it overflows once ``a`` is scaled to entries of size 1.
    TypeError
        If ``shift`` is not a real number.

    Notes
    -----
    One LU factorisation (:math:`\tfrac23 n^3` flops), then :math:`2n^2` flops per iteration.
    The near-singular solves are harmless: the error of the solve lies almost entirely along the
    wanted eigenvector (Golub and Van Loan, section 7.6.1).
    """
    shift = check_real_scalar(shift, "shift")
    a, x, norm_a, tol, maxiter, scale = _setup(a, x0, tol, maxiter)
    with np.errstate(over="ignore"):
        scaled_shift = float(np.ldexp(shift, scale))  # exact, unless it overflows
    if not np.isfinite(scaled_shift):
        raise ValueError(f"shift = {shift} is too large for the scale of a (|shift| / max|a_ij| overflows)")
    factors = _shifted_lu(a, scaled_shift)
    rho, res = _rayleigh_residual(a, x, norm_a)
    rhos, residuals = [rho], [res]
    iterations = 0
    while res > tol and iterations < maxiter:
        x = _solve_normalised(factors, x)
        rho, res = _rayleigh_residual(a, x, norm_a)
        rhos.append(rho)
        residuals.append(res)
        iterations += 1
    return _result(rhos, x, residuals, tol, iterations, scale)


def rayleigh_quotient_iteration(
    a, x0, *, tol: float | None = None, maxiter: int = 50
) -> EigenpairResult:
    r"""Rayleigh-quotient iteration: inverse iteration with a shift updated at every step.

    The shift is the Rayleigh quotient :math:`\rho_k = \mathbf{x}_k^\top\mathbf{A}\mathbf{x}_k`.

    Converges locally quadratically to a simple eigenpair of a general matrix and cubically for a
    symmetric one; which eigenpair it finds depends on ``x0``.

    Parameters
    ----------
    a : array_like of shape (n, n)
        Real square matrix (the cubic rate needs it symmetric).
    x0 : array_like of shape (n,)
        Nonzero starting vector.
    tol : float, optional
        As in :func:`power_iteration`.
    maxiter : int, optional
        Maximum number of iterations, default 50.

    Returns
    -------
    EigenpairResult
        As in :func:`power_iteration`.

    Raises
    ------
    ValueError
        As in :func:`power_iteration`.

    Notes
    -----
    One LU factorisation per iteration (:math:`\tfrac23 n^3` flops; :math:`O(n^2)` for a Hessenberg
    or tridiagonal matrix). Trefethen and Bau, lecture 27.
    """
    a, x, norm_a, tol, maxiter, scale = _setup(a, x0, tol, maxiter)
    rho, res = _rayleigh_residual(a, x, norm_a)
    rhos, residuals = [rho], [res]
    iterations = 0
    while res > tol and iterations < maxiter:
        x = _solve_normalised(_shifted_lu(a, rho), x)
        rho, res = _rayleigh_residual(a, x, norm_a)
        rhos.append(rho)
        residuals.append(res)
        iterations += 1
    return _result(rhos, x, residuals, tol, iterations, scale)


def subspace_iteration(
    a, x0, *, tol: float | None = None, maxiter: int = 1000
) -> SubspaceIterationResult:
    r"""Dominant invariant subspace by subspace (simultaneous, orthogonal) iteration.

    Repeats :math:`\mathbf{Z} = \mathbf{A}\mathbf{Q}_k`, :math:`\mathbf{Z} = \mathbf{Q}_{k+1}\mathbf{R}`
    (QR). If :math:`|\lambda_p| > |\lambda_{p+1}|`, the span of the :math:`p` columns converges to the
    dominant invariant subspace with rate :math:`|\lambda_{p+1}/\lambda_p|`; the eigenvalues of
    :math:`\mathbf{B} = \mathbf{Q}^\top\mathbf{A}\mathbf{Q}` estimate :math:`\lambda_1, \dots, \lambda_p`.

    Parameters
    ----------
    a : array_like of shape (n, n)
        Real square matrix.
    x0 : array_like of shape (n, p)
        Starting block of full column rank, ``1 <= p <= n``.
    tol : float, optional
        Stop when :math:`\|\mathbf{A}\mathbf{Q} - \mathbf{Q}\mathbf{B}\|_F \le \mathrm{tol}\,\|\mathbf{A}\|_F`;
        default :math:`10^3\epsilon_{\text{mach}}`.
    maxiter : int, optional
        Maximum number of iterations, default 1000.

    Returns
    -------
    SubspaceIterationResult
        ``eigenvalues`` (complex, shape (p,), eigenvalues of :math:`\mathbf{B}` by decreasing
        modulus), ``basis`` (n, p) with orthonormal columns, ``converged``, ``iterations`` and
        ``residual_norms`` (relative :math:`\|\mathbf{A}\mathbf{Q} - \mathbf{Q}\mathbf{B}\|_F`, one per
        iteration starting with ``x0``). Not converged: the last basis, ``converged=False``.

    Raises
    ------
    ValueError
        If shapes do not match, ``x0`` is rank deficient, ``tol`` is not positive or ``maxiter`` is
        negative.

    Notes
    -----
    Cost :math:`2n^2p + O(np^2)` flops per iteration. Golub and Van Loan, section 8.2.4 (symmetric)
    and 7.3.2; unshifted QR is this iteration with :math:`p = n` and :math:`\mathbf{Q}_0 = \mathbf{I}`.
    """
    a = as_square_matrix(a, "a")
    n = a.shape[0]
    x = as_float_array(x0, "x0")
    if x.ndim != 2 or x.shape[0] != n or not 1 <= x.shape[1] <= n:
        raise ValueError(f"x0 must have shape ({n}, p) with 1 <= p <= {n}, got {x.shape}")
    dtype = np.result_type(a, x)
    scale = _power_of_two_exponent(a)  # exact; undone on the eigenvalues (see _setup)
    a = np.ldexp(a.astype(dtype), scale)
    x = np.ldexp(x.astype(dtype), _power_of_two_exponent(x))
    tol = 1e3 * float(np.finfo(dtype).eps) if tol is None else check_real_scalar(tol, "tol", positive=True)
    maxiter = check_int(maxiter, "maxiter", low=0)
    norm_a = _norm2(a) or 1.0
    q, r = np.linalg.qr(x)
    if np.abs(np.diagonal(r)).min() <= np.finfo(dtype).eps * np.abs(np.diagonal(r)).max() * n:
        raise ValueError("x0 must have full column rank")

    def residual(q):
        aq = a @ q
        b = q.T @ aq
        return aq, b, _norm2(aq - q @ b) / norm_a

    aq, b, res = residual(q)
    residuals = [res]
    iterations = 0
    while res > tol and iterations < maxiter:
        q, _ = np.linalg.qr(aq)
        aq, b, res = residual(q)
        residuals.append(res)
        iterations += 1
    eigenvalues = _unscale(np.linalg.eigvals(b), scale).astype(np.complex64 if dtype == np.float32 else np.complex128)
    eigenvalues = eigenvalues[np.argsort(-np.abs(eigenvalues), kind="stable")]
    return SubspaceIterationResult(eigenvalues, q, bool(res <= tol), iterations, np.array(residuals))


def pagerank(
    adjacency, *, damping: float = 0.85, tol: float = 1e-10, maxiter: int = 1000
) -> PageRankResult:
    r"""PageRank scores by the power method on the Google matrix, without forming it.

    With :math:`\mathbf{P}` the row-stochastic matrix of the links (row :math:`i` of ``adjacency``
    divided by its sum; a *dangling* page with no out-links links to every page with probability
    :math:`1/n`), the scores are the stationary distribution of
    :math:`\mathbf{G} = d\,\mathbf{P} + (1 - d)\,\mathbf{1}\mathbf{1}^\top/n`:

    .. math:: \mathbf{x} = d\,\mathbf{P}^\top\mathbf{x} + (1 - d)\,\mathbf{1}/n, \qquad \mathbf{1}^\top\mathbf{x} = 1.

    Parameters
    ----------
    adjacency : array_like of shape (n, n)
        Non-negative link weights, ``adjacency[i, j] > 0`` for a link from page ``i`` to page ``j``.
    damping : float, optional
        The damping factor :math:`d \in [0, 1)`, default 0.85.
    tol : float, optional
        Stop when the 1-norm change of an iteration is at most ``tol`` (then the 1-norm error is at
        most :math:`\mathrm{tol}\,d/(1 - d)`); default ``1e-10``.
    maxiter : int, optional
        Maximum number of iterations, default 1000.

    Returns
    -------
    PageRankResult
        ``scores`` (shape (n,), positive, summing to 1), ``converged``, ``iterations`` and
        ``residual_norms`` (the 1-norm change at each iteration). The iteration contracts the 1-norm
        error by at most the factor :math:`d` per step, whatever the graph; the asymptotic rate is
        :math:`|\lambda_2(\mathbf{G})| = d\,|\lambda_2(\mathbf{P})|`, often well below :math:`d`.

    Raises
    ------
    ValueError
        If ``adjacency`` is not square, has a negative entry, or ``damping`` is outside [0, 1).

    Notes
    -----
    Each iteration costs one product with the link matrix (:math:`O(\text{links})` for a sparse one).
    Page and Brin's PageRank; Langville and Meyer, *Google's PageRank and Beyond* (2006).
    """
    w = as_square_matrix(adjacency, "adjacency")
    if np.any(w < 0):
        raise ValueError("adjacency must be non-negative")
    damping = check_real_scalar(damping, "damping")
    if not 0 <= damping < 1:
        raise ValueError(f"damping must be in [0, 1), got {damping}")
    tol = check_real_scalar(tol, "tol", positive=True)
    maxiter = check_int(maxiter, "maxiter", low=0)
    n = w.shape[0]
    if n == 0:  # no pages: the empty distribution, nothing to iterate
        return PageRankResult(np.zeros(0, dtype=w.dtype), True, 0, np.zeros(0))
    w = np.ldexp(w, _power_of_two_exponent(w))  # exact; the scores do not depend on the scale of w
    out = w.sum(axis=1)
    dangling = out == 0
    p = w / np.where(dangling, 1, out)[:, None]  # rows of dangling pages stay zero
    x = np.full(n, 1 / n, dtype=w.dtype)
    changes = []
    iterations = 0
    change = np.inf
    while iterations < maxiter:
        # dangling pages spread their score uniformly: add sum(x[dangling]) / n to every page
        x_new = damping * (p.T @ x + x[dangling].sum() / n) + (1 - damping) / n
        x_new /= x_new.sum()  # guards against the slow drift of rounding errors
        change = float(np.abs(x_new - x).sum())
        x = x_new
        changes.append(change)
        iterations += 1
        if change <= tol:
            break
    return PageRankResult(x, bool(change <= tol), iterations, np.array(changes))
