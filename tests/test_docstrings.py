"""No docstring of the library contains a control character.

A docstring written without the ``r`` prefix turns ``\\top`` into a TAB followed by ``op``, ``\\beta``
into a backspace and ``eta``, ``\\frac`` into a form feed: the book's ``{literalinclude}`` and
``help()`` then show ``V^<TAB>op`` instead of the formula (``pinv_eigh`` did). The check reads every
module of ``src/mathguide`` with :mod:`ast`, so private helpers and modules that fail to import are
covered too, and the value it inspects is the string Python builds (escapes already applied).
"""

from __future__ import annotations

import ast
import unicodedata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LIBRARY = sorted((REPO / "src" / "mathguide").rglob("*.py"))
_DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def control_characters(text: str) -> list[tuple[int, str]]:
    """(line number within ``text``, character name) of every control character except the newline."""
    found = []
    for number, line in enumerate(text.split("\n"), start=1):
        for char in line:
            if unicodedata.category(char) == "Cc":
                found.append((number, f"U+{ord(char):04X}"))
    return found


def docstrings(source: str) -> list[tuple[str, int, str]]:
    """(object name, line of its definition, docstring) for the module and every class and function in it."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, _DOCUMENTED):
            doc = ast.get_docstring(node, clean=False)
            if doc is not None:
                found.append((getattr(node, "name", "<module>"), getattr(node, "lineno", 1), doc))
    return found


def test_the_check_sees_a_tab_written_as_backslash_t():
    # the bug this file guards against: \top in a docstring without the r prefix
    source = 'def f():\n    """A^\\top x."""\n'
    ((name, _, doc),) = docstrings(source)
    assert name == "f" and control_characters(doc) == [(1, "U+0009")]
    assert docstrings('def g():\n    r"""A^\\top x."""\n')[0][2] == "A^\\top x."
    assert control_characters('r"""A^\\top"""') == []


def test_library_is_found():
    assert len(LIBRARY) > 20 and any(path.name == "pinv.py" for path in LIBRARY)


@pytest.mark.parametrize("path", LIBRARY, ids=lambda path: str(path.relative_to(REPO / "src")))
def test_no_docstring_contains_a_control_character(path: Path):
    bad = [
        f"{path.name}:{line} {name}: {char} on docstring line {row}"
        for name, line, doc in docstrings(path.read_text(encoding="utf-8"))
        for row, char in control_characters(doc)
    ]
    assert bad == [], "write the docstring as r\"\"\"...\"\"\" (or escape the backslash):\n" + "\n".join(bad)
