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
from mathguide.linalg.symmetric_eigen import _givens, _power_of_two_scale, _wilkinson_shift

__all__ = [
    "Bidiagonal",
    "GolubKahanSVD",
    "JacobiSVD",
    "bidiagonalize",
    "round_robin_pairs",
    "svd_golub_kahan",
    "svd_jacobi",
]


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


class GolubKahanSVD(NamedTuple):
    """Thin SVD ``a == u @ diag(s) @ vt`` (``s`` descending) and the convergence record.

    ``offdiag_history[k]`` is the superdiagonal entry at the bottom of the active block after step
    ``k`` (zero-diagonal chases record the entry too).
    """

    u: np.ndarray
    s: np.ndarray
    vt: np.ndarray
    converged: bool
    iterations: int
    offdiag_history: np.ndarray


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


def _unit_columns(w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Columns ``w[:, j] = u[:, j] * f[j] * 2**e[j]`` with unit (or zero) ``u[:, j]`` and ``f`` in [0.5, 1).

    Each column is first scaled by the power of two that brings its largest entry into [0.5, 1), which
    is exact, so its norm is computed without underflow or overflow however small or large the
    column is; the norm's own exponent goes into ``e``. A zero column gives ``u = 0``, ``f = e = 0``.
    """
    _, exponent = np.frexp(np.max(np.abs(w), axis=0, initial=0.0))
    scaled = np.ldexp(w, -exponent)  # exact: a power of two per column
    norm = np.sqrt(np.einsum("ij,ij->j", scaled, scaled))  # in [0.5, sqrt(m)], or 0
    u = scaled / np.where(norm > 0, norm, 1)
    f, norm_exponent = np.frexp(norm)
    return u, f, exponent + norm_exponent


def _jacobi_round(u, f, e, v, p, q, tol):
    """Rotate the disjoint column pairs ``(p, q)`` of ``u * f * 2**e`` (in place); return the rotated mask.

    With unit columns :math:`\\mathbf{u}_p, \\mathbf{u}_q`, norms :math:`n_p, n_q` and cosine
    :math:`\\gamma`, the Gram matrix is ``[[n_p^2, g n_p n_q], [g n_p n_q, n_q^2]]``; its Jacobi
    rotation has :math:`t = \\iota / (1 + \\sqrt{1 + \\iota^2})` with
    :math:`\\iota = 2\\gamma n_p n_q / (n_q^2 - n_p^2) = \\pm 2\\gamma r / (1 - r^2)` in terms of the ratio
    :math:`r \\le 1` of the smaller norm to the larger. The new columns are
    :math:`n_p c(\\mathbf{u}_p - x_p\\mathbf{u}_q)` and :math:`n_q c(\\mathbf{u}_q + x_q\\mathbf{u}_p)`
    with :math:`x = tr` for the larger column and :math:`t/r` for the smaller, so that no squared
    norm, no product of norms and no ratio :math:`1/r` is ever formed: when :math:`r` underflows the
    step is the Gram-Schmidt step :math:`\\mathbf{u}_{small} - \\gamma\\mathbf{u}_{big}` (as LAPACK's
    ``xGESVJ`` does for columns of very different norms).
    """
    up, uq = u[:, p], u[:, q]  # copies (fancy indexing)
    gamma = np.einsum("ij,ij->j", up, uq)
    live = (f[p] > 0) & (f[q] > 0)
    act = live & (np.abs(gamma) > tol)
    if not np.any(act):
        return act
    p, q, up, uq, gamma = p[act], q[act], up[:, act], uq[:, act], gamma[act]
    fp, fq, ep, eq = f[p], f[q], e[p], e[q]
    q_big = (eq > ep) | ((eq == ep) & (fq > fp))
    # r = (smaller norm) / (larger norm) in [0, 1]; it may underflow to 0, harmlessly
    r = np.ldexp(np.where(q_big, fp / fq, fq / fp), np.where(q_big, ep - eq, eq - ep))
    sign = np.where(q_big, 1.0, -1.0)
    delta = (1 - r) * (1 + r)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        iota = sign * 2 * gamma * r / delta  # +-inf when the norms are equal
        inv = 1 / np.abs(iota)
        t = np.where(
            np.abs(iota) <= 1, iota / (1 + np.hypot(1, iota)), np.sign(iota) / (inv + np.hypot(1, inv))
        )
        # t / r without dividing two tiny numbers: (sign 2 gamma / delta) / (1 + sqrt(1 + iota^2))
        t_over_r = np.where(r > 0.5, t / np.where(r > 0, r, 1), sign * 2 * gamma / (delta * (1 + np.hypot(1, iota))))
    t_times_r = t * r
    x_p = np.where(q_big, t_over_r, t_times_r)
    x_q = np.where(q_big, t_times_r, t_over_r)
    c = 1 / np.hypot(1, t)
    s = c * t
    w = np.hstack([up - x_p * uq, uq + x_q * up])
    # a new column at the rounding level of its own computation (the two columns were parallel to
    # working precision) is zero: this moves it by O(eps) relative to its old norm, within the
    # columnwise error model, and keeps rounding noise from being blown up into a unit vector
    noise = 8 * np.sqrt(w.shape[0]) * np.finfo(np.float64).eps * (1 + np.abs(np.r_[x_p, x_q]))
    w[:, np.sqrt(np.einsum("ij,ij->j", w, w)) <= noise] = 0.0
    new_u, new_f, new_e = _unit_columns(w)
    k = p.size
    # the new norms: n_p c ||w_p||, n_q c ||w_q||, as mantissa and exponent
    mant, expo = np.frexp(new_f * np.r_[c * fp, c * fq])
    u[:, p], u[:, q] = new_u[:, :k], new_u[:, k:]
    f[p], f[q] = mant[:k], mant[k:]
    e[p], e[q] = (new_e + expo)[:k] + ep, (new_e + expo)[k:] + eq
    vp, vq = v[:, p], v[:, q]
    v[:, p] = c * vp - s * vq
    v[:, q] = s * vp + c * vq
    return act


def svd_jacobi(a, *, tol: float | None = None, maxsweeps: int = 30) -> JacobiSVD:
    r"""Thin SVD by the one-sided (Hestenes) Jacobi method.

    Right-multiplies :math:`\mathbf{A}` by plane rotations until its columns are mutually orthogonal
    to working precision: :math:`\mathbf{A}\mathbf{V} = \mathbf{U}\mathbf{\Sigma}`. The rotation of a
    pair of columns :math:`(\mathbf{a}_i, \mathbf{a}_j)` is the Jacobi rotation that diagonalizes
    their :math:`2\times 2` Gram matrix, with entries :math:`\|\mathbf{a}_i\|^2`,
    :math:`\mathbf{a}_i^\top\mathbf{a}_j` and :math:`\|\mathbf{a}_j\|^2` (two-sided Jacobi on
    :math:`\mathbf{A}^\top\mathbf{A}`, never forming it). A pair is rotated while the cosine of the
    angle between the two columns exceeds ``tol``,
    :math:`|\mathbf{a}_i^\top\mathbf{a}_j| > \mathrm{tol}\,\|\mathbf{a}_i\|\|\mathbf{a}_j\|`.
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
        ``u`` (m, k), ``s`` (k,) descending, ``vt`` (k, n) with ``k = min(m, n)``; ``converged``
        (every pair's cosine is at most ``tol``), ``iterations`` (sweeps), ``cosines`` (largest
        column cosine before each sweep and at the end). Columns of ``u`` for zero singular values
        complete an orthonormal set. If not converged, the current column norms and directions
        are returned.

    Raises
    ------
    ValueError
        If ``a`` is not a finite 2-D array, ``tol <= 0`` or ``maxsweeps < 0``.
    OverflowError
        If a singular value of ``a`` exceeds the largest number of its dtype (possible only for
        entries within a factor :math:`\sqrt{mn}` of it).

    Notes
    -----
    A sweep is :math:`n(n-1)/2` rotations of about :math:`12m + 6n` flops (an inner product and a
    norm per column, two columns of ``a`` and two of ``V``): :math:`6mn^2 + 3n^3` flops. The number
    of sweeps depends on the matrix (about 10 for a Gaussian matrix, more for a graded spectrum;
    preconditioning by a pivoted QR reduces it, see the chapter).

    For :math:`\mathbf{A} = \mathbf{B}\mathbf{D}` with :math:`\mathbf{D}` diagonal, Demmel and Veselić
    (1992) bound the relative error of every singular value by a modest multiple of
    :math:`\epsilon\max_k\kappa(\mathbf{B}_k)`, where :math:`\mathbf{B}_k` is the :math:`k`-th iterate
    :math:`\mathbf{A}\mathbf{V}_k` with its columns scaled to unit norm; :math:`\mathbf{B}_0` is ``a``
    with unit columns. That :math:`\max_k\kappa(\mathbf{B}_k)` stays close to
    :math:`\kappa(\mathbf{B}_0)` is observed in practice, not proved. The bound does not depend on
    :math:`\mathbf{D}`: each column is kept as a unit vector times a norm stored as a mantissa and a
    power-of-two exponent, so that no squared norm, product of norms or inner product of unscaled
    columns is formed, and nothing underflows or overflows, however badly scaled the columns are.
    The only limit is the floating-point format of the result: a singular value below the smallest
    normal number (``2.2e-308`` in float64) is returned rounded to the subnormal grid, with an
    absolute error of up to half its spacing (``2.5e-324``). Earlier versions of this function scaled
    the whole matrix by one power of two, and the squared column norms underflowed for columns below
    about ``1e-154`` times the largest entry, so ``diag(1, 1e-200)`` gave the singular values
    ``[1, 0]``; the chapter shows the repair. For columns of very different norms the rotation
    becomes the Gram-Schmidt step that LAPACK's ``xGESVJ`` uses there. See :ref:`chap-svd`.
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
    # the columns as unit vectors times norms kept as mantissa and power-of-two exponent (in float64)
    u, f, e = _unit_columns(a.astype(np.float64))
    v = np.eye(n)
    schedule = [(p, q) for p, q in round_robin_pairs(n) if p.size]

    def largest_cosine() -> float:
        gram = np.abs(u.T @ u)
        np.fill_diagonal(gram, 0.0)
        return float(np.max(gram, initial=0.0))

    cosines = [largest_cosine()]
    sweeps = 0
    converged = cosines[0] <= tol
    while not converged and sweeps < maxsweeps:
        rotated = False
        for p, q in schedule:
            rotated |= bool(np.any(_jacobi_round(u, f, e, v, p, q, tol)))
        sweeps += 1
        cosines.append(largest_cosine())
        converged = not rotated or cosines[-1] <= tol
    with np.errstate(over="ignore"):  # checked just below
        sigma = np.ldexp(f, e)  # subnormal below 2**-1022: the value is then rounded to that grid
        sigma_out = sigma.astype(dtype)
    if not np.all(np.isfinite(sigma_out)):
        raise OverflowError(f"a singular value of a exceeds the largest {dtype} ({np.finfo(dtype).max:.3g})")
    order = np.argsort(-sigma, kind="stable")
    u, v, sigma_out = u[:, order], v[:, order], sigma_out[order]
    positive = f[order] > 0
    if not np.all(positive):  # complete an orthonormal set for the zero columns
        rank = int(np.sum(positive))
        q, _ = np.linalg.qr(np.hstack([u[:, :rank], np.eye(m)]))
        u[:, rank:] = q[:, rank:n]
    return JacobiSVD(u.astype(dtype), sigma_out, v.T.astype(dtype), bool(converged), sweeps, np.array(cosines))


def _rotate_columns(mat: np.ndarray, i: int, j: int, c: float, s: float) -> None:
    """``mat[:, [i, j]] <- mat[:, [i, j]] @ [[c, -s], [s, c]]`` in place."""
    col_i = mat[:, i].copy()
    mat[:, i] = c * col_i + s * mat[:, j]
    mat[:, j] = c * mat[:, j] - s * col_i


def _rotate_rows(mat: np.ndarray, i: int, j: int, c: float, s: float) -> None:
    """``mat[[i, j]] <- [[c, s], [-s, c]] @ mat[[i, j]]`` in place."""
    row_i = mat[i].copy()
    mat[i] = c * row_i + s * mat[j]
    mat[j] = c * mat[j] - s * row_i


def _chase_zero_diagonal(b, u, v, k: int, lo: int, hi: int) -> None:
    """``b[k, k]`` is zero: rotate the coupling entry of row (or column) ``k`` out of the block."""
    b[k, k] = 0.0
    if k < hi:  # zero row k right of the diagonal with rotations from the left
        for j in range(k + 1, hi + 1):
            c, s, _ = _givens(b[j, j], b[k, j])
            _rotate_rows(b, j, k, c, s)
            b[k, j] = 0.0
            _rotate_columns(u, j, k, c, s)
    else:  # k == hi: zero column hi above the diagonal with rotations from the right
        for j in range(hi - 1, lo - 1, -1):
            c, s, _ = _givens(b[j, j], b[j, hi])
            _rotate_columns(b, j, hi, c, s)
            b[j, hi] = 0.0
            _rotate_columns(v, j, hi, c, s)


def _golub_kahan_step(b, u, v, lo: int, hi: int) -> None:
    """One implicit-shift QR step on the unreduced bidiagonal block ``lo..hi`` of ``b`` (in place).

    The shift is the Wilkinson shift of the trailing 2-by-2 block of ``B^T B``; the first right
    rotation is that of the shifted QR step on ``B^T B``, and alternating left and right rotations
    chase the bulge down (Golub and Van Loan, Algorithm 8.6.1).
    """
    d_prev, d_last, e_last = b[hi - 1, hi - 1], b[hi, hi], b[hi - 1, hi]
    e_prev = b[hi - 2, hi - 1] if hi - 1 > lo else 0.0
    mu = _wilkinson_shift(d_prev**2 + e_prev**2, d_prev * e_last, d_last**2 + e_last**2)
    y, z = b[lo, lo] ** 2 - mu, b[lo, lo] * b[lo, lo + 1]
    for k in range(lo, hi):
        c, s, _ = _givens(y, z)
        _rotate_columns(b, k, k + 1, c, s)  # from the right: bulge appears at (k + 1, k)
        if k > lo:
            b[k - 1, k + 1] = 0.0
        _rotate_columns(v, k, k + 1, c, s)
        c, s, _ = _givens(b[k, k], b[k + 1, k])
        _rotate_rows(b, k, k + 1, c, s)  # from the left: bulge moves to (k, k + 2)
        b[k + 1, k] = 0.0
        _rotate_columns(u, k, k + 1, c, s)
        if k < hi - 1:
            y, z = b[k, k + 1], b[k, k + 2]


def svd_golub_kahan(a, *, tol: float | None = None, maxiter: int | None = None) -> GolubKahanSVD:
    r"""Thin SVD by Golub-Kahan bidiagonalization and implicit-shift bidiagonal QR.

    :func:`bidiagonalize` gives :math:`\mathbf{A} = \mathbf{U}\mathbf{B}\mathbf{V}^\top`; implicit QR
    steps with the Wilkinson shift of :math:`\mathbf{B}^\top\mathbf{B}` (never formed) are applied to
    the lowest unreduced block until every superdiagonal entry is negligible,
    :math:`|e_i| \le \mathrm{tol}\,(|d_i| + |d_{i+1}|)`. A diagonal entry below
    :math:`\mathrm{tol}\,\max|b_{ij}|` is set to zero and its row (or column) is rotated out, which
    splits the problem.

    Parameters
    ----------
    a : array_like of shape (m, n)
        Any real matrix; a wide one is handled through its transpose.
    tol : float, optional
        Relative deflation threshold; default the float64 machine epsilon.
    maxiter : int, optional
        Maximum number of QR steps (and zero-diagonal chases) in total; default ``30 min(m, n)``.

    Returns
    -------
    GolubKahanSVD
        ``u`` (m, k), ``s`` (k,) descending and non-negative, ``vt`` (k, n) with ``k = min(m, n)``;
        ``converged``, ``iterations``, ``offdiag_history``. If not converged, the current diagonal
        (with signs removed) is returned.

    Raises
    ------
    ValueError
        If ``a`` is not a finite 2-D array, ``tol <= 0`` or ``maxiter < 0``.
    OverflowError
        If a singular value of ``a`` exceeds the largest number of its dtype.

    Notes
    -----
    Works in float64 (float32 input gives float32 output). ``B`` is held as a dense
    :math:`k\times k` array for readability, and each rotation updates two whole rows or columns
    of it, :math:`O(k)` flops, so a QR step on an active block of :math:`b` rows costs
    :math:`O(bk)`, up to :math:`O(k^2)`, on ``B`` (a bidiagonal representation, as in LAPACK's
    ``xBDSQR``, would need :math:`O(b)`), plus :math:`O(mb)` for ``U`` and :math:`O(kb)` for ``V``.
    One to two steps per singular value are typical on random matrices. Backward stable: each
    singular value is found to within :math:`O(\epsilon)\sigma_1` absolutely, not relatively
    (compare :func:`svd_jacobi`; the deflation tests here are absolute, where ``xBDSQR``'s are
    relative). Golub and Kahan (1965); Golub and Van Loan, 8.6. See :ref:`chap-svd`.
    """
    a = _matrix(a)
    if a.shape[0] < a.shape[1]:
        result = svd_golub_kahan(a.T, tol=tol, maxiter=maxiter)
        return GolubKahanSVD(
            result.vt.T, result.s, result.u.T, result.converged, result.iterations, result.offdiag_history
        )
    m, n = a.shape
    tol = float(np.finfo(np.float64).eps) if tol is None else check_real_scalar(tol, "tol", positive=True)
    maxiter = 30 * max(n, 1) if maxiter is None else check_int(maxiter, "maxiter", low=0)
    scale = _power_of_two_scale(a)  # exact; keeps the squares in the shift finite and nonzero
    factors = bidiagonalize(a.astype(np.float64) * scale)
    b = np.diag(factors.d) + np.diag(factors.e, 1)
    u, v = factors.u.copy(), factors.v.copy()
    b_max = float(np.max(np.abs(b), initial=0.0))
    history: list[float] = []
    iterations = 0
    converged = True
    hi = n - 1
    while hi > 0:
        for i in range(hi):  # deflate negligible couplings
            if abs(b[i, i + 1]) <= tol * (abs(b[i, i]) + abs(b[i + 1, i + 1])):
                b[i, i + 1] = 0.0
        while hi > 0 and b[hi - 1, hi] == 0.0:
            hi -= 1
        if hi == 0:
            break
        lo = hi - 1
        while lo > 0 and b[lo - 1, lo] != 0.0:
            lo -= 1
        if iterations == maxiter:
            converged = False
            break
        iterations += 1
        small = [k for k in range(lo, hi + 1) if abs(b[k, k]) <= tol * b_max]
        if small:
            _chase_zero_diagonal(b, u, v, small[0], lo, hi)
        else:
            _golub_kahan_step(b, u, v, lo, hi)
        history.append(abs(b[hi - 1, hi]) / scale)
    sigma = np.diagonal(b).copy()
    v = np.where(np.signbit(sigma), -v, v)  # make every singular value non-negative
    dtype = a.dtype
    with np.errstate(over="ignore"):  # checked just below
        sigma = np.abs(sigma) / scale
        finite = np.all(np.isfinite(sigma.astype(dtype)))
    if not finite:
        raise OverflowError(f"a singular value of a exceeds the largest {dtype} ({np.finfo(dtype).max:.3g})")
    order = np.argsort(-sigma, kind="stable")
    return GolubKahanSVD(
        u[:, order].astype(dtype),
        sigma[order].astype(dtype),
        v[:, order].T.astype(dtype),
        converged,
        iterations,
        np.array(history),
    )
