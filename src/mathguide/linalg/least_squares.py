"""Linear least squares: normal equations, QR and SVD; weighted and constrained problems; QR updating.

See the chapter ``chapters/linalg/least-squares.md``. The QR factorisations come from
``mathguide.linalg.qr`` (chapter ``chapters/linalg/qr.md``).
"""

from __future__ import annotations

import math

import numpy as np

from mathguide._validation import as_float_array, check_int, check_real_scalar
from mathguide.linalg.cholesky import NotPositiveDefiniteError, cholesky, cholesky_solve
from mathguide.linalg.lu import back_substitution, forward_substitution
from mathguide.linalg.qr import (
    QR,
    _apply_rotation,
    _as_matrix,
    _pivoted_factored,
    apply_householder_q,
    apply_householder_qt,
    apply_householder_qt_blocked,
    givens_rotation,
    qr_blocked,
)

__all__ = [
    "RankDeficientError",
    "lstsq",
    "lstsq_equality_constrained",
    "lstsq_weighted",
    "qr_update_append_row",
    "qr_update_delete_row",
]

_METHODS = ("qr", "normal", "svd")


class RankDeficientError(np.linalg.LinAlgError):
    """The matrix is (numerically) rank deficient, and the chosen method needs full rank."""


def _rhs(b, m: int) -> np.ndarray:
    b = as_float_array(b, "b")
    if b.ndim not in (1, 2) or b.shape[0] != m:
        raise ValueError(f"b must have shape ({m},) or ({m}, k) to match a, got {b.shape}")
    return b


def _default_rtol(m: int, n: int, dtype) -> float:
    return max(m, n) * float(np.finfo(dtype).eps)


def _check_full_rank(r: np.ndarray, rtol: float, what: str) -> None:
    """Refuse an ``R`` with ``min |r_jj| <= rtol * max_j ||r_:j||_2``.

    The reference is the largest column norm of ``R`` (that of ``A``, within a factor ``sqrt(n)`` of
    ``||A||_2``), not ``max |r_jj|``: since ``sigma_min(A) <= min |r_jj|``, a failed test proves
    ``kappa_2(A) >= 1 / (sqrt(n) rtol)``. Comparing diagonal entries with each other misses
    ``[1e-3 q, 1e3 q]`` (rank 1, but ``|r_22| / |r_11|`` is only about ``1e3 * u / 1e-3``).
    Callers pass ``R`` of a matrix scaled by a power of two, so the norms cannot overflow.
    """
    diag = np.abs(np.diagonal(r))
    if not diag.size:
        return
    reference = float(np.max(np.linalg.norm(r, axis=0)))
    if reference == 0 or diag.min() <= rtol * reference:
        raise RankDeficientError(
            f"{what} is numerically rank deficient (min |r_jj| / max_j ||r_:j|| = "
            f"{diag.min() / max(reference, np.finfo(float).tiny):.2e} <= rtol = {rtol:.2e}); "
            "use method='svd' for the minimum-norm solution"
        )


def _exponent_scale(x: np.ndarray) -> int:
    """``e`` with ``2**e * max |x|`` in ``[0.5, 1)`` (0 for zero data): scaling by ``2**e`` is exact."""
    largest = float(np.max(np.abs(x), initial=0.0))
    return 0 if largest == 0.0 else -math.frexp(largest)[1]


def lstsq(a, b, *, method: str = "qr", rtol: float | None = None, block_size: int = 64) -> np.ndarray:
    r"""Least-squares solution of :math:`\min_{\mathbf{x}}\|\mathbf{A}\mathbf{x} - \mathbf{b}\|_2`.

    Three methods:

    - ``"qr"``: :math:`\mathbf{A} = \mathbf{Q}\mathbf{R}` (blocked Householder, :func:`qr_blocked`),
      then :math:`\mathbf{R}\mathbf{x} = (\mathbf{Q}^\top\mathbf{b})_{1:n}` with ``Q`` kept implicit.
      For a wide matrix (``m < n``), the minimum-norm solution from the QR factorisation of
      :math:`\mathbf{A}^\top = \mathbf{Q}\mathbf{R}`: :math:`\mathbf{x} = \mathbf{Q}\mathbf{R}^{-\top}\mathbf{b}`.
      Needs full rank.
    - ``"normal"``: Cholesky on :math:`\mathbf{A}^\top\mathbf{A}\mathbf{x} = \mathbf{A}^\top\mathbf{b}`.
      Needs ``m >= n`` and full column rank; squares the condition number.
    - ``"svd"``: :math:`\mathbf{x} = \mathbf{V}\boldsymbol\Sigma_r^{-1}\mathbf{U}_r^\top\mathbf{b}`,
      singular values below ``rtol * sigma_1`` treated as zero: the minimum-norm solution, for any
      shape and rank.

    Parameters
    ----------
    a : array_like of shape (m, n)
    b : array_like of shape (m,) or (m, k)
        One or ``k`` right-hand sides.
    method : {"qr", "normal", "svd"}
    rtol : float, optional
        Relative rank threshold. ``"svd"`` truncates singular values :math:`\le` ``rtol * sigma_1``;
        ``"qr"`` refuses an ``R`` with :math:`\min|r_{jj}| \le` ``rtol`` :math:`\max_j\|\mathbf{a}_j\|_2`
        (the largest column norm: then :math:`\kappa_2(\mathbf{A}) \ge 1/(\sqrt{n}\,\mathrm{rtol})`).
        Default ``max(m, n) * eps``.
    block_size : int
        Panel width of :func:`qr_blocked` for ``"qr"``.

    Returns
    -------
    x : ndarray of shape (n,) or (n, k)
        float32 for float32 input, else float64.

    Raises
    ------
    ValueError
        If the shapes do not match, the inputs are not finite, ``method`` is unknown, ``rtol`` is
        negative, or ``method="normal"`` is asked for a wide matrix.
    RankDeficientError
        If ``"qr"`` meets a numerically rank-deficient matrix (the test of ``rtol``), or Cholesky
        breaks down on :math:`\mathbf{A}^\top\mathbf{A}` for ``"normal"``. The normal equations
        cannot promise to detect rank deficiency: rounding can leave a rank-deficient
        :math:`\mathbf{A}^\top\mathbf{A}` numerically positive definite, and the answer is then
        meaningless (use ``"qr"`` or ``"svd"`` when the rank is in doubt).

    Notes
    -----
    ``a`` and ``b`` are scaled by powers of two first (exact), so data near the ends of the
    floating-point range give the same answer, scaled. Costs for ``m >= n``: QR
    :math:`2mn^2 - 2n^3/3`, normal equations :math:`mn^2 + n^3/3`, SVD
    several times QR. Accuracy (Wedin): QR and SVD are backward stable, so their relative error is
    about :math:`u(\kappa + \kappa^2\tan\theta)`, with :math:`\theta` the angle between
    :math:`\mathbf{b}` and the range of :math:`\mathbf{A}`; the normal equations give about
    :math:`u\kappa^2` even for a zero residual.

    References
    ----------
    Golub & Van Loan (2013), chapter 5; Higham (2002), chapter 20. See the chapter
    ``chapters/linalg/least-squares.md``.
    """
    a = _as_matrix(a)
    m, n = a.shape
    b = _rhs(b, m)
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    dtype = np.float32 if a.dtype == np.float32 and b.dtype == np.float32 else np.float64
    a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
    rtol = _default_rtol(m, n, dtype) if rtol is None else check_real_scalar(rtol, "rtol")
    if rtol < 0:
        raise ValueError(f"rtol must be non-negative, got {rtol}")
    # scale a and b by powers of two (exact): A^T A, column norms and R can neither overflow nor
    # underflow, and x(2^ea a, 2^eb b) = 2^(eb - ea) x(a, b) is undone exactly at the end
    ea, eb = _exponent_scale(a), _exponent_scale(b)
    a, b = np.ldexp(a, ea).astype(dtype), np.ldexp(b, eb).astype(dtype)
    x = _lstsq_scaled(a, b, method, rtol, block_size)
    with np.errstate(over="ignore", under="ignore"):  # a solution outside the range is the answer's own
        return np.ldexp(x, ea - eb).astype(dtype)


def _lstsq_scaled(a: np.ndarray, b: np.ndarray, method: str, rtol: float, block_size: int) -> np.ndarray:
    """:func:`lstsq` on data already checked and scaled."""
    m, n = a.shape
    dtype = a.dtype
    if method == "svd":
        u, s, vt = np.linalg.svd(a, full_matrices=False)
        keep = s > rtol * s[0] if s.size else s > 0
        coefficients = (u[:, keep].T @ b) / (s[keep][:, None] if b.ndim == 2 else s[keep])
        return (vt[keep].T @ coefficients).astype(dtype)
    if method == "normal":
        if m < n:
            raise ValueError(f"method='normal' needs m >= n (A^T A is singular otherwise), got a of shape {a.shape}")
        try:
            factor = cholesky(a.T @ a)
        except NotPositiveDefiniteError as error:
            raise RankDeficientError(f"A^T A is not numerically positive definite ({error}); "
                                     "use method='svd'") from error
        return cholesky_solve(factor, a.T @ b).astype(dtype)
    if m >= n:
        factors = qr_blocked(a, block_size=block_size, mode="factored")
        _check_full_rank(factors.r, rtol, "a")
        qtb = apply_householder_qt_blocked(factors, b, block_size=block_size)
        return back_substitution(factors.r[:, :n], qtb[:n]).astype(dtype)
    factors = qr_blocked(a.T, block_size=block_size, mode="factored")  # A^T = Q R, R n-by... m-by-m
    _check_full_rank(factors.r, rtol, "a (its rows)")
    y = forward_substitution(factors.r.T, b)  # R^T y = b
    padded = np.zeros((n,) + b.shape[1:], dtype=dtype)
    padded[:m] = y
    return apply_householder_q(factors, padded).astype(dtype)


def lstsq_weighted(a, b, weights, *, method: str = "qr") -> np.ndarray:
    r"""Weighted least squares :math:`\min_{\mathbf{x}}\sum_i w_i (\mathbf{a}_i^\top\mathbf{x} - b_i)^2`.

    Row :math:`i` of :math:`\mathbf{A}` and :math:`\mathbf{b}` is scaled by :math:`\sqrt{w_i}` and the
    ordinary problem solved. With :math:`w_i = 1/\sigma_i^2` for independent noise of variances
    :math:`\sigma_i^2`, this is the best linear unbiased estimator (Gauss–Markov).

    Parameters
    ----------
    a : array_like of shape (m, n)
        ``m >= n`` for ``method="qr"``.
    b : array_like of shape (m,) or (m, k)
    weights : array_like of shape (m,)
        Positive and finite.
    method : {"qr", "normal", "svd"}
        ``"qr"``: the scaled rows sorted by decreasing :math:`\infty`-norm, then Householder QR with
        column pivoting, the reflectors applied to ``b`` (Powell–Reid, Cox–Higham). ``"normal"``
        and ``"svd"``: :func:`lstsq` on the scaled rows.

    Returns
    -------
    x : ndarray of shape (n,) or (n, k)

    Raises
    ------
    ValueError
        If a weight is not positive or the shapes do not match; as :func:`lstsq` otherwise.
    RankDeficientError
        For ``"qr"``, if a pivot :math:`|r_{jj}|` is at most ``max(m, n) * eps`` times the norm of
        its column in the rows not yet eliminated (rows ``j:`` of the sorted, scaled matrix): a test
        on each block of rows at its own scale, since the pivots of a stiffly weighted problem are
        graded by the weights without the problem being rank deficient.

    Notes
    -----
    Widely spread weights make the scaled matrix ill conditioned even when :math:`\mathbf{A}` is
    not, and the normal equations lose the light rows. Householder QR is *row-wise* backward stable
    (each row perturbed relative to its own size, whatever the weights) when it uses column pivoting
    **and** the rows are sorted by decreasing :math:`\infty`-norm, or pivoted (Powell and Reid 1969;
    Cox and Higham 1998). Row sorting alone is not enough: with it, errors of 1e-6 to 1e-1 appear at
    weights 1e20 to 1e30. Cost: that of :func:`qr_column_pivoting` (unblocked), about
    :math:`2mn^2 - 2n^3/3` flops. See the chapter ``chapters/linalg/least-squares.md``.
    """
    a = _as_matrix(a)
    m, n = a.shape
    b = _rhs(b, m)
    w = as_float_array(weights, "weights")
    if w.shape != (m,):
        raise ValueError(f"weights must have shape ({m},), got {w.shape}")
    if np.any(w <= 0):
        raise ValueError("weights must be positive")
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    # sqrt(w) as 2^e * s with s in [0.5, 1): the rows are scaled by s (rounded once, as sqrt(w) is)
    # and by 2^e through ldexp, so that neither huge weights nor huge data overflow
    mantissa, exponent = np.frexp(np.sqrt(w))
    scaled_a = np.ldexp(mantissa[:, None] * a, exponent[:, None])
    scaled_b = np.ldexp(mantissa[:, None] * b if b.ndim == 2 else mantissa * b,
                        exponent[:, None] if b.ndim == 2 else exponent)
    if not (np.all(np.isfinite(scaled_a)) and np.all(np.isfinite(scaled_b))):
        raise ValueError("weights are too large for this a and b: sqrt(w_i) * a_i overflows")
    if method != "qr":
        return lstsq(scaled_a, scaled_b, method=method)
    if m < n:
        raise ValueError(f"method='qr' needs m >= n, got a of shape {a.shape}")
    dtype = np.float32 if a.dtype == np.float32 and b.dtype == np.float32 else np.float64
    # Cox-Higham: sort the rows by decreasing infinity-norm, then pivot on the columns
    order = np.argsort(-np.max(np.abs(scaled_a), axis=1, initial=0.0), kind="stable")
    sorted_a, sorted_b = scaled_a[order].astype(dtype), scaled_b[order].astype(dtype)
    factors, perm, _, scale = _pivoted_factored(sorted_a, None)
    pivots = np.abs(np.diagonal(factors.r))
    rtol = _default_rtol(m, n, dtype)
    with np.errstate(over="ignore"):
        remaining = np.array([np.linalg.norm(scale * sorted_a[j:, perm[j]]) for j in range(n)])
    if np.any(pivots <= rtol * remaining):
        j = int(np.argmax(pivots <= rtol * remaining))
        raise RankDeficientError(
            f"a (weighted) is numerically rank deficient: pivot {j} is {pivots[j] / scale:.2e}, at most "
            f"rtol = {rtol:.2e} times the norm of its column in the remaining rows; use method='svd'")
    eb = _exponent_scale(sorted_b)
    qtb = apply_householder_qt(factors, np.ldexp(sorted_b, eb))
    y = back_substitution(factors.r[:, :n], qtb[:n])
    x = np.empty_like(y)
    x[perm] = y
    with np.errstate(over="ignore", under="ignore"):
        return np.ldexp(x, -eb).astype(dtype) * dtype(scale)


def lstsq_equality_constrained(a, b, c, d) -> np.ndarray:
    r"""Least squares with equality constraints: :math:`\min\|\mathbf{A}\mathbf{x} - \mathbf{b}\|_2`
    subject to :math:`\mathbf{C}\mathbf{x} = \mathbf{d}`, by the null-space method.

    Factor :math:`\mathbf{C}^\top = \mathbf{Q}\begin{bmatrix}\mathbf{R} \\ \mathbf{0}\end{bmatrix}`
    and write :math:`\mathbf{x} = \mathbf{Q}_1\mathbf{y}_1 + \mathbf{Q}_2\mathbf{y}_2`. The constraint
    fixes :math:`\mathbf{R}^\top\mathbf{y}_1 = \mathbf{d}`; :math:`\mathbf{y}_2` solves the
    unconstrained problem :math:`\min\|\mathbf{A}\mathbf{Q}_2\mathbf{y}_2 - (\mathbf{b} -
    \mathbf{A}\mathbf{Q}_1\mathbf{y}_1)\|_2`.

    Parameters
    ----------
    a : array_like of shape (m, n)
    b : array_like of shape (m,)
    c : array_like of shape (p, n)
        ``p <= n`` constraints, full row rank.
    d : array_like of shape (p,)

    Returns
    -------
    x : ndarray of shape (n,)

    Raises
    ------
    ValueError
        If the shapes do not match or ``p > n``.
    RankDeficientError
        If ``c`` does not have full row rank, or :math:`\mathbf{A}\mathbf{Q}_2` not full column rank
        (then the solution is not unique).

    Notes
    -----
    Two QR factorisations, :math:`O(np^2 + m(n-p)^2)` flops. The solution is unique exactly when
    :math:`\mathbf{C}` has full row rank and :math:`\begin{bmatrix}\mathbf{A} \\ \mathbf{C}
    \end{bmatrix}` full column rank. Golub & Van Loan (2013), section 6.2. See the chapter
    ``chapters/linalg/least-squares.md``.
    """
    a = _as_matrix(a)
    m, n = a.shape
    b = as_float_array(b, "b")
    if b.shape != (m,):
        raise ValueError(f"b must have shape ({m},), got {b.shape}")
    c = _as_matrix(c, "c")
    if c.shape[1] != n:
        raise ValueError(f"c must have {n} columns like a, got shape {c.shape}")
    p = c.shape[0]
    if p > n:
        raise ValueError(f"c must have at most n = {n} rows (constraints), got {p}")
    d = as_float_array(d, "d")
    if d.shape != (p,):
        raise ValueError(f"d must have shape ({p},), got {d.shape}")
    # x does not change when (a, b) or (c, d) are scaled together: scale each pair by a power of two
    # (exact) so that no norm or product overflows or underflows
    e_ab = _exponent_scale(np.concatenate([np.abs(a).ravel(), np.abs(b)]))
    e_cd = _exponent_scale(np.concatenate([np.abs(c).ravel(), np.abs(d)]))
    a, b, c, d = np.ldexp(a, e_ab), np.ldexp(b, e_ab), np.ldexp(c, e_cd), np.ldexp(d, e_cd)
    q, r = qr_blocked(c.T, mode="complete")
    _check_full_rank(r[:p], _default_rtol(p, n, q.dtype), "c")
    y1 = forward_substitution(r[:p].T, d)
    q1, q2 = q[:, :p], q[:, p:]
    x = q1 @ y1
    if p < n:
        x = x + q2 @ lstsq(a @ q2, b - a @ x, method="qr")
    return x


def qr_update_append_row(q, r, row) -> QR:
    r"""QR factorisation of :math:`\begin{bmatrix}\mathbf{A} \\ \mathbf{w}^\top\end{bmatrix}` from that of
    :math:`\mathbf{A} = \mathbf{Q}\mathbf{R}`, by :math:`n` Givens rotations.

    :math:`\begin{bmatrix}\mathbf{A} \\ \mathbf{w}^\top\end{bmatrix} =
    \begin{bmatrix}\mathbf{Q} & \\ & 1\end{bmatrix}\begin{bmatrix}\mathbf{R} \\ \mathbf{w}^\top
    \end{bmatrix}`; rotations of row :math:`j` of :math:`\mathbf{R}` with the last row zero
    :math:`w_1, \dots, w_n` in turn, and their transposes are accumulated into the first factor.

    Parameters
    ----------
    q : array_like of shape (m, p)
        Orthonormal columns; ``p = n`` (reduced, ``m >= n``) or ``p = m`` (complete).
    r : array_like of shape (p, n)
        Upper trapezoidal.
    row : array_like of shape (n,)

    Returns
    -------
    QR(q, r)
        Reduced input gives a reduced factorisation (``q`` (m+1)-by-n, ``r`` n-by-n), complete input a
        complete one (``q`` (m+1)-by-(m+1), ``r`` (m+1)-by-n).

    Raises
    ------
    ValueError
        If the shapes do not fit together or entries are not finite.

    Notes
    -----
    :math:`O(n^2)` for ``r`` and :math:`O(mn)` for ``q`` (reduced), against :math:`O(mn^2)` to
    refactor. Recursive least squares is this update applied to :math:`[\mathbf{R}\;\mathbf{Q}^\top
    \mathbf{b}]`. Golub & Van Loan (2013), section 6.5.3. See the chapter
    ``chapters/linalg/least-squares.md``.
    """
    q = _as_matrix(q, "q")
    r = _as_matrix(r, "r")
    m, p = q.shape
    n = r.shape[1]
    if r.shape[0] != p or p not in (n, m) or p < min(m, n):
        raise ValueError(f"q (m, p) and r (p, n) must have p = n (reduced) or p = m (complete); "
                         f"got q {q.shape} and r {r.shape}")
    row = as_float_array(row, "row")
    if row.shape != (n,):
        raise ValueError(f"row must have shape ({n},), got {row.shape}")
    dtype = np.result_type(q, r, row)
    new_r = np.vstack([r, row[None, :]]).astype(dtype)
    new_q = np.zeros((m + 1, p + 1), dtype=dtype)
    new_q[:m, :p] = q
    new_q[m, p] = 1
    qt = new_q.T.copy()  # rotations act on the rows of Q^T
    for j in range(min(p, n)):
        if new_r[p, j] == 0:
            continue
        c, s, rr = givens_rotation(new_r[j, j], new_r[p, j])
        _apply_rotation(new_r[:, j:], j, p, c, s)
        new_r[j, j], new_r[p, j] = rr, 0
        _apply_rotation(qt, j, p, c, s)
    new_q = qt.T
    if p == n and p < m + 1:  # reduced: the last row of R is now zero, drop it and its column of Q
        return QR(np.ascontiguousarray(new_q[:, :n]), new_r[:n])
    # complete: move the appended row into place (rows n.. of R are zero; keep R trapezoidal)
    return QR(np.ascontiguousarray(new_q), new_r)


def qr_update_delete_row(q, r, index: int) -> QR:
    r"""QR factorisation of :math:`\mathbf{A}` with row ``index`` removed, from a complete one of
    :math:`\mathbf{A} = \mathbf{Q}\mathbf{R}`.

    Rotations :math:`\mathbf{G}` that reduce row ``index`` of :math:`\mathbf{Q}` to
    :math:`\pm\mathbf{e}_1^\top` (from the bottom up) turn :math:`\mathbf{G}^\top\mathbf{R}` into an
    upper Hessenberg matrix whose first row belongs to the deleted row; the rest is the new
    :math:`\mathbf{R}`, upper triangular again.

    Parameters
    ----------
    q : array_like of shape (m, m)
        Orthogonal (a complete factorisation: a reduced ``q`` does not carry enough information).
    r : array_like of shape (m, n)
    index : int
        The row to delete, ``0 <= index < m``; ``m >= 2``.

    Returns
    -------
    QR(q, r)
        ``q`` (m-1)-by-(m-1), ``r`` (m-1)-by-n upper trapezoidal.

    Raises
    ------
    ValueError
        If ``q`` is not square, the shapes do not match, or ``index`` is out of range.

    Notes
    -----
    :math:`O(m^2 + mn)` flops. Downdating is less stable than updating when the deleted row carried
    much of the information (the new ``R`` is then nearly singular). Golub & Van Loan (2013),
    section 6.5.3. See the chapter ``chapters/linalg/least-squares.md``.
    """
    q = _as_matrix(q, "q")
    r = _as_matrix(r, "r")
    m = q.shape[0]
    if q.shape != (m, m):
        raise ValueError(f"q must be square (a complete factorisation), got shape {q.shape}")
    if r.shape[0] != m:
        raise ValueError(f"r must have {m} rows like q, got shape {r.shape}")
    if m < 2:
        raise ValueError("cannot delete the only row")
    k = check_int(index, "index", low=0, high=m - 1)
    dtype = np.result_type(q, r)
    # move row k to the top: Q -> P Q with the same R (A's rows permuted alike)
    order = np.r_[k, np.arange(k), np.arange(k + 1, m)]
    qt = q[order].T.astype(dtype)  # columns of qt are rows of Q
    new_r = r.astype(dtype, copy=True)
    for i in range(m - 1, 0, -1):
        # zero Q[k, i] against Q[k, i-1]: a rotation of columns i-1, i of Q = rows of Q^T
        c, s, _ = givens_rotation(qt[i - 1, 0], qt[i, 0])
        _apply_rotation(qt, i - 1, i, c, s)
        _apply_rotation(new_r, i - 1, i, c, s)  # R -> G R keeps Q R = (Q G^T)(G R)
    # now row 0 of Q is +-e_1 and Q = [[+-1, 0], [0, Q1]], so A without row k = Q1 (G R)[1:]
    return QR(np.ascontiguousarray(qt.T[1:, 1:]), np.triu(new_r[1:]))
