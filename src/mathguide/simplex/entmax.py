"""Entmax-alpha: the Tsallis-entropy family of maps between softmax (alpha -> 1) and sparsemax (alpha = 2).

See the chapter ``chapters/simplex/sparsemax-entmax.md``.
"""

from __future__ import annotations

import numpy as np

from mathguide._validation import as_result, check_positive_int, check_real_scalar
from mathguide.simplex._scores import scores_last
from mathguide.simplex.sparsemax import _output_and_grad, _threshold_by_sorting

__all__ = [
    "entmax15",
    "entmax15_threshold",
    "entmax_bisect",
    "entmax_bisect_threshold",
    "entmax_vjp",
]

# At most this many halvings; the bisection stops earlier, as soon as the bracket is below the
# floating-point spacing of the threshold in every slice (about 53 halvings when |tau| ~ 1).
DEFAULT_N_ITER = 200


def _check_alpha(alpha) -> float:
    """Return ``alpha`` as a float after checking that it is a finite real number above 1."""
    alpha = check_real_scalar(alpha, "alpha")
    if alpha <= 1:
        raise ValueError(f"alpha must be a finite number > 1, got {alpha}")
    return alpha


def _entmax15_rule(z_sorted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entmax-1.5 threshold from the largest scores ``z_sorted`` (m, K), descending; ``(tau, k)``.

    Scores are ``x/2 - max(x/2)``, so ``p = [z - tau]_+^2``. The result is exact whenever ``k < K``.
    """
    # Entries below -1 (and -inf) never enter the support, since tau >= max z - 1 = -1; masking
    # and zeroing them keeps the running sums finite (no overflow of z^2 for z near -1e308), and
    # as they sort last, the sums over the first k kept entries are unaffected.
    finite = np.isfinite(z_sorted) & (z_sorted >= -1)
    z_sorted = np.where(finite, z_sorted, 0)
    k = np.arange(1, z_sorted.shape[-1] + 1, dtype=z_sorted.dtype)
    mean = np.cumsum(z_sorted, axis=-1) / k
    mean_sq = np.cumsum(z_sorted * z_sorted, axis=-1) / k
    # For support size k, sum_{j<=k} (z_(j) - tau)^2 = 1 is the quadratic
    # k tau^2 - 2 tau k mean + k mean_sq - 1 = 0, whose smaller root is mean - sqrt(delta) with
    # delta = (1 - k (mean_sq - mean^2)) / k. Negative delta means no root: clip (that k fails below).
    delta = np.maximum((1 - k * (mean_sq - mean * mean)) / k, 0)
    tau_k = mean - np.sqrt(delta)
    # Support size: the largest k whose threshold lies below z_(k) (k = 1 always qualifies: tau_1 = -1).
    in_support = (tau_k <= z_sorted) & finite
    support_size = in_support.shape[-1] - np.argmax(in_support[:, ::-1], axis=-1)
    tau = np.take_along_axis(tau_k, support_size[:, None] - 1, axis=-1)
    return tau, support_size


def _entmax15_last(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact entmax-1.5 along the last axis of ``z = x/2 - max(x/2)``; returns ``(p, tau)``."""
    tau = _threshold_by_sorting(z, _entmax15_rule)
    p = np.square(np.maximum(z - tau, 0))
    return p, tau


def entmax15(x, *, axis: int = -1) -> np.ndarray:
    r"""Entmax with :math:`\alpha = 1.5`, computed exactly by sorting.

    .. math:: \operatorname{entmax}_{1.5}(\mathbf{x})_i = \left[\tfrac{x_i}{2} - \tau\right]_+^2,
              \qquad \tau \text{ such that the entries sum to } 1 .

    Parameters
    ----------
    x : array_like of shape (..., n, ...)
        Scores; ``-inf`` allowed (that entry gets exactly 0), at least one finite entry per slice.
    axis : int, default -1
        The class axis.

    Returns
    -------
    p : ndarray, same shape and floating dtype as ``x``
        On the simplex along ``axis``, typically with exact zeros.

    Raises
    ------
    ValueError
        Empty axis, ``+inf``/NaN entries, a slice of only ``-inf``.
    TypeError
        Non-numeric ``x`` or non-integer ``axis``.

    Notes
    -----
    Peters, Niculae & Martins (2019), Algorithm 2: sort, then for every candidate support size ``k``
    solve a quadratic for ``tau`` from running means of the sorted scores and of their squares;
    :math:`O(n \log n)` per slice, vectorised over the batch. Evaluated on ``x/2 - max(x/2)``, so the
    running sums stay in ``[-1, 0]`` over the support and huge scores (``±1e4``) are exact.

    References
    ----------
    Peters, Niculae & Martins (2019), "Sparse sequence-to-sequence models".

    See the chapter ``chapters/simplex/sparsemax-entmax.md``.
    """
    z, axis = scores_last(x, axis)
    z = z / 2
    with np.errstate(over="ignore"):  # a span beyond the float range gives -inf: probability 0
        z = z - np.max(z, axis=-1, keepdims=True)  # max-subtraction (the map is shift invariant)
    p, _ = _entmax15_last(z)
    return np.moveaxis(p, -1, axis)


def entmax15_threshold(x, *, axis: int = -1) -> float | np.ndarray:
    r"""Threshold :math:`\tau` of entmax-1.5 (exact), in the convention ``p = [x/2 - tau]_+^2``.

    Parameters
    ----------
    x : array_like of shape (..., n, ...)
        Scores, as for :func:`entmax15`.
    axis : int, default -1
        The class axis.

    Returns
    -------
    tau : ndarray
        The shape of ``x`` with ``axis`` removed.

    See the chapter ``chapters/simplex/sparsemax-entmax.md``.
    """
    z, _ = scores_last(x, axis)
    z = z / 2
    top = np.max(z, axis=-1, keepdims=True)
    _, tau = _entmax15_last(z - top)
    return as_result((tau + top)[..., 0])


def _shrink_candidates(candidates: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Keep, along the last axis, only the K largest entries, K the largest count above ``lo``.

    Entries at or below the lower end ``lo`` of the bracket are zero for every threshold still
    possible, so they can be dropped from the bisection; K is the largest count over the batch
    (rows keep a common length), and nothing is done unless K is at most half the current length.
    """
    n = candidates.shape[-1]
    count = int((candidates > lo).sum(axis=-1).max(initial=1))
    if 2 * count > n:
        return candidates
    flat = candidates.reshape(-1, n)
    top = np.partition(flat, n - count, axis=-1)[:, n - count :]  # the `count` largest, unordered
    return top.reshape(candidates.shape[:-1] + (count,))


def _bisect_last(z: np.ndarray, alpha: float, n_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """Bisection on ``z = (alpha - 1) (x - max x)`` along the last axis; returns ``(p, tau)``."""
    n = z.shape[-1]
    power = 1 / (alpha - 1)
    # f(tau) = sum_i [z_i - tau]_+^power - 1 is continuous and strictly decreasing where positive.
    # At tau = max z - 1 the top entry alone gives 1, so f >= 0; at tau = max z - n^(1 - alpha)
    # every entry is at most 1/n, so f <= 0. max z = 0 after the shift.
    lo = np.full(z.shape[:-1] + (1,), -1.0, dtype=z.dtype)
    width = 1 - n ** (1 - alpha)
    candidates = z
    for step in range(n_iter):  # a fixed number of halvings, all rows at once
        if step % 8 == 0:  # every few steps, drop the entries that can no longer be positive
            candidates = _shrink_candidates(candidates, lo)
        width = width / 2
        mid = lo + width
        total = np.sum(np.maximum(candidates - mid, 0) ** power, axis=-1, keepdims=True)
        lo = np.where(total >= 1, mid, lo)  # the root lies above mid when f(mid) >= 0
        if np.all(width <= np.spacing(np.abs(lo))):  # float precision reached in every slice
            break
    tau = lo + width / 2
    p = np.maximum(z - tau, 0) ** power
    # Renormalise: the remaining bracket error is O(width); dividing by the sum puts p on the simplex.
    p = p / np.sum(p, axis=-1, keepdims=True)
    return p, tau


def entmax_bisect(x, alpha: float, *, axis: int = -1, n_iter: int = DEFAULT_N_ITER) -> np.ndarray:
    r"""Entmax-:math:`\alpha` for any :math:`\alpha > 1`, by bisection on the threshold.

    .. math:: \operatorname{entmax}_\alpha(\mathbf{x}) = \operatorname*{argmax}_{\mathbf{p} \in \Delta}
              \langle \mathbf{p}, \mathbf{x} \rangle + H^T_\alpha(\mathbf{p}), \qquad
              p_i = [(\alpha - 1) x_i - \tau]_+^{1/(\alpha - 1)} ,

    with :math:`H^T_\alpha` the Tsallis entropy and :math:`\tau` the root of :math:`\sum_i p_i = 1`.

    Parameters
    ----------
    x : array_like of shape (..., n, ...)
        Scores; ``-inf`` allowed, at least one finite entry per slice.
    alpha : float
        Finite, > 1 (``alpha = 2`` is sparsemax; ``alpha -> 1`` tends to softmax).
    axis : int, default -1
        The class axis.
    n_iter : int, default 200
        Maximum number of bisection steps: the threshold bracket, of length below 1, is halved
        each time, and the iteration stops as soon as it is below the floating-point spacing of
        the threshold in every slice (the threshold to full precision).

    Returns
    -------
    p : ndarray, same shape and floating dtype as ``x``
        On the simplex along ``axis`` (renormalised after the last step).

    Raises
    ------
    ValueError
        ``alpha <= 1`` or not finite, ``n_iter <= 0``, empty axis, ``+inf``/NaN, only ``-inf``.
    TypeError
        Non-numeric ``x``/``alpha``, non-integer ``axis``/``n_iter``.

    Notes
    -----
    Accuracy: the output is ill-conditioned near the threshold for large ``alpha``, since
    :math:`p_i = (z_i - \tau)^{1/(\alpha - 1)}` has derivative
    :math:`\delta^{1/(\alpha-1) - 1}/(\alpha - 1)` at :math:`\delta = z_i - \tau`: an error of one
    ulp in :math:`\tau` or :math:`z_i` changes :math:`p_i` by up to about
    :math:`\mathrm{ulp}^{1/(\alpha - 1)}` (``5e-3`` at ``alpha = 8`` for an entry right at the
    threshold). Iterating to full precision removes the bisection's own share of that error.

    :math:`O(n)` per step and slice, at most ``n_iter`` vectorised passes over the whole batch. Bracket:
    :math:`\tau \in [\max_i z_i - 1, \max_i z_i - n^{1-\alpha}]` for ``z = (alpha - 1) x``, evaluated
    after max-subtraction. The bases of the power are in ``[0, 1]``, so nothing overflows even for
    ``alpha`` close to 1 (exponent ``1/(alpha - 1)`` large).

    References
    ----------
    Peters, Niculae & Martins (2019); Blondel, Martins & Niculae (2020).

    See the chapter ``chapters/simplex/sparsemax-entmax.md``.
    """
    alpha = _check_alpha(alpha)
    n_iter = check_positive_int(n_iter, "n_iter")
    z, axis = scores_last(x, axis)
    # Max-subtraction BEFORE scaling, so that (alpha - 1) x cannot overflow to inf - inf = NaN;
    # an entry far below the maximum may become -inf, the exact limit (probability 0).
    with np.errstate(over="ignore"):
        z = (alpha - 1) * (z - np.max(z, axis=-1, keepdims=True))
    p, _ = _bisect_last(z, alpha, n_iter)
    return np.moveaxis(p, -1, axis)


def entmax_bisect_threshold(
    x, alpha: float, *, axis: int = -1, n_iter: int = DEFAULT_N_ITER
) -> float | np.ndarray:
    r"""Threshold :math:`\tau` of entmax-:math:`\alpha` by bisection, ``p = [(alpha-1) x - tau]_+^(1/(alpha-1))``.

    Parameters and errors as for :func:`entmax_bisect`; returns the shape of ``x`` with ``axis``
    removed. For ``alpha = 2`` this is :func:`~mathguide.simplex.sparsemax.sparsemax_threshold`,
    for ``alpha = 1.5`` it is :func:`entmax15_threshold`.

    See the chapter ``chapters/simplex/sparsemax-entmax.md``.
    """
    alpha = _check_alpha(alpha)
    n_iter = check_positive_int(n_iter, "n_iter")
    z, _ = scores_last(x, axis)
    z = (alpha - 1) * z
    top = np.max(z, axis=-1, keepdims=True)
    _, tau = _bisect_last(z - top, alpha, n_iter)
    return as_result((tau + top)[..., 0])


def entmax_vjp(y, grad, alpha: float, *, axis: int = -1) -> np.ndarray:
    r"""Vector–Jacobian product of entmax-:math:`\alpha`, from its output ``y``.

    With :math:`s_i = y_i^{2-\alpha}` on the support (:math:`y_i > 0`) and 0 elsewhere, the Jacobian
    is :math:`\operatorname{diag}(\mathbf{s}) - \mathbf{s}\mathbf{s}^\top / \mathbf{1}^\top\mathbf{s}`
    (symmetric), so

    .. math:: \mathbf{J}^\top \mathbf{g} = \mathbf{s} \odot \mathbf{g}
              - \frac{\langle \mathbf{s}, \mathbf{g} \rangle}{\mathbf{1}^\top \mathbf{s}} \mathbf{s} .

    ``alpha = 2`` gives :func:`~mathguide.simplex.sparsemax.sparsemax_vjp`; ``alpha -> 1`` the
    softmax rule ``y * (g - <y, g>)``.

    Parameters
    ----------
    y : array_like of shape (..., n, ...)
        An entmax-``alpha`` output.
    grad : array_like, same shape as ``y``
        Incoming gradient.
    alpha : float
        The ``alpha`` of the forward map, finite and > 1.
    axis : int, default -1
        The class axis.

    Returns
    -------
    ndarray, same shape as ``y``
        Zero off the support, sums to zero along ``axis``.

    Raises
    ------
    ValueError
        ``alpha <= 1``, shapes differ, ``y`` negative or with an all-zero slice.

    Notes
    -----
    :math:`O(n)`; no forward pass needed. For ``alpha > 2`` the power ``y^(2 - alpha)`` is negative
    and is taken on the support only (zeros would give ``inf``).

    References
    ----------
    Peters, Niculae & Martins (2019), Proposition 2.

    See the chapter ``chapters/simplex/sparsemax-entmax.md``.
    """
    alpha = _check_alpha(alpha)
    y_arr, g_arr, axis = _output_and_grad(y, grad, axis)
    support = y_arr > 0
    # y^(2 - alpha) on the support only: for alpha > 2 the exponent is negative and 0^(neg) = inf.
    s = np.where(support, np.where(support, y_arr, 1) ** (2 - alpha), 0).astype(g_arr.dtype)
    coef = np.sum(s * g_arr, axis=-1, keepdims=True) / np.sum(s, axis=-1, keepdims=True)
    out = s * g_arr - coef * s
    return np.moveaxis(out, -1, axis)

