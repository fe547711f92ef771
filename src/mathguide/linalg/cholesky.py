"""Symmetric positive definite systems: Cholesky, LDL^T, and tridiagonal systems (Thomas algorithm).

See the chapter ``chapters/linalg/cholesky.md``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mathguide._validation import as_float_array, as_square_matrix
from mathguide.linalg.lu import SingularMatrixError, back_substitution, forward_substitution

__all__ = [
    "LDL",
    "NotPositiveDefiniteError",
    "cholesky",
    "cholesky_solve",
    "ldl",
    "solve_tridiagonal",
]


class NotPositiveDefiniteError(np.linalg.LinAlgError):
    """Cholesky met a pivot :math:`\\le 0`: the matrix is not positive definite.

    ``index`` is the 0-based position of the failing pivot, ``pivot`` its value: the leading
    principal submatrix of order ``index + 1`` is not positive definite.
    """

    def __init__(self, index: int, pivot: float) -> None:
        self.index = int(index)
        self.pivot = float(pivot)
        super().__init__(
            f"the matrix is not positive definite: pivot {self.index} is {self.pivot:.6g} <= 0 "
            f"(the leading {self.index + 1}x{self.index + 1} block is not positive definite)"
        )


class LDL(NamedTuple):
    """``a == l @ diag(d) @ l.T`` with ``l`` unit lower triangular."""

    l: np.ndarray
    d: np.ndarray


def _symmetric(a, name: str = "a") -> np.ndarray:
    a = as_square_matrix(a, name)
    # symmetric up to rounding: the factorisations read only the lower triangle
    scale = float(np.max(np.abs(a), initial=0.0))
    if np.max(np.abs(a - a.T), initial=0.0) > 16 * np.finfo(a.dtype).eps * scale * max(a.shape[0], 1):
        raise ValueError(f"{name} must be symmetric")
    return a


def cholesky(a) -> np.ndarray:
    r"""Cholesky factor of an SPD matrix: lower triangular :math:`\mathbf{L}` with
    :math:`\mathbf{A} = \mathbf{L}\mathbf{L}^\top`.

    :math:`\mathbf{L}` has a positive diagonal. Column by column (left-looking),
    :math:`l_{jj} = \sqrt{a_{jj} - \sum_{k<j} l_{jk}^2}` and
    :math:`l_{ij} = (a_{ij} - \sum_{k<j} l_{ik} l_{jk}) / l_{jj}` for :math:`i > j`.

    Parameters
    ----------
    a : ndarray of shape (n, n)
        Symmetric positive definite matrix. Symmetry is checked up to rounding
        (``|a - a.T| <= 16 n eps max|a|``, else ``ValueError``); the factorisation then
        uses only the lower triangle.

    Returns
    -------
    l : ndarray of shape (n, n)
        Lower triangular, positive diagonal.

    Raises
    ------
    ValueError
        If ``a`` is not square, symmetric and finite.
    NotPositiveDefiniteError
        If a pivot :math:`a_{jj} - \sum_{k<j} l_{jk}^2` is not positive; ``index`` names it.

    Notes
    -----
    :math:`n^3/3` flops, half of LU. No pivoting is needed: since
    :math:`a_{ii} = \sum_k l_{ik}^2`, every :math:`|l_{ij}| \le \sqrt{a_{ii}}`, so nothing can grow,
    and whenever the factorisation runs to completion the computed factor is backward stable.
    Completion is guaranteed only when :math:`20 n^{3/2} \kappa_2(\mathbf{A})\, u < 1`
    (Higham 2002, theorem 10.7); beyond that, rounding can make a pivot non-positive, and whether
    it does depends on the rounding of the BLAS kernel (the Hilbert matrix of order 13 raises here
    under some OpenBLAS kernels and factors under others). A matrix whose stored entries are
    exactly singular, such as ``[[1, 1], [1, 1 + 2**-60]]`` (stored as all ones), raises on every
    machine.

    References
    ----------
    Golub & Van Loan (2013), section 4.2; Higham (2002), chapter 10.
    See the chapter ``chapters/linalg/cholesky.md``.
    """
    a = _symmetric(a)
    n = a.shape[0]
    l = np.tril(a)  # a new array: the input is never written
    for j in range(n):
        # column j minus the contributions of the columns already computed (one matrix-vector product)
        l[j:, j] -= l[j:, :j] @ l[j, :j]
        pivot = l[j, j]
        if not pivot > 0:  # also catches NaN
            raise NotPositiveDefiniteError(j, pivot)
        l[j:, j] /= np.sqrt(pivot)
    return l


def ldl(a) -> LDL:
    r"""Factor a symmetric matrix as :math:`\mathbf{A} = \mathbf{L}\mathbf{D}\mathbf{L}^\top`, without pivoting.

    :math:`\mathbf{L}` is unit lower triangular and :math:`\mathbf{D} = \mathrm{diag}(\mathbf{d})`; no square
    roots are taken. It exists when every leading principal submatrix is nonsingular, then
    :math:`d_k = \det \mathbf{A}_{1:k,1:k} / \det \mathbf{A}_{1:k-1,1:k-1}`.

    Parameters
    ----------
    a : ndarray of shape (n, n)
        Symmetric matrix; need not be definite. Symmetry is checked up to rounding
        (``|a - a.T| <= 16 n eps max|a|``, else ``ValueError``); the factorisation then
        uses only the lower triangle.

    Returns
    -------
    LDL(l, d)
        ``l`` of shape (n, n), ``d`` of shape (n,), with ``a == l @ diag(d) @ l.T``.

    Raises
    ------
    ValueError
        If ``a`` is not square, symmetric and finite.
    SingularMatrixError
        If a pivot :math:`d_k` is zero (its index is named).

    Notes
    -----
    :math:`n^3/3` flops. For SPD matrices, :math:`\mathbf{L}\,\mathrm{diag}(\sqrt{\mathbf{d}})` is the Cholesky
    factor and the factorisation is stable. For indefinite matrices without pivoting the entries
    can grow without bound; use symmetric pivoting (Bunch-Kaufman, ``scipy.linalg.ldl``) there.

    References
    ----------
    Golub & Van Loan (2013), sections 4.1 and 4.4. See the chapter ``chapters/linalg/cholesky.md``.
    """
    a = _symmetric(a)
    n = a.shape[0]
    l = np.tril(a)
    d = np.zeros(n, dtype=a.dtype)
    for j in range(n):
        # v_k = l_jk d_k, the row of L D already computed
        v = l[j, :j] * d[:j]
        d[j] = l[j, j] - l[j, :j] @ v
        if d[j] == 0:
            raise SingularMatrixError(j, f"zero pivot d[{j}] in LDL^T: a leading principal submatrix is singular")
        l[j + 1 :, j] = (l[j + 1 :, j] - l[j + 1 :, :j] @ v) / d[j]
        l[j, j] = 1
    return LDL(l, d)


def cholesky_solve(l, b) -> np.ndarray:
    r"""Solve :math:`\mathbf{L}\mathbf{L}^\top\mathbf{x} = \mathbf{b}` given the Cholesky factor.

    Parameters
    ----------
    l : ndarray of shape (n, n)
        Lower triangular Cholesky factor (from :func:`cholesky`).
    b : ndarray of shape (n,) or (n, k)

    Returns
    -------
    x : ndarray of the shape of ``b``

    Raises
    ------
    ValueError
        If shapes do not match or entries are not finite.
    SingularMatrixError
        If ``l`` has a zero on its diagonal.

    Notes
    -----
    :math:`2n^2` flops per right-hand side: a forward then a back substitution.

    See the chapter ``chapters/linalg/cholesky.md``.
    """
    l = as_float_array(l, "l")
    if l.ndim != 2 or l.shape[0] != l.shape[1]:
        raise ValueError(f"l must be a square 2-D array, got shape {l.shape}")
    y = forward_substitution(l, b)
    return back_substitution(l.T, y)


def solve_tridiagonal(lower, diag, upper, b) -> np.ndarray:
    r"""Solve a tridiagonal system with the Thomas algorithm (Gaussian elimination without pivoting).

    The matrix has :math:`t_{i,i} = ` ``diag[i]``, :math:`t_{i+1,i} = ` ``lower[i]`` and
    :math:`t_{i,i+1} = ` ``upper[i]``. Forward sweep:
    :math:`m_i = \ell_{i-1}/\delta_{i-1}`, :math:`\delta_i = d_i - m_i u_{i-1}`,
    :math:`y_i = b_i - m_i y_{i-1}`; back sweep :math:`x_i = (y_i - u_i x_{i+1})/\delta_i`.

    Parameters
    ----------
    lower : ndarray of shape (n - 1,)
        Subdiagonal.
    diag : ndarray of shape (n,)
        Diagonal.
    upper : ndarray of shape (n - 1,)
        Superdiagonal.
    b : ndarray of shape (n,) or (n, k)
        One or ``k`` right-hand sides.

    Returns
    -------
    x : ndarray of the shape of ``b``

    Raises
    ------
    ValueError
        If the lengths do not match or entries are not finite.
    SingularMatrixError
        If a pivot :math:`\delta_i` is zero (its index is named).

    Notes
    -----
    :math:`8n` flops and :math:`O(n)` memory, against :math:`2n^3/3` for dense LU: the
    factors of a tridiagonal matrix are bidiagonal, nothing fills in. Without pivoting it is stable
    for diagonally dominant and for SPD matrices (the case of this chapter); for general
    tridiagonal matrices use ``scipy.linalg.solve_banded``, which pivots.

    References
    ----------
    Golub & Van Loan (2013), section 4.3; Higham (2002), section 9.5.
    See the chapter ``chapters/linalg/cholesky.md``.
    """
    diag = as_float_array(diag, "diag")
    if diag.ndim != 1:
        raise ValueError(f"diag must be 1-D, got shape {diag.shape}")
    n = diag.shape[0]
    lower = as_float_array(lower, "lower")
    upper = as_float_array(upper, "upper")
    for name, v in (("lower", lower), ("upper", upper)):
        if v.shape != (max(n - 1, 0),):
            raise ValueError(f"{name} must have shape ({max(n - 1, 0)},), got shape {v.shape}")
    b = as_float_array(b, "b")
    if b.ndim not in (1, 2) or b.shape[0] != n:
        raise ValueError(f"b must have shape ({n},) or ({n}, k), got shape {b.shape}")
    dtype = np.result_type(diag, lower, upper, b)
    delta = np.empty(n, dtype=dtype)  # the pivots: the diagonal of U
    y = np.array(b, dtype=dtype, copy=True)
    if n == 0:
        return y
    delta[0] = diag[0]
    for i in range(1, n):  # forward sweep: O(1) work per row
        if delta[i - 1] == 0:
            raise SingularMatrixError(i - 1, f"zero pivot at index {i - 1} in the tridiagonal elimination")
        m = lower[i - 1] / delta[i - 1]
        delta[i] = diag[i] - m * upper[i - 1]
        y[i] -= m * y[i - 1]
    if delta[n - 1] == 0:
        raise SingularMatrixError(n - 1, f"zero pivot at index {n - 1} in the tridiagonal elimination")
    y[n - 1] /= delta[n - 1]
    for i in range(n - 2, -1, -1):  # back sweep
        y[i] = (y[i] - upper[i] * y[i + 1]) / delta[i]
    return y
