"""House rules of the repository that a machine can check (CONTRIBUTING.md).

The checks are general: they apply to whatever modules, chapters and tests exist, so that a new
module or chapter is held to the same rules without being listed here.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import typing
from pathlib import Path

import jupytext
import pytest
import yaml

import mathguide

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


# Chapters and tests take their generators from mathguide.seeding, so that MATHGUIDE_SEED re-rolls
# every one of them (make seeds, the portable pass). Only the tests of numpy-seeding semantics are exempt.
DIRECT_GENERATOR = re.compile(r"\b(?:np|numpy)\.random\.default_rng\(")
SEEDING_SEMANTICS_TESTS = {"test_validation.py", "test_conventions.py", "test_seeding.py"}
TESTS = sorted(p for p in (REPO / "tests").rglob("*.py") if p.name not in SEEDING_SEMANTICS_TESTS)


@pytest.mark.parametrize("path", CHAPTERS + TESTS, ids=lambda p: str(p.relative_to(REPO)))
def test_generators_come_from_the_one_switch(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = enumerate(text.splitlines(), 1)
    found = [f"line {n}: {line.strip()}" for n, line in lines if DIRECT_GENERATOR.search(line)]
    assert not found, "use mathguide.seeding.seeded_rng (or the rng fixture):\n" + "\n".join(found)
    if path.suffix == ".md" and "rng" in text and "{code-cell}" in text:
        assert "rng = seeded_rng(" in text, "a chapter seeds its one generator with seeded_rng"


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


# ---------------------------------------------------------------------------------------------------
# The library's public API (CONTRIBUTING.md, "Public API rules")
# ---------------------------------------------------------------------------------------------------

PACKAGE_DIR = REPO / "src" / "mathguide"
# Options that come after `*` (rule 1): axis, tolerances, iteration limits, method switches, rng.
KEYWORD_ONLY_NAMES = {
    "axis", "tol", "rtol", "atol", "maxiter", "n_iter", "rng", "method", "variant", "mode", "criterion",
    "noise", "pivoting", "block_size",
}


def _public_modules() -> list[str]:
    """Every importable public module of the package (no path part starting with `_`)."""
    names = []
    for info in pkgutil.walk_packages(mathguide.__path__, "mathguide."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return sorted(names)


MODULES = _public_modules()
PACKAGES = [name for name in MODULES if hasattr(importlib.import_module(name), "__path__")]
LEAF_MODULES = [name for name in MODULES if name not in PACKAGES]


def _public_functions() -> list[tuple[str, object]]:
    found = {}
    for module_name in LEAF_MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name, None)
            if inspect.isfunction(obj) and obj.__module__ == module_name:
                found[f"{module_name}.{name}"] = obj
    return sorted(found.items())


FUNCTIONS = _public_functions()


def test_the_library_has_modules_and_functions() -> None:
    """The discovery below finds something (a broken walk would make every check vacuous)."""
    assert "mathguide.linalg.lu" in LEAF_MODULES and "mathguide.simplex" in PACKAGES
    assert len(FUNCTIONS) > 50


@pytest.mark.parametrize("module_name", LEAF_MODULES)
def test_every_module_has_all(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert isinstance(getattr(module, "__all__", None), list), f"{module_name} has no __all__ list"
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == [], f"{module_name}.__all__ names what the module does not define"
    assert len(set(module.__all__)) == len(module.__all__), f"{module_name}.__all__ repeats a name"


@pytest.mark.parametrize("package_name", [p for p in PACKAGES if p != "mathguide"])
def test_package_all_is_the_union_of_its_modules(package_name: str) -> None:
    """Every public module of a part is in its `_MODULES`, and the package exports exactly their names."""
    package = importlib.import_module(package_name)
    modules = [name for name in LEAF_MODULES if name.rpartition(".")[0] == package_name]
    union = set()
    for name in modules:
        union |= set(importlib.import_module(name).__all__)
    assert sorted(package.__all__) == sorted(union), f"add the missing module to {package_name}._MODULES"
    for name in package.__all__:
        assert getattr(package, name) is getattr(importlib.import_module(getattr(package, name).__module__), name)


@pytest.mark.parametrize("qualname, function", FUNCTIONS, ids=[q for q, _ in FUNCTIONS])
def test_options_are_keyword_only(qualname: str, function) -> None:
    """axis, tolerances, iteration limits, method switches, rng and boolean flags come after `*`."""
    positional = [
        p.name
        for p in inspect.signature(function).parameters.values()
        if p.kind is not p.KEYWORD_ONLY and (p.name in KEYWORD_ONLY_NAMES or isinstance(p.default, bool))
    ]
    assert positional == [], f"{qualname}: make {positional} keyword-only"


@pytest.mark.parametrize("qualname, function", FUNCTIONS, ids=[q for q, _ in FUNCTIONS])
def test_rng_is_required_and_spelled_rng(qualname: str, function) -> None:
    parameters = inspect.signature(function).parameters
    assert not {"seed", "random_state", "generator"} & set(parameters), f"{qualname}: call it rng"
    if "rng" in parameters:
        assert parameters["rng"].default is inspect.Parameter.empty, f"{qualname}: rng must be required"


@pytest.mark.parametrize("qualname, function", FUNCTIONS, ids=[q for q, _ in FUNCTIONS])
def test_sampler_callbacks_are_documented_rng_first(qualname: str, function) -> None:
    """A sampler callback parameter (`sample...`) is called as `sample(rng, n)`, and says so."""
    for name in inspect.signature(function).parameters:
        if name.startswith("sample"):
            assert f"{name}(rng, n)" in function.__doc__ or "(rng, n)" in function.__doc__, qualname


@pytest.mark.parametrize("qualname, function", FUNCTIONS, ids=[q for q, _ in FUNCTIONS])
def test_iterative_routines_report_convergence(qualname: str, function) -> None:
    """A routine with an iteration limit returns a NamedTuple with `converged` and `iterations`."""
    if "maxiter" not in inspect.signature(function).parameters:
        return
    result_type = typing.get_type_hints(function).get("return")
    fields = getattr(result_type, "_fields", ())
    assert {"converged", "iterations"} <= set(fields), f"{qualname} returns {result_type}"


@pytest.mark.parametrize("qualname, function", FUNCTIONS, ids=[q for q, _ in FUNCTIONS])
def test_no_numpy_scalar_return_annotations(qualname: str, function) -> None:
    """One-number results are Python floats: no function promises a NumPy scalar or a 0-d array."""
    annotation = str(inspect.signature(function).return_annotation)
    assert not re.search(r"np\.(float64|float32|floating|number|generic)\b", annotation), qualname


def test_the_signature_rules_catch_a_violation() -> None:
    """The keyword-only check itself: it flags a positional axis and a positional flag."""

    def bad(x, axis=-1, exact=False):
        return x

    flagged = [
        p.name
        for p in inspect.signature(bad).parameters.values()
        if p.kind is not p.KEYWORD_ONLY and (p.name in KEYWORD_ONLY_NAMES or isinstance(p.default, bool))
    ]
    assert flagged == ["axis", "exact"]


# ---------------------------------------------------------------------------------------------------
# The chapter <-> module mirror
# ---------------------------------------------------------------------------------------------------

CHAPTER_PATH = re.compile(r"chapters/[\w-]+/[\w-]+\.md")
IMPORT_FROM = re.compile(r"^\s*from\s+(mathguide(?:\.\w+)*)\s+import\s+\(?([^)]*?)\)?\s*$", re.M | re.S)
LITERALINCLUDE = re.compile(r"\{literalinclude\}\s+\S*?src/(mathguide/\S+)\.py")


def _chapter_modules(path: Path) -> set[str]:
    """Modules a chapter imports from (names imported from a package resolve to their module) or shows."""
    text = path.read_text(encoding="utf-8")
    modules = {m.replace("/", ".") for m in LITERALINCLUDE.findall(text)}
    notebook = jupytext.read(path, fmt="md:myst")
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mathguide"):
                target = importlib.import_module(node.module)
                for alias in node.names:
                    obj = getattr(target, alias.name, None)
                    if inspect.ismodule(obj):
                        modules.add(obj.__name__)
                    elif getattr(obj, "__module__", "").startswith("mathguide"):
                        modules.add(obj.__module__)
                    else:
                        modules.add(node.module)
    return {m for m in modules if m in LEAF_MODULES and m.count(".") >= 2}


NOTEBOOKS = [p for p in CHAPTERS if _is_notebook(p)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_chapter_imports_a_module_that_names_it(path: Path) -> None:
    """A chapter uses the library, and one of the modules it uses names it in its docstring."""
    relative = path.relative_to(REPO).as_posix()
    modules = _chapter_modules(path)
    assert modules, f"{relative} imports or shows no module of the library"
    naming = [m for m in modules if relative in (importlib.import_module(m).__doc__ or "")]
    assert naming, f"none of {sorted(modules)} names {relative} in its module docstring"


@pytest.mark.parametrize("module_name", [m for m in LEAF_MODULES if m.count(".") >= 2])
def test_module_names_an_existing_chapter_that_uses_it(module_name: str) -> None:
    doc = importlib.import_module(module_name).__doc__ or ""
    named = CHAPTER_PATH.findall(doc)
    assert named, f"{module_name}: the module docstring names no chapters/<part>/<topic>.md"
    for chapter in named:
        assert (REPO / chapter).exists(), f"{module_name} names {chapter}, which does not exist"
    assert any(module_name in _chapter_modules(REPO / chapter) for chapter in named), (
        f"none of the chapters {named} named by {module_name} imports or shows it"
    )


def test_the_chapter_module_parser() -> None:
    """The import parser resolves package imports to their defining modules."""
    modules = _chapter_modules(REPO / "chapters" / "linalg" / "lu.md")
    assert "mathguide.linalg.lu" in modules and "mathguide.plotting" not in modules


def test_advertised_subpackages_exist_for_parts_with_chapters() -> None:
    """The parts named in mathguide/__init__.py are book parts; a part with chapters has its subpackage.

    A part may be announced (its index page exists) before its first chapter; once a chapter of the part
    runs code, `src/mathguide/<part>/` must exist. Every existing subpackage is advertised.
    """
    docstring = mathguide.__doc__ or ""
    advertised = set(re.findall(r"``(\w+)``", docstring.split("Each subpackage mirrors a part")[1].split(";")[0]))
    assert advertised, "mathguide/__init__.py no longer lists its subpackages"
    existing = {p.name for p in PACKAGE_DIR.iterdir() if (p / "__init__.py").exists()}
    assert existing <= advertised, f"subpackages not listed in mathguide/__init__.py: {existing - advertised}"
    for part in advertised:
        assert (REPO / "chapters" / part / "index.md").exists(), f"advertised part {part} has no chapters/{part}/"
        has_chapters = any(_is_notebook(p) for p in (REPO / "chapters" / part).glob("*.md"))
        if has_chapters:
            assert part in existing, f"chapters/{part}/ has chapters but src/mathguide/{part}/ does not exist"


# ---------------------------------------------------------------------------------------------------
# Test hygiene (CONTRIBUTING.md, "Tests")
# ---------------------------------------------------------------------------------------------------

TEST_FILES = sorted(p for p in (REPO / "tests").rglob("test_*.py"))


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_tests_use_the_shared_fixture_and_profiles(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if path.name == "test_conventions.py":
        return
    assert not re.search(r"^def rng\(", text, re.M), "use the rng fixture of tests/conftest.py"
    assert not re.search(r"max_examples\s*=|deadline\s*=", text), "Hypothesis settings live in the root conftest"


def test_no_file_points_to_the_shared_style_guide() -> None:
    """The rules live in CONTRIBUTING.md, which a reader of the repository has."""
    offenders = [
        str(p.relative_to(REPO))
        for p in [REPO / "README.md", REPO / "CONTRIBUTING.md", *TEST_FILES, *LIBRARY]
        if "shared/STYLE.md" in p.read_text(encoding="utf-8") and p.name != "test_conventions.py"
    ]
    assert offenders == []
