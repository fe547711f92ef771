"""The scale registry and the degenerate-input suite: no routine is silently wrong at any scale.

Every public function of ``mathguide`` appears here, through the law files ``laws_<group>.py`` beside
this module. Each law file defines four dictionaries keyed by the function's public name
(``"mathguide.<part>.<name>"``, as imported from the part's package):

- ``LAWS``: ``name -> check(c, rng)``. The answer for the input scaled by ``c`` obeys the routine's law
  (eigenvalues scale by ``c``, the solution of ``A x = b`` by ``1/c`` when ``A`` does, soft top-k is
  shift-invariant, an iteration count does not change ...) to the routine's usual accuracy, or the
  routine raises a clear error that names the argument (``_support.obeys_or_refuses``). It is run at
  every ``c`` in ``_support.SCALES`` (``2**±500``, ``2**±1000``).
- ``NO_LAW``: ``name -> reason`` for a routine whose answer has no simple law under a scaling of its
  input (a random generator, a constant table, a map whose output is scale-dependent by design).
- ``DEGENERATE``: ``name -> check(rng)``. The zero matrix or vector, 1×1, exact rank deficiency, exact
  ties, ±inf where the math allows it, an empty batch: the result is right, or an error names the
  cause.
- ``NOT_DEGENERATE``: ``name -> reason`` where none of those inputs exists for the routine.

``test_every_public_function_is_registered`` fails on a public function in neither list of a pair.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the law files import _support

from _support import SCALES  # noqa: E402  (after the path is set)

PARTS = ("montecarlo", "optimization", "linalg", "simplex", "gradients")
KINDS = ("LAWS", "NO_LAW", "DEGENERATE", "NOT_DEGENERATE")


def _load_registry() -> dict[str, dict]:
    merged: dict[str, dict] = {kind: {} for kind in KINDS}
    for path in sorted(HERE.glob("laws_*.py")):
        spec = importlib.util.spec_from_file_location(f"mathguide_scale_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for kind in KINDS:
            for name, entry in getattr(module, kind, {}).items():
                if name in merged[kind]:
                    raise ValueError(f"{path.name}: {name} is already in {kind} of another law file")
                merged[kind][name] = entry
    return merged


REGISTRY = _load_registry()


def public_functions() -> list[str]:
    """Every public function of the library, named by the part's package: ``mathguide.<part>.<name>``."""
    names = []
    for part in PARTS:
        package = importlib.import_module(f"mathguide.{part}")
        for name in package.__all__:
            if inspect.isfunction(getattr(package, name)):
                names.append(f"mathguide.{part}.{name}")
    return sorted(names)


@pytest.mark.parametrize("c", SCALES, ids=lambda c: f"2**{int(__import__('math').log2(c))}")
@pytest.mark.parametrize("name", sorted(REGISTRY["LAWS"]))
def test_scale_law(name: str, c: float, rng) -> None:
    REGISTRY["LAWS"][name](c, rng)


@pytest.mark.parametrize("name", sorted(REGISTRY["DEGENERATE"]))
def test_degenerate_input(name: str, rng) -> None:
    REGISTRY["DEGENERATE"][name](rng)


@pytest.mark.parametrize(("listed", "excused"), [("LAWS", "NO_LAW"), ("DEGENERATE", "NOT_DEGENERATE")])
def test_every_public_function_is_registered(listed: str, excused: str) -> None:
    public = set(public_functions())
    registered = set(REGISTRY[listed]) | set(REGISTRY[excused])
    assert sorted(public - registered) == [], f"add these to {listed} or {excused} of a tests/scaling/laws_*.py"
    assert sorted(registered - public) == [], "the registry names functions that are not public"
    assert not set(REGISTRY[listed]) & set(REGISTRY[excused]), f"a function is in both {listed} and {excused}"
    blank = [name for name, reason in REGISTRY[excused].items() if not str(reason).strip()]
    assert blank == [], f"{excused} entries need a reason"
