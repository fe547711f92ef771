"""Validation shared by the simplex maps: a score array, and the axis its vectors lie along."""

from __future__ import annotations

import numpy as np

from mathguide._validation import as_float_array, check_axis


def scores_last(x, axis, name: str = "x", *, allow_neg_inf: bool = True) -> tuple[np.ndarray, int]:
    """Validate scores and move ``axis`` last; return the moved view (never written to) and the axis.

    Scores may contain ``-inf`` (an entry that must get probability zero) but not ``+inf`` or NaN,
    and every slice along ``axis`` needs at least one finite entry (otherwise no point of the
    simplex is singled out). With ``allow_neg_inf=False`` every entry must be finite.
    """
    array = as_float_array(x, name, allow_inf=allow_neg_inf)
    if array.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension (an axis of scores), got a scalar")
    axis = check_axis(axis, array.ndim)
    array = np.moveaxis(array, axis, -1)
    if array.shape[-1] == 0:
        raise ValueError(f"{name} must have at least one entry along axis {axis}, got an empty axis")
    if not np.isfinite(array).all():  # the slower checks only when some entry is infinite
        if np.isposinf(array).any():
            raise ValueError(f"{name} must not contain +inf")
        if np.isneginf(array).all(axis=-1).any():
            raise ValueError(f"{name} must have at least one finite entry along axis {axis}: a slice is all -inf")
    return array, axis
