"""One switch for every seed of the book: chapters and tests take their generators from here.

Each chapter seeds one generator, ``rng = seeded_rng(<chapter seed>)``, and the tests' ``rng``
fixture does the same. With the environment variable ``MATHGUIDE_SEED`` unset (the published book,
``make book``, ``make test``), ``seeded_rng(seed)`` is exactly ``numpy.random.default_rng(seed)``.
With ``MATHGUIDE_SEED=<int>`` set, every call mixes that integer into its seed, so one switch
re-rolls every random experiment of the book at once (``make seeds``, the portable pass of CI).
A claim that survives the switch is a claim about the method, not about one draw.

The library itself never reads the environment: ``rng=5`` passed to a library function always means
the seed 5.
"""

from __future__ import annotations

import os

import numpy as np

from mathguide._validation import check_int

__all__ = ["SEED_ENV", "seed_override", "seeded_rng"]

#: The environment variable that changes every seed of the chapters and tests.
SEED_ENV = "MATHGUIDE_SEED"


def seed_override() -> int | None:
    """The integer in ``MATHGUIDE_SEED``, or ``None`` when it is unset or empty.

    Raises
    ------
    ValueError
        If the variable is set to something other than a non-negative integer.
    """
    text = os.environ.get(SEED_ENV, "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{SEED_ENV} must be a non-negative integer, got {text!r}") from None
    if value < 0:
        raise ValueError(f"{SEED_ENV} must be a non-negative integer, got {value}")
    return value


def seeded_rng(default_seed: int) -> np.random.Generator:
    """A generator seeded with ``default_seed``, re-rolled by ``MATHGUIDE_SEED`` when that is set.

    Parameters
    ----------
    default_seed : int
        The seed (a chapter's or a test's own), a non-negative integer.

    Returns
    -------
    numpy.random.Generator
        ``numpy.random.default_rng(default_seed)`` when ``MATHGUIDE_SEED`` is unset; otherwise
        ``numpy.random.default_rng([override, default_seed])``, a stream that differs for every override and
        still differs between two default seeds.

    Examples
    --------
    >>> import numpy as np
    >>> from mathguide.seeding import seeded_rng
    >>> seeded_rng(7).random() == np.random.default_rng(7).random()  # with MATHGUIDE_SEED unset
    True
    """
    default_seed = check_int(default_seed, "default_seed", low=0)
    override = seed_override()
    if override is None:
        return np.random.default_rng(default_seed)
    return np.random.default_rng([override, default_seed])
