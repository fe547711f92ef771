"""Low-rank approximation: truncated SVD (Eckart–Young–Mirsky) and randomized SVD (Halko–Martinsson–Tropp).

See the chapter ``chapters/linalg/pseudo-inverse.md``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mathguide._validation import as_generator, as_matrix_stack, check_int

__all__ = ["TruncatedSVD", "randomized_range_finder", "randomized_svd", "truncated_svd"]


class TruncatedSVD(NamedTuple):
    """A rank-``k`` factorisation ``u @ diag(s) @ vt`` (``u`` and ``vt`` with orthonormal columns/rows)."""

    u: np.ndarray  # (..., m, k)
    s: np.ndarray  # (..., k), non-increasing, non-negative
    vt: np.ndarray  # (..., k, n)


def truncated_svd(a, k: int) -> TruncatedSVD:
    r"""The best rank-``k`` approximation :math:`A_k = U_k \Sigma_k V_k^\top` (Eckart–Young–Mirsky).

    Keeps the ``k`` largest singular triplets of a full SVD. By the Eckart–Young–Mirsky theorem,
    :math:`A_k` minimises :math:`\|A - X\|` over matrices of rank at most ``k`` in the spectral norm
    (error :math:`\sigma_{k+1}`) and in the Frobenius norm (error
    :math:`(\sum_{j>k} \sigma_j^2)^{1/2}`).

    Parameters
    ----------
    a : array_like of shape (..., m, n)
        Finite real matrices.
    k : int
        Target rank, ``0 <= k <= min(m, n)`` (``k = 0`` gives empty factors: the zero matrix).

    Returns
    -------
    TruncatedSVD
        ``u`` of shape (..., m, k), ``s`` of shape (..., k), ``vt`` of shape (..., k, n).

    Raises
    ------
    TypeError
        If ``k`` is not an integer.
    ValueError
        If ``a`` is not a finite stack of matrices or ``k`` is out of range.

    Notes
    -----
    Cost: a full thin SVD, :math:`O(m n \min(m, n))`, whatever ``k``; see :func:`randomized_svd`
    for a cheaper approximation when ``k`` is small. Ties :math:`\sigma_k = \sigma_{k+1}` make
    :math:`A_k` non-unique; the optimal error is unaffected.

    References
    ----------
    Eckart and Young (1936); Golub and Van Loan, *Matrix Computations*, 4th ed., §2.4.8 (2013).

    See the chapter ``chapters/linalg/pseudo-inverse.md``.
    """
    a = as_matrix_stack(a, "a")
    m, n = a.shape[-2:]
    k = check_int(k, "k", low=0, high=min(m, n))
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    return TruncatedSVD(u[..., :, :k], s[..., :k], vt[..., :k, :])


def _orthonormal_basis(y: np.ndarray) -> np.ndarray:
    """An orthonormal basis (Householder QR, batched) for the columns of ``y``."""
    return np.linalg.qr(y, mode="reduced").Q


def randomized_range_finder(a, size: int, *, power_iterations: int = 2, rng) -> np.ndarray:
    r"""An orthonormal :math:`Q` (``size`` columns) with :math:`Q Q^\top A \approx A`, by random sampling.

    Draws a Gaussian test matrix :math:`\Omega \in \R^{n \times \ell}` (``\ell = size``), forms
    :math:`Y = (A A^\top)^q A \Omega` and returns an orthonormal basis of its columns.

    Parameters
    ----------
    a : array_like of shape (..., m, n)
        Finite real matrices.
    size : int
        Number of columns :math:`\ell` of :math:`Q`, ``0 <= size <= min(m, n)``.
    power_iterations : int, default 2
        The exponent :math:`q \ge 0` of the power scheme.
    rng : numpy.random.Generator or int
        Source of the Gaussian test matrix.

    Returns
    -------
    ndarray of shape (..., m, size)
        Orthonormal columns.

    Raises
    ------
    TypeError
        If ``size`` or ``power_iterations`` is not an integer, or ``rng`` is not a generator/seed.
    ValueError
        If ``a`` is not a finite stack of matrices or an integer is out of range.

    Notes
    -----
    Cost: :math:`(2q + 1)` products of :math:`A` or :math:`A^\top` with an :math:`\ell`-column block
    plus :math:`O((m + n)\ell^2)` for the QR factorisations. Stability: the block is re-orthonormalised
    after every product with :math:`A` or :math:`A^\top` (Halko et al., Algorithm 4.4); without it
    the columns of :math:`(A A^\top)^q A \Omega` all align with the top singular vector in floating
    point and the information about the others is rounded away.

    References
    ----------
    Halko, Martinsson and Tropp, "Finding structure with randomness", SIAM Review 53 (2011),
    Algorithms 4.1 and 4.4.

    See the chapter ``chapters/linalg/pseudo-inverse.md``.
    """
    a = as_matrix_stack(a, "a")
    m, n = a.shape[-2:]
    size = check_int(size, "size", low=0, high=min(m, n))
    power_iterations = check_int(power_iterations, "power_iterations", low=0)
    rng = as_generator(rng)
    omega = rng.standard_normal((*a.shape[:-2], n, size)).astype(a.dtype, copy=False)
    at = np.swapaxes(a, -1, -2)
    q = _orthonormal_basis(a @ omega)
    for _ in range(power_iterations):
        # Orthonormalise after each product (subspace iteration) to keep the small directions.
        q = _orthonormal_basis(a @ _orthonormal_basis(at @ q))
    return q


def randomized_svd(a, k: int, *, oversample: int = 10, power_iterations: int = 2, rng) -> TruncatedSVD:
    r"""Approximate rank-``k`` SVD by a randomized range finder (Halko–Martinsson–Tropp).

    Finds an orthonormal :math:`Q` with :math:`\ell = \min(k + p, m, n)` columns
    (:func:`randomized_range_finder`, oversampling :math:`p`), computes the small SVD
    :math:`Q^\top A = \tilde U \Sigma V^\top` and returns the leading ``k`` triplets of
    :math:`(Q \tilde U) \Sigma V^\top`.

    Parameters
    ----------
    a : array_like of shape (..., m, n)
        Finite real matrices.
    k : int
        Target rank, ``0 <= k <= min(m, n)``.
    oversample : int, default 10
        Extra sample columns :math:`p \ge 0`.
    power_iterations : int, default 2
        Power-scheme exponent :math:`q \ge 0`.
    rng : numpy.random.Generator or int
        Source of the Gaussian test matrix.

    Returns
    -------
    TruncatedSVD
        ``u`` (..., m, k), ``s`` (..., k), ``vt`` (..., k, n).

    Raises
    ------
    TypeError
        If an integer argument is not an integer or ``rng`` is not a generator/seed.
    ValueError
        If ``a`` is not a finite stack of matrices or an integer is out of range.

    Notes
    -----
    Cost: :math:`O(m n \ell (2q + 2))` for the :math:`2q + 1` products of the range finder and the
    product :math:`Q^\top A`, plus :math:`O((m + n)\ell^2)`, against :math:`O(m n \min(m, n))` for
    :func:`truncated_svd`. The spectral error satisfies
    :math:`\|A - U_k \Sigma_k V_k^\top\|_2 \le \sigma_{k+1} + \|A - Q Q^\top A\|_2`. For :math:`q = 0`,
    :math:`k \ge 2`, ``oversample`` :math:`p \ge 2` and :math:`k + p \le \min(m, n)`, Halko et al.
    bound the second term in expectation: Theorem 10.6,
    :math:`\mathbb{E}\|A - QQ^\top A\|_2 \le (1 + \sqrt{k/(p-1)})\,\sigma_{k+1}
    + (e\sqrt{k+p}/p)(\sum_{j>k}\sigma_j^2)^{1/2}`, and Theorem 10.5,
    :math:`\mathbb{E}\|A - QQ^\top A\|_F \le (1 + k/(p-1))^{1/2}(\sum_{j>k}\sigma_j^2)^{1/2}`.

    References
    ----------
    Halko, Martinsson and Tropp, "Finding structure with randomness", SIAM Review 53 (2011),
    Algorithm 5.1.

    See the chapter ``chapters/linalg/pseudo-inverse.md``.
    """
    a = as_matrix_stack(a, "a")
    m, n = a.shape[-2:]
    k = check_int(k, "k", low=0, high=min(m, n))
    oversample = check_int(oversample, "oversample", low=0)
    size = min(k + oversample, m, n)
    q = randomized_range_finder(a, size, power_iterations=power_iterations, rng=rng)
    # The small (l x n) problem: an exact SVD of Q^T A, then lift the left factor back with Q.
    u_small, s, vt = np.linalg.svd(np.swapaxes(q, -1, -2) @ a, full_matrices=False)
    return TruncatedSVD((q @ u_small)[..., :, :k], s[..., :k], vt[..., :k, :])
