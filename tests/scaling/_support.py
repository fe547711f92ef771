"""Helpers for the scale registry's law files (loaded by test_scale_registry.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

#: The uniform scalings every law is checked at: exact powers of two, far out in the exponent range.
SCALES = (2.0**500, 2.0**-500, 2.0**1000, 2.0**-1000)

#: What a clear refusal is: one of these errors, with a message that names the argument.
REFUSALS = (ValueError, OverflowError, FloatingPointError, np.linalg.LinAlgError)


def obeys_or_refuses(call: Callable[[], Any], argument: str, check: Callable[[Any], None]) -> str:
    """Run ``call()``; the answer must pass ``check``, or the call must raise a clear error naming ``argument``.

    Returns ``"obeys"`` or ``"refuses"`` (for tests that want one of the two). Anything else fails: a
    wrong answer (``check`` raises), a crash of another type, or an error whose message does not name
    the argument.
    """
    try:
        result = call()
    except REFUSALS as error:
        assert re.search(rf"\b{re.escape(argument)}\b", str(error)), (
            f"refused with a message that does not name {argument!r}: {type(error).__name__}: {error}"
        )
        return "refuses"
    check(result)
    return "obeys"


def relative_error(got, want) -> float:
    """max |got - want| / max |want| (0 when both are zero), in float64, without overflow."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    scale = np.max(np.abs(want), initial=0.0)
    if scale == 0.0:
        return float(np.max(np.abs(got), initial=0.0))
    return float(np.max(np.abs(got / scale - want / scale), initial=0.0))
