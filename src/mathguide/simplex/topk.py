r"""Smooth approximations of top-k: maps from scores onto the capped simplex {p in [0,1]^n : sum p = k}.

Hard top-k returns the multi-hot indicator of the k largest scores. Its smooth approximations here:

* ``soft_topk_iterative``: k rounds of a soft top-1 on a residual, in the two forms found in the
  literature (scaled scores and weighted softmax); kept to show what they get wrong.
* ``grad_topk``: the gradient of ``log e_k(exp(x / tau))`` (``e_k`` the elementary symmetric
  polynomial), i.e. the inclusion probabilities of the distribution p(S) ∝ exp(sum_{i in S} x_i / tau)
  over k-subsets; computed by a log-space dynamic program, O(nk) per row, forward and backward.
* ``threshold_topk``: ``f((x - lambda) / tau)`` with ``sum f = k``, for f = sigmoid (safeguarded Newton
  on a guaranteed bracket), ``min(1, e^x)`` and a C^1 piecewise exponential (closed forms by scanning
  the sorted scores), and ``clip(x, 0, 1)`` (exact, sparse: the projection onto the capped simplex).

Every map acts along ``axis`` (default the last) of an array of any shape; scores may contain
``-inf`` (never selected while at least ``k`` finite scores exist); ``+inf``/NaN are refused.
Computations run in float64 and the result is cast back to the input's float dtype.

See the chapter ``chapters/simplex/soft-topk.md``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.special import expit

from mathguide._validation import as_float_array, check_axis, check_int, check_real_scalar
from mathguide.simplex._scores import scores_last
from mathguide.simplex.softmax import softmax

__all__ = [
    "ThresholdSolution",
    "grad_topk",
    "grad_topk_vjp",
    "hard_topk_mask",
    "log_elementary_symmetric",
    "soft_topk_iterative",
    "threshold_topk",
    "threshold_topk_lambda",
    "threshold_topk_vjp",
]

_VARIANTS = ("scaled", "weighted")
_FUNCTIONS = ("sigmoid", "exp", "piecewise_exp", "linear")
_TABLE_BUDGET = 2**23  # float64 entries of one dynamic-programming table block (64 MiB)


class ThresholdSolution(NamedTuple):
    """Threshold ``lam`` (in units of ``x / tau``) with ``sum_i f(x_i / tau - lam) = k`` along the axis.

    ``residuals`` is the history of ``max |sum f - k|`` over the batch (one entry for the closed
    forms); ``converged`` says whether every row met the tolerance.
    """

    lam: np.ndarray
    converged: bool
    iterations: int
    residuals: np.ndarray


# ----------------------------------------------------------------------------------- validation


def _clip_width(n: int) -> float:
    """Half-width T of the window [ref - T, ref + T] (units of x / tau) that GradTopK clips scores to.

    With ``ref`` between the k-th and (k+1)-th largest scores, an entry above ``ref + T`` is in the
    random subset with probability at least ``1 - (n - k) e^{-T}``, and one below ``ref - T`` with
    probability at most ``k e^{-T}``. Conditional on those memberships the law of the subset does
    not depend on these entries' scores, so moving them anywhere beyond the window changes every
    inclusion probability by at most ``n^2 e^{-T}``: below ``e^{-750}``, under the smallest
    subnormal float. Inside the window the log tables stay of size ``O(k T)``, whatever the range.
    """
    return 750.0 + 2.0 * float(np.log(max(n, 1)))


def _scaled_scores(x, k, tau, axis, *, center: str = "max"):
    """Validate; return ``(z, k, tau, axis, dtype, shape, ref)`` with ``z = (x - ref) / tau`` in float64.

    ``z`` has the class axis last and is flattened to ``(rows, n)``. ``ref`` (one per row) is

    * ``"max"``: the maximum, so ``z <= 0``; a difference beyond the float range becomes ``-inf``
      (its exponential is 0 to double precision, the exact limit);
    * ``"kth"``: the k-th largest score (the threshold maps: the differences that decide them,
      those near the threshold, are then computed with the smallest rounding error); ``z`` must
      not overflow;
    * ``"mid"``: the midpoint of the k-th and (k+1)-th largest (GradTopK), and ``z`` is clipped to
      ``[-T, T]`` (:func:`_clip_width`), which changes no inclusion probability by a representable
      amount and keeps the dynamic program's log tables small for scores of any range.

    ``ref`` is subtracted before dividing by ``tau`` so that ties stay exact.
    """
    z, axis = scores_last(x, axis)
    dtype = z.dtype
    n = z.shape[-1]
    k = check_int(k, "k", low=1, high=n)
    tau = check_real_scalar(tau, "tau", positive=True)
    moved_shape = z.shape
    z = z.reshape(-1, n).astype(np.float64)
    finite = np.isfinite(z)
    if (finite.sum(axis=-1) < k).any():
        raise ValueError(f"x must have at least k = {k} finite entries along axis {axis} in every slice")
    if center == "max":
        ref = np.max(z, axis=-1, keepdims=True)
    elif center == "kth":  # the k-th largest entry, finite because at least k entries are
        ref = np.partition(z, n - k, axis=-1)[:, n - k : n - k + 1]
    else:  # "mid": halfway between the k-th and the (k+1)-th largest (the k-th if there is none)
        a = np.partition(z, n - k, axis=-1)[:, n - k : n - k + 1]
        b = np.partition(z, n - k - 1, axis=-1)[:, n - k - 1 : n - k] if k < n else a
        b = np.where(np.isfinite(b), b, a)
        ref = 0.5 * a + 0.5 * b  # halves first: no overflow for scores near the float maximum
    with np.errstate(over="ignore", invalid="ignore"):
        z = (z - ref) / tau
    if center == "mid":
        width = _clip_width(n)
        z = np.where(finite, np.clip(z, -width, width), -np.inf)
    elif center == "kth" and not (np.isfinite(z) == finite).all():
        raise ValueError(
            f"x / tau overflows: the scores differ by more than the float range times tau = {tau}; "
            "rescale x and tau together (the map depends on x / tau only)"
        )
    return z, k, tau, axis, dtype, moved_shape, ref[:, 0]


def _out_dtype(dtype, grad):
    """Float dtype of a backward result: that of the forward input, widened by a float ``grad``."""
    g_dtype = np.asarray(grad).dtype
    return np.result_type(dtype, g_dtype) if np.issubdtype(g_dtype, np.floating) else dtype


def _restore(p: np.ndarray, moved_shape, axis: int, dtype) -> np.ndarray:
    return np.moveaxis(p.reshape(moved_shape).astype(dtype, copy=False), -1, axis)


def _grad_like(value, grad, name: str, axis):
    """Validate an incoming gradient of the shape of ``value``; both flattened to (rows, n)."""
    g = as_float_array(grad, "grad")
    v = np.asarray(value)
    if g.shape != v.shape:
        raise ValueError(f"grad must have the shape of {name}, got {g.shape} and {v.shape}")
    axis = check_axis(axis, v.ndim)
    return np.moveaxis(g, axis, -1).reshape(-1, v.shape[axis]).astype(np.float64)


# ------------------------------------------------------------------------------------ hard top-k


def hard_topk_mask(x, k: int, *, axis: int = -1) -> np.ndarray:
    r"""Multi-hot indicator :math:`\mathcal{T}_k(\mathbf{x})` of the ``k`` largest entries along ``axis``.

    Ties at the k-th value are broken in favour of the lower index, so exactly ``k`` ones per slice.

    Parameters
    ----------
    x : array_like of shape (..., n, ...)
        Scores; ``-inf`` allowed (chosen only when fewer than ``k`` entries are finite).
    k : int
        Number of entries to keep, ``1 <= k <= n``.
    axis : int, default -1
        The axis of length ``n``.

    Returns
    -------
    ndarray, same shape as ``x``
        Zeros and ones in the float dtype of ``x`` (integers give float64), ``k`` ones per slice.

    Raises
    ------
    ValueError
        ``k`` out of range, empty axis, NaN or ``+inf`` entries.
    TypeError
        Non-integer ``k`` or ``axis``, non-numeric ``x``.

    Notes
    -----
    :math:`O(n)` per slice: the k-th largest value by ``np.partition``, then the entries above it and
    the first entries equal to it. See the chapter ``chapters/simplex/soft-topk.md``.
    """
    z, axis = scores_last(x, axis)
    n = z.shape[-1]
    k = check_int(k, "k", low=1, high=n)
    kth = np.partition(z, n - k, axis=-1)[..., n - k : n - k + 1]  # the k-th largest value
    above = z > kth
    tied = z == kth
    missing = k - above.sum(axis=-1, keepdims=True)  # how many tied entries to take, lowest index first
    mask = above | (tied & (np.cumsum(tied, axis=-1) <= missing))
    return np.moveaxis(mask.astype(z.dtype), -1, axis)


# ---------------------------------------------------------------------- iterative composition


def soft_topk_iterative(x, k: int, tau: float = 1.0, *, variant: str = "scaled", axis: int = -1) -> np.ndarray:
    r"""Soft top-k by ``k`` rounds of softmax on a residual (a heuristic; see the chapter for its flaws).

    With :math:`\mathbf{z} = \mathbf{x}/\tau` and :math:`\mathbf{p}^{(0)} = \mathbf{0}`, round ``r`` adds

    * ``variant="scaled"``: :math:`\operatorname{softmax}((\mathbf{1} - \mathbf{p}^{(r-1)}) \odot
      (\mathbf{z} - \min \mathbf{z}))`;
    * ``variant="weighted"``: the weighted softmax :math:`w_i e^{z_i} / \sum_j w_j e^{z_j}` with
      :math:`\mathbf{w} = \mathbf{1} - \mathbf{p}^{(r-1)}`.

    Parameters
    ----------
    x : array_like of shape (..., n, ...)
        Scores; ``-inf`` allowed, at least ``k`` finite entries per slice.
    k : int
        ``1 <= k <= n``.
    tau : float, default 1.0
        Temperature, positive.
    variant : {"scaled", "weighted"}, keyword-only
        Which composition.
    axis : int, default -1, keyword-only
        The class axis.

    Returns
    -------
    ndarray, same shape as ``x``
        Sums to ``k`` along ``axis``. Entries may leave ``[0, 1]`` (both variants): this map is
        not a point of the capped simplex in general.

    Raises
    ------
    ValueError
        ``k`` out of range, ``tau <= 0``, unknown ``variant``, fewer than ``k`` finite scores;
        ``variant="scaled"`` when ``(max x - min x) / tau`` exceeds the float range (the iteration
        multiplies that range by ``1 - p``; the weighted variant has no such limit).

    Notes
    -----
    ``k`` softmax evaluations, :math:`O(nk)`. Each round's softmax is evaluated on differences
    to its maximiser taken from ``x`` itself (``x_i - x_m``), not from ``x - max x``, which would
    round away the differences that decide the later rounds when the scores span a wide range.
    The weighted variant multiplies by ``1 - p``, which
    is computed in floating point: once a softmax entry rounds to 1, ``1 - p`` is exactly 0 and the
    result can look like hard top-k although the exact map is not (chapter, Pitfalls).

    References
    ----------
    Su (2024), "Softmax后传：寻找Top-K的光滑近似". See the chapter ``chapters/simplex/soft-topk.md``.
    """
    if variant not in _VARIANTS:
        raise ValueError(f"variant must be one of {_VARIANTS}, got {variant!r}")
    z, k, tau, axis, dtype, shape, _ = _scaled_scores(x, k, tau, axis)  # z = (x - max x) / tau <= 0
    raw = scores_last(x, axis)[0].reshape(z.shape).astype(np.float64)
    finite = np.isfinite(raw)
    # Each round is a softmax of some y, shift invariant: it is evaluated on y - y_m, m a maximiser of
    # y, with the differences of scores x_i - x_m taken from x itself. Centring once on max x would
    # round x_i - max x at the scale of the largest score: on [1e300, -1e300, 0, 1] it makes the
    # entries 0 and 1 equal, and they are the ones that decide round two.
    p = np.zeros_like(z)
    if variant == "scaled":
        with np.errstate(over="ignore"):
            base = np.where(finite, (raw - np.min(np.where(finite, raw, np.inf), axis=-1, keepdims=True)) / tau, 0.0)
        if not np.isfinite(base).all():
            raise ValueError(
                "x: the range of the scores divided by tau, (max x - min x) / tau, exceeds the float range; "
                "the scaled iteration multiplies it by 1 - p (the weighted variant and grad_topk need no such bound)"
            )
        for _ in range(k):
            y = np.where(finite, (1 - p) * base, -np.inf)
            m = np.argmax(y, axis=-1)[:, None]
            # y_i - y_m = (x_i - x_m) / tau - (p_i b_i - p_m b_m), b = (x - min x) / tau
            with np.errstate(over="ignore", invalid="ignore"):
                d = (raw - np.take_along_axis(raw, m, axis=-1)) / tau - (
                    p * base - np.take_along_axis(p * base, m, axis=-1)
                )
            p = p + softmax(np.where(finite, d, -np.inf), axis=-1)
    else:
        for _ in range(k):
            w = 1 - p
            # Weighted softmax w e^z / sum(w e^z) evaluated as sign(w) exp(z + log|w| - max): no
            # underflow of e^z can turn it into 0/0. Weights may be negative once some p exceeds 1.
            with np.errstate(divide="ignore"):
                logw = np.log(np.abs(w))
            live = finite & (w != 0)
            t = np.where(live, z + logw, -np.inf)  # z may be -inf (beyond the float range of max x)
            # the maximiser of x / tau + log|w|; if every live z overflowed, the live entry of largest
            # x (log|w| >= -745 cannot make up a difference beyond the float range)
            key = np.where(np.isfinite(t).any(axis=-1, keepdims=True), t, np.where(live, raw, -np.inf))
            m = np.argmax(key, axis=-1)[:, None]
            with np.errstate(over="ignore", invalid="ignore"):
                d = (raw - np.take_along_axis(raw, m, axis=-1)) / tau + (logw - np.take_along_axis(logw, m, axis=-1))
            e = np.where(live, np.sign(w) * np.exp(np.where(live, d, -np.inf)), 0.0)
            p = p + e / e.sum(axis=-1, keepdims=True)
    return _restore(p, shape, axis, dtype)


# -------------------------------------------------------------------- elementary symmetric DP


def _log_add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """log(e^a + e^b) with -inf allowed (np.logaddexp handles -inf without NaN)."""
    return np.logaddexp(a, b)


def _step(table: np.ndarray, zi: np.ndarray) -> np.ndarray:
    """Add one variable e^{z_i}: log e_j <- log(e_j + e^{z_i} e_{j-1}) for every j (only additions).

    ``table`` has shape (k + 1, rows): row j holds log e_j for every batch row, so the shifted
    slices below are contiguous blocks.
    """
    new = np.empty_like(table)
    new[0] = table[0]
    np.logaddexp(table[1:], zi + table[:-1], out=new[1:])
    return new


def _empty_table(rows: int, k: int) -> np.ndarray:
    t = np.full((k + 1, rows), -np.inf)
    t[0] = 0.0  # e_0 = 1 of the empty set
    return t


def _log_esp_rows(z: np.ndarray, k: int) -> np.ndarray:
    """log e_k(e^z) for each row of z (rows, n): forward pass only, O(nk) time, O(k) memory per row."""
    zt = np.ascontiguousarray(z.T)
    t = _empty_table(z.shape[0], k)
    for i in range(z.shape[1]):
        t = _step(t, zt[i])
    return t[k]


def _tangent_step(t, d, zi, gi):
    """Forward-mode companion of ``_step``: d_j = E[g(S)] under p(S) ∝ e^{z(S)}, |S| = j (a mean)."""
    new = _step(t, zi)
    with np.errstate(invalid="ignore"):
        # weights of "i not in S" and "i in S": exp(old - new) and exp(z_i + old_{j-1} - new)
        w_out = np.exp(t[1:] - new[1:])
        w_in = np.exp(zi + t[:-1] - new[1:])
    dn = np.empty_like(d)
    dn[0] = d[0]
    dn[1:] = w_out * d[1:] + w_in * (gi + d[:-1])
    dn[1:] = np.where(np.isneginf(new[1:]), 0.0, dn[1:])  # e_j = 0: no subset, mean 0
    return new, dn


def _grad_topk_block(z: np.ndarray, k: int, g: np.ndarray | None):
    """Inclusion probabilities p (and, if g is given, the Hessian-vector product H g) for a block."""
    rows, n = z.shape
    zt = np.ascontiguousarray(z.T)  # (n, rows): z_i of every row is contiguous
    gt = np.ascontiguousarray(g.T) if g is not None else None
    prefix = np.empty((n + 1, k + 1, rows))
    prefix[0] = _empty_table(rows, k)
    dprefix = np.zeros((n + 1, k + 1, rows)) if g is not None else None
    for i in range(n):  # forward: log e_j of the first i variables
        if g is None:
            prefix[i + 1] = _step(prefix[i], zt[i])
        else:
            prefix[i + 1], dprefix[i + 1] = _tangent_step(prefix[i], dprefix[i], zt[i], gt[i])
    log_z = prefix[n][k]
    suffix = _empty_table(rows, k)
    dsuffix = np.zeros((k + 1, rows))
    p = np.empty((n, rows))
    hg = np.empty((n, rows)) if g is not None else None
    for i in range(n - 1, -1, -1):  # backward: combine prefix (< i) and suffix (> i) tables
        # e^{z_i} e_{k-1}(all but i) = e^{z_i} sum_{a+b=k-1} e_a(prefix) e_b(suffix)
        terms = prefix[i][:k] + suffix[k - 1 :: -1] + (zt[i] - log_z)
        c = np.exp(terms)  # c_j = P(S = (a subset of prefix of size j) + {i} + rest), all <= 1
        p[i] = c.sum(axis=0)
        if g is not None:
            hg[i] = np.sum(c * (gt[i] + dprefix[i][:k] + dsuffix[k - 1 :: -1]), axis=0)
            suffix, dsuffix = _tangent_step(suffix, dsuffix, zt[i], gt[i])
        else:
            suffix = _step(suffix, zt[i])
    p = p.T
    if g is not None:
        hg = hg.T - p * np.sum(p * g, axis=-1, keepdims=True)
    return p, hg


def _grad_topk_rows(z: np.ndarray, k: int, g: np.ndarray | None = None):
    """Apply ``_grad_topk_block`` to blocks of rows so the stored table stays below the budget."""
    rows, n = z.shape
    per_block = max(1, _TABLE_BUDGET // ((n + 1) * (k + 1) * (1 if g is None else 2)))
    p = np.empty_like(z)
    hg = np.empty_like(z) if g is not None else None
    for start in range(0, rows, per_block):  # a handful of vectorised blocks, not a loop over rows
        sl = slice(start, start + per_block)
        pb, hb = _grad_topk_block(z[sl], k, None if g is None else g[sl])
        p[sl] = pb
        if g is not None:
            hg[sl] = hb
    return p, hg


def log_elementary_symmetric(x, k: int, *, axis: int = -1) -> np.ndarray:
    r"""Logarithm of the elementary symmetric polynomial :math:`e_k(e^{x_1}, \dots, e^{x_n})` along ``axis``.

    .. math:: \log e_k(e^{\mathbf{x}}) = \log \sum_{|S| = k} \exp\Big(\sum_{i \in S} x_i\Big),

    a smooth maximum of the sums of ``k`` entries (their maximum is the sum of the top ``k``).

    Parameters
    ----------
    x : array_like of shape (..., n, ...)
        Log-variables; ``-inf`` allowed (a variable equal to 0).
    k : int
        ``0 <= k <= n``.
    axis : int, default -1, keyword-only
        The axis of length ``n``.

    Returns
    -------
    ndarray
        Shape of ``x`` without ``axis``; ``-inf`` when fewer than ``k`` entries are finite.

    Raises
    ------
    ValueError
        ``k`` out of range, empty axis, NaN or ``+inf``.

    Notes
    -----
    The recursion :math:`e_j(x_{1..i}) = e_j(x_{1..i-1}) + e^{x_i} e_{j-1}(x_{1..i-1})` in log space
    (``logaddexp``): only additions of positive numbers, so no cancellation; :math:`O(nk)` time and
    :math:`O(k)` memory per slice. Computed on ``x - r``, ``r`` halfway between the k-th and
    (k+1)-th largest entries, clipped to ``[-T, T]`` (``T`` about 750, see ``grad_topk``): an entry
    clipped from above contributes its excess ``x_i - r - T`` exactly (it is in every subset that
    matters), one clipped from below nothing representable. The pieces are added in a scaled sum,
    so a range of scores beyond the float range (``[1e308, -1e308, 0, 1]``) is fine.
    See the chapter ``chapters/simplex/soft-topk.md``.
    """
    z, axis = scores_last(x, axis)
    n = z.shape[-1]
    k = check_int(k, "k", low=0, high=n)
    dtype = z.dtype
    out_shape = z.shape[:-1]
    z = z.reshape(-1, n).astype(np.float64)
    finite = np.isfinite(z)
    enough = finite.sum(axis=-1) >= k  # otherwise e_k = 0: log is -inf
    out = np.full(z.shape[0], -np.inf)
    if k == 0:
        out[:] = 0.0  # e_0 = 1
    elif enough.any():
        zr, fr = z[enough], finite[enough]
        a = np.partition(zr, n - k, axis=-1)[:, n - k]
        b = np.partition(zr, n - k - 1, axis=-1)[:, n - k - 1] if k < n else a
        ref = 0.5 * a + 0.5 * np.where(np.isfinite(b), b, a)  # finite: at least k entries are
        width = _clip_width(n)
        with np.errstate(over="ignore"):
            w = zr - ref[:, None]
        inside = np.where(fr, np.clip(w, -width, width), -np.inf)
        high = fr & (w > width)  # in every subset that matters: contributes x_i - ref - width exactly
        n_high = high.sum(axis=-1)
        # log e_k = sum_{high} x_i + (k - n_high) ref + (L - n_high width), every part scaled by
        # 2^-s >= 1 / (n + 2) (exact) so that no partial sum can overflow; unscaled at the end.
        shift = 2.0 ** -math.ceil(math.log2(n + 2))
        parts = np.concatenate(
            [
                np.where(high, zr * shift, 0.0),
                ((k - n_high) * (ref * shift))[:, None],
                ((_log_esp_rows(inside, k) - n_high * width) * shift)[:, None],
            ],
            axis=-1,
        )
        total = parts.sum(axis=-1)
        # Rows with clipped-high entries hold scores of very different sizes (1e300 and 1): add
        # their parts exactly (fsum), or 1e300 + 1 - 1e300 would give 0.
        for r in np.flatnonzero(n_high):
            total[r] = math.fsum(parts[r])
        with np.errstate(over="ignore"):
            total = total / shift
        if not np.isfinite(total).all():
            raise OverflowError(
                f"log e_k(exp(x)) with k = {k} exceeds the float range: the k largest entries of x sum beyond it"
            )
        out[enough] = total
    return out.reshape(out_shape).astype(dtype, copy=False)


def grad_topk(x, k: int, tau: float = 1.0, *, axis: int = -1) -> np.ndarray:
    r"""GradTopK: :math:`\nabla_{\mathbf{x}}\, \tau \log e_k(e^{\mathbf{x}/\tau})`, the soft top-k mask.

    Entry ``i`` is the probability that ``i`` belongs to a random ``k``-subset ``S`` drawn with
    :math:`P(S) \propto \exp(\sum_{i \in S} x_i / \tau)`. It lies in ``(0, 1)``, sums to ``k``, is
    monotone and shift invariant, equals ``softmax(x / tau)`` for ``k = 1`` and tends to the
    hard top-k mask as ``tau -> 0`` (when the k-th and (k+1)-th scores differ).

    Parameters
    ----------
    x : array_like of shape (..., n, ...)
        Scores; ``-inf`` allowed (gets exactly 0), at least ``k`` finite entries per slice.
    k : int
        ``1 <= k <= n`` (``k = n`` gives all ones).
    tau : float, default 1.0
        Temperature, positive.
    axis : int, default -1, keyword-only
        The class axis.

    Returns
    -------
    ndarray, same shape as ``x``
        In the float dtype of ``x``.

    Raises
    ------
    ValueError
        ``k`` out of range, ``tau <= 0``, fewer than ``k`` finite scores, empty axis, NaN, ``+inf``.

    Notes
    -----
    A log-space dynamic program over prefixes (forward) and suffixes (backward) that only adds:
    :math:`O(nk)` time per slice. The prefix tables are stored, :math:`O(nk)` memory per slice;
    rows are processed in vectorised blocks whose table fits in 64 MiB. Scores of any range: the
    program runs on ``(x - r) / tau`` clipped to ``[-T, T]``, ``r`` halfway between the k-th and
    (k+1)-th largest scores and ``T = 750 + 2 log n``. An entry beyond the window is in (or out of)
    the subset with probability within ``n e^{-T}`` of 1 (of 0), and the law of the rest does not
    depend on its score, so the clipping changes no entry by a representable amount, and the log
    tables stay of size ``O(k T)``: ``[1e308, -1e308, 0, 1]`` with ``k = 2`` gives
    ``[1, 0, 0.2689, 0.7311]``.

    References
    ----------
    Su (2024), "Softmax后传：寻找Top-K的光滑近似". See the chapter ``chapters/simplex/soft-topk.md``.
    """
    z, k, tau, axis, dtype, shape, _ = _scaled_scores(x, k, tau, axis, center="mid")
    p, _ = _grad_topk_rows(z, k)
    return _restore(p, shape, axis, dtype)


def grad_topk_vjp(x, k: int, grad, tau: float = 1.0, *, axis: int = -1) -> np.ndarray:
    r"""Vector–Jacobian product of :func:`grad_topk` at ``x``: :math:`\mathbf{J}^\top \mathbf{g}`.

    The Jacobian is :math:`\mathbf{J} = \tfrac{1}{\tau} \operatorname{Cov}(\mathbf{1}_S)`, the covariance
    of the inclusion indicators under :math:`P(S) \propto e^{x(S)/\tau}` (symmetric, positive
    semi-definite, rows summing to 0), so

    .. math:: (\mathbf{J}^\top\mathbf{g})_i = \tfrac{1}{\tau}\big(\E[\mathbb{1}_{i\in S}\, g(S)]
              - p_i\, \E[g(S)]\big), \qquad g(S) = \textstyle\sum_{j \in S} g_j .

    Parameters
    ----------
    x : array_like of shape (..., n, ...)
        The scores at which ``grad_topk`` was evaluated.
    k : int
        As in ``grad_topk``.
    grad : array_like, same shape as ``x``
        Incoming gradient.
    tau : float, default 1.0
        Temperature.
    axis : int, default -1, keyword-only
        The class axis.

    Returns
    -------
    ndarray, same shape as ``x``
        Sums to 0 along ``axis``.

    Raises
    ------
    ValueError
        As ``grad_topk``; ``grad`` of another shape; NaN or infinite ``grad``.

    Notes
    -----
    Forward-mode differentiation of the same dynamic program (each table entry carries the mean of
    ``g(S)`` over its subsets, a convex combination, hence stable): :math:`O(nk)` per slice.
    See the chapter ``chapters/simplex/soft-topk.md``.
    """
    z, k, tau, axis, dtype, shape, _ = _scaled_scores(x, k, tau, axis, center="mid")
    g = _grad_like(x, grad, "x", axis)
    _, hg = _grad_topk_rows(z, k, g)
    return _restore(hg / tau, shape, axis, _out_dtype(dtype, grad))


# --------------------------------------------------------------------------- threshold maps


def _f_value(name: str, a: np.ndarray) -> np.ndarray:
    if name == "sigmoid":
        return expit(a)
    if name == "exp":
        return np.exp(np.minimum(a, 0.0))
    if name == "piecewise_exp":
        half = 0.5 * np.exp(-np.abs(a))  # e^{-|a|}/2: never overflows
        return np.where(a >= 0, 1.0 - half, half)
    return np.clip(a, 0.0, 1.0)


def _f_slope_from_value(name: str, p: np.ndarray) -> np.ndarray:
    """f'(f^{-1}(p)): for all four f the derivative is a function of the value (one-sided at kinks)."""
    if name == "sigmoid":
        return p * (1.0 - p)
    if name == "exp":
        return np.where(p < 1.0, p, 0.0)
    if name == "piecewise_exp":
        return np.minimum(p, 1.0 - p)
    return ((p > 0.0) & (p < 1.0)).astype(p.dtype)


def _sigmoid_lambda(z, k, rtol, maxiter):
    """Safeguarded Newton for sum sigmoid(z - lam) = k on the bracket [min z - c, max z - c]."""
    finite = np.isfinite(z)
    nf = finite.sum(axis=-1)
    c = np.log(k / (nf - k))  # logit(k / n_f), the threshold for equal scores; n_f > k here
    lo = np.min(np.where(finite, z, np.inf), axis=-1) - c  # F(lo) >= k
    hi = np.max(z, axis=-1) - c  # F(hi) <= k
    lam = 0.5 * (lo + hi)
    tol = rtol * np.maximum(nf, 1)
    history = []
    use_bisection = np.zeros(z.shape[0], dtype=bool)
    prev_res = np.full(z.shape[0], np.inf)
    converged = False
    iterations = 0
    while iterations < maxiter:
        iterations += 1
        s = expit(z - lam[:, None])
        res = s.sum(axis=-1) - k
        history.append(float(np.max(np.abs(res))))
        slope = np.sum(s * (1 - s), axis=-1)
        # Converged: residual below rtol * n, or at the rounding level of lam itself (a change of
        # lam by a few ulps moves the sum by about slope * spacing(lam); at scores of 1e3 and more
        # that exceeds rtol * n).
        done = np.abs(res) <= tol + 4 * slope * np.spacing(np.abs(lam))
        if done.all():
            converged = True
            break
        # Shrink the bracket with the sign of the residual (F decreases in lam).
        lo = np.where(res > 0, lam, lo)
        hi = np.where(res < 0, lam, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = lam + res / slope
        # Newton unless it leaves the bracket or the last step did not halve the residual.
        use_bisection = ~np.isfinite(newton) | (newton <= lo) | (newton >= hi) | (np.abs(res) > 0.5 * prev_res)
        step = np.where(use_bisection, 0.5 * (lo + hi), newton)
        prev_res = np.abs(res)
        # A bracket that no longer contains a float between its ends: lam is as good as it gets.
        stuck = (hi - lo) <= 4 * np.spacing(np.maximum(np.abs(lo), np.abs(hi)))
        lam = np.where(done | stuck, lam, step)
        if (done | stuck).all():
            s = expit(z - lam[:, None])
            res = s.sum(axis=-1) - k
            history.append(float(np.max(np.abs(res))))
            slope = np.sum(s * (1 - s), axis=-1)
            converged = bool((np.abs(res) <= tol + 4 * slope * np.spacing(np.abs(lam))).all())
            break
    return lam, converged, iterations, np.array(history)


def _sorted_desc(z):
    return -np.sort(-z, axis=-1)


def _rev_logcumsumexp(a):
    """T_j = log sum_{i >= j} e^{a_i} along the last axis."""
    return np.logaddexp.accumulate(a[..., ::-1], axis=-1)[..., ::-1]


def _exp_lambda(z, k):
    """Closed-form threshold for f = min(1, e^a): lam = log sum_{i >= m} e^{z_(i)} - log(k - m)."""
    zs = _sorted_desc(z)  # -inf last
    n = zs.shape[-1]
    tail = _rev_logcumsumexp(zs)  # tail[j] = log sum_{i >= j} e^{zs_i}
    j = np.arange(n)
    with np.errstate(invalid="ignore"):
        # F(zs_j) = (j entries >= zs_j, each 1) + 1 + sum_{i > j} e^{zs_i - zs_j}
        tail_next = np.concatenate([tail[:, 1:], np.full((zs.shape[0], 1), -np.inf)], axis=-1)
        f_knot = j + 1 + np.exp(tail_next - zs)
    f_knot = np.where(np.isfinite(zs), f_knot, np.inf)
    m = np.sum(f_knot < k, axis=-1)  # number of saturated entries: scores strictly above lam
    return np.take_along_axis(tail, m[:, None], axis=-1)[:, 0] - np.log(k - m)


def _piecewise_lambda(z, k):
    """Closed-form threshold for f(a) = 1 - e^{-a}/2 (a >= 0), e^{a}/2 (a < 0)."""
    zs = _sorted_desc(z)
    rows, n = zs.shape
    finite = np.isfinite(zs)
    tail = _rev_logcumsumexp(zs)  # log sum_{i >= j} e^{zs_i}
    neg = np.where(finite, -zs, -np.inf)  # -inf entries contribute nothing to sum e^{-z}
    head = np.concatenate([np.full((rows, 1), -np.inf), np.logaddexp.accumulate(neg, axis=-1)], axis=-1)
    # head[j] = log sum_{i < j} e^{-zs_i}
    tail_next = np.concatenate([tail[:, 1:], np.full((rows, 1), -np.inf)], axis=-1)
    j = np.arange(n)
    with np.errstate(invalid="ignore"):
        # F(zs_j) = sum_{i<j}(1 - e^{zs_j - zs_i}/2) + 1/2 + sum_{i>j} e^{zs_i - zs_j}/2: every
        # exponent is <= 0 after factoring, so each sum is bounded by n (no overflow).
        f_knot = j - 0.5 * np.exp(zs + head[:, :n]) + 0.5 + 0.5 * np.exp(tail_next - zs)
    f_knot = np.where(finite, f_knot, np.inf)
    m = np.sum(f_knot < k, axis=-1)
    tail_pad = np.concatenate([tail, np.full((rows, 1), -np.inf)], axis=-1)  # S2 = 0 when m = n
    log_s2 = np.take_along_axis(tail_pad, m[:, None], axis=-1)[:, 0]
    log_s1 = np.take_along_axis(head, m[:, None], axis=-1)[:, 0]
    prod = np.exp(log_s1 + log_s2)  # S1 S2 = sum_{i<m<=l} e^{zs_l - zs_i} <= m (n - m)
    a = k - m
    root = np.sqrt(a * a + prod)
    # u = e^lam solves S1 u^2 + 2 a u - S2 = 0. Its positive root, written without cancellation:
    # u = S2 / (root + a) when a >= 0, u = (root - a) / S1 when a < 0 (then m > k >= 1, S1 > 0).
    # For a = 0 the root is sqrt(S1 S2), which may underflow although lam is moderate: use logs.
    with np.errstate(divide="ignore", invalid="ignore"):
        log_d = np.where(a == 0, 0.5 * (log_s1 + log_s2), np.log(root + np.abs(a)))
        return np.where(a >= 0, log_s2 - log_d, log_d - log_s1)


def _linear_lambda(z, k):
    """Exact threshold for f = clip(a, 0, 1), z centred on its k-th largest entry: walk the knots."""
    # z is centred on its k-th largest entry, z_(k) = 0. Then F(-1) >= k (the top k are saturated)
    # and F(0) <= k - 1 (at most k - 1 entries lie strictly above 0), so lam is in [-1, 0): every
    # entry above 1 is saturated and every entry below -1 is zero whatever lam is. Clipping z to
    # [-2, 2] (which also maps -inf to -2) therefore leaves the solution unchanged, and it keeps the
    # running sums below of moderate size, whatever the range of the scores.
    zf = np.clip(z, -2.0, 2.0)
    rows, n = zf.shape
    knots = np.concatenate([zf, zf - 1.0], axis=-1)
    tags = np.concatenate([np.ones((rows, n)), -np.ones((rows, n))], axis=-1)
    order = np.argsort(-knots, axis=-1, kind="stable")
    t = np.take_along_axis(knots, order, axis=-1)
    s = np.cumsum(np.take_along_axis(tags, order, axis=-1), axis=-1)  # entries strictly inside
    gaps = t[:, :-1] - t[:, 1:]
    f_knot = np.concatenate([np.zeros((rows, 1)), np.cumsum(s[:, :-1] * gaps, axis=-1)], axis=-1)
    # first interval (t_{r+1}, t_r] on which F reaches k; a little slack against rounding in F
    slack = 4 * np.finfo(np.float64).eps * (n + 1) * k
    r = np.argmax(f_knot[:, 1:] >= k - slack, axis=-1)
    t_hi = np.take_along_axis(t, r[:, None], axis=-1)
    t_lo = np.take_along_axis(t, r[:, None] + 1, axis=-1)
    # Exact solve on that interval: saturated, free and zero entries are fixed there.
    sat = zf - 1.0 >= t_hi
    free = (zf > t_lo) & ~sat
    count = free.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = (np.sum(np.where(free, zf, 0.0), axis=-1, keepdims=True) + sat.sum(axis=-1, keepdims=True) - k) / count
    lam = np.where(count > 0, np.clip(lam, t_lo, t_hi), t_lo)
    # If F reaches k exactly at the knot t_{r+1} and is flat just below it (no free entry), every
    # lam on that plateau is a solution: take the middle of its first piece, so that each entry is
    # at least half a piece away from 0 and 1 and clip(z - lam, 0, 1) returns exact zeros and ones
    # (a knot z_j - 1 itself is rounded, and z_j - fl(z_j - 1) need not be exactly 1).
    nxt = np.minimum(r + 1, 2 * n - 2)[:, None]
    at_knot = np.abs(np.take_along_axis(f_knot, r[:, None] + 1, axis=-1) - k) <= slack
    flat = (np.take_along_axis(s, nxt, axis=-1) == 0) & (r[:, None] + 2 <= 2 * n - 1)
    middle = 0.5 * (t_lo + np.take_along_axis(t, np.minimum(r + 2, 2 * n - 1)[:, None], axis=-1))
    lam = np.where(at_knot & flat, middle, lam)
    return lam[:, 0]


def _threshold_rows(z, k, f, rtol, maxiter):
    """lam per row (z centred on its k-th largest entry) and the solve record.

    Rows with exactly k finite scores get lam = -inf (the limit: their finite entries are all 1).
    """
    nf = np.isfinite(z).sum(axis=-1)
    limit = nf == k
    lam = np.full(z.shape[0], -np.inf)
    work = ~limit
    converged, iterations, history = True, 0, np.zeros(0)
    if work.any():
        zw = z[work]
        if f == "sigmoid":
            lw, converged, iterations, history = _sigmoid_lambda(zw, k, rtol, maxiter)
        else:
            lw = {"exp": _exp_lambda, "piecewise_exp": _piecewise_lambda, "linear": _linear_lambda}[f](zw, k)
            iterations = 1
            history = np.array([float(np.max(np.abs(_f_value(f, zw - lw[:, None]).sum(axis=-1) - k)))])
        lam[work] = lw
    return lam, converged, iterations, history


def _check_f(f):
    if f not in _FUNCTIONS:
        raise ValueError(f"f must be one of {_FUNCTIONS}, got {f!r}")


def threshold_topk_lambda(
    x, k: int, tau: float = 1.0, *, f: str = "sigmoid", axis: int = -1, rtol: float = 2e-15, maxiter: int = 200
) -> ThresholdSolution:
    r"""Solve :math:`\sum_i f(x_i/\tau - \lambda) = k` for the threshold :math:`\lambda` along ``axis``.

    Parameters
    ----------
    x : array_like of shape (..., n, ...)
        Scores; ``-inf`` allowed, at least ``k`` finite entries per slice.
    k : int
        ``1 <= k <= n``.
    tau : float, default 1.0
        Temperature, positive.
    f : {"sigmoid", "exp", "piecewise_exp", "linear"}, keyword-only
        The squashing function (see :func:`threshold_topk`).
    axis : int, default -1, keyword-only
        The class axis.
    rtol : float, keyword-only
        Sigmoid only: stop when ``|sum f - k| <= rtol * n_finite + 4 F' spacing(lam)`` in every
        slice (the second term is the change of the sum caused by a few ulps of ``lam``; it matters
        only for scaled scores of magnitude 1e3 and more).
    maxiter : int, keyword-only
        Sigmoid only: iteration limit.

    Returns
    -------
    ThresholdSolution
        ``lam`` in the units of ``x / tau``, so that ``p = f(x / tau - lam)`` (shape of ``x`` without ``axis``),
        ``converged``, ``iterations``, ``residuals`` (history of the largest ``|sum f - k|``).
        A slice with exactly ``k`` finite scores gets ``lam = -inf`` (the limit; the sum is ``k``
        only as ``lam -> -inf`` for the sigmoid and piecewise exponential).

    Raises
    ------
    ValueError
        Bad ``k``, ``tau``, ``f``, ``rtol``, ``maxiter``, or scores (see :func:`threshold_topk`).

    Notes
    -----
    Sigmoid: Newton's method safeguarded by bisection on the bracket
    :math:`[\min z - c, \max z - c]`, :math:`c = \operatorname{logit}(k/n)`, which always contains
    the root; quadratic convergence near it, so the residual reaches rounding level. The other
    three: closed forms after one sort, :math:`O(n \log n)`.
    See the chapter ``chapters/simplex/soft-topk.md``.
    """
    _check_f(f)
    rtol = check_real_scalar(rtol, "rtol", positive=True)
    maxiter = check_int(maxiter, "maxiter", low=1)
    z, k, tau, axis, dtype, shape, ref = _scaled_scores(x, k, tau, axis, center="kth")
    lam, converged, iterations, history = _threshold_rows(z, k, f, rtol, maxiter)
    lam = lam + ref / tau  # back to the units of x / tau
    return ThresholdSolution(lam.reshape(shape[:-1]), bool(converged), int(iterations), history)


def threshold_topk(x, k: int, tau: float = 1.0, *, f: str = "sigmoid", axis: int = -1) -> np.ndarray:
    r"""ThreTopK: :math:`f(\mathbf{x}/\tau - \lambda)` with :math:`\lambda` chosen so the entries sum to ``k``.

    The functions ``f`` (increasing, from 0 at :math:`-\infty` to 1 at :math:`+\infty`):

    * ``"sigmoid"``: :math:`\sigma(a) = 1/(1 + e^{-a})` (smooth; :math:`\lambda` by safeguarded Newton);
    * ``"exp"``: :math:`\min(1, e^a)` (a kink at 0; closed form; equals softmax for ``k = 1``);
    * ``"piecewise_exp"``: :math:`1 - e^{-a}/2` for :math:`a \ge 0`, :math:`e^{a}/2` for :math:`a < 0`
      (:math:`C^1`; closed form; equals softmax for ``k = 1`` only when no softmax entry exceeds 1/2);
    * ``"linear"``: :math:`\operatorname{clip}(a, 0, 1)` (exact zeros and ones: the Euclidean
      projection of ``x / tau`` onto the capped simplex; sparsemax for ``k = 1``).

    Parameters
    ----------
    x : array_like of shape (..., n, ...)
        Scores; ``-inf`` allowed (gets exactly 0), at least ``k`` finite entries per slice.
    k : int
        ``1 <= k <= n``; a slice with exactly ``k`` finite scores gets their indicator (all ones
        for ``k = n``), the limit of the map.
    tau : float, default 1.0
        Temperature, positive.
    f : str, keyword-only
        One of the four names above.
    axis : int, default -1, keyword-only
        The class axis.

    Returns
    -------
    ndarray, same shape as ``x``
        In ``[0, 1]``, summing to ``k`` along ``axis``; float dtype of ``x``.

    Raises
    ------
    ValueError
        ``k`` out of range, ``tau <= 0``, unknown ``f``, fewer than ``k`` finite scores, empty axis,
        NaN or ``+inf``; ``x / tau`` overflowing (scores further apart than the float range times
        ``tau``: rescale ``x`` and ``tau`` together).
    RuntimeError
        The sigmoid solve did not converge (never observed; it is bracketed).

    Notes
    -----
    Monotone and shift invariant by construction; tends to hard top-k as ``tau -> 0`` when the k-th
    and (k+1)-th scores differ. Cost: sigmoid :math:`O(n)` per Newton step (a handful of steps), the
    others one sort. See :func:`threshold_topk_vjp` for the backward pass.

    References
    ----------
    Su (2024), "Softmax后传：寻找Top-K的光滑近似"; Amos, Koltun & Kolter (2019), "The limited multi-label
    projection layer". See the chapter ``chapters/simplex/soft-topk.md``.
    """
    _check_f(f)
    z, k, tau, axis, dtype, shape, _ = _scaled_scores(x, k, tau, axis, center="kth")
    lam, converged, _, history = _threshold_rows(z, k, f, 2e-15, 200)
    if not converged:
        raise RuntimeError(f"threshold_topk: the sigmoid threshold did not converge (residual {history[-1]:.3g})")
    with np.errstate(invalid="ignore"):
        p = _f_value(f, z - lam[:, None])
    limit = np.isneginf(lam)[:, None]
    p = np.where(limit, np.isfinite(z).astype(np.float64), p)
    return _restore(p, shape, axis, dtype)


def threshold_topk_vjp(p, grad, tau: float = 1.0, *, f: str = "sigmoid", axis: int = -1) -> np.ndarray:
    r"""Vector–Jacobian product of :func:`threshold_topk`, from its output ``p``.

    Differentiating :math:`\sum_i f(z_i - \lambda) = k` gives
    :math:`\partial\lambda/\partial z_j = f'_j / \sum_i f'_i`, hence the symmetric Jacobian (in ``x``)

    .. math:: \mathbf{J} = \tfrac{1}{\tau}\Big(\operatorname{diag}(\mathbf{f}')
              - \frac{\mathbf{f}'\mathbf{f}'^\top}{\mathbf{1}^\top\mathbf{f}'}\Big), \qquad
              \mathbf{J}^\top\mathbf{g} = \tfrac{1}{\tau}\,\mathbf{f}' \odot
              \Big(\mathbf{g} - \frac{\mathbf{f}'^\top\mathbf{g}}{\mathbf{1}^\top\mathbf{f}'}\Big),

    with :math:`f'_i = f'(z_i - \lambda)` read off the output: :math:`p(1-p)` (sigmoid), :math:`p\,
    [p < 1]` (exp), :math:`\min(p, 1-p)` (piecewise exp), :math:`[0 < p < 1]` (linear).

    Parameters
    ----------
    p : array_like of shape (..., n, ...)
        An output of ``threshold_topk`` with the same ``f``.
    grad : array_like, same shape as ``p``
        Incoming gradient.
    tau : float, default 1.0
        The temperature used in the forward pass.
    f : str, keyword-only
        The function used in the forward pass.
    axis : int, default -1, keyword-only
        The class axis.

    Returns
    -------
    ndarray, same shape as ``p``
        Zero where :math:`f' = 0`; sums to 0 along ``axis``. A slice with :math:`\sum f' = 0` (all
        entries 0 or 1) gets 0.

    Raises
    ------
    ValueError
        Shapes differ, ``p`` outside ``[0, 1]``, unknown ``f``, ``tau <= 0``.

    Notes
    -----
    :math:`O(n)`. At a kink (``exp``: ``p = 1`` exactly; ``linear``: ``p`` in ``{0, 1}`` exactly) this is
    the one-sided derivative that keeps the output's pattern. The same operator as the backward pass
    of the LML layer (Amos et al., 2019) for the sigmoid.
    See the chapter ``chapters/simplex/soft-topk.md``.
    """
    _check_f(f)
    tau = check_real_scalar(tau, "tau", positive=True)
    p_arr = as_float_array(p, "p")
    if p_arr.ndim == 0:
        raise ValueError("p must have at least one dimension")
    if ((p_arr < 0) | (p_arr > 1)).any():
        raise ValueError("p must lie in [0, 1] (an output of threshold_topk)")
    g = _grad_like(p_arr, grad, "p", axis)
    axis = check_axis(axis, p_arr.ndim)
    moved = np.moveaxis(p_arr, axis, -1)
    pv = moved.reshape(-1, moved.shape[-1]).astype(np.float64)
    d = _f_slope_from_value(f, pv)
    total = d.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(total > 0, np.sum(d * g, axis=-1, keepdims=True) / total, 0.0)
    out = d * (g - mean) / tau
    return _restore(out, moved.shape, axis, _out_dtype(p_arr.dtype, grad))
