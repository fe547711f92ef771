"""Recorded benchmark data shipped with the package (src/mathguide/recorded.py)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from mathguide.recorded import load_recorded

DATA = Path(__file__).resolve().parents[1] / "src" / "mathguide" / "data"


def test_lu_blocked_record_matches_the_csv_module_reading() -> None:
    record = load_recorded("lu_blocked")
    assert record.meta.startswith("benchmarks/lu_blocked.py")
    with (DATA / "lu_blocked.csv").open(newline="") as handle:
        next(handle)
        rows = list(csv.DictReader(handle))
    assert len(record.table) == len(rows) > 0
    np.testing.assert_array_equal(record.table["n"], [int(row["n"]) for row in rows])
    np.testing.assert_allclose(record.table["lu_blocked_s"], [float(r["lu_blocked_s"]) for r in rows], rtol=0, atol=0)


def test_unknown_record_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"name must be one of the recorded benchmarks \[.*'lu_blocked'"):
        load_recorded("no_such_run")


def test_record_without_a_comment_line_has_empty_meta() -> None:
    record = load_recorded("conjugate_gradient")
    assert record.meta == ""
    assert record.table["grid"][-1] == 1000 and record.table["iterations_scipy"][-1] > 0
