"""The Moore–Penrose pseudo-inverse: three formulas, the Penrose conditions, minimum-norm least squares.

See the chapter ``chapters/linalg/pseudo-inverse.md``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mathguide._validation import as_float_array, as_matrix_stack, check_real_scalar

__all__ = [
    "PenroseResiduals",
    "lstsq_min_norm",
    "penrose_residuals",
    "pinv_eigh",
    "pinv_normal_equations",
    "pinv_svd",
    "pinv_tikhonov",
]


class PenroseResiduals(NamedTuple):
    """Relative residuals of the four Penrose conditions (arrays of the batch shape)."""

    axa: np.ndarray  # ||A X A - A||_F / ||A||_F
    xax: np.ndarray  # ||X A X - X||_F / ||X||_F
    ax_symmetric: np.ndarray  # ||(A X)^T - A X||_F / ||A X||_F
    xa_symmetric: np.ndarray  # ||(X A)^T - X A||_F / ||X A||_F


def _transpose(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


def _default_rtol(m: int, n: int, dtype) -> float:
    """max(m, n) times the machine epsilon of ``dtype`` (twice the unit roundoff): NumPy's ``rtol=None`` default."""
    return max(m, n, 1) * float(np.finfo(dtype).eps)


def _power_of_two_scale(a: np.ndarray) -> np.ndarray:
    """Per matrix, the power of two nearest above ``max |a_ij|`` (1 for a zero or empty matrix), shape (..., 1, 1).

    Dividing by it is exact (no rounding) and brings the entries into [1/2, 1]: the Gram matrix
    ``A^T A`` can then neither overflow (entries near 1e200) nor underflow (entries near 1e-200).
    """
    amax = np.max(np.abs(a), axis=(-2, -1), keepdims=True, initial=0.0)
    return np.ldexp(np.ones_like(amax), np.frexp(amax)[1])


def _check_rtol(rtol, m: int, n: int, dtype) -> np.ndarray:
    if rtol is None:
        return np.asarray(_default_rtol(m, n, dtype))
    value = as_float_array(rtol, "rtol")
    if (value < 0).any():
        raise ValueError(f"rtol must be non-negative, got {rtol!r}")
    return value


def pinv_normal_equations(a) -> np.ndarray:
    r"""Pseudo-inverse from the normal equations: :math:`(A^\top A)^{-1} A^\top` or :math:`A^\top (A A^\top)^{-1}`.

    For a tall matrix (``m >= n``) of full column rank this is the left inverse
    :math:`(A^\top A)^{-1} A^\top`; for a wide matrix (``m < n``) of full row rank, the right inverse
    :math:`A^\top (A A^\top)^{-1}`. Both equal the Moore–Penrose pseudo-inverse under those rank
    conditions. This is the *textbook* formula, kept to show its numerical weakness.

    Parameters
    ----------
    a : array_like of shape (..., m, n)
        Finite real matrices, of full column rank (``m >= n``) or full row rank (``m < n``).

    Returns
    -------
    ndarray of shape (..., n, m)
        The pseudo-inverse(s).

    Raises
    ------
    ValueError
        If ``a`` has fewer than two dimensions or non-finite entries.
    numpy.linalg.LinAlgError
        If the Gram matrix is exactly singular (the message says that ``a`` does not have full
        rank). A *numerically* singular Gram matrix raises nothing
        and gives a meaningless result: the rank condition is the caller's responsibility.

    Notes
    -----
    Cost: forming the Gram matrix costs about :math:`m n \min(m, n)` flops, the solve
    :math:`\min(m, n)^3 / 3`. Forming :math:`A^\top A` squares the condition number,
    :math:`\kappa(A^\top A) = \kappa(A)^2`, so the relative error grows like :math:`\kappa(A)^2 u`
    instead of the :math:`\kappa(A) u` of :func:`pinv_svd`. The input is first divided by a power of
    two near its largest entry (exact, so no rounding is added): entries near ``1e200`` or
    ``1e-200`` do not overflow or underflow in the Gram matrix.

    References
    ----------
    Golub and Van Loan, *Matrix Computations*, 4th ed., §5.3 (2013).

    See the chapter ``chapters/linalg/pseudo-inverse.md``.
    """
    a = as_matrix_stack(a, "a")
    m, n = a.shape[-2:]
    # (cA)^+ = A^+ / c: scale by an exact power of two so that the Gram matrix cannot overflow or
    # underflow; this changes no rounding error, only the exponent range.
    scale = _power_of_two_scale(a)
    a = a / scale
    at = _transpose(a)
    try:
        if m >= n:
            # (A^T A) X = A^T: one batched solve with the n x n Gram matrix.
            return np.linalg.solve(at @ a, at) / _transpose(scale)
        # X = A^T (A A^T)^{-1}, i.e. X^T solves (A A^T) X^T = A (the Gram matrix is symmetric).
        return _transpose(np.linalg.solve(a @ at, a)) / _transpose(scale)
    except np.linalg.LinAlgError as error:
        raise np.linalg.LinAlgError(
            f"a does not have full rank: its Gram matrix is exactly singular ({error}); use pinv_svd"
        ) from error


def pinv_tikhonov(a, eps: float) -> np.ndarray:
    r"""Regularised pseudo-inverse :math:`(A^\top A + \varepsilon I)^{-1} A^\top`.

    It minimises :math:`\|A B - I\|_F^2 + \varepsilon \|B\|_F^2` over :math:`B` and tends to the
    pseudo-inverse :math:`A^+` as :math:`\varepsilon \to 0^+`, for every matrix :math:`A`.

    Parameters
    ----------
    a : array_like of shape (..., m, n)
        Finite real matrices (any rank).
    eps : float
        The regularisation :math:`\varepsilon > 0`.

    Returns
    -------
    ndarray of shape (..., n, m)

    Raises
    ------
    ValueError
        If ``a`` has fewer than two dimensions or non-finite entries, or ``eps`` is not a finite
        positive number.
    TypeError
        If ``eps`` is not a real number.

    Notes
    -----
    The push-through identity :math:`(A^\top A + \varepsilon I_n)^{-1} A^\top =
    A^\top (A A^\top + \varepsilon I_m)^{-1}` lets us solve with the smaller Gram matrix. With
    :math:`\sigma_r` the smallest nonzero singular value, the truncation error against :math:`A^+` is
    exactly :math:`\varepsilon / (\sigma_r(\sigma_r^2 + \varepsilon))` in the spectral norm. Rounding
    in the Gram matrix adds about :math:`\kappa^2 u \|A^+\|` for a full-rank matrix, and about
    :math:`u\,\sigma_1^2 / (\varepsilon\, \sigma_r)` for a rank-deficient one, whose error is therefore
    U-shaped in :math:`\varepsilon` (smallest near :math:`\sqrt{u}\,\sigma_1\sigma_r`). Cost as
    :func:`pinv_normal_equations`. A matrix with huge entries is scaled down by an exact power of two
    first, so its Gram matrix does not overflow; an :math:`\varepsilon` below :math:`u\|A\|_2^2` is
    lost in the sum (it may underflow to 0 after the scaling), and for tiny entries whose Gram matrix
    underflows the result is :math:`A^\top/\varepsilon`.

    References
    ----------
    Golub and Van Loan, *Matrix Computations*, 4th ed., §6.1.4 (2013).

    See the chapter ``chapters/linalg/pseudo-inverse.md``.
    """
    a = as_matrix_stack(a, "a")
    eps = check_real_scalar(eps, "eps", positive=True)
    m, n = a.shape[-2:]
    # (A^T A + eps I)^{-1} A^T = (1/c) (A'^T A' + (eps/c^2) I)^{-1} A'^T with A = c A', c a power of two:
    # exact rescaling that keeps the Gram matrix of a huge A from overflowing. Only scale down (c >= 1):
    # for a tiny A, eps/c^2 could overflow, and an underflowing Gram matrix is negligible next to eps.
    scale = np.maximum(_power_of_two_scale(a), 1.0)
    a = a / scale
    eps_scaled = eps / scale / scale  # (..., 1, 1); may underflow to 0 when eps << u ||A||^2 (it is then lost anyway)
    at = _transpose(a)
    if m >= n:
        return np.linalg.solve(at @ a + eps_scaled * np.eye(n, dtype=a.dtype), at) / _transpose(scale)
    return _transpose(np.linalg.solve(a @ at + eps_scaled * np.eye(m, dtype=a.dtype), a)) / _transpose(scale)


def _svd_reciprocals(s: np.ndarray, rtol: np.ndarray) -> np.ndarray:
    """1/s for the singular values above ``rtol * s_max`` (per matrix), 0 for the others."""
    s_max = s.max(axis=-1, keepdims=True, initial=0.0)
    cutoff = np.asarray(rtol)[..., np.newaxis] * s_max
    keep = s > cutoff
    # Divide only where kept: the dropped values may be exactly 0.
    return np.divide(1.0, s, out=np.zeros_like(s), where=keep)


def pinv_svd(a, *, rtol=None) -> np.ndarray:
    r"""Moore–Penrose pseudo-inverse :math:`A^+ = V \Sigma^+ U^\top` from the SVD, with a relative cutoff.

    Singular values :math:`\sigma_i \le \mathrm{rtol}\cdot\sigma_1` are treated as zero (their
    reciprocals are replaced by 0), so the result is the exact pseudo-inverse of the nearest matrix of
    the retained rank.

    Parameters
    ----------
    a : array_like of shape (..., m, n)
        Finite real matrices (any rank, any shape including empty).
    rtol : float or array_like broadcasting against the batch shape ``(...)``, optional
        Relative cutoff. Default ``max(m, n) * eps`` with ``eps`` the machine epsilon of the dtype
        (``2.2e-16`` in float64), like ``numpy.linalg.pinv(a, rtol=None)``.

    Returns
    -------
    ndarray of shape (..., n, m)

    Raises
    ------
    ValueError
        If ``a`` has fewer than two dimensions or non-finite entries, or ``rtol`` is negative or NaN.

    Notes
    -----
    Cost: one thin SVD, :math:`O(m n \min(m, n))` flops (a few times a QR factorisation). Built on a
    backward-stable SVD: the relative error is about :math:`\kappa(A)\, u` on matrices of full rank
    whose smallest singular value is above the cutoff. The cutoff decides the *numerical rank*; a
    singular value just below it is dropped, a value just above it is inverted and may dominate the result.

    References
    ----------
    Penrose (1955); Golub and Van Loan, *Matrix Computations*, 4th ed., §5.5.2 (2013).

    See the chapter ``chapters/linalg/pseudo-inverse.md``.
    """
    a = as_matrix_stack(a, "a")
    m, n = a.shape[-2:]
    rtol = _check_rtol(rtol, m, n, a.dtype)
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    s_inv = _svd_reciprocals(s, rtol)
    # V diag(s_inv) U^T, scaling the columns of V instead of forming diag(s_inv).
    return (_transpose(vt) * s_inv[..., np.newaxis, :]) @ _transpose(u)


def pinv_eigh(a, *, rtol=None) -> np.ndarray:
    r"""Pseudo-inverse from the spectral decomposition of the Gram matrix: :math:`A^+ = V \Lambda^+ V^\top A^\top`.

    With :math:`A^\top A = V \Lambda V^\top` (symmetric eigendecomposition, :math:`\Lambda = \Sigma^2`),
    :math:`A^+ = (A^\top A)^+ A^\top = V \Lambda^+ V^\top A^\top`, where :math:`\Lambda^+` inverts the
    eigenvalues above ``rtol**2`` times the largest and zeroes the others (a cutoff ``rtol`` on the
    singular values :math:`\sqrt{\lambda_i}`, as in :func:`pinv_svd`). For a wide matrix the same
    is done with :math:`A A^\top`: :math:`A^+ = A^\top U \Lambda^+ U^\top`.

    Parameters
    ----------
    a : array_like of shape (..., m, n)
        Finite real matrices (any rank, any shape including empty).
    rtol : float or array_like broadcasting against the batch shape ``(...)``, optional
        Relative cutoff on the singular values (eigenvalues below ``rtol**2 * lambda_max`` are
        dropped). Default ``sqrt(max(m, n) * eps)``: eigenvalues of the Gram matrix below about
        ``eps * lambda_max`` are rounding noise, so singular values below about
        ``sqrt(eps) * sigma_1`` cannot be resolved by this route and are dropped.

    Returns
    -------
    ndarray of shape (..., n, m)

    Raises
    ------
    ValueError
        If ``a`` has fewer than two dimensions or non-finite entries, or ``rtol`` is negative or NaN.

    Notes
    -----
    Cost: the Gram matrix (:math:`m n^2` flops for a tall matrix) and a symmetric
    eigendecomposition of order :math:`\min(m, n)`. Equal to :func:`pinv_svd` in exact arithmetic,
    but forming the Gram matrix squares the condition number: the relative error is about
    :math:`\kappa(A)^2 u`, like the normal equations. The entries are scaled by a power of two
    first, so that the Gram matrix neither overflows nor underflows.

    See the chapter ``chapters/linalg/pseudo-inverse.md``.
    """
    a = as_matrix_stack(a, "a")
    m, n = a.shape[-2:]
    rtol = np.sqrt(_default_rtol(m, n, a.dtype)) if rtol is None else _check_rtol(rtol, m, n, a.dtype)
    scale = _power_of_two_scale(a)
    b = a / scale  # exact
    wide = m < n
    if wide:
        b = _transpose(b)  # pinv(A) = pinv(A^T)^T
    lam, v = np.linalg.eigh(_transpose(b) @ b)
    lam_max = lam.max(axis=-1, keepdims=True, initial=0.0)
    cutoff = (np.asarray(rtol)[..., np.newaxis] ** 2) * lam_max
    keep = lam > cutoff
    lam_inv = np.divide(1.0, lam, out=np.zeros_like(lam), where=keep)
    x = ((v * lam_inv[..., np.newaxis, :]) @ _transpose(v)) @ _transpose(b)
    if wide:
        x = _transpose(x)
    return x / scale


def lstsq_min_norm(a, b, *, rtol=None) -> np.ndarray:
    r"""Minimum-norm least-squares solution :math:`\vb{x} = A^+ \vb{b}`.

    Among all minimisers of :math:`\|A \vb{x} - \vb{b}\|_2`, returns the one of smallest
    :math:`\|\vb{x}\|_2`, computed as :math:`V \Sigma^+ (U^\top \vb{b})` without forming :math:`A^+`.

    Parameters
    ----------
    a : array_like of shape (..., m, n)
    b : array_like of shape (m,) or (..., m, k)
        One right-hand side (1-D) or a stack of ``k`` right-hand sides per matrix.
    rtol : float, optional
        Relative cutoff on the singular values, as in :func:`pinv_svd` (default ``max(m, n) * eps``).

    Returns
    -------
    ndarray of shape (..., n) if ``b`` is 1-D, else (..., n, k)

    Raises
    ------
    ValueError
        If an input has non-finite entries or the shapes do not match.

    Notes
    -----
    Cost: one thin SVD plus :math:`O((m + n) \min(m, n) k)`. Same cutoff semantics as
    :func:`pinv_svd` and ``numpy.linalg.lstsq(a, b, rcond=None)``.

    References
    ----------
    Golub and Van Loan, *Matrix Computations*, 4th ed., §5.5 (2013).

    See the chapter ``chapters/linalg/pseudo-inverse.md``.
    """
    a = as_matrix_stack(a, "a")
    b = as_float_array(b, "b")
    m, n = a.shape[-2:]
    vector = b.ndim == 1
    if vector:
        b = b[:, np.newaxis]
    if b.ndim < 2 or b.shape[-2] != m:
        raise ValueError(f"b must have shape (m,) or (..., m, k) with m = {m}, got {b.shape}")
    rtol = _check_rtol(rtol, m, n, np.result_type(a.dtype, b.dtype))
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    s_inv = _svd_reciprocals(s, rtol)
    # V (Sigma^+ (U^T b)): never forms A^+, cost linear in the number of right-hand sides.
    x = _transpose(vt) @ (s_inv[..., :, np.newaxis] * (_transpose(u) @ b))
    return x[..., 0] if vector else x


def _relative(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, and the absolute numerator where the denominator is 0."""
    safe = np.where(denominator > 0, denominator, 1.0)
    return numerator / safe


def penrose_residuals(a, x) -> PenroseResiduals:
    r"""Relative residuals of the four Penrose conditions for a candidate pseudo-inverse ``x``.

    The conditions are :math:`AXA = A`, :math:`XAX = X`, :math:`(AX)^\top = AX`,
    :math:`(XA)^\top = XA`; each residual is a Frobenius norm divided by the norm of the matrix
    it should equal (``||A||_F``, ``||X||_F``, ``||AX||_F``, ``||XA||_F``), or left absolute when that
    norm is 0.

    Parameters
    ----------
    a : array_like of shape (..., m, n)
    x : array_like of shape (..., n, m)

    Returns
    -------
    PenroseResiduals
        Four arrays of the broadcast batch shape ``(...)``.

    Raises
    ------
    ValueError
        If an input has non-finite entries or the shapes do not match.

    Notes
    -----
    :math:`X = A^+` is the only matrix with all four residuals zero; a computed pseudo-inverse has
    residuals of order :math:`u` times a modest multiple of :math:`\kappa(A)` on the retained part.
    The residuals are invariant under :math:`(A, X) \mapsto (A/c, cX)`; the function applies this with
    an exact power of two :math:`c` near :math:`\max_{ij}|a_{ij}|`, so huge or tiny matrices do not
    overflow.

    References
    ----------
    Penrose, "A generalized inverse for matrices" (1955).

    See the chapter ``chapters/linalg/pseudo-inverse.md``.
    """
    a = as_matrix_stack(a, "a")
    x = as_matrix_stack(x, "x")
    if x.shape[-2:] != a.shape[-2:][::-1]:
        raise ValueError(f"x must have shape (..., n, m) for a of shape (..., m, n); got a {a.shape}, x {x.shape}")
    # The four residuals are unchanged by (A, X) -> (A / c, c X); with c an exact power of two near
    # max |a_ij| the products and norms below cannot overflow or underflow for huge or tiny A.
    scale = _power_of_two_scale(a)
    a = a / scale
    x = x * _transpose(scale)
    ax = a @ x
    xa = x @ a

    def frob(z: np.ndarray) -> np.ndarray:
        return np.linalg.norm(z, axis=(-2, -1)) if z.size else np.zeros(z.shape[:-2])

    return PenroseResiduals(
        axa=_relative(frob(ax @ a - a), frob(a)),
        xax=_relative(frob(xa @ x - x), frob(x)),
        ax_symmetric=_relative(frob(_transpose(ax) - ax), frob(ax)),
        xa_symmetric=_relative(frob(_transpose(xa) - xa), frob(xa)),
    )
