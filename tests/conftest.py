"""Fixtures shared by the library's tests."""

from __future__ import annotations

import numpy as np
import pytest

from mathguide.seeding import seeded_rng

# One seed for the shared fixture: a test that needs independent streams draws them from this one.
# MATHGUIDE_SEED (see mathguide.seeding) re-rolls it, with every chapter's seed, in one switch.
TEST_SEED = 20261130


@pytest.fixture
def rng() -> np.random.Generator:
    """A freshly seeded generator for each test, so that tests do not depend on their order."""
    return seeded_rng(TEST_SEED)
