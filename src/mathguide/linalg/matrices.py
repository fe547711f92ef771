"""Test matrices with prescribed singular values, shared by the matrix-computations chapters.

Random orthogonal factors are Haar distributed (QR of a Gaussian matrix with the signs of R's diagonal
moved into Q), so the matrices have no structure beyond the singular values asked for. Introduced in
the chapter on floating point and conditioning (``chapters/linalg/floating-point.md``) and used by
every later chapter of the part that needs a matrix of known conditioning.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from mathguide._validation import as_float_array, as_generator, check_int, check_real_scalar

__all__ = ["poisson_matrix", "random_matrix", "random_orthogonal", "random_symmetric"]


def random_orthogonal(n: int, *, batch: tuple[int, ...] = (), rng) -> np.ndarray:
    """A Haar-distributed random orthogonal matrix (or a stack of them).

    Parameters
    ----------
    n : int
        Order of the matrix, ``n >= 1``.
    batch : tuple of int, optional
        Leading batch shape; the result has shape ``(*batch, n, n)``.
    rng : numpy.random.Generator or int
        Source of randomness (keyword-only, required).

    Returns
    -------
    q : ndarray of shape (*batch, n, n)
        ``q.T @ q = I`` to rounding error.

    Notes
    -----
    Q of the QR factorisation of a standard Gaussian matrix, with column ``j`` multiplied by
    ``sign(r_jj)``: without that sign fix the distribution is not Haar (Mezzadri, 2007).
    """
    n = check_int(n, "n", low=1)
    batch = tuple(check_int(size, "batch", low=0) for size in batch)
    generator = as_generator(rng)
    q, r = np.linalg.qr(generator.standard_normal((*batch, n, n)))
    signs = np.sign(np.diagonal(r, axis1=-2, axis2=-1))
    signs[signs == 0] = 1.0
    return q * signs[..., None, :]


def random_matrix(
    m: int,
    n: int | None = None,
    *,
    singular_values=None,
    condition: float | None = None,
    batch: tuple[int, ...] = (),
    dtype=np.float64,
    rng,
) -> np.ndarray:
    r"""A random ``m``-by-``n`` matrix :math:`\mathbf{U}\,\mathrm{diag}(\boldsymbol\sigma)\,\mathbf{V}^\top`.

    Give exactly one of ``singular_values`` (any ``min(m, n)`` non-negative values, used in the order
    given) or ``condition`` (singular values spaced geometrically from 1 down to ``1 / condition``).

    Parameters
    ----------
    m, n : int
        Shape of each matrix; ``n`` defaults to ``m`` (square).
    singular_values : array_like of shape (min(m, n),), optional
        The singular values. Zeros give a rank-deficient matrix.
    condition : float, optional
        The 2-norm condition number, ``>= 1``; the largest singular value is 1.
    batch : tuple of int, optional
        Leading batch shape; the result has shape ``(*batch, m, n)``.
    dtype : numpy floating dtype, optional
        ``float64`` (default) or ``float32``; the matrix is built in float64 and rounded once.
    rng : numpy.random.Generator or int
        Source of randomness (keyword-only, required).

    Returns
    -------
    a : ndarray of shape (*batch, m, n)

    Raises
    ------
    ValueError
        If both or neither of ``singular_values`` and ``condition`` are given, if there are not
        ``min(m, n)`` singular values, if one is negative, or if ``condition < 1``.

    Notes
    -----
    Cost :math:`O(m^3 + n^3)` per matrix (two QR factorisations of Gaussian matrices).
    """
    m = check_int(m, "m", low=1)
    n = m if n is None else check_int(n, "n", low=1)
    k = min(m, n)
    if (singular_values is None) == (condition is None):
        raise ValueError("give exactly one of singular_values and condition")
    if condition is not None:
        condition = check_real_scalar(condition, "condition")
        if condition < 1:
            raise ValueError(f"condition must be >= 1, got {condition}")
        sigma = np.logspace(0.0, -np.log10(condition), k)
    else:
        sigma = as_float_array(singular_values, "singular_values").astype(np.float64)
        if sigma.shape != (k,):
            raise ValueError(f"singular_values must have shape ({k},) for a {m}x{n} matrix, got {sigma.shape}")
        if np.any(sigma < 0):
            raise ValueError("singular_values must be non-negative")
    if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be float32 or float64, got {np.dtype(dtype)}")
    generator = as_generator(rng)
    u = random_orthogonal(m, batch=batch, rng=generator)[..., :, :k]
    v = random_orthogonal(n, batch=batch, rng=generator)[..., :, :k]
    return ((u * sigma) @ np.swapaxes(v, -1, -2)).astype(dtype)


def poisson_matrix(n: int, *, dim: int = 1) -> scipy.sparse.csr_matrix:
    r"""The model-problem matrix: the (unscaled) finite-difference Laplacian on ``n`` points per axis.

    For ``dim=1`` the tridiagonal :math:`\mathrm{tridiag}(-1, 2, -1)` of order ``n``; for ``dim=2`` the
    five-point Laplacian on an ``n``-by-``n`` grid with Dirichlet boundary, the Kronecker sum
    :math:`\mathbf{T}\otimes\mathbf{I} + \mathbf{I}\otimes\mathbf{T}` of order ``n**2`` (unknowns
    numbered row by row). Multiply by :math:`1/h^2`, :math:`h = 1/(n+1)`, for the discretised
    :math:`-u''` (or :math:`-\Delta u`).

    Parameters
    ----------
    n : int
        Number of interior grid points per dimension, ``n >= 1``.
    dim : {1, 2}, optional
        Space dimension (keyword-only).

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n**dim, n**dim), float64
        Symmetric positive definite, with eigenvalues
        :math:`4\sin^2(j\pi h/2)` (``dim=1``) and :math:`4\sin^2(j\pi h/2) + 4\sin^2(k\pi h/2)`
        (``dim=2``), :math:`1 \le j, k \le n`.

    Raises
    ------
    TypeError, ValueError
        If ``n`` is not a positive integer or ``dim`` is not 1 or 2.

    Notes
    -----
    The test problem of the iterative-methods chapters (``chapters/linalg/stationary-iterations.md``,
    ``conjugate-gradient.md``, ``krylov.md``). Built in :math:`O(n^{\text{dim}})` time and memory.
    """
    n = check_int(n, "n", low=1)
    dim = check_int(dim, "dim", low=1, high=2)
    t = scipy.sparse.diags([-np.ones(n - 1), 2.0 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1], format="csr")
    if dim == 1:
        return t
    identity = scipy.sparse.identity(n, format="csr")
    return (scipy.sparse.kron(t, identity) + scipy.sparse.kron(identity, t)).tocsr()


def random_symmetric(eigenvalues, *, rng) -> np.ndarray:
    r"""A random symmetric matrix :math:`\mathbf{Q}\,\mathrm{diag}(\boldsymbol\lambda)\,\mathbf{Q}^\top`.

    Parameters
    ----------
    eigenvalues : array_like of shape (n,)
        The eigenvalues, finite; ``n >= 1``.
    rng : numpy.random.Generator or int
        Source of randomness (keyword-only, required).

    Returns
    -------
    a : ndarray of shape (n, n)
        Exactly symmetric (the product is symmetrised); its eigenvectors are the columns of a
        Haar-distributed orthogonal :math:`\mathbf{Q}` (:func:`random_orthogonal`).
    """
    lam = as_float_array(eigenvalues, "eigenvalues").astype(np.float64)
    if lam.ndim != 1 or lam.shape[0] == 0:
        raise ValueError(f"eigenvalues must be a non-empty 1-D array, got shape {lam.shape}")
    q = random_orthogonal(lam.shape[0], rng=rng)
    a = (q * lam) @ q.T
    return (a + a.T) / 2
