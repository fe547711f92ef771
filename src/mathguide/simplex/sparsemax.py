"""Sparsemax: the Euclidean projection of a score vector onto the probability simplex.

See the chapter ``chapters/simplex/sparsemax-entmax.md``.
"""

from __future__ import annotations

import numpy as np

from mathguide._validation import as_float_array, as_result, check_axis
from mathguide.simplex._scores import scores_last

__all__ = [
    "sparsemax",
    "sparsemax_threshold",
    "sparsemax_vjp",
    "sparsemax_loss",
]

_THRESHOLD_METHODS = ("sort", "michelot")


def _sparsemax_rule(z_sorted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Threshold from the largest scores in descending order, ``z_sorted`` of shape (m, K).

    Returns ``(tau, k)``: ``tau`` of shape (m, 1) and the support size ``k`` of shape (m,), both
    computed from the K given scores; they are the full answer whenever ``k < K``.
    """
    cumsum = np.cumsum(z_sorted, axis=-1)
    k = np.arange(1, z_sorted.shape[-1] + 1, dtype=z_sorted.dtype)
    # Support-size rule: k(z) = max{k : 1 + k z_(k) > sum_{j<=k} z_(j)}. For an entry -inf both sides
    # are -inf and the comparison is False, so -inf entries never enter the support. k = 1 always
    # qualifies (1 + z_(1) > z_(1)), so the support is never empty.
    in_support = 1 + k * z_sorted > cumsum
    support_size = in_support.shape[-1] - np.argmax(in_support[:, ::-1], axis=-1)  # last True, 1-based
    total = np.take_along_axis(cumsum, support_size[:, None] - 1, axis=-1)
    return (total - 1) / support_size[:, None].astype(z_sorted.dtype), support_size


def _threshold_by_sorting(z: np.ndarray, rule, first_k: int = 64) -> np.ndarray:
    """Apply a support-size ``rule`` to the sorted scores along the last axis of ``z``.

    Only the ``K`` largest entries of a row can be in a support of size below ``K``, and the rules
    of this module (sparsemax, entmax-1.5) hold on a prefix of the sorted scores. So each row first
    gets its top ``K = first_k`` entries (``np.partition``, O(n), then a sort of K entries); rows whose
    support fills all K slots are redone with 4K, and so on up to a full sort. The loop is over
    these few rounds, never over rows. Returns ``tau`` of shape ``z.shape[:-1] + (1,)``.
    """
    n = z.shape[-1]
    flat = z.reshape(-1, n)
    tau = np.empty((flat.shape[0], 1), dtype=z.dtype)
    rows = np.arange(flat.shape[0])
    size = min(first_k, n)
    while rows.size:
        sub = flat[rows]
        if size < n:
            sub = np.partition(sub, n - size, axis=-1)[:, n - size :]  # the `size` largest, unordered
        top = np.sort(sub, axis=-1)[:, ::-1]  # descending; -inf entries last
        # Scores near -1.8e308 (after the shift) can overflow to -inf inside the rule; -inf
        # entries are never in the support, which is the exact answer for them.
        with np.errstate(over="ignore"):
            tau_rows, support_size = rule(top)
        done = (support_size < size) | (size == n)
        tau[rows[done]] = tau_rows[done]
        rows = rows[~done]
        size = min(4 * size, n)
    return tau.reshape(z.shape[:-1] + (1,))


def _sparsemax_tau_last(z: np.ndarray) -> np.ndarray:
    """Sort-based threshold along the last axis of max-shifted scores ``z`` (``tau`` keeps the axis)."""
    return _threshold_by_sorting(z, _sparsemax_rule)


def _michelot_tau_last(z: np.ndarray) -> np.ndarray:
    """Michelot's fixed-point threshold along the last axis of max-shifted scores ``z``.

    Start from the average over all entries, then repeatedly average over the entries above the
    current threshold; the threshold increases and the active set shrinks until it stops changing.
    All rows iterate together; the loop runs over iterations, never over rows.
    """
    finite = np.isfinite(z)
    z0 = np.where(finite, z, 0)  # -inf entries are outside every active set below
    active = finite
    while True:
        count = active.sum(axis=-1, keepdims=True)
        tau = (np.sum(z0, axis=-1, keepdims=True, where=active) - 1) / count.astype(z.dtype)
        new_active = active & (z > tau)
        if np.array_equal(new_active, active):
            return tau
        active = new_active


def sparsemax_threshold(x, *, axis: int = -1, method: str = "sort") -> float | np.ndarray:
    r"""Threshold :math:`\tau(\mathbf{x})` of sparsemax: the root of :math:`\sum_i \max(x_i - \tau, 0) = 1`.

    ``sparsemax(x) = max(x - tau, 0)`` with ``tau`` broadcast along ``axis``.

    Parameters
    ----------
    x : array_like of shape (..., n, ...)
        Scores; ``-inf`` allowed (not ``+inf`` or NaN), at least one finite entry per slice.
    axis : int, default -1
        The axis of length ``n`` that indexes the classes.
    method : {"sort", "michelot"}, default "sort"
        ``"sort"``: sort, cumulative sums and the support-size rule, :math:`O(n \log n)`.
        ``"michelot"``: Michelot's active-set fixed point (each pass :math:`O(n)`; a handful of
        passes in practice, at most ``n``).

    Returns
    -------
    tau : ndarray
        The shape of ``x`` with ``axis`` removed, in the floating dtype of ``x``.

    Raises
    ------
    ValueError
        Empty axis, ``+inf``/NaN entries, a slice of only ``-inf``, an unknown ``method``.
    TypeError
        Non-numeric ``x`` or non-integer ``axis``.

    Notes
    -----
    Computed on ``x - max(x)`` (the threshold shifts with the scores, so nothing is lost and
    nothing overflows), then shifted back.

    References
    ----------
    Martins & Astudillo (2016); Michelot (1986); Condat (2016).

    See the chapter ``chapters/simplex/sparsemax-entmax.md``.
    """
    if method not in _THRESHOLD_METHODS:
        raise ValueError(f"method must be one of {_THRESHOLD_METHODS}, got {method!r}")
    z, _ = scores_last(x, axis)
    top = np.max(z, axis=-1, keepdims=True)
    shifted = z - top  # max-subtraction: the largest entry becomes 0, -inf stays -inf
    tau = _sparsemax_tau_last(shifted) if method == "sort" else _michelot_tau_last(shifted)
    return as_result((tau + top)[..., 0])


def sparsemax(x, *, axis: int = -1) -> np.ndarray:
    r"""Sparsemax: the Euclidean projection of ``x`` onto the probability simplex along ``axis``.

    .. math:: \operatorname{sparsemax}(\mathbf{x}) = \operatorname*{argmin}_{\mathbf{p} \in \Delta}
              \lVert \mathbf{p} - \mathbf{x} \rVert_2^2 = [\mathbf{x} - \tau(\mathbf{x})\mathbf{1}]_+ .

    Parameters
    ----------
    x : array_like of shape (..., n, ...)
        Scores; ``-inf`` allowed (that entry gets exactly 0), at least one finite entry per slice.
    axis : int, default -1
        The axis that indexes the classes.

    Returns
    -------
    p : ndarray, same shape as ``x``
        Non-negative, sums to 1 along ``axis``, typically with exact zeros; floating dtype of ``x``
        (integers become float64).

    Raises
    ------
    ValueError
        Empty axis, ``+inf``/NaN entries, a slice of only ``-inf``.
    TypeError
        Non-numeric ``x`` or non-integer ``axis``.

    Notes
    -----
    Sort-based: :math:`O(n \log n)` per slice, vectorised over the batch (no loop over rows).
    Evaluated on ``x - max(x)``, so scores of any magnitude (e.g. ``±1e4``) are handled exactly.

    References
    ----------
    Martins & Astudillo (2016), "From softmax to sparsemax".

    See the chapter ``chapters/simplex/sparsemax-entmax.md``.
    """
    z, axis = scores_last(x, axis)
    # Max-subtraction: sparsemax(x) = sparsemax(x - c) for any constant c.
    with np.errstate(over="ignore"):  # a span beyond the float range gives -inf: probability 0
        shifted = z - np.max(z, axis=-1, keepdims=True)
    tau = _sparsemax_tau_last(shifted)
    p = np.maximum(shifted - tau, 0)
    return np.moveaxis(p, -1, axis)


def sparsemax_vjp(y, grad, *, axis: int = -1) -> np.ndarray:
    r"""Vector–Jacobian product of sparsemax, from its output ``y = sparsemax(x)``.

    With :math:`S = \{i : y_i > 0\}` and :math:`\mathbf{s} = \mathbf{1}_S`, the Jacobian is
    :math:`\mathbf{J} = \operatorname{diag}(\mathbf{s}) - \mathbf{s}\mathbf{s}^\top / |S|` (symmetric), so

    .. math:: \mathbf{J}^\top \mathbf{g} = \mathbf{s} \odot (\mathbf{g} - \bar g_S), \qquad
              \bar g_S = \frac{1}{|S|} \sum_{i \in S} g_i .

    Parameters
    ----------
    y : array_like of shape (..., n, ...)
        A sparsemax output (non-negative along ``axis``, at least one positive entry per slice).
    grad : array_like, same shape as ``y``
        The incoming gradient (the vector multiplied with the Jacobian).
    axis : int, default -1
        The class axis.

    Returns
    -------
    ndarray, same shape as ``y``
        Zero off the support; sums to zero along ``axis``.

    Raises
    ------
    ValueError
        Shapes differ, ``y`` has negative or non-finite entries or a slice without a positive entry.

    Notes
    -----
    :math:`O(n)`. The Jacobian exists wherever no score sits exactly at the threshold; there this is
    the one-sided derivative that keeps the support of ``y``.

    See the chapter ``chapters/simplex/sparsemax-entmax.md``.
    """
    y_arr, g_arr, axis = _output_and_grad(y, grad, axis)
    support = y_arr > 0
    count = support.sum(axis=-1, keepdims=True)
    mean = np.sum(g_arr, axis=-1, keepdims=True, where=support) / count.astype(g_arr.dtype)
    out = np.where(support, g_arr - mean, 0).astype(g_arr.dtype, copy=False)
    return np.moveaxis(out, -1, axis)


def _output_and_grad(y, grad, axis) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate a forward output ``y`` and a gradient of the same shape; move ``axis`` last."""
    y_arr = as_float_array(y, "y")
    g_arr = as_float_array(grad, "grad")
    if y_arr.shape != g_arr.shape:
        raise ValueError(f"grad must have the shape of y, got {g_arr.shape} and {y_arr.shape}")
    axis = check_axis(axis, y_arr.ndim)
    if y_arr.shape[axis] == 0:
        raise ValueError(f"y must have at least one entry along axis {axis}, got an empty axis")
    if (y_arr < 0).any():
        raise ValueError("y must be non-negative (an output of the forward map)")
    y_arr = np.moveaxis(y_arr, axis, -1)
    if not (y_arr > 0).any(axis=-1).all():
        raise ValueError("y must have a positive entry in every slice along axis")
    dtype = np.result_type(y_arr.dtype, g_arr.dtype)
    return y_arr, np.moveaxis(g_arr, axis, -1).astype(dtype, copy=False), axis


def sparsemax_loss(x, target, *, axis: int = -1) -> float | np.ndarray:
    r"""Sparsemax loss of scores ``x`` against a target distribution ``target``.

    The Fenchel–Young loss of :math:`\Omega(\mathbf{p}) = \tfrac12 \lVert \mathbf{p} \rVert^2` on the
    simplex, with :math:`\mathbf{p}^\star = \operatorname{sparsemax}(\mathbf{x})`:

    .. math:: L(\mathbf{x}; \mathbf{q}) = \langle \mathbf{x}, \mathbf{p}^\star - \mathbf{q} \rangle
              - \tfrac12 \lVert \mathbf{p}^\star \rVert^2 + \tfrac12 \lVert \mathbf{q} \rVert^2 ,

    which for a one-hot ``q`` is the loss of Martins & Astudillo (2016). It is convex in ``x``,
    non-negative, zero exactly when ``sparsemax(x) = q``, and its gradient in ``x`` is
    ``sparsemax(x) - q``.

    Parameters
    ----------
    x : array_like of shape (..., n, ...)
        Finite scores.
    target : array_like, same shape as ``x``
        A probability vector along ``axis`` (e.g. one-hot labels).
    axis : int, default -1
        The class axis.

    Returns
    -------
    ndarray
        The shape of ``x`` with ``axis`` removed.

    Raises
    ------
    ValueError
        Non-finite ``x``, shapes differ, ``target`` off the simplex.

    Notes
    -----
    Evaluated on ``x - max(x)`` (the loss is shift invariant because ``p* - q`` sums to zero).

    References
    ----------
    Martins & Astudillo (2016); Blondel, Martins & Niculae (2020).

    See the chapter ``chapters/simplex/sparsemax-entmax.md``.
    """
    x_arr = as_float_array(x, "x")
    q = as_float_array(target, "target")
    if q.shape != x_arr.shape:
        raise ValueError(f"target must have the shape of x, got {q.shape} and {x_arr.shape}")
    z, axis = scores_last(x_arr, axis)
    q = np.moveaxis(q, axis, -1)
    dtype = np.result_type(z.dtype, q.dtype)
    tol = np.sqrt(z.shape[-1]) * np.finfo(dtype).eps * 8
    if (q < 0).any() or (np.abs(q.sum(axis=-1) - 1) > tol).any():
        raise ValueError("target must be a probability vector along axis (non-negative, sum 1)")
    z = (z - np.max(z, axis=-1, keepdims=True)).astype(dtype, copy=False)
    p = np.maximum(z - _sparsemax_tau_last(z), 0)
    return as_result(np.sum(z * (p - q) - 0.5 * p * p + 0.5 * q * q, axis=-1))
