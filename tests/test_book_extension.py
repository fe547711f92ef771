"""The book's Sphinx extension (_ext/mathguide_book.py): the parts that are plain functions.

What it does to the built site (titled collapsible proofs, notebook links, search) is checked in a
browser by tests/test_site_browser.py.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pybtex.database
import yaml

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("mathguide_book", REPO / "_ext" / "mathguide_book.py")
book = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(book)


def test_bibliography_labels_are_unique_and_author_year() -> None:
    # The text cites "Su, 2024a"; the list must show the same label, one per entry.
    entries = pybtex.database.parse_file(str(REPO / "references.bib")).entries
    labels = list(book.AuthorYearLabels().format_labels(entries.values()))
    assert len(labels) == len(set(labels)), sorted(label for label in labels if labels.count(label) > 1)
    by_key = dict(zip(entries.keys(), labels, strict=True))
    assert by_key["golub2013matrix"] == "Golub and Van Loan, 2013"
    assert by_key["peters2019sparse"] == "Peters et al., 2019"
    assert re.fullmatch(r"Su, 2024[a-z]", by_key["su2024softmax"])


def test_bibliography_titles_hold_no_tex_math() -> None:
    # references.html loads no MathJax (it has no math of its own): titles use Unicode instead.
    entries = pybtex.database.parse_file(str(REPO / "references.bib")).entries
    assert [key for key, entry in entries.items() if "$" in entry.fields.get("title", "")] == []


def _formatted_references(entries) -> dict[str, str]:
    """Each entry as the references page shows it: the book's style, rendered by pybtex-docutils."""
    import pybtex_docutils
    from docutils import nodes

    book.register_plugin("pybtex.style.labels", "mathguide_author_year", book.AuthorYearLabels)
    backend = pybtex_docutils.Backend()
    style = book.AuthorYearStyle()
    shown = {}
    for label, entry in zip(book.AuthorYearLabels().format_labels(entries.values()), entries.values(), strict=True):
        formatted = style.format_entry(label, entry)
        shown[entry.key] = nodes.paragraph("", "", *formatted.text.render(backend)).astext()
    return shown


def test_bibliography_shows_no_raw_tex_math() -> None:
    # Issue 27, item 26: a title "$k$-Subset Sampling" was shown as raw TeX on the references page,
    # which loads no MathJax. The style turns inline math into Unicode text when it formats an entry.
    data = pybtex.database.parse_string(
        r"""@inproceedings{ahmed2023simple, author = {Ahmed, Kareem and Zeng, Zhe},
        title = {{SIMPLE}: A Gradient Estimator for $k$-Subset Sampling}, booktitle = {ICLR}, year = {2023}}
        @article{x2000, author = {Doe, Jane}, title = {Projections onto the $\ell_1$ ball of \(\mathbb{R}^n\)
        and $\alpha$-entmax}, journal = {J}, year = {2000}}""",
        "bibtex",
    )
    shown = _formatted_references(data.entries)
    assert "gradient estimator for k-subset sampling" in shown["ahmed2023simple"]
    assert "ℓ₁ ball of ℝⁿ and α-entmax" in shown["x2000"]
    book_entries = pybtex.database.parse_file(str(REPO / "references.bib")).entries
    raw = {key: text for key, text in {**shown, **_formatted_references(book_entries)}.items()
           if re.search(r"\$|\\\(|\\[a-zA-Z]+", text)}
    assert raw == {}


def test_macro_cell_defines_every_macro_of_the_book() -> None:
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    macros = config["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]

    class App:
        class config:
            mathjax3_config = {"tex": {"macros": macros}}

    source = book._macro_cell(App)["source"]
    defined = re.findall(r"\\newcommand\{\\(\w+)\}", source)
    assert sorted(defined) == sorted(macros)
    assert r"\newcommand{\norm}[1]{\left\lVert #1 \right\rVert}" in source


def test_search_titles_name_the_kind_of_statement() -> None:
    assert book._search_title(" (Sparsemax)", [[13, "def-sparsemax-projection"]]) == "Definition: Sparsemax"
    assert book._search_title(" (PA = LU)", [[4, "thm-lu-partial-pivoting"]]) == "Theorem: PA = LU"
    assert book._search_title("", [[1, "ex-cholesky-two-by-two"]]) == "Exercise"
    assert book._search_title("", [[1, "proof-3"]]) is None
    assert book._search_title(r" (\mat{A}^+\vb{b} is optimal)", [[5, "thm-x"]]) == "Theorem: A^+b is optimal"
    assert book._search_title("Sparse maps", [[13, "sec"]]) == "Sparse maps"
