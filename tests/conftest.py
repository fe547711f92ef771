"""Fixtures shared by the library's tests."""

from __future__ import annotations

import numpy as np
import pytest

# One seed for the shared fixture: a test that needs independent streams draws them from this one.
TEST_SEED = 20261130


@pytest.fixture
def rng() -> np.random.Generator:
    """A freshly seeded generator for each test, so that tests do not depend on their order."""
    return np.random.default_rng(TEST_SEED)
