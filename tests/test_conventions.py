"""House rules of the repository that a machine can check (see ../shared/STYLE.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "chapters").rglob("*.md"))
LIBRARY = sorted((REPO / "src" / "mathguide").rglob("*.py"))

# `default_rng()` with no seed, the legacy global state, and any sampling through `np.random.<fn>(`.
UNSEEDED = re.compile(r"default_rng\(\s*\)")
GLOBAL_RANDOM = re.compile(
    r"\b(?:np|numpy)\.random\.(?!default_rng\b|Generator\b|SeedSequence\b|BitGenerator\b|PCG64\b)\w+\s*\("
)


def _violations(text: str) -> list[str]:
    return [
        f"line {number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), start=1)
        if UNSEEDED.search(line) or GLOBAL_RANDOM.search(line)
    ]


@pytest.mark.parametrize(
    "line, bad",
    [
        ("rng = np.random.default_rng()", True),
        ("rng = np.random.default_rng( )", True),
        ("x = np.random.normal(size=3)", True),
        ("np.random.seed(0)", True),
        ("x = numpy.random.rand(2)", True),
        ("rng = np.random.default_rng(20261128)", False),
        ("def f(rng: np.random.Generator): ...", False),
        ("x = rng.normal(size=3)", False),
    ],
)
def test_randomness_patterns(line: str, bad: bool) -> None:
    """The detector itself: it flags unseeded and global randomness and nothing else."""
    assert bool(_violations(line)) is bad


@pytest.mark.parametrize("path", CHAPTERS + LIBRARY, ids=lambda p: str(p.relative_to(REPO)))
def test_no_unseeded_or_global_randomness(path: Path) -> None:
    found = _violations(path.read_text(encoding="utf-8"))
    assert not found, "use one seeded Generator passed as rng:\n" + "\n".join(found)


def _is_notebook(path: Path) -> bool:
    return "{code-cell}" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: str(p.relative_to(REPO)))
def test_chapters_with_code_have_a_jupytext_header(path: Path) -> None:
    if _is_notebook(path):
        head = path.read_text(encoding="utf-8")[:2000]
        assert head.startswith("---") and "format_name: myst" in head


def _toc_files(node) -> set[str]:
    files = set()
    if isinstance(node, dict):
        if "file" in node:
            files.add(node["file"])
        for value in node.values():
            files |= _toc_files(value)
    elif isinstance(node, list):
        for value in node:
            files |= _toc_files(value)
    return files


def test_every_chapter_is_in_the_table_of_contents() -> None:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    listed = _toc_files(toc)
    on_disk = {p.relative_to(REPO).with_suffix("").as_posix() for p in CHAPTERS}
    assert on_disk - listed == set(), "chapters missing from _toc.yml"
    missing = {f for f in listed if not (REPO / f"{f}.md").exists()}
    assert missing == set(), "_toc.yml lists files that do not exist"


def test_every_chapter_module_has_its_tests() -> None:
    """src/mathguide/<part>/<topic>.py is tested by tests/<part>/test_<topic>.py."""
    missing = []
    for module in LIBRARY:
        relative = module.relative_to(REPO / "src" / "mathguide")
        if module.name.startswith("_") or len(relative.parts) < 2:
            continue
        test_file = REPO / "tests" / relative.parent / f"test_{module.name}"
        if not test_file.exists():
            missing.append(str(test_file.relative_to(REPO)))
    assert missing == []


def test_no_notebook_files_are_committed() -> None:
    assert sorted(p.relative_to(REPO) for p in (REPO / "chapters").rglob("*.ipynb")) == []


def test_notation_page_lists_exactly_the_configured_macros() -> None:
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    macros = set(config["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"])
    notation = (REPO / "notation.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`\\([A-Za-z]+)(?:\{[^`]*)?`", notation))
    assert macros - documented == set(), "macros defined in _config.yml but not on notation.md"
    assert documented - macros == set(), "notation.md shows macros that _config.yml does not define"
