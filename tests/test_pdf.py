"""The PDF edition (`make pdf`): every chapter is in it, no reference is left unresolved, no glyph is
missing.

Building the PDF takes a TeX installation and a couple of minutes, so plain `make test` does not do
it: these tests check `_build/latex/math-guide.pdf` when it exists and skip otherwise. `.ci/run`
runs `make pdf` and then these tests with MATHGUIDE_REQUIRE_PDF=1, which turns the skip into a
failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
LATEX_DIR = REPO / "_build" / "latex"
PDF = LATEX_DIR / "math-guide.pdf"
LOG = LATEX_DIR / "math-guide.log"


def _toc_files() -> list[str]:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc["parts"]:
        walk(part["chapters"])
    return files


def _title(path: Path) -> str:
    match = re.search(r"^# (.+)$", path.read_text(encoding="utf-8"), re.M)
    assert match, f"{path} has no title"
    return match.group(1).strip()


@pytest.fixture(scope="module")
def pdf_text() -> str:
    if not PDF.exists():
        if os.environ.get("MATHGUIDE_REQUIRE_PDF"):
            pytest.fail("the PDF edition was not built: run `make pdf`")
        pytest.skip("the PDF edition is not built; `make pdf` builds it (needs XeLaTeX)")
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (Debian's poppler-utils) is needed to read the PDF")
    result = subprocess.run(["pdftotext", "-layout", str(PDF), "-"], capture_output=True, text=True, check=True)
    return result.stdout


def _normalise(text: str) -> str:
    # pdftotext breaks lines and may hyphenate; compare words only.
    return " ".join(re.findall(r"[A-Za-z0-9]+", text)).lower()


@pytest.mark.parametrize("doc", [f for f in _toc_files() if f.startswith("chapters/")])
def test_every_chapter_is_in_the_pdf(pdf_text, doc) -> None:
    title = _title(REPO / f"{doc}.md")
    assert _normalise(title) in _normalise(pdf_text), title


def test_no_unresolved_reference(pdf_text) -> None:
    assert "??" not in pdf_text
    log = LOG.read_text(encoding="utf-8", errors="replace")
    assert re.findall(r"Reference `[^']*' on page \d+ undefined|Citation `[^']*' on page \d+ undefined", log) == []


def test_latex_reported_no_error(pdf_text) -> None:
    log = LOG.read_text(encoding="utf-8", errors="replace")
    assert re.findall(r"^! .*$", log, re.M) == []


def test_no_missing_glyph(pdf_text) -> None:
    log = LOG.read_text(encoding="utf-8", errors="replace")
    missing = sorted(set(re.findall(r"Missing character: There is no (.+?) in font", log)))
    assert missing == []


def test_chapter_numbers_match_the_site(pdf_text) -> None:
    # The part overviews are chapters 1, 2, ... as on the site ("4. Maps onto the simplex"); the
    # introduction, the notation page and the back matter are unnumbered.
    # Table-of-contents lines: "<number> <title>   <page>" (page headers put the title last).
    assert re.search(r"^[ \t\f]*4 Maps onto the simplex[ \t]+\d+$", pdf_text, re.M)
    assert re.search(r"^[ \t\f]*1 Monte Carlo[ \t]+\d+$", pdf_text, re.M)
    assert re.search(r"^[ \t\f]*Notation[ \t]+\d+$", pdf_text, re.M)
    assert not re.search(r"^[ \t\f]*\d+ Notation[ \t]+\d+$", pdf_text, re.M)


def test_every_proof_box_has_a_title(pdf_text) -> None:
    # An untitled proof drew an empty coloured bar; each proof now opens with the title "Proof".
    proofs = sum(len(re.findall(r"^```\{prf:proof\}", (REPO / f"{doc}.md").read_text(encoding="utf-8"), re.M))
                 for doc in _toc_files() if doc.startswith("chapters/"))
    assert len(re.findall(r"^\s*Proof\s*$", pdf_text, re.M)) >= proofs
