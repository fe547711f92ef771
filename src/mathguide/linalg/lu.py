"""Triangular systems and LU factorisation: Gaussian elimination with none, partial or complete pivoting.

See the chapter ``chapters/linalg/lu.md``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg.blas

from mathguide._validation import as_float_array, as_square_matrix, check_bool, check_positive_int

__all__ = [
    "LU",
    "LUComplete",
    "Refinement",
    "SingularMatrixError",
    "back_substitution",
    "determinant",
    "forward_substitution",
    "growth_factor",
    "iterative_refinement",
    "lu",
    "lu_blocked",
    "lu_solve",
    "solve",
]

_PIVOTING = ("none", "partial", "complete")
# Width below which a panel is factored by rank-1 updates rather than split (set by measurement).
_PANEL_LEAF = 8


class SingularMatrixError(np.linalg.LinAlgError):
    """A zero pivot was met: the matrix is singular (or needs pivoting that was not allowed).

    ``index`` is the 0-based position of the failing pivot on the diagonal.
    """

    def __init__(self, index: int, message: str | None = None) -> None:
        self.index = int(index)
        super().__init__(message or f"zero pivot at index {self.index}: the matrix is singular")


class LU(NamedTuple):
    """``a[perm] == l @ u``: row permutation, unit lower triangular ``l``, upper triangular ``u``."""

    perm: np.ndarray
    l: np.ndarray
    u: np.ndarray


class LUComplete(NamedTuple):
    """Complete pivoting: ``a[perm][:, col_perm] == l @ u`` (rows and columns permuted)."""

    perm: np.ndarray
    l: np.ndarray
    u: np.ndarray
    col_perm: np.ndarray


class Refinement(NamedTuple):
    """Result of iterative refinement: the solution, whether it converged, and each correction's size.

    ``converged`` is true when the returned ``x`` has a working-precision backward error (the test
    of LAPACK's mixed-precision ``dsgesv``); ``iterations`` is the number of corrections.
    """

    x: np.ndarray
    corrections: np.ndarray
    converged: bool
    iterations: int


# ----------------------------------------------------------------------------------------------
# validation helpers


def _rhs(b, n: int, name: str = "b") -> np.ndarray:
    b = as_float_array(b, name)
    if b.ndim not in (1, 2) or b.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},) or ({n}, k), got shape {b.shape}")
    return b


def _check_pivoting(pivoting: str) -> str:
    if pivoting not in _PIVOTING:
        raise ValueError(f"pivoting must be one of {_PIVOTING}, got {pivoting!r}")
    return pivoting


# ----------------------------------------------------------------------------------------------
# triangular solves


def forward_substitution(l, b, *, unit_diagonal: bool = False) -> np.ndarray:
    r"""Solve the lower triangular system :math:`\mathbf{L}\mathbf{x} = \mathbf{b}`.

    Row by row, :math:`x_i = (b_i - \sum_{j<i} l_{ij} x_j) / l_{ii}`. Only the lower triangle of
    ``l`` is read.

    Parameters
    ----------
    l : ndarray of shape (n, n)
        Lower triangular matrix.
    b : ndarray of shape (n,) or (n, k)
        One right-hand side, or ``k`` of them as columns.
    unit_diagonal : bool
        Take :math:`l_{ii} = 1` without reading the diagonal (the ``L`` of an LU factorisation).
        Only ``bool`` and ``numpy.bool_`` are accepted.

    Returns
    -------
    x : ndarray of the shape of ``b``

    Raises
    ------
    ValueError
        If ``l`` is not square and finite, or ``b`` does not match it.
    SingularMatrixError
        If a diagonal entry is zero (its index is named).

    Notes
    -----
    :math:`n^2` flops per right-hand side. Backward stable: the computed solution solves
    :math:`(\mathbf{L} + \delta\mathbf{L})\hat{\mathbf{x}} = \mathbf{b}` with
    :math:`|\delta\mathbf{L}| \le n\,\varepsilon\,|\mathbf{L}|` (Higham 2002, Thm 8.5).

    References
    ----------
    Golub & Van Loan (2013), section 3.1. See the chapter ``chapters/linalg/lu.md``.
    """
    l = as_square_matrix(l, "l")
    unit_diagonal = check_bool(unit_diagonal, "unit_diagonal")  # "no" would be truthy: refused
    n = l.shape[0]
    b = _rhs(b, n)
    dtype = np.result_type(l, b)
    x = np.array(b, dtype=dtype, copy=True)  # never write into the caller's b
    diag = np.diagonal(l)
    if not unit_diagonal and (diag == 0).any():
        index = int(np.flatnonzero(diag == 0)[0])  # the first one met, going downwards
        raise SingularMatrixError(index, f"zero on the diagonal of l at index {index}")
    for i in range(n):
        # one inner product per row, vectorised over the k right-hand sides
        x[i] -= l[i, :i] @ x[:i]
        if not unit_diagonal:
            x[i] /= l[i, i]
    return x


def back_substitution(u, b, *, unit_diagonal: bool = False) -> np.ndarray:
    r"""Solve the upper triangular system :math:`\mathbf{U}\mathbf{x} = \mathbf{b}`.

    From the last row up, :math:`x_i = (b_i - \sum_{j>i} u_{ij} x_j) / u_{ii}`. Only the upper
    triangle of ``u`` is read.

    Parameters
    ----------
    u : ndarray of shape (n, n)
        Upper triangular matrix.
    b : ndarray of shape (n,) or (n, k)
        One right-hand side, or ``k`` of them as columns.
    unit_diagonal : bool
        Take :math:`u_{ii} = 1` without reading the diagonal. Only ``bool`` and ``numpy.bool_`` are
        accepted.

    Returns
    -------
    x : ndarray of the shape of ``b``

    Raises
    ------
    ValueError
        If ``u`` is not square and finite, or ``b`` does not match it.
    SingularMatrixError
        If a diagonal entry is zero (its index is named).

    Notes
    -----
    :math:`n^2` flops per right-hand side, backward stable like :func:`forward_substitution`.

    References
    ----------
    Golub & Van Loan (2013), section 3.1. See the chapter ``chapters/linalg/lu.md``.
    """
    u = as_square_matrix(u, "u")
    unit_diagonal = check_bool(unit_diagonal, "unit_diagonal")  # "no" would be truthy: refused
    n = u.shape[0]
    b = _rhs(b, n)
    dtype = np.result_type(u, b)
    x = np.array(b, dtype=dtype, copy=True)
    diag = np.diagonal(u)
    if not unit_diagonal and (diag == 0).any():
        index = int(np.flatnonzero(diag == 0)[-1])  # the first one met, going upwards
        raise SingularMatrixError(index, f"zero on the diagonal of u at index {index}")
    for i in range(n - 1, -1, -1):
        x[i] -= u[i, i + 1 :] @ x[i + 1 :]
        if not unit_diagonal:
            x[i] /= u[i, i]
    return x


# ----------------------------------------------------------------------------------------------
# unblocked LU


def _eliminate(w: np.ndarray, pivoting: str, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian elimination in place on the m-by-n work array ``w``; returns (row perm, col perm).

    After the call the strict lower part of ``w[:, :min(m, n)]`` holds the multipliers and the
    upper part holds U. ``offset`` shifts the pivot index reported in errors (used by the panels
    of the blocked algorithm).
    """
    m, n = w.shape
    perm = np.arange(m)
    col_perm = np.arange(n)
    # the outer products below are built in the memory layout of w (row- or column-major), so
    # that subtracting them walks both arrays in the same order
    layout = "F" if w.strides[0] <= w.strides[1] else "C"
    for k in range(min(m, n)):
        if pivoting == "partial":
            p = k + int(np.argmax(np.abs(w[k:, k])))  # first largest entry, like LAPACK's idamax
            q = k
        elif pivoting == "complete":
            block = np.abs(w[k:, k:])
            p, q = np.unravel_index(int(np.argmax(block)), block.shape)
            p, q = k + int(p), k + int(q)
        else:
            p = q = k
        if p != k:  # swap whole rows: the multipliers already stored travel with their row
            w[[k, p]] = w[[p, k]]
            perm[[k, p]] = perm[[p, k]]
        if q != k:
            w[:, [k, q]] = w[:, [q, k]]
            col_perm[[k, q]] = col_perm[[q, k]]
        pivot = w[k, k]
        if pivot == 0:
            raise SingularMatrixError(
                offset + k,
                f"zero pivot at index {offset + k} under {pivoting!r} pivoting: "
                + ("the matrix is singular" if pivoting != "none" else "the matrix needs pivoting or is singular"),
            )
        w[k + 1 :, k] /= pivot  # multipliers l_ik = a_ik / a_kk
        # rank-1 update of the trailing block, one vectorised outer product per step
        w[k + 1 :, k + 1 :] -= np.multiply(w[k + 1 :, k, None], w[None, k, k + 1 :], order=layout)
    return perm, col_perm


def _split(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(L, U) from the packed work array: unit lower trapezoid m-by-r, upper trapezoid r-by-n."""
    m, n = w.shape
    r = min(m, n)
    l = np.tril(w[:, :r], -1)
    l[np.arange(r), np.arange(r)] = 1
    u = np.triu(w[:r, :])
    return l, u


def _split_square_inplace(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(L, U) from the square column-major work array, reusing ``w`` as L (one new array, for U).

    Column slices of a column-major array are contiguous: n small copies beat ``np.tril``/``np.triu``,
    which each build an n-by-n mask and a new n-by-n array.
    """
    n = w.shape[0]
    u = np.zeros((n, n), dtype=w.dtype, order="F")
    for j in range(n):
        u[: j + 1, j] = w[: j + 1, j]
        w[:j, j] = 0
        w[j, j] = 1
    return w, u


def lu(a, *, pivoting: str = "partial") -> LU | LUComplete:
    r"""LU factorisation by Gaussian elimination: :math:`\mathbf{P}\mathbf{A} = \mathbf{L}\mathbf{U}`.

    Step :math:`k` picks a pivot, swaps it to position :math:`(k, k)`, stores the multipliers
    :math:`l_{ik} = a_{ik}/a_{kk}` and subtracts :math:`l_{ik}` times row :math:`k` from row
    :math:`i > k` (a rank-1 update of the trailing block).

    Parameters
    ----------
    a : ndarray of shape (m, n)
        The matrix (rectangular allowed).
    pivoting : {"none", "partial", "complete"}
        ``"partial"``: largest entry of the current column (ties: the first); ``"complete"``:
        largest entry of the whole trailing block, which also permutes columns; ``"none"``: the
        diagonal entry as it comes.

    Returns
    -------
    LU(perm, l, u)
        ``perm`` of shape (m,), ``l`` of shape (m, r) unit lower triangular, ``u`` of shape (r, n)
        upper triangular, ``r = min(m, n)``, with ``a[perm] == l @ u`` up to rounding.
    LUComplete(perm, l, u, col_perm)
        For ``pivoting="complete"``: ``a[perm][:, col_perm] == l @ u``.

    Raises
    ------
    ValueError
        If ``a`` is not 2-D and finite, or ``pivoting`` is unknown.
    SingularMatrixError
        If a pivot is exactly zero (the index of the step is named). With partial or complete
        pivoting this means that the first ``min(m, n)`` columns are linearly dependent. Only
        exact zeros are detected: a matrix that is singular in exact arithmetic usually leaves a
        pivot of the size of rounding errors and is factored without error (check the condition
        number).

    Notes
    -----
    :math:`2n^3/3` flops for a square matrix, :math:`O(n^3)` comparisons more for complete
    pivoting. Backward stable in practice with partial pivoting: the backward error is bounded by a
    multiple of :math:`\rho_n \varepsilon`, with :math:`\rho_n` the growth factor
    (:func:`growth_factor`). The loop over :math:`k` is in Python, the updates are vectorised: this
    is the teaching version; :func:`lu_blocked` is the fast one.

    References
    ----------
    Golub & Van Loan (2013), sections 3.2-3.4; Trefethen & Bau (1997), lectures 20-22.
    See the chapter ``chapters/linalg/lu.md``.
    """
    pivoting = _check_pivoting(pivoting)
    a = as_float_array(a, "a")
    if a.ndim != 2:
        raise ValueError(f"a must be a 2-D array, got shape {a.shape}")
    w = np.array(a, copy=True)  # the input is never written
    perm, col_perm = _eliminate(w, pivoting)
    l, u = _split(w)
    if pivoting == "complete":
        return LUComplete(perm, l, u, col_perm)
    return LU(perm, l, u)


# ----------------------------------------------------------------------------------------------
# blocked LU


def _permute_rows(x: np.ndarray, p: np.ndarray) -> None:
    """``x[:] = x[p]`` in place, copying only the rows that move (a panel moves at most 2b rows).

    In a column-major array a row is scattered over one memory page per column; gathering rows one
    chunk of columns at a time keeps the pages in use few (LAPACK's ``laswp`` does the same), which
    cut the time spent permuting at n = 2000 by about a third (in the author's measurements).
    """
    moved = np.flatnonzero(p != np.arange(len(p)))
    if moved.size:
        source = p[moved]
        for j in range(0, x.shape[1], 128):
            x[moved, j : j + 128] = x[source, j : j + 128]


def _trsm_lower_unit(l11: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``L11^{-1} B`` for unit lower triangular ``L11``, straight through BLAS ``trsm``.

    (``scipy.linalg.solve_triangular`` does the same with more checking around it; on the many
    small solves of the recursive panel, that overhead would dominate.)
    """
    (trsm,) = scipy.linalg.blas.get_blas_funcs(("trsm",), (l11, b))
    return trsm(1.0, l11, b, lower=1, diag=1)


def _gemm_update(c: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    """``c -= a @ b`` in place, through SciPy's BLAS ``gemm``.

    SciPy's BLAS rather than NumPy's ``@``: NumPy and SciPy each ship their own OpenBLAS with its own
    pool of threads, and alternating between the two pools (``trsm`` here, ``@`` there) makes each
    pool's idle threads spin while the other works, which on a small machine costs more than the
    arithmetic. One library, one pool.
    """
    (gemm,) = scipy.linalg.blas.get_blas_funcs(("gemm",), (a, b, c))
    c[...] = gemm(-1.0, a, b, beta=1.0, c=c)


def _panel_lu(w: np.ndarray, offset: int) -> np.ndarray:
    """Partial-pivoting LU of the tall panel ``w`` (m-by-b, m >= b), in place, recursively.

    Splits the columns in two halves: factor the left half, swap rows of the right half, solve for
    its top (a triangular solve) and update its bottom with one matrix product, factor the bottom.
    The leaves are narrow enough for rank-1 updates. Returns the row permutation of the panel.
    """
    m, b = w.shape
    if b <= _PANEL_LEAF:
        perm, _ = _eliminate(w, "partial", offset)
        return perm
    h = b // 2
    left, right = w[:, :h], w[:, h:]
    perm = _panel_lu(left, offset)
    _permute_rows(right, perm)
    right[:h] = _trsm_lower_unit(left[:h], right[:h])
    _gemm_update(right[h:], left[h:], right[:h])
    perm2 = _panel_lu(right[h:], offset + h)
    _permute_rows(left[h:], perm2)
    return np.concatenate([perm[:h], perm[h:][perm2]])


def lu_blocked(a, *, block_size: int = 256) -> LU:
    r"""Right-looking blocked LU with partial pivoting: :math:`\mathbf{P}\mathbf{A} = \mathbf{L}\mathbf{U}`.

    For each block column of width :math:`b`: factor the panel
    :math:`\begin{bmatrix}\mathbf{A}_{11} \\ \mathbf{A}_{21}\end{bmatrix}` with partial pivoting,
    apply its row swaps to the whole rows, solve
    :math:`\mathbf{U}_{12} = \mathbf{L}_{11}^{-1}\mathbf{A}_{12}` and update the trailing block
    :math:`\mathbf{A}_{22} \leftarrow \mathbf{A}_{22} - \mathbf{L}_{21}\mathbf{U}_{12}` with one
    matrix product.

    Parameters
    ----------
    a : ndarray of shape (n, n)
        Square matrix.
    block_size : int
        Width :math:`b` of the block columns.

    Returns
    -------
    LU(perm, l, u)
        Same contract as :func:`lu` with ``pivoting="partial"``: ``a[perm] == l @ u``; float32 input
        is factored in float32, anything else in float64.

    Raises
    ------
    ValueError
        If ``a`` is not square and finite.
    TypeError, ValueError
        If ``block_size`` is not a positive integer.
    SingularMatrixError
        If a pivot is exactly zero (its index is named).

    Notes
    -----
    The same :math:`2n^3/3` flops as :func:`lu`, and the same pivots in exact arithmetic, but all
    except :math:`O(n^2 b)` of them are spent in the trailing matrix products (level-3 BLAS, which
    reuses each number fetched from memory :math:`O(b)` times). The panel itself is factored
    recursively, so that it, too, runs mostly in matrix products. All BLAS calls go to SciPy's
    BLAS (see ``_gemm_update``). The default block size 256 was chosen by measurement with
    ``benchmarks/lu_blocked.py --tune`` (n = 2000, 2 cores).

    References
    ----------
    Golub & Van Loan (2013), section 3.2.11; Toledo (1997) for the recursive panel.
    See the chapter ``chapters/linalg/lu.md``.
    """
    a = as_square_matrix(a, "a")
    b = check_positive_int(block_size, "block_size")
    n = a.shape[0]
    # column-major work array, as in LAPACK: the panels' columns are contiguous in memory;
    # BLAS works in single or double precision, so other float types are computed in double
    w = np.array(a, dtype=a.dtype if a.dtype == np.float32 else np.float64, copy=True, order="F")
    perm = np.arange(n)
    for k in range(0, n, b):
        e = min(k + b, n)
        p = _panel_lu(w[k:, k:e], offset=k)  # the panel's own rows are already swapped
        # apply the panel's row swaps to the rest of the rows, once per panel (fancy indexing)
        _permute_rows(w[k:, :k], p)
        _permute_rows(w[k:, e:], p)
        perm[k:] = perm[k:][p]
        if e < n:
            # U12 = L11^{-1} A12: a triangular solve with many right-hand sides (BLAS trsm)
            w[k:e, e:] = _trsm_lower_unit(w[k:e, k:e], w[k:e, e:])
            # the trailing update, a matrix product (BLAS gemm): where the flops are
            _gemm_update(w[e:, e:], w[e:, k:e], w[k:e, e:])
    l, u = _split_square_inplace(w)
    return LU(perm, l, u)


# ----------------------------------------------------------------------------------------------
# using the factors


def lu_solve(factors: LU | LUComplete, b) -> np.ndarray:
    r"""Solve :math:`\mathbf{A}\mathbf{x} = \mathbf{b}` from the factors returned by :func:`lu`.

    With :math:`\mathbf{A}[\text{perm}] = \mathbf{L}\mathbf{U}`: forward substitution on
    :math:`\mathbf{b}[\text{perm}]`, then back substitution (and, for complete pivoting, undoing
    the column permutation).

    Parameters
    ----------
    factors : LU or LUComplete
        Square factors, from :func:`lu` or :func:`lu_blocked`.
    b : ndarray of shape (n,) or (n, k)
        One or ``k`` right-hand sides.

    Returns
    -------
    x : ndarray of the shape of ``b``

    Raises
    ------
    ValueError
        If the factors are not square or ``b`` does not match them.
    SingularMatrixError
        If ``u`` has a zero on its diagonal.

    Notes
    -----
    :math:`2n^2` flops per right-hand side: factor once (:math:`2n^3/3`), then solve cheaply for
    as many right-hand sides as needed.

    See the chapter ``chapters/linalg/lu.md``.
    """
    if not isinstance(factors, (LU, LUComplete)):
        raise TypeError(f"factors must be the result of lu or lu_blocked, got {type(factors).__name__}")
    l, u = factors.l, factors.u
    if l.shape[0] != l.shape[1] or u.shape[0] != u.shape[1]:
        raise ValueError(f"factors must be square, got l {l.shape} and u {u.shape}")
    n = l.shape[0]
    b = _rhs(b, n)
    y = forward_substitution(l, b[factors.perm], unit_diagonal=True)
    z = back_substitution(u, y)
    if isinstance(factors, LUComplete):
        x = np.empty_like(z)
        x[factors.col_perm] = z  # a[perm][:, q] z = b[perm] means x[q] = z
        return x
    return z


def solve(a, b, *, pivoting: str = "partial") -> np.ndarray:
    r"""Solve :math:`\mathbf{A}\mathbf{x} = \mathbf{b}` by LU factorisation and two triangular solves.

    Parameters
    ----------
    a : ndarray of shape (n, n)
    b : ndarray of shape (n,) or (n, k)
    pivoting : {"none", "partial", "complete"}

    Returns
    -------
    x : ndarray of the shape of ``b``

    Raises
    ------
    ValueError
        If ``a`` is not square and finite or ``b`` does not match it.
    SingularMatrixError
        If a zero pivot is met (its index is named).

    Notes
    -----
    :math:`2n^3/3 + 2n^2k` flops. See the chapter ``chapters/linalg/lu.md``.
    """
    a = as_square_matrix(a, "a")
    b = _rhs(b, a.shape[0])
    return lu_solve(lu(a, pivoting=pivoting), b)


def growth_factor(a, *, pivoting: str = "partial") -> float:
    r"""Growth factor of Gaussian elimination, :math:`\rho = \max_{ij}|u_{ij}| / \max_{ij}|a_{ij}|`.

    Parameters
    ----------
    a : ndarray of shape (m, n)
        Nonzero matrix.
    pivoting : {"none", "partial", "complete"}

    Returns
    -------
    rho : float

    Raises
    ------
    ValueError
        If ``a`` is zero, not 2-D, or not finite.
    SingularMatrixError
        If elimination meets a zero pivot.

    Notes
    -----
    The backward error of LU is bounded by a modest multiple of :math:`\rho\,\varepsilon`. With
    partial pivoting :math:`\rho \le 2^{n-1}`, reached by Wilkinson's matrix; in practice it is
    small. (Some texts take the maximum over all intermediate matrices; this uses the final
    :math:`\mathbf{U}`.)

    References
    ----------
    Wilkinson (1961); Higham (2002), section 9.4. See the chapter ``chapters/linalg/lu.md``.
    """
    a = as_float_array(a, "a")
    if a.ndim != 2:
        raise ValueError(f"a must be a 2-D array, got shape {a.shape}")
    scale = float(np.max(np.abs(a), initial=0.0))
    if scale == 0:
        raise ValueError("a must have a nonzero entry")
    return float(np.max(np.abs(lu(a, pivoting=pivoting).u))) / scale


def determinant(a) -> float:
    r"""Determinant through LU: :math:`\det\mathbf{A} = \sign(\mathbf{P}) \prod_i u_{ii}`.

    Parameters
    ----------
    a : ndarray of shape (n, n)

    Returns
    -------
    det : float
        ``0.0`` if an exactly zero pivot is met (the matrix is singular); a matrix that is singular
        only up to rounding gets a tiny nonzero determinant. When the determinant itself is beyond
        the float64 range the result is ``inf`` or ``-inf`` (overflow) or ``0.0`` or ``-0.0``
        (underflow, possibly through subnormals), with the right sign and without a warning; a
        determinant in range is returned even when partial products of the pivots are not.

    Raises
    ------
    ValueError
        If ``a`` is not square and finite.

    Notes
    -----
    :math:`2n^3/3` flops instead of the :math:`n!` terms of the Leibniz formula. The pivots are
    multiplied as fractions and exponents (``frexp``) and scaled once at the end (``ldexp``), so only
    the final result can overflow or underflow. It does for large ``n`` (``det(10 I) = 10^n``
    overflows from ``n = 309``) even when the matrix is well conditioned; sum the logarithms then
    (``numpy.linalg.slogdet``).

    See the chapter ``chapters/linalg/lu.md``.
    """
    a = as_square_matrix(a, "a")
    try:
        perm, _, u = lu(a)
    except SingularMatrixError:
        return 0.0
    # sign of the permutation: (-1)^(n - number of cycles)
    seen = np.zeros(len(perm), dtype=bool)
    cycles = 0
    for start in range(len(perm)):
        if not seen[start]:
            cycles += 1
            j = start
            while not seen[j]:
                seen[j] = True
                j = perm[j]
    sign = -1.0 if (len(perm) - cycles) % 2 else 1.0
    # The product of the pivots, kept as fraction * 2**exponent (frexp): an intermediate product can
    # overflow or underflow (pivots 2**600, 2**600, 2**-700) although the determinant is representable.
    fraction, exponent = sign, 0
    for pivot in np.diagonal(u):
        pivot_fraction, pivot_exponent = np.frexp(pivot)
        fraction, shift = np.frexp(fraction * pivot_fraction)  # |fraction| in [1/2, 1): no over/underflow
        exponent += int(pivot_exponent) + int(shift)
    with np.errstate(over="ignore", under="ignore"):  # documented: +-inf or +-0.0 beyond the range
        return float(np.ldexp(fraction, exponent))


def iterative_refinement(a, b, factors: LU | LUComplete | None = None, *, maxiter: int = 10,
                         residual_dtype=np.float64) -> Refinement:
    r"""Improve a solution of :math:`\mathbf{A}\mathbf{x} = \mathbf{b}` by iterative refinement.

    Repeat: :math:`\mathbf{r} = \mathbf{b} - \mathbf{A}\mathbf{x}` (computed in ``residual_dtype``),
    solve :math:`\mathbf{A}\mathbf{d} = \mathbf{r}` with the existing factors, :math:`\mathbf{x}
    \leftarrow \mathbf{x} + \mathbf{d}`; stop when the correction no longer shrinks.

    Parameters
    ----------
    a : ndarray of shape (n, n)
        The matrix, in the precision wanted for the answer.
    b : ndarray of shape (n,) or (n, k)
    factors : LU or LUComplete, optional
        Factors of ``a``, possibly computed in lower precision (e.g. of ``a.astype(np.float32)``).
        Computed by :func:`lu` in the precision of ``a`` if omitted.
    maxiter : int, default 10
        Maximum number of corrections.
    residual_dtype : numpy floating dtype
        Precision of the residual, e.g. ``np.longdouble`` for extra-precise residuals.

    Returns
    -------
    Refinement(x, corrections, converged, iterations)
        ``x`` in the precision of ``a`` and ``b``, after the last correction; ``corrections[i]`` is
        :math:`\|\mathbf{d}_i\|_\infty / \|\mathbf{x}_i\|_\infty` of the i-th correction;
        ``converged`` is true when the returned ``x`` satisfies
        :math:`\|\mathbf{b} - \mathbf{A}\mathbf{x}\|_\infty \le \sqrt{n}\, u\,
        \|\mathbf{A}\|_\infty \|\mathbf{x}\|_\infty` for every column (a backward error at the level
        of the working precision's unit roundoff :math:`u`; the test of LAPACK's ``dsgesv``), false
        otherwise, e.g. when :math:`\kappa(\mathbf{A})\,u_f \gtrsim 1` and the corrections stall or
        grow; ``x`` is then still the last iterate. ``iterations = len(corrections)``.

    Raises
    ------
    ValueError
        If shapes do not match, inputs are not finite or ``maxiter`` is not positive.
    SingularMatrixError
        If ``factors`` is omitted and ``a`` has an exactly zero pivot.

    Notes
    -----
    The last correction is applied even when it is the one that failed to halve; when
    :math:`\kappa(\mathbf{A})\,u_f \gtrsim 1` the iteration can diverge, so inspect ``corrections``.
    Each step costs :math:`2n^2` flops for the residual and :math:`2n^2` for the solve. If the
    factors are accurate enough (:math:`\kappa(\mathbf{A})\,u_f \ll 1`, with :math:`u_f` the unit
    roundoff of the factorisation), the forward error falls geometrically until it reaches the
    level set by the residual precision: low-precision factors plus working-precision residuals
    give working-precision accuracy (mixed-precision refinement).

    References
    ----------
    Wilkinson (1963); Higham (2002), chapter 12. See the chapter ``chapters/linalg/lu.md``.
    """
    a = as_square_matrix(a, "a")
    n = a.shape[0]
    b = _rhs(b, n)
    steps = check_positive_int(maxiter, "maxiter")
    if factors is None:
        factors = lu(a)
    work = np.result_type(a, b)
    x = lu_solve(factors, b).astype(work)
    a_r, b_r = a.astype(residual_dtype), b.astype(residual_dtype)
    corrections = []
    for _ in range(steps):
        r = (b_r - a_r @ x.astype(residual_dtype)).astype(work)  # the residual, in extra precision
        d = lu_solve(factors, r).astype(work)
        x = x + d
        size = float(np.max(np.abs(d))) / max(float(np.max(np.abs(x))), np.finfo(work).tiny)
        corrections.append(size)
        # stop once a correction is at roundoff level or stops shrinking
        if size <= np.finfo(work).eps or (len(corrections) > 1 and size >= corrections[-2] / 2):
            break
    residual = np.abs(b_r - a_r @ x.astype(residual_dtype))
    column_norms = np.max(np.abs(x), axis=0) if n else np.zeros(np.shape(x)[1:])
    bound = np.sqrt(n) * (np.finfo(work).eps / 2) * np.max(np.sum(np.abs(a), axis=1), initial=0.0) * column_norms
    converged = bool(np.all(np.max(residual, axis=0, initial=0.0) <= bound))
    return Refinement(x, np.array(corrections), converged, len(corrections))
