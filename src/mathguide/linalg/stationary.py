"""Classical (stationary) iterations: Jacobi, Gauss-Seidel, SOR and symmetric SOR.

Each method splits ``A = M - N`` and iterates ``x_{k+1} = x_k + M^{-1}(b - A x_k)``, a fixed-point
iteration whose error is multiplied by ``G = M^{-1} N`` at every step. Chapter:
``chapters/linalg/stationary-iterations.md``.

The helpers that turn the accepted matrix types (dense arrays, ``scipy.sparse`` matrices and, for the
Krylov solvers, ``scipy.sparse.linalg.LinearOperator``) into one representation, and the result type
shared by every iterative solver of the part, live here too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from mathguide._validation import as_float_array, check_int, check_real_scalar

__all__ = ["IterativeSolution", "gauss_seidel", "jacobi", "sor", "ssor"]


class IterativeSolution(NamedTuple):
    """Result of an iterative linear solver.

    Attributes
    ----------
    x : ndarray of shape (n,)
        The last iterate. When ``converged`` is false it is *not* a solution to the requested
        tolerance: it is returned so that the caller can inspect or restart from it.
    converged : bool
        Whether ``residual_norms[-1] <= max(rtol * ||b||, atol)``, where ``residual_norms[-1]`` is the
        true residual ``||b - A x||`` of the returned ``x`` (computed without overflow or underflow).
    iterations : int
        Number of iterations taken (``len(residual_norms) - 1``).
    residual_norms : ndarray of shape (iterations + 1,)
        ``||b - A x_k||_2`` for ``k = 0, ..., iterations`` (for GMRES, the inner-step values are the
        residual norms of the small least-squares problems, equal to the true ones in exact arithmetic).
    """

    x: np.ndarray
    converged: bool
    iterations: int
    residual_norms: np.ndarray


def _max_exponent(values) -> int | None:
    """The binary exponent ``e`` with ``max |values|`` in ``[2**(e-1), 2**e)``; None if all are zero."""
    largest = float(np.max(np.abs(values), initial=0.0))
    return None if largest == 0.0 else math.frexp(largest)[1]


def _norm(v: np.ndarray) -> float:
    """``||v||_2`` that neither overflows nor underflows: the squares are rescaled by a power of two
    when ``v @ v`` leaves the safe range (a test relative to a norm that overflows to inf, or underflows
    to 0, would accept anything)."""
    with np.errstate(over="ignore", under="ignore"):
        total = float(v @ v)
    info = np.finfo(v.dtype)
    if np.isfinite(total) and total >= float(info.tiny) / float(info.eps):
        return math.sqrt(total)
    exponent = _max_exponent(v)
    if exponent is None:
        return 0.0
    scaled = np.ldexp(v, -exponent)  # exact; max |entry| in [0.5, 1)
    return _ldexp(math.sqrt(float(scaled @ scaled)), exponent)  # inf if the norm itself overflows


def _ldexp(value: float, exponent: int) -> float:
    """``value * 2**exponent`` as a float: inf on overflow, 0 (or a subnormal) on underflow."""
    try:
        return math.ldexp(value, exponent)
    except OverflowError:
        return math.copysign(math.inf, value)


class _ScaledSystem:
    """``A x = b`` rewritten exactly as ``A_s y = b_s``, ``A_s = 2**-ea A``, ``b_s = 2**-eb b``,
    ``y = 2**(ea - eb) x``, when the data lie far out in the exponent range.

    Multiplying by a power of two is exact, so the iterations on the scaled system make the same
    rounding errors, take the same number of steps and return the same answer up to the factor: the
    solvers' laws (the count does not change when ``b`` is scaled, ``x`` scales with ``b`` and by ``1/c``
    when ``a`` does) hold bit for bit. The squares that the iterations form (``r @ r``, ``p @ A p``) then
    neither overflow nor underflow. Data within ``2**±window`` of 1 (``window = maxexp / 8``: 128 in
    float64) are left alone, so ordinary problems run unchanged and without a copy of ``a``. A
    LinearOperator cannot be scaled (``ea = 0``); only ``b`` is.
    """

    def __init__(self, matrix, kind: str, rhs: np.ndarray, x0: np.ndarray | None, dtype) -> None:
        window = np.finfo(dtype).maxexp // 8

        def shift(exponent: int | None) -> int:
            return 0 if exponent is None or abs(exponent) <= window else exponent

        a_exponent = None  # a LinearOperator's scale is unknown: taken as 1
        if kind == "dense":
            a_exponent = _max_exponent(matrix)
        elif kind == "sparse":
            a_exponent = _max_exponent(matrix.data)
        self.a_shift = shift(a_exponent)
        # b - A x0 is what the iteration works on: its scale is that of b or of A x0, whichever is larger.
        exponents = [e for e in (_max_exponent(rhs),) if e is not None]
        if x0 is not None and (x0_exponent := _max_exponent(x0)) is not None:
            exponents.append(x0_exponent + (a_exponent or 0))
        self.b_shift = shift(max(exponents, default=None))
        if self.a_shift and kind == "dense":
            matrix = np.ldexp(matrix, -self.a_shift).astype(dtype, copy=False)
        elif self.a_shift:
            matrix = matrix.copy()
            matrix.data = np.ldexp(matrix.data, -self.a_shift).astype(dtype, copy=False)
        self.matrix = matrix
        self.rhs = np.ldexp(rhs, -self.b_shift).astype(dtype, copy=False) if self.b_shift else rhs
        self.x_shift = self.b_shift - self.a_shift  # x = 2**x_shift * y
        self.y0 = None
        if x0 is not None:
            with np.errstate(over="ignore", under="ignore"):
                self.y0 = np.ldexp(x0, -self.x_shift).astype(dtype, copy=False) if self.x_shift else x0.copy()
            if not np.all(np.isfinite(self.y0)):
                raise ValueError("x0 is too large for this system: b - a @ x0 overflows")

    def threshold(self, rtol: float, atol: float) -> float:
        """``max(rtol ||b||, atol)`` in the units of the scaled system (rounded towards the stricter)."""
        return max(rtol * _norm(self.rhs), _ldexp(atol, -self.b_shift))

    def solution(self, y: np.ndarray) -> np.ndarray:
        """``x = 2**x_shift y``; a solution beyond the float range is refused."""
        if not self.x_shift:
            return y
        with np.errstate(over="ignore", under="ignore"):
            x = np.ldexp(y, self.x_shift).astype(y.dtype, copy=False)
        if not np.all(np.isfinite(x)) and np.all(np.isfinite(y)):
            raise OverflowError("the solution x overflows the float range: b is too large for a")
        return x

    def norms(self, norms) -> np.ndarray:
        """Residual norms of the scaled system in the caller's units (inf beyond the float range)."""
        norms = np.asarray(norms, dtype=np.float64)
        if not self.b_shift:
            return norms
        with np.errstate(over="ignore", under="ignore"):
            return np.ldexp(norms, self.b_shift)


def _checked_matvec(function, n: int, dtype, name: str, what: str) -> Callable[[np.ndarray], np.ndarray]:
    """Wrap a user callback ``v -> M v`` so that a wrong shape, dtype or a non-finite result is a clear
    error naming ``name`` instead of a broadcast error later, a silently dropped imaginary part or a
    flattened matrix."""

    def apply(v: np.ndarray) -> np.ndarray:
        try:
            result = function(v)
        except ValueError as error:
            if "reshape" not in str(error):
                raise
            raise ValueError(f"{name} must map a vector of shape ({n},) to one of shape ({n},): {error}") from error
        result = np.asarray(result)
        if result.dtype == object or np.iscomplexobj(result) or not (
            np.issubdtype(result.dtype, np.number) or np.issubdtype(result.dtype, np.bool_)
        ):
            raise TypeError(f"{name} must return real numbers ({what}), got dtype {result.dtype}")
        if result.shape not in ((n,), (n, 1)):
            raise ValueError(f"{name} must return a vector of shape ({n},) ({what}), got shape {result.shape}")
        result = result.reshape(n).astype(dtype, copy=False)
        if not np.all(np.isfinite(result)):
            raise ValueError(f"{name} returned a non-finite vector ({what}) for a finite input")
        return result

    return apply


def _matvec(matrix, kind: str, n: int, dtype) -> Callable[[np.ndarray], np.ndarray]:
    """``v -> A v`` for a dense, sparse or LinearOperator ``a``; an operator's output is checked."""
    if kind == "operator":
        return _checked_matvec(matrix.matvec, n, dtype, "a", "the product a @ v of the LinearOperator")
    return matrix.__matmul__


def _result_dtype(*dtypes) -> np.dtype:
    """float32 when every input is float32, float64 otherwise."""
    if all(np.dtype(d) == np.float32 for d in dtypes):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _as_system_matrix(a, *, allow_operator: bool, name: str = "a"):
    """Validate a square system matrix; return ``(a, kind)`` with kind 'dense', 'sparse' or 'operator'.

    Dense input becomes a float ndarray, sparse input a CSR matrix of float dtype (a copy only when the
    format or dtype changes); the caller's data is never modified.
    """
    if isinstance(a, scipy.sparse.linalg.LinearOperator):
        if not allow_operator:
            raise TypeError(
                f"{name} must be a dense array or a scipy.sparse matrix: a splitting method needs the "
                f"entries of the matrix, which a LinearOperator does not expose"
            )
        if len(a.shape) != 2 or a.shape[0] != a.shape[1]:
            raise ValueError(f"{name} must be square, got shape {a.shape}")
        return a, "operator"
    if scipy.sparse.issparse(a):
        if a.ndim != 2 or a.shape[0] != a.shape[1]:
            raise ValueError(f"{name} must be a square matrix, got shape {a.shape}")
        if np.iscomplexobj(a.data) or not np.issubdtype(a.dtype, np.number):
            raise TypeError(f"{name} must have real entries, got dtype {a.dtype}")
        csr = scipy.sparse.csr_matrix(a)
        if not np.issubdtype(csr.dtype, np.floating):
            csr = csr.astype(np.float64)
        if not np.all(np.isfinite(csr.data)):
            raise ValueError(f"{name} must have finite entries (no NaN or inf)")
        return csr, "sparse"
    array = as_float_array(a, name)
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise ValueError(f"{name} must be a square 2-D array, got shape {array.shape}")
    return array, "dense"


def _as_vector(value, n: int, name: str) -> np.ndarray:
    vector = as_float_array(value, name)
    if vector.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) to match a, got {vector.shape}")
    return vector


def _tolerances(rtol, atol) -> tuple[float, float]:
    rtol = check_real_scalar(rtol, "rtol", nonnegative=True)
    atol = check_real_scalar(atol, "atol", nonnegative=True)
    if rtol == 0 and atol == 0:
        raise ValueError("rtol and atol must not both be zero")
    return rtol, atol


def _maxiter(maxiter, default: int) -> int:
    return default if maxiter is None else check_int(maxiter, "maxiter", low=0)


def _check_omega(omega) -> float:
    omega = check_real_scalar(omega, "omega")
    if not 0 < omega < 2:
        raise ValueError(f"omega must lie in the open interval (0, 2), got {omega}")
    return omega


def _sparse_triangular_solver(triangle):
    """A fast solver ``r -> T^{-1} r`` for a sparse triangular ``T`` with non-zero diagonal.

    SuperLU with the natural column order and diagonal pivoting factors a triangular matrix without
    fill-in or row exchanges (its factors are ``T`` itself and a diagonal), and its compiled solve is
    tens of times faster than ``scipy.sparse.linalg.spsolve_triangular`` on the chapters' sizes.
    """
    factor = scipy.sparse.linalg.splu(triangle.tocsc(), permc_spec="NATURAL", diag_pivot_thresh=0.0)
    return factor.solve


class _Splitting:
    """The triangular parts of ``A = L + D + U`` in the representation of ``a`` (dense or CSR)."""

    def __init__(self, a, kind: str, omega: float):
        self.a, self.kind, self.omega = a, kind, omega
        self.diagonal = np.asarray(a.diagonal())
        if np.any(self.diagonal == 0):
            index = int(np.flatnonzero(self.diagonal == 0)[0])
            raise ValueError(f"a has a zero diagonal entry a[{index}, {index}]: the splitting needs D invertible")
        # M_forward = D / omega + L (lower triangle), M_backward = D / omega + U (upper triangle).
        if kind == "dense":
            self.lower = np.tril(a, -1) + np.diag(self.diagonal / omega)
            self.upper = np.triu(a, 1) + np.diag(self.diagonal / omega)
        else:
            d = scipy.sparse.diags(self.diagonal / omega, format="csr", dtype=a.dtype)
            self.lower = (scipy.sparse.tril(a, -1, format="csr") + d).tocsr()
            self.upper = (scipy.sparse.triu(a, 1, format="csr") + d).tocsr()
        self._lower_solver = self._upper_solver = None

    def solve_lower(self, r: np.ndarray) -> np.ndarray:
        if self.kind == "dense":
            return scipy.linalg.solve_triangular(self.lower, r, lower=True, check_finite=False)
        if self._lower_solver is None:
            self._lower_solver = _sparse_triangular_solver(self.lower)
        return self._lower_solver(r)

    def solve_upper(self, r: np.ndarray) -> np.ndarray:
        if self.kind == "dense":
            return scipy.linalg.solve_triangular(self.upper, r, lower=False, check_finite=False)
        if self._upper_solver is None:
            self._upper_solver = _sparse_triangular_solver(self.upper)
        return self._upper_solver(r)

    def jacobi_step(self, r: np.ndarray) -> np.ndarray:
        return r / self.diagonal

    def sor_step(self, r: np.ndarray) -> np.ndarray:
        return self.solve_lower(r)

    def ssor_step(self, r: np.ndarray) -> np.ndarray:
        # M_SSOR = omega / (2 - omega) * (D/omega + L) D^{-1} (D/omega + U), so
        # M_SSOR^{-1} r = (2 - omega) / omega * (D/omega + U)^{-1} D (D/omega + L)^{-1} r:
        # exactly one forward SOR sweep followed by one backward sweep.
        omega = self.omega
        y = self.solve_lower(r)
        return (2.0 - omega) / omega * self.solve_upper(self.diagonal * y)


def _stationary(a, b, step_name: str, omega: float, x0, rtol, atol, maxiter) -> IterativeSolution:
    matrix, kind = _as_system_matrix(a, allow_operator=False)
    n = matrix.shape[0]
    rhs = _as_vector(b, n, "b")
    rtol, atol = _tolerances(rtol, atol)
    maxiter = _maxiter(maxiter, 100 * n)
    dtype = _result_dtype(matrix.dtype, rhs.dtype)
    matrix = matrix.astype(dtype, copy=False)
    rhs = rhs.astype(dtype, copy=False)
    start = None if x0 is None else _as_vector(x0, n, "x0").astype(dtype, copy=False)
    # Exact power-of-two scaling of data far out in the exponent range; x = 2**x_shift * y at the end.
    system = _ScaledSystem(matrix, kind, rhs, start, dtype)
    matrix, rhs = system.matrix, system.rhs
    splitting = _Splitting(matrix, kind, omega)
    step = getattr(splitting, step_name)
    y = np.zeros(n, dtype=dtype) if system.y0 is None else system.y0
    threshold = system.threshold(rtol, atol)
    r = rhs - matrix @ y
    norms = [_norm(r)]
    iterations = 0
    while norms[-1] > threshold and iterations < maxiter and np.isfinite(norms[-1]):
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging iteration ends at inf, reported
            y = y + step(r).astype(dtype, copy=False)  # y_{k+1} = y_k + M^{-1} r_k
            r = rhs - matrix @ y  # the true residual, recomputed: the history is exact
        norms.append(_norm(r))
        iterations += 1
    converged = bool(norms[-1] <= threshold)
    return IterativeSolution(system.solution(y), converged, iterations, system.norms(norms))


def jacobi(a, b, *, x0=None, rtol: float = 1e-8, atol: float = 0.0, maxiter: int | None = None) -> IterativeSolution:
    r"""Solve :math:`\mathbf{A}\mathbf{x} = \mathbf{b}` by the Jacobi iteration (splitting ``M = D``).

    Parameters
    ----------
    a : ndarray or scipy.sparse matrix of shape (n, n)
        Real square matrix with non-zero diagonal.
    b : array_like of shape (n,)
        Right-hand side.
    x0 : array_like of shape (n,), optional
        Starting vector (default zero).
    rtol, atol : float, optional
        Stop when :math:`\|\mathbf{b} - \mathbf{A}\mathbf{x}_k\|_2 \le \max(\mathrm{rtol}\,\|\mathbf{b}\|_2,
        \mathrm{atol})`.
    maxiter : int, optional
        Maximum number of iterations (default ``100 n``).

    Returns
    -------
    IterativeSolution
        ``(x, converged, iterations, residual_norms)``. If the tolerance is not reached within
        ``maxiter`` iterations (or the iterates overflow), ``converged`` is false and ``x`` is the last
        iterate.

    Raises
    ------
    TypeError
        If ``a`` is a LinearOperator (the splitting needs the entries) or is not real.
    ValueError
        If ``a`` is not square, has a zero diagonal entry or non-finite entries, if ``b`` or ``x0``
        has the wrong shape or contains NaN, or if the tolerances are negative.

    Notes
    -----
    The iteration converges for every start iff the spectral radius of :math:`\mathbf{I} -
    \mathbf{D}^{-1}\mathbf{A}` is below one, for instance when ``a`` is strictly diagonally dominant.
    Cost per iteration: one product with ``a`` (the true residual is recomputed, so the history is
    exact). float32 input gives float32 output.

    Scale: data far out in the exponent range (``max |a|`` or ``max |b|`` beyond ``2**±128``) are
    rescaled by powers of two before iterating, which is exact: the iteration count does not change
    when ``b`` or ``a`` is multiplied by a power of two, ``x`` scales with ``b`` and by ``1/c`` when ``a``
    is multiplied by ``c``. Norms are computed without overflow or underflow, so a right-hand side of
    size 1e-300 or 1e300 is solved, not accepted as ``x = 0``. A solution beyond the float range raises
    ``OverflowError``. See ``chapters/linalg/stationary-iterations.md``.

    References
    ----------
    G. H. Golub and C. F. Van Loan, *Matrix Computations*, 4th ed., section 11.2.
    """
    return _stationary(a, b, "jacobi_step", 1.0, x0, rtol, atol, maxiter)


def gauss_seidel(
    a, b, *, x0=None, rtol: float = 1e-8, atol: float = 0.0, maxiter: int | None = None
) -> IterativeSolution:
    r"""Solve :math:`\mathbf{A}\mathbf{x} = \mathbf{b}` by Gauss-Seidel (``M = D + L``, lower triangle).

    Parameters, return value and errors as for :func:`jacobi`. Converges for every start when ``a`` is
    strictly diagonally dominant or symmetric positive definite. Cost per iteration: one product with
    ``a`` and one triangular solve. See ``chapters/linalg/stationary-iterations.md``.
    """
    return _stationary(a, b, "sor_step", 1.0, x0, rtol, atol, maxiter)


def sor(
    a, b, omega: float, *, x0=None, rtol: float = 1e-8, atol: float = 0.0, maxiter: int | None = None
) -> IterativeSolution:
    r"""Successive over-relaxation: the splitting ``M = D / omega + L`` with ``0 < omega < 2``.

    ``omega = 1`` is Gauss-Seidel. For symmetric positive definite ``a`` the iteration converges for
    every ``omega`` in (0, 2) (Ostrowski-Reich) and for no other value (Kahan). For the model Poisson
    problem the best value is ``2 / (1 + sin(pi h))``.

    Parameters, return value and errors as for :func:`jacobi`; also raises ``ValueError`` if ``omega``
    is not in the open interval (0, 2) and ``TypeError`` if it is not a real number.
    See ``chapters/linalg/stationary-iterations.md``.
    """
    return _stationary(a, b, "sor_step", _check_omega(omega), x0, rtol, atol, maxiter)


def ssor(
    a, b, omega: float, *, x0=None, rtol: float = 1e-8, atol: float = 0.0, maxiter: int | None = None
) -> IterativeSolution:
    r"""Symmetric SOR: a forward SOR sweep followed by a backward one.

    The splitting matrix is :math:`\mathbf{M} = \frac{\omega}{2-\omega}(\mathbf{D}/\omega + \mathbf{L})
    \mathbf{D}^{-1}(\mathbf{D}/\omega + \mathbf{U})`, symmetric positive definite when ``a``
    is, which makes it usable as a preconditioner for conjugate gradients.

    Parameters, return value and errors as for :func:`sor`. Cost per iteration: one product with ``a``
    and two triangular solves. See ``chapters/linalg/stationary-iterations.md``.
    """
    return _stationary(a, b, "ssor_step", _check_omega(omega), x0, rtol, atol, maxiter)
