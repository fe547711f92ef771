"""Where eigenvalues are and how much they move: Gershgorin discs, condition numbers, pseudospectra.

Chapter: ``chapters/linalg/eigen-basics.md``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import scipy.linalg

from mathguide._validation import as_float_array, as_square_matrix

__all__ = [
    "EigenvalueConditioning",
    "GershgorinDiscs",
    "eigenvalue_condition_numbers",
    "gershgorin_discs",
    "pseudospectrum_grid",
]


class GershgorinDiscs(NamedTuple):
    """Discs :math:`|z - c_i| \\le r_i` of :func:`gershgorin_discs`."""

    centers: np.ndarray
    radii: np.ndarray


class EigenvalueConditioning(NamedTuple):
    """Eigenvalues, their condition numbers, and unit right and left eigenvectors (columns)."""

    eigenvalues: np.ndarray
    condition_numbers: np.ndarray
    right: np.ndarray
    left: np.ndarray


def _power_of_two_exponent(a: np.ndarray) -> int:
    """The ``e`` with ``ldexp(max |a_ij|, e)`` in ``[0.5, 1)`` (0 for zero data): an exact rescaling."""
    largest = float(np.max(np.abs(a), initial=0.0))
    if largest == 0.0:
        return 0
    return -math.frexp(largest)[1]


def gershgorin_discs(a, *, by: str = "rows") -> GershgorinDiscs:
    r"""The Gershgorin discs of a square matrix.

    Disc :math:`i` has centre :math:`a_{ii}` and radius :math:`r_i = \sum_{j\ne i}|a_{ij}|` (by rows)
    or :math:`\sum_{j\ne i}|a_{ji}|` (by columns). Every eigenvalue lies in the union of the discs,
    and a union of :math:`k` discs disjoint from the others holds exactly :math:`k` eigenvalues.

    Parameters
    ----------
    a : array_like of shape (n, n)
        Real square matrix.
    by : {"rows", "columns"}, optional
        Sum the off-diagonal moduli along rows (default) or columns (the discs of :math:`\mathbf{A}^\top`,
        which has the same eigenvalues).

    Returns
    -------
    GershgorinDiscs
        ``centers`` and ``radii``, each of shape (n,).

    Raises
    ------
    ValueError
        If ``a`` is not square or ``by`` is unknown.

    Notes
    -----
    The radii are the sums of the off-diagonal moduli, computed directly (not as a row sum minus
    :math:`|a_{ii}|`, which cancels when the diagonal dominates), after an exact power-of-two scaling.
    Cost :math:`n^2`. Golub and Van Loan, Theorem 7.2.1. Chapter: ``chapters/linalg/eigen-basics.md``.
    """
    a = as_square_matrix(a, "a")
    if by not in ("rows", "columns"):
        raise ValueError(f"by must be 'rows' or 'columns', got {by!r}")
    centers = np.diagonal(a).copy()
    # the off-diagonal moduli are summed directly: "row sum minus |a_ii|" cancels when |a_ii| dominates
    # (it gives radius 0 for [[2**53, 0.9], [0.9, 2**53]]). A power-of-two scaling (exact) keeps the sum
    # from overflowing for entries near the top of the range; the radius then overflows only if it is
    # itself above the largest float.
    exponent = _power_of_two_exponent(a)
    off_diagonal = np.abs(np.ldexp(a, exponent))
    np.fill_diagonal(off_diagonal, 0)
    with np.errstate(over="ignore"):
        radii = np.ldexp(off_diagonal.sum(axis=1 if by == "rows" else 0), -exponent)
    return GershgorinDiscs(centers, radii)


def eigenvalue_condition_numbers(a) -> EigenvalueConditioning:
    r"""Condition numbers of the eigenvalues, :math:`\|\mathbf{x}\|\|\mathbf{y}\|/|\mathbf{y}^{\mathsf H}\mathbf{x}|`.

    For a simple eigenvalue with right eigenvector :math:`\mathbf{x}` and left eigenvector
    :math:`\mathbf{y}` (:math:`\mathbf{y}^{\mathsf H}\mathbf{A} = \lambda\mathbf{y}^{\mathsf H}`), a
    perturbation :math:`\mathbf{A} + \epsilon\mathbf{E}` moves it by
    :math:`\epsilon\,\mathbf{y}^{\mathsf H}\mathbf{E}\mathbf{x}/\mathbf{y}^{\mathsf H}\mathbf{x} + O(\epsilon^2)`,
    at most :math:`\kappa(\lambda)\,\epsilon\|\mathbf{E}\|_2` to first order.

    Parameters
    ----------
    a : array_like of shape (n, n)
        Real square matrix.

    Returns
    -------
    EigenvalueConditioning
        ``eigenvalues`` (complex, (n,)); ``condition_numbers`` (float, (n,), at least 1; ``inf``
        where :math:`\mathbf{y}^{\mathsf H}\mathbf{x} = 0` exactly); ``right`` and ``left``
        (complex, (n, n)), unit eigenvectors as columns.

    Raises
    ------
    ValueError
        If ``a`` is not square or not finite.

    Notes
    -----
    The eigenvectors come from LAPACK's ``geev`` (through ``scipy.linalg.eig``); cost about
    :math:`25n^3` flops. For a multiple eigenvalue the number is large (a Jordan block gives
    :math:`|\mathbf{y}^{\mathsf H}\mathbf{x}| = 0` in exact arithmetic, about
    :math:`\epsilon^{1 - 1/m}` in floating point, for a block of size :math:`m`). Golub and Van Loan, section 7.2.2.
    """
    a = as_square_matrix(a, "a")
    # LAPACK's geev with left and right vectors loses the eigenvalues of a matrix scaled by 2**+-500 (the
    # eigenvalues came back wrong by O(1) relative): scale by a power of two (exact) and scale back
    exponent = _power_of_two_exponent(a)
    eigenvalues, left, right = scipy.linalg.eig(np.ldexp(a, exponent), left=True, right=True)
    eigenvalues = np.ldexp(eigenvalues.real, -exponent) + 1j * np.ldexp(eigenvalues.imag, -exponent)
    right = right / np.linalg.norm(right, axis=0)
    left = left / np.linalg.norm(left, axis=0)
    overlap = np.abs(np.sum(left.conj() * right, axis=0))
    with np.errstate(divide="ignore"):
        kappa = np.where(overlap > 0, 1 / np.where(overlap > 0, overlap, 1), np.inf)
    return EigenvalueConditioning(eigenvalues, np.maximum(kappa, 1.0), right, left)


def pseudospectrum_grid(a, real, imag) -> np.ndarray:
    r"""The smallest singular value :math:`\sigma_{\min}(z\mathbf{I} - \mathbf{A})` on a grid of points :math:`z`.

    The :math:`\epsilon`-pseudospectrum is the set where this is below :math:`\epsilon`: the points that
    are eigenvalues of some :math:`\mathbf{A} + \mathbf{E}` with :math:`\|\mathbf{E}\|_2 < \epsilon`.

    Parameters
    ----------
    a : array_like of shape (n, n)
        Real square matrix.
    real, imag : array_like of shape (nx,) and (ny,)
        Real and imaginary parts of the grid points.

    Returns
    -------
    sigma : ndarray of shape (ny, nx)
        ``sigma[i, j]`` for :math:`z = \mathrm{real}_j + i\,\mathrm{imag}_i` (the layout of
        ``matplotlib.pyplot.contour``).

    Raises
    ------
    ValueError
        If ``a`` is not square or a grid vector is not one-dimensional.

    Notes
    -----
    One singular value decomposition per grid point, vectorised over a row of the grid:
    :math:`O(n_x n_y n^3)`. For a normal matrix :math:`\sigma_{\min}(z\mathbf{I} - \mathbf{A})` is the
    distance from :math:`z` to the spectrum; for a non-normal one it can be far smaller.
    Trefethen and Embree, *Spectra and Pseudospectra* (2005).
    """
    a = as_square_matrix(a, "a")
    real = as_float_array(real, "real")
    imag = as_float_array(imag, "imag")
    for name, grid in (("real", real), ("imag", imag)):
        if grid.ndim != 1:
            raise ValueError(f"{name} must be one-dimensional, got shape {grid.shape}")
    n = a.shape[0]
    identity = np.eye(n)
    sigma = np.empty((imag.size, real.size))
    for i, y in enumerate(imag):
        z = real + 1j * y
        shifted = z[:, None, None] * identity - a  # (nx, n, n) complex
        sigma[i] = np.linalg.svd(shifted, compute_uv=False)[:, -1]
    return sigma
