"""The one switch for every seed (mathguide.seeding)."""

from __future__ import annotations

import numpy as np
import pytest

from mathguide.seeding import SEED_ENV, seed_override, seeded_rng


def test_without_override_it_is_numpy_default_rng(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SEED_ENV, raising=False)
    assert seed_override() is None
    np.testing.assert_array_equal(seeded_rng(42).random(5), np.random.default_rng(42).random(5))


def test_override_changes_every_stream_and_keeps_them_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SEED_ENV, raising=False)
    published = seeded_rng(42).random(5)
    monkeypatch.setenv(SEED_ENV, "3")
    assert seed_override() == 3
    rerolled = seeded_rng(42).random(5)
    assert not np.array_equal(rerolled, published)
    np.testing.assert_array_equal(seeded_rng(42).random(5), rerolled)  # reproducible under the switch
    assert not np.array_equal(seeded_rng(43).random(5), rerolled)  # two chapters' seeds stay distinct
    monkeypatch.setenv(SEED_ENV, "4")
    assert not np.array_equal(seeded_rng(42).random(5), rerolled)


@pytest.mark.parametrize("text", ["abc", "-1", "1.5"])
def test_bad_override_is_named(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv(SEED_ENV, text)
    with pytest.raises(ValueError, match=SEED_ENV):
        seeded_rng(1)


def test_bad_default_seed_is_named() -> None:
    with pytest.raises(TypeError, match="default_seed"):
        seeded_rng(1.5)
    with pytest.raises(ValueError, match="default_seed"):
        seeded_rng(-1)
