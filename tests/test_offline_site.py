"""The built site loads nothing from the internet: no script, stylesheet, font or image from a CDN.

`make test` builds the book before running pytest and sets MATHGUIDE_REQUIRE_BUILD=1, so there these
tests always check the pages of the same run. A plain `pytest` in a checkout that has never built
the book skips them, saying why.
"""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HTML_DIR = REPO / "_build" / "html"

ABSOLUTE_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)
# Any absolute URL inside inline script/style text or a stylesheet (e.g. `url(https://...)`,
# `const X = "https://cdn.example.org/..."`) is a resource the page may fetch.
URL_IN_CODE = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s"')]*""", re.IGNORECASE)
# Tags whose URL attributes the browser fetches on load (anchors <a href> are navigation, not loads).
LOADED = {"script": "src", "link": "href", "img": "src", "iframe": "src", "source": "src",
          "video": "src", "audio": "src", "embed": "src", "object": "data"}


class _ResourceFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.external: list[str] = []
        self.local_scripts: list[str] = []
        self._in_code = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        attribute = LOADED.get(tag)
        url = attributes.get(attribute) if attribute else None
        if url and ABSOLUTE_URL.match(url):
            self.external.append(f"<{tag} {attribute}={url}>")
        elif url and tag == "script":
            self.local_scripts.append(url)
        self.external.extend(URL_IN_CODE.findall(attributes.get("style") or ""))
        self._in_code = tag in ("script", "style")

    def handle_endtag(self, tag):
        self._in_code = False

    def handle_data(self, data):
        if self._in_code:
            self.external.extend(URL_IN_CODE.findall(data))


def external_resources(html: str) -> tuple[list[str], list[str]]:
    """Return (external resources the page loads, local script sources)."""
    finder = _ResourceFinder()
    finder.feed(html)
    return finder.external, finder.local_scripts


@pytest.mark.parametrize(
    "html, expected",
    [
        ('<script src="https://cdn.example.org/npm/mathjax@3/es5/tex-chtml.js"></script>', 1),
        ('<link rel="stylesheet" href="//fonts.example.org/css?family=Lato">', 1),
        ('<script>const URL = "https://cdn.example.net/thebe@0.8.2/lib/index.js"</script>', 1),
        ('<style>@font-face { src: url(https://example.org/f.woff2) }</style>', 1),
        ('<div style="background: url(https://example.org/a.png)"></div>', 1),
        ('<script src="_static/mathjax/tex-chtml.js"></script>', 0),
        ('<a href="https://kexue.fm/archives/10366">a cited post</a>', 0),
    ],
)
def test_detector(html: str, expected: int) -> None:
    """The checker itself finds loaded external resources (any host, not a list of CDNs) and ignores links."""
    assert len(external_resources(html)[0]) == expected


def test_css_detector() -> None:
    sheet = "@import url('https://fonts.example.org/a.css'); b { src: url(fonts/x.woff) }"
    assert CSS_REMOTE.findall(sheet) == ["https://fonts.example.org/a.css"]


def _built_pages() -> list[Path]:
    if not (HTML_DIR / "index.html").exists():
        if os.environ.get("MATHGUIDE_REQUIRE_BUILD"):
            pytest.fail("the book was not built: _build/html/index.html is missing")
        pytest.skip("book not built; `make test` builds it before running pytest")
    return sorted(HTML_DIR.rglob("*.html"))


def test_no_page_loads_anything_from_the_internet() -> None:
    offenders = {}
    for page in _built_pages():
        external, _ = external_resources(page.read_text(encoding="utf-8"))
        if external:
            offenders[str(page.relative_to(HTML_DIR))] = sorted(set(external))
    assert offenders == {}


CSS_REMOTE = re.compile(r"""(?:url\(|@import)\s*['"]?((?:https?:)?//[^'")\s]+)""", re.IGNORECASE)


def test_stylesheets_load_no_remote_fonts_or_imports() -> None:
    _built_pages()
    offenders = {}
    for sheet in sorted(HTML_DIR.rglob("*.css")):
        remote = CSS_REMOTE.findall(sheet.read_text(encoding="utf-8", errors="replace"))
        if remote:
            offenders[str(sheet.relative_to(HTML_DIR))] = remote
    assert offenders == {}


def test_mathjax_is_served_by_the_site() -> None:
    pages = _built_pages()
    page = HTML_DIR / "notation.html"
    assert page in pages
    _, scripts = external_resources(page.read_text(encoding="utf-8"))
    mathjax = [s for s in scripts if "mathjax" in s.lower()]
    assert mathjax, "no local MathJax script on the notation page"
    assert (page.parent / mathjax[0].split("?")[0]).is_file()
    fonts = HTML_DIR / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2"
    assert any(fonts.glob("*.woff")), "MathJax's web fonts are not shipped with the site"
