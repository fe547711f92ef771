"""Estimating accuracy: Hager–Higham 1-norm estimation, condition estimates from an LU factorisation,
componentwise backward error (Oettli–Prager) and Skeel's condition number.

See the chapter ``chapters/linalg/condition-estimation.md``. The LU factorisation comes from
``mathguide.linalg.lu`` (chapter ``chapters/linalg/lu.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from mathguide._validation import as_float_array, as_square_matrix, check_positive_int
from mathguide.linalg.lu import LU, LUComplete, back_substitution, forward_substitution, lu, lu_solve

__all__ = [
    "Norm1Estimate",
    "componentwise_backward_error",
    "condition_estimate_1",
    "inverse_norm1_estimate",
    "norm1_estimate",
    "skeel_condition",
]


class Norm1Estimate(NamedTuple):
    """A lower bound ``estimate`` of :math:`\\|\\mathbf{B}\\|_1`, attained by the vector ``x``:
    ``estimate == ||B x||_1 / ||x||_1``.

    ``iterations`` counts the products with ``B`` (excluding the extra test vector); ``converged`` is
    true when Hager's optimality test stopped the iteration before ``maxiter``; ``estimates`` is
    the history of the estimate, one entry per product with ``B``.
    """

    estimate: float
    x: np.ndarray
    iterations: int
    converged: bool
    estimates: np.ndarray


def _product(function: Callable, x: np.ndarray, n: int, name: str) -> np.ndarray:
    """``function(x)``, checked: a real finite vector of shape ``(n,)``, else a ``ValueError``/``TypeError``
    naming the callback (a wrong shape would otherwise broadcast into a meaningless estimate)."""
    value = function(x.copy())  # a copy: the callback cannot change the iteration's vector
    try:
        y = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must return a real vector of shape ({n},), got {type(value).__name__}") from error
    if y.shape != (n,):
        raise ValueError(f"{name} must return a vector of shape ({n},), got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{name} returned a vector with non-finite entries")
    return y


def norm1_estimate(matvec: Callable, rmatvec: Callable, n: int, *, maxiter: int = 5) -> Norm1Estimate:
    r"""Estimate :math:`\|\mathbf{B}\|_1` from products with :math:`\mathbf{B}` and :math:`\mathbf{B}^\top`
    (Hager's method with Higham's refinements, the algorithm of LAPACK ``xLACN2``/``xLACON``: given the
    same products it returns the same estimate).

    :math:`\|\mathbf{B}\|_1 = \max_{\|\mathbf{x}\|_1 \le 1}\|\mathbf{B}\mathbf{x}\|_1`, a convex
    function maximised at a vertex :math:`\mathbf{e}_j` of the unit ball. Starting from
    :math:`\mathbf{x} = \mathbf{1}/n`: compute :math:`\mathbf{y} = \mathbf{B}\mathbf{x}`,
    :math:`\boldsymbol\xi = \operatorname{sign}(\mathbf{y})` and the subgradient
    :math:`\mathbf{z} = \mathbf{B}^\top\boldsymbol\xi`; if :math:`\|\mathbf{z}\|_\infty \le
    \mathbf{z}^\top\mathbf{x}` the point is a local maximum and :math:`\|\mathbf{y}\|_1` is returned;
    otherwise move to the vertex :math:`\mathbf{e}_j`, :math:`j = \arg\max|z_j|`. Higham's additions:
    stop when the sign vector repeats, and also try the vector
    :math:`x_i = (-1)^{i+1}(1 + \tfrac{i-1}{n-1})`, which catches matrices that fool the iteration.

    Parameters
    ----------
    matvec, rmatvec : callable
        ``matvec(x)`` returns :math:`\mathbf{B}\mathbf{x}` and ``rmatvec(x)`` returns
        :math:`\mathbf{B}^\top\mathbf{x}` for a vector ``x`` of shape ``(n,)``.
    n : int
        Order of :math:`\mathbf{B}`.
    maxiter : int
        Maximum number of products with :math:`\mathbf{B}` in the main iteration (LAPACK uses 5).

    Returns
    -------
    Norm1Estimate(estimate, x, iterations, converged, estimates)
        ``estimate`` is always a *lower bound* on :math:`\|\mathbf{B}\|_1` (it is
        :math:`\|\mathbf{B}\mathbf{x}\|_1/\|\mathbf{x}\|_1` for the returned ``x``).

    Raises
    ------
    TypeError, ValueError
        If ``n`` or ``maxiter`` is not a positive integer, a callable is missing, or a callable
        returns something other than a finite real vector of shape ``(n,)``.

    Notes
    -----
    Usually 4 or 5 products with :math:`\mathbf{B}` or :math:`\mathbf{B}^\top`: with
    :math:`\mathbf{B} = \mathbf{A}^{-1}` and an LU factorisation at hand, :math:`O(n^2)` work against
    :math:`O(n^3)` for the inverse. The estimate is exact in most cases and rarely more than a factor
    of 3 too small (Higham 1988), but no bound holds for every matrix.

    References
    ----------
    Hager (1984); Higham (1988); Higham (2002), chapter 15. See the chapter
    ``chapters/linalg/condition-estimation.md``.
    """
    if not callable(matvec) or not callable(rmatvec):
        raise TypeError("matvec and rmatvec must be callables")
    n = check_positive_int(n, "n")
    maxiter = check_positive_int(maxiter, "maxiter")
    x = np.full(n, 1.0 / n)
    estimates = []
    best, best_x = 0.0, x.copy()
    previous_sign = None
    converged = False
    iterations = 0
    while iterations < maxiter:
        y = _product(matvec, x, n, "matvec")
        iterations += 1
        estimate = float(np.sum(np.abs(y)))  # ||B x||_1 with ||x||_1 = 1
        estimates.append(estimate)
        if estimate > best:
            best, best_x = estimate, x.copy()
        sign = np.where(y >= 0, 1.0, -1.0)
        if previous_sign is not None and np.array_equal(sign, previous_sign):
            converged = True  # the same sign vector again: the next z would repeat too
            break
        z = _product(rmatvec, sign, n, "rmatvec")
        j = int(np.argmax(np.abs(z)))
        if iterations > 1 and np.abs(z[j]) <= z @ x:
            converged = True  # Hager's test: no vertex improves on x to first order
            break
        previous_sign = sign
        x = np.zeros(n)
        x[j] = 1.0
    # Higham's extra vector, with alternating signs and growing entries (||t||_1 = 3n/2 for n > 1)
    t = np.ones(n) if n == 1 else (-1.0) ** np.arange(n) * (1 + np.arange(n) / (n - 1))
    extra = float(np.sum(np.abs(_product(matvec, t, n, "matvec")))) / float(np.sum(np.abs(t)))
    if extra > best:
        best, best_x = extra, t / np.sum(np.abs(t))
    return Norm1Estimate(best, best_x, iterations, converged, np.array(estimates))


def _factors(a: np.ndarray, factors) -> LU | LUComplete:
    if factors is None:
        return lu(a)
    if not isinstance(factors, (LU, LUComplete)):
        raise TypeError(f"factors must be the result of lu or lu_blocked, got {type(factors).__name__}")
    if factors.l.shape != a.shape:
        raise ValueError(f"factors are of order {factors.l.shape[0]}, a has shape {a.shape}")
    return factors


def _solve_transposed(factors: LU | LUComplete, b: np.ndarray) -> np.ndarray:
    r"""Solve :math:`\mathbf{A}^\top\mathbf{y} = \mathbf{b}` from the factors of :func:`lu`.

    ``a[perm][:, col_perm] == L U`` means :math:`\mathbf{P}\mathbf{A}\mathbf{Q} = \mathbf{L}\mathbf{U}`,
    so :math:`\mathbf{A}^\top = \mathbf{Q}\mathbf{U}^\top\mathbf{L}^\top\mathbf{P}`: permute ``b`` by
    ``col_perm``, solve with :math:`\mathbf{U}^\top` (lower) and :math:`\mathbf{L}^\top` (unit upper),
    and undo the row permutation.
    """
    rhs = b[factors.col_perm] if isinstance(factors, LUComplete) else b
    w = forward_substitution(factors.u.T, rhs)
    v = back_substitution(factors.l.T, w, unit_diagonal=True)
    y = np.empty_like(v)
    y[factors.perm] = v
    return y


def inverse_norm1_estimate(a, factors: LU | LUComplete | None = None, *, maxiter: int = 5) -> Norm1Estimate:
    r"""Estimate :math:`\|\mathbf{A}^{-1}\|_1` with :func:`norm1_estimate`, using an LU factorisation.

    Each product with :math:`\mathbf{A}^{-1}` or :math:`\mathbf{A}^{-\top}` is two triangular solves
    with the factors, :math:`O(n^2)` flops; the inverse is never formed.

    Parameters
    ----------
    a : array_like of shape (n, n)
    factors : LU or LUComplete, optional
        The factorisation of ``a`` from :func:`mathguide.linalg.lu` (computed if omitted: in a
        solver, the one already used for the solve).
    maxiter : int

    Returns
    -------
    Norm1Estimate

    Raises
    ------
    ValueError
        If ``a`` is not square and finite or ``factors`` do not match it.
    SingularMatrixError
        If ``a`` (or ``factors``) is exactly singular.

    See the chapter ``chapters/linalg/condition-estimation.md``.
    """
    a = as_square_matrix(a, "a")
    factors = _factors(a, factors)
    n = a.shape[0]
    return norm1_estimate(lambda x: lu_solve(factors, x), lambda x: _solve_transposed(factors, x), n,
                          maxiter=maxiter)


def condition_estimate_1(a, factors: LU | LUComplete | None = None) -> float:
    r"""Estimate :math:`\kappa_1(\mathbf{A}) = \|\mathbf{A}\|_1\|\mathbf{A}^{-1}\|_1` in :math:`O(n^2)`
    given an LU factorisation.

    LAPACK's ``xGECON`` runs the same estimator on :math:`(\mathbf{L}\mathbf{U})^{-1} =
    \mathbf{A}^{-1}\mathbf{P}^\top` (it never applies :math:`\mathbf{P}`), this function on
    :math:`\mathbf{A}^{-1}`: the same norm, but Higham's extra vector is not invariant under the
    permutation, so the two estimates differ when that vector decides (about 0.8 % of random
    matrices of order 2 to 6; either can be the larger, both are lower bounds).

    Parameters
    ----------
    a : array_like of shape (n, n)
    factors : LU or LUComplete, optional
        The factorisation of ``a`` (computed if omitted).

    Returns
    -------
    float
        A lower bound on :math:`\kappa_1(\mathbf{A})`, usually equal to it or within a factor of 3.

    Raises
    ------
    ValueError
        If ``a`` is not square and finite or ``factors`` do not match it.
    SingularMatrixError
        If ``a`` is exactly singular.

    See the chapter ``chapters/linalg/condition-estimation.md``.
    """
    a = as_square_matrix(a, "a")
    norm_a = float(np.max(np.sum(np.abs(a), axis=0)))
    return norm_a * inverse_norm1_estimate(a, factors).estimate


def componentwise_backward_error(a, x, b) -> float:
    r"""Componentwise relative backward error of an approximate solution (Oettli–Prager).

    .. math:: \omega(\hat{\mathbf{x}}) = \min\{\epsilon : (\mathbf{A} + \Delta\mathbf{A})\hat{\mathbf{x}}
              = \mathbf{b} + \Delta\mathbf{b},\ |\Delta\mathbf{A}| \le \epsilon|\mathbf{A}|,\
              |\Delta\mathbf{b}| \le \epsilon|\mathbf{b}|\}
              = \max_i \frac{|\mathbf{b} - \mathbf{A}\hat{\mathbf{x}}|_i}
              {(|\mathbf{A}||\hat{\mathbf{x}}| + |\mathbf{b}|)_i},

    with :math:`0/0 = 0` (a zero denominator means that row :math:`i` of :math:`\mathbf{A}` vanishes
    on the support of :math:`\hat{\mathbf{x}}` and :math:`b_i = 0`, so the residual is zero there too).

    Parameters
    ----------
    a : array_like of shape (m, n)
    x : array_like of shape (n,)
    b : array_like of shape (m,)

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the shapes do not match or the entries are not finite.

    Notes
    -----
    Perturbations that respect the zeros and the scaling of the data: a solver with a small
    :math:`\omega` solved a nearby problem in the sense of every entry, which matters for sparse and
    badly scaled matrices. The residual is computed in the working precision, so values below
    about :math:`nu` are not resolved. Each row is scaled by a power of two first (exact, and
    :math:`\omega` does not change), so entries near the ends of the floating-point range give the
    right answer rather than ``inf/inf``. Oettli & Prager (1964); Higham (2002), Theorem 7.3. See the
    chapter ``chapters/linalg/condition-estimation.md``.
    """
    a = as_float_array(a, "a")
    if a.ndim != 2:
        raise ValueError(f"a must be a 2-D array, got shape {a.shape}")
    x = as_float_array(x, "x")
    b = as_float_array(b, "b")
    if x.shape != (a.shape[1],):
        raise ValueError(f"x must have shape ({a.shape[1]},), got {x.shape}")
    if b.shape != (a.shape[0],):
        raise ValueError(f"b must have shape ({a.shape[0]},), got {b.shape}")
    if not a.size:
        return 0.0
    # omega is unchanged when x is scaled by c and b with it, and when row i of A and b_i are scaled
    # together: scale by powers of two (exact) so that every row has max(|a_i| max|x|, |b_i|) near 1.
    # Then |A||x| + |b| can neither overflow (entries near 1e200) nor underflow; the exponents are
    # handled as integers, so no intermediate power of two overflows either.
    x = x.astype(np.float64)
    ex = -np.frexp(np.max(np.abs(x), initial=0.0))[1]
    x_scaled = np.ldexp(x, ex)
    row_max = np.max(np.abs(a), axis=1, initial=0.0)
    absent = -(2**20)  # the exponent of a zero: below every real one
    ea = np.where(row_max > 0, np.frexp(row_max)[1], absent)  # 2**ea_i > max_j |a_ij|
    eb = np.where(b != 0, np.frexp(b)[1] + ex, absent)  # the exponent of b_i 2**ex
    row = np.maximum(np.maximum(ea, eb), absent + 1)  # A x 2**ex and b 2**ex are scaled by 2**-row
    with np.errstate(under="ignore"):  # entries far below their row's scale do not matter
        a_scaled = np.ldexp(a.astype(np.float64), (-row)[:, None])
        b_scaled = np.ldexp(b.astype(np.float64), np.clip(ex - row, -(2**15), 2**15))
    residual = np.abs(b_scaled - a_scaled @ x_scaled)
    scale = np.abs(a_scaled) @ np.abs(x_scaled) + np.abs(b_scaled)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(scale > 0, residual / scale, 0.0)
    return float(np.max(ratio))


def skeel_condition(a, x=None, *, method: str = "exact") -> float:
    r"""Skeel's condition number :math:`\operatorname{cond}(\mathbf{A}) =
    \|\,|\mathbf{A}^{-1}||\mathbf{A}|\,\|_\infty`, or :math:`\operatorname{cond}(\mathbf{A}, \mathbf{x})
    = \|\,|\mathbf{A}^{-1}||\mathbf{A}||\mathbf{x}|\,\|_\infty / \|\mathbf{x}\|_\infty`.

    The condition number for componentwise relative perturbations of :math:`\mathbf{A}` (of
    :math:`\mathbf{A}` and :math:`\mathbf{b}` up to a factor 2): a componentwise backward error
    :math:`\omega` gives a forward error of at most about :math:`2\omega\operatorname{cond}(\mathbf{A},
    \mathbf{x})`. Unlike :math:`\kappa_\infty`, it is invariant under row scaling
    :math:`\mathbf{A} \to \mathbf{D}\mathbf{A}`, and :math:`\operatorname{cond}(\mathbf{A}) \le
    \kappa_\infty(\mathbf{A})`.

    Parameters
    ----------
    a : array_like of shape (n, n)
    x : array_like of shape (n,), optional
        The solution; without it, :math:`\operatorname{cond}(\mathbf{A})`.
    method : {"exact", "estimate"}
        ``"exact"`` forms :math:`\mathbf{A}^{-1}` (:math:`O(n^3)`). ``"estimate"`` uses
        :math:`\|\,|\mathbf{A}^{-1}|\mathbf{g}\|_\infty = \|\mathbf{A}^{-1}\operatorname{diag}(\mathbf{g})\|_\infty
        = \|\operatorname{diag}(\mathbf{g})\mathbf{A}^{-\top}\|_1` with :math:`\mathbf{g} =
        |\mathbf{A}||\mathbf{x}|` (or :math:`|\mathbf{A}|\mathbf{1}`) and :func:`norm1_estimate`:
        :math:`O(n^2)` given the LU factors, a lower bound.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``a`` is not square and finite, ``x`` has the wrong shape or is zero, or ``method`` is
        unknown.
    SingularMatrixError
        If ``a`` is exactly singular.

    References
    ----------
    Skeel (1979); Higham (2002), section 7.2. See the chapter
    ``chapters/linalg/condition-estimation.md``.
    """
    a = as_square_matrix(a, "a")
    n = a.shape[0]
    if method not in ("exact", "estimate"):
        raise ValueError(f"method must be 'exact' or 'estimate', got {method!r}")
    if x is None:
        weights, denominator = np.ones(n), 1.0
    else:
        x = as_float_array(x, "x")
        if x.shape != (n,):
            raise ValueError(f"x must have shape ({n},), got {x.shape}")
        denominator = float(np.max(np.abs(x)))
        if denominator == 0:
            raise ValueError("x must not be zero")
        weights = np.abs(x)
    g = np.abs(a) @ weights  # |A| |x| (or the row sums of |A|)
    factors = lu(a)
    if method == "exact":
        inverse = lu_solve(factors, np.eye(n))
        return float(np.max(np.abs(inverse) @ g)) / denominator
    # ||diag(g) A^{-T}||_1: products with it and with its transpose A^{-1} diag(g)
    result = norm1_estimate(lambda v: g * _solve_transposed(factors, v), lambda v: lu_solve(factors, g * v), n)
    return result.estimate / denominator
