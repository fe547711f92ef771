"""The QR algorithm for the eigenvalues of a general real matrix.

Chapter: ``chapters/linalg/qr-algorithm.md``. Reduction to upper Hessenberg form by Householder
reflectors, then shifted QR iterations on the Hessenberg matrix (no shift, the Wilkinson single shift,
or the Francis implicit double shift), with deflation, ending in the real Schur form
``A = Q T Q^T``. The reflectors and rotations come from :mod:`mathguide.linalg.qr`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from mathguide._validation import as_square_matrix, check_bool, check_int, check_real_scalar
from mathguide.linalg.qr import givens_rotation, householder_vector

__all__ = [
    "Hessenberg",
    "QRAlgorithmResult",
    "francis_step",
    "hessenberg",
    "qr_algorithm",
    "schur_eigenvalues",
]

_SHIFTS = (None, "wilkinson", "francis")


class Hessenberg(NamedTuple):
    """``A = Q H Q^T`` with ``H`` upper Hessenberg; ``q`` is None when not asked for."""

    h: np.ndarray
    q: np.ndarray | None


class QRAlgorithmResult(NamedTuple):
    """Result of :func:`qr_algorithm` (see its docstring)."""

    eigenvalues: np.ndarray
    t: np.ndarray
    q: np.ndarray | None
    converged: bool
    iterations: int
    iterations_per_eigenvalue: np.ndarray
    history: np.ndarray
    deflations: int
    balance_scaling: np.ndarray


def _exponent(*values) -> int:
    """The ``e`` with ``ldexp(max |value|, e)`` in ``[0.5, 1)`` (0 if all are zero): an exact rescaling.

    Private helper: a power of two ``2**e`` scales data into the middle of the exponent range, so that
    products and squares of the scaled values neither overflow nor underflow (LAPACK scales the same way).
    """
    largest = max((float(np.max(np.abs(v), initial=0.0)) for v in values), default=0.0)
    if largest == 0.0 or not math.isfinite(largest):
        return 0
    return -math.frexp(largest)[1]


def _ldexp_complex(values: np.ndarray, e: int) -> np.ndarray:
    """``values * 2**e`` exactly, for a complex array."""
    return (np.ldexp(values.real, e) + 1j * np.ldexp(values.imag, e)).astype(values.dtype)


# ---------------------------------------------------------------------------------------------
# In-place kernels on blocks (private): each applies one small orthogonal transformation to a
# block of rows or columns with a single matrix product, so there is no loop over entries.


def _reflect_rows(block: np.ndarray, v: np.ndarray, beta) -> None:
    """``block <- (I - beta v v^T) block`` in place (the reflector acts on the rows)."""
    block -= (beta * v)[:, None] * (v @ block)[None, :]


def _reflect_columns(block: np.ndarray, v: np.ndarray, beta) -> None:
    """``block <- block (I - beta v v^T)`` in place (the reflector acts on the columns)."""
    block -= (block @ v)[:, None] * (beta * v)[None, :]


def _rotate_rows(block: np.ndarray, c, s) -> None:
    """``block <- G block`` in place for the two rows of ``block``, ``G = [[c, s], [-s, c]]``."""
    top = block[0].copy()
    block[0] = c * top + s * block[1]
    block[1] = -s * top + c * block[1]


def _rotate_columns(block: np.ndarray, c, s) -> None:
    """``block <- block G^T`` in place for the two columns of ``block``."""
    left = block[:, 0].copy()
    block[:, 0] = c * left + s * block[:, 1]
    block[:, 1] = -s * left + c * block[:, 1]


def hessenberg(a, *, calc_q: bool = True) -> Hessenberg:
    r"""Reduce a square matrix to upper Hessenberg form by Householder reflectors.

    Computes :math:`\mathbf{A} = \mathbf{Q}\mathbf{H}\mathbf{Q}^\top` with :math:`\mathbf{Q}`
    orthogonal and :math:`h_{ij} = 0` for :math:`i > j + 1`. Step :math:`k` reflects rows and columns
    :math:`k+1, \dots, n-1` so that column :math:`k` is zero below the subdiagonal; the reflector does
    not touch row or column :math:`k`, so the zeros made earlier stay zero.

    Parameters
    ----------
    a : array_like of shape (n, n)
        Real square matrix, finite. Integers are promoted to float64; float32 stays float32.
    calc_q : bool, optional
        Also accumulate the orthogonal factor (default True).

    Returns
    -------
    Hessenberg
        ``h`` of shape (n, n), exactly zero below the subdiagonal; ``q`` of shape (n, n), or None.

    Raises
    ------
    ValueError
        If ``a`` is not square or not finite.
    TypeError
        If ``a`` is not real, or ``calc_q`` is not a bool.

    Notes
    -----
    Cost :math:`\tfrac{10}{3}n^3` flops, plus about :math:`2n^3` for ``Q`` (each reflector is applied
    to full columns of ``Q``; accumulating backwards, as LAPACK's ``orghr``, costs
    :math:`\tfrac43 n^3`). Backward stable:
    the computed ``H`` is the exact reduction of ``A + E`` with
    :math:`\|\mathbf{E}\|_2 = O(\epsilon_{\text{mach}}\|\mathbf{A}\|_2)`.
    Golub and Van Loan, *Matrix Computations*, Algorithm 7.4.2. Chapter: ``chapters/linalg/qr-algorithm.md``.
    """
    h = as_square_matrix(a, "a").copy()
    calc_q = check_bool(calc_q, "calc_q")
    n = h.shape[0]
    q = np.eye(n, dtype=h.dtype) if calc_q else None
    for k in range(n - 2):
        v, beta, alpha = householder_vector(h[k + 1 :, k])
        if beta == 0:
            continue  # the column is already zero below the subdiagonal
        _reflect_rows(h[k + 1 :, k + 1 :], v, beta)
        _reflect_columns(h[:, k + 1 :], v, beta)
        h[k + 1, k] = alpha
        h[k + 2 :, k] = 0  # exactly: these entries were reflected onto alpha e_1
        if q is not None:
            _reflect_columns(q[:, k + 1 :], v, beta)
    return Hessenberg(h, q)


# ---------------------------------------------------------------------------------------------
# One QR step on the active window h[lo:hi + 1, lo:hi + 1] of the full matrix. The rows to the right
# and the columns above the window are updated too, so that h stays similar to A (the Schur form).


def _single_shift_step(h: np.ndarray, q: np.ndarray | None, lo: int, hi: int, shift) -> None:
    """Implicit single-shift QR step (bulge chase by Givens rotations), in place."""
    n = h.shape[0]
    x, y = h[lo, lo] - shift, h[lo + 1, lo]
    for k in range(lo, hi):
        c, s, _ = givens_rotation(x, y)
        start = max(lo, k - 1)
        _rotate_rows(h[k : k + 2, start:n], c, s)
        _rotate_columns(h[: min(k + 3, hi + 1), k : k + 2], c, s)
        if q is not None:
            _rotate_columns(q[:, k : k + 2], c, s)
        if k > lo:
            h[k + 1, k - 1] = 0.0  # the bulge just chased down, zero by construction
        if k < hi - 1:
            x, y = h[k + 1, k], h[k + 2, k]


def _double_shift_step(
    h: np.ndarray, q: np.ndarray | None, lo: int, hi: int, trace, det
) -> None:
    """Francis implicit double-shift step, shifts the roots of ``z^2 - trace z + det``, in place.

    The first column of ``(H - s1 I)(H - s2 I) = H^2 - trace H + det I`` has three nonzeros; a
    3-by-3 reflector maps it to e_1 and creates a bulge that reflectors chase down the subdiagonal.
    Everything stays real even when the shifts are a complex-conjugate pair.
    """
    n = h.shape[0]
    h00, h01, h10, h11, h21 = h[lo, lo], h[lo, lo + 1], h[lo + 1, lo], h[lo + 1, lo + 1], h[lo + 2, lo + 1]
    # only the direction of the first column of M matters: compute it for the entries scaled by a power
    # of two 2**e (and det by 4**e), so that the squares neither overflow nor underflow
    e = _exponent(h00, h01, h10, h11, h21, trace, math.sqrt(abs(float(det))))
    h00, h01, h10, h11, h21, trace = (math.ldexp(float(v), e) for v in (h00, h01, h10, h11, h21, trace))
    det = math.ldexp(float(det), 2 * e)
    x = h00 * h00 + h01 * h10 - trace * h00 + det
    y = h10 * (h00 + h11 - trace)
    z = h10 * h21
    for k in range(lo, hi - 1):
        v, beta, alpha = householder_vector(np.array([x, y, z], dtype=h.dtype))
        start = max(lo, k - 1)
        _reflect_rows(h[k : k + 3, start:n], v, beta)
        _reflect_columns(h[: min(k + 4, hi + 1), k : k + 3], v, beta)
        if q is not None:
            _reflect_columns(q[:, k : k + 3], v, beta)
        if k > lo and beta != 0:
            h[k, k - 1] = alpha
            h[k + 1 : k + 3, k - 1] = 0.0  # the bulge just chased down, zero by construction
        x, y = h[k + 1, k], h[k + 2, k]
        if k < hi - 2:
            z = h[k + 3, k]
    # the last step is a 2-by-2 reflector (rows and columns hi - 1, hi)
    v, beta, alpha = householder_vector(np.array([x, y], dtype=h.dtype))
    k = hi - 1
    _reflect_rows(h[k : k + 2, max(lo, k - 1) : n], v, beta)
    _reflect_columns(h[: hi + 1, k : k + 2], v, beta)
    if q is not None:
        _reflect_columns(q[:, k : k + 2], v, beta)
    if k > lo and beta != 0:
        h[k, k - 1] = alpha
        h[k + 1, k - 1] = 0.0


def _trailing_eigenvalues(h: np.ndarray, hi: int):
    """The 2-by-2 block ending at ``hi``, scaled by ``2**e``: ``a, b, c, d, half, disc, e``.

    Its eigenvalues are ``((a + d)/2 +- sqrt(disc)) * 2**-e``, ``half = (a - d)/2``. The scaling (exact)
    keeps ``half**2 + b c`` from overflowing or underflowing whatever the size of the block.
    """
    block = [float(v) for v in (h[hi - 1, hi - 1], h[hi - 1, hi], h[hi, hi - 1], h[hi, hi])]
    e = _exponent(*block)
    a, b, c, d = (math.ldexp(v, e) for v in block)
    half = (a - d) / 2
    disc = half * half + b * c  # eigenvalues (a + d)/2 +- sqrt(disc), scaled by 2**e
    return a, b, c, d, half, disc, e


def _wilkinson_shift(h: np.ndarray, hi: int):
    """The eigenvalue of the trailing 2-by-2 block closer to ``h[hi, hi]``; its real part if complex."""
    a, b, c, d, half, disc, e = _trailing_eigenvalues(h, hi)
    if disc < 0:
        return math.ldexp((a + d) / 2, -e)
    root = math.sqrt(disc)
    # d - bc / (half + sign(half) root): the root closer to d, without cancellation
    denominator = half + (root if half >= 0 else -root)
    if denominator == 0:
        return math.ldexp(d, -e)
    return math.ldexp(d - b * c / denominator, -e)


def _standardise_two_by_two(h: np.ndarray, q: np.ndarray | None, k: int) -> None:
    """Triangularise the decoupled block ``h[k:k+2, k:k+2]`` if its eigenvalues are real, in place."""
    if h[k + 1, k] == 0:
        return
    a, b, c, d, half, disc, _ = _trailing_eigenvalues(h, k + 1)
    if disc < 0:
        return  # a complex-conjugate pair: the 2-by-2 block stays in the real Schur form
    root = math.sqrt(disc)
    # eigenvector (lambda - d, c) for lambda - d = half + sign(half) root: no cancellation
    first = half + (root if half >= 0 else -root)
    c_rot, s_rot, _ = givens_rotation(first, c)
    n = h.shape[0]
    _rotate_rows(h[k : k + 2, k:n], c_rot, s_rot)
    _rotate_columns(h[: k + 2, k : k + 2], c_rot, s_rot)
    if q is not None:
        _rotate_columns(q[:, k : k + 2], c_rot, s_rot)
    h[k + 1, k] = 0.0  # the rotation's first column is an eigenvector


def schur_eigenvalues(t) -> np.ndarray:
    r"""The eigenvalues of a real quasi-upper-triangular matrix (a real Schur form).

    Reads the :math:`1\times 1` diagonal blocks and the :math:`2\times 2` blocks marked by a nonzero
    subdiagonal entry; a :math:`2\times 2` block with complex eigenvalues :math:`\mu \pm i\nu` gives
    :math:`\mu + i\nu` then :math:`\mu - i\nu`.

    Parameters
    ----------
    t : array_like of shape (n, n)
        Real, zero below the subdiagonal, with no two consecutive nonzero subdiagonal entries.

    Returns
    -------
    eigenvalues : ndarray of shape (n,)
        Complex, in the order of the diagonal blocks.

    Raises
    ------
    ValueError
        If ``t`` is not square, or is not quasi-upper-triangular.
    """
    t = as_square_matrix(t, "t")
    n = t.shape[0]
    if np.any(np.tril(t, -2)):
        raise ValueError("t must be quasi-upper-triangular (zero below the subdiagonal)")
    sub = np.diagonal(t, -1)
    if np.any((sub[:-1] != 0) & (sub[1:] != 0)):
        raise ValueError("t must be quasi-upper-triangular (2-by-2 blocks cannot overlap)")
    complex_dtype = np.complex64 if t.dtype == np.float32 else np.complex128
    eigenvalues = np.empty(n, dtype=complex_dtype)
    k = 0
    while k < n:
        if k + 1 < n and t[k + 1, k] != 0:
            a, b, c, d, half, disc, e = _trailing_eigenvalues(t, k + 1)  # scaled by 2**e
            mean = math.ldexp((a + d) / 2, -e)
            root = math.ldexp(math.sqrt(abs(disc)), -e)
            if disc < 0:  # a complex-conjugate pair
                eigenvalues[k], eigenvalues[k + 1] = complex(mean, root), complex(mean, -root)
            else:
                eigenvalues[k], eigenvalues[k + 1] = mean + root, mean - root
            k += 2
        else:
            eigenvalues[k] = t[k, k]
            k += 1
    return eigenvalues


def francis_step(h, *, calc_q: bool = True) -> Hessenberg:
    r"""One Francis implicit double-shift QR step on an unreduced upper Hessenberg matrix.

    The shifts are the two eigenvalues :math:`s_1, s_2` of the trailing :math:`2\times 2` block. The
    step computes :math:`\mathbf{H}' = \mathbf{Q}^\top\mathbf{H}\mathbf{Q}` where, by the implicit-Q
    theorem, :math:`\mathbf{Q}` is (up to the signs of its columns) the orthogonal factor of
    :math:`(\mathbf{H} - s_1\mathbf{I})(\mathbf{H} - s_2\mathbf{I}) = \mathbf{Q}\mathbf{R}`, in
    real arithmetic.

    Parameters
    ----------
    h : array_like of shape (n, n)
        Upper Hessenberg, ``n >= 3``.
    calc_q : bool, optional
        Also return the accumulated orthogonal factor (default True).

    Returns
    -------
    Hessenberg
        The new Hessenberg matrix ``h`` and ``q`` (or None).

    Raises
    ------
    ValueError
        If ``h`` is not square, has fewer than 3 rows, or is not upper Hessenberg.

    Notes
    -----
    Cost about :math:`11n^2` flops: :math:`n - 1` reflectors of size at most 3, each applied to three
    rows and three columns of total length about :math:`n` (:math:`5L` flops for
    :math:`\mathbf{v}^\top\mathbf{B}` and :math:`6L` for the update of a :math:`3\times L` block); about
    :math:`11n^2` more for ``Q`` (three columns of length :math:`n` per reflector). Golub and Van Loan,
    Algorithm 7.5.1, count :math:`10n^2` for the step. The matrix is scaled by a power of two (exact)
    for the step, so that the shifts' products neither overflow nor underflow.
    """
    h = as_square_matrix(h, "h").copy()
    n = h.shape[0]
    if n < 3:
        raise ValueError(f"h must be at least 3-by-3 for a double-shift step, got shape {h.shape}")
    if np.any(np.tril(h, -2)):
        raise ValueError("h must be upper Hessenberg (zero below the subdiagonal)")
    calc_q = check_bool(calc_q, "calc_q")
    q = np.eye(n, dtype=h.dtype) if calc_q else None
    e = _exponent(h)
    h = np.ldexp(h, e)  # exact: the step commutes with scaling by a power of two
    a, b, c, d = h[n - 2, n - 2], h[n - 2, n - 1], h[n - 1, n - 2], h[n - 1, n - 1]
    _double_shift_step(h, q, 0, n - 1, a + d, a * d - b * c)
    return Hessenberg(np.ldexp(h, -e), q)


def _balance(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Diagonal balancing as LAPACK's ``dgebal`` (job ``"S"``, LAPACK 3.5 and later), on a copy.

    Returns ``(D^{-1} A D, d)`` with ``D = diag(d)``, ``d`` powers of two (so the similarity is exact).
    Each sweep visits every index ``i``; with ``c`` and ``r`` the 2-norms of column and row ``i``, it
    finds the power of two ``f`` that makes ``c f`` and ``r / f`` closest, and applies it only if
    it reduces ``c + r`` by at least 5 %; sweeps repeat until none is applied. The guards on the
    smallest and largest safe numbers are LAPACK's, so no entry overflows or underflows.
    """
    a = a.copy()
    n = a.shape[0]
    d = np.ones(n, dtype=a.dtype)
    finfo = np.finfo(a.dtype)
    radix, factor = 2.0, 0.95
    sfmin1 = float(finfo.tiny) / float(finfo.eps)
    sfmax1 = 1.0 / sfmin1
    sfmin2 = sfmin1 * radix
    sfmax2 = 1.0 / sfmin2
    not_converged = True
    while not_converged:
        not_converged = False
        for i in range(n):
            c = float(np.linalg.norm(a[:, i]))
            r = float(np.linalg.norm(a[i, :]))
            ca = float(np.abs(a[:, i]).max())
            ra = float(np.abs(a[i, :]).max())
            if c == 0.0 or r == 0.0:
                continue
            g, f, s = r / radix, 1.0, c + r
            while c < g and max(f, c, ca) < sfmax2 and min(r, g, ra) > sfmin2:
                f, c, ca, r, g, ra = f * radix, c * radix, ca * radix, r / radix, g / radix, ra / radix
            g = c / radix
            while g >= r and max(r, ra) < sfmax2 and min(f, c, g, ca) > sfmin2:
                f, c, g, ca, r, ra = f / radix, c / radix, g / radix, ca / radix, r * radix, ra * radix
            if c + r >= factor * s:
                continue
            if f < 1 and d[i] < 1 and f * d[i] <= sfmin1:
                continue
            if f > 1 and d[i] > 1 and d[i] >= sfmax1 / f:
                continue
            d[i] *= f
            a[i, :] /= f  # exact: f is a power of two
            a[:, i] *= f
            not_converged = True
    return a, d


def qr_algorithm(
    a,
    *,
    shift: str | None = "francis",
    calc_q: bool = False,
    balance: bool = True,
    tol: float | None = None,
    maxiter: int | None = None,
) -> QRAlgorithmResult:
    r"""Eigenvalues and real Schur form of a real square matrix by the QR algorithm.

    Reduces :math:`\mathbf{A}` to Hessenberg form, then repeats QR steps on the active (unreduced)
    trailing block, deflating whenever a subdiagonal entry becomes negligible,

    .. math:: |h_{k,k-1}| \le \mathrm{tol}\,(|h_{k-1,k-1}| + |h_{kk}|),

    until :math:`\mathbf{A} = \mathbf{Q}\mathbf{T}\mathbf{Q}^\top` with :math:`\mathbf{T}` quasi-upper
    triangular: :math:`1\times 1` blocks for real eigenvalues and :math:`2\times 2` blocks for
    complex-conjugate pairs (the real Schur form).

    Parameters
    ----------
    a : array_like of shape (n, n)
        Real square matrix, finite. float32 stays float32; integers become float64.
    shift : {"francis", "wilkinson", None}, optional
        ``"francis"`` (default): implicit double shift by the eigenvalues of the trailing
        :math:`2\times 2` block, quadratically convergent for real and complex eigenvalues alike.
        ``"wilkinson"``: implicit single real shift, the eigenvalue of the trailing :math:`2\times 2`
        block closer to :math:`h_{nn}` (its real part when the pair is complex). Quadratic on
        real eigenvalues, but a real shift cannot approach a complex pair: such pairs converge
        at best linearly and often not within ``maxiter`` (use ``"francis"`` for them).
        ``None``: unshifted QR (simultaneous iteration), linear convergence at rates
        :math:`|\lambda_{k+1}/\lambda_k|`; it stalls when three or more eigenvalues share a
        modulus (two of equal modulus end up in a :math:`2\times 2` block, which is solved
        directly).
    calc_q : bool, optional
        Also accumulate the orthogonal Schur vectors ``q`` (default False).
    balance : bool, optional
        Balance ``a`` first (default True), as LAPACK's ``gebal`` (diagonal scaling only, no
        permutation): a diagonal :math:`\mathbf{D}` of powers of two such that the rows and columns of
        :math:`\mathbf{D}^{-1}\mathbf{A}\mathbf{D}` have comparable norms. The eigenvalues are the same
        (the scaling is exact), and the backward error :math:`O(\epsilon)\|\mathbf{D}^{-1}\mathbf{A}\mathbf{D}\|`
        can be far smaller than :math:`O(\epsilon)\|\mathbf{A}\|` for a badly scaled matrix. A diagonal
        similarity is not orthogonal, so with ``calc_q=True`` no scaling is done (as LAPACK's ``gees``,
        which does not scale; ``geev`` does) and ``balance_scaling`` is all ones.
    tol : float, optional
        Relative deflation tolerance; default the machine epsilon of the working precision.
    maxiter : int, optional
        Maximum total number of QR steps; default ``30 n`` (LAPACK's budget). A double step counts
        as one iteration.

    Returns
    -------
    QRAlgorithmResult
        ``eigenvalues`` (complex, shape (n,), in the order of ``t``'s diagonal blocks; ``nan`` for
        those not converged); ``t`` (n, n) the real Schur form (when not converged, the partly
        reduced Hessenberg matrix, still ``Q T Q^T = A``); ``q`` (n, n) or None; ``converged``;
        ``iterations`` (total QR steps); ``iterations_per_eigenvalue`` (float, shape (n,): the steps
        spent between the previous deflation and the one that produced the eigenvalue, split equally
        between the two eigenvalues of a :math:`2\times 2` block, so that they sum to ``iterations``);
        ``history`` (shape (iterations, 2): after each step, :math:`|h_{p,p-1}|` and
        :math:`|h_{p-1,p-2}|` at the bottom :math:`p` of the active block, relative to
        :math:`\|\mathbf{H}\|_F`; ``nan`` where the block is too small); ``deflations`` (the number
        of times the bottom :math:`1\times 1` or :math:`2\times 2` block of the active part decoupled);
        ``balance_scaling`` (shape (n,), powers of two: ``t`` is the Schur form of
        ``a * balance_scaling / balance_scaling[:, None]``, that is of :math:`\mathbf{D}^{-1}\mathbf{A}\mathbf{D}`).

    Raises
    ------
    ValueError
        If ``a`` is not square or not finite, ``shift`` is unknown, ``tol`` is not in (0, 1) or
        ``maxiter`` is negative.
    TypeError
        If ``a`` is not real or ``calc_q`` is not a bool.

    Notes
    -----
    After 10 and 20 steps without deflation an *exceptional shift* (built from the last two
    subdiagonal entries, as in EISPACK's ``hqr``) breaks the rare cycles of the standard shifts.
    Cost: :math:`\tfrac{10}{3}n^3` for the Hessenberg reduction, then about :math:`11nm` flops per
    Francis step on an active block of size :math:`m`, because the rows and columns are updated over
    the whole matrix even without ``Q``; with :math:`c` steps per eigenvalue on average, about
    :math:`(\tfrac{10}{3} + 5.5c)n^3` flops, and about :math:`5.5cn^3` more (:math:`11n` per reflector)
    for ``Q``. Golub and Van Loan (section 7.5.6) count :math:`10n^3` for the eigenvalues of an
    implementation that updates only the active block, and :math:`25n^3` for the Schur form with
    ``Q``. The bulge chase is a Python loop over bulge positions with vectorised row and column
    updates. The matrix is first scaled by a power of two (exact, undone on ``t`` and the
    eigenvalues), so that no shift computation overflows or underflows at any magnitude of ``a``.
    Backward stable: ``T`` is the exact Schur form of ``A + E`` with
    :math:`\|\mathbf{E}\|_2 = O(\epsilon_{\text{mach}}\|\mathbf{A}\|_2)` (of
    :math:`\mathbf{D}^{-1}(\mathbf{A} + \mathbf{E})\mathbf{D}` with
    :math:`\|\mathbf{E}\|_2 = O(\epsilon_{\text{mach}}\|\mathbf{D}^{-1}\mathbf{A}\mathbf{D}\|_2)` when balanced).
    Chapter: ``chapters/linalg/qr-algorithm.md``.
    """
    if shift not in _SHIFTS:
        raise ValueError(f"shift must be 'francis', 'wilkinson' or None, got {shift!r}")
    a = as_square_matrix(a, "a")
    calc_q = check_bool(calc_q, "calc_q")
    balance = check_bool(balance, "balance")
    n = a.shape[0]
    eps = float(np.finfo(a.dtype).eps)
    tol = eps if tol is None else check_real_scalar(tol, "tol", positive=True)
    if tol >= 1:
        raise ValueError(f"tol must be in (0, 1), got {tol}")
    maxiter = 30 * max(n, 1) if maxiter is None else check_int(maxiter, "maxiter", low=0)

    exponent = _exponent(a)
    scaled = np.ldexp(a, exponent)  # exact; largest entry in [0.5, 1)
    if balance and not calc_q:
        scaled, balance_scaling = _balance(scaled)
    else:
        balance_scaling = np.ones(n, dtype=a.dtype)
    h, q = hessenberg(scaled, calc_q=calc_q)
    norm = float(np.linalg.norm(h))
    safe_norm = norm if norm > 0 else 1.0
    per_eigenvalue = np.zeros(n)
    history: list[tuple[float, float]] = []
    iterations = 0
    deflations = 0
    since_deflation = 0
    hi = n - 1
    while hi >= 0:
        # find the top of the active block: the last negligible subdiagonal entry above hi
        lo = hi
        while lo > 0:
            off = abs(h[lo, lo - 1])
            scale = abs(h[lo - 1, lo - 1]) + abs(h[lo, lo])
            if off <= tol * (scale if scale > 0 else norm):
                h[lo, lo - 1] = 0.0
                break
            lo -= 1
        if lo == hi:  # a 1-by-1 block decoupled: one real eigenvalue
            per_eigenvalue[hi] = since_deflation
            hi, since_deflation, deflations = hi - 1, 0, deflations + 1
            continue
        if lo == hi - 1:  # a 2-by-2 block decoupled
            _standardise_two_by_two(h, q, lo)
            per_eigenvalue[lo : hi + 1] = since_deflation / 2
            hi, since_deflation, deflations = hi - 2, 0, deflations + 1
            continue
        if iterations >= maxiter:
            break
        # unshifted QR is left alone, to show simultaneous iteration as it is
        exceptional = shift is not None and since_deflation in (10, 20)
        if exceptional:
            # EISPACK hqr's exceptional shifts: roots of (z - b)^2 - 1.5 s (z - b) + s^2 for
            # b = h[hi, hi] and s the size of the last two subdiagonal entries
            size = abs(h[hi, hi - 1]) + abs(h[hi - 1, hi - 2])
            base = h[hi, hi]
            single = base + 0.75 * size
            trace = 2 * base + 1.5 * size
            det = base * base + 1.5 * size * base + size * size
        if shift == "francis":
            if not exceptional:
                a_, b_, c_, d_ = h[hi - 1, hi - 1], h[hi - 1, hi], h[hi, hi - 1], h[hi, hi]
                trace, det = a_ + d_, a_ * d_ - b_ * c_
            _double_shift_step(h, q, lo, hi, trace, det)
        else:
            if exceptional:
                sigma = single
            elif shift == "wilkinson":
                sigma = _wilkinson_shift(h, hi)
            else:
                sigma = 0.0
            _single_shift_step(h, q, lo, hi, sigma)
        iterations += 1
        since_deflation += 1
        bottom = abs(h[hi, hi - 1]) / safe_norm
        above = abs(h[hi - 1, hi - 2]) / safe_norm if hi - 2 >= lo else np.nan
        history.append((bottom, above))

    converged = hi < 0
    h = np.ldexp(h, -exponent)  # undo the power-of-two scaling, exactly
    if converged:
        eigenvalues = schur_eigenvalues(h)
    else:
        # eigenvalues of the deflated trailing part only; the active block [0, hi] did not converge
        eigenvalues = np.full(n, np.nan, dtype=np.complex64 if h.dtype == np.float32 else np.complex128)
        if hi + 1 < n:
            eigenvalues[hi + 1 :] = schur_eigenvalues(h[hi + 1 :, hi + 1 :])
        per_eigenvalue[: hi + 1] = np.nan
    return QRAlgorithmResult(
        eigenvalues=eigenvalues,
        t=h,
        q=q,
        converged=bool(converged),
        iterations=int(iterations),
        iterations_per_eigenvalue=per_eigenvalue,
        history=np.array(history, dtype=float).reshape(-1, 2),
        deflations=deflations,
        balance_scaling=balance_scaling,
    )
