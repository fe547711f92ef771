"""Gram–Schmidt orthogonalization: classical and modified, with and without re-orthogonalization.

See the chapter ``chapters/linalg/gram-schmidt.md``. The Householder alternative is in
``mathguide.linalg.qr`` (chapter ``chapters/linalg/qr.md``).
"""

from __future__ import annotations

import numpy as np

from mathguide._validation import as_float_array, check_bool
from mathguide.linalg.lu import back_substitution
from mathguide.linalg.qr import QR, _as_matrix, _power_of_two_scale

__all__ = ["gram_schmidt", "lstsq_mgs"]


def _work(a: np.ndarray) -> np.ndarray:
    return np.array(a, dtype=np.float32 if a.dtype == np.float32 else np.float64, copy=True, order="F")


def gram_schmidt(a, *, modified: bool = True, reorthogonalize: bool = False) -> QR:
    r"""Thin QR factorisation :math:`\mathbf{A} = \mathbf{Q}\mathbf{R}` by Gram–Schmidt.

    Column :math:`j` of :math:`\mathbf{Q}` is :math:`\mathbf{a}_j` minus its components along
    :math:`\mathbf{q}_1, \dots, \mathbf{q}_{j-1}`, normalised. *Classical* Gram–Schmidt (CGS) computes
    all the components from the original column, :math:`r_{ij} = \mathbf{q}_i^\top\mathbf{a}_j`;
    *modified* Gram–Schmidt (MGS) from the partly orthogonalized one,
    :math:`r_{ij} = \mathbf{q}_i^\top\mathbf{v}^{(i)}` with
    :math:`\mathbf{v}^{(i+1)} = \mathbf{v}^{(i)} - r_{ij}\mathbf{q}_i`.
    With ``reorthogonalize=True`` every column is orthogonalized twice ("twice is enough").

    Parameters
    ----------
    a : array_like of shape (m, n)
        ``m >= n``, full column rank.
    modified : bool
        MGS (default) or CGS (keyword-only).
    reorthogonalize : bool
        Orthogonalize each column a second time against the previous ones, adding the second
        coefficients to ``r`` (CGS2 / MGS2).

    Returns
    -------
    QR(q, r)
        ``q`` m-by-n, ``r`` n-by-n upper triangular with positive diagonal. float32 input gives
        float32 factors, other input float64.

    Raises
    ------
    ValueError
        If ``a`` is not 2-D and finite, or has more columns than rows.
    TypeError
        If ``modified`` or ``reorthogonalize`` is not a bool.
    numpy.linalg.LinAlgError
        If a column is numerically dependent on the previous ones: its orthogonalized part (after
        the first pass) has norm at most ``max(m, n) * eps`` times the column's norm. Rounding alone
        leaves a part of about that size from an exactly dependent column, so the test catches those
        (``np.ones((3, 2))``), whatever the scale of ``a``.

    Notes
    -----
    :math:`2mn^2` flops, doubled with re-orthogonalization. Loss of orthogonality
    :math:`\|\mathbf{I} - \hat{\mathbf{Q}}^\top\hat{\mathbf{Q}}\|_2`: about :math:`\kappa^2 u` for CGS
    (while :math:`\kappa^2 u < 1`), :math:`\kappa u` for MGS, :math:`u` for either with
    re-orthogonalization (while :math:`\kappa u < 1`). The computed ``r`` is backward stable in all
    variants; it is ``q`` that differs. The matrix is scaled by a power of two before the
    orthogonalization (exact), so the result does not depend on the scale of ``a`` (``1e-300 * a`` and
    ``1e300 * a`` give the same ``q`` and a scaled ``r``).

    References
    ----------
    Björck (1967); Giraud, Langou, Rozložník & van den Eshof (2005). See the chapter
    ``chapters/linalg/gram-schmidt.md``.
    """
    a = _as_matrix(a)
    modified = check_bool(modified, "modified")
    reorthogonalize = check_bool(reorthogonalize, "reorthogonalize")
    m, n = a.shape
    if m < n:
        raise ValueError(f"a must have at least as many rows as columns for Gram-Schmidt, got shape {a.shape}")
    scale = _power_of_two_scale(a)  # exact: norms neither overflow nor underflow (a ~ 1e+-300)
    q = _work(a) * scale
    r = np.zeros((n, n), dtype=q.dtype)
    passes = 2 if reorthogonalize else 1
    # a part below this fraction of the column's norm is what rounding leaves of a dependent column
    dependent = max(m, n) * float(np.finfo(q.dtype).eps)
    for j in range(n):
        v = q[:, j]  # a view: column j is orthogonalized in place
        column_norm = np.linalg.norm(v)
        for k in range(passes):
            if modified:
                for i in range(j):
                    coefficient = q[:, i] @ v
                    v -= coefficient * q[:, i]
                    r[i, j] += coefficient
            elif j:
                coefficients = q[:, :j].T @ v  # all from the same vector: one matrix-vector product
                v -= q[:, :j] @ coefficients
                r[:j, j] += coefficients
            if k == 0 and np.linalg.norm(v) <= dependent * column_norm:
                raise np.linalg.LinAlgError(
                    f"column {j} of a is linearly dependent on the previous columns (its part orthogonal "
                    f"to them is at most max(m, n) * eps = {dependent:.1e} times its norm)")
        norm = np.linalg.norm(v)
        r[j, j] = norm
        v /= norm
    r /= scale  # exact: undo the power-of-two scaling
    return QR(q, r)


def lstsq_mgs(a, b) -> np.ndarray:
    r"""Least squares by modified Gram–Schmidt applied to the augmented matrix :math:`[\mathbf{A}\;\mathbf{b}]`.

    MGS on :math:`[\mathbf{A}\;\mathbf{b}]` gives :math:`\mathbf{R}` and, in the last column of the
    augmented factor, :math:`\mathbf{z}` with :math:`\mathbf{b} = \mathbf{Q}\mathbf{z} + \mathbf{r}`;
    then :math:`\mathbf{R}\mathbf{x} = \mathbf{z}`. The right-hand side is thus orthogonalized *with*
    the columns, never multiplied by a computed :math:`\hat{\mathbf{Q}}^\top` that may have lost
    orthogonality, and the result is backward stable (Björck and Paige, 1992).

    Parameters
    ----------
    a : array_like of shape (m, n)
        ``m > n``, full column rank.
    b : array_like of shape (m,)

    Returns
    -------
    x : ndarray of shape (n,)

    Raises
    ------
    ValueError
        If the shapes do not match or the entries are not finite.
    numpy.linalg.LinAlgError
        If a column of ``a`` is exactly dependent on the previous ones.

    Notes
    -----
    :math:`2mn^2` flops.
    See the chapter ``chapters/linalg/gram-schmidt.md``.
    """
    a = _as_matrix(a)
    m, n = a.shape
    b = as_float_array(b, "b")
    if b.shape != (m,):
        raise ValueError(f"b must have shape ({m},), got {b.shape}")
    if m <= n:
        raise ValueError(f"a must have more rows than columns, got shape {a.shape}")
    q, r = gram_schmidt(a)
    v = b.astype(q.dtype, copy=True)
    z = np.empty(n, dtype=q.dtype)
    for i in range(n):  # one more MGS column: project q_i out of the *updated* vector
        z[i] = q[:, i] @ v
        v -= z[i] * q[:, i]
    return back_substitution(r, z)
