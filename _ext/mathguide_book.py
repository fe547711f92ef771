"""Sphinx extension for the Math Guide site: what the stock Jupyter Book 1 toolchain gets wrong.

- Collapsible proofs: ``{prf:proof}`` with ``:class: dropdown`` renders an admonition without a
  title, on which sphinx-togglebutton's script throws and stops setting up every later toggle (so
  exercise solutions were shown). Such proofs get a "Proof" title here, and every proof a unique id
  (sphinx-proof gives them all ``id="proof"``).
- Bibliography labels in author–year form, the same as the text's citations ("Su, 2024a").
- The execution budget: a chapter whose execution takes longer than ``mathguide_execution_budget``
  seconds is a build warning (so the strict build fails).
- Notebooks to take away: each executed chapter is written to ``_notebooks/<chapter>.ipynb`` in the
  site, with a first cell that defines the book's math macros for plain Jupyter, and the chapter
  page links to it.
- Search snippets: math is shown as plain text, not raw ``\\(...\\)`` TeX.
"""

from __future__ import annotations

import codecs
import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

import latexcodec  # noqa: F401  (registers the "ulatex" codec; pybtex depends on it)
from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

NOTEBOOK_DIR = "_notebooks"
STATIC_DIR = Path(__file__).parent / "static"


# --- proofs ------------------------------------------------------------------------------------------


def _title_proof(admonition: nodes.admonition) -> None:
    """Give a proof the title "Proof" (sphinx-proof prepends "Proof. " to its first paragraph instead)."""
    first = next(iter(admonition.findall(nodes.paragraph)), None)
    if first is not None and first.children and isinstance(first[0], nodes.Text):
        text = str(first[0])
        if text.startswith("Proof. "):
            first[0] = nodes.Text(text[len("Proof. ") :])
    admonition.insert(0, nodes.title("", "Proof"))


def _fix_proofs(app: Sphinx, doctree: nodes.document) -> None:
    """Title collapsible proofs and give every proof a unique id."""
    count = 0
    for admonition in list(doctree.findall(nodes.admonition)):
        if admonition.get("ids") != ["proof"]:
            continue
        count += 1
        admonition["ids"] = [f"proof-{count}"]
        if "dropdown" in admonition["classes"]:
            _title_proof(admonition)


# --- the PDF: proof titles and chapter numbers as on the site -------------------------------------------


def _numbered_docs(srcdir) -> tuple[set[str], str | None]:
    """The documents of the parts that _toc.yml numbers, and the first of them."""
    import yaml

    toc = yaml.safe_load((Path(srcdir) / "_toc.yml").read_text(encoding="utf-8"))
    numbered: list[str] = []

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                numbered.append(re.sub(r"\.(md|ipynb)$", "", entry["file"]))
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        if part.get("numbered"):
            walk(part.get("chapters"))
    return set(numbered), (numbered[0] if numbered else None)


def latex_numbering(docname: str, numbered: set[str], first: str | None) -> str:
    """The LaTeX put before a document of the PDF so that its chapter number is the site's.

    The site numbers only the parts that _toc.yml marks ``numbered`` (the part overviews are
    chapters 1, 2, ..., their chapters 1.1, 1.2, ...); LaTeX numbers every chapter, so the
    introduction's five sections and the notation page took numbers 1 to 6 and "Maps onto the
    simplex", 4 on the site, was chapter 10. Documents outside the numbered parts are unnumbered in
    the PDF too, and the chapter counter starts at the first numbered document.
    """
    if docname in numbered:
        return r"\setcounter{secnumdepth}{2}" + (r"\setcounter{chapter}{0}" if docname == first else "")
    return r"\setcounter{secnumdepth}{-1}"


def _fix_latex(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """The PDF's doctree (assembled from every document): proof titles and chapter numbers.

    sphinx-proof makes a proof an admonition without a title. On the site a plain proof reads
    "Proof. ..." in its first paragraph, but LaTeX's admonition box draws its coloured title bar
    anyway, empty: in the PDF every proof gets the title "Proof".
    """
    if getattr(app.builder, "format", "") != "latex":
        return
    from sphinx import addnodes

    for admonition in list(doctree.findall(nodes.admonition)):
        titled = any(isinstance(child, nodes.title) for child in admonition.children)
        if "proof" in admonition["classes"] and not titled:
            _title_proof(admonition)
    numbered, first = _numbered_docs(app.srcdir)
    doctree.insert(0, nodes.raw("", latex_numbering(docname, numbered, first), format="latex"))
    for start in list(doctree.findall(addnodes.start_of_file)):
        start.insert(0, nodes.raw("", latex_numbering(start["docname"], numbered, first), format="latex"))


# --- bibliography labels -----------------------------------------------------------------------------


def _author_label(entry) -> str:
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [" ".join(person.prelast_names + person.last_names) for person in persons]
    # BibTeX accents ({\"o}) become the letters a reader expects (ö): "Björck", not "Bj\"orck".
    names = [re.sub(r"[{}]", "", codecs.decode(name, "ulatex")) for name in names]
    if not names:
        return re.sub(r"[{}]", "", entry.fields.get("key", entry.key))
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} et al."


class AuthorYearLabels(BaseLabelStyle):
    """Labels "Author, year" as in the text's citations; references.bib keeps them unique."""

    def format_labels(self, sorted_entries):
        labels = [f"{_author_label(entry)}, {entry.fields.get('year', 'n.d.')}" for entry in sorted_entries]
        for label, count in Counter(labels).items():
            if count > 1:
                logger.warning(f"bibliography label {label!r} is used by {count} entries: add a/b to their year")
        yield from labels


# The references page loads no MathJax (it has no math of its own), and pybtex-docutils passes TeX
# math through as text: a title "$k$-Subset Sampling" would show raw "$k$" (or "\\(k\\)" once
# written that way). Inline math in the fields a reference shows is therefore turned into Unicode text
# when the entry is formatted: the mechanism, not each entry, keeps the page free of raw TeX.
_MATH_SPAN = re.compile(r"\$([^$]*)\$|\\\((.*?)\\\)")
_SUBSCRIPTS = dict(zip("0123456789+-=()aeoxhklmnpst", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₒₓₕₖₗₘₙₚₛₜ", strict=True))
_SUPERSCRIPTS = dict(zip("0123456789+-=()in", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁱⁿ", strict=True))
_BLACKBOARD = {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ"}
_SYMBOLS = {"ell": "ℓ", "infty": "∞", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "times": "×", "to": "→"}
_GREEK = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau upsilon "
    "phi chi psi omega"
).split()


def _script(text: str, table: dict[str, str]) -> str | None:
    text = text[1:-1] if text.startswith("{") and text.endswith("}") else text
    return "".join(table[c] for c in text) if all(c in table for c in text) else None


def tex_math_to_text(text: str) -> str:
    """Inline TeX math (``$...$`` or ``\\(...\\)``) in a bibliography field as Unicode text.

    ``$k$-subset`` gives ``k-subset``, ``$\\ell_1$`` gives ``ℓ₁``, ``$\\mathbb{R}^n$`` gives ``ℝⁿ``. A
    command it does not know is left as it is (and a test of the book's bibliography catches it).
    """

    def convert(match: re.Match) -> str:
        math = match.group(1) if match.group(1) is not None else match.group(2)
        math = re.sub(r"\\mathbb\{([A-Z])\}", lambda m: _BLACKBOARD.get(m.group(1), m.group(0)), math)
        math = re.sub(r"\\(?:mathrm|mathit|text|mathbf|boldsymbol)\{([^{}]*)\}", r"\1", math)

        def command(m: re.Match) -> str:
            name = m.group(1)
            if name in _SYMBOLS:
                return _SYMBOLS[name]
            if name.lower() in _GREEK:
                case = "CAPITAL" if name[0].isupper() else "SMALL"
                return unicodedata.lookup(f"GREEK {case} LETTER {name.upper()}")
            return m.group(0)

        math = re.sub(r"\\([A-Za-z]+)\s*", command, math)
        for mark, table in (("_", _SUBSCRIPTS), ("^", _SUPERSCRIPTS)):
            math = re.sub(
                rf"\{mark}(\{{[^{{}}]*\}}|.)", lambda m, t=table: _script(m.group(1), t) or m.group(0), math
            )
        return math

    return _MATH_SPAN.sub(convert, text)


def _shown_text(text: str) -> str:
    """A field as the page shows it: math as Unicode, ``\\url{...}`` as its address (pybtex keeps the
    command itself as text, "\\url https://...")."""
    return tex_math_to_text(re.sub(r"\\url\{([^{}]*)\}", r"\1", text))


_SHOWN_FIELDS = ("title", "booktitle", "journal", "series", "note", "howpublished")


class AuthorYearStyle(PlainStyle):
    default_label_style = "mathguide_author_year"

    def format_entry(self, label, entry, bib_data=None):
        fields = entry.fields
        if any(re.search(r"\$|\\\(|\\url\{", fields.get(name, "")) for name in _SHOWN_FIELDS):
            shown = {name: _shown_text(value) if name in _SHOWN_FIELDS else value for name, value in fields.items()}
            copy = entry.__class__(entry.type, fields=shown, persons=entry.persons)
            copy.key = entry.key
            entry = copy
        return super().format_entry(label, entry, bib_data=bib_data)


# --- execution budget and notebooks ------------------------------------------------------------------


def _exec_data(env) -> dict:
    from myst_nb.sphinx_ import NbMetadataCollector

    data = {}
    for docname, metadata in NbMetadataCollector.get_doc_data(env).items():
        exec_data = metadata.get("exec_data")
        if exec_data:
            data[docname] = exec_data
    return data


def _check_budget(app: Sphinx, env) -> None:
    budget = app.config.mathguide_execution_budget
    for docname, data in sorted(_exec_data(env).items()):
        runtime = data.get("runtime")
        if runtime is not None and runtime > budget:
            logger.warning(
                f"{docname} took {runtime:.1f} s to execute, over the {budget:g} s budget per chapter",
                location=docname,
            )


def _macro_cell(app: Sphinx) -> dict:
    """A markdown cell that defines the book's MathJax macros for plain Jupyter."""
    macros = app.config.mathjax3_config["tex"]["macros"]
    lines = []
    for name, value in macros.items():
        if isinstance(value, list):
            lines.append(f"\\newcommand{{\\{name}}}[{value[1]}]{{{value[0]}}}")
        else:
            lines.append(f"\\newcommand{{\\{name}}}{{{value}}}")
    source = "$$\n" + "\n".join(lines) + "\n$$"
    return {"cell_type": "markdown", "metadata": {"tags": ["remove-cell"]}, "source": source}


def _howto_cell(docname: str) -> dict:
    return {
        "cell_type": "markdown",
        "metadata": {},
        "source": (
            f"*Math Guide*, chapter `{docname}`. To run this notebook, install the book's package and "
            "its pinned requirements from a clone of the repository (in its root folder: "
            "`python -m pip install -r requirements.txt`), then open the notebook in Jupyter. "
            "The first cell above defines the book's math macros."
        ),
    }


def _notebook_path(docname: str) -> str:
    return f"{NOTEBOOK_DIR}/{docname}.ipynb"


def _write_notebooks(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    executed = Path(app.env.mystnb_config.output_folder)
    for docname in _exec_data(app.env):
        source = executed / f"{docname}.ipynb"
        if not source.exists():
            logger.warning(f"executed notebook of {docname} not found at {source}")
            continue
        notebook = json.loads(source.read_text(encoding="utf-8"))
        notebook["cells"] = [_macro_cell(app), _howto_cell(docname)] + notebook["cells"]
        target = Path(app.outdir) / _notebook_path(docname)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False), encoding="utf-8")


def _link_notebook(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if doctree is None or pagename not in _exec_data(app.env):
        return
    relative = "../" * pagename.count("/") + _notebook_path(pagename)
    link = (
        '<div class="admonition note mathguide-notebook"><p>'
        f'<a class="reference download" href="{relative}" download>Download this chapter as a Jupyter '
        "notebook</a> (with its outputs). To run it: <code>python -m pip install -r requirements.txt</code> "
        "in a clone of the repository (see its README).</p></div>"
    )
    body = context.get("body", "")
    context["body"] = re.sub(r"(</h1>)", r"\1" + link.replace("\\", "\\\\"), body, count=1)


# --- search index ------------------------------------------------------------------------------------

LABEL_KINDS = {"def": "Definition", "thm": "Theorem", "lem": "Lemma", "alg": "Algorithm", "ex": "Exercise"}


def _plain_tex(text: str) -> str:
    """TeX in a title as plain text, for the search results list (MathJax does not run there)."""
    text = re.sub(r"\\(?:vb|mat|mathbf|boldsymbol|mathbb|mathrm|operatorname\*?|text)\{([^{}]*)\}", r"\1", text)
    return re.sub(r"[{}]", "", re.sub(r"\\([a-zA-Z]+)", r"\1", text))


def _search_title(title: str, anchors: list) -> str | None:
    """Sphinx indexes a ``prf:``/exercise title as " (Name)": name its kind instead."""
    if not (title == "" or title.startswith(" (")):
        return _plain_tex(title)
    prefix = anchors[0][1].split("-", 1)[0] if anchors and anchors[0][1] else ""
    kind = LABEL_KINDS.get(prefix)
    name = title.strip()[1:-1] if title.strip() else ""
    if kind is None:
        return _plain_tex(name) or None
    return f"{kind}: {_plain_tex(name)}" if name else kind


def _fix_search_index(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    path = Path(app.outdir) / "searchindex.js"
    if not path.exists():
        return
    text = path.read_text(encoding="utf-8")
    prefix, payload = text[: text.index("(") + 1], text[text.index("(") + 1 : text.rindex(")")]
    index = json.loads(payload)
    titles: dict[str, list] = {}
    for title, anchors in index.get("alltitles", {}).items():
        fixed = _search_title(title, anchors)
        if fixed:
            titles.setdefault(fixed, []).extend(anchors)
    index["alltitles"] = titles
    path.write_text(prefix + json.dumps(index, ensure_ascii=False, separators=(",", ":")) + ")", encoding="utf-8")


# --- the PDF edition ---------------------------------------------------------------------------------

LATEX_PREAMBLE = r"""
\usepackage{newunicodechar}
\newfontfamily\mgsymbols{DejaVu Sans}
\newunicodechar{✍}{{\mgsymbols ✍}}
\newunicodechar{⌨}{{\mgsymbols ⌨}}
\newunicodechar{ᵀ}{{\mgsymbols ᵀ}}
\usepackage{xeCJK}
% Quotes, dashes and the ellipsis are Western punctuation here (xeCJK would set them full-width).
\xeCJKDeclareCharClass{Default}{"2013, "2014, "2018, "2019, "201C, "201D, "2026}
\setCJKmainfont{Noto Serif CJK SC}
\setCJKsansfont{Noto Sans CJK SC}
\setCJKmonofont{Noto Sans Mono CJK SC}
"""


def _latex_macros(macros: dict) -> str:
    """The MathJax macros of _config.yml as LaTeX definitions (replacing any of the same name)."""
    lines = []
    for name, value in macros.items():
        body, arity = (value[0], value[1]) if isinstance(value, list) else (value, 0)
        arguments = f"[{arity}]" if arity else ""
        lines.append(f"\\providecommand{{\\{name}}}{{}}\\renewcommand{{\\{name}}}{arguments}{{{body}}}")
    return "\n".join(lines)


def _configure_latex(app: Sphinx) -> None:
    if app.builder.name != "latex":
        return
    macros = app.config.mathjax3_config["tex"]["macros"]
    # The builder has already read latex_elements into its template context at this point.
    # fontspec must leave math alone: with its defaults \mathbf{\Sigma} asks the text font for a glyph
    # at the math slot of \Sigma (U+0006), which it does not have.
    app.builder.context["fontenc"] = r"\usepackage[no-math]{fontspec}"
    app.builder.context["preamble"] = app.builder.context.get("preamble", "") + LATEX_PREAMBLE + _latex_macros(macros)


# --- setup -------------------------------------------------------------------------------------------


def _add_static(app: Sphinx) -> None:
    app.config.html_static_path = [*app.config.html_static_path, str(STATIC_DIR)]


def setup(app: Sphinx) -> dict:
    register_plugin("pybtex.style.labels", "mathguide_author_year", AuthorYearLabels)
    register_plugin("pybtex.style.formatting", "mathguide_author_year", AuthorYearStyle)
    app.add_config_value("mathguide_execution_budget", 30.0, "env")
    app.connect("doctree-read", _fix_proofs)
    app.connect("doctree-resolved", _fix_latex)
    app.connect("env-updated", _check_budget)
    app.connect("build-finished", _write_notebooks)
    app.connect("build-finished", _fix_search_index)
    app.connect("html-page-context", _link_notebook)
    app.connect("builder-inited", _add_static)
    app.connect("builder-inited", _configure_latex)
    app.add_js_file("mathguide-search.js")
    app.add_css_file("mathguide.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}


__all__ = ["setup"]
