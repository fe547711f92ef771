"""Water-filling: the closed-form KKT solution of power allocation over parallel channels.

    maximise  sum_i log(alpha_i + x_i)  subject to  x >= 0,  sum_i x_i = P.

The KKT conditions give ``x_i = max(0, w - alpha_i)`` with one water level ``w`` fixed by the budget;
:func:`water_filling` finds ``w`` by bisection, vectorised over a batch of problems.

See the chapter ``chapters/optimization/kkt.md``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mathguide._validation import as_float_array, as_result

__all__ = ["WaterFilling", "water_filling"]


class WaterFilling(NamedTuple):
    """Optimal allocation and water level of :func:`water_filling`."""

    x: np.ndarray  # (..., n), x >= 0, sums to total along the last axis
    level: float | np.ndarray  # (...), the water level w = 1 / nu; a float for one problem


def water_filling(alpha, total) -> WaterFilling:
    """Solve ``max sum_i log(alpha_i + x_i)`` s.t. ``x >= 0``, ``sum_i x_i = total``, batched.

    The KKT conditions (see the chapter) give ``x_i = max(0, w - alpha_i)``, where the water level
    ``w`` is the unique root of the non-decreasing piecewise-linear function
    ``phi(w) = sum_i max(0, w - alpha_i) - total`` on ``[min alpha, min alpha + total]``.

    Parameters
    ----------
    alpha : array_like of shape (..., n)
        Positive floor levels (noise levels), one problem per leading index; ``n >= 1``.
    total : float or array_like broadcastable to ``alpha.shape[:-1]``
        The non-negative budget P of each problem.

    Returns
    -------
    WaterFilling
        ``x`` of shape ``(..., n)`` and ``level`` of shape ``alpha.shape[:-1]`` (a Python float for
        a single problem, ``alpha`` of shape ``(n,)``).

    Raises
    ------
    ValueError
        If ``alpha`` is not positive and finite, has no last axis or an empty one, or ``total`` is
        negative, non-finite or not broadcastable.
    TypeError
        If an argument is not real.

    Notes
    -----
    Bisection halves the bracket until it is a few ulps wide (at most about 1100 steps in float64,
    typically 60), each step costing O(n) for the whole batch at once. The last bracket tells which
    channels are filled, ``S = {i : alpha_i < w}``; the level is then recomputed in closed form,
    ``w = (total + sum_{i in S} alpha_i) / |S|``, so that the budget holds to rounding error rather
    than to the bisection tolerance. The problem is solved in units of a power of two (an exact
    rescaling), so huge finite inputs do not overflow; only a level above the largest float, as for
    ``alpha = [1e308]``, ``total = 1e308``, comes out infinite (``x`` is still finite then).

    References
    ----------
    Boyd and Vandenberghe, *Convex Optimization* (2004), section 5.5.3.

    See the chapter ``chapters/optimization/kkt.md``.
    """
    alpha = as_float_array(alpha, "alpha").astype(np.float64)
    if alpha.ndim == 0 or alpha.shape[-1] == 0:
        raise ValueError(f"alpha must have a non-empty last axis, got shape {alpha.shape}")
    if np.any(alpha <= 0):
        raise ValueError("alpha must be positive (log(alpha_i + x_i) must be defined at x = 0)")
    total = as_float_array(total, "total").astype(np.float64)
    if np.any(total < 0):
        raise ValueError("total must be non-negative")
    try:
        total = np.broadcast_to(total, alpha.shape[:-1])
    except ValueError:
        raise ValueError(f"total of shape {total.shape} does not broadcast to {alpha.shape[:-1]}") from None

    # Work in units of a power of two near max(alpha, total), an exact rescaling (barring
    # subnormals), so that lo + total and the sums below cannot overflow for huge finite inputs.
    unit = np.ldexp(1.0, np.frexp(np.maximum(alpha.max(axis=-1), total))[1] - 1)  # in (max/2, max]
    alpha, total = alpha / unit[..., None], total / unit

    lo = alpha.min(axis=-1)  # phi(lo) = -total <= 0
    hi = lo + total  # phi(hi) >= 0: the smallest floor alone already takes the whole budget
    for _ in range(1100):  # enough to shrink any float64 bracket to adjacent numbers
        mid = 0.5 * (lo + hi)
        unresolved = (mid > lo) & (mid < hi)
        if not unresolved.any():
            break
        over = np.maximum(mid[..., None] - alpha, 0.0).sum(axis=-1) >= total
        hi = np.where(over & unresolved, mid, hi)
        lo = np.where(~over & unresolved, mid, lo)
    # Closed-form level on the support found by bisection; the support contains argmin(alpha)
    # whenever total > 0, and for total == 0 the level is min(alpha) and x is 0.
    support = alpha < hi[..., None]
    count = support.sum(axis=-1)
    level = np.where(
        count > 0,
        (total + np.where(support, alpha, 0.0).sum(axis=-1)) / np.maximum(count, 1),
        lo,
    )
    level = np.where(total > 0, level, lo)
    x = np.maximum(level[..., None] - alpha, 0.0) * unit[..., None]
    with np.errstate(over="ignore"):  # a level beyond the largest float is reported as inf
        level = np.asarray(level * unit)
    return WaterFilling(x, as_result(level))
