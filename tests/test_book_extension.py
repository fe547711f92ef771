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


def test_bibliography_labels_show_accented_letters_not_tex() -> None:
    entries = pybtex.database.parse_file(str(REPO / "references.bib")).entries
    labels = list(book.AuthorYearLabels().format_labels(entries.values()))
    assert [label for label in labels if "\\" in label or "{" in label] == []
    assert any(label.startswith("Björck") for label in labels)


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


def test_pdf_chapter_numbers_are_the_sites() -> None:
    # Issue 27, item 27: the site numbers only the numbered parts (part overviews 1, 2, ...), LaTeX
    # numbered every chapter, so "Maps onto the simplex" was 4 on the site and Chapter 10 in the PDF
    # (five sections of the introduction and the notation page came first).
    numbered, first = book._numbered_docs(REPO)
    assert first == "chapters/montecarlo/index"
    assert "intro" not in numbered and "notation" not in numbered and "references" not in numbered
    assert "chapters/simplex/soft-topk" in numbered
    overviews = [doc for doc in _toc_order() if doc in numbered and doc.endswith("/index")]
    assert overviews.index("chapters/simplex/index") + 1 == 4  # the site's "4. Maps onto the simplex"
    assert book.latex_numbering("notation", numbered, first) == r"\setcounter{secnumdepth}{-1}"
    assert book.latex_numbering(first, numbered, first) == r"\setcounter{secnumdepth}{2}\setcounter{chapter}{0}"
    assert book.latex_numbering("chapters/simplex/index", numbered, first) == r"\setcounter{secnumdepth}{2}"


def _toc_order() -> list[str]:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
    order: list[str] = []

    def walk(entries):
        for entry in entries or []:
            order.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc["parts"]:
        walk(part["chapters"])
    return order


def test_every_proof_gets_a_title_in_the_pdf() -> None:
    # Issue 27, item 27: a proof without a title drew an empty coloured title bar in the PDF.
    from docutils import nodes

    class Builder:
        format = "latex"

    class App:
        builder = Builder()
        srcdir = REPO

    doctree = nodes.document(None, None)
    proof = nodes.admonition("", nodes.paragraph("", "Proof. By induction."), classes=["proof", "proof"])
    doctree += proof
    book._fix_latex(App, doctree, "chapters/simplex/soft-topk")
    assert isinstance(proof[0], nodes.title) and proof[0].astext() == "Proof"
    assert proof[1].astext() == "By induction."
    assert doctree[0].astext() == r"\setcounter{secnumdepth}{2}"  # the chapter's numbering, before it
